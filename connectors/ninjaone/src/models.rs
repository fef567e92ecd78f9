//! NinjaOne's JSON shapes, as the Public API 2.0 document names them (camelCase fields; times
//! are epoch seconds as floating-point numbers).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stackhand_core::Device;

/// A device: spec `Device` (and `AgentDevice`'s `lastLoggedInUser`), the fields the connector
/// reads. `GET /v2/device/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NinjaDevice {
    /// Node (device) id.
    pub id: u32,
    /// The organisation (customer) it belongs to.
    #[serde(default)]
    pub organization_id: Option<u32>,
    /// `WINDOWS_WORKSTATION`, `WINDOWS_SERVER`, `MAC`, ...
    #[serde(default)]
    pub node_class: Option<String>,
    /// The display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The system (host) name.
    #[serde(default)]
    pub system_name: Option<String>,
    /// Whether the agent is offline.
    #[serde(default)]
    pub offline: bool,
    /// The device's `tags` string array (read-only in the API).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The user who logged in most recently (agent devices only).
    #[serde(default)]
    pub last_logged_in_user: Option<String>,
}

impl NinjaDevice {
    /// Its name: the display name, else the system name, else the id.
    pub fn name(&self) -> String {
        [&self.display_name, &self.system_name]
            .into_iter()
            .flatten()
            .find(|n| !n.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| self.id.to_string())
    }

    /// Whether it is a server (`WINDOWS_SERVER`, `LINUX_SERVER`, ...): people other than its
    /// user depend on it.
    pub fn is_server(&self) -> bool {
        self.node_class
            .as_deref()
            .is_some_and(|class| class.ends_with("_SERVER"))
    }
}

impl From<NinjaDevice> for Device {
    fn from(device: NinjaDevice) -> Self {
        Device {
            id: device.id.to_string(),
            name: device.name(),
            last_user: device
                .last_logged_in_user
                .filter(|user| !user.trim().is_empty()),
            tags: device.tags,
            online: !device.offline,
        }
    }
}

/// `GET /v2/devices/search?q=&limit=`: spec `DeviceSearchResults`. Each match is a spec
/// `DeviceSearchMatch`, which has the `Device` fields read here except `lastLoggedInUser`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSearchResults {
    /// The query as NinjaOne read it.
    #[serde(default)]
    pub query: Option<String>,
    /// The matches, from every organisation the app can see.
    #[serde(default)]
    pub devices: Vec<NinjaDevice>,
}

/// An asset tag: spec `ItamTagDTO` / `ItamTagPublicApiDTO`, the fields the connector reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetTag {
    /// Tag id.
    pub id: u32,
    /// Tag name.
    pub name: String,
}

/// `GET /v2/tag`: spec `GetItamTagsResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetTags {
    /// Every asset tag of the account.
    #[serde(default)]
    pub tags: Vec<AssetTag>,
}

/// `POST /v2/tag`: spec `CreateItamTagRequest` (name 1 to 40 characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTag {
    /// The tag name.
    pub name: String,
    /// Its description (at most 250 characters).
    pub description: String,
}

/// `POST /v2/tag/device`: spec `ItamManageAssetRequestPublicApiDTO`. Adds and removes the
/// given tags, keeping the assets' other tags (unlike `PUT /v2/tag/device/{id}`, which
/// replaces them all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManageAssetTags {
    /// The devices.
    pub asset_ids: Vec<u32>,
    /// Tags to add.
    pub tag_ids_to_add: Vec<u32>,
    /// Tags to remove.
    pub tag_ids_to_remove: Vec<u32>,
}

/// `POST /v2/device/{id}/script/run`: spec `RunScriptRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunScript {
    /// `SCRIPT` (with `id`) or `ACTION` (a built-in action, with `uid`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The script id (`SCRIPT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    /// The built-in action's uuid (`ACTION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The parameters, one string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
    /// The credential role or id to run as.
    pub run_as: String,
}

/// `GET /v2/device/{id}/scripting/options`: spec `DeviceScriptingOptions`, the fields the
/// connector reads. What this device may run (its platform's scripts and built-in actions);
/// the connector reads it to turn a script's name into the id or uid a run needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptingOptions {
    /// The scripts and built-in actions the device can run.
    #[serde(default)]
    pub scripts: Vec<ScriptOption>,
}

/// One script or built-in action a device can run: spec `Script`, the fields the connector
/// reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptOption {
    /// `SCRIPT` (a library script, with `id`) or `ACTION` (a built-in action, with `uid`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The script id (`SCRIPT`).
    #[serde(default)]
    pub id: Option<u32>,
    /// The built-in action's uuid (`ACTION`).
    #[serde(default)]
    pub uid: Option<String>,
    /// The name the library shows (`Flush DNS cache`).
    #[serde(default)]
    pub name: Option<String>,
}

/// One activity: spec `Activity`, the fields the connector reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// Activity id (grows with time).
    pub id: u64,
    /// The device.
    #[serde(default)]
    pub device_id: Option<u32>,
    /// The activity type code (`ACTION`, `SCRIPTING`, ...).
    #[serde(default)]
    pub activity_type: Option<String>,
    /// `SUCCESS`, `FAILURE`, `UNSUPPORTED` or `UNCOMPLETED`, once known.
    #[serde(default)]
    pub activity_result: Option<String>,
    /// The source's name (the script's name for a script run).
    #[serde(default)]
    pub source_name: Option<String>,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
}

/// `GET /v2/activities`: spec `ActivitiesResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activities {
    /// The account's last recorded activity id.
    #[serde(default)]
    pub last_activity_id: Option<u64>,
    /// The activities, newest first.
    #[serde(default)]
    pub activities: Vec<Activity>,
}

/// An open alert (a triggered condition): spec `Alert`, the fields the connector reads.
/// `GET /v2/alerts`, `GET /v2/device/{id}/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NinjaAlert {
    /// Alert uid (the condition's activity series).
    pub uid: String,
    /// The device it is on.
    #[serde(default)]
    pub device_id: Option<u32>,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
    /// The subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// The severity (`CRITICAL`, `MAJOR`, `MODERATE`, `MINOR`, `NONE`).
    #[serde(default)]
    pub severity: Option<String>,
    /// Where it comes from (`CONDITION_AGENT_CPU`, ...).
    #[serde(default)]
    pub source_type: Option<String>,
    /// When it was raised (epoch seconds).
    #[serde(default)]
    pub create_time: Option<f64>,
    /// The device it is on (spec `NodeWithDetailedReferences`).
    #[serde(default)]
    pub device: Option<NinjaDevice>,
}

impl NinjaAlert {
    /// What it says: the message, else the subject, else its uid.
    pub fn text(&self) -> String {
        [&self.message, &self.subject]
            .into_iter()
            .flatten()
            .find(|t| !t.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| self.uid.clone())
    }

    /// The name of the device it is on, else its id, if known.
    pub fn device_name(&self) -> Option<String> {
        self.device
            .as_ref()
            .map(NinjaDevice::name)
            .or_else(|| self.device_id.map(|id| id.to_string()))
    }
}

/// How a device reboots: the `{mode}` of `POST /v2/device/{id}/reboot/{mode}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RebootMode {
    /// Asks the operating system to restart, letting applications close.
    #[default]
    Normal,
    /// Restarts at once: applications do not get to close, unsaved work is lost.
    Forced,
}

impl RebootMode {
    /// The path segment: `NORMAL` or `FORCED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "NORMAL",
            Self::Forced => "FORCED",
        }
    }
}

/// The body of `POST /v2/device/{id}/reboot/{mode}`: spec `RebootRequest`, sent only when
/// there is a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebootRequest {
    /// The stated reason, shown with the reboot in NinjaOne.
    pub reason: String,
}

/// NinjaOne's error body: `{"resultCode": "FAILURE", "errorMessage": "...", "incidentId":
/// "..."}`, sometimes only `resultCode`, or `{"error": "..."}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The result code (`FAILURE`, or a more specific code).
    #[serde(default)]
    pub result_code: Option<String>,
    /// The message.
    #[serde(default)]
    pub error_message: Option<String>,
    /// NinjaOne's incident id, to quote to its support.
    #[serde(default)]
    pub incident_id: Option<String>,
    /// The short form's message.
    #[serde(default)]
    pub error: Option<String>,
}

impl ErrorBody {
    /// Whether it carries anything of NinjaOne's envelope.
    pub fn is_envelope(&self) -> bool {
        self.result_code.is_some() || self.error_message.is_some() || self.error.is_some()
    }
}
