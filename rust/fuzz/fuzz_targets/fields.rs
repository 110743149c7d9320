//! cargo-fuzz target: bytes as text through the small parsers (no panic; canonical forms round-trip).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kubeproxy_config_fuzz::fields(data);
});
