//! Okta's failed responses: the error envelope, the request id, and the E-codes whose HTTP
//! status alone would mislead. The one place a failed Okta response is read.

use stackhand_core::ErrorKind;
use stackhand_http::{
    ErrorParser, FailedResponse, StandardErrorParser, VendorError, joined_messages, str_at,
};

/// The header Okta puts its request id in; support asks for it.
pub const REQUEST_ID_HEADER: &str = "x-okta-request-id";

/// E-codes Okta answers with 403 although nothing is wrong with the credentials: the operation
/// does not fit the user's current state.
const STATE_CONFLICTS: &[&str] = &[
    "E0000016", // activation failed: the user is already active
    "E0000032", // unlock is not allowed for this user
    "E0000038", // not allowed in the user's current status
];

/// Reads Okta's envelope, `{"errorCode","errorSummary","errorId","errorCauses":[{"errorSummary"}]}`,
/// and the `X-Okta-Request-Id` header; state-conflict codes become
/// [`Conflict`](ErrorKind::Conflict). Other bodies (the token endpoint's
/// `{"error","error_description"}`, HTML from a proxy) go to the [`StandardErrorParser`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OktaErrorParser;

impl ErrorParser for OktaErrorParser {
    fn parse(&self, response: &FailedResponse<'_>) -> VendorError {
        let envelope = response
            .json()
            .filter(|body| str_at(body, "/errorCode").is_some());
        let Some(body) = envelope else {
            let parsed = StandardErrorParser
                .parse(response)
                .with_request_id(response.header(REQUEST_ID_HEADER));
            return with_scope_note(parsed, response);
        };
        let code = str_at(&body, "/errorCode").unwrap_or_default();
        let summary = str_at(&body, "/errorSummary").unwrap_or("Okta error");
        let message = match joined_messages(&body, "/errorCauses", "errorSummary") {
            Some(causes) => format!("{summary} ({causes})"),
            None => summary.to_owned(),
        };
        let parsed = VendorError::from_status(response)
            .with_request_id(response.header(REQUEST_ID_HEADER))
            .with_request_id(str_at(&body, "/errorId"))
            .with_code(code)
            .with_message(message);
        let parsed = with_scope_note(parsed, response);
        if STATE_CONFLICTS.contains(&code) {
            parsed.with_kind(ErrorKind::Conflict)
        } else {
            parsed
        }
    }
}

/// The scope an OAuth access token lacked, from Okta's
/// `WWW-Authenticate: Bearer ..., error="insufficient_scope", ..., scope="okta.roles.read"`.
fn missing_scope(response: &FailedResponse<'_>) -> Option<String> {
    let challenge = response.header("www-authenticate")?;
    if !challenge.contains("error=\"insufficient_scope\"") {
        return None;
    }
    let scope = challenge
        .split("scope=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .filter(|s| !s.is_empty());
    Some(match scope {
        Some(scope) => format!("the access token lacks the scope {scope}"),
        None => "the access token lacks a scope this call needs".to_owned(),
    })
}

/// `parsed` with the scope the token lacked appended to its message, when Okta said so.
fn with_scope_note(mut parsed: VendorError, response: &FailedResponse<'_>) -> VendorError {
    if let Some(note) = missing_scope(response) {
        parsed.message = Some(match parsed.message.take() {
            Some(message) => format!("{message}; {note}"),
            None => note,
        });
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackhand_http::{HeaderMap, HeaderValue, StatusCode, parse_error};

    fn parse(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> stackhand_core::Error {
        parse_error(status, headers, body, &OktaErrorParser)
    }

    #[test]
    fn okta_codes_map_to_the_right_kinds() {
        let body = br#"{"errorCode":"E0000032","errorSummary":"Unlock is not allowed for this user.","errorLink":"E0000032","errorId":"oae1","errorCauses":[{"errorSummary":"The user is not locked out."}]}"#;
        let error = parse(StatusCode::FORBIDDEN, &HeaderMap::new(), body);
        assert_eq!(error.kind(), ErrorKind::Conflict);
        assert!(!error.is_temporary());
        assert!(error.message().contains("not locked out"));
        assert_eq!(error.context_value("vendor_code"), Some("E0000032"));
        assert_eq!(error.context_value("request_id"), Some("oae1"));

        for code in ["E0000016", "E0000038"] {
            let body =
                format!(r#"{{"errorCode":"{code}","errorSummary":"state","errorCauses":[]}}"#);
            let error = parse(StatusCode::FORBIDDEN, &HeaderMap::new(), body.as_bytes());
            assert_eq!(error.kind(), ErrorKind::Conflict, "{code}");
        }

        let denied = br#"{"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action","errorCauses":[]}"#;
        let error = parse(StatusCode::FORBIDDEN, &HeaderMap::new(), denied);
        assert_eq!(error.kind(), ErrorKind::Forbidden);

        let throttled = br#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorCauses":[]}"#;
        let error = parse(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), throttled);
        assert_eq!(error.kind(), ErrorKind::RateLimited);
        assert!(error.is_temporary());

        let failed =
            br#"{"errorCode":"E0000009","errorSummary":"Internal Server Error","errorCauses":[]}"#;
        let error = parse(StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new(), failed);
        assert_eq!(error.kind(), ErrorKind::Transient);
        assert!(error.is_temporary());

        let garbage = parse(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"<html>oops</html>",
        );
        assert_eq!(garbage.kind(), ErrorKind::Transient);
        assert!(garbage.message().contains("HTML"), "{garbage}");
    }

    #[test]
    fn the_okta_request_id_header_wins_over_the_body() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("reqXyZ123"));
        let body = br#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorId":"oaeBody","errorCauses":[]}"#;
        let error = parse(StatusCode::UNAUTHORIZED, &headers, body);
        assert_eq!(error.kind(), ErrorKind::Unauthorized);
        assert_eq!(error.context_value("request_id"), Some("reqXyZ123"));

        // The token endpoint's OAuth body, with Okta's header.
        let oauth = br#"{"error":"invalid_client","error_description":"The client_assertion signature is invalid."}"#;
        let error = parse(StatusCode::UNAUTHORIZED, &headers, oauth);
        assert_eq!(error.context_value("vendor_code"), Some("invalid_client"));
        assert_eq!(error.context_value("request_id"), Some("reqXyZ123"));
        assert!(error.message().contains("signature is invalid"));
    }

    #[test]
    fn a_missing_scope_is_named() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "www-authenticate",
            HeaderValue::from_static(
                "Bearer realm=\"IdpMyAccountAPI\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", scope=\"okta.roles.read\"",
            ),
        );
        let denied = br#"{"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action","errorCauses":[]}"#;
        let error = parse(StatusCode::FORBIDDEN, &headers, denied);
        assert_eq!(error.kind(), ErrorKind::Forbidden);
        assert!(
            error
                .message()
                .ends_with("; the access token lacks the scope okta.roles.read"),
            "{error}"
        );
    }
}
