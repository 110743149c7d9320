//! `parallel::run_claimed`: results in order, a caller that never waits for a slow helper, and a
//! panicking job that surfaces on the caller instead of aborting the process.
#![allow(clippy::unwrap_used)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use _core::engine::parallel::{run_claimed, workers};

/// Whether this thread is one of the pool's.
fn on_helper() -> bool {
    std::thread::current()
        .name()
        .is_some_and(|n| n.starts_with("kubeproxy-parse-"))
}

#[test]
fn results_come_in_order() {
    for count in [0, 1, 2, 7, 50] {
        let got = run_claimed(count, |i| i * i);
        assert_eq!(got, (0..count).map(|i| i * i).collect::<Vec<_>>());
    }
}

#[test]
fn the_caller_reruns_a_job_a_helper_is_stuck_in() {
    if workers() < 2 {
        return; // no pool on one core: nothing helps
    }
    // The helper's job blocks until after `run_claimed` returns; the caller's first job waits
    // until the helper has claimed one, so the helper surely holds a job when the caller runs out.
    let claimed = Arc::new((Mutex::new(false), Condvar::new()));
    let (release, released) = mpsc::channel::<()>();
    let released = Arc::new(Mutex::new(released));
    let (c, r) = (Arc::clone(&claimed), Arc::clone(&released));
    let got = run_claimed(8, move |i| {
        if on_helper() {
            *c.0.lock().unwrap() = true;
            c.1.notify_all();
            // A timeout rather than a hang if the caller wrongly waits for this result, which is
            // marked so that using it fails the test.
            let _ = r.lock().unwrap().recv_timeout(Duration::from_secs(60));
            return i + 1000;
        }
        {
            let guard = c.0.lock().unwrap();
            drop(c.1.wait_timeout_while(guard, Duration::from_secs(60), |seen| !*seen));
        }
        i + 100
    });
    drop(release);
    assert_eq!(got, (100..108).collect::<Vec<_>>());
    assert!(*claimed.0.lock().unwrap(), "no helper took part");
}

#[test]
fn a_panicking_job_panics_the_caller_not_the_process() {
    for bad in [0, 5] {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            run_claimed(12, move |i| {
                assert!(i != bad, "job {i} fails");
                i
            })
        }));
        assert!(outcome.is_err(), "job {bad} panicked on no thread");
    }
    // The pool still works afterwards.
    assert_eq!(run_claimed(3, |i| i), [0, 1, 2]);
}

#[test]
fn a_job_panicking_on_a_helper_is_run_again_by_the_caller() {
    if workers() < 2 {
        return;
    }
    let claimed = Arc::new((Mutex::new(false), Condvar::new()));
    let c = Arc::clone(&claimed);
    let got = run_claimed(8, move |i| {
        if on_helper() {
            *c.0.lock().unwrap() = true;
            c.1.notify_all();
            panic!("job {i} fails on a helper");
        }
        let guard = c.0.lock().unwrap();
        drop(c.1.wait_timeout_while(guard, Duration::from_secs(60), |seen| !*seen));
        i
    });
    assert_eq!(got, (0..8).collect::<Vec<_>>());
    assert!(*claimed.0.lock().unwrap(), "no helper took part");
}
