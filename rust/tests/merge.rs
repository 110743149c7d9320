//! Merge rules of the store, without threads: SET / ADD / REMOVE, conflicts, no-ops, exact changes.
#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

mod common;

use std::sync::Arc;

use _core::engine::snapshot::{ChangeSet, Changes, Snapshot};
use _core::engine::store::{Op, Store};
use common::{key, obj, Obj};

fn keys(objs: &[Arc<Obj>]) -> Vec<String> {
    objs.iter().map(|o| o.key.to_string()).collect()
}

fn state(snap: &Snapshot<Obj>) -> Vec<(String, u32)> {
    snap.items
        .values()
        .map(|o| (o.key.to_string(), o.value))
        .collect()
}

fn commit(store: &mut Store<Obj>) -> Snapshot<Obj> {
    store.commit().expect("a new version")
}

/// A new store with `op` applied from `source`, not yet committed.
fn store_after(source: usize, op: Op<Obj>) -> Store<Obj> {
    let mut store = Store::new();
    store.apply(source, op);
    store
}

/// Applies `op` from `source` and commits the new version it must make.
fn commit_after(store: &mut Store<Obj>, source: usize, op: Op<Obj>) -> Snapshot<Obj> {
    store.apply(source, op);
    commit(store)
}

/// Applies `op` from `source` and checks that it makes no new version.
fn assert_no_version_after(store: &mut Store<Obj>, source: usize, op: Op<Obj>) {
    store.apply(source, op);
    assert!(store.commit().is_none());
}

#[test]
fn add_update_remove_produce_exact_changes() {
    let mut store = Store::new();
    let v1 = commit_after(&mut store, 0, Op::Add(vec![obj("ns/a", 1), obj("ns/b", 1)]));
    assert_eq!(v1.version, 1);
    assert_eq!(keys(&v1.changes.added), ["ns/a", "ns/b"]);

    store.apply(0, Op::Add(vec![obj("ns/a", 2)]));
    let v2 = commit_after(&mut store, 0, Op::Remove(vec![key("ns/b")]));
    assert_eq!(v2.version, 2);
    assert!(v2.changes.added.is_empty());
    assert_eq!(v2.changes.updated.len(), 1);
    assert_eq!(
        (v2.changes.updated[0].0.value, v2.changes.updated[0].1.value),
        (1, 2)
    );
    assert_eq!(keys(&v2.changes.removed), ["ns/b"]);
    assert_eq!(state(&v2), [("ns/a".to_owned(), 2)]);
}

#[test]
fn set_replaces_the_source_and_empty_set_clears_it() {
    let mut store = Store::new();
    commit_after(&mut store, 0, Op::Set(vec![obj("ns/a", 1), obj("ns/b", 1)]));
    let snap = commit_after(&mut store, 0, Op::Set(vec![obj("ns/b", 2), obj("ns/c", 1)]));
    assert_eq!(
        state(&snap),
        [("ns/b".to_owned(), 2), ("ns/c".to_owned(), 1)]
    );
    assert_eq!(keys(&snap.changes.added), ["ns/c"]);
    assert_eq!(keys(&snap.changes.removed), ["ns/a"]);
    assert_eq!(snap.changes.updated.len(), 1);

    let cleared = commit_after(&mut store, 0, Op::Set(vec![]));
    assert!(cleared.items.is_empty());
    assert_eq!(keys(&cleared.changes.removed), ["ns/b", "ns/c"]);
}

#[test]
fn unchanged_input_makes_no_version() {
    let mut store = Store::new();
    commit_after(&mut store, 0, Op::Set(vec![obj("ns/a", 1), obj("ns/b", 1)]));
    // A resync: the same content in new allocations.
    assert_no_version_after(&mut store, 0, Op::Set(vec![obj("ns/b", 1), obj("ns/a", 1)]));
    assert_no_version_after(&mut store, 0, Op::Add(vec![obj("ns/a", 1)]));
    assert_no_version_after(&mut store, 0, Op::Remove(vec![key("ns/missing")]));
    assert_eq!(store.version(), 1);
}

#[test]
fn added_then_removed_in_one_batch_is_no_change() {
    let mut store = store_after(0, Op::Add(vec![obj("ns/a", 1)]));
    assert_no_version_after(&mut store, 0, Op::Remove(vec![key("ns/a")]));
    assert_eq!(store.version(), 0);
}

#[test]
fn first_source_wins_and_the_other_shows_when_it_lets_go() {
    let mut store = store_after(0, Op::Add(vec![obj("ns/a", 1)]));
    let snap = commit_after(&mut store, 1, Op::Add(vec![obj("ns/a", 2), obj("ns/b", 2)]));
    assert_eq!(
        state(&snap),
        [("ns/a".to_owned(), 1), ("ns/b".to_owned(), 2)]
    );
    assert_eq!(store.counters().conflicts, 1);

    // The loser's updates do not show while the winner holds the key.
    assert_no_version_after(&mut store, 1, Op::Add(vec![obj("ns/a", 3)]));

    let snap = commit_after(&mut store, 0, Op::Remove(vec![key("ns/a")]));
    assert_eq!(
        state(&snap),
        [("ns/a".to_owned(), 3), ("ns/b".to_owned(), 2)]
    );
    assert_eq!(snap.changes.updated.len(), 1);
    assert_eq!(
        (
            snap.changes.updated[0].0.value,
            snap.changes.updated[0].1.value
        ),
        (1, 3)
    );

    // The loser removing a key it lost has no visible effect... and when it is the last holder, it goes.
    let snap = commit_after(&mut store, 1, Op::Remove(vec![key("ns/a")]));
    assert_eq!(keys(&snap.changes.removed), ["ns/a"]);
}

#[test]
fn earlier_source_taking_a_key_replaces_the_later_ones_object() {
    let mut store = Store::new();
    commit_after(&mut store, 1, Op::Add(vec![obj("ns/a", 2)]));
    let snap = commit_after(&mut store, 0, Op::Add(vec![obj("ns/a", 1)]));
    assert_eq!(state(&snap), [("ns/a".to_owned(), 1)]);
    // Source 1 still holds its object: source 0's SET without it shows it again.
    let snap = commit_after(&mut store, 0, Op::Set(vec![]));
    assert_eq!(state(&snap), [("ns/a".to_owned(), 2)]);
}

#[test]
fn loser_removal_is_invisible() {
    let mut store = store_after(0, Op::Add(vec![obj("ns/a", 1)]));
    commit_after(&mut store, 1, Op::Add(vec![obj("ns/a", 2)]));
    assert_no_version_after(&mut store, 1, Op::Remove(vec![key("ns/a")]));
}

#[test]
fn snapshots_sort_by_namespace_then_name() {
    let mut store = Store::new();
    store.apply(
        0,
        Op::Add(vec![
            obj("a-b/x", 1),
            obj("a/y", 1),
            obj("a/x", 1),
            obj("b/a", 1),
        ]),
    );
    let snap = commit(&mut store);
    let order: Vec<String> = snap.items.keys().map(ToString::to_string).collect();
    assert_eq!(order, ["a/x", "a/y", "a-b/x", "b/a"]);
}

#[test]
fn old_snapshots_never_change() {
    let mut store = Store::new();
    let v1 = commit_after(&mut store, 0, Op::Add(vec![obj("ns/a", 1)]));
    let _v2 = commit_after(&mut store, 0, Op::Add(vec![obj("ns/a", 2), obj("ns/b", 1)]));
    assert_eq!(state(&v1), [("ns/a".to_owned(), 1)]);
}

#[test]
fn change_set_keeps_the_first_base_value() {
    let mut store = Store::new();
    store.apply(
        0,
        Op::Add(vec![obj("ns/keep", 1), obj("ns/upd", 1), obj("ns/gone", 1)]),
    );
    let base = commit(&mut store);

    let mut acc = ChangeSet::default();
    let mut fold = |snap: &Snapshot<Obj>| acc.absorb(&snap.changes);
    store.apply(
        0,
        Op::Add(vec![obj("ns/upd", 2), obj("ns/new", 1), obj("ns/flash", 1)]),
    );
    fold(&commit(&mut store));
    store.apply(0, Op::Add(vec![obj("ns/gone", 2)]));
    fold(&commit(&mut store));
    store.apply(0, Op::Remove(vec![key("ns/flash"), key("ns/gone")]));
    let last = commit_after(&mut store, 0, Op::Add(vec![obj("ns/upd", 3)]));
    fold(&last);

    let changes: Changes<Obj> = acc.take();
    assert_eq!(keys(&changes.added), ["ns/new"]);
    assert_eq!(keys(&changes.removed), ["ns/gone"]);
    assert_eq!(
        changes.removed[0].value, 1,
        "removed carries the object as the handler last saw it"
    );
    assert_eq!(changes.updated.len(), 1);
    assert_eq!(
        (changes.updated[0].0.value, changes.updated[0].1.value),
        (1, 3)
    );
    assert_eq!(base.items.len(), 3);
}
