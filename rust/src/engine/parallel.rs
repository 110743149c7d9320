//! The worker threads that parse large watch chunks in parallel.
//!
//! One pool per process, one thread per core beyond the first (or `KUBEPROXY_CONFIG_PARSE_THREADS`,
//! `0` for none), started on first use and named
//! `kubeproxy-parse-N` so they are recognisable in `top -H` or `py-spy`. A forked child does not
//! inherit the parent's threads, so the pool remembers the process that made it and a child makes
//! its own; if no thread can be started, work simply runs on the caller's thread.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

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
/// per core beyond the first (the caller parses too). On two cores the helper shares its core
/// with the config's merger thread; since the caller never waits long for a helper
/// ([`run_claimed`]), it gains what the merger leaves idle (W2: 1.42 -> 1.16 µs per event).
fn threads_wanted() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    std::env::var(THREADS_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map_or(cores.saturating_sub(1), |n| n.min(MAX_THREADS))
}

/// The variable that sets the pool's size (read when the pool is made).
pub const THREADS_VAR: &str = "KUBEPROXY_CONFIG_PARSE_THREADS";

const MAX_THREADS: usize = 256;

/// How many jobs can run at once: the pool's threads plus the caller's.
pub fn workers() -> usize {
    pool().map_or(1, |pool| pool.current_num_threads() + 1)
}

/// Work shared by the caller of [`run_claimed`] and its helpers.
struct Claims<T, F> {
    next: AtomicUsize,
    done: Box<[Mutex<Option<T>>]>,
    job: F,
}

impl<T, F: Fn(usize) -> T> Claims<T, F> {
    /// The next unclaimed index, if any.
    fn claim(&self) -> Option<usize> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.done.len()).then_some(i)
    }

    /// A helper's loop: run claimed jobs until none is left, leaving each result for the caller.
    fn help(&self) {
        while let Some(i) = self.claim() {
            let result = (self.job)(i);
            *self.done[i].lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
        }
    }
}

/// Run `job(0)` … `job(count - 1)` and return their results in order, with pool threads helping
/// when there is a pool. The caller never waits long for a helper: jobs are claimed one at a time
/// from a shared counter, so a helper that wakes late finds less (or nothing) to do; a job a
/// helper claimed is waited for (spinning) at most as long as the caller's jobs took on average,
/// and then run again by the caller (`job` must be pure: the two results are interchangeable).
/// On a machine whose idle cores are slow to wake (virtual machines), waiting for a helper to
/// start can cost more than the work it saves.
pub fn run_claimed<T, F>(count: usize, job: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> T + Send + Sync + 'static,
{
    let claims = Arc::new(Claims {
        next: AtomicUsize::new(0),
        done: (0..count).map(|_| Mutex::new(None)).collect(),
        job,
    });
    if let Some(pool) = pool().filter(|_| count > 1) {
        for _ in 0..pool.current_num_threads().min(count - 1) {
            let claims = Arc::clone(&claims);
            // A panicking job leaves its result unset, and the caller runs it again, where the
            // panic surfaces as the caller's; uncaught here it would abort the process.
            pool.spawn(move || drop(catch_unwind(AssertUnwindSafe(|| claims.help()))));
        }
    }
    let mut mine: Vec<Option<T>> = (0..count).map(|_| None).collect();
    let started = Instant::now();
    let mut ran = 0;
    while let Some(i) = claims.claim() {
        mine[i] = Some((claims.job)(i));
        ran += 1;
    }
    let patience = started.elapsed() / ran.max(1);
    let deadline = Instant::now() + patience;
    let helped = |i: usize| {
        let slot = &claims.done[i];
        loop {
            if let Some(result) = slot.lock().unwrap_or_else(PoisonError::into_inner).take() {
                return Some(result);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::hint::spin_loop();
        }
    };
    mine.into_iter()
        .enumerate()
        .map(|(i, result)| {
            result
                .or_else(|| helped(i))
                .unwrap_or_else(|| (claims.job)(i))
        })
        .collect()
}
