//! What the audit tests share: a tenant and its records.

use stackhand_core::TenantId;
use stackhand_core::audit::{AuditKind, AuditRecord};

/// The tenant every chain belongs to.
pub fn acme() -> TenantId {
    TenantId::new("acme").unwrap()
}

/// The `n`th record of acme's chain: a deny decision at a fixed time.
pub fn record(n: usize) -> AuditRecord {
    AuditRecord {
        tenant: acme(),
        at: chrono::DateTime::from_timestamp(1_700_000_000 + n as i64, 0).unwrap(),
        kind: AuditKind::Decided,
        request: None,
        action: None,
        actor: Some(format!("actor-{n}")),
        data: serde_json::json!({ "n": n, "effect": "deny" }),
    }
}
