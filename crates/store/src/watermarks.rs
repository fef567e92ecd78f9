//! Intake watermarks: the newest change a tenant's intake has seen in a source (its PSA), so a
//! runner started again polls from there. A watermark only moves forward: two runners that
//! polled at once leave the later of their two marks.

use chrono::{DateTime, TimeZone, Utc};
use stackhand_core::{Result, TenantId};

use crate::{Store, nanos, on_backend};

impl Store {
    /// The newest change `tenant`'s intake has seen in `source`, if it ever read it.
    pub async fn watermark(
        &self,
        tenant: &TenantId,
        source: &str,
    ) -> Result<Option<DateTime<Utc>>> {
        let doing = format!("reading the {source} watermark of tenant {tenant}");
        let seen: Option<i64> = on_backend!(self, |pool, _sql| {
            sqlx::query_scalar("SELECT seen_ns FROM watermarks WHERE tenant = $1 AND source = $2")
                .bind(tenant.as_str())
                .bind(source)
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.db_error(&doing, e))?;
        Ok(seen.map(|ns| Utc.timestamp_nanos(ns)))
    }

    /// Move `tenant`'s `source` watermark to `seen`, unless it is already later.
    pub async fn advance_watermark(
        &self,
        tenant: &TenantId,
        source: &str,
        seen: DateTime<Utc>,
    ) -> Result<()> {
        let doing = format!("advancing the {source} watermark of tenant {tenant}");
        on_backend!(self, |pool, _sql| {
            sqlx::query(
                "INSERT INTO watermarks (tenant, source, seen_ns, updated_ns) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, source) DO UPDATE \
                 SET seen_ns = excluded.seen_ns, updated_ns = excluded.updated_ns \
                 WHERE watermarks.seen_ns < excluded.seen_ns",
            )
            .bind(tenant.as_str())
            .bind(source)
            .bind(nanos(seen))
            .bind(nanos(Utc::now()))
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(|e| self.db_error(&doing, e))?;
        Ok(())
    }
}
