//! OData plumbing shared by the Graph routes: the error envelope, `$select` projection, the
//! `$filter` subset Graph accepts on directory objects, and `@odata.nextLink` paging.

use std::collections::HashMap;

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::paging;

/// A Graph error answered in Graph's envelope:
/// `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
#[derive(Debug)]
pub(crate) struct GraphError {
    pub(crate) status: StatusCode,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) www_authenticate: Option<&'static str>,
}

impl GraphError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            www_authenticate: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    pub(crate) fn unsupported_query(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message)
    }

    pub(crate) fn not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    pub(crate) fn denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    pub(crate) fn unauthorized(message: &str) -> Self {
        Self {
            www_authenticate: Some(
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
            ),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                message,
            )
        }
    }

    /// The message Graph gives for writes to objects mastered on-premises.
    pub(crate) fn on_premises_mastered() -> Self {
        Self::bad_request(
            "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.",
        )
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let request_id = uuid::Uuid::new_v4().to_string();
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": request_id,
                    "client-request-id": request_id,
                }
            }
        });
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            "request-id",
            HeaderValue::from_str(&request_id).expect("uuid is a valid header"),
        );
        if let Some(challenge) = self.www_authenticate {
            headers.insert("WWW-Authenticate", HeaderValue::from_static(challenge));
        }
        response
    }
}

/// What a Graph handler returns.
pub(crate) type GraphResult = Result<Response, GraphError>;

/// The parsed query string of a request (`$select`, `$filter`, ...), decoded.
pub(crate) type QueryMap = HashMap<String, String>;

/// Keep `id` and the properties named in `$select` (case-insensitive, as Graph matches them),
/// or the `default` projection when there is no `$select`. `@odata.type` always survives.
pub(crate) fn project(full: &Value, select: Option<&str>, default: Option<&[&str]>) -> Value {
    let Some(object) = full.as_object() else {
        return full.clone();
    };
    let wanted: Vec<String> = match (select, default) {
        (Some(select), _) => select
            .split(',')
            .map(|name| name.trim().to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .collect(),
        (None, Some(default)) => default
            .iter()
            .map(|name| name.to_ascii_lowercase())
            .collect(),
        (None, None) => return full.clone(),
    };
    let mut out = Map::new();
    for (key, value) in object {
        let lower = key.to_ascii_lowercase();
        if key == "id" || key == "@odata.type" || wanted.contains(&lower) {
            out.insert(key.clone(), value.clone());
        }
    }
    // Graph answers `null` for a selected property the object does not carry.
    if select.is_some() {
        for name in select.unwrap_or_default().split(',').map(str::trim) {
            if !name.is_empty() && !out.keys().any(|key| key.eq_ignore_ascii_case(name)) {
                out.insert(name.to_string(), Value::Null);
            }
        }
    }
    Value::Object(out)
}

/// `$select` names that the object type does not declare answer 400, as in Graph.
pub(crate) fn check_select(
    select: Option<&str>,
    known: &Value,
    type_name: &str,
) -> Result<(), GraphError> {
    let (Some(select), Some(object)) = (select, known.as_object()) else {
        return Ok(());
    };
    for name in select.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !object.keys().any(|key| key.eq_ignore_ascii_case(name)) {
            return Err(GraphError::bad_request(format!(
                "Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'."
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// $filter

/// One comparison of the `$filter` subset.
#[derive(Debug, Clone, PartialEq)]
enum Clause {
    Eq(String, Value),
    Ne(String, Value),
    StartsWith(String, String),
    /// `proxyAddresses/any(p:p eq 'smtp:x')`
    AnyEq(String, String),
}

/// A `$filter` expression: clauses joined by `or` groups of `and`s (no parentheses beyond
/// function calls), which covers what directory lookups need.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Filter {
    any_of: Vec<Vec<Clause>>,
}

impl Filter {
    /// Parse the subset; anything else is Graph's `Request_UnsupportedQuery`.
    pub(crate) fn parse(text: &str) -> Result<Self, GraphError> {
        let tokens = split_outside_quotes(text, " or ");
        let mut any_of = Vec::new();
        for alternative in tokens {
            let mut all_of = Vec::new();
            for clause in split_outside_quotes(&alternative, " and ") {
                all_of.push(parse_clause(clause.trim())?);
            }
            any_of.push(all_of);
        }
        Ok(Self { any_of })
    }

    /// Whether a full JSON object matches.
    pub(crate) fn matches(&self, object: &Value) -> bool {
        self.any_of
            .iter()
            .any(|all_of| all_of.iter().all(|clause| clause_matches(clause, object)))
    }
}

fn split_outside_quotes(text: &str, separator: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let lower = text.to_ascii_lowercase();
    let mut index = 0;
    let bytes = text.as_bytes();
    while index < bytes.len() {
        if bytes[index] == b'\'' {
            in_quotes = !in_quotes;
        }
        if !in_quotes && lower[index..].starts_with(separator) {
            parts.push(std::mem::take(&mut current));
            index += separator.len();
            continue;
        }
        let ch = text[index..]
            .chars()
            .next()
            .expect("index is on a char boundary");
        current.push(ch);
        index += ch.len_utf8();
    }
    parts.push(current);
    parts
}

fn unsupported() -> GraphError {
    GraphError::unsupported_query("Unsupported Query.")
}

fn parse_literal(text: &str) -> Result<Value, GraphError> {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return Ok(Value::String(inner.replace("''", "'")));
    }
    match text {
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        "null" => Ok(Value::Null),
        _ => Err(unsupported()),
    }
}

fn parse_clause(text: &str) -> Result<Clause, GraphError> {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("startswith(") && text.ends_with(')') {
        let inner = &text["startswith(".len()..text.len() - 1];
        let (property, literal) = inner.split_once(',').ok_or_else(unsupported)?;
        let Value::String(prefix) = parse_literal(literal)? else {
            return Err(unsupported());
        };
        return Ok(Clause::StartsWith(property.trim().to_string(), prefix));
    }
    if let Some((property, rest)) = text.split_once("/any(") {
        // proxyAddresses/any(p:p eq 'smtp:x')
        let rest = rest.strip_suffix(')').ok_or_else(unsupported)?;
        let (variable, comparison) = rest.split_once(':').ok_or_else(unsupported)?;
        let literal = comparison
            .trim()
            .strip_prefix(variable.trim())
            .and_then(|c| c.trim_start().strip_prefix("eq "))
            .ok_or_else(unsupported)?;
        let Value::String(value) = parse_literal(literal)? else {
            return Err(unsupported());
        };
        return Ok(Clause::AnyEq(property.trim().to_string(), value));
    }
    let mut parts = text.splitn(3, ' ');
    let (Some(property), Some(operator), Some(literal)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(unsupported());
    };
    let value = parse_literal(literal)?;
    match operator {
        "eq" => Ok(Clause::Eq(property.to_string(), value)),
        "ne" => Ok(Clause::Ne(property.to_string(), value)),
        _ => Err(unsupported()),
    }
}

fn property<'a>(object: &'a Value, name: &str) -> &'a Value {
    object
        .as_object()
        .and_then(|map| {
            map.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        })
        .unwrap_or(&Value::Null)
}

fn values_equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        _ => left == right,
    }
}

fn clause_matches(clause: &Clause, object: &Value) -> bool {
    match clause {
        Clause::Eq(name, value) => values_equal(property(object, name), value),
        Clause::Ne(name, value) => !values_equal(property(object, name), value),
        Clause::StartsWith(name, prefix) => property(object, name)
            .as_str()
            .is_some_and(|text| text.to_lowercase().starts_with(&prefix.to_lowercase())),
        Clause::AnyEq(name, value) => property(object, name).as_array().is_some_and(|items| {
            items
                .iter()
                .any(|item| values_equal(item, &Value::String(value.clone())))
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// $search

/// `$search="displayName:jan" OR "mail:jan"`: word-prefix match, as Graph's tokenised search.
pub(crate) fn search_matches(search: &str, object: &Value) -> Result<bool, GraphError> {
    let mut any = false;
    for term in search.split(" OR ") {
        let term = term.trim().trim_matches('"');
        let (name, needle) = term.split_once(':').ok_or_else(|| {
            GraphError::unsupported_query(
                "Syntax error: the $search clause must be \"property:value\".",
            )
        })?;
        let needle = needle.to_lowercase();
        let haystack = property(object, name)
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        if haystack.starts_with(&needle)
            || haystack
                .split(|c: char| c.is_whitespace() || c == '.' || c == '@' || c == '-')
                .any(|word| word.starts_with(&needle))
        {
            any = true;
        }
    }
    Ok(any)
}

// ---------------------------------------------------------------------------------------------
// Paging

const MAX_TOP: usize = 999;

/// Page size and offset from `$top` and `$skiptoken`.
pub(crate) fn page_window(
    query: &QueryMap,
    default_top: usize,
) -> Result<(usize, usize), GraphError> {
    let top = match query.get("$top") {
        None => default_top,
        Some(text) => match text.parse::<usize>() {
            Ok(top) if (1..=MAX_TOP).contains(&top) => top,
            _ => {
                return Err(GraphError::bad_request(format!(
                    "Invalid page size specified: '{text}'. Must be between 1 and {MAX_TOP} inclusive."
                )));
            }
        },
    };
    let offset = match query.get("$skiptoken") {
        None => 0,
        Some(token) => decode_skiptoken(token).ok_or_else(|| {
            GraphError::bad_request(format!("Invalid '$skiptoken' value '{token}'."))
        })?,
    };
    Ok((top, offset))
}

/// What Graph's `$skiptoken`s start with once decoded; the offset follows.
const SKIPTOKEN_PREFIX: &str = "RFNwdAIAAQ-";

fn encode_skiptoken(offset: usize) -> String {
    paging::encode_cursor(SKIPTOKEN_PREFIX, &offset.to_string())
}

fn decode_skiptoken(token: &str) -> Option<usize> {
    paging::decode_cursor(SKIPTOKEN_PREFIX, token)?.parse().ok()
}

/// One page of a collection in Graph's shape, with an absolute `@odata.nextLink` that repeats
/// the query options and carries an opaque `$skiptoken`.
pub(crate) fn collection_page(
    context: &str,
    items: Vec<Value>,
    query: &QueryMap,
    default_top: usize,
    self_url: &str,
    count: bool,
) -> Result<Value, GraphError> {
    let (top, offset) = page_window(query, default_top)?;
    let total = items.len();
    let page = paging::page(items, offset, top);
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        Value::String(format!(
            "https://graph.microsoft.com/v1.0/$metadata#{context}"
        )),
    );
    if count {
        body.insert("@odata.count".into(), json!(total));
    }
    if page.more {
        let mut pairs: Vec<(String, String)> = query
            .iter()
            .filter(|(key, _)| key.as_str() != "$skiptoken")
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        pairs.sort();
        pairs.push(("$skiptoken".into(), encode_skiptoken(offset + top)));
        let query_string = pairs
            .iter()
            .map(|(key, value)| format!("{key}={}", encode_component(value)))
            .collect::<Vec<_>>()
            .join("&");
        body.insert(
            "@odata.nextLink".into(),
            Value::String(format!("{self_url}?{query_string}")),
        );
    }
    body.insert("value".into(), Value::Array(page.items));
    Ok(Value::Object(body))
}

/// Percent-encode a query value (spaces as `%20`, as Graph writes them).
pub(crate) fn encode_component(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_subset_parses_and_matches() {
        let user = json!({"userPrincipalName": "Jane@Contoso.com", "mail": "jane@contoso.com",
            "displayName": "Jane O'Neil", "accountEnabled": true,
            "proxyAddresses": ["SMTP:jane@contoso.com"]});
        for (text, expected) in [
            ("userPrincipalName eq 'jane@contoso.com'", true),
            (
                "mail eq 'x@contoso.com' or userPrincipalName eq 'JANE@contoso.com'",
                true,
            ),
            ("startswith(displayName,'jane o''')", true),
            ("accountEnabled eq false", false),
            (
                "accountEnabled eq true and displayName eq 'Jane O''Neil'",
                true,
            ),
            ("proxyAddresses/any(p:p eq 'smtp:jane@contoso.com')", true),
        ] {
            let filter = Filter::parse(text).expect(text);
            assert_eq!(filter.matches(&user), expected, "{text}");
        }
        assert!(Filter::parse("displayName gt 'a'").is_err());
    }

    #[test]
    fn skiptoken_round_trips() {
        assert_eq!(decode_skiptoken(&encode_skiptoken(42)), Some(42));
        assert_eq!(decode_skiptoken("garbage"), None);
    }
}
