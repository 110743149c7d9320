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
}
