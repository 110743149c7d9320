//! cargo-fuzz target: bytes as one object / array / `…List` of each kind (no panic; round trip).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kubeproxy_config_fuzz::objects(data);
});
