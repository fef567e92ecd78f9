//! All six simulators started from one world, and the `stackhand.toml` that points stackhand at
//! them: every tenant gets its identity provider, its PSA, NinjaOne and Hudu, each connector
//! table aimed at its simulator, with the simulators' credentials as files in the tenant's
//! secrets directory.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use stackhand_sim::Faults;
//! use stackhand_sim::deployment::SimulatedWorld;
//! use stackhand_sim::world::World;
//!
//! let sims = SimulatedWorld::start(World::builtin(), Faults::default()).await?;
//! let config = sims.write_deployment(std::path::Path::new("sim-deployment"), "policy.toml")?;
//! println!("stackhand config check --config {}", config.display());
//! # Ok(()) }
//! ```

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::autotask::{self, AutotaskSim};
use crate::connectwise::{self, ConnectWiseSim};
use crate::hudu::{self, HuduSim};
use crate::m365::M365Sim;
use crate::ninjaone::{self, NinjaOneSim};
use crate::okta::OktaSim;
use crate::world::{IdentityKind, PsaKind, Tenant, World};
use crate::{Faults, SimServer};

/// A starter policy for the simulated world (`crates/sim/starter-policy.toml`): technicians do
/// routine, reversible work; users' own resets wait for a technician; access, new starters and
/// leavers wait for an MSP lead; the agent keeps tickets. Everything else is denied.
/// `stackhand sim` and `stackhand demo` write it next to the deployment.
pub const STARTER_POLICY: &str = include_str!("../starter-policy.toml");

/// A credential file a tenant's connector reads from its secrets directory.
#[derive(Clone)]
pub struct SecretFile {
    /// The tenant (its directory under the secrets directory).
    pub tenant: String,
    /// The file name the connector table names.
    pub name: &'static str,
    /// The simulator's credential (a simulator value, not a real one).
    pub value: String,
}

impl std::fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretFile")
            .field("tenant", &self.tenant)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The six simulators of one world, listening on loopback.
#[derive(Debug)]
pub struct SimulatedWorld {
    world: World,
    /// Microsoft Graph and Exchange Online.
    pub m365: (M365Sim, SimServer),
    /// Okta.
    pub okta: (OktaSim, SimServer),
    /// ConnectWise PSA.
    pub connectwise: (ConnectWiseSim, SimServer),
    /// Autotask PSA.
    pub autotask: (AutotaskSim, SimServer),
    /// NinjaOne.
    pub ninjaone: (NinjaOneSim, SimServer),
    /// Hudu.
    pub hudu: (HuduSim, SimServer),
}

impl SimulatedWorld {
    /// Seed every simulator from `world` and start each on a free loopback port.
    ///
    /// The identity simulators serve one tenant each, so a world with two tenants on the same
    /// identity provider is refused (`InvalidInput`, naming both) rather than half served.
    pub async fn start(world: &World, faults: Faults) -> io::Result<Self> {
        for kind in [IdentityKind::M365, IdentityKind::Okta] {
            let tenants: Vec<&str> = world
                .identity_tenants(kind)
                .map(|t| t.key.as_str())
                .collect();
            if tenants.len() > 1 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "the {kind:?} simulator serves one tenant, and the world puts {} on it; \
                         give each of them another identity provider",
                        tenants.join(", ")
                    ),
                ));
            }
        }
        let m365 = M365Sim::from_world(world);
        let okta = OktaSim::from_world(world);
        let connectwise = ConnectWiseSim::from_world(world);
        let autotask = AutotaskSim::from_world(world);
        let ninjaone = NinjaOneSim::from_world(world);
        let hudu = HuduSim::from_world(world);
        Ok(Self {
            world: world.clone(),
            m365: (m365.clone(), m365.start(faults.clone()).await?),
            okta: (okta.clone(), okta.start(faults.clone()).await?),
            connectwise: (
                connectwise.clone(),
                connectwise.start(faults.clone()).await?,
            ),
            autotask: (autotask.clone(), autotask.start(faults.clone()).await?),
            ninjaone: (ninjaone.clone(), ninjaone.start(faults.clone()).await?),
            hudu: (hudu.clone(), hudu.start(faults).await?),
        })
    }

    /// The world the simulators were seeded from.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Each simulator's vendor and base URL.
    pub fn urls(&self) -> Vec<(&'static str, String)> {
        vec![
            ("m365", self.m365.1.url()),
            ("okta", self.okta.1.url()),
            ("connectwise", self.connectwise.1.url()),
            ("autotask", self.autotask.1.url()),
            ("ninjaone", self.ninjaone.1.url()),
            ("hudu", self.hudu.1.url()),
        ]
    }

    /// The `[tenants.*]` tables of `stackhand.toml` for every tenant of the world, and the
    /// credential files they name.
    pub fn tenant_tables(&self) -> (String, Vec<SecretFile>) {
        let mut text = String::new();
        let mut secrets = Vec::new();
        for tenant in &self.world.tenants {
            text.push_str(&self.tables_of(tenant, &mut secrets));
        }
        (text, secrets)
    }

    /// `[[staff]]` for the MSP's active technicians: each acts as `msp.tech` in every tenant,
    /// and a lead also approves as `msp.lead`.
    pub fn staff_tables(&self) -> String {
        let msp = &self.world.msp;
        let mut text = String::new();
        for tech in msp.technicians.iter().filter(|t| t.active) {
            let lead = if tech.lead {
                ", { role = \"msp.lead\", scope = \"all_tenants\" }"
            } else {
                ""
            };
            let _ = write!(
                text,
                "\n[[staff]]\nid = {:?}\nkind = \"technician\"\ndisplay_name = {:?}\n\
                 roles = [{{ role = \"msp.tech\", scope = \"all_tenants\" }}{lead}]\n",
                tech.email(msp),
                tech.name()
            );
        }
        text
    }

    /// Write `stackhand.toml` naming `policy` (a path relative to `dir`) and the tenants'
    /// credential files under `dir/secrets/<tenant>/`; answers the path of `stackhand.toml`.
    pub fn write_deployment(&self, dir: &Path, policy: &str) -> io::Result<PathBuf> {
        let (tables, secrets) = self.tenant_tables();
        let text = format!(
            "# stackhand against the simulators of one world, written by stackhand-sim.\n\
             policies = [{policy:?}]\nsecrets_dir = \"secrets\"\n{tables}{}",
            self.staff_tables()
        );
        std::fs::create_dir_all(dir)?;
        for secret in secrets {
            let tenant_dir = dir.join("secrets").join(&secret.tenant);
            std::fs::create_dir_all(&tenant_dir)?;
            std::fs::write(tenant_dir.join(secret.name), format!("{}\n", secret.value))?;
        }
        let path = dir.join("stackhand.toml");
        std::fs::write(&path, text)?;
        Ok(path)
    }

    fn tables_of(&self, tenant: &Tenant, secrets: &mut Vec<SecretFile>) -> String {
        let key = &tenant.key;
        let mut text = format!("\n[tenants.{key}]\nname = {:?}\n", tenant.company);
        // What stackhand cannot resolve goes to the MSP's lead in ConnectWise, to the
        // Escalations queue in Autotask.
        match tenant.psa {
            PsaKind::Connectwise => {
                if let Some(lead) = self
                    .world
                    .msp
                    .technicians
                    .iter()
                    .find(|t| t.active && t.lead)
                {
                    let _ = writeln!(text, "escalation = {{ member = {:?} }}", lead.identifier);
                }
            }
            PsaKind::Autotask => text.push_str("escalation = { board = \"Escalations\" }\n"),
        }
        if !tenant.authorised_contacts.is_empty() {
            let contacts: Vec<String> = tenant
                .authorised_contacts
                .iter()
                .filter_map(|key| tenant.person(key))
                .map(|p| p.email(tenant))
                .collect();
            let _ = writeln!(text, "authorised_contacts = {contacts:?}");
        }
        if let Some(format) = &tenant.login_format {
            let _ = writeln!(text, "login_format = {format:?}");
        }
        let mut secret = |name: &'static str, value: &str| {
            secrets.push(SecretFile {
                tenant: key.clone(),
                name,
                value: value.to_string(),
            });
        };
        // `write!` into a String cannot fail.
        match (tenant.identity, &tenant.m365, &tenant.okta) {
            (IdentityKind::M365, Some(m365), _) => {
                let url = self.m365.1.url();
                // Users are told from the tenant's first shared mailbox (its front desk).
                let sender = tenant
                    .shared_mailboxes
                    .first()
                    .and_then(|m| tenant.person(&m.person))
                    .map(|p| p.email(tenant));
                if sender.is_some() {
                    text.push_str("notify_users = true\n");
                }
                let _ = write!(
                    text,
                    "\n[tenants.{key}.connectors.m365]\ntenant_id = {:?}\nbase_url = {url:?}\n\
                     exchange_base_url = {url:?}\nauthority_host = {url:?}\n\
                     auth = {{ method = \"client_secret\", client_id = {:?}, client_secret = {{ file = \"m365.secret\" }} }}\n",
                    m365.tenant_id, m365.client_id
                );
                if let Some(sender) = sender {
                    let _ = writeln!(text, "notify_sender = {sender:?}");
                }
                secret("m365.secret", &m365.client_secret);
            }
            (IdentityKind::Okta, _, Some(org)) => {
                let _ = write!(
                    text,
                    "\n[tenants.{key}.connectors.okta]\nbase_url = {:?}\n\
                     auth = {{ method = \"api_token\", api_token = {{ file = \"okta.token\" }} }}\n",
                    self.okta.1.url()
                );
                secret("okta.token", &org.api_token);
            }
            // The world refuses an identity provider without its table when it is read.
            _ => {}
        }
        match tenant.psa {
            PsaKind::Connectwise => {
                let _ = write!(
                    text,
                    "\n[tenants.{key}.connectors.connectwise]\nbase_url = {:?}\ncompany_id = {:?}\n\
                     public_key = {:?}\nprivate_key = {{ file = \"connectwise.key\" }}\n\
                     client_id = {:?}\ncompany_identifier = {:?}\n",
                    self.connectwise.1.url(),
                    connectwise::COMPANY_ID,
                    connectwise::PUBLIC_KEY,
                    connectwise::CLIENT_ID,
                    tenant.psa_company.identifier
                );
                secret("connectwise.key", connectwise::PRIVATE_KEY);
            }
            PsaKind::Autotask => {
                let _ = write!(
                    text,
                    "\n[tenants.{key}.connectors.autotask]\ndiscovery_url = \"{}/ATServicesRest/\"\n\
                     username = {:?}\nintegration_code = {{ file = \"autotask.code\" }}\n\
                     secret = {{ file = \"autotask.secret\" }}\ncompany_id = {}\n",
                    self.autotask.1.url(),
                    autotask::API_USER,
                    tenant.psa_company.id
                );
                secret("autotask.code", autotask::INTEGRATION_CODE);
                secret("autotask.secret", autotask::API_SECRET);
            }
        }
        let _ = write!(
            text,
            "\n[tenants.{key}.connectors.ninjaone]\nbase_url = {:?}\norganization_id = {}\n\
             auth = {{ client_id = {:?}, client_secret = {{ file = \"ninjaone.secret\" }} }}\n",
            self.ninjaone.1.url(),
            tenant.rmm.id,
            ninjaone::CLIENT_ID
        );
        secret("ninjaone.secret", ninjaone::CLIENT_SECRET);
        let _ = write!(
            text,
            "\n[tenants.{key}.connectors.hudu]\nbase_url = {:?}\ncompany = {:?}\n\
             api_key = {{ file = \"hudu.key\" }}\n",
            self.hudu.1.url(),
            tenant.company
        );
        secret("hudu.key", hudu::API_KEY);
        // Subtables last: a key written after one would land in it.
        for role in &tenant.roles {
            let _ = write!(
                text,
                "\n[tenants.{key}.roles.{:?}]\nlicences = {:?}\ngroups = {:?}\n",
                role.name, role.licences, role.groups
            );
            for (field, value) in [
                ("device_tag", &role.device_tag),
                ("department", &role.department),
                ("job_title", &role.job_title),
                ("usage_location", &role.usage_location),
            ] {
                if let Some(value) = value {
                    let _ = writeln!(text, "{field} = {value:?}");
                }
            }
        }
        text
    }
}
