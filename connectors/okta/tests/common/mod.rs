//! Shared test support: keys, fixtures in Okta's documented shapes, spec validation.
#![allow(dead_code)] // each test file uses a different part

use secrecy::SecretString;
use serde_json::{Value, json};
use stackhand_core::{BuildContext, SecretRef, TenantId};
use stackhand_http::{HttpSettings, RetryConfig};
use stackhand_okta::{OktaConfig, OktaConnector};
use stackhand_testkit::openapi::{ObservedRequest, Spec};

/// A throwaway RSA key generated for these tests only (never registered anywhere).
pub const TEST_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCFTws6pUZrcKaV\nS09/vf0uoJkuvq19XhUYSiVzqcVi+ukDg/4VDpk/Lx4bVeXwHd/eJW5GCDln1LBc\nwcEcuhJOkdJAD7L+n3hcTvmJfWqL3Fir5Y/ePArKkwpAH2PzOJKM6tLwWXlzGbx3\nAXOBqEAw/rpl7Kd6O+eY1JL6ctqvV8cmfVeKeYeIfw6d/KBuZd0O1623Bgn9bkOI\nm7GDWsIDLQ4t0RD7sWFhzEx70xwt6o+5P0/13QzR40xPGelnI5FbL3PKx9NAKuis\ntL4wZcvP/k3mri2SzsgPKWeeGpBYdyQ/Q3kIzWbhmt0ipEpd9ZA9/FbEN3m2LxGs\nWqqnxCYVAgMBAAECggEAEeMqEM+x/AMk2xX8oBmkYhALFd5ghZis8HIshdFTKsWb\npAzfOECZ+AQwwD69qIM9sX9oxU1ftIqxsnSOHrZp8/B1m4JvxGIuAobXTWdOd19U\n55XZQNriIM3rm3CK1w0xfuaYcMc0uGjM5NQFRXHH0Tsw1DHVxB1LJXLqmN/1736A\nZbZgVlCy6QTWR1E2WCZA7WL3PtQ6/zhyssdP5IqDyNlpexJTIz/1oGHJYoSHFLle\ndtIooj1mP8FF9RT27H7m5H1FhAkVxnWwbPJMSA8UCCc3yfTEcgBRYrEPbOm5wUfC\nmK7AIsyiWkwZAsI2h+ERiwM1VGVRUl8iBKUdJVzc0QKBgQC7jPInE3ZQJV+6X1IS\nBqiPlQtwuihdl06FErry6h/cGyd0Oi2OU7/TAs9kUDWAb62YBWUxazmaw06+Z3Di\nXFSMxo2f6s4uBj0LCAWtgkoC+rcIKNxp1opR8yv1akvxCFhGB0JHXD4LEkzLrw+f\nYx4oQlWn7hoElLUWL2WD+HHyJQKBgQC19joekB7JJlv7T8qYnOT1KWUMYnkrtmwx\ngLqcUu2kGKWlst8ARxJrYFKCUIvXFGrMXUrczaNHSZxUBVAMO4ZSfl8eSE7jv9fu\n/Wb01svKXoofII6Vz7TQRIPSX46z8/IRo4aF6gzkAMgSuNaEY8dNbk6aaV1M2XDy\nSb09ujOJMQKBgE7uEVcKpMc0A2aPCR4W+Ud8BVWKssQ4kk4ExPLIP2JFd0Q928BD\nVL58N0XTT8DevyL0WlMC+jo8qd4N8H8DNn4Mbbv4eI78ByKmXKVZ6MX6N59Sevh7\n1riIa16cPpuQ1H2cPnODyYSlTfaGlT+R2jY9PIkw9ngpEVDl34Y7v9CVAoGAOvpW\nGDXqZJRUV/6i0hh4daY3JG5+i9aS9vCci7KtZ/S9LBnwAe0HYVpVI/vrd4kcnKTY\ncP0OITsQuoMGURCyFuby+aPCPjueR85GorFEWJGP/0rULGaoWqD6gSOL43P8UA9K\nuPkFuJkwQDE9Bqg4nzZTr+Ta4t/PphiUh/9kWOECgYBhFZLV5cDdO5kcHV9FzMM7\ndzBunQluIc8B1Jq4dJ6VVWA/iWUEd0LOvgiuR4dz+ePs/9clCTpyWcOASswH+jHz\n6QC3Ft5K+gBT/QZJVhDAGGA8z8BlzLJFd28eWXRM6nYRAw8EeXTsGwV6VqmV5Wla\nP3oNkdZODlQ1boAjOib7lw==\n-----END PRIVATE KEY-----";
/// Its public half, for checking assertion signatures.
pub const TEST_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAhU8LOqVGa3CmlUtPf739\nLqCZLr6tfV4VGEolc6nFYvrpA4P+FQ6ZPy8eG1Xl8B3f3iVuRgg5Z9SwXMHBHLoS\nTpHSQA+y/p94XE75iX1qi9xYq+WP3jwKypMKQB9j8ziSjOrS8Fl5cxm8dwFzgahA\nMP66ZeynejvnmNSS+nLar1fHJn1XinmHiH8OnfygbmXdDtettwYJ/W5DiJuxg1rC\nAy0OLdEQ+7FhYcxMe9McLeqPuT9P9d0M0eNMTxnpZyORWy9zysfTQCrorLS+MGXL\nz/5N5q4tks7IDylnnhqQWHckP0N5CM1m4ZrdIqRKXfWQPfxWxDd5ti8RrFqqp8Qm\nFQIDAQAB\n-----END PUBLIC KEY-----";

/// The SSWS token the wiremock tests use.
pub const API_TOKEN: &str = "00wiremockSswsTokenForOktaTests000001";

pub fn tenant() -> TenantId {
    TenantId::new("globex").expect("valid tenant")
}

/// A secret supplied in code, as tests and embedders pass credentials.
pub fn secret(value: &str) -> SecretRef {
    SecretRef::value(SecretString::from(value))
}

/// The `http` table with `attempts` attempts per request and the default backoff.
pub fn attempts(attempts: u32) -> HttpSettings {
    HttpSettings {
        retry: RetryConfig {
            max_attempts: attempts,
            ..RetryConfig::default()
        },
        ..HttpSettings::default()
    }
}

/// An SSWS-token configuration for the server at `server_url`, three attempts per request.
pub fn token_config(server_url: &str) -> OktaConfig {
    OktaConfig::api_token(server_url.parse().expect("url"), secret(API_TOKEN))
        .with_http(attempts(3))
}

/// A `private_key_jwt` configuration for the server at `server_url`, as client `client_id`.
pub fn jwt_config(server_url: &str, client_id: &str) -> OktaConfig {
    OktaConfig::private_key_jwt(
        server_url.parse().expect("url"),
        client_id,
        secret(TEST_PRIVATE_KEY),
        Some("sh-test-key".into()),
    )
}

/// The connector for `tenant`, built the one way there is: through a build context.
pub async fn build(tenant: &TenantId, config: OktaConfig) -> OktaConnector {
    OktaConnector::build(&BuildContext::new(tenant.clone()), config)
        .await
        .expect("connector")
}

/// A user in the shape of the spec example `user-example`.
pub fn user(id: &str, login: &str, status: &str, provider: &str) -> Value {
    let (first, last) = login
        .split('@')
        .next()
        .and_then(|l| l.split_once('.'))
        .unwrap_or(("Pat", "Doe"));
    json!({
        "id": id,
        "status": status,
        "created": "2013-06-24T16:39:18.000Z",
        "activated": "2013-06-24T16:39:19.000Z",
        "statusChanged": "2013-06-24T16:39:19.000Z",
        "lastLogin": "2013-06-24T17:39:19.000Z",
        "lastUpdated": "2013-07-02T21:36:25.344Z",
        "passwordChanged": "2013-07-02T21:36:25.344Z",
        "profile": {
            "login": login, "email": login, "firstName": first, "lastName": last,
            "displayName": format!("{first} {last}"), "department": "Engineering", "title": "Director"
        },
        "credentials": {
            "password": {},
            "provider": {"type": provider, "name": if provider == "OKTA" { "OKTA" } else { "corp.example" }}
        },
        "_links": {"self": {"href": format!("https://globex.okta.com/api/v1/users/{id}")}}
    })
}

/// A group in the shape of the spec example `group-example`.
pub fn group(id: &str, name: &str, group_type: &str) -> Value {
    json!({
        "id": id,
        "created": "2015-02-06T10:11:28.000Z",
        "lastUpdated": "2015-10-05T19:16:43.000Z",
        "lastMembershipUpdated": "2015-11-28T19:15:32.000Z",
        "objectClass": [if group_type == "APP_GROUP" { "okta:windows_security_principal" } else { "okta:user_group" }],
        "type": group_type,
        "profile": {"name": name, "description": format!("{name} users")},
        "_links": {"users": {"href": format!("https://globex.okta.com/api/v1/groups/{id}/users")}}
    })
}

/// An error in Okta's envelope.
pub fn okta_error(code: &str, summary: &str, cause: Option<&str>) -> Value {
    json!({
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oaeSampleErrorId0001",
        "errorCauses": cause.map(|c| vec![json!({"errorSummary": c})]).unwrap_or_default()
    })
}

/// Whether the trimmed spec describes this request (the token endpoint is outside it).
fn in_spec(request: &ObservedRequest) -> bool {
    !request.path.contains("/oauth2/")
}

/// Validate every request but the token endpoint's against the Okta spec kept in the repository.
pub fn assert_requests_match_spec<'r, R>(requests: impl IntoIterator<Item = &'r R>)
where
    R: 'r,
    for<'a> &'a R: Into<ObservedRequest>,
{
    let spec = Spec::load("okta.yaml").expect("okta spec bundled");
    let observed: Vec<ObservedRequest> = requests
        .into_iter()
        .map(Into::into)
        .filter(in_spec)
        .collect();
    stackhand_testkit::assert_all_valid::<ObservedRequest>(&spec, &observed, "");
}
