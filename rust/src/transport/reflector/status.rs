//! Errors from what the server or the sink answered: a `Status` body or ERROR event, or a
//! batch the sink refused.

use serde_json::Value;

use crate::engine::error::CoreError;
use crate::engine::watcher::WatchError;

/// What a sink's refusal means for the loop: closed ends it, anything else is the server's fault.
pub(super) fn sink_error(error: &CoreError) -> WatchError {
    match error {
        CoreError::Closed(_) => WatchError::Closed,
        other @ CoreError::InvalidObject { .. } => WatchError::Protocol(other.to_string()),
    }
}

/// A non-2xx answer: its `Status` body when it has one.
pub(super) fn status_error(code: u16, reason: &str, body: &[u8]) -> WatchError {
    match serde_json::from_slice::<Value>(body) {
        Ok(status @ Value::Object(_)) => {
            let mut error = WatchError::from_status(&status);
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

#[cfg(test)]
mod tests {
    use super::*;

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
            WatchError::from_status(&event).to_string(),
            "500 Unknown: etcd down"
        );
    }
}
