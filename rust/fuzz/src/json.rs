//! The engine's JSON parsers: objects, batches and `…List`s, watch-event chunks, list pages.
//!
//! Invariants, for any bytes: no panic; the borrowed-tree reader and the `serde_json::Value`
//! reader accept and reject the same documents and build the same objects; an accepted object
//! round-trips exactly (written in API shape, parsed again as a value and as text: equal, and
//! written again: the same JSON); a batch is accepted exactly when each of its items is, item by
//! item equal; a watch chunk gives the same result through the typed fast path, the walk and
//! cut into pieces, and applied to a store it leaves the same state as its lines applied one at
//! a time; a strictly accepted chunk or page is accepted leniently with nothing rejected.

use std::fmt::Debug;
use std::sync::Arc;

use _core::engine::json::watch::{
    parse_list_page, parse_watch_events, parse_watch_events_split, parse_watch_events_walk,
    WatchBatch,
};
use _core::engine::json::{parse_batch, parse_one, parse_value_batch, Kind};
use _core::engine::model::{EndpointSlice, Endpoints, Interner, Service};
use _core::engine::store::{Op, Store};
use serde_json::value::RawValue;
use serde_json::Value;

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
    let value: Option<Value> = serde_json::from_slice(data).ok();
    let batch = parse_batch::<K>(data);
    if let Ok(batch) = &batch {
        batch.iter().for_each(round_trip);
    }
    if let Some(value) = &value {
        let by_value = parse_value_batch::<K>(value);
        assert_same_result(&batch, &by_value, "batch: tree reader vs Value reader");
    }
    let one = parse_one::<K>(data);
    if let Ok(one) = &one {
        round_trip(one);
    }
    if let Some(value) = &value {
        let by_value = K::from_value(value, &mut Interner::new());
        assert_same_result(&one, &by_value, "object: tree reader vs Value reader");
    }
    // A JSON array is accepted whole exactly when each item is, and item by item equal.
    if let Ok(items) = serde_json::from_slice::<Vec<&RawValue>>(data) {
        let each: Vec<_> = items
            .iter()
            .map(|raw| parse_one::<K>(raw.get().as_bytes()))
            .collect();
        match &batch {
            Ok(batch) => {
                assert_eq!(batch.len(), each.len(), "batch length");
                for (whole, alone) in batch.iter().zip(&each) {
                    match alone {
                        Ok(alone) => assert_eq!(whole, alone, "batch item vs the item alone"),
                        Err(e) => panic!("accepted in a batch, refused alone: {e}"),
                    }
                }
            }
            Err(e) => assert!(
                each.iter().any(Result::is_err),
                "a batch refused ({e}) although each item is accepted alone"
            ),
        }
    }
}

/// Both accepted with equal results, or both refused.
fn assert_same_result<T: PartialEq + Debug, E: Debug, F: Debug>(
    a: &Result<T, E>,
    b: &Result<T, F>,
    what: &str,
) {
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{what}"),
        (Err(_), Err(_)) => {}
        _ => panic!("{what}: {a:?} vs {b:?}"),
    }
}

/// The fewest lines of a piece when a chunk is parsed in pieces (the engine's
/// `MIN_EVENTS_PER_PIECE`).
const PIECE_LINES: usize = 8;

fn watch_events_of<K: Kind>(data: &[u8]) {
    // Strict (the chunk fails whole) and lenient (invalid objects skipped) parsing.
    let mut strict_ok = None;
    for skip_invalid in [false, true] {
        let result = parse_watch_events::<K>(data, skip_invalid);
        let walked = parse_watch_events_walk::<K>(data, skip_invalid);
        assert_eq!(
            format!("{result:?}"),
            format!("{walked:?}"),
            "fast path vs walk"
        );
        // Chunks of fewer lines are parsed serially whatever the pieces asked for.
        if lines(data).nth(2 * PIECE_LINES - 1).is_some() {
            let split = parse_watch_events_split::<K>(data, skip_invalid, 3);
            assert_eq!(
                format!("{result:?}"),
                format!("{split:?}"),
                "3 pieces vs serial"
            );
        }
        if skip_invalid {
            if let Some(strict) = strict_ok.take() {
                // What is accepted strictly is accepted leniently, identically, nothing skipped.
                assert_eq!(strict, format!("{result:?}"), "strict vs lenient");
            }
        }
        let Ok(batch) = &result else {
            assert!(
                lines(data).any(|line| parse_watch_events::<K>(line, skip_invalid).is_err()),
                "a chunk refused although each line is accepted alone"
            );
            continue;
        };
        if !skip_invalid {
            strict_ok = Some(format!("{result:?}"));
        }
        for op in &batch.ops {
            match op {
                Op::Set(objs) | Op::Add(objs) => objs.iter().for_each(|o| round_trip(&**o)),
                Op::Remove(_) => {}
            }
        }
        line_by_line(data, batch, skip_invalid);
    }
}

/// The non-blank lines of a chunk.
fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|b| *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
}

/// An accepted chunk applied to a store leaves the state its lines leave applied one at a time
/// (up to an ERROR event), with the same resume version, error, and counts.
fn line_by_line<K: Kind>(data: &[u8], whole: &WatchBatch<K>, skip_invalid: bool) {
    let mut by_chunk = Store::<K>::new();
    for op in &whole.ops {
        by_chunk.apply(0, clone_op(op));
    }
    let mut by_line = Store::<K>::new();
    let (mut version, mut error, mut events, mut rejected) = (None, None, 0, 0);
    for line in lines(data) {
        let batch = match parse_watch_events::<K>(line, skip_invalid) {
            Ok(batch) => batch,
            Err(e) => panic!("a line of an accepted chunk is refused alone: {e}"),
        };
        for op in batch.ops {
            by_line.apply(0, op);
        }
        version = batch.resource_version.or(version);
        events += batch.events;
        rejected += batch.rejected.len();
        if batch.error.is_some() {
            error = batch.error;
            break;
        }
    }
    assert!(
        by_chunk.items() == by_line.items(),
        "chunk vs line by line: different state"
    );
    assert_eq!(whole.resource_version, version, "resume version");
    assert_eq!(whole.error, error, "error event");
    assert_eq!(whole.events, events, "events");
    assert_eq!(whole.rejected.len(), rejected, "rejected");
}

fn clone_op<K>(op: &Op<K>) -> Op<K> {
    match op {
        Op::Set(objs) => Op::Set(objs.iter().map(Arc::clone).collect()),
        Op::Add(objs) => Op::Add(objs.iter().map(Arc::clone).collect()),
        Op::Remove(keys) => Op::Remove(keys.clone()),
    }
}

fn list_page_of<K: Kind>(data: &[u8]) {
    let strict = parse_list_page::<K>(data, false);
    let lenient = parse_list_page::<K>(data, true);
    if let Ok(page) = &lenient {
        page.items.iter().for_each(round_trip);
    }
    if let Ok(strict) = &strict {
        strict.items.iter().for_each(round_trip);
        match &lenient {
            Ok(lenient) => {
                assert_eq!(strict.items, lenient.items, "strict vs lenient items");
                assert_eq!(strict.resource_version, lenient.resource_version);
                assert_eq!(strict.continue_token, lenient.continue_token);
                assert!(lenient.rejected.is_empty(), "rejected what strict accepts");
            }
            Err(e) => panic!("a page accepted strictly is refused leniently: {e}"),
        }
    }
}

/// An accepted object, written out in API shape, must parse back to itself and write the same.
pub fn round_trip<K: Kind + Debug>(obj: &K) {
    let value = obj.to_value();
    match K::from_value(&value, &mut Interner::new()) {
        Ok(again) => {
            assert_eq!(&again, obj, "round trip changed the object: {value}");
            assert_eq!(again.to_value(), value, "written twice, differently");
        }
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
