//! Actions: one verb each, with a spec, a read-only plan, an execute that only the engine can
//! call, and an optional undo built from the state before.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::connector::ConnectorSet;
use crate::error::{Error, Result};
use crate::model::{ActionId, ActionRequest, ActionSpec, Category, Outcome, Plan, Risk, TenantId};

/// Proof that the engine authorised this execution: the policy allowed it, or an authorised
/// approver who is not the requester approved it.
///
/// It has no public constructor, so no code outside `stackhand-core`'s engine can call
/// [`Action::execute`] or [`Action::undo`]. Connector crates implement those methods but cannot
/// invoke them.
pub struct ExecutionProof {
    rule: String,
    approved_by: Option<String>,
    _seal: (),
}

impl ExecutionProof {
    /// Only the engine constructs proofs.
    pub(crate) fn issue(rule: &str, approved_by: Option<&str>) -> Self {
        Self {
            rule: rule.to_string(),
            approved_by: approved_by.map(str::to_string),
            _seal: (),
        }
    }

    /// The policy rule that allowed, or required the approval.
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// The approver, when execution followed an approval.
    pub fn approved_by(&self) -> Option<&str> {
        self.approved_by.as_deref()
    }
}

impl fmt::Debug for ExecutionProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutionProof")
            .field("rule", &self.rule)
            .field("approved_by", &self.approved_by)
            .finish()
    }
}

/// What an action runs against: one tenant's connectors.
#[derive(Debug, Clone)]
pub struct ActionContext {
    connectors: Arc<ConnectorSet>,
}

impl ActionContext {
    /// A context over a tenant's connectors.
    pub fn new(connectors: Arc<ConnectorSet>) -> Self {
        Self { connectors }
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        self.connectors.tenant()
    }

    /// The tenant's connectors.
    pub fn connectors(&self) -> &ConnectorSet {
        &self.connectors
    }
}

/// One verb, usable as `dyn`.
#[async_trait]
pub trait Action: Send + Sync {
    /// The action's description.
    fn spec(&self) -> &ActionSpec;

    /// Read the current state and say what would change. Must not write anything.
    async fn plan(&self, ctx: &ActionContext, request: &ActionRequest) -> Result<Plan>;

    /// Make the change. Only the engine holds an [`ExecutionProof`].
    async fn execute(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        plan: &Plan,
        proof: &ExecutionProof,
    ) -> Result<Outcome>;

    /// Restore the state before recorded in `plan`. Only for reversible actions.
    async fn undo(
        &self,
        _ctx: &ActionContext,
        _request: &ActionRequest,
        _plan: &Plan,
        _proof: &ExecutionProof,
    ) -> Result<Outcome> {
        Err(Error::unsupported(&format!("undo of {}", self.spec().id)))
    }
}

/// The static description of a typed action.
#[derive(Debug, Clone, Copy)]
pub struct Descriptor {
    /// Stable id.
    pub id: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Capability needed.
    pub category: Category,
    /// Risk.
    pub risk: Risk,
    /// Undo restores the state before.
    pub reversible: bool,
    /// Executing twice equals once.
    pub idempotent: bool,
}

/// An action with typed parameters; wrap it in [`Typed`] to get a `dyn Action`.
///
/// Parameters are deserialised once, and a malformed input is refused with the field named,
/// before anything is read from a vendor.
#[async_trait]
pub trait TypedAction: Send + Sync + 'static {
    /// The input.
    type Params: DeserializeOwned + JsonSchema + Send + Sync;

    /// The static description.
    const DESCRIPTOR: Descriptor;

    /// See [`Action::plan`].
    async fn plan(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
    ) -> Result<Plan>;

    /// See [`Action::execute`].
    async fn execute(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
        plan: &Plan,
        proof: &ExecutionProof,
    ) -> Result<Outcome>;

    /// See [`Action::undo`].
    async fn undo(
        &self,
        _ctx: &ActionContext,
        _request: &ActionRequest,
        _params: &Self::Params,
        _plan: &Plan,
        _proof: &ExecutionProof,
    ) -> Result<Outcome> {
        Err(Error::unsupported(&format!(
            "undo of {}",
            Self::DESCRIPTOR.id
        )))
    }
}

/// Adapts a [`TypedAction`] to [`Action`].
pub struct Typed<A: TypedAction> {
    inner: A,
    spec: ActionSpec,
    _params: PhantomData<fn() -> A::Params>,
}

impl<A: TypedAction> Typed<A> {
    /// Wrap.
    pub fn new(inner: A) -> Self {
        let d = A::DESCRIPTOR;
        let schema = schemars::schema_for!(A::Params);
        Self {
            inner,
            spec: ActionSpec {
                id: ActionId::from_static(d.id),
                summary: d.summary.to_string(),
                category: d.category,
                risk: d.risk,
                reversible: d.reversible,
                idempotent: d.idempotent,
                input_schema: serde_json::to_value(schema).unwrap_or_default(),
            },
            _params: PhantomData,
        }
    }

    /// Wrap and share.
    pub fn shared(inner: A) -> Arc<dyn Action> {
        Arc::new(Self::new(inner))
    }

    fn params(&self, request: &ActionRequest) -> Result<A::Params> {
        A::Params::deserialize(&request.params).map_err(|e| {
            Error::invalid(format!("invalid parameters for {}: {e}", self.spec.id))
                .with_context("action", self.spec.id.as_str())
        })
    }
}

use serde::Deserialize as _;

#[async_trait]
impl<A: TypedAction> Action for Typed<A> {
    fn spec(&self) -> &ActionSpec {
        &self.spec
    }

    async fn plan(&self, ctx: &ActionContext, request: &ActionRequest) -> Result<Plan> {
        let params = self.params(request)?;
        self.inner.plan(ctx, request, &params).await
    }

    async fn execute(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        plan: &Plan,
        proof: &ExecutionProof,
    ) -> Result<Outcome> {
        let params = self.params(request)?;
        self.inner.execute(ctx, request, &params, plan, proof).await
    }

    async fn undo(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        plan: &Plan,
        proof: &ExecutionProof,
    ) -> Result<Outcome> {
        if !self.spec.reversible {
            return Err(Error::invalid(format!(
                "{} is not reversible",
                self.spec.id
            )));
        }
        let params = self.params(request)?;
        self.inner.undo(ctx, request, &params, plan, proof).await
    }
}

/// The actions an engine knows, by id.
#[derive(Clone, Default)]
pub struct ActionCatalog {
    actions: std::collections::BTreeMap<ActionId, Arc<dyn Action>>,
}

impl fmt::Debug for ActionCatalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.actions.keys()).finish()
    }
}

impl ActionCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) an action.
    pub fn insert(&mut self, action: Arc<dyn Action>) {
        self.actions.insert(action.spec().id.clone(), action);
    }

    /// Look one up.
    pub fn get(&self, id: &ActionId) -> Option<&Arc<dyn Action>> {
        self.actions.get(id)
    }

    /// Every spec, ordered by id.
    pub fn specs(&self) -> impl Iterator<Item = &ActionSpec> + '_ {
        self.actions.values().map(|a| a.spec())
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}
