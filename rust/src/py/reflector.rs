//! `Reflector`: the Rust list/watch loop of one resource, as the Python source drives it.
//! Python resolves the configuration and credentials once (`sources/_transport.py`) and hands
//! them over as a dict; the loop runs on its own thread and calls back into Python only to log
//! and to refresh a token.

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::engine::watcher::{Options, WatchList};
use crate::py::channel::PySourceChannel;
use crate::py::seconds;
use crate::transport::conn::Dialer;
use crate::transport::limits::{Limits, DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_PAGE_BYTES};
use crate::transport::record::Recorder;
use crate::transport::reflector::{Host, Level, Reflector, Settings, COUNTERS};
use crate::transport::replay::DEFAULT_MAX_LINE_BYTES;
use crate::transport::tls::{client_config, server_name, TlsMaterial};
use crate::transport::url::BaseUrl;

/// One resource's list/watch loop on a Rust thread, feeding `channel`.
#[pyclass(name = "Reflector", module = "kubeproxy_config._core", frozen)]
pub struct PyReflector {
    inner: Reflector,
}

/// The Python callables the loop may call: `log(level, message)` and `authorization()`.
struct PyHost {
    log: Py<PyAny>,
    authorization: Py<PyAny>,
}

impl Host for PyHost {
    fn log(&self, level: Level, message: &str) {
        // None once the interpreter is finalizing: the message is dropped.
        Python::try_attach(|py| {
            if let Err(err) = self.log.call1(py, (level as i32, message)) {
                err.write_unraisable(py, None);
            }
        });
    }

    fn authorization(&self) -> Result<Option<String>, String> {
        Python::try_attach(|py| {
            self.authorization
                .call0(py)
                .and_then(|value| value.extract::<Option<String>>(py))
                .map_err(|err| err.to_string())
        })
        .unwrap_or_else(|| Err("the interpreter is exiting".to_owned()))
    }
}

fn opt_str(settings: &Bound<'_, PyDict>, key: &str) -> PyResult<Option<String>> {
    match settings.get_item(key)? {
        Some(v) if !v.is_none() => Ok(Some(v.extract()?)),
        _ => Ok(None),
    }
}

fn opt_bytes(settings: &Bound<'_, PyDict>, key: &str) -> PyResult<Option<Vec<u8>>> {
    match settings.get_item(key)? {
        Some(v) if !v.is_none() => Ok(Some(v.cast::<PyBytes>()?.as_bytes().to_vec())),
        _ => Ok(None),
    }
}

fn number(settings: &Bound<'_, PyDict>, key: &str) -> PyResult<f64> {
    settings
        .get_item(key)?
        .ok_or_else(|| PyValueError::new_err(format!("transport settings lack {key:?}")))?
        .extract()
}

fn seconds(settings: &Bound<'_, PyDict>, key: &str) -> PyResult<Duration> {
    seconds::seconds(key, number(settings, key)?)
}

/// A size limit in bytes (a positive integer), or `default` when the key is absent or None.
fn byte_limit(settings: &Bound<'_, PyDict>, key: &str, default: usize) -> PyResult<usize> {
    match settings.get_item(key)? {
        Some(v) if !v.is_none() => match v.extract::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(PyValueError::new_err(format!(
                "{key} must be a positive number of bytes, not {v}"
            ))),
        },
        _ => Ok(default),
    }
}

fn build(channel: &PySourceChannel, path: String, s: &Bound<'_, PyDict>) -> PyResult<Settings> {
    let invalid = |why: String| PyValueError::new_err(why);
    let server = BaseUrl::parse(
        &opt_str(s, "server")?
            .ok_or_else(|| invalid("transport settings lack the server".to_owned()))?,
        "host",
    )
    .map_err(invalid)?;
    let proxy = opt_str(s, "proxy")?
        .map(|p| BaseUrl::parse(&p, "proxy"))
        .transpose()
        .map_err(invalid)?;
    if proxy.as_ref().is_some_and(|p| p.tls) {
        return Err(invalid(
            "proxy: only http:// proxies are supported".to_owned(),
        ));
    }
    let proxy_headers: Vec<(String, String)> = match s.get_item("proxy_headers")? {
        Some(v) if !v.is_none() => v.extract()?,
        _ => Vec::new(),
    };
    let tls = if server.tls {
        let material = TlsMaterial {
            ca_pem: opt_bytes(s, "ca_pem")?,
            cert_pem: opt_bytes(s, "cert_pem")?,
            key_pem: opt_bytes(s, "key_pem")?,
            verify: s
                .get_item("verify_ssl")?
                .map_or(Ok(true), |v| v.extract())?,
        };
        Some(client_config(&material).map_err(invalid)?)
    } else {
        None
    };
    let name_for_tls = opt_str(s, "tls_server_name")?.unwrap_or_else(|| server.host.clone());
    let server_name = server_name(&name_for_tls).map_err(invalid)?;
    let resync = number(s, "resync_period").ok().filter(|v| *v > 0.0);
    let audit = number(s, "audit_period").ok().filter(|v| *v > 0.0);
    let watch_list = match s.get_item("watch_list")? {
        Some(v) if !v.is_none() => {
            if v.extract::<bool>()? {
                WatchList::Always
            } else {
                WatchList::Never
            }
        }
        _ => WatchList::Auto,
    };
    let options = Options {
        watch_list,
        page_size: number(s, "page_size")? as u32,
        watch_timeout: seconds(s, "watch_timeout")?,
        resync_period: resync
            .map(|v| seconds::seconds("resync_period", v))
            .transpose()?,
        audit_period: audit
            .map(|v| seconds::seconds("audit_period", v))
            .transpose()?,
        backoff_initial: seconds(s, "backoff_initial")?,
        backoff_max: seconds(s, "backoff_max")?,
    };
    let plural = path.rsplit('/').next().unwrap_or("").to_owned();
    Ok(Settings {
        dialer: Dialer {
            server,
            proxy,
            proxy_headers,
            tls,
            server_name,
            connect_timeout: seconds(s, "connect_timeout")?,
            read_timeout: seconds(s, "stall_timeout")?,
        },
        path,
        label_selector: opt_str(s, "label_selector")?,
        options,
        name: format!("{}/{plural}", channel.source_name()),
        authorization: opt_str(s, "authorization")?,
        refresh_each_connect: s
            .get_item("refresh_each_connect")?
            .map_or(Ok(false), |v| v.extract())?,
        recorder: match s.get_item("recorder")? {
            Some(v) if !v.is_none() => Some(Arc::clone(&v.cast::<PyRecording>()?.get().inner)),
            _ => None,
        },
        limits: Limits {
            event_bytes: byte_limit(s, "max_event_bytes", DEFAULT_MAX_EVENT_BYTES)?,
            page_bytes: byte_limit(s, "max_page_bytes", DEFAULT_MAX_PAGE_BYTES)?,
        },
    })
}

/// A recording file being written by the reflectors of one source.
#[pyclass(name = "Recording", module = "kubeproxy_config._core", frozen)]
pub struct PyRecording {
    inner: Arc<Recorder>,
}

#[pymethods]
impl PyRecording {
    /// Create `path` (gzip when it ends in `.gz`) and write the header.
    #[new]
    fn new(path: std::path::PathBuf) -> PyResult<Self> {
        let inner = Recorder::create(&path)
            .map_err(|e| PyOSError::new_err(format!("cannot record to {}: {e}", path.display())))?;
        Ok(Self { inner })
    }

    /// Flush and close the file; later records are dropped. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.finish())
            .map_err(|e| PyOSError::new_err(format!("cannot finish the recording: {e}")))
    }
}

/// Play a recording into `channels` (by resource: `services`, `endpoints`,
/// `endpointslices`), without the GIL; `speed` None: as fast as possible. Returns the records
/// played per resource. Raises `ValueError` naming the file and line of a bad record, or of a
/// line longer than `max_line_bytes` (read no further than one byte past it).
#[pyfunction]
#[pyo3(signature = (path, channels, speed = None, *, max_line_bytes = DEFAULT_MAX_LINE_BYTES))]
pub fn replay(
    py: Python<'_>,
    path: std::path::PathBuf,
    channels: std::collections::HashMap<String, Py<PySourceChannel>>,
    speed: Option<f64>,
    max_line_bytes: usize,
) -> PyResult<std::collections::HashMap<String, u64>> {
    if max_line_bytes == 0 {
        return Err(PyValueError::new_err(
            "max_line_bytes must be a positive number of bytes, not 0",
        ));
    }
    let mut sinks: std::collections::HashMap<String, Box<dyn crate::engine::watcher::Sink>> =
        channels
            .into_iter()
            .map(|(resource, channel)| (resource, channel.get().sink()))
            .collect();
    // Ctrl-C (or any pending signal handler that raises) stops the replay between records and
    // while it waits for a paced one; the error is raised once it has stopped.
    let interrupted = parking_lot::Mutex::new(None);
    #[allow(
        clippy::redundant_closure_for_method_calls,
        reason = "the method is not general over the lifetime"
    )]
    let stop = || match Python::attach(|py| py.check_signals()) {
        Ok(()) => false,
        Err(err) => {
            *interrupted.lock() = Some(err);
            true
        }
    };
    let done = py.detach(|| {
        crate::transport::replay::replay(&path, &mut sinks, speed, max_line_bytes, &stop)
    });
    if let Some(err) = interrupted.into_inner() {
        return Err(err);
    }
    Ok(done
        .map_err(|e| PyValueError::new_err(e.to_string()))?
        .records)
}

#[pymethods]
impl PyReflector {
    /// Start listing and watching `path` (a collection, e.g. `/api/v1/services`) into `channel`.
    /// `settings` is what `sources/_transport.py` resolves; `log(level, message)` and
    /// `authorization()` are the only Python the loop calls.
    #[new]
    #[pyo3(signature = (channel, path, settings, *, log, authorization))]
    fn new(
        channel: &Bound<'_, PySourceChannel>,
        path: String,
        settings: &Bound<'_, PyDict>,
        log: Py<PyAny>,
        authorization: Py<PyAny>,
    ) -> PyResult<Self> {
        let channel = channel.get();
        let settings = build(channel, path, settings)?;
        let host = Arc::new(PyHost { log, authorization });
        let inner = Reflector::spawn(settings, channel.sink(), host)?;
        Ok(Self { inner })
    }

    /// The names of the `stats()` counters.
    #[classattr]
    #[pyo3(name = "COUNTERS")]
    fn counters() -> Vec<&'static str> {
        COUNTERS.to_vec()
    }

    /// Ask the loop to stop, interrupting a read in flight; returns at once.
    fn stop(&self) {
        self.inner.stop();
    }

    /// Wait for the loop's thread to end (None: forever); False on timeout.
    #[pyo3(signature = (timeout = None))]
    fn join(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let timeout = seconds::timeout(timeout)?;
        Ok(py.detach(|| self.inner.join(timeout)))
    }

    /// Wait until a complete list was sent (None: forever); False on timeout.
    #[pyo3(signature = (timeout = None))]
    fn wait_synced(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let timeout = seconds::timeout(timeout)?;
        Ok(py.detach(|| self.inner.wait_synced(timeout)))
    }

    /// Whether a complete list was sent.
    #[getter]
    fn synced(&self) -> bool {
        self.inner.synced()
    }

    /// Counters: `lists`, `relists`, `pages`, `watches`, `watch_restarts`, `events`, `errors`,
    /// `rejected`.
    fn stats(&self) -> std::collections::BTreeMap<&'static str, u64> {
        self.inner.stats()
    }

    /// The last resourceVersion seen (None before the first list).
    #[getter]
    fn resource_version(&self) -> Option<String> {
        self.inner.resource_version()
    }

    /// Seconds since data last arrived on a list or watch (None before any).
    #[getter]
    fn idle_seconds(&self) -> Option<f64> {
        self.inner.idle().map(|d| d.as_secs_f64())
    }

    /// Seconds since an event other than a bookmark, or a list page, arrived (None before any).
    #[getter]
    fn last_event_age(&self) -> Option<f64> {
        self.inner.since_event().map(|d| d.as_secs_f64())
    }

    /// Seconds since a bookmark arrived (None before any).
    #[getter]
    fn last_bookmark_age(&self) -> Option<f64> {
        self.inner.since_bookmark().map(|d| d.as_secs_f64())
    }
}
