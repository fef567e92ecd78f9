//! # stackhand-ninjaone
//!
//! The stackhand connector for **NinjaOne**, an RMM, as an [`Rmm`](stackhand_core::Rmm)
//! (device reads, script-run state) with [`RmmWrites`](stackhand_core::RmmWrites) (asset
//! tags, script runs) and two vendor actions (device reboot, alert reset), through the Public
//! API v2. One tenant is one NinjaOne organisation
//! (`organization_id`): devices of other organisations are neither found nor touched.
//!
//! ## The vendor's API
//!
//! Sources: NinjaOne's Public API 2.0 document (2.0.9-draft, as republished in
//! [`homotechsual/NinjaOne`](https://github.com/homotechsual/NinjaOne); trimmed copy in
//! `crates/testkit/specs/ninjaone.yaml`), the vendor's docs at
//! `https://{instance}.ninjarmm.com/apidocs/`, and NinjaOne client code (homotechsual's
//! PowerShell module, `KelvinTegelaar/CIPP-API`).
//!
//! - **Instances**: `https://{instance}.ninjarmm.com` with instance `app` (US, the default),
//!   `us2`, `eu`, `ca`, `oc` or `fed` (US federal). Tokens and data belong to the instance,
//!   so `base_url` is set per tenant.
//! - **Auth**: OAuth 2.0 client credentials, a form POST to `{instance}/ws/oauth/token`
//!   (`grant_type=client_credentials`, `client_id`, `client_secret`, `scope`) answering
//!   `{"access_token", "token_type": "Bearer", "expires_in": 3600, "scope"}`; then
//!   `Authorization: Bearer <token>`. Scopes: `monitoring` (reads), `management` (writes:
//!   tags, scripts, custom fields), `control` (remote sessions). The connector asks for
//!   `monitoring management` only ([`config::SCOPES`]); the token is cached for its lifetime
//!   and shared by concurrent calls.
//! - **Devices**: `GET /v2/device/{id}` (spec `Device`; agent devices add
//!   `lastLoggedInUser`). `GET /v2/devices/search?q=<text>&limit=<n>` matches name,
//!   logged-on user name, IP and more, answering `{"query", "devices": [DeviceSearchMatch]}`;
//!   it is fuzzy, spans every organisation the app sees, and is not paged.
//! - **Asset tags**: `GET /v2/tag` → `{"tags": [{"id", "name", ...}]}`; `POST /v2/tag`
//!   `{"name" (1 to 40 characters), "description"}` creates one; `POST /v2/tag/device`
//!   `{"assetIds", "tagIdsToAdd", "tagIdsToRemove"}` adds and removes tags keeping the
//!   others, while `PUT /v2/tag/device/{id}` `{"tagIds"}` **replaces** every tag of the
//!   device (never used here). The device's `tags` string array is read-only.
//! - **Scripts**: `POST /v2/device/{id}/script/run` with `{"type": "SCRIPT", "id": 42,
//!   "parameters": "...", "runAs": "system"}`, or `{"type": "ACTION", "uid": "<uuid>", ...}`
//!   for a built-in action; `runAs` is a credential role (`system`, `loggedonuser`) or a
//!   credential id. Fire and forget: no run id and no output in the answer. What a device can
//!   run, with names, is `GET /v2/device/{id}/scripting/options` → `{"categories", "scripts":
//!   [{"type": "SCRIPT", "id", "name", ...} | {"type": "ACTION", "uid", "name", ...}],
//!   "credentials"}` (spec `DeviceScriptingOptions`); the run itself takes only the id or
//!   uid. Results appear in the activity log, `GET /v2/activities` (`class`, `df`,
//!   `newerThan`, `pageSize` 10 to 1000) → `{"lastActivityId", "activities": [Activity]}`,
//!   newest first, with `activityResult` `SUCCESS` / `FAILURE` / `UNSUPPORTED` /
//!   `UNCOMPLETED`.
//! - **Reboots**: `POST /v2/device/{id}/reboot/{mode}` (operation `rebootDevices`) with `mode`
//!   `NORMAL` or `FORCED` and an optional `{"reason": "..."}` (spec `RebootRequest`), answered
//!   `204` (homotechsual's `Restart-NinjaOneDevice`). The command goes to the device's agent,
//!   queued while it is offline; no job id comes back.
//! - **Alerts**: `GET /v2/alerts?df=...` (or `GET /v2/device/{id}/alerts`) lists the open alerts
//!   (triggered conditions; spec `Alert`: `uid`, `deviceId`, `message`, `severity`,
//!   `sourceType`, `device`, ...); `POST /v2/alert/{uid}/reset` with a JSON object (custom
//!   data for the reset activity, `{}` for none) closes one, answering `204`.
//! - **Paging**: device and organisation lists page with `pageSize` and `after=<last id>`;
//!   reports (`/v2/queries/*`) with a cursor. The connector uses neither.
//! - **Throttling**: NinjaOne publishes no quota and no rate headers. 429 and 5xx are retried
//!   with backoff (honouring `Retry-After` if sent); keep concurrency low: the connector allows 4
//!   requests in flight per tenant unless `http.max_in_flight` says otherwise.
//! - **Errors**: `{"resultCode": "FAILURE", "errorMessage": "...", "incidentId": "..."}`,
//!   sometimes only `resultCode`, or `{"error": "..."}`. 401: bad or expired token; 403: a
//!   missing scope or a device outside the app's technician role.
//! - **Gotchas**: times are epoch seconds as floats; the search may return other
//!   organisations' devices (the connector drops them); the spec's descriptions of
//!   `olderThan`/`newerThan` on `/v2/activities` are swapped (the connector uses `newerThan`
//!   as client code does, and filters ids itself as well).
//!
//! ## What it does
//!
//! - [`Rmm::find_devices`](stackhand_core::Rmm::find_devices): the search (`limit=50`), keeping
//!   the organisation's devices. Matches carry no last logged-in user, so `last_user` is
//!   `None` there; [`Rmm::get_device`](stackhand_core::Rmm::get_device) reports it.
//! - [`RmmWrites::add_tag`](stackhand_core::RmmWrites::add_tag) finds the asset tag by name
//!   (creating it if the account has none) and adds it with `POST /v2/tag/device`;
//!   [`RmmWrites::remove_tag`](stackhand_core::RmmWrites::remove_tag) removes it the same
//!   way. Other tags are never touched. Device `tags` as read come from the device's `tags`
//!   array: the documented API has no read of one device's asset tags.
//! - [`RmmWrites::run_script`](stackhand_core::RmmWrites::run_script): a numeric script is a
//!   script id, a uuid a built-in action, and anything else the name of a script or built-in
//!   action as the library shows it (`Flush DNS cache`), since ids differ between accounts.
//!   A name is looked up in the device's scripting options (one extra read; ids and uuids
//!   need none), matching exactly but for case and surrounding spaces; a name the device
//!   cannot run is refused naming the device and listing what it can, and so is a name two
//!   entries share. It runs as `run_as` (default `system`). The run's id is the account's
//!   last activity id read just before the run;
//!   [`Rmm::script_run`](stackhand_core::Rmm::script_run) reads the organisation's device
//!   activities newer than it and reports the oldest `ACTION` / `ACTIONSET` / `SCRIPTING`
//!   activity of the device that has a result (the document does not say which of these types
//!   a script run is recorded as, so all three count). Two runs on one device at once cannot
//!   be told apart.
//! - Every read and write first checks the device belongs to `organization_id`.
//! - Vendor actions ([`actions`]), each with a read-only plan:
//!   - `ninjaone.reboot_device` `{device, mode: NORMAL | FORCED (default NORMAL), reason?}`:
//!     the plan reads the device (another organisation's is not found), names it, and warns
//!     when it is offline (NinjaOne queues the reboot until its agent reconnects), when the
//!     mode is `FORCED` (unsaved work is lost) and when it is a server. Risk high (the spec
//!     has one risk per action, and `FORCED` sets it), not reversible, not idempotent. The
//!     outcome is `Succeeded`: the reboot happens after NinjaOne answers.
//!   - `ninjaone.reset_alert` `{alert: uid}`: the plan finds the alert among the
//!     organisation's open ones (`GET /v2/alerts?df=org = <id>`), so another organisation's
//!     is not found; execution resets it with `{}` and reads the alerts again (gone:
//!     `Verified`). Risk medium, not reversible.
//!
//! ## Tests
//!
//! `tests/wiremock.rs` pins every request and validates them against the vendor document;
//! `tests/conformance.rs` runs the testkit's conformance suite (with the vendor actions'
//! plans); `tests/registry.rs` builds the connector from a `stackhand.toml` section;
//! `tests/sim.rs` runs the connector through an engine against the NinjaOne simulator seeded
//! from the world (`stackhand_sim::ninjaone`): tags, script runs (by id, uuid and name),
//! reboots, alert resets, throttling.
//!
//! ## Example
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use stackhand_core::build::LocalSecrets;
//! use stackhand_core::{BuildContext, Registry, TenantId};
//!
//! # async fn demo() -> stackhand_core::Result<()> {
//! let mut registry = Registry::new();
//! stackhand_ninjaone::register(&mut registry);
//!
//! // `[tenants.acme.connectors.ninjaone]`, with the secret in
//! // /etc/stackhand/secrets/acme/ninjaone.secret.
//! let ctx = BuildContext::new(TenantId::new("acme")?)
//!     .with_secrets(Arc::new(LocalSecrets::new().with_dir("/etc/stackhand/secrets")));
//! let connector = registry
//!     .build(
//!         &ctx,
//!         stackhand_ninjaone::VENDOR,
//!         serde_json::json!({
//!             "base_url": "https://eu.ninjarmm.com",
//!             "organization_id": 12,
//!             "auth": {"client_id": "acme-stackhand", "client_secret": {"file": "ninjaone.secret"}},
//!         }),
//!     )
//!     .await?;
//! let rmm = connector.rmm().expect("NinjaOne is an RMM");
//! for device in rmm.find_devices("jdoe").await? {
//!     println!("{} ({}): {:?}", device.name, device.id, device.last_user);
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod actions;
mod client;
pub mod config;
pub mod connector;
pub mod error;
pub mod factory;
pub mod models;
mod rmm;

use std::sync::Arc;

use stackhand_core::Category;

pub use config::{NinjaOneAuth, NinjaOneConfig};
pub use connector::NinjaOneConnector;
pub use error::NinjaOneErrorParser;
pub use factory::NinjaOneFactory;

/// The vendor key in configuration (`[tenants.<id>.connectors.ninjaone]`) and connector info.
pub const VENDOR: &str = "ninjaone";

/// The capability categories a NinjaOne connector offers.
pub const CATEGORIES: &[Category] = &[Category::Rmm];

/// Add the NinjaOne factory to a registry.
pub fn register(registry: &mut stackhand_core::Registry) {
    registry.register(Arc::new(NinjaOneFactory));
}
