//! Watch streams and list pages from the API server: newline-delimited events into store
//! operations, and a `…List` page into objects plus its `resourceVersion` and `continue` token.

use serde_json::Value;

use super::{key_of, parse_node, prefix_path, FastRead, Kind, Node, Scratch};
use crate::engine::error::CoreError;
use crate::engine::model::Interner;
use crate::engine::object::ObjKey;
use crate::engine::parallel;
use crate::engine::store::Op;
use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

/// What a chunk of watch events amounts to.
#[derive(Debug)]
pub struct WatchBatch<K> {
    /// Store operations in event order (consecutive ADDED/MODIFIED, or DELETED, grouped).
    pub ops: Vec<Op<K>>,
    /// The `resourceVersion` of the last event (including bookmarks), to resume the watch from.
    pub resource_version: Option<String>,
    /// The object of an `ERROR` event (a `Status`); events after it are not applied.
    pub error: Option<Value>,
    /// Events read (bookmarks included, the error event excluded).
    pub events: usize,
    /// Objects skipped as invalid (only with `skip_invalid`); each was removed instead.
    pub rejected: Vec<CoreError>,
}

/// One page of a list: its objects, `metadata.resourceVersion` and `metadata.continue`.
#[derive(Debug)]
pub struct ListPage<K> {
    /// The items, validated.
    pub items: Vec<K>,
    /// The list's resource version (where a watch resumes).
    pub resource_version: Option<String>,
    /// The token of the next page, when there is one.
    pub continue_token: Option<String>,
    /// Items skipped as invalid (only with `skip_invalid`).
    pub rejected: Vec<CoreError>,
}

fn meta_str<'a>(obj: &'a Node<'_>, field: &str) -> Option<&'a str> {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Node::as_str)
}

/// Parse complete watch-event lines (`{"type": …, "object": …}` each). The chunk is validated
/// whole before anything is returned; blank lines are skipped. A line that is not an event is an
/// error naming its index (`events[2]`).
///
/// With `skip_invalid`, an added or modified object that fails validation (the API server
/// accepted something this package cannot represent) does not fail the chunk: it is treated as
/// absent — removed — and reported in `rejected`, so one odd object cannot wedge a watch.
pub fn parse_watch_events<K: Kind>(
    data: &[u8],
    skip_invalid: bool,
) -> Result<WatchBatch<K>, CoreError> {
    parse_events(data, skip_invalid, true)
}

/// [`parse_watch_events`] without the typed fast path: every line walked as a [`Node`]. Only for
/// differential tests (the results must be identical).
#[doc(hidden)]
pub fn parse_watch_events_walk<K: Kind>(
    data: &[u8],
    skip_invalid: bool,
) -> Result<WatchBatch<K>, CoreError> {
    parse_events(data, skip_invalid, false)
}

/// The fewest events worth handing to another thread (about 10 µs of parsing).
const MIN_EVENTS_PER_PIECE: usize = 8;

/// How many pieces per worker a chunk is cut into when there are helper threads. Pieces are
/// claimed one at a time, so more balance better, but each costs a little to set up and a
/// helper's unfinished piece may be parsed twice (W2 on 2 cores: 6 pieces did best of 4-12).
const PIECES_PER_WORKER: usize = 3;

/// [`parse_watch_events`] with the chunk cut into `pieces` parsed in parallel (`1`: serially).
/// Only for tests that check splitting changes nothing.
#[doc(hidden)]
pub fn parse_watch_events_split<K: Kind>(
    data: &[u8],
    skip_invalid: bool,
    pieces: usize,
) -> Result<WatchBatch<K>, CoreError> {
    let how = How {
        skip_invalid,
        fast: true,
    };
    finish(parse_pieces(data, pieces, how))
}

fn parse_events<K: Kind>(
    data: &[u8],
    skip_invalid: bool,
    fast: bool,
) -> Result<WatchBatch<K>, CoreError> {
    let how = How { skip_invalid, fast };
    let workers = parallel::workers();
    let pieces = if workers > 1 {
        PIECES_PER_WORKER * workers
    } else {
        1
    };
    finish(parse_pieces(data, pieces, how))
}

/// The non-blank lines of a chunk, as ranges of it.
fn line_ranges(data: &[u8]) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len())) {
        if !data[start..end].iter().all(u8::is_ascii_whitespace) {
            lines.push(start..end);
        }
        start = end + 1;
    }
    lines
}

/// Parse the chunk's lines as up to `pieces` consecutive runs of at least
/// [`MIN_EVENTS_PER_PIECE`], claimed by this thread and the pool's (see
/// [`parallel::run_claimed`]), then join them in order.
fn parse_pieces<K: Kind>(
    data: &[u8],
    pieces: usize,
    how: How,
) -> Result<Part<'static, K>, CoreError> {
    let ranges = line_ranges(data);
    let size = ranges
        .len()
        .div_ceil(pieces.max(1))
        .max(MIN_EVENTS_PER_PIECE);
    if ranges.len() < 2 * MIN_EVENTS_PER_PIECE || ranges.len() <= size {
        let lines: Vec<&[u8]> = ranges.into_iter().map(|r| &data[r]).collect();
        return parse_run(&lines, 0, how).map(Part::into_owned);
    }
    // A helper may still be reading when this call returns (it is not waited for), so it reads
    // its own copy of the chunk.
    let data: Arc<[u8]> = Arc::from(data);
    let ranges: Arc<[Range<usize>]> = ranges.into();
    let count = ranges.len().div_ceil(size);
    let parts = parallel::run_claimed(count, move |k| {
        let run = &ranges[k * size..ranges.len().min((k + 1) * size)];
        let lines: Vec<&[u8]> = run.iter().map(|r| &data[r.clone()]).collect();
        parse_run(&lines, k * size, how).map(Part::into_owned)
    });
    let mut parts = parts.into_iter();
    let first = parts.next().expect("at least one piece");
    parts.fold(first, |head, tail| join_parts(head?, tail))
}

#[derive(Clone, Copy)]
struct How {
    skip_invalid: bool,
    fast: bool,
}

/// A run of consecutive events parsed; `last_rv` borrows from the chunk when it can.
struct Part<'a, K> {
    batch: WatchBatch<K>,
    last_rv: Option<Cow<'a, str>>,
}

impl<K> Part<'_, K> {
    fn into_owned(self) -> Part<'static, K> {
        Part {
            batch: self.batch,
            last_rv: self.last_rv.map(|rv| Cow::Owned(rv.into_owned())),
        }
    }
}

fn finish<K>(part: Result<Part<'_, K>, CoreError>) -> Result<WatchBatch<K>, CoreError> {
    let Part { mut batch, last_rv } = part?;
    batch.resource_version = last_rv.map(Cow::into_owned);
    Ok(batch)
}

/// Two consecutive runs as one, exactly as a single pass would have read them: an error or an
/// `ERROR` event in the head ends the chunk there, whatever the tail held.
fn join_parts<'a, K>(
    mut head: Part<'a, K>,
    tail: Result<Part<'a, K>, CoreError>,
) -> Result<Part<'a, K>, CoreError> {
    if head.batch.error.is_some() {
        return Ok(head);
    }
    let tail = tail?;
    let mut ops = tail.batch.ops.into_iter();
    if let Some(next) = ops.next() {
        match (head.batch.ops.last_mut(), next) {
            (Some(Op::Add(objs)), Op::Add(more)) => objs.extend(more),
            (Some(Op::Remove(keys)), Op::Remove(more)) => keys.extend(more),
            (_, next) => head.batch.ops.push(next),
        }
    }
    head.batch.ops.extend(ops);
    head.batch.error = tail.batch.error;
    head.batch.events += tail.batch.events;
    head.batch.rejected.extend(tail.batch.rejected);
    if tail.last_rv.is_some() {
        head.last_rv = tail.last_rv;
    }
    Ok(head)
}

/// Parse `lines` in order on this thread.
fn parse_run<'a, K: Kind>(
    lines: &[&'a [u8]],
    first: usize,
    how: How,
) -> Result<Part<'a, K>, CoreError> {
    let mut interner = Interner::new();
    let mut scratch = Scratch::default();
    let mut batch = WatchBatch {
        ops: Vec::new(),
        resource_version: None,
        error: None,
        events: 0,
        rejected: Vec::new(),
    };
    // The latest resourceVersion, borrowed from the chunk when the fast path read it.
    let mut last_rv: Option<Cow<'a, str>> = None;
    for (i, line) in lines.iter().enumerate() {
        let i = first + i;
        if how.fast {
            match K::fast_read(line, &mut interner, &mut scratch) {
                FastRead::Object(event) => {
                    let parsed = event.object;
                    match batch.ops.last_mut() {
                        Some(Op::Add(objs)) => objs.push(parsed),
                        _ => batch.ops.push(Op::Add(vec![parsed])),
                    }
                    batch.events += 1;
                    if event.resource_version.is_some() {
                        last_rv = event.resource_version;
                    }
                    continue;
                }
                // What the walk does with an invalid object, without parsing the line again.
                FastRead::Invalid(invalid) => {
                    if !how.skip_invalid {
                        return Err(prefix_path(invalid.error, &format!("events[{i}].object")));
                    }
                    push_removal(&mut batch.ops, invalid.key);
                    batch.rejected.push(invalid.error);
                    batch.events += 1;
                    if invalid.resource_version.is_some() {
                        last_rv = invalid.resource_version;
                    }
                    continue;
                }
                FastRead::Declined => {}
            }
        }
        let at = |e: CoreError| prefix_path(e, &format!("events[{i}]"));
        let event = parse_node(line).map_err(at)?;
        let kind = event.get("type").and_then(Node::as_str).unwrap_or("");
        let Some(obj) = event.get("object").filter(|o| o.as_object().is_some()) else {
            return Err(at(CoreError::invalid(
                "object",
                "a watch event needs an object",
            )));
        };
        let rv = meta_str(obj, "resourceVersion").map(|s| Cow::Owned(s.to_owned()));
        match kind {
            "ADDED" | "MODIFIED" => match K::from_node(obj, &mut interner) {
                Ok(parsed) => match batch.ops.last_mut() {
                    Some(Op::Add(objs)) => objs.push(Arc::new(parsed)),
                    _ => batch.ops.push(Op::Add(vec![Arc::new(parsed)])),
                },
                Err(e) if how.skip_invalid => {
                    let key =
                        key_of(obj).map_err(|e| prefix_path(e, &format!("events[{i}].object")))?;
                    push_removal(&mut batch.ops, key);
                    batch.rejected.push(e);
                }
                Err(e) => return Err(prefix_path(e, &format!("events[{i}].object"))),
            },
            "DELETED" => {
                let key =
                    key_of(obj).map_err(|e| prefix_path(e, &format!("events[{i}].object")))?;
                push_removal(&mut batch.ops, key);
            }
            "BOOKMARK" => {}
            "ERROR" => {
                batch.error = Some(obj.to_value());
                return Ok(Part { batch, last_rv });
            }
            other => {
                return Err(at(CoreError::invalid(
                    "type",
                    format!("unknown watch event type {other:?}"),
                )));
            }
        }
        batch.events += 1;
        if rv.is_some() {
            last_rv = rv;
        }
    }
    Ok(Part { batch, last_rv })
}

fn push_removal<K>(ops: &mut Vec<Op<K>>, key: ObjKey) {
    match ops.last_mut() {
        Some(Op::Remove(keys)) => keys.push(key),
        _ => ops.push(Op::Remove(vec![key])),
    }
}

/// Parse one page of a list response. With `skip_invalid`, items that fail validation are left
/// out and reported in `rejected` instead of failing the page (see [`parse_watch_events`]).
pub fn parse_list_page<K: Kind>(data: &[u8], skip_invalid: bool) -> Result<ListPage<K>, CoreError> {
    let v = parse_node(data)?;
    let Some(items) = v.get("items").and_then(Node::as_array) else {
        return Err(CoreError::invalid(
            "items",
            "a list response needs an items array",
        ));
    };
    let mut interner = Interner::new();
    let mut parsed = Vec::with_capacity(items.len());
    let mut rejected = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match K::from_node(item, &mut interner) {
            Ok(obj) => parsed.push(obj),
            Err(e) if skip_invalid => rejected.push(e),
            Err(e) => return Err(prefix_path(e, &format!("items[{i}]"))),
        }
    }
    let meta = v.get("metadata");
    let field = |f: &str| {
        meta.and_then(|m| m.get(f))
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Ok(ListPage {
        items: parsed,
        resource_version: field("resourceVersion"),
        continue_token: field("continue"),
        rejected,
    })
}
