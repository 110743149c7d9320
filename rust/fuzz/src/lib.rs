//! Fuzz checks of the engine's parsers and decoders, shared by the cargo-fuzz targets, the
//! stable `mutate` harness and the corpus-replay tests: each target's body lives here, so the
//! libFuzzer binaries and the replay run the same invariant checks.
//!
//! Targets: the JSON parsers ([`json`]: objects, watch events, list pages), the transport's
//! HTTP framing ([`http`]), streaming lists through the watcher machine ([`watch_list`]), the
//! record file reader of replay ([`record`]), the incremental proxy view ([`proxy`]), and the
//! small text parsers (trigger times, IPs and CIDRs, port keys, URLs: [`fields`]). Each
//! module states its invariants; any `Err` from the code under test is fine, a panic is a
//! finding.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

pub mod fields;
pub mod http;
pub mod input;
pub mod json;
pub mod proxy;
pub mod record;
pub mod watch_list;

pub use fields::fields;
pub use http::http_framing;
pub use json::{list_page, objects, watch_events};
pub use proxy::proxy_view;
pub use record::record_file;
pub use watch_list::watch_list;

/// The fuzz targets, by name (also the corpus directory names).
pub const TARGETS: [&str; 8] = [
    "objects",
    "watch_events",
    "list_page",
    "http_framing",
    "watch_list",
    "record_file",
    "proxy_view",
    "fields",
];

/// Run the check of target `name` on `data`; panics on an invariant violation.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "objects" => objects(data),
        "watch_events" => watch_events(data),
        "list_page" => list_page(data),
        "http_framing" => http_framing(data),
        "watch_list" => watch_list(data),
        "record_file" => record_file(data),
        "proxy_view" => proxy_view(data),
        "fields" => fields(data),
        other => panic!("unknown fuzz target {other:?}"),
    }
}

/// The committed corpus directory of a target.
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// Every file of a target's corpus, sorted by name.
pub fn corpus(target: &str) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(corpus_dir(target))? {
        let path = entry?.path();
        if path.is_file() {
            let data = std::fs::read(&path)?;
            files.push((path, data));
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every corpus file (of every target) through the check `check`: each target must also
    /// survive input meant for another one.
    fn replay(check: &str) {
        let mut count = 0;
        for target in TARGETS {
            let files = corpus(target).expect("corpus directory readable");
            assert!(!files.is_empty(), "empty corpus for {target}");
            for (path, data) in &files {
                let ok = std::panic::catch_unwind(|| run(check, data));
                assert!(ok.is_ok(), "{check} panicked on {}", path.display());
                count += 1;
            }
        }
        assert!(count > 0);
    }

    // CI's replay of the corpus, one test per check so they run in parallel.
    #[test]
    fn replay_objects() {
        replay("objects");
    }

    #[test]
    fn replay_watch_events() {
        replay("watch_events");
    }

    #[test]
    fn replay_list_page() {
        replay("list_page");
    }

    #[test]
    fn replay_http_framing() {
        replay("http_framing");
    }

    #[test]
    fn replay_watch_list() {
        replay("watch_list");
    }

    #[test]
    fn replay_record_file() {
        replay("record_file");
    }

    #[test]
    fn replay_proxy_view() {
        replay("proxy_view");
    }

    #[test]
    fn replay_fields() {
        replay("fields");
    }

    #[test]
    fn every_target_is_replayed() {
        // Keep the tests above in step with TARGETS.
        let source = include_str!("lib.rs");
        for target in TARGETS {
            assert!(
                source.contains(&format!("fn replay_{target}()")),
                "no replay test for {target}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        use _core::engine::json::{parse_batch, parse_one};
        use _core::engine::model::Service;

        for depth in [127, 128, 129, 10_000, 100_000] {
            let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            assert!(parse_batch::<Service>(text.as_bytes()).is_err());
            let obj = format!(
                "{{\"metadata\":{{\"name\":\"a\",\"labels\":{}1{}}}}}",
                "{\"a\":".repeat(depth),
                "}".repeat(depth)
            );
            assert!(parse_one::<Service>(obj.as_bytes()).is_err());
        }
    }
}
