//! Microsoft's failed responses, read in one place: [`MicrosoftErrorParser`].
//!
//! - Graph: `{"error":{"code","message","innerError":{"request-id","client-request-id"}}}`, with
//!   the request id also in the `request-id` and `client-request-id` headers.
//! - Exchange Online `InvokeCommand`: the same envelope, with `message` (and
//!   `details[].message`) shaped `Ex<hash>|<exception type>|<text>`; the code reported is the
//!   exception's short name (`ManagementObjectNotFoundException`) and the message its text.
//!   Exchange answers most refusals with 400, so the exception decides the kind.
//! - The token endpoint: `{"error","error_description"}` (AADSTS codes), read by
//!   [`StandardErrorParser`].

use serde_json::Value;
use stackhand_core::ErrorKind;
use stackhand_http::{
    ErrorParser, FailedResponse, StandardErrorParser, VendorError, joined_messages, str_at,
};

/// Exchange: the object named (mailbox, group, recipient) does not exist.
const EXO_OBJECT_NOT_FOUND: &str = "ManagementObjectNotFoundException";
/// Exchange: the recipient already is a member of the distribution group.
pub(crate) const EXO_MEMBER_EXISTS: &str = "MemberAlreadyExistsException";
/// Exchange: the recipient is not a member of the distribution group.
pub(crate) const EXO_MEMBER_NOT_FOUND: &str = "MemberNotFoundException";
/// Exchange: a cmdlet's generic refusal; its text says which (an absent ACE, ...).
pub(crate) const EXO_TASK_FAILED: &str = "TaskException";
/// Graph's answer when the tenant has no Entra ID P2 / Governance licence, and so no PIM.
pub(crate) const NO_PIM_LICENCE: &str = "AadPremiumLicenseRequired";

/// Graph's 400 when a member being added is one already.
const GRAPH_REFERENCE_EXISTS: &str = "added object references already exist";
/// Exchange's refusal to remove a permission entry that is not there (a `TaskException`).
const EXO_NO_SUCH_ACE: &str = "ACE doesn't exist";

/// The m365 [`ErrorParser`], for Graph and Exchange Online alike.
///
/// Kinds beyond the status:
///
/// | Answer | Kind |
/// |---|---|
/// | Exchange `ManagementObjectNotFoundException` (any status) | `NotFound` |
/// | Exchange `MemberNotFoundException`, or a `TaskException` saying the ACE doesn't exist | `NotFound` |
/// | Exchange `MemberAlreadyExistsException` | `Conflict` |
/// | Graph 400 "added object references already exist" | `Conflict` |
#[derive(Debug, Clone, Copy, Default)]
pub struct MicrosoftErrorParser;

impl ErrorParser for MicrosoftErrorParser {
    fn parse(&self, response: &FailedResponse<'_>) -> VendorError {
        let body = response.json();
        let Some(envelope) = body
            .as_ref()
            .and_then(|b| b.get("error"))
            .filter(|e| e.is_object())
        else {
            // The token endpoint's OAuth body, problem details, or no JSON at all.
            return StandardErrorParser
                .parse(response)
                .with_request_id(response.header("client-request-id"));
        };
        let mut parsed = VendorError::from_status(response)
            .with_request_id(str_at(envelope, "/innerError/request-id"))
            .with_request_id(response.header("client-request-id"))
            .with_request_id(str_at(envelope, "/innerError/client-request-id"));
        let message = str_at(envelope, "/message")
            .map(str::to_owned)
            .or_else(|| joined_messages(envelope, "/details", "message"));
        let exception = exchange_exception(envelope);
        parsed.code = exception
            .map(|(name, _)| name.to_owned())
            .or_else(|| str_at(envelope, "/code").map(str::to_owned));
        parsed.message = exception.map(|(_, text)| text.to_owned()).or(message);
        match kind_beyond_status(&parsed) {
            Some(kind) => parsed.with_kind(kind),
            None => parsed,
        }
    }
}

/// Where the code or message says more than the status.
fn kind_beyond_status(parsed: &VendorError) -> Option<ErrorKind> {
    let code = parsed.code.as_deref().unwrap_or_default();
    let message = parsed.message.as_deref().unwrap_or_default();
    match code {
        EXO_OBJECT_NOT_FOUND | EXO_MEMBER_NOT_FOUND => Some(ErrorKind::NotFound),
        EXO_MEMBER_EXISTS => Some(ErrorKind::Conflict),
        EXO_TASK_FAILED if message.contains(EXO_NO_SUCH_ACE) => Some(ErrorKind::NotFound),
        _ if parsed.kind == ErrorKind::Invalid && message.contains(GRAPH_REFERENCE_EXISTS) => {
            Some(ErrorKind::Conflict)
        }
        _ => None,
    }
}

/// Exchange's `Ex<hash>|<exception type>|<text>`, from `details[].message` or `message`: the
/// exception's short name and the text.
fn exchange_exception(envelope: &Value) -> Option<(&str, &str)> {
    let details = envelope
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| str_at(d, "/message"));
    details
        .chain(str_at(envelope, "/message"))
        .find_map(|text| {
            let mut parts = text.splitn(3, '|');
            let (tag, exception, text) = (parts.next()?, parts.next()?, parts.next()?);
            (tag.starts_with("Ex") && !exception.is_empty())
                .then(|| (exception.rsplit('.').next().unwrap_or(exception), text))
        })
}

#[cfg(test)]
mod tests {
    use stackhand_http::{HeaderMap, HeaderValue, StatusCode};

    use super::*;

    fn parse(status: u16, headers: &HeaderMap, body: &[u8]) -> VendorError {
        MicrosoftErrorParser.parse(&FailedResponse::new(
            StatusCode::from_u16(status).unwrap(),
            headers,
            body,
        ))
    }

    #[test]
    fn graph_envelope_is_read_fully() {
        let body = br#"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist.","innerError":{"date":"2026-11-23T10:00:00","request-id":"r1","client-request-id":"c1"}}}"#;
        let parsed = parse(404, &HeaderMap::new(), body);
        assert_eq!(parsed.kind, ErrorKind::NotFound);
        assert_eq!(parsed.code.as_deref(), Some("Request_ResourceNotFound"));
        assert_eq!(
            parsed.message.as_deref(),
            Some("Resource 'x' does not exist.")
        );
        assert_eq!(parsed.request_id.as_deref(), Some("r1"));

        // The `request-id` header wins; `client-request-id` is the fallback.
        let mut headers = HeaderMap::new();
        headers.insert("request-id", HeaderValue::from_static("h1"));
        assert_eq!(parse(404, &headers, body).request_id.as_deref(), Some("h1"));
        let mut headers = HeaderMap::new();
        headers.insert("client-request-id", HeaderValue::from_static("c2"));
        let bare = br#"{"error":{"code":"generalException","message":"boom"}}"#;
        let parsed = parse(500, &headers, bare);
        assert_eq!(parsed.request_id.as_deref(), Some("c2"));
        assert_eq!(parsed.kind, ErrorKind::Transient);
    }

    #[test]
    fn exchange_envelope_is_split_and_classified() {
        let body = br#"{"error":{"code":"BadRequest","message":"Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found.","details":[{"code":"Context","target":"","message":"Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found."}]}}"#;
        let parsed = parse(400, &HeaderMap::new(), body);
        assert_eq!(parsed.code.as_deref(), Some(EXO_OBJECT_NOT_FOUND));
        assert!(
            parsed
                .message
                .as_deref()
                .unwrap()
                .starts_with("The operation couldn't")
        );
        // Exchange says 400; the exception says the object is missing.
        assert_eq!(parsed.kind, ErrorKind::NotFound);
        assert!(parsed.retry == stackhand_core::RetryStatus::Permanent);

        let member = br#"{"error":{"code":"BadRequest","message":"Ex1|Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException|already a member"}}"#;
        assert_eq!(
            parse(400, &HeaderMap::new(), member).kind,
            ErrorKind::Conflict
        );
        let ace = br#"{"error":{"code":"BadRequest","message":"Ex2|Microsoft.Exchange.Configuration.Tasks.TaskException|Can't remove the access control entry because the ACE doesn't exist on the object."}}"#;
        let parsed = parse(400, &HeaderMap::new(), ace);
        assert_eq!(
            (parsed.kind, parsed.code.as_deref()),
            (ErrorKind::NotFound, Some("TaskException"))
        );
        let other = br#"{"error":{"code":"BadRequest","message":"Ex3|Microsoft.Exchange.Configuration.Tasks.TaskException|Something else."}}"#;
        assert_eq!(
            parse(400, &HeaderMap::new(), other).kind,
            ErrorKind::Invalid
        );
    }

    #[test]
    fn graph_duplicate_member_is_a_conflict() {
        let body = br#"{"error":{"code":"Request_BadRequest","message":"One or more added object references already exist for the following modified properties: 'members'."}}"#;
        assert_eq!(
            parse(400, &HeaderMap::new(), body).kind,
            ErrorKind::Conflict
        );
    }

    #[test]
    fn token_endpoint_and_garbage_fall_back() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#;
        let parsed = parse(401, &HeaderMap::new(), body);
        assert_eq!(parsed.kind, ErrorKind::Unauthorized);
        assert_eq!(parsed.code.as_deref(), Some("invalid_client"));
        assert!(
            parsed
                .message
                .as_deref()
                .unwrap()
                .starts_with("AADSTS7000215")
        );

        let parsed = parse(502, &HeaderMap::new(), b"<html>");
        assert_eq!(parsed.kind, ErrorKind::Transient);
        assert_eq!((parsed.code, parsed.message), (None, None));
    }
}
