//! Routes and canned responses a harness mounts on the trial's mock server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// How a route matches the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PathMatch {
    Exact(String),
    Regex(String),
}

/// A method and path (and optionally query parameters) a connector calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    method: String,
    path: PathMatch,
    query: Vec<(String, String)>,
}

impl Route {
    /// A route matching `method` and the exact, percent-encoded `path` as the connector
    /// sends it (`/v1.0/users/jane%40acme.example`); the query is not compared.
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_uppercase(),
            path: PathMatch::Exact(path.to_string()),
            query: Vec::new(),
        }
    }

    /// `GET path`.
    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    /// `POST path`.
    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    /// A route whose path matches a regular expression (`^/api/v1/users/[^/]+$`).
    pub fn regex(method: &str, path_regex: &str) -> Self {
        Self {
            method: method.to_uppercase(),
            path: PathMatch::Regex(path_regex.to_string()),
            query: Vec::new(),
        }
    }

    /// Also require a query parameter with this decoded value (`$skiptoken`, `page`). When
    /// several routes match a request, the one with the most query conditions answers.
    pub fn with_query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The exact path, unless the route matches by regular expression.
    pub fn exact_path(&self) -> Option<&str> {
        match &self.path {
            PathMatch::Exact(path) => Some(path),
            PathMatch::Regex(_) => None,
        }
    }

    /// `METHOD path`, for messages.
    pub fn describe(&self) -> String {
        let path = match &self.path {
            PathMatch::Exact(p) => p.clone(),
            PathMatch::Regex(r) => format!("~{r}"),
        };
        let query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if query.is_empty() {
            format!("{} {path}", self.method)
        } else {
            format!("{} {path}?{}", self.method, query.join("&"))
        }
    }

    /// A wiremock mock for this route answering with `template`.
    pub fn mock(&self, responder: impl Respond + 'static) -> Mock {
        let mut builder = Mock::given(method(self.method.as_str()));
        builder = match &self.path {
            PathMatch::Exact(p) => builder.and(path(p.as_str())),
            PathMatch::Regex(r) => builder.and(path_regex(r.as_str())),
        };
        for (name, value) in &self.query {
            builder = builder.and(query_param(name.as_str(), value.as_str()));
        }
        // wiremock answers with the lowest priority number first: the more query conditions a
        // route has, the more specific it is. 1 stays free for the suite's own overrides.
        let priority = 5 - self.query.len().min(3) as u8;
        builder.respond_with(responder).with_priority(priority)
    }
}

/// A route and the response to replay for it.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// What it answers.
    pub route: Route,
    /// HTTP status.
    pub status: u16,
    /// JSON body (`Value::Null` for none).
    pub body: Value,
    /// Extra response headers.
    pub headers: Vec<(String, String)>,
}

impl Fixture {
    /// A `200` with a JSON body.
    pub fn json(route: Route, body: Value) -> Self {
        Self {
            route,
            status: 200,
            body,
            headers: Vec::new(),
        }
    }

    /// Change the status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Add a response header (`Link` for Okta paging).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The response this fixture replays.
    pub fn response(&self) -> ResponseTemplate {
        response(self.status, &self.body, &self.headers)
    }
}

/// A JSON response template.
pub(crate) fn response(
    status: u16,
    body: &Value,
    headers: &[(String, String)],
) -> ResponseTemplate {
    let mut template = ResponseTemplate::new(status);
    if !body.is_null() {
        template = template.set_body_json(body);
    }
    for (name, value) in headers {
        template = template.insert_header(name.as_str(), value.as_str());
    }
    template
}

/// Arrival times of the requests a mock answered.
pub(crate) type Arrivals = Arc<Mutex<Vec<Instant>>>;

/// A responder that notes when each request arrived.
pub(crate) struct Timed {
    pub(crate) template: ResponseTemplate,
    pub(crate) arrivals: Arrivals,
}

impl Respond for Timed {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        self.arrivals.lock().push(Instant::now());
        self.template.clone()
    }
}

/// Mount fixtures, returning the arrivals each one saw (same order).
pub(crate) async fn mount(server: &MockServer, fixtures: &[Fixture]) -> Vec<Arrivals> {
    let mut all = Vec::with_capacity(fixtures.len());
    for fixture in fixtures {
        let arrivals = Arrivals::default();
        fixture
            .route
            .mock(Timed {
                template: fixture.response(),
                arrivals: arrivals.clone(),
            })
            .mount(server)
            .await;
        all.push(arrivals);
    }
    all
}

/// An OAuth2 token endpoint the connector fetches its access token from.
#[derive(Debug, Clone)]
pub struct TokenEndpoint {
    /// Its path on the mock server (`/tenant-id/oauth2/v2.0/token`, `/oauth2/v1/token`).
    pub path: String,
    /// The successful token response body.
    pub body: Value,
}

impl TokenEndpoint {
    /// A token endpoint answering with `body`.
    pub fn new(path: &str, body: Value) -> Self {
        Self {
            path: path.to_string(),
            body,
        }
    }

    /// A token endpoint answering a bearer token valid for an hour.
    pub fn bearer(path: &str, access_token: &str) -> Self {
        Self::new(
            path,
            serde_json::json!({
                "token_type": "Bearer",
                "expires_in": 3600,
                "access_token": access_token,
            }),
        )
    }

    /// Mount it; a small delay makes concurrent callers overlap while a fetch is in flight.
    pub(crate) async fn mount(&self, server: &MockServer) {
        Route::post(&self.path)
            .mock(response(200, &self.body, &[]).set_delay(Duration::from_millis(50)))
            .mount(server)
            .await;
    }
}
