//! Playing a recording (see `record`) back into sinks: the same calls in the same order, so
//! the configs end in the state the recorded source reached.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use flate2::read::GzDecoder;
use serde_json::Value;

use super::record::{Record, FORMAT, VERSION};
use crate::engine::watcher::Sink;

/// A recording that cannot be played; the message names the line.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: io::Error,
    },
    /// A line is not what a recording holds.
    #[error("{path}, line {line}: {why}")]
    Bad {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
}

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// Records played, per resource.
    pub records: HashMap<String, u64>,
    /// Records of resources without a sink (skipped).
    pub skipped: u64,
    /// Calls a sink refused (bad input recorded as received; the source had refused it too).
    pub refused: u64,
}

/// Play `path` into `sinks` (by resource). `speed`: None as fast as possible, else the
/// recorded pace times `speed` (2.0: twice as fast); `stop` is polled between records.
pub fn replay<S: std::hash::BuildHasher>(
    path: &Path,
    sinks: &mut HashMap<String, Box<dyn Sink>, S>,
    speed: Option<f64>,
    stop: &dyn Fn() -> bool,
) -> Result<Replayed, ReplayError> {
    let name = path.display().to_string();
    let io_error = |source| ReplayError::Io {
        path: name.clone(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let bad = |line: usize, why: String| ReplayError::Bad {
        path: name.clone(),
        line,
        why,
    };
    let mut lines = BufReader::new(reader).lines();
    let header = match lines.next() {
        Some(Ok(text)) => text,
        Some(Err(e)) => return Err(bad(1, e.to_string())),
        None => return Err(bad(1, "empty file: no header".to_owned())),
    };
    check_header(&header).map_err(|why| bad(1, why))?;
    // Audits compare with a ledger of what was sent: keep it from the start, as the source did.
    for sink in sinks.values_mut() {
        sink.keep_ledger();
    }
    let started = Instant::now();
    let mut done = Replayed::default();
    for (index, text) in lines.enumerate() {
        let line = index + 2;
        // A truncated gzip stream or invalid UTF-8 shows here.
        let text = text.map_err(|e| bad(line, e.to_string()))?;
        if text.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(&text)
            .map_err(|e| bad(line, format!("not a recording record ({e})")))?;
        if stop() {
            break;
        }
        if !(record.t.is_finite() && record.t >= 0.0) {
            return Err(bad(
                line,
                format!("t must be seconds >= 0, got {:e}", record.t),
            ));
        }
        if let Some(speed) = speed.filter(|s| *s > 0.0) {
            // A recording longer than MAX_PACED_SECONDS is not one a source made: refuse it
            // rather than wait (or overflow a Duration) on a file's say-so.
            let offset = Duration::try_from_secs_f64(record.t / speed)
                .ok()
                .filter(|d| d.as_secs_f64() <= MAX_PACED_SECONDS)
                .ok_or_else(|| {
                    bad(
                        line,
                        format!("t = {:e} s is beyond any recording", record.t),
                    )
                })?;
            if !pace(started + offset, stop) {
                break;
            }
        }
        let Some(sink) = sinks.get_mut(&record.resource) else {
            done.skipped += 1;
            continue;
        };
        if !play(sink.as_mut(), &record).map_err(|why| bad(line, why))? {
            done.refused += 1;
        }
        *done.records.entry(record.resource).or_default() += 1;
    }
    Ok(done)
}

/// The longest replay pacing honours: a year of recorded time, at the requested speed.
const MAX_PACED_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// Wait until `due`, polling `stop` every 100 ms (pacing the replay, not synchronisation);
/// false when `stop` answered true first.
fn pace(due: Instant, stop: &dyn Fn() -> bool) -> bool {
    while let Some(left) = due.checked_duration_since(Instant::now()) {
        if stop() {
            return false;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
    true
}

fn check_header(text: &str) -> Result<(), String> {
    let header: Value =
        serde_json::from_str(text).map_err(|_| "not a recording: no JSON header".to_owned())?;
    match header.get(FORMAT).and_then(Value::as_u64) {
        Some(VERSION) => Ok(()),
        Some(other) => Err(format!(
            "recording format version {other}; this version reads {VERSION}"
        )),
        None => Err(format!("not a recording: the header lacks {FORMAT:?}")),
    }
}

/// One recorded call; Ok(false) when the sink refused it as the source's had.
fn play(sink: &mut dyn Sink, record: &Record) -> Result<bool, String> {
    let data = record.data.as_bytes();
    let result = match record.op.as_str() {
        "begin_list" => {
            sink.begin_list();
            Ok(())
        }
        "page" => sink.list_page(data).map(drop),
        "gather" => sink.gather_events(data).map(drop),
        "events" => sink.apply_events(data).map(drop),
        "commit" => sink.commit_list().map(drop),
        "begin_audit" => {
            sink.begin_audit();
            Ok(())
        }
        "audit_page" => sink.audit_page(data).map(drop),
        "finish_audit" => sink.finish_audit(&record.data).map(drop),
        "error" => Ok(()),
        other => return Err(format!("unknown record op {other:?}")),
    };
    match result {
        Ok(()) => Ok(true),
        Err(crate::engine::error::CoreError::Closed(_)) => Err("the config was closed".to_owned()),
        Err(_) => Ok(false),
    }
}
