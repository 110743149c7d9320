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

/// Largest line of a recording read by default: 1 GiB. A line holds one list page or one
/// read's worth of watch events as a JSON string, which escaping (quotes, backslashes) and
/// invalid UTF-8 (three bytes per bad byte) can make up to three times as large as what was
/// received: 1 GiB covers a page at the transport's default limit (256 MiB) at the worst.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 30;

/// Play `path` into `sinks` (by resource). `speed`: None as fast as possible, else the
/// recorded pace times `speed` (2.0: twice as fast); `stop` is polled between records. A
/// line longer than `max_line` bytes (after decompression) is an error, found without reading
/// more of it than `max_line + 1` bytes.
pub fn replay<S: std::hash::BuildHasher>(
    path: &Path,
    sinks: &mut HashMap<String, Box<dyn Sink>, S>,
    speed: Option<f64>,
    max_line: usize,
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
    let mut lines = Lines {
        reader: BufReader::new(reader),
        max: max_line,
    };
    let header = match lines.next() {
        Some(Ok(text)) => text,
        Some(Err(e)) => return Err(bad(1, e)),
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
        // A truncated gzip stream, invalid UTF-8 or a line over the limit shows here.
        let text = text.map_err(|e| bad(line, e))?;
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

/// The lines of a recording, each read to at most `max + 1` bytes (newline included): a
/// longer one (a gzip bomb's endless line, say) is an error, not an allocation.
struct Lines<R> {
    reader: BufReader<R>,
    max: usize,
}

impl<R: Read> Iterator for Lines<R> {
    type Item = Result<String, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = Vec::new();
        let room = (self.max as u64).saturating_add(1);
        let read = self.reader.by_ref().take(room).read_until(b'\n', &mut line);
        match read {
            Err(e) => return Some(Err(e.to_string())),
            Ok(0) => return None,
            Ok(_) => {}
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() > self.max {
            return Some(Err(format!(
                "the line is over the limit of {} bytes (max_line_bytes): {} bytes read so far; \
                 reading stopped there",
                self.max,
                line.len()
            )));
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(String::from_utf8(line).map_err(|_| "stream did not contain valid UTF-8".to_owned()))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;
    use std::path::PathBuf;

    /// A recording file in the temporary directory holding a header and then `body`, gzipped
    /// when `gzip`.
    fn recording(name: &str, body: &[u8], gzip: bool) -> PathBuf {
        let path = std::env::temp_dir().join(format!("kpc-{}-{name}", std::process::id()));
        let file = File::create(&path).expect("create");
        let mut out: Box<dyn Write> = if gzip {
            Box::new(GzEncoder::new(file, Compression::default()))
        } else {
            Box::new(file)
        };
        writeln!(out, "{{\"{FORMAT}\":{VERSION}}}").expect("header");
        out.write_all(body).expect("body");
        drop(out);
        path
    }

    fn play(path: &Path, max_line: usize) -> Result<Replayed, ReplayError> {
        let mut sinks: HashMap<String, Box<dyn Sink>> = HashMap::new();
        let result = replay(path, &mut sinks, None, max_line, &|| false);
        let _ = std::fs::remove_file(path);
        result
    }

    #[test]
    fn lines_up_to_the_limit_are_read() {
        let record = br#"{"t":0,"resource":"services","op":"begin_list"}"#;
        let mut body = record.to_vec();
        body.push(b'\n');
        body.extend_from_slice(record);
        let path = recording("fits", &body, false);
        let done = play(&path, record.len()).expect("replay");
        assert_eq!(done.skipped, 2);
    }

    #[test]
    fn a_line_over_the_limit_is_refused_naming_it() {
        let mut body = br#"{"t":0,"resource":"services","op":"begin_list"}"#.to_vec();
        body.push(b'\n');
        body.extend(std::iter::repeat_n(b'x', 5000));
        body.push(b'\n');
        let path = recording("long", &body, false);
        let err = play(&path, 1000).expect_err("too long").to_string();
        assert!(
            err.contains("line 3: the line is over the limit of 1000 bytes"),
            "{err}"
        );
        assert!(
            err.contains("(max_line_bytes): 1001 bytes read so far"),
            "{err}"
        );
    }

    #[test]
    fn a_gzip_bomb_line_is_cut_at_the_limit() {
        // 64 MiB of one line inflate from about 64 KiB: reading stops at the limit.
        let path = std::env::temp_dir().join(format!("kpc-{}-bomb.gz", std::process::id()));
        let file = File::create(&path).expect("create");
        let mut out = GzEncoder::new(file, Compression::fast());
        writeln!(out, "{{\"{FORMAT}\":{VERSION}}}").expect("header");
        let piece = vec![b'x'; 1 << 20];
        for _ in 0..64 {
            out.write_all(&piece).expect("bomb");
        }
        out.finish().expect("finish");
        assert!(std::fs::metadata(&path).expect("size").len() < 1 << 20);
        let err = play(&path, 1 << 20).expect_err("bomb").to_string();
        assert!(
            err.contains("line 2: the line is over the limit of 1048576 bytes"),
            "{err}"
        );
        assert!(err.contains("1048577 bytes read so far"), "{err}");
        // The header line is bounded too.
        let path = recording("header.gz", b"", true);
        let err = play(&path, 4).expect_err("header").to_string();
        assert!(
            err.contains("line 1: the line is over the limit of 4 bytes"),
            "{err}"
        );
    }
}
