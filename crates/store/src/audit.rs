//! [`AuditSink`] on SQL: each tenant's chain in `audit_events`, its anchored head in
//! `audit_heads`, both written in one transaction.
//!
//! An append locks the tenant's head row (PostgreSQL: `SELECT ... FOR UPDATE`; SQLite: the
//! transaction began with `BEGIN IMMEDIATE`, which holds the database's write lock), reads the
//! tail, checks that the tail is the event the head anchors and is sealed with the tenant's key,
//! seals the new event after it, inserts it and moves the head, then commits. Two appenders on
//! two connections (or two processes) therefore take turns and never seal two events after the
//! same tail; the `(tenant, seq)` primary key would refuse a second one anyway.
//!
//! Before its first append to a tenant, a store verifies the tenant's whole chain, like
//! [`JsonlAuditSink`](stackhand_core::audit::JsonlAuditSink), and refuses to continue a chain
//! that does not verify.

use async_trait::async_trait;
use stackhand_core::audit::{
    AuditEvent, AuditHead, AuditKey, AuditRecord, AuditSink, ChainBreak, ChainSummary, verify,
};
use stackhand_core::{Error, Result, TenantId};

use crate::{Store, nanos, on_backend};

/// A head row: (seq, event_mac, mac), all NULL until the tenant's first event is anchored.
type HeadRow = (Option<i64>, Option<String>, Option<String>);

fn head_from_row(tenant: &TenantId, row: HeadRow) -> Result<Option<AuditHead>> {
    let (Some(seq), event_mac, mac) = row else {
        return Ok(None);
    };
    let seq = u64::try_from(seq).map_err(|_| {
        Error::invalid(format!(
            "store: the anchored audit head of tenant {tenant} has a negative seq {seq}"
        ))
    })?;
    // A half-written head (a NULL MAC) cannot verify, so `verify` reports it as forged.
    Ok(Some(AuditHead {
        tenant: tenant.clone(),
        seq,
        event_mac: event_mac.unwrap_or_default(),
        mac: mac.unwrap_or_default(),
    }))
}

fn parse_event(tenant: &TenantId, seq: i64, body: &str) -> Result<AuditEvent> {
    serde_json::from_str(body).map_err(|e| {
        Error::invalid(format!(
            "store: audit event {seq} of tenant {tenant} is malformed: {e}"
        ))
    })
}

fn seq_column(seq: u64) -> Result<i64> {
    i64::try_from(seq).map_err(|_| Error::invalid(format!("audit seq {seq} is out of range")))
}

/// Why the chain cannot be continued from `tail` under `head`, if it cannot. Appends write the
/// event and its head in one transaction, so a sound chain's tail is exactly the anchored event.
fn continuation_problem(
    tenant: &TenantId,
    key: &AuditKey,
    head: Option<&AuditHead>,
    tail: Option<&AuditEvent>,
) -> Option<String> {
    match (head, tail) {
        (None, None) => None,
        (None, Some(tail)) => Some(format!(
            "the log holds events up to seq {} but no head is anchored",
            tail.seq
        )),
        (Some(head), None) => Some(format!(
            "the anchored head is at seq {} but the log is empty",
            head.seq
        )),
        (Some(head), Some(tail)) => {
            if head.tenant != *tenant || !head.is_sealed_with(key) {
                Some("the anchored head does not verify under the tenant's key".into())
            } else if tail.record.tenant != *tenant || !tail.is_sealed_with(key) {
                Some(format!(
                    "the last event (seq {}) does not verify under the tenant's key",
                    tail.seq
                ))
            } else if tail.seq != head.seq || tail.mac != head.event_mac {
                Some(format!(
                    "the log ends at seq {} but the anchored head is at seq {} on another event",
                    tail.seq, head.seq
                ))
            } else {
                None
            }
        }
    }
}

impl Store {
    /// The anchored head of `tenant`'s audit chain, or None before its first event.
    pub async fn audit_head(&self, tenant: &TenantId) -> Result<Option<AuditHead>> {
        let doing = format!("reading the audit head of tenant {tenant}");
        let row: Option<HeadRow> = on_backend!(self, |pool, _sql| {
            sqlx::query_as("SELECT seq, event_mac, mac FROM audit_heads WHERE tenant = $1")
                .bind(tenant.as_str())
                .fetch_optional(pool)
                .await
        })
        .map_err(|e| self.db_error(&doing, e))?;
        match row {
            Some(row) => head_from_row(tenant, row),
            None => Ok(None),
        }
    }

    /// Every tenant with an audit event or an anchored head, sorted. A head whose events were
    /// deleted still names its tenant, so the deletion shows when it is verified.
    pub async fn audit_tenants(&self) -> Result<Vec<TenantId>> {
        let names: Vec<String> = on_backend!(self, |pool, _sql| {
            sqlx::query_scalar(
                "SELECT tenant FROM audit_heads UNION SELECT tenant FROM audit_events \
                 ORDER BY 1",
            )
            .fetch_all(pool)
            .await
        })
        .map_err(|e| self.db_error("listing the tenants with an audit chain", e))?;
        names
            .into_iter()
            .map(|name| {
                TenantId::new(name).map_err(|e| {
                    Error::invalid(format!(
                        "store: an audit chain has an invalid tenant id: {}",
                        e.message()
                    ))
                })
            })
            .collect()
    }

    /// The head, then the events, from one snapshot.
    async fn read_chain(&self, tenant: &TenantId) -> Result<(Option<AuditHead>, Vec<AuditEvent>)> {
        let doing = format!("reading the audit chain of tenant {tenant}");
        let (head, rows): (Option<HeadRow>, Vec<(i64, String)>) = on_backend!(self, |pool, sql| {
            async {
                let mut tx = pool.begin_with(sql.begin_read).await?;
                let head =
                    sqlx::query_as("SELECT seq, event_mac, mac FROM audit_heads WHERE tenant = $1")
                        .bind(tenant.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                let rows = sqlx::query_as(
                    "SELECT seq, body FROM audit_events WHERE tenant = $1 ORDER BY seq",
                )
                .bind(tenant.as_str())
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>((head, rows))
            }
            .await
        })
        .map_err(|e| self.db_error(&doing, e))?;
        let head = match head {
            Some(row) => head_from_row(tenant, row)?,
            None => None,
        };
        let events = rows
            .iter()
            .map(|(seq, body)| parse_event(tenant, *seq, body))
            .collect::<Result<Vec<_>>>()?;
        Ok((head, events))
    }

    /// Verify the tenant's whole chain once per store before appending to it.
    async fn verify_before_first_append(&self, tenant: &TenantId, key: &AuditKey) -> Result<()> {
        let known = self
            .verified
            .lock()
            .map_err(|_| Error::permanent("store: the verified-tenants lock was poisoned"))?
            .contains(tenant);
        if known {
            return Ok(());
        }
        let (head, events) = self.read_chain(tenant).await?;
        verify(tenant, &events, key, head.as_ref()).map_err(|broken| {
            Error::permanent(format!(
                "refusing to append to the audit chain of {tenant} in {}: {broken}",
                self.url()
            ))
        })?;
        self.verified
            .lock()
            .map_err(|_| Error::permanent("store: the verified-tenants lock was poisoned"))?
            .insert(tenant.clone());
        Ok(())
    }
}

#[async_trait]
impl AuditSink for Store {
    async fn append(&self, record: AuditRecord) -> Result<AuditEvent> {
        let tenant = record.tenant.clone();
        let key = self.keys.key(&tenant)?;
        self.verify_before_first_append(&tenant, &key).await?;
        let doing = format!(
            "appending a {:?} event to the audit chain of tenant {tenant}",
            record.kind
        );
        let db = |e| self.db_error(&doing, e);
        let refuse = |problem: String| {
            Error::permanent(format!(
                "refusing to append to the audit chain of {tenant} in {}: {problem}",
                self.url()
            ))
        };
        on_backend!(self, |pool, sql| {
            async {
                let mut tx = pool.begin_with(sql.begin_write).await.map_err(db)?;
                sqlx::query(
                    "INSERT INTO audit_heads (tenant) VALUES ($1) ON CONFLICT (tenant) DO NOTHING",
                )
                .bind(tenant.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                let head_row: HeadRow = sqlx::query_as(sql.lock_head)
                    .bind(tenant.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                let head = head_from_row(&tenant, head_row)?;
                let tail: Option<(i64, String)> = sqlx::query_as(
                    "SELECT seq, body FROM audit_events WHERE tenant = $1 \
                     ORDER BY seq DESC LIMIT 1",
                )
                .bind(tenant.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
                let tail = tail
                    .map(|(seq, body)| parse_event(&tenant, seq, &body))
                    .transpose()?;
                if let Some(problem) =
                    continuation_problem(&tenant, &key, head.as_ref(), tail.as_ref())
                {
                    return Err(refuse(problem));
                }

                let event = AuditEvent::seal(record, tail.as_ref(), &key);
                let head = AuditHead::seal(&event, &key);
                let seq = seq_column(event.seq)?;
                sqlx::query(
                    "INSERT INTO audit_events \
                     (tenant, seq, at_ns, kind, request, action, actor, mac, body) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(tenant.as_str())
                .bind(seq)
                .bind(nanos(event.record.at))
                .bind(
                    serde_json::to_value(event.record.kind)?
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
                .bind(
                    event
                        .record
                        .request
                        .as_ref()
                        .map(|r| r.as_str().to_string()),
                )
                .bind(event.record.action.as_ref().map(|a| a.as_str().to_string()))
                .bind(event.record.actor.clone())
                .bind(&event.mac)
                .bind(serde_json::to_string(&event)?)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                sqlx::query(
                    "UPDATE audit_heads SET seq = $1, event_mac = $2, mac = $3 WHERE tenant = $4",
                )
                .bind(seq)
                .bind(&head.event_mac)
                .bind(&head.mac)
                .bind(tenant.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(event)
            }
            .await
        })
    }

    async fn events(&self, tenant: &TenantId) -> Result<Vec<AuditEvent>> {
        Ok(self.read_chain(tenant).await?.1)
    }

    async fn verify_tenant(
        &self,
        tenant: &TenantId,
    ) -> Result<std::result::Result<ChainSummary, ChainBreak>> {
        let key = self.keys.key(tenant)?;
        let (head, events) = self.read_chain(tenant).await?;
        Ok(verify(tenant, &events, &key, head.as_ref()))
    }
}
