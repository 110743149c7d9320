//! One resource's list/watch loop on its own thread: the engine's [`Watcher`] decides, this
//! file does the I/O and feeds the [`Sink`]. Python is asked for nothing per event: only for a
//! token (after a 401, or before each connection when the client has a refresh hook) and to log
//! what operators must see (lists, failures).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use super::conn::Canceller;
use super::record::RecordingSink;
use crate::engine::watcher::Sink;

mod driver;
mod effects;
mod host;
mod shared;
mod status;

use driver::Run;
pub use host::{Host, Level, Settings};
pub use shared::COUNTERS;
use shared::{deadline, Flag, Shared};

/// A running loop.
pub struct Reflector {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Reflector {
    /// Start the loop on its own thread.
    pub fn spawn(
        settings: Settings,
        sink: Box<dyn Sink>,
        host: Arc<dyn Host>,
    ) -> std::io::Result<Self> {
        let sink: Box<dyn Sink> = match &settings.recorder {
            Some(recorder) => Box::new(RecordingSink::new(
                sink,
                Arc::clone(recorder),
                settings.path.rsplit('/').next().unwrap_or(""),
            )),
            None => sink,
        };
        let shared = Arc::new(Shared {
            stop: Flag::default(),
            cancel: Canceller::new(),
            counters: Default::default(),
            synced: Flag::default(),
            done: Flag::default(),
            resource_version: Mutex::new(None),
            last_data: Mutex::new(None),
            last_event: Mutex::new(None),
            last_bookmark: Mutex::new(None),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("kpc-{}", settings.name))
            .spawn(move || {
                Run::new(settings, sink, host, Arc::clone(&thread_shared)).run();
                thread_shared.done.set();
                // Wake `wait_synced` too: a loop that ended unsynced never will be.
                thread_shared.synced.notify();
            })?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Ask the loop to stop, interrupting a read in flight. Returns at once.
    pub fn stop(&self) {
        self.shared.stop.set();
        self.shared.cancel.cancel();
    }

    /// Wait for the thread to end (None: forever); false on timeout.
    pub fn join(&self, timeout: Option<Duration>) -> bool {
        let finished = self.shared.done.wait(deadline(timeout), || false);
        if finished {
            if let Some(handle) = self.thread.lock().take() {
                let _ = handle.join();
            }
        }
        finished
    }

    /// Whether a complete list was sent.
    pub fn synced(&self) -> bool {
        self.shared.synced.get()
    }

    /// Wait until synced (None: forever); false on timeout or if the loop ended unsynced.
    pub fn wait_synced(&self, timeout: Option<Duration>) -> bool {
        let done = &self.shared.done;
        self.shared.synced.wait(deadline(timeout), || done.get())
    }

    /// The counters, by name.
    pub fn stats(&self) -> BTreeMap<&'static str, u64> {
        COUNTERS
            .iter()
            .zip(&self.shared.counters)
            .map(|(name, value)| (*name, value.load(Ordering::Relaxed)))
            .collect()
    }

    /// The last resourceVersion seen (None before the first list).
    pub fn resource_version(&self) -> Option<String> {
        self.shared.resource_version.lock().clone()
    }

    /// Time since data last arrived (None before any).
    pub fn idle(&self) -> Option<Duration> {
        self.shared.last_data.lock().map(|at| at.elapsed())
    }

    /// Time since an event other than a bookmark, or a list, last arrived (None before any).
    pub fn since_event(&self) -> Option<Duration> {
        self.shared.last_event.lock().map(|at| at.elapsed())
    }

    /// Time since a bookmark last arrived (None before any).
    pub fn since_bookmark(&self) -> Option<Duration> {
        self.shared.last_bookmark.lock().map(|at| at.elapsed())
    }
}

impl Drop for Reflector {
    fn drop(&mut self) {
        self.stop();
    }
}
