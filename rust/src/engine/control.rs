//! The kind-independent side of a config's mux (sources, sync, flush, handlers, close), as one
//! object-safe trait, so bindings drive every config (inputs and proxy views) the same way.

use std::time::Instant;

use crossbeam_channel::Receiver;

use super::error::CoreError;
use super::handler_stats::HandlerReport;
use super::histogram::HistogramSnapshot;
use super::merger::Merger;
use super::mux::Mux;
use super::object::Object;

/// What a caller needs of a mux whatever its object kind.
pub trait Control: Send + Sync {
    /// The config's name.
    fn name(&self) -> &str;
    /// Source index of `name`, created on first use.
    fn source(&self, name: &str) -> Result<usize, CoreError>;
    /// Source names in creation order.
    fn source_names(&self) -> Vec<String>;
    /// Mark `source` synced without a SET.
    fn mark_synced(&self, source: usize) -> Result<(), CoreError>;
    /// Stop delivering to registration `id`.
    fn cancel(&self, id: u64) -> bool;
    /// Ask the merger for the version that covers everything queued so far.
    fn request_flush(&self) -> Option<Receiver<u64>>;
    /// The newest published version.
    fn version(&self) -> u64;
    /// Wait until every handler has `version`.
    fn wait_delivered(&self, version: u64, deadline: Instant) -> bool;
    /// Every source has sent its synced state.
    fn synced(&self) -> bool;
    /// Wait until synced and merged.
    fn wait_synced(&self, deadline: Instant) -> bool;
    /// Counters by name.
    fn stats(&self) -> [(&'static str, u64); 7];
    /// Close, waiting for handlers until `deadline`.
    fn close(&self, deadline: Instant) -> bool;
    /// True once closing started.
    fn is_closed(&self) -> bool;
    /// Number of registered handlers.
    fn handler_count(&self) -> usize;
    /// Each registered handler's counters, lag and call durations.
    fn handler_reports(&self) -> Vec<HandlerReport>;
    /// Network-programming latency observed when handlers returned.
    fn network_programming(&self) -> HistogramSnapshot;
}

impl<T: Object, M: Merger<T>> Control for Mux<T, M> {
    fn name(&self) -> &str {
        Mux::name(self)
    }
    fn source(&self, name: &str) -> Result<usize, CoreError> {
        Mux::source(self, name)
    }
    fn source_names(&self) -> Vec<String> {
        Mux::source_names(self)
    }
    fn mark_synced(&self, source: usize) -> Result<(), CoreError> {
        Mux::mark_synced(self, source)
    }
    fn cancel(&self, id: u64) -> bool {
        Mux::cancel(self, id)
    }
    fn request_flush(&self) -> Option<Receiver<u64>> {
        Mux::request_flush(self)
    }
    fn version(&self) -> u64 {
        self.state().version
    }
    fn wait_delivered(&self, version: u64, deadline: Instant) -> bool {
        Mux::wait_delivered(self, version, deadline)
    }
    fn synced(&self) -> bool {
        Mux::synced(self)
    }
    fn wait_synced(&self, deadline: Instant) -> bool {
        Mux::wait_synced(self, deadline)
    }
    fn stats(&self) -> [(&'static str, u64); 7] {
        Mux::stats(self)
    }
    fn close(&self, deadline: Instant) -> bool {
        Mux::close(self, deadline)
    }
    fn is_closed(&self) -> bool {
        Mux::is_closed(self)
    }
    fn handler_count(&self) -> usize {
        Mux::handler_count(self)
    }
    fn handler_reports(&self) -> Vec<HandlerReport> {
        Mux::handler_reports(self)
    }
    fn network_programming(&self) -> HistogramSnapshot {
        Mux::network_programming(self)
    }
}
