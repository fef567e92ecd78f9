//! `[triage.llm]` in `stackhand.toml`: it loads, a typo is refused naming the key, the MSP's
//! key is read from where it says, and the triage it builds sends it.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use stackhand_core::build::SecretRef;
use stackhand_core::{Result, TenantId};
use stackhand_runner::LoadedConfig;
use stackhand_runner::llm::llm_triage;
use stackhand_triage::{LlmAuth, People, Triage, text_ticket};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TENANT: &str = "[tenants.acme.connectors.okta]\n";

struct NoDirectory;

#[async_trait]
impl People for NoDirectory {
    async fn named(&self, _tenant: &TenantId, _name: &str) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

fn load(table: &str, base: Option<&Path>) -> Result<LoadedConfig> {
    LoadedConfig::from_str("stackhand.toml", &format!("{table}\n{TENANT}"), base)
}

#[test]
fn the_llm_table_loads_and_is_off_without_it() {
    let loaded = load(
        "[triage.llm]\n\
         base_url = \"https://acme-ai.openai.azure.com/openai/deployments/gpt-4o-triage\"\n\
         model = \"gpt-4o-triage\"\n\
         api_key = { file = \"llm.key\" }\n\
         auth = \"api-key\"\n\
         api_version = \"2024-10-21\"\n\
         [triage.llm.http]\n\
         timeout_secs = 60\n",
        Some(Path::new("/etc/stackhand")),
    )
    .unwrap();
    let llm = loaded.config.triage.llm.as_ref().unwrap();
    assert_eq!(llm.model, "gpt-4o-triage");
    assert_eq!(llm.auth, LlmAuth::ApiKey);
    assert_eq!(llm.api_version.as_deref(), Some("2024-10-21"));
    assert_eq!(llm.http.timeout_secs, 60);
    // A key file is the MSP's, relative to the configuration file.
    assert!(
        matches!(&llm.api_key, Some(SecretRef::File(p)) if p == Path::new("/etc/stackhand/llm.key"))
    );

    let plain = load("", None).unwrap();
    assert!(plain.config.triage.llm.is_none());
    assert!(llm_triage(&plain, Arc::new(NoDirectory)).unwrap().is_none());

    // Ollama on this machine: no key, bearer by default.
    let ollama = load(
        "[triage.llm]\nbase_url = \"http://localhost:11434/v1\"\nmodel = \"llama3.1:8b\"\n",
        None,
    )
    .unwrap();
    assert_eq!(
        ollama.config.triage.llm.as_ref().unwrap().auth,
        LlmAuth::Bearer
    );
    assert!(
        llm_triage(&ollama, Arc::new(NoDirectory))
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_typo_in_the_llm_table_is_refused_naming_the_key() {
    let err = load(
        "[triage.llm]\nbase_url = \"https://api.openai.com/v1\"\nmodle = \"gpt-4o-mini\"\n",
        None,
    )
    .unwrap_err();
    let text = err.message();
    assert!(
        text.starts_with("stackhand.toml at triage.llm.modle"),
        "{text}"
    );
    assert!(text.contains("did you mean \"model\""), "{text}");

    let err = load(
        "[triage.llm]\nbase_url = \"https://api.openai.com/v1\"\nmodel = \"m\"\nauth = \"apikey\"\n",
        None,
    )
    .unwrap_err();
    assert!(err.message().contains("triage.llm.auth"), "{err}");
    assert!(err.message().contains("api-key"), "{err}");

    let err = load("[triage.llms]\nmodel = \"x\"\n", None).unwrap_err();
    assert!(err.message().contains("did you mean \"llm\""), "{err}");

    // A key written into the file is refused without echoing it.
    let err = load(
        "[triage.llm]\nbase_url = \"https://api.openai.com/v1\"\nmodel = \"m\"\napi_key = \"sk-pasted-in\"\n",
        None,
    )
    .unwrap_err();
    assert!(err.message().contains("triage.llm.api_key"), "{err}");
    assert!(!err.message().contains("sk-pasted-in"), "{err}");
}

#[test]
fn a_key_that_cannot_be_read_is_an_error_naming_the_key() {
    for (key, why) in [
        ("{ vault = \"llm\" }", "the LLM key is the MSP's"),
        (
            "{ env = \"STACKHAND_TEST_LLM_KEY_THAT_IS_NOT_SET\" }",
            "is not set",
        ),
        ("{ file = \"/nonexistent/llm.key\" }", "cannot be read"),
    ] {
        let loaded = load(
            &format!(
                "[triage.llm]\nbase_url = \"https://api.openai.com/v1\"\nmodel = \"m\"\napi_key = {key}\n"
            ),
            None,
        )
        .unwrap();
        let err = llm_triage(&loaded, Arc::new(NoDirectory)).unwrap_err();
        assert_eq!(
            err.context_value("key"),
            Some("triage.llm.api_key"),
            "{err}"
        );
        assert!(err.message().contains(why), "{err}");
    }
    let loaded = load(
        "[triage.llm]\nbase_url = \"http://llm.internal/v1\"\nmodel = \"m\"\n",
        None,
    )
    .unwrap();
    let err = llm_triage(&loaded, Arc::new(NoDirectory)).unwrap_err();
    assert_eq!(
        err.context_value("key"),
        Some("triage.llm.base_url"),
        "{err}"
    );
}

#[tokio::test]
async fn the_configured_triage_sends_the_key_from_its_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("llm.key"), "sk-from-the-file-91c2\n").unwrap();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-from-the-file-91c2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1741569952,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "refusal": null,
                "content": "{\"intent\": \"account_unlock\", \"confidence\": 0.9, \"target\": null}"
            }}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let loaded = load(
        &format!(
            "[triage.llm]\nbase_url = \"{}/v1\"\nmodel = \"gpt-4o-mini\"\napi_key = {{ file = \"llm.key\" }}\n",
            server.uri()
        ),
        Some(dir.path()),
    )
    .unwrap();
    let llm = llm_triage(&loaded, Arc::new(NoDirectory)).unwrap().unwrap();
    let acme = TenantId::new("acme").unwrap();
    let ticket = text_ticket(&acme, "1", "Locked out", "My account is locked", None);
    let found = llm.triage(&ticket).await.unwrap();
    assert_eq!(found.intent.as_deref(), Some("account_unlock"), "{found:?}");
}
