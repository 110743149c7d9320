//! cargo-fuzz target: bytes as a record file, plain or gzip (no panic; plays as the format reads; records round-trip).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kubeproxy_config_fuzz::record_file(data);
});
