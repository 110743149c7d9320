//! Delivery through the mux and broadcaster with a Rust sink: coalescing, exact changes,
#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]
//! isolation, flush, sync, cancel and `min_interval` on a manual clock. No timing assertions.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use _core::engine::broadcast::{Outcome, Sink};
use _core::engine::mux::Mux;
use _core::engine::ratelimit::{Clock, SystemClock};
use _core::engine::snapshot::Snapshot;
use _core::engine::store::Op;
use common::{key, obj, Obj};
use crossbeam_channel::{Receiver, Sender};

const WAIT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    version: u64,
    added: Vec<String>,
    updated: Vec<(String, u32, u32)>,
    removed: Vec<(String, u32)>,
    state: Vec<(String, u32)>,
}

#[derive(Default)]
struct Log {
    calls: Mutex<Vec<Call>>,
    synced: AtomicU64,
}

/// Records every call; optionally blocks each call until the test lets it go.
struct Recorder {
    log: Arc<Log>,
    entered: Option<Sender<u64>>,
    gate: Option<Receiver<()>>,
    fail: bool,
}

impl Recorder {
    fn boxed(log: &Arc<Log>) -> Box<dyn Sink<Obj>> {
        Box::new(Self {
            log: Arc::clone(log),
            entered: None,
            gate: None,
            fail: false,
        })
    }
}

impl Sink<Obj> for Recorder {
    fn deliver(&self, snap: Snapshot<Obj>) -> Outcome {
        if let Some(tx) = &self.entered {
            let _ = tx.send(snap.version);
        }
        if let Some(gate) = &self.gate {
            let _ = gate.recv_timeout(WAIT);
        }
        let c = &snap.changes;
        self.log.calls.lock().unwrap().push(Call {
            version: snap.version,
            added: c.added.iter().map(|o| o.key.to_string()).collect(),
            updated: c
                .updated
                .iter()
                .map(|(a, b)| (a.key.to_string(), a.value, b.value))
                .collect(),
            removed: c
                .removed
                .iter()
                .map(|o| (o.key.to_string(), o.value))
                .collect(),
            state: snap
                .items
                .values()
                .map(|o| (o.key.to_string(), o.value))
                .collect(),
        });
        if self.fail {
            Outcome::Failed
        } else {
            Outcome::Ok
        }
    }

    fn synced(&self) -> Outcome {
        self.log.synced.fetch_add(1, Ordering::SeqCst);
        Outcome::Ok
    }
}

fn mux() -> Mux<Obj> {
    Mux::new("test", Duration::ZERO, Arc::new(SystemClock)).unwrap()
}

/// A mux with one recorder, and the recorder's log.
fn mux_with_recorder() -> (Mux<Obj>, Arc<Log>) {
    let m = mux();
    let log = Arc::new(Log::default());
    m.register(Recorder::boxed(&log)).unwrap();
    (m, log)
}

/// A mux with one recorder held inside each call until the test lets it go: the mux, the
/// recorder's log, the versions it enters calls with, and the sender that releases one call.
fn mux_with_gated_recorder() -> (Mux<Obj>, Arc<Log>, Receiver<u64>, Sender<()>) {
    let m = mux();
    let log = Arc::new(Log::default());
    let (entered_tx, entered_rx) = crossbeam_channel::unbounded();
    let (gate_tx, gate_rx) = crossbeam_channel::unbounded();
    let rec = Recorder {
        log: Arc::clone(&log),
        entered: Some(entered_tx),
        gate: Some(gate_rx),
        fail: false,
    };
    m.register(Box::new(rec)).unwrap();
    (m, log, entered_rx, gate_tx)
}

/// Lets `held` calls of a gated recorder go, waits for delivery, and returns its calls.
fn release_and_flush(m: &Mux<Obj>, log: &Log, gate_tx: &Sender<()>, held: usize) -> Vec<Call> {
    for _ in 0..held {
        gate_tx.send(()).unwrap();
    }
    flush(m);
    log.calls.lock().unwrap().clone()
}

fn flush(m: &Mux<Obj>) {
    let deadline = Instant::now() + WAIT;
    let v = m.merged_version(deadline).unwrap().expect("merged in time");
    assert!(m.wait_delivered(v, deadline), "delivered in time");
}

fn stat(m: &Mux<Obj>, name: &str) -> u64 {
    m.stats().iter().find(|(n, _)| *n == name).unwrap().1
}

#[test]
fn first_delivery_has_everything_added_then_exact_changes() {
    let (m, log) = mux_with_recorder();
    let s = m.source("api").unwrap();
    m.send(s, Op::Add(vec![obj("ns/a", 1), obj("ns/b", 1)]))
        .unwrap();
    flush(&m);
    m.send(s, Op::Remove(vec![key("ns/a")])).unwrap();
    flush(&m);
    let calls = log.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].added, ["ns/a", "ns/b"]);
    assert_eq!(calls[1].removed, [("ns/a".to_owned(), 1)]);
    assert_eq!(calls[1].state, [("ns/b".to_owned(), 1)]);
    assert!(calls[0].version < calls[1].version);
}

#[test]
fn busy_handler_gets_the_newest_state_with_accumulated_changes() {
    let (m, log, entered_rx, gate_tx) = mux_with_gated_recorder();
    let s = m.source("api").unwrap();
    m.send(
        s,
        Op::Add(vec![obj("ns/keep", 1), obj("ns/upd", 1), obj("ns/gone", 1)]),
    )
    .unwrap();
    // The handler is now inside its first call and held there.
    entered_rx.recv_timeout(WAIT).unwrap();
    for (i, op) in [
        Op::Add(vec![obj("ns/upd", 2), obj("ns/flash", 1)]),
        Op::Add(vec![obj("ns/new", 1)]),
        Op::Remove(vec![key("ns/flash"), key("ns/gone")]),
        Op::Add(vec![obj("ns/upd", 3)]),
    ]
    .into_iter()
    .enumerate()
    {
        m.send(s, op).unwrap();
        // Each op is its own version.
        let v = m.merged_version(Instant::now() + WAIT).unwrap().unwrap();
        assert_eq!(v, 2 + i as u64);
    }
    let calls = release_and_flush(&m, &log, &gate_tx, 2);
    assert_eq!(
        calls.len(),
        2,
        "versions 2..=5 coalesce into one call: {calls:?}"
    );
    let second = &calls[1];
    assert_eq!(second.version, 5);
    assert_eq!(second.added, ["ns/new"]);
    assert_eq!(second.removed, [("ns/gone".to_owned(), 1)]);
    assert_eq!(second.updated, [("ns/upd".to_owned(), 1, 3)]);
    assert_eq!(stat(&m, "coalesced_deliveries"), 1);
}

#[test]
fn slow_and_failing_handlers_do_not_hold_up_others() {
    let m = mux();
    let slow_log = Arc::new(Log::default());
    let (gate_tx, gate_rx) = crossbeam_channel::unbounded();
    let slow = Recorder {
        log: Arc::clone(&slow_log),
        entered: None,
        gate: Some(gate_rx),
        fail: false,
    };
    m.register(Box::new(slow)).unwrap();
    let bad_log = Arc::new(Log::default());
    let bad = Recorder {
        log: Arc::clone(&bad_log),
        entered: None,
        gate: None,
        fail: true,
    };
    m.register(Box::new(bad)).unwrap();
    let good_log = Arc::new(Log::default());
    let (good_tx, good_rx) = crossbeam_channel::unbounded();
    let good = Recorder {
        log: Arc::clone(&good_log),
        entered: Some(good_tx),
        gate: None,
        fail: false,
    };
    m.register(Box::new(good)).unwrap();

    let s = m.source("api").unwrap();
    for i in 1..=3 {
        m.send(s, Op::Add(vec![obj("ns/a", i)])).unwrap();
        let v = m.merged_version(Instant::now() + WAIT).unwrap().unwrap();
        // Wait for the good handler only: the slow one is still stuck in its first call.
        while good_rx.recv_timeout(WAIT).expect("good handler starved") < v {}
    }
    assert!(slow_log.calls.lock().unwrap().is_empty());
    gate_tx.send(()).unwrap();
    gate_tx.send(()).unwrap();
    flush(&m);
    let bad_calls = bad_log.calls.lock().unwrap().len() as u64;
    assert!(bad_calls >= 1);
    assert_eq!(stat(&m, "handler_errors"), bad_calls);
    assert_eq!(
        bad_log.calls.lock().unwrap().last().unwrap().state,
        [("ns/a".to_owned(), 3)]
    );
    assert_eq!(
        slow_log.calls.lock().unwrap().last().unwrap().state,
        [("ns/a".to_owned(), 3)]
    );
}

#[test]
fn late_registration_gets_current_state_and_synced_once() {
    let m = mux();
    let s = m.source("api").unwrap();
    assert!(!m.synced());
    m.send(s, Op::Set(vec![obj("ns/a", 1)])).unwrap();
    assert!(m.wait_synced(Instant::now() + WAIT));
    let log = Arc::new(Log::default());
    m.register(Recorder::boxed(&log)).unwrap();
    flush(&m);
    assert_eq!(log.calls.lock().unwrap()[0].added, ["ns/a"]);
    // on_synced comes after the first delivery; flush does not cover it, so wait for it.
    let deadline = Instant::now() + WAIT;
    while log.synced.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline);
        std::thread::yield_now();
    }
    m.send(s, Op::Set(vec![obj("ns/a", 2)])).unwrap();
    flush(&m);
    m.close(Instant::now() + WAIT);
    assert_eq!(log.synced.load(Ordering::SeqCst), 1);
}

#[test]
fn sync_of_an_empty_config_delivers_the_empty_state() {
    let (m, log) = mux_with_recorder();
    let a = m.source("a").unwrap();
    let b = m.source("b").unwrap();
    m.mark_synced(a).unwrap();
    flush(&m);
    assert!(!m.synced(), "source b has not synced");
    m.send(b, Op::Set(vec![])).unwrap();
    assert!(m.wait_synced(Instant::now() + WAIT));
    let deadline = Instant::now() + WAIT;
    while log.synced.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline);
        std::thread::yield_now();
    }
    let calls = log.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].version, 0);
    assert!(calls[0].state.is_empty());
}

#[test]
fn cancelled_handler_gets_nothing_more_and_sends_after_close_fail() {
    let m = mux();
    let log = Arc::new(Log::default());
    let id = m.register(Recorder::boxed(&log)).unwrap();
    let s = m.source("api").unwrap();
    m.send(s, Op::Add(vec![obj("ns/a", 1)])).unwrap();
    flush(&m);
    assert!(m.cancel(id));
    m.send(s, Op::Add(vec![obj("ns/a", 2)])).unwrap();
    flush(&m);
    assert_eq!(log.calls.lock().unwrap().len(), 1);
    assert!(m.close(Instant::now() + WAIT));
    assert!(m.send(s, Op::Add(vec![obj("ns/b", 1)])).is_err());
    assert!(m.close(Instant::now()), "close is idempotent");
}

/// A clock the test moves by hand.
struct ManualClock {
    start: Instant,
    offset_ms: AtomicU64,
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + Duration::from_millis(self.offset_ms.load(Ordering::SeqCst))
    }
}

#[test]
fn min_interval_holds_changes_until_the_interval_ends() {
    let clock = Arc::new(ManualClock {
        start: Instant::now(),
        offset_ms: AtomicU64::new(0),
    });
    // A long interval on the manual clock: no real time passes that could release it.
    let m: Mux<Obj> = Mux::new("rl", Duration::from_secs(3600), clock.clone()).unwrap();
    let log = Arc::new(Log::default());
    m.register(Recorder::boxed(&log)).unwrap();
    let s = m.source("api").unwrap();
    m.send(s, Op::Add(vec![obj("ns/a", 1)])).unwrap();
    flush(&m);
    assert_eq!(log.calls.lock().unwrap().len(), 1);
    m.send(s, Op::Add(vec![obj("ns/a", 2)])).unwrap();
    let v2 = m.merged_version(Instant::now() + WAIT).unwrap().unwrap();
    m.send(s, Op::Add(vec![obj("ns/a", 3)])).unwrap();
    let v3 = m.merged_version(Instant::now() + WAIT).unwrap().unwrap();
    assert!(!m.wait_delivered(v2, Instant::now() + Duration::from_millis(50)));
    // The interval ends: the newest state goes out, covering both versions.
    clock.offset_ms.store(3_600_000, Ordering::SeqCst);
    // A new version wakes the thread, which now finds the interval over.
    m.send(s, Op::Add(vec![obj("ns/poke", 1)])).unwrap();
    let v4 = m.merged_version(Instant::now() + WAIT).unwrap().unwrap();
    assert!(v4 > v3);
    let deadline = Instant::now() + WAIT;
    while log.calls.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "held change never delivered");
        std::thread::yield_now();
    }
    let calls = log.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].updated, [("ns/a".to_owned(), 1, 3)]);
    assert_eq!(calls[1].added, ["ns/poke"]);
}

#[test]
fn synced_once_every_source_has_sent_and_wait_synced_once_merged() {
    let m = mux();
    assert!(!m.synced(), "no source yet");
    let a = m.source("a").unwrap();
    let b = m.source("b").unwrap();
    m.send(a, Op::Set(vec![obj("ns/a", 1)])).unwrap();
    assert!(!m.synced(), "b has sent nothing");
    m.mark_synced(b).unwrap();
    assert!(
        m.synced(),
        "both have sent: synced at once, before the merge"
    );
    assert!(m.wait_synced(Instant::now() + WAIT));
    assert_eq!(
        m.state().items.len(),
        1,
        "wait_synced returns once the SET is merged"
    );
    let _late = m.source("c").unwrap();
    assert!(!m.synced(), "a new channel has not synced");
}

#[test]
fn becoming_synced_during_the_first_call_does_not_repeat_it() {
    let (m, log, entered_rx, gate_tx) = mux_with_gated_recorder();
    let s = m.source("api").unwrap();
    m.send(s, Op::Add(vec![obj("ns/a", 1)])).unwrap();
    entered_rx.recv_timeout(WAIT).unwrap();
    // Synced while the handler is inside its first call.
    m.mark_synced(s).unwrap();
    assert!(m.wait_synced(Instant::now() + WAIT));
    let calls = release_and_flush(&m, &log, &gate_tx, 1);
    assert_eq!(
        calls.len(),
        1,
        "the first delivery is not repeated: {calls:?}"
    );
    assert_eq!(log.synced.load(Ordering::SeqCst), 1);
}

/// Closes racing from several threads (a config closed by its owner while another thread closes
/// it too) all return: none may hold a lock while joining a delivery thread that still needs it.
#[test]
fn concurrent_closes_all_return() {
    for round in 0..300 {
        let m = Arc::new(mux());
        let log = Arc::new(Log::default());
        for _ in 0..3 {
            m.register(Recorder::boxed(&log)).unwrap();
        }
        let src = m.source("a").unwrap();
        m.send(src, Op::Set(vec![obj("ns/a", round)])).unwrap();
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        for _ in 0..3 {
            let (m, done_tx) = (Arc::clone(&m), done_tx.clone());
            std::thread::spawn(move || {
                m.close(Instant::now() + WAIT);
                let _ = done_tx.send(());
            });
        }
        for _ in 0..3 {
            assert!(
                done_rx.recv_timeout(WAIT).is_ok(),
                "a close never returned (round {round})"
            );
        }
    }
}
