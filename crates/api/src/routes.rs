//! The handlers, each documented for the OpenAPI document with `#[utoipa::path]`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use stackhand_core::approval::{Approval, ApprovalId};
use stackhand_core::audit::AuditSink;
use stackhand_core::engine::EngineStore;
use stackhand_core::{ActionId, ActionRequest, IdempotencyKey, Submission, Target};
use stackhand_runner::runs::answer_of;
use utoipa::IntoParams;

use crate::Api;
use crate::auth::{Asked, Scoped};
use crate::error::ApiError;
use crate::views::*;

type Answer<T> = Result<Json<T>, ApiError>;

/// The most runs one list answers.
const MAX_RUNS: u32 = 500;

/// Authenticate the request and scope it to `tenant`.
async fn scoped(api: &Api, asked: &Asked, tenant: &str) -> Result<Scoped, ApiError> {
    let caller = api.caller(asked).await?;
    api.scoped(asked, &caller, tenant).await
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|e| ApiError::invalid(format!("the body is not what this call takes: {e}")))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "alive", body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the store answers.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "the store answers", body = Health),
        (status = 503, description = "the store does not answer", body = Health)))]
pub(crate) async fn readyz(State(api): State<Api>) -> (StatusCode, Json<Health>) {
    match api.store().ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ready".into(),
            }),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "not ready: the store does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable".into(),
                }),
            )
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "health",
    responses((status = 200, description = "the OpenAPI document", body = Object)))]
pub(crate) async fn openapi() -> Json<serde_json::Value> {
    Json(serde_json::to_value(crate::openapi()).unwrap_or_default())
}

/// The tenants the token's staff member may see.
#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", security(("bearer" = [])),
    responses(
        (status = 200, description = "the tenants", body = TenantList),
        (status = 401, description = "no valid token", body = Problem)))]
pub(crate) async fn tenants(State(api): State<Api>, asked: Asked) -> Answer<TenantList> {
    let caller = api.caller(&asked).await?;
    let tenants = api
        .pipeline()
        .deployment()
        .tenants()
        .iter()
        .filter(|t| api.visible(&caller, t.as_str()).is_some())
        .map(|t| t.to_string())
        .collect();
    Ok(Json(TenantList { tenants }))
}

/// Plan an action request as the token's staff member and say what the policy decides;
/// nothing is executed. The plan and the decision are audited.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/plans", tag = "plans", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "the tenant id")),
    request_body = PlanRequest,
    responses(
        (status = 200, description = "the plan and the decision", body = PlanAnswer),
        (status = 400, description = "a malformed request or input", body = Problem),
        (status = 401, description = "no valid token", body = Problem),
        (status = 403, description = "not a tenant this token may act in", body = Problem),
        (status = 404, description = "no such action for the tenant", body = Problem)))]
pub(crate) async fn plan(
    State(api): State<Api>,
    Path(tenant): Path<String>,
    asked: Asked,
    request: Result<Json<PlanRequest>, JsonRejection>,
) -> Answer<PlanAnswer> {
    let scoped = scoped(&api, &asked, &tenant).await?;
    let wanted = body(request)?;
    let action = ActionId::new(wanted.action.as_str())?;
    let key = IdempotencyKey::new(format!("api.plan.{}", uuid::Uuid::new_v4().simple()))?;
    let mut request = ActionRequest::new(
        key,
        scoped.tenant.clone(),
        action,
        &wanted.params,
        scoped.principal.clone(),
    )?
    .with_reason(wanted.reason.as_deref().unwrap_or("HTTP API plan"));
    if let Some(target) = wanted.target {
        request = request.with_target(Target::user(target));
    }
    let engine = api.pipeline().deployment().engine();
    let (plan, decision) = engine.preview(&request).await?;
    Ok(Json(PlanAnswer::new(
        &plan,
        &decision,
        &scoped.principal.id,
    )))
}

/// The tenant's pending approvals.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/approvals", tag = "approvals", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "the tenant id")),
    responses(
        (status = 200, description = "pending approvals (expired ones are not listed)", body = Vec<ApprovalView>),
        (status = 401, description = "no valid token", body = Problem),
        (status = 403, description = "not a tenant this token may act in", body = Problem)))]
pub(crate) async fn approvals(
    State(api): State<Api>,
    Path(tenant): Path<String>,
    asked: Asked,
) -> Answer<Vec<ApprovalView>> {
    let scoped = scoped(&api, &asked, &tenant).await?;
    let engine = api.pipeline().deployment().engine();
    let pending = engine.pending_approvals(&scoped.tenant).await?;
    Ok(Json(pending.iter().map(ApprovalView::from).collect()))
}

/// The approval `id` of the scoped tenant: another tenant's and an unknown one are both 404.
async fn approval_in(api: &Api, scoped: &Scoped, id: &str) -> Result<Approval, ApiError> {
    let missing = || ApiError::not_found(format!("tenant {} has no approval {id}", scoped.tenant));
    let id: ApprovalId = id.parse().map_err(|_| missing())?;
    match EngineStore::approval(api.store().as_ref(), id).await? {
        Some(approval) if approval.tenant == scoped.tenant => Ok(approval),
        _ => Err(missing()),
    }
}

/// The run waiting on `approval`'s step goes on; answers it as it stands.
async fn go_on(api: &Api, approval: &Approval) -> Result<Option<RunView>, ApiError> {
    let key = &approval.request.idempotency_key;
    api.pipeline()
        .go_on_after_answer(&approval.tenant, key)
        .await?;
    let Some((run, _)) = key.as_str().rsplit_once('.') else {
        return Ok(None);
    };
    let record = api.store().runs().get(&approval.tenant, run).await?;
    Ok(record.as_ref().map(RunView::from))
}

/// Approve a pending approval as the token's staff member (the engine checks the directory
/// gives them a role the rule names, and that they did not ask for it). It executes at once,
/// and a run waiting on it goes on. Secrets the execution hands over are never shown.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/approvals/{id}/approve", tag = "approvals", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "the tenant id"),
           ("id" = String, Path, description = "the approval id")),
    responses(
        (status = 200, description = "what the approval led to", body = AnswerView),
        (status = 401, description = "no valid token", body = Problem),
        (status = 403, description = "not a tenant this token may act in, or no authority to approve", body = Problem),
        (status = 404, description = "no such approval in the tenant", body = Problem),
        (status = 409, description = "no longer pending", body = Problem)))]
pub(crate) async fn approve(
    State(api): State<Api>,
    Path((tenant, id)): Path<(String, String)>,
    asked: Asked,
) -> Answer<AnswerView> {
    let scoped = scoped(&api, &asked, &tenant).await?;
    let approval = approval_in(&api, &scoped, &id).await?;
    let engine = api.pipeline().deployment().engine();
    let submission = engine.approve(approval.id, &scoped.principal).await?;
    let (word, message) = answer_of(&submission);
    Ok(Json(AnswerView {
        approval: approval.id.to_string(),
        answer: word.to_string(),
        message,
        secrets_withheld: secret_names(&submission),
        run: go_on(&api, &approval).await?,
    }))
}

fn secret_names(submission: &Submission) -> Vec<String> {
    submission
        .receipt()
        .map(|r| r.outcome.secrets.iter().map(|s| s.name.clone()).collect())
        .unwrap_or_default()
}

/// Refuse a pending approval as the token's staff member (an approver, or the requester
/// withdrawing it); a run waiting on it goes on (and stops there).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/approvals/{id}/deny", tag = "approvals", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "the tenant id"),
           ("id" = String, Path, description = "the approval id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "the denial", body = AnswerView),
        (status = 400, description = "no reason given", body = Problem),
        (status = 401, description = "no valid token", body = Problem),
        (status = 403, description = "not a tenant this token may act in, or no authority", body = Problem),
        (status = 404, description = "no such approval in the tenant", body = Problem),
        (status = 409, description = "no longer pending", body = Problem)))]
pub(crate) async fn deny(
    State(api): State<Api>,
    Path((tenant, id)): Path<(String, String)>,
    asked: Asked,
    request: Result<Json<ReasonRequest>, JsonRejection>,
) -> Answer<AnswerView> {
    let scoped = scoped(&api, &asked, &tenant).await?;
    let reason = reason(body(request)?)?;
    let approval = approval_in(&api, &scoped, &id).await?;
    let engine = api.pipeline().deployment().engine();
    let decision = engine.deny(approval.id, &scoped.principal, &reason).await?;
    Ok(Json(AnswerView {
        approval: approval.id.to_string(),
        answer: "denied".into(),
        message: format!("denied by rule {}: {}", decision.rule, decision.reason),
        secrets_withheld: Vec::new(),
        run: go_on(&api, &approval).await?,
    }))
}

fn reason(request: ReasonRequest) -> Result<String, ApiError> {
    let reason = request.reason.trim();
    if reason.is_empty() {
        return Err(ApiError::invalid(
            "give a reason: it is kept in the audit trail",
        ));
    }
    Ok(reason.to_string())
}

/// How many runs to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunsQuery {
    /// The newest runs to list (default 50, at most 500).
    limit: Option<u32>,
}

/// The tenant's runs, newest first.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/runs", tag = "runs", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "the tenant id"), RunsQuery),
    responses(
        (status = 200, description = "the runs", body = RunList),
        (status = 400, description = "a malformed query", body = Problem),
        (status = 401, description = "no valid token", body = Problem),
        (status = 403, description = "not a tenant this token may act in", body = Problem)))]
pub(crate) async fn runs(
    State(api): State<Api>,
    Path(tenant): Path<String>,
    asked: Asked,
    query: Result<Query<RunsQuery>, QueryRejection>,
) -> Answer<RunList> {
    let scoped = scoped(&api, &asked, &tenant).await?;
    let Query(query) = query.map_err(|e| ApiError::invalid(e.body_text()))?;
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_RUNS);
    let runs = api.store().runs().recent(&scoped.tenant, limit).await?;
    Ok(Json(RunList {
        runs: runs.iter().map(RunSummary::from).collect(),
    }))
}

/// One run with its steps.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/runs/{run}", tag = "runs", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "the tenant id"),
           ("run" = String, Path, description = "the run id (`ticket-<id>` for a ticket's run)")),
    responses(
        (status = 200, description = "the run and its steps", body = RunView),
        (status = 401, description = "no valid token", body = Problem),
        (status = 403, description = "not a tenant this token may act in", body = Problem),
        (status = 404, description = "no such run in the tenant", body = Problem)))]
pub(crate) async fn run(
    State(api): State<Api>,
    Path((tenant, run)): Path<(String, String)>,
    asked: Asked,
) -> Answer<RunView> {
    let scoped = scoped(&api, &asked, &tenant).await?;
    match api.store().runs().get(&scoped.tenant, &run).await? {
        Some(record) => Ok(Json(RunView::from(&record))),
        None => Err(ApiError::not_found(format!(
            "tenant {} has no run {run}",
            scoped.tenant
        ))),
    }
}

/// Undo a run as the token's staff member: every executed step, newest first, each decided by
/// the policy as an undo (it may wait for an approval or be refused), as `stackhand undo` does.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/runs/{run}/undo", tag = "runs", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "the tenant id"),
           ("run" = String, Path, description = "the run id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "each step's undo", body = UndoAnswer),
        (status = 400, description = "no reason given", body = Problem),
        (status = 401, description = "no valid token", body = Problem),
        (status = 403, description = "not a tenant this token may act in", body = Problem),
        (status = 404, description = "no such run in the tenant", body = Problem)))]
pub(crate) async fn undo(
    State(api): State<Api>,
    Path((tenant, run)): Path<(String, String)>,
    asked: Asked,
    request: Result<Json<ReasonRequest>, JsonRejection>,
) -> Answer<UndoAnswer> {
    let scoped = scoped(&api, &asked, &tenant).await?;
    let reason = reason(body(request)?)?;
    let undone = api
        .pipeline()
        .deployment()
        .runs()
        .undo(&scoped.tenant, &run, scoped.principal.clone(), &reason)
        .await?;
    Ok(Json(UndoAnswer {
        run,
        steps: undone
            .into_iter()
            .map(|s| UndoneStep {
                index: s.index,
                name: s.name,
                action: s.action.to_string(),
                answer: s.answer,
                message: s.message,
            })
            .collect(),
    }))
}

/// Verify the tenant's audit chain with its key against its anchored head.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/audit/verify", tag = "audit", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "the tenant id")),
    responses(
        (status = 200, description = "whether the chain verifies, and where it breaks", body = AuditVerification),
        (status = 401, description = "no valid token", body = Problem),
        (status = 403, description = "not a tenant this token may act in", body = Problem)))]
pub(crate) async fn audit_verify(
    State(api): State<Api>,
    Path(tenant): Path<String>,
    asked: Asked,
) -> Answer<AuditVerification> {
    let scoped = scoped(&api, &asked, &tenant).await?;
    let verdict = api.store().verify_tenant(&scoped.tenant).await?;
    let tenant = scoped.tenant.to_string();
    Ok(Json(match verdict {
        Ok(summary) => AuditVerification {
            tenant,
            ok: true,
            events: Some(summary.events),
            head: Some(summary.head),
            unanchored: Some(summary.unanchored),
            broken_at: None,
            problem: None,
        },
        Err(broken) => AuditVerification {
            tenant,
            ok: false,
            events: None,
            head: None,
            unanchored: None,
            broken_at: Some(broken.seq),
            problem: Some(broken.problem),
        },
    }))
}

/// A PSA calling back (ConnectWise callbacks): served beside the API when the server takes
/// callbacks. The token is the tenant's `callback_token`; an unknown tenant and a wrong token
/// both answer 404. Documented here; the handler is the runner's.
#[utoipa::path(post, path = "/callbacks/{tenant}", tag = "callbacks",
    params(("tenant" = String, Path, description = "the tenant id"),
           ("token" = String, Query, description = "the tenant's callback_token")),
    request_body(content = Object, description = "the PSA's callback payload"),
    responses(
        (status = 202, description = "queued, or already queued", body = Object),
        (status = 400, description = "not a callback the tenant's PSA sends", body = Object),
        (status = 404, description = "no such callback", body = Object)))]
#[allow(dead_code)] // documents the runner's handler
pub(crate) async fn callbacks() {}
