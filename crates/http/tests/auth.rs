//! Auth injection, OAuth2 client credentials (single flight, refresh, 401 retry), the JWT client
//! assertion, and the guarantee that no secret leaks into Debug, errors or traces.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{authorizations, builder, count};
use secrecy::SecretString;
use stackhand_core::ErrorKind;
use stackhand_http::{
    AssertionClaims, Auth, ClientAuth, ClientCredentials, HeaderName, JWT_BEARER_ASSERTION_TYPE,
    StaticToken, TokenSource, Url, client_assertion,
};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY_PEM: &str = include_str!("fixtures/test_rsa_key.pem");
const PUB_PEM: &str = include_str!("fixtures/test_rsa_pub.pem");

fn token_url(server: &MockServer) -> Url {
    format!("{}/tenant-1/oauth2/v2.0/token", server.uri())
        .parse()
        .unwrap()
}

fn token_body(token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": token,
    }))
}

fn secret_credentials(server: &MockServer) -> ClientCredentials {
    ClientCredentials::new(
        token_url(server),
        "client-1",
        ClientAuth::ClientSecret(SecretString::from("client-secret-value")),
    )
    .scope("https://graph.microsoft.com/.default")
}

async fn mount_ok(server: &MockServer, at: &str) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn each_auth_sends_exactly_its_headers() {
    let server = MockServer::start().await;
    mount_ok(&server, "/api/me").await;

    let cases: Vec<(Auth, Vec<(&str, &str)>)> = vec![
        (Auth::None, vec![]),
        (
            Auth::bearer(StaticToken::new(SecretString::from("delegated-token"))),
            vec![("authorization", "Bearer delegated-token")],
        ),
        (
            Auth::basic("acme+PUBKEY", SecretString::from("PRIVKEY-s3cret")),
            vec![(
                "authorization",
                "Basic YWNtZStQVUJLRVk6UFJJVktFWS1zM2NyZXQ=",
            )],
        ),
        (
            Auth::authorization("SSWS", &SecretString::from("00okta-api-token")),
            vec![("authorization", "SSWS 00okta-api-token")],
        ),
        (
            Auth::Headers(vec![
                (
                    HeaderName::from_static("apiintegrationcode"),
                    SecretString::from("TRACKING-ID"),
                ),
                (
                    HeaderName::from_static("username"),
                    SecretString::from("api@acme.example"),
                ),
                (
                    HeaderName::from_static("secret"),
                    SecretString::from("autotask-secret"),
                ),
            ]),
            vec![
                ("apiintegrationcode", "TRACKING-ID"),
                ("username", "api@acme.example"),
                ("secret", "autotask-secret"),
            ],
        ),
    ];

    for (i, (auth, expected)) in cases.into_iter().enumerate() {
        let client = builder(&server, "test", "/api/")
            .auth(auth)
            .build()
            .unwrap();
        client.get("me").send_empty().await.unwrap();
        let requests = server.received_requests().await.unwrap();
        let request = &requests[i];
        for (name, value) in &expected {
            assert_eq!(
                request.headers.get(*name).map(|v| v.to_str().unwrap()),
                Some(*value),
                "case {i}: header {name}"
            );
        }
        for name in ["authorization", "apiintegrationcode", "username", "secret"] {
            if !expected.iter().any(|(n, _)| *n == name) {
                assert!(
                    request.headers.get(name).is_none(),
                    "case {i}: unexpected {name}"
                );
            }
        }
    }
}

#[tokio::test]
async fn token_is_fetched_once_for_twenty_concurrent_requests() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=client-1"))
        .and(body_string_contains("client_secret=client-secret-value"))
        .and(body_string_contains(
            "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        ))
        .respond_with(token_body("token-A", 3599).set_delay(Duration::from_millis(100)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(header("authorization", "Bearer token-A"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": []})))
        .expect(20)
        .mount(&server)
        .await;

    let client = builder(&server, "m365", "/v1.0/")
        .auth(Auth::bearer(secret_credentials(&server)))
        .build()
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let client = client.clone();
        tasks.spawn(async move { client.get("users").send_empty().await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    server.verify().await;
}

#[tokio::test]
async fn token_is_refreshed_once_it_nears_expiry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(token_body("token-A", 61))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(token_body("token-B", 3599))
        .mount(&server)
        .await;
    mount_ok(&server, "/v1.0/me").await;

    // 61 s lifetime minus a 60 s margin: token-A is fresh for one second.
    let source = secret_credentials(&server).refresh_before(Duration::from_secs(60));
    let client = builder(&server, "m365", "/v1.0/")
        .auth(Auth::bearer(source))
        .build()
        .unwrap();
    client.get("me").send_empty().await.unwrap();
    client.get("me").send_empty().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.get("me").send_empty().await.unwrap();
    client.get("me").send_empty().await.unwrap();

    assert_eq!(
        authorizations(&server, "/v1.0/me").await,
        vec![
            Some("Bearer token-A".to_owned()),
            Some("Bearer token-A".to_owned()),
            Some("Bearer token-B".to_owned()),
            Some("Bearer token-B".to_owned()),
        ]
    );
    assert_eq!(count(&server, "/tenant-1/oauth2/v2.0/token").await, 2);
}

#[tokio::test]
async fn unauthorized_invalidates_the_token_and_retries_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(token_body("revoked-token", 3599))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(token_body("fresh-token", 3599))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users/u1/revokeSignInSessions"))
        .and(header("authorization", "Bearer revoked-token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired or is not yet valid."}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users/u1/revokeSignInSessions"))
        .and(header("authorization", "Bearer fresh-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": true})))
        .mount(&server)
        .await;

    let client = builder(&server, "m365", "/v1.0/")
        .auth(Auth::bearer(secret_credentials(&server)))
        .build()
        .unwrap();
    // A POST: the 401 re-authentication applies even to non-idempotent calls, since the vendor
    // rejected the request before acting on it.
    let body: serde_json::Value = client
        .post("users/u1/revokeSignInSessions")
        .send_json()
        .await
        .unwrap();
    assert_eq!(body["value"], true);
    assert_eq!(
        authorizations(&server, "/v1.0/users/u1/revokeSignInSessions").await,
        vec![
            Some("Bearer revoked-token".to_owned()),
            Some("Bearer fresh-token".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_second_unauthorized_is_an_error_not_a_loop() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/me"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_token", "error_description": "Invalid token provided"
        })))
        .mount(&server)
        .await;
    let client = builder(&server, "okta", "/")
        .auth(Auth::bearer(StaticToken::new(SecretString::from(
            "static-bearer-token",
        ))))
        .build()
        .unwrap();
    let err = client.get("api/v1/users/me").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.context_value("vendor_code"), Some("invalid_token"));
    assert_eq!(count(&server, "/api/v1/users/me").await, 2);
}

#[tokio::test]
async fn refused_client_credentials_are_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided. client_secret=client-secret-value"
        })))
        .mount(&server)
        .await;
    let err = secret_credentials(&server).token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.context_value("vendor_code"), Some("invalid_client"));
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("AADSTS7000215"), "{shown}");
    assert!(!shown.contains("client-secret-value"), "{shown}");
}

#[test]
fn client_assertion_has_the_rfc7523_claims_and_headers() {
    let url: Url = "https://login.microsoftonline.com/t1/oauth2/v2.0/token"
        .parse()
        .unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let jwt = client_assertion(
        "client-1",
        &url,
        &SecretString::from(KEY_PEM),
        Some("key-7"),
        Some("thumbprint-x5t"),
        now,
    )
    .unwrap();
    let jwt = secrecy::ExposeSecret::expose_secret(&jwt).to_owned();

    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some("key-7"));
    assert_eq!(header.x5t.as_deref(), Some("thumbprint-x5t"));

    let claims: AssertionClaims = jsonwebtoken::dangerous::insecure_decode_claims(&jwt).unwrap();
    assert_eq!(claims.iss, "client-1");
    assert_eq!(claims.sub, "client-1");
    assert_eq!(claims.aud, url.as_str());
    assert_eq!(claims.iat, 1_800_000_000);
    assert_eq!(claims.nbf, 1_800_000_000);
    assert_eq!(claims.exp, 1_800_000_300);
    assert!(uuid::Uuid::parse_str(&claims.jti).is_ok(), "{}", claims.jti);

    // And it is really signed by the key.
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_exp = false;
    validation.set_audience(&[url.as_str()]);
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(PUB_PEM.as_bytes()).unwrap();
    jsonwebtoken::decode::<AssertionClaims>(&jwt, &key, &validation).unwrap();

    // Two assertions never share a jti.
    let again = client_assertion(
        "client-1",
        &url,
        &SecretString::from(KEY_PEM),
        None,
        None,
        now,
    )
    .unwrap();
    let again: AssertionClaims = jsonwebtoken::dangerous::insecure_decode_claims(
        secrecy::ExposeSecret::expose_secret(&again),
    )
    .unwrap();
    assert_ne!(again.jti, claims.jti);
}

#[test]
fn a_bad_private_key_is_invalid_without_echoing_it() {
    let url: Url = "https://x.okta.com/oauth2/v1/token".parse().unwrap();
    let err = client_assertion(
        "c",
        &url,
        &SecretString::from("not-a-pem-private-key"),
        None,
        None,
        SystemTime::now(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(!err.to_string().contains("not-a-pem-private-key"));
}

#[tokio::test]
async fn private_key_jwt_sends_an_assertion_and_no_secret() {
    let server = MockServer::start().await;
    let okta_token_url: Url = format!("{}/oauth2/v1/token", server.uri()).parse().unwrap();
    Mock::given(method("POST"))
        .and(path("/oauth2/v1/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=0oa-client"))
        .and(body_string_contains(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
        ))
        .and(body_string_contains("client_assertion=ey"))
        .and(body_string_contains(
            "scope=okta.users.manage+okta.groups.manage",
        ))
        .respond_with(token_body("okta-access-token", 3600))
        .expect(1)
        .mount(&server)
        .await;
    let source = ClientCredentials::new(
        okta_token_url.clone(),
        "0oa-client",
        ClientAuth::PrivateKeyJwt {
            key_pem: SecretString::from(KEY_PEM),
            key_id: Some("kid-1".to_owned()),
            x5t: None,
        },
    )
    .scopes(["okta.users.manage", "okta.groups.manage"]);
    let token = source.token().await.unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&token),
        "okta-access-token"
    );

    let request = &server.received_requests().await.unwrap()[0];
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&request.body).unwrap();
    assert!(!form.iter().any(|(k, _)| k == "client_secret"), "{form:?}");
    assert!(
        form.iter()
            .any(|(k, v)| k == "client_assertion_type" && v == JWT_BEARER_ASSERTION_TYPE)
    );
    let assertion = &form
        .iter()
        .find(|(k, _)| k == "client_assertion")
        .unwrap()
        .1;
    let claims: AssertionClaims =
        jsonwebtoken::dangerous::insecure_decode_claims(assertion).unwrap();
    assert_eq!(claims.aud, okta_token_url.as_str());
    assert_eq!(claims.iss, "0oa-client");
}

#[tokio::test]
async fn callers_queued_behind_a_failing_token_fetch_share_its_failure() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(503).set_delay(Duration::from_millis(500)))
        .expect(1)
        .mount(&server)
        .await;
    let source = Arc::new(secret_credentials(&server));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let source = source.clone();
        tasks.spawn(async move { source.token().await });
    }
    while let Some(result) = tasks.join_next().await {
        let err = result.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient, "{err}");
        assert_eq!(err.context_value("http_status"), Some("503"));
    }
    server.verify().await;
}

fn proof_claims(request: &wiremock::Request) -> stackhand_http::DpopClaims {
    let proof = request
        .headers
        .get("dpop")
        .expect("no DPoP header")
        .to_str()
        .unwrap();
    let header = jsonwebtoken::decode_header(proof).unwrap();
    assert_eq!(header.typ.as_deref(), Some(stackhand_http::DPOP_PROOF_TYPE));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    // Signed by the key whose public half is in the header.
    let key = jsonwebtoken::DecodingKey::from_jwk(header.jwk.as_ref().expect("no jwk")).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    jsonwebtoken::decode::<stackhand_http::DpopClaims>(proof, &key, &validation)
        .unwrap()
        .claims
}

/// Okta's token endpoint with "Require DPoP": a proof without nonce gets `use_dpop_nonce`.
struct DpopTokenEndpoint;

impl wiremock::Respond for DpopTokenEndpoint {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let claims = proof_claims(request);
        assert_eq!(claims.htm, "POST");
        assert!(claims.ath.is_none());
        match claims.nonce.as_deref() {
            Some("nonce-1") => ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "token_type": "DPoP", "expires_in": 3600, "access_token": "dpop-bound-token",
                "scope": "okta.users.read"
            })),
            _ => ResponseTemplate::new(400)
                .insert_header("DPoP-Nonce", "nonce-1")
                .set_body_json(serde_json::json!({
                    "error": "use_dpop_nonce",
                    "error_description": "Authorization server requires nonce in DPoP proof."
                })),
        }
    }
}

#[tokio::test]
async fn dpop_answers_the_nonce_challenge_and_proves_every_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/v1/token"))
        .respond_with(DpopTokenEndpoint)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/me"))
        .and(header("authorization", "DPoP dpop-bound-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "00u1"})))
        .expect(1)
        .mount(&server)
        .await;
    let key = stackhand_http::DpopKey::from_rsa_pem(&SecretString::from(KEY_PEM)).unwrap();
    let source = ClientCredentials::new(
        format!("{}/oauth2/v1/token", server.uri()).parse().unwrap(),
        "0oa-client",
        ClientAuth::PrivateKeyJwt {
            key_pem: SecretString::from(KEY_PEM),
            key_id: Some("kid-1".to_owned()),
            x5t: None,
        },
    )
    .scope("okta.users.read")
    .dpop(key);
    let client = builder(&server, "okta", "/")
        .auth(Auth::bearer(source))
        .build()
        .unwrap();
    client
        .get("api/v1/users/me")
        .query(&[("expand", "groups")])
        .send_empty()
        .await
        .unwrap();
    server.verify().await;

    let api = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/api/v1/users/me")
        .unwrap();
    let claims = proof_claims(&api);
    assert_eq!(claims.htm, "GET");
    assert_eq!(claims.htu, format!("{}/api/v1/users/me", server.uri()));
    assert_eq!(
        claims.ath.as_deref(),
        Some(stackhand_http::access_token_hash(&SecretString::from("dpop-bound-token")).as_str())
    );
}
