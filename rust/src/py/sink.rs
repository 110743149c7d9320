//! The Rust transport's way into one source of a config: list pages gathered into one SET,
//! watch events applied as they are read, and audits against a ledger of what was sent.
//! Nothing here takes the GIL.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::engine::error::CoreError;
use crate::engine::json::watch::{parse_list_page, parse_watch_events};
use crate::engine::json::{key_of, parse_node, Node};
use crate::engine::model::{EndpointSlice, Endpoints, Interner, Service};
use crate::engine::object::ObjKey;
use crate::engine::store::Op;
use crate::engine::watcher::{Audited, EventsInfo, PageInfo, Sink};
use crate::py::kind::PyKind;

/// An object's `metadata.resourceVersion`.
pub trait Versioned {
    fn version(&self) -> Option<&str>;
}

impl Versioned for Service {
    fn version(&self) -> Option<&str> {
        self.meta.resource_version.as_deref()
    }
}

impl Versioned for Endpoints {
    fn version(&self) -> Option<&str> {
        self.meta.resource_version.as_deref()
    }
}

impl Versioned for EndpointSlice {
    fn version(&self) -> Option<&str> {
        self.meta.resource_version.as_deref()
    }
}

/// Where a sink's operations go: one source of a config (the config's mux, in `typed.rs`).
pub trait OpTarget<K>: Send + Sync {
    /// Queue `op` as `source`'s.
    fn send_op(&self, source: usize, op: Op<K>) -> Result<(), CoreError>;
}

/// An audit in progress: the listed state, and which keys differ from the ledger.
struct Audit<K> {
    items: Vec<Arc<K>>,
    seen: HashSet<ObjKey>,
    /// Keys listed at another version than sent (or not sent), with the listed version.
    changed: Vec<Option<String>>,
}

/// One source of one config, fed from Rust.
pub struct MuxSink<K: PyKind> {
    config: Arc<dyn OpTarget<K>>,
    source: usize,
    /// The channel's own closed flag (a closed channel ends the loop quietly).
    closed: Arc<AtomicBool>,
    pending: Vec<Arc<K>>,
    /// What this source last sent, by key (only with [`Sink::keep_ledger`]).
    ledger: Option<HashMap<ObjKey, Arc<K>>>,
    audit: Option<Audit<K>>,
}

impl<K: PyKind> MuxSink<K> {
    pub fn new(config: Arc<dyn OpTarget<K>>, source: usize, closed: Arc<AtomicBool>) -> Self {
        Self {
            config,
            source,
            closed,
            pending: Vec::new(),
            ledger: None,
            audit: None,
        }
    }

    fn send(&mut self, op: Op<K>) -> Result<(), CoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(CoreError::Closed("channel".to_owned()));
        }
        if let Some(ledger) = &mut self.ledger {
            match &op {
                Op::Set(objs) => {
                    ledger.clear();
                    ledger.extend(objs.iter().map(|o| (o.key(), Arc::clone(o))));
                }
                Op::Add(objs) => ledger.extend(objs.iter().map(|o| (o.key(), Arc::clone(o)))),
                Op::Remove(keys) => keys.iter().for_each(|k| {
                    ledger.remove(k);
                }),
            }
        }
        self.config.send_op(self.source, op)
    }
}

impl<K: PyKind + Versioned> Sink for MuxSink<K> {
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

    fn keep_ledger(&mut self) {
        self.ledger.get_or_insert_with(HashMap::new);
    }

    fn begin_audit(&mut self) {
        self.audit = Some(Audit {
            items: Vec::new(),
            seen: HashSet::new(),
            changed: Vec::new(),
        });
    }

    fn audit_page(&mut self, data: &[u8]) -> Result<PageInfo, CoreError> {
        let page = parse_node(data)?;
        let Some(items) = page.get("items").and_then(Node::as_array) else {
            return Err(CoreError::invalid(
                "items",
                "a list response needs an items array",
            ));
        };
        let empty = HashMap::new();
        let ledger = self.ledger.as_ref().unwrap_or(&empty);
        let audit = self.audit.get_or_insert_with(|| Audit {
            items: Vec::new(),
            seen: HashSet::new(),
            changed: Vec::new(),
        });
        let mut interner = Interner::new();
        let mut rejected = Vec::new();
        let mut kept = 0;
        for item in items {
            let Ok(key) = key_of(item) else { continue };
            let version = meta_str(item, "resourceVersion");
            match ledger.get(&key) {
                // Unchanged: the object already sent is reused, nothing is built.
                Some(sent) if version.is_some() && sent.version() == version => {
                    audit.items.push(Arc::clone(sent));
                }
                _ => match K::from_node(item, &mut interner) {
                    Ok(obj) => {
                        audit.items.push(Arc::new(obj));
                        audit.changed.push(version.map(str::to_owned));
                    }
                    Err(e) => {
                        rejected.push(e.to_string());
                        continue;
                    }
                },
            }
            audit.seen.insert(key);
            kept += 1;
        }
        let field = |f: &str| {
            page.get("metadata")
                .and_then(|m| m.get(f))
                .and_then(Node::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(PageInfo {
            resource_version: field("resourceVersion"),
            continue_token: field("continue"),
            rejected,
            items: kept,
        })
    }

    fn finish_audit(&mut self, watched: &str) -> Result<Audited, CoreError> {
        let Some(audit) = self.audit.take() else {
            return Ok(Audited::default());
        };
        let vanished = self.ledger.as_ref().map_or(0, |ledger| {
            ledger.keys().filter(|k| !audit.seen.contains(*k)).count()
        });
        // A listed version newer than the watch's could be a change still on its way.
        let unexplained = audit
            .changed
            .iter()
            .filter(|listed| !is_newer(listed.as_deref(), watched))
            .count();
        let differing = audit.changed.len() + vanished;
        if differing > 0 {
            self.send(Op::Set(audit.items))?;
        }
        Ok(Audited {
            drift: unexplained + vanished,
            differing,
        })
    }
}

/// Whether `listed` is a later resourceVersion than `watched` (numeric, as every API server
/// issues them; an unreadable one is not assumed newer).
fn is_newer(listed: Option<&str>, watched: &str) -> bool {
    match (
        listed.and_then(|v| v.parse::<u64>().ok()),
        watched.parse::<u64>(),
    ) {
        (Some(listed), Ok(watched)) => listed > watched,
        _ => false,
    }
}

fn meta_str<'a>(obj: &'a Node<'_>, field: &str) -> Option<&'a str> {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Node::as_str)
}

impl<K: PyKind + Versioned> MuxSink<K> {
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
                Op::Remove(keys) if gather => {
                    self.pending.retain(|obj| !keys.contains(&obj.key()));
                }
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
