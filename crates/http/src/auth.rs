//! Authentication: what the client injects into every request, and OAuth2 token sources.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use stackhand_core::{Error, ErrorKind, Result};
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::dpop::DpopKey;
use crate::redact::Redactor;

/// How the client authenticates every request.
///
/// `Debug` never shows a secret.
#[derive(Clone)]
pub enum Auth {
    /// No authentication (public endpoints, tests).
    None,
    /// `Authorization: Bearer <token>` from a token source. On a 401 the client calls
    /// [`TokenSource::invalidate`] and retries the request once with a fresh token.
    Bearer(Arc<dyn TokenSource>),
    /// HTTP Basic (ConnectWise: username `company+publicKey`, password `privateKey`).
    Basic {
        /// The username (not secret).
        username: String,
        /// The password.
        password: SecretString,
    },
    /// Static secret headers (Autotask `ApiIntegrationCode`/`UserName`/`Secret`, Hudu
    /// `x-api-key`, Okta `Authorization: SSWS <token>`). Values are sent marked sensitive.
    Headers(Vec<(HeaderName, SecretString)>),
}

impl Auth {
    /// Bearer tokens from `source`.
    pub fn bearer(source: impl TokenSource + 'static) -> Self {
        Auth::Bearer(Arc::new(source))
    }

    /// HTTP Basic.
    pub fn basic(username: impl Into<String>, password: SecretString) -> Self {
        Auth::Basic {
            username: username.into(),
            password,
        }
    }

    /// `Authorization: <scheme> <credential>`, for schemes such as Okta's `SSWS`.
    pub fn authorization(scheme: &str, credential: &SecretString) -> Self {
        let value = format!("{scheme} {}", credential.expose_secret());
        Auth::Headers(vec![(AUTHORIZATION, SecretString::from(value))])
    }

    /// One secret header (`x-api-key: <key>`, Autotask's `Secret`). The name is
    /// case-insensitive; an invalid one is an error naming it.
    pub fn header(name: &str, value: SecretString) -> Result<Self> {
        let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
            .map_err(|_| Error::invalid(format!("{name:?} is not a valid HTTP header name")))?;
        Ok(Auth::Headers(vec![(name, value)]))
    }

    /// The secrets this auth sends verbatim, so the redactor can scrub echoes of them.
    pub(crate) fn register_secrets(&self, mut redactor: Redactor) -> Redactor {
        match self {
            Auth::None => {}
            Auth::Bearer(source) => {
                for secret in source.secrets() {
                    redactor = redactor.with_secret(secret);
                }
            }
            Auth::Basic { username, password } => {
                // The encoded credential as sent, in case a vendor echoes the header.
                use base64::Engine as _;
                let encoded = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{}", password.expose_secret()));
                redactor = redactor
                    .with_secret(password.clone())
                    .with_secret(SecretString::from(encoded));
            }
            Auth::Headers(headers) => {
                for (_, value) in headers {
                    redactor = redactor.with_secret(value.clone());
                    // `SSWS <token>`: also scrub the bare token.
                    if let Some((_, credential)) = value.expose_secret().split_once(' ') {
                        redactor = redactor.with_secret(SecretString::from(credential.to_owned()));
                    }
                }
            }
        }
        redactor
    }

    /// Check that static header values are valid header values, so a bad secret fails at build
    /// time with a clear error rather than on every request.
    pub(crate) fn validate(&self) -> Result<()> {
        if let Auth::Headers(headers) = self {
            for (name, value) in headers {
                HeaderValue::from_str(value.expose_secret()).map_err(|_| {
                    Error::invalid(format!(
                        "the value of auth header {name} contains characters not allowed in a header"
                    ))
                })?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Bearer(source) => f.debug_tuple("Bearer").field(source).finish(),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"[redacted]")
                .finish(),
            Auth::Headers(headers) => {
                let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
                f.debug_struct("Headers").field("names", &names).finish()
            }
        }
    }
}

/// A source of bearer tokens.
///
/// Implementations cache, and refresh before expiry; callers ask for a token on every request.
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A currently valid access token.
    async fn token(&self) -> Result<SecretString>;

    /// The API rejected `rejected` (HTTP 401): drop it if it is still the cached one, so the next
    /// [`token`](Self::token) fetches a fresh one. Comparing first means twenty requests failing
    /// on the same stale token cause one refresh, not twenty.
    async fn invalidate(&self, rejected: &SecretString);

    /// Long-lived secrets this source holds (a client secret, a static token), so the client can
    /// scrub echoes of them from vendor error text. Access tokens in use are scrubbed anyway.
    fn secrets(&self) -> Vec<SecretString> {
        Vec::new()
    }

    /// The headers that authorize one request with `token`. The default is
    /// `Authorization: Bearer <token>`; a DPoP-bound source sends `Authorization: DPoP <token>`
    /// and a proof for this method and URL. The client marks every value sensitive.
    fn authorize(
        &self,
        token: &SecretString,
        _method: &Method,
        _url: &Url,
    ) -> Result<Vec<(HeaderName, SecretString)>> {
        Ok(vec![(
            AUTHORIZATION,
            SecretString::from(format!("Bearer {}", token.expose_secret())),
        )])
    }
}

/// A caller-supplied token, for example a delegated token obtained elsewhere. It cannot be
/// refreshed: after a 401 the retry uses the same token and fails as `Unauthorized`.
#[derive(Clone)]
pub struct StaticToken(SecretString);

impl StaticToken {
    /// Wrap a token.
    pub fn new(token: SecretString) -> Self {
        Self(token)
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken([redacted])")
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn token(&self) -> Result<SecretString> {
        Ok(self.0.clone())
    }

    async fn invalidate(&self, _rejected: &SecretString) {}

    fn secrets(&self) -> Vec<SecretString> {
        vec![self.0.clone()]
    }
}

/// How a confidential client proves its identity to the token endpoint.
#[derive(Clone)]
pub enum ClientAuth {
    /// A client secret, sent as `client_secret` in the form body (`client_secret_post`).
    ClientSecret(SecretString),
    /// An RS256-signed JWT assertion (`private_key_jwt`; Microsoft's certificate credential).
    /// Required by Okta for `okta.*` scopes.
    PrivateKeyJwt {
        /// The RSA private key, PEM (PKCS#1 or PKCS#8).
        key_pem: SecretString,
        /// `kid` header: the key id registered with the authorization server (Okta).
        key_id: Option<String>,
        /// `x5t` header: base64url SHA-1 thumbprint of the certificate (Microsoft).
        x5t: Option<String>,
    },
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuth::ClientSecret(_) => f.write_str("ClientSecret([redacted])"),
            ClientAuth::PrivateKeyJwt { key_id, x5t, .. } => f
                .debug_struct("PrivateKeyJwt")
                .field("key_pem", &"[redacted]")
                .field("key_id", key_id)
                .field("x5t", x5t)
                .finish(),
        }
    }
}

/// `client_assertion_type` for a JWT bearer client assertion (RFC 7523).
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a client assertion is valid. Short: it is used once, right away.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

/// Assumed token lifetime when the token endpoint omits `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Claims of a client assertion JWT (RFC 7523 section 3).
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct AssertionClaims {
    /// Issuer: the client id.
    pub iss: String,
    /// Subject: the client id.
    pub sub: String,
    /// Audience: the token endpoint URL.
    pub aud: String,
    /// Unique id, so the server can reject replays.
    pub jti: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Not before (seconds since the epoch).
    pub nbf: u64,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
}

/// Sign a client assertion: `iss = sub = client_id`, `aud = token_url`, a fresh `jti`, valid for
/// five minutes from `now`, with the optional `kid` and `x5t` headers.
pub fn client_assertion(
    client_id: &str,
    token_url: &Url,
    key_pem: &SecretString,
    key_id: Option<&str>,
    x5t: Option<&str>,
    now: SystemTime,
) -> Result<SecretString> {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.expose_secret().as_bytes()).map_err(
        |e| {
            Error::invalid(format!(
                "the private key for client {client_id} is not a valid RSA PEM key: {e}"
            ))
        },
    )?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = key_id.map(str::to_owned);
    header.x5t = x5t.map(str::to_owned);
    let iat = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let claims = AssertionClaims {
        iss: client_id.to_owned(),
        sub: client_id.to_owned(),
        aud: token_url.as_str().to_owned(),
        jti: uuid::Uuid::new_v4().to_string(),
        iat,
        nbf: iat,
        exp: iat + ASSERTION_LIFETIME.as_secs(),
    };
    jsonwebtoken::encode(&header, &claims, &key)
        .map(SecretString::from)
        .map_err(|e| Error::invalid(format!("could not sign the client assertion: {e}")))
}

struct CachedToken {
    token: SecretString,
    expires_at: Instant,
}

/// The cache behind the single-flight lock.
#[derive(Default)]
struct TokenCache {
    token: Option<CachedToken>,
    /// When the last fetch failed, and a copy of its error, so callers that queued behind a
    /// failing fetch share its failure instead of each hitting the token endpoint again.
    last_failure: Option<(Instant, Error)>,
}

/// OAuth 2.0 client credentials grant (RFC 6749 section 4.4) with single-flight caching.
///
/// - Concurrent callers share one token request (a mutex around the cache).
/// - The token is refreshed when less than [`refresh_before`](Self::refresh_before) (default
///   60 s) of its lifetime remains.
/// - Tokens live only in memory and never appear in `Debug`, logs or errors.
///
/// ```no_run
/// # async fn demo() -> stackhand_core::Result<()> {
/// use stackhand_http::{ClientAuth, ClientCredentials, TokenSource};
/// use secrecy::SecretString;
///
/// let token_url = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
///     .parse()
///     .unwrap();
/// let source = ClientCredentials::new(
///     token_url,
///     "00000000-0000-0000-0000-000000000001",
///     ClientAuth::ClientSecret(SecretString::from("from-the-vault")),
/// )
/// .scope("https://graph.microsoft.com/.default");
/// let _token = source.token().await?;
/// # Ok(()) }
/// ```
pub struct ClientCredentials {
    token_url: Url,
    client_id: String,
    client_auth: ClientAuth,
    scopes: Vec<String>,
    extra_params: Vec<(String, String)>,
    refresh_before: Duration,
    http: reqwest::Client,
    dpop: Option<DpopKey>,
    /// The token endpoint's latest `DPoP-Nonce`.
    dpop_nonce: std::sync::Mutex<Option<String>>,
    cache: Mutex<TokenCache>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_auth", &self.client_auth)
            .field("scopes", &self.scopes)
            .field("refresh_before", &self.refresh_before)
            .field("dpop", &self.dpop.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientCredentials {
    /// A token source for `client_id` at `token_url` (override it to point at a test server).
    pub fn new(token_url: Url, client_id: impl Into<String>, client_auth: ClientAuth) -> Self {
        Self {
            token_url,
            client_id: client_id.into(),
            client_auth,
            scopes: Vec::new(),
            extra_params: Vec::new(),
            refresh_before: Duration::from_secs(60),
            http: crate::client::default_reqwest_client(),
            dpop: None,
            dpop_nonce: std::sync::Mutex::new(None),
            cache: Mutex::new(TokenCache::default()),
        }
    }

    /// Request one more scope (Graph: `https://graph.microsoft.com/.default`; Okta:
    /// `okta.users.manage`).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Request these scopes.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Add a non-secret form parameter to the token request (for example `resource`).
    pub fn extra_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }

    /// Refresh when less than this much lifetime remains (default 60 s).
    pub fn refresh_before(mut self, margin: Duration) -> Self {
        self.refresh_before = margin;
        self
    }

    /// Use this HTTP client for token requests (share the connector's client).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = client;
        self
    }

    /// Bind tokens to `key` with DPoP (RFC 9449), as Okta requires when "Require DPoP" is on.
    pub fn dpop(mut self, key: DpopKey) -> Self {
        self.dpop = Some(key);
        self
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }

    async fn fetch(&self) -> Result<CachedToken> {
        let token_url = TokenUrl::from_url(self.token_url.clone());
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_token_uri(token_url)
            .set_auth_type(AuthType::RequestBody);
        if let ClientAuth::ClientSecret(secret) = &self.client_auth {
            client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
        }
        let assertion = match &self.client_auth {
            ClientAuth::ClientSecret(_) => None,
            ClientAuth::PrivateKeyJwt {
                key_pem,
                key_id,
                x5t,
            } => Some(client_assertion(
                &self.client_id,
                &self.token_url,
                key_pem,
                key_id.as_deref(),
                x5t.as_deref(),
                SystemTime::now(),
            )?),
        };
        let mut request = client
            .exchange_client_credentials()
            .add_scopes(self.scopes.iter().cloned().map(Scope::new));
        for (name, value) in &self.extra_params {
            request = request.add_extra_param(name.as_str(), value.as_str());
        }
        if let Some(assertion) = &assertion {
            request = request
                .add_extra_param("client_assertion_type", JWT_BEARER_ASSERTION_TYPE)
                .add_extra_param("client_assertion", assertion.expose_secret());
        }
        let adapter = TokenHttp {
            http: &self.http,
            dpop: self.dpop.as_ref().map(|key| (key, &self.dpop_nonce)),
        };
        let started = Instant::now();
        let response = request
            .request_async(&adapter)
            .await
            .map_err(|e| self.token_error(e))?;
        let lifetime = response.expires_in().unwrap_or(DEFAULT_TOKEN_LIFETIME);
        Ok(CachedToken {
            token: SecretString::from(response.access_token().secret().to_owned()),
            expires_at: started + lifetime,
        })
    }

    fn token_error(&self, err: RequestTokenError<TokenHttpError, BasicErrorResponse>) -> Error {
        let error = match err {
            RequestTokenError::ServerResponse(response) => {
                let code = response.error().as_ref().to_owned();
                let kind = match code.as_str() {
                    "invalid_client" | "unauthorized_client" | "invalid_grant" => {
                        ErrorKind::Unauthorized
                    }
                    "invalid_scope" | "invalid_request" | "unsupported_grant_type" => {
                        ErrorKind::Invalid
                    }
                    _ => ErrorKind::Permanent,
                };
                let description = response
                    .error_description()
                    .map(|d| crate::redact::redact(d))
                    .unwrap_or_default();
                Error::new(
                    kind,
                    format!(
                        "the token endpoint refused the client credentials: {code} {description}"
                    ),
                )
                .with_context("vendor_code", code)
            }
            RequestTokenError::Request(TokenHttpError::Status {
                status,
                retry_after,
            }) => {
                let mut e = Error::new(
                    crate::error::kind_for_status(status),
                    format!("the token endpoint answered HTTP {}", status.as_u16()),
                )
                .with_context("http_status", status.as_u16().to_string());
                if let Some(after) = retry_after {
                    e = e.with_retry_after(after);
                }
                e
            }
            RequestTokenError::Request(TokenHttpError::Dpop) => Error::invalid(
                "could not build the DPoP proof for the token request (check the DPoP key)",
            ),
            RequestTokenError::Request(TokenHttpError::Transport(source)) => Error::new(
                ErrorKind::Transient,
                format!(
                    "could not reach the token endpoint: {}",
                    source.without_url()
                ),
            ),
            // The body may hold a token: never quote it.
            RequestTokenError::Parse(source, _body) => Error::new(
                ErrorKind::Permanent,
                format!(
                    "the token endpoint's response could not be parsed at {}",
                    source.path()
                ),
            ),
            RequestTokenError::Other(message) => Error::new(
                ErrorKind::Permanent,
                format!(
                    "the token endpoint failed: {}",
                    crate::redact::redact(&message)
                ),
            ),
        };
        error
            .with_context("token_url", self.token_url.as_str())
            .with_context("client_id", self.client_id.clone())
    }
}

#[async_trait]
impl TokenSource for ClientCredentials {
    async fn token(&self) -> Result<SecretString> {
        // Holding the lock across the fetch is the single flight: concurrent callers wait for
        // the one request in progress and then read its result from the cache.
        let asked_at = Instant::now();
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.token.as_ref()
            && Instant::now() + self.refresh_before < cached.expires_at
        {
            return Ok(cached.token.clone());
        }
        if let Some((failed_at, error)) = &cache.last_failure
            && *failed_at >= asked_at
        {
            return Err(crate::error::copy_error(error));
        }
        match self.fetch().await {
            Ok(fresh) => {
                tracing::debug!(client_id = %self.client_id, "fetched an access token");
                let token = fresh.token.clone();
                cache.token = Some(fresh);
                cache.last_failure = None;
                Ok(token)
            }
            Err(error) => {
                tracing::warn!(client_id = %self.client_id, error = %error, "token request failed");
                cache.last_failure = Some((Instant::now(), crate::error::copy_error(&error)));
                Err(error)
            }
        }
    }

    async fn invalidate(&self, rejected: &SecretString) {
        let mut cache = self.cache.lock().await;
        if cache
            .token
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == rejected.expose_secret())
        {
            cache.token = None;
        }
    }

    fn authorize(
        &self,
        token: &SecretString,
        method: &Method,
        url: &Url,
    ) -> Result<Vec<(HeaderName, SecretString)>> {
        let Some(key) = &self.dpop else {
            return Ok(vec![(
                AUTHORIZATION,
                SecretString::from(format!("Bearer {}", token.expose_secret())),
            )]);
        };
        let proof = key.proof(method, url, Some(token), None, SystemTime::now())?;
        Ok(vec![
            (
                AUTHORIZATION,
                SecretString::from(format!("DPoP {}", token.expose_secret())),
            ),
            (HeaderName::from_static("dpop"), proof),
        ])
    }

    fn secrets(&self) -> Vec<SecretString> {
        match &self.client_auth {
            ClientAuth::ClientSecret(secret) => vec![secret.clone()],
            ClientAuth::PrivateKeyJwt { .. } => Vec::new(),
        }
    }
}

/// Failures of the token request's transport, kept apart from OAuth error bodies.
#[derive(Debug)]
enum TokenHttpError {
    Transport(reqwest::Error),
    /// The DPoP proof could not be built (bad key or URL).
    Dpop,
    Status {
        status: reqwest::StatusCode,
        retry_after: Option<Duration>,
    },
}

impl fmt::Display for TokenHttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenHttpError::Transport(e) => write!(f, "transport error: {e}"),
            TokenHttpError::Dpop => f.write_str("could not build the DPoP proof"),
            TokenHttpError::Status { status, .. } => write!(f, "HTTP {status}"),
        }
    }
}

impl std::error::Error for TokenHttpError {}

/// The adapter from oauth2's HTTP client trait onto the shared reqwest client. (A named type
/// with a boxed `Send` future, because a closure's future is not provably `Send` for every
/// borrow lifetime, which `async_trait` requires.)
struct TokenHttp<'a> {
    http: &'a reqwest::Client,
    /// The DPoP key and the token endpoint's latest nonce, when tokens are DPoP-bound.
    dpop: Option<(&'a DpopKey, &'a std::sync::Mutex<Option<String>>)>,
}

impl<'c> oauth2::AsyncHttpClient<'c> for TokenHttp<'_> {
    type Error = TokenHttpError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = std::result::Result<oauth2::HttpResponse, TokenHttpError>,
                > + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send_token_request(self.http, self.dpop, request))
    }
}

/// The request as reqwest sends it, with a fresh DPoP proof when tokens are DPoP-bound.
fn token_request(
    template: &oauth2::HttpRequest,
    dpop: Option<(&DpopKey, &std::sync::Mutex<Option<String>>)>,
) -> std::result::Result<reqwest::Request, TokenHttpError> {
    let mut builder = http::Request::builder()
        .method(template.method().clone())
        .uri(template.uri().clone());
    if let Some(headers) = builder.headers_mut() {
        *headers = template.headers().clone();
        if let Some((key, nonce)) = dpop {
            let nonce = nonce.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let url = Url::parse(&template.uri().to_string()).map_err(|_| TokenHttpError::Dpop)?;
            let proof = key
                .proof(
                    &reqwest::Method::POST,
                    &url,
                    None,
                    nonce.as_deref(),
                    SystemTime::now(),
                )
                .map_err(|_| TokenHttpError::Dpop)?;
            let mut value =
                HeaderValue::from_str(proof.expose_secret()).map_err(|_| TokenHttpError::Dpop)?;
            value.set_sensitive(true);
            headers.insert(HeaderName::from_static("dpop"), value);
        }
    }
    let request = builder
        .body(template.body().clone())
        .map_err(|_| TokenHttpError::Dpop)?;
    reqwest::Request::try_from(request).map_err(TokenHttpError::Transport)
}

/// Send a token request. Throttling and server errors are reported as such rather than handed
/// to oauth2 as an error body. With DPoP, a `use_dpop_nonce` challenge is answered once.
async fn send_token_request(
    http: &reqwest::Client,
    dpop: Option<(&DpopKey, &std::sync::Mutex<Option<String>>)>,
    template: oauth2::HttpRequest,
) -> std::result::Result<oauth2::HttpResponse, TokenHttpError> {
    let mut answered_nonce = false;
    let response = loop {
        let request = token_request(&template, dpop)?;
        let response = http
            .execute(request)
            .await
            .map_err(TokenHttpError::Transport)?;
        let new_nonce = response
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let (Some((_, nonce)), Some(new_nonce)) = (dpop, new_nonce) {
            *nonce.lock().unwrap_or_else(|p| p.into_inner()) = Some(new_nonce);
            // RFC 9449 section 8: 400 with `use_dpop_nonce` asks for a proof with the new nonce.
            if response.status() == reqwest::StatusCode::BAD_REQUEST && !answered_nonce {
                answered_nonce = true;
                continue;
            }
        }
        break response;
    };
    let status = response.status();
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        let retry_after = crate::error::retry_after(response.headers(), SystemTime::now());
        return Err(TokenHttpError::Status {
            status,
            retry_after,
        });
    }
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(TokenHttpError::Transport)?;
    let mut builder = http::Response::builder().status(status);
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    builder
        .body(body.to_vec())
        .map_err(|_| TokenHttpError::Status {
            status,
            retry_after: None,
        })
}
