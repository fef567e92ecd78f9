//! API tokens: how a program calling stackhand's HTTP API says which staff member it acts as.
//!
//! A token is 256 random bits from the operating system's generator, shown once when it is
//! issued ([`Store::issue_api_token`]) and never kept: the store keeps its SHA-256 digest, the
//! staff member it stands for and, optionally, the tenants it is limited to. What the member
//! may do comes from the staff directory, in the tenant at hand, never from the token.
//!
//! A plain SHA-256 (no salt, no slow hash) is enough here: slow, salted hashes exist to make
//! guessing a *low-entropy* secret (a password) from its digest expensive, and a 256-bit random
//! token cannot be guessed, digest or no digest. A fast, unsalted digest also lets the store
//! find a token by its digest with one indexed lookup.

use chrono::{DateTime, TimeZone, Utc};
use rand::TryRngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use stackhand_core::{Error, Result, TenantId};

use crate::{Store, nanos, on_backend};

/// Why a presented token authenticates nobody, as refusals record it (never which of the
/// three: the caller learns nothing from it either).
pub const NOT_A_LIVE_TOKEN: &str = "an unknown, revoked or expired token";

/// The token of an `Authorization` header's value `Bearer <token>` (the scheme in any case,
/// RFC 7235); none for another scheme or an empty token.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// What every token starts with, so secret scanners (and people) recognise one.
pub const API_TOKEN_PREFIX: &str = "shk_";

/// How long a token's `last_used` may lag: it is written at most this often per token, so a
/// busy client does not take SQLite's write lock on every request.
const LAST_USED_GRANULARITY_NS: i64 = 60_000_000_000;

/// An API token as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    /// The public id (`tok_…`), for lists, revocation and audit records.
    pub id: String,
    /// The staff member (`[[staff]] id`) the token acts as.
    pub principal: String,
    /// The tenants it is limited to; empty: every tenant the member may see.
    pub tenants: Vec<TenantId>,
    /// When it was issued.
    pub created: DateTime<Utc>,
    /// When it was last used (to the minute), if ever.
    pub last_used: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked: Option<DateTime<Utc>>,
    /// When it stops authenticating; `None`: never.
    pub expires: Option<DateTime<Utc>>,
}

impl ApiTokenRecord {
    /// Whether the token may be used for `tenant` (before the directory is asked).
    pub fn allows(&self, tenant: &TenantId) -> bool {
        self.tenants.is_empty() || self.tenants.contains(tenant)
    }

    /// Whether the token has expired at `now`.
    pub fn expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }
}

type Row = (
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// A query of the tokens' [`Row`]s, `rest` (a literal) after `FROM api_tokens`.
macro_rules! select_tokens {
    ($rest:literal) => {
        concat!(
            "SELECT id, principal, tenants, created_ns, last_used_ns, revoked_ns, expires_ns \
             FROM api_tokens ",
            $rest
        )
    };
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn record(
    (id, principal, tenants, created, last_used, revoked, expires): Row,
) -> Result<ApiTokenRecord> {
    let tenants: Vec<TenantId> = serde_json::from_str(&tenants).map_err(|e| {
        Error::permanent(format!(
            "API token {id}: its stored tenants are not a list of tenant ids ({e})"
        ))
    })?;
    Ok(ApiTokenRecord {
        id,
        principal,
        tenants,
        created: Utc.timestamp_nanos(created),
        last_used: last_used.map(|ns| Utc.timestamp_nanos(ns)),
        revoked: revoked.map(|ns| Utc.timestamp_nanos(ns)),
        expires: expires.map(|ns| Utc.timestamp_nanos(ns)),
    })
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|e| {
        Error::permanent(format!(
            "the operating system's random generator failed: {e}"
        ))
    })?;
    Ok(bytes)
}

impl Store {
    /// Issue a token for staff member `principal`, limited to `tenants` (none: not limited),
    /// that stops authenticating at `expires` (`None`: never). Answers its record and the
    /// token, which is not kept anywhere: show it once.
    pub async fn issue_api_token(
        &self,
        principal: &str,
        tenants: &[TenantId],
        expires: Option<DateTime<Utc>>,
    ) -> Result<(ApiTokenRecord, SecretString)> {
        let principal = principal.trim();
        if principal.is_empty() {
            return Err(Error::invalid(
                "an API token needs the staff member it acts as",
            ));
        }
        let created = Utc::now();
        if let Some(at) = expires.filter(|at| *at <= created) {
            return Err(Error::invalid(format!(
                "an API token cannot expire in the past ({at}): give a time after now"
            )));
        }
        let id = format!("tok_{}", hex::encode(random_bytes::<8>()?));
        let token = SecretString::from(format!(
            "{API_TOKEN_PREFIX}{}",
            hex::encode(random_bytes::<32>()?)
        ));
        let mut tenants = tenants.to_vec();
        tenants.sort();
        tenants.dedup();
        let listed = serde_json::to_string(&tenants).unwrap_or_else(|_| "[]".into());
        let doing = format!("issuing API token {id}");
        on_backend!(self, |pool, _sql| {
            sqlx::query(
                "INSERT INTO api_tokens (id, digest, principal, tenants, created_ns, expires_ns) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&id)
            .bind(digest(token.expose_secret()))
            .bind(principal)
            .bind(&listed)
            .bind(nanos(created))
            .bind(expires.map(nanos))
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(|e| self.db_error(&doing, e))?;
        let record = ApiTokenRecord {
            id,
            principal: principal.to_string(),
            tenants,
            created: Utc.timestamp_nanos(nanos(created)),
            last_used: None,
            revoked: None,
            expires: expires.map(|at| Utc.timestamp_nanos(nanos(at))),
        };
        Ok((record, token))
    }

    /// The live (neither revoked nor expired) token `token` stands for, if any, with its use
    /// noted.
    pub async fn authenticate_api_token(&self, token: &str) -> Result<Option<ApiTokenRecord>> {
        if !token.starts_with(API_TOKEN_PREFIX) {
            return Ok(None);
        }
        let doing = "looking up an API token";
        let now = Utc::now();
        let row: Option<Row> = on_backend!(self, |pool, _sql| {
            sqlx::query_as(select_tokens!(
                "WHERE digest = $1 AND revoked_ns IS NULL \
                 AND (expires_ns IS NULL OR expires_ns > $2)"
            ))
            .bind(digest(token))
            .bind(nanos(now))
            .fetch_optional(pool)
            .await
        })
        .map_err(|e| self.db_error(doing, e))?;
        let Some(mut found) = row.map(record).transpose()? else {
            return Ok(None);
        };
        let now = nanos(now);
        let stale = found
            .last_used
            .is_none_or(|at| now - nanos(at) >= LAST_USED_GRANULARITY_NS);
        if stale {
            let doing = format!("noting the use of API token {}", found.id);
            on_backend!(self, |pool, _sql| {
                sqlx::query("UPDATE api_tokens SET last_used_ns = $2 WHERE id = $1")
                    .bind(&found.id)
                    .bind(now)
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected())
            })
            .map_err(|e| self.db_error(&doing, e))?;
            found.last_used = Some(Utc.timestamp_nanos(now));
        }
        Ok(Some(found))
    }

    /// Every token ever issued, revoked ones included, oldest first.
    pub async fn api_tokens(&self) -> Result<Vec<ApiTokenRecord>> {
        let rows: Vec<Row> = on_backend!(self, |pool, _sql| {
            sqlx::query_as(select_tokens!("ORDER BY created_ns, id"))
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.db_error("listing API tokens", e))?;
        rows.into_iter().map(record).collect()
    }

    /// Revoke token `id`: it authenticates no request from now on. Whether it was live.
    pub async fn revoke_api_token(&self, id: &str) -> Result<bool> {
        let doing = format!("revoking API token {id}");
        let changed = on_backend!(self, |pool, _sql| {
            sqlx::query(
                "UPDATE api_tokens SET revoked_ns = $2 WHERE id = $1 AND revoked_ns IS NULL",
            )
            .bind(id)
            .bind(nanos(Utc::now()))
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(|e| self.db_error(&doing, e))?;
        Ok(changed == 1)
    }

    /// Whether the database answers (a readiness probe).
    pub async fn ping(&self) -> Result<()> {
        on_backend!(self, |pool, _sql| {
            sqlx::query_scalar::<_, i32>("SELECT 1")
                .fetch_one(pool)
                .await
        })
        .map(|_| ())
        .map_err(|e| self.db_error("answering a readiness probe", e))
    }
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn a_bearer_token_is_read_from_its_header_in_any_case() {
        assert_eq!(bearer_token("Bearer shk_1"), Some("shk_1"));
        assert_eq!(bearer_token("bearer  shk_1 "), Some("shk_1"));
        assert_eq!(bearer_token("BEARER shk_1"), Some("shk_1"));
        assert_eq!(bearer_token("Basic YTpi"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
