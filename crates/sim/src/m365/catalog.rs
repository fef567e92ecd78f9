//! Vendor facts the seed maps the world's words onto: Entra's built-in directory roles (the
//! world names a role by display name; Entra by template id, the same in every tenant, as in
//! Microsoft's "Microsoft Entra built-in roles" reference) and FIDO2 key AAGUIDs.

/// Built-in roles the simulator knows, as (display name, template id): the ones an MSP meets.
pub const ROLES: &[(&str, &str)] = &[
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
    (
        "Privileged Role Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
    ),
    (
        "Privileged Authentication Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    ),
    (
        "Authentication Administrator",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    ),
    ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"),
    (
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    ),
    (
        "Password Administrator",
        "966707d0-3269-4727-9be2-8c3a10f19b9d",
    ),
    (
        "Groups Administrator",
        "fdd7a751-b60b-444a-984c-02652fe8fa1c",
    ),
    (
        "License Administrator",
        "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
    ),
    (
        "Exchange Administrator",
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
    ),
    (
        "Exchange Recipient Administrator",
        "31392ffb-586c-42d1-9346-e59415a2cc4e",
    ),
    (
        "SharePoint Administrator",
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
    ),
    (
        "Teams Administrator",
        "69091246-20e8-4a56-aa4d-066075b2a7a8",
    ),
    (
        "Intune Administrator",
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
    ),
    (
        "Conditional Access Administrator",
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
    ),
    (
        "Security Administrator",
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
    ),
    ("Security Reader", "5d6b6bb7-de71-4623-b4af-96380a352509"),
    (
        "Billing Administrator",
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
    ),
    (
        "Service Support Administrator",
        "f023fd81-a637-4b56-95fd-791ac0226033",
    ),
    ("Directory Readers", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"),
];

/// A built-in role by display name (any case): (its display name, its template id).
pub fn role(name: &str) -> Option<(&'static str, &'static str)> {
    ROLES
        .iter()
        .find(|(display, _)| display.eq_ignore_ascii_case(name))
        .copied()
}

/// FIDO2 key models and the AAGUID their attestation carries (firmware 5.2 to 5.4 for
/// YubiKeys), so a seeded key reads as an enrolled one would.
const FIDO2_AAGUIDS: &[(&str, &str)] = &[
    ("YubiKey 5 NFC", "2fc0579f-8113-47ea-b116-bb5a8db9202a"),
    ("YubiKey 5Ci", "c5ef55ff-ad9a-4b9f-b580-adebafe026d0"),
];

/// The AAGUID of a known FIDO2 key model.
pub(crate) fn fido2_aaguid(model: &str) -> Option<&'static str> {
    FIDO2_AAGUIDS
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(model))
        .map(|(_, aaguid)| *aaguid)
}
