//! The record file reader used by replay (`transport::replay`), on files written from fuzz
//! bytes: plain, gzip-compressed, gzip cut short, or garbage under a `.gz` name.
//!
//! Invariants: no panic; the calls made to the sinks, the counts, and the line of a refusal are
//! exactly those of a reference reading of the same text (the format as documented: a header,
//! then one JSON record per line, blank lines skipped, unknown resources skipped); a gzip file cut
//! short plays a prefix of what the whole file plays; every accepted record re-serialises to
//! itself; and the accepted records written again by the `Recorder` replay to the same calls.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use _core::engine::error::CoreError;
use _core::engine::watcher::{Audited, EventsInfo, PageInfo, Sink};
use _core::transport::record::{Record, Recorder, FORMAT, VERSION};
use _core::transport::replay::{replay, ReplayError, Replayed, DEFAULT_MAX_LINE_BYTES};
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::Value;

use crate::input::Input;

/// Resources given a sink; records of others (`endpointslices`, …) are skipped.
const SINKS: [&str; 2] = ["services", "endpoints"];

/// One call a sink received: resource, op, data.
type Call = (String, String, String);

/// `data[0]` picks how the file is stored and whether lines have a small limit; `data[1]` where
/// a gzip file is cut, and the limit; the rest is the file's text.
pub fn record_file(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.byte();
    let cut = input.byte();
    let text = input.rest();
    let max_line = if mode & 8 == 0 {
        DEFAULT_MAX_LINE_BYTES
    } else {
        16 + 4 * usize::from(cut)
    };
    let play = |path: &Path| play(path, max_line);
    let reference = reference(text, max_line);
    match mode % 4 {
        0 => {
            let (calls, result) = play(&file("plain.ndjson", text));
            check(&reference, &calls, &result);
            if let Ok(done) = &result {
                rewrite(&reference, done, mode & 4 != 0);
            }
        }
        1 => {
            let (calls, result) = play(&file("whole.ndjson.gz", &gzip(text)));
            check(&reference, &calls, &result);
        }
        2 => {
            let mut packed = gzip(text);
            packed.truncate(usize::from(cut) * packed.len() / 256);
            let (calls, _) = play(&file("cut.ndjson.gz", &packed));
            assert!(
                reference.calls.starts_with(&calls),
                "a gzip file cut short played something the whole file does not"
            );
        }
        _ => {
            // Whatever the bytes, under a `.gz` name: only "no panic".
            let _ = play(&file("raw.ndjson.gz", text));
        }
    }
}

/// What a reading should do: the calls in order, and the outcome (the counts, or the line
/// refused), with the records accepted.
struct Reference {
    calls: Vec<Call>,
    outcome: Result<Replayed, usize>,
    records: Vec<Record>,
}

/// The format read by hand: lines end at `\n` (a `\r` before it dropped); one longer than
/// `max_line` bytes (its `\r` included) is refused, as is a time that is not seconds >= 0.
fn reference(text: &[u8], max_line: usize) -> Reference {
    let mut calls = Vec::new();
    let mut records = Vec::new();
    let mut lines = split_lines(text).into_iter();
    let mut done = Replayed::default();
    let header_ok = lines
        .next()
        .filter(|line| line.len() <= max_line)
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .and_then(|line| std::str::from_utf8(line).ok())
        .and_then(|line| serde_json::from_str::<Value>(line).ok())
        .is_some_and(|h| h.get(FORMAT).and_then(Value::as_u64) == Some(VERSION));
    if !header_ok {
        return Reference {
            calls,
            outcome: Err(1),
            records,
        };
    }
    for (index, line) in lines.enumerate() {
        let number = index + 2;
        let fail = |calls, records| Reference {
            calls,
            outcome: Err(number),
            records,
        };
        if line.len() > max_line {
            return fail(calls, records);
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(line) = std::str::from_utf8(line) else {
            return fail(calls, records);
        };
        if line.trim().is_empty() {
            continue;
        }
        let Ok(record) = serde_json::from_str::<Record>(line) else {
            return fail(calls, records);
        };
        if !(record.t.is_finite() && record.t >= 0.0) {
            return fail(calls, records);
        }
        if !SINKS.contains(&record.resource.as_str()) {
            done.skipped += 1;
            records.push(record);
            continue;
        }
        let known = [
            "begin_list",
            "page",
            "gather",
            "events",
            "commit",
            "begin_audit",
            "audit_page",
            "finish_audit",
            "error",
        ];
        if !known.contains(&record.op.as_str()) {
            return fail(calls, records);
        }
        if record.op != "error" {
            // Calls without data get none, whatever the record holds.
            let data = match record.op.as_str() {
                "begin_list" | "commit" | "begin_audit" => String::new(),
                _ => record.data.clone(),
            };
            calls.push((record.resource.clone(), record.op.clone(), data));
            match verdict(&record.op, &record.data) {
                Verdict::Closed => return fail(calls, records),
                Verdict::Refused => done.refused += 1,
                Verdict::Accepted => {}
            }
        }
        *done.records.entry(record.resource.clone()).or_default() += 1;
        records.push(record);
    }
    Reference {
        calls,
        outcome: Ok(done),
        records,
    }
}

fn split_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

enum Verdict {
    Accepted,
    Refused,
    Closed,
}

/// How the test sinks answer a call: data mentioning "closed" finds the config closed, data
/// mentioning "refuse" is refused (as a source refuses bad input); the rest is accepted.
fn verdict(op: &str, data: &str) -> Verdict {
    let takes_data = matches!(
        op,
        "page" | "gather" | "events" | "audit_page" | "finish_audit"
    );
    if takes_data && data.contains("closed") {
        Verdict::Closed
    } else if takes_data && data.contains("refuse") {
        Verdict::Refused
    } else {
        Verdict::Accepted
    }
}

fn check(reference: &Reference, calls: &[Call], result: &Result<Replayed, ReplayError>) {
    assert_eq!(calls, &reference.calls[..], "calls made");
    match (result, &reference.outcome) {
        (Ok(done), Ok(expected)) => assert_eq!(done, expected, "replay counts"),
        (Err(ReplayError::Bad { line, .. }), Err(expected)) => {
            assert_eq!(line, expected, "line refused");
        }
        (got, expected) => panic!("replay {got:?}, expected {expected:?}"),
    }
}

/// Accepted records re-serialise to themselves (the time to within one unit in the last place:
/// `serde_json` reads floats fast rather than exactly, and a time only paces a replay), and
/// written again by the recorder (fresh times), they replay to the same calls and counts.
fn rewrite(reference: &Reference, done: &Replayed, gz: bool) {
    for record in &reference.records {
        let text = serde_json::to_string(record).expect("a record serialises");
        let again: Record = serde_json::from_str(&text).expect("a written record parses");
        let close = (again.t - record.t).abs() <= f64::EPSILON * record.t.abs();
        assert!(close, "record time round trip: {text} read as {}", again.t);
        let again = Record {
            t: record.t,
            ..again
        };
        assert_eq!(&again, record, "record round trip: {text}");
    }
    let path = scratch(if gz {
        "again.ndjson.gz"
    } else {
        "again.ndjson"
    });
    let recorder = Recorder::create(&path).expect("scratch file writable");
    for record in &reference.records {
        recorder.write(&record.resource, &record.op, record.data.as_bytes());
    }
    recorder.finish().expect("scratch file writable");
    drop(recorder);
    let (calls, result) = play(&path, DEFAULT_MAX_LINE_BYTES);
    assert_eq!(calls, reference.calls, "calls after writing again");
    match result {
        Ok(again) => assert_eq!(&again, done, "counts after writing again"),
        Err(e) => panic!("a recording written again is refused: {e}"),
    }
}

/// A sink that logs its calls and answers as [`verdict`] says.
struct LogSink {
    resource: String,
    log: Arc<Mutex<Vec<Call>>>,
}

impl LogSink {
    fn call(&self, op: &str, data: &[u8]) -> Result<(), CoreError> {
        let data = String::from_utf8_lossy(data).into_owned();
        let verdict = verdict(op, &data);
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((self.resource.clone(), op.to_owned(), data));
        match verdict {
            Verdict::Accepted => Ok(()),
            Verdict::Refused => Err(CoreError::invalid("", "refused")),
            Verdict::Closed => Err(CoreError::Closed("channel".to_owned())),
        }
    }
}

impl Sink for LogSink {
    fn begin_list(&mut self) {
        let _ = self.call("begin_list", b"");
    }
    fn list_page(&mut self, data: &[u8]) -> Result<PageInfo, CoreError> {
        self.call("page", data).map(|()| PageInfo::default())
    }
    fn commit_list(&mut self) -> Result<usize, CoreError> {
        self.call("commit", b"").map(|()| 0)
    }
    fn apply_events(&mut self, lines: &[u8]) -> Result<EventsInfo, CoreError> {
        self.call("events", lines).map(|()| EventsInfo::default())
    }
    fn gather_events(&mut self, lines: &[u8]) -> Result<EventsInfo, CoreError> {
        self.call("gather", lines).map(|()| EventsInfo::default())
    }
    fn keep_ledger(&mut self) {}
    fn begin_audit(&mut self) {
        let _ = self.call("begin_audit", b"");
    }
    fn audit_page(&mut self, data: &[u8]) -> Result<PageInfo, CoreError> {
        self.call("audit_page", data).map(|()| PageInfo::default())
    }
    fn finish_audit(&mut self, watched: &str) -> Result<Audited, CoreError> {
        self.call("finish_audit", watched.as_bytes())
            .map(|()| Audited::default())
    }
}

/// Replay `path` into logging sinks, then remove it: the calls they got, and the result.
fn play(path: &Path, max_line: usize) -> (Vec<Call>, Result<Replayed, ReplayError>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut sinks: HashMap<String, Box<dyn Sink>> = SINKS
        .iter()
        .map(|r| {
            let sink = LogSink {
                resource: (*r).to_owned(),
                log: Arc::clone(&log),
            };
            ((*r).to_owned(), Box::new(sink) as Box<dyn Sink>)
        })
        .collect();
    let result = replay(path, &mut sinks, None, max_line, &|| false);
    let _ = std::fs::remove_file(path);
    drop(sinks);
    let calls = std::mem::take(&mut *log.lock().unwrap_or_else(PoisonError::into_inner));
    (calls, result)
}

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(text).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// A scratch file of this process (in memory where the system offers it).
fn scratch(name: &str) -> PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    // Tests run targets on several threads of one process: one set of files per thread.
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    dir.join(format!(
        "kubeproxy-config-fuzz-{}-{thread}-{name}",
        std::process::id()
    ))
}

fn file(name: &str, contents: &[u8]) -> PathBuf {
    let path = scratch(name);
    std::fs::write(&path, contents).expect("scratch file writable");
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus;

    #[test]
    fn the_corpus_plays_records() {
        let played = corpus("record_file")
            .expect("corpus readable")
            .iter()
            .filter(|(_, d)| {
                let r = reference(&d[2.min(d.len())..], DEFAULT_MAX_LINE_BYTES);
                r.outcome.is_ok() && r.calls.len() >= 3
            })
            .count();
        assert!(played > 0, "no corpus input plays records");
    }
}
