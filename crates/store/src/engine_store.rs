//! [`EngineStore`] on SQL: idempotency keys, approvals and cap reservations.
//!
//! Each state change is atomic on its own, with the semantics of
//! [`MemoryStore`](stackhand_core::engine::MemoryStore) (the reference these are tested
//! against):
//!
//! - `claim` is `INSERT ... ON CONFLICT DO NOTHING`; the loser reads the winner's row.
//! - `begin` is `UPDATE ... WHERE state = <the expected state>`: one statement, so of two
//!   attempts on one key only one sees its row change.
//! - `release` deletes the key only `WHERE state_kind = 'in_flight'`.
//! - `resolve_approval` is `UPDATE ... WHERE status_kind = 'pending' RETURNING`: one statement,
//!   so of any number of concurrent resolvers exactly one sees a row come back.
//! - `reserve` runs in one write transaction that first locks the counter row of every cap it
//!   touches (in cap id order, so two reservations never deadlock), then counts, then inserts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stackhand_core::approval::{Approval, ApprovalId, ApprovalStatus};
use stackhand_core::engine::{
    BeginFrom, Claim, EngineStore, KeyState, Reservation, ReservationId, Started, Transition,
};
use stackhand_core::{CapLimit, Error, ErrorKind, IdempotencyKey, Result, TenantId};

use crate::{Store, nanos, on_backend};

/// How often `claim` retries when the row it lost to disappears before it can be read (the
/// winner released it). Each retry is a fresh insert, so this only bounds a pathological race.
const CLAIM_ATTEMPTS: usize = 8;

/// The serde tag of a value serialised as an internally tagged enum (`#[serde(tag = ..)]`).
fn tag(value: &serde_json::Value, field: &str) -> Result<String> {
    value
        .get(field)
        .and_then(|t| t.as_str())
        .map(str::to_string)
        .ok_or_else(|| Error::invalid(format!("a stored value has no {field:?} tag")))
}

/// A key state as (tag, JSON).
fn key_state_row(state: &KeyState) -> Result<(String, String)> {
    let value = serde_json::to_value(state)?;
    Ok((tag(&value, "state")?, value.to_string()))
}

fn parse_key_state(tenant: &TenantId, key: &IdempotencyKey, text: &str) -> Result<KeyState> {
    serde_json::from_str(text).map_err(|e| {
        Error::invalid(format!(
            "store: the stored state of idempotency key {key} of tenant {tenant} is malformed: {e}"
        ))
    })
}

/// An approval status as (tag, JSON).
fn status_row(status: &ApprovalStatus) -> Result<(String, String)> {
    let value = serde_json::to_value(status)?;
    Ok((tag(&value, "status")?, value.to_string()))
}

/// An approval from its stored body and status columns.
fn parse_approval(id: &str, body: &str, status: &str) -> Result<Approval> {
    let malformed = |e: serde_json::Error| {
        Error::invalid(format!("store: stored approval {id} is malformed: {e}"))
    };
    let mut approval: Approval = serde_json::from_str(body).map_err(malformed)?;
    approval.status = serde_json::from_str(status).map_err(malformed)?;
    Ok(approval)
}

/// A cap's sliding window in nanoseconds, saturating.
fn window_nanos(cap: &CapLimit) -> i64 {
    i64::try_from(cap.window_seconds)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000_000)
}

#[async_trait]
impl EngineStore for Store {
    async fn claim(
        &self,
        tenant: &TenantId,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<Claim> {
        let doing = format!("claiming idempotency key {key} of tenant {tenant}");
        let db = |e| self.db_error(&doing, e);
        let (kind, state) = key_state_row(&KeyState::InFlight)?;
        for _ in 0..CLAIM_ATTEMPTS {
            let now = nanos(Utc::now());
            let inserted = on_backend!(self, |pool, _sql| {
                sqlx::query(
                    "INSERT INTO idempotency_keys \
                     (tenant, idem_key, fingerprint, state_kind, state, claimed_ns, updated_ns) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6) \
                     ON CONFLICT (tenant, idem_key) DO NOTHING",
                )
                .bind(tenant.as_str())
                .bind(key.as_str())
                .bind(fingerprint)
                .bind(&kind)
                .bind(&state)
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
            })
            .map_err(db)?;
            if inserted == 1 {
                return Ok(Claim::New);
            }
            let seen: Option<(String, String)> = on_backend!(self, |pool, _sql| {
                sqlx::query_as(
                    "SELECT fingerprint, state FROM idempotency_keys \
                     WHERE tenant = $1 AND idem_key = $2",
                )
                .bind(tenant.as_str())
                .bind(key.as_str())
                .fetch_optional(pool)
                .await
            })
            .map_err(db)?;
            match seen {
                Some((seen, _)) if seen != fingerprint => {
                    return Err(Error::conflict(format!(
                        "idempotency key {key} was already used for a different request"
                    )));
                }
                Some((_, state)) => {
                    return Ok(Claim::Seen(parse_key_state(tenant, key, &state)?));
                }
                // Released between our insert and our read: try to claim it again.
                None => continue,
            }
        }
        Err(Error::new(
            ErrorKind::Transient,
            format!(
                "store: {doing}: the key was claimed and released {CLAIM_ATTEMPTS} times while \
                 this claim ran; try again"
            ),
        ))
    }

    async fn settle(&self, tenant: &TenantId, key: &IdempotencyKey, state: KeyState) -> Result<()> {
        let (kind, state) = key_state_row(&state)?;
        let doing =
            format!("recording the {kind} state of idempotency key {key} of tenant {tenant}");
        let updated = on_backend!(self, |pool, _sql| {
            sqlx::query(
                "UPDATE idempotency_keys SET state_kind = $1, state = $2, updated_ns = $3 \
                 WHERE tenant = $4 AND idem_key = $5",
            )
            .bind(&kind)
            .bind(&state)
            .bind(nanos(Utc::now()))
            .bind(tenant.as_str())
            .bind(key.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(|e| self.db_error(&doing, e))?;
        if updated == 0 {
            return Err(Error::not_found(format!(
                "idempotency key {key} was never claimed"
            )));
        }
        Ok(())
    }

    async fn begin(
        &self,
        tenant: &TenantId,
        key: &IdempotencyKey,
        from: BeginFrom,
        started: Started,
    ) -> Result<bool> {
        let (from_kind, from_state) = key_state_row(&from.state())?;
        let (kind, state) = key_state_row(&KeyState::Executing {
            started: Box::new(started),
        })?;
        let doing = format!("beginning execution under idempotency key {key} of tenant {tenant}");
        // The whole expected state is compared, so a pending key begins only for the approval
        // it is waiting on.
        let updated = on_backend!(self, |pool, _sql| {
            sqlx::query(
                "UPDATE idempotency_keys SET state_kind = $1, state = $2, updated_ns = $3 \
                 WHERE tenant = $4 AND idem_key = $5 AND state_kind = $6 AND state = $7",
            )
            .bind(&kind)
            .bind(&state)
            .bind(nanos(Utc::now()))
            .bind(tenant.as_str())
            .bind(key.as_str())
            .bind(&from_kind)
            .bind(&from_state)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(|e| self.db_error(&doing, e))?;
        if updated == 1 {
            return Ok(true);
        }
        match self.state(tenant, key).await? {
            Some(_) => Ok(false),
            None => Err(Error::not_found(format!(
                "idempotency key {key} was never claimed"
            ))),
        }
    }

    async fn state(&self, tenant: &TenantId, key: &IdempotencyKey) -> Result<Option<KeyState>> {
        let doing = format!("reading idempotency key {key} of tenant {tenant}");
        let state: Option<String> = on_backend!(self, |pool, _sql| {
            sqlx::query_scalar(
                "SELECT state FROM idempotency_keys WHERE tenant = $1 AND idem_key = $2",
            )
            .bind(tenant.as_str())
            .bind(key.as_str())
            .fetch_optional(pool)
            .await
        })
        .map_err(|e| self.db_error(&doing, e))?;
        state
            .map(|text| parse_key_state(tenant, key, &text))
            .transpose()
    }

    async fn release(&self, tenant: &TenantId, key: &IdempotencyKey) -> Result<bool> {
        let doing = format!("releasing idempotency key {key} of tenant {tenant}");
        let (in_flight, _) = key_state_row(&KeyState::InFlight)?;
        let deleted = on_backend!(self, |pool, _sql| {
            sqlx::query(
                "DELETE FROM idempotency_keys \
                 WHERE tenant = $1 AND idem_key = $2 AND state_kind = $3",
            )
            .bind(tenant.as_str())
            .bind(key.as_str())
            .bind(&in_flight)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(|e| self.db_error(&doing, e))?;
        Ok(deleted > 0)
    }

    async fn insert_approval(&self, approval: &Approval) -> Result<()> {
        let doing = format!(
            "storing approval {} of tenant {}",
            approval.id, approval.tenant
        );
        let body = serde_json::to_string(approval)?;
        let (kind, status) = status_row(&approval.status)?;
        let inserted = on_backend!(self, |pool, _sql| {
            sqlx::query(
                "INSERT INTO approvals \
                 (id, tenant, status_kind, status, created_ns, expires_ns, body) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(approval.id.to_string())
            .bind(approval.tenant.as_str())
            .bind(&kind)
            .bind(&status)
            .bind(nanos(approval.created))
            .bind(nanos(approval.expires))
            .bind(&body)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(|e| self.db_error(&doing, e))?;
        if inserted == 0 {
            return Err(Error::conflict(format!(
                "approval {} already exists",
                approval.id
            )));
        }
        Ok(())
    }

    async fn resolve_approval(&self, id: ApprovalId, to: ApprovalStatus) -> Result<Transition> {
        let (kind, status) = status_row(&to)?;
        let doing = format!("moving approval {id} to {kind}");
        let (pending, _) = status_row(&ApprovalStatus::Pending)?;
        let id_text = id.to_string();
        // The compare-and-swap: one statement, so exactly one of any concurrent resolvers
        // gets the row back.
        let moved: Option<String> = on_backend!(self, |pool, _sql| {
            sqlx::query_scalar(
                "UPDATE approvals SET status_kind = $1, status = $2 \
                 WHERE id = $3 AND status_kind = $4 RETURNING body",
            )
            .bind(&kind)
            .bind(&status)
            .bind(&id_text)
            .bind(&pending)
            .fetch_optional(pool)
            .await
        })
        .map_err(|e| self.db_error(&doing, e))?;
        if let Some(body) = moved {
            return Ok(Transition::Done(parse_approval(&id_text, &body, &status)?));
        }
        match self.approval(id).await? {
            Some(current) => Ok(Transition::AlreadyResolved(current)),
            None => Err(Error::not_found(format!("no approval {id}"))),
        }
    }

    async fn approval(&self, id: ApprovalId) -> Result<Option<Approval>> {
        let doing = format!("reading approval {id}");
        let id_text = id.to_string();
        let row: Option<(String, String)> = on_backend!(self, |pool, _sql| {
            sqlx::query_as("SELECT body, status FROM approvals WHERE id = $1")
                .bind(&id_text)
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.db_error(&doing, e))?;
        row.map(|(body, status)| parse_approval(&id_text, &body, &status))
            .transpose()
    }

    async fn pending_approvals(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Approval>> {
        let doing = format!("listing the pending approvals of tenant {tenant}");
        let (pending, _) = status_row(&ApprovalStatus::Pending)?;
        let rows: Vec<(String, String, String)> = on_backend!(self, |pool, _sql| {
            sqlx::query_as(
                "SELECT id, body, status FROM approvals \
                 WHERE tenant = $1 AND status_kind = $2 AND expires_ns > $3 \
                 ORDER BY created_ns, id",
            )
            .bind(tenant.as_str())
            .bind(&pending)
            .bind(nanos(now))
            .fetch_all(pool)
            .await
        })
        .map_err(|e| self.db_error(&doing, e))?;
        rows.iter()
            .map(|(id, body, status)| parse_approval(id, body, status))
            .collect()
    }

    async fn reserve(
        &self,
        tenant: &TenantId,
        caps: &[CapLimit],
        now: DateTime<Utc>,
    ) -> Result<Reservation> {
        let id = ReservationId(uuid::Uuid::new_v4());
        if caps.is_empty() {
            return Ok(Reservation::Granted(id));
        }
        // A cap named twice counts once.
        let mut unique: Vec<&CapLimit> = Vec::with_capacity(caps.len());
        for cap in caps {
            if !unique.iter().any(|u| u.id == cap.id) {
                unique.push(cap);
            }
        }
        let mut lock_order: Vec<&str> = unique.iter().map(|c| c.id.as_str()).collect();
        lock_order.sort_unstable();
        let names = lock_order.join(", ");
        let doing = format!("reserving a slot under caps {names} for tenant {tenant}");
        let db = |e| self.db_error(&doing, e);
        let now = nanos(now);
        let reservation = id.0.to_string();

        let full: Option<CapLimit> = on_backend!(self, |pool, sql| {
            async {
                let mut tx = pool.begin_with(sql.begin_write).await?;
                for cap_id in &lock_order {
                    sqlx::query(
                        "INSERT INTO caps (tenant, cap_id) VALUES ($1, $2) \
                         ON CONFLICT (tenant, cap_id) DO NOTHING",
                    )
                    .bind(tenant.as_str())
                    .bind(*cap_id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(sql.lock_cap)
                        .bind(tenant.as_str())
                        .bind(*cap_id)
                        .execute(&mut *tx)
                        .await?;
                }
                for cap in &unique {
                    let cutoff = now.saturating_sub(window_nanos(cap));
                    // Slots older than the window have left it for good.
                    sqlx::query(
                        "DELETE FROM cap_reservations \
                         WHERE tenant = $1 AND cap_id = $2 AND at_ns <= $3",
                    )
                    .bind(tenant.as_str())
                    .bind(cap.id.as_str())
                    .bind(cutoff)
                    .execute(&mut *tx)
                    .await?;
                    let taken: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM cap_reservations WHERE tenant = $1 AND cap_id = $2",
                    )
                    .bind(tenant.as_str())
                    .bind(cap.id.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                    if taken >= i64::from(cap.max) {
                        tx.rollback().await?;
                        return Ok(Some((*cap).clone()));
                    }
                }
                for cap in &unique {
                    sqlx::query(
                        "INSERT INTO cap_reservations (tenant, cap_id, reservation, at_ns) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(tenant.as_str())
                    .bind(cap.id.as_str())
                    .bind(&reservation)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(None)
            }
            .await
        })
        .map_err(db)?;
        Ok(match full {
            Some(cap) => Reservation::Full(cap),
            None => Reservation::Granted(id),
        })
    }

    async fn release_reservation(&self, tenant: &TenantId, id: ReservationId) -> Result<()> {
        let doing = format!("releasing cap reservation {} of tenant {tenant}", id.0);
        on_backend!(self, |pool, _sql| {
            sqlx::query("DELETE FROM cap_reservations WHERE tenant = $1 AND reservation = $2")
                .bind(tenant.as_str())
                .bind(id.0.to_string())
                .execute(pool)
                .await
                .map(|_| ())
        })
        .map_err(|e| self.db_error(&doing, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tags_the_sql_relies_on_are_serdes() {
        assert_eq!(key_state_row(&KeyState::InFlight).unwrap().0, "in_flight");
        assert_eq!(status_row(&ApprovalStatus::Pending).unwrap().0, "pending");
    }
}
