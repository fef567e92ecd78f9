//! Errors as HTTP answers: a status and a [`Problem`] body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use stackhand_core::{Error, ErrorKind};

use crate::views::Problem;

/// An answer that is not a success.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    problem: Problem,
    /// When the caller may come back (`Retry-After`, seconds), for a 429.
    retry_after_secs: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            problem: Problem {
                error: error.to_string(),
                message: message.into(),
            },
            retry_after_secs: None,
        }
    }

    /// 401: the same answer for a missing, malformed, unknown, revoked or expired token.
    pub(crate) fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "a valid API token is needed: Authorization: Bearer <token> (`stackhand tokens create`)",
        )
    }

    /// 403: the same answer whether or not the tenant exists.
    pub(crate) fn forbidden(tenant: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this token may not act in tenant {tenant:?}"),
        )
    }

    /// 429: too many refused calls from the caller's address; recorded again after
    /// `retry_after_secs`.
    pub(crate) fn throttled(retry_after_secs: u64) -> Self {
        let mut answer = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many refused calls from this address; wait and retry with a valid token",
        );
        answer.retry_after_secs = Some(retry_after_secs);
        answer
    }

    /// The status answered.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let (status, code) = match err.kind() {
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::Invalid => (StatusCode::BAD_REQUEST, "invalid"),
            ErrorKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            // The engine never answers this for the caller: a vendor refused stackhand's own
            // credentials, which is the server's problem.
            ErrorKind::Unauthorized => (StatusCode::BAD_GATEWAY, "unavailable"),
            ErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
            ErrorKind::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ErrorKind::Unsupported => (StatusCode::BAD_REQUEST, "invalid"),
            ErrorKind::Transient => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if status.is_server_error() {
            // The details stay in the log (errors never carry secrets); the caller gets a line.
            tracing::error!(error = %err, "an API request failed");
            return Self::new(
                status,
                code,
                "stackhand could not answer this request; the server's log says why",
            );
        }
        Self::new(status, code, err.message())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.problem)).into_response();
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
