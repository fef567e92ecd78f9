//! NinjaOne's [`ErrorParser`]: the one place a failed response is read.

use stackhand_http::{ErrorParser, FailedResponse, StandardErrorParser, VendorError};

use crate::models::ErrorBody;

/// Reads `{"resultCode": "FAILURE", "errorMessage": "...", "incidentId": "..."}` (or only
/// `resultCode`, or `{"error": "..."}`, in that order as NinjaOne's PowerShell module reads
/// them) on top of what the status says ([`VendorError::from_status`]: kind, `Retry-After`,
/// standard request-id headers). The incident id becomes the request id. NinjaOne documents no
/// code that says more than its status, so the kind is the status's. Bodies that are not
/// NinjaOne's envelope (the OAuth token endpoint's, proxies') go to [`StandardErrorParser`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NinjaOneErrorParser;

impl ErrorParser for NinjaOneErrorParser {
    fn parse(&self, response: &FailedResponse<'_>) -> VendorError {
        let Some(body) = response
            .json()
            .and_then(|value| serde_json::from_value::<ErrorBody>(value).ok())
            .filter(ErrorBody::is_envelope)
        else {
            return StandardErrorParser.parse(response);
        };
        // `{"error": "invalid_client", ...}` is the token endpoint's OAuth body.
        if body.result_code.is_none()
            && body.error_message.is_none()
            && response
                .json()
                .is_some_and(|v| v.get("error_description").is_some())
        {
            return StandardErrorParser.parse(response);
        }
        let mut parsed = VendorError::from_status(response);
        if let Some(code) = body.result_code.filter(|c| !c.is_empty()) {
            parsed = parsed.with_code(code);
        }
        if let Some(message) = body
            .error_message
            .or(body.error)
            .filter(|m| !m.trim().is_empty())
        {
            parsed = parsed.with_message(message);
        }
        if body.incident_id.is_some() {
            parsed = parsed.with_request_id(body.incident_id);
        }
        parsed
    }
}

#[cfg(test)]
mod tests {
    use stackhand_core::ErrorKind;
    use stackhand_http::{HeaderMap, HeaderValue, StatusCode, parse_error};

    use super::*;

    fn parse(status: u16, body: &str, headers: &HeaderMap) -> stackhand_core::Error {
        parse_error(
            StatusCode::from_u16(status).unwrap(),
            headers,
            body.as_bytes(),
            &NinjaOneErrorParser,
        )
    }

    #[test]
    fn reads_the_envelope() {
        let none = HeaderMap::new();
        let err = parse(
            400,
            r#"{"resultCode":"FAILURE","errorMessage":"Invalid tag name","incidentId":"inc-42"}"#,
            &none,
        );
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert_eq!(err.context_value("vendor_code"), Some("FAILURE"));
        assert!(err.message().contains("Invalid tag name"), "{err}");
        assert!(err.to_string().contains("inc-42"), "{err}");

        let short = parse(404, r#"{"error":"Device not found"}"#, &none);
        assert_eq!(short.kind(), ErrorKind::NotFound);
        assert!(short.message().contains("Device not found"), "{short}");

        let bare = parse(403, r#"{"resultCode":"FAILURE"}"#, &none);
        assert_eq!(bare.kind(), ErrorKind::Forbidden);
    }

    #[test]
    fn statuses_retry_after_and_foreign_bodies() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        let throttled = parse(429, r#"{"resultCode":"FAILURE"}"#, &headers);
        assert_eq!(throttled.kind(), ErrorKind::RateLimited);
        assert_eq!(
            throttled.retry_after(),
            Some(std::time::Duration::from_secs(7))
        );
        let oauth = parse(
            401,
            r#"{"error":"invalid_client","error_description":"bad secret"}"#,
            &HeaderMap::new(),
        );
        assert_eq!(oauth.kind(), ErrorKind::Unauthorized);
        let proxy = parse(503, "<html>down</html>", &HeaderMap::new());
        assert_eq!(proxy.kind(), ErrorKind::Transient);
    }
}
