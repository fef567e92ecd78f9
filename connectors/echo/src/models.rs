//! Echo's JSON shapes, exactly as the vendor documents them.

use serde::{Deserialize, Serialize};
use stackhand_core::Device;

/// A device: `{"id": "d1", "name": "LAPTOP-1", "tags": ["vip"], "online": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EchoDevice {
    /// Echo's id.
    pub id: String,
    /// The device name.
    pub name: String,
    /// Its tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether it is online.
    #[serde(default)]
    pub online: bool,
}

impl From<EchoDevice> for Device {
    fn from(device: EchoDevice) -> Self {
        Device {
            id: device.id,
            name: device.name,
            // Echo does not report the last logged-in user.
            last_user: None,
            tags: device.tags,
            online: device.online,
        }
    }
}

/// One page of `GET /v1/devices?q=<text>`: `{"items": [...], "next": "<absolute url>" | null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePage {
    /// The devices on this page.
    pub items: Vec<EchoDevice>,
    /// The absolute URL of the next page; `null` on the last.
    #[serde(default)]
    pub next: Option<String>,
}

/// Echo's error body: `{"code": "<machine code>", "detail": "<text>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The machine-readable code (`tag_limit`).
    pub code: String,
    /// The human-readable detail.
    #[serde(default)]
    pub detail: String,
}

/// The error code of a `400` when the device already has the maximum number of tags.
pub const TAG_LIMIT: &str = "tag_limit";
