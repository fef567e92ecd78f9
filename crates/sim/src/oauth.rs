//! The OAuth 2.0 token endpoint the simulated authorization servers (the Microsoft identity
//! platform, Okta's org server) share: the form body of a client-credentials request
//! (RFC 6749 §4.4), client authentication by secret or by a JWT assertion (`private_key_jwt`,
//! RFC 7523), the token answer (§5.1), the error answer (§5.2) and the store of issued access
//! tokens.
//!
//! What each vendor decides for itself stays in its module and is built from these pieces: the
//! order of the checks, error codes and wording (Entra's `AADSTS` numbers), which claims an
//! assertion must carry, audiences and scopes.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use crate::server::content_type;

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Why a token request's body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormError {
    /// It is not `application/x-www-form-urlencoded`.
    NotForm,
    /// It says it is a form and is not one.
    Malformed,
}

/// What is wrong with a request's `grant_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantError<'a> {
    /// There is none.
    Missing,
    /// It is not `client_credentials`.
    Unsupported(&'a str),
}

/// How a token request authenticates its client, as the form body says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuth<'a> {
    /// A `client_secret` and no assertion (`client_secret_post`).
    Secret(&'a str),
    /// A `client_assertion` and no secret (`private_key_jwt`).
    Assertion(&'a str),
    /// Both a secret and an assertion.
    Both,
    /// Neither.
    Neither,
}

/// The form body of a token request.
#[derive(Debug, Default)]
pub(crate) struct TokenForm {
    fields: Vec<(String, String)>,
}

impl TokenForm {
    /// Read the body; it must be declared a form.
    pub(crate) fn parse(headers: &HeaderMap, body: &Bytes) -> Result<Self, FormError> {
        if !content_type(headers).starts_with("application/x-www-form-urlencoded") {
            return Err(FormError::NotForm);
        }
        serde_urlencoded::from_bytes(body)
            .map(|fields| Self { fields })
            .map_err(|_| FormError::Malformed)
    }

    /// The first value of a field.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the grant is `client_credentials`, the only one the simulators serve.
    pub(crate) fn client_credentials(&self) -> Result<(), GrantError<'_>> {
        match self.field("grant_type") {
            Some("client_credentials") => Ok(()),
            Some(other) => Err(GrantError::Unsupported(other)),
            None => Err(GrantError::Missing),
        }
    }

    /// The client authentication the body carries.
    pub(crate) fn client_auth(&self) -> ClientAuth<'_> {
        match (self.field("client_secret"), self.field("client_assertion")) {
            (Some(secret), None) => ClientAuth::Secret(secret),
            (None, Some(assertion)) => ClientAuth::Assertion(assertion),
            (Some(_), Some(_)) => ClientAuth::Both,
            (None, None) => ClientAuth::Neither,
        }
    }

    /// Whether `client_assertion_type` names a JWT assertion.
    pub(crate) fn assertion_typed(&self) -> bool {
        self.field("client_assertion_type") == Some(JWT_BEARER)
    }
}

/// Why a client assertion is not a JWT; its `Display` says so in the words of an OAuth error
/// description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AssertionError {
    /// Not three dot-separated segments.
    Segments,
    /// The named part (`header`, `payload`) is not base64url.
    NotBase64(&'static str),
    /// The named part is not JSON.
    NotJson(&'static str),
    /// The named part is JSON but not an object.
    NotObject(&'static str),
}

impl fmt::Display for AssertionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Segments => f.write_str(
                "The client_assertion is not a well-formed JWT (three segments expected).",
            ),
            Self::NotBase64(part) => write!(f, "The client_assertion {part} is not base64url."),
            Self::NotJson(part) => write!(f, "The client_assertion {part} is not JSON."),
            Self::NotObject(part) => {
                write!(f, "The client_assertion {part} is not a JSON object.")
            }
        }
    }
}

/// A client assertion read as a compact JWS. Nothing is verified here: the simulators hold no
/// key material, and each vendor checks the claims it cares about.
#[derive(Debug, Clone)]
pub(crate) struct ClientAssertion {
    header: Value,
    payload: Value,
    signing_input: String,
    signature: String,
}

fn decode_segment(segment: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .ok()
}

fn decode_part(segment: &str, part: &'static str) -> Result<Value, AssertionError> {
    let bytes = decode_segment(segment).ok_or(AssertionError::NotBase64(part))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| AssertionError::NotJson(part))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(AssertionError::NotObject(part))
    }
}

impl ClientAssertion {
    /// Split and decode `jwt`: the header, then the payload.
    pub(crate) fn parse(jwt: &str) -> Result<Self, AssertionError> {
        let parts: Vec<&str> = jwt.split('.').collect();
        let [header, payload, signature] = parts.as_slice() else {
            return Err(AssertionError::Segments);
        };
        Ok(Self {
            header: decode_part(header, "header")?,
            payload: decode_part(payload, "payload")?,
            signing_input: format!("{header}.{payload}"),
            signature: (*signature).to_string(),
        })
    }

    /// The JOSE header.
    pub(crate) fn header(&self) -> &Value {
        &self.header
    }

    /// A string member of the JOSE header (`alg`, `x5t`).
    pub(crate) fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A string claim (`iss`, `sub`, `jti`).
    pub(crate) fn claim(&self, name: &str) -> Option<&str> {
        self.payload.get(name).and_then(Value::as_str)
    }

    /// A numeric claim (`exp`, `iat`), in seconds since the epoch.
    pub(crate) fn number(&self, name: &str) -> Option<i64> {
        self.payload.get(name).and_then(Value::as_i64)
    }

    /// The audiences: `aud` is one string or an array of them (RFC 7519 §4.1.3).
    pub(crate) fn audiences(&self) -> Vec<&str> {
        match self.payload.get("aud") {
            Some(Value::String(aud)) => vec![aud.as_str()],
            Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// `base64url(header) "." base64url(payload)`: what was signed.
    pub(crate) fn signing_input(&self) -> &str {
        &self.signing_input
    }

    /// The decoded signature; `None` when it is empty or not base64url.
    pub(crate) fn signature(&self) -> Option<Vec<u8>> {
        decode_segment(&self.signature).filter(|s| !s.is_empty())
    }
}

/// The body of a token answer for a bearer `access_token` that lives `expires_in` seconds
/// (RFC 6749 §5.1); vendors add their own members to it.
pub(crate) fn token_body(access_token: &str, expires_in: u64) -> Map<String, Value> {
    Map::from_iter([
        ("token_type".to_string(), json!("Bearer")),
        ("expires_in".to_string(), json!(expires_in)),
        ("access_token".to_string(), json!(access_token)),
    ])
}

/// The body of an error answer (RFC 6749 §5.2); vendors add their own members to it.
pub(crate) fn error_body(error: &str, description: impl Into<String>) -> Map<String, Value> {
    Map::from_iter([
        ("error".to_string(), json!(error)),
        ("error_description".to_string(), json!(description.into())),
    ])
}

/// An error answer with RFC 6749's members and nothing else.
pub(crate) fn error(status: StatusCode, error: &str, description: impl Into<String>) -> Response {
    (status, Json(error_body(error, description))).into_response()
}

/// Why a bearer token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenRefused {
    /// This server never issued it.
    Unknown,
    /// Its lifetime is over.
    Expired,
}

/// The access tokens a server issued, each with its expiry and what the vendor keeps about
/// the grant (`G`: an audience, scopes).
#[derive(Debug, Clone)]
pub(crate) struct Tokens<G> {
    issued: HashMap<String, (DateTime<Utc>, G)>,
}

impl<G> Default for Tokens<G> {
    fn default() -> Self {
        Self {
            issued: HashMap::new(),
        }
    }
}

impl<G> Tokens<G> {
    /// Keep `token`, live for `lifetime`, and hand it back.
    pub(crate) fn issue(&mut self, token: String, lifetime: Duration, grant: G) -> String {
        let expires = TimeDelta::from_std(lifetime)
            .ok()
            .and_then(|lifetime| Utc::now().checked_add_signed(lifetime))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.issued.insert(token.clone(), (expires, grant));
        token
    }

    /// The grant of a live token.
    pub(crate) fn check(&self, token: &str) -> Result<&G, TokenRefused> {
        let (expires, grant) = self.issued.get(token).ok_or(TokenRefused::Unknown)?;
        if *expires <= Utc::now() {
            return Err(TokenRefused::Expired);
        }
        Ok(grant)
    }

    /// End the lifetime of every token issued so far.
    pub(crate) fn expire_all(&mut self) {
        let past = Utc::now() - TimeDelta::seconds(1);
        for (expires, _) in self.issued.values_mut() {
            *expires = past;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(content_type: &str, body: &'static str) -> Result<TokenForm, FormError> {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", content_type.parse().unwrap());
        TokenForm::parse(&headers, &Bytes::from_static(body.as_bytes()))
    }

    fn segment(value: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn a_form_says_grant_and_client_authentication() {
        let secret = form(
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials&client_secret=s%3D1",
        )
        .unwrap();
        assert_eq!(secret.client_credentials(), Ok(()));
        assert_eq!(secret.client_auth(), ClientAuth::Secret("s=1"));
        let code = form("application/x-www-form-urlencoded", "grant_type=code").unwrap();
        assert_eq!(
            code.client_credentials(),
            Err(GrantError::Unsupported("code"))
        );
        assert_eq!(code.client_auth(), ClientAuth::Neither);
        let both = form(
            "application/x-www-form-urlencoded",
            "client_secret=s&client_assertion=a.b.c",
        )
        .unwrap();
        assert_eq!(both.client_credentials(), Err(GrantError::Missing));
        assert_eq!(both.client_auth(), ClientAuth::Both);
        assert!(!both.assertion_typed());
        assert_eq!(
            form("application/json", "{}").unwrap_err(),
            FormError::NotForm
        );
    }

    #[test]
    fn an_assertion_is_read_part_by_part() {
        let header = segment(&json!({"alg": "RS256"}));
        let payload = segment(&json!({"iss": "c", "aud": ["a", "b"], "exp": 5}));
        let jwt = format!("{header}.{payload}.c2ln");
        let assertion = ClientAssertion::parse(&jwt).unwrap();
        assert_eq!(assertion.header_str("alg"), Some("RS256"));
        assert_eq!(assertion.claim("iss"), Some("c"));
        assert_eq!(assertion.number("exp"), Some(5));
        assert_eq!(assertion.audiences(), ["a", "b"]);
        assert_eq!(assertion.signing_input(), format!("{header}.{payload}"));
        assert_eq!(assertion.signature().as_deref(), Some(&b"sig"[..]));

        let unsigned = ClientAssertion::parse(&format!("{header}.{payload}.")).unwrap();
        assert_eq!(unsigned.signature(), None);
        assert_eq!(
            ClientAssertion::parse("a.b").unwrap_err(),
            AssertionError::Segments
        );
        assert_eq!(
            ClientAssertion::parse(&format!("{header}.!!.x")).unwrap_err(),
            AssertionError::NotBase64("payload")
        );
        let array = segment(&json!([1]));
        let error = ClientAssertion::parse(&format!("{array}.{payload}.x")).unwrap_err();
        assert_eq!(error, AssertionError::NotObject("header"));
        assert_eq!(
            error.to_string(),
            "The client_assertion header is not a JSON object."
        );
    }

    #[test]
    fn tokens_expire() {
        let mut tokens = Tokens::default();
        let live = tokens.issue("t1".into(), Duration::from_secs(60), "graph");
        assert_eq!(tokens.check(&live), Ok(&"graph"));
        assert_eq!(tokens.check("t2"), Err(TokenRefused::Unknown));
        tokens.issue("t0".into(), Duration::ZERO, "graph");
        assert_eq!(tokens.check("t0"), Err(TokenRefused::Expired));
        tokens.expire_all();
        assert_eq!(tokens.check(&live), Err(TokenRefused::Expired));
    }

    #[test]
    fn answers_have_the_rfc_members() {
        assert_eq!(
            Value::Object(token_body("at", 60)),
            json!({"token_type": "Bearer", "expires_in": 60, "access_token": "at"})
        );
        assert_eq!(
            Value::Object(error_body("invalid_client", "no")),
            json!({"error": "invalid_client", "error_description": "no"})
        );
    }
}
