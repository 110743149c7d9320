//! Recording what the list/watch loops receive, as NDJSON (gzip when the file ends in `.gz`):
//! a header line, then one line per sink call (list pages, streamed and applied watch events,
//! list commits, audits) and per failure, each with its resource and the seconds since the
//! recording started. `replay` plays such a file back into sinks, exactly.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use flate2::write::GzEncoder;
use flate2::Compression;
use parking_lot::Mutex;
use serde::Serialize;

use crate::engine::error::CoreError;
use crate::engine::watcher::{Audited, EventsInfo, PageInfo, Sink};

/// The header's format name; its value is the format version.
pub const FORMAT: &str = "kubeproxy-config-recording";
/// The version this build writes and reads.
pub const VERSION: u64 = 1;

/// One line of a recording after the header.
#[derive(Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct Record {
    /// Seconds since the recording started.
    pub t: f64,
    /// `services`, `endpoints` or `endpointslices`.
    pub resource: String,
    /// What happened: `begin_list`, `page`, `gather`, `events`, `commit`, `begin_audit`,
    /// `audit_page`, `finish_audit` or `error`.
    pub op: String,
    /// The bytes received (page bodies, event lines), the watched version of an audit, or an
    /// error's message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data: String,
}

/// A recording being written; shared by every resource of a source.
pub struct Recorder {
    out: Mutex<Option<Box<dyn Write + Send>>>,
    started: Instant,
}

impl Recorder {
    /// Create `path` (gzip when it ends in `.gz`) and write the header.
    pub fn create(path: &Path) -> io::Result<Arc<Self>> {
        let file = BufWriter::new(File::create(path)?);
        let mut out: Box<dyn Write + Send> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(GzEncoder::new(file, Compression::fast()))
        } else {
            Box::new(file)
        };
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let header = serde_json::json!({ FORMAT: VERSION, "started_unix": since_epoch });
        writeln!(out, "{header}")?;
        Ok(Arc::new(Self {
            out: Mutex::new(Some(out)),
            started: Instant::now(),
        }))
    }

    /// Append one record (a write error ends the recording quietly: it must never stop the
    /// source it watches).
    pub fn write(&self, resource: &str, op: &str, data: &[u8]) {
        let record = Record {
            t: self.started.elapsed().as_secs_f64(),
            resource: resource.to_owned(),
            op: op.to_owned(),
            data: String::from_utf8_lossy(data).into_owned(),
        };
        let mut out = self.out.lock();
        let failed = match out.as_mut() {
            // Flushed per record: a recording cut short (a crash, a kill) keeps what came.
            Some(w) => serde_json::to_writer(&mut *w, &record)
                .map_err(io::Error::from)
                .and_then(|()| w.write_all(b"\n"))
                .and_then(|()| w.flush())
                .is_err(),
            None => false,
        };
        if failed {
            out.take();
        }
    }

    /// Flush and close (the gzip trailer is written); later records are dropped.
    pub fn finish(&self) -> io::Result<()> {
        match self.out.lock().take() {
            Some(mut w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// A sink that records every call before passing it on.
pub struct RecordingSink {
    inner: Box<dyn Sink>,
    recorder: Arc<Recorder>,
    resource: String,
}

impl RecordingSink {
    /// Record what `inner` is given, as `resource`.
    pub fn new(inner: Box<dyn Sink>, recorder: Arc<Recorder>, resource: &str) -> Self {
        Self {
            inner,
            recorder,
            resource: resource.to_owned(),
        }
    }

    fn note(&self, op: &str, data: &[u8]) {
        self.recorder.write(&self.resource, op, data);
    }
}

impl Sink for RecordingSink {
    fn begin_list(&mut self) {
        self.note("begin_list", b"");
        self.inner.begin_list();
    }
    fn list_page(&mut self, data: &[u8]) -> Result<PageInfo, CoreError> {
        self.note("page", data);
        self.inner.list_page(data)
    }
    fn commit_list(&mut self) -> Result<usize, CoreError> {
        self.note("commit", b"");
        self.inner.commit_list()
    }
    fn apply_events(&mut self, lines: &[u8]) -> Result<EventsInfo, CoreError> {
        self.note("events", lines);
        self.inner.apply_events(lines)
    }
    fn gather_events(&mut self, lines: &[u8]) -> Result<EventsInfo, CoreError> {
        self.note("gather", lines);
        self.inner.gather_events(lines)
    }
    fn keep_ledger(&mut self) {
        self.inner.keep_ledger();
    }
    fn begin_audit(&mut self) {
        self.note("begin_audit", b"");
        self.inner.begin_audit();
    }
    fn audit_page(&mut self, data: &[u8]) -> Result<PageInfo, CoreError> {
        self.note("audit_page", data);
        self.inner.audit_page(data)
    }
    fn finish_audit(&mut self, watched: &str) -> Result<Audited, CoreError> {
        self.note("finish_audit", watched.as_bytes());
        self.inner.finish_audit(watched)
    }
}
