//! Unit tests of the mux: queue order per source, what `wait_synced` and flush wait for, close.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::Mux;
use crate::engine::error::CoreError;
use crate::engine::merger::Merger;
use crate::engine::ratelimit::SystemClock;
use crate::engine::snapshot::test_obj::{key, kv, obj, Obj};
use crate::engine::snapshot::Snapshot;
use crate::engine::store::{Op, Store, StoreCounters};

const WAIT: Duration = Duration::from_secs(20);

fn mux() -> Mux<Obj> {
    Mux::new("test", Duration::ZERO, Arc::new(SystemClock)).unwrap()
}

fn state(m: &Mux<Obj, impl Merger<Obj>>) -> Vec<String> {
    kv(&m.state().items.values().cloned().collect::<Vec<_>>())
}

/// The store, with the merger thread held in its first `apply` until the test lets go.
struct Held {
    store: Store<Obj>,
    hold: Receiver<()>,
}

impl Merger<Obj> for Held {
    type Input = Op<Obj>;
    fn apply(&mut self, source: usize, input: Op<Obj>) {
        // Returns once the sender is dropped, and at once from then on.
        let _ = self.hold.recv();
        self.store.apply(source, input);
    }
    fn syncs(input: &Op<Obj>) -> bool {
        <Store<Obj> as Merger<Obj>>::syncs(input)
    }
    fn commit(&mut self) -> Option<Snapshot<Obj>> {
        self.store.commit()
    }
    fn version(&self) -> u64 {
        self.store.version()
    }
    fn counters(&self) -> StoreCounters {
        self.store.counters()
    }
}

fn held() -> (Mux<Obj, Held>, Sender<()>) {
    let (release, hold) = crossbeam_channel::bounded(0);
    let merger = Held {
        store: Store::new(),
        hold,
    };
    let m = Mux::with_merger("held", Duration::ZERO, Arc::new(SystemClock), merger).unwrap();
    (m, release)
}

#[test]
fn sends_of_one_source_are_applied_in_order() {
    let m = mux();
    let s = m.source("api").unwrap();
    for i in 0..2000 {
        m.send(s, Op::Add(vec![obj("ns/a", i)])).unwrap();
        if i % 2 == 0 {
            m.send(s, Op::Remove(vec![key("ns/b")])).unwrap();
        } else {
            m.send(s, Op::Add(vec![obj("ns/b", i)])).unwrap();
        }
    }
    let v = m.merged_version(Instant::now() + WAIT).unwrap().unwrap();
    assert_eq!(state(&m), ["ns/a=1999", "ns/b=1999"]);
    assert_eq!(m.state().version, v);
}

#[test]
fn a_lone_small_send_is_merged_before_it_returns() {
    let m = mux();
    let s = m.source("api").unwrap();
    m.send(s, Op::Add(vec![obj("ns/a", 1)])).unwrap();
    assert_eq!(state(&m), ["ns/a=1"], "merged on the sender's thread");
    assert_eq!(m.state().version, 1);
}

#[test]
fn inline_and_queued_sends_of_one_source_stay_in_order() {
    let m = mux();
    let s = m.source("api").unwrap();
    for i in 0..300 {
        // Too big to merge inline: queued for the merger thread.
        let set: Vec<_> = (0..40).map(|j| obj(&format!("ns/s{j}"), i)).collect();
        m.send(s, Op::Set(set)).unwrap();
        // Past the quiet spell, so the next send merges inline unless the SET is still pending.
        std::thread::sleep(Duration::from_micros(60));
        m.send(s, Op::Add(vec![obj("ns/s0", i + 1_000_000)]))
            .unwrap();
        m.merged_version(Instant::now() + WAIT).unwrap().unwrap();
        let merged = m.state().items.get(&key("ns/s0")).map(|o| o.value);
        assert_eq!(merged, Some(i + 1_000_000), "round {i}");
    }
}

#[test]
fn wait_synced_waits_until_the_set_is_merged() {
    let (m, release) = held();
    let a = m.source("a").unwrap();
    let b = m.source("b").unwrap();
    m.send(a, Op::Set(vec![obj("ns/a", 1)])).unwrap();
    m.mark_synced(b).unwrap();
    assert!(m.synced(), "every source has sent its SET or sync");
    assert!(!m.wait_synced(Instant::now()), "but the SET is not merged");
    drop(release);
    assert!(m.wait_synced(Instant::now() + WAIT));
    assert_eq!(state(&m), ["ns/a=1"]);
}

#[test]
fn flush_returns_the_version_that_merged_everything_sent() {
    let (m, release) = held();
    let s = m.source("api").unwrap();
    m.send(s, Op::Add(vec![obj("ns/a", 1)])).unwrap();
    assert_eq!(m.merged_version(Instant::now()).unwrap(), None, "held");
    drop(release);
    m.send(s, Op::Add(vec![obj("ns/a", 2)])).unwrap();
    let v = m.merged_version(Instant::now() + WAIT).unwrap().unwrap();
    assert_eq!(m.state().version, v);
    assert_eq!(state(&m), ["ns/a=2"]);
    m.send(s, Op::Add(vec![obj("ns/a", 2)])).unwrap();
    let again = m.merged_version(Instant::now() + WAIT).unwrap();
    assert_eq!(again, Some(v), "no change, no new version");
}

#[test]
fn close_merges_what_was_queued_is_idempotent_and_then_refuses() {
    let (m, release) = held();
    let s = m.source("api").unwrap();
    m.send(s, Op::Add(vec![obj("ns/a", 1)])).unwrap();
    drop(release);
    assert!(m.close(Instant::now() + WAIT));
    assert_eq!(state(&m), ["ns/a=1"], "queued before close: merged");
    assert!(m.is_closed());
    assert!(
        m.close(Instant::now()),
        "a second close has nothing to wait for"
    );
    let closed = Err(CoreError::Closed("held".to_owned()));
    assert_eq!(m.send(s, Op::Add(vec![obj("ns/b", 1)])), closed);
    assert_eq!(m.mark_synced(s), closed);
    assert_eq!(m.source("new"), closed.map(|()| 0));
    assert!(m.request_flush().is_none());
    assert_eq!(m.merged_version(Instant::now()), Ok(Some(1)));
}
