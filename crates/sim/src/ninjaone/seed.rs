//! The instance seeded from the world: each tenant an organisation, each of its devices a
//! device with its asset tags, custom fields and open alerts (each alert's `TRIGGERED`
//! condition activity in the log).

use chrono::{DateTime, Duration, Utc};

use super::State;
use super::library::{ApiPermission, CUSTOM_FIELDS};
use super::model::{
    SimActivity, SimAlert, SimDevice, SimOrganization, SimTag, alert_source, epoch,
};
use crate::world::{Device, DeviceRole, Tenant, World};

/// The first id of the activity log: an account has history before the simulator starts.
const FIRST_ACTIVITY_ID: i64 = 5000;

/// The name of each organisation's one location.
const LOCATION_NAME: &str = "Main Office";

/// NinjaOne's node class for a device role.
pub(crate) fn node_class(role: DeviceRole) -> &'static str {
    match role {
        DeviceRole::WindowsWorkstation | DeviceRole::WindowsLaptop => "WINDOWS_WORKSTATION",
        DeviceRole::WindowsServer => "WINDOWS_SERVER",
        DeviceRole::Mac => "MAC",
    }
}

/// `lastLoggedInUser` as the agent reports it: `DOMAIN\user` on a domain-joined Windows
/// machine, the short name on a Mac.
pub(crate) fn logged_in_user(tenant: &Tenant, device: &Device) -> Option<String> {
    let person = tenant.person(device.last_user.as_deref()?)?;
    Some(match device.role {
        DeviceRole::Mac => person.username().to_string(),
        _ => format!("{}\\{}", tenant.rmm.netbios, person.username()),
    })
}

/// The state for every tenant of `world`, with times relative to `now`.
pub(crate) fn state(world: &World, now: DateTime<Utc>) -> State {
    let mut state = State {
        next_activity_id: FIRST_ACTIVITY_ID,
        field_permissions: CUSTOM_FIELDS
            .iter()
            .map(|(name, permission)| (name.to_string(), *permission))
            .collect(),
        ..State::default()
    };
    for tenant in &world.tenants {
        let org = SimOrganization {
            id: tenant.rmm.id,
            name: tenant.company.clone(),
            location_id: tenant.rmm.id,
            location_name: LOCATION_NAME.into(),
        };
        for (index, device) in tenant.devices.iter().enumerate() {
            let sim = self::device(&mut state, tenant, &org, index, device, now);
            for (n, alert) in device.alerts.iter().enumerate() {
                let alert = SimAlert {
                    uid: alert.uid.clone(),
                    device_id: device.id,
                    message: alert.message.clone(),
                    severity: alert.severity.clone(),
                    source_type: alert_source(&alert.message),
                    created: epoch(now - Duration::hours(n as i64 + 2)),
                };
                let id = state.take_activity_id();
                let activity = SimActivity::of_alert(id, alert.created, &alert, "TRIGGERED");
                state.activities.push(activity);
                state.alerts.push(alert);
            }
            state.devices.push(sim);
        }
        state.organizations.push(org);
    }
    state.organizations.sort_by_key(|o| o.id);
    state.devices.sort_by_key(|d| d.id);
    state
}

fn device(
    state: &mut State,
    tenant: &Tenant,
    org: &SimOrganization,
    index: usize,
    device: &Device,
    now: DateTime<Utc>,
) -> SimDevice {
    let n = index as i64;
    let node_class = node_class(device.role);
    let tag_ids = device
        .tags
        .iter()
        .map(|name| state.tag_id(name, epoch(now - Duration::days(400))))
        .collect();
    for name in device.fields.keys() {
        // A field the world gives a device is defined in the account.
        state
            .field_permissions
            .entry(name.clone())
            .or_insert(ApiPermission::ReadWrite);
    }
    let last_contact = if device.online {
        now - Duration::minutes(n + 1)
    } else {
        now - Duration::days(n + 9)
    };
    SimDevice {
        id: device.id,
        // Stable across runs, so recordings and demos do not churn.
        uid: format!("{:08x}-5eed-4a11-8000-{:012x}", org.id, device.id),
        organization_id: org.id,
        location_id: org.location_id,
        node_class: node_class.into(),
        approval_status: "APPROVED".into(),
        system_name: device.name.clone(),
        display_name: device.name.clone(),
        dns_name: format!("{}.{}", device.name, tenant.domain).to_ascii_lowercase(),
        online: device.online,
        os_name: device.os.clone(),
        os_manufacturer: match device.role {
            DeviceRole::Mac => "Apple Inc.",
            _ => "Microsoft Corporation",
        }
        .into(),
        manufacturer: device.manufacturer.clone(),
        model: device.model.clone(),
        serial: device.serial.clone(),
        chassis: match device.role {
            DeviceRole::WindowsLaptop => Some("LAPTOP".into()),
            DeviceRole::WindowsWorkstation => Some("DESKTOP".into()),
            DeviceRole::WindowsServer | DeviceRole::Mac => None,
        },
        ip_address: format!("10.{}.0.{}", org.id.rem_euclid(256), 10 + index),
        last_logged_in_user: logged_in_user(tenant, device),
        logon_time: epoch(last_contact - Duration::hours(n + 1)),
        tag_ids,
        fields: device.fields.clone(),
        created: epoch(now - Duration::days(365 + n)),
        last_contact: epoch(last_contact),
        diagnostics: device.diagnostics.clone(),
    }
}

impl State {
    /// The id of the asset tag `name`, made (with `created`) the first time it is seen.
    fn tag_id(&mut self, name: &str, created: f64) -> i64 {
        if let Some(tag) = self.tags.iter().find(|t| t.name == name) {
            return tag.id;
        }
        let id = self.tags.len() as i64 + 1;
        self.tags.push(SimTag {
            id,
            name: name.to_string(),
            description: None,
            created,
        });
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_world_device_is_seeded_with_its_tags_user_and_alerts() {
        let world = World::builtin();
        let state = state(world, Utc::now());
        for tenant in &world.tenants {
            assert!(
                state
                    .organizations
                    .iter()
                    .any(|o| o.id == tenant.rmm.id && o.name == tenant.company)
            );
            for device in &tenant.devices {
                let sim = state
                    .devices
                    .iter()
                    .find(|d| d.id == device.id)
                    .expect("seeded");
                assert_eq!(sim.organization_id, tenant.rmm.id);
                assert_eq!(sim.system_name, device.name);
                assert_eq!(sim.serial, device.serial);
                assert_eq!(sim.online, device.online);
                let tags: Vec<&str> = sim
                    .tag_ids
                    .iter()
                    .map(|id| {
                        state
                            .tags
                            .iter()
                            .find(|t| t.id == *id)
                            .unwrap()
                            .name
                            .as_str()
                    })
                    .collect();
                assert_eq!(tags, device.tags);
                assert_eq!(sim.fields, device.fields);
                assert_eq!(sim.diagnostics, device.diagnostics);
                for name in device.fields.keys() {
                    assert!(state.field_permissions.contains_key(name), "{name}");
                }
                for alert in &device.alerts {
                    assert!(
                        state
                            .alerts
                            .iter()
                            .any(|a| a.uid == alert.uid && a.device_id == device.id)
                    );
                }
            }
        }
        let priya = world.person("contoso-law", "priya.shah").unwrap();
        let tenant = world.tenant("contoso-law").unwrap();
        let laptop = tenant.devices_of(&priya.key).next().unwrap();
        let sim = state.devices.iter().find(|d| d.id == laptop.id).unwrap();
        assert_eq!(
            sim.last_logged_in_user.as_deref(),
            Some(format!("{}\\{}", tenant.rmm.netbios, priya.username()).as_str())
        );
    }

    #[test]
    fn roles_map_to_node_classes_and_macs_show_the_short_name() {
        assert_eq!(node_class(DeviceRole::WindowsLaptop), "WINDOWS_WORKSTATION");
        assert_eq!(node_class(DeviceRole::WindowsServer), "WINDOWS_SERVER");
        let world = World::builtin();
        let mac = world
            .tenants
            .iter()
            .flat_map(|t| t.devices.iter().map(move |d| (t, d)))
            .find(|(_, d)| d.role == DeviceRole::Mac && d.last_user.is_some());
        if let Some((tenant, device)) = mac {
            let user = logged_in_user(tenant, device).unwrap();
            assert!(!user.contains('\\'), "{user}");
        }
    }

    #[test]
    fn alert_messages_name_their_condition() {
        assert_eq!(
            alert_source("Disk C: free space below 10%"),
            Some("CONDITION_AGENT_DISK_FREE_SPACE")
        );
        assert_eq!(
            alert_source("CPU above 90% for 15 minutes"),
            Some("CONDITION_AGENT_CPU")
        );
        assert_eq!(alert_source("Something odd"), None);
    }
}
