//! The credential vault: each tenant's connector credentials, encrypted at rest.
//!
//! Envelope encryption in two layers, both XChaCha20-Poly1305 with a random 24-byte nonce:
//!
//! - every tenant has a random 32-byte **data key** (`vault_data_keys`, one current version per
//!   tenant) that encrypts its credentials (`vault_credentials`), with the tenant, the credential
//!   name and the key version as associated data, so a ciphertext copied to another tenant or
//!   name, or paired with another key version, does not decrypt;
//! - every data key is stored **wrapped** by a [`MasterKey`] that never enters the database (a
//!   key file or an environment variable), with the tenant and version as associated data, and
//!   the id of the master key that wrapped it beside it.
//!
//! [`Vault::rotate_tenant_key`] gives a tenant a new data key and re-encrypts its credentials in
//! one transaction; [`Vault::rotate_master_key`] re-wraps every data key under a new master key,
//! one tenant per transaction, while the old master key keeps unwrapping what is not re-wrapped
//! yet. A read is one statement (the credential joined with its data key), so it sees each
//! rotation either wholly done or not begun.
//!
//! Secret values are [`SecretString`]s from end to end: they are never in `Debug`, in a log line,
//! in an error or in a row in clear.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, RwLock};

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use stackhand_core::{Error, Result, TenantId};

use crate::{Store, nanos, on_backend};

/// Inside a write transaction `$tx`: create `$tenant`'s row if absent, lock it for the rest of
/// the transaction, and evaluate to the data key version new credentials use (0: none yet).
macro_rules! lock_tenant {
    ($tx:ident, $sql:ident, $tenant:expr, $db:expr) => {{
        sqlx::query(
            "INSERT INTO vault_tenants (tenant, key_version) VALUES ($1, 0) \
             ON CONFLICT (tenant) DO NOTHING",
        )
        .bind($tenant.as_str())
        .execute(&mut *$tx)
        .await
        .map_err($db)?;
        sqlx::query_scalar::<_, i64>($sql.lock_vault_tenant)
            .bind($tenant.as_str())
            .fetch_one(&mut *$tx)
            .await
            .map_err($db)?
    }};
}

/// Inside a write transaction `$tx`: store `$key` as data key `$version` of `$tenant`, wrapped
/// by `$ring`'s current master key.
macro_rules! insert_data_key {
    ($tx:ident, $ring:expr, $tenant:expr, $version:expr, $key:expr, $now:expr, $db:expr) => {{
        let (master_id, n, wrapped) = $ring.wrap_key($tenant, $version, $key);
        sqlx::query(
            "INSERT INTO vault_data_keys \
             (tenant, version, master_key_id, nonce, wrapped, created_ns) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($tenant.as_str())
        .bind($version)
        .bind(master_id)
        .bind(n)
        .bind(wrapped)
        .bind($now)
        .execute(&mut *$tx)
        .await
        .map_err($db)?;
    }};
}

/// Inside a write transaction `$tx`: new credentials of `$tenant` use data key `$version`.
macro_rules! set_tenant_version {
    ($tx:ident, $tenant:expr, $version:expr, $db:expr) => {{
        sqlx::query("UPDATE vault_tenants SET key_version = $1 WHERE tenant = $2")
            .bind($version)
            .bind($tenant.as_str())
            .execute(&mut *$tx)
            .await
            .map_err($db)?;
    }};
}

/// The longest credential name the vault takes.
pub const MAX_NAME_LEN: usize = 128;

const NONCE_LEN: usize = 24;
const CREDENTIAL_AAD: &[u8] = b"stackhand-vault/v1/credential\0";
const DATA_KEY_AAD: &[u8] = b"stackhand-vault/v1/data-key\0";
const MASTER_ID_LABEL: &[u8] = b"stackhand-vault/v1/master-key-id\0";

/// A 32-byte master key: it wraps (encrypts) every tenant's data key and never enters the
/// database. Its [`id`](Self::id) (not secret) is stored beside each data key it wrapped.
///
/// Kept in a file of 64 hexadecimal characters ([`MasterKey::create_file`],
/// `stackhand vault keygen`) or in an environment variable ([`MasterKey::from_env`]). `Debug`
/// shows only the id.
pub struct MasterKey {
    id: String,
    key: SecretBox<[u8; 32]>,
}

impl MasterKey {
    /// A master key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let bytes = Zeroizing::new(bytes);
        let key = SecretBox::init_with_mut(|k: &mut [u8; 32]| k.copy_from_slice(&bytes[..]));
        let mut digest = Sha256::new();
        digest.update(MASTER_ID_LABEL);
        digest.update(key.expose_secret());
        let id = hex::encode(&digest.finalize()[..8]);
        Self { id, key }
    }

    /// A fresh random master key (from the thread-local CSPRNG, seeded by the operating system).
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::fill(&mut *bytes);
        Self::from_bytes(*bytes)
    }

    /// A master key from 64 hexadecimal characters (surrounding whitespace ignored). The error
    /// never repeats the text.
    pub fn from_hex(text: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "a vault master key is 64 hexadecimal characters (32 random bytes); \
                 make one with `stackhand vault keygen --out <FILE>`",
            )
        };
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| bad())?);
        let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| bad())?;
        let array = Zeroizing::new(array);
        Ok(Self::from_bytes(*array))
    }

    /// The master key in the file at `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(format!(
                "vault master key file {}: {e} (make one with `stackhand vault keygen --out {}`)",
                path.display(),
                path.display()
            ))
        })?);
        Self::from_hex(&text).map_err(|e| {
            Error::invalid(format!(
                "vault master key file {}: {}",
                path.display(),
                e.message()
            ))
        })
    }

    /// The master key in environment variable `var`.
    pub fn from_env(var: &str) -> Result<Self> {
        match std::env::var(var) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                Self::from_hex(&text).map_err(|e| Error::invalid(format!("{var}: {}", e.message())))
            }
            Err(std::env::VarError::NotPresent) => Err(Error::invalid(format!(
                "environment variable {var} (the vault master key) is not set: set it to 64 \
                 hexadecimal characters, e.g. the contents of a file made by \
                 `stackhand vault keygen --out <FILE>`"
            ))),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(Error::invalid(format!("{var} is not valid text")))
            }
        }
    }

    /// Write a fresh random master key to a new file (readable and writable by its owner only,
    /// on Unix) and return it. Refuses to overwrite an existing file.
    pub fn create_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let key = Self::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let write = || -> std::io::Result<()> {
            let mut file = options.open(path)?;
            let mut line = Zeroizing::new(hex::encode(key.key.expose_secret()));
            line.push('\n');
            file.write_all(line.as_bytes())?;
            file.sync_all()
        };
        write().map_err(|e| {
            Error::permanent(format!("vault master key file {}: {e}", path.display()))
                .with_source(e)
        })?;
        Ok(key)
    }

    /// The key's id: 16 hexadecimal characters derived from the key by SHA-256 (they reveal
    /// nothing of it), stored beside each data key it wraps.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new_from_slice(self.key.expose_secret())
            .expect("a master key is 32 bytes")
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A tenant's data key, in the clear, in memory only (zeroed on drop; no `Debug`).
struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::fill(&mut *bytes);
        Self(bytes)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new_from_slice(&self.0[..]).expect("a data key is 32 bytes")
    }
}

fn nonce() -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    rand::fill(&mut n);
    n
}

fn xnonce(bytes: &[u8]) -> Option<XNonce> {
    let array: [u8; NONCE_LEN] = bytes.try_into().ok()?;
    Some(XNonce::from(array))
}

/// Length-prefixed parts after a domain label, so no two (tenant, name, version) triples give
/// the same associated data.
fn aad(domain: &[u8], parts: &[&[u8]], version: i64) -> Vec<u8> {
    let mut out = domain.to_vec();
    for part in parts {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out.extend_from_slice(&version.to_be_bytes());
    out
}

fn data_key_aad(tenant: &TenantId, version: i64) -> Vec<u8> {
    aad(DATA_KEY_AAD, &[tenant.as_str().as_bytes()], version)
}

fn credential_aad(tenant: &TenantId, name: &str, version: i64) -> Vec<u8> {
    aad(
        CREDENTIAL_AAD,
        &[tenant.as_str().as_bytes(), name.as_bytes()],
        version,
    )
}

/// A credential name: 1 to [`MAX_NAME_LEN`] ASCII letters, digits, `.`, `-`, `_` or `/`
/// (names appear in configuration, listings and errors; values never do).
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "credential name {name:?}: use 1 to {MAX_NAME_LEN} ASCII letters, digits, '.', '-', \
             '_' or '/' (e.g. m365.client_secret)"
        )))
    }
}

/// One stored credential, without its value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CredentialInfo {
    /// Its name.
    pub name: String,
    /// When its value was last set.
    pub updated_at: DateTime<Utc>,
    /// The version of the tenant's data key it is encrypted with.
    pub key_version: i64,
}

/// What [`Vault::rotate_tenant_key`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantKeyRotation {
    /// The version of the tenant's new data key.
    pub version: i64,
    /// How many credentials were re-encrypted under it.
    pub reencrypted: usize,
}

/// What [`Vault::rotate_master_key`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MasterKeyRotation {
    /// The id of the new master key.
    pub master_key_id: String,
    /// How many data keys were re-wrapped under it.
    pub rewrapped: usize,
    /// How many tenants those data keys belong to.
    pub tenants: usize,
}

/// The master keys a vault holds: the current one wraps, every one unwraps.
#[derive(Clone)]
struct Ring {
    current: Arc<MasterKey>,
    all: BTreeMap<String, Arc<MasterKey>>,
}

impl Ring {
    fn unwrap_key(
        &self,
        tenant: &TenantId,
        version: i64,
        master_id: &str,
        nonce: &[u8],
        wrapped: &[u8],
    ) -> Result<DataKey> {
        let master = self.all.get(master_id).ok_or_else(|| {
            Error::permanent(format!(
                "vault: data key v{version} of tenant {tenant} is wrapped by master key \
                 {master_id}, which this vault was not given (it holds {}): give it as a \
                 previous master key ([store] previous_master_keys) until \
                 rotate_master_key has re-wrapped every data key",
                self.all.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let broken = || {
            Error::permanent(format!(
                "vault: data key v{version} of tenant {tenant} does not unwrap with master key \
                 {master_id}: the row was altered or moved from another tenant"
            ))
            .with_context("tenant", tenant.as_str())
        };
        let nonce = xnonce(nonce).ok_or_else(broken)?;
        let plain = Zeroizing::new(
            master
                .cipher()
                .decrypt(
                    &nonce,
                    Payload {
                        msg: wrapped,
                        aad: &data_key_aad(tenant, version),
                    },
                )
                .map_err(|_| broken())?,
        );
        let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| broken())?;
        Ok(DataKey(Zeroizing::new(bytes)))
    }

    /// (master key id, nonce, wrapped key) of `key` under the current master key.
    fn wrap_key(
        &self,
        tenant: &TenantId,
        version: i64,
        key: &DataKey,
    ) -> (String, Vec<u8>, Vec<u8>) {
        let n = nonce();
        let wrapped = self
            .current
            .cipher()
            .encrypt(
                &XNonce::from(n),
                Payload {
                    msg: &key.0[..],
                    aad: &data_key_aad(tenant, version),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts 32 bytes");
        (self.current.id.clone(), n.to_vec(), wrapped)
    }
}

fn seal(
    key: &DataKey,
    tenant: &TenantId,
    name: &str,
    version: i64,
    value: &SecretString,
) -> (Vec<u8>, Vec<u8>) {
    let n = nonce();
    let ciphertext = key
        .cipher()
        .encrypt(
            &XNonce::from(n),
            Payload {
                msg: value.expose_secret().as_bytes(),
                aad: &credential_aad(tenant, name, version),
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any credential that fits in memory");
    (n.to_vec(), ciphertext)
}

fn open(
    key: &DataKey,
    tenant: &TenantId,
    name: &str,
    version: i64,
    nonce: &[u8],
    ciphertext: &[u8],
) -> Result<SecretString> {
    let broken = || {
        Error::permanent(format!(
            "vault credential {name} of tenant {tenant} does not decrypt with the tenant's data \
             key v{version}: the row was altered, or moved from another tenant or name; set it \
             again with `stackhand credentials set --tenant {tenant} --name {name}`"
        ))
        .with_context("tenant", tenant.as_str())
        .with_context("credential", name.to_string())
    };
    let nonce = xnonce(nonce).ok_or_else(broken)?;
    let plain = Zeroizing::new(
        key.cipher()
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: &credential_aad(tenant, name, version),
                },
            )
            .map_err(|_| broken())?,
    );
    let text = std::str::from_utf8(&plain).map_err(|_| broken())?;
    Ok(SecretString::from(text.to_string()))
}

/// A data key row: (master key id, nonce, wrapped key).
type KeyRow = (String, Vec<u8>, Vec<u8>);

/// The credential vault on a [`Store`]'s database. See the [module docs](self).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use secrecy::{ExposeSecret, SecretString};
/// use stackhand_core::TenantId;
/// use stackhand_store::{MasterKey, NoAuditKeys, Store, Vault};
///
/// let dir = tempfile::tempdir()?;
/// let url = format!("sqlite://{}?mode=rwc", dir.path().join("stackhand.db").display());
/// let store = Arc::new(Store::connect(&url, NoAuditKeys).await?);
/// // In production: MasterKey::from_file("master.key") (`stackhand vault keygen`).
/// let vault = Vault::new(store, MasterKey::generate());
///
/// let acme = TenantId::new("acme")?;
/// vault.set(&acme, "m365.client_secret", SecretString::from("s3cret")).await?;
/// assert_eq!(vault.get(&acme, "m365.client_secret").await?.expose_secret(), "s3cret");
///
/// // Another tenant has no such credential, whatever its name.
/// let beta = TenantId::new("beta")?;
/// assert!(vault.get(&beta, "m365.client_secret").await.is_err());
///
/// // A new data key for acme; the value is re-encrypted in the same transaction.
/// let rotation = vault.rotate_tenant_key(&acme).await?;
/// assert_eq!((rotation.version, rotation.reencrypted), (2, 1));
/// assert_eq!(vault.list(&acme).await?[0].name, "m365.client_secret");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct Vault {
    store: Arc<Store>,
    ring: RwLock<Ring>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ring = self.ring();
        f.debug_struct("Vault")
            .field("store", &self.store)
            .field("master_key", &ring.current.id)
            .field("master_keys", &ring.all.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Vault {
    /// A vault on `store`'s database whose data keys are wrapped by `master`.
    pub fn new(store: Arc<Store>, master: MasterKey) -> Self {
        let master = Arc::new(master);
        let mut all = BTreeMap::new();
        all.insert(master.id.clone(), master.clone());
        Self {
            store,
            ring: RwLock::new(Ring {
                current: master,
                all,
            }),
        }
    }

    /// Also unwrap data keys wrapped by `previous` (a master key being retired): give it while
    /// a [`rotate_master_key`](Self::rotate_master_key) is under way or was interrupted, and to
    /// every other process on the database until the rotation is done.
    pub fn with_previous_master_key(self, previous: MasterKey) -> Self {
        {
            let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
            ring.all
                .entry(previous.id.clone())
                .or_insert_with(|| Arc::new(previous));
        }
        self
    }

    /// The store the vault keeps its rows in.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The id of the master key new data keys are wrapped with.
    pub fn master_key_id(&self) -> String {
        self.ring().current.id.clone()
    }

    fn ring(&self) -> Ring {
        self.ring.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn db(&self, doing: &str) -> impl Fn(sqlx::Error) -> Error + '_ {
        let doing = doing.to_string();
        move |e| self.store.db_error(&doing, e)
    }

    /// Store `value` as the credential `name` of `tenant`, replacing any value it had. An empty
    /// value is refused. The tenant's first credential creates its data key.
    pub async fn set(&self, tenant: &TenantId, name: &str, value: SecretString) -> Result<()> {
        check_name(name)?;
        if value.expose_secret().is_empty() {
            return Err(Error::invalid(format!(
                "vault credential {name} of tenant {tenant}: the value is empty"
            )));
        }
        let db = self.db(&format!(
            "storing vault credential {name} of tenant {tenant}"
        ));
        let now = nanos(Utc::now());
        on_backend!(self.store, |pool, sql| {
            async {
                let mut tx = pool.begin_with(sql.begin_write).await.map_err(&db)?;
                let version = lock_tenant!(tx, sql, tenant, &db);
                // The master keys as they are now that the tenant's row is locked: a master key
                // rotation adds its key before it re-wraps anything.
                let ring = self.ring();
                let (version, key) = if version == 0 {
                    let key = DataKey::generate();
                    insert_data_key!(tx, ring, tenant, 1i64, &key, now, &db);
                    set_tenant_version!(tx, tenant, 1i64, &db);
                    (1, key)
                } else {
                    let (master_id, n, wrapped): KeyRow = sqlx::query_as(
                        "SELECT master_key_id, nonce, wrapped FROM vault_data_keys \
                         WHERE tenant = $1 AND version = $2",
                    )
                    .bind(tenant.as_str())
                    .bind(version)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(&db)?;
                    let key = ring.unwrap_key(tenant, version, &master_id, &n, &wrapped)?;
                    (version, key)
                };
                let (n, ciphertext) = seal(&key, tenant, name, version, &value);
                sqlx::query(
                    "INSERT INTO vault_credentials \
                     (tenant, name, key_version, nonce, ciphertext, updated_ns) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (tenant, name) DO UPDATE SET key_version = excluded.key_version, \
                     nonce = excluded.nonce, ciphertext = excluded.ciphertext, \
                     updated_ns = excluded.updated_ns",
                )
                .bind(tenant.as_str())
                .bind(name)
                .bind(version)
                .bind(n)
                .bind(ciphertext)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(&db)?;
                tx.commit().await.map_err(&db)?;
                Ok(())
            }
            .await
        })
    }

    /// The credential `name` of `tenant`. Not found (naming tenant and credential, and how to
    /// set it) when the tenant has no such credential; another tenant's credential of the same
    /// name is never read.
    pub async fn get(&self, tenant: &TenantId, name: &str) -> Result<SecretString> {
        check_name(name)?;
        let db = self.db(&format!(
            "reading vault credential {name} of tenant {tenant}"
        ));
        // One statement: the credential and the data key it names, from one snapshot, so a
        // rotation is seen wholly done or not begun.
        type Row = (
            i64,
            Vec<u8>,
            Vec<u8>,
            Option<String>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
        );
        let row: Option<Row> = on_backend!(self.store, |pool, _sql| {
            sqlx::query_as(
                "SELECT c.key_version, c.nonce, c.ciphertext, k.master_key_id, k.nonce, k.wrapped \
                 FROM vault_credentials c LEFT JOIN vault_data_keys k \
                 ON k.tenant = c.tenant AND k.version = c.key_version \
                 WHERE c.tenant = $1 AND c.name = $2",
            )
            .bind(tenant.as_str())
            .bind(name)
            .fetch_optional(pool)
            .await
        })
        .map_err(&db)?;
        let Some((version, n, ciphertext, master_id, key_nonce, wrapped)) = row else {
            return Err(Error::not_found(format!(
                "vault credential {name} of tenant {tenant} is not set: store it with \
                 `stackhand credentials set --tenant {tenant} --name {name}` (the value on \
                 standard input)"
            ))
            .with_context("tenant", tenant.as_str())
            .with_context("credential", name.to_string()));
        };
        let (Some(master_id), Some(key_nonce), Some(wrapped)) = (master_id, key_nonce, wrapped)
        else {
            return Err(Error::permanent(format!(
                "vault credential {name} of tenant {tenant} names data key v{version}, which \
                 the vault does not hold: set the credential again"
            ))
            .with_context("tenant", tenant.as_str())
            .with_context("credential", name.to_string()));
        };
        // The master keys as they are after the read: a master key rotation in this process
        // adds its key before it re-wraps anything, so the key of any row read is here.
        let key = self
            .ring()
            .unwrap_key(tenant, version, &master_id, &key_nonce, &wrapped)?;
        open(&key, tenant, name, version, &n, &ciphertext)
    }

    /// The names of `tenant`'s credentials with when each was last set, by name. No values.
    pub async fn list(&self, tenant: &TenantId) -> Result<Vec<CredentialInfo>> {
        let db = self.db(&format!("listing the vault credentials of tenant {tenant}"));
        let rows: Vec<(String, i64, i64)> = on_backend!(self.store, |pool, _sql| {
            sqlx::query_as(
                "SELECT name, updated_ns, key_version FROM vault_credentials \
                 WHERE tenant = $1 ORDER BY name",
            )
            .bind(tenant.as_str())
            .fetch_all(pool)
            .await
        })
        .map_err(&db)?;
        Ok(rows
            .into_iter()
            .map(|(name, updated_ns, key_version)| CredentialInfo {
                name,
                updated_at: DateTime::from_timestamp_nanos(updated_ns),
                key_version,
            })
            .collect())
    }

    /// Remove the credential `name` of `tenant`; false if it had none.
    pub async fn delete(&self, tenant: &TenantId, name: &str) -> Result<bool> {
        check_name(name)?;
        let db = self.db(&format!(
            "deleting vault credential {name} of tenant {tenant}"
        ));
        let removed = on_backend!(self.store, |pool, _sql| {
            sqlx::query("DELETE FROM vault_credentials WHERE tenant = $1 AND name = $2")
                .bind(tenant.as_str())
                .bind(name)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(&db)?;
        Ok(removed > 0)
    }

    /// Give `tenant` a new data key and re-encrypt every credential of the tenant under it, in
    /// one transaction: readers see every credential under the old key or every one under the
    /// new. The old data key is removed in the same transaction.
    pub async fn rotate_tenant_key(&self, tenant: &TenantId) -> Result<TenantKeyRotation> {
        let db = self.db(&format!("rotating the vault data key of tenant {tenant}"));
        let now = nanos(Utc::now());
        on_backend!(self.store, |pool, sql| {
            async {
                let mut tx = pool.begin_with(sql.begin_write).await.map_err(&db)?;
                let current = lock_tenant!(tx, sql, tenant, &db);
                let ring = self.ring();
                let keys: Vec<(i64, String, Vec<u8>, Vec<u8>)> = sqlx::query_as(
                    "SELECT version, master_key_id, nonce, wrapped FROM vault_data_keys \
                     WHERE tenant = $1",
                )
                .bind(tenant.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(&db)?;
                let mut old = BTreeMap::new();
                for (version, master_id, n, wrapped) in &keys {
                    old.insert(
                        *version,
                        ring.unwrap_key(tenant, *version, master_id, n, wrapped)?,
                    );
                }
                let version = old.keys().copied().max().unwrap_or(0).max(current) + 1;
                let new_key = DataKey::generate();
                insert_data_key!(tx, ring, tenant, version, &new_key, now, &db);
                let credentials: Vec<(String, i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(
                    "SELECT name, key_version, nonce, ciphertext FROM vault_credentials \
                     WHERE tenant = $1",
                )
                .bind(tenant.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(&db)?;
                for (name, old_version, n, ciphertext) in &credentials {
                    let old_key = old.get(old_version).ok_or_else(|| {
                        Error::permanent(format!(
                            "vault credential {name} of tenant {tenant} names data key \
                             v{old_version}, which the vault does not hold: delete it or set \
                             it again, then rotate"
                        ))
                    })?;
                    let value = open(old_key, tenant, name, *old_version, n, ciphertext)?;
                    let (n, ciphertext) = seal(&new_key, tenant, name, version, &value);
                    sqlx::query(
                        "UPDATE vault_credentials SET key_version = $1, nonce = $2, \
                         ciphertext = $3 WHERE tenant = $4 AND name = $5",
                    )
                    .bind(version)
                    .bind(n)
                    .bind(ciphertext)
                    .bind(tenant.as_str())
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(&db)?;
                }
                sqlx::query("DELETE FROM vault_data_keys WHERE tenant = $1 AND version <> $2")
                    .bind(tenant.as_str())
                    .bind(version)
                    .execute(&mut *tx)
                    .await
                    .map_err(&db)?;
                set_tenant_version!(tx, tenant, version, &db);
                tx.commit().await.map_err(&db)?;
                tracing::info!(tenant = %tenant, version, credentials = credentials.len(), "vault data key rotated");
                Ok(TenantKeyRotation {
                    version,
                    reencrypted: credentials.len(),
                })
            }
            .await
        })
    }

    /// Make `new` the master key and re-wrap every data key wrapped by another one under it,
    /// one tenant per transaction. Until it returns, this vault unwraps with the old master key
    /// too (readers never stop), and so must other processes on the database: give them both
    /// keys ([`with_previous_master_key`](Self::with_previous_master_key)) until it is done.
    /// Run again after an interruption; it re-wraps only what is left.
    pub async fn rotate_master_key(&self, new: MasterKey) -> Result<MasterKeyRotation> {
        let new_id = new.id.clone();
        let ring = {
            let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
            let new = ring
                .all
                .entry(new_id.clone())
                .or_insert_with(|| Arc::new(new))
                .clone();
            ring.current = new;
            ring.clone()
        };
        let db = self.db("listing the tenants whose vault data keys need re-wrapping");
        let tenants: Vec<String> = on_backend!(self.store, |pool, _sql| {
            sqlx::query_scalar(
                "SELECT DISTINCT tenant FROM vault_data_keys WHERE master_key_id <> $1 \
                 ORDER BY tenant",
            )
            .bind(&new_id)
            .fetch_all(pool)
            .await
        })
        .map_err(&db)?;
        let mut rewrapped = 0;
        for name in &tenants {
            let tenant = TenantId::new(name.clone()).map_err(|e| {
                Error::invalid(format!(
                    "vault: a data key has an invalid tenant id: {}",
                    e.message()
                ))
            })?;
            rewrapped += self.rewrap_tenant(&ring, &tenant).await?;
        }
        tracing::info!(master_key = %new_id, rewrapped, tenants = tenants.len(), "vault master key rotated");
        Ok(MasterKeyRotation {
            master_key_id: new_id,
            rewrapped,
            tenants: tenants.len(),
        })
    }

    async fn rewrap_tenant(&self, ring: &Ring, tenant: &TenantId) -> Result<usize> {
        let db = self.db(&format!(
            "re-wrapping the vault data keys of tenant {tenant} under master key {}",
            ring.current.id
        ));
        on_backend!(self.store, |pool, sql| {
            async {
                let mut tx = pool.begin_with(sql.begin_write).await.map_err(&db)?;
                lock_tenant!(tx, sql, tenant, &db);
                let keys: Vec<(i64, String, Vec<u8>, Vec<u8>)> = sqlx::query_as(
                    "SELECT version, master_key_id, nonce, wrapped FROM vault_data_keys \
                     WHERE tenant = $1 AND master_key_id <> $2",
                )
                .bind(tenant.as_str())
                .bind(&ring.current.id)
                .fetch_all(&mut *tx)
                .await
                .map_err(&db)?;
                for (version, master_id, n, wrapped) in &keys {
                    let key = ring.unwrap_key(tenant, *version, master_id, n, wrapped)?;
                    let (id, n, wrapped) = ring.wrap_key(tenant, *version, &key);
                    sqlx::query(
                        "UPDATE vault_data_keys SET master_key_id = $1, nonce = $2, wrapped = $3 \
                         WHERE tenant = $4 AND version = $5",
                    )
                    .bind(id)
                    .bind(n)
                    .bind(wrapped)
                    .bind(tenant.as_str())
                    .bind(*version)
                    .execute(&mut *tx)
                    .await
                    .map_err(&db)?;
                }
                tx.commit().await.map_err(&db)?;
                Ok(keys.len())
            }
            .await
        })
    }

    /// How many data keys each master key id wraps: once only the current id is left, a
    /// previous master key can be retired.
    pub async fn master_keys_in_use(&self) -> Result<BTreeMap<String, i64>> {
        let db = self.db("counting the vault data keys per master key");
        let rows: Vec<(String, i64)> = on_backend!(self.store, |pool, _sql| {
            sqlx::query_as(
                "SELECT master_key_id, COUNT(*) FROM vault_data_keys GROUP BY master_key_id",
            )
            .fetch_all(pool)
            .await
        })
        .map_err(&db)?;
        Ok(rows.into_iter().collect())
    }
}
