//! Who is calling: a bearer token, the staff member it acts as, and the tenants that member may
//! see through it. Every refusal is audited before it is answered (ADR 0010).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Uri, header};
use stackhand_core::{Principal, PrincipalKind, TenantId};
use stackhand_store::{AccessRefusal, ApiTokenRecord, NOT_A_LIVE_TOKEN, Refused, bearer_token};

use crate::Api;
use crate::error::ApiError;

/// The chain refusals go to when the call names no tenant the deployment has.
pub const ACCESS_CHAIN: &str = "_access";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) token: ApiTokenRecord,
}

/// A caller in a tenant it may see, as the directory knows them there.
#[derive(Debug, Clone)]
pub(crate) struct Scoped {
    pub(crate) tenant: TenantId,
    pub(crate) principal: Principal,
}

/// The request being answered: its credentials, and what refusal records name.
pub(crate) struct Asked {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    /// The peer's address, when the server was started with connection info.
    pub(crate) source: Option<IpAddr>,
}

impl<S: Send + Sync> FromRequestParts<S> for Asked {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
            source: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        })
    }
}

/// Whether the directory's member may see a tenant at all: MSP-side principals (technicians,
/// agents, the system) see every tenant; a client's person only those where the directory
/// gives them a role or an approver group.
fn sees(principal: &Principal) -> bool {
    match principal.kind {
        PrincipalKind::EndUser => !principal.roles.is_empty() || !principal.groups.is_empty(),
        _ => true,
    }
}

/// The tenant a path names (`/v1/tenants/<tenant>/...`), if any.
fn tenant_in(uri: &Uri) -> Option<&str> {
    uri.path()
        .strip_prefix("/v1/tenants/")
        .and_then(|rest| rest.split('/').next())
        .filter(|t| !t.is_empty())
}

impl Api {
    /// The caller behind the request's bearer token, or 401 (audited).
    pub(crate) async fn caller(&self, asked: &Asked) -> Result<Caller, ApiError> {
        let bearer = asked
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        let why = match bearer {
            None => "no bearer token",
            Some(token) => match self.store().authenticate_api_token(token).await? {
                Some(token) => return Ok(Caller { token }),
                None => NOT_A_LIVE_TOKEN,
            },
        };
        Err(self
            .refuse(
                asked,
                None,
                tenant_in(&asked.uri),
                ApiError::unauthenticated(),
                why,
            )
            .await)
    }

    /// The caller in `tenant`, or 403 (audited), the same whether the tenant does not exist,
    /// lies outside the token's tenants, or the directory gives the member nothing there.
    pub(crate) async fn scoped(
        &self,
        asked: &Asked,
        caller: &Caller,
        tenant: &str,
    ) -> Result<Scoped, ApiError> {
        if let Some(principal) = self.visible(caller, tenant) {
            return Ok(Scoped {
                tenant: TenantId::new(tenant)?,
                principal,
            });
        }
        let why = if caller.token.allows_str(tenant) {
            "the tenant does not exist or the directory gives the member no standing there"
        } else {
            "the tenant is outside the token's tenants"
        };
        Err(self
            .refuse(
                asked,
                Some(caller),
                Some(tenant),
                ApiError::forbidden(tenant),
                why,
            )
            .await)
    }

    /// The member as the directory knows them in `tenant`, when the caller may see it.
    pub(crate) fn visible(&self, caller: &Caller, tenant: &str) -> Option<Principal> {
        let tenant = TenantId::new(tenant).ok()?;
        let deployment = self.pipeline().deployment();
        if !deployment.tenants().contains(&tenant) || !caller.token.allows(&tenant) {
            return None;
        }
        deployment
            .engine()
            .staff_principal(&tenant, &caller.token.principal)
            .ok()
            .flatten()
            .filter(sees)
    }

    /// Audit a refusal, in the chain of the tenant the call named when the deployment has
    /// it, else in [`ACCESS_CHAIN`] (never the token, only its id), and say what to answer:
    /// `refusal`, or 429 when the caller's address is past its budget of recorded refusals.
    async fn refuse(
        &self,
        asked: &Asked,
        caller: Option<&Caller>,
        tenant: Option<&str>,
        refusal: ApiError,
        why: &str,
    ) -> ApiError {
        let deployment = self.pipeline().deployment();
        let named = tenant
            .and_then(|t| TenantId::new(t).ok())
            .filter(|t| deployment.tenants().contains(t));
        let chain = match named {
            Some(tenant) => tenant,
            None => match TenantId::new(ACCESS_CHAIN) {
                Ok(chain) => chain,
                Err(e) => return e.into(),
            },
        };
        let recorded = self
            .store()
            .audit_refusal(AccessRefusal {
                chain: &chain,
                source: asked.source,
                status: refusal.status().as_u16(),
                method: asked.method.as_str(),
                path: asked.uri.path(),
                tenant,
                token: caller.map(|c| &c.token),
                why,
            })
            .await;
        match recorded {
            Ok(Refused::Recorded) => refusal,
            Ok(Refused::Throttled { retry_after_secs }) => ApiError::throttled(retry_after_secs),
            // Refused all the same, as the store's failure.
            Err(e) => e.into(),
        }
    }
}

/// A token's tenants checked against a raw path segment.
trait AllowsStr {
    fn allows_str(&self, tenant: &str) -> bool;
}

impl AllowsStr for ApiTokenRecord {
    fn allows_str(&self, tenant: &str) -> bool {
        TenantId::new(tenant).is_ok_and(|t| self.allows(&t))
    }
}
