//! NinjaOne's HTTP client: every request the connector sends is made here.
//!
//! `pub(crate)` on purpose: its write methods take no proof, so only the capability
//! implementations (which do) may reach them. Every device it reads or writes is first checked
//! to belong to the configured organisation.

use std::sync::Arc;

use secrecy::SecretString;
use stackhand_core::{BuildContext, Error, Result, TenantId};
use stackhand_http::{Auth, ClientAuth, ClientCredentials, HttpClient, HttpHost};

use crate::VENDOR;
use crate::config::{NinjaOneConfig, SCOPES};
use crate::error::NinjaOneErrorParser;
use crate::models::{
    Activities, AssetTag, AssetTags, CreateTag, DeviceSearchResults, ManageAssetTags, NinjaAlert,
    NinjaDevice, RebootMode, RebootRequest, RunScript, ScriptOption, ScriptingOptions,
};

/// Devices asked of `GET /v2/devices/search` (`limit`): the search is not paged.
pub(crate) const SEARCH_LIMIT: u32 = 50;

/// Activities asked of `GET /v2/activities` (`pageSize`, 10 to 1000).
pub(crate) const ACTIVITY_PAGE: u32 = 100;

/// Requests in flight per tenant when `http.max_in_flight` is not set: NinjaOne publishes no
/// quota, so the connector stays within the 2 to 4 its client code uses.
pub(crate) const DEFAULT_IN_FLIGHT: usize = 4;

/// The longest asset tag name NinjaOne accepts (`CreateItamTagRequest.name`).
pub(crate) const TAG_MAX_CHARS: usize = 40;

/// A device id from input: NinjaOne's ids are positive integers (`int32`).
pub(crate) fn device_id(id: &str) -> Result<u32> {
    id.trim()
        .parse::<u32>()
        .ok()
        .filter(|&n| n > 0 && i32::try_from(n).is_ok())
        .ok_or_else(|| {
            Error::invalid(format!(
                "{VENDOR}: {id:?} is not a NinjaOne device id (a positive integer)"
            ))
        })
}

/// An alert uid from input: NinjaOne's alert uids are uuids (spec `format: uuid`).
pub(crate) fn alert_uid(uid: &str) -> Result<String> {
    let uid = uid.trim();
    if is_uuid(uid) {
        Ok(uid.to_ascii_lowercase())
    } else {
        Err(Error::invalid(format!(
            "{VENDOR}: {uid:?} is not a NinjaOne alert uid (a uuid)"
        )))
    }
}

/// An asset tag name from input: 1 to 40 characters.
pub(crate) fn tag_name(tag: &str) -> Result<&str> {
    let count = tag.chars().count();
    if tag.trim().is_empty() || count > TAG_MAX_CHARS {
        return Err(Error::invalid(format!(
            "{VENDOR}: {tag:?} is not a valid asset tag name (1 to {TAG_MAX_CHARS} characters)"
        )));
    }
    Ok(tag)
}

/// The typed client.
#[derive(Debug, Clone)]
pub(crate) struct NinjaOneClient {
    http: HttpClient,
    organization_id: u32,
    run_as: String,
}

impl NinjaOneClient {
    /// A client on the host's shared pool and rate limits, with a client-credentials token
    /// for [`SCOPES`] fetched from the configured token endpoint (once, then cached).
    pub(crate) fn new(
        ctx: &BuildContext,
        config: &NinjaOneConfig,
        client_secret: SecretString,
    ) -> Result<Self> {
        let credentials = ClientCredentials::new(
            config.token_endpoint()?,
            config.auth.client_id.clone(),
            ClientAuth::ClientSecret(client_secret),
        )
        .scopes(SCOPES.iter().copied())
        // Token requests share the host's hardened pool, like every API call.
        .http_client(HttpHost::of(ctx).client().clone());
        let mut http = HttpClient::for_context(ctx, VENDOR, config.base_url.clone(), &config.http);
        if config.http.max_in_flight.is_none() {
            // NinjaOne publishes no quota; its client code keeps a few requests in flight.
            http = http.max_concurrency(DEFAULT_IN_FLIGHT);
        }
        let http = http
            .auth(Auth::bearer(credentials))
            .error_parser(Arc::new(NinjaOneErrorParser))
            .default_header("Accept", "application/json")
            .build()?;
        Ok(Self {
            http,
            organization_id: config.organization_id,
            run_as: config.run_as.clone(),
        })
    }

    /// The organisation served.
    pub(crate) fn organization_id(&self) -> u32 {
        self.organization_id
    }

    /// The tenant served.
    pub(crate) fn tenant(&self) -> &TenantId {
        self.http.tenant()
    }

    /// The device filter selecting the organisation's devices (`df`).
    fn organization_filter(&self) -> String {
        format!("org = {}", self.organization_id)
    }

    /// `GET /v2/device/{id}`, refused as not found when the device is another organisation's.
    pub(crate) async fn device(&self, id: u32) -> Result<NinjaDevice> {
        let device: NinjaDevice = self
            .http
            .get(&format!("v2/device/{id}"))
            .operation("get_device")
            .send_json()
            .await?;
        if device.organization_id != Some(self.organization_id) {
            return Err(Error::not_found(format!(
                "{VENDOR}: device {id} is not in organization {}",
                self.organization_id
            )));
        }
        Ok(device)
    }

    /// `GET /v2/devices/search?q=<text>&limit=50`, keeping the organisation's devices.
    pub(crate) async fn search(&self, query: &str) -> Result<Vec<NinjaDevice>> {
        let limit = SEARCH_LIMIT.to_string();
        let results: DeviceSearchResults = self
            .http
            .get("v2/devices/search")
            .query(&[("q", query), ("limit", limit.as_str())])
            .operation("find_devices")
            .send_json()
            .await?;
        Ok(results
            .devices
            .into_iter()
            .filter(|d| d.organization_id == Some(self.organization_id))
            .collect())
    }

    /// `GET /v2/tag`: every asset tag of the account.
    pub(crate) async fn tags(&self) -> Result<Vec<AssetTag>> {
        let tags: AssetTags = self
            .http
            .get("v2/tag")
            .operation("list_tags")
            .send_json()
            .await?;
        Ok(tags.tags)
    }

    /// The asset tag named `name` (exactly, else ignoring ASCII case), if there is one.
    pub(crate) async fn find_tag(&self, name: &str) -> Result<Option<AssetTag>> {
        let tags = self.tags().await?;
        let exact = tags.iter().find(|t| t.name == name);
        Ok(exact
            .or_else(|| tags.iter().find(|t| t.name.eq_ignore_ascii_case(name)))
            .cloned())
    }

    /// `POST /v2/tag {"name", "description"}`. Not retried: a second call could make a
    /// second tag of the same name.
    pub(crate) async fn create_tag(&self, name: &str) -> Result<AssetTag> {
        self.http
            .post("v2/tag")
            .json(&CreateTag {
                name: name.to_owned(),
                description: "Created by stackhand".to_owned(),
            })
            .operation("create_tag")
            .send_json()
            .await
    }

    /// `POST /v2/tag/device {"assetIds": [id], "tagIdsToAdd": [...], "tagIdsToRemove": [...]}`:
    /// adds and removes these tags, keeping the device's others. Adding or removing twice is
    /// harmless, so a temporary failure is retried.
    pub(crate) async fn manage_tags(&self, device: u32, add: &[u32], remove: &[u32]) -> Result<()> {
        self.http
            .post("v2/tag/device")
            .json(&ManageAssetTags {
                asset_ids: vec![device],
                tag_ids_to_add: add.to_vec(),
                tag_ids_to_remove: remove.to_vec(),
            })
            .retry_safe()
            .operation(if add.is_empty() {
                "remove_tag"
            } else {
                "add_tag"
            })
            .send_empty()
            .await
    }

    /// `GET /v2/activities?class=DEVICE&df=org = <org>&pageSize=100[&newerThan=<id>]`: the
    /// organisation's device activities, newest first.
    pub(crate) async fn activities(&self, newer_than: Option<u64>) -> Result<Activities> {
        let df = self.organization_filter();
        let page = ACTIVITY_PAGE.to_string();
        let mut query = vec![
            ("class", "DEVICE".to_owned()),
            ("df", df),
            ("pageSize", page),
        ];
        if let Some(id) = newer_than {
            query.push(("newerThan", id.to_string()));
        }
        self.http
            .get("v2/activities")
            .query(&query)
            .operation("list_activities")
            .send_json()
            .await
    }

    /// `GET /v2/device/{id}/scripting/options`: the scripts and built-in actions this device
    /// can run (those of its platform), with their names. Read only to turn a name into the id
    /// or uid a run needs, so a run by id or uuid costs no extra call.
    pub(crate) async fn scripting_options(&self, device: u32) -> Result<ScriptingOptions> {
        self.http
            .get(&format!("v2/device/{device}/scripting/options"))
            .operation("scripting_options")
            .send_json()
            .await
    }

    /// The script or built-in action named `name` that this device can run, as
    /// [`resolve_name`] picks it from the device's scripting options. Per device because the
    /// options are: a Windows script is not offered to a Mac.
    pub(crate) async fn resolve_script(&self, device: u32, name: &str) -> Result<RunTarget> {
        let options = self.scripting_options(device).await?;
        resolve_name(device, name, &options.scripts)
    }

    /// `POST /v2/device/{id}/script/run`: a script by id (`SCRIPT`) or a built-in action by
    /// uuid (`ACTION`), run as the configured credential role. Fire and forget: NinjaOne
    /// answers without output. Not retried: a second call would run the script twice.
    pub(crate) async fn run_script(
        &self,
        device: u32,
        target: &RunTarget,
        parameters: &str,
    ) -> Result<()> {
        let body = run_request(target, parameters, &self.run_as);
        self.http
            .post(&format!("v2/device/{device}/script/run"))
            .json(&body)
            .operation("run_script")
            .send_empty()
            .await
    }

    /// `GET /v2/alerts?df=org = <org>`: the open alerts (triggered conditions) on the
    /// organisation's devices.
    pub(crate) async fn alerts(&self) -> Result<Vec<NinjaAlert>> {
        let alerts: Vec<NinjaAlert> = self
            .http
            .get("v2/alerts")
            .query(&[("df", self.organization_filter())])
            .operation("list_alerts")
            .send_json()
            .await?;
        // The filter already keeps the organisation's; an alert that says otherwise is dropped.
        Ok(alerts
            .into_iter()
            .filter(|a| {
                a.device
                    .as_ref()
                    .and_then(|d| d.organization_id)
                    .is_none_or(|org| org == self.organization_id)
            })
            .collect())
    }

    /// The open alert `uid` (as [`alert_uid`] reads it) on one of the organisation's devices;
    /// another organisation's alert, or one no longer open, is not found.
    pub(crate) async fn alert(&self, uid: &str) -> Result<NinjaAlert> {
        self.alerts()
            .await?
            .into_iter()
            .find(|a| a.uid.eq_ignore_ascii_case(uid))
            .ok_or_else(|| {
                Error::not_found(format!(
                    "{VENDOR}: no open alert {uid} in organization {}",
                    self.organization_id
                ))
            })
    }

    /// `POST /v2/alert/{uid}/reset {}`: close the alert. Not retried: after a reset that
    /// was applied but not answered, a second one would be refused as not found.
    pub(crate) async fn reset_alert(&self, uid: &str) -> Result<()> {
        self.http
            .post(&format!("v2/alert/{uid}/reset"))
            .json(&serde_json::json!({}))
            .operation("reset_alert")
            .send_empty()
            .await
    }

    /// `POST /v2/device/{id}/reboot/{mode}`, with `{"reason"}` when there is one. NinjaOne
    /// hands the command to the agent (queued while the device is offline) and answers
    /// `204`. Not retried: a second call would reboot the device again.
    pub(crate) async fn reboot(
        &self,
        device: u32,
        mode: RebootMode,
        reason: Option<&str>,
    ) -> Result<()> {
        let mut request = self
            .http
            .post(&format!("v2/device/{device}/reboot/{}", mode.as_str()))
            .operation("reboot_device");
        if let Some(reason) = reason {
            request = request.json(&RebootRequest {
                reason: reason.to_owned(),
            });
        }
        request.send_empty().await
    }
}

/// What a run names, as `POST /v2/device/{id}/script/run` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunTarget {
    /// A library script, by id (`SCRIPT`).
    Script(u32),
    /// A built-in action, by uuid in lower case (`ACTION`).
    Action(String),
}

impl std::fmt::Display for RunTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Script(id) => write!(f, "script {id}"),
            Self::Action(uid) => write!(f, "built-in action {uid}"),
        }
    }
}

/// What the input names: a run target outright, or a name to look up on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScriptRef {
    /// A script id or built-in action uuid: run as is.
    Target(RunTarget),
    /// A script's or built-in action's name, as the library shows it (trimmed).
    Name(String),
}

/// A script from input: a positive integer is a script id, a uuid a built-in action's uid,
/// anything else a name (resolved per device, [`NinjaOneClient::resolve_script`]). Ids and
/// uuids win over names, so a name that looks like one is never looked up. Empty input, and
/// an integer that is no script id (`0`, `-3`), are refused before any call.
pub(crate) fn script_ref(script: &str) -> Result<ScriptRef> {
    let script = script.trim();
    if script.is_empty() {
        return Err(Error::invalid(format!(
            "{VENDOR}: a script run needs a script id, a built-in action uuid or a script name"
        )));
    }
    let digits = script.strip_prefix(['-', '+']).unwrap_or(script);
    if digits.chars().all(|c| c.is_ascii_digit()) {
        return script
            .parse::<u32>()
            .ok()
            .filter(|&id| id > 0)
            .map(|id| ScriptRef::Target(RunTarget::Script(id)))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{VENDOR}: {script:?} is not a script id (a positive integer)"
                ))
            });
    }
    if is_uuid(script) {
        return Ok(ScriptRef::Target(RunTarget::Action(
            script.to_ascii_lowercase(),
        )));
    }
    Ok(ScriptRef::Name(script.to_owned()))
}

/// The run target of one of a device's scripting options: a `SCRIPT` with its id or an
/// `ACTION` with its uuid; an entry lacking its reference cannot be run through the API.
fn option_target(option: &ScriptOption) -> Option<RunTarget> {
    match option.kind.as_str() {
        "SCRIPT" => option.id.filter(|&id| id > 0).map(RunTarget::Script),
        "ACTION" => option
            .uid
            .as_deref()
            .map(str::trim)
            .filter(|uid| is_uuid(uid))
            .map(|uid| RunTarget::Action(uid.to_ascii_lowercase())),
        _ => None,
    }
}

/// The one entry of `options` (device `device`'s scripting options) named `name`: names match
/// without regard to case once both are trimmed, and nothing looser (a near name could run
/// the wrong script). No match is refused naming the device and what it can run; two or more
/// are refused too, naming their ids, since the name alone cannot say which was meant.
pub(crate) fn resolve_name(device: u32, name: &str, options: &[ScriptOption]) -> Result<RunTarget> {
    let wanted = name.trim().to_lowercase();
    let runnable: Vec<(&str, RunTarget)> = options
        .iter()
        .filter_map(|o| Some((o.name.as_deref()?.trim(), option_target(o)?)))
        .collect();
    let matches: Vec<&RunTarget> = runnable
        .iter()
        .filter(|(n, _)| n.to_lowercase() == wanted)
        .map(|(_, target)| target)
        .collect();
    match matches.as_slice() {
        [target] => Ok((*target).clone()),
        [] => {
            let names: Vec<String> = runnable.iter().map(|(n, _)| format!("{n:?}")).collect();
            Err(Error::invalid(format!(
                "{VENDOR}: device {device} has no script or built-in action named {:?}; it can \
                 run {}",
                name.trim(),
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )))
        }
        several => {
            let which: Vec<String> = several.iter().map(ToString::to_string).collect();
            Err(Error::invalid(format!(
                "{VENDOR}: device {device} has {} scripts or built-in actions named {:?} ({}); \
                 name the one meant by its script id or action uuid",
                several.len(),
                name.trim(),
                which.join(", ")
            )))
        }
    }
}

/// The body of a script run, as the configured credential role.
pub(crate) fn run_request(target: &RunTarget, parameters: &str, run_as: &str) -> RunScript {
    let (kind, id, uid) = match target {
        RunTarget::Script(id) => ("SCRIPT", Some(*id), None),
        RunTarget::Action(uid) => ("ACTION", None, Some(uid.clone())),
    };
    RunScript {
        kind: kind.to_owned(),
        id,
        uid,
        parameters: (!parameters.is_empty()).then(|| parameters.to_owned()),
        run_as: run_as.to_owned(),
    }
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_tags_and_scripts_from_input() {
        assert_eq!(device_id(" 1234 ").unwrap(), 1234);
        for bad in ["", "0", "-1", "..", "12a", "4294967295"] {
            assert!(device_id(bad).is_err(), "{bad}");
        }
        assert!(tag_name("L1-touched").is_ok());
        assert!(tag_name(" ").is_err());
        assert!(tag_name(&"x".repeat(41)).is_err());
        let Ok(ScriptRef::Target(target)) = script_ref(" 42 ") else {
            panic!("a numeric script is an id");
        };
        assert_eq!(
            serde_json::to_value(run_request(&target, "-UserName jdoe", "system")).unwrap(),
            serde_json::json!({"type": "SCRIPT", "id": 42, "parameters": "-UserName jdoe",
                               "runAs": "system"})
        );
        let Ok(ScriptRef::Target(target)) = script_ref("5B6C2C34-8F1E-4C7A-9A55-3F2B8E0D1A11")
        else {
            panic!("a uuid is a built-in action");
        };
        assert_eq!(
            serde_json::to_value(run_request(&target, "", "system")).unwrap(),
            serde_json::json!({"type": "ACTION", "uid": "5b6c2c34-8f1e-4c7a-9a55-3f2b8e0d1a11",
                               "runAs": "system"})
        );
        assert_eq!(
            script_ref("  Flush DNS cache ").unwrap(),
            ScriptRef::Name("Flush DNS cache".into())
        );
        for bad in ["", "  ", "0", "-1", "+0", "4294967296"] {
            assert!(script_ref(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            alert_uid(" 8D3B4F1E-2A6C-4E8F-9B1D-3C5E7A9B0D21 ").unwrap(),
            "8d3b4f1e-2a6c-4e8f-9b1d-3c5e7a9b0d21"
        );
        for bad in ["", "42", "../reset", "8d3b4f1e-2a6c-4e8f-9b1d"] {
            assert!(alert_uid(bad).is_err(), "{bad}");
        }
    }

    fn option(kind: &str, id: Option<u32>, uid: Option<&str>, name: &str) -> ScriptOption {
        ScriptOption {
            kind: kind.into(),
            id,
            uid: uid.map(Into::into),
            name: Some(name.into()),
        }
    }

    #[test]
    fn names_resolve_exactly_without_regard_to_case() {
        let options = [
            option("SCRIPT", Some(11), None, "Clear print queue"),
            option("SCRIPT", Some(12), None, " Flush DNS cache "),
            option(
                "ACTION",
                None,
                Some("2F4B8C1D-6E3A-4B7F-9C0D-1A2B3C4D5E6F"),
                "Clean temporary files",
            ),
            option("SCRIPT", None, None, "No id"),
        ];
        assert_eq!(
            resolve_name(7, "  flush dns CACHE", &options).unwrap(),
            RunTarget::Script(12)
        );
        assert_eq!(
            resolve_name(7, "Clean temporary files", &options).unwrap(),
            RunTarget::Action("2f4b8c1d-6e3a-4b7f-9c0d-1a2b3c4d5e6f".into())
        );
        for near in ["Flush DNS", "Flush DNS cache.", "No id"] {
            let err = resolve_name(7, near, &options).unwrap_err();
            assert_eq!(err.kind(), stackhand_core::ErrorKind::Invalid, "{err}");
            assert!(err.message().contains("device 7"), "{err}");
            assert!(
                err.message().contains(
                    r#"it can run "Clear print queue", "Flush DNS cache", "Clean temporary files""#
                ),
                "{err}"
            );
        }
        let twice = [
            option("SCRIPT", Some(11), None, "Clear print queue"),
            option("SCRIPT", Some(19), None, "clear print queue"),
        ];
        let err = resolve_name(7, "Clear print queue", &twice).unwrap_err();
        assert_eq!(err.kind(), stackhand_core::ErrorKind::Invalid, "{err}");
        assert!(err.message().contains("script 11, script 19"), "{err}");
        let err = resolve_name(7, "Anything", &[]).unwrap_err();
        assert!(err.message().ends_with("it can run none"), "{err}");
    }
}
