//! Where the list/watch loop is: one variant per phase, with what that phase needs to resume.

use std::time::{Duration, Instant};

/// Where the loop is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Listing: `continue_token` is the next page's (None: the first page), `resource_version`
    /// the first page's (the whole list's), `paginate` whether pages are asked for.
    Listing {
        /// Token of the next page.
        continue_token: Option<String>,
        /// The list's version, from its first page.
        resource_version: Option<String>,
        /// Whether `limit` is sent (not after an expired continue token).
        paginate: bool,
    },
    /// Streaming a list: a watch whose initial events end at a bookmark annotated
    /// `k8s.io/initial-events-end`; the events before it are gathered, then sent as one SET.
    Streaming {
        /// `resourceVersion` of the request ("": a consistent read of the newest state).
        resource_version: String,
        /// `timeoutSeconds` of the request, jittered.
        timeout: Duration,
    },
    /// Watching from `resource_version`, asking the server to end the watch after `timeout`.
    Watching {
        /// Where the watch (re)starts.
        resource_version: String,
        /// `timeoutSeconds` of the request, jittered.
        timeout: Duration,
    },
    /// Auditing: listing in pages (as [`State::Listing`]) to compare with what was sent; the
    /// watch had reached `watched` and resumes from the audit's version.
    Auditing {
        /// Token of the next page.
        continue_token: Option<String>,
        /// The audit list's version, from its first page.
        resource_version: Option<String>,
        /// Where the watch had got to.
        watched: String,
    },
    /// Backing off until `until`, then `next`.
    Waiting {
        /// When to go on.
        until: Instant,
        /// Where to go then.
        next: Box<State>,
    },
    /// Done: the source stopped or its channel closed.
    Ended,
}
