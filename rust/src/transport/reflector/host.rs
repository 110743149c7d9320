//! What a loop is given: its settings, and the embedder (Python) it asks for tokens and logs to.

use std::sync::Arc;

use crate::engine::watcher::Options;
use crate::transport::conn::Dialer;
use crate::transport::limits::Limits;
use crate::transport::record::Recorder;

/// Log levels, as Python's `logging` numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// 10.
    Debug = 10,
    /// 20.
    Info = 20,
    /// 30.
    Warning = 30,
    /// 40.
    Error = 40,
}

/// What the loop asks of its embedder (Python): rare calls only, never per event.
pub trait Host: Send + Sync {
    /// Log a message about this resource.
    fn log(&self, level: Level, message: &str);
    /// The `Authorization` header value to send now (None: none), asked again after a 401;
    /// an error (the refresh failed) keeps the header in use.
    fn authorization(&self) -> Result<Option<String>, String>;
}

/// What one loop needs besides its sink and host.
pub struct Settings {
    /// Connection details.
    pub dialer: Dialer,
    /// The collection's path, e.g. `/api/v1/namespaces/ns/services`.
    pub path: String,
    /// `labelSelector`, sent with every request.
    pub label_selector: Option<String>,
    /// The state machine's options.
    pub options: Options,
    /// `source/resource`, for logs and the thread name.
    pub name: String,
    /// The `Authorization` header value to start with.
    pub authorization: Option<String>,
    /// Ask the host for the header before every connection (the client has a refresh hook).
    pub refresh_each_connect: bool,
    /// Record what the loop receives.
    pub recorder: Option<Arc<Recorder>>,
    /// Size limits on one watch event line and one list page.
    pub limits: Limits,
}
