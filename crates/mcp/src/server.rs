//! The MCP server of one tenant: tool calls become engine requests as the agent, and reads
//! through the tenant's connectors.

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};
use stackhand_core::{
    ActionRequest, Approval, ApprovalId, ApprovalStatus, Engine, Error, ErrorKind, IdempotencyKey,
    Principal, Receipt, Result, Submission, Target, TenantId, UserQuery,
};

use crate::tools::{
    ActionTool, Catalog, IDEMPOTENCY_KEY, MAX_WAIT_SECONDS, ToolKind, WAIT_SECONDS,
};

/// How often a call that waits for an approval looks at it again.
const POLL: Duration = Duration::from_millis(250);

/// stackhand as an MCP server for one tenant and one agent.
///
/// Each action of the tenant is a tool ([`tool_name`](crate::tool_name)); a call is an
/// [`ActionRequest`] submitted through [`Engine::submit`] with the agent
/// ([`Principal::agent`]) as its requester, so the tenant's policy decides it and the engine
/// audits it. Three read-only tools (`find_user`, `read_ticket`, `list_user_devices`) read
/// through the tenant's connectors. There is no tool to approve: an agent never approves.
///
/// Cloning is cheap (one shared state), as the streamable HTTP transport needs a handler per
/// session.
#[derive(Debug, Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    engine: Engine,
    tenant: TenantId,
    agent: String,
    catalog: Catalog,
}

impl McpServer {
    /// A server for `tenant`'s actions, calling as the agent `agent` (an id such as
    /// `claude-desktop`; the policy sees a principal of kind agent).
    ///
    /// Fails if the engine does not know the tenant, or if two of its tools would share a name.
    pub fn new(engine: Engine, tenant: TenantId, agent: impl Into<String>) -> Result<Self> {
        let catalog = Catalog::new(engine.actions(&tenant)?)?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                tenant,
                agent: agent.into(),
                catalog,
            }),
        })
    }

    /// The tools this server lists.
    pub fn tools(&self) -> &[Tool] {
        &self.inner.catalog.tools
    }

    /// The tenant served.
    pub fn tenant(&self) -> &TenantId {
        &self.inner.tenant
    }

    /// Answer one tool call (what `tools/call` does, without a transport).
    pub async fn call(&self, name: &str, arguments: JsonObject) -> Option<CallToolResult> {
        let kind = self.inner.catalog.by_name.get(name)?;
        let answer = match kind {
            ToolKind::Action(action) => self.act(action, arguments).await,
            ToolKind::FindUser => self.find_user(&arguments).await,
            ToolKind::ReadTicket => self.read_ticket(&arguments).await,
            ToolKind::ListUserDevices => self.list_user_devices(&arguments).await,
        };
        Some(answer.unwrap_or_else(|e| failed(&e)))
    }

    async fn act(&self, tool: &ActionTool, mut arguments: JsonObject) -> Result<CallToolResult> {
        let spec = &tool.spec;
        let key = match arguments.remove(IDEMPOTENCY_KEY) {
            None | Some(Value::Null) => {
                IdempotencyKey::new(format!("mcp.{}", uuid::Uuid::new_v4().simple()))?
            }
            Some(Value::String(key)) => {
                IdempotencyKey::new(key).map_err(|e| invalid_field(IDEMPOTENCY_KEY, e.message()))?
            }
            Some(_) => return Err(invalid_field(IDEMPOTENCY_KEY, "must be a string")),
        };
        let wait = match arguments.remove(WAIT_SECONDS) {
            None | Some(Value::Null) => 0,
            Some(value) => value
                .as_u64()
                .filter(|s| *s <= MAX_WAIT_SECONDS)
                .ok_or_else(|| {
                    invalid_field(
                        WAIT_SECONDS,
                        &format!("must be a whole number of seconds from 0 to {MAX_WAIT_SECONDS}"),
                    )
                })?,
        };
        let mut params = Value::Object(arguments);
        if let Some(validator) = &tool.validator
            && let Some(problem) = validator.iter_errors(&params).next()
        {
            return Err(invalid_input(spec.id.as_str(), &problem));
        }
        // Secret parameters travel beside the params, never stored or audited.
        let mut secrets = Vec::new();
        if let Value::Object(fields) = &mut params {
            for name in &spec.secret_params {
                if let Some(Value::String(value)) = fields.remove(name) {
                    secrets.push((name.clone(), value));
                }
            }
        }
        let target = params.get("user").and_then(Value::as_str).map(Target::user);
        let mut request = ActionRequest::new(
            key,
            self.inner.tenant.clone(),
            spec.id.clone(),
            &params,
            Principal::agent(self.inner.agent.clone()),
        )?
        .with_reason(format!("MCP call by agent {}", self.inner.agent));
        if let Some(target) = target {
            request = request.with_target(target);
        }
        for (name, value) in secrets {
            request = request.with_secret(name, value.into());
        }
        let key = request.idempotency_key.to_string();
        let submission = self.inner.engine.submit(request.clone()).await?;
        let answer = match submission.approval() {
            Some(approval) if wait > 0 && approval.status == ApprovalStatus::Pending => {
                let id = approval.id;
                self.wait_for(request, id, Duration::from_secs(wait))
                    .await?
                    .unwrap_or(submission)
            }
            _ => submission,
        };
        Ok(answer_of(&key, &answer))
    }

    /// Wait up to `wait` for approval `id` to be decided, then answer the request again (the
    /// engine answers a key it has seen with what happened to it). `None`: still pending.
    async fn wait_for(
        &self,
        request: ActionRequest,
        id: ApprovalId,
        wait: Duration,
    ) -> Result<Option<Submission>> {
        let engine = &self.inner.engine;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(POLL.min(deadline - now)).await;
            let pending = engine.pending_approvals(&self.inner.tenant).await?;
            if pending.iter().any(|a| a.id == id) {
                continue;
            }
            match engine.submit(request.clone()).await {
                Ok(answer) => return Ok(Some(answer)),
                // The approver's process is executing it right now: look again.
                Err(e) if e.kind() == ErrorKind::Conflict && e.is_temporary() => continue,
                Err(e) => return Err(e),
            }
        }
    }

    async fn find_user(&self, arguments: &JsonObject) -> Result<CallToolResult> {
        let query = text_argument(arguments, "query")?;
        let by = arguments.get("by").and_then(Value::as_str);
        let query = match by {
            Some("email") => UserQuery::Email(query),
            Some("login") => UserQuery::Login(query),
            Some("name") => UserQuery::Name(query),
            None if query.contains('@') => UserQuery::Email(query),
            None => UserQuery::Name(query),
            Some(other) => {
                return Err(invalid_field(
                    "by",
                    &format!("{other:?} is not one of email, login, name"),
                ));
            }
        };
        let reads = self.inner.engine.connectors(&self.inner.tenant)?;
        let users = reads.identity()?.find_users(&query).await?;
        Ok(structured(json!({ "users": users })))
    }

    async fn read_ticket(&self, arguments: &JsonObject) -> Result<CallToolResult> {
        let id = text_argument(arguments, "ticket")?;
        let reads = self.inner.engine.connectors(&self.inner.tenant)?;
        let psa = reads.psa()?;
        let not_found = || Error::not_found(format!("no ticket {id} in {}", self.inner.tenant));
        let ticket = psa.get_ticket(&id).await.map_err(|e| match e.kind() {
            ErrorKind::NotFound => not_found(),
            _ => e,
        })?;
        // A PSA shared by several tenants answers for all of them: nothing crosses tenants.
        if ticket.tenant != self.inner.tenant {
            return Err(not_found());
        }
        let notes = psa.notes(&id).await?;
        Ok(structured(json!({ "ticket": ticket, "notes": notes })))
    }

    async fn list_user_devices(&self, arguments: &JsonObject) -> Result<CallToolResult> {
        let user = text_argument(arguments, "user")?.to_lowercase();
        let local = user.split('@').next().unwrap_or(&user).to_string();
        let reads = self.inner.engine.connectors(&self.inner.tenant)?;
        let rmm = reads.rmm()?;
        let signed_in_by_user = |last: &str| {
            let last = last.to_lowercase();
            last == user || last == local || last.ends_with(&format!("\\{local}"))
        };
        let mut devices = Vec::new();
        for found in rmm.find_devices(&local).await? {
            // A search hit may leave out who signed in last: read the device.
            let device = if found.last_user.is_some() {
                found
            } else {
                rmm.get_device(&found.id).await?
            };
            if device.last_user.as_deref().is_some_and(signed_in_by_user) {
                devices.push(device);
            }
        }
        Ok(structured(json!({ "user": user, "devices": devices })))
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("stackhand", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "stackhand for tenant {}: each action tool runs under the tenant's policy as \
                 agent {} (it executes, waits for a person's approval, or is denied, naming the \
                 rule); find_user, read_ticket and list_user_devices only read.",
                self.inner.tenant, self.inner.agent
            ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools().to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools().iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        match self.call(&request.name, arguments).await {
            Some(result) => Ok(result.into()),
            None => Err(ErrorData::invalid_params(
                format!(
                    "no tool {:?} for tenant {} (tools/list names them)",
                    request.name, self.inner.tenant
                ),
                None,
            )),
        }
    }
}

/// The tool result of an engine answer: an error result when denied or failed.
fn answer_of(key: &str, submission: &Submission) -> CallToolResult {
    if let Some(receipt) = submission.receipt() {
        return executed(key, submission.label(), receipt);
    }
    if let Some(approval) = submission.approval() {
        return waiting(key, approval);
    }
    match submission.denial() {
        Some(decision) => {
            let doc = json!({
                "status": "denied",
                "idempotency_key": key,
                "rule": decision.rule,
                "reason": decision.reason,
            });
            error_with(
                format!("denied by rule {}: {}", decision.rule, decision.reason),
                doc,
            )
        }
        None => failed(&Error::permanent(format!(
            "the engine answered {}",
            submission.label()
        ))),
    }
}

fn executed(key: &str, label: &str, receipt: &Receipt) -> CallToolResult {
    let secrets: Vec<&str> = receipt
        .outcome
        .secrets
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let doc = json!({
        "status": label,
        "idempotency_key": key,
        "action": receipt.request.action,
        "summary": receipt.plan.summary,
        "changes": receipt.outcome.changes,
        "user_message": receipt.outcome.user_message,
        "approved_by": receipt.approved_by,
        "rule": receipt.decision.rule,
        "failure": receipt.failure,
        // An agent is never handed a secret (a new password, a Temporary Access Pass): the
        // technicians' tools hand them over.
        "secrets_withheld": secrets,
    });
    match &receipt.failure {
        Some(failure) => error_with(format!("failed: {}", failure.message), doc),
        None => structured(doc),
    }
}

fn waiting(key: &str, approval: &Approval) -> CallToolResult {
    let (status, text) = match &approval.status {
        ApprovalStatus::Pending => (
            "pending_approval",
            format!(
                "waiting for approval {} (rule {}: {}); a person approves it, never the agent",
                approval.id, approval.decision.rule, approval.decision.reason
            ),
        ),
        ApprovalStatus::Approved { by, .. } => (
            "approved",
            format!("approval {} was approved by {by}", approval.id),
        ),
        ApprovalStatus::Denied { by, reason, .. } => (
            "approval_denied",
            format!("approval {} was refused by {by}: {reason}", approval.id),
        ),
        ApprovalStatus::Expired { at } => (
            "approval_expired",
            format!("approval {} expired at {at}", approval.id),
        ),
    };
    let doc = json!({
        "status": status,
        "idempotency_key": key,
        "approval_id": approval.id,
        "rule": approval.decision.rule,
        "reason": approval.decision.reason,
        "approvers": approval.approvers,
        "expires": approval.expires,
        "summary": approval.plan.summary,
        "message": text,
    });
    match approval.status {
        ApprovalStatus::Pending | ApprovalStatus::Approved { .. } => structured(doc),
        _ => error_with(text, doc),
    }
}

fn structured(doc: Value) -> CallToolResult {
    CallToolResult::structured(doc)
}

fn error_with(text: String, doc: Value) -> CallToolResult {
    let mut result = CallToolResult::structured_error(doc);
    result.content.insert(0, ContentBlock::text(text));
    result
}

/// An error the caller reads (a tool error result, not a protocol error).
fn failed(error: &Error) -> CallToolResult {
    error_with(
        error.message().to_string(),
        json!({"status": "error", "kind": error.kind().as_str(), "message": error.message()}),
    )
}

fn invalid_field(field: &str, problem: &str) -> Error {
    Error::invalid(format!("invalid input: `{field}` {problem}")).with_context("field", field)
}

/// A schema violation, naming the field (values are masked: a field may be a secret).
fn invalid_input(action: &str, problem: &jsonschema::ValidationError<'_>) -> Error {
    let path = problem.instance_path().to_string();
    let field = match problem.kind() {
        jsonschema::error::ValidationErrorKind::Required { property } => {
            let name = property.as_str().map(str::to_string).unwrap_or_default();
            format!("{}/{name}", path.trim_end_matches('/'))
        }
        jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
            format!("{}/{}", path.trim_end_matches('/'), unexpected.join(","))
        }
        _ => path,
    };
    let field = field.trim_start_matches('/').replace('/', ".");
    Error::invalid(format!(
        "invalid input for {action}: `{field}`: {}",
        problem.masked()
    ))
    .with_context("field", field)
}

fn text_argument(arguments: &JsonObject, name: &str) -> Result<String> {
    match arguments.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::String(_)) | None => Err(invalid_field(name, "is required")),
        Some(_) => Err(invalid_field(name, "must be a string")),
    }
}
