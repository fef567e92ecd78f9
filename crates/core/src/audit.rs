//! The audit trail: every plan, decision, approval, execution and result, in a per-tenant hash
//! chain that [`verify`] checks for edited, inserted or removed events.
//!
//! Records are redacted before they are sealed: values under keys that name secrets
//! (`password`, `secret`, `token`, ...) never reach a sink.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{ActionId, IdempotencyKey, TenantId, Timestamp};

/// The hash the first event of every tenant's chain points back to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A read-only plan was made.
    PlanRecorded,
    /// Planning failed (nothing was decided or changed).
    PlanFailed,
    /// The policy decided.
    Decided,
    /// An approval was requested.
    ApprovalRequested,
    /// An approver approved.
    ApprovalGranted,
    /// An approver refused, or an approval attempt was refused (self-approval, no authority).
    ApprovalRefused,
    /// An approval expired.
    ApprovalExpired,
    /// Execution began.
    ExecutionStarted,
    /// Execution finished well.
    ExecutionSucceeded,
    /// Execution failed.
    ExecutionFailed,
    /// An undo began.
    UndoStarted,
    /// An undo finished well.
    UndoSucceeded,
    /// An undo failed.
    UndoFailed,
}

/// An event before it is sealed into the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The tenant whose chain it joins.
    pub tenant: TenantId,
    /// When.
    pub at: Timestamp,
    /// What.
    pub kind: AuditKind,
    /// The request's idempotency key.
    pub request: Option<IdempotencyKey>,
    /// The action.
    pub action: Option<ActionId>,
    /// Who acted (requester, approver, agent).
    pub actor: Option<String>,
    /// Details (plan, decision, outcome), redacted on sealing.
    pub data: serde_json::Value,
}

/// A sealed event in a tenant's chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the tenant's chain, from 1.
    pub seq: u64,
    /// The record.
    #[serde(flatten)]
    pub record: AuditRecord,
    /// The hash of the event before (or [`GENESIS_HASH`]).
    pub prev_hash: String,
    /// SHA-256 over this event's content and `prev_hash`.
    pub hash: String,
}

impl AuditEvent {
    /// Seal a record after `prev` (None for the first of a tenant).
    pub fn seal(mut record: AuditRecord, prev: Option<&AuditEvent>) -> Self {
        redact(&mut record.data);
        let seq = prev.map_or(1, |p| p.seq + 1);
        let prev_hash = prev.map_or_else(|| GENESIS_HASH.to_string(), |p| p.hash.clone());
        let hash = content_hash(seq, &record, &prev_hash);
        Self {
            seq,
            record,
            prev_hash,
            hash,
        }
    }

    /// Recompute the hash from the content.
    pub fn computed_hash(&self) -> String {
        content_hash(self.seq, &self.record, &self.prev_hash)
    }
}

fn content_hash(seq: u64, record: &AuditRecord, prev_hash: &str) -> String {
    let value = serde_json::to_value((seq, record, prev_hash)).unwrap_or_default();
    let mut canonical = String::new();
    write_canonical(&value, &mut canonical);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// JSON with object keys sorted at every level, so the hash does not depend on whether
/// serde_json's `preserve_order` feature is on in this build (another crate may turn it on) or
/// in the build that wrote the chain.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

const SECRET_KEY_PARTS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "passcode",
    "temporary_access_pass",
    "api_key",
    "apikey",
    "private_key",
    "credential",
    "authorization",
    "reset_link",
];

/// Replace every value under a key that names a secret with `"[REDACTED]"`, recursively.
///
/// ```
/// let mut v = serde_json::json!({"user": "jane", "newPassword": "hunter2", "nested": [{"client_secret": "x"}]});
/// stackhand_core::audit::redact(&mut v);
/// assert_eq!(v["newPassword"], "[REDACTED]");
/// assert_eq!(v["nested"][0]["client_secret"], "[REDACTED]");
/// assert_eq!(v["user"], "jane");
/// ```
pub fn redact(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let lower = key.to_ascii_lowercase();
                if SECRET_KEY_PARTS.iter().any(|p| lower.contains(p))
                    && !v.is_null()
                    && !v.is_boolean()
                {
                    *v = serde_json::Value::String("[REDACTED]".into());
                } else {
                    redact(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Where audit events go. `append` returns only once the event is durable for that sink.
#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Seal the record onto its tenant's chain and store it.
    async fn append(&self, record: AuditRecord) -> Result<AuditEvent>;

    /// A tenant's events, in order.
    async fn events(&self, tenant: &TenantId) -> Result<Vec<AuditEvent>>;
}

/// Keeps events in memory; for tests, examples and the demo.
#[derive(Debug, Default)]
pub struct MemoryAuditSink {
    chains: Mutex<HashMap<TenantId, Vec<AuditEvent>>>,
}

impl MemoryAuditSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replace a tenant's events wholesale (tests use this to tamper).
    pub fn replace(&self, tenant: &TenantId, events: Vec<AuditEvent>) {
        self.chains.lock().insert(tenant.clone(), events);
    }
}

#[async_trait]
impl AuditSink for MemoryAuditSink {
    async fn append(&self, record: AuditRecord) -> Result<AuditEvent> {
        let mut chains = self.chains.lock();
        let chain = chains.entry(record.tenant.clone()).or_default();
        let event = AuditEvent::seal(record, chain.last());
        chain.push(event.clone());
        Ok(event)
    }

    async fn events(&self, tenant: &TenantId) -> Result<Vec<AuditEvent>> {
        Ok(self.chains.lock().get(tenant).cloned().unwrap_or_default())
    }
}

/// Appends JSON lines, one file per tenant (`<dir>/<tenant>.jsonl`), synced before `append`
/// returns. Reopening a directory continues each chain where it stopped.
#[derive(Debug)]
pub struct JsonlAuditSink {
    dir: PathBuf,
    heads: Mutex<HashMap<TenantId, AuditEvent>>,
}

impl JsonlAuditSink {
    /// Open (creating) a directory of per-tenant audit files.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        Ok(Self {
            dir,
            heads: Mutex::new(HashMap::new()),
        })
    }

    fn path(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{tenant}.jsonl"))
    }

    fn read(&self, tenant: &TenantId) -> Result<Vec<AuditEvent>> {
        let path = self.path(tenant);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(&path, e)),
        };
        let mut events = Vec::new();
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| io_error(&path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let event = serde_json::from_str(&line).map_err(|e| {
                Error::invalid(format!(
                    "{}:{}: malformed audit event: {e}",
                    path.display(),
                    n + 1
                ))
            })?;
            events.push(event);
        }
        Ok(events)
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::permanent(format!("audit file {}: {e}", path.display())).with_source(e)
}

#[async_trait]
impl AuditSink for JsonlAuditSink {
    async fn append(&self, record: AuditRecord) -> Result<AuditEvent> {
        // The lock spans read-head, write and sync so concurrent appends cannot fork the chain.
        let mut heads = self.heads.lock();
        let tenant = record.tenant.clone();
        if !heads.contains_key(&tenant)
            && let Some(last) = self.read(&tenant)?.pop()
        {
            heads.insert(tenant.clone(), last);
        }
        let event = AuditEvent::seal(record, heads.get(&tenant));
        let path = self.path(&tenant);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        let mut line = serde_json::to_vec(&event)?;
        line.push(b'\n');
        file.write_all(&line).map_err(|e| io_error(&path, e))?;
        file.sync_data().map_err(|e| io_error(&path, e))?;
        heads.insert(tenant, event.clone());
        Ok(event)
    }

    async fn events(&self, tenant: &TenantId) -> Result<Vec<AuditEvent>> {
        self.read(tenant)
    }
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at seq {seq}: {problem}")]
pub struct ChainBreak {
    /// The first event that does not fit.
    pub seq: u64,
    /// What is wrong.
    pub problem: String,
}

/// A verified chain's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainSummary {
    /// Events checked.
    pub events: u64,
    /// The last event's hash: anchor it elsewhere to detect removal of trailing events.
    pub head: String,
}

/// Check one tenant's chain: every hash matches its content, every event points at the one
/// before, sequence numbers run 1, 2, 3 without gaps, and all belong to one tenant.
///
/// An edited event fails its own hash; an inserted or removed event breaks the sequence or the
/// back-link. Removing events from the end is only visible against an anchored head, which the
/// summary returns for that purpose.
pub fn verify(events: &[AuditEvent]) -> Result<ChainSummary, ChainBreak> {
    let mut prev_hash = GENESIS_HASH.to_string();
    let tenant = events.first().map(|e| e.record.tenant.clone());
    for (i, event) in events.iter().enumerate() {
        let expected_seq = i as u64 + 1;
        let fail = |problem: String| ChainBreak {
            seq: event.seq,
            problem,
        };
        if Some(&event.record.tenant) != tenant.as_ref() {
            return Err(fail(format!(
                "event of tenant {} in another tenant's chain",
                event.record.tenant
            )));
        }
        if event.seq != expected_seq {
            return Err(fail(format!(
                "expected seq {expected_seq}: an event was inserted or removed"
            )));
        }
        if event.prev_hash != prev_hash {
            return Err(fail("does not point at the event before it".into()));
        }
        if event.computed_hash() != event.hash {
            return Err(fail(
                "content does not match its hash: the event was edited".into(),
            ));
        }
        prev_hash = event.hash.clone();
    }
    Ok(ChainSummary {
        events: events.len() as u64,
        head: prev_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(tenant: &str, n: u32) -> AuditRecord {
        AuditRecord {
            tenant: TenantId::new(tenant).unwrap(),
            at: chrono::Utc::now(),
            kind: AuditKind::Decided,
            request: None,
            action: None,
            actor: Some(format!("actor-{n}")),
            data: serde_json::json!({ "n": n, "params": { "password": "hunter2" } }),
        }
    }

    async fn chain(n: u32) -> (MemoryAuditSink, Vec<AuditEvent>) {
        let sink = MemoryAuditSink::new();
        for i in 0..n {
            sink.append(record("acme", i)).await.unwrap();
        }
        let events = sink.events(&TenantId::new("acme").unwrap()).await.unwrap();
        (sink, events)
    }

    #[tokio::test]
    async fn intact_chain_verifies_and_secrets_are_redacted() {
        let (_, events) = chain(5).await;
        let summary = verify(&events).unwrap();
        assert_eq!(summary.events, 5);
        assert_eq!(summary.head, events[4].hash);
        let text = serde_json::to_string(&events).unwrap();
        assert!(!text.contains("hunter2"));
    }

    #[tokio::test]
    async fn edit_insert_and_removal_are_detected() {
        let (_, events) = chain(5).await;

        let mut edited = events.clone();
        edited[2].record.actor = Some("mallory".into());
        assert_eq!(verify(&edited).unwrap_err().seq, 3);

        let mut removed = events.clone();
        removed.remove(1);
        assert!(verify(&removed).is_err());

        let mut inserted = events.clone();
        let forged = AuditEvent::seal(record("acme", 99), Some(&events[1]));
        inserted.insert(2, forged);
        assert!(verify(&inserted).is_err());
    }

    #[test]
    fn the_hash_ignores_key_order() {
        let mut a = record("acme", 1);
        a.data = serde_json::json!({ "b": 1, "a": { "y": [1, {"q": 2, "p": 3}], "x": "s" } });
        let mut b = a.clone();
        b.data = serde_json::from_str(r#"{"a":{"x":"s","y":[1,{"p":3,"q":2}]},"b":1}"#).unwrap();
        assert_eq!(
            content_hash(1, &a, GENESIS_HASH),
            content_hash(1, &b, GENESIS_HASH)
        );
        let mut c = a.clone();
        c.data["b"] = serde_json::json!(2);
        assert_ne!(
            content_hash(1, &a, GENESIS_HASH),
            content_hash(1, &c, GENESIS_HASH)
        );
    }

    #[tokio::test]
    async fn tenants_have_separate_chains() {
        let sink = MemoryAuditSink::new();
        sink.append(record("a", 1)).await.unwrap();
        let b = sink.append(record("b", 1)).await.unwrap();
        assert_eq!(b.seq, 1);
        assert_eq!(b.prev_hash, GENESIS_HASH);
    }

    #[tokio::test]
    async fn jsonl_sink_persists_and_continues_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let tenant = TenantId::new("acme").unwrap();
        {
            let sink = JsonlAuditSink::open(dir.path()).unwrap();
            sink.append(record("acme", 1)).await.unwrap();
            sink.append(record("acme", 2)).await.unwrap();
        }
        let sink = JsonlAuditSink::open(dir.path()).unwrap();
        let third = sink.append(record("acme", 3)).await.unwrap();
        assert_eq!(third.seq, 3);
        let events = sink.events(&tenant).await.unwrap();
        assert_eq!(verify(&events).unwrap().events, 3);
        let raw = std::fs::read_to_string(dir.path().join("acme.jsonl")).unwrap();
        assert!(!raw.contains("hunter2"));
    }
}
