//! The Python-facing waits and counters every config class shares (`Config`, `ProxyConfig`),
//! over the engine's kind-independent [`Control`].

use std::time::Instant;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::engine::control::Control;
use crate::engine::histogram::HistogramSnapshot;
use crate::py::seconds;
use crate::py::wait::wait_in_slices;

/// The deadline of a `timeout` argument (None: no deadline); a negative or NaN one is an error.
pub fn deadline_of(timeout: Option<f64>) -> PyResult<Option<Instant>> {
    Ok(seconds::timeout(timeout)?.map(|t| Instant::now() + t))
}

/// Wait until everything queued before the call is merged and delivered to every handler.
pub fn flush(py: Python<'_>, ctl: &dyn Control, deadline: Option<Instant>) -> PyResult<bool> {
    flush_all(py, &[ctl], deadline)
}

/// [`flush`] of several configs at once: every merger is asked first, so they work together,
/// then each is waited for.
pub fn flush_all(
    py: Python<'_>,
    ctls: &[&dyn Control],
    deadline: Option<Instant>,
) -> PyResult<bool> {
    let replies: Vec<_> = ctls.iter().map(|ctl| ctl.request_flush()).collect();
    for (ctl, reply) in ctls.iter().zip(replies) {
        let Some(reply) = reply else {
            // Closed: its final drain merged everything sent before.
            let version = ctl.version();
            if !wait_in_slices(py, deadline, |d| ctl.wait_delivered(version, d))? {
                return Ok(false);
            }
            continue;
        };
        let mut version = None;
        let merged = wait_in_slices(py, deadline, |d| match reply.recv_deadline(d) {
            Ok(v) => {
                version = Some(v);
                true
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => false,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => true,
        })?;
        if !merged {
            return Ok(false);
        }
        let version = version.unwrap_or_else(|| ctl.version());
        if !wait_in_slices(py, deadline, |d| ctl.wait_delivered(version, d))? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Wait until synced; False on timeout.
pub fn wait_synced(py: Python<'_>, ctl: &dyn Control, timeout: Option<f64>) -> PyResult<bool> {
    let deadline = deadline_of(timeout)?;
    wait_in_slices(py, deadline, |d| ctl.wait_synced(d))
}

/// Close, waiting for handlers inside a call until `timeout`.
pub fn close(py: Python<'_>, ctl: &dyn Control, timeout: Option<f64>) -> PyResult<bool> {
    let deadline = deadline_of(timeout)?;
    // Repeated engine closes keep waiting for the same threads, so wait in slices.
    wait_in_slices(py, deadline, |d| ctl.close(d))
}

/// The counters as a dict, with the number of handlers.
pub fn stats<'py>(py: Python<'py>, ctl: &dyn Control) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in ctl.stats() {
        d.set_item(k, v)?;
    }
    d.set_item("handlers", ctl.handler_count())?;
    Ok(d)
}

/// `(cumulative bucket counts, sum)` of a histogram.
pub type HistogramRow = (Vec<u64>, f64);
/// `(label, deliveries, coalesced, errors, lag seconds, duration buckets, duration sum)`.
pub type HandlerRow = (String, u64, u64, u64, f64, Vec<u64>, f64);

/// A histogram as Python gets it.
pub fn histogram_row(h: &HistogramSnapshot) -> HistogramRow {
    (h.cumulative.clone(), h.sum)
}

/// Every handler's figures, read without the GIL (the engine reads atomics; nothing waits).
pub fn handler_stats(py: Python<'_>, ctl: &dyn Control) -> Vec<HandlerRow> {
    let reports = py.detach(|| ctl.handler_reports());
    reports
        .into_iter()
        .map(|r| {
            let (buckets, sum) = histogram_row(&r.duration);
            (
                r.label,
                r.deliveries,
                r.coalesced,
                r.errors,
                r.lag.as_secs_f64(),
                buckets,
                sum,
            )
        })
        .collect()
}
