//! The one error type of the engine; the Python boundary maps each variant to an exception.

use thiserror::Error;

/// Every error the engine reports. None of them is retryable by the engine itself: invalid input
/// stays invalid, and a closed config stays closed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CoreError {
    /// An object (or a batch holding it) failed to parse or validate. Nothing of the batch was applied.
    #[error("{}", invalid_message(.key.as_deref(), .path, .reason))]
    InvalidObject {
        /// `namespace/name` of the object when it could be read, else `None`.
        key: Option<String>,
        /// JSON path of the bad field, e.g. `spec.ports[1].port`; empty for the whole object.
        path: String,
        /// What was wrong and what was expected.
        reason: String,
    },
    /// The config or channel was closed; nothing more can be sent to it.
    #[error("{0} is closed")]
    Closed(String),
}

/// Longest piece of input echoed in a message: bad input can be huge, and messages get logged.
const MAX_ECHO: usize = 320;

/// `text`, cut to about [`MAX_ECHO`] bytes (on a character boundary) with a note of its size.
fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_ECHO {
        return text.into();
    }
    let mut end = MAX_ECHO;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len()).into()
}

fn invalid_message(key: Option<&str>, path: &str, reason: &str) -> String {
    let (key, path, reason) = (key.map(clip), clip(path), clip(reason));
    let key = key.map(|k| format!(" {k:?}")).unwrap_or_default();
    let at = if path.is_empty() {
        String::new()
    } else {
        format!(" at {path}")
    };
    format!("invalid object{key}{at}: {reason}")
}

impl CoreError {
    /// An [`CoreError::InvalidObject`] without a key (filled in later when the name is known).
    pub fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidObject {
            key: None,
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Attach the object key to an [`CoreError::InvalidObject`] that has none yet.
    #[must_use]
    pub fn with_key(self, new_key: Option<&str>) -> Self {
        match self {
            Self::InvalidObject {
                key: None,
                path,
                reason,
            } => Self::InvalidObject {
                key: new_key.map(str::to_owned),
                path,
                reason,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_key_and_path() {
        let err = CoreError::invalid("spec.ports[1].port", "expected 1-65535, got 0")
            .with_key(Some("default/web"));
        assert_eq!(
            err.to_string(),
            "invalid object \"default/web\" at spec.ports[1].port: expected 1-65535, got 0"
        );
    }

    #[test]
    fn huge_input_is_not_echoed_whole() {
        let big = "x".repeat(1_000_000);
        let err = CoreError::invalid("metadata.name", format!("{big:?} is not a DNS name"))
            .with_key(Some(&format!("default/{big}")));
        let message = err.to_string();
        assert!(message.len() < 1_000, "{} bytes", message.len());
        assert!(message.contains("bytes in all"));
    }
}
