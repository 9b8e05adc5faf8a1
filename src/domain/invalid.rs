//! The one error type of the domain: input that breaks a rule, with a stable machine-readable code.

/// Input that breaks a domain rule. `code` is stable (clients match on it), `field` names the offending
/// field as a JSON path, `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidInput {
    /// Stable snake_case code, such as `invalid_email` or `invalid_timezone`.
    pub code: &'static str,
    /// The field at fault, as a dotted path (`preferences.quiet_hours.start`).
    pub field: String,
    /// A sentence saying what is wrong and what is expected.
    pub message: String,
}

impl InvalidInput {
    /// Builds an error for `field` with the given code and message.
    pub fn new(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            field: field.into(),
            message: message.into(),
        }
    }
}
