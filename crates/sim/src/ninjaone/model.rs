//! The simulator's records and the JSON NinjaOne answers with for them (spec schemas
//! `Organization`, `Device` / `AgentDevice`, `NodeWithDetailedReferences`, `DeviceSearchMatch`,
//! `ItamTagDTO`, `Alert`, `Activity`). Times are epoch seconds as floating-point numbers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::library::Runnable;

/// Epoch seconds as NinjaOne writes them (`format: double`).
pub(crate) fn epoch(at: DateTime<Utc>) -> f64 {
    // Millisecond precision, as the vendor's examples show.
    at.timestamp_millis() as f64 / 1000.0
}

/// An organisation (a client tenant) with its one location.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOrganization {
    /// Organisation id (`tenant.rmm.id`).
    pub id: i64,
    /// Name (`tenant.company`).
    pub name: String,
    /// Its location's id.
    pub location_id: i64,
    /// Its location's name.
    pub location_name: String,
}

impl SimOrganization {
    /// Spec `Organization` (list mode).
    pub(crate) fn brief(&self) -> Value {
        json!({"id": self.id, "name": self.name, "nodeApprovalMode": "AUTOMATIC"})
    }

    fn location(&self) -> Value {
        json!({"id": self.location_id, "name": self.location_name})
    }

    /// Spec `OrganizationDetailed`.
    pub(crate) fn detailed(&self) -> Value {
        let mut value = self.brief();
        value["locations"] = json!([self.location()]);
        value["policies"] = json!([]);
        value
    }
}

/// A managed device.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimDevice {
    /// Device id.
    pub id: i64,
    /// Device uuid.
    pub uid: String,
    /// Its organisation.
    pub organization_id: i64,
    /// Its location.
    pub location_id: i64,
    /// `WINDOWS_WORKSTATION`, `WINDOWS_SERVER`, `MAC`.
    pub node_class: String,
    /// `APPROVED` for every seeded device.
    pub approval_status: String,
    /// Host name.
    pub system_name: String,
    /// Name shown in the console (the host name unless renamed).
    pub display_name: String,
    /// DNS name.
    pub dns_name: String,
    /// The agent is connected.
    pub online: bool,
    /// Operating system name.
    pub os_name: String,
    /// Operating system vendor.
    pub os_manufacturer: String,
    /// Hardware manufacturer.
    pub manufacturer: String,
    /// Hardware model.
    pub model: String,
    /// Serial number.
    pub serial: String,
    /// `LAPTOP` or `DESKTOP`, where known.
    pub chassis: Option<String>,
    /// IPv4 address.
    pub ip_address: String,
    /// The user who logged in most recently, as NinjaOne shows it (`CONTOSO\pshah`).
    pub last_logged_in_user: Option<String>,
    /// When that user logged in.
    pub logon_time: f64,
    /// Asset tag ids, in the order they were added.
    pub tag_ids: Vec<i64>,
    /// Custom field values by field name.
    pub fields: BTreeMap<String, Value>,
    /// Enrolled.
    pub created: f64,
    /// Last heard from.
    pub last_contact: f64,
    /// What the `Test app connectivity` script
    /// ([`TEST_APP_CONNECTIVITY`](super::library::TEST_APP_CONNECTIVITY)) reports on it, from
    /// the world; `None`: every check passes.
    pub diagnostics: Option<String>,
}

impl SimDevice {
    /// Spec `NodeWithDetailedReferences`: what device lists answer. `tags` holds the names of
    /// the device's asset tags.
    pub(crate) fn node(&self, org: &SimOrganization, tags: Vec<String>) -> Value {
        let mut value = json!({
            "id": self.id,
            "uid": self.uid,
            "organizationId": self.organization_id,
            "locationId": self.location_id,
            "nodeClass": self.node_class,
            "approvalStatus": self.approval_status,
            "offline": !self.online,
            "displayName": self.display_name,
            "systemName": self.system_name,
            "dnsName": self.dns_name,
            "created": self.created,
            "lastContact": self.last_contact,
            "lastUpdate": self.last_contact,
            "tags": tags,
            "references": {"organization": org.brief(), "location": org.location()},
        });
        if self.node_class.starts_with("WINDOWS_") {
            value["netbiosName"] = json!(self.system_name);
        }
        value
    }

    /// Spec `AgentDevice`: `GET /v2/device/{id}` and `/v2/devices-detailed`.
    pub(crate) fn detail(&self, org: &SimOrganization, tags: Vec<String>) -> Value {
        let mut value = self.node(org, tags);
        value["ipAddresses"] = json!([self.ip_address]);
        value["os"] = json!({
            "manufacturer": self.os_manufacturer,
            "name": self.os_name,
            "architecture": "64-bit",
            "needsReboot": false,
        });
        let mut system = json!({
            "name": self.system_name,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "serialNumber": self.serial,
            "biosSerialNumber": self.serial,
        });
        if let Some(chassis) = &self.chassis {
            system["chassisType"] = json!(chassis);
        }
        value["system"] = system;
        if let Some(user) = &self.last_logged_in_user {
            value["lastLoggedInUser"] = json!(user);
        }
        value
    }
}

/// An asset tag.
#[derive(Debug, Clone, PartialEq)]
pub struct SimTag {
    /// Tag id.
    pub id: i64,
    /// Name (1 to 40 characters, unique in the account).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Created.
    pub created: f64,
}

impl SimTag {
    /// Spec `ItamTagPublicApiDTO`: what creating it answers.
    pub(crate) fn json(&self) -> Value {
        let mut value = json!({
            "id": self.id,
            "name": self.name,
            "createTime": self.created,
            "updateTime": self.created,
        });
        if let Some(description) = &self.description {
            value["description"] = json!(description);
        }
        value
    }

    /// Spec `ItamTagDTO`: the list's entry, with how many devices carry it.
    pub(crate) fn listed(&self, targets: usize) -> Value {
        let mut value = self.json();
        value["targetsCount"] = json!(targets);
        value
    }
}

/// An open alert (a triggered condition).
#[derive(Debug, Clone, PartialEq)]
pub struct SimAlert {
    /// Alert uid (the condition's activity series).
    pub uid: String,
    /// The device.
    pub device_id: i64,
    /// Message.
    pub message: String,
    /// `CRITICAL`, `MAJOR`, `MODERATE`, `MINOR`, `NONE`.
    pub severity: String,
    /// The condition's kind (`CONDITION_AGENT_CPU`), where the message says it.
    pub source_type: Option<&'static str>,
    /// Triggered.
    pub created: f64,
}

impl SimAlert {
    /// Spec `Alert`, with the device it is on.
    pub(crate) fn json(&self, device: Value) -> Value {
        let mut value = json!({
            "uid": self.uid,
            "deviceId": self.device_id,
            "message": self.message,
            "subject": self.message,
            "severity": self.severity,
            "createTime": self.created,
            "updateTime": self.created,
            "data": {},
            "device": device,
        });
        if let Some(source) = self.source_type {
            value["sourceType"] = json!(source);
        }
        value
    }
}

/// The kind of condition an alert message describes, in NinjaOne's `sourceType` words.
pub(crate) fn alert_source(message: &str) -> Option<&'static str> {
    let lower = message.to_ascii_lowercase();
    [
        ("disk", "CONDITION_AGENT_DISK_FREE_SPACE"),
        ("cpu", "CONDITION_AGENT_CPU"),
        ("memory", "CONDITION_AGENT_MEMORY"),
        ("service", "CONDITION_WINDOWS_SERVICE_STATE_CHANGED"),
    ]
    .into_iter()
    .find(|(word, _)| lower.contains(word))
    .map(|(_, source)| source)
}

/// How a run ends: spec `activityResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityResult {
    /// It worked.
    Success,
    /// It failed.
    Failure,
    /// The device cannot run it.
    Unsupported,
    /// It did not finish.
    Uncompleted,
}

impl ActivityResult {
    /// The spec's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Failure => "FAILURE",
            Self::Unsupported => "UNSUPPORTED",
            Self::Uncompleted => "UNCOMPLETED",
        }
    }
}

/// What a script or action does when it runs: its result and the activity's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOutcome {
    /// The result.
    pub result: ActivityResult,
    /// The completed activity's message; `None` says the default for the result.
    pub message: Option<String>,
}

impl ScriptOutcome {
    /// Succeeds (every script does, unless told otherwise).
    pub fn success() -> Self {
        Self {
            result: ActivityResult::Success,
            message: None,
        }
    }

    /// Fails with `message`.
    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            result: ActivityResult::Failure,
            message: Some(message.into()),
        }
    }
}

/// Where a run is: spec `statusCode` of its activities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Asked for; the agent has not picked it up (an offline device stays here).
    StartRequested,
    /// Running on the agent.
    Started,
    /// Done, with a result.
    Completed(ActivityResult),
}

impl RunStatus {
    /// The spec's `statusCode`.
    pub fn code(self) -> &'static str {
        match self {
            Self::StartRequested => "START_REQUESTED",
            Self::Started => "STARTED",
            Self::Completed(_) => "COMPLETED",
        }
    }

    /// The `status` text shown with it.
    fn text(self) -> &'static str {
        match self {
            Self::StartRequested => "Start Requested",
            Self::Started => "Started",
            Self::Completed(_) => "Completed",
        }
    }
}

/// One script or built-in action run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimScriptRun {
    /// Its activity series uid.
    pub series_uid: String,
    /// The device.
    pub device_id: i64,
    /// What runs.
    pub runnable: Runnable,
    /// Its name.
    pub name: String,
    /// The parameters string, if any.
    pub parameters: Option<String>,
    /// The credential role it runs as.
    pub run_as: String,
    /// Where it is.
    pub status: RunStatus,
    /// How it will end.
    pub outcome: ScriptOutcome,
}

impl SimScriptRun {
    /// The message of its activity at `status`.
    pub(crate) fn message(&self, status: RunStatus) -> String {
        let what = match self.runnable {
            Runnable::Script(_) => "Script",
            Runnable::Action(_) => "Action",
        };
        let name = &self.name;
        match status {
            RunStatus::StartRequested => format!("{what} '{name}' start requested"),
            RunStatus::Started => format!("{what} '{name}' started"),
            RunStatus::Completed(result) => {
                self.outcome
                    .message
                    .clone()
                    .unwrap_or_else(|| match result {
                        ActivityResult::Success => format!("{what} '{name}' completed"),
                        ActivityResult::Unsupported => {
                            format!("{what} '{name}' is not supported on this device")
                        }
                        _ => format!("{what} '{name}' failed"),
                    })
            }
        }
    }
}

/// How a device reboots: the `{mode}` of `POST /v2/device/{id}/reboot/{mode}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebootMode {
    /// Applications may close first.
    Normal,
    /// At once.
    Forced,
}

impl RebootMode {
    /// The mode of a path segment: `NORMAL` or `FORCED`, exactly (the document's enum).
    pub(crate) fn parse(segment: &str) -> Option<Self> {
        match segment {
            "NORMAL" => Some(Self::Normal),
            "FORCED" => Some(Self::Forced),
            _ => None,
        }
    }

    /// The document's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "NORMAL",
            Self::Forced => "FORCED",
        }
    }
}

/// One reboot command: queued for the agent until the device is online, then done.
#[derive(Debug, Clone, PartialEq)]
pub struct SimReboot {
    /// Its activity series uid.
    pub series_uid: String,
    /// The device.
    pub device_id: i64,
    /// How.
    pub mode: RebootMode,
    /// The stated reason, if one was given.
    pub reason: Option<String>,
    /// The agent has rebooted the device (`false`: still queued).
    pub done: bool,
}

/// One entry of the activity log.
#[derive(Debug, Clone, PartialEq)]
pub struct SimActivity {
    /// Activity id (grows with time).
    pub id: i64,
    /// When.
    pub time: f64,
    /// The device.
    pub device_id: i64,
    /// Spec `activityType` (`ACTION`, `CONDITION`).
    pub activity_type: String,
    /// Spec `statusCode`.
    pub status_code: String,
    /// Human status text.
    pub status: String,
    /// Spec `activityResult`, once known.
    pub result: Option<ActivityResult>,
    /// The series it belongs to (a run's or an alert's uid).
    pub series_uid: String,
    /// Script, action or condition name.
    pub source_name: String,
    /// Message.
    pub message: String,
    /// Severity (`NONE` for runs, the alert's for conditions).
    pub severity: String,
    /// Custom data given with it (an alert reset's body).
    pub data: Map<String, Value>,
}

impl SimActivity {
    /// The activity of a run at `status`.
    pub(crate) fn of_run(id: i64, time: f64, run: &SimScriptRun, status: RunStatus) -> Self {
        Self {
            id,
            time,
            device_id: run.device_id,
            activity_type: "ACTION".into(),
            status_code: status.code().into(),
            status: status.text().into(),
            result: match status {
                RunStatus::Completed(result) => Some(result),
                _ => None,
            },
            series_uid: run.series_uid.clone(),
            source_name: run.name.clone(),
            message: run.message(status),
            severity: "NONE".into(),
            data: Map::new(),
        }
    }

    /// A condition activity of `alert`: `TRIGGERED` or `RESET`.
    pub(crate) fn of_alert(id: i64, time: f64, alert: &SimAlert, code: &str) -> Self {
        let (status, message) = if code == "RESET" {
            ("Reset", format!("Condition reset: {}", alert.message))
        } else {
            ("Triggered", alert.message.clone())
        };
        Self {
            id,
            time,
            device_id: alert.device_id,
            activity_type: "CONDITION".into(),
            status_code: code.into(),
            status: status.into(),
            result: None,
            series_uid: alert.uid.clone(),
            source_name: alert.message.clone(),
            message,
            severity: alert.severity.clone(),
            data: Map::new(),
        }
    }

    /// An activity of `reboot`: the command (`ACTION`, `START_REQUESTED`) or the agent
    /// reporting the restart (`SYSTEM`, `SYSTEM_REBOOTED`), each a status code the document
    /// lists. The reason, if any, is its data.
    pub(crate) fn of_reboot(id: i64, time: f64, reboot: &SimReboot) -> Self {
        let mode = reboot.mode.as_str();
        let (kind, code, status, message) = if reboot.done {
            (
                "SYSTEM",
                "SYSTEM_REBOOTED",
                "System Rebooted",
                "System rebooted".to_string(),
            )
        } else {
            (
                "ACTION",
                "START_REQUESTED",
                "Start Requested",
                format!("Reboot ({mode}) requested"),
            )
        };
        let mut data = Map::new();
        if let Some(reason) = &reboot.reason {
            data.insert("reason".into(), json!(reason));
        }
        Self {
            id,
            time,
            device_id: reboot.device_id,
            activity_type: kind.into(),
            status_code: code.into(),
            status: status.into(),
            result: None,
            series_uid: reboot.series_uid.clone(),
            source_name: format!("Reboot ({mode})"),
            message,
            severity: "NONE".into(),
            data,
        }
    }

    /// Spec `Activity`.
    pub(crate) fn json(&self) -> Value {
        let mut value = json!({
            "id": self.id,
            "activityTime": self.time,
            "deviceId": self.device_id,
            "severity": self.severity,
            "priority": "NONE",
            "seriesUid": self.series_uid,
            "activityType": self.activity_type,
            "statusCode": self.status_code,
            "status": self.status,
            "sourceName": self.source_name,
            "message": self.message,
            "data": self.data,
        });
        if let Some(result) = self.result {
            value["activityResult"] = json!(result.as_str());
        }
        value
    }
}
