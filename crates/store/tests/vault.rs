//! The credential vault on SQLite (a file per test) and PostgreSQL (a schema per test in the
//! database `TEST_POSTGRES_URL` names, by default
//! `postgres://postgres@127.0.0.1:5432/test`; without a server these tests fail, saying how to
//! get one).

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use secrecy::{ExposeSecret, SecretString};
use stackhand_core::build::{BuildContext, LocalSecrets, SecretRef};
use stackhand_core::{ErrorKind, TenantId};
use stackhand_store::{MasterKey, Vault, VaultSecrets};
use support::Db;

/// One `#[tokio::test]` per backend for each behaviour below.
macro_rules! behaviours {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = crate::support::Db::sqlite().await;
                    crate::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = crate::support::Db::postgres().await;
                    crate::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

behaviours!(
    credentials_round_trip,
    each_tenant_reads_only_its_own,
    moved_or_altered_rows_do_not_decrypt,
    tenant_key_rotation_is_atomic_for_readers,
    master_key_rotation_never_stops_readers,
    no_secret_is_stored_in_clear,
);

const MASTER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const NEXT_MASTER: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

fn tenant(id: &str) -> TenantId {
    TenantId::new(id).unwrap()
}

fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_string())
}

fn master() -> MasterKey {
    MasterKey::from_hex(MASTER).unwrap()
}

fn next_master() -> MasterKey {
    MasterKey::from_hex(NEXT_MASTER).unwrap()
}

/// A vault on a store of its own (a pool of its own, as another process would have).
async fn vault(db: &Db, key: MasterKey) -> Vault {
    Vault::new(Arc::new(db.store().await), key)
}

async fn credentials_round_trip(db: &Db) {
    let vault = vault(db, master()).await;
    let acme = tenant("acme");
    assert!(vault.list(&acme).await.unwrap().is_empty());

    vault
        .set(&acme, "m365.client_secret", secret("first value"))
        .await
        .unwrap();
    vault
        .set(&acme, "okta.token", secret("tok-ü-unicode"))
        .await
        .unwrap();
    assert_eq!(
        vault
            .get(&acme, "m365.client_secret")
            .await
            .unwrap()
            .expose_secret(),
        "first value"
    );
    assert_eq!(
        vault
            .get(&acme, "okta.token")
            .await
            .unwrap()
            .expose_secret(),
        "tok-ü-unicode"
    );

    // Setting again replaces the value and moves updated_at forward.
    let before = vault.list(&acme).await.unwrap();
    vault
        .set(&acme, "m365.client_secret", secret("second value"))
        .await
        .unwrap();
    assert_eq!(
        vault
            .get(&acme, "m365.client_secret")
            .await
            .unwrap()
            .expose_secret(),
        "second value"
    );
    let after = vault.list(&acme).await.unwrap();
    let names: Vec<&str> = after.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["m365.client_secret", "okta.token"]);
    assert!(after[0].updated_at >= before[0].updated_at);
    assert_eq!(after[0].key_version, 1);

    // A second store on the same database (another process) with the same master key reads it.
    let other = vault_with(db, master()).await;
    assert_eq!(
        other
            .get(&acme, "okta.token")
            .await
            .unwrap()
            .expose_secret(),
        "tok-ü-unicode"
    );

    // Empty values and bad names are refused; a missing credential says how to set it.
    let err = vault.set(&acme, "empty", secret("")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.to_string().contains("empty"), "{err}");
    let err = vault
        .set(&acme, "has space", secret("x"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("credential name"), "{err}");
    let err = vault.get(&acme, "missing").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.to_string()
            .contains("stackhand credentials set --tenant acme --name missing"),
        "{err}"
    );

    assert!(vault.delete(&acme, "okta.token").await.unwrap());
    assert!(!vault.delete(&acme, "okta.token").await.unwrap());
    assert_eq!(
        vault.get(&acme, "okta.token").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(vault.list(&acme).await.unwrap().len(), 1);

    // Nothing secret in Debug.
    let shown = format!("{vault:?} {:?}", master());
    assert!(!shown.contains(MASTER), "{shown}");
    assert!(shown.contains(master().id()), "{shown}");
}

async fn each_tenant_reads_only_its_own(db: &Db) {
    let vault = Arc::new(vault(db, master()).await);
    let (acme, beta) = (tenant("acme"), tenant("beta"));
    vault
        .set(&acme, "okta.token", secret("acme-token"))
        .await
        .unwrap();
    vault
        .set(&beta, "other", secret("beta-other"))
        .await
        .unwrap();

    let err = vault.get(&beta, "okta.token").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(!err.to_string().contains("acme-token"));
    assert_eq!(vault.list(&beta).await.unwrap().len(), 1);

    // Through the resolver a build context reads its own tenant's credential only.
    let secrets = Arc::new(VaultSecrets::new(vault.clone(), LocalSecrets::new()));
    let acme_ctx = BuildContext::new(acme.clone()).with_secrets(secrets.clone());
    let beta_ctx = BuildContext::new(beta.clone()).with_secrets(secrets.clone());
    let reference = SecretRef::vault("okta.token");
    assert_eq!(
        acme_ctx.secret(&reference).await.unwrap().expose_secret(),
        "acme-token"
    );
    let err = beta_ctx.secret(&reference).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("tenant beta"), "{err}");

    // Environment references still go through LocalSecrets and its per-tenant prefix.
    let err = beta_ctx
        .secret(&SecretRef::env("STACKHAND_SECRET_ACME__X"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
}

async fn moved_or_altered_rows_do_not_decrypt(db: &Db) {
    let vault = vault(db, master()).await;
    let (acme, beta) = (tenant("acme"), tenant("beta"));
    vault
        .set(&acme, "key", secret("acme-value-1"))
        .await
        .unwrap();
    vault
        .set(&acme, "spare", secret("acme-spare-1"))
        .await
        .unwrap();
    vault
        .set(&beta, "key", secret("beta-value-1"))
        .await
        .unwrap();

    let no_value = |text: &str| {
        for value in ["acme-value-1", "acme-spare-1", "beta-value-1"] {
            assert!(!text.contains(value), "{text}");
        }
    };

    // beta's ciphertext copied over acme's row: acme's data key and the associated data refuse it.
    db.exec(
        "UPDATE vault_credentials SET \
         nonce = (SELECT nonce FROM vault_credentials WHERE tenant = 'beta' AND name = 'key'), \
         ciphertext = (SELECT ciphertext FROM vault_credentials WHERE tenant = 'beta' AND name = 'key') \
         WHERE tenant = 'acme' AND name = 'key'",
    )
    .await;
    let err = vault.get(&acme, "key").await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("vault credential key of tenant acme"),
        "{text}"
    );
    assert!(text.contains("does not decrypt"), "{text}");
    assert_eq!(err.context_value("tenant"), Some("acme"));
    assert_eq!(err.context_value("credential"), Some("key"));
    no_value(&text);

    // acme's row renamed: the name is associated data.
    db.exec(
        "UPDATE vault_credentials SET name = 'renamed' WHERE tenant = 'acme' AND name = 'spare'",
    )
    .await;
    let err = vault.get(&acme, "renamed").await.unwrap_err();
    assert!(err.to_string().contains("does not decrypt"), "{err}");
    no_value(&err.to_string());

    // A row moved to another tenant (which has a data key of the same version): refused.
    vault
        .set(&acme, "moving", secret("acme-value-1"))
        .await
        .unwrap();
    db.exec(
        "UPDATE vault_credentials SET tenant = 'beta' WHERE tenant = 'acme' AND name = 'moving'",
    )
    .await;
    let err = vault.get(&beta, "moving").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("vault credential moving of tenant beta"),
        "{err}"
    );
    no_value(&err.to_string());

    // beta's wrapped data key copied over acme's: the tenant is the data key's associated data.
    db.exec(
        "UPDATE vault_data_keys SET \
         nonce = (SELECT nonce FROM vault_data_keys WHERE tenant = 'beta'), \
         wrapped = (SELECT wrapped FROM vault_data_keys WHERE tenant = 'beta') \
         WHERE tenant = 'acme'",
    )
    .await;
    let err = vault.get(&acme, "key").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("data key v1 of tenant acme does not unwrap"),
        "{err}"
    );

    // beta is untouched, and a vault with another master key cannot unwrap, saying which key
    // it lacks.
    assert_eq!(
        vault.get(&beta, "key").await.unwrap().expose_secret(),
        "beta-value-1"
    );
    let stranger = vault_with(db, MasterKey::generate()).await;
    let err = stranger.get(&beta, "key").await.unwrap_err();
    assert!(err.to_string().contains(master().id()), "{err}");
    assert!(err.to_string().contains("previous master key"), "{err}");
}

async fn vault_with(db: &Db, key: MasterKey) -> Vault {
    vault(db, key).await
}

/// Readers that check every credential's value, on `vaults` in turn, until `stop`; they count
/// their reads and panic on any error or wrong value.
fn spawn_readers(
    vaults: Vec<Arc<Vault>>,
    expected: Vec<(TenantId, String, String)>,
    churn: Option<TenantId>,
    stop: Arc<AtomicBool>,
    reads: Arc<AtomicUsize>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..6)
        .map(|i| {
            let vault = vaults[i % vaults.len()].clone();
            let expected = expected.clone();
            let churn = churn.clone();
            let stop = stop.clone();
            let reads = reads.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    for (tenant, name, value) in &expected {
                        let got = vault
                            .get(tenant, name)
                            .await
                            .unwrap_or_else(|e| panic!("reader {i}: {e}"));
                        assert_eq!(got.expose_secret(), value, "reader {i}, {tenant}/{name}");
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Some(tenant) = &churn {
                        let got = vault
                            .get(tenant, "churn")
                            .await
                            .unwrap_or_else(|e| panic!("reader {i}: {e}"));
                        assert!(
                            got.expose_secret().starts_with("churn-"),
                            "reader {i}: a churned value is one that was set"
                        );
                    }
                }
            })
        })
        .collect()
}

async fn tenant_key_rotation_is_atomic_for_readers(db: &Db) {
    let vault = Arc::new(vault(db, master()).await);
    let reader_vault = Arc::new(vault_with(db, master()).await);
    let (acme, beta) = (tenant("acme"), tenant("beta"));
    let mut expected = Vec::new();
    for i in 0..5 {
        for t in [&acme, &beta] {
            let (name, value) = (format!("cred-{i}"), format!("{t}-value-{i}"));
            vault.set(t, &name, secret(&value)).await.unwrap();
            expected.push((t.clone(), name, value));
        }
    }
    vault.set(&acme, "churn", secret("churn-0")).await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let readers = spawn_readers(
        vec![vault.clone(), reader_vault.clone()],
        expected.clone(),
        Some(acme.clone()),
        stop.clone(),
        reads.clone(),
    );
    // A writer sets a credential of the rotating tenant all along.
    let writer = {
        let vault = reader_vault.clone();
        let acme = acme.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                vault
                    .set(&acme, "churn", secret(&format!("churn-{n}")))
                    .await
                    .unwrap_or_else(|e| panic!("writer: {e}"));
            }
            n
        })
    };

    let mut last = 1;
    let reads_before = reads.load(Ordering::Relaxed);
    for _ in 0..8 {
        let rotation = vault.rotate_tenant_key(&acme).await.unwrap();
        assert!(rotation.version > last, "{rotation:?}");
        assert_eq!(rotation.reencrypted, 6, "{rotation:?}");
        last = rotation.version;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let reads_during = reads.load(Ordering::Relaxed) - reads_before;
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }
    let writes = writer.await.unwrap();
    eprintln!("{reads_during} reads and {writes} writes while the tenant key rotated 8 times");
    assert!(reads_during > 0, "readers ran while the tenant key rotated");
    assert!(writes > 0);

    // Everything of acme is on the last key, which is the only one acme has; beta is untouched.
    for info in vault.list(&acme).await.unwrap() {
        assert_eq!(info.key_version, last, "{info:?}");
    }
    for info in vault.list(&beta).await.unwrap() {
        assert_eq!(info.key_version, 1, "{info:?}");
    }
    let keys = db
        .dump()
        .await
        .into_iter()
        .filter(|line| line.starts_with("vault_data_keys") && line.contains("acme"))
        .count();
    assert_eq!(keys, 1, "one data key left for acme");
    for (tenant, name, value) in &expected {
        assert_eq!(
            vault.get(tenant, name).await.unwrap().expose_secret(),
            value
        );
    }
}

async fn master_key_rotation_never_stops_readers(db: &Db) {
    let vault = Arc::new(vault(db, master()).await);
    let mut expected = Vec::new();
    for t in 0..6 {
        let t = tenant(&format!("tenant-{t}"));
        for i in 0..3 {
            let (name, value) = (format!("cred-{i}"), format!("{t}-value-{i}"));
            vault.set(&t, &name, secret(&value)).await.unwrap();
            expected.push((t.clone(), name, value));
        }
    }
    assert_eq!(
        vault.master_keys_in_use().await.unwrap().get(master().id()),
        Some(&6)
    );

    // Another process, configured for the rotation: the new key and the old one as previous.
    let during = Arc::new(
        vault_with(db, next_master())
            .await
            .with_previous_master_key(master()),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let readers = spawn_readers(
        vec![vault.clone(), during.clone()],
        expected.clone(),
        None,
        stop.clone(),
        reads.clone(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let reads_before = reads.load(Ordering::Relaxed);
    let rotation = vault.rotate_master_key(next_master()).await.unwrap();
    let reads_during = reads.load(Ordering::Relaxed) - reads_before;
    assert_eq!(rotation.rewrapped, 6, "{rotation:?}");
    assert_eq!(rotation.tenants, 6, "{rotation:?}");
    assert_eq!(rotation.master_key_id, next_master().id());
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }
    eprintln!("{reads_during} reads while the master key rotated");
    assert!(reads_during > 0, "readers ran while the master key rotated");

    // Done: only the new key is in use, a vault holding only it reads everything, one holding
    // only the old key reads nothing and names the key it lacks, and a second run has nothing
    // left to do.
    let in_use = vault.master_keys_in_use().await.unwrap();
    assert_eq!(
        in_use.keys().collect::<BTreeSet<_>>(),
        BTreeSet::from([&next_master().id().to_string()])
    );
    assert_eq!(vault.master_key_id(), next_master().id());
    let after = vault_with(db, next_master()).await;
    for (tenant, name, value) in &expected {
        assert_eq!(
            after.get(tenant, name).await.unwrap().expose_secret(),
            value
        );
    }
    let old_only = vault_with(db, master()).await;
    let err = old_only.get(&expected[0].0, "cred-0").await.unwrap_err();
    assert!(err.to_string().contains(next_master().id()), "{err}");
    assert_eq!(
        vault
            .rotate_master_key(next_master())
            .await
            .unwrap()
            .rewrapped,
        0
    );
    // New tenants get data keys wrapped by the new master key.
    vault
        .set(&tenant("late"), "x", secret("late-value"))
        .await
        .unwrap();
    assert_eq!(
        after
            .get(&tenant("late"), "x")
            .await
            .unwrap()
            .expose_secret(),
        "late-value"
    );
}

async fn no_secret_is_stored_in_clear(db: &Db) {
    let vault = vault(db, master()).await;
    let values = ["Plain-Secret-Value-0001", "another distinctive secret 0002"];
    for (i, t) in ["acme", "beta"].iter().enumerate() {
        vault
            .set(&tenant(t), "m365.client_secret", secret(values[i]))
            .await
            .unwrap();
        vault
            .set(&tenant(t), "spare", secret(values[1 - i]))
            .await
            .unwrap();
    }
    vault.rotate_tenant_key(&tenant("acme")).await.unwrap();
    vault.rotate_master_key(next_master()).await.unwrap();

    let mut needles: Vec<Vec<u8>> = Vec::new();
    for value in values {
        needles.push(value.as_bytes().to_vec());
        needles.push(hex_lower(value.as_bytes()).into_bytes());
        needles.push(hex_lower(value.as_bytes()).to_uppercase().into_bytes());
    }
    for key in [MASTER, NEXT_MASTER] {
        needles.push(key.as_bytes().to_vec());
        needles.push(key.to_uppercase().into_bytes());
    }

    let rows = db.dump().await;
    // The dump is real: it holds the tenants and credential names, which are not secret.
    let all = rows.join("\n");
    assert!(all.contains("vault_credentials"), "{all}");
    assert!(all.contains("vault_data_keys"), "{all}");
    assert!(all.contains("vault_tenants"), "{all}");
    assert!(all.contains("m365.client_secret"), "{all}");
    assert!(all.contains(next_master().id()), "{all}");
    for needle in &needles {
        assert!(
            !contains(all.as_bytes(), needle),
            "a row holds {:?}",
            String::from_utf8_lossy(needle)
        );
    }

    // The SQLite file and its journal, byte for byte.
    let files = db.files();
    if db.kind == stackhand_store::BackendKind::Sqlite {
        assert!(!files.is_empty());
        let mut found_name = false;
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            found_name |= contains(&bytes, b"m365.client_secret");
            for needle in &needles {
                assert!(
                    !contains(&bytes, needle),
                    "{} holds {:?}",
                    file.display(),
                    String::from_utf8_lossy(needle)
                );
            }
        }
        assert!(found_name, "the files hold the credential names");
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn master_keys_load_from_hex_files_and_variables_without_echoing_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let made = MasterKey::create_file(&path).unwrap();
    assert_eq!(MasterKey::from_file(&path).unwrap().id(), made.id());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let err = MasterKey::create_file(&path).unwrap_err();
    assert!(err.to_string().contains("master.key"), "{err}");

    std::fs::write(dir.path().join("bad.key"), "not-hex-secret-text\n").unwrap();
    let err = MasterKey::from_file(dir.path().join("bad.key")).unwrap_err();
    assert!(err.to_string().contains("64 hexadecimal"), "{err}");
    assert!(!err.to_string().contains("not-hex-secret-text"), "{err}");

    let err = MasterKey::from_env("STACKHAND_TEST_VAULT_KEY_THAT_IS_NOT_SET").unwrap_err();
    assert!(err.to_string().contains("is not set"), "{err}");
    assert!(err.to_string().contains("vault keygen"), "{err}");

    assert_ne!(master().id(), next_master().id());
    assert_eq!(master().id().len(), 16);
}
