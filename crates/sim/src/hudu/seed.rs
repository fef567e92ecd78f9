//! The MSP's Hudu instance, seeded from the world: every tenant is a company, the world's
//! layouts are the instance's layouts, every member of staff has a `People` asset, and the
//! tenants' other assets and their passwords are there too.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use super::model::{SimAsset, SimCompany, SimField, SimIntegration, SimPassword, record_slug};
use crate::world::{Layout, PsaKind, Tenant, World};

/// The layout every member of staff's asset is in.
pub const PEOPLE_LAYOUT: &str = "People";

/// The integrators this instance has set up, by id: the PSAs and the RMM the MSP runs
/// (instance configuration, not world data).
const CW_MANAGE: (i64, &str) = (1, "cw_manage");
const AUTOTASK: (i64, &str) = (2, "autotask");
const NINJA: (i64, &str) = (3, "ninja");

/// When the seeded records were created (a fixed time, so seeded data is the same every run).
pub(crate) fn seeded_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 6, 9, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

/// Everything the instance holds when it starts.
pub(crate) struct Seed {
    pub(crate) companies: Vec<SimCompany>,
    pub(crate) layouts: Vec<Layout>,
    pub(crate) assets: BTreeMap<i64, SimAsset>,
    pub(crate) passwords: BTreeMap<i64, SimPassword>,
}

pub(crate) fn seed(world: &World) -> Seed {
    let at = seeded_at();
    let mut integration_ids = 0;
    let companies = world
        .tenants
        .iter()
        .map(|tenant| {
            let psa = match tenant.psa {
                PsaKind::Connectwise => CW_MANAGE,
                PsaKind::Autotask => AUTOTASK,
            };
            let mut link = |(integrator_id, name): (i64, &str), sync_id, identifier| {
                integration_ids += 1;
                SimIntegration {
                    id: integration_ids,
                    integrator_id,
                    integrator_name: name.to_string(),
                    sync_id,
                    identifier,
                }
            };
            SimCompany {
                id: tenant.docs.id,
                name: tenant.company.clone(),
                slug: tenant.docs.slug.clone(),
                phone_number: Some(tenant.phone.clone()),
                website: Some(tenant.domain.clone()),
                integrations: vec![
                    link(
                        psa,
                        tenant.psa_company.id,
                        Some(tenant.psa_company.identifier.clone()),
                    ),
                    link(NINJA, tenant.rmm.id, None),
                ],
                created_at: at,
                updated_at: at,
            }
        })
        .collect();

    let mut assets = BTreeMap::new();
    let mut passwords = BTreeMap::new();
    for tenant in &world.tenants {
        if let Some(people) = world.layout(PEOPLE_LAYOUT) {
            for person in tenant.staff() {
                let Some(id) = person.asset_id else { continue };
                let manager = person
                    .manager
                    .as_deref()
                    .and_then(|key| tenant.person(key))
                    .map(|m| m.display_name());
                let values = [
                    ("Email", Some(person.email(tenant))),
                    ("Title", person.title.clone()),
                    ("Department", person.department.clone()),
                    ("Phone", person.phone.clone()),
                    ("Manager", manager),
                ]
                .into_iter()
                .filter_map(|(label, value)| Some((label.to_string(), Value::String(value?))));
                let asset = asset(tenant, people, id, &person.display_name(), values, at);
                assets.insert(id, asset);
            }
        }
        for world_asset in &tenant.assets {
            // The world checks that every asset's layout exists.
            let Some(layout) = world.layout(&world_asset.layout) else {
                continue;
            };
            let values = world_asset
                .fields
                .iter()
                .map(|(label, value)| (label.clone(), value.clone()));
            let mut record = asset(
                tenant,
                layout,
                world_asset.id,
                &world_asset.name,
                values,
                at,
            );
            record.archived = world_asset.archived;
            assets.insert(world_asset.id, record);
        }
        for stored in &tenant.passwords {
            passwords.insert(
                stored.id,
                SimPassword {
                    id: stored.id,
                    company_id: tenant.docs.id,
                    name: stored.name.clone(),
                    slug: record_slug(&stored.name, stored.id),
                    username: stored.username.clone(),
                    password: stored.password.clone(),
                    otp_secret: None,
                    url: stored.url.clone(),
                    description: None,
                    password_type: None,
                    passwordable: stored.asset.map(|id| ("Asset".to_string(), id)),
                    in_portal: false,
                    password_folder_id: None,
                    archived: false,
                    created_at: at,
                    updated_at: at,
                },
            );
        }
    }
    Seed {
        companies,
        layouts: world.msp.layouts.clone(),
        assets,
        passwords,
    }
}

/// An asset of `tenant`'s company in `layout`, its field values given by label. The fields
/// Hudu keeps as columns (`primary_mail`, `primary_serial`, ...) take the values of the fields
/// labelled `Email`, `Serial Number`, `Manufacturer` and `Model`.
fn asset(
    tenant: &Tenant,
    layout: &Layout,
    id: i64,
    name: &str,
    values: impl Iterator<Item = (String, Value)>,
    at: DateTime<Utc>,
) -> SimAsset {
    let values: BTreeMap<String, Value> = values.collect();
    let fields = layout
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            values.get(&f.label).map(|value| SimField {
                id: f.id,
                label: f.label.clone(),
                position: i + 1,
                value: value.clone(),
            })
        })
        .collect();
    let text = |label: &str| {
        values
            .get(label)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    SimAsset {
        id,
        company_id: tenant.docs.id,
        layout_id: layout.id,
        name: name.to_string(),
        slug: record_slug(name, id),
        primary_serial: text("Serial Number"),
        primary_mail: text("Email"),
        primary_model: text("Model"),
        primary_manufacturer: text("Manufacturer"),
        archived: false,
        fields,
        created_at: at,
        updated_at: at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_world_asset_field_is_in_its_layout() {
        let world = World::builtin();
        for tenant in &world.tenants {
            for asset in &tenant.assets {
                let layout = world
                    .layout(&asset.layout)
                    .expect("the world checks layouts");
                for label in asset.fields.keys() {
                    assert!(
                        layout.fields.iter().any(|f| &f.label == label),
                        "{}: asset {} has field {label:?}, which layout {} lacks",
                        tenant.key,
                        asset.name,
                        layout.name
                    );
                }
            }
        }
        let people = world.layout(PEOPLE_LAYOUT).expect("a People layout");
        for label in ["Email", "Title", "Department", "Phone", "Manager"] {
            assert!(people.fields.iter().any(|f| f.label == label), "{label}");
        }
    }

    #[test]
    fn staff_get_people_assets_and_passwords_keep_their_links() {
        let world = World::builtin();
        let seed = seed(world);
        assert_eq!(seed.companies.len(), world.tenants.len());
        for tenant in &world.tenants {
            for person in tenant.staff() {
                let asset = &seed.assets[&person.asset_id.expect("staff have one")];
                assert_eq!(asset.name, person.display_name());
                assert_eq!(asset.company_id, tenant.docs.id);
                assert_eq!(
                    asset.field_text("Email"),
                    Some(person.email(tenant).as_str())
                );
                assert_eq!(asset.primary_mail, Some(person.email(tenant)));
                if let Some(key) = &person.manager {
                    let manager = tenant.person(key).expect("checked").display_name();
                    assert_eq!(asset.field_text("Manager"), Some(manager.as_str()));
                }
            }
            for stored in &tenant.passwords {
                let entry = &seed.passwords[&stored.id];
                assert_eq!(entry.company_id, tenant.docs.id);
                assert_eq!(entry.password, stored.password);
                assert_eq!(
                    entry.passwordable,
                    stored.asset.map(|id| ("Asset".to_string(), id))
                );
            }
        }
    }
}
