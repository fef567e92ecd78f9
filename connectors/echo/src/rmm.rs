//! The RMM capability: device reads, and tag writes that each borrow the engine's proof.

use async_trait::async_trait;
use stackhand_core::{Device, Error, ExecutionProof, Result, Rmm, RmmWrites, ScriptRun};

use crate::connector::EchoConnector;

#[async_trait]
impl Rmm for EchoConnector {
    async fn find_devices(&self, query: &str) -> Result<Vec<Device>> {
        self.client.search(query).await
    }

    async fn get_device(&self, id: &str) -> Result<Device> {
        self.client.device(id).await
    }

    async fn script_run(&self, _device_id: &str, _run_id: &str) -> Result<ScriptRun> {
        Err(Error::unsupported("script_run (Echo has no scripts)"))
    }
}

#[async_trait]
impl RmmWrites for EchoConnector {
    async fn add_tag(&self, _proof: &ExecutionProof<'_>, device_id: &str, tag: &str) -> Result<()> {
        self.client.add_tag(device_id, tag).await
    }

    async fn remove_tag(
        &self,
        _proof: &ExecutionProof<'_>,
        device_id: &str,
        tag: &str,
    ) -> Result<()> {
        self.client.remove_tag(device_id, tag).await
    }

    async fn run_script(
        &self,
        _proof: &ExecutionProof<'_>,
        _device_id: &str,
        _script: &str,
        _parameters: &str,
    ) -> Result<ScriptRun> {
        Err(Error::unsupported("run_script (Echo has no scripts)"))
    }
}
