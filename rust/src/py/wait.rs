//! Blocking waits that release the GIL and still answer Ctrl-C.

use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// A detached wait cannot see signals, so waits are cut into slices of this length.
const SLICE: Duration = Duration::from_millis(50);

/// Call `attempt(slice_deadline)` detached until it returns true or `deadline` passes, checking
/// for signals between slices (so Ctrl-C raises `KeyboardInterrupt`). `None` waits for ever.
pub fn wait_in_slices<F>(
    py: Python<'_>,
    deadline: Option<Instant>,
    mut attempt: F,
) -> PyResult<bool>
where
    F: FnMut(Instant) -> bool + Send,
{
    loop {
        let now = Instant::now();
        let slice_end = match deadline {
            Some(d) => d.min(now + SLICE),
            None => now + SLICE,
        };
        if py.detach(|| attempt(slice_end)) {
            return Ok(true);
        }
        py.check_signals()?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(false);
        }
    }
}
