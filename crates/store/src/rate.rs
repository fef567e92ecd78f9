//! Vendor rate budgets shared by every runner on the database: one token bucket per (tenant,
//! vendor), refilled at the client's rate up to its burst, timed on the database clock, and the
//! pause a vendor asked for (a 429's `Retry-After`, a spent budget header) held for all. Each
//! take is one write transaction that locks the bucket's row, so concurrent runners never both
//! spend the last token.

use std::time::Duration;

use stackhand_core::{Error, Result, TenantId};

use crate::{Store, on_backend};

/// (tokens, updated_ms, paused_until_ms)
type BucketRow = (f64, i64, i64);

impl Store {
    /// Take one request of `vendor` for `tenant` from the shared bucket refilled at
    /// `per_second` and holding at most `burst`. Answers how long to wait before trying again;
    /// zero means the token was taken and the request may go now. A pause any runner set is
    /// part of the wait.
    pub async fn take_rate_token(
        &self,
        tenant: &TenantId,
        vendor: &str,
        per_second: f64,
        burst: u32,
    ) -> Result<Duration> {
        if !(per_second.is_finite() && per_second > 0.0) || burst == 0 {
            return Err(Error::invalid(format!(
                "a shared rate budget needs a positive rate and burst, got {per_second}/s and \
                 {burst}"
            )));
        }
        let doing = format!("taking a {vendor} rate token of tenant {tenant}");
        let burst = f64::from(burst);
        let wait_ms: i64 = on_backend!(self, |pool, sql| {
            async {
                let mut tx = pool.begin_with(sql.begin_write).await?;
                let now: i64 =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {}", sql.now_ms)))
                        .fetch_one(&mut *tx)
                        .await?;
                // The row first, so there is always one to lock: two runners taking the first
                // token of a new bucket must not both start from a full one.
                sqlx::query(
                    "INSERT INTO rate_buckets (tenant, vendor, tokens, updated_ms) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, vendor) DO NOTHING",
                )
                .bind(tenant.as_str())
                .bind(vendor)
                .bind(burst)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let row: Option<BucketRow> = sqlx::query_as(sql.lock_rate_bucket)
                    .bind(tenant.as_str())
                    .bind(vendor)
                    .fetch_optional(&mut *tx)
                    .await?;
                let (tokens, updated, paused_until) = row.unwrap_or((burst, now, 0));
                let elapsed = (now - updated).max(0) as f64 / 1000.0;
                let mut tokens = (tokens + elapsed * per_second).min(burst);
                let wait = if paused_until > now {
                    paused_until - now
                } else if tokens >= 1.0 {
                    tokens -= 1.0;
                    0
                } else {
                    (((1.0 - tokens) / per_second) * 1000.0).ceil() as i64
                };
                sqlx::query(
                    "INSERT INTO rate_buckets (tenant, vendor, tokens, updated_ms, \
                     paused_until_ms) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (tenant, vendor) DO UPDATE SET tokens = excluded.tokens, \
                     updated_ms = excluded.updated_ms",
                )
                .bind(tenant.as_str())
                .bind(vendor)
                .bind(tokens)
                .bind(now)
                .bind(paused_until)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(wait.max(0))
            }
            .await
            .map_err(|e| self.db_error(&doing, e))?
        });
        Ok(Duration::from_millis(wait_ms as u64))
    }

    /// Hold every runner's requests of `vendor` for `tenant` for `delay` from now (a longer
    /// pause already in force is kept).
    pub async fn pause_rate(&self, tenant: &TenantId, vendor: &str, delay: Duration) -> Result<()> {
        let doing = format!("pausing {vendor} requests of tenant {tenant}");
        let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        on_backend!(self, |pool, sql| {
            let upsert = format!(
                "INSERT INTO rate_buckets (tenant, vendor, tokens, updated_ms, paused_until_ms) \
                 VALUES ($1, $2, 0, {now}, {now} + $3) ON CONFLICT (tenant, vendor) DO UPDATE \
                 SET paused_until_ms = excluded.paused_until_ms \
                 WHERE rate_buckets.paused_until_ms < excluded.paused_until_ms",
                now = sql.now_ms
            );
            sqlx::query(sqlx::AssertSqlSafe(upsert))
                .bind(tenant.as_str())
                .bind(vendor)
                .bind(delay_ms)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
                .map_err(|e| self.db_error(&doing, e))?
        });
        Ok(())
    }
}
