//! One resource's list/watch loop on its own thread: the engine's [`Watcher`] decides, this
//! file does the I/O and feeds the [`Sink`]. Python is asked for nothing per event: only for a
//! token (after a 401, or before each connection when the client has a refresh hook) and to log
//! what operators must see (lists, failures).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use serde_json::Value;

use super::conn::{Canceller, Dialer};
use super::http::{self, Response, MAX_ERROR_BODY};
use super::record::{Recorder, RecordingSink};
use super::url::encode_query;
use crate::engine::error::CoreError;
use crate::engine::watcher::initial::{initial_events_end, INITIAL_EVENTS_END};
use crate::engine::watcher::{
    Action, Effect, EventsInfo, Options, Outcome, Sink, State, WatchError, Watcher,
};

/// Largest list page body accepted.
const MAX_PAGE: usize = 1 << 30;
/// Bytes asked of one read of a watch stream.
const READ_SIZE: usize = 256 * 1024;

/// Log levels, as Python's `logging` numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// 10.
    Debug = 10,
    /// 20.
    Info = 20,
    /// 30.
    Warning = 30,
    /// 40.
    Error = 40,
}

/// What the loop asks of its embedder (Python): rare calls only, never per event.
pub trait Host: Send + Sync {
    /// Log a message about this resource.
    fn log(&self, level: Level, message: &str);
    /// The `Authorization` header value to send now (None: none), asked again after a 401;
    /// an error (the refresh failed) keeps the header in use.
    fn authorization(&self) -> Result<Option<String>, String>;
}

/// What one loop needs besides its sink and host.
pub struct Settings {
    /// Connection details.
    pub dialer: Dialer,
    /// The collection's path, e.g. `/api/v1/namespaces/ns/services`.
    pub path: String,
    /// `labelSelector`, sent with every request.
    pub label_selector: Option<String>,
    /// The state machine's options.
    pub options: Options,
    /// `source/resource`, for logs and the thread name.
    pub name: String,
    /// The `Authorization` header value to start with.
    pub authorization: Option<String>,
    /// Ask the host for the header before every connection (the client has a refresh hook).
    pub refresh_each_connect: bool,
    /// Record what the loop receives.
    pub recorder: Option<Arc<Recorder>>,
}

/// The names of the counters, in `stats` order.
pub const COUNTERS: [&str; 12] = [
    "lists",
    "relists",
    "pages",
    "watches",
    "watch_restarts",
    "events",
    "errors",
    "rejected",
    "watch_lists",
    "watch_list_fallbacks",
    "audits",
    "audit_drift",
];

#[derive(Clone, Copy)]
enum Counter {
    Lists,
    Relists,
    Pages,
    Watches,
    WatchRestarts,
    Events,
    Errors,
    Rejected,
    WatchLists,
    WatchListFallbacks,
    Audits,
    AuditDrift,
}

/// A boolean that threads wait for.
#[derive(Default)]
struct Flag {
    value: Mutex<bool>,
    changed: Condvar,
}

impl Flag {
    fn get(&self) -> bool {
        *self.value.lock()
    }

    fn set(&self) {
        *self.value.lock() = true;
        self.changed.notify_all();
    }

    /// Wait until set, `give_up` holds (checked at each wake), or `deadline`; the value then.
    fn wait(&self, deadline: Option<Instant>, give_up: impl Fn() -> bool) -> bool {
        let mut value = self.value.lock();
        while !*value && !give_up() {
            match deadline {
                Some(at) => {
                    if self.changed.wait_until(&mut value, at).timed_out() {
                        break;
                    }
                }
                None => self.changed.wait(&mut value),
            }
        }
        *value
    }
}

/// State shared between the loop's thread and its controller.
struct Shared {
    stop: Flag,
    cancel: Arc<Canceller>,
    counters: [AtomicU64; COUNTERS.len()],
    synced: Flag,
    done: Flag,
    resource_version: Mutex<Option<String>>,
    /// When data last arrived on a watch or list (for staleness metrics).
    last_data: Mutex<Option<Instant>>,
    /// When an event other than a bookmark (or a list) last arrived.
    last_event: Mutex<Option<Instant>>,
    /// When a bookmark last arrived.
    last_bookmark: Mutex<Option<Instant>>,
}

impl Shared {
    fn count(&self, counter: Counter, n: u64) {
        self.counters[counter as usize].fetch_add(n, Ordering::Relaxed);
    }

    fn stopped(&self) -> bool {
        self.stop.get()
    }

    /// Sleep until `until` or a stop; true if stopped.
    fn sleep_until(&self, until: Instant) -> bool {
        self.stop.wait(Some(until), || false)
    }
}

/// A running loop.
pub struct Reflector {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Reflector {
    /// Start the loop on its own thread.
    pub fn spawn(
        settings: Settings,
        sink: Box<dyn Sink>,
        host: Arc<dyn Host>,
    ) -> std::io::Result<Self> {
        let sink: Box<dyn Sink> = match &settings.recorder {
            Some(recorder) => Box::new(RecordingSink::new(
                sink,
                Arc::clone(recorder),
                settings.path.rsplit('/').next().unwrap_or(""),
            )),
            None => sink,
        };
        let shared = Arc::new(Shared {
            stop: Flag::default(),
            cancel: Canceller::new(),
            counters: Default::default(),
            synced: Flag::default(),
            done: Flag::default(),
            resource_version: Mutex::new(None),
            last_data: Mutex::new(None),
            last_event: Mutex::new(None),
            last_bookmark: Mutex::new(None),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("kpc-{}", settings.name))
            .spawn(move || {
                let mut run = Run {
                    settings,
                    sink,
                    host,
                    shared: Arc::clone(&thread_shared),
                    authorization: None,
                    refresh: true,
                    auth_failing: false,
                    pages: 0,
                };
                run.authorization = run.settings.authorization.take();
                run.refresh = false;
                run.run();
                thread_shared.done.set();
                // Wake `wait_synced` too (a loop that ended unsynced never will be); taking its
                // lock first orders this after any waiter's check of `done`.
                drop(thread_shared.synced.value.lock());
                thread_shared.synced.changed.notify_all();
            })?;
        Ok(Self {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Ask the loop to stop, interrupting a read in flight. Returns at once.
    pub fn stop(&self) {
        self.shared.stop.set();
        self.shared.cancel.cancel();
    }

    /// Wait for the thread to end (None: forever); false on timeout.
    pub fn join(&self, timeout: Option<Duration>) -> bool {
        let finished = self.shared.done.wait(deadline(timeout), || false);
        if finished {
            if let Some(handle) = self.thread.lock().take() {
                let _ = handle.join();
            }
        }
        finished
    }

    /// Whether a complete list was sent.
    pub fn synced(&self) -> bool {
        self.shared.synced.get()
    }

    /// Wait until synced (None: forever); false on timeout or if the loop ended unsynced.
    pub fn wait_synced(&self, timeout: Option<Duration>) -> bool {
        let done = &self.shared.done;
        self.shared.synced.wait(deadline(timeout), || done.get())
    }

    /// The counters, by name.
    pub fn stats(&self) -> BTreeMap<&'static str, u64> {
        COUNTERS
            .iter()
            .zip(&self.shared.counters)
            .map(|(name, value)| (*name, value.load(Ordering::Relaxed)))
            .collect()
    }

    /// The last resourceVersion seen (None before the first list).
    pub fn resource_version(&self) -> Option<String> {
        self.shared.resource_version.lock().clone()
    }

    /// Time since data last arrived (None before any).
    pub fn idle(&self) -> Option<Duration> {
        self.shared.last_data.lock().map(|at| at.elapsed())
    }

    /// Time since an event other than a bookmark, or a list, last arrived (None before any).
    pub fn since_event(&self) -> Option<Duration> {
        self.shared.last_event.lock().map(|at| at.elapsed())
    }

    /// Time since a bookmark last arrived (None before any).
    pub fn since_bookmark(&self) -> Option<Duration> {
        self.shared.last_bookmark.lock().map(|at| at.elapsed())
    }
}

impl Drop for Reflector {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Run {
    settings: Settings,
    sink: Box<dyn Sink>,
    host: Arc<dyn Host>,
    shared: Arc<Shared>,
    authorization: Option<String>,
    /// Ask the host for the header before the next request (after a 401).
    refresh: bool,
    /// An operator-level failure was logged; quieter until a success.
    auth_failing: bool,
    /// Pages gathered into the list in progress.
    pages: u64,
}

impl Run {
    fn run(&mut self) {
        let mut machine = Watcher::new(self.settings.options.clone());
        if self.settings.options.audit_period.is_some() {
            self.sink.keep_ledger();
        }
        self.sink.begin_list();
        loop {
            if self.shared.stopped() {
                return;
            }
            let outcome = match machine.action() {
                Action::Stop => return,
                Action::Wait { until } => {
                    if self.shared.sleep_until(until) {
                        return;
                    }
                    Outcome::Waited
                }
                Action::ListPage {
                    limit,
                    continue_token,
                } => self.list_page(limit, continue_token, false),
                Action::AuditPage {
                    limit,
                    continue_token,
                } => self.list_page(limit, continue_token, true),
                Action::WatchList {
                    resource_version,
                    timeout,
                } => self.watch(&mut machine, &resource_version, timeout, true),
                Action::Watch {
                    resource_version,
                    timeout,
                } => self.watch(&mut machine, &resource_version, timeout, false),
            };
            if let Outcome::Failed(error) = &outcome {
                if !error.is_retryable() {
                    if *error == WatchError::Closed {
                        self.host.log(
                            Level::Debug,
                            &format!("{}: the channel was closed; stopping", self.settings.name),
                        );
                    }
                    return;
                }
                self.failed(error, machine.state());
            }
            let list_version = match &outcome {
                Outcome::Page {
                    resource_version, ..
                } => resource_version.clone(),
                _ => None,
            };
            let effect = machine.step(outcome, Instant::now(), fastrand::f64());
            if !self.apply(effect, list_version.as_deref(), false) {
                return;
            }
            if let Some(version) = machine.resource_version() {
                *self.shared.resource_version.lock() = Some(version.to_owned());
            }
        }
    }

    /// Carry out what the machine asked of the sink; false when the loop must end.
    fn apply(&mut self, effect: Effect, version: Option<&str>, streamed: bool) -> bool {
        match effect {
            Effect::None => {}
            Effect::BeginList => self.begin_list(),
            Effect::WatchRestart => self.shared.count(Counter::WatchRestarts, 1),
            Effect::BeginAudit => self.sink.begin_audit(),
            Effect::FinishAudit { watched } => return self.finish_audit(&watched),
            Effect::WatchListRefused => {
                self.shared.count(Counter::WatchListFallbacks, 1);
                self.host.log(
                    Level::Info,
                    &format!(
                        "{}: the server refused a streaming list; using paginated lists",
                        self.settings.name
                    ),
                );
                self.begin_list();
            }
            Effect::CommitList { relist } => {
                // Counted first: whoever sees the config synced sees the list counted.
                self.shared.count(Counter::Lists, 1);
                if relist {
                    self.shared.count(Counter::Relists, 1);
                }
                if streamed {
                    self.shared.count(Counter::WatchLists, 1);
                }
                let count = match self.sink.commit_list() {
                    Ok(count) => count,
                    Err(e) => {
                        let name = &self.settings.name;
                        self.host
                            .log(Level::Debug, &format!("{name}: {e}; stopping"));
                        return false;
                    }
                };
                self.auth_failing = false;
                let how = if streamed {
                    "one stream".to_owned()
                } else {
                    format!(
                        "{} page{}",
                        self.pages,
                        if self.pages == 1 { "" } else { "s" }
                    )
                };
                self.host.log(
                    Level::Info,
                    &format!(
                        "{}: {} {count} objects at resourceVersion {} ({how})",
                        self.settings.name,
                        if relist { "relisted" } else { "listed" },
                        version.unwrap_or("?"),
                    ),
                );
                // Set after the log line, so that a waiter for the sync sees the whole of it.
                self.shared.synced.set();
                self.begin_list();
            }
        }
        true
    }

    /// Compare the audit's list with what was sent; heal and report drift.
    fn finish_audit(&mut self, watched: &str) -> bool {
        let audited = match self.sink.finish_audit(watched) {
            Ok(audited) => audited,
            Err(e) => {
                let name = &self.settings.name;
                self.host
                    .log(Level::Debug, &format!("{name}: {e}; stopping"));
                return false;
            }
        };
        self.shared.count(Counter::Audits, 1);
        self.shared.count(Counter::AuditDrift, audited.drift as u64);
        let name = &self.settings.name;
        if audited.drift > 0 {
            self.host.log(
                Level::Warning,
                &format!(
                    "{name}: the audit found {} object(s) that differ from the server with no \
                     event to explain it (missed events); healed with a SET",
                    audited.drift
                ),
            );
        } else if audited.differing > 0 {
            self.host.log(
                Level::Debug,
                &format!(
                    "{name}: the audit saw {} newer change(s); applied",
                    audited.differing
                ),
            );
        }
        true
    }

    fn begin_list(&mut self) {
        self.sink.begin_list();
        self.pages = 0;
    }

    fn failed(&mut self, error: &WatchError, state: &State) {
        self.shared.count(Counter::Errors, 1);
        if let Some(recorder) = &self.settings.recorder {
            let resource = self.settings.path.rsplit('/').next().unwrap_or("");
            recorder.write(resource, "error", error.to_string().as_bytes());
        }
        let doing = if matches!(state, State::Listing { .. } | State::Streaming { .. }) {
            "list"
        } else {
            "watch"
        };
        let name = &self.settings.name;
        if error.is_unauthorized() {
            self.refresh = true;
        }
        if error.needs_operator() {
            // Once per streak: retried forever (it may be fixed), but not spammed.
            if self.auth_failing {
                self.host.log(
                    Level::Debug,
                    &format!("{name}: {doing} refused again ({error})"),
                );
            } else {
                self.auth_failing = true;
                self.host.log(
                    Level::Error,
                    &format!("{name}: {doing} refused ({error}); check the credentials, RBAC and CA; retrying"),
                );
            }
        } else if *error == WatchError::Stalled {
            self.host.log(
                Level::Warning,
                &format!(
                    "{name}: no data for {} s during {doing} (stalled); reconnecting",
                    self.settings.dialer.read_timeout.as_secs_f64()
                ),
            );
        } else if error.is_gone() {
            self.host
                .log(Level::Info, &format!("{name}: {error}; relisting"));
        } else {
            self.host
                .log(Level::Warning, &format!("{name}: {doing} failed: {error}"));
        }
    }

    fn report_rejected(&self, rejected: &[String]) {
        if rejected.is_empty() {
            return;
        }
        self.shared.count(Counter::Rejected, rejected.len() as u64);
        for message in rejected {
            self.host.log(
                Level::Warning,
                &format!(
                    "{}: ignoring an object that failed validation: {message}",
                    self.settings.name
                ),
            );
        }
    }

    fn request(&mut self, mut query: Vec<(&str, String)>) -> Result<Response, WatchError> {
        if let Some(selector) = &self.settings.label_selector {
            query.insert(0, ("labelSelector", selector.clone()));
        }
        if self.refresh || self.settings.refresh_each_connect {
            self.refresh = false;
            match self.host.authorization() {
                Ok(value) => self.authorization = value,
                Err(why) => self.host.log(
                    Level::Warning,
                    &format!(
                        "{}: cannot refresh the credentials: {why}",
                        self.settings.name
                    ),
                ),
            }
        }
        let target = format!("{}?{}", self.settings.path, encode_query(&query));
        let user_agent = concat!("kubeproxy-config/", env!("CARGO_PKG_VERSION"));
        let mut headers = vec![("Accept", "application/json"), ("User-Agent", user_agent)];
        if let Some(value) = &self.authorization {
            headers.push(("Authorization", value.as_str()));
        }
        let cancel = &self.shared.cancel;
        let mut response = http::get(&self.settings.dialer, &target, &headers, cancel)?;
        if !(200..300).contains(&response.status) {
            let body = response.read_prefix(MAX_ERROR_BODY, cancel);
            return Err(status_error(response.status, &response.reason, &body));
        }
        Ok(response)
    }

    /// One page of a list (or, with `audit`, of an audit's list).
    fn list_page(
        &mut self,
        limit: Option<u32>,
        continue_token: Option<String>,
        audit: bool,
    ) -> Outcome {
        let mut query = Vec::new();
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        if let Some(token) = continue_token {
            query.push(("continue", token));
        }
        let result = self.request(query).and_then(|mut response| {
            let body = response.read_all(MAX_PAGE, &self.shared.cancel);
            self.shared.cancel.disarm();
            let body = body?;
            let now = Some(Instant::now());
            *self.shared.last_data.lock() = now;
            *self.shared.last_event.lock() = now;
            let page = if audit {
                self.sink.audit_page(&body)
            } else {
                self.sink.list_page(&body)
            };
            page.map_err(|e| sink_error(&e))
        });
        self.shared.cancel.disarm();
        match result {
            Ok(page) => {
                self.shared.count(Counter::Pages, 1);
                if !audit {
                    self.pages += 1;
                }
                self.report_rejected(&page.rejected);
                Outcome::Page {
                    resource_version: page.resource_version,
                    continue_token: page.continue_token,
                }
            }
            Err(error) => Outcome::Failed(error),
        }
    }

    /// A watch from `version`; with `list`, a streaming list (KEP-3157) whose initial events
    /// are gathered and sent as one SET at their end bookmark.
    fn watch(
        &mut self,
        machine: &mut Watcher,
        version: &str,
        timeout: Duration,
        list: bool,
    ) -> Outcome {
        let mut query = vec![
            ("watch", "1".to_owned()),
            ("allowWatchBookmarks", "true".to_owned()),
        ];
        if list {
            query.push(("sendInitialEvents", "true".to_owned()));
            query.push(("resourceVersionMatch", "NotOlderThan".to_owned()));
            query.push(("resourceVersion", version.to_owned()));
        } else if !version.is_empty() {
            query.push(("resourceVersion", version.to_owned()));
        }
        let seconds = timeout.as_secs_f64().round().max(1.0);
        query.push(("timeoutSeconds", format!("{seconds}")));
        self.host.log(
            Level::Debug,
            &format!(
                "{}: {} from resourceVersion {version:?}",
                self.settings.name,
                if list { "streaming a list" } else { "watching" }
            ),
        );
        let started = Instant::now();
        let result = self.request(query).and_then(|response| {
            self.shared.count(Counter::Watches, 1);
            self.stream(machine, response, list)
        });
        self.shared.cancel.disarm();
        match result {
            Ok(events) => Outcome::Watched {
                events,
                lasted: started.elapsed(),
            },
            Err(error) => Outcome::Failed(error),
        }
    }

    /// Apply complete lines of the watch body as they arrive (with `initial`, gather them until
    /// the end of the initial events); the events applied when the server ends the stream.
    fn stream(
        &mut self,
        machine: &mut Watcher,
        mut response: Response,
        mut initial: bool,
    ) -> Result<usize, WatchError> {
        let cancel = Arc::clone(&self.shared.cancel);
        let mut buf = vec![0; READ_SIZE];
        let mut pending: Vec<u8> = Vec::new();
        let mut events = 0;
        loop {
            let n = response.read_some(&mut buf, &cancel)?;
            if n == 0 {
                break;
            }
            *self.shared.last_data.lock() = Some(Instant::now());
            let chunk = &buf[..n];
            // Initial events need no promptness: gather them in pieces of up to 1 MiB (parsed on every
            // core), unless this read may hold the end bookmark.
            if initial
                && pending.len() + n < GATHER_PIECE
                && !may_end_initial_events(&pending, chunk)
            {
                pending.extend_from_slice(chunk);
                continue;
            }
            let Some(end) = memchr::memrchr(b'\n', chunk) else {
                pending.extend_from_slice(chunk);
                continue;
            };
            let joined;
            let mut lines = if pending.is_empty() {
                &chunk[..=end]
            } else {
                pending.extend_from_slice(&chunk[..=end]);
                joined = std::mem::take(&mut pending);
                &joined[..]
            };
            if initial {
                let split = initial_events_end(lines);
                let (head, tail) = lines.split_at(split.as_ref().map_or(lines.len(), |s| s.0));
                let info = self.sink.gather_events(head).map_err(|e| sink_error(&e))?;
                events += self.took(machine, head, info, false)?;
                if let Some((_, version)) = split {
                    initial = false;
                    let effect = machine.initial_events_ended(
                        version.clone(),
                        Instant::now(),
                        fastrand::f64(),
                    );
                    if !self.apply(effect, Some(&version), true) {
                        return Err(WatchError::Closed);
                    }
                    *self.shared.resource_version.lock() = Some(version);
                }
                lines = tail;
            }
            if !lines.is_empty() {
                let info = self.sink.apply_events(lines).map_err(|e| sink_error(&e))?;
                events += self.took(machine, lines, info, true)?;
            }
            pending.extend_from_slice(&chunk[end + 1..]);
        }
        if cancel.is_cancelled() {
            return Err(WatchError::Stopped);
        }
        if pending.iter().any(|b| !b.is_ascii_whitespace()) {
            self.host.log(
                Level::Debug,
                &format!(
                    "{}: the watch ended inside a line; dropping it",
                    self.settings.name
                ),
            );
        }
        Ok(events)
    }

    /// Account for a chunk's events (`progress`: they move the resume version); its ERROR
    /// event as an error.
    fn took(
        &mut self,
        machine: &mut Watcher,
        lines: &[u8],
        info: EventsInfo,
        progress: bool,
    ) -> Result<usize, WatchError> {
        self.report_rejected(&info.rejected);
        // For staleness figures only: a bookmark line names its type.
        let bookmarks = memchr::memmem::find_iter(lines, b"\"BOOKMARK\"").count();
        let now = Some(Instant::now());
        if bookmarks > 0 {
            *self.shared.last_bookmark.lock() = now;
        }
        if info.events > bookmarks {
            *self.shared.last_event.lock() = now;
        }
        if let (true, Some(version)) = (progress, info.resource_version) {
            *self.shared.resource_version.lock() = Some(version.clone());
            machine.progressed(version);
        }
        if info.events > 0 {
            self.shared.count(Counter::Events, info.events as u64);
            self.auth_failing = false;
        }
        match info.error {
            Some(status) => Err(status_value_error(&status)),
            None => Ok(info.events),
        }
    }
}

/// Bytes of initial events gathered before they are parsed at once.
const GATHER_PIECE: usize = 1 << 20;

/// Whether `chunk` (read after `pending`) may hold the end of the initial events: it mentions
/// the annotation, counting a mention cut between the two.
fn may_end_initial_events(pending: &[u8], chunk: &[u8]) -> bool {
    let marker = INITIAL_EVENTS_END.as_bytes();
    let carried = pending.len().min(marker.len() - 1);
    let mut window = Vec::with_capacity(carried + chunk.len().min(marker.len() - 1));
    window.extend_from_slice(&pending[pending.len() - carried..]);
    window.extend_from_slice(&chunk[..chunk.len().min(marker.len() - 1)]);
    memchr::memmem::find(chunk, marker).is_some() || memchr::memmem::find(&window, marker).is_some()
}

fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.map(|t| Instant::now() + t)
}

fn sink_error(error: &CoreError) -> WatchError {
    match error {
        CoreError::Closed(_) => WatchError::Closed,
        other @ CoreError::InvalidObject { .. } => WatchError::Protocol(other.to_string()),
    }
}

/// A non-2xx answer: its `Status` body when it has one.
fn status_error(code: u16, reason: &str, body: &[u8]) -> WatchError {
    match serde_json::from_slice::<Value>(body) {
        Ok(status @ Value::Object(_)) => {
            let mut error = status_value_error(&status);
            if let WatchError::Status {
                code: c, reason: r, ..
            } = &mut error
            {
                *c = code;
                if r.is_empty() {
                    reason.clone_into(r);
                }
            }
            error
        }
        _ => WatchError::Status {
            code,
            reason: reason.to_owned(),
            message: String::new(),
        },
    }
}

/// An ERROR event's `Status` object.
fn status_value_error(status: &Value) -> WatchError {
    let text = |field: &str| {
        status
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    WatchError::Status {
        code: status
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(0),
        reason: text("reason"),
        message: text("message"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_marker_is_seen_when_cut_between_reads() {
        let line = br#"{"type":"BOOKMARK","object":{"metadata":{"annotations":{"k8s.io/initial-events-end":"true"}}}}"#;
        for cut in 0..line.len() {
            let (before, after) = line.split_at(cut);
            let seen = may_end_initial_events(before, after);
            // Seen in the new read unless it lies wholly in what was read before.
            let wholly_before =
                memchr::memmem::find(before, INITIAL_EVENTS_END.as_bytes()).is_some();
            assert!(seen || wholly_before, "cut at {cut}");
        }
        assert!(!may_end_initial_events(
            b"{\"type\":\"ADDED\"",
            b",\"object\":{}}"
        ));
    }

    #[test]
    fn statuses_from_bodies() {
        let body = br#"{"kind":"Status","code":410,"reason":"Expired","message":"too old"}"#;
        let e = status_error(410, "Gone", body);
        assert!(e.is_gone());
        assert_eq!(e.to_string(), "410 Expired: too old");
        assert_eq!(
            status_error(502, "Bad Gateway", b"<html>").to_string(),
            "502 Bad Gateway"
        );
        let event = serde_json::json!({"code": 500, "message": "etcd down"});
        assert_eq!(
            status_value_error(&event).to_string(),
            "500 Unknown: etcd down"
        );
    }
}
