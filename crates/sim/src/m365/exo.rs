//! The Exchange Online admin endpoint: `POST /adminapi/beta/{tenantId}/InvokeCommand` with
//! `{"CmdletInput":{"CmdletName":...,"Parameters":{...}}}`, the subset of cmdlets the
//! connector uses.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::M365Sim;
use super::state::{Audience, AutoReply, FullAccessGrant, SimMailbox, TenantState};
use super::token;
use crate::paging;
use crate::server::origin;

const SERVER: &str = "SIMPR01MB0001.namprd01.prod.outlook.com";

pub(crate) fn router(sim: M365Sim) -> Router {
    Router::new()
        .route("/adminapi/beta/{tenant}/InvokeCommand", post(invoke))
        .layer(axum::middleware::from_fn_with_state(sim.clone(), authorize))
        .with_state(sim)
}

/// EXO answers a missing or bad token with a bare 401 and a `WWW-Authenticate` challenge.
async fn authorize(State(sim): State<M365Sim>, request: Request, next: Next) -> Response {
    match token::check(&sim, request.headers(), Audience::Exchange) {
        Ok(_) => next.run(request).await,
        Err(_) => {
            let mut response = StatusCode::UNAUTHORIZED.into_response();
            response.headers_mut().insert(
                "WWW-Authenticate",
                HeaderValue::from_static(
                    "Bearer client_id=\"00000002-0000-0ff1-ce00-000000000000\", trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", token_types=\"app_asserted_user_v1 service_asserted_app_v1\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"invalid_token\"",
                ),
            );
            response
        }
    }
}

/// A cmdlet failure in EXO's envelope: the message is `Ex<hash>|<exception type>|<text>`
/// both in `error.message` and in `error.details[].message`.
#[derive(Debug)]
struct ExoError {
    status: StatusCode,
    code: &'static str,
    exception: &'static str,
    text: String,
}

impl ExoError {
    fn bad_request(exception: &'static str, text: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "BadRequest",
            exception,
            text: text.into(),
        }
    }

    fn not_found(identity: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "NotFound",
            exception: "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
            text: format!(
                "The operation couldn't be performed because object '{identity}' couldn't be found on '{SERVER}'."
            ),
        }
    }

    fn parameter(text: impl Into<String>) -> Self {
        Self::bad_request(
            "System.Management.Automation.ParameterBindingException",
            text,
        )
    }

    fn task(text: impl Into<String>) -> Self {
        Self::bad_request("Microsoft.Exchange.Configuration.Tasks.TaskException", text)
    }
}

impl IntoResponse for ExoError {
    fn into_response(self) -> Response {
        let message = format!("Ex6F9304|{}|{}", self.exception, self.text);
        let body = json!({
            "error": {
                "code": self.code,
                "message": message,
                "details": [{"code": "Context", "target": "", "message": message}],
                "innerError": {
                    "message": message,
                    "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                    "stacktrace": "",
                    "internalexception": {"message": self.text, "type": self.exception, "stacktrace": ""}
                },
                "adminapi.warnings@odata.type": "#Collection(String)",
                "@adminapi.warnings": []
            }
        });
        (self.status, Json(body)).into_response()
    }
}

/// What a cmdlet produced: result objects and warnings.
#[derive(Debug, Default)]
struct Output {
    value: Vec<Value>,
    warnings: Vec<String>,
}

/// Cmdlet parameters, matched case-insensitively as PowerShell does.
struct Params<'a> {
    cmdlet: &'a str,
    map: &'a Map<String, Value>,
}

/// Common parameters every cmdlet takes.
const COMMON: &[&str] = &["Confirm", "ErrorAction", "WarningAction", "Verbose"];

impl<'a> Params<'a> {
    fn allow(&self, names: &[&str]) -> Result<(), ExoError> {
        for key in self.map.keys() {
            if !names
                .iter()
                .chain(COMMON)
                .any(|n| n.eq_ignore_ascii_case(key))
            {
                return Err(ExoError::parameter(format!(
                    "A parameter cannot be found that matches parameter name '{key}'."
                )));
            }
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    fn string(&self, name: &str) -> Result<Option<String>, ExoError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(ExoError::parameter(format!(
                "Cannot bind parameter '{name}'. Cannot convert value '{other}' to type 'System.String'."
            ))),
        }
    }

    fn required(&self, name: &str) -> Result<String, ExoError> {
        self.string(name)?.filter(|s| !s.is_empty()).ok_or_else(|| {
            ExoError::parameter(format!(
                "Cannot process command '{}' because of one or more missing mandatory parameters: {name}.",
                self.cmdlet
            ))
        })
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, ExoError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(ExoError::parameter(format!(
                "Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{other}\" to type \"System.Boolean\"."
            ))),
        }
    }

    /// A string or an array of strings (`AccessRights`).
    fn list(&self, name: &str) -> Result<Vec<String>, ExoError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(s.split(',').map(|p| p.trim().to_string()).collect()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().map(str::to_string).ok_or_else(|| {
                        ExoError::parameter(format!("Cannot bind parameter '{name}'."))
                    })
                })
                .collect(),
            Some(_) => Err(ExoError::parameter(format!(
                "Cannot bind parameter '{name}'."
            ))),
        }
    }
}

fn mailbox_index(state: &TenantState, identity: &str) -> Result<usize, ExoError> {
    state
        .mailboxes
        .iter()
        .position(|m| {
            [
                &m.user_principal_name,
                &m.primary_smtp_address,
                &m.alias,
                &m.display_name,
                &m.user_id,
            ]
            .iter()
            .any(|candidate| candidate.eq_ignore_ascii_case(identity))
        })
        .ok_or_else(|| ExoError::not_found(identity))
}

/// A trustee (`User`, `Trustee`, `Member`) resolved to its UPN.
fn recipient(state: &TenantState, identity: &str) -> Result<String, ExoError> {
    state
        .users
        .iter()
        .find(|u| {
            u.user_principal_name.eq_ignore_ascii_case(identity)
                || u.id.eq_ignore_ascii_case(identity)
                || u.mail
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(identity))
                || u.mail_nickname.eq_ignore_ascii_case(identity)
                || u.display_name.eq_ignore_ascii_case(identity)
        })
        .map(|u| u.user_principal_name.clone())
        .ok_or_else(|| ExoError::not_found(identity))
}

fn no_change(identity: &str) -> String {
    format!(
        "The command completed successfully but no settings of '{identity}' have been modified."
    )
}

fn mailbox_json(mailbox: &SimMailbox) -> Value {
    json!({
        "Identity": mailbox.alias,
        "Name": mailbox.alias,
        "Alias": mailbox.alias,
        "DisplayName": mailbox.display_name,
        "UserPrincipalName": mailbox.user_principal_name,
        "PrimarySmtpAddress": mailbox.primary_smtp_address,
        "ExternalDirectoryObjectId": mailbox.user_id,
        "RecipientType": "UserMailbox",
        "RecipientTypeDetails": mailbox.recipient_type_details,
        "ForwardingSmtpAddress": mailbox.forwarding_smtp_address,
        "ForwardingAddress": null,
        "DeliverToMailboxAndForward": mailbox.deliver_to_mailbox_and_forward,
        "HiddenFromAddressListsEnabled": mailbox.hidden_from_address_lists,
        "GrantSendOnBehalfTo": mailbox.grant_send_on_behalf_to,
        "EmailAddresses": [format!("SMTP:{}", mailbox.primary_smtp_address)],
        "IsDirSynced": mailbox.dir_synced,
    })
}

fn full_access_json(mailbox: &SimMailbox, user: &str) -> Value {
    json!({
        "Identity": mailbox.alias,
        "User": user,
        "AccessRights": ["FullAccess"],
        "IsInherited": false,
        "Deny": false,
        "InheritanceType": "All",
    })
}

fn send_as_json(mailbox: &SimMailbox, trustee: &str) -> Value {
    json!({
        "Identity": mailbox.alias,
        "Trustee": trustee,
        "AccessControlType": "Allow",
        "AccessRights": ["SendAs"],
        "IsInherited": false,
        "InheritanceType": "None",
    })
}

fn auto_reply_json(mailbox: &SimMailbox) -> Value {
    let reply = &mailbox.auto_reply;
    json!({
        "Identity": mailbox.alias,
        "AutoReplyState": reply.state,
        "InternalMessage": reply.internal_message,
        "ExternalMessage": reply.external_message,
        "ExternalAudience": reply.external_audience,
        "StartTime": reply.start_time,
        "EndTime": reply.end_time,
    })
}

fn check_rights(rights: &[String], expected: &str, cmdlet: &str) -> Result<(), ExoError> {
    if rights.is_empty() {
        return Err(ExoError::parameter(format!(
            "Cannot process command '{cmdlet}' because of one or more missing mandatory parameters: AccessRights."
        )));
    }
    if let Some(other) = rights.iter().find(|r| !r.eq_ignore_ascii_case(expected)) {
        return Err(ExoError::parameter(format!(
            "Cannot process argument transformation on parameter 'AccessRights'. Cannot convert value \"{other}\" for this simulator: only {expected} is modelled."
        )));
    }
    Ok(())
}

fn group_index(state: &TenantState, identity: &str) -> Result<usize, ExoError> {
    let index = state
        .groups
        .iter()
        .position(|g| {
            g.id.eq_ignore_ascii_case(identity)
                || g.display_name.eq_ignore_ascii_case(identity)
                || g.mail_nickname.eq_ignore_ascii_case(identity)
                || g.mail
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(identity))
        })
        .ok_or_else(|| ExoError::not_found(identity))?;
    if !state.groups[index].is_exchange_managed() {
        return Err(ExoError::not_found(identity));
    }
    Ok(index)
}

/// Run one cmdlet against the state.
fn run(state: &mut TenantState, cmdlet: &str, params: &Params<'_>) -> Result<Output, ExoError> {
    let mut out = Output::default();
    match cmdlet {
        "Get-Mailbox" => {
            params.allow(&["Identity", "ResultSize", "RecipientTypeDetails"])?;
            let kind = params.string("RecipientTypeDetails")?;
            match params.string("Identity")? {
                Some(identity) => {
                    let index = mailbox_index(state, &identity)?;
                    out.value.push(mailbox_json(&state.mailboxes[index]));
                }
                None => out.value.extend(
                    state
                        .mailboxes
                        .iter()
                        .filter(|m| {
                            kind.as_deref()
                                .is_none_or(|k| m.recipient_type_details.eq_ignore_ascii_case(k))
                        })
                        .map(mailbox_json),
                ),
            }
        }
        "Set-Mailbox" => {
            params.allow(&[
                "Identity",
                "Type",
                "ForwardingSmtpAddress",
                "DeliverToMailboxAndForward",
                "HiddenFromAddressListsEnabled",
                "GrantSendOnBehalfTo",
            ])?;
            let identity = params.required("Identity")?;
            let index = mailbox_index(state, &identity)?;
            let mut mailbox = state.mailboxes[index].clone();
            if let Some(kind) = params.string("Type")? {
                mailbox.recipient_type_details = match kind.to_ascii_lowercase().as_str() {
                    "shared" => "SharedMailbox".into(),
                    "regular" => "UserMailbox".into(),
                    _ => {
                        return Err(ExoError::parameter(format!(
                            "Cannot process argument transformation on parameter 'Type'. Cannot convert value \"{kind}\" to type \"Microsoft.Exchange.Management.RecipientTasks.ConvertibleMailboxSubType\"."
                        )));
                    }
                };
            }
            if params.get("ForwardingSmtpAddress").is_some() {
                mailbox.forwarding_smtp_address =
                    params.string("ForwardingSmtpAddress")?.map(|address| {
                        if address.to_ascii_lowercase().starts_with("smtp:") {
                            format!("smtp:{}", &address[5..])
                        } else {
                            format!("smtp:{address}")
                        }
                    });
            }
            if let Some(keep) = params.boolean("DeliverToMailboxAndForward")? {
                mailbox.deliver_to_mailbox_and_forward = keep;
            }
            if let Some(hidden) = params.boolean("HiddenFromAddressListsEnabled")? {
                if mailbox.dir_synced {
                    return Err(ExoError::task(format!(
                        "The operation on mailbox \"{}\" failed because it's out of the current user's write scope. The action 'Set-Mailbox', 'HiddenFromAddressListsEnabled', can't be performed on the object '{}' because the object is being synchronized from your on-premises organization. This action should be performed on the object in your on-premises organization.",
                        mailbox.alias, mailbox.alias
                    )));
                }
                mailbox.hidden_from_address_lists = hidden;
            }
            if let Some(delegates) = params.get("GrantSendOnBehalfTo") {
                mailbox.grant_send_on_behalf_to =
                    send_on_behalf(state, &mailbox.grant_send_on_behalf_to, delegates)?;
            }
            if mailbox == state.mailboxes[index] {
                out.warnings.push(no_change(&mailbox.alias));
            }
            state.mailboxes[index] = mailbox;
        }
        "Get-MailboxPermission" => {
            params.allow(&["Identity", "User"])?;
            let index = mailbox_index(state, &params.required("Identity")?)?;
            let mailbox = &state.mailboxes[index];
            let only = params
                .string("User")?
                .map(|u| recipient(state, &u))
                .transpose()?;
            if only.is_none() {
                out.value.push(json!({
                    "Identity": mailbox.alias, "User": "NT AUTHORITY\\SELF",
                    "AccessRights": ["FullAccess", "ReadPermission"], "IsInherited": false,
                    "Deny": false, "InheritanceType": "All",
                }));
            }
            out.value.extend(
                mailbox
                    .full_access
                    .iter()
                    .filter(|g| {
                        only.as_deref()
                            .is_none_or(|u| g.user.eq_ignore_ascii_case(u))
                    })
                    .map(|g| full_access_json(mailbox, &g.user)),
            );
        }
        "Add-MailboxPermission" => {
            params.allow(&[
                "Identity",
                "User",
                "AccessRights",
                "AutoMapping",
                "InheritanceType",
            ])?;
            let index = mailbox_index(state, &params.required("Identity")?)?;
            let user = recipient(state, &params.required("User")?)?;
            check_rights(&params.list("AccessRights")?, "FullAccess", cmdlet)?;
            let automapping = params.boolean("AutoMapping")?.unwrap_or(true);
            let mailbox = &mut state.mailboxes[index];
            if let Some(existing) = mailbox
                .full_access
                .iter_mut()
                .find(|g| g.user.eq_ignore_ascii_case(&user))
            {
                existing.automapping = automapping;
                out.warnings.push(format!(
                    "An existing permission entry was found for user: {user}."
                ));
            } else {
                mailbox.full_access.push(FullAccessGrant {
                    user: user.clone(),
                    automapping,
                });
            }
            out.value.push(full_access_json(mailbox, &user));
        }
        "Remove-MailboxPermission" => {
            params.allow(&[
                "Identity",
                "User",
                "AccessRights",
                "InheritanceType",
                "BypassMasterAccountSid",
            ])?;
            let index = mailbox_index(state, &params.required("Identity")?)?;
            let user = recipient(state, &params.required("User")?)?;
            check_rights(&params.list("AccessRights")?, "FullAccess", cmdlet)?;
            let mailbox = &mut state.mailboxes[index];
            let before = mailbox.full_access.len();
            mailbox
                .full_access
                .retain(|g| !g.user.eq_ignore_ascii_case(&user));
            if mailbox.full_access.len() == before {
                return Err(ExoError::task(format!(
                    "Can't remove the access control entry on the object \"{}\" for account \"{user}\" because the ACE doesn't exist on the object.",
                    mailbox.alias
                )));
            }
        }
        "Get-RecipientPermission" => {
            params.allow(&["Identity", "Trustee", "AccessRights"])?;
            let index = mailbox_index(state, &params.required("Identity")?)?;
            let mailbox = &state.mailboxes[index];
            let only = params
                .string("Trustee")?
                .map(|u| recipient(state, &u))
                .transpose()?;
            if only.is_none() {
                out.value.push(json!({
                    "Identity": mailbox.alias, "Trustee": "NT AUTHORITY\\SELF",
                    "AccessControlType": "Allow", "AccessRights": ["SendAs"],
                    "IsInherited": false, "InheritanceType": "None",
                }));
            }
            out.value.extend(
                mailbox
                    .send_as
                    .iter()
                    .filter(|t| only.as_deref().is_none_or(|u| t.eq_ignore_ascii_case(u)))
                    .map(|t| send_as_json(mailbox, t)),
            );
        }
        "Add-RecipientPermission" => {
            params.allow(&["Identity", "Trustee", "AccessRights"])?;
            let index = mailbox_index(state, &params.required("Identity")?)?;
            let trustee = recipient(state, &params.required("Trustee")?)?;
            check_rights(&params.list("AccessRights")?, "SendAs", cmdlet)?;
            let mailbox = &mut state.mailboxes[index];
            if mailbox
                .send_as
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&trustee))
            {
                out.warnings.push(format!("The appropriate access control entry is already present on object \"{}\" for account \"{trustee}\".", mailbox.alias));
            } else {
                mailbox.send_as.push(trustee.clone());
            }
            out.value.push(send_as_json(mailbox, &trustee));
        }
        "Remove-RecipientPermission" => {
            params.allow(&["Identity", "Trustee", "AccessRights"])?;
            let index = mailbox_index(state, &params.required("Identity")?)?;
            let trustee = recipient(state, &params.required("Trustee")?)?;
            check_rights(&params.list("AccessRights")?, "SendAs", cmdlet)?;
            let mailbox = &mut state.mailboxes[index];
            let before = mailbox.send_as.len();
            mailbox
                .send_as
                .retain(|t| !t.eq_ignore_ascii_case(&trustee));
            if mailbox.send_as.len() == before {
                out.warnings.push(format!("Can't remove the access control entry on the object \"{}\" for account \"{trustee}\" because the ACE doesn't exist on the object.", mailbox.alias));
            }
        }
        "Get-MailboxAutoReplyConfiguration" => {
            params.allow(&["Identity"])?;
            let index = mailbox_index(state, &params.required("Identity")?)?;
            out.value.push(auto_reply_json(&state.mailboxes[index]));
        }
        "Set-MailboxAutoReplyConfiguration" => {
            params.allow(&[
                "Identity",
                "AutoReplyState",
                "InternalMessage",
                "ExternalMessage",
                "ExternalAudience",
                "StartTime",
                "EndTime",
            ])?;
            let index = mailbox_index(state, &params.required("Identity")?)?;
            let mut reply: AutoReply = state.mailboxes[index].auto_reply.clone();
            if let Some(value) = params.string("AutoReplyState")? {
                reply.state = match value.to_ascii_lowercase().as_str() {
                    "enabled" => "Enabled".into(),
                    "disabled" => "Disabled".into(),
                    "scheduled" => "Scheduled".into(),
                    _ => {
                        return Err(ExoError::parameter(format!(
                            "Cannot process argument transformation on parameter 'AutoReplyState'. Cannot convert value \"{value}\" to type \"Microsoft.Exchange.Data.Storage.OOF.OofState\"."
                        )));
                    }
                };
            }
            if let Some(value) = params.string("InternalMessage")? {
                reply.internal_message = value;
            }
            if let Some(value) = params.string("ExternalMessage")? {
                reply.external_message = value;
            }
            if let Some(value) = params.string("ExternalAudience")? {
                reply.external_audience = match value.to_ascii_lowercase().as_str() {
                    "none" => "None".into(),
                    "known" => "Known".into(),
                    "all" => "All".into(),
                    _ => {
                        return Err(ExoError::parameter(format!(
                            "Cannot process argument transformation on parameter 'ExternalAudience'. Cannot convert value \"{value}\" to type \"Microsoft.Exchange.Data.Storage.OOF.ExternalAudience\"."
                        )));
                    }
                };
            }
            if params.get("StartTime").is_some() {
                reply.start_time = params.string("StartTime")?;
            }
            if params.get("EndTime").is_some() {
                reply.end_time = params.string("EndTime")?;
            }
            if reply.state == "Scheduled"
                && (reply.start_time.is_none() || reply.end_time.is_none())
            {
                return Err(ExoError::task(
                    "A scheduled automatic reply needs both StartTime and EndTime.",
                ));
            }
            let mailbox = &mut state.mailboxes[index];
            if mailbox.auto_reply == reply {
                out.warnings.push(no_change(&mailbox.alias));
            }
            mailbox.auto_reply = reply;
        }
        "Get-DistributionGroup" => {
            params.allow(&["Identity", "ResultSize"])?;
            let groups: Vec<usize> = match params.string("Identity")? {
                Some(identity) => vec![group_index(state, &identity)?],
                None => (0..state.groups.len())
                    .filter(|i| state.groups[*i].is_exchange_managed())
                    .collect(),
            };
            out.value.extend(groups.into_iter().map(|i| {
                let g = &state.groups[i];
                json!({"Identity": g.display_name, "Name": g.display_name, "DisplayName": g.display_name,
                       "Alias": g.mail_nickname, "PrimarySmtpAddress": g.mail, "ExternalDirectoryObjectId": g.id,
                       "RecipientTypeDetails": if g.security_enabled { "MailUniversalSecurityGroup" } else { "MailUniversalDistributionGroup" }})
            }));
        }
        "Get-DistributionGroupMember" => {
            params.allow(&["Identity", "ResultSize"])?;
            let index = group_index(state, &params.required("Identity")?)?;
            let members = state.groups[index].members.clone();
            out.value.extend(members.iter().filter_map(|m| state.find_user(m)).map(|u| json!({
                "Identity": u.mail_nickname, "Name": u.mail_nickname, "DisplayName": u.display_name,
                "PrimarySmtpAddress": u.mail, "ExternalDirectoryObjectId": u.id, "RecipientType": "UserMailbox",
            })));
        }
        "Add-DistributionGroupMember" | "Remove-DistributionGroupMember" => {
            params.allow(&["Identity", "Member", "BypassSecurityGroupManagerCheck"])?;
            let index = group_index(state, &params.required("Identity")?)?;
            let upn = recipient(state, &params.required("Member")?)?;
            let user_id = state
                .find_user(&upn)
                .map(|u| u.id.clone())
                .unwrap_or_default();
            let group = &mut state.groups[index];
            let present = group.members.contains(&user_id);
            if cmdlet.starts_with("Add") {
                if present {
                    return Err(ExoError::bad_request(
                        "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException",
                        format!(
                            "The recipient {upn} is already a member of the group {}.",
                            group.display_name
                        ),
                    ));
                }
                group.members.push(user_id);
            } else {
                if !present {
                    return Err(ExoError::bad_request(
                        "Microsoft.Exchange.Management.Tasks.MemberNotFoundException",
                        format!(
                            "The recipient {upn} isn't a member of the group {}.",
                            group.display_name
                        ),
                    ));
                }
                group.members.retain(|m| *m != user_id);
            }
        }
        other => {
            return Err(ExoError::bad_request(
                "System.Management.Automation.CommandNotFoundException",
                format!(
                    "The term '{other}' is not recognized as a name of a cmdlet available through this endpoint."
                ),
            ));
        }
    }
    Ok(out)
}

/// `GrantSendOnBehalfTo`: `{"add": ..}` / `{"remove": ..}` (a `#Exchange.GenericHashTable`),
/// a list that replaces the delegates, or `null` to clear them.
fn send_on_behalf(
    state: &TenantState,
    current: &[String],
    value: &Value,
) -> Result<Vec<String>, ExoError> {
    let names = |value: &Value| -> Result<Vec<String>, ExoError> {
        let items: Vec<&str> = match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => {
                return Err(ExoError::parameter(
                    "Cannot bind parameter 'GrantSendOnBehalfTo'.",
                ));
            }
        };
        items.into_iter().map(|i| recipient(state, i)).collect()
    };
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Object(map) => {
            let mut delegates = current.to_vec();
            for (key, value) in map {
                match key.to_ascii_lowercase().as_str() {
                    "@odata.type" => {}
                    "add" => {
                        for name in names(value)? {
                            if !delegates.iter().any(|d| d.eq_ignore_ascii_case(&name)) {
                                delegates.push(name);
                            }
                        }
                    }
                    "remove" => {
                        let gone = names(value)?;
                        delegates.retain(|d| !gone.iter().any(|g| g.eq_ignore_ascii_case(d)));
                    }
                    _ => {
                        return Err(ExoError::parameter(format!(
                            "Cannot bind parameter 'GrantSendOnBehalfTo': unknown key '{key}' (use add or remove)."
                        )));
                    }
                }
            }
            Ok(delegates)
        }
        other => names(other),
    }
}

async fn invoke(
    State(sim): State<M365Sim>,
    Path(tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = sim.state.lock();
    if !tenant.eq_ignore_ascii_case(&state.tenant_id)
        && !state
            .verified_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&tenant))
    {
        return ExoError {
            status: StatusCode::NOT_FOUND,
            code: "NotFound",
            exception: "Microsoft.Exchange.Admin.OData.Core.TenantNotFoundException",
            text: format!("Tenant '{tenant}' could not be found."),
        }
        .into_response();
    }
    let input: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(err) => {
            return ExoError::bad_request(
                "Microsoft.OData.ODataException",
                format!("The request body is not valid JSON: {err}."),
            )
            .into_response();
        }
    };
    let Some(cmdlet) = input
        .pointer("/CmdletInput/CmdletName")
        .and_then(Value::as_str)
    else {
        return ExoError::bad_request(
            "Microsoft.OData.ODataException",
            "The request body must carry CmdletInput.CmdletName.",
        )
        .into_response();
    };
    let empty = Map::new();
    let map = match input.pointer("/CmdletInput/Parameters") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => {
            return ExoError::bad_request(
                "Microsoft.OData.ODataException",
                "CmdletInput.Parameters must be an object.",
            )
            .into_response();
        }
    };
    let params = Params { cmdlet, map };
    let output = match run(&mut state, cmdlet, &params) {
        Ok(output) => output,
        Err(err) => return err.into_response(),
    };
    // `Prefer: odata.maxpagesize=N` pages the results; the client re-POSTs to the nextLink.
    let page_size = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        })
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1000);
    let offset = query
        .get("$skiptoken")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let page = paging::page(output.value, offset, page_size);
    let mut response = json!({
        "@odata.context": format!("https://outlook.office365.com/adminapi/beta/{tenant}/$metadata#Collection(Exchange.GenericHashTable)"),
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": output.warnings,
        "value": page.items,
    });
    if page.more {
        response["@odata.nextLink"] = json!(format!(
            "{}/adminapi/beta/{tenant}/InvokeCommand?$skiptoken={}",
            origin(&headers),
            offset + page_size
        ));
    }
    (StatusCode::OK, Json(response)).into_response()
}
