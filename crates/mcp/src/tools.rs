//! The tool list of one tenant: one tool per action, named from its id, with its input schema
//! (plus the call's own arguments) and a description that gives its summary and risk; and the
//! read-only tools.

use std::collections::BTreeMap;
use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};
use stackhand_core::{ActionId, ActionSpec, Error, Result};

/// The optional argument that names the request's idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency_key";
/// The optional argument that asks a call needing approval to wait for the decision.
pub const WAIT_SECONDS: &str = "wait_seconds";
/// The longest wait a call may ask for, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 300;

/// The tool that finds users in the tenant's identity provider.
pub const FIND_USER: &str = "find_user";
/// The tool that reads a ticket and its notes from the tenant's PSA.
pub const READ_TICKET: &str = "read_ticket";
/// The tool that lists a user's devices in the tenant's RMM.
pub const LIST_USER_DEVICES: &str = "list_user_devices";

/// The MCP tool name of an action: its id with each `.` as `_`
/// (`identity.reset_password` → `identity_reset_password`).
///
/// Action ids are lowercase `[a-z0-9_]` segments joined by dots, so the name is always a valid
/// MCP tool name. Segments may hold `_` themselves, so the way back is not by string: a server
/// keeps the table from name to id of the tenant's actions and refuses to start if two of its
/// tools would share a name.
///
/// ```
/// use stackhand_core::ActionId;
/// let id = ActionId::from_static("identity.reset_password");
/// assert_eq!(stackhand_mcp::tool_name(&id), "identity_reset_password");
/// ```
pub fn tool_name(id: &ActionId) -> String {
    id.as_str().replace('.', "_")
}

/// What a tool name stands for.
#[derive(Debug)]
pub(crate) enum ToolKind {
    /// An action, submitted through the engine.
    Action(Box<ActionTool>),
    /// [`FIND_USER`].
    FindUser,
    /// [`READ_TICKET`].
    ReadTicket,
    /// [`LIST_USER_DEVICES`].
    ListUserDevices,
}

/// An action's tool: its spec and the validator of its input schema.
pub(crate) struct ActionTool {
    pub spec: ActionSpec,
    pub validator: Option<jsonschema::Validator>,
}

impl std::fmt::Debug for ActionTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionTool")
            .field("spec", &self.spec.id)
            .finish_non_exhaustive()
    }
}

/// The tenant's tools, by name.
#[derive(Debug)]
pub(crate) struct Catalog {
    pub tools: Vec<Tool>,
    pub by_name: BTreeMap<String, ToolKind>,
}

impl Catalog {
    /// The tools of `actions` and the read-only ones; an error names two that would share a
    /// name, or an action whose parameters use a name the call's own arguments take.
    pub fn new(actions: Vec<ActionSpec>) -> Result<Self> {
        let mut catalog = Catalog {
            tools: Vec::new(),
            by_name: BTreeMap::new(),
        };
        for (tool, kind) in read_only_tools() {
            catalog.add(tool, kind, "a read-only tool")?;
        }
        for spec in actions {
            let schema = spec.input_schema.as_object().cloned().unwrap_or_default();
            let own = schema.get("properties").and_then(Value::as_object);
            if let Some(clash) = [IDEMPOTENCY_KEY, WAIT_SECONDS]
                .into_iter()
                .find(|arg| own.is_some_and(|p| p.contains_key(*arg)))
            {
                return Err(Error::invalid(format!(
                    "action {} has a parameter {clash:?}, which an MCP call uses for itself",
                    spec.id
                )));
            }
            let validator = match jsonschema::validator_for(&spec.input_schema) {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::warn!(action = %spec.id, error = %e,
                        "the input schema does not compile; the engine checks the input");
                    None
                }
            };
            let tool = Tool::new(
                tool_name(&spec.id),
                describe(&spec),
                Arc::new(with_call_arguments(schema)),
            )
            .with_title(spec.summary.clone())
            .with_annotations(
                ToolAnnotations::new()
                    .read_only(false)
                    .destructive(!spec.reversible)
                    .idempotent(spec.idempotent)
                    .open_world(true),
            );
            let owner = format!("action {}", spec.id);
            let kind = ToolKind::Action(Box::new(ActionTool { spec, validator }));
            catalog.add(tool, kind, &owner)?;
        }
        Ok(catalog)
    }

    fn add(&mut self, tool: Tool, kind: ToolKind, owner: &str) -> Result<()> {
        let name = tool.name.to_string();
        if let Some(first) = self.by_name.get(&name) {
            let first = match first {
                ToolKind::Action(a) => format!("action {}", a.spec.id),
                _ => "a read-only tool".to_string(),
            };
            return Err(Error::invalid(format!(
                "{owner} and {first} would both be the MCP tool {name:?}"
            )));
        }
        self.by_name.insert(name, kind);
        self.tools.push(tool);
        Ok(())
    }
}

/// An action's description: its summary, risk, whether it is reversible, and how a call ends.
fn describe(spec: &ActionSpec) -> String {
    let risk = serde_json::to_value(spec.risk)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{:?}", spec.risk));
    format!(
        "{summary}. Action {id}; risk: {risk}; {reversible}. Runs under the tenant's policy: it \
         executes, waits for a person's approval (the answer names the approval id; pass \
         {WAIT_SECONDS} to wait for the decision), or is denied (the answer names the rule). \
         Pass {IDEMPOTENCY_KEY} to make a retry answer with the first result instead of acting \
         twice.",
        summary = spec.summary.trim_end_matches('.'),
        id = spec.id,
        reversible = if spec.reversible {
            "reversible"
        } else {
            "not reversible"
        },
    )
}

/// The action's input schema with the call's own optional arguments added.
fn with_call_arguments(mut schema: JsonObject) -> JsonObject {
    schema
        .entry("type")
        .or_insert_with(|| Value::String("object".into()));
    let properties = schema
        .entry("properties")
        .or_insert_with(|| Value::Object(JsonObject::new()));
    if let Value::Object(properties) = properties {
        properties.insert(
            IDEMPOTENCY_KEY.into(),
            json!({
                "type": "string",
                "description": "A key of your own for this request: the same key again answers \
                                with the first result instead of acting twice (default: a new one)."
            }),
        );
        properties.insert(
            WAIT_SECONDS.into(),
            json!({
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_WAIT_SECONDS,
                "description": "If the request needs a person's approval, wait this many seconds \
                                for the decision before answering (default 0: answer at once with \
                                the approval id)."
            }),
        );
    }
    schema
}

fn object_schema(properties: Value, required: &[&str]) -> Arc<JsonObject> {
    let schema = json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    });
    match schema {
        Value::Object(map) => Arc::new(map),
        _ => unreachable!("a JSON object literal"),
    }
}

fn read_only_tools() -> Vec<(Tool, ToolKind)> {
    let read_only = || {
        ToolAnnotations::new()
            .read_only(true)
            .idempotent(true)
            .open_world(true)
    };
    vec![
        (
            Tool::new(
                FIND_USER,
                "Find users in the tenant's identity provider by email, login or display name. \
                 Read-only.",
                object_schema(
                    json!({
                        "query": {"type": "string", "description": "An email, a login or a name."},
                        "by": {
                            "type": "string",
                            "enum": ["email", "login", "name"],
                            "description": "How to search (default: email when the query has \
                                            an @, otherwise name)."
                        }
                    }),
                    &["query"],
                ),
            )
            .with_annotations(read_only()),
            ToolKind::FindUser,
        ),
        (
            Tool::new(
                READ_TICKET,
                "Read a ticket of the tenant's PSA with its notes. Read-only.",
                object_schema(
                    json!({"ticket": {"type": "string", "description": "The ticket id in the PSA."}}),
                    &["ticket"],
                ),
            )
            .with_annotations(read_only()),
            ToolKind::ReadTicket,
        ),
        (
            Tool::new(
                LIST_USER_DEVICES,
                "List the devices a user last signed in to, from the tenant's RMM. Read-only.",
                object_schema(
                    json!({"user": {"type": "string", "description": "The user's login or email."}}),
                    &["user"],
                ),
            )
            .with_annotations(read_only()),
            ToolKind::ListUserDevices,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackhand_core::{Category, Risk};

    fn spec(id: &'static str) -> ActionSpec {
        ActionSpec {
            id: ActionId::from_static(id),
            summary: "Do it".into(),
            category: Category::Identity,
            risk: Risk::Medium,
            reversible: false,
            idempotent: true,
            input_schema: json!({"type": "object", "properties": {"user": {"type": "string"}}}),
            secret_params: Vec::new(),
        }
    }

    #[test]
    fn names_map_back_through_the_table_and_a_clash_is_refused() {
        let catalog = Catalog::new(vec![spec("identity.reset_password")]).unwrap();
        assert!(matches!(
            catalog.by_name.get("identity_reset_password"),
            Some(ToolKind::Action(a)) if a.spec.id.as_str() == "identity.reset_password"
        ));
        let clash = Catalog::new(vec![
            spec("identity.reset_password"),
            spec("identity_reset.password"),
        ])
        .unwrap_err()
        .to_string();
        assert!(clash.contains("identity_reset_password"), "{clash}");
        let read_only = Catalog::new(vec![spec("find.user")])
            .unwrap_err()
            .to_string();
        assert!(read_only.contains("read-only"), "{read_only}");
    }

    #[test]
    fn a_tool_describes_its_risk_and_takes_the_call_arguments() {
        let catalog = Catalog::new(vec![spec("identity.unlock")]).unwrap();
        let tool = catalog
            .tools
            .iter()
            .find(|t| t.name == "identity_unlock")
            .unwrap();
        let description = tool.description.as_deref().unwrap();
        assert!(description.contains("risk: medium"), "{description}");
        assert!(description.contains("not reversible"), "{description}");
        let properties = tool.input_schema["properties"].as_object().unwrap();
        for arg in ["user", IDEMPOTENCY_KEY, WAIT_SECONDS] {
            assert!(properties.contains_key(arg), "{arg}");
        }
    }
}
