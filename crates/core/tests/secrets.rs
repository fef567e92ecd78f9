//! Secret parameters: in the request, never in what is stored, shown or audited.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use stackhand_core::audit::{AuditSink, MemoryAuditSink};
use stackhand_core::directory::{MemoryStaffDirectory, RoleScope, StaffMember};
use stackhand_core::engine::Engine;
use stackhand_core::policy::{Approver, Decision, DecisionInput, Effect, Policy, RuleId};
use stackhand_core::*;

const PASSWORD: &str = "Tr0ub4dor&3-hunter2";

/// A documentation system that keeps what it is given.
#[derive(Debug)]
struct Vault {
    info: ConnectorInfo,
    stored: Mutex<Vec<String>>,
}

#[async_trait]
impl Connector for Vault {
    fn info(&self) -> &ConnectorInfo {
        &self.info
    }
    async fn health(&self) -> Result<Health> {
        Ok(Health {
            healthy: true,
            detail: "vault".into(),
        })
    }
    fn docs(&self) -> Option<&dyn Documentation> {
        Some(self)
    }
    fn docs_writes(&self) -> Option<&dyn DocumentationWrites> {
        Some(self)
    }
}

#[async_trait]
impl Documentation for Vault {
    async fn find_asset(&self, _company: &str, _name: &str) -> Result<Option<Asset>> {
        Ok(None)
    }
}

#[async_trait]
impl DocumentationWrites for Vault {
    async fn upsert_user_asset(
        &self,
        _: &ExecutionProof<'_>,
        _: &str,
        _: &str,
        _: &BTreeMap<String, String>,
    ) -> Result<Asset> {
        Err(Error::unsupported("upsert_user_asset"))
    }
    async fn store_password(
        &self,
        _: &ExecutionProof<'_>,
        _company: &str,
        _name: &str,
        _username: &str,
        password: &SecretString,
    ) -> Result<String> {
        self.stored
            .lock()
            .push(password.expose_secret().to_string());
        Ok("pw-1".into())
    }
    async fn archive_asset(&self, _: &ExecutionProof<'_>, _: &str) -> Result<()> {
        Err(Error::unsupported("archive_asset"))
    }
    async fn unarchive_asset(&self, _: &ExecutionProof<'_>, _: &str) -> Result<()> {
        Err(Error::unsupported("unarchive_asset"))
    }
    async fn create_article(
        &self,
        _: &ExecutionProof<'_>,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<String> {
        Err(Error::unsupported("create_article"))
    }
}

struct Rule(Effect);

impl Policy for Rule {
    fn decide(&self, _: &DecisionInput<'_>) -> Decision {
        Decision::new(self.0.clone(), RuleId::new("test"), "test")
    }
}

fn setup(effect: Effect) -> (Engine, Arc<Vault>, Arc<MemoryAuditSink>, TenantId) {
    let tenant = TenantId::new("acme").unwrap();
    let vault = Arc::new(Vault {
        info: ConnectorInfo {
            vendor: "vault".into(),
            tenant: tenant.clone(),
            categories: vec![Category::Docs],
        },
        stored: Mutex::new(Vec::new()),
    });
    let audit = Arc::new(MemoryAuditSink::new());
    let staff = MemoryStaffDirectory::new()
        .with(StaffMember::technician("tech@msp.example").role("msp.tech", RoleScope::AllTenants))
        .with(StaffMember::technician("lead@msp.example").role("msp.lead", RoleScope::AllTenants));
    let engine = Engine::builder(Arc::new(Rule(effect)), audit.clone())
        .staff(Arc::new(staff))
        .build();
    engine
        .add_tenant(
            Tenant::new(tenant.clone(), "Acme"),
            ConnectorSet::new(tenant.clone())
                .with(vault.clone())
                .unwrap(),
        )
        .unwrap();
    (engine, vault, audit, tenant)
}

fn store(tenant: &TenantId, key: &str, params: serde_json::Value) -> ActionRequest {
    ActionRequest::new(
        IdempotencyKey::new(key).unwrap(),
        tenant.clone(),
        ActionId::from_static("docs.store_password"),
        &params,
        Principal::technician("tech@msp.example", &[]),
    )
    .unwrap()
}

fn params() -> serde_json::Value {
    json!({"company": "Acme", "name": "Wi-Fi", "username": "guest"})
}

#[tokio::test]
async fn a_secret_in_plain_params_is_refused_without_repeating_it() {
    let (engine, vault, _, tenant) = setup(Effect::Allow);
    let mut plain = params();
    plain["password"] = json!(PASSWORD);
    let refused = engine
        .submit(store(&tenant, "k1", plain))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Invalid);
    assert!(refused.message().contains("with_secret"), "{refused}");
    assert!(!format!("{refused:?}").contains(PASSWORD));
    assert!(vault.stored.lock().is_empty());
}

#[tokio::test]
async fn a_secret_reaches_the_vendor_and_nothing_else() {
    let (engine, vault, audit, tenant) = setup(Effect::Allow);
    let request =
        store(&tenant, "k1", params()).with_secret("password", SecretString::from(PASSWORD));
    assert!(!format!("{request:?}").contains(PASSWORD));
    assert!(!serde_json::to_string(&request).unwrap().contains(PASSWORD));

    let answer = engine.submit(request).await.unwrap();
    assert_eq!(answer.label(), "executed");
    assert_eq!(vault.stored.lock().as_slice(), [PASSWORD]);
    let receipt = answer.receipt().unwrap();
    assert!(!format!("{receipt:?}").contains(PASSWORD));
    assert!(!serde_json::to_string(receipt).unwrap().contains(PASSWORD));
    let trail = serde_json::to_string(&engine.audit_trail(&tenant).await.unwrap()).unwrap();
    assert!(!trail.contains(PASSWORD));
    assert!(audit.verify_tenant(&tenant).await.unwrap().is_ok());

    // The secret is not part of the request's identity: a retry with another secret is the
    // same request, answered from the first.
    let retry = store(&tenant, "k1", params()).with_secret("password", SecretString::from("other"));
    assert!(matches!(
        engine.submit(retry).await.unwrap(),
        Submission::Duplicate(_)
    ));
    assert_eq!(vault.stored.lock().len(), 1);
}

#[tokio::test]
async fn an_approval_never_shows_the_secret() {
    let (engine, vault, _, tenant) = setup(Effect::RequireApproval {
        approvers: vec![Approver::Role("msp.lead".into())],
    });
    let request =
        store(&tenant, "k1", params()).with_secret("password", SecretString::from(PASSWORD));
    let pending = engine.submit(request).await.unwrap();
    let approval = pending.approval().unwrap();
    assert!(!format!("{approval:?}").contains(PASSWORD));
    assert!(!serde_json::to_string(approval).unwrap().contains(PASSWORD));

    let lead = Principal::technician("lead@msp.example", &[]);
    let done = engine.approve(approval.id, &lead).await.unwrap();
    assert_eq!(done.label(), "executed");
    assert_eq!(vault.stored.lock().as_slice(), [PASSWORD]);
}
