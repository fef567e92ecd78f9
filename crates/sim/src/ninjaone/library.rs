//! The simulated instance's configuration: its automation library (scripts and built-in
//! actions), the credential roles scripts run as, and its device custom-field definitions.
//! This is how one NinjaOne account is set up, not world data, so it lives here.

use super::model::{ScriptOutcome, SimDevice};

/// The operating systems a script or action applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Windows workstations and servers.
    Windows,
    /// macOS.
    Mac,
    /// Every agent.
    Any,
}

impl Platform {
    /// Whether an agent of `node_class` can run it.
    pub fn fits(self, node_class: &str) -> bool {
        match self {
            Self::Windows => node_class.starts_with("WINDOWS_"),
            Self::Mac => node_class == "MAC",
            Self::Any => true,
        }
    }

    /// The `operatingSystems` NinjaOne lists for it.
    pub(crate) fn operating_systems(self) -> &'static [&'static str] {
        match self {
            Self::Windows => &["Windows"],
            Self::Mac => &["Mac"],
            Self::Any => &["Windows", "Mac"],
        }
    }
}

/// How a run names what it runs: `{"type": "SCRIPT", "id": 11}` or
/// `{"type": "ACTION", "uid": "..."}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runnable {
    /// A script of the library, by id.
    Script(i64),
    /// A built-in action, by uid.
    Action(&'static str),
}

impl Runnable {
    /// The key [`NinjaOneSim::set_script_outcome`](super::NinjaOneSim::set_script_outcome)
    /// takes: the script id, or the action's uid.
    pub fn key(self) -> String {
        match self {
            Self::Script(id) => id.to_string(),
            Self::Action(uid) => uid.to_string(),
        }
    }
}

/// One entry of the automation library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LibraryEntry {
    /// Script id or action uid.
    pub runnable: Runnable,
    /// Name, as activities show it (`sourceName`).
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Script language (`PowerShell`, `ShellScript`); `Native` for built-in actions.
    pub language: &'static str,
    /// Where it runs.
    pub platform: Platform,
    /// Its category id ([`CATEGORIES`]).
    pub category: i64,
}

/// `Clear print queue` (PowerShell, Windows).
pub const CLEAR_PRINT_QUEUE: i64 = 11;
/// `Flush DNS cache` (PowerShell, Windows).
pub const FLUSH_DNS_CACHE: i64 = 12;
/// `Collect diagnostics` (shell, macOS).
pub const MAC_DIAGNOSTICS: i64 = 13;
/// `Test app connectivity` (PowerShell, Windows): a read-only diagnostic whose completed
/// activity reports the device's [`diagnostics`](crate::world::Device::diagnostics), or
/// [`CONNECTIVITY_PASSED`] when the world gives it none.
pub const TEST_APP_CONNECTIVITY: i64 = 14;
/// What [`TEST_APP_CONNECTIVITY`] reports on a device with nothing wrong.
pub const CONNECTIVITY_PASSED: &str = "Every connectivity check passed";
/// Built-in action `Clean temporary files` (Windows).
pub const ACTION_CLEAN_TEMP_FILES: &str = "2f4b8c1d-6e3a-4b7f-9c0d-1a2b3c4d5e6f";
/// Built-in action `Restart Print Spooler service` (Windows).
pub const ACTION_RESTART_SPOOLER: &str = "7c9e1f2a-3b4d-4e5f-8a6b-0c1d2e3f4a5b";

/// Script categories: (id, name, internal).
pub const CATEGORIES: &[(i64, &str, bool)] = &[(1, "Maintenance", false), (2, "Built-in", true)];

/// The automation library.
pub const LIBRARY: &[LibraryEntry] = &[
    LibraryEntry {
        runnable: Runnable::Script(CLEAR_PRINT_QUEUE),
        name: "Clear print queue",
        description: "Stops the spooler, deletes queued jobs and starts it again.",
        language: "PowerShell",
        platform: Platform::Windows,
        category: 1,
    },
    LibraryEntry {
        runnable: Runnable::Script(FLUSH_DNS_CACHE),
        name: "Flush DNS cache",
        description: "Runs ipconfig /flushdns.",
        language: "PowerShell",
        platform: Platform::Windows,
        category: 1,
    },
    LibraryEntry {
        runnable: Runnable::Script(MAC_DIAGNOSTICS),
        name: "Collect diagnostics",
        description: "Gathers system logs into /tmp for the technician.",
        language: "ShellScript",
        platform: Platform::Mac,
        category: 1,
    },
    LibraryEntry {
        runnable: Runnable::Script(TEST_APP_CONNECTIVITY),
        name: "Test app connectivity",
        description: "Resolves and connects to the line-of-business app and reports what it \
                      finds; changes nothing.",
        language: "PowerShell",
        platform: Platform::Windows,
        category: 1,
    },
    LibraryEntry {
        runnable: Runnable::Action(ACTION_CLEAN_TEMP_FILES),
        name: "Clean temporary files",
        description: "Deletes temporary files of the system and every user.",
        language: "Native",
        platform: Platform::Windows,
        category: 2,
    },
    LibraryEntry {
        runnable: Runnable::Action(ACTION_RESTART_SPOOLER),
        name: "Restart Print Spooler service",
        description: "Restarts the Print Spooler service.",
        language: "Native",
        platform: Platform::Windows,
        category: 2,
    },
];

/// The script with this id.
pub fn script(id: i64) -> Option<&'static LibraryEntry> {
    LIBRARY.iter().find(|e| e.runnable == Runnable::Script(id))
}

/// The built-in action with this uid (uuids compare without regard to case).
pub fn action(uid: &str) -> Option<&'static LibraryEntry> {
    LIBRARY
        .iter()
        .find(|e| matches!(e.runnable, Runnable::Action(a) if a.eq_ignore_ascii_case(uid)))
}

/// How a run of `entry` on `device` ends when no test has set its outcome
/// ([`NinjaOneSim::set_script_outcome`](super::NinjaOneSim::set_script_outcome), which wins):
/// success, with the default message, except that [`TEST_APP_CONNECTIVITY`] reports what it
/// finds there: the device's diagnostics, else [`CONNECTIVITY_PASSED`].
pub fn default_outcome(entry: &LibraryEntry, device: &SimDevice) -> ScriptOutcome {
    match entry.runnable {
        Runnable::Script(TEST_APP_CONNECTIVITY) => ScriptOutcome {
            message: Some(
                device
                    .diagnostics
                    .clone()
                    .unwrap_or_else(|| CONNECTIVITY_PASSED.to_string()),
            ),
            ..ScriptOutcome::success()
        },
        _ => ScriptOutcome::success(),
    }
}

/// The credential roles a script may run as (`runAs`).
pub const CREDENTIAL_ROLES: &[&str] = &["system", "loggedonuser"];

/// Whether the API may write a custom field, as its definition's API permission says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiPermission {
    /// Read and write.
    ReadWrite,
    /// Read only: writes are refused.
    ReadOnly,
}

/// A device custom-field definition: (name, API permission). Names are what the API uses as
/// keys, not labels.
pub const CUSTOM_FIELDS: &[(&str, ApiPermission)] = &[
    ("assetOwner", ApiPermission::ReadWrite),
    ("itTicketRef", ApiPermission::ReadWrite),
    ("lastL1Action", ApiPermission::ReadWrite),
    ("backupPolicy", ApiPermission::ReadWrite),
    ("patchRing", ApiPermission::ReadOnly),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_found_by_its_reference_and_categorised() {
        for e in LIBRARY {
            let found = match e.runnable {
                Runnable::Script(id) => script(id),
                Runnable::Action(uid) => action(uid),
            };
            assert_eq!(found, Some(e));
            assert!(CATEGORIES.iter().any(|(id, _, _)| *id == e.category));
        }
        assert_eq!(
            action(&ACTION_RESTART_SPOOLER.to_uppercase()).map(|e| e.name),
            Some("Restart Print Spooler service")
        );
        assert!(script(999).is_none());
        assert!(action(&CLEAR_PRINT_QUEUE.to_string()).is_none());
        assert!(Platform::Windows.fits("WINDOWS_SERVER"));
        let connectivity = script(TEST_APP_CONNECTIVITY).unwrap();
        assert_eq!(connectivity.name, "Test app connectivity");
        assert_eq!(connectivity.platform, Platform::Windows);
        let mut device = SimDevice::default();
        assert_eq!(
            default_outcome(connectivity, &device).message.as_deref(),
            Some(CONNECTIVITY_PASSED)
        );
        device.diagnostics = Some("HTTPS timed out".into());
        let outcome = default_outcome(connectivity, &device);
        assert_eq!(outcome.result, super::super::model::ActivityResult::Success);
        assert_eq!(outcome.message.as_deref(), Some("HTTPS timed out"));
        assert_eq!(
            default_outcome(script(FLUSH_DNS_CACHE).unwrap(), &device),
            ScriptOutcome::success()
        );
        assert!(!Platform::Windows.fits("MAC"));
    }
}
