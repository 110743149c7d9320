//! What can go wrong while listing or watching, and what each failure means for the loop.

use std::fmt;

/// A failed list or watch request, classified for the state machine and the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchError {
    /// The server answered with a non-2xx code, or a watch carried an `ERROR` event.
    Status {
        /// The HTTP code (or the `Status.code` of an ERROR event; 0 when absent).
        code: u16,
        /// `Status.reason` (`Expired`, `Gone`, `Unauthorized`, …), or the HTTP reason phrase.
        reason: String,
        /// `Status.message`, possibly empty.
        message: String,
    },
    /// No byte arrived within the stall timeout.
    Stalled,
    /// The server's certificate is not trusted (or does not match its name).
    Untrusted(String),
    /// Connecting, the TLS handshake, or reading failed (refused, reset, closed mid-body).
    Network(String),
    /// The server sent something that is not the protocol (a bad line, a bad list).
    Protocol(String),
    /// The configuration cannot work (a bad certificate file); retrying does not help.
    Config(String),
    /// A watch event line or a list page is over its size limit: reading stopped one byte past
    /// it, so nothing larger was ever buffered. Retried like a bad answer; for a watch, by a
    /// relist (the stream cannot be resynchronised past a line that was not read).
    TooLarge {
        /// What the limit bounds.
        what: Bounded,
        /// The limit, in bytes.
        limit: u64,
        /// Bytes read when reading stopped (`limit + 1`), or the length the server announced.
        seen: u64,
        /// Whether `seen` is the announced `Content-Length` (nothing was read).
        announced: bool,
    },
    /// The channel or config was closed: the loop ends quietly.
    Closed,
    /// The source is stopping: the loop ends quietly.
    Stopped,
}

/// What a size limit bounds, and the setting that configures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bounded {
    /// One line of a watch stream (one event), `max_event_bytes`.
    EventLine,
    /// One list page's body, `max_page_bytes`.
    ListPage,
}

impl Bounded {
    /// The setting's name, as the Python API spells it.
    pub fn setting(self) -> &'static str {
        match self {
            Self::EventLine => "max_event_bytes",
            Self::ListPage => "max_page_bytes",
        }
    }
}

impl WatchError {
    /// A Kubernetes `Status` object (an ERROR watch event's, or an error response's body):
    /// its code, reason and message; absent fields read as 0 and "".
    pub fn from_status(status: &serde_json::Value) -> Self {
        let text = |field: &str| {
            status
                .get(field)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        Self::Status {
            code: status
                .get("code")
                .and_then(serde_json::Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(0),
            reason: text("reason"),
            message: text("message"),
        }
    }

    /// A line or page over its limit (see [`WatchError::TooLarge`]).
    pub fn is_too_large(&self) -> bool {
        matches!(self, Self::TooLarge { .. })
    }

    /// 410 Gone or "too old resource version": the version is lost, a relist is needed.
    pub fn is_gone(&self) -> bool {
        let Self::Status {
            code,
            reason,
            message,
        } = self
        else {
            return false;
        };
        *code == 410
            || matches!(reason.as_str(), "Expired" | "Gone")
            || message
                .to_ascii_lowercase()
                .contains("too old resource version")
    }

    /// 401: the credentials are refused; the token should be asked for again.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Status { code: 401, .. })
    }

    /// Failures that retrying fixes only once someone changes credentials, RBAC or
    /// certificates: logged as errors, once per streak.
    pub fn needs_operator(&self) -> bool {
        matches!(
            self,
            Self::Status {
                code: 401 | 403,
                ..
            } | Self::Untrusted(_)
                | Self::Config(_)
        )
    }

    /// A request the server refuses for what it is (4xx other than auth, timeout, gone and
    /// throttling): for a streaming list, the sign of a server without the feature.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::Status {
                code: 400..=499,
                ..
            }
        ) && !self.is_gone()
            && !matches!(
                self,
                Self::Status {
                    code: 401 | 403 | 408 | 429,
                    ..
                }
            )
    }

    /// Whether the loop retries after this (everything except the ends of the loop).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Closed | Self::Stopped)
    }
}

impl fmt::Display for WatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status {
                code,
                reason,
                message,
            } => {
                let reason = if reason.is_empty() { "Unknown" } else { reason };
                if message.is_empty() {
                    write!(f, "{code} {reason}")
                } else {
                    write!(f, "{code} {reason}: {message}")
                }
            }
            Self::Stalled => f.write_str("no data within the stall timeout"),
            // The OpenSSL name too, as operators grep for it.
            Self::Untrusted(why) => write!(
                f,
                "certificate verify failed (CERTIFICATE_VERIFY_FAILED): {why}"
            ),
            Self::Network(why) | Self::Protocol(why) | Self::Config(why) => f.write_str(why),
            Self::TooLarge {
                what,
                limit,
                seen,
                announced,
            } => {
                let thing = match what {
                    Bounded::EventLine => "a watch event line",
                    Bounded::ListPage => "a list page",
                };
                let setting = what.setting();
                if *announced {
                    write!(
                        f,
                        "{thing} is over the limit of {limit} bytes ({setting}): the server \
                         announced {seen} bytes; not read"
                    )
                } else {
                    write!(
                        f,
                        "{thing} is over the limit of {limit} bytes ({setting}): {seen} bytes \
                         read so far; reading stopped there"
                    )
                }
            }
            Self::Closed => f.write_str("the channel was closed"),
            Self::Stopped => f.write_str("the source is stopping"),
        }
    }
}

impl std::error::Error for WatchError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, reason: &str, message: &str) -> WatchError {
        WatchError::Status {
            code,
            reason: reason.into(),
            message: message.into(),
        }
    }

    #[test]
    fn gone_by_code_reason_or_message() {
        assert!(status(410, "", "").is_gone());
        assert!(status(0, "Expired", "").is_gone());
        assert!(status(500, "", "Too old resource version: 5 (9)").is_gone());
        assert!(!status(500, "InternalError", "boom").is_gone());
        assert!(!WatchError::Stalled.is_gone());
    }

    #[test]
    fn classification() {
        assert!(status(401, "Unauthorized", "").needs_operator());
        assert!(status(401, "Unauthorized", "").is_unauthorized());
        assert!(status(403, "Forbidden", "").needs_operator());
        assert!(WatchError::Untrusted("x".into()).needs_operator());
        assert!(!status(500, "", "").needs_operator());
        assert!(status(500, "", "").is_retryable());
        assert!(!WatchError::Closed.is_retryable() && !WatchError::Stopped.is_retryable());
        assert_eq!(status(500, "", "").to_string(), "500 Unknown");
        let big = WatchError::TooLarge {
            what: Bounded::EventLine,
            limit: 10,
            seen: 11,
            announced: false,
        };
        assert!(big.is_too_large() && big.is_retryable() && !big.is_gone());
        assert_eq!(
            big.to_string(),
            "a watch event line is over the limit of 10 bytes (max_event_bytes): 11 bytes read \
             so far; reading stopped there"
        );
        assert!(WatchError::Untrusted("UnknownIssuer".into())
            .to_string()
            .contains("CERTIFICATE_VERIFY_FAILED"));
    }
}
