//! Unit tests of the list/watch state machine, driven by hand with explicit instants.
use super::*;
use crate::engine::watcher::Bounded;

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

fn too_large(what: Bounded) -> Outcome {
    Outcome::Failed(WatchError::TooLarge {
        what,
        limit: 10,
        seen: 11,
        announced: false,
    })
}

#[test]
fn an_oversized_event_line_relists_after_a_backoff() {
    let (t0, mut w) = watching();
    let line = too_large(Bounded::EventLine);
    assert_eq!(w.step(line, t0, 0.0), Effect::None);
    assert!(matches!(w.action(), Action::Wait { .. }));
    // Not a resumed watch: the line that was not read would come again.
    assert_eq!(w.step(Outcome::Waited, t0, 0.0), Effect::BeginList);
    assert_eq!(w.action(), list_page(Some(2), None));
    assert_eq!(
        w.step(page("9", None), t0, 0.0),
        Effect::CommitList { relist: true }
    );
}

#[test]
fn an_oversized_list_page_is_a_failed_list() {
    let (t0, mut w) = mid_list();
    let big = too_large(Bounded::ListPage);
    assert_eq!(w.step(big, t0, 0.0), Effect::None);
    assert!(matches!(w.action(), Action::Wait { .. }));
    assert_eq!(w.step(Outcome::Waited, t0, 0.0), Effect::BeginList);
    assert!(!w.listed());
    assert_eq!(w.action(), list_page(Some(2), None));
}

#[test]
fn an_oversized_initial_event_lists_in_pages_once() {
    let t0 = Instant::now();
    let mut w = streaming(WatchList::Auto);
    let line = too_large(Bounded::EventLine);
    assert_eq!(w.step(line, t0, 0.0), Effect::None);
    assert_eq!(w.step(Outcome::Waited, t0, 0.0), Effect::BeginList);
    assert_eq!(w.action(), list_page(Some(2), None));
    // Not a fallback for good: the next relist streams again.
    assert!(w.streams());
    w.step(page("7", None), t0, 0.0);
    assert_eq!(w.step(status(410), t0, 0.0), Effect::BeginList);
    assert_eq!(stream_action(&w), "");
    // A required streaming list too: streaming again would meet the same object every time
    // and never sync (the soak found it), so this one list is paged, and the next streams.
    let mut w = streaming(WatchList::Always);
    let line = too_large(Bounded::EventLine);
    w.step(line, t0, 0.0);
    assert_eq!(w.step(Outcome::Waited, t0, 0.0), Effect::BeginList);
    assert_eq!(w.action(), list_page(Some(2), None));
    w.step(page("7", None), t0, 0.0);
    assert_eq!(w.step(status(410), t0, 0.0), Effect::BeginList);
    assert_eq!(stream_action(&w), "");
}
