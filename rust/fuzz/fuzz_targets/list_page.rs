//! cargo-fuzz target: bytes as one page of a list response of each kind (no panic).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kubeproxy_config_fuzz::list_page(data);
});
