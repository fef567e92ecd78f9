//! Microsoft's error envelopes, read by stackhand-http's one `parse_error` path.
//!
//! - Graph: `{"error":{"code","message","innerError":{"request-id"}}}`.
//! - Exchange Online `InvokeCommand`: the same envelope, with `message` (and
//!   `details[].message`) shaped `Ex<hash>|<exception type>|<text>`; the code reported is the
//!   exception's short name (`ManagementObjectNotFoundException`) and the message its text.
//! - The token endpoint: `{"error","error_description"}` (AADSTS codes).

use stackhand_core::{Error, ErrorKind};
use stackhand_http::{ErrorParser, JsonErrorParser, StatusCode, VendorError};

/// The m365 [`ErrorParser`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MicrosoftErrorParser;

impl ErrorParser for MicrosoftErrorParser {
    fn parse(&self, status: StatusCode, body: &[u8]) -> Option<VendorError> {
        let mut parsed = JsonErrorParser.parse(status, body)?;
        // EXO: prefer details[].message, and split the `Ex…|Type|Text` triple.
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let detail = value
            .pointer("/error/details/0/message")
            .and_then(|v| v.as_str())
            .unwrap_or(&parsed.message)
            .to_string();
        let mut parts = detail.splitn(3, '|');
        if let (Some(tag), Some(exception), Some(text)) = (parts.next(), parts.next(), parts.next())
            && tag.starts_with("Ex")
        {
            parsed.code = Some(
                exception
                    .rsplit('.')
                    .next()
                    .unwrap_or(exception)
                    .to_string(),
            );
            parsed.message = text.to_string();
        }
        Some(parsed)
    }
}

/// The same error with another kind (Exchange reports some conditions with a generic status).
pub(crate) fn with_kind(error: Error, kind: ErrorKind) -> Error {
    let message = error.message().to_string();
    rebuild(error, kind, message)
}

/// The same error (context, retry-after) with another kind and message.
pub(crate) fn rebuild(error: Error, kind: ErrorKind, message: impl Into<String>) -> Error {
    let mut copy = Error::new(kind, message);
    for (key, value) in error.context() {
        copy = copy.with_context(key, value.clone());
    }
    if let Some(after) = error.retry_after() {
        copy = copy.with_retry_after(after);
    }
    copy
}

/// The vendor code an error carries, if any.
pub(crate) fn vendor_code(error: &Error) -> Option<&str> {
    error.context_value("vendor_code")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_envelope() {
        let body = br#"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist.","innerError":{"request-id":"r1"}}}"#;
        let parsed = MicrosoftErrorParser
            .parse(StatusCode::NOT_FOUND, body)
            .unwrap();
        assert_eq!(parsed.code.as_deref(), Some("Request_ResourceNotFound"));
        assert_eq!(parsed.request_id.as_deref(), Some("r1"));
    }

    #[test]
    fn exchange_envelope_is_split() {
        let body = br#"{"error":{"code":"NotFound","message":"Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found.","details":[{"code":"Context","target":"","message":"Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found."}]}}"#;
        let parsed = MicrosoftErrorParser
            .parse(StatusCode::BAD_REQUEST, body)
            .unwrap();
        assert_eq!(
            parsed.code.as_deref(),
            Some("ManagementObjectNotFoundException")
        );
        assert!(parsed.message.starts_with("The operation couldn't"));
    }

    #[test]
    fn token_endpoint_and_garbage() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#;
        let parsed = MicrosoftErrorParser
            .parse(StatusCode::UNAUTHORIZED, body)
            .unwrap();
        assert_eq!(parsed.code.as_deref(), Some("invalid_client"));
        assert!(
            MicrosoftErrorParser
                .parse(StatusCode::BAD_GATEWAY, b"<html>")
                .is_none()
        );
    }
}
