//! Echo's HTTP client: every request the connector sends is made here.
//!
//! `pub(crate)` on purpose: its write methods take no proof, so only the capability
//! implementations (which do) may reach them.

use std::sync::Arc;

use secrecy::SecretString;
use stackhand_core::{BuildContext, Device, Result};
use stackhand_http::{Auth, HttpClient, NextPage, Paging, encode_segment};

use crate::VENDOR;
use crate::config::EchoConfig;
use crate::error::EchoErrorParser;
use crate::models::{DevicePage, EchoDevice};

/// The header that carries the API key.
pub(crate) const KEY_HEADER: &str = "x-echo-key";

/// The typed client.
#[derive(Debug, Clone)]
pub(crate) struct EchoClient {
    http: HttpClient,
}

impl EchoClient {
    /// A client on the host's shared pool and rate limits, sending `api_key` on every request.
    pub(crate) fn new(
        ctx: &BuildContext,
        config: &EchoConfig,
        api_key: SecretString,
    ) -> Result<Self> {
        let http = HttpClient::for_context(ctx, VENDOR, config.base_url.clone(), &config.http)
            .auth(Auth::header(KEY_HEADER, api_key)?)
            .error_parser(Arc::new(EchoErrorParser))
            .build()?;
        Ok(Self { http })
    }

    /// `GET /v1/devices/{id}`.
    pub(crate) async fn device(&self, id: &str) -> Result<Device> {
        let device: EchoDevice = self
            .http
            .get(&format!("v1/devices/{}", encode_segment(id)))
            .operation("get_device")
            .send_json()
            .await?;
        Ok(device.into())
    }

    /// `GET /v1/devices?q=<text>`, following `next` to the last page.
    pub(crate) async fn search(&self, query: &str) -> Result<Vec<Device>> {
        let devices: Vec<EchoDevice> = self
            .http
            .get("v1/devices")
            .query(&[("q", query)])
            .operation("find_devices")
            .collect_pages(paging())
            .await?;
        Ok(devices.into_iter().map(Device::from).collect())
    }

    /// The first page of `GET /v1/devices?q=`: the cheapest documented call, for health.
    pub(crate) async fn first_page(&self) -> Result<DevicePage> {
        self.http
            .get("v1/devices")
            .query(&[("q", "")])
            .operation("health")
            .send_json()
            .await
    }

    /// `PUT /v1/devices/{id}/tags/{tag}` (204). PUT is idempotent, so it is retried.
    pub(crate) async fn add_tag(&self, id: &str, tag: &str) -> Result<()> {
        self.http
            .put(&tag_path(id, tag))
            .operation("add_tag")
            .send_empty()
            .await
    }

    /// `DELETE /v1/devices/{id}/tags/{tag}` (204).
    pub(crate) async fn remove_tag(&self, id: &str, tag: &str) -> Result<()> {
        self.http
            .delete(&tag_path(id, tag))
            .operation("remove_tag")
            .send_empty()
            .await
    }
}

/// Items in `/items`, the next page's absolute URL at `/next` (null on the last page).
fn paging() -> Paging {
    Paging::new(NextPage::UrlAt("/next".to_owned()), "/items")
}

/// The tag's path; [`HttpClient`] refuses it if either part is empty or a dot segment.
fn tag_path(id: &str, tag: &str) -> String {
    format!(
        "v1/devices/{}/tags/{}",
        encode_segment(id),
        encode_segment(tag)
    )
}
