//! Unit tests of the broadcaster alone, fed hand-built versions: coalescing, first delivery,
//! `on_synced`, cancel and flush from inside a handler, notes, and `min_interval` on a manual clock.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::{Broadcaster, Outcome, Sink};
use crate::engine::object::{Notes, ObjKey, Object};
use crate::engine::ratelimit::{Clock, SystemClock};
use crate::engine::snapshot::{Changes, Items, Snapshot};
use crate::engine::stats::Stats;

const WAIT: Duration = Duration::from_secs(20);

/// A keyed value whose versions carry notes.
#[derive(Debug, PartialEq)]
struct Item {
    key: ObjKey,
    value: u32,
}

impl Object for Item {
    type Notes = Tags;
    fn key(&self) -> ObjKey {
        self.key.clone()
    }
}

/// Notes as a list of tags, folded by concatenation; a first delivery is tagged `first`.
#[derive(Debug, Default, Clone, PartialEq)]
struct Tags(Vec<String>);

impl Notes for Tags {
    fn absorb(&mut self, later: &Self) {
        self.0.extend(later.0.iter().cloned());
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn resolve(&self, first: bool) -> Self {
        let mark = first.then(|| "first".to_owned());
        Tags(mark.into_iter().chain(self.0.iter().cloned()).collect())
    }
}

/// Builds consecutive versions with their exact changes, as the merger would publish them.
#[derive(Default)]
struct Feed {
    version: u64,
    items: Items<Item>,
}

impl Feed {
    fn next(&mut self, put: &[(&str, u32)], del: &[&str], notes: &[&str]) -> Arc<Snapshot<Item>> {
        let mut changes = Changes::default();
        for &(k, value) in put {
            let new = Arc::new(Item {
                key: ObjKey::parse(k),
                value,
            });
            match self.items.insert(new.key(), Arc::clone(&new)) {
                Some(old) => changes.updated.push((old, new)),
                None => changes.added.push(new),
            }
        }
        for k in del {
            changes.removed.extend(self.items.remove(&ObjKey::parse(k)));
        }
        self.version += 1;
        Arc::new(Snapshot {
            version: self.version,
            items: self.items.clone(),
            changes: Arc::new(changes),
            notes: Arc::new(Tags(notes.iter().map(|&n| n.to_owned()).collect())),
        })
    }
}

#[derive(Debug, PartialEq)]
enum Event {
    /// `version`, then `+key=v`, `~key:old->new`, `-key=v` per change, then `#tag` per note.
    Call(u64, Vec<String>),
    Synced,
    /// The sink was dropped: its thread has ended.
    Gone,
}

type Hook = Box<dyn Fn(&Snapshot<Item>) + Send + Sync>;

/// Reports each call on a channel, runs `hook`, then waits for `gate` (when given).
struct Recorder {
    events: Sender<Event>,
    gate: Option<Receiver<()>>,
    hook: Option<Hook>,
}

impl Sink<Item> for Recorder {
    fn deliver(&self, snap: Snapshot<Item>) -> Outcome {
        let c = &snap.changes;
        let kv = |o: &Item| format!("{}={}", o.key, o.value);
        let mut seen: Vec<String> = c.added.iter().map(|o| format!("+{}", kv(o))).collect();
        seen.extend(
            c.updated
                .iter()
                .map(|(a, b)| format!("~{}:{}->{}", a.key, a.value, b.value)),
        );
        seen.extend(c.removed.iter().map(|o| format!("-{}", kv(o))));
        seen.extend(snap.notes.0.iter().map(|n| format!("#{n}")));
        self.events.send(Event::Call(snap.version, seen)).unwrap();
        if let Some(hook) = &self.hook {
            hook(&snap);
        }
        if let Some(gate) = &self.gate {
            gate.recv_timeout(WAIT).unwrap();
        }
        Outcome::Ok
    }

    fn synced(&self) -> Outcome {
        self.events.send(Event::Synced).unwrap();
        Outcome::Ok
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.events.send(Event::Gone);
    }
}

fn broadcaster() -> Arc<Broadcaster<Item>> {
    Broadcaster::new("t", Duration::ZERO, Arc::new(SystemClock), Arc::default())
}

/// Register a recorder seeing `current`; returns its id and its events.
fn register(
    b: &Arc<Broadcaster<Item>>,
    current: &Arc<Snapshot<Item>>,
    gate: Option<Receiver<()>>,
    hook: Option<Hook>,
) -> (u64, Receiver<Event>) {
    let (events, rx) = crossbeam_channel::unbounded();
    let sink = Box::new(Recorder { events, gate, hook });
    (b.register(sink, || (Arc::clone(current), None)), rx)
}

fn next(rx: &Receiver<Event>) -> Event {
    rx.recv_timeout(WAIT).expect("an event in time")
}

fn call(version: u64, seen: &[&str]) -> Event {
    Event::Call(version, seen.iter().map(|&s| s.to_owned()).collect())
}

fn flush(b: &Broadcaster<Item>, version: u64) {
    assert!(b.wait_delivered(version, Instant::now() + WAIT));
}

#[test]
fn first_delivery_is_everything_added() {
    let b = broadcaster();
    let mut feed = Feed::default();
    feed.next(&[("ns/a", 1)], &[], &[]);
    // Version 2's own changes say only b was added; a handler new at version 2 gets both.
    let v2 = feed.next(&[("ns/b", 1)], &[], &["old"]);
    let (_, rx) = register(&b, &v2, None, None);
    assert_eq!(next(&rx), call(2, &["+ns/a=1", "+ns/b=1", "#first"]));
    flush(&b, 2);
}

#[test]
fn a_busy_handler_gets_one_coalesced_delivery_with_the_exact_changes() {
    let b = broadcaster();
    let mut feed = Feed::default();
    let (gate_tx, gate) = crossbeam_channel::unbounded();
    let (_, rx) = register(&b, &Arc::new(Snapshot::empty()), Some(gate), None);
    b.publish(&feed.next(&[("ns/keep", 1), ("ns/upd", 1), ("ns/gone", 1)], &[], &[]));
    assert_eq!(
        next(&rx),
        call(1, &["+ns/gone=1", "+ns/keep=1", "+ns/upd=1", "#first"])
    );
    // The handler is held inside its first call while four versions go by.
    b.publish(&feed.next(&[("ns/upd", 2), ("ns/flash", 1)], &[], &[]));
    b.publish(&feed.next(&[("ns/new", 1)], &[], &[]));
    b.publish(&feed.next(&[], &["ns/flash", "ns/gone"], &[]));
    b.publish(&feed.next(&[("ns/upd", 3)], &[], &[]));
    gate_tx.send(()).unwrap();
    gate_tx.send(()).unwrap();
    let second = call(5, &["+ns/new=1", "~ns/upd:1->3", "-ns/gone=1"]);
    assert_eq!(next(&rx), second);
    flush(&b, 5);
    assert!(rx.try_recv().is_err(), "one call for versions 2..=5");
    assert_eq!(b.stats.deliveries.load(Ordering::Relaxed), 2);
    assert_eq!(b.stats.coalesced_deliveries.load(Ordering::Relaxed), 1);
}

#[test]
fn on_synced_comes_once_after_a_delivery_covering_the_synced_version() {
    let b = broadcaster();
    let mut feed = Feed::default();
    let (_, rx) = register(&b, &Arc::new(Snapshot::empty()), None, None);
    b.publish(&feed.next(&[("ns/a", 1)], &[], &[]));
    assert_eq!(next(&rx), call(1, &["+ns/a=1", "#first"]));
    // Synced at version 2, which this handler has not been given yet.
    b.mark_synced(2);
    flush(&b, 1); // the thread has looked at the sync and found it not yet due
    b.publish(&feed.next(&[("ns/a", 2)], &[], &[]));
    assert_eq!(next(&rx), call(2, &["~ns/a:1->2"]));
    assert_eq!(next(&rx), Event::Synced);
    b.mark_synced(3);
    b.publish(&feed.next(&[("ns/a", 3)], &[], &[]));
    assert_eq!(next(&rx), call(3, &["~ns/a:2->3"]));
    flush(&b, 3);
    assert!(b.close(Instant::now() + WAIT));
    assert_eq!(next(&rx), Event::Gone, "no second on_synced");
}

#[test]
fn synced_before_any_delivery_sends_the_empty_state_first() {
    let b = broadcaster();
    let (_, rx) = register(&b, &Arc::new(Snapshot::empty()), None, None);
    b.mark_synced(0);
    assert_eq!(next(&rx), call(0, &["#first"]));
    assert_eq!(next(&rx), Event::Synced);
}

#[test]
fn a_handler_can_cancel_itself_from_inside_its_call() {
    let b = broadcaster();
    let mut feed = Feed::default();
    let me = Arc::new(AtomicU64::new(0));
    let (cancelled_tx, cancelled) = crossbeam_channel::unbounded();
    let hook: Hook = {
        let (b, me) = (Arc::downgrade(&b), Arc::clone(&me));
        Box::new(move |_| {
            let id = me.load(Ordering::SeqCst);
            cancelled_tx.send(b.upgrade().unwrap().cancel(id)).unwrap();
        })
    };
    let (id, rx) = register(&b, &Arc::new(Snapshot::empty()), None, Some(hook));
    me.store(id, Ordering::SeqCst);
    b.publish(&feed.next(&[("ns/a", 1)], &[], &[]));
    assert_eq!(next(&rx), call(1, &["+ns/a=1", "#first"]));
    assert!(cancelled.recv_timeout(WAIT).unwrap(), "cancel found it");
    assert_eq!(next(&rx), Event::Gone, "its thread ended");
    assert!(b.is_empty());
    assert!(!b.cancel(id), "already cancelled");
    b.publish(&feed.next(&[("ns/a", 2)], &[], &[]));
    assert!(b.delivered_all(2), "nobody left to wait for");
}

/// Returns `Stop` from its first call: a handler whose target is gone.
struct Gone(Sender<Event>);

impl Sink<Item> for Gone {
    fn deliver(&self, snap: Snapshot<Item>) -> Outcome {
        self.0.send(Event::Call(snap.version, Vec::new())).unwrap();
        Outcome::Stop
    }

    fn synced(&self) -> Outcome {
        Outcome::Stop
    }
}

impl Drop for Gone {
    fn drop(&mut self) {
        let _ = self.0.send(Event::Gone);
    }
}

#[test]
fn a_handler_that_stops_leaves_the_list() {
    // A ProxyConfig dropped without close() made its feed registrations on the input configs
    // stop like this; they stayed registered, lagging ever further behind (503 on /healthz).
    let b = broadcaster();
    let mut feed = Feed::default();
    let (events, rx) = crossbeam_channel::unbounded();
    let id = b.register(Box::new(Gone(events)), || {
        (Arc::new(Snapshot::empty()), None)
    });
    b.publish(&feed.next(&[("ns/a", 1)], &[], &[]));
    assert_eq!(next(&rx), Event::Call(1, Vec::new()));
    assert_eq!(next(&rx), Event::Gone, "its thread ended");
    assert!(b.is_empty(), "no longer registered");
    assert!(b.handler_reports().is_empty(), "no longer reported");
    assert!(!b.cancel(id), "already gone");
    b.publish(&feed.next(&[("ns/a", 2)], &[], &[]));
    assert!(b.delivered_all(2), "nobody left to wait for");
    assert!(b.close(Instant::now() + WAIT));
}

#[test]
fn delivered_all_skips_the_calling_handlers_own_slot() {
    let b = broadcaster();
    let mut feed = Feed::default();
    let (inside_tx, inside) = crossbeam_channel::unbounded();
    let (gate_tx, gate) = crossbeam_channel::unbounded();
    let hook: Hook = {
        let b = Arc::downgrade(&b);
        Box::new(move |snap| {
            let b = b.upgrade().unwrap();
            // A flush from inside the handler: it must not wait for its own call to end.
            inside_tx
                .send(b.wait_delivered(snap.version, Instant::now() + WAIT))
                .unwrap();
        })
    };
    let (_, rx) = register(&b, &Arc::new(Snapshot::empty()), Some(gate), Some(hook));
    b.publish(&feed.next(&[("ns/a", 1)], &[], &[]));
    assert_eq!(next(&rx), call(1, &["+ns/a=1", "#first"]));
    assert!(inside.recv_timeout(WAIT).unwrap());
    // From any other thread the handler is still busy with version 1.
    assert!(!b.delivered_all(1));
    gate_tx.send(()).unwrap();
    flush(&b, 1);
}

#[test]
fn notes_are_folded_and_notes_alone_make_a_delivery() {
    let b = broadcaster();
    let mut feed = Feed::default();
    let (gate_tx, gate) = crossbeam_channel::unbounded();
    let v1 = feed.next(&[("ns/a", 1)], &[], &["seen-at-registration"]);
    let (_, rx) = register(&b, &v1, Some(gate), None);
    assert_eq!(next(&rx), call(1, &["+ns/a=1", "#first"]));
    b.publish(&feed.next(&[], &[], &["n2"]));
    b.publish(&feed.next(&[], &[], &[]));
    b.publish(&feed.next(&[], &[], &["n4"]));
    gate_tx.send(()).unwrap();
    gate_tx.send(()).unwrap();
    assert_eq!(
        next(&rx),
        call(4, &["#n2", "#n4"]),
        "no changes, only notes"
    );
    // A version with neither changes nor notes calls nobody but still counts as delivered.
    b.publish(&feed.next(&[], &[], &[]));
    flush(&b, 5);
    assert!(rx.try_recv().is_err());
}

/// A clock the test moves by hand; it reports each reading with the thread that took it (a
/// delivery thread reads it under its slot lock just before deciding whether to wait; `publish`
/// reads it too, on the publishing thread).
struct ManualClock {
    start: Instant,
    offset: AtomicU64,
    read: Sender<std::thread::ThreadId>,
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        let _ = self.read.send(std::thread::current().id());
        self.start + Duration::from_secs(self.offset.load(Ordering::SeqCst))
    }
}

#[test]
fn min_interval_holds_changes_until_the_clock_says_the_interval_is_over() {
    let (read, reads) = crossbeam_channel::unbounded();
    let clock = Arc::new(ManualClock {
        start: Instant::now(),
        offset: AtomicU64::new(0),
        read,
    });
    let hour = Duration::from_secs(3600);
    let b = Broadcaster::new("rl", hour, clock.clone(), Arc::new(Stats::default()));
    let mut feed = Feed::default();
    let (_, rx) = register(&b, &Arc::new(Snapshot::empty()), None, None);
    b.publish(&feed.next(&[("ns/a", 1)], &[], &[]));
    assert_eq!(next(&rx), call(1, &["+ns/a=1", "#first"]));
    flush(&b, 1);
    while reads.try_recv().is_ok() {}
    b.publish(&feed.next(&[("ns/a", 2)], &[], &[]));
    // The thread read the clock with version 2 in hand (under its slot lock, so by the time the
    // next publish can fold in, it has either taken version 2 or gone to wait).
    let me = std::thread::current().id();
    while reads.recv_timeout(WAIT).unwrap() == me {}
    clock.offset.store(hour.as_secs(), Ordering::SeqCst);
    b.publish(&feed.next(&[("ns/b", 1)], &[], &[]));
    assert_eq!(next(&rx), call(3, &["+ns/b=1", "~ns/a:1->2"]));
    flush(&b, 3);
}

#[test]
fn a_handler_registered_before_any_state_has_its_first_call_marked_first() {
    let b = broadcaster();
    let mut feed = Feed::default();
    let empty = Arc::new(Snapshot::empty());
    let (_, rx) = register(&b, &empty, None, None);
    b.publish(&feed.next(&[("ns/a", 1)], &[], &["n1"]));
    assert_eq!(next(&rx), call(1, &["+ns/a=1", "#first", "#n1"]));
    b.publish(&feed.next(&[("ns/a", 2)], &[], &["n2"]));
    assert_eq!(next(&rx), call(2, &["~ns/a:1->2", "#n2"]));
    flush(&b, 2);
}

#[test]
fn close_waits_for_a_handler_cancelled_while_inside_a_call() {
    let b = broadcaster();
    let mut feed = Feed::default();
    let (gate_tx, gate) = crossbeam_channel::unbounded();
    let v1 = feed.next(&[("ns/a", 1)], &[], &[]);
    let (id, rx) = register(&b, &v1, Some(gate), None);
    assert_eq!(next(&rx), call(1, &["+ns/a=1", "#first"]));
    assert!(b.cancel(id));
    assert!(
        !b.close(Instant::now() + Duration::from_millis(50)),
        "the call is still running"
    );
    gate_tx.send(()).unwrap();
    assert!(b.close(Instant::now() + WAIT));
    assert_eq!(next(&rx), Event::Gone);
}

#[test]
fn lag_covers_a_call_in_progress_and_durations_come_from_the_clock() {
    let (read, _reads) = crossbeam_channel::unbounded();
    let clock = Arc::new(ManualClock {
        start: Instant::now(),
        offset: AtomicU64::new(0),
        read,
    });
    let b = Broadcaster::new("lag", Duration::ZERO, clock.clone(), Arc::default());
    let mut feed = Feed::default();
    let (gate_tx, gate) = crossbeam_channel::unbounded();
    let (_, rx) = register(&b, &Arc::new(Snapshot::empty()), Some(gate), None);
    assert_eq!(
        b.handler_reports()[0].lag,
        Duration::ZERO,
        "nothing to deliver yet"
    );
    b.publish(&feed.next(&[("ns/a", 1)], &[], &[]));
    assert_eq!(next(&rx), call(1, &["+ns/a=1", "#first"]));
    // Held inside its call: version 1 is not delivered until the call returns.
    clock.offset.store(5, Ordering::SeqCst);
    let report = &b.handler_reports()[0];
    assert_eq!(report.lag, Duration::from_secs(5));
    assert_eq!(report.deliveries, 0);
    gate_tx.send(()).unwrap();
    flush(&b, 1);
    let report = &b.handler_reports()[0];
    assert_eq!(report.lag, Duration::ZERO);
    assert_eq!(report.deliveries, 1);
    assert_eq!(report.duration.count(), 1);
    assert!((report.duration.sum - 5.0).abs() < 1e-9);
}

#[test]
fn handler_labels_are_name_and_lowest_free_index() {
    let b = broadcaster();
    let empty = Arc::new(Snapshot::empty());
    let (first, _rx1) = register(&b, &empty, None, None);
    let (_, _rx2) = register(&b, &empty, None, None);
    let labels = |b: &Broadcaster<Item>| -> Vec<String> {
        b.handler_reports().into_iter().map(|r| r.label).collect()
    };
    assert_eq!(labels(&b), ["handler#0", "handler#1"]);
    assert!(b.cancel(first));
    let (_, _rx3) = register(&b, &empty, None, None);
    // The freed index is reused: churn never makes a new label.
    assert_eq!(labels(&b), ["handler#1", "handler#0"]);
}
