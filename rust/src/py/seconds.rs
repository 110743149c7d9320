//! Numbers of seconds from Python (timeouts, intervals, periods) as [`Duration`]s.

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::PyResult;

/// The longest wait or interval taken literally (about 31.7 years); longer ones are capped.
/// `Duration::from_secs_f64` panics past ~5.8e11 years, and a deadline that far ahead would
/// overflow `Instant`, so a huge but valid number must never reach either.
pub const MAX_SECONDS: f64 = 1e9;

/// `value` seconds for the argument `name`: NaN, infinite and negative values are a
/// `ValueError` naming it; values past [`MAX_SECONDS`] are capped.
pub fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    if value.is_finite() && value >= 0.0 {
        Ok(Duration::from_secs_f64(value.min(MAX_SECONDS)))
    } else {
        Err(PyValueError::new_err(format!(
            "{name} must be a number of seconds >= 0, got {value}"
        )))
    }
}

/// [`seconds`] of an optional timeout (None: no limit).
pub fn timeout(value: Option<f64>) -> PyResult<Option<Duration>> {
    value.map(|t| seconds("timeout", t)).transpose()
}
