//! Check the requests a connector sent, and the responses a fixture replays, against the
//! vendor's OpenAPI (3.0) or Swagger (2.0) document.
//!
//! The vendor documents live in the repository (`crates/testkit/specs`, see `SOURCES.md` there)
//! and are compiled into this crate, so [`Spec::load`] needs no file system or network.
//!
//! ```
//! use serde_json::json;
//! use stackhand_testkit::openapi::{ObservedRequest, Spec};
//!
//! let graph = Spec::load("microsoft-graph.yaml").unwrap();
//! let ok = ObservedRequest::new("POST", "/v1.0/users/jane@acme.example/assignLicense")
//!     .with_json(&json!({"addLicenses": [], "removeLicenses": []}));
//! graph.validate_request(&ok).unwrap();
//!
//! // `removeLicenses` is required by the spec.
//! let missing = ObservedRequest::new("POST", "/v1.0/users/jane@acme.example/assignLicense")
//!     .with_json(&json!({"addLicenses": []}));
//! let violation = graph.validate_request(&missing).unwrap_err();
//! assert!(violation.to_string().contains("removeLicenses"), "{violation}");
//! ```
//!
//! In a connector test, one line checks everything a wiremock server (or a `stackhand-sim`
//! simulator's recorder) received:
//!
//! ```no_run
//! # async fn demo(server: wiremock::MockServer) {
//! use stackhand_testkit::openapi::{assert_all_valid, Spec};
//! let spec = Spec::load("microsoft-graph.yaml").unwrap().ignoring("/tenant-id/oauth2");
//! assert_all_valid(&spec, &server.received_requests().await.unwrap(), "/v1.0");
//! # }
//! ```

mod path;
mod schema;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use serde_json::Value;
use stackhand_core::{Error, Result};

use self::path::Template;
use self::schema::{Converter, Direction};
use crate::conformance::Fixture;

/// The vendor documents compiled into the crate: (file name, text).
const BUNDLED: [(&str, &str); 6] = [
    (
        "microsoft-graph.yaml",
        include_str!("../../specs/microsoft-graph.yaml"),
    ),
    ("okta.yaml", include_str!("../../specs/okta.yaml")),
    (
        "connectwise-manage.json",
        include_str!("../../specs/connectwise-manage.json"),
    ),
    ("autotask.json", include_str!("../../specs/autotask.json")),
    ("hudu.json", include_str!("../../specs/hudu.json")),
    ("ninjaone.yaml", include_str!("../../specs/ninjaone.yaml")),
];

/// Corrections applied to bundled documents where they contradict the live API:
/// (document, JSON pointer, replacement schema).
const PATCHES: [(&str, &str, &str); 3] = [
    // A query filter's `value` is any JSON value (`"value": 1`, `"value": "Acme"`); the
    // document was generated from a C# wrapper type and describes an object.
    ("autotask.json", "/definitions/ValueItem", "{}"),
    // Custom-field values are the values themselves (`{"itTicketRef": "T20250301.0042"}`, as
    // the vendor's examples and client code read and write them), not the objects the
    // generated `additionalProperties: {type: object}` says.
    (
        "ninjaone.yaml",
        "/paths/~1v2~1device~1{id}~1custom-fields/get/responses/default/content/application~1json/schema/additionalProperties",
        "{}",
    ),
    (
        "ninjaone.yaml",
        "/paths/~1v2~1device~1{id}~1custom-fields/patch/requestBody/content/application~1json/schema/additionalProperties",
        "{}",
    ),
];

/// Vendors whose APIs treat property names case-insensitively (Autotask documents PascalCase
/// and serialises camelCase).
const CASE_INSENSITIVE: [&str; 1] = ["autotask.json"];

/// HTTP methods an OpenAPI path item can hold.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Which OpenAPI generation a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// OpenAPI 3.0.x: `requestBody`, `content`, `components`.
    OpenApi3,
    /// Swagger 2.0: `in: body` parameters, `definitions`, `basePath`.
    Swagger2,
}

/// What a validator is cached for: a path template, a method and which body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum BodyKey {
    Request,
    Response(String),
}

type CacheKey = (usize, String, BodyKey);

/// A loaded vendor API document.
pub struct Spec {
    name: String,
    document: Value,
    dialect: Dialect,
    /// The path part of `servers[0].url` (variables at their defaults) or `basePath`.
    base_path: String,
    /// A caller-supplied prefix the connector puts before the spec's paths.
    prefix: String,
    templates: Vec<Template>,
    fold_case: bool,
    ignored: Vec<String>,
    request_definitions: OnceLock<Value>,
    response_definitions: OnceLock<Value>,
    validators: Mutex<HashMap<CacheKey, Arc<jsonschema::Validator>>>,
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spec")
            .field("name", &self.name)
            .field("dialect", &self.dialect)
            .field("base_path", &self.base_path)
            .field("prefix", &self.prefix)
            .field("paths", &self.templates.len())
            .field("fold_case", &self.fold_case)
            .field("ignored", &self.ignored)
            .finish()
    }
}

impl Spec {
    /// The names of the bundled vendor documents.
    pub fn bundled() -> impl Iterator<Item = &'static str> {
        BUNDLED.iter().map(|(name, _)| *name)
    }

    /// Load a bundled vendor document by file name: `microsoft-graph.yaml`, `okta.yaml`,
    /// `connectwise-manage.json`, `autotask.json`, `hudu.json` or `ninjaone.yaml`.
    ///
    /// `autotask.json` is loaded with case-insensitive property names and literal path
    /// segments, as the live API behaves, and a query filter's `value` accepts any JSON value
    /// (the document describes a C# wrapper object the API never receives).
    pub fn load(name: &str) -> Result<Self> {
        let (_, text) = BUNDLED.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            Error::invalid(format!(
                "no bundled spec {name:?}; bundled: {}",
                Self::bundled().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let mut document = parse_document(name, text)?;
        for (_, pointer, replacement) in PATCHES.iter().filter(|(n, _, _)| *n == name) {
            if let Some(slot) = document.pointer_mut(pointer) {
                *slot = serde_json::from_str(replacement)?;
            }
        }
        let spec = Self::from_document(name, document)?;
        Ok(spec.case_insensitive(CASE_INSENSITIVE.contains(&name)))
    }

    /// Parse a document from JSON or YAML text.
    pub fn parse(name: &str, text: &str) -> Result<Self> {
        Self::from_document(name, parse_document(name, text)?)
    }

    /// Use an already parsed document.
    pub fn from_document(name: &str, document: Value) -> Result<Self> {
        let dialect = if document.get("openapi").is_some() {
            Dialect::OpenApi3
        } else if document.get("swagger").is_some() {
            Dialect::Swagger2
        } else {
            return Err(Error::invalid(format!(
                "spec {name} has neither an `openapi` nor a `swagger` version field"
            )));
        };
        let paths = document
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::invalid(format!("spec {name} has no `paths` object")))?;
        let templates = paths.keys().map(|raw| Template::parse(raw)).collect();
        let base_path = match dialect {
            Dialect::OpenApi3 => server_path(&document),
            Dialect::Swagger2 => document
                .get("basePath")
                .and_then(Value::as_str)
                .map(path::normalise_base)
                .unwrap_or_default(),
        };
        Ok(Self {
            name: name.to_string(),
            document,
            dialect,
            base_path,
            prefix: String::new(),
            templates,
            fold_case: false,
            ignored: Vec::new(),
            request_definitions: OnceLock::new(),
            response_definitions: OnceLock::new(),
            validators: Mutex::new(HashMap::new()),
        })
    }

    /// Set the path the connector puts before the spec's paths when it differs from the
    /// spec's own base (`/v1.0`, `/v4_6_release/apis/3.0`, `/ATServicesRest/V1.0`).
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = path::normalise_base(prefix);
        self
    }

    /// Skip requests whose path starts with `path_prefix` (token endpoints and other calls
    /// the document does not describe).
    pub fn ignoring(mut self, path_prefix: &str) -> Self {
        self.ignored.push(path_prefix.to_string());
        self
    }

    /// Compare property names and literal path segments without regard to case.
    pub fn case_insensitive(mut self, yes: bool) -> Self {
        self.fold_case = yes;
        self.validators.lock().clear();
        self.request_definitions = OnceLock::new();
        self.response_definitions = OnceLock::new();
        self
    }

    /// The document's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The base path taken from the document (`/v1.0` for Graph, `/ATServicesRest` for
    /// Autotask; empty when the document has none).
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The parsed document.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Check one request against the document, with the prefix set by
    /// [`with_prefix`](Self::with_prefix): the method and path must exist, required query and
    /// header parameters must be present, path and query values must fit their parameter's
    /// type (integer, number, boolean) and enum, and a JSON body must validate against the
    /// operation's request schema (a required body must be there; an operation that takes
    /// none must not get one).
    pub fn validate_request(&self, request: &ObservedRequest) -> Result<(), Violation> {
        self.check_request(request, &self.prefix)
    }

    /// Check a response body against the schema of `status` for the operation at
    /// `method` and `path` (the exact code, then `2XX`-style ranges, then `default`).
    pub fn validate_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), Violation> {
        let path = path.split('?').next().unwrap_or_default();
        let what = format!("{} {path} -> {status}", method.to_uppercase());
        let (index, _, operation) = self.operation(method, path, &self.prefix, &what)?;
        let responses = operation.get("responses").and_then(Value::as_object);
        let code = status.to_string();
        let range = format!("{}XX", status / 100);
        let response = responses
            .and_then(|r| {
                r.get(&code)
                    .or_else(|| r.get(&range))
                    .or_else(|| r.get(&range.to_lowercase()))
                    .or_else(|| r.get("default"))
            })
            .ok_or_else(|| {
                Violation::new(
                    &what,
                    ViolationKind::UnknownResponse,
                    format!("the operation documents no response {status} and no default"),
                )
            })?;
        let response = self.resolve(response);
        let schema = match self.dialect {
            Dialect::OpenApi3 => response
                .get("content")
                .and_then(|c| json_media(c, None))
                .and_then(|m| m.get("schema")),
            Dialect::Swagger2 => response.get("schema"),
        };
        let Some(schema) = schema else {
            return Ok(());
        };
        let key = (index, method.to_lowercase(), BodyKey::Response(code));
        self.validate_body(key, schema, Direction::Response, body, &what)
    }

    /// Check a fixture's response against the document: a 2xx fixture with a JSON body
    /// must match the documented response schema. Error fixtures, empty bodies and routes
    /// matched by regular expression are not checked.
    pub fn validate_fixture(&self, fixture: &Fixture) -> Result<(), Violation> {
        let Some(path) = fixture.route.exact_path() else {
            return Ok(());
        };
        if !(200..300).contains(&fixture.status) || fixture.body.is_null() {
            return Ok(());
        }
        if self.ignored.iter().any(|p| path.starts_with(p)) {
            return Ok(());
        }
        self.validate_response(fixture.route.method(), path, fixture.status, &fixture.body)
    }

    fn check_request(&self, request: &ObservedRequest, prefix: &str) -> Result<(), Violation> {
        if self.ignored.iter().any(|p| request.path.starts_with(p)) {
            return Ok(());
        }
        let what = request.describe();
        let (index, relative, operation) =
            self.operation(request.method.as_str(), &request.path, prefix, &what)?;
        let template = &self.templates[index];
        let path_item = &self.document["paths"][&template.raw];
        let parameters = self.parameters(path_item, operation);
        let captures = template.captures(relative);
        let query = request.query_pairs();
        let mut missing = Vec::new();
        let mut malformed = Vec::new();
        let mut body_parameter = None;
        for parameter in &parameters {
            let name = parameter.get("name").and_then(Value::as_str).unwrap_or("");
            let required = parameter.get("required").and_then(Value::as_bool) == Some(true);
            let place = parameter.get("in").and_then(Value::as_str).unwrap_or("");
            let values: Vec<&str> = match place {
                "path" => captures
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .collect(),
                "query" => query
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .collect(),
                // OpenAPI 3 says these header parameters "SHALL be ignored": the media type
                // and security scheme govern them.
                "header"
                    if ["accept", "content-type", "authorization"]
                        .contains(&name.to_ascii_lowercase().as_str()) =>
                {
                    continue;
                }
                "header" => request.header(name).into_iter().collect(),
                "body" => {
                    body_parameter = Some(*parameter);
                    continue;
                }
                _ => continue,
            };
            if values.is_empty() && required && place != "path" {
                missing.push(format!("{} {name}", describe_place(place)));
            }
            for value in values {
                if let Some(problem) = self.check_scalar(parameter, value) {
                    malformed.push(format!("{} {name}: {problem}", describe_place(place)));
                }
            }
        }
        if !missing.is_empty() {
            return Err(Violation {
                request: what,
                kind: ViolationKind::MissingParameter,
                details: missing,
            });
        }
        if !malformed.is_empty() {
            return Err(Violation {
                request: what,
                kind: ViolationKind::InvalidParameter,
                details: malformed,
            });
        }
        let (schema, required) = match self.dialect {
            Dialect::OpenApi3 => match operation.get("requestBody").map(|b| self.resolve(b)) {
                Some(body) => (
                    body.get("content")
                        .and_then(|c| json_media(c, request.header("content-type")))
                        .and_then(|m| m.get("schema")),
                    body.get("required").and_then(Value::as_bool) == Some(true),
                ),
                None => (None, false),
            },
            Dialect::Swagger2 => match body_parameter {
                Some(p) => (
                    p.get("schema"),
                    p.get("required").and_then(Value::as_bool) == Some(true),
                ),
                None => (None, false),
            },
        };
        let declares_body =
            schema.is_some() || operation.get("requestBody").is_some() || body_parameter.is_some();
        let body = request.json_body();
        match (body, schema) {
            (Err(problem), Some(_)) => {
                Err(Violation::new(&what, ViolationKind::InvalidBody, problem))
            }
            (Ok(None), _) if required => Err(Violation::new(
                &what,
                ViolationKind::MissingBody,
                "the operation requires a body and none was sent".into(),
            )),
            (Ok(Some(body)), _) if !declares_body && !is_empty_json(&body) => Err(Violation::new(
                &what,
                ViolationKind::UnexpectedBody,
                format!("the operation takes no body, got {}", abbreviate(&body)),
            )),
            (Ok(Some(body)), Some(schema)) => {
                let key = (
                    index,
                    request.method.as_str().to_lowercase(),
                    BodyKey::Request,
                );
                self.validate_body(key, schema, Direction::Request, &body, &what)
            }
            _ => Ok(()),
        }
    }

    /// Check a parameter's text against the type and enum of its schema (OpenAPI 3's
    /// `schema`, or Swagger 2's fields on the parameter itself).
    fn check_scalar(&self, parameter: &Value, raw: &str) -> Option<String> {
        let schema = parameter
            .get("schema")
            .map(|s| self.resolve(s))
            .unwrap_or(parameter);
        let fits = match schema.get("type").and_then(Value::as_str) {
            Some("integer") => raw.parse::<i64>().is_ok(),
            Some("number") => raw.parse::<f64>().is_ok(),
            Some("boolean") => matches!(raw, "true" | "false"),
            _ => true,
        };
        if !fits {
            return Some(format!(
                "{raw:?} is not of type {}",
                schema["type"].as_str().unwrap_or_default()
            ));
        }
        let allowed = schema.get("enum").and_then(Value::as_array)?;
        let listed = allowed.iter().any(|v| match v {
            Value::String(s) => s == raw,
            other => serde_json::from_str::<Value>(raw).ok().as_ref() == Some(other),
        });
        (!listed).then(|| {
            let allowed: Vec<String> = allowed.iter().map(Value::to_string).collect();
            format!("{raw:?} is not one of {}", allowed.join(", "))
        })
    }

    /// Find the operation for a method and path; also returns the template's index and the
    /// path relative to the base that matched.
    fn operation<'s, 'p>(
        &'s self,
        method: &str,
        path: &'p str,
        prefix: &str,
        what: &str,
    ) -> Result<(usize, &'p str, &'s Value), Violation> {
        let prefix = path::normalise_base(prefix);
        let bases = [
            String::new(),
            prefix.clone(),
            self.base_path.clone(),
            format!("{prefix}{}", self.base_path),
        ];
        let found = path::find(&self.templates, &bases, path, self.fold_case);
        let (index, relative) = found.ok_or_else(|| {
            Violation::new(
                what,
                ViolationKind::UnknownPath,
                format!(
                    "no path of {} matches (base {:?}, prefix {prefix:?})",
                    self.name, self.base_path
                ),
            )
        })?;
        let template = &self.templates[index].raw;
        let item = &self.document["paths"][template];
        item.get(method.to_lowercase())
            .map(|op| (index, relative, op))
            .ok_or_else(|| {
                let allowed: Vec<String> = METHODS
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(|m| m.to_uppercase())
                    .collect();
                Violation::new(
                    what,
                    ViolationKind::MethodNotAllowed,
                    format!("{template} allows {}", allowed.join(", ")),
                )
            })
    }

    /// Path-item parameters overridden by operation parameters of the same name and place.
    fn parameters<'s>(&'s self, path_item: &'s Value, operation: &'s Value) -> Vec<&'s Value> {
        let mut merged: Vec<&Value> = Vec::new();
        for list in [path_item.get("parameters"), operation.get("parameters")] {
            for parameter in list.and_then(Value::as_array).into_iter().flatten() {
                let parameter = self.resolve(parameter);
                let identity = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
                merged.retain(|p| identity(p) != identity(parameter));
                merged.push(parameter);
            }
        }
        merged
    }

    /// Follow a local `$ref` (parameters, request bodies, responses), a few levels deep.
    fn resolve<'s>(&'s self, mut value: &'s Value) -> &'s Value {
        for _ in 0..8 {
            let Some(target) = value.get("$ref").and_then(Value::as_str) else {
                break;
            };
            match target
                .strip_prefix('#')
                .and_then(|p| self.document.pointer(p))
            {
                Some(resolved) => value = resolved,
                None => break,
            }
        }
        value
    }

    fn definitions(&self, direction: Direction) -> &Value {
        let cell = match direction {
            Direction::Request => &self.request_definitions,
            Direction::Response => &self.response_definitions,
        };
        cell.get_or_init(|| self.converter(direction).definitions())
    }

    fn converter(&self, direction: Direction) -> Converter<'_> {
        Converter {
            document: &self.document,
            direction,
            fold_case: self.fold_case,
        }
    }

    fn validate_body(
        &self,
        key: CacheKey,
        schema: &Value,
        direction: Direction,
        body: &Value,
        what: &str,
    ) -> Result<(), Violation> {
        let validator = self.validator(key, schema, direction, what)?;
        let folded;
        let body = if self.fold_case {
            folded = schema::fold_keys(body);
            &folded
        } else {
            body
        };
        let mut details = Vec::new();
        for error in validator.iter_errors(body) {
            explain(&error, &mut details);
        }
        if details.is_empty() {
            Ok(())
        } else {
            let kind = match direction {
                Direction::Request => ViolationKind::InvalidBody,
                Direction::Response => ViolationKind::InvalidResponse,
            };
            Err(Violation {
                request: what.to_string(),
                kind,
                details,
            })
        }
    }

    fn validator(
        &self,
        key: CacheKey,
        schema: &Value,
        direction: Direction,
        what: &str,
    ) -> Result<Arc<jsonschema::Validator>, Violation> {
        if let Some(found) = self.validators.lock().get(&key) {
            return Ok(found.clone());
        }
        let root = self
            .converter(direction)
            .root(schema, self.definitions(direction));
        let validator = jsonschema::draft4::options()
            .should_validate_formats(true)
            .with_format("uuid", is_uuid)
            .build(&root)
            .map_err(|e| {
                Violation::new(
                    what,
                    ViolationKind::SpecError,
                    format!("the schema in {} does not compile: {e}", self.name),
                )
            })?;
        let validator = Arc::new(validator);
        self.validators.lock().insert(key, validator.clone());
        Ok(validator)
    }
}

fn parse_document(name: &str, text: &str) -> Result<Value> {
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text)
            .map_err(|e| Error::invalid(format!("spec {name} is not valid JSON: {e}")))
    } else {
        serde_norway::from_str(text)
            .map_err(|e| Error::invalid(format!("spec {name} is not valid YAML: {e}")))
    }
}

fn describe_place(place: &str) -> &'static str {
    match place {
        "path" => "path parameter",
        "query" => "query parameter",
        "header" => "header",
        _ => "parameter",
    }
}

/// Describe a schema error. For a failed `anyOf`/`oneOf`, describe the failures inside the
/// branches that were of the right type: "not valid under any of the schemas" says little,
/// while `at /passwordProfile/forceChangePasswordNextSignIn: "yes" is not of type "boolean"`
/// names the fault.
fn explain(error: &jsonschema::ValidationError<'_>, out: &mut Vec<String>) {
    use jsonschema::error::ValidationErrorKind;
    let branches = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            Some(context)
        }
        _ => None,
    };
    let at = error.instance_path().to_string();
    if let Some(branches) = branches {
        let wrong_type_only = |branch: &&Vec<jsonschema::ValidationError<'static>>| {
            branch.iter().all(|e| {
                matches!(e.kind(), ValidationErrorKind::Type { .. })
                    && e.instance_path().to_string() == at
            })
        };
        let relevant: Vec<_> = branches.iter().filter(|b| !wrong_type_only(b)).collect();
        if !relevant.is_empty() {
            for branch in relevant {
                for inner in branch {
                    explain(inner, out);
                }
            }
            return;
        }
    }
    let at = if at.is_empty() { "/".to_string() } else { at };
    let line = format!("at {at}: {error}");
    if !out.contains(&line) {
        out.push(line);
    }
}

/// Whether a string is a UUID in its hyphenated form (OpenAPI's `format: uuid`, which draft 4
/// does not know).
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The path of `servers[0].url`, with server variables at their defaults.
fn server_path(document: &Value) -> String {
    let Some(server) = document.pointer("/servers/0") else {
        return String::new();
    };
    let mut url = server
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(variables) = server.get("variables").and_then(Value::as_object) {
        for (name, variable) in variables {
            let default = variable
                .get("default")
                .and_then(Value::as_str)
                .unwrap_or_default();
            url = url.replace(&format!("{{{name}}}"), default);
        }
    }
    let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let path = if url.contains("://") {
        after_scheme.find('/').map_or("", |i| &after_scheme[i..])
    } else {
        after_scheme
    };
    path::normalise_base(path)
}

/// The JSON media type object of a `content` map: the one matching the request's content
/// type if it is JSON, else the first whose name mentions JSON.
fn json_media<'v>(content: &'v Value, content_type: Option<&str>) -> Option<&'v Value> {
    let content = content.as_object()?;
    let wanted = content_type.map(|c| c.split(';').next().unwrap_or(c).trim());
    if let Some(wanted) = wanted.filter(|w| w.contains("json"))
        && let Some((_, media)) = content
            .iter()
            .find(|(name, _)| name.split(';').next().unwrap_or(name).trim() == wanted)
    {
        return Some(media);
    }
    content
        .iter()
        .find(|(name, _)| name.contains("json") || name.as_str() == "*/*")
        .map(|(_, media)| media)
}

fn is_empty_json(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// A body for a message, cut short.
fn abbreviate(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 200 {
        format!("{}...", text.chars().take(200).collect::<String>())
    } else {
        text
    }
}

/// One request as a test saw it: received by a wiremock server, or recorded by a
/// `stackhand-sim` simulator (which records into this type and re-exports it as
/// `stackhand_sim::RecordedRequest`), or built by hand with [`new`](Self::new).
///
/// The fields keep the request as it arrived (wiremock's own types), so nothing is lost
/// before a check. Its `Debug` shows header names only: headers carry credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct ObservedRequest {
    /// Method.
    pub method: http::Method,
    /// Path without the query, percent-encoded as sent.
    pub path: String,
    /// The raw query string, if the URL has one (see [`query_pairs`](Self::query_pairs)).
    pub query: Option<String>,
    /// Headers.
    pub headers: http::HeaderMap,
    /// The raw body.
    pub body: Vec<u8>,
}

impl fmt::Debug for ObservedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.keys().map(|n| n.as_str()).collect();
        f.debug_struct("ObservedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("header_names", &header_names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl ObservedRequest {
    /// A request with no headers and no body; `path_and_query` may carry a `?query`.
    ///
    /// # Panics
    ///
    /// When `method` is not an HTTP method token.
    pub fn new(method: &str, path_and_query: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .map_or((path_and_query, None), |(p, q)| (p, Some(q)));
        Self {
            method: http::Method::from_bytes(method.to_uppercase().as_bytes())
                .unwrap_or_else(|_| panic!("{method:?} is not an HTTP method")),
            path: path.to_string(),
            query: query.map(str::to_string),
            headers: http::HeaderMap::new(),
            body: Vec::new(),
        }
    }

    /// Set a JSON body (and the `content-type` header).
    pub fn with_json(mut self, body: &Value) -> Self {
        self.body = body.to_string().into_bytes();
        self.with_header("content-type", "application/json")
    }

    /// Add a header (replacing one of the same name).
    ///
    /// # Panics
    ///
    /// When `name` or `value` cannot be a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|_| panic!("{name:?} is not a header name"));
        let value = http::HeaderValue::from_str(value)
            .unwrap_or_else(|_| panic!("{value:?} is not a header value"));
        self.headers.insert(name, value);
        self
    }

    /// The query decoded into pairs, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .map(|query| {
                url::form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first value of a query parameter, decoded.
    pub fn query_value(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// A header's value (name compared without case); `None` when absent or not text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, if it is JSON (`None` when empty or malformed; see
    /// [`json_body`](Self::json_body) to tell those apart).
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as JSON: `Ok(None)` when empty, `Err` naming the problem when not JSON.
    pub fn json_body(&self) -> Result<Option<Value>, String> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&self.body)
            .map(Some)
            .map_err(|e| format!("the body is not JSON ({e})"))
    }

    /// `METHOD /path?query`, for messages (the query decoded, so it reads as written).
    pub fn describe(&self) -> String {
        let query = self.query_pairs();
        if query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{} {}?{}", self.method, self.path, query.join("&"))
        }
    }
}

impl From<&wiremock::Request> for ObservedRequest {
    fn from(request: &wiremock::Request) -> Self {
        Self {
            method: request.method.clone(),
            path: request.url.path().to_string(),
            query: request.url.query().map(str::to_string),
            headers: request.headers.clone(),
            body: request.body.clone(),
        }
    }
}

impl From<&ObservedRequest> for ObservedRequest {
    fn from(request: &ObservedRequest) -> Self {
        request.clone()
    }
}

/// What is wrong with a request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ViolationKind {
    /// No path of the document matches.
    UnknownPath,
    /// The path exists, the method does not.
    MethodNotAllowed,
    /// A required query parameter or header is absent.
    MissingParameter,
    /// A path, query or header parameter has the wrong type or a value outside its enum.
    InvalidParameter,
    /// A required body is absent.
    MissingBody,
    /// A body was sent to an operation that takes none.
    UnexpectedBody,
    /// The request body does not validate (or is not JSON).
    InvalidBody,
    /// The document has no response for the status.
    UnknownResponse,
    /// The response body does not validate.
    InvalidResponse,
    /// The document's schema could not be compiled.
    SpecError,
}

impl ViolationKind {
    /// A short name for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationKind::UnknownPath => "unknown path",
            ViolationKind::MethodNotAllowed => "method not allowed",
            ViolationKind::MissingParameter => "missing parameter",
            ViolationKind::InvalidParameter => "invalid parameter",
            ViolationKind::MissingBody => "missing body",
            ViolationKind::UnexpectedBody => "unexpected body",
            ViolationKind::InvalidBody => "invalid body",
            ViolationKind::UnknownResponse => "undocumented response",
            ViolationKind::InvalidResponse => "invalid response body",
            ViolationKind::SpecError => "spec error",
        }
    }
}

/// A request or response that does not match the document, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// `METHOD /path` of what was checked.
    pub request: String,
    /// What is wrong.
    pub kind: ViolationKind,
    /// Each problem, with the JSON pointer it is at for schema errors.
    pub details: Vec<String>,
}

impl Violation {
    fn new(request: &str, kind: ViolationKind, detail: String) -> Self {
        Self {
            request: request.to_string(),
            kind,
            details: vec![detail],
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.request,
            self.kind.as_str(),
            self.details.join("; ")
        )
    }
}

impl std::error::Error for Violation {}

/// Validate every request and panic listing every violation, for one-line use in tests.
///
/// `prefix` is the path the connector puts before the document's paths when it differs from
/// the document's own base (`""` to use the spec's [`with_prefix`](Spec::with_prefix) setting).
/// Accepts `&[wiremock::Request]` or [`ObservedRequest`]s (what a `stackhand-sim` simulator
/// records, re-exported there as `stackhand_sim::RecordedRequest`).
///
/// # Panics
///
/// When any request violates the document, or when there were no requests at all (a test
/// that checked nothing is a mistake).
pub fn assert_all_valid<'r, R>(spec: &Spec, requests: impl IntoIterator<Item = &'r R>, prefix: &str)
where
    R: 'r,
    for<'a> &'a R: Into<ObservedRequest>,
{
    let prefix = if prefix.is_empty() {
        spec.prefix.clone()
    } else {
        path::normalise_base(prefix)
    };
    let mut count = 0;
    let violations: Vec<String> = requests
        .into_iter()
        .inspect(|_| count += 1)
        .filter_map(|r| spec.check_request(&r.into(), &prefix).err())
        .map(|v| format!("  - {v}"))
        .collect();
    assert!(count > 0, "no requests to validate against {}", spec.name);
    assert!(
        violations.is_empty(),
        "{} of {count} requests do not match {}:\n{}",
        violations.len(),
        spec.name,
        violations.join("\n")
    );
}
