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

fn invalid_message(key: Option<&str>, path: &str, reason: &str) -> String {
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
}
