//! The typed Okta client: one method per Management API call the connector makes, on the shared
//! `stackhand-http` stack (auth, retries, `X-Rate-Limit-*` budget, error mapping, `Link` paging).

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use stackhand_core::{Error, Result, TenantId};
use stackhand_http::{
    Auth, ClientAuth, ClientCredentials, HttpClient, Paging, RequestBuilder, RetryConfig,
    XRateLimitHeaders,
};

use crate::config::{OktaAuth, OktaConfig};
use crate::error::{OktaErrorParser, refine};
use crate::models::{
    CreateUserRequest, OktaFactor, OktaGroup, OktaProfile, OktaUser, PasswordValue,
    ResetPasswordToken, RoleAssignment, SetPasswordRequest, TempPassword, WritableCredentials,
};

/// Lifecycle operations without output (`POST /api/v1/users/{id}/lifecycle/{op}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// `LOCKED_OUT` -> `ACTIVE`.
    Unlock,
    /// Every factor back to unenrolled.
    ResetFactors,
    /// `ACTIVE` -> `SUSPENDED`.
    Suspend,
    /// `SUSPENDED` -> `ACTIVE`.
    Unsuspend,
    /// Anything -> `DEPROVISIONED`. Irreversible: app assignments are deprovisioned.
    Deactivate,
    /// `STAGED` / `DEPROVISIONED` -> `ACTIVE` (or `PROVISIONED` without a password); no email.
    Activate,
}

impl Lifecycle {
    fn path(self) -> &'static str {
        match self {
            Lifecycle::Unlock => "unlock",
            Lifecycle::ResetFactors => "reset_factors",
            Lifecycle::Suspend => "suspend",
            Lifecycle::Unsuspend => "unsuspend",
            Lifecycle::Deactivate => "deactivate",
            Lifecycle::Activate => "activate",
        }
    }

    fn query(self) -> &'static [(&'static str, &'static str)] {
        match self {
            // Okta would email the admin / the user by default; the runner tells people itself.
            Lifecycle::Deactivate | Lifecycle::Activate => &[("sendEmail", "false")],
            _ => &[],
        }
    }

    /// Whether sending twice is harmless, so a 429 or 5xx may be retried. Deactivation is not
    /// retried: its second call would answer with a misleading validation error.
    fn retry_safe(self) -> bool {
        !matches!(self, Lifecycle::Deactivate | Lifecycle::Activate)
    }
}

/// Percent-encode one path segment (a user id, a login with `@`, a group id).
pub(crate) fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A quoted string in an Okta search expression.
pub(crate) fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The Okta Management API for one org and one tenant.
#[derive(Debug, Clone)]
pub struct OktaClient {
    http: HttpClient,
    page_size: u32,
    read_admin_roles: bool,
}

impl OktaClient {
    /// Build from validated configuration; `http` injects a shared `reqwest` client.
    pub fn new(
        tenant: TenantId,
        config: &OktaConfig,
        http: Option<reqwest::Client>,
    ) -> Result<Self> {
        config.validate()?;
        let http = http.unwrap_or_default();
        let auth = match &config.auth {
            OktaAuth::ApiToken { api_token } => Auth::authorization("SSWS", api_token),
            OktaAuth::PrivateKeyJwt {
                client_id,
                private_key_pem,
                key_id,
                scopes,
            } => Auth::bearer(
                ClientCredentials::new(
                    config.token_endpoint()?,
                    client_id.clone(),
                    ClientAuth::PrivateKeyJwt {
                        key_pem: private_key_pem.clone(),
                        key_id: key_id.clone(),
                        x5t: None,
                    },
                )
                .scopes(scopes.iter().cloned())
                .http_client(http.clone()),
            ),
        };
        let client = HttpClient::builder("okta", tenant, config.api_url()?)
            .auth(auth)
            .retry(RetryConfig {
                max_attempts: config.max_attempts,
                ..RetryConfig::default()
            })
            .rate_headers(Arc::new(XRateLimitHeaders {
                reserve: config.rate_limit_reserve,
            }))
            .error_parser(Arc::new(OktaErrorParser))
            .default_header("Accept", "application/json")
            .timeout(Duration::from_secs(config.timeout_secs))
            .client(http)
            .build()?;
        Ok(Self {
            http: client,
            page_size: config.page_size,
            read_admin_roles: config.read_admin_roles,
        })
    }

    /// The tenant served.
    pub fn tenant(&self) -> &TenantId {
        self.http.tenant()
    }

    /// The underlying HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Whether admin roles are read.
    pub fn reads_admin_roles(&self) -> bool {
        self.read_admin_roles
    }

    async fn json<T: serde::de::DeserializeOwned>(request: RequestBuilder) -> Result<T> {
        request.send_json().await.map_err(refine)
    }

    async fn empty(request: RequestBuilder) -> Result<()> {
        request.send().await.map(drop).map_err(refine)
    }

    /// `GET /api/v1/users?limit=1`: credentials and reachability.
    pub async fn probe(&self) -> Result<()> {
        let _: Vec<OktaUser> = Self::json(
            self.http
                .get("users")
                .query(&[("limit", "1")])
                .operation("health"),
        )
        .await?;
        Ok(())
    }

    /// `GET /api/v1/users/{id|login}`.
    pub async fn get_user(&self, id_or_login: &str) -> Result<OktaUser> {
        Self::json(
            self.http
                .get(&format!("users/{}", segment(id_or_login)))
                .operation("get_user"),
        )
        .await
    }

    /// `GET /api/v1/users/{id}/roles`: the user's admin roles, those assigned to the user
    /// (`assignmentType: USER`) and those held through a group (`GROUP`).
    pub async fn user_roles(&self, user_id: &str) -> Result<Vec<RoleAssignment>> {
        Self::roles(
            self.http
                .get(&format!("users/{}/roles", segment(user_id)))
                .operation("list_user_roles"),
        )
        .await
    }

    /// `GET /api/v1/groups/{groupId}/roles`: the admin roles assigned to a group, which every
    /// member holds.
    pub async fn group_roles(&self, group_id: &str) -> Result<Vec<RoleAssignment>> {
        Self::roles(
            self.http
                .get(&format!("groups/{}/roles", segment(group_id)))
                .operation("list_group_roles"),
        )
        .await
    }

    async fn roles(request: RequestBuilder) -> Result<Vec<RoleAssignment>> {
        Self::json(request).await.map_err(|e| {
            let message = format!(
                "{} (reading admin roles needs the okta.roles.read scope or an admin token; set read_admin_roles = false to skip, and lose admin protection)",
                e.message()
            );
            let kind = e.kind();
            crate::error::rebuild(e, kind, message)
        })
    }

    /// `GET /api/v1/users?search=...`, every page.
    pub async fn search_users(&self, expression: &str) -> Result<Vec<OktaUser>> {
        self.http
            .get("users")
            .query(&[
                ("search", expression),
                ("limit", &self.page_size.to_string()),
            ])
            .operation("search_users")
            .collect_pages(Paging::link_header(""))
            .await
            .map_err(refine)
    }

    /// `POST /api/v1/users/{id}/lifecycle/reset_password?sendEmail=false&revokeSessions=`.
    pub async fn reset_password_link(
        &self,
        user_id: &str,
        revoke_sessions: bool,
    ) -> Result<SecretString> {
        let token: ResetPasswordToken = Self::json(
            self.http
                .post(&format!(
                    "users/{}/lifecycle/reset_password",
                    segment(user_id)
                ))
                .query(&[
                    ("sendEmail", "false"),
                    (
                        "revokeSessions",
                        if revoke_sessions { "true" } else { "false" },
                    ),
                ])
                .operation("reset_password")
                .retry_safe(),
        )
        .await?;
        token
            .reset_password_url
            .filter(|url| !url.expose_secret().is_empty())
            .ok_or_else(|| {
                Error::invalid("Okta answered reset_password without a resetPasswordUrl")
            })
    }

    /// `POST /api/v1/users/{id}/lifecycle/expire_password_with_temp_password?revokeSessions=`.
    pub async fn temporary_password(
        &self,
        user_id: &str,
        revoke_sessions: bool,
    ) -> Result<SecretString> {
        let temp: TempPassword = Self::json(
            self.http
                .post(&format!(
                    "users/{}/lifecycle/expire_password_with_temp_password",
                    segment(user_id)
                ))
                .query(&[(
                    "revokeSessions",
                    if revoke_sessions { "true" } else { "false" },
                )])
                .operation("expire_password_with_temp_password")
                .retry_safe(),
        )
        .await?;
        Ok(temp.temp_password)
    }

    /// `POST /api/v1/users/{id}` with `credentials.password.value` (admin set, no forced change).
    pub async fn set_password(&self, user_id: &str, password: &SecretString) -> Result<OktaUser> {
        let body = SetPasswordRequest {
            credentials: WritableCredentials {
                password: PasswordValue {
                    value: password.expose_secret(),
                },
            },
        };
        Self::json(
            self.http
                .post(&format!("users/{}", segment(user_id)))
                .json(&body)
                .operation("set_password")
                .retry_safe(),
        )
        .await
    }

    /// `POST /api/v1/users/{id}/lifecycle/{op}`.
    pub async fn lifecycle(&self, user_id: &str, op: Lifecycle) -> Result<()> {
        let mut request = self
            .http
            .post(&format!(
                "users/{}/lifecycle/{}",
                segment(user_id),
                op.path()
            ))
            .operation(op.path());
        if !op.query().is_empty() {
            request = request.query(op.query());
        }
        if op.retry_safe() {
            request = request.retry_safe();
        }
        Self::empty(request).await
    }

    /// `GET /api/v1/users/{userId}/factors`.
    pub async fn factors(&self, user_id: &str) -> Result<Vec<OktaFactor>> {
        Self::json(
            self.http
                .get(&format!("users/{}/factors", segment(user_id)))
                .operation("list_factors"),
        )
        .await
    }

    /// `DELETE /api/v1/users/{userId}/sessions?oauthTokens=true&forgetDevices=true`.
    pub async fn revoke_sessions(&self, user_id: &str) -> Result<()> {
        Self::empty(
            self.http
                .delete(&format!("users/{}/sessions", segment(user_id)))
                .query(&[("oauthTokens", "true"), ("forgetDevices", "true")])
                .operation("revoke_sessions"),
        )
        .await
    }

    /// `GET /api/v1/users/{id}/groups`.
    pub async fn user_groups(&self, user_id: &str) -> Result<Vec<OktaGroup>> {
        Self::json(
            self.http
                .get(&format!("users/{}/groups", segment(user_id)))
                .operation("list_user_groups"),
        )
        .await
    }

    /// `GET /api/v1/groups/{groupId}`.
    pub async fn get_group(&self, group_id: &str) -> Result<OktaGroup> {
        Self::json(
            self.http
                .get(&format!("groups/{}", segment(group_id)))
                .operation("get_group"),
        )
        .await
    }

    /// `GET /api/v1/groups?search=...`, every page.
    pub async fn search_groups(&self, expression: &str) -> Result<Vec<OktaGroup>> {
        self.http
            .get("groups")
            .query(&[
                ("search", expression),
                ("limit", &self.page_size.to_string()),
            ])
            .operation("search_groups")
            .collect_pages(Paging::link_header(""))
            .await
            .map_err(refine)
    }

    /// `PUT /api/v1/groups/{groupId}/users/{userId}`.
    pub async fn add_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        Self::empty(
            self.http
                .put(&format!(
                    "groups/{}/users/{}",
                    segment(group_id),
                    segment(user_id)
                ))
                .operation("assign_user_to_group"),
        )
        .await
    }

    /// `DELETE /api/v1/groups/{groupId}/users/{userId}`.
    pub async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        Self::empty(
            self.http
                .delete(&format!(
                    "groups/{}/users/{}",
                    segment(group_id),
                    segment(user_id)
                ))
                .operation("unassign_user_from_group"),
        )
        .await
    }

    /// `POST /api/v1/users?activate=true&nextLogin=changePassword`: active at once, password to
    /// change at first sign-in.
    pub async fn create_user(
        &self,
        profile: &OktaProfile,
        password: &SecretString,
    ) -> Result<OktaUser> {
        let body = CreateUserRequest {
            profile,
            credentials: WritableCredentials {
                password: PasswordValue {
                    value: password.expose_secret(),
                },
            },
        };
        Self::json(
            self.http
                .post("users")
                .query(&[("activate", "true"), ("nextLogin", "changePassword")])
                .json(&body)
                .operation("create_user"),
        )
        .await
    }
}
