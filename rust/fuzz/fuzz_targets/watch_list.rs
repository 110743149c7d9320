//! cargo-fuzz target: a streamed list through the watcher machine (no panic; nothing stored before the end bookmark; refusals change nothing; cuts change nothing).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kubeproxy_config_fuzz::watch_list(data);
});
