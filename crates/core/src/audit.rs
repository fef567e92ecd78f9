//! The audit trail: every plan, decision, approval, execution and result, in a per-tenant chain
//! keyed with the tenant's secret [`AuditKey`] and anchored by an [`AuditHead`] kept outside the
//! log, which [`verify`] checks for edited, inserted, deleted, reordered and truncated events and
//! for a tail recomputed without the key.
//!
//! - Each [`AuditEvent`] carries an HMAC-SHA256, under its tenant's key, over its sequence
//!   number, its record (as canonical JSON) and the MAC of the event before it. Without the key
//!   nobody can seal an event that verifies, so an edit cannot be hidden by recomputing the chain.
//! - After every append the sink records the tenant's head (the last sequence number and MAC,
//!   itself MACed with the key) through an [`AuditAnchor`]: a head file per tenant for
//!   [`JsonlAuditSink`], memory for [`MemoryAuditSink`]. A log shorter than its head was truncated;
//!   a log without a head is not trusted.
//! - Keys come from [`AuditKeys`]; [`DerivedAuditKeys`] derives each tenant's key from one master
//!   key.
//!
//! What this does not cover: someone who holds the tenant's key and can write both the log and
//! the head can rewrite history; someone who kept an old copy of a log and its head file can roll
//! both back together. An anchor outside their reach (the store, a remote system) closes the
//! second gap.
//!
//! Records are redacted before they are sealed: values under keys that name secrets
//! (`password`, `secret`, `token`, ...) never reach a sink.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::model::{ActionId, IdempotencyKey, TenantId, Timestamp};

type HmacSha256 = Hmac<Sha256>;

/// The MAC the first event of every tenant's chain points back to.
pub const GENESIS_MAC: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Domain separation: an event's MAC can never pass for a head's, or for a derived key.
const EVENT_DOMAIN: &[u8] = b"stackhand-audit-event/v1\n";
const HEAD_DOMAIN: &[u8] = b"stackhand-audit-head/v1\n";
const DERIVE_PREFIX: &[u8] = b"stackhand-audit/";

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
    /// A request was planned and decided without being executed (a preview for a caller who
    /// asked what would happen): nothing was reserved, approved or changed.
    Previewed,
    /// A caller of an API surface was refused before reaching the engine: no valid credentials
    /// (unauthenticated) or a tenant outside its scope (forbidden). ADR 0010.
    AccessRefused,
    /// The deployment's configuration of a tenant changed (an action promoted from shadow to
    /// live, a tenant added): who changed what, and why. ADR 0011.
    ConfigChanged,
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
    /// The MAC of the event before (or [`GENESIS_MAC`]).
    pub prev_mac: String,
    /// HMAC-SHA256 under the tenant's key over `seq`, the record and `prev_mac`, hex.
    pub mac: String,
}

impl AuditEvent {
    /// Redact a record and seal it after `prev` (None for the first of a tenant) with `key`,
    /// which must be the key of the record's tenant.
    pub fn seal(mut record: AuditRecord, prev: Option<&AuditEvent>, key: &AuditKey) -> Self {
        redact(&mut record.data);
        let seq = prev.map_or(1, |p| p.seq + 1);
        let prev_mac = prev.map_or_else(|| GENESIS_MAC.to_string(), |p| p.mac.clone());
        let mac = key.mac_hex(EVENT_DOMAIN, &event_content(seq, &record, &prev_mac));
        Self {
            seq,
            record,
            prev_mac,
            mac,
        }
    }

    /// Whether the MAC matches the content under `key` (compared in constant time).
    pub fn is_sealed_with(&self, key: &AuditKey) -> bool {
        key.mac_matches(
            EVENT_DOMAIN,
            &event_content(self.seq, &self.record, &self.prev_mac),
            &self.mac,
        )
    }
}

fn event_content(seq: u64, record: &AuditRecord, prev_mac: &str) -> Vec<u8> {
    let value = serde_json::to_value((seq, record, prev_mac)).unwrap_or_default();
    let mut canonical = String::new();
    write_canonical(&value, &mut canonical);
    canonical.into_bytes()
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

/// A tenant's 32-byte audit key. Never printed: `Debug` shows `AuditKey([REDACTED])`, and no
/// error message repeats key material.
pub struct AuditKey(SecretBox<[u8; 32]>);

impl AuditKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let bytes = Zeroizing::new(bytes);
        Self(SecretBox::init_with_mut(|k: &mut [u8; 32]| {
            k.copy_from_slice(&bytes[..])
        }))
    }

    /// A fresh random key (from the thread-local CSPRNG, seeded by the operating system).
    pub fn generate() -> Self {
        Self(SecretBox::init_with_mut(|k: &mut [u8; 32]| rand::fill(k)))
    }

    /// A key from 64 hexadecimal characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self> {
        let bad = || Error::invalid("an audit key is 64 hexadecimal characters (32 bytes)");
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| bad())?);
        if bytes.len() != 32 {
            return Err(bad());
        }
        Ok(Self(SecretBox::init_with_mut(|k: &mut [u8; 32]| {
            k.copy_from_slice(&bytes)
        })))
    }

    /// The key as 64 hexadecimal characters, for writing a key file.
    fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.expose_secret()))
    }

    fn hmac(&self, domain: &[u8]) -> HmacSha256 {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(self.0.expose_secret())
            .expect("HMAC takes keys of any length");
        mac.update(domain);
        mac
    }

    fn mac_hex(&self, domain: &[u8], data: &[u8]) -> String {
        let mut mac = self.hmac(domain);
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }

    fn mac_matches(&self, domain: &[u8], data: &[u8], expected_hex: &str) -> bool {
        let Ok(expected) = hex::decode(expected_hex) else {
            return false;
        };
        let mut mac = self.hmac(domain);
        mac.update(data);
        mac.verify_slice(&expected).is_ok()
    }

    /// HMAC(self, label): a key for `label` that reveals neither this key nor any other label's.
    fn derive(&self, label: &[u8]) -> Self {
        let mut mac = self.hmac(DERIVE_PREFIX);
        mac.update(label);
        let out = Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()));
        Self::from_bytes(*out)
    }
}

impl Clone for AuditKey {
    fn clone(&self) -> Self {
        Self::from_bytes(*self.0.expose_secret())
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey([REDACTED])")
    }
}

/// Where each tenant's audit key comes from. Kept small so a store can serve keys from its
/// encrypted vault.
pub trait AuditKeys: Send + Sync {
    /// The key that seals and verifies `tenant`'s chain.
    fn key(&self, tenant: &TenantId) -> Result<AuditKey>;
}

impl<T: AuditKeys + ?Sized> AuditKeys for Arc<T> {
    fn key(&self, tenant: &TenantId) -> Result<AuditKey> {
        (**self).key(tenant)
    }
}

/// Per-tenant keys derived from one master key: the key of tenant `t` is
/// HMAC-SHA256(master, `"stackhand-audit/" + t`).
///
/// HMAC is a pseudo-random function, so one tenant's key reveals neither the master key nor any
/// other tenant's key; whoever holds the master key holds them all. The master key file holds
/// 64 hexadecimal characters (see [`DerivedAuditKeys::create_file`], `stackhand audit keygen`).
#[derive(Debug, Clone)]
pub struct DerivedAuditKeys {
    master: AuditKey,
}

impl DerivedAuditKeys {
    /// Derive from `master`.
    pub fn new(master: AuditKey) -> Self {
        Self { master }
    }

    /// Derive from a fresh random master key that lives only in this process.
    pub fn generate() -> Self {
        Self::new(AuditKey::generate())
    }

    /// Derive from a master key given as 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self> {
        AuditKey::from_hex(text).map(Self::new)
    }

    /// Derive from the master key in environment variable `var`, if it is set.
    pub fn from_env(var: &str) -> Result<Option<Self>> {
        match std::env::var(var) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                Self::from_hex(&text)
                    .map(Some)
                    .map_err(|e| Error::invalid(format!("{var}: {}", e.message())))
            }
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(Error::invalid(format!("{var} is not valid text")))
            }
        }
    }

    /// Derive from the master key in a key file (64 hexadecimal characters).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            Error::permanent(format!("audit key file {}: {e}", path.display())).with_source(e)
        })?);
        AuditKey::from_hex(&text).map(Self::new).map_err(|e| {
            Error::invalid(format!(
                "audit key file {}: {}",
                path.display(),
                e.message()
            ))
        })
    }

    /// Write a fresh random master key to a new file (readable by its owner only on Unix) and
    /// derive from it. Refuses to overwrite an existing file.
    pub fn create_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let keys = Self::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let write = || -> std::io::Result<()> {
            let mut file = options.open(path)?;
            let mut line = keys.master.to_hex();
            line.push('\n');
            file.write_all(line.as_bytes())?;
            file.sync_all()
        };
        write().map_err(|e| {
            Error::permanent(format!("audit key file {}: {e}", path.display())).with_source(e)
        })?;
        Ok(keys)
    }

    /// Load the key file if it exists, else create it with a fresh key.
    pub fn load_or_create_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if path.exists() {
            Self::from_file(path)
        } else {
            Self::create_file(path)
        }
    }
}

impl AuditKeys for DerivedAuditKeys {
    fn key(&self, tenant: &TenantId) -> Result<AuditKey> {
        Ok(self.master.derive(tenant.as_str().as_bytes()))
    }
}

/// A tenant's anchored head: the last sequence number and its event's MAC, MACed in turn with
/// the tenant's key so that it cannot be forged or moved without the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    /// The tenant.
    pub tenant: TenantId,
    /// The sequence number of the last event.
    pub seq: u64,
    /// The MAC of the last event.
    pub event_mac: String,
    /// HMAC-SHA256 under the tenant's key over `tenant`, `seq` and `event_mac`, hex.
    pub mac: String,
}

impl AuditHead {
    /// The head that anchors `event`, sealed with `key` (the key of the event's tenant).
    pub fn seal(event: &AuditEvent, key: &AuditKey) -> Self {
        let tenant = event.record.tenant.clone();
        let mac = key.mac_hex(HEAD_DOMAIN, &head_content(&tenant, event.seq, &event.mac));
        Self {
            tenant,
            seq: event.seq,
            event_mac: event.mac.clone(),
            mac,
        }
    }

    /// Whether the head's MAC matches its content under `key` (compared in constant time).
    pub fn is_sealed_with(&self, key: &AuditKey) -> bool {
        key.mac_matches(
            HEAD_DOMAIN,
            &head_content(&self.tenant, self.seq, &self.event_mac),
            &self.mac,
        )
    }
}

fn head_content(tenant: &TenantId, seq: u64, event_mac: &str) -> Vec<u8> {
    let value = serde_json::json!({ "tenant": tenant, "seq": seq, "event_mac": event_mac });
    let mut canonical = String::new();
    write_canonical(&value, &mut canonical);
    canonical.into_bytes()
}

/// Where each tenant's head is kept, outside the log it anchors. A sink calls
/// [`advance`](AuditAnchor::advance) after every append; `verify` compares the log with
/// [`head`](AuditAnchor::head).
#[async_trait]
pub trait AuditAnchor: Send + Sync {
    /// The tenant's anchored head, or None if nothing was ever anchored for it.
    async fn head(&self, tenant: &TenantId) -> Result<Option<AuditHead>>;

    /// Record `head` as its tenant's head; returns once it is durable for this anchor.
    async fn advance(&self, head: &AuditHead) -> Result<()>;
}

#[async_trait]
impl<T: AuditAnchor + ?Sized> AuditAnchor for Arc<T> {
    async fn head(&self, tenant: &TenantId) -> Result<Option<AuditHead>> {
        (**self).head(tenant).await
    }

    async fn advance(&self, head: &AuditHead) -> Result<()> {
        (**self).advance(head).await
    }
}

/// Keeps each tenant's head in `<dir>/<tenant>.head` (JSON), replaced atomically: written to a
/// temporary file, synced, then renamed over the old one.
#[derive(Debug, Clone)]
pub struct HeadFileAnchor {
    dir: PathBuf,
}

impl HeadFileAnchor {
    /// Head files in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The head file of `tenant`.
    pub fn path(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{tenant}.{HEAD_EXTENSION}"))
    }
}

#[async_trait]
impl AuditAnchor for HeadFileAnchor {
    async fn head(&self, tenant: &TenantId) -> Result<Option<AuditHead>> {
        let path = self.path(tenant);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path, e)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::invalid(format!("{}: malformed audit head: {e}", path.display())))
    }

    async fn advance(&self, head: &AuditHead) -> Result<()> {
        let path = self.path(&head.tenant);
        let temp = self
            .dir
            .join(format!("{}.{HEAD_EXTENSION}.tmp", head.tenant));
        let mut text = serde_json::to_vec(head)?;
        text.push(b'\n');
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)?;
            // Make the rename itself durable.
            #[cfg(unix)]
            std::fs::File::open(&self.dir)?.sync_all()?;
            Ok(())
        };
        write().map_err(|e| io_error(&path, e))
    }
}

const LOG_EXTENSION: &str = "jsonl";
const HEAD_EXTENSION: &str = "head";

/// Where audit events go. `append` returns only once the event is durable for that sink.
#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Seal the record onto its tenant's chain, store it and advance the tenant's head.
    async fn append(&self, record: AuditRecord) -> Result<AuditEvent>;

    /// A tenant's events, in order.
    async fn events(&self, tenant: &TenantId) -> Result<Vec<AuditEvent>>;

    /// [`verify`] a tenant's chain with the tenant's key against its anchored head. The outer
    /// error is a failure to read; the inner one says where and how the chain is broken.
    async fn verify_tenant(
        &self,
        tenant: &TenantId,
    ) -> Result<std::result::Result<ChainSummary, ChainBreak>>;
}

/// Keeps events and heads in memory; for tests, examples and the demo. Keys are derived from a
/// random master key made for this sink unless given with [`MemoryAuditSink::with_keys`].
pub struct MemoryAuditSink {
    keys: Arc<dyn AuditKeys>,
    chains: Mutex<HashMap<TenantId, MemoryChain>>,
}

#[derive(Default)]
struct MemoryChain {
    events: Vec<AuditEvent>,
    head: Option<AuditHead>,
}

impl MemoryAuditSink {
    /// An empty sink with a random master key.
    pub fn new() -> Self {
        Self::with_keys(DerivedAuditKeys::generate())
    }

    /// An empty sink with these keys.
    pub fn with_keys(keys: impl AuditKeys + 'static) -> Self {
        Self {
            keys: Arc::new(keys),
            chains: Mutex::new(HashMap::new()),
        }
    }

    /// The key of `tenant` (tests use it to verify, or to show that a forgery fails).
    pub fn key(&self, tenant: &TenantId) -> Result<AuditKey> {
        self.keys.key(tenant)
    }

    /// The anchored head of `tenant`.
    pub fn head(&self, tenant: &TenantId) -> Option<AuditHead> {
        self.chains.lock().get(tenant).and_then(|c| c.head.clone())
    }

    /// Replace a tenant's events wholesale, leaving its head alone (tests use this to tamper).
    pub fn replace(&self, tenant: &TenantId, events: Vec<AuditEvent>) {
        self.chains.lock().entry(tenant.clone()).or_default().events = events;
    }

    /// Replace a tenant's anchored head (tests use this to tamper).
    pub fn replace_head(&self, tenant: &TenantId, head: Option<AuditHead>) {
        self.chains.lock().entry(tenant.clone()).or_default().head = head;
    }
}

impl Default for MemoryAuditSink {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryAuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryAuditSink").finish_non_exhaustive()
    }
}

#[async_trait]
impl AuditSink for MemoryAuditSink {
    async fn append(&self, record: AuditRecord) -> Result<AuditEvent> {
        let key = self.keys.key(&record.tenant)?;
        let mut chains = self.chains.lock();
        let chain = chains.entry(record.tenant.clone()).or_default();
        let event = AuditEvent::seal(record, chain.events.last(), &key);
        chain.events.push(event.clone());
        chain.head = Some(AuditHead::seal(&event, &key));
        Ok(event)
    }

    async fn events(&self, tenant: &TenantId) -> Result<Vec<AuditEvent>> {
        Ok(self
            .chains
            .lock()
            .get(tenant)
            .map(|c| c.events.clone())
            .unwrap_or_default())
    }

    async fn verify_tenant(
        &self,
        tenant: &TenantId,
    ) -> Result<std::result::Result<ChainSummary, ChainBreak>> {
        let key = self.keys.key(tenant)?;
        let chains = self.chains.lock();
        let chain = chains.get(tenant);
        let events = chain.map_or(&[][..], |c| &c.events[..]);
        Ok(verify(
            tenant,
            events,
            &key,
            chain.and_then(|c| c.head.as_ref()),
        ))
    }
}

/// Appends JSON lines, one file per tenant (`<dir>/<tenant>.jsonl`), synced before `append`
/// returns, and anchors each tenant's head in `<dir>/<tenant>.head` ([`HeadFileAnchor`]) unless
/// another anchor is given with [`JsonlAuditSink::with_anchor`].
///
/// Reopening a directory continues each chain where it stopped, after verifying it: a sink
/// refuses to append to a chain that does not verify with the tenant's key against its head.
pub struct JsonlAuditSink {
    dir: PathBuf,
    keys: Arc<dyn AuditKeys>,
    anchor: Arc<dyn AuditAnchor>,
    /// The last event of each tenant touched since opening (None: an empty chain). The lock spans
    /// read, seal, write, sync and anchoring so concurrent appends cannot fork a chain.
    tails: tokio::sync::Mutex<HashMap<TenantId, Option<AuditEvent>>>,
}

impl JsonlAuditSink {
    /// Open (creating) a directory of per-tenant audit files, sealed with `keys`.
    ///
    /// ```no_run
    /// # fn main() -> stackhand_core::Result<()> {
    /// use stackhand_core::audit::{DerivedAuditKeys, JsonlAuditSink};
    /// let keys = DerivedAuditKeys::from_file("/etc/stackhand/audit.key")?;
    /// let sink = JsonlAuditSink::open("audit/", keys)?;
    /// # Ok(()) }
    /// ```
    pub fn open(dir: impl AsRef<Path>, keys: impl AuditKeys + 'static) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        Ok(Self::new(dir, keys))
    }

    /// Open a directory that must already exist (for verifying: a missing directory is an
    /// error, never an empty trail).
    pub fn open_existing(dir: impl AsRef<Path>, keys: impl AuditKeys + 'static) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        match std::fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => Ok(Self::new(dir, keys)),
            Ok(_) => Err(Error::invalid(format!(
                "audit directory {} is not a directory",
                dir.display()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::not_found(format!(
                "audit directory {} does not exist",
                dir.display()
            ))),
            Err(e) => Err(io_error(&dir, e)),
        }
    }

    fn new(dir: PathBuf, keys: impl AuditKeys + 'static) -> Self {
        Self {
            anchor: Arc::new(HeadFileAnchor::new(dir.clone())),
            dir,
            keys: Arc::new(keys),
            tails: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Anchor heads somewhere else than the head files (for example in a database).
    pub fn with_anchor(mut self, anchor: impl AuditAnchor + 'static) -> Self {
        self.anchor = Arc::new(anchor);
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log file of `tenant`.
    pub fn path(&self, tenant: &TenantId) -> PathBuf {
        self.dir.join(format!("{tenant}.{LOG_EXTENSION}"))
    }

    /// Every tenant with a log file or a head file in the directory, sorted. A head file whose
    /// log was deleted still names its tenant, so the deletion shows when it is verified.
    pub fn tenants(&self) -> Result<Vec<TenantId>> {
        let mut tenants = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, e))? {
            let path = entry.map_err(|e| io_error(&self.dir, e))?.path();
            let is_chain_file = path
                .extension()
                .is_some_and(|x| x == LOG_EXTENSION || x == HEAD_EXTENSION);
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if is_chain_file && path.is_file() {
                let tenant = TenantId::new(stem)
                    .map_err(|e| Error::invalid(format!("{}: {}", path.display(), e.message())))?;
                tenants.push(tenant);
            }
        }
        tenants.sort();
        tenants.dedup();
        Ok(tenants)
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

    /// The head, then the log: read in this order, an append in between (by another process)
    /// makes the log longer than the head, which verifies, never shorter.
    async fn verify_unlocked(
        &self,
        tenant: &TenantId,
        key: &AuditKey,
    ) -> Result<(
        Vec<AuditEvent>,
        std::result::Result<ChainSummary, ChainBreak>,
    )> {
        let head = self.anchor.head(tenant).await?;
        let events = self.read(tenant)?;
        let verdict = verify(tenant, &events, key, head.as_ref());
        Ok((events, verdict))
    }
}

impl std::fmt::Debug for JsonlAuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlAuditSink")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::permanent(format!("audit file {}: {e}", path.display())).with_source(e)
}

#[async_trait]
impl AuditSink for JsonlAuditSink {
    async fn append(&self, record: AuditRecord) -> Result<AuditEvent> {
        let tenant = record.tenant.clone();
        let key = self.keys.key(&tenant)?;
        let mut tails = self.tails.lock().await;
        if !tails.contains_key(&tenant) {
            let (mut events, verdict) = self.verify_unlocked(&tenant, &key).await?;
            verdict.map_err(|broken| {
                Error::permanent(format!(
                    "refusing to append to the audit chain of {tenant} in {}: {broken}",
                    self.dir.display()
                ))
            })?;
            tails.insert(tenant.clone(), events.pop());
        }
        let prev = tails.get(&tenant).and_then(Option::as_ref);
        let event = AuditEvent::seal(record, prev, &key);
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
        // The event is durable: continue from it even if anchoring fails (the next append
        // anchors past it; meanwhile it verifies as one unanchored event).
        tails.insert(tenant, Some(event.clone()));
        self.anchor.advance(&AuditHead::seal(&event, &key)).await?;
        Ok(event)
    }

    async fn events(&self, tenant: &TenantId) -> Result<Vec<AuditEvent>> {
        let _tails = self.tails.lock().await;
        self.read(tenant)
    }

    async fn verify_tenant(
        &self,
        tenant: &TenantId,
    ) -> Result<std::result::Result<ChainSummary, ChainBreak>> {
        let key = self.keys.key(tenant)?;
        let _tails = self.tails.lock().await;
        Ok(self.verify_unlocked(tenant, &key).await?.1)
    }
}

/// What is wrong with a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BreakKind {
    /// No event (and no head) verifies under the key: the wrong key, or everything rewritten.
    WrongKey,
    /// An event's content does not match its MAC.
    Edited,
    /// An event that was never sealed with the key, or a copy of one that was, was added.
    Inserted,
    /// Sequence numbers skip: events were removed from inside the chain.
    Deleted,
    /// Events are out of order.
    Reordered,
    /// An event does not point at the one before it (spliced from another copy of the chain).
    Unlinked,
    /// An event and every one after it fail their MACs: the tail was rewritten and its MACs
    /// recomputed without the key.
    RecomputedTail,
    /// An event of another tenant.
    WrongTenant,
    /// The log ends before the anchored head (or is gone): trailing events were removed.
    Truncated,
    /// The log has events but no head is anchored, so truncation cannot be ruled out.
    HeadMissing,
    /// The anchored head does not verify under the key, or names another tenant.
    HeadForged,
    /// The head verifies but anchors a different event than the log holds at its seq.
    HeadMismatch,
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at seq {seq}: {problem}")]
pub struct ChainBreak {
    /// The first event that does not fit (for a truncation, the first one missing).
    pub seq: u64,
    /// What kind of break.
    pub kind: BreakKind,
    /// What is wrong, in words.
    pub problem: String,
}

/// A verified chain's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainSummary {
    /// Events checked.
    pub events: u64,
    /// The last event's MAC ([`GENESIS_MAC`] for an empty chain).
    pub head: String,
    /// Events after the anchored head, all sealed with the key: a sink stopped between writing
    /// an event and anchoring it. The next append anchors them.
    pub unanchored: u64,
}

/// Check one tenant's chain with the tenant's `key` against its `anchored` head (None when the
/// anchor has none).
///
/// Every event must carry a MAC that verifies under the key, point at the MAC of the event
/// before, have sequence numbers 1, 2, 3 without gaps, and belong to `tenant`; the head must
/// verify under the key, and the log must reach it and hold the event it anchors. So:
///
/// - an edited event fails its MAC, and recomputing MACs after an edit needs the key;
/// - an inserted, deleted or reordered event breaks the sequence or the back-link;
/// - removing trailing events (or the whole log) leaves the log shorter than the head;
/// - a log with events but no head fails closed ([`BreakKind::HeadMissing`]).
///
/// Events past the head that verify are accepted and counted in [`ChainSummary::unanchored`]:
/// only the key holder can make them.
pub fn verify(
    tenant: &TenantId,
    events: &[AuditEvent],
    key: &AuditKey,
    anchored: Option<&AuditHead>,
) -> std::result::Result<ChainSummary, ChainBreak> {
    let brk = |seq: u64, kind: BreakKind, problem: String| ChainBreak { seq, kind, problem };
    let sealed: Vec<bool> = events.iter().map(|e| e.is_sealed_with(key)).collect();
    let head_ok = anchored.map(|h| h.tenant == *tenant && h.is_sealed_with(key));

    if !events.is_empty() && !sealed.contains(&true) && head_ok != Some(true) {
        return Err(brk(
            events[0].seq,
            BreakKind::WrongKey,
            format!(
                "none of the {} events verifies under this key: it is not the key of tenant \
                 {tenant}, or the whole log was rewritten without it",
                events.len()
            ),
        ));
    }
    if let (Some(head), Some(false)) = (anchored, head_ok) {
        return Err(brk(
            head.seq,
            BreakKind::HeadForged,
            format!(
                "the anchored head (tenant {}, seq {}) does not verify under the key of tenant \
                 {tenant}: it was edited, forged or copied from another tenant",
                head.tenant, head.seq
            ),
        ));
    }

    let mut prev_mac = GENESIS_MAC;
    for (i, event) in events.iter().enumerate() {
        let expected = i as u64 + 1;
        let fail = |kind: BreakKind, problem: String| brk(event.seq, kind, problem);
        if event.record.tenant != *tenant {
            return Err(fail(
                BreakKind::WrongTenant,
                format!(
                    "an event of tenant {} in the chain of tenant {tenant}",
                    event.record.tenant
                ),
            ));
        }
        if !sealed[i] {
            let after = events.len() - i - 1;
            return Err(if anchored.is_some_and(|h| event.seq > h.seq) {
                fail(
                    BreakKind::Inserted,
                    "an event after the anchored head that was not sealed with the key: it was \
                     appended by someone without the key"
                        .into(),
                )
            } else if after > 0 && !sealed[i..].contains(&true) {
                fail(
                    BreakKind::RecomputedTail,
                    format!(
                        "neither this event nor the {after} after it verify under the key: the \
                         tail from here was rewritten and its MACs recomputed without the key"
                    ),
                )
            } else if event.seq == expected
                && events
                    .get(i + 1)
                    .is_none_or(|next| next.seq == expected + 1)
            {
                fail(
                    BreakKind::Edited,
                    "its content does not match its MAC: the event was edited".into(),
                )
            } else {
                fail(
                    BreakKind::Inserted,
                    format!(
                        "an event that was not sealed with the key sits at position {expected}: \
                         it was inserted"
                    ),
                )
            });
        }
        if event.seq > expected {
            return Err(if events[i + 1..].iter().any(|e| e.seq == expected) {
                fail(
                    BreakKind::Reordered,
                    format!("it comes where seq {expected} belongs: events were reordered"),
                )
            } else {
                brk(
                    expected,
                    BreakKind::Deleted,
                    format!(
                        "seq {expected} to {} are missing: {} event(s) were deleted",
                        event.seq - 1,
                        event.seq - expected
                    ),
                )
            });
        }
        if event.seq < expected {
            return Err(if events[..i].iter().any(|e| e.mac == event.mac) {
                fail(
                    BreakKind::Inserted,
                    format!("a second copy of seq {} was inserted", event.seq),
                )
            } else {
                fail(
                    BreakKind::Reordered,
                    format!("it comes after seq {}: events were reordered", expected - 1),
                )
            });
        }
        if event.prev_mac != prev_mac {
            return Err(fail(
                BreakKind::Unlinked,
                "it does not point at the event before it: it was spliced in from another copy \
                 of the chain"
                    .into(),
            ));
        }
        prev_mac = &event.mac;
    }

    let last = events.last().map_or(0, |e| e.seq);
    let summary = |unanchored: u64| ChainSummary {
        events: events.len() as u64,
        head: prev_mac.to_string(),
        unanchored,
    };
    let Some(head) = anchored else {
        if events.is_empty() {
            return Ok(summary(0));
        }
        return Err(brk(
            last,
            BreakKind::HeadMissing,
            format!(
                "the log holds {} events but no head is anchored for tenant {tenant}: the head \
                 was deleted or never written, so removed trailing events could not be seen; \
                 restore the head from a backup",
                events.len()
            ),
        ));
    };
    if last < head.seq {
        return Err(brk(
            last + 1,
            BreakKind::Truncated,
            if events.is_empty() {
                format!(
                    "the log is empty or missing but the anchored head is at seq {}: the log was \
                     deleted or emptied",
                    head.seq
                )
            } else {
                format!(
                    "the log ends at seq {last} but the anchored head is at seq {}: the last {} \
                     event(s) were removed",
                    head.seq,
                    head.seq - last
                )
            },
        ));
    }
    let anchored_event = head.seq.checked_sub(1).and_then(|i| events.get(i as usize));
    if anchored_event.is_none_or(|e| e.mac != head.event_mac) {
        return Err(brk(
            head.seq,
            BreakKind::HeadMismatch,
            "the event at the anchored head's seq is not the one the head anchors: the chain \
             was rewritten by someone holding the key, or the head belongs to another copy"
                .into(),
        ));
    }
    Ok(summary(last - head.seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(name: &str) -> TenantId {
        TenantId::new(name).unwrap()
    }

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
        let events = sink.events(&tenant("acme")).await.unwrap();
        (sink, events)
    }

    #[tokio::test]
    async fn intact_chain_verifies_and_secrets_are_redacted() {
        let (sink, events) = chain(5).await;
        let summary = sink.verify_tenant(&tenant("acme")).await.unwrap().unwrap();
        assert_eq!(summary.events, 5);
        assert_eq!(summary.head, events[4].mac);
        assert_eq!(summary.unanchored, 0);
        let text = serde_json::to_string(&events).unwrap();
        assert!(!text.contains("hunter2"));
    }

    #[tokio::test]
    async fn an_edit_is_named_with_its_seq() {
        let (sink, events) = chain(5).await;
        let acme = tenant("acme");
        let mut edited = events.clone();
        edited[2].record.actor = Some("mallory".into());
        sink.replace(&acme, edited);
        let broken = sink.verify_tenant(&acme).await.unwrap().unwrap_err();
        assert_eq!((broken.seq, broken.kind), (3, BreakKind::Edited));
        assert!(broken.to_string().contains("seq 3"), "{broken}");
        assert!(broken.to_string().contains("edited"), "{broken}");
    }

    #[test]
    fn the_mac_ignores_key_order() {
        let mut a = record("acme", 1);
        a.data = serde_json::json!({ "b": 1, "a": { "y": [1, {"q": 2, "p": 3}], "x": "s" } });
        let mut b = a.clone();
        b.data = serde_json::from_str(r#"{"a":{"x":"s","y":[1,{"p":3,"q":2}]},"b":1}"#).unwrap();
        assert_eq!(
            event_content(1, &a, GENESIS_MAC),
            event_content(1, &b, GENESIS_MAC)
        );
        let mut c = a.clone();
        c.data["b"] = serde_json::json!(2);
        assert_ne!(
            event_content(1, &a, GENESIS_MAC),
            event_content(1, &c, GENESIS_MAC)
        );
    }

    #[tokio::test]
    async fn tenants_have_separate_chains_and_keys() {
        let sink = MemoryAuditSink::new();
        sink.append(record("a", 1)).await.unwrap();
        let b = sink.append(record("b", 1)).await.unwrap();
        assert_eq!(b.seq, 1);
        assert_eq!(b.prev_mac, GENESIS_MAC);
        assert!(b.is_sealed_with(&sink.key(&tenant("b")).unwrap()));
        assert!(!b.is_sealed_with(&sink.key(&tenant("a")).unwrap()));
    }

    #[test]
    fn derived_keys_are_per_tenant_and_never_printed() {
        let keys = DerivedAuditKeys::from_hex(&"ab".repeat(32)).unwrap();
        let a = keys.key(&tenant("a")).unwrap();
        let again = keys.key(&tenant("a")).unwrap();
        let b = keys.key(&tenant("b")).unwrap();
        assert_eq!(a.0.expose_secret(), again.0.expose_secret());
        assert_ne!(a.0.expose_secret(), b.0.expose_secret());
        assert_eq!(format!("{a:?}"), "AuditKey([REDACTED])");
        assert!(!format!("{keys:?}").contains("abab"));
        let err = AuditKey::from_hex("not-a-key-but-a-secret").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn key_files_round_trip_and_are_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        let created = DerivedAuditKeys::create_file(&path).unwrap();
        let loaded = DerivedAuditKeys::load_or_create_file(&path).unwrap();
        let t = tenant("acme");
        assert_eq!(
            created.key(&t).unwrap().0.expose_secret(),
            loaded.key(&t).unwrap().0.expose_secret()
        );
        assert!(DerivedAuditKeys::create_file(&path).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
    }

    #[tokio::test]
    async fn jsonl_sink_persists_anchors_and_continues_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Arc::new(DerivedAuditKeys::generate());
        let acme = tenant("acme");
        {
            let sink = JsonlAuditSink::open(dir.path(), keys.clone()).unwrap();
            sink.append(record("acme", 1)).await.unwrap();
            sink.append(record("acme", 2)).await.unwrap();
        }
        let sink = JsonlAuditSink::open(dir.path(), keys.clone()).unwrap();
        let third = sink.append(record("acme", 3)).await.unwrap();
        assert_eq!(third.seq, 3);
        assert_eq!(sink.verify_tenant(&acme).await.unwrap().unwrap().events, 3);
        let head = HeadFileAnchor::new(dir.path())
            .head(&acme)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((head.seq, &head.event_mac), (3, &third.mac));
        assert_eq!(sink.tenants().unwrap(), vec![acme]);
        let raw = std::fs::read_to_string(dir.path().join("acme.jsonl")).unwrap();
        assert!(!raw.contains("hunter2"));
    }

    #[tokio::test]
    async fn jsonl_sink_refuses_to_continue_a_broken_chain() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Arc::new(DerivedAuditKeys::generate());
        {
            let sink = JsonlAuditSink::open(dir.path(), keys.clone()).unwrap();
            sink.append(record("acme", 1)).await.unwrap();
            sink.append(record("acme", 2)).await.unwrap();
        }
        std::fs::remove_file(dir.path().join("acme.head")).unwrap();
        let sink = JsonlAuditSink::open(dir.path(), keys).unwrap();
        let err = sink.append(record("acme", 3)).await.unwrap_err();
        assert!(err.to_string().contains("refusing to append"), "{err}");
    }

    /// An anchor elsewhere than the head files, as the store will keep heads in its database.
    #[derive(Default)]
    struct MapAnchor(Mutex<HashMap<TenantId, AuditHead>>);

    #[async_trait]
    impl AuditAnchor for MapAnchor {
        async fn head(&self, tenant: &TenantId) -> Result<Option<AuditHead>> {
            Ok(self.0.lock().get(tenant).cloned())
        }

        async fn advance(&self, head: &AuditHead) -> Result<()> {
            self.0.lock().insert(head.tenant.clone(), head.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn concurrent_appends_through_another_anchor_keep_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let anchor = Arc::new(MapAnchor::default());
        let sink = Arc::new(
            JsonlAuditSink::open(dir.path(), DerivedAuditKeys::generate())
                .unwrap()
                .with_anchor(anchor.clone()),
        );
        let appends = (0..20).map(|n| {
            let sink = sink.clone();
            tokio::spawn(async move { sink.append(record("acme", n)).await.unwrap() })
        });
        futures::future::join_all(appends).await;
        let acme = tenant("acme");
        assert_eq!(sink.verify_tenant(&acme).await.unwrap().unwrap().events, 20);
        assert_eq!(anchor.head(&acme).await.unwrap().unwrap().seq, 20);
        assert!(!dir.path().join("acme.head").exists());
    }

    #[tokio::test]
    async fn an_event_written_but_not_anchored_still_verifies() {
        let (sink, events) = chain(3).await;
        let acme = tenant("acme");
        let key = sink.key(&acme).unwrap();
        sink.replace_head(&acme, Some(AuditHead::seal(&events[1], &key)));
        let summary = sink.verify_tenant(&acme).await.unwrap().unwrap();
        assert_eq!((summary.events, summary.unanchored), (3, 1));
    }
}
