//! The typed Okta client: one method per Management API call the connector makes, on the shared
//! `stackhand-http` stack (auth, retries, `X-Rate-Limit-*` budget, error mapping, `Link` paging).
//!
//! Crate-private: its write methods take no [`ExecutionProof`](stackhand_core::ExecutionProof),
//! so only the capability and action code that received one reaches them.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use stackhand_core::{BuildContext, Error, ErrorKind, Result, TenantId};
use stackhand_http::{
    Auth, ClientAuth, ClientCredentials, HttpClient, HttpHost, Paging, RequestBuilder,
    XRateLimitHeaders, encode_segment,
};

use crate::VENDOR;
use crate::config::{OktaAuth, OktaConfig, ROLES_SCOPE};
use crate::error::OktaErrorParser;
use crate::models::{
    CreateUserRequest, OktaFactor, OktaGroup, OktaProfile, OktaUser, ResetPasswordToken,
    RoleAssignment, SetPasswordRequest, TempPassword, WritableCredentials,
};

/// Lifecycle operations without output (`POST /api/v1/users/{id}/lifecycle/{op}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
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

    /// Whether sending twice is harmless, so a temporary failure may be retried. Deactivation
    /// is not retried: its second call would answer with a misleading validation error.
    fn retry_safe(self) -> bool {
        !matches!(self, Lifecycle::Deactivate | Lifecycle::Activate)
    }
}

/// A quoted string in an Okta search expression.
pub(crate) fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One path segment from input (an id, a login), percent-encoded; an empty, `.` or `..`
/// value is refused before any call, as it would address another resource.
fn segment(what: &str, value: &str) -> Result<String> {
    if matches!(value.trim(), "" | "." | "..") {
        return Err(Error::invalid(format!(
            "{VENDOR}: {value:?} is not a valid {what}"
        )));
    }
    Ok(encode_segment(value))
}

/// `users/{id}` and below.
fn user_path(user_id: &str, rest: &str) -> Result<String> {
    Ok(format!(
        "users/{}{rest}",
        segment("user id or login", user_id)?
    ))
}

/// `groups/{id}` and below.
fn group_path(group_id: &str, rest: &str) -> Result<String> {
    Ok(format!("groups/{}{rest}", segment("group id", group_id)?))
}

/// The Okta Management API for one org and one tenant.
#[derive(Debug, Clone)]
pub(crate) struct OktaClient {
    http: HttpClient,
    page_size: u32,
    read_admin_roles: bool,
}

impl OktaClient {
    /// A client for `ctx`'s tenant from validated configuration, on the host's shared
    /// connection pool and rate limits with the `http` table applied. `credential` is the
    /// resolved secret of `config.auth` (the API token, or the private key).
    pub(crate) fn new(
        ctx: &BuildContext,
        config: &OktaConfig,
        credential: SecretString,
    ) -> Result<Self> {
        let http = HttpClient::for_context(ctx, VENDOR, config.api_url()?, &config.http)
            .auth(auth(ctx, config, credential)?)
            .rate_headers(Arc::new(XRateLimitHeaders {
                reserve: config.rate_limit_reserve,
            }))
            .error_parser(Arc::new(OktaErrorParser))
            .default_header("Accept", "application/json")
            .build()?;
        Ok(Self {
            http,
            page_size: config.page_size()?,
            read_admin_roles: config.read_admin_roles,
        })
    }

    /// The tenant served.
    pub(crate) fn tenant(&self) -> &TenantId {
        self.http.tenant()
    }

    /// Whether admin roles are read.
    pub(crate) fn reads_admin_roles(&self) -> bool {
        self.read_admin_roles
    }

    /// `GET /api/v1/users?limit=1`: credentials and reachability.
    pub(crate) async fn probe(&self) -> Result<()> {
        let _: Vec<OktaUser> = self
            .http
            .get("users")
            .query(&[("limit", "1")])
            .operation("health")
            .send_json()
            .await?;
        Ok(())
    }

    /// `GET /api/v1/users/{id|login}`.
    pub(crate) async fn get_user(&self, id_or_login: &str) -> Result<OktaUser> {
        self.http
            .get(&user_path(id_or_login, "")?)
            .operation("get_user")
            .send_json()
            .await
    }

    /// `GET /api/v1/users/{id}/roles`: the user's admin roles, those assigned to the user
    /// (`assignmentType: USER`) and those held through a group (`GROUP`).
    pub(crate) async fn user_roles(&self, user_id: &str) -> Result<Vec<RoleAssignment>> {
        roles(
            self.http
                .get(&user_path(user_id, "/roles")?)
                .operation("list_user_roles"),
        )
        .await
    }

    /// `GET /api/v1/groups/{groupId}/roles`: the admin roles assigned to a group, which every
    /// member holds.
    pub(crate) async fn group_roles(&self, group_id: &str) -> Result<Vec<RoleAssignment>> {
        roles(
            self.http
                .get(&group_path(group_id, "/roles")?)
                .operation("list_group_roles"),
        )
        .await
    }

    /// `GET /api/v1/users?search=...`, every page.
    pub(crate) async fn search_users(&self, expression: &str) -> Result<Vec<OktaUser>> {
        self.search("users", "search_users", expression).await
    }

    /// `GET /api/v1/groups?search=...`, every page.
    pub(crate) async fn search_groups(&self, expression: &str) -> Result<Vec<OktaGroup>> {
        self.search("groups", "search_groups", expression).await
    }

    /// `GET /api/v1/{collection}?search=...&limit=`, following `Link: rel="next"` to the end.
    async fn search<T: serde::de::DeserializeOwned>(
        &self,
        collection: &str,
        operation: &'static str,
        expression: &str,
    ) -> Result<Vec<T>> {
        self.http
            .get(collection)
            .query(&[
                ("search", expression),
                ("limit", &self.page_size.to_string()),
            ])
            .operation(operation)
            .collect_pages(Paging::link_header(""))
            .await
    }

    /// `POST /api/v1/users/{id}/lifecycle/reset_password?sendEmail=false&revokeSessions=`.
    pub(crate) async fn reset_password_link(
        &self,
        user_id: &str,
        revoke_sessions: bool,
    ) -> Result<SecretString> {
        let token: ResetPasswordToken = self
            .http
            .post(&user_path(user_id, "/lifecycle/reset_password")?)
            .query(&[
                ("sendEmail", "false"),
                ("revokeSessions", flag(revoke_sessions)),
            ])
            .operation("reset_password")
            .retry_safe()
            .send_json()
            .await?;
        token
            .reset_password_url
            .filter(|url| !url.expose_secret().is_empty())
            .ok_or_else(|| {
                Error::invalid("Okta answered reset_password without a resetPasswordUrl")
            })
    }

    /// `POST /api/v1/users/{id}/lifecycle/expire_password_with_temp_password?revokeSessions=`.
    pub(crate) async fn temporary_password(
        &self,
        user_id: &str,
        revoke_sessions: bool,
    ) -> Result<SecretString> {
        let temp: TempPassword = self
            .http
            .post(&user_path(
                user_id,
                "/lifecycle/expire_password_with_temp_password",
            )?)
            .query(&[("revokeSessions", flag(revoke_sessions))])
            .operation("expire_password_with_temp_password")
            .retry_safe()
            .send_json()
            .await?;
        Ok(temp.temp_password)
    }

    /// `POST /api/v1/users/{id}` with `credentials.password.value` (admin set, no forced change).
    pub(crate) async fn set_password(
        &self,
        user_id: &str,
        password: &SecretString,
    ) -> Result<OktaUser> {
        let body = SetPasswordRequest {
            credentials: WritableCredentials::password(password),
        };
        self.http
            .post(&user_path(user_id, "")?)
            .json(&body)
            .operation("set_password")
            .retry_safe()
            .send_json()
            .await
    }

    /// `POST /api/v1/users/{id}/lifecycle/{op}`.
    pub(crate) async fn lifecycle(&self, user_id: &str, op: Lifecycle) -> Result<()> {
        let mut request = self
            .http
            .post(&user_path(user_id, &format!("/lifecycle/{}", op.path()))?)
            .operation(op.path());
        if !op.query().is_empty() {
            request = request.query(op.query());
        }
        if op.retry_safe() {
            request = request.retry_safe();
        }
        request.send_empty().await
    }

    /// `GET /api/v1/users/{userId}/factors`.
    pub(crate) async fn factors(&self, user_id: &str) -> Result<Vec<OktaFactor>> {
        self.http
            .get(&user_path(user_id, "/factors")?)
            .operation("list_factors")
            .send_json()
            .await
    }

    /// `DELETE /api/v1/users/{userId}/sessions?oauthTokens=true&forgetDevices=true`.
    pub(crate) async fn revoke_sessions(&self, user_id: &str) -> Result<()> {
        self.http
            .delete(&user_path(user_id, "/sessions")?)
            .query(&[("oauthTokens", "true"), ("forgetDevices", "true")])
            .operation("revoke_sessions")
            .send_empty()
            .await
    }

    /// `GET /api/v1/users/{id}/groups`.
    pub(crate) async fn user_groups(&self, user_id: &str) -> Result<Vec<OktaGroup>> {
        self.http
            .get(&user_path(user_id, "/groups")?)
            .operation("list_user_groups")
            .send_json()
            .await
    }

    /// `GET /api/v1/groups/{groupId}`.
    pub(crate) async fn get_group(&self, group_id: &str) -> Result<OktaGroup> {
        self.http
            .get(&group_path(group_id, "")?)
            .operation("get_group")
            .send_json()
            .await
    }

    /// `PUT /api/v1/groups/{groupId}/users/{userId}`.
    pub(crate) async fn add_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.http
            .put(&member_path(group_id, user_id)?)
            .operation("assign_user_to_group")
            .send_empty()
            .await
    }

    /// `DELETE /api/v1/groups/{groupId}/users/{userId}`.
    pub(crate) async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        self.http
            .delete(&member_path(group_id, user_id)?)
            .operation("unassign_user_from_group")
            .send_empty()
            .await
    }

    /// `POST /api/v1/users?activate=true&nextLogin=changePassword`: active at once, password to
    /// change at first sign-in.
    pub(crate) async fn create_user(
        &self,
        profile: &OktaProfile,
        password: &SecretString,
    ) -> Result<OktaUser> {
        let body = CreateUserRequest {
            profile,
            credentials: WritableCredentials::password(password),
        };
        self.http
            .post("users")
            .query(&[("activate", "true"), ("nextLogin", "changePassword")])
            .json(&body)
            .operation("create_user")
            .send_json()
            .await
    }
}

/// How the client authenticates with the resolved `credential` of `config.auth`.
fn auth(ctx: &BuildContext, config: &OktaConfig, credential: SecretString) -> Result<Auth> {
    Ok(match &config.auth {
        OktaAuth::ApiToken { .. } => Auth::authorization("SSWS", &credential),
        OktaAuth::PrivateKeyJwt {
            client_id, key_id, ..
        } => Auth::bearer(
            ClientCredentials::new(
                config.token_endpoint()?,
                client_id.clone(),
                ClientAuth::PrivateKeyJwt {
                    key_pem: credential,
                    key_id: key_id.clone(),
                    x5t: None,
                },
            )
            .scopes(config.scopes())
            // Token requests share the host's hardened pool, like every API call.
            .http_client(HttpHost::of(ctx).client().clone()),
        ),
    })
}

/// A role listing. Okta refuses it without `okta.roles.read` (OAuth) or an admin behind the
/// token (SSWS): that refusal gets its own error saying how to proceed, with Okta's as the
/// source.
async fn roles(request: RequestBuilder) -> Result<Vec<RoleAssignment>> {
    request.send_json().await.map_err(|e| {
        if e.kind() != ErrorKind::Forbidden {
            return e;
        }
        Error::forbidden(format!(
            "Okta refused to list admin roles: reading them needs the {ROLES_SCOPE} scope or an \
             admin behind the API token; grant it, or set read_admin_roles = false to skip role \
             reads (every user then looks unprivileged to the policy)"
        ))
        .with_context("key", "read_admin_roles")
        .with_source(e)
    })
}

/// `true` / `false` for a query flag.
fn flag(on: bool) -> &'static str {
    if on { "true" } else { "false" }
}

/// `groups/{groupId}/users/{userId}`.
fn member_path(group_id: &str, user_id: &str) -> Result<String> {
    group_path(
        group_id,
        &format!("/users/{}", segment("user id", user_id)?),
    )
}
