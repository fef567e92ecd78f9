//! Reaching a connector's writes the only way there is: through the engine.
//!
//! Every capability write borrows an [`ExecutionProof`], and only the engine issues one, so a
//! connector crate's own tests cannot call `reset_password` or `close` around it either.
//! [`through_engine`] runs a test's write as the execution of one request through a real
//! [`Engine`]: planned, decided by a policy that allows exactly this test action and nothing
//! else, audited, and executed with the proof the engine issued for it.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use stackhand_core::memory::MemoryConnector;
//! use stackhand_core::{IdentityProvider, IdentityWrites, TenantId};
//! use stackhand_testkit::writes::through_engine;
//!
//! let tenant = TenantId::new("acme")?;
//! let memory = Arc::new(MemoryConnector::demo(tenant.clone()));
//! let bob = memory.get_user("bob@acme.example").await?;
//! let idp = memory.clone();
//! through_engine(&tenant, move |proof| Box::pin(async move { idp.unlock(proof, &bob).await }))
//!     .await?;
//! assert!(!memory.get_user("bob@acme.example").await?.locked);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use stackhand_core::audit::MemoryAuditSink;
use stackhand_core::engine::Engine;
use stackhand_core::policy::{Decision, DecisionInput, Effect, Policy, RuleId};
use stackhand_core::{
    Action, ActionContext, ActionId, ActionRequest, ActionSpec, Category, ConnectorSet, Error,
    ExecutionProof, IdempotencyKey, Outcome, Plan, Principal, Result, Risk, StepStatus, Tenant,
    TenantId,
};

/// The id of the one action the test engine knows besides the built-ins.
pub const WRITE_ACTION: &str = "testkit.write";

/// A test's write: given the engine's proof, the future that makes the write.
pub type WriteFn<T> =
    Box<dyn for<'p> FnOnce(&'p ExecutionProof<'p>) -> BoxFuture<'p, Result<T>> + Send>;

/// Run `write` as the execution of one request in `tenant`, through a real engine, and return
/// what it returned. The proof it receives lives only for that call.
pub async fn through_engine<T, F>(tenant: &TenantId, write: F) -> Result<T>
where
    T: Send + 'static,
    F: for<'p> FnOnce(&'p ExecutionProof<'p>) -> BoxFuture<'p, Result<T>> + Send + 'static,
{
    static REQUESTS: AtomicU64 = AtomicU64::new(0);
    let slot: Arc<Mutex<Option<Result<T>>>> = Arc::new(Mutex::new(None));
    let action = TestWrite {
        spec: spec(),
        write: Mutex::new(Some(Box::new(write))),
        result: slot.clone(),
    };
    let engine = Engine::builder(Arc::new(AllowTestWrite), Arc::new(MemoryAuditSink::new()))
        .action(Arc::new(action))?
        .build();
    engine.add_tenant(
        Tenant::new(tenant.clone(), tenant.as_str()),
        ConnectorSet::new(tenant.clone()),
    )?;
    let n = REQUESTS.fetch_add(1, Ordering::Relaxed);
    let request = ActionRequest::new(
        IdempotencyKey::new(format!("testkit-write-{n}"))?,
        tenant.clone(),
        ActionId::from_static(WRITE_ACTION),
        &serde_json::json!({}),
        Principal::agent("stackhand-testkit"),
    )?;
    let submission = engine.submit(request).await?;
    match slot.lock().take() {
        Some(result) => result,
        None => Err(Error::permanent(format!(
            "the engine did not execute the test write ({})",
            submission.label()
        ))),
    }
}

fn spec() -> ActionSpec {
    ActionSpec {
        id: ActionId::from_static(WRITE_ACTION),
        summary: "A connector test's write, run through the engine".into(),
        category: Category::Identity,
        risk: Risk::Low,
        reversible: false,
        idempotent: false,
        input_schema: serde_json::json!({ "type": "object" }),
        secret_params: Vec::new(),
    }
}

struct TestWrite<T> {
    spec: ActionSpec,
    write: Mutex<Option<WriteFn<T>>>,
    result: Arc<Mutex<Option<Result<T>>>>,
}

#[async_trait]
impl<T: Send + 'static> Action for TestWrite<T> {
    fn spec(&self) -> &ActionSpec {
        &self.spec
    }

    async fn plan(&self, _ctx: &ActionContext, request: &ActionRequest) -> Result<Plan> {
        // Not a no-op plan: the engine skips executing a plan that changes nothing.
        let mut plan = Plan::new(
            request.action.clone(),
            request.tenant.clone(),
            "a connector test's write",
        );
        plan.changes.push(stackhand_core::Change::new(
            "test",
            "write",
            None,
            Some(serde_json::json!("made")),
        ));
        Ok(plan)
    }

    async fn execute(&self, _ctx: &ActionContext, proof: &ExecutionProof<'_>) -> Result<Outcome> {
        let write = self
            .write
            .lock()
            .take()
            .ok_or_else(|| Error::conflict("a test write runs once"))?;
        let result = write(proof).await;
        let outcome = match &result {
            Ok(_) => Ok(Outcome::new(StepStatus::Succeeded)),
            Err(e) => Err(Error::new(e.kind(), e.message())),
        };
        *self.result.lock() = Some(result);
        outcome
    }
}

/// Allows [`WRITE_ACTION`] and nothing else.
struct AllowTestWrite;

impl Policy for AllowTestWrite {
    fn decide(&self, input: &DecisionInput<'_>) -> Decision {
        if input.request.action.as_str() == WRITE_ACTION {
            Decision::new(
                Effect::Allow,
                RuleId::new("testkit-allow-test-write"),
                "a connector test's write",
            )
        } else {
            Decision::no_policy()
        }
    }
}

/// The staff the workspace's tests act as, in every tenant: `tech@msp.example` (a technician
/// with `msp.tech` and `helpdesk`) and `lead@msp.example` (`msp.lead`). An engine takes its
/// technicians' and approvers' roles from its staff directory, never from the request.
pub fn test_staff() -> Arc<stackhand_core::directory::MemoryStaffDirectory> {
    use stackhand_core::directory::{MemoryStaffDirectory, RoleScope, StaffMember};
    Arc::new(
        MemoryStaffDirectory::new()
            .with(
                StaffMember::technician("tech@msp.example")
                    .role("msp.tech", RoleScope::AllTenants)
                    .role("helpdesk", RoleScope::AllTenants),
            )
            .with(
                StaffMember::technician("lead@msp.example").role("msp.lead", RoleScope::AllTenants),
            ),
    )
}

/// A policy that allows every request: for connector tests that run vendor actions through an
/// engine. Never load it outside tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Policy for AllowAll {
    fn decide(&self, _input: &DecisionInput<'_>) -> Decision {
        Decision::new(
            Effect::Allow,
            RuleId::new("testkit-allow-all"),
            "a connector test",
        )
    }
}

/// An engine that allows everything, with [`test_staff`], whose tenant `name` has `connector`
/// (and so its vendor actions).
pub fn allow_all_engine(connector: Arc<dyn stackhand_core::Connector>, name: &str) -> Engine {
    let tenant = connector.info().tenant.clone();
    let engine = Engine::builder(Arc::new(AllowAll), Arc::new(MemoryAuditSink::new()))
        .staff(test_staff())
        .build();
    engine
        .add_tenant(
            Tenant::new(tenant.clone(), name),
            ConnectorSet::new(tenant)
                .with(connector)
                .expect("the connector serves its own tenant"),
        )
        .expect("a connector's actions have ids of their own");
    engine
}
