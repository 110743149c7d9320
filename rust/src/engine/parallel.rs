//! The worker threads that parse large watch chunks in parallel.
//!
//! One pool per process, one thread per core, started on first use and named
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
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let pool = (threads > 1)
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

/// Run `a` and `b`, in parallel when the pool is available, and return both results.
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    if rayon::current_thread_index().is_some() {
        // Already on a pool thread (a nested split): rayon's own join stays in this pool.
        return rayon::join(a, b);
    }
    match pool() {
        Some(pool) => pool.join(a, b),
        None => (a(), b()),
    }
}
