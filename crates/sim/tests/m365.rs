//! The simulated Microsoft 365 tenant, driven over HTTP: token endpoint, Graph and EXO.

#![cfg(feature = "m365")]

use base64::Engine as _;
use serde_json::{Value, json};
use stackhand_sim::m365::seed::{self, groups, skus, users};
use stackhand_sim::m365::{Audience, M365Sim, MethodKind};
use stackhand_sim::{Faults, SimServer};

struct Tenant {
    sim: M365Sim,
    server: SimServer,
    http: reqwest::Client,
    graph: String,
    exo: String,
}

async fn token(http: &reqwest::Client, base: &str, form: &[(&str, &str)]) -> reqwest::Response {
    http.post(format!("{base}/{}/oauth2/v2.0/token", seed::TENANT_ID))
        .form(form)
        .send()
        .await
        .expect("token request")
}

async fn app_token(http: &reqwest::Client, base: &str, scope: &str) -> String {
    let response = token(
        http,
        base,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", seed::CLIENT_ID),
            ("client_secret", seed::CLIENT_SECRET),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    body["access_token"].as_str().unwrap().to_string()
}

impl Tenant {
    async fn start() -> Self {
        Self::start_with(Faults::default()).await
    }

    async fn start_with(faults: Faults) -> Self {
        let sim = M365Sim::seeded();
        let server = sim.start(faults).await.unwrap();
        let http = reqwest::Client::new();
        let graph = app_token(&http, &server.url(), "https://graph.microsoft.com/.default").await;
        let exo = app_token(
            &http,
            &server.url(),
            "https://outlook.office365.com/.default",
        )
        .await;
        Self {
            sim,
            server,
            http,
            graph,
            exo,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.graph)
            .send()
            .await
            .unwrap();
        read(response).await
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.graph);
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    async fn exo(&self, cmdlet: &str, parameters: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(&format!("/adminapi/beta/{}/InvokeCommand", seed::TENANT_ID)))
            .bearer_auth(&self.exo)
            .header(
                "X-AnchorMailbox",
                format!(
                    "APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{}",
                    seed::TENANT_ID
                ),
            )
            .json(&json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}}))
            .send()
            .await
            .unwrap();
        read(response).await
    }
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

fn names(body: &Value, field: &str) -> Vec<String> {
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[field].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn token_endpoint_checks_tenant_client_secret_and_scope() {
    let sim = M365Sim::seeded();
    let server = sim.start(Faults::default()).await.unwrap();
    let http = reqwest::Client::new();
    let base = server.url();
    let good = [
        ("grant_type", "client_credentials"),
        ("client_id", seed::CLIENT_ID),
        ("client_secret", seed::CLIENT_SECRET),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    // The verified domain works as the tenant segment too.
    let response = http
        .post(format!("{base}/{}/oauth2/v2.0/token", seed::DOMAIN))
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let mut wrong_secret = good;
    wrong_secret[2] = ("client_secret", "nope");
    let response = token(&http, &base, &wrong_secret).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"][0], 7000215);

    let mut bad_scope = good;
    bad_scope[3] = ("scope", "User.Read");
    let response = token(&http, &base, &bad_scope).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );

    let mut bad_grant = good;
    bad_grant[0] = ("grant_type", "password");
    let response = token(&http, &base, &bad_grant).await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );

    let mut unknown_client = good;
    unknown_client[1] = ("client_id", "00000000-0000-0000-0000-000000000000");
    let response = token(&http, &base, &unknown_client).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "unauthorized_client"
    );

    let response = http
        .post(format!(
            "{base}/00000000-1111-2222-3333-444444444444/oauth2/v2.0/token"
        ))
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error_codes"][0],
        90002
    );
}

fn assertion(thumbprint: &str, exp_offset: i64) -> String {
    let encode = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = chrono::Utc::now().timestamp();
    format!(
        "{}.{}.c2lnbmF0dXJl",
        encode(json!({"alg": "RS256", "typ": "JWT", "x5t": thumbprint})),
        encode(json!({
            "aud": format!("https://login.microsoftonline.com/{}/oauth2/v2.0/token", seed::TENANT_ID),
            "iss": seed::CLIENT_ID, "sub": seed::CLIENT_ID, "jti": "1", "nbf": now, "exp": now + exp_offset
        }))
    )
}

#[tokio::test]
async fn certificate_assertion_is_accepted_when_thumbprint_and_claims_match() {
    let sim = M365Sim::seeded();
    let server = sim.start(Faults::default()).await.unwrap();
    let http = reqwest::Client::new();
    let form = |assertion: String| {
        vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", seed::CLIENT_ID.to_string()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
            ),
            ("client_assertion", assertion),
            (
                "scope",
                "https://outlook.office365.com/.default".to_string(),
            ),
        ]
    };
    let url = format!("{}/{}/oauth2/v2.0/token", server.url(), seed::TENANT_ID);
    let ok = http
        .post(&url)
        .form(&form(assertion(seed::CERTIFICATE_THUMBPRINT, 600)))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let wrong = http
        .post(&url)
        .form(&form(assertion("AAAA", 600)))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let expired = http
        .post(&url)
        .form(&form(assertion(seed::CERTIFICATE_THUMBPRINT, -60)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expired.json::<Value>().await.unwrap()["error_codes"][0],
        700024
    );
}

#[tokio::test]
async fn graph_and_exo_check_tokens_and_audiences() {
    let t = Tenant::start().await;
    let response = t.http.get(t.url("/v1.0/users")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "InvalidAuthenticationToken");
    assert!(body["error"]["innerError"]["request-id"].is_string());

    // An Exchange token is not a Graph token, and the other way round.
    let response = t
        .http
        .get(t.url("/v1.0/users"))
        .bearer_auth(&t.exo)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid audience")
    );
    let response = t
        .http
        .post(t.url(&format!("/adminapi/beta/{}/InvokeCommand", seed::TENANT_ID)))
        .bearer_auth(&t.graph)
        .json(&json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    // Expired tokens are refused until a new one is fetched.
    t.sim.expire_tokens();
    let (status, body) = t.get("/v1.0/users").await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    // A delegated token supplied by the caller works as well.
    let delegated = t.sim.delegated_token(Audience::Graph);
    let response = t
        .http
        .get(t.url("/v1.0/users"))
        .bearer_auth(delegated)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn users_default_projection_select_filter_and_search() {
    let t = Tenant::start().await;
    let (status, body) = t.get("/v1.0/users/dreyes@contosolaw.com").await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], users::DANIEL);
    assert_eq!(
        body["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#users/$entity"
    );
    // accountEnabled is not in the default projection.
    assert!(body.get("accountEnabled").is_none());

    let (_, body) = t
        .get(&format!("/v1.0/users/{}?$select=id,accountEnabled,assignedLicenses,licenseAssignmentStates,onPremisesSyncEnabled,usageLocation", users::PRIYA))
        .await;
    assert_eq!(body["accountEnabled"], true);
    assert_eq!(
        body["licenseAssignmentStates"][0]["assignedByGroup"],
        groups::LICENSING_E3
    );
    assert_eq!(body["assignedLicenses"][0]["skuId"], skus::SPE_E3);
    assert!(body.get("displayName").is_none());

    let (status, body) = t
        .get("/v1.0/users/dreyes@contosolaw.com?$select=nonsense")
        .await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "Request_BadRequest");

    let (status, body) = t.get("/v1.0/users/nobody@contosolaw.com").await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "Request_ResourceNotFound");

    let (_, body) = t.get("/v1.0/users?$filter=userPrincipalName%20eq%20'TBECKER@contosolaw.com'&$select=id,onPremisesSyncEnabled").await;
    assert_eq!(names(&body, "id"), vec![users::TOM]);
    assert_eq!(body["value"][0]["onPremisesSyncEnabled"], true);

    let (_, body) = t
        .get("/v1.0/users?$filter=mail%20eq%20'x@y.z'%20or%20startswith(displayName,'Eleanor')")
        .await;
    assert_eq!(names(&body, "displayName"), vec!["Eleanor Voss"]);

    let (status, body) = t.get("/v1.0/users?$filter=displayName%20gt%20'a'").await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "Request_UnsupportedQuery");

    // $search needs ConsistencyLevel: eventual.
    let (status, _) = t.get("/v1.0/users?$search=%22displayName:reyes%22").await;
    assert_eq!(status, 400);
    let response = t
        .http
        .get(t.url("/v1.0/users?$search=%22displayName:reyes%22&$count=true"))
        .bearer_auth(&t.graph)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .unwrap();
    let (_, body) = read(response).await;
    assert_eq!(names(&body, "displayName"), vec!["Daniel Reyes"]);
    assert_eq!(body["@odata.count"], 1);
}

#[tokio::test]
async fn users_page_with_absolute_next_links() {
    let t = Tenant::start().await;
    let mut url = t.url("/v1.0/users?$top=4&$select=id,userPrincipalName");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let response = t.http.get(&url).bearer_auth(&t.graph).send().await.unwrap();
        let (status, body) = read(response).await;
        assert_eq!(status, 200);
        pages += 1;
        seen.extend(names(&body, "userPrincipalName"));
        assert!(
            body["value"][0].get("displayName").is_none(),
            "the $select survives paging"
        );
        match body["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&t.server.url()));
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), t.sim.users().len());
    let (status, _) = t.get("/v1.0/users?$top=1000").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn password_reset_block_and_refusals() {
    let t = Tenant::start().await;
    let t = &t;
    use reqwest::Method;
    let patch = |user: &str, body: Value| {
        let path = format!("/v1.0/users/{user}");
        async move { t.send(Method::PATCH, &path, Some(body)).await }
    };
    let (status, _) = patch(users::DANIEL, json!({"passwordProfile": {"password": "N3w-Str0ng!Pass#2026", "forceChangePasswordNextSignIn": true}})).await;
    assert_eq!(status, 204);
    let daniel = t.sim.user(users::DANIEL).unwrap();
    assert_eq!(daniel.password, "N3w-Str0ng!Pass#2026");
    assert!(daniel.force_change_password_next_sign_in);

    let (status, body) = patch(
        users::DANIEL,
        json!({"passwordProfile": {"password": "short"}}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("complexity")
    );

    // Synced user: mastered on-premises.
    let (status, body) = patch(users::TOM, json!({"accountEnabled": false})).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("on-premises mastered")
    );

    // Global admin: the least-privilege app may not touch it.
    let (status, body) = patch(users::MARGARET, json!({"accountEnabled": false})).await;
    assert_eq!(status, 403);
    assert_eq!(error_code(&body), "Authorization_RequestDenied");
    t.sim.set_app_privileged(true);
    let (status, _) = patch(users::MARGARET, json!({"accountEnabled": false})).await;
    assert_eq!(status, 204);
    assert!(!t.sim.user(users::MARGARET).unwrap().account_enabled);

    let (status, body) = patch(users::DANIEL, json!({"id": "x"})).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("'id'"));

    let response = t
        .http
        .patch(t.url(&format!("/v1.0/users/{}", users::DANIEL)))
        .bearer_auth(&t.graph)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    let before = t
        .sim
        .user(users::DANIEL)
        .unwrap()
        .sign_in_sessions_valid_from;
    let (status, body) = t
        .send(
            Method::POST,
            &format!("/v1.0/users/{}/revokeSignInSessions", users::DANIEL),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["value"], true);
    assert!(
        t.sim
            .user(users::DANIEL)
            .unwrap()
            .sign_in_sessions_valid_from
            > before
    );
}

#[tokio::test]
async fn create_user_validates_required_fields_domain_and_duplicates() {
    let t = Tenant::start().await;
    let body = json!({
        "accountEnabled": true, "displayName": "Jane Doe", "mailNickname": "jdoe",
        "userPrincipalName": "jdoe@contosolaw.com", "usageLocation": "US",
        "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "Xy7!kLm9#Qw2$Er5"}
    });
    let (status, created) = t
        .send(reqwest::Method::POST, "/v1.0/users", Some(body.clone()))
        .await;
    assert_eq!(status, 201);
    assert_eq!(created["userPrincipalName"], "jdoe@contosolaw.com");
    let user = t.sim.user("jdoe@contosolaw.com").unwrap();
    assert_eq!(user.id, created["id"]);
    assert_eq!(user.usage_location.as_deref(), Some("US"));

    let (status, error) = t
        .send(reqwest::Method::POST, "/v1.0/users", Some(body.clone()))
        .await;
    assert_eq!(status, 400);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );

    let mut missing = body.clone();
    missing.as_object_mut().unwrap().remove("mailNickname");
    missing["userPrincipalName"] = json!("other@contosolaw.com");
    let (status, error) = t
        .send(reqwest::Method::POST, "/v1.0/users", Some(missing))
        .await;
    assert_eq!(status, 400);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mailNickname")
    );

    let mut foreign = body;
    foreign["userPrincipalName"] = json!("jdoe@gmail.com");
    let (status, error) = t
        .send(reqwest::Method::POST, "/v1.0/users", Some(foreign))
        .await;
    assert_eq!(status, 400);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("verified domain")
    );
}

#[tokio::test]
async fn licences_need_usage_location_free_seats_and_direct_assignment() {
    let t = Tenant::start().await;
    let t = &t;
    use reqwest::Method;
    let assign = |user: &str, add: &[&str], remove: &[&str]| {
        let path = format!("/v1.0/users/{user}/assignLicense");
        let body = json!({
            "addLicenses": add.iter().map(|s| json!({"skuId": s, "disabledPlans": []})).collect::<Vec<_>>(),
            "removeLicenses": remove,
        });
        async move { t.send(Method::POST, &path, Some(body)).await }
    };
    let (_, skus_body) = t.get("/v1.0/subscribedSkus").await;
    let e3 = skus_body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skuPartNumber"] == "SPE_E3")
        .unwrap();
    assert_eq!(e3["prepaidUnits"]["enabled"], 5);
    assert_eq!(e3["consumedUnits"], 4);

    // Olivia has no usage location yet.
    let (status, body) = assign(users::OLIVIA, &[skus::SPE_E3], &[]).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("usage location")
    );
    let (status, _) = t
        .send(
            Method::PATCH,
            &format!("/v1.0/users/{}", users::OLIVIA),
            Some(json!({"usageLocation": "US"})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = assign(users::OLIVIA, &[skus::SPE_E3], &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], users::OLIVIA);
    assert_eq!(t.sim.seats("SPE_E3"), Some((5, 5)));
    assert!(
        t.sim.mailbox("ochen@contosolaw.com").is_some(),
        "a licence provisions a mailbox"
    );

    // Business Premium is full.
    let (status, body) = assign(users::DANIEL, &[skus::O365_BUSINESS_PREMIUM], &[]).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no more available licenses")
    );

    // Priya's E3 comes from a group: not removable directly.
    let (status, body) = assign(users::PRIYA, &[], &[skus::SPE_E3]).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("inherited")
    );

    // Both arrays are required.
    let (status, _) = t
        .send(
            Method::POST,
            &format!("/v1.0/users/{}/assignLicense", users::DANIEL),
            Some(json!({"addLicenses": []})),
        )
        .await;
    assert_eq!(status, 400);

    let (status, _) = assign(users::DANIEL, &[], &[skus::SPE_E3]).await;
    assert_eq!(status, 200);
    assert!(t.sim.licenses_of(users::DANIEL).is_empty());
    let (_, details) = t
        .get(&format!("/v1.0/users/{}/licenseDetails", users::SAM))
        .await;
    assert_eq!(names(&details, "skuPartNumber"), vec!["SPE_E3"]);
}

#[tokio::test]
async fn member_of_lists_groups_and_roles() {
    let t = Tenant::start().await;
    let (_, body) = t
        .get(&format!("/v1.0/users/{}/memberOf", users::MARGARET))
        .await;
    let types: Vec<&str> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["@odata.type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"#microsoft.graph.group"));
    assert!(types.contains(&"#microsoft.graph.directoryRole"));
    assert!(names(&body, "displayName").contains(&"Global Administrator".to_string()));
    let (_, page) = t
        .get(&format!("/v1.0/users/{}/memberOf?$top=1", users::MARGARET))
        .await;
    assert!(page["@odata.nextLink"].is_string());
}

#[tokio::test]
async fn transitive_memberships_reach_roles_held_through_role_assignable_groups() {
    let t = Tenant::start().await;
    // Tom is a direct member of no role: memberOf lists the group only.
    let (_, direct) = t
        .get(&format!(
            "/v1.0/users/{}/memberOf?$select=id,displayName",
            users::TOM
        ))
        .await;
    assert!(!names(&direct, "displayName").contains(&"Helpdesk Administrator".to_string()));
    let (status, transitive) = t
        .get(&format!(
            "/v1.0/users/{}/transitiveMemberOf?$select=id,displayName",
            users::TOM
        ))
        .await;
    assert_eq!(status, 200);
    let found = names(&transitive, "displayName");
    assert!(found.contains(&"Helpdesk Admins".to_string()), "{found:?}");
    assert!(
        found.contains(&"Helpdesk Administrator".to_string()),
        "{found:?}"
    );
    // The group says it is role-assignable, when selected, as Graph does.
    let (_, group) = t
        .get(&format!(
            "/v1.0/groups/{}?$select=id,displayName,isAssignableToRole",
            groups::HELPDESK_ADMINS
        ))
        .await;
    assert_eq!(group["isAssignableToRole"], true);
    let (_, ordinary) = t
        .get(&format!(
            "/v1.0/groups/{}?$select=id,isAssignableToRole",
            groups::LITIGATION
        ))
        .await;
    assert_eq!(ordinary["isAssignableToRole"], Value::Null);
}

#[tokio::test]
async fn role_eligibility_instances_filter_expand_and_refuse() {
    let t = Tenant::start().await;
    let path = "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances";
    let (status, body) = t
        .get(&format!(
            "{path}?$filter=principalId%20eq%20'{}'&$expand=roleDefinition",
            users::OLIVIA
        ))
        .await;
    assert_eq!(status, 200);
    let value = body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["principalId"], users::OLIVIA);
    assert_eq!(
        value[0]["roleDefinition"]["displayName"],
        "User Administrator"
    );
    let (_, unexpanded) = t
        .get(&format!(
            "{path}?$filter=principalId%20eq%20'{}'",
            users::OLIVIA
        ))
        .await;
    assert!(unexpanded["value"][0].get("roleDefinition").is_none());
    let (_, nobody) = t
        .get(&format!(
            "{path}?$filter=principalId%20eq%20'{}'",
            users::DANIEL
        ))
        .await;
    assert_eq!(nobody["value"], json!([]));
    let (status, _) = t.get(&format!("{path}?$expand=principal2")).await;
    assert_eq!(status, 400);

    t.sim.set_app_reads_role_eligibility(false);
    let (status, body) = t.get(path).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
    t.sim.set_pim_licensed(false);
    let (status, body) = t.get(path).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "AadPremiumLicenseRequired");
}

#[tokio::test]
async fn mfa_methods_default_is_deleted_last_and_tap_is_issued_once() {
    let t = Tenant::start().await;
    use reqwest::Method;
    let base = format!("/v1.0/users/{}/authentication", users::DANIEL);
    let (_, body) = t.get(&format!("{base}/methods")).await;
    let methods = body["value"].as_array().unwrap().clone();
    assert_eq!(methods.len(), 4);
    assert!(
        methods
            .iter()
            .any(|m| m["@odata.type"] == "#microsoft.graph.passwordAuthenticationMethod")
    );

    let (status, body) = t
        .send(
            Method::DELETE,
            &format!("{base}/microsoftAuthenticatorMethods/6e5b9c44-8f1a-4d0e-a8d2-1c7e0f9b3a21"),
            None,
        )
        .await;
    assert_eq!(status, 400, "the default method goes last");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("default")
    );
    let (status, _) = t
        .send(
            Method::DELETE,
            &format!("{base}/phoneMethods/3179e48a-750b-4051-897c-87b9720928f7"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = t
        .send(
            Method::DELETE,
            &format!("{base}/fido2Methods/b4f0d3a1-59a2-4a5e-9c1f-7e2d6b8a0c11"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = t
        .send(
            Method::DELETE,
            &format!("{base}/microsoftAuthenticatorMethods/6e5b9c44-8f1a-4d0e-a8d2-1c7e0f9b3a21"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = t
        .send(
            Method::DELETE,
            &format!(
                "{base}/passwordMethods/{}",
                stackhand_sim::m365::PASSWORD_METHOD_ID
            ),
            None,
        )
        .await;
    assert_eq!(status, 400);
    // Wrong segment for an id: not found.
    let (status, _) = t
        .send(
            Method::DELETE,
            &format!("{base}/fido2Methods/3179e48a-750b-4051-897c-87b9720928f7"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = t.get(&format!("{base}/nonsenseMethods")).await;
    assert_eq!(status, 400);
    assert_eq!(t.sim.user(users::DANIEL).unwrap().methods.len(), 1);

    let (status, tap) = t
        .send(
            Method::POST,
            &format!("{base}/temporaryAccessPassMethods"),
            Some(json!({"lifetimeInMinutes": 60, "isUsableOnce": true})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(tap["temporaryAccessPass"].as_str().unwrap().len(), 8);
    assert_eq!(tap["isUsableOnce"], true);
    let (status, _) = t
        .send(
            Method::POST,
            &format!("{base}/temporaryAccessPassMethods"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 400, "one TAP at a time");
    let (status, _) = t
        .send(
            Method::POST,
            &format!(
                "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
                users::PRIYA
            ),
            Some(json!({"lifetimeInMinutes": 5})),
        )
        .await;
    assert_eq!(status, 400, "lifetime below the minimum");
    let (_, listed) = t.get(&format!("{base}/temporaryAccessPassMethods")).await;
    assert!(
        listed["value"][0].get("temporaryAccessPass").is_none(),
        "the pass is shown only once"
    );

    let (status, phone) = t
        .send(
            Method::POST,
            &format!("{base}/phoneMethods"),
            Some(json!({"phoneNumber": "+1 2065550100", "phoneType": "mobile"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(phone["id"], "3179e48a-750b-4051-897c-87b9720928f7");
}

#[tokio::test]
async fn group_membership_through_graph_refuses_exchange_dynamic_and_synced_groups() {
    let t = Tenant::start().await;
    use reqwest::Method;
    let reference = |user: &str| json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user}")});
    let (status, _) = t
        .send(
            Method::POST,
            &format!("/v1.0/groups/{}/members/$ref", groups::LITIGATION),
            Some(reference(users::PRIYA)),
        )
        .await;
    assert_eq!(status, 204);
    assert!(t.sim.is_member(groups::LITIGATION, users::PRIYA));
    let (status, body) = t
        .send(
            Method::POST,
            &format!("/v1.0/groups/{}/members/$ref", groups::LITIGATION),
            Some(reference(users::PRIYA)),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already exist")
    );
    for group in [
        groups::PARTNERS_DL,
        groups::REMOTE_WORKERS,
        groups::FILE_SHARE,
    ] {
        let (status, _) = t
            .send(
                Method::POST,
                &format!("/v1.0/groups/{group}/members/$ref"),
                Some(reference(users::PRIYA)),
            )
            .await;
        assert_eq!(status, 400, "{group}");
    }
    let (status, _) = t
        .send(
            Method::DELETE,
            &format!(
                "/v1.0/groups/{}/members/{}/$ref",
                groups::LITIGATION,
                users::PRIYA
            ),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = t
        .send(
            Method::DELETE,
            &format!(
                "/v1.0/groups/{}/members/{}/$ref",
                groups::LITIGATION,
                users::PRIYA
            ),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Joining the licensing group brings a licence (and a mailbox) with it.
    let (status, _) = t
        .send(
            Method::PATCH,
            &format!("/v1.0/users/{}", users::OLIVIA),
            Some(json!({"usageLocation": "US"})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = t
        .send(
            Method::POST,
            &format!("/v1.0/groups/{}/members/$ref", groups::LICENSING_E3),
            Some(reference(users::OLIVIA)),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        t.sim.licenses_of(users::OLIVIA),
        vec![skus::SPE_E3.to_string()]
    );

    let (_, body) = t
        .get("/v1.0/groups?$filter=displayName%20eq%20'all%20staff'")
        .await;
    assert_eq!(body["value"][0]["groupTypes"][0], "Unified");
    let (_, body) = t
        .get(&format!(
            "/v1.0/groups/{}/members?$select=id,userPrincipalName",
            groups::LITIGATION
        ))
        .await;
    assert_eq!(body["value"].as_array().unwrap().len(), 2);
    let (status, _) = t
        .get("/v1.0/groups/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn send_mail_and_service_health() {
    let t = Tenant::start().await;
    let mail = json!({"message": {"subject": "Your password was reset", "body": {"contentType": "Text", "content": "Done."},
        "toRecipients": [{"emailAddress": {"address": "dreyes@contosolaw.com"}}]}, "saveToSentItems": false});
    let (status, _) = t
        .send(
            reqwest::Method::POST,
            "/v1.0/users/sokafor@contosolaw.com/sendMail",
            Some(mail.clone()),
        )
        .await;
    assert_eq!(status, 202);
    let sent = t.sim.sent_mail();
    assert_eq!(sent[0].to, vec!["dreyes@contosolaw.com"]);
    assert_eq!(sent[0].subject, "Your password was reset");
    let (status, body) = t
        .send(
            reqwest::Method::POST,
            "/v1.0/users/ochen@contosolaw.com/sendMail",
            Some(mail),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "MailboxNotEnabledForRESTAPI");
    let (status, body) = t
        .send(
            reqwest::Method::POST,
            "/v1.0/users/sokafor@contosolaw.com/sendMail",
            Some(json!({"message": {"subject": "x"}})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "ErrorInvalidRecipients");

    let (_, body) = t
        .get("/v1.0/admin/serviceAnnouncement/healthOverviews")
        .await;
    assert!(names(&body, "status").contains(&"serviceDegradation".to_string()));
    let (_, body) = t
        .get("/v1.0/admin/serviceAnnouncement/issues?$filter=isResolved%20eq%20false")
        .await;
    assert_eq!(names(&body, "id"), vec!["EX912345"]);
    let (status, body) = t
        .get("/v1.0/admin/serviceAnnouncement/issues/MO887766")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["isResolved"], true);
}

#[tokio::test]
async fn exo_mailbox_permissions_and_delegates() {
    let t = Tenant::start().await;
    let (status, body) = t
        .exo(
            "Get-Mailbox",
            json!({"Identity": "reception@contosolaw.com"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["value"][0]["RecipientTypeDetails"], "SharedMailbox");
    assert!(
        body["@odata.context"]
            .as_str()
            .unwrap()
            .contains("Exchange.GenericHashTable")
    );

    let (status, _) = t
        .exo(
            "Add-MailboxPermission",
            json!({"Identity": "reception@contosolaw.com", "User": "dreyes@contosolaw.com",
        "AccessRights": ["FullAccess"], "AutoMapping": false, "InheritanceType": "All"}),
        )
        .await;
    assert_eq!(status, 200);
    let mailbox = t.sim.mailbox("reception@contosolaw.com").unwrap();
    assert!(
        mailbox
            .full_access
            .iter()
            .any(|g| g.user == "dreyes@contosolaw.com" && !g.automapping)
    );
    let (_, perms) = t
        .exo(
            "Get-MailboxPermission",
            json!({"Identity": "reception@contosolaw.com"}),
        )
        .await;
    assert_eq!(
        names(&perms, "User"),
        vec![
            "NT AUTHORITY\\SELF",
            "pshah@contosolaw.com",
            "dreyes@contosolaw.com"
        ]
    );
    let (status, _) = t
        .exo(
            "Remove-MailboxPermission",
            json!({"Identity": "reception@contosolaw.com", "User": "dreyes@contosolaw.com",
        "AccessRights": ["FullAccess"], "InheritanceType": "All", "Confirm": false}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = t
        .exo(
            "Remove-MailboxPermission",
            json!({"Identity": "reception@contosolaw.com", "User": "dreyes@contosolaw.com",
        "AccessRights": ["FullAccess"]}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("doesn't exist")
    );

    let (status, _) = t
        .exo(
            "Add-RecipientPermission",
            json!({"Identity": "reception@contosolaw.com", "Trustee": "sokafor@contosolaw.com",
        "AccessRights": ["SendAs"], "Confirm": false}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        t.sim
            .mailbox("reception")
            .unwrap()
            .send_as
            .contains(&"sokafor@contosolaw.com".to_string())
    );
    let (_, perms) = t
        .exo(
            "Get-RecipientPermission",
            json!({"Identity": "reception@contosolaw.com", "Trustee": "sokafor@contosolaw.com"}),
        )
        .await;
    assert_eq!(names(&perms, "Trustee"), vec!["sokafor@contosolaw.com"]);
    let (status, _) = t
        .exo(
            "Remove-RecipientPermission",
            json!({"Identity": "reception@contosolaw.com", "Trustee": "sokafor@contosolaw.com",
        "AccessRights": ["SendAs"], "Confirm": false}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        !t.sim
            .mailbox("reception")
            .unwrap()
            .send_as
            .contains(&"sokafor@contosolaw.com".to_string())
    );

    let (status, _) = t.exo("Set-Mailbox", json!({"Identity": "reception@contosolaw.com",
        "GrantSendOnBehalfTo": {"@odata.type": "#Exchange.GenericHashTable", "add": "sokafor@contosolaw.com"}})).await;
    assert_eq!(status, 200);
    assert_eq!(
        t.sim.mailbox("reception").unwrap().grant_send_on_behalf_to,
        vec!["dreyes@contosolaw.com", "sokafor@contosolaw.com"]
    );
    let (_, body) = t.exo("Set-Mailbox", json!({"Identity": "reception@contosolaw.com",
        "GrantSendOnBehalfTo": {"@odata.type": "#Exchange.GenericHashTable", "remove": "dreyes@contosolaw.com"}})).await;
    assert!(body["@adminapi.warnings"].as_array().unwrap().is_empty());
    assert_eq!(
        t.sim.mailbox("reception").unwrap().grant_send_on_behalf_to,
        vec!["sokafor@contosolaw.com"]
    );

    // Errors come in EXO's envelope.
    let (status, body) = t.exo("Add-MailboxPermission", json!({"Identity": "ghost@contosolaw.com", "User": "dreyes@contosolaw.com", "AccessRights": ["FullAccess"]})).await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ManagementObjectNotFoundException")
    );
    let (status, _) = t
        .exo(
            "Add-MailboxPermission",
            json!({"Identity": "reception@contosolaw.com", "AccessRights": ["FullAccess"]}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = t.exo("Get-Mailbox", json!({"Bogus": 1})).await;
    assert_eq!(status, 400);
    let (status, _) = t
        .exo("Remove-Mailbox", json!({"Identity": "reception"}))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn exo_shared_conversion_forwarding_auto_reply_gal_and_distribution_lists() {
    let t = Tenant::start().await;
    let (status, _) = t
        .exo(
            "Set-Mailbox",
            json!({"Identity": "dreyes@contosolaw.com", "Type": "Shared"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        t.sim
            .mailbox("dreyes@contosolaw.com")
            .unwrap()
            .recipient_type_details,
        "SharedMailbox"
    );

    let (_, _) = t.exo("Set-Mailbox", json!({"Identity": "dreyes@contosolaw.com", "ForwardingSmtpAddress": "smtp:mholloway@contosolaw.com", "DeliverToMailboxAndForward": true})).await;
    let mailbox = t.sim.mailbox("dreyes@contosolaw.com").unwrap();
    assert_eq!(
        mailbox.forwarding_smtp_address.as_deref(),
        Some("smtp:mholloway@contosolaw.com")
    );
    assert!(mailbox.deliver_to_mailbox_and_forward);
    let (_, _) = t.exo("Set-Mailbox", json!({"Identity": "dreyes@contosolaw.com", "ForwardingSmtpAddress": null, "DeliverToMailboxAndForward": false})).await;
    assert_eq!(
        t.sim
            .mailbox("dreyes@contosolaw.com")
            .unwrap()
            .forwarding_smtp_address,
        None
    );
    let (_, body) = t
        .exo(
            "Set-Mailbox",
            json!({"Identity": "dreyes@contosolaw.com", "ForwardingSmtpAddress": null}),
        )
        .await;
    assert!(
        body["@adminapi.warnings"][0]
            .as_str()
            .unwrap()
            .contains("no settings")
    );

    let (_, body) = t
        .exo(
            "Get-MailboxAutoReplyConfiguration",
            json!({"Identity": "evoss@contosolaw.com"}),
        )
        .await;
    assert_eq!(body["value"][0]["AutoReplyState"], "Enabled");
    let (status, _) = t
        .exo(
            "Set-MailboxAutoReplyConfiguration",
            json!({"Identity": "dreyes@contosolaw.com", "AutoReplyState": "Enabled",
        "InternalMessage": "Away", "ExternalMessage": "Away", "ExternalAudience": "All"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(t.sim.mailbox("dreyes").unwrap().auto_reply.state, "Enabled");
    let (status, _) = t
        .exo(
            "Set-MailboxAutoReplyConfiguration",
            json!({"Identity": "dreyes@contosolaw.com", "AutoReplyState": "Scheduled"}),
        )
        .await;
    assert_eq!(status, 400);

    let (status, _) = t
        .exo(
            "Set-Mailbox",
            json!({"Identity": "dreyes@contosolaw.com", "HiddenFromAddressListsEnabled": true}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(t.sim.mailbox("dreyes").unwrap().hidden_from_address_lists);
    let (status, body) = t
        .exo(
            "Set-Mailbox",
            json!({"Identity": "tbecker@contosolaw.com", "HiddenFromAddressListsEnabled": true}),
        )
        .await;
    assert_eq!(status, 400, "synced mailbox");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("on-premises")
    );

    let (status, _) = t.exo("Add-DistributionGroupMember", json!({"Identity": "partners@contosolaw.com", "Member": "dreyes@contosolaw.com", "BypassSecurityGroupManagerCheck": true})).await;
    assert_eq!(status, 200);
    assert!(t.sim.is_member(groups::PARTNERS_DL, users::DANIEL));
    let (status, body) = t
        .exo(
            "Add-DistributionGroupMember",
            json!({"Identity": "partners@contosolaw.com", "Member": "dreyes@contosolaw.com"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MemberAlreadyExistsException")
    );
    let (_, members) = t
        .exo(
            "Get-DistributionGroupMember",
            json!({"Identity": "Partners"}),
        )
        .await;
    assert_eq!(members["value"].as_array().unwrap().len(), 2);
    let (status, _) = t.exo("Remove-DistributionGroupMember", json!({"Identity": "partners@contosolaw.com", "Member": "dreyes@contosolaw.com", "BypassSecurityGroupManagerCheck": true, "Confirm": false})).await;
    assert_eq!(status, 200);
    assert!(!t.sim.is_member(groups::PARTNERS_DL, users::DANIEL));
    // A unified group is not a distribution group.
    let (status, _) = t
        .exo(
            "Add-DistributionGroupMember",
            json!({"Identity": "allstaff@contosolaw.com", "Member": "dreyes@contosolaw.com"}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn exo_pages_with_prefer_max_page_size() {
    let t = Tenant::start().await;
    let url = t.url(&format!("/adminapi/beta/{}/InvokeCommand", seed::TENANT_ID));
    let body = json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}});
    let mut next = Some(url);
    let mut aliases = Vec::new();
    while let Some(url) = next {
        let response = t
            .http
            .post(&url)
            .bearer_auth(&t.exo)
            .header("Prefer", "odata.maxpagesize=3")
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, page) = read(response).await;
        assert_eq!(status, 200);
        assert!(page["value"].as_array().unwrap().len() <= 3);
        aliases.extend(names(&page, "Alias"));
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(aliases.len(), 7);
}

#[tokio::test]
async fn injected_throttling_answers_429_with_retry_after() {
    let t = Tenant::start_with(Faults {
        rate_limit_every: 3,
        retry_after_secs: 7,
        ..Faults::default()
    })
    .await;
    // Two token calls were requests 1 and 2; the next is the third.
    let response = t
        .http
        .get(t.url("/v1.0/users"))
        .bearer_auth(&t.graph)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "TooManyRequests");
    let (status, _) = t.get("/v1.0/users").await;
    assert_eq!(status, 200);
    assert_eq!(t.server.recorder().requests().len(), 4);
}

#[tokio::test]
async fn reset_password_method_is_delegated_only() {
    let t = Tenant::start().await;
    let path = format!(
        "/v1.0/users/{}/authentication/methods/{}/resetPassword",
        users::PRIYA,
        stackhand_sim::m365::PASSWORD_METHOD_ID
    );
    let (status, body) = t.send(reqwest::Method::POST, &path, Some(json!({}))).await;
    assert_eq!(status, 403, "app-only tokens are refused");
    assert_eq!(error_code(&body), "accessDenied");

    let delegated = t.sim.delegated_token(Audience::Graph);
    let response = t
        .http
        .post(t.url(&path))
        .bearer_auth(&delegated)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/authentication/operations/")
    );
    let body: Value = response.json().await.unwrap();
    let generated = body["newPassword"].as_str().unwrap().to_string();
    assert_eq!(t.sim.user(users::PRIYA).unwrap().password, generated);

    let response = t
        .http
        .post(t.url(&path))
        .bearer_auth(&delegated)
        .json(&json!({"newPassword": "Chosen-Passw0rd!77"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(
        response.json::<Value>().await.unwrap()["newPassword"],
        Value::Null
    );
    assert_eq!(
        t.sim.user(users::PRIYA).unwrap().password,
        "Chosen-Passw0rd!77"
    );
}

#[tokio::test]
async fn manager_is_read_through_the_graph_relation() {
    let t = Tenant::start().await;
    let (status, manager) = t
        .get(&format!("/v1.0/users/{}/manager", users::PRIYA))
        .await;
    assert_eq!(status, 200);
    assert_eq!(manager["id"], users::DANIEL);
    assert_eq!(manager["@odata.type"], "#microsoft.graph.user");
    assert_eq!(manager["displayName"], "Daniel Reyes");
    assert_eq!(manager["userPrincipalName"], "dreyes@contosolaw.com");
    let (_, selected) = t
        .get(&format!(
            "/v1.0/users/{}/manager?$select=id,jobTitle",
            users::DANIEL
        ))
        .await;
    assert_eq!(selected["id"], users::MARGARET);
    assert_eq!(selected["jobTitle"], "Managing Partner");
    assert!(selected.get("displayName").is_none());

    let (status, body) = t
        .get(&format!("/v1.0/users/{}/manager", users::MARGARET))
        .await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "Request_ResourceNotFound");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Resource 'manager' does not exist")
    );
}

#[tokio::test]
async fn the_tenant_is_seeded_from_the_world() {
    use stackhand_sim::world::{MfaKind, World};

    // The built-in world: every person and group, no more.
    let world = World::builtin();
    let contoso = world.tenant("contoso-law").unwrap();
    let sim = M365Sim::seeded();
    assert_eq!(sim.tenant_id(), seed::TENANT_ID);
    assert_eq!(sim.users().len(), contoso.people.len());
    for person in &contoso.people {
        let user = sim.user(&person.email(contoso)).expect(&person.key);
        assert_eq!(user.id, person.id);
        assert_eq!(user.display_name, person.display_name());
    }
    for group in &contoso.groups {
        assert_eq!(sim.group(&group.id).unwrap().display_name, group.name);
    }
    // The world's words in Entra's: MFA kinds, account status, mailboxes.
    let daniel = sim.user(users::DANIEL).unwrap();
    let methods: Vec<MethodKind> = daniel.methods.iter().map(|m| m.kind).collect();
    assert_eq!(
        methods,
        [
            MethodKind::Password,
            MethodKind::Phone,
            MethodKind::MicrosoftAuthenticator,
            MethodKind::Fido2
        ]
    );
    assert_eq!(daniel.methods[1].properties["phoneType"], "mobile");
    assert_eq!(daniel.methods[2].properties["displayName"], "iPhone 15");
    assert_eq!(
        daniel.methods[3].properties["aaGuid"],
        "2fc0579f-8113-47ea-b116-bb5a8db9202a"
    );
    assert_eq!(
        daniel.default_method.as_deref(),
        Some("6e5b9c44-8f1a-4d0e-a8d2-1c7e0f9b3a21")
    );
    assert_eq!(daniel.business_phones, ["+1 212 555 0143"]);
    assert!(!sim.user(users::ELEANOR).unwrap().account_enabled);
    assert!(sim.user(users::OLIVIA).unwrap().mail.is_none());
    let eleanor = sim.mailbox(users::ELEANOR).unwrap();
    assert_eq!(
        eleanor.forwarding_smtp_address.as_deref(),
        Some("smtp:mholloway@contosolaw.com")
    );
    assert_eq!(eleanor.auto_reply.state, "Enabled");
    assert_eq!(
        sim.mailbox(users::RECEPTION).unwrap().send_as,
        ["pshah@contosolaw.com"]
    );

    // Another world: a new starter with a role, a licence, a manager and a code app; one more
    // E3 seat bought.
    let mut world = world.clone();
    let tenant = world.tenant_mut("contoso-law").unwrap();
    let mut laura = tenant.person("priya.shah").unwrap().clone();
    laura.key = "laura.fischer".into();
    laura.id = "3f2a9c41-1b7e-4d2a-9e63-0a1b2c3d4e10".into();
    laura.login = "lfischer".into();
    laura.given = Some("Laura".into());
    laura.surname = Some("Fischer".into());
    laura.licences = vec!["SPE_E3".into()];
    laura.roles = vec!["User Administrator".into()];
    laura.mfa.truncate(1);
    laura.mfa[0].id = "0a1b2c3d-0000-4000-8000-00000000aa02".into();
    laura.mfa[0].kind = MfaKind::Totp;
    tenant.people.push(laura);
    tenant
        .licences
        .iter_mut()
        .find(|l| l.part_number == "SPE_E3")
        .unwrap()
        .seats = 6;

    let sim = M365Sim::from_world(&world);
    let server = sim.start(Faults::default()).await.unwrap();
    let laura = sim
        .user("lfischer@contosolaw.com")
        .expect("seeded from the world");
    assert_eq!(laura.display_name, "Laura Fischer");
    assert_eq!(laura.manager.as_deref(), Some(users::DANIEL));
    assert_eq!(laura.mail.as_deref(), Some("lfischer@contosolaw.com"));
    assert!(sim.mailbox("lfischer@contosolaw.com").is_some());
    assert_eq!(sim.licenses_of(&laura.id), vec![skus::SPE_E3.to_string()]);
    assert_eq!(sim.seats("SPE_E3"), Some((6, 5)));
    assert_eq!(sim.roles_of(&laura.id), vec!["User Administrator"]);
    let methods: Vec<MethodKind> = laura.methods.iter().map(|m| m.kind).collect();
    assert_eq!(methods, [MethodKind::Password, MethodKind::SoftwareOath]);
    assert_eq!(
        laura.default_method.as_deref(),
        Some("0a1b2c3d-0000-4000-8000-00000000aa02")
    );

    let http = reqwest::Client::new();
    let graph = app_token(&http, &server.url(), "https://graph.microsoft.com/.default").await;
    let response = http
        .get(format!("{}/v1.0/users/{}/memberOf", server.url(), laura.id))
        .bearer_auth(&graph)
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, 200);
    assert!(
        names(&body, "roleTemplateId")
            .contains(&"fe930be7-5e62-47db-91af-98c3a49a38b1".to_string())
    );
    // Eligibility instance ids are formed as Entra forms them: the role definition's and the
    // principal's GUID bytes, base64url, then `-1-e`.
    let response = http
        .get(format!(
            "{}/v1.0/roleManagement/directory/roleEligibilityScheduleInstances",
            server.url()
        ))
        .bearer_auth(&graph)
        .send()
        .await
        .unwrap();
    let (_, eligible) = read(response).await;
    assert_eq!(
        names(&eligible, "id"),
        ["5wuT_mJe20eRr5jDpJo4sUGcKj9-GypNnmMKGyw9Tgg-1-e"]
    );
}
