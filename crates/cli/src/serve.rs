//! `stackhand serve`: the HTTP API and the PSA callbacks on one listener. `stackhand run
//! --listen` serves the same beside its runner.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use stackhand_runner::{Intake, Pipeline, callbacks};
use tokio::sync::Notify;

/// Serve the API of `pipeline`'s deployment and the callbacks of its tenants that have a
/// `callback_token` on `addr`, in the background; callbacks enqueue on `intake` and notify
/// `wake`. Prints where it listens to standard error.
pub async fn start(
    addr: SocketAddr,
    pipeline: Pipeline,
    intake: Intake,
    wake: Arc<Notify>,
) -> Result<tokio::task::JoinHandle<()>> {
    let tokens = pipeline.deployment().callback_tokens().clone();
    let app = stackhand_api::Api::new(pipeline)?
        .router()
        .merge(callbacks::router(intake, &tokens, wake));
    let (bound, serving) = stackhand_api::serve(addr, app).await?;
    eprintln!("serving the HTTP API on http://{bound}/v1 (document: /v1/openapi.json)");
    if !tokens.is_empty() {
        eprintln!(
            "taking PSA callbacks on http://{bound}/callbacks/<tenant>?token=<callback_token> for {}",
            tokens
                .keys()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(serving)
}

/// `stackhand serve`: until Ctrl-C. Tickets PSAs call back about are queued in the store for
/// the runners (`stackhand run`) on it.
pub async fn run(config: &Path, addr: SocketAddr) -> Result<ExitCode> {
    let pipeline = crate::live::open_pipeline(config).await?;
    let intake = Intake::new(
        pipeline.clone(),
        "stackhand-serve",
        Duration::from_secs(300),
    );
    let serving = start(addr, pipeline, intake, Arc::new(Notify::new())).await?;
    tokio::select! {
        _ = serving => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(ExitCode::SUCCESS)
}
