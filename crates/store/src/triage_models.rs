//! Each tenant's triage model: the file `stackhand triage train` wrote, and what training
//! learned and measured. The store keeps the text; `stackhand-triage` reads it.

use chrono::{DateTime, TimeZone, Utc};
use stackhand_core::{Result, TenantId};

use crate::{Store, nanos, on_backend};

/// A tenant's stored triage model.
#[derive(Debug, Clone, PartialEq)]
pub struct TriageModelRecord {
    /// When it was trained.
    pub trained_at: DateTime<Utc>,
    /// The model file.
    pub model: String,
    /// What training learned and measured.
    pub summary: serde_json::Value,
}

impl Store {
    /// Keep `model` as `tenant`'s triage model, replacing any before it.
    pub async fn save_triage_model(
        &self,
        tenant: &TenantId,
        model: &str,
        summary: &serde_json::Value,
    ) -> Result<()> {
        let doing = format!("saving the triage model of tenant {tenant}");
        on_backend!(self, |pool, _sql| {
            sqlx::query(
                "INSERT INTO triage_models (tenant, trained_ns, model, summary) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (tenant) DO UPDATE \
                 SET trained_ns = excluded.trained_ns, model = excluded.model, \
                 summary = excluded.summary",
            )
            .bind(tenant.as_str())
            .bind(nanos(Utc::now()))
            .bind(model)
            .bind(summary.to_string())
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
        .map_err(|e| self.db_error(&doing, e))?;
        Ok(())
    }

    /// `tenant`'s triage model, if it was ever trained.
    pub async fn triage_model(&self, tenant: &TenantId) -> Result<Option<TriageModelRecord>> {
        let doing = format!("reading the triage model of tenant {tenant}");
        let row: Option<(i64, String, String)> = on_backend!(self, |pool, _sql| {
            sqlx::query_as("SELECT trained_ns, model, summary FROM triage_models WHERE tenant = $1")
                .bind(tenant.as_str())
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.db_error(&doing, e))?;
        row.map(|(ns, model, summary)| {
            let summary = serde_json::from_str(&summary).map_err(|e| {
                stackhand_core::Error::permanent(format!(
                    "{doing}: its summary is not JSON ({e}); train it again with `stackhand \
                     triage train --tenant {tenant}`"
                ))
            })?;
            Ok(TriageModelRecord {
                trained_at: Utc.timestamp_nanos(ns),
                model,
                summary,
            })
        })
        .transpose()
    }
}
