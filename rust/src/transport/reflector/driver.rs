//! The loop's thread: asks the engine's [`Watcher`] what to do, does the I/O (lists, watches,
//! streaming lists) and reports each outcome back, logging failures as operators need them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::host::{Host, Level, Settings};
use super::shared::{Counter, Shared};
use super::status::{sink_error, status_error};
use crate::engine::watcher::initial::{initial_events_end, INITIAL_EVENTS_END};
use crate::engine::watcher::{
    Action, Bounded, EventsInfo, Outcome, Sink, State, WatchError, Watcher,
};
use crate::transport::http::{self, Response, MAX_ERROR_BODY};
use crate::transport::limits::LineBound;
use crate::transport::url::encode_query;

/// Bytes asked of one read of a watch stream.
const READ_SIZE: usize = 256 * 1024;

pub(super) struct Run {
    pub(super) settings: Settings,
    pub(super) sink: Box<dyn Sink>,
    pub(super) host: Arc<dyn Host>,
    pub(super) shared: Arc<Shared>,
    pub(super) authorization: Option<String>,
    /// Ask the host for the header before the next request (after a 401).
    pub(super) refresh: bool,
    /// An operator-level failure was logged; quieter until a success.
    pub(super) auth_failing: bool,
    /// Pages gathered into the list in progress.
    pub(super) pages: u64,
}

impl Run {
    /// A loop that starts with the settings' header, asking the host only after a 401 (or
    /// before each connection when the settings say so).
    pub(super) fn new(
        mut settings: Settings,
        sink: Box<dyn Sink>,
        host: Arc<dyn Host>,
        shared: Arc<Shared>,
    ) -> Self {
        let authorization = settings.authorization.take();
        Self {
            settings,
            sink,
            host,
            shared,
            authorization,
            refresh: false,
            auth_failing: false,
            pages: 0,
        }
    }

    pub(super) fn run(&mut self) {
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
                if self.shared.stopped() {
                    // stop() cut the request short: that is the stop, not a failure to count,
                    // log or record.
                    return;
                }
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

    fn failed(&mut self, error: &WatchError, state: &State) {
        self.shared.count(Counter::Errors, 1);
        if let Some(recorder) = &self.settings.recorder {
            let resource = self.settings.path.rsplit('/').next().unwrap_or("");
            recorder.write(resource, "error", error.to_string().as_bytes());
        }
        let doing = match state {
            State::Listing { .. } | State::Streaming { .. } => "list",
            State::Auditing { .. } => "audit",
            _ => "watch",
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
        } else if let WatchError::TooLarge { what, .. } = error {
            self.shared.count(Counter::Oversized, 1);
            let then = match (what, doing) {
                (Bounded::EventLine, "watch") => "dropping the connection; relisting",
                (Bounded::EventLine, _) => "dropping the connection; listing again",
                (Bounded::ListPage, "audit") => "skipping this audit",
                (Bounded::ListPage, _) => "retrying the list after a backoff",
            };
            self.host.log(
                Level::Warning,
                &format!("{name}: {doing} refused: {error}; {then}"),
            );
        } else if error.is_gone() {
            self.host
                .log(Level::Info, &format!("{name}: {error}; relisting"));
        } else {
            self.host
                .log(Level::Warning, &format!("{name}: {doing} failed: {error}"));
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
            let body = response.read_all(self.settings.limits.page_bytes, &self.shared.cancel);
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
        let limit = self.settings.limits.event_bytes;
        // Checked as bytes arrive, before they are kept: an endless line is read to one byte
        // past the limit, then the connection is dropped and the machine relists.
        let mut bound = LineBound::new(limit);
        loop {
            let room = bound.room(buf.len());
            let n = response.read_some(&mut buf[..room], &cancel)?;
            if n == 0 {
                break;
            }
            *self.shared.last_data.lock() = Some(Instant::now());
            let chunk = &buf[..n];
            if let Err(seen) = bound.take(chunk) {
                return Err(WatchError::TooLarge {
                    what: Bounded::EventLine,
                    limit: limit as u64,
                    seen: seen as u64,
                    announced: false,
                });
            }
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
            Some(status) => Err(WatchError::from_status(&status)),
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
}
