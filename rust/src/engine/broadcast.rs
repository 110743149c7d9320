//! Delivery of merged state to handlers: one thread and one latest-value slot per handler.
//!
//! Producers and the merger never wait for handlers. The merger folds each new version into every
//! slot (O(changes) per handler, under the slot's own short lock); a handler thread takes the newest
//! snapshot with the exact changes since its previous call, then calls the handler holding no lock.
//! A busy handler therefore gets only the newest state next, coalesced, and its slot holds at most
//! one entry per changed key: memory O(state), never O(updates).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::handler_stats::{HandlerReport, HandlerStats};
use super::object::{Notes, Object};
use super::ratelimit::{Clock, RateLimiter};
use super::snapshot::{ChangeSet, Snapshot};
use super::stats::Stats;

mod slot;
use slot::{take_update, Slot, SlotState, Work};

/// What a handler call reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The handler returned normally.
    Ok,
    /// The handler raised; it was logged by the sink and is counted here. Delivery goes on.
    Failed,
    /// The handler can no longer be called (the interpreter is shutting down, or what it
    /// forwards to is gone): stop its thread and remove its registration.
    Stop,
}

/// The receiving end of one registration; called only from that registration's thread.
pub trait Sink<T: Object>: Send + Sync + 'static {
    /// Deliver a snapshot whose `changes` are relative to what this handler saw last.
    fn deliver(&self, snapshot: Snapshot<T>) -> Outcome;
    /// The config became synced and this handler has received state covering it; called once.
    fn synced(&self) -> Outcome;
    /// The handler's name in metrics (with an index, see [`HandlerStats::index`]).
    #[allow(
        clippy::unnecessary_literal_bound,
        reason = "implementations return names they own"
    )]
    fn name(&self) -> &str {
        "handler"
    }
    /// Run `body`, the delivery loop, on this sink's thread. A sink that needs per-thread setup
    /// (a Python thread state kept between calls) wraps it here. It may never return when the
    /// thread can no longer end cleanly (the interpreter is finalizing): the thread is then
    /// left parked and never joined.
    fn on_thread(&self, body: &mut (dyn FnMut() + Send)) {
        body();
    }
}

/// A registration and its delivery thread (absent if the thread could not start).
type Entry<T> = (Arc<Slot<T>>, Option<JoinHandle<()>>);

/// Handlers of one config and their delivery threads.
///
/// # Lock order
///
/// A thread holding the lock on the left may take the one on its right, never the reverse:
///
/// ```text
/// progress -> slots -> Slot::state      publish, mark_synced; wait_delivered via delivered_all
///                   -> mux registry     register, in `Mux::register`'s `current` closure
/// progress -> closing                   close, while waiting for stopped threads
/// mux merge -> slots -> Slot::state     the mux publishing (its merger thread or an inline send)
/// mux merge -> mux registry             ... and recording a sync transition
/// ```
///
/// The mux's merge lock is taken only where no other of these is held, and senders only try it.
///
/// `Slot::state`, `closing` and the mux registry are leaves: nothing is taken while one is held.
/// So a delivery thread, which holds its own `Slot::state`, releases it before it takes
/// `progress` to announce a call, and the mux releases its registry before `mark_synced`. No
/// lock is held while a sink is called or a thread is joined.
pub struct Broadcaster<T: Object> {
    name: String,
    min_interval: Duration,
    clock: Arc<dyn Clock>,
    /// Instants in [`HandlerStats`] count from here.
    epoch: Instant,
    stats: Arc<Stats>,
    /// Live registrations. Held while a version is folded into every slot, so a registration
    /// either reads a version in `register` or is in the list when it is published. In the lock
    /// order: after `progress`, before `Slot::state` and the mux registry.
    slots: Mutex<Vec<Entry<T>>>,
    /// Stopped registrations whose threads have not been joined yet. In the lock order: after
    /// `progress`, and a leaf.
    closing: Mutex<Vec<Entry<T>>>,
    next_id: AtomicU64,
    /// Guards no data, only the sleep on `progressed`: `wait_delivered` and `close` wait there,
    /// and delivery threads take it, holding no other lock, to notify after each call and when
    /// they end. First in the lock order: held while taking `slots` (`wait_delivered` checks
    /// `delivered_all` under it) and `closing` (`close`).
    progress: Mutex<()>,
    progressed: Condvar,
}

impl<T: Object> Broadcaster<T> {
    /// A broadcaster with no handlers.
    pub fn new(
        name: impl Into<String>,
        min_interval: Duration,
        clock: Arc<dyn Clock>,
        stats: Arc<Stats>,
    ) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            min_interval,
            epoch: clock.now(),
            clock,
            stats,
            slots: Mutex::new(Vec::new()),
            closing: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            progress: Mutex::new(()),
            progressed: Condvar::new(),
        })
    }

    /// Register a handler. `current` is called under the `slots` lock (so it may take only the
    /// mux registry; see the lock order on [`Broadcaster`]) and returns the newest published
    /// snapshot and the version at which the config became synced, if it has.
    ///
    /// The handler receives that snapshot promptly unless it is the empty version 0, and
    /// `on_synced` once the config is synced. Publishers must store a version where `current`
    /// reads it *before* calling [`Broadcaster::publish`]: then a registration either reads the new
    /// version or is in the list when it is published, and no version is missed.
    pub fn register(
        self: &Arc<Self>,
        sink: Box<dyn Sink<T>>,
        current: impl FnOnce() -> (Arc<Snapshot<T>>, Option<u64>),
    ) -> u64 {
        let mut slots = self.slots.lock();
        let (current, synced_at) = current();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let first = current.version > 0 || synced_at.is_some();
        let index = HandlerStats::free_index(sink.name(), slots.iter().map(|(s, _)| &*s.stats));
        let stats = Arc::new(HandlerStats::new(sink.name().into(), index, self.epoch));
        if first {
            stats.queued(self.clock.now());
        }
        let slot = Arc::new(Slot {
            id,
            delivered: AtomicU64::new(if first { 0 } else { current.version }),
            busy: AtomicBool::new(first),
            state: Mutex::new(SlotState {
                latest: current,
                pending: ChangeSet::default(),
                notes: T::Notes::default(),
                first,
                folded: u64::from(first),
                ever_delivered: false,
                synced_at,
                synced_done: false,
                stopped: false,
            }),
            wake: Condvar::new(),
            finished: AtomicBool::new(false),
            thread: OnceLock::new(),
            stats,
        });
        let this = Arc::clone(self);
        let thread_slot = Arc::clone(&slot);
        let handle = std::thread::Builder::new()
            .name(format!("{}-handler-{id}", self.name))
            .spawn(move || this.thread_main(&thread_slot, sink.as_ref()));
        let handle = if let Ok(h) = handle {
            Some(h)
        } else {
            // No thread could be started: the registration exists but never delivers.
            slot.finished.store(true, Ordering::Release);
            None
        };
        slots.push((slot, handle));
        id
    }

    /// Stop delivering to registration `id`. Safe from inside the handler itself (no join).
    pub fn cancel(&self, id: u64) -> bool {
        let mut slots = self.slots.lock();
        let Some(pos) = slots.iter().position(|(s, _)| s.id == id) else {
            return false;
        };
        let entry = slots.remove(pos);
        drop(slots);
        entry.0.stop();
        // Kept until its thread ends, so `close` still waits for a call in progress; threads of
        // earlier cancellations that have ended are joined now (they are not waited for).
        let ended: Vec<JoinHandle<()>> = {
            let mut closing = self.closing.lock();
            closing.push(entry);
            let mut ended = Vec::new();
            closing.retain_mut(|(slot, handle)| {
                if slot.finished.load(Ordering::Acquire) {
                    ended.extend(handle.take());
                    return false;
                }
                true
            });
            ended
        };
        for handle in ended {
            let _ = handle.join();
        }
        self.notify_progress();
        true
    }

    /// Number of live registrations.
    pub fn len(&self) -> usize {
        self.slots.lock().len()
    }

    /// True when no handler is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fold a newly published version into every handler's slot, then wake them all. Called by
    /// the merger only. Waking only after every slot holds the version means no handler can act
    /// on it (and, say, make its caller look at another handler) before the others have it.
    pub fn publish(&self, snap: &Arc<Snapshot<T>>) {
        let slots = self.slots.lock();
        let now = self.clock.now();
        for (slot, _) in slots.iter() {
            slot.fold(snap, now);
        }
        for (slot, _) in slots.iter() {
            slot.wake.notify_one();
        }
    }

    /// The config became synced at `version`: each handler gets `on_synced` after state covering it.
    pub fn mark_synced(&self, version: u64) {
        let now = self.clock.now();
        for (slot, _) in self.slots.lock().iter() {
            slot.mark_synced(version, now);
        }
    }

    /// Each live registration's counters, lag and call durations, in registration order. The
    /// `slots` lock is held only to copy the list; the figures are atomics read without it.
    pub fn handler_reports(&self) -> Vec<HandlerReport> {
        let stats: Vec<Arc<HandlerStats>> = self
            .slots
            .lock()
            .iter()
            .map(|(s, _)| Arc::clone(&s.stats))
            .collect();
        let now = self.clock.now();
        stats.iter().map(|s| s.report(now)).collect()
    }

    /// True once every registered handler has received state at least as new as `version`.
    ///
    /// The calling handler's own registration is skipped: it cannot receive anything while it is
    /// still inside its call.
    pub fn delivered_all(&self, version: u64) -> bool {
        let me = std::thread::current().id();
        self.slots.lock().iter().all(|(s, _)| {
            s.finished.load(Ordering::Acquire)
                || (!s.busy.load(Ordering::Acquire)
                    && s.delivered.load(Ordering::Acquire) >= version)
                || s.thread.get() == Some(&me)
        })
    }

    /// Wait until [`Broadcaster::delivered_all`] holds or `deadline` passes; returns whether it holds.
    pub fn wait_delivered(&self, version: u64, deadline: Instant) -> bool {
        let mut guard = self.progress.lock();
        loop {
            if self.delivered_all(version) {
                return true;
            }
            if self.progressed.wait_until(&mut guard, deadline).timed_out() {
                return self.delivered_all(version);
            }
        }
    }

    /// Stop every delivery thread and wait until `deadline` for them to end. Calling it again
    /// keeps waiting for the threads still running, so a caller can wait in slices.
    ///
    /// A handler stuck in a call cannot be interrupted; its thread ends when the call returns,
    /// and this returns false until then.
    pub fn close(&self, deadline: Instant) -> bool {
        let stopping: Vec<_> = std::mem::take(&mut *self.slots.lock());
        for (slot, _) in &stopping {
            slot.stop();
        }
        self.closing.lock().extend(stopping);
        self.notify_progress();
        let all_finished = |closing: &[Entry<T>]| {
            closing
                .iter()
                .all(|(s, _)| s.finished.load(Ordering::Acquire))
        };
        let mut guard = self.progress.lock();
        while !all_finished(&self.closing.lock()) {
            if self.progressed.wait_until(&mut guard, deadline).timed_out() {
                break;
            }
        }
        // Join holding no lock at all: a finishing thread takes `progress` to announce its end,
        // and a concurrent close holds `progress` while it takes `closing` (the lock order).
        drop(guard);
        let me = std::thread::current().id();
        let mut finished = Vec::new();
        let all_closed = {
            let mut closing = self.closing.lock();
            closing.retain_mut(|(slot, handle)| {
                if !slot.finished.load(Ordering::Acquire) {
                    // A handler closing its own config cannot wait for itself.
                    return slot.thread.get() != Some(&me);
                }
                finished.extend(handle.take());
                false
            });
            closing.is_empty()
        };
        for handle in finished {
            let _ = handle.join();
        }
        all_closed
    }

    fn notify_progress(&self) {
        let _guard = self.progress.lock();
        self.progressed.notify_all();
    }

    /// A delivery thread's whole life. `finished` is set only once the sink's `on_thread`
    /// returns: a thread that never returns (see [`Sink::on_thread`]) is never joined.
    fn thread_main(&self, slot: &Slot<T>, sink: &dyn Sink<T>) {
        struct Finished<'a, T: Object>(&'a Broadcaster<T>, &'a Slot<T>);
        impl<T: Object> Drop for Finished<'_, T> {
            fn drop(&mut self) {
                self.1.finished.store(true, Ordering::Release);
                self.0.notify_progress();
            }
        }
        let _finished = Finished(self, slot);
        let _ = slot.thread.set(std::thread::current().id());
        sink.on_thread(&mut || self.run(slot, sink));
    }

    fn run(&self, slot: &Slot<T>, sink: &dyn Sink<T>) {
        let mut limiter = RateLimiter::new(self.min_interval);
        loop {
            let mut st = slot.state.lock();
            let work = loop {
                if st.stopped {
                    return;
                }
                let update_due = st.first || !st.pending.is_empty() || !st.notes.is_empty();
                let sync_due = !st.synced_done
                    && st
                        .synced_at
                        .is_some_and(|v| st.ever_delivered && st.latest.version >= v);
                if update_due {
                    let now = self.clock.now();
                    if let Some(wait) = limiter.wait_before(now) {
                        slot.wake.wait_for(&mut st, wait);
                        continue;
                    }
                    if let Some(update) = take_update(&mut st) {
                        slot.stats.taken();
                        break Work::Update(update, now);
                    }
                    // The versions folded in changed nothing for this handler (say, an object
                    // added then removed): nothing to call, but its view is now current.
                }
                if sync_due {
                    st.synced_done = true;
                    break Work::Synced;
                }
                if slot.busy.load(Ordering::Acquire)
                    || slot.delivered.load(Ordering::Acquire) != st.latest.version
                {
                    slot.delivered.store(st.latest.version, Ordering::Release);
                    slot.busy.store(false, Ordering::Release);
                    slot.stats.caught_up();
                    // `progress` comes before `Slot::state` in the lock order (see
                    // [`Broadcaster`]): announce with the slot lock released.
                    MutexGuard::unlocked(&mut st, || self.notify_progress());
                    continue;
                }
                slot.wake.wait(&mut st);
            };
            drop(st);
            let outcome = match work {
                Work::Update((snapshot, coalesced), started) => {
                    limiter.record(started);
                    let version = snapshot.version;
                    let notes = Arc::clone(&snapshot.notes);
                    let outcome = sink.deliver(snapshot);
                    slot.stats.returned(started, self.clock.now(), coalesced);
                    if outcome == Outcome::Ok {
                        self.stats.observe_programmed(&*notes);
                    }
                    self.stats.deliveries.fetch_add(1, Ordering::Relaxed);
                    if coalesced {
                        self.stats
                            .coalesced_deliveries
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    slot.delivered.store(version, Ordering::Release);
                    self.notify_progress();
                    outcome
                }
                Work::Synced => sink.synced(),
            };
            match outcome {
                Outcome::Ok => {}
                Outcome::Failed => {
                    self.stats.handler_errors.fetch_add(1, Ordering::Relaxed);
                    slot.stats.errors.fetch_add(1, Ordering::Relaxed);
                }
                Outcome::Stop => {
                    // The handler can never be called again (what it forwards to is gone, or
                    // the interpreter is finalizing): leave the list as well, or it would stay
                    // counted, reported as lagging further behind with every version (failing
                    // health checks), and keep its last snapshot alive.
                    self.cancel(slot.id);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
