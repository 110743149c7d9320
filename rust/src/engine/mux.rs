//! The mux: named sources feeding one merge, which publishes snapshots to the broadcaster.
//!
//! Producers push onto an unbounded lock-free queue (crossbeam), so they never wait for the
//! merger or for handlers. One merger thread per config applies operations in queue order (so the
//! updates of one source are applied in the order sent), publishes one snapshot per drained batch
//! (O(1): the persistent map is shared), and folds it into each handler's slot.
//!
//! A small operation (see [`Merger::inline`]) sent after a quiet spell skips the queue when nothing
//! is queued and no merge is running: its sender merges and publishes it itself, under the merge lock it only *tries* to
//! take, so a handler is one thread hop away from the send instead of two. Order is kept because
//! `pending` counts what was queued and not yet applied, and only drops under the merge lock: a
//! sender that finds it zero there knows everything sent before it has been applied.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::{Condvar, Mutex};

use super::broadcast::{Broadcaster, Sink};
use super::error::CoreError;
use super::handler_stats::HandlerReport;
use super::histogram::HistogramSnapshot;
use super::merger::Merger;
use super::object::Object;
use super::ratelimit::Clock;
use super::snapshot::Snapshot;
use super::stats::Stats;
use super::store::Store;

/// Most messages applied before a version is published, so a flood still publishes regularly.
const MAX_BATCH: usize = 1024;

/// A send merges inline only this long after the previous send: a lone change reaches handlers
/// a hop sooner, while a burst is left to the merger thread, which publishes it in batches (per
/// send, publishing and waking handlers would cost the burst more than the hop saves).
const INLINE_QUIET: Duration = Duration::from_micros(50);

enum Msg<I> {
    Apply(usize, I),
    Synced(usize),
    Flush(Sender<u64>),
    Shutdown,
}

struct SourceEntry {
    name: String,
    /// The source has sent a SET or `mark_synced` (what `Mux::synced` reports).
    sent_synced: bool,
    /// ... and the merger has applied it (what `Mux::wait_synced` and handlers wait for).
    synced: bool,
}

#[derive(Default)]
struct Registry {
    sources: Vec<SourceEntry>,
    synced: bool,
    /// Version at which the config first became synced.
    synced_at: Option<u64>,
}

/// What merging needs, behind the merge lock.
struct MergeState<M> {
    merger: M,
    /// Sources whose SET (or `mark_synced`) was applied since the last publish.
    newly_synced: Vec<usize>,
}

struct Shared<T: Object, M> {
    current: ArcSwap<Snapshot<T>>,
    /// The merge. Taken by the merger thread for each batch and, with `try_lock` only, by a
    /// sender merging inline. First in the lock order: held while publishing, which takes the
    /// broadcaster's locks and the registry (see [`Broadcaster`]).
    merge: Mutex<MergeState<M>>,
    /// Messages queued and not yet applied: incremented before a push, decremented under
    /// `merge` once applied.
    pending: AtomicUsize,
    /// When the last send came, in nanoseconds since `epoch` (see [`INLINE_QUIET`]); `u64::MAX`
    /// before the first.
    last_send: AtomicU64,
    epoch: Instant,
    /// Sources and sync state. A leaf of the broadcaster's lock order (see [`Broadcaster`]):
    /// taken under its `slots` lock by `Mux::register`, so never held while calling into it.
    registry: Mutex<Registry>,
    /// Signalled (under `registry`) when the config becomes synced; `wait_synced` sleeps here.
    synced_changed: Condvar,
    broadcaster: Arc<Broadcaster<T>>,
    stats: Arc<Stats>,
}

/// One config's engine: sources, merger thread, current state and handlers.
///
/// `M` is what the merger thread runs: the per-source [`Store`] for the input configs.
pub struct Mux<T: Object, M: Merger<T> = Store<T>> {
    name: String,
    tx: Sender<Msg<M::Input>>,
    shared: Arc<Shared<T, M>>,
    /// The merger thread until the first close takes it out to join it (with the lock released).
    /// Taken alone, outside the broadcaster's lock order.
    merger: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
}

impl<T: Object> Mux<T> {
    /// Start a config named `name` whose handlers are called at most once per `min_interval`.
    pub fn new(
        name: &str,
        min_interval: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CoreError> {
        Self::with_merger(name, min_interval, clock, Store::new())
    }
}

impl<T: Object, M: Merger<T>> Mux<T, M> {
    /// Start a config whose merger thread runs `merger`.
    pub fn with_merger(
        name: &str,
        min_interval: Duration,
        clock: Arc<dyn Clock>,
        merger: M,
    ) -> Result<Self, CoreError> {
        let stats = Arc::new(Stats::default());
        let shared = Arc::new(Shared {
            current: ArcSwap::from_pointee(Snapshot::empty()),
            merge: Mutex::new(MergeState {
                merger,
                newly_synced: Vec::new(),
            }),
            pending: AtomicUsize::new(0),
            last_send: AtomicU64::new(u64::MAX),
            epoch: Instant::now(),
            registry: Mutex::new(Registry::default()),
            synced_changed: Condvar::new(),
            broadcaster: Broadcaster::new(name, min_interval, clock, Arc::clone(&stats)),
            stats,
        });
        let (tx, rx) = crossbeam_channel::unbounded();
        let merger_shared = Arc::clone(&shared);
        let merger = std::thread::Builder::new()
            .name(format!("{name}-merger"))
            .spawn(move || merge_loop(&merger_shared, &rx))
            .map_err(|e| CoreError::Closed(format!("{name} (no merger thread: {e})")))?;
        Ok(Self {
            name: name.to_owned(),
            tx,
            shared,
            merger: Mutex::new(Some(merger)),
            closed: AtomicBool::new(false),
        })
    }

    /// The config's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The index of source `name`, creating it (unsynced) on first use. Creation order is priority.
    pub fn source(&self, name: &str) -> Result<usize, CoreError> {
        self.check_open()?;
        let mut reg = self.shared.registry.lock();
        if let Some(i) = reg.sources.iter().position(|s| s.name == name) {
            return Ok(i);
        }
        reg.sources.push(SourceEntry {
            name: name.to_owned(),
            sent_synced: false,
            synced: false,
        });
        reg.synced = false;
        Ok(reg.sources.len() - 1)
    }

    /// Source names in creation order.
    pub fn source_names(&self) -> Vec<String> {
        self.shared
            .registry
            .lock()
            .sources
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }

    /// Send an operation of `source`; never waits for the merger or handlers. A small one is
    /// merged and published right here when nothing is queued and no merge is running (see the
    /// module docs); anything else is queued.
    pub fn send(&self, source: usize, op: M::Input) -> Result<(), CoreError> {
        self.check_open()?;
        if M::syncs(&op) {
            // Before applying: `synced` must never lag behind what `wait_synced` has seen merged.
            self.note_sent_synced(source);
        }
        let shared = &self.shared;
        let now = shared.epoch.elapsed().as_nanos() as u64;
        let previous = shared.last_send.swap(now, Ordering::Relaxed);
        let quiet =
            previous == u64::MAX || now.saturating_sub(previous) >= INLINE_QUIET.as_nanos() as u64;
        if quiet && M::inline(&op) && shared.pending.load(Ordering::Acquire) == 0 {
            if let Some(mut merge) = shared.merge.try_lock() {
                // Re-read under the lock: only now is "nothing queued" also "all applied".
                if shared.pending.load(Ordering::Acquire) == 0 {
                    apply(shared, &mut merge, source, op);
                    publish(shared, &mut merge);
                    return Ok(());
                }
            }
        }
        self.queue(Msg::Apply(source, op))
    }

    /// Mark `source` synced without a SET (merged when the merger reaches this point of its queue).
    pub fn mark_synced(&self, source: usize) -> Result<(), CoreError> {
        self.check_open()?;
        self.note_sent_synced(source);
        self.queue(Msg::Synced(source))
    }

    fn queue(&self, msg: Msg<M::Input>) -> Result<(), CoreError> {
        // Counted before the push, so the merger never applies a message not yet counted.
        self.shared.pending.fetch_add(1, Ordering::AcqRel);
        self.tx.send(msg).map_err(|_| {
            self.shared.pending.fetch_sub(1, Ordering::AcqRel);
            self.closed_error()
        })
    }

    fn note_sent_synced(&self, source: usize) {
        if let Some(entry) = self.shared.registry.lock().sources.get_mut(source) {
            entry.sent_synced = true;
        }
    }

    /// The newest published snapshot (O(1)).
    pub fn state(&self) -> Arc<Snapshot<T>> {
        self.shared.current.load_full()
    }

    /// Ask the merger to apply everything queued so far: the receiver gets the resulting version.
    /// `None` when the config is closed (its final drain merged everything sent before).
    pub fn request_flush(&self) -> Option<Receiver<u64>> {
        let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
        self.queue(Msg::Flush(reply_tx)).ok().map(|()| reply_rx)
    }

    /// [`Mux::request_flush`] and wait for it: the merged version, or `None` if `deadline` passed.
    pub fn merged_version(&self, deadline: Instant) -> Result<Option<u64>, CoreError> {
        let Some(reply) = self.request_flush() else {
            return Ok(Some(self.state().version));
        };
        match reply.recv_deadline(deadline) {
            Ok(v) => Ok(Some(v)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Ok(Some(self.state().version)),
        }
    }

    /// Wait until every handler has received state at least as new as `version`.
    pub fn wait_delivered(&self, version: u64, deadline: Instant) -> bool {
        self.shared.broadcaster.wait_delivered(version, deadline)
    }

    /// True when at least one source exists and every source has sent a SET or been marked synced
    /// (the merger may still be applying it: [`Mux::wait_synced`] waits for that too).
    pub fn synced(&self) -> bool {
        let reg = self.shared.registry.lock();
        !reg.sources.is_empty() && reg.sources.iter().all(|s| s.sent_synced)
    }

    /// Wait until synced *and* merged — so the state then holds every source's synced content —
    /// or until `deadline`; returns whether synced.
    pub fn wait_synced(&self, deadline: Instant) -> bool {
        let mut reg = self.shared.registry.lock();
        while !reg.synced {
            if self
                .shared
                .synced_changed
                .wait_until(&mut reg, deadline)
                .timed_out()
            {
                return reg.synced;
            }
        }
        true
    }

    /// Register a handler (see [`Broadcaster::register`]).
    pub fn register(&self, sink: Box<dyn Sink<T>>) -> Result<u64, CoreError> {
        self.check_open()?;
        let shared = &self.shared;
        // The closure runs under the broadcaster's `slots` lock and takes the registry inside it:
        // slots -> registry, the one place the two nest (lock order on [`Broadcaster`]).
        Ok(shared.broadcaster.register(sink, || {
            (shared.current.load_full(), shared.registry.lock().synced_at)
        }))
    }

    /// Stop delivering to registration `id`.
    pub fn cancel(&self, id: u64) -> bool {
        self.shared.broadcaster.cancel(id)
    }

    /// Number of registered handlers.
    pub fn handler_count(&self) -> usize {
        self.shared.broadcaster.len()
    }

    /// Counters by name.
    pub fn stats(&self) -> [(&'static str, u64); 7] {
        self.shared.stats.to_pairs()
    }

    /// Each registered handler's counters, lag and call durations.
    pub fn handler_reports(&self) -> Vec<HandlerReport> {
        self.shared.broadcaster.handler_reports()
    }

    /// Network-programming latency observed when handlers returned (see [`Stats`]).
    pub fn network_programming(&self) -> HistogramSnapshot {
        self.shared.stats.network_programming.snapshot()
    }

    /// True once [`Mux::close`] has started.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Merge what was queued, stop the merger, then stop the delivery threads, waiting for them
    /// until `deadline`. Idempotent. Returns false if a handler was still inside a call.
    pub fn close(&self, deadline: Instant) -> bool {
        self.closed.store(true, Ordering::Release);
        let _ = self.queue(Msg::Shutdown);
        // Taken out first, so the lock is not held while joining.
        let merger = self.merger.lock().take();
        if let Some(merger) = merger {
            // The merger never calls into Python nor waits on anything but its queue.
            let _ = merger.join();
        }
        self.shared.broadcaster.close(deadline)
    }

    fn check_open(&self) -> Result<(), CoreError> {
        if self.is_closed() {
            Err(self.closed_error())
        } else {
            Ok(())
        }
    }

    fn closed_error(&self) -> CoreError {
        CoreError::Closed(self.name.clone())
    }
}

impl<T: Object, M: Merger<T>> Drop for Mux<T, M> {
    fn drop(&mut self) {
        // Threads must not outlive their config; a handler still inside a call finishes alone.
        self.close(Instant::now());
    }
}

fn merge_loop<T: Object, M: Merger<T>>(shared: &Shared<T, M>, rx: &Receiver<Msg<M::Input>>) {
    while let Ok(first) = rx.recv() {
        let mut merge = shared.merge.lock();
        let mut next = Some(first);
        let mut applied = 0;
        let mut shutdown = false;
        while let Some(msg) = next.take() {
            match msg {
                Msg::Apply(source, op) => apply(shared, &mut merge, source, op),
                Msg::Synced(source) => merge.newly_synced.push(source),
                Msg::Flush(reply) => {
                    publish(shared, &mut merge);
                    let _ = reply.send(merge.merger.version());
                }
                Msg::Shutdown => shutdown = true,
            }
            // Under the merge lock, once applied (see `Shared::pending`).
            shared.pending.fetch_sub(1, Ordering::AcqRel);
            if shutdown {
                break;
            }
            applied += 1;
            if applied < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        publish(shared, &mut merge);
        if shutdown {
            return;
        }
    }
}

fn apply<T: Object, M: Merger<T>>(
    shared: &Shared<T, M>,
    merge: &mut MergeState<M>,
    source: usize,
    op: M::Input,
) {
    let is_set = M::syncs(&op);
    merge.merger.apply(source, op);
    shared.stats.updates.fetch_add(1, Ordering::Relaxed);
    if is_set {
        merge.newly_synced.push(source);
    }
}

/// Publish the changes applied since the last publish as one version, then any sync transition
/// they caused. Called with the merge lock held.
fn publish<T: Object, M: Merger<T>>(shared: &Shared<T, M>, merge: &mut MergeState<M>) {
    let store = &mut merge.merger;
    let counters = store.counters();
    shared
        .stats
        .objects_merged
        .store(counters.objects_merged, Ordering::Relaxed);
    shared
        .stats
        .conflicts
        .store(counters.conflicts, Ordering::Relaxed);
    if let Some(snap) = store.commit() {
        let snap = Arc::new(snap);
        // Store before folding into slots: see `Broadcaster::register` for why this order.
        shared.current.store(Arc::clone(&snap));
        shared.stats.versions.fetch_add(1, Ordering::Relaxed);
        shared.broadcaster.publish(&snap);
    }
    if merge.newly_synced.is_empty() {
        return;
    }
    let mut reg = shared.registry.lock();
    for source in merge.newly_synced.drain(..) {
        if let Some(entry) = reg.sources.get_mut(source) {
            entry.synced = true;
        }
    }
    let now_synced = reg.sources.iter().all(|s| s.synced) && !reg.sources.is_empty();
    let mut first_sync = None;
    if now_synced && !reg.synced {
        reg.synced = true;
        if reg.synced_at.is_none() {
            reg.synced_at = Some(store.version());
            first_sync = reg.synced_at;
        }
        shared.synced_changed.notify_all();
    }
    drop(reg);
    // Outside the registry lock: `mark_synced` takes the broadcaster's `slots` lock, which comes
    // before the registry in the lock order (see [`Broadcaster`]).
    if let Some(version) = first_sync {
        shared.broadcaster.mark_synced(version);
    }
}

#[cfg(test)]
mod tests;
