//! The Okta simulator over HTTP: every endpoint, its errors, paging, rate limits and OAuth.
#![cfg(feature = "okta")]

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use stackhand_sim::okta::{
    GLOBEX_API_TOKEN, GLOBEX_CLIENT_ID, GroupType, OAuthClient, OktaSim, OktaSimConfig, UserStatus,
    ids,
};
use stackhand_sim::{Faults, SimServer};

struct Org {
    sim: OktaSim,
    server: SimServer,
    http: Client,
}

impl Org {
    async fn start(sim: OktaSim) -> Self {
        let server = sim.start(Faults::default()).await.expect("sim starts");
        Self {
            sim,
            server,
            http: Client::new(),
        }
    }

    async fn seeded() -> Self {
        Self::start(OktaSim::seeded()).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("Authorization", format!("SSWS {GLOBEX_API_TOKEN}"))
            .header("Accept", "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request sent")
    }

    async fn json(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let response = self.call(method, path, body).await;
        let status = response.status();
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        (status, value)
    }
}

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["errorCode"], code, "{body}");
    assert_eq!(body["errorLink"], code);
    assert!(body["errorSummary"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        body["errorId"]
            .as_str()
            .is_some_and(|s| s.starts_with("oae"))
    );
    assert!(body["errorCauses"].is_array());
}

fn next_link(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.ends_with("rel=\"next\""))
        .map(|v| {
            v.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap_or_default()
                .to_string()
        })
}

#[tokio::test]
async fn credentials_are_checked_in_oktas_shape() {
    let org = Org::seeded().await;
    let missing = org
        .http
        .get(org.url("/api/v1/users"))
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert!(missing.headers().contains_key("x-rate-limit-remaining"));
    assert_error(&missing.json::<Value>().await.expect("json"), "E0000011");

    let wrong = org
        .http
        .get(org.url("/api/v1/users"))
        .header("Authorization", "SSWS not-the-token")
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let unknown_bearer = org
        .http
        .get(org.url("/api/v1/users"))
        .bearer_auth("made-up")
        .send()
        .await
        .expect("sent");
    assert_eq!(unknown_bearer.status(), StatusCode::UNAUTHORIZED);
    assert!(unknown_bearer.headers().contains_key("www-authenticate"));

    let ok = org.call(Method::GET, "/api/v1/users", None).await;
    assert_eq!(ok.status(), StatusCode::OK);
    for header in [
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
    ] {
        assert!(ok.headers().contains_key(header), "{header}");
    }
}

#[tokio::test]
async fn users_are_read_by_id_login_and_short_name() {
    let org = Org::seeded().await;
    for key in [
        ids::HANK,
        "hank.scorpio@globex.example",
        "HANK.SCORPIO@globex.example",
        "hank.scorpio",
    ] {
        let (status, user) = org
            .json(Method::GET, &format!("/api/v1/users/{key}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{key}");
        assert_eq!(user["id"], ids::HANK);
    }
    let (_, hank) = org
        .json(Method::GET, &format!("/api/v1/users/{}", ids::HANK), None)
        .await;
    assert_eq!(hank["status"], "ACTIVE");
    assert_eq!(hank["profile"]["login"], "hank.scorpio@globex.example");
    assert_eq!(hank["credentials"]["provider"]["type"], "OKTA");
    assert_eq!(hank["credentials"]["password"], json!({}));
    assert!(
        hank["_links"]["suspend"]["href"]
            .as_str()
            .is_some_and(|h| h.ends_with("/lifecycle/suspend"))
    );

    let (_, homer) = org
        .json(Method::GET, &format!("/api/v1/users/{}", ids::HOMER), None)
        .await;
    assert_eq!(homer["credentials"]["provider"]["type"], "ACTIVE_DIRECTORY");
    assert_eq!(homer["status"], "LOCKED_OUT");
    assert!(homer["_links"].get("resetPassword").is_none());

    let (status, body) = org
        .json(Method::GET, "/api/v1/users/nobody@globex.example", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "E0000007");
}

#[tokio::test]
async fn listing_searching_and_filtering_users() {
    let org = Org::seeded().await;
    let (_, all) = org.json(Method::GET, "/api/v1/users", None).await;
    let all = all.as_array().expect("array");
    assert_eq!(all.len(), 10, "the deprovisioned user is omitted");
    assert!(all.iter().all(|u| u["status"] != "DEPROVISIONED"));
    assert!(
        all.iter()
            .all(|u| u["_links"].as_object().is_some_and(|l| l.len() == 1))
    );

    let (_, found) = org
        .json(
            Method::GET,
            "/api/v1/users?search=profile.email%20eq%20%22OTTO.MANN%40globex.example%22",
            None,
        )
        .await;
    assert_eq!(
        found[0]["id"],
        ids::OTTO,
        "search is case-insensitive and includes DEPROVISIONED"
    );

    let (_, locked) = org
        .json(
            Method::GET,
            "/api/v1/users?filter=status%20eq%20%22LOCKED_OUT%22",
            None,
        )
        .await;
    assert_eq!(locked.as_array().map(Vec::len), Some(2));

    let (status, body) = org
        .json(
            Method::GET,
            "/api/v1/users?filter=profile.department%20eq%20%22Sales%22",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "E0000031");

    let (status, body) = org
        .json(
            Method::GET,
            "/api/v1/users?search=status%20ne%20%22ACTIVE%22",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "E0000031");

    let (_, sales) = org
        .json(
            Method::GET,
            "/api/v1/users?search=profile.department%20eq%20%22sales%22%20and%20status%20eq%20%22ACTIVE%22",
            None,
        )
        .await;
    assert_eq!(sales.as_array().map(Vec::len), Some(1));
    assert_eq!(sales[0]["id"], ids::MARGE);

    let (_, simpsons) = org.json(Method::GET, "/api/v1/users?q=simp", None).await;
    assert_eq!(simpsons.as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn users_page_with_link_headers_and_opaque_cursors() {
    let org = Org::seeded().await;
    org.sim.add_users("bulk", 7);
    let mut url = org.url("/api/v1/users?limit=4");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let response = org
            .http
            .get(&url)
            .header("Authorization", format!("SSWS {GLOBEX_API_TOKEN}"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::OK);
        let next = next_link(&response);
        let page: Vec<Value> = response.json().await.expect("json");
        assert!(page.len() <= 4);
        seen.extend(
            page.into_iter()
                .map(|u| u["id"].as_str().unwrap_or_default().to_string()),
        );
        pages += 1;
        match next {
            Some(next) => {
                assert!(
                    next.contains("after=") && next.contains("limit=4"),
                    "{next}"
                );
                assert!(!next.contains(ids::HANK), "cursors are opaque");
                url = next;
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 17);
    assert_eq!(pages, 5);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len());

    let (status, body) = org
        .json(Method::GET, "/api/v1/users?after=garbage", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "E0000001");
}

#[tokio::test]
async fn reset_password_link_puts_the_user_in_recovery() {
    let org = Org::seeded().await;
    let path = format!("/api/v1/users/{}/lifecycle/reset_password", ids::LENNY);
    let (status, body) = org.json(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "sendEmail is required");
    assert_error(&body, "E0000028");

    let (status, body) = org
        .json(
            Method::POST,
            &format!("{path}?sendEmail=false&revokeSessions=true"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let link = body["resetPasswordUrl"].as_str().expect("link");
    assert!(link.starts_with(&org.server.url()) && link.contains("/reset_password/"));
    let lenny = org.sim.user(ids::LENNY).expect("lenny");
    assert_eq!(lenny.status, UserStatus::Recovery);
    assert_eq!(lenny.sessions, 0);
    assert!(link.ends_with(lenny.reset_token.as_deref().expect("token")));

    let (status, body) = org
        .json(
            Method::POST,
            &format!(
                "/api/v1/users/{}/lifecycle/reset_password?sendEmail=true",
                ids::MINDY
            ),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "suspended users cannot reset"
    );
    assert_error(&body, "E0000038");
}

#[tokio::test]
async fn temporary_password_expires_the_password() {
    let org = Org::seeded().await;
    let (status, body) = org
        .json(
            Method::POST,
            &format!(
                "/api/v1/users/{}/lifecycle/expire_password_with_temp_password?revokeSessions=true",
                ids::CARL
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let temp = body["tempPassword"].as_str().expect("temp password");
    assert!(temp.len() >= 8);
    assert!(org.sim.password_is(ids::CARL, temp));
    let carl = org.sim.user(ids::CARL).expect("carl");
    assert_eq!(carl.status, UserStatus::PasswordExpired);
    assert_eq!(carl.sessions, 0);

    let (status, user) = org
        .json(
            Method::POST,
            &format!("/api/v1/users/{}/lifecycle/expire_password", ids::MARGE),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["status"], "PASSWORD_EXPIRED");
}

#[tokio::test]
async fn directory_users_refuse_unlock_and_password_operations() {
    let org = Org::seeded().await;
    let (status, body) = org
        .json(
            Method::POST,
            &format!("/api/v1/users/{}/lifecycle/unlock", ids::HOMER),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "E0000032");
    for op in [
        "reset_password?sendEmail=false",
        "expire_password_with_temp_password",
    ] {
        let (status, body) = org
            .json(
                Method::POST,
                &format!("/api/v1/users/{}/lifecycle/{op}", ids::HOMER),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{op}");
        assert_error(&body, "E0000038");
    }
    assert_eq!(
        org.sim.user(ids::HOMER).map(|u| u.status),
        Some(UserStatus::LockedOut)
    );
}

#[tokio::test]
async fn unlock_returns_a_locked_user_to_active() {
    let org = Org::seeded().await;
    let path = format!("/api/v1/users/{}/lifecycle/unlock", ids::FRANK);
    let response = org.call(Method::POST, &path, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.expect("body").is_empty());
    assert_eq!(
        org.sim.user(ids::FRANK).map(|u| u.status),
        Some(UserStatus::Active)
    );
    let (status, body) = org.json(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not locked any more");
    assert_error(&body, "E0000032");
}

#[tokio::test]
async fn factors_list_unenrol_and_reset() {
    let org = Org::seeded().await;
    let (status, factors) = org
        .json(
            Method::GET,
            &format!("/api/v1/users/{}/factors", ids::LENNY),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let types: Vec<&str> = factors
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["factorType"].as_str())
        .collect();
    assert_eq!(types, ["push", "token:software:totp", "sms"]);
    assert_eq!(factors[2]["profile"]["phoneNumber"], "+15554150003");

    let (status, one) = org
        .json(
            Method::GET,
            &format!("/api/v1/users/{}/factors/mbl1lennysms00000001", ids::LENNY),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["factorType"], "sms");

    let response = org
        .call(
            Method::DELETE,
            &format!("/api/v1/users/{}/factors/opf1lennypush0000001", ids::LENNY),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let left: Vec<String> = org
        .sim
        .user(ids::LENNY)
        .expect("lenny")
        .factors
        .iter()
        .map(|f| f.factor_type.clone())
        .collect();
    assert_eq!(left, ["sms"], "removing push removes the linked totp");

    let (status, body) = org
        .json(
            Method::DELETE,
            &format!("/api/v1/users/{}/factors/opf1lennypush0000001", ids::LENNY),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "E0000007");

    let response = org
        .call(
            Method::POST,
            &format!("/api/v1/users/{}/lifecycle/reset_factors", ids::HANK),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(org.sim.user(ids::HANK).expect("hank").factors.is_empty());

    let (status, _) = org
        .json(
            Method::GET,
            "/api/v1/users/hank.scorpio@globex.example/factors",
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "{{userId}} paths take ids only"
    );
}

#[tokio::test]
async fn sessions_are_revoked() {
    let org = Org::seeded().await;
    let response = org
        .call(
            Method::DELETE,
            &format!(
                "/api/v1/users/{}/sessions?oauthTokens=true&forgetDevices=true",
                ids::MARGE
            ),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let marge = org.sim.user(ids::MARGE).expect("marge");
    assert_eq!(
        (marge.sessions, marge.oauth_tokens, marge.remembered_devices),
        (0, 0, 0)
    );

    let response = org
        .call(
            Method::DELETE,
            &format!("/api/v1/users/{}/sessions?forgetDevices=false", ids::CARL),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let carl = org.sim.user(ids::CARL).expect("carl");
    assert_eq!(
        (carl.sessions, carl.oauth_tokens, carl.remembered_devices),
        (0, 1, 1)
    );
}

#[tokio::test]
async fn lifecycle_transitions_follow_the_spec() {
    let org = Org::seeded().await;
    let op = |id: &str, op: &str| format!("/api/v1/users/{id}/lifecycle/{op}");

    let (status, body) = org
        .json(Method::POST, &op(ids::MINDY, "suspend"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "only ACTIVE users can be suspended"
    );
    assert_error(&body, "E0000001");
    assert_eq!(
        org.call(Method::POST, &op(ids::MINDY, "unsuspend"), None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        org.sim.user(ids::MINDY).map(|u| u.status),
        Some(UserStatus::Active)
    );
    assert_eq!(
        org.call(Method::POST, &op(ids::MINDY, "suspend"), None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        org.sim.user(ids::MINDY).map(|u| u.status),
        Some(UserStatus::Suspended)
    );
    let (status, body) = org
        .json(Method::POST, &op(ids::MARGE, "unsuspend"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "E0000001");

    assert_eq!(
        org.call(Method::POST, &op(ids::MARGE, "deactivate"), None)
            .await
            .status(),
        StatusCode::OK
    );
    let marge = org.sim.user(ids::MARGE).expect("marge");
    assert_eq!(marge.status, UserStatus::Deprovisioned);
    assert_eq!(marge.sessions, 0);
    let (status, _) = org
        .json(Method::POST, &op(ids::MARGE, "deactivate"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = org
        .json(
            Method::POST,
            &op(ids::MARGE, "activate?sendEmail=false"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["activationUrl"]
            .as_str()
            .is_some_and(|u| u.contains("/tokens/"))
    );
    assert_eq!(
        org.sim.user(ids::MARGE).map(|u| u.status),
        Some(UserStatus::Active)
    );
    let (status, body) = org
        .json(Method::POST, &op(ids::MARGE, "activate"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "E0000016");

    let (status, _) = org
        .json(Method::POST, &op(ids::BART, "activate"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        org.sim.user(ids::BART).map(|u| u.status),
        Some(UserStatus::Provisioned),
        "no password yet"
    );

    let (status, body) = org
        .json(Method::POST, &op(ids::MARGE, "explode"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "E0000007");
}

#[tokio::test]
async fn groups_list_search_and_membership() {
    let org = Org::seeded().await;
    let (_, groups) = org.json(Method::GET, "/api/v1/groups", None).await;
    assert_eq!(groups.as_array().map(Vec::len), Some(7));

    let (_, sales) = org
        .json(
            Method::GET,
            "/api/v1/groups?search=profile.name%20eq%20%22sales%22",
            None,
        )
        .await;
    assert_eq!(sales[0]["id"], ids::SALES);
    assert_eq!(sales[0]["type"], "OKTA_GROUP");
    assert_eq!(sales[0]["objectClass"], json!(["okta:user_group"]));

    let (_, app_groups) = org
        .json(
            Method::GET,
            "/api/v1/groups?filter=type%20eq%20%22APP_GROUP%22",
            None,
        )
        .await;
    assert_eq!(app_groups.as_array().map(Vec::len), Some(1));
    assert!(app_groups[0]["_links"]["source"]["href"].is_string());
    assert!(app_groups[0].get("source").is_none());

    let (_, by_q) = org.json(Method::GET, "/api/v1/groups?q=VPN", None).await;
    assert_eq!(by_q[0]["id"], ids::VPN);

    let (status, group) = org
        .json(
            Method::GET,
            &format!("/api/v1/groups/{}", ids::FINANCE),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(group["profile"]["name"], "Finance");

    let member = format!("/api/v1/groups/{}/users/{}", ids::FINANCE, ids::MARGE);
    assert_eq!(
        org.call(Method::PUT, &member, None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(org.sim.is_member(ids::MARGE, "Finance"));
    let (_, members) = org
        .json(
            Method::GET,
            &format!("/api/v1/groups/{}/users", ids::FINANCE),
            None,
        )
        .await;
    assert_eq!(members.as_array().map(Vec::len), Some(2));
    let (_, marge_groups) = org
        .json(
            Method::GET,
            &format!("/api/v1/users/{}/groups", ids::MARGE),
            None,
        )
        .await;
    assert!(
        marge_groups
            .as_array()
            .expect("array")
            .iter()
            .any(|g| g["id"] == ids::FINANCE)
    );
    assert_eq!(
        org.call(Method::DELETE, &member, None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(!org.sim.is_member(ids::MARGE, "Finance"));

    let (status, body) = org
        .json(
            Method::PUT,
            &format!("/api/v1/groups/{}/users/{}", ids::AD_ADMINS, ids::MARGE),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "APP_GROUP membership is read-only"
    );
    assert_error(&body, "E0000006");
    assert!(!org.sim.is_member(ids::MARGE, ids::AD_ADMINS));

    let (status, body) = org
        .json(
            Method::PUT,
            &format!("/api/v1/groups/00gnope/users/{}", ids::MARGE),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "E0000007");
}

#[tokio::test]
async fn creating_users_validates_like_okta() {
    let org = Org::seeded().await;
    let (status, body) = org
        .json(
            Method::POST,
            "/api/v1/users",
            Some(json!({"profile": {"login": "x@globex.example"}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "E0000001");
    assert!(body["errorCauses"].as_array().is_some_and(|c| c.len() >= 3));

    let (status, body) = org
        .json(
            Method::POST,
            "/api/v1/users",
            Some(json!({"profile": {"firstName": "Dup", "lastName": "Licate", "email": "d@globex.example", "login": "Hank.Scorpio@globex.example"}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["errorCauses"][0]["errorSummary"]
            .as_str()
            .is_some_and(|s| s.contains("already exists"))
    );

    let (status, body) = org
        .json(
            Method::POST,
            "/api/v1/users",
            Some(json!({"profile": {"firstName": "Weak", "lastName": "Pw", "email": "weak@globex.example", "login": "weak@globex.example"}, "credentials": {"password": {"value": "short"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errorSummary"], "Api validation failed: password");

    let response = org
        .http
        .post(org.url("/api/v1/users"))
        .header("Authorization", format!("SSWS {GLOBEX_API_TOKEN}"))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_error(&response.json::<Value>().await.expect("json"), "E0000003");

    let (status, user) = org
        .json(
            Method::POST,
            "/api/v1/users?activate=true&nextLogin=changePassword",
            Some(json!({
                "profile": {"firstName": "Isaac", "lastName": "Brock", "email": "isaac.brock@globex.example", "login": "isaac.brock@globex.example"},
                "credentials": {"password": {"value": "Tl9WENT2m-Xy"}},
                "groupIds": [ids::ENGINEERING]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["status"], "PASSWORD_EXPIRED");
    assert!(
        user["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("00u") && id.len() == 20)
    );
    assert!(
        org.sim
            .is_member("isaac.brock@globex.example", "Engineering")
    );
    assert!(
        org.sim
            .password_is("isaac.brock@globex.example", "Tl9WENT2m-Xy")
    );

    let (status, staged) = org
        .json(
            Method::POST,
            "/api/v1/users?activate=false",
            Some(json!({"profile": {"firstName": "Stay", "lastName": "Staged", "email": "stay@globex.example", "login": "stay@globex.example"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(staged["status"], "STAGED");

    let (status, body) = org
        .json(
            Method::POST,
            "/api/v1/users",
            Some(json!({"profile": {"firstName": "A", "lastName": "B", "email": "ab@globex.example", "login": "ab@globex.example"}, "groupIds": [ids::AD_ADMINS]})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "E0000006");
}

#[tokio::test]
async fn partial_update_sets_a_password_and_profile() {
    let org = Org::seeded().await;
    let (status, user) = org
        .json(
            Method::POST,
            &format!("/api/v1/users/{}", ids::LISA),
            Some(json!({"profile": {"title": "Senior Analyst"}, "credentials": {"password": {"value": "Brand-New-Pw9"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["profile"]["title"], "Senior Analyst");
    assert_eq!(user["status"], "ACTIVE");
    assert!(org.sim.password_is(ids::LISA, "Brand-New-Pw9"));

    let (status, body) = org
        .json(
            Method::POST,
            &format!("/api/v1/users/{}", ids::LISA),
            Some(json!({"profile": {"shoeSize": 9}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "E0000001");
}

#[tokio::test]
async fn full_replace_needs_the_whole_profile() {
    let org = Org::seeded().await;
    let path = format!("/api/v1/users/{}", ids::CARL);
    let (status, body) = org
        .json(
            Method::PUT,
            &path,
            Some(json!({"profile": {"title": "Only a title"}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "E0000001");
    let (status, user) = org
        .json(
            Method::PUT,
            &path,
            Some(json!({"profile": {"firstName": "Carl", "lastName": "Carlson", "email": "carl.carlson@globex.example", "login": "carl.carlson@globex.example"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        user["profile"].get("department").is_none(),
        "unsent attributes are removed"
    );
    assert_eq!(org.sim.user(ids::CARL).expect("carl").profile.len(), 4);
}

#[tokio::test]
async fn admin_roles_are_readable() {
    let org = Org::seeded().await;
    let (status, roles) = org
        .json(
            Method::GET,
            &format!("/api/v1/users/{}/roles", ids::HANK),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(roles[0]["type"], "SUPER_ADMIN");
    assert_eq!(roles[0]["assignmentType"], "USER");
    let (_, none) = org
        .json(
            Method::GET,
            &format!("/api/v1/users/{}/roles", ids::MARGE),
            None,
        )
        .await;
    assert_eq!(none, json!([]));
}

#[tokio::test]
async fn over_budget_requests_get_e0000047_with_rate_headers() {
    let sim = OktaSim::with_config(OktaSimConfig {
        rate_limit: 3,
        rate_window: Duration::from_secs(2),
        ..OktaSimConfig::default()
    });
    let org = Org::start(sim).await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = org
            .call(Method::GET, &format!("/api/v1/users/{}", ids::HANK), None)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let header = |name: &str| {
            response.headers()[name]
                .to_str()
                .expect("ascii")
                .parse::<i64>()
                .expect("number")
        };
        assert_eq!(header("x-rate-limit-limit"), 3);
        assert!(header("x-rate-limit-reset") >= chrono::Utc::now().timestamp());
        remaining.push(header("x-rate-limit-remaining"));
    }
    assert_eq!(remaining, [2, 1, 0]);
    let (status, body) = org.json(Method::GET, "/api/v1/users", None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_error(&body, "E0000047");
    assert_eq!(
        body["errorSummary"],
        "API call exceeded rate limit due to too many requests."
    );

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        org.call(Method::GET, "/api/v1/users", None).await.status(),
        StatusCode::OK
    );

    org.sim.throttle_next(1);
    assert_eq!(
        org.call(Method::GET, "/api/v1/users", None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        org.call(Method::GET, "/api/v1/users", None).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn injected_faults_are_answered_in_oktas_shape() {
    let sim = OktaSim::seeded();
    let server = sim
        .start(Faults {
            rate_limit_every: 2,
            retry_after_secs: 3,
            ..Faults::default()
        })
        .await
        .expect("sim starts");
    let org = Org {
        sim,
        server,
        http: Client::new(),
    };
    assert_eq!(
        org.call(Method::GET, "/api/v1/users", None).await.status(),
        StatusCode::OK
    );
    let throttled = org.call(Method::GET, "/api/v1/users", None).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        !throttled.headers().contains_key("retry-after"),
        "Okta sends no Retry-After"
    );
    let reset: i64 = throttled.headers()["x-rate-limit-reset"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("epoch seconds");
    assert!(reset >= chrono::Utc::now().timestamp() + 2);
    assert_error(&throttled.json::<Value>().await.expect("json"), "E0000047");
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A client assertion whose "signature" is the signing input reversed, which the test verifier
/// below accepts; real keys are exercised by the connector's tests.
fn assertion(claims: Value) -> String {
    let header = b64(br#"{"alg":"RS256","kid":"sim-key-1"}"#);
    let payload = b64(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{payload}");
    let signature: Vec<u8> = signing_input.bytes().rev().collect();
    format!("{signing_input}.{}", b64(&signature))
}

fn claims(token_url: &str, jti: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"iss": GLOBEX_CLIENT_ID, "sub": GLOBEX_CLIENT_ID, "aud": token_url, "iat": now, "exp": now + 300, "jti": jti})
}

async fn request_token(org: &Org, assertion: &str, scope: &str) -> (StatusCode, Value) {
    let response = org
        .http
        .post(org.url("/oauth2/v1/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .expect("sent");
    let status = response.status();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn client_credentials_with_private_key_jwt() {
    let verifier: stackhand_sim::okta::SignatureVerifier = Arc::new(|signed| {
        let expected: Vec<u8> = signed.signing_input.bytes().rev().collect();
        signed.header["kid"] == "sim-key-1" && signed.signature == expected.as_slice()
    });
    let sim = OktaSim::with_config(OktaSimConfig {
        clients: vec![OAuthClient {
            client_id: GLOBEX_CLIENT_ID.into(),
            scopes: vec!["okta.users.read".into(), "okta.groups.read".into()],
            verifier: Some(verifier),
        }],
        ..OktaSimConfig::default()
    });
    let org = Org::start(sim).await;
    let token_url = org.url("/oauth2/v1/token");

    let good = assertion(claims(&token_url, "jti-1"));
    let (status, token) = request_token(&org, &good, "okta.users.read").await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    assert_eq!(token["scope"], "okta.users.read");
    let access = token["access_token"].as_str().expect("token").to_string();

    let read = org
        .http
        .get(org.url(&format!("/api/v1/users/{}", ids::HANK)))
        .bearer_auth(&access)
        .send()
        .await
        .expect("sent");
    assert_eq!(read.status(), StatusCode::OK);
    let write = org
        .http
        .post(org.url(&format!("/api/v1/users/{}/lifecycle/suspend", ids::HANK)))
        .bearer_auth(&access)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        write.status(),
        StatusCode::FORBIDDEN,
        "okta.users.manage was not granted"
    );
    assert!(
        write.headers()["www-authenticate"]
            .to_str()
            .is_ok_and(|v| v.contains("insufficient_scope"))
    );
    assert_error(&write.json::<Value>().await.expect("json"), "E0000006");

    let (status, body) = request_token(&org, &good, "okta.users.read").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a jti is single-use");
    assert_eq!(body["error"], "invalid_client");

    let wrong_aud = assertion(claims(
        "https://globex.okta.com/oauth2/default/v1/token",
        "jti-2",
    ));
    let (status, body) = request_token(&org, &wrong_aud, "okta.users.read").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("audience"))
    );

    let mut forged = assertion(claims(&token_url, "jti-3"));
    forged.push_str("AAAA");
    let (status, body) = request_token(&org, &forged, "okta.users.read").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("signature"))
    );

    let mut other_client = claims(&token_url, "jti-4");
    other_client["sub"] = json!("someone-else");
    let (status, _) = request_token(&org, &assertion(other_client), "okta.users.read").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = request_token(
        &org,
        &assertion(claims(&token_url, "jti-5")),
        "okta.users.manage",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");

    let (status, body) = request_token(&org, "not-a-jwt", "okta.users.read").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");

    let secret = org
        .http
        .post(&token_url)
        .basic_auth(GLOBEX_CLIENT_ID, Some("secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "okta.users.read"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(
        secret.status(),
        StatusCode::UNAUTHORIZED,
        "okta.* scopes need private_key_jwt"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_oktas_shape() {
    let org = Org::seeded().await;
    let (status, body) = org.json(Method::GET, "/api/v1/apps", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "E0000007");
    let (status, body) = org.json(Method::PATCH, "/api/v1/users", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&body, "E0000022");
}

#[tokio::test]
async fn roles_assigned_to_a_group_reach_its_members() {
    let org = Org::seeded().await;
    let (status, roles) = org
        .json(
            Method::GET,
            &format!("/api/v1/groups/{}/roles", ids::OKTA_ADMINS),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(roles[0]["type"], "ORG_ADMIN");
    assert_eq!(roles[0]["assignmentType"], "GROUP");
    let (_, none) = org
        .json(
            Method::GET,
            &format!("/api/v1/groups/{}/roles", ids::FINANCE),
            None,
        )
        .await;
    assert_eq!(none, json!([]));
    // The user's list carries the group's role, its assignee the group.
    let (_, held) = org
        .json(
            Method::GET,
            &format!("/api/v1/users/{}/roles", ids::OTTO),
            None,
        )
        .await;
    assert_eq!(held.as_array().map(Vec::len), Some(1));
    assert_eq!(held[0]["assignmentType"], "GROUP");
    assert!(
        held[0]["_links"]["assignee"]["href"]
            .as_str()
            .is_some_and(|h| h.ends_with(&format!("/api/v1/groups/{}", ids::OKTA_ADMINS)))
    );
    let (status, body) = org
        .json(
            Method::GET,
            "/api/v1/groups/00g1nosuchgroup00000/roles",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "E0000007");
}

#[tokio::test]
async fn the_org_is_seeded_from_the_world() {
    use stackhand_sim::world::{AccountStatus, World};

    // The built-in world: every person and group, profiles in Okta's words.
    let world = World::builtin();
    let globex = world.tenant("globex").expect("globex");
    let org = Org::seeded().await;
    assert_eq!(org.sim.users().len(), globex.people.len());
    for person in &globex.people {
        let user = org.sim.user(&person.email(globex)).expect(&person.key);
        assert_eq!(user.id, person.id);
    }
    for group in &globex.groups {
        assert_eq!(
            org.sim.group(&group.id).expect(&group.name).name(),
            group.name
        );
    }
    let (_, carl) = org
        .json(Method::GET, &format!("/api/v1/users/{}", ids::CARL), None)
        .await;
    assert_eq!(carl["profile"]["manager"], "Lenny Leonard");
    assert_eq!(carl["profile"]["managerId"], ids::LENNY);
    assert_eq!(carl["profile"]["organization"], "Globex Corporation");
    assert_eq!(carl["profile"]["department"], "Engineering");
    // Okta Verify's push and code factors share an enrolment; a phone is an sms factor.
    let lenny = org.sim.user(ids::LENNY).expect("lenny");
    let factors: Vec<(&str, Option<&str>)> = lenny
        .factors
        .iter()
        .map(|f| (f.factor_type.as_str(), f.okta_verify_enrollment.as_deref()))
        .collect();
    assert_eq!(
        factors,
        [
            ("push", Some("ovlenny")),
            ("token:software:totp", Some("ovlenny")),
            ("sms", None)
        ]
    );
    let bart = org.sim.user(ids::BART).expect("bart");
    assert_eq!(
        (bart.status, bart.password.is_none()),
        (UserStatus::Staged, true)
    );
    assert_eq!(org.sim.user(ids::OTTO).expect("otto").sessions, 0);
    let everyone = org.sim.group(ids::EVERYONE).expect("everyone");
    assert_eq!(
        (everyone.group_type, everyone.members.len()),
        (GroupType::BuiltIn, globex.people.len())
    );
    let imported = org.sim.group(ids::AD_ADMINS).expect("imported");
    assert_eq!(imported.group_type, GroupType::AppGroup);
    assert_eq!(imported.profile["samAccountName"], "Domain Admins");
    assert_eq!(
        imported.profile["description"],
        "Imported from Active Directory"
    );

    // Another world: its own API token, a disabled leaver synced from the directory.
    let mut world = world.clone();
    let tenant = world.tenant_mut("globex").expect("globex");
    let okta = tenant.okta.as_mut().expect("okta");
    okta.api_token = "00anotherWorldsToken000000000000000000000".into();
    okta.directory = Some("plant.globex.local".into());
    let mut moe = tenant.person("marge.simpson").expect("marge").clone();
    moe.key = "moe.szyslak".into();
    moe.id = "00u1moeszyslak000012".into();
    moe.login = "moe.szyslak".into();
    moe.given = Some("Moe".into());
    moe.surname = Some("Szyslak".into());
    moe.status = AccountStatus::Disabled;
    moe.synced = true;
    tenant.people.push(moe);
    tenant
        .groups
        .iter_mut()
        .find(|g| g.name == "Sales")
        .expect("sales")
        .members
        .push("moe.szyslak".into());

    let org = Org::start(OktaSim::from_world(&world)).await;
    let moe = org.sim.user("moe.szyslak").expect("seeded from the world");
    assert_eq!(moe.status, UserStatus::Suspended);
    assert!(org.sim.is_member("moe.szyslak", "Sales"));
    assert!(org.sim.is_member("moe.szyslak", "Everyone"));
    let response = org
        .http
        .get(org.url("/api/v1/users/00u1moeszyslak000012"))
        .header(
            "Authorization",
            "SSWS 00anotherWorldsToken000000000000000000000",
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "SUSPENDED");
    assert_eq!(body["profile"]["login"], "moe.szyslak@globex.example");
    assert_eq!(body["credentials"]["provider"]["type"], "ACTIVE_DIRECTORY");
    assert_eq!(
        body["credentials"]["provider"]["name"],
        "plant.globex.local"
    );
    // The built-in world's token is not this org's.
    let (status, _) = org.json(Method::GET, "/api/v1/users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
