//! `stackhand vault` and `stackhand credentials`, run as a user would: the secret goes in on
//! standard input and never comes out.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use secrecy::ExposeSecret;
use stackhand_core::TenantId;
use stackhand_store::{MasterKey, NoAuditKeys, Store, Vault};

const SECRET: &str = "Sup3r-Secret-Okta-Token";

/// Run the binary in `dir` with `stdin` piped in (none: an empty standard input).
fn stackhand(dir: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackhand"))
        .args(args)
        .current_dir(dir)
        .env_remove("STACKHAND_MASTER_KEY")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: &Output) -> String {
    let shown = text(out);
    assert!(out.status.success(), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    shown
}

fn failed(out: &Output) -> String {
    let shown = text(out);
    assert!(!out.status.success(), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    shown
}

fn config(master_key: &str) -> String {
    format!(
        "[store]\nurl = \"sqlite://stackhand.db?mode=rwc\"\nmaster_key = {master_key}\n\n\
         [tenants.acme.connectors.okta]\nbase_url = \"https://acme.okta.example\"\n\
         auth = {{ method = \"api_token\", api_token = {{ vault = \"okta.token\" }} }}\n\n\
         [tenants.beta.connectors.okta]\nbase_url = \"https://beta.okta.example\"\n\
         auth = {{ method = \"api_token\", api_token = {{ vault = \"okta.token\" }} }}\n"
    )
}

/// What the vault holds, read as a runner would.
async fn stored(dir: &Path, key: &str, tenant: &str, name: &str) -> stackhand_core::Result<String> {
    let url = format!("sqlite://{}", dir.join("stackhand.db").display());
    let store = Store::connect(&url, NoAuditKeys).await?;
    let vault = Vault::new(Arc::new(store), MasterKey::from_file(dir.join(key))?);
    let value = vault.get(&TenantId::new(tenant)?, name).await?;
    Ok(value.expose_secret().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_go_in_on_stdin_and_never_come_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    let out = ok(&stackhand(
        dir,
        &["vault", "keygen", "--out", "master.key"],
        "",
        &[],
    ));
    assert!(
        out.contains("master_key = { file = \"master.key\" }"),
        "{out}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = failed(&stackhand(
        dir,
        &["vault", "keygen", "--out", "master.key"],
        "",
        &[],
    ));
    assert!(out.contains("master.key"), "{out}");
    std::fs::write(
        dir.join("stackhand.toml"),
        config("{ file = \"master.key\" }"),
    )
    .unwrap();

    // The value comes from standard input, with one trailing newline removed.
    let set = [
        "credentials",
        "set",
        "--tenant",
        "acme",
        "--name",
        "okta.token",
    ];
    let out = ok(&stackhand(dir, &set, &format!("{SECRET}\n"), &[]));
    assert!(out.contains("{ vault = \"okta.token\" }"), "{out}");
    assert_eq!(
        stored(dir, "master.key", "acme", "okta.token")
            .await
            .unwrap(),
        SECRET
    );

    // There is no way to give it as an argument, and an empty value is refused.
    let out = failed(&stackhand(
        dir,
        &[&set[..], &["--value", SECRET]].concat(),
        "",
        &[],
    ));
    assert!(out.contains("--value"), "{out}");
    for empty in ["", "\n", "\r\n"] {
        let out = failed(&stackhand(dir, &set, empty, &[]));
        assert!(out.contains("empty"), "{out}");
    }

    // A tenant the configuration does not have is named with the nearest one.
    let out = failed(&stackhand(
        dir,
        &["credentials", "set", "--tenant", "acmee", "--name", "x"],
        "value\n",
        &[],
    ));
    assert!(out.contains("did you mean \"acme\""), "{out}");

    // list: names and times, never values.
    let out = ok(&stackhand(
        dir,
        &["credentials", "list", "--tenant", "acme"],
        "",
        &[],
    ));
    assert!(out.contains("okta.token"), "{out}");
    assert!(out.contains("updated 20"), "{out}");
    let out = ok(&stackhand(
        dir,
        &["credentials", "list", "--tenant", "beta"],
        "",
        &[],
    ));
    assert!(out.contains("no credentials"), "{out}");

    // rotate: a new data key for acme, its credential re-encrypted and still readable.
    let out = ok(&stackhand(
        dir,
        &["credentials", "rotate", "--tenant", "acme"],
        "",
        &[],
    ));
    assert!(
        out.contains("data key v2, 1 credential(s) re-encrypted"),
        "{out}"
    );
    assert_eq!(
        stored(dir, "master.key", "acme", "okta.token")
            .await
            .unwrap(),
        SECRET
    );

    // The master key from a variable named in the configuration works the same (and the
    // variable is not taken for configuration).
    let hex = std::fs::read_to_string(dir.join("master.key")).unwrap();
    std::fs::write(
        dir.join("env.toml"),
        config("{ env = \"STACKHAND_MASTER_KEY\" }"),
    )
    .unwrap();
    let list_env = [
        "credentials",
        "list",
        "--tenant",
        "acme",
        "--config",
        "env.toml",
    ];
    let out = ok(&stackhand(
        dir,
        &list_env,
        "",
        &[
            ("STACKHAND_MASTER_KEY", hex.trim()),
            // credentials, not configuration: never read as a key of stackhand.toml
            ("STACKHAND_SECRET_ACME__OKTA", "not-configuration"),
            ("STACKHAND_AUDIT_KEY", hex.trim()),
        ],
    ));
    assert!(out.contains("okta.token"), "{out}");
    let out = failed(&stackhand(dir, &list_env, "", &[]));
    assert!(out.contains("STACKHAND_MASTER_KEY"), "{out}");
    assert!(out.contains("store.master_key"), "{out}");

    // Master key rotation: every data key re-wrapped under the new key.
    ok(&stackhand(
        dir,
        &["vault", "keygen", "--out", "next.key"],
        "",
        &[],
    ));
    let out = ok(&stackhand(
        dir,
        &["vault", "rotate-master", "--new-key", "next.key"],
        "",
        &[],
    ));
    assert!(
        out.contains("re-wrapped 1 data key(s) of 1 tenant(s)"),
        "{out}"
    );
    assert_eq!(
        stored(dir, "next.key", "acme", "okta.token").await.unwrap(),
        SECRET
    );
    let err = stored(dir, "master.key", "acme", "okta.token")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("previous master key"), "{err}");

    // Without [store] the commands say what to add.
    std::fs::write(
        dir.join("plain.toml"),
        "[tenants.acme.connectors.okta]\nbase_url = \"https://acme.okta.example\"\n\
         auth = { method = \"api_token\", api_token = { env = \"STACKHAND_SECRET_ACME__OKTA\" } }\n",
    )
    .unwrap();
    let out = failed(&stackhand(
        dir,
        &[
            "credentials",
            "list",
            "--tenant",
            "acme",
            "--config",
            "plain.toml",
        ],
        "",
        &[],
    ));
    assert!(out.contains("has no [store] section"), "{out}");
    assert!(out.contains("stackhand vault keygen"), "{out}");
}

#[test]
fn every_command_shows_in_help_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let top = ok(&stackhand(tmp.path(), &["--help"], "", &[]));
    assert!(top.contains("credentials  Tenants' credentials"), "{top}");
    assert!(top.contains("vault        The vault's master key"), "{top}");
    let credentials = ok(&stackhand(tmp.path(), &["credentials", "--help"], "", &[]));
    for line in [
        "set     Store a tenant's credential, reading the value from standard input",
        "list    List a tenant's credential names",
        "delete  Remove a tenant's credential",
        "rotate  Give a tenant a new data key",
    ] {
        assert!(credentials.contains(line), "{credentials}");
    }
    let vault = ok(&stackhand(tmp.path(), &["vault", "--help"], "", &[]));
    assert!(
        vault.contains("keygen         Write a new random vault master key"),
        "{vault}"
    );
    assert!(
        vault.contains("rotate-master  Re-wrap every tenant's data key"),
        "{vault}"
    );
}
