//! Rules of object metadata: the default namespace and the name formats.

use super::values::format;
use super::violation::Violation;
use crate::engine::validate;

/// The namespace an object without one (absent or `""`) is in.
pub const DEFAULT_NAMESPACE: &str = "default";

/// `metadata.namespace` as the API server reads it: absent and `""` are `"default"`.
#[inline]
pub fn namespace_or_default(namespace: Option<&str>) -> &str {
    namespace
        .filter(|ns| !ns.is_empty())
        .unwrap_or(DEFAULT_NAMESPACE)
}

/// Which rule an object's name must follow.
#[derive(Clone, Copy)]
pub(crate) enum NameRule {
    /// An RFC 1123 subdomain (Endpoints, `EndpointSlice`).
    Dns1123Subdomain,
    /// An RFC 1035 label (Service).
    Dns1035Label,
}

/// `metadata.name` (non-empty) under `rule`.
#[allow(clippy::inline_always)] // measured: W2 parse, see `rules/mod.rs`
#[inline(always)]
pub(crate) fn name(name: &str, rule: NameRule) -> Result<(), Violation> {
    format(match rule {
        NameRule::Dns1123Subdomain => validate::dns1123_subdomain(name),
        NameRule::Dns1035Label => validate::dns1035_label(name),
    })
}

/// `metadata.namespace` (defaulted): an RFC 1123 label.
#[allow(clippy::inline_always)] // measured: W2 parse, see `rules/mod.rs`
#[inline(always)]
pub(crate) fn namespace(namespace: &str) -> Result<(), Violation> {
    format(validate::dns1123_label(namespace))
}
