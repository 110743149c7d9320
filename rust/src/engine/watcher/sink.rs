//! Where a watcher puts what it reads: one source of one config, without Python.

use serde_json::Value;

use crate::engine::error::CoreError;

/// One parsed list page, as far as the loop needs it (the items stay in the sink).
#[derive(Debug, Default)]
pub struct PageInfo {
    /// The list's `metadata.resourceVersion`.
    pub resource_version: Option<String>,
    /// The next page's token.
    pub continue_token: Option<String>,
    /// Items left out as invalid (their messages).
    pub rejected: Vec<String>,
    /// Items kept from this page.
    pub items: usize,
}

/// What a chunk of watch-event lines amounted to.
#[derive(Debug, Default)]
pub struct EventsInfo {
    /// The last `resourceVersion` seen (bookmarks included): where to resume.
    pub resource_version: Option<String>,
    /// The `Status` object of an ERROR event; events after it were not applied.
    pub error: Option<Value>,
    /// Events applied (bookmarks included).
    pub events: usize,
    /// Objects treated as absent because they failed validation (their messages).
    pub rejected: Vec<String>,
}

/// What an audit found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Audited {
    /// Keys whose listed version differs from what was sent although no event could explain
    /// it (the listed object is not newer than the watch had reached), plus keys sent but no
    /// longer listed: the drift.
    pub drift: usize,
    /// Keys that differ at all (drift plus changes newer than the watch); any heals by a SET.
    pub differing: usize,
}

/// One source's way into a config for the list/watch loop: list pages gathered into one SET,
/// watch events applied as they come. Implementations parse in Rust and never take the GIL.
pub trait Sink: Send {
    /// Forget the pages gathered so far (a list starts, or starts over).
    fn begin_list(&mut self);
    /// Parse one list page and keep its valid items.
    fn list_page(&mut self, data: &[u8]) -> Result<PageInfo, CoreError>;
    /// Send the gathered items as one SET; returns how many.
    fn commit_list(&mut self) -> Result<usize, CoreError>;
    /// Apply complete watch-event lines.
    fn apply_events(&mut self, lines: &[u8]) -> Result<EventsInfo, CoreError>;
    /// Gather complete watch-event lines of a streamed list's initial events with the pages
    /// (nothing is sent until [`commit_list`](Self::commit_list)).
    fn gather_events(&mut self, lines: &[u8]) -> Result<EventsInfo, CoreError>;
    /// Keep a ledger of what was sent, for audits (off by default: it costs per event).
    fn keep_ledger(&mut self);
    /// Start an audit: a list compared with the ledger.
    fn begin_audit(&mut self);
    /// Compare one page of the audit's list with the ledger; only objects that differ are built.
    fn audit_page(&mut self, data: &[u8]) -> Result<PageInfo, CoreError>;
    /// End the audit; `watched` is the version the watch had reached. When anything differs,
    /// the listed state is sent as one SET.
    fn finish_audit(&mut self, watched: &str) -> Result<Audited, CoreError>;
}
