//! sqlx failures as stackhand errors, and connection URLs without their passwords.

use sqlx::error::ErrorKind as DbErrorKind;
use stackhand_core::{Error, ErrorKind};

use crate::BackendKind;

/// A sqlx failure as a stackhand [`Error`] whose message says what the store was `doing`.
///
/// Lost connections, pool timeouts, lock waits that ran out and serialisation failures are
/// temporary; a unique-key violation is a conflict; a bad URL or argument is invalid; the rest is
/// permanent. The sqlx error is kept as the source (it never carries the URL's password: sqlx
/// parses the URL into options and reports only which part is wrong).
pub(crate) fn from_sqlx(backend: BackendKind, doing: &str, err: sqlx::Error) -> Error {
    let kind = match &err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => ErrorKind::Transient,
        sqlx::Error::Configuration(_) | sqlx::Error::InvalidArgument(_) => ErrorKind::Invalid,
        sqlx::Error::Database(db) => {
            if is_temporary(backend, db.code().as_deref()) {
                ErrorKind::Transient
            } else if db.kind() == DbErrorKind::UniqueViolation {
                ErrorKind::Conflict
            } else {
                ErrorKind::Permanent
            }
        }
        _ => ErrorKind::Permanent,
    };
    Error::new(kind, format!("store ({backend}): {doing}"))
        .with_context("backend", backend.as_str())
        .with_source(err)
}

/// Whether a database error code means "try again": SQLite's BUSY and LOCKED (and their extended
/// codes), PostgreSQL's serialisation failure, deadlock, lock timeout and administrator shutdown.
fn is_temporary(backend: BackendKind, code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    match backend {
        BackendKind::Sqlite => code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)),
        BackendKind::Postgres => {
            matches!(code, "40001" | "40P01" | "55P03" | "57P01" | "57P03")
                || code.starts_with("08")
        }
    }
}

/// `url` with the password masked, fit for errors and logs: the password of the user part and
/// any `password` query parameter become `***`. SQLite URLs carry no credentials and are shown
/// as they are; a URL that does not parse is not shown at all.
///
/// ```
/// use stackhand_store::redact_url;
/// assert_eq!(
///     redact_url("postgres://app:s3cret@db.internal:5432/stackhand?password=again"),
///     "postgres://app:***@db.internal:5432/stackhand?password=***"
/// );
/// assert_eq!(redact_url("sqlite://data/stackhand.db?mode=rwc"), "sqlite://data/stackhand.db?mode=rwc");
/// ```
pub fn redact_url(url: &str) -> String {
    if url.starts_with("sqlite:") {
        return url.to_string();
    }
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<a URL that does not parse>".into();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let secret = k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("pass");
                let v = if secret { "***".into() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    // Keep `***` readable rather than percent-encoded.
    parsed.to_string().replace("%2A%2A%2A", "***")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_everywhere_in_the_url() {
        for url in [
            "postgres://app:hunter2@localhost/db",
            "postgresql://app:hunter2@localhost:6432/db?sslmode=disable&password=hunter2",
            "postgres://localhost/db?user=app&password=hunter2",
        ] {
            let shown = redact_url(url);
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432/test"
        );
        assert!(!redact_url("postgres://a:hunter2@[bad").contains("hunter2"));
    }

    #[test]
    fn lock_waits_and_lost_connections_are_temporary() {
        assert!(is_temporary(BackendKind::Sqlite, Some("5")));
        assert!(is_temporary(BackendKind::Sqlite, Some("517")));
        assert!(!is_temporary(BackendKind::Sqlite, Some("19")));
        assert!(is_temporary(BackendKind::Postgres, Some("40001")));
        assert!(is_temporary(BackendKind::Postgres, Some("08006")));
        assert!(!is_temporary(BackendKind::Postgres, Some("23505")));
        let err = from_sqlx(BackendKind::Postgres, "doing x", sqlx::Error::PoolTimedOut);
        assert!(err.is_temporary());
        assert!(
            err.to_string().contains("store (postgres): doing x"),
            "{err}"
        );
    }
}
