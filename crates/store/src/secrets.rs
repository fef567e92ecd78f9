//! The vault as a [`SecretResolver`], and audit keys for a store opened for its vault only.

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use stackhand_core::audit::{AuditKey, AuditKeys};
use stackhand_core::build::{LocalSecrets, SecretRef, SecretResolver};
use stackhand_core::{Error, Result, TenantId};

use crate::Vault;

/// Resolves `{ vault = "name" }` from the [`Vault`], for the resolving tenant only, and hands
/// `{ env = .. }` and `{ file = .. }` to a [`LocalSecrets`] (with its per-tenant rules).
///
/// A [`BuildContext`](stackhand_core::BuildContext) resolves for its own tenant, so a tenant's
/// connector configuration that names another tenant's credential finds nothing: the vault is
/// asked for that name in the building tenant's credentials.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use secrecy::{ExposeSecret, SecretString};
/// use stackhand_core::build::{BuildContext, LocalSecrets, SecretRef};
/// use stackhand_core::TenantId;
/// use stackhand_store::{MasterKey, NoAuditKeys, Store, Vault, VaultSecrets};
///
/// let store = Arc::new(Store::connect("sqlite::memory:", NoAuditKeys).await?);
/// let vault = Arc::new(Vault::new(store, MasterKey::generate()));
/// let acme = TenantId::new("acme")?;
/// vault.set(&acme, "okta.token", SecretString::from("t0ken")).await?;
///
/// let secrets = Arc::new(VaultSecrets::new(vault, LocalSecrets::new()));
/// let ctx = BuildContext::new(acme).with_secrets(secrets.clone());
/// let token = ctx.secret(&SecretRef::vault("okta.token")).await?;
/// assert_eq!(token.expose_secret(), "t0ken");
///
/// // The same reference, resolved while building tenant beta, reads beta's credentials.
/// let beta = BuildContext::new(TenantId::new("beta")?).with_secrets(secrets);
/// assert!(beta.secret(&SecretRef::vault("okta.token")).await.is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct VaultSecrets {
    vault: Arc<Vault>,
    local: LocalSecrets,
}

impl VaultSecrets {
    /// Vault references from `vault`, environment and file references from `local`.
    pub fn new(vault: Arc<Vault>, local: LocalSecrets) -> Self {
        Self { vault, local }
    }

    /// The vault.
    pub fn vault(&self) -> &Arc<Vault> {
        &self.vault
    }
}

#[async_trait]
impl SecretResolver for VaultSecrets {
    async fn resolve(&self, tenant: &TenantId, reference: &SecretRef) -> Result<SecretString> {
        match reference {
            SecretRef::Vault(name) => self.vault.get(tenant, name).await,
            other => self.local.resolve(tenant, other).await,
        }
    }
}

/// Audit keys for a [`Store`](crate::Store) opened for its [`Vault`] only (the `stackhand
/// credentials` commands, a runner that keeps its audit trail elsewhere): every request for a
/// tenant's audit key fails, so such a store never seals an audit event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAuditKeys;

impl AuditKeys for NoAuditKeys {
    fn key(&self, tenant: &TenantId) -> Result<AuditKey> {
        Err(Error::invalid(format!(
            "this store was opened without audit keys (for its vault only), so it cannot seal \
             or verify the audit chain of tenant {tenant}: connect it with Store::connect(url, \
             DerivedAuditKeys::from_file(..))"
        )))
    }
}
