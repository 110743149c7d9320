//! The list/watch loop of one resource, without I/O: its [`machine`] (named states advanced by
//! one step function), the [`backoff`] between retries, the [`error`]s and what each means, and
//! the [`sink`] it feeds. The transport (`crate::transport`) drives it over real sockets.

pub mod backoff;
pub mod error;
pub mod initial;
pub mod machine;
pub mod sink;

pub use error::{Bounded, WatchError};
pub use machine::{Action, Effect, Options, Outcome, State, WatchList, Watcher};
pub use sink::{Audited, EventsInfo, PageInfo, Sink};
