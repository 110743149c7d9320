//! cargo-fuzz target: input changes applied to the proxy view (no panic; exact changes; incremental equals from scratch).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kubeproxy_config_fuzz::proxy_view(data);
});
