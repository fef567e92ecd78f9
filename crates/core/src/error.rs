//! The one error type shared by the core, every connector and the runner.
//!
//! Modelled on OpenDAL's error: a [`ErrorKind`] callers can branch on, a [`RetryStatus`] the
//! retry layer reads, an optional `Retry-After`, and context pairs (vendor, operation, request id)
//! that make a failure diagnosable without ever carrying a secret.

use std::fmt;
use std::time::Duration;

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The user, group, ticket or other object does not exist.
    NotFound,
    /// Credentials are missing, expired or wrong (HTTP 401).
    Unauthorized,
    /// Credentials are valid but lack the right (HTTP 403).
    Forbidden,
    /// The request itself is wrong: bad parameters, a malformed document, a refused input.
    Invalid,
    /// The request conflicts with the current state (HTTP 409, a concurrent change).
    Conflict,
    /// The vendor throttled us (HTTP 429 or a rate budget ran out).
    RateLimited,
    /// A passing failure: a timeout, a 5xx, a dropped connection.
    Transient,
    /// A failure that will not go away by retrying.
    Permanent,
    /// The connector or vendor does not offer this operation.
    Unsupported,
}

impl ErrorKind {
    /// A short stable name, used in audit records and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Conflict => "conflict",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Transient => "transient",
            ErrorKind::Permanent => "permanent",
            ErrorKind::Unsupported => "unsupported",
        }
    }

    /// Whether an error of this kind is worth retrying by default.
    pub fn is_retryable_by_default(self) -> bool {
        matches!(self, ErrorKind::RateLimited | ErrorKind::Transient)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether retrying could help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryStatus {
    /// Retrying will not help.
    Permanent,
    /// Retrying may help.
    Temporary,
    /// It was temporary, and retries have run out.
    Exhausted,
}

/// The error type of stackhand.
///
/// ```
/// use stackhand_core::{Error, ErrorKind};
/// use std::time::Duration;
///
/// let err = Error::new(ErrorKind::RateLimited, "throttled by Graph")
///     .with_retry_after(Duration::from_secs(3))
///     .with_context("vendor", "m365");
/// assert!(err.is_temporary());
/// assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
/// assert!(err.to_string().contains("vendor=m365"));
/// ```
pub struct Error {
    kind: ErrorKind,
    status: RetryStatus,
    message: String,
    retry_after: Option<Duration>,
    context: Vec<(&'static str, String)>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error; the retry status follows from the kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let status = if kind.is_retryable_by_default() {
            RetryStatus::Temporary
        } else {
            RetryStatus::Permanent
        };
        Self {
            kind,
            status,
            message: message.into(),
            retry_after: None,
            context: Vec::new(),
            source: None,
        }
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Shorthand for [`ErrorKind::Invalid`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    /// Shorthand for [`ErrorKind::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// Shorthand for [`ErrorKind::Forbidden`].
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// Shorthand for [`ErrorKind::Permanent`].
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Permanent, message)
    }

    /// Shorthand for [`ErrorKind::Unsupported`], naming the operation.
    pub fn unsupported(operation: &str) -> Self {
        Self::new(
            ErrorKind::Unsupported,
            format!("{operation} is not supported by this connector"),
        )
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The retry status.
    pub fn status(&self) -> RetryStatus {
        self.status
    }

    /// The message, without context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How long the vendor asked us to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Context pairs, in the order they were added.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.context
    }

    /// The value of one context key, if present.
    pub fn context_value(&self, key: &str) -> Option<&str> {
        self.context
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether a retry could help.
    pub fn is_temporary(&self) -> bool {
        self.status == RetryStatus::Temporary
    }

    /// Mark as temporary (retryable).
    pub fn temporary(mut self) -> Self {
        self.status = RetryStatus::Temporary;
        self
    }

    /// Mark as permanent (not retryable).
    pub fn set_permanent(mut self) -> Self {
        self.status = RetryStatus::Permanent;
        self
    }

    /// Mark a temporary error whose retries ran out.
    pub fn exhausted(mut self) -> Self {
        if self.status == RetryStatus::Temporary {
            self.status = RetryStatus::Exhausted;
        }
        self
    }

    /// Attach the vendor's `Retry-After`.
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Attach a context pair. Never pass a secret here.
    pub fn with_context(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.context.push((key, value.into()));
        self
    }

    /// Attach the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?}): {}", self.kind, self.status, self.message)?;
        if let Some(after) = self.retry_after {
            write!(f, " [retry after {}ms]", after.as_millis())?;
        }
        if !self.context.is_empty() {
            f.write_str(" {")?;
            for (i, (k, v)) in self.context.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k}={v}")?;
            }
            f.write_str("}")?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("message", &self.message)
            .field("retry_after", &self.retry_after)
            .field("context", &self.context)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::invalid(format!("malformed JSON: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_sets_default_retry_status() {
        assert!(Error::new(ErrorKind::Transient, "x").is_temporary());
        assert!(!Error::new(ErrorKind::NotFound, "x").is_temporary());
        assert_eq!(
            Error::new(ErrorKind::Transient, "x").exhausted().status(),
            RetryStatus::Exhausted
        );
        assert_eq!(
            Error::new(ErrorKind::Invalid, "x").exhausted().status(),
            RetryStatus::Permanent
        );
    }

    #[test]
    fn display_names_kind_message_and_context() {
        let e = Error::not_found("no user jane@x").with_context("vendor", "okta");
        let s = e.to_string();
        assert!(s.starts_with("not_found"), "{s}");
        assert!(
            s.contains("no user jane@x") && s.contains("vendor=okta"),
            "{s}"
        );
        assert_eq!(e.context_value("vendor"), Some("okta"));
    }
}
