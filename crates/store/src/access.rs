//! Refused calls at an access point (the HTTP API, the MCP transport): each is recorded in the
//! audit trail, up to a rate per source, so a flood of bad tokens cannot flood the trail.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use chrono::Utc;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use stackhand_core::audit::{AuditKind, AuditRecord, AuditSink};
use stackhand_core::{Result, TenantId};

use crate::{ApiTokenRecord, Store};

/// How many refusals a minute one source (an IP address) gets recorded and answered as such
/// (401 / 403), in a burst or spread out; past it, a refusal is throttled.
pub const REFUSALS_PER_MINUTE: u32 = 30;

/// Sources remembered before the idle ones are forgotten.
const SOURCES_KEPT: usize = 10_000;

/// A call refused at an access point, as the audit trail keeps it: never the token, only its
/// id (ADR 0010).
#[derive(Debug, Clone, Copy)]
pub struct AccessRefusal<'a> {
    /// The audit chain it goes to: the tenant the call named when there is one, else a chain
    /// of the access point's own.
    pub chain: &'a TenantId,
    /// Where the call came from, when the access point knows (the rate is per source).
    pub source: Option<IpAddr>,
    /// The HTTP status answered (401, 403).
    pub status: u16,
    /// The HTTP method.
    pub method: &'a str,
    /// The path asked for.
    pub path: &'a str,
    /// The tenant the call named, as written, if it named one.
    pub tenant: Option<&'a str>,
    /// The token that authenticated, when one did (refused for lack of standing).
    pub token: Option<&'a ApiTokenRecord>,
    /// Why, for the people reading the trail (never sent to the caller).
    pub why: &'a str,
}

/// What became of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Recorded in the audit trail: answer it as refused (401 / 403).
    Recorded,
    /// Its source is past [`REFUSALS_PER_MINUTE`]: logged, not recorded; answer 429 with
    /// `Retry-After`.
    Throttled {
        /// Seconds until the source may be refused (and recorded) again, at least 1.
        retry_after_secs: u64,
    },
}

/// The per-source budget of recorded refusals.
pub(crate) struct RefusalBudget {
    limiter: RateLimiter<Option<IpAddr>, HashMapStateStore<Option<IpAddr>>, DefaultClock>,
    clock: DefaultClock,
}

impl Default for RefusalBudget {
    fn default() -> Self {
        let per_minute = NonZeroU32::new(REFUSALS_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::hashmap(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
        }
    }
}

impl RefusalBudget {
    /// Spend one refusal of `source`'s budget, or say how long until there is one.
    fn spend(&self, source: Option<IpAddr>) -> std::result::Result<(), Duration> {
        if self.limiter.len() > SOURCES_KEPT {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&source)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

impl Store {
    /// Record `refusal` in the audit trail (and the log) as
    /// [`AuditKind::AccessRefused`], unless its source has had [`REFUSALS_PER_MINUTE`] recorded
    /// in the last minute: then it is only logged, and [`Refused::Throttled`] says when to
    /// come back.
    pub async fn audit_refusal(&self, refusal: AccessRefusal<'_>) -> Result<Refused> {
        let AccessRefusal {
            chain,
            source,
            status,
            method,
            path,
            tenant,
            token,
            why,
        } = refusal;
        let token_id = token.map(|t| t.id.as_str());
        let spent = self.refusals.spend(source);
        tracing::warn!(
            ?source,
            status,
            method,
            path,
            token = token_id,
            why,
            throttled = spent.is_err(),
            "a call was refused"
        );
        if let Err(wait) = spent {
            // Whole seconds, rounded up: a caller waiting that long finds budget again.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Ok(Refused::Throttled {
                retry_after_secs: seconds.max(1),
            });
        }
        self.append(AuditRecord {
            tenant: chain.clone(),
            at: Utc::now(),
            kind: AuditKind::AccessRefused,
            request: None,
            action: None,
            actor: token.map(|t| t.principal.clone()),
            data: serde_json::json!({
                "status": status,
                "method": method,
                "path": path,
                "tenant": tenant,
                "source": source.map(|ip| ip.to_string()),
                // The token's id (a key named `token` would be redacted on sealing).
                "caller": token_id,
                "why": why,
            }),
        })
        .await?;
        Ok(Refused::Recorded)
    }
}
