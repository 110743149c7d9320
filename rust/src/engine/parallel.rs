//! The worker threads that parse large watch chunks in parallel.
//!
//! One pool per process, one thread per core beyond two (or `KUBEPROXY_CONFIG_PARSE_THREADS`,
//! `0` for none), started on first use and named
//! `kubeproxy-parse-N` so they are recognisable in `top -H` or `py-spy`. A forked child does not
//! inherit the parent's threads, so the pool remembers the process that made it and a child makes
//! its own; if no thread can be started, work simply runs on the caller's thread.

use std::sync::{Arc, Mutex, PoisonError};

use rayon::{ThreadPool, ThreadPoolBuilder};

struct Owned {
    pid: u32,
    pool: Option<Arc<ThreadPool>>,
}

static POOL: Mutex<Option<Owned>> = Mutex::new(None);

fn pool() -> Option<Arc<ThreadPool>> {
    let pid = std::process::id();
    let mut slot = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(owned) = slot.as_ref().filter(|o| o.pid == pid) {
        return owned.pool.clone();
    }
    if let Some(stale) = slot.take() {
        // The parent's pool: its threads do not exist here, and dropping it would signal them.
        std::mem::forget(stale);
    }
    let threads = threads_wanted();
    let pool = (threads > 0)
        .then(|| {
            ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("kubeproxy-parse-{i}"))
                .build()
                .ok()
        })
        .flatten()
        .map(Arc::new);
    *slot = Some(Owned {
        pid,
        pool: pool.clone(),
    });
    pool
}

/// `KUBEPROXY_CONFIG_PARSE_THREADS` if set (`0`: parse on the caller's thread only), else one
/// per core beyond two: the caller parses too, and the config's merger thread needs a core of its
/// own — on two cores a pool thread only competes with it (measured: W2's median got worse).
fn threads_wanted() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    std::env::var(THREADS_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map_or(cores.saturating_sub(2), |n| n.min(MAX_THREADS))
}

/// The variable that sets the pool's size (read when the pool is made).
pub const THREADS_VAR: &str = "KUBEPROXY_CONFIG_PARSE_THREADS";

const MAX_THREADS: usize = 256;

/// How many jobs can run at once: the pool's threads plus the caller's.
pub fn workers() -> usize {
    pool().map_or(1, |pool| pool.current_num_threads() + 1)
}

/// Run every job and return their results in order. The caller runs the first job itself while
/// pool threads run the rest, so `k` jobs cost `k - 1` hand-offs; without a pool all run here.
pub fn run_all<T, F>(jobs: Vec<F>) -> Vec<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    let mut jobs = jobs.into_iter();
    let Some(first) = jobs.next() else {
        return Vec::new();
    };
    let pool = pool().filter(|_| jobs.len() > 0);
    let Some(pool) = pool else {
        return std::iter::once(first)
            .chain(jobs)
            .map(|job| job())
            .collect();
    };
    let mut rest: Vec<Option<T>> = jobs.as_slice().iter().map(|_| None).collect();
    let head = pool.in_place_scope(|scope| {
        for (slot, job) in rest.iter_mut().zip(jobs) {
            scope.spawn(move |_| *slot = Some(job()));
        }
        first()
    });
    // The scope returns only after every job it spawned has run.
    std::iter::once(head)
        .chain(
            rest.into_iter()
                .map(|r| r.expect("a scoped job runs before its scope ends")),
        )
        .collect()
}
