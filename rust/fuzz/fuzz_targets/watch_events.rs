//! cargo-fuzz target: bytes as newline-delimited watch events of each kind (no panic).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kubeproxy_config_fuzz::watch_events(data);
});
