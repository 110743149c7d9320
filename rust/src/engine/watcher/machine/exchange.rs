//! What the machine and its driver tell each other: the next action, how it went, and what to
//! do with the pages gathered.

use std::time::{Duration, Instant};

use crate::engine::watcher::error::WatchError;

/// What the driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// GET one list page.
    ListPage {
        /// `limit`, when paginating.
        limit: Option<u32>,
        /// `continue`, after the first page.
        continue_token: Option<String>,
    },
    /// GET one page of an audit's list.
    AuditPage {
        /// `limit`, when paginating.
        limit: Option<u32>,
        /// `continue`, after the first page.
        continue_token: Option<String>,
    },
    /// GET a streaming list: a watch with `sendInitialEvents=true`.
    WatchList {
        /// `resourceVersion` (matched `NotOlderThan`).
        resource_version: String,
        /// `timeoutSeconds`.
        timeout: Duration,
    },
    /// GET a watch from `resource_version` (empty: from "any").
    Watch {
        /// `resourceVersion`.
        resource_version: String,
        /// `timeoutSeconds`.
        timeout: Duration,
    },
    /// Wait (interruptibly) until then.
    Wait {
        /// When to go on.
        until: Instant,
    },
    /// Leave the loop.
    Stop,
}

/// What came of the last action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A list page was read and parsed into the sink.
    Page {
        /// Its `metadata.resourceVersion`.
        resource_version: Option<String>,
        /// Its `metadata.continue`.
        continue_token: Option<String>,
    },
    /// A watch ended cleanly (the server closed it) after `events` events in `lasted`.
    Watched {
        /// Events applied, bookmarks included.
        events: usize,
        /// How long it stayed open.
        lasted: Duration,
    },
    /// The request, the read or the parse failed.
    Failed(WatchError),
    /// The wait is over.
    Waited,
}

/// What the driver does with the sink besides the next action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Nothing.
    None,
    /// Start gathering a list afresh (drop pages gathered so far).
    BeginList,
    /// The list is complete: send what was gathered as one SET. `relist`: not the first.
    CommitList {
        /// Whether a list was committed before.
        relist: bool,
    },
    /// The watch was resumed from its version, without a relist.
    WatchRestart,
    /// The server refused streaming lists: paginated lists from now on.
    WatchListRefused,
    /// Start an audit (the sink forgets any earlier one).
    BeginAudit,
    /// The audit's list is complete: compare it with what was sent (the watch had reached
    /// `watched`) and heal with a SET when it differs.
    FinishAudit {
        /// Where the watch had got to.
        watched: String,
    },
}
