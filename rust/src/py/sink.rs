//! The Rust transport's way into one source of a config: list pages gathered into one SET,
//! watch events applied as they are read. Nothing here takes the GIL.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::engine::error::CoreError;
use crate::engine::json::watch::{parse_list_page, parse_watch_events};
use crate::engine::store::Op;
use crate::engine::watcher::{EventsInfo, PageInfo, Sink};
use crate::py::kind::PyKind;
use crate::py::typed::{KindOps, Typed};

/// One source of one config, fed from Rust.
pub struct MuxSink<K: PyKind> {
    config: Arc<Typed<K>>,
    source: usize,
    /// The channel's own closed flag (a closed channel ends the loop quietly).
    closed: Arc<AtomicBool>,
    pending: Vec<Arc<K>>,
}

impl<K: PyKind> MuxSink<K> {
    pub fn new(config: Arc<Typed<K>>, source: usize, closed: Arc<AtomicBool>) -> Self {
        Self {
            config,
            source,
            closed,
            pending: Vec::new(),
        }
    }

    fn send(&self, op: Op<K>) -> Result<(), CoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(CoreError::Closed("channel".to_owned()));
        }
        self.config.mux.send(self.source, op)
    }
}

impl<K: PyKind + KindOps> Sink for MuxSink<K> {
    fn begin_list(&mut self) {
        self.pending = Vec::new();
    }

    fn list_page(&mut self, data: &[u8]) -> Result<PageInfo, CoreError> {
        let page = parse_list_page::<K>(data, true)?;
        let items = page.items.len();
        self.pending.extend(page.items.into_iter().map(Arc::new));
        Ok(PageInfo {
            resource_version: page.resource_version,
            continue_token: page.continue_token,
            rejected: page.rejected.iter().map(ToString::to_string).collect(),
            items,
        })
    }

    fn commit_list(&mut self) -> Result<usize, CoreError> {
        let items = std::mem::take(&mut self.pending);
        let n = items.len();
        self.send(Op::Set(items))?;
        Ok(n)
    }

    fn apply_events(&mut self, lines: &[u8]) -> Result<EventsInfo, CoreError> {
        self.events(lines, false)
    }

    fn gather_events(&mut self, lines: &[u8]) -> Result<EventsInfo, CoreError> {
        self.events(lines, true)
    }
}

impl<K: PyKind + KindOps> MuxSink<K> {
    /// Parse `lines`; send their operations, or with `gather` fold them into the pending list.
    fn events(&mut self, lines: &[u8], gather: bool) -> Result<EventsInfo, CoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(CoreError::Closed("channel".to_owned()));
        }
        let batch = parse_watch_events::<K>(lines, true)?;
        for op in batch.ops {
            match op {
                Op::Add(objs) if gather => self.pending.extend(objs),
                // Initial events are all ADDED; a removal (a rejected object) drops its key.
                Op::Remove(keys) if gather => self.pending.retain(|obj| !keys.contains(&obj.key())),
                Op::Set(objs) if gather => self.pending = objs,
                op => self.send(op)?,
            }
        }
        Ok(EventsInfo {
            resource_version: batch.resource_version,
            error: batch.error,
            events: batch.events,
            rejected: batch.rejected.iter().map(ToString::to_string).collect(),
        })
    }
}
