//! cargo-fuzz target: bytes as an HTTP answer, and lines served in a well-formed one (no panic; framing independent of reads; lines back exactly).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kubeproxy_config_fuzz::http_framing(data);
});
