//! Building connectors as a runner does in tests: tenants' secrets directories and the connector
//! tables of a `stackhand.toml` text.
//!
//! ```
//! use stackhand_testkit::deployment::{SecretsDir, toml_section};
//!
//! let secrets = SecretsDir::new(&["acme", "globex"]).with("acme", "echo.key", "k-123");
//! let section = toml_section(
//!     "[tenants.acme.connectors.echo]\napi_key = { file = \"echo.key\" }\n",
//!     "acme",
//!     "echo",
//! );
//! assert_eq!(section["api_key"]["file"], "echo.key");
//! let ctx = secrets.context("acme");
//! assert_eq!(ctx.tenant().as_str(), "acme");
//! ```

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use stackhand_core::build::LocalSecrets;
use stackhand_core::{BuildContext, TenantId};

/// A temporary secrets directory, `<dir>/<tenant>/<name>`, read by [`LocalSecrets`].
#[derive(Debug)]
pub struct SecretsDir {
    dir: tempfile::TempDir,
}

impl SecretsDir {
    /// An empty directory for each of `tenants`.
    ///
    /// # Panics
    ///
    /// When the temporary directory cannot be written.
    pub fn new(tenants: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for tenant in tenants {
            std::fs::create_dir_all(dir.path().join(tenant)).expect("a tenant directory");
        }
        Self { dir }
    }

    /// Write `value` (with a trailing newline, as editors do) to `tenant`'s file `name`.
    ///
    /// # Panics
    ///
    /// When the file cannot be written.
    pub fn with(self, tenant: &str, name: &str, value: &str) -> Self {
        let tenant_dir = self.dir.path().join(tenant);
        std::fs::create_dir_all(&tenant_dir).expect("a tenant directory");
        std::fs::write(tenant_dir.join(name), format!("{value}\n")).expect("a secret file");
        self
    }

    /// The directory (the `secrets_dir` of a configuration).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A build context for `tenant` resolving secrets from this directory.
    ///
    /// # Panics
    ///
    /// When `tenant` is not a valid tenant id.
    pub fn context(&self, tenant: &str) -> BuildContext {
        BuildContext::new(TenantId::new(tenant).expect("a valid tenant id"))
            .with_secrets(Arc::new(LocalSecrets::new().with_dir(self.dir.path())))
    }
}

/// The `[tenants.<tenant>.connectors.<vendor>]` table of `stackhand_toml`, as the runner hands
/// it to a factory (JSON).
///
/// # Panics
///
/// When the text is not TOML or has no such table.
pub fn toml_section(stackhand_toml: &str, tenant: &str, vendor: &str) -> Value {
    let file: toml::Table = toml::from_str(stackhand_toml).expect("valid TOML");
    let section = file
        .get("tenants")
        .and_then(|t| t.get(tenant))
        .and_then(|t| t.get("connectors"))
        .and_then(|c| c.get(vendor))
        .unwrap_or_else(|| panic!("no [tenants.{tenant}.connectors.{vendor}] table"));
    serde_json::to_value(section).expect("TOML converts to JSON")
}
