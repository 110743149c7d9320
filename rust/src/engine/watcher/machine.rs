//! The list/watch loop of one resource as an explicit state machine, free of I/O.
//!
//! The driver asks [`Watcher::action`] what to do, does it, and reports the [`Outcome`] to
//! [`Watcher::step`], which moves to the next [`State`] and says what to do with the pages
//! gathered ([`Effect`]). Time and randomness come in as arguments, so every path is tested on
//! a manual clock, without sleeping.

use std::time::{Duration, Instant};

use super::backoff::Backoff;
use super::error::WatchError;

mod exchange;
mod options;
mod state;

pub use exchange::{Action, Effect, Outcome};
pub use options::{Options, WatchList};
pub use state::State;

/// A watch that ends sooner than this with no event is retried after a backoff: a server that
/// closes watches at once must not make a busy loop.
pub const SHORT_WATCH: Duration = Duration::from_secs(1);

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
        if error.is_too_large() {
            // An initial event over the event limit: list this once in pages, whose limit is
            // larger, so one big object cannot keep the loop from ever listing. Also when
            // streaming was asked for (`Always`): streaming again would meet the same object
            // every time, and the source would never sync again.
            let next = State::Listing {
                continue_token: None,
                resource_version: None,
                paginate: self.options.page_size > 0,
            };
            return (self.wait(next, now, unit), Effect::None);
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
            // The stream cannot be resumed past a line that was not read: relist, after a
            // backoff (a server that keeps sending such lines must not make a relist loop).
            Outcome::Failed(error) if error.is_too_large() => {
                let next = self.fresh_list();
                return (self.wait(next, now, unit), Effect::None);
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
mod tests;
