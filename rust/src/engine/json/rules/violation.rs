//! A broken API-server rule: the reason, and where it is relative to the value the rule was given.

use crate::engine::error::CoreError;

/// What a rule found wrong, and where below the value it was given. Built only on failure, and
/// one pointer wide, so that the readers' `Result`s stay as small as the values they carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation(Box<Found>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    /// Why, phrased as what was expected.
    reason: String,
    /// Where: the steps from the value the rule was given down to the bad one, innermost first
    /// (they are added on the way out).
    steps: Vec<Step>,
}

/// One step of a relative path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A field of an object.
    Field(&'static str),
    /// An element of a list.
    Index(usize),
}

impl Violation {
    /// The value itself is wrong.
    pub(crate) fn here(reason: impl Into<String>) -> Self {
        Self(Box::new(Found {
            reason: reason.into(),
            steps: Vec::new(),
        }))
    }

    /// This violation, found in field `name` of a value.
    #[must_use]
    pub(crate) fn in_field(mut self, name: &'static str) -> Self {
        self.0.steps.push(Step::Field(name));
        self
    }

    /// This violation, found in element `i` of a list.
    #[must_use]
    pub(crate) fn in_index(mut self, i: usize) -> Self {
        self.0.steps.push(Step::Index(i));
        self
    }

    /// The JSON path of the bad value when the rule was given the value at `base` (rendered, e.g.
    /// `spec.ports[1]`; empty for the object itself): fields joined by `.`, elements as `[i]`.
    pub(crate) fn path_from(&self, base: String) -> String {
        let mut out = base;
        for step in self.0.steps.iter().rev() {
            match step {
                Step::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Step::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }

    /// An invalid-object error (no key yet) for a rule given the value at `base`.
    pub(crate) fn into_error(self, base: String) -> CoreError {
        let path = self.path_from(base);
        CoreError::invalid(path, self.0.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_like_json_paths() {
        let v = Violation::here("bad")
            .in_field("name")
            .in_index(1)
            .in_field("ports");
        assert_eq!(v.path_from("spec".into()), "spec.ports[1].name");
        assert_eq!(v.path_from(String::new()), "ports[1].name");
        assert_eq!(
            v.into_error("spec".into()),
            CoreError::invalid("spec.ports[1].name", "bad")
        );
        let v = Violation::here("bad").in_index(0);
        assert_eq!(v.path_from(String::new()), "[0]");
        assert_eq!(Violation::here("x").path_from("spec".into()), "spec");
        assert_eq!(std::mem::size_of::<Result<(), Violation>>(), 8);
    }
}
