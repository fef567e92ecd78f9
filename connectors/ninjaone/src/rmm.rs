//! The RMM capability: device reads and script-run state, and asset-tag and script writes that
//! each borrow the engine's proof.

use async_trait::async_trait;
use stackhand_core::{
    Device, Error, ErrorKind, ExecutionProof, Result, Rmm, RmmWrites, ScriptRun, ScriptState,
};

use crate::VENDOR;
use crate::client::{ScriptRef, device_id, script_ref, tag_name};
use crate::connector::NinjaOneConnector;
use crate::models::Activity;

/// Activity types a script or built-in action run may be recorded under.
const RUN_TYPES: &[&str] = &["ACTION", "ACTIONSET", "SCRIPTING"];

#[async_trait]
impl Rmm for NinjaOneConnector {
    /// `GET /v2/devices/search?q=<query>&limit=50` (name, logged-on user name, IP, ...), keeping
    /// only the configured organisation's devices. The matches carry no last logged-in user.
    async fn find_devices(&self, query: &str) -> Result<Vec<Device>> {
        if query.trim().is_empty() {
            return Err(Error::invalid(format!(
                "{VENDOR}: find_devices needs a name or user name to search for"
            )));
        }
        let devices = self.client.search(query.trim()).await?;
        Ok(devices.into_iter().map(Device::from).collect())
    }

    /// `GET /v2/device/{id}`; another organisation's device is not found.
    async fn get_device(&self, id: &str) -> Result<Device> {
        Ok(self.client.device(device_id(id)?).await?.into())
    }

    /// The run started after activity `run_id` ([`RmmWrites::run_script`]'s id): the oldest
    /// script or action activity of the device newer than it that has a result
    /// (`SUCCESS` → succeeded, `FAILURE`/`UNSUPPORTED`/`UNCOMPLETED` → failed, with its message
    /// as output); none yet → running.
    async fn script_run(&self, device: &str, run_id: &str) -> Result<ScriptRun> {
        let device = device_id(device)?;
        let after: u64 = run_id.trim().parse().map_err(|_| {
            Error::invalid(format!(
                "{VENDOR}: {run_id:?} is not a NinjaOne script run id (an activity id)"
            ))
        })?;
        self.client.device(device).await?;
        let activities = self.client.activities(Some(after)).await?;
        let finished = activities
            .activities
            .into_iter()
            .filter(|a| a.id > after && a.device_id == Some(device))
            .filter(|a| {
                a.activity_type
                    .as_deref()
                    .is_some_and(|t| RUN_TYPES.contains(&t))
            })
            .filter(|a| a.activity_result.is_some())
            .min_by_key(|a| a.id);
        Ok(match finished {
            None => ScriptRun {
                id: run_id.trim().to_owned(),
                state: ScriptState::Running,
                output: None,
            },
            Some(activity) => finished_run(run_id.trim(), activity),
        })
    }
}

fn finished_run(run_id: &str, activity: Activity) -> ScriptRun {
    let state = if activity.activity_result.as_deref() == Some("SUCCESS") {
        ScriptState::Succeeded
    } else {
        ScriptState::Failed
    };
    ScriptRun {
        id: run_id.to_owned(),
        state,
        output: activity.message.or(activity.source_name),
    }
}

#[async_trait]
impl RmmWrites for NinjaOneConnector {
    /// Find the asset tag by name (`GET /v2/tag`), create it if the account has none
    /// (`POST /v2/tag`; if that is refused because the tag was made meanwhile, it is read
    /// again), and add it with `POST /v2/tag/device`, which keeps the other tags.
    async fn add_tag(&self, _proof: &ExecutionProof<'_>, device: &str, tag: &str) -> Result<()> {
        let device = device_id(device)?;
        let name = tag_name(tag)?;
        self.client.device(device).await?;
        let tag = match self.client.find_tag(name).await? {
            Some(tag) => tag,
            None => match self.client.create_tag(name).await {
                Ok(tag) => tag,
                // Made meanwhile by someone else: use theirs.
                Err(e) if matches!(e.kind(), ErrorKind::Invalid | ErrorKind::Conflict) => {
                    self.client.find_tag(name).await?.ok_or(e)?
                }
                Err(e) => return Err(e),
            },
        };
        self.client.manage_tags(device, &[tag.id], &[]).await
    }

    /// Remove the asset tag with `POST /v2/tag/device`, keeping the others; a tag the account
    /// does not have is on no device, so nothing is sent.
    async fn remove_tag(&self, _proof: &ExecutionProof<'_>, device: &str, tag: &str) -> Result<()> {
        let device = device_id(device)?;
        let name = tag_name(tag)?;
        self.client.device(device).await?;
        match self.client.find_tag(name).await? {
            Some(tag) => self.client.manage_tags(device, &[], &[tag.id]).await,
            None => Ok(()),
        }
    }

    /// `POST /v2/device/{id}/script/run` with a script id (`SCRIPT`) or a built-in action's
    /// uuid (`ACTION`), after reading the account's last activity id, which is the run's id
    /// for [`Rmm::script_run`]. `script` may also be the script's or action's name as the
    /// library shows it (`Flush DNS cache`): technicians and workflows know scripts by name,
    /// and ids differ between NinjaOne accounts. A name is looked up in the device's scripting
    /// options (`GET /v2/device/{id}/scripting/options`) before anything runs, matching
    /// exactly but for case and surrounding spaces; a name the device cannot run, or one two
    /// entries share, is refused. Ids and uuids are used as given, without that read.
    async fn run_script(
        &self,
        _proof: &ExecutionProof<'_>,
        device: &str,
        script: &str,
        parameters: &str,
    ) -> Result<ScriptRun> {
        let device = device_id(device)?;
        // Refuse a bad script before any call.
        let script = script_ref(script)?;
        self.client.device(device).await?;
        let target = match script {
            ScriptRef::Target(target) => target,
            ScriptRef::Name(name) => self.client.resolve_script(device, &name).await?,
        };
        let before = self.client.activities(None).await?;
        let baseline = before
            .last_activity_id
            .or_else(|| before.activities.iter().map(|a| a.id).max())
            .unwrap_or(0);
        self.client.run_script(device, &target, parameters).await?;
        Ok(ScriptRun {
            id: baseline.to_string(),
            state: ScriptState::Running,
            output: None,
        })
    }
}
