//! Streaming lists (KEP-3157) through the watcher machine: initial ADDED events gathered until
//! the BOOKMARK annotated `k8s.io/initial-events-end`, sent as one SET, then further events
//! applied as a watch. The stream is read as the transport reads it (complete lines, in chunks;
//! the initial events gathered, the end bookmark looked for in each chunk), into a sink that
//! does what the Python-facing one does, over a store.
//!
//! Invariants: no panic; nothing is stored before the end bookmark (no half-listed state); a
//! chunk the sink refuses changes nothing stored or gathered; at the end bookmark the store
//! holds exactly what was gathered and the machine watches from the bookmark's version; when no
//! chunk is refused, cutting the stream into chunks differently changes nothing; and the machine
//! keeps its own invariants through the outcomes that follow.

use std::sync::Arc;
use std::time::{Duration, Instant};

use _core::engine::error::CoreError;
use _core::engine::json::watch::parse_watch_events;
use _core::engine::json::Kind;
use _core::engine::model::{EndpointSlice, Endpoints, Service};
use _core::engine::object::ObjKey;
use _core::engine::snapshot::Items;
use _core::engine::store::{Op, Store};
use _core::engine::watcher::initial::initial_events_end;
use _core::engine::watcher::{
    Action, Bounded, Effect, Options, Outcome, State, WatchError, WatchList, Watcher,
};
use serde_json::Value;

use crate::input::{Input, Rng};

/// `data[0]`: kind and options; `data[1]`: how the stream is cut; `data[2]`: outcomes after
/// the stream; the rest: the stream's body.
pub fn watch_list(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let cuts = input.byte();
    let after = input.byte();
    let body = input.rest();
    match flags % 3 {
        0 => run::<Service>(flags, cuts, after, body),
        1 => run::<EndpointSlice>(flags, cuts, after, body),
        _ => run::<Endpoints>(flags, cuts, after, body),
    }
}

fn options(flags: u8) -> Options {
    Options {
        watch_list: if flags & 8 == 0 {
            WatchList::Always
        } else {
            WatchList::Auto
        },
        page_size: if flags & 16 == 0 { 0 } else { 500 },
        watch_timeout: Duration::from_secs(300),
        resync_period: (flags & 32 != 0).then_some(Duration::from_secs(60)),
        audit_period: (flags & 64 != 0).then_some(Duration::from_secs(90)),
        backoff_initial: Duration::from_millis(100),
        backoff_max: Duration::from_secs(30),
    }
}

/// What the Python-facing sink does, over a store: gathered events kept until the commit.
struct ModelSink<K> {
    store: Store<K>,
    pending: Vec<Arc<K>>,
}

/// What a chunk of lines amounted to (the parts the driver reads).
struct Took {
    version: Option<String>,
    error: Option<Value>,
}

impl<K: Kind> ModelSink<K> {
    fn events(&mut self, lines: &[u8], gather: bool) -> Result<Took, CoreError> {
        let batch = parse_watch_events::<K>(lines, true)?;
        for op in batch.ops {
            match op {
                Op::Add(objs) if gather => self.pending.extend(objs),
                Op::Remove(keys) if gather => self.pending.retain(|o| !keys.contains(&o.key())),
                Op::Set(objs) if gather => self.pending = objs,
                op => {
                    self.store.apply(0, op);
                    self.store.commit();
                }
            }
        }
        Ok(Took {
            version: batch.resource_version,
            error: batch.error,
        })
    }

    fn commit(&mut self) {
        let items = std::mem::take(&mut self.pending);
        self.store.apply(0, Op::Set(items));
        self.store.commit();
    }
}

/// How a stream ended.
#[derive(Debug, PartialEq)]
enum End {
    /// The server closed it.
    Closed,
    /// An ERROR event, as the driver turns it into an error.
    Status(WatchError),
    /// The sink refused a chunk.
    Refused,
}

/// The state a run leaves, for comparing two cuts of one stream.
#[derive(Debug, PartialEq)]
struct RunResult {
    end: End,
    items: Items<K0>,
    version: Option<String>,
    listed: bool,
}

/// Only for comparing stores of any kind: keys and the objects' debug text.
type K0 = String;

fn run<K: Kind>(flags: u8, cuts: u8, after: u8, body: &[u8]) {
    // Only complete lines are applied; what follows the last newline is dropped.
    let complete = match memchr::memrchr(b'\n', body) {
        Some(end) => &body[..=end],
        None => &body[..0],
    };
    let whole = stream::<K>(flags, complete, &[complete.len()], after);
    let mut rng = Rng::from_bytes(&[cuts]);
    let mut chunk_ends = Vec::new();
    for (i, b) in complete.iter().enumerate() {
        if *b == b'\n' && rng.below(3) == 0 {
            chunk_ends.push(i + 1);
        }
    }
    if chunk_ends.last() != Some(&complete.len()) {
        chunk_ends.push(complete.len());
    }
    let cut = stream::<K>(flags, complete, &chunk_ends, after);
    if whole.end != End::Refused && cut.end != End::Refused {
        assert_eq!(
            whole, cut,
            "cutting the stream differently changed the result"
        );
    }
}

/// Read `body` cut at `ends` (offsets just past a newline) as the transport reads a streamed
/// list, then take `after`'s outcomes; checks the invariants on the way.
fn stream<K: Kind>(flags: u8, body: &[u8], ends: &[usize], after: u8) -> RunResult {
    let now = Instant::now();
    let mut machine = Watcher::new(options(flags));
    assert!(
        matches!(machine.action(), Action::WatchList { .. }),
        "a streamed list starts the loop"
    );
    let mut sink = ModelSink::<K> {
        store: Store::new(),
        pending: Vec::new(),
    };
    let mut initial = true;
    let mut start = 0;
    let mut end = End::Closed;
    'chunks: for &stop in ends {
        let mut lines = &body[start..stop];
        start = stop;
        if initial {
            let split = initial_events_end(lines);
            let (head, tail) = lines.split_at(split.as_ref().map_or(lines.len(), |s| s.0));
            match checked_events(&mut sink, head, true) {
                Err(()) => {
                    end = End::Refused;
                    break 'chunks;
                }
                Ok(Took {
                    error: Some(status),
                    ..
                }) => {
                    end = End::Status(WatchError::from_status(&status));
                    break 'chunks;
                }
                Ok(_) => {}
            }
            assert_eq!(
                sink.store.version(),
                0,
                "something stored before the end bookmark"
            );
            if let Some((_, version)) = split {
                initial = false;
                let expected = by_key(&sink.pending);
                let effect = machine.initial_events_ended(version.clone(), now, 0.5);
                assert_eq!(effect, Effect::CommitList { relist: false });
                sink.commit();
                assert_eq!(
                    by_key_items(sink.store.items()),
                    expected,
                    "the SET at the end bookmark is not what was gathered"
                );
                assert_eq!(machine.resource_version(), Some(version.as_str()));
                assert!(
                    matches!(machine.action(), Action::Watch { resource_version, .. } if resource_version == version)
                );
            }
            lines = tail;
        }
        if !lines.is_empty() {
            let took = match checked_events(&mut sink, lines, false) {
                Err(()) => {
                    end = End::Refused;
                    break 'chunks;
                }
                Ok(took) => took,
            };
            // As the driver: the resume version moves, then an ERROR event ends the stream.
            if let Some(version) = took.version {
                machine.progressed(version);
            }
            if let Some(status) = took.error {
                end = End::Status(WatchError::from_status(&status));
                break 'chunks;
            }
        }
    }
    if initial {
        assert_eq!(sink.store.version(), 0, "an unfinished list was stored");
    }
    let version = machine.resource_version().map(str::to_owned);
    let listed = machine.listed();
    follow(&mut machine, &end, after, now);
    RunResult {
        end,
        items: by_key_items(sink.store.items()),
        version,
        listed,
    }
}

/// Gather or apply `lines`; a refusal must change nothing. Ok(Some(..)) for an ERROR event.
fn checked_events<K: Kind>(
    sink: &mut ModelSink<K>,
    lines: &[u8],
    gather: bool,
) -> Result<Took, ()> {
    let items = sink.store.items().clone();
    let version = sink.store.version();
    let pending: Vec<Arc<K>> = sink.pending.clone();
    match sink.events(lines, gather) {
        Ok(took) => Ok(took),
        Err(_) => {
            assert!(
                sink.store.items() == &items,
                "a refused chunk changed the store"
            );
            assert_eq!(
                sink.store.version(),
                version,
                "a refused chunk made a version"
            );
            assert!(
                sink.pending.len() == pending.len()
                    && sink
                        .pending
                        .iter()
                        .zip(&pending)
                        .all(|(a, b)| Arc::ptr_eq(a, b)),
                "a refused chunk changed what was gathered"
            );
            Err(())
        }
    }
}

fn by_key<K: Kind>(objs: &[Arc<K>]) -> Items<K0> {
    let mut map = Items::new();
    for obj in objs {
        map.insert(obj.key(), Arc::new(format!("{obj:?}")));
    }
    map
}

fn by_key_items<K: Kind>(items: &Items<K>) -> Items<K0> {
    items
        .iter()
        .map(|(k, v): (&ObjKey, &Arc<K>)| (k.clone(), Arc::new(format!("{v:?}"))))
        .collect()
}

/// The stream's end reported to the machine, then a few outcomes picked by `after`; the
/// machine's invariants hold throughout.
fn follow(machine: &mut Watcher, end: &End, after: u8, start: Instant) {
    let mut now = start;
    let first = match end {
        End::Closed => Outcome::Watched {
            events: usize::from(after & 1),
            lasted: Duration::from_secs(u64::from(after & 2)),
        },
        End::Status(status) => Outcome::Failed(status.clone()),
        End::Refused => Outcome::Failed(WatchError::Protocol("refused".to_owned())),
    };
    let listed_before = machine.listed();
    let was_streaming = matches!(machine.state(), State::Streaming { .. });
    let effect = machine.step(first, now, 0.25);
    if was_streaming {
        // The list never completed: nothing to commit; a new list starts (now or later).
        assert!(!matches!(effect, Effect::CommitList { .. }), "{effect:?}");
        assert!(!machine.listed());
    }
    let script = [after, after.rotate_left(3), after.rotate_left(5)];
    let mut input = Input::new(&script);
    for _ in 0..3 {
        check_machine(machine, listed_before);
        now += Duration::from_secs(u64::from(input.byte() % 100));
        let outcome = match machine.action() {
            Action::Stop => return,
            Action::Wait { until } => {
                now = now.max(until);
                Outcome::Waited
            }
            Action::ListPage { .. } | Action::AuditPage { .. } => match input.below(4) {
                3 => Outcome::Failed(too_large(Bounded::ListPage)),
                0 => Outcome::Failed(WatchError::Status {
                    code: 410,
                    reason: "Expired".to_owned(),
                    message: String::new(),
                }),
                1 => Outcome::Page {
                    resource_version: Some("7".to_owned()),
                    continue_token: Some("next".to_owned()),
                },
                _ => Outcome::Page {
                    resource_version: Some("7".to_owned()),
                    continue_token: None,
                },
            },
            Action::WatchList { .. } | Action::Watch { .. } => match input.below(4) {
                3 => Outcome::Failed(too_large(Bounded::EventLine)),
                0 => Outcome::Failed(WatchError::Status {
                    code: 422,
                    reason: "Invalid".to_owned(),
                    message: String::new(),
                }),
                1 => Outcome::Failed(WatchError::Stalled),
                _ => Outcome::Watched {
                    events: 3,
                    lasted: Duration::from_secs(30),
                },
            },
        };
        machine.step(outcome, now, 0.75);
    }
    check_machine(machine, listed_before);
}

/// A line or page over its limit.
fn too_large(what: Bounded) -> WatchError {
    WatchError::TooLarge {
        what,
        limit: 1024,
        seen: 1025,
        announced: false,
    }
}

/// A resume version exactly when the machine is (or will next be) watching or auditing, and a
/// list once committed is never forgotten.
fn check_machine(machine: &Watcher, listed_before: bool) {
    let watching = match machine.state() {
        State::Watching { .. } | State::Auditing { .. } => true,
        State::Waiting { next, .. } => matches!(**next, State::Watching { .. }),
        _ => false,
    };
    assert_eq!(
        machine.resource_version().is_some(),
        watching,
        "{:?}",
        machine.state()
    );
    assert!(
        machine.listed() || !listed_before,
        "a committed list was forgotten"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus;

    #[test]
    fn the_corpus_completes_lists() {
        let mut completed = 0;
        for (_, data) in corpus("watch_list").expect("corpus readable") {
            let body = &data[3.min(data.len())..];
            let end = memchr::memrchr(b'\n', body).map_or(0, |i| i + 1);
            let result = stream::<Service>(data[0], &body[..end], &[end], 0);
            if result.listed && !result.items.is_empty() {
                completed += 1;
            }
        }
        assert!(completed > 0, "no corpus input completes a streamed list");
    }
}
