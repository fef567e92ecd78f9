//! Actions: one verb each, with a spec, a read-only plan, an execute that only the engine can
//! call, and an optional undo built from the state before.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::approval::Operation;
use crate::capability::{
    Documentation, DocumentationWrites, IdentityProvider, IdentityWrites, Messaging, Psa,
    PsaWrites, Rmm, RmmWrites,
};
use crate::connector::{ConnectorReads, ConnectorSet};
use crate::error::{Error, Result};
use crate::model::{ActionId, ActionRequest, ActionSpec, Category, Outcome, Plan, Risk, TenantId};

/// Proof that the engine authorised one execution: the policy allowed this request, or an
/// authorised approver who is not the requester approved it.
///
/// A proof is bound to the one request it was issued for: it carries that request (tenant,
/// idempotency key, action, target, parameters) and its plan, so an action reads both from the
/// proof and cannot present it for anything else. Every capability write
/// ([`IdentityWrites`], [`PsaWrites`], ...) borrows it.
///
/// - It has no public constructor: only the engine issues one, after the decision.
/// - It is neither `Clone` nor `Copy`, and the engine lends it (`&ExecutionProof`) for the length
///   of one [`Action::execute`] or [`Action::undo`] call and drops it when the call returns, so it
///   cannot be kept for a later request.
///
/// ```compile_fail
/// // Building a proof outside the engine does not compile.
/// let proof = stackhand_core::ExecutionProof::issue("allow-all", None);
/// ```
///
/// ```compile_fail
/// // Nor does cloning one to keep it.
/// fn keep(proof: &stackhand_core::ExecutionProof<'_>) -> stackhand_core::ExecutionProof<'static> {
///     proof.clone()
/// }
/// ```
///
/// ```compile_fail
/// // Nor stashing the borrowed proof somewhere that outlives the execution, to reuse it for a
/// // second request later.
/// use std::sync::Mutex;
/// static STASH: Mutex<Option<&'static stackhand_core::ExecutionProof<'static>>> = Mutex::new(None);
/// fn stash(proof: &stackhand_core::ExecutionProof<'_>) {
///     *STASH.lock().unwrap() = Some(proof);
/// }
/// ```
///
/// ```compile_fail
/// // Nor taking it into a task that outlives the execution.
/// fn spawn_later(proof: &stackhand_core::ExecutionProof<'_>) {
///     std::thread::spawn(move || println!("{}", proof.rule()));
/// }
/// ```
pub struct ExecutionProof<'a> {
    request: &'a ActionRequest,
    plan: &'a Plan,
    operation: Operation,
    rule: &'a str,
    approved_by: Option<&'a str>,
}

impl<'a> ExecutionProof<'a> {
    /// Only the engine constructs proofs.
    pub(crate) fn issue(
        request: &'a ActionRequest,
        plan: &'a Plan,
        operation: Operation,
        rule: &'a str,
        approved_by: Option<&'a str>,
    ) -> Self {
        Self {
            request,
            plan,
            operation,
            rule,
            approved_by,
        }
    }

    /// The request this proof authorises, and only it.
    pub fn request(&self) -> &'a ActionRequest {
        self.request
    }

    /// The plan the decision was made on (its `state_before` is what undo restores).
    pub fn plan(&self) -> &'a Plan {
        self.plan
    }

    /// The tenant the request acts in.
    pub fn tenant(&self) -> &'a TenantId {
        &self.request.tenant
    }

    /// Whether this authorises the forward action or its undo.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The policy rule that allowed, or required the approval.
    pub fn rule(&self) -> &'a str {
        self.rule
    }

    /// The approver, when execution followed an approval.
    pub fn approved_by(&self) -> Option<&'a str> {
        self.approved_by
    }

    /// Fail unless this proof was issued in `tenant`: a write through one tenant's connectors
    /// never runs on another tenant's proof.
    pub fn check_tenant(&self, tenant: &TenantId) -> Result<()> {
        if &self.request.tenant == tenant {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "a proof issued for tenant {} cannot authorise a write in tenant {tenant}",
                self.request.tenant
            )))
        }
    }
}

impl fmt::Debug for ExecutionProof<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutionProof")
            .field("tenant", &self.request.tenant)
            .field("request", &self.request.idempotency_key)
            .field("action", &self.request.action)
            .field("target", &self.request.target)
            .field("operation", &self.operation)
            .field("rule", &self.rule)
            .field("approved_by", &self.approved_by)
            .finish()
    }
}

/// What an action runs against: one tenant's connectors.
///
/// Reads are open ([`identity`](Self::identity), [`psa`](Self::psa), ...); every write accessor
/// takes the request's [`ExecutionProof`] and refuses a proof of another tenant.
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

    /// The tenant's connectors, read-only.
    pub fn reads(&self) -> ConnectorReads {
        ConnectorReads::new(self.connectors.clone())
    }

    /// The identity provider's reads.
    pub fn identity(&self) -> Result<&dyn IdentityProvider> {
        self.connectors.identity()
    }

    /// The PSA's reads.
    pub fn psa(&self) -> Result<&dyn Psa> {
        self.connectors.psa()
    }

    /// The RMM's reads.
    pub fn rmm(&self) -> Result<&dyn Rmm> {
        self.connectors.rmm()
    }

    /// The documentation system's reads.
    pub fn docs(&self) -> Result<&dyn Documentation> {
        self.connectors.docs()
    }

    /// Fail unless a messaging connector is enabled (for plans: sending itself is a write).
    pub fn check_messaging(&self) -> Result<()> {
        self.connectors.messaging().map(|_| ())
    }

    /// The identity provider's writes, for the request `proof` authorises.
    pub fn identity_writes(&self, proof: &ExecutionProof<'_>) -> Result<&dyn IdentityWrites> {
        proof.check_tenant(self.tenant())?;
        self.connectors.identity_writes()
    }

    /// The PSA's writes, for the request `proof` authorises.
    pub fn psa_writes(&self, proof: &ExecutionProof<'_>) -> Result<&dyn PsaWrites> {
        proof.check_tenant(self.tenant())?;
        self.connectors.psa_writes()
    }

    /// The RMM's writes, for the request `proof` authorises.
    pub fn rmm_writes(&self, proof: &ExecutionProof<'_>) -> Result<&dyn RmmWrites> {
        proof.check_tenant(self.tenant())?;
        self.connectors.rmm_writes()
    }

    /// The documentation system's writes, for the request `proof` authorises.
    pub fn docs_writes(&self, proof: &ExecutionProof<'_>) -> Result<&dyn DocumentationWrites> {
        proof.check_tenant(self.tenant())?;
        self.connectors.docs_writes()
    }

    /// Messaging (every message is a write), for the request `proof` authorises.
    pub fn messaging(&self, proof: &ExecutionProof<'_>) -> Result<&dyn Messaging> {
        proof.check_tenant(self.tenant())?;
        self.connectors.messaging()
    }
}

/// One verb, usable as `dyn`.
#[async_trait]
pub trait Action: Send + Sync {
    /// The action's description.
    fn spec(&self) -> &ActionSpec;

    /// Read the current state and say what would change. Must not write anything.
    async fn plan(&self, ctx: &ActionContext, request: &ActionRequest) -> Result<Plan>;

    /// Make the change the proof's request asks for, as its plan says. Only the engine holds an
    /// [`ExecutionProof`]; the request and plan are read from it.
    async fn execute(&self, ctx: &ActionContext, proof: &ExecutionProof<'_>) -> Result<Outcome>;

    /// Restore the state before recorded in the proof's plan. Only for reversible actions.
    async fn undo(&self, _ctx: &ActionContext, _proof: &ExecutionProof<'_>) -> Result<Outcome> {
        Err(Error::unsupported(&format!("undo of {}", self.spec().id)))
    }

    /// Read the target back after an execution of `plan` whose answer was lost: the state
    /// after when the target shows the change, `None` when it does not. Must not write
    /// anything. By default the request is planned again, and a plan with nothing left to
    /// change counts as applied.
    async fn read_back(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        _plan: &Plan,
    ) -> Result<Option<serde_json::Value>> {
        let fresh = self.plan(ctx, request).await?;
        Ok(fresh.is_noop().then_some(fresh.state_before))
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

    /// The fields of [`Params`](Self::Params) that are secrets: they arrive through
    /// [`ActionRequest::with_secret`], never in the stored, audited `params`.
    const SECRET_PARAMS: &'static [&'static str] = &[];

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
        proof: &ExecutionProof<'_>,
    ) -> Result<Outcome>;

    /// See [`Action::undo`].
    async fn undo(
        &self,
        _ctx: &ActionContext,
        _request: &ActionRequest,
        _params: &Self::Params,
        _plan: &Plan,
        _proof: &ExecutionProof<'_>,
    ) -> Result<Outcome> {
        Err(Error::unsupported(&format!(
            "undo of {}",
            Self::DESCRIPTOR.id
        )))
    }

    /// See [`Action::read_back`]. Override it where planning again cannot tell: an action
    /// that creates a record refuses to plan once the record exists, so it finds the record
    /// instead.
    async fn read_back(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        params: &Self::Params,
        _plan: &Plan,
    ) -> Result<Option<serde_json::Value>> {
        let fresh = self.plan(ctx, request, params).await?;
        Ok(fresh.is_noop().then_some(fresh.state_before))
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
        Self {
            inner,
            spec: Self::spec_of(),
            _params: PhantomData,
        }
    }

    /// The spec of action `A`, without an instance: what a connector factory lists before any
    /// connector is built.
    pub fn spec_of() -> ActionSpec {
        let d = A::DESCRIPTOR;
        let schema = schemars::schema_for!(A::Params);
        ActionSpec {
            id: ActionId::from_static(d.id),
            summary: d.summary.to_string(),
            category: d.category,
            risk: d.risk,
            reversible: d.reversible,
            idempotent: d.idempotent,
            input_schema: serde_json::to_value(schema).unwrap_or_default(),
            secret_params: A::SECRET_PARAMS.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// Wrap and share.
    pub fn shared(inner: A) -> Arc<dyn Action> {
        Arc::new(Self::new(inner))
    }

    /// The proof's request, refusing a proof issued for another action or operation.
    fn bound_request<'p>(
        &self,
        proof: &ExecutionProof<'p>,
        operation: Operation,
    ) -> Result<&'p ActionRequest> {
        let request = proof.request();
        if request.action != self.spec.id || proof.operation() != operation {
            return Err(Error::forbidden(format!(
                "a proof for {} ({:?}) cannot authorise {} ({operation:?})",
                request.action,
                proof.operation(),
                self.spec.id
            )));
        }
        Ok(request)
    }

    /// The typed input: the request's parameters with its secret parameters merged in, in
    /// memory, for this call only.
    fn params(&self, request: &ActionRequest) -> Result<A::Params> {
        let id = &self.spec.id;
        let refuse =
            |message: String| Err(Error::invalid(message).with_context("action", id.as_str()));
        if let Some(name) = A::SECRET_PARAMS
            .iter()
            .find(|n| request.params.get(**n).is_some())
        {
            return refuse(format!(
                "{name} is a secret parameter of {id}: pass it with ActionRequest::with_secret, \
                 never in params (params are stored and audited)"
            ));
        }
        if request.secrets.is_empty() {
            return self.deserialize(&request.params);
        }
        let mut merged = request.params.clone();
        for name in request.secrets.names() {
            let (Some(secret), true) =
                (request.secrets.get(name), A::SECRET_PARAMS.contains(&name))
            else {
                return refuse(format!("{id} takes no secret parameter {name:?}"));
            };
            match merged.as_object_mut() {
                Some(fields) => {
                    fields.insert(name.to_string(), secret.expose_secret().into());
                }
                None => return refuse(format!("parameters of {id} must be an object")),
            }
        }
        self.deserialize(&merged)
    }

    fn deserialize(&self, params: &serde_json::Value) -> Result<A::Params> {
        A::Params::deserialize(params).map_err(|e| {
            let hint = if A::SECRET_PARAMS.is_empty() {
                String::new()
            } else {
                format!(
                    " (secret parameters, passed with ActionRequest::with_secret: {})",
                    A::SECRET_PARAMS.join(", ")
                )
            };
            Error::invalid(format!(
                "invalid parameters for {}: {e}{hint}",
                self.spec.id
            ))
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

    async fn execute(&self, ctx: &ActionContext, proof: &ExecutionProof<'_>) -> Result<Outcome> {
        let request = self.bound_request(proof, Operation::Execute)?;
        let params = self.params(request)?;
        self.inner
            .execute(ctx, request, &params, proof.plan(), proof)
            .await
    }

    async fn undo(&self, ctx: &ActionContext, proof: &ExecutionProof<'_>) -> Result<Outcome> {
        let request = self.bound_request(proof, Operation::Undo)?;
        if !self.spec.reversible {
            return Err(Error::invalid(format!(
                "{} is not reversible",
                self.spec.id
            )));
        }
        let params = self.params(request)?;
        self.inner
            .undo(ctx, request, &params, proof.plan(), proof)
            .await
    }

    async fn read_back(
        &self,
        ctx: &ActionContext,
        request: &ActionRequest,
        plan: &Plan,
    ) -> Result<Option<serde_json::Value>> {
        // The request read back is the stored one, which never holds its secrets, and a
        // read-back has no use for them: each one missing reads as empty.
        let mut request = request.clone();
        for name in A::SECRET_PARAMS {
            if request.secrets.get(name).is_none() {
                request = request.with_secret(*name, SecretString::from(""));
            }
        }
        let params = self.params(&request)?;
        self.inner.read_back(ctx, &request, &params, plan).await
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

    /// Add an action. An id that is already taken is an error: a connector's action can never
    /// silently replace a built-in one (or another connector's).
    pub fn insert(&mut self, action: Arc<dyn Action>) -> Result<()> {
        match self.actions.entry(action.spec().id.clone()) {
            std::collections::btree_map::Entry::Occupied(taken) => Err(Error::conflict(format!(
                "action id {} is already taken; a connector's actions need ids of their own \
                 (namespace them with the vendor key, e.g. `m365.convert_to_shared`)",
                taken.key()
            ))),
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(action);
                Ok(())
            }
        }
    }

    /// The ids, ordered.
    pub fn ids(&self) -> impl Iterator<Item = &ActionId> + '_ {
        self.actions.keys()
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
