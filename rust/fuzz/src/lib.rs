//! Fuzz checks of the engine's JSON parsers, shared by the cargo-fuzz targets, the stable
//! `mutate` harness and the corpus-replay tests.
//!
//! Invariants, for any input bytes: no panic (any `Err` is fine), and every object that parses
//! survives a round trip through its Kubernetes JSON shape (`to_value`, then parsed again as a
//! value and as text) unchanged. Watch chunks also give exactly the same result (objects or
//! error) through the typed fast path as through the walk, and cut into pieces as whole.
#![forbid(unsafe_code)]

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use _core::engine::json::watch::{
    parse_list_page, parse_watch_events, parse_watch_events_split, parse_watch_events_walk,
};
use _core::engine::json::{parse_batch, parse_one, Kind};
use _core::engine::model::{EndpointSlice, Endpoints, Interner, Service};
use _core::engine::store::Op;

/// The fuzz targets, by name (also the corpus directory names).
pub const TARGETS: [&str; 3] = ["objects", "watch_events", "list_page"];

/// Run the check of target `name` on `data`; panics on an invariant violation.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "objects" => objects(data),
        "watch_events" => watch_events(data),
        "list_page" => list_page(data),
        other => panic!("unknown fuzz target {other:?}"),
    }
}

/// `data` as one object, an array of objects or a `…List`, of each kind.
pub fn objects(data: &[u8]) {
    objects_of::<Service>(data);
    objects_of::<Endpoints>(data);
    objects_of::<EndpointSlice>(data);
}

/// `data` as a chunk of watch-event lines, of each kind.
pub fn watch_events(data: &[u8]) {
    watch_events_of::<Service>(data);
    watch_events_of::<Endpoints>(data);
    watch_events_of::<EndpointSlice>(data);
}

/// `data` as one list page, of each kind.
pub fn list_page(data: &[u8]) {
    list_page_of::<Service>(data);
    list_page_of::<Endpoints>(data);
    list_page_of::<EndpointSlice>(data);
}

fn objects_of<K: Kind>(data: &[u8]) {
    if let Ok(batch) = parse_batch::<K>(data) {
        batch.iter().for_each(round_trip);
    }
    if let Ok(one) = parse_one::<K>(data) {
        round_trip(&one);
    }
}

fn watch_events_of<K: Kind>(data: &[u8]) {
    // Strict (the chunk fails whole) and lenient (invalid objects skipped) parsing.
    for skip_invalid in [false, true] {
        let result = parse_watch_events::<K>(data, skip_invalid);
        let walked = parse_watch_events_walk::<K>(data, skip_invalid);
        assert_eq!(format!("{result:?}"), format!("{walked:?}"), "fast path vs walk");
        let split = parse_watch_events_split::<K>(data, skip_invalid, 3);
        assert_eq!(format!("{result:?}"), format!("{split:?}"), "3 pieces vs serial");
        let Ok(batch) = result else {
            continue;
        };
        for op in &batch.ops {
            match op {
                Op::Set(objs) | Op::Add(objs) => objs.iter().for_each(|o| round_trip(&**o)),
                Op::Remove(_) => {}
            }
        }
    }
}

fn list_page_of<K: Kind>(data: &[u8]) {
    for skip_invalid in [false, true] {
        if let Ok(page) = parse_list_page::<K>(data, skip_invalid) {
            page.items.iter().for_each(round_trip);
        }
    }
}

/// An accepted object, written out in API shape, must parse back to itself.
fn round_trip<K: Kind + Debug>(obj: &K) {
    let value = obj.to_value();
    match K::from_value(&value, &mut Interner::new()) {
        Ok(again) => assert_eq!(&again, obj, "round trip changed the object: {value}"),
        Err(e) => panic!(
            "{} written by to_value() does not parse: {e}\n{value}",
            K::KIND
        ),
    }
    let text = serde_json::to_vec(&value).expect("a JSON value always serialises");
    match parse_one::<K>(&text) {
        Ok(again) => assert_eq!(&again, obj, "text round trip changed the object"),
        Err(e) => panic!("{} written as JSON text does not parse: {e}", K::KIND),
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

    /// CI's quick form: every corpus file through its target (and the other targets too:
    /// each parser must also survive input meant for another one).
    #[test]
    fn replay_corpus() {
        for target in TARGETS {
            let files = corpus(target).expect("corpus directory readable");
            assert!(!files.is_empty(), "empty corpus for {target}");
            for (path, data) in &files {
                for check in TARGETS {
                    let ok = std::panic::catch_unwind(|| run(check, data));
                    assert!(ok.is_ok(), "{check} panicked on {}", path.display());
                }
            }
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
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
