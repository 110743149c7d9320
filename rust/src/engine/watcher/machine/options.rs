//! How the list/watch loop is configured: streaming or paginated lists, timeouts, retry delays.

use std::time::Duration;

/// Whether lists are streamed (a watch with initial events, KEP-3157) or paginated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchList {
    /// Stream; fall back to paginated lists (for good) when the server refuses.
    Auto,
    /// Stream only; a refusal is retried like any failure.
    Always,
    /// Paginated lists only.
    Never,
}

/// How the loop lists and watches.
#[derive(Debug, Clone)]
pub struct Options {
    /// Streaming or paginated lists.
    pub watch_list: WatchList,
    /// Objects per list page (`limit`); 0 lists in one request.
    pub page_size: u32,
    /// How long a watch asks the server to stay open (plus up to 25% jitter).
    pub watch_timeout: Duration,
    /// Relist this often (a SET of an unchanged state makes no new version); None: only on 410.
    pub resync_period: Option<Duration>,
    /// Audit this often: a paginated list compared with what was sent, healed by a SET when
    /// it differs; None: never.
    pub audit_period: Option<Duration>,
    /// First retry delay.
    pub backoff_initial: Duration,
    /// Largest retry delay.
    pub backoff_max: Duration,
}
