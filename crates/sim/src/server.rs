//! The shared server: loopback listener, request recording and fault injection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use stackhand_testkit::ObservedRequest;
use tokio::task::JoinHandle;

/// Faults to inject into every response.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Added to every request before it is handled.
    pub latency: Duration,
    /// Answer every n-th request with `429` (0 = never), shaped as the simulator's vendor
    /// throttles (its `Throttle`).
    pub rate_limit_every: u64,
    /// The `Retry-After` sent with an injected 429, for vendors that send one.
    pub retry_after_secs: u64,
}

/// The requests a simulator received, in order, as the testkit's [`ObservedRequest`]s, so
/// `stackhand_testkit::openapi::assert_all_valid` checks them as they are.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    requests: Arc<Mutex<Vec<ObservedRequest>>>,
}

impl Recorder {
    /// Everything received so far.
    pub fn requests(&self) -> Vec<ObservedRequest> {
        self.requests.lock().clone()
    }

    /// Forget what was received.
    pub fn clear(&self) {
        self.requests.lock().clear();
    }

    fn push(&self, request: ObservedRequest) {
        self.requests.lock().push(request);
    }
}

/// The body an injected `429` carries when the simulator names none (Graph's envelope).
const DEFAULT_THROTTLE_BODY: &str =
    r#"{"error":{"code":"TooManyRequests","message":"Simulated throttling."}}"#;

/// What an injected `429` looks like: the vendor's own body, its content type, and whether the
/// vendor names a `Retry-After`. A bare `&'static str` converts to a JSON body with
/// `Retry-After` ([`Throttle::json`]), what most vendors send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// The response body.
    pub body: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Whether `Retry-After: {Faults::retry_after_secs}` is sent.
    pub retry_after: bool,
}

impl Throttle {
    /// A JSON error envelope, sent with `Retry-After`.
    pub const fn json(body: &'static str) -> Self {
        Self {
            body,
            content_type: "application/json",
            retry_after: true,
        }
    }

    /// The `429` itself; `retry_after_secs` is sent only if the vendor sends a `Retry-After`.
    pub(crate) fn response(&self, retry_after_secs: u64) -> Response {
        let mut response = Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header(header::CONTENT_TYPE, self.content_type);
        if self.retry_after {
            response = response.header(header::RETRY_AFTER, retry_after_secs.to_string());
        }
        response
            .body(Body::from(self.body))
            .expect("static response")
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::json(DEFAULT_THROTTLE_BODY)
    }
}

impl From<&'static str> for Throttle {
    fn from(body: &'static str) -> Self {
        Self::json(body)
    }
}

/// When a [`Hold`] stops a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldPoint {
    /// Before the simulator handles it: the vendor never saw the call.
    BeforeHandling,
    /// After the simulator handled it, before the answer leaves: the change is made and the
    /// client never learns it (a connection lost mid-call).
    AfterHandling,
}

/// One request held without an answer until [`Hold::release`]: how a test stops a client in the
/// middle of a vendor call (and kills it there). The first request matching the method and
/// path (a substring) is held; later ones pass.
#[derive(Debug, Clone)]
pub struct Hold {
    inner: Arc<HoldState>,
}

#[derive(Debug)]
struct HoldState {
    method: axum::http::Method,
    path_contains: String,
    point: HoldPoint,
    taken: std::sync::atomic::AtomicBool,
    reached: tokio::sync::watch::Sender<bool>,
    released: tokio::sync::watch::Sender<bool>,
}

impl Hold {
    /// Wait until a request is held.
    pub async fn reached(&self) {
        let mut reached = self.inner.reached.subscribe();
        // The sender lives as long as `self`, so this only ends when the flag turns true.
        let _ = reached.wait_for(|r| *r).await;
    }

    /// Whether a request is held (or was, before release).
    pub fn is_reached(&self) -> bool {
        *self.inner.reached.borrow()
    }

    /// Let the held request (and any later one) go on.
    pub fn release(&self) {
        self.inner.released.send_replace(true);
    }

    fn matches(&self, method: &axum::http::Method, path: &str) -> bool {
        self.inner.method == method
            && path.contains(&self.inner.path_contains)
            && !self.inner.taken.swap(true, Ordering::SeqCst)
    }

    async fn wait(&self) {
        self.inner.reached.send_replace(true);
        let mut released = self.inner.released.subscribe();
        let _ = released.wait_for(|r| *r).await;
    }
}

#[derive(Clone)]
struct FaultState {
    faults: Faults,
    throttle: Throttle,
    counter: Arc<AtomicU64>,
    recorder: Recorder,
    holds: Arc<Mutex<Vec<Hold>>>,
}

async fn record_and_inject(
    State(state): State<FaultState>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response(),
    };
    state.recorder.push(ObservedRequest {
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers.clone(),
        body: bytes.to_vec(),
    });
    if !state.faults.latency.is_zero() {
        tokio::time::sleep(state.faults.latency).await;
    }
    let n = state.counter.fetch_add(1, Ordering::SeqCst) + 1;
    if state.faults.rate_limit_every > 0 && n % state.faults.rate_limit_every == 0 {
        return state.throttle.response(state.faults.retry_after_secs);
    }
    let hold = state
        .holds
        .lock()
        .iter()
        .find(|h| h.matches(&parts.method, parts.uri.path()))
        .cloned();
    let Some(hold) = hold else {
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    };
    if hold.inner.point == HoldPoint::BeforeHandling {
        hold.wait().await;
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if hold.inner.point == HoldPoint::AfterHandling {
        hold.wait().await;
    }
    response
}

/// A simulator listening on loopback.
pub struct SimServer {
    addr: SocketAddr,
    recorder: Recorder,
    holds: Arc<Mutex<Vec<Hold>>>,
    handle: JoinHandle<()>,
}

impl std::fmt::Debug for SimServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl SimServer {
    /// Serve `router` on `127.0.0.1` at a free port, with request recording and `faults`.
    pub async fn start(router: Router, faults: Faults) -> std::io::Result<Self> {
        Self::start_on(
            router,
            faults,
            "127.0.0.1:0".parse().expect("valid address"),
        )
        .await
    }

    /// Serve on a chosen address (a fixed port).
    pub async fn start_on(
        router: Router,
        faults: Faults,
        addr: SocketAddr,
    ) -> std::io::Result<Self> {
        Self::start_throttled(router, faults, addr, Throttle::default()).await
    }

    /// Serve on a chosen address, answering injected `429`s as the vendor does (`throttle`: its
    /// body, content type and `Retry-After`, or just a JSON body) instead of the Graph-shaped
    /// default.
    pub async fn start_throttled(
        router: Router,
        faults: Faults,
        addr: SocketAddr,
        throttle: impl Into<Throttle>,
    ) -> std::io::Result<Self> {
        let recorder = Recorder::default();
        let holds = Arc::new(Mutex::new(Vec::new()));
        let state = FaultState {
            faults,
            throttle: throttle.into(),
            counter: Arc::new(AtomicU64::new(0)),
            recorder: recorder.clone(),
            holds: holds.clone(),
        };
        let app = router.layer(middleware::from_fn_with_state(state, record_and_inject));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let handle = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(%err, "simulator stopped");
            }
        });
        Ok(Self {
            addr,
            recorder,
            holds,
            handle,
        })
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The requests received.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Hold the next `method` request whose path contains `path_contains` at `point`, without
    /// an answer, until the returned [`Hold`] is released (see [`Hold`]).
    pub fn hold(&self, method: &str, path_contains: &str, point: HoldPoint) -> Hold {
        let hold = Hold {
            inner: Arc::new(HoldState {
                method: method
                    .parse()
                    .unwrap_or_else(|_| panic!("{method:?} is not an HTTP method")),
                path_contains: path_contains.to_string(),
                point,
                taken: std::sync::atomic::AtomicBool::new(false),
                reached: tokio::sync::watch::channel(false).0,
                released: tokio::sync::watch::channel(false).0,
            }),
        };
        self.holds.lock().push(hold.clone());
        hold
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

#[allow(dead_code)] // used by the vendor modules, each behind its feature
/// Decode an `Authorization: Basic` header into (user, password).
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[allow(dead_code)] // used by the vendor modules, each behind its feature
/// The bearer token of an `Authorization: Bearer` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

#[allow(dead_code)] // used by the vendor modules, each behind its feature
/// The `Host` a request was sent to (`127.0.0.1` when it names none).
pub(crate) fn host(headers: &HeaderMap) -> &str {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
}

#[allow(dead_code)] // used by the vendor modules, each behind its feature
/// `http://{Host}`: the origin of the request, so links and paging URLs the simulators answer
/// with lead back to the simulator wherever it listens.
pub(crate) fn origin(headers: &HeaderMap) -> String {
    format!("http://{}", host(headers))
}

#[allow(dead_code)] // used by the vendor modules, each behind its feature
/// The request's `Content-Type` (empty when absent).
pub(crate) fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_body_throttles_as_json_with_retry_after() {
        let response = Throttle::from(r#"{"error":"slow down"}"#).response(7);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        assert_eq!(Throttle::default().body, DEFAULT_THROTTLE_BODY);
    }

    #[test]
    fn a_vendor_throttle_sends_its_content_type_and_no_retry_after() {
        let plain = Throttle {
            body: "Retry later\n",
            content_type: "text/plain",
            retry_after: false,
        };
        let response = plain.response(7);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/plain");
        assert!(!response.headers().contains_key(header::RETRY_AFTER));
    }
}
