//! What the loop does with the sink when the machine asks: commit a list (and say it is
//! synced), finish an audit and report its drift, count what was rejected.

use super::driver::Run;
use super::host::Level;
use super::shared::Counter;
use crate::engine::error::CoreError;
use crate::engine::watcher::Effect;

impl Run {
    /// Carry out what the machine asked of the sink; false when the loop must end.
    pub(super) fn apply(&mut self, effect: Effect, version: Option<&str>, streamed: bool) -> bool {
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
                let committed = self.sink.commit_list();
                let Some(count) = self.or_stop(committed) else {
                    return false;
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
        let finished = self.sink.finish_audit(watched);
        let Some(audited) = self.or_stop(finished) else {
            return false;
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

    /// The sink's answer, or None (logged) when it refused one: the loop then ends.
    fn or_stop<T>(&self, result: Result<T, CoreError>) -> Option<T> {
        result
            .map_err(|e| {
                let name = &self.settings.name;
                self.host
                    .log(Level::Debug, &format!("{name}: {e}; stopping"));
            })
            .ok()
    }

    pub(super) fn begin_list(&mut self) {
        self.sink.begin_list();
        self.pages = 0;
    }

    pub(super) fn report_rejected(&self, rejected: &[String]) {
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
}
