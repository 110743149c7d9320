//! The list/watch loop of one resource as an explicit state machine, free of I/O.
//!
//! The driver asks [`Watcher::action`] what to do, does it, and reports the [`Outcome`] to
//! [`Watcher::step`], which moves to the next [`State`] and says what to do with the pages
//! gathered ([`Effect`]). Time and randomness come in as arguments, so every path is tested on
//! a manual clock, without sleeping.

use std::time::{Duration, Instant};

use super::backoff::Backoff;
use super::error::WatchError;

/// A watch that ends sooner than this with no event is retried after a backoff: a server that
/// closes watches at once must not make a busy loop.
pub const SHORT_WATCH: Duration = Duration::from_secs(1);

/// Whether lists are streamed (a watch with initial events, KEP-3157) or paginated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchList {
    /// Stream; fall back to paginated lists (for good) when the server refuses.
    Auto,
    /// Stream only; a refusal is retried like any failure.
    Always,
    /// Paginated lists only.
    Never,
}

/// How the loop lists and watches.
#[derive(Debug, Clone)]
pub struct Options {
    /// Streaming or paginated lists.
    pub watch_list: WatchList,
    /// Objects per list page (`limit`); 0 lists in one request.
    pub page_size: u32,
    /// How long a watch asks the server to stay open (plus up to 25% jitter).
    pub watch_timeout: Duration,
    /// Relist this often (a SET of an unchanged state makes no new version); None: only on 410.
    pub resync_period: Option<Duration>,
    /// Audit this often: a paginated list compared with what was sent, healed by a SET when
    /// it differs; None: never.
    pub audit_period: Option<Duration>,
    /// First retry delay.
    pub backoff_initial: Duration,
    /// Largest retry delay.
    pub backoff_max: Duration,
}

/// Where the loop is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Listing: `continue_token` is the next page's (None: the first page), `resource_version`
    /// the first page's (the whole list's), `paginate` whether pages are asked for.
    Listing {
        /// Token of the next page.
        continue_token: Option<String>,
        /// The list's version, from its first page.
        resource_version: Option<String>,
        /// Whether `limit` is sent (not after an expired continue token).
        paginate: bool,
    },
    /// Streaming a list: a watch whose initial events end at a bookmark annotated
    /// `k8s.io/initial-events-end`; the events before it are gathered, then sent as one SET.
    Streaming {
        /// `resourceVersion` of the request ("": a consistent read of the newest state).
        resource_version: String,
        /// `timeoutSeconds` of the request, jittered.
        timeout: Duration,
    },
    /// Watching from `resource_version`, asking the server to end the watch after `timeout`.
    Watching {
        /// Where the watch (re)starts.
        resource_version: String,
        /// `timeoutSeconds` of the request, jittered.
        timeout: Duration,
    },
    /// Auditing: listing in pages (as [`State::Listing`]) to compare with what was sent; the
    /// watch had reached `watched` and resumes from the audit's version.
    Auditing {
        /// Token of the next page.
        continue_token: Option<String>,
        /// The audit list's version, from its first page.
        resource_version: Option<String>,
        /// Where the watch had got to.
        watched: String,
    },
    /// Backing off until `until`, then `next`.
    Waiting {
        /// When to go on.
        until: Instant,
        /// Where to go then.
        next: Box<State>,
    },
    /// Done: the source stopped or its channel closed.
    Ended,
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// GET one list page.
    ListPage {
        /// `limit`, when paginating.
        limit: Option<u32>,
        /// `continue`, after the first page.
        continue_token: Option<String>,
    },
    /// GET one page of an audit's list.
    AuditPage {
        /// `limit`, when paginating.
        limit: Option<u32>,
        /// `continue`, after the first page.
        continue_token: Option<String>,
    },
    /// GET a streaming list: a watch with `sendInitialEvents=true`.
    WatchList {
        /// `resourceVersion` (matched `NotOlderThan`).
        resource_version: String,
        /// `timeoutSeconds`.
        timeout: Duration,
    },
    /// GET a watch from `resource_version` (empty: from "any").
    Watch {
        /// `resourceVersion`.
        resource_version: String,
        /// `timeoutSeconds`.
        timeout: Duration,
    },
    /// Wait (interruptibly) until then.
    Wait {
        /// When to go on.
        until: Instant,
    },
    /// Leave the loop.
    Stop,
}

/// What came of the last action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A list page was read and parsed into the sink.
    Page {
        /// Its `metadata.resourceVersion`.
        resource_version: Option<String>,
        /// Its `metadata.continue`.
        continue_token: Option<String>,
    },
    /// A watch ended cleanly (the server closed it) after `events` events in `lasted`.
    Watched {
        /// Events applied, bookmarks included.
        events: usize,
        /// How long it stayed open.
        lasted: Duration,
    },
    /// The request, the read or the parse failed.
    Failed(WatchError),
    /// The wait is over.
    Waited,
}

/// What the driver does with the sink besides the next action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Nothing.
    None,
    /// Start gathering a list afresh (drop pages gathered so far).
    BeginList,
    /// The list is complete: send what was gathered as one SET. `relist`: not the first.
    CommitList {
        /// Whether a list was committed before.
        relist: bool,
    },
    /// The watch was resumed from its version, without a relist.
    WatchRestart,
    /// The server refused streaming lists: paginated lists from now on.
    WatchListRefused,
    /// Start an audit (the sink forgets any earlier one).
    BeginAudit,
    /// The audit's list is complete: compare it with what was sent (the watch had reached
    /// `watched`) and heal with a SET when it differs.
    FinishAudit {
        /// Where the watch had got to.
        watched: String,
    },
}

/// One resource's loop (see the module docs).
#[derive(Debug)]
pub struct Watcher {
    options: Options,
    state: State,
    backoff: Backoff,
    listed: bool,
    next_resync: Option<Instant>,
    next_audit: Option<Instant>,
    /// The server refused a streaming list (with [`WatchList::Auto`]): paginate from now on.
    streaming_refused: bool,
}

impl Watcher {
    /// A loop that starts by listing.
    pub fn new(options: Options) -> Self {
        let backoff = Backoff::new(options.backoff_initial, options.backoff_max);
        let mut watcher = Self {
            options,
            state: State::Ended,
            backoff,
            listed: false,
            next_resync: None,
            next_audit: None,
            streaming_refused: false,
        };
        watcher.state = watcher.fresh_list();
        watcher
    }

    /// Whether lists are streamed now.
    pub fn streams(&self) -> bool {
        match self.options.watch_list {
            WatchList::Always => true,
            WatchList::Auto => !self.streaming_refused,
            WatchList::Never => false,
        }
    }

    /// A list from scratch: streamed or paginated.
    fn fresh_list(&self) -> State {
        if self.streams() {
            // The stream goes on as the watch: end it in time for the first resync or audit.
            let periods = [self.options.resync_period, self.options.audit_period];
            let timeout = periods
                .into_iter()
                .flatten()
                .fold(self.jittered(0.0), Duration::min);
            State::Streaming {
                resource_version: String::new(),
                timeout,
            }
        } else {
            State::Listing {
                continue_token: None,
                resource_version: None,
                paginate: self.options.page_size > 0,
            }
        }
    }

    /// The streamed list reached its end bookmark at `version`: the driver sends the gathered
    /// events as one SET (the returned effect) and the same stream goes on as a watch.
    pub fn initial_events_ended(&mut self, version: String, now: Instant, unit: f64) -> Effect {
        if !matches!(self.state, State::Streaming { .. }) {
            return Effect::None;
        }
        let relist = self.listed;
        self.listed = true;
        self.backoff.reset();
        self.listed_at(now);
        self.state = self.watching(version, now, unit);
        Effect::CommitList { relist }
    }

    /// Where the loop is.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Whether a complete list was committed.
    pub fn listed(&self) -> bool {
        self.listed
    }

    /// The version the next watch starts from (None while a list is needed).
    pub fn resource_version(&self) -> Option<&str> {
        match &self.state {
            State::Watching {
                resource_version, ..
            } => Some(resource_version),
            State::Auditing { watched, .. } => Some(watched),
            State::Waiting { next, .. } => match next.as_ref() {
                State::Watching {
                    resource_version, ..
                } => Some(resource_version),
                _ => None,
            },
            _ => None,
        }
    }

    /// What to do now.
    pub fn action(&self) -> Action {
        match &self.state {
            State::Listing {
                continue_token,
                paginate,
                ..
            } => Action::ListPage {
                limit: (*paginate && self.options.page_size > 0).then_some(self.options.page_size),
                continue_token: continue_token.clone(),
            },
            State::Watching {
                resource_version,
                timeout,
            } => Action::Watch {
                resource_version: resource_version.clone(),
                timeout: *timeout,
            },
            State::Auditing { continue_token, .. } => Action::AuditPage {
                limit: (self.options.page_size > 0).then_some(self.options.page_size),
                continue_token: continue_token.clone(),
            },
            State::Streaming {
                resource_version,
                timeout,
            } => Action::WatchList {
                resource_version: resource_version.clone(),
                timeout: *timeout,
            },
            State::Waiting { until, .. } => Action::Wait { until: *until },
            State::Ended => Action::Stop,
        }
    }

    /// A watch event or bookmark moved the resume version: progress, so the backoff resets.
    pub fn progressed(&mut self, version: String) {
        if let State::Watching {
            resource_version, ..
        } = &mut self.state
        {
            *resource_version = version;
        }
        self.backoff.reset();
    }

    /// Take the outcome of the last action; `unit` is a random draw from [0, 1) for jitter.
    pub fn step(&mut self, outcome: Outcome, now: Instant, unit: f64) -> Effect {
        let state = std::mem::replace(&mut self.state, State::Ended);
        let (next, effect) = self.next_state(state, outcome, now, unit);
        self.state = next;
        effect
    }

    fn next_state(
        &mut self,
        state: State,
        outcome: Outcome,
        now: Instant,
        unit: f64,
    ) -> (State, Effect) {
        if let Outcome::Failed(WatchError::Closed | WatchError::Stopped) = outcome {
            return (State::Ended, Effect::None);
        }
        match (state, outcome) {
            (State::Waiting { next, .. }, Outcome::Waited) => {
                let effect = match *next {
                    State::Listing { .. } | State::Streaming { .. } => Effect::BeginList,
                    State::Auditing { .. } => Effect::BeginAudit,
                    _ => Effect::None,
                };
                (*next, effect)
            }
            (
                State::Listing {
                    resource_version,
                    paginate,
                    ..
                },
                Outcome::Page {
                    resource_version: page_version,
                    continue_token,
                },
            ) => self.after_page(
                resource_version.or(page_version),
                continue_token,
                paginate,
                now,
                unit,
            ),
            (State::Listing { continue_token, .. }, Outcome::Failed(error)) => {
                self.after_list_failure(continue_token.is_some(), &error, now, unit)
            }
            (State::Streaming { .. }, Outcome::Failed(error)) => {
                self.after_stream_failure(&error, now, unit)
            }
            (
                State::Auditing {
                    resource_version,
                    watched,
                    ..
                },
                Outcome::Page {
                    resource_version: page_version,
                    continue_token,
                },
            ) => self.after_audit_page(
                resource_version.or(page_version),
                continue_token,
                watched,
                now,
                unit,
            ),
            // A failed audit is skipped until the next period; the watch resumes where it was.
            (State::Auditing { watched, .. }, Outcome::Failed(_)) => {
                self.next_audit = self.options.audit_period.map(|p| now + p);
                let next = self.watching(watched, now, unit);
                (self.wait(next, now, unit), Effect::None)
            }
            // The stream ended before its end bookmark: try again, from scratch.
            (State::Streaming { .. }, Outcome::Watched { events, lasted }) => {
                let next = self.fresh_list();
                if events == 0 && lasted < SHORT_WATCH {
                    (self.wait(next, now, unit), Effect::None)
                } else {
                    (next, Effect::BeginList)
                }
            }
            (
                State::Watching {
                    resource_version, ..
                },
                outcome @ (Outcome::Watched { .. } | Outcome::Failed(_)),
            ) => self.after_watch(resource_version, outcome, now, unit),
            // Ended stays ended; an outcome that does not belong to the state (a driver bug)
            // changes nothing.
            (state, _) => (state, Effect::None),
        }
    }

    /// A complete list was sent at `now`: the next resync and audit are counted from it.
    fn listed_at(&mut self, now: Instant) {
        self.next_resync = self.options.resync_period.map(|p| now + p);
        self.next_audit = self.options.audit_period.map(|p| now + p);
    }

    /// An audit page arrived: the next page, or the audit is complete and the watch resumes
    /// from the audit list's version.
    fn after_audit_page(
        &mut self,
        version: Option<String>,
        continue_token: Option<String>,
        watched: String,
        now: Instant,
        unit: f64,
    ) -> (State, Effect) {
        if let Some(token) = continue_token.filter(|t| !t.is_empty()) {
            let next = State::Auditing {
                continue_token: Some(token),
                resource_version: version,
                watched,
            };
            return (next, Effect::None);
        }
        self.next_audit = self.options.audit_period.map(|p| now + p);
        self.backoff.reset();
        let from = version.unwrap_or_else(|| watched.clone());
        (
            self.watching(from, now, unit),
            Effect::FinishAudit { watched },
        )
    }

    /// A list page arrived: the next page, or the list is complete.
    fn after_page(
        &mut self,
        version: Option<String>,
        continue_token: Option<String>,
        paginate: bool,
        now: Instant,
        unit: f64,
    ) -> (State, Effect) {
        if let Some(token) = continue_token.filter(|t| !t.is_empty()) {
            let next = State::Listing {
                continue_token: Some(token),
                resource_version: version,
                paginate,
            };
            return (next, Effect::None);
        }
        let relist = self.listed;
        self.listed = true;
        self.backoff.reset();
        self.listed_at(now);
        let next = self.watching(version.unwrap_or_default(), now, unit);
        (next, Effect::CommitList { relist })
    }

    fn after_list_failure(
        &mut self,
        had_token: bool,
        error: &WatchError,
        now: Instant,
        unit: f64,
    ) -> (State, Effect) {
        if had_token && error.is_gone() {
            // The snapshot behind the token was compacted: start over in one page, so a
            // cluster that compacts quickly cannot starve a paginated list.
            let next = State::Listing {
                continue_token: None,
                resource_version: None,
                paginate: false,
            };
            return (next, Effect::BeginList);
        }
        let next = self.fresh_list();
        (self.wait(next, now, unit), Effect::None)
    }

    fn after_stream_failure(
        &mut self,
        error: &WatchError,
        now: Instant,
        unit: f64,
    ) -> (State, Effect) {
        if error.is_refusal() && self.options.watch_list == WatchList::Auto {
            // As client-go: a server that refuses streaming lists gets paginated ones.
            self.streaming_refused = true;
            return (self.fresh_list(), Effect::WatchListRefused);
        }
        if error.is_gone() {
            return (self.fresh_list(), Effect::BeginList);
        }
        let next = self.fresh_list();
        (self.wait(next, now, unit), Effect::None)
    }

    /// A watch ended cleanly or failed: resume it (at once, or after a backoff), or relist.
    fn after_watch(
        &mut self,
        version: String,
        outcome: Outcome,
        now: Instant,
        unit: f64,
    ) -> (State, Effect) {
        let audit_due = self.next_audit.is_some_and(|at| now >= at);
        let backoff = match outcome {
            Outcome::Failed(error) if error.is_gone() => {
                return (self.fresh_list(), Effect::BeginList);
            }
            Outcome::Watched { .. } if self.next_resync.is_some_and(|at| now >= at) => {
                return (self.fresh_list(), Effect::BeginList);
            }
            Outcome::Watched { events, lasted } => events == 0 && lasted < SHORT_WATCH,
            _ => true,
        };
        let next = if audit_due {
            // Due: audit before resuming (a watch that keeps failing must not put it off).
            State::Auditing {
                continue_token: None,
                resource_version: None,
                watched: version,
            }
        } else {
            self.watching(version, now, unit)
        };
        match (backoff, audit_due) {
            (true, _) => (self.wait(next, now, unit), Effect::WatchRestart),
            (false, true) => (next, Effect::BeginAudit),
            (false, false) => (next, Effect::WatchRestart),
        }
    }

    /// The watch timeout with up to 25% jitter.
    fn jittered(&self, unit: f64) -> Duration {
        self.options
            .watch_timeout
            .mul_f64(1.0 + 0.25 * unit.clamp(0.0, 1.0))
    }

    fn watching(&self, resource_version: String, now: Instant, unit: f64) -> State {
        let mut timeout = self.jittered(unit);
        for at in [self.next_resync, self.next_audit].into_iter().flatten() {
            timeout = timeout.min(at.saturating_duration_since(now));
        }
        State::Watching {
            resource_version,
            timeout,
        }
    }

    fn wait(&mut self, next: State, now: Instant, unit: f64) -> State {
        let until = now + self.backoff.next_delay(unit);
        State::Waiting {
            until,
            next: Box::new(next),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options {
            watch_list: WatchList::Never,
            audit_period: None,
            page_size: 2,
            watch_timeout: Duration::from_secs(300),
            resync_period: None,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(8),
        }
    }

    fn page(rv: &str, token: Option<&str>) -> Outcome {
        Outcome::Page {
            resource_version: Some(rv.into()),
            continue_token: token.map(Into::into),
        }
    }

    fn status(code: u16) -> Outcome {
        Outcome::Failed(WatchError::Status {
            code,
            reason: String::new(),
            message: String::new(),
        })
    }

    fn watched(events: usize, lasted: Duration) -> Outcome {
        Outcome::Watched { events, lasted }
    }

    /// A watcher that has listed (version "1") and is watching, and the clock's start.
    fn watching() -> (Instant, Watcher) {
        let t0 = Instant::now();
        let mut w = Watcher::new(options());
        w.step(page("1", None), t0, 0.0);
        (t0, w)
    }

    /// A watcher that has read a first page with a continue token ("c").
    fn mid_list() -> (Instant, Watcher) {
        let t0 = Instant::now();
        let mut w = Watcher::new(options());
        w.step(page("1", Some("c")), t0, 0.0);
        (t0, w)
    }

    fn list_page(limit: Option<u32>, token: Option<&str>) -> Action {
        Action::ListPage {
            limit,
            continue_token: token.map(Into::into),
        }
    }

    fn watch_action(w: &Watcher) -> (String, Duration) {
        match w.action() {
            Action::Watch {
                resource_version,
                timeout,
            } => (resource_version, timeout),
            other => panic!("expected a watch, got {other:?}"),
        }
    }

    #[test]
    fn lists_pages_then_watches_from_the_first_pages_version() {
        let t0 = Instant::now();
        let mut w = Watcher::new(options());
        assert_eq!(w.action(), list_page(Some(2), None));
        assert_eq!(w.step(page("10", Some("c1")), t0, 0.0), Effect::None);
        assert_eq!(w.action(), list_page(Some(2), Some("c1")));
        // Later pages carry the same version; the first page's is the list's.
        let effect = w.step(page("12", None), t0, 0.0);
        assert_eq!(effect, Effect::CommitList { relist: false });
        assert!(w.listed());
        assert_eq!(watch_action(&w), ("10".into(), Duration::from_secs(300)));
    }

    #[test]
    fn watch_timeout_is_jittered_up_to_a_quarter() {
        let t0 = Instant::now();
        let mut w = Watcher::new(options());
        w.step(page("1", None), t0, 1.0);
        assert_eq!(watch_action(&w).1, Duration::from_secs(375));
    }

    #[test]
    fn events_move_the_resume_version_and_a_clean_end_resumes_at_once() {
        let (t0, mut w) = watching();
        w.progressed("7".into());
        assert_eq!(w.resource_version(), Some("7"));
        let effect = w.step(watched(3, Duration::from_secs(300)), t0, 0.0);
        assert_eq!(effect, Effect::WatchRestart);
        assert_eq!(watch_action(&w).0, "7");
    }

    #[test]
    fn a_short_empty_watch_backs_off_before_resuming() {
        let (t0, mut w) = watching();
        let ended = watched(0, Duration::from_millis(10));
        assert_eq!(w.step(ended, t0, 1.0), Effect::WatchRestart);
        assert_eq!(
            w.action(),
            Action::Wait {
                until: t0 + Duration::from_secs(1)
            }
        );
        assert_eq!(w.resource_version(), Some("1"));
        assert_eq!(w.step(Outcome::Waited, t0, 0.0), Effect::None);
        assert_eq!(watch_action(&w).0, "1");
    }

    #[test]
    fn errors_back_off_doubling_and_progress_resets() {
        let (t0, mut w) = watching();
        let mut delays = Vec::new();
        for _ in 0..5 {
            w.step(status(500), t0, 1.0);
            let Action::Wait { until } = w.action() else {
                panic!("expected a wait")
            };
            delays.push((until - t0).as_secs());
            w.step(Outcome::Waited, t0, 0.0);
        }
        assert_eq!(delays, [1, 2, 4, 8, 8]);
        w.progressed("2".into());
        w.step(Outcome::Failed(WatchError::Stalled), t0, 1.0);
        assert_eq!(
            w.action(),
            Action::Wait {
                until: t0 + Duration::from_secs(1)
            }
        );
    }

    #[test]
    fn gone_during_a_watch_relists_at_once() {
        let (t0, mut w) = watching();
        assert_eq!(w.step(status(410), t0, 0.0), Effect::BeginList);
        assert_eq!(w.action(), list_page(Some(2), None));
        assert_eq!(
            w.step(page("9", None), t0, 0.0),
            Effect::CommitList { relist: true }
        );
    }

    #[test]
    fn an_expired_continue_token_lists_again_in_one_page() {
        let (t0, mut w) = mid_list();
        assert_eq!(w.step(status(410), t0, 0.0), Effect::BeginList);
        assert_eq!(w.action(), list_page(None, None));
        // A later failure of that list goes back to pages, after a backoff.
        w.step(status(500), t0, 0.0);
        assert_eq!(w.step(Outcome::Waited, t0, 0.0), Effect::BeginList);
        assert_eq!(w.action(), list_page(Some(2), None));
    }

    #[test]
    fn a_failed_list_starts_over_after_a_backoff() {
        let (t0, mut w) = mid_list();
        assert_eq!(w.step(status(503), t0, 0.0), Effect::None);
        assert!(matches!(w.action(), Action::Wait { .. }));
        assert_eq!(w.step(Outcome::Waited, t0, 0.0), Effect::BeginList);
        assert!(!w.listed());
        assert_eq!(w.action(), list_page(Some(2), None));
    }

    #[test]
    fn resync_bounds_the_watch_and_relists_when_due() {
        let t0 = Instant::now();
        let mut w = Watcher::new(Options {
            resync_period: Some(Duration::from_secs(30)),
            ..options()
        });
        w.step(page("1", None), t0, 0.0);
        assert_eq!(watch_action(&w).1, Duration::from_secs(30));
        let early = watched(1, Duration::from_secs(10));
        w.step(early, t0 + Duration::from_secs(10), 0.0);
        assert_eq!(watch_action(&w).1, Duration::from_secs(20));
        let due = watched(1, Duration::from_secs(20));
        assert_eq!(
            w.step(due, t0 + Duration::from_secs(30), 0.0),
            Effect::BeginList
        );
        assert_eq!(
            w.step(page("1", None), t0, 0.0),
            Effect::CommitList { relist: true }
        );
    }

    #[test]
    fn closed_and_stopped_end_the_loop_from_any_state() {
        let t0 = Instant::now();
        let mut w = Watcher::new(options());
        w.step(Outcome::Failed(WatchError::Closed), t0, 0.0);
        assert_eq!(w.action(), Action::Stop);
        let (_, mut w) = watching();
        w.step(status(500), t0, 0.0);
        w.step(Outcome::Failed(WatchError::Stopped), t0, 0.0);
        assert_eq!(*w.state(), State::Ended);
    }

    #[test]
    fn unpaginated_lists_send_no_limit() {
        let w = Watcher::new(Options {
            page_size: 0,
            ..options()
        });
        assert_eq!(w.action(), list_page(None, None));
    }

    fn streaming(mode: WatchList) -> Watcher {
        Watcher::new(Options {
            watch_list: mode,
            ..options()
        })
    }

    fn stream_action(w: &Watcher) -> String {
        match w.action() {
            Action::WatchList {
                resource_version, ..
            } => resource_version,
            other => panic!("expected a streaming list, got {other:?}"),
        }
    }

    #[test]
    fn a_streamed_list_commits_at_its_end_bookmark_and_goes_on_watching() {
        let t0 = Instant::now();
        let mut w = streaming(WatchList::Auto);
        assert_eq!(stream_action(&w), "");
        let effect = w.initial_events_ended("42".into(), t0, 0.0);
        assert_eq!(effect, Effect::CommitList { relist: false });
        assert!(w.listed());
        assert_eq!(w.resource_version(), Some("42"));
        // The stream then ends like any watch, and the watch resumes from the newest version.
        w.progressed("43".into());
        w.step(watched(5, Duration::from_secs(300)), t0, 0.0);
        assert_eq!(watch_action(&w).0, "43");
        // A relist streams again.
        assert_eq!(w.step(status(410), t0, 0.0), Effect::BeginList);
        assert_eq!(stream_action(&w), "");
        assert_eq!(
            w.initial_events_ended("50".into(), t0, 0.0),
            Effect::CommitList { relist: true }
        );
    }

    #[test]
    fn a_refused_streaming_list_falls_back_to_pages_for_good() {
        let t0 = Instant::now();
        let mut w = streaming(WatchList::Auto);
        assert_eq!(w.step(status(422), t0, 0.0), Effect::WatchListRefused);
        assert!(!w.streams());
        assert_eq!(w.action(), list_page(Some(2), None));
        w.step(page("7", None), t0, 0.0);
        assert_eq!(w.step(status(410), t0, 0.0), Effect::BeginList);
        assert_eq!(w.action(), list_page(Some(2), None));
    }

    #[test]
    fn a_required_streaming_list_retries_a_refusal() {
        let t0 = Instant::now();
        let mut w = streaming(WatchList::Always);
        assert_eq!(w.step(status(422), t0, 0.0), Effect::None);
        assert!(matches!(w.action(), Action::Wait { .. }));
        assert_eq!(w.step(Outcome::Waited, t0, 0.0), Effect::BeginList);
        assert_eq!(stream_action(&w), "");
    }

    #[test]
    fn a_stream_that_ends_before_its_bookmark_starts_over() {
        let t0 = Instant::now();
        let mut w = streaming(WatchList::Auto);
        let cut = watched(300, Duration::from_secs(5));
        assert_eq!(w.step(cut, t0, 0.0), Effect::BeginList);
        assert_eq!(stream_action(&w), "");
        assert!(!w.listed());
        // Transient failures back off and stream again; they do not fall back.
        w.step(status(503), t0, 0.0);
        w.step(Outcome::Failed(WatchError::Stalled), t0, 0.0);
        assert!(w.streams());
    }

    #[test]
    fn auth_and_throttling_are_not_refusals() {
        for code in [401, 403, 408, 410, 429, 500] {
            let mut w = streaming(WatchList::Auto);
            assert_ne!(
                w.step(status(code), Instant::now(), 0.0),
                Effect::WatchListRefused
            );
            assert!(w.streams(), "{code}");
        }
    }

    #[test]
    fn an_audit_lists_in_pages_when_due_and_resumes_from_its_version() {
        let t0 = Instant::now();
        let mut w = Watcher::new(Options {
            audit_period: Some(Duration::from_secs(60)),
            ..options()
        });
        w.step(page("1", None), t0, 0.0);
        assert_eq!(watch_action(&w).1, Duration::from_secs(60));
        w.progressed("5".into());
        let later = t0 + Duration::from_secs(60);
        assert_eq!(
            w.step(watched(3, Duration::from_secs(60)), later, 0.0),
            Effect::BeginAudit
        );
        let first = Action::AuditPage {
            limit: Some(2),
            continue_token: None,
        };
        assert_eq!(w.action(), first);
        assert_eq!(w.resource_version(), Some("5"));
        assert_eq!(w.step(page("8", Some("c")), later, 0.0), Effect::None);
        assert_eq!(
            w.step(page("8", None), later, 0.0),
            Effect::FinishAudit {
                watched: "5".into()
            }
        );
        // The watch resumes from the audit's list, and the next audit is a period away.
        assert_eq!(watch_action(&w), ("8".into(), Duration::from_secs(60)));
    }

    #[test]
    fn a_failed_audit_is_skipped_and_the_watch_resumes_where_it_was() {
        let t0 = Instant::now();
        let mut w = Watcher::new(Options {
            audit_period: Some(Duration::from_secs(60)),
            ..options()
        });
        w.step(page("1", None), t0, 0.0);
        let later = t0 + Duration::from_secs(60);
        w.step(watched(0, Duration::from_secs(60)), later, 0.0);
        assert_eq!(w.step(status(500), later, 0.0), Effect::None);
        assert_eq!(w.step(Outcome::Waited, later, 0.0), Effect::None);
        assert_eq!(watch_action(&w), ("1".into(), Duration::from_secs(60)));
    }

    #[test]
    fn a_watch_that_keeps_failing_does_not_put_off_a_due_audit() {
        let t0 = Instant::now();
        let mut w = Watcher::new(Options {
            audit_period: Some(Duration::from_secs(60)),
            ..options()
        });
        w.step(page("1", None), t0, 0.0);
        let later = t0 + Duration::from_secs(61);
        assert_eq!(w.step(status(500), later, 0.0), Effect::WatchRestart);
        assert!(matches!(w.action(), Action::Wait { .. }));
        assert_eq!(w.step(Outcome::Waited, later, 0.0), Effect::BeginAudit);
        assert!(matches!(w.action(), Action::AuditPage { .. }));
    }
}
