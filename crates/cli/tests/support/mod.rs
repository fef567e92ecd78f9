//! The binary against the simulators of one world: a deployment on a SQLite store with its
//! keys, and the binary run as a user runs it.

#![allow(dead_code)] // each test file uses its part

use std::path::Path;
use std::process::{Command, Output, Stdio};

use stackhand_sim::Faults;
use stackhand_sim::deployment::SimulatedWorld;
use stackhand_sim::world::World;

/// A store, and a technician who asks (besides the world's MSP staff).
const STORE_AND_STAFF: &str = r#"
[store]
url = "sqlite://stackhand.db?mode=rwc"
master_key = { file = "master.key" }
audit_key = { file = "audit.key" }

[[staff]]
id = "tech@msp.example"
kind = "technician"
roles = [{ role = "msp.tech", scope = "all_tenants" }]
"#;

/// The binary in `dir`, with no audit or master key in its environment.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stackhand"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("STACKHAND_AUDIT_KEY")
        .env_remove("STACKHAND_MASTER_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Run the binary to its end, off the runtime the simulators answer on.
pub async fn stackhand(dir: &Path, args: &[&str]) -> Output {
    let mut command = command(dir, args);
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap()
}

/// Standard output and error, for messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The simulators of the built-in world, and in `dir` a deployment for them with `policy`, a
/// SQLite store and keys made by the binary.
pub async fn deployment(dir: &Path, policy: &str) -> SimulatedWorld {
    let sims = SimulatedWorld::start(World::builtin(), Faults::default())
        .await
        .unwrap();
    std::fs::write(dir.join("policy.toml"), policy).unwrap();
    let config = sims.write_deployment(dir, "policy.toml").unwrap();
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(STORE_AND_STAFF);
    std::fs::write(&config, toml).unwrap();
    for args in [
        &["vault", "keygen", "--out", "master.key"][..],
        &["audit", "keygen", "audit.key"][..],
    ] {
        let out = stackhand(dir, args).await;
        assert!(out.status.success(), "{}", text(&out));
    }
    sims
}

/// Run the binary to its end with `input` on standard input.
pub async fn stackhand_with_input(dir: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut command = command(dir, args);
    command.stdin(Stdio::piped());
    let input = input.to_string();
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("the binary runs");
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(input.as_bytes())
            .expect("stdin takes the input");
        child.wait_with_output().expect("the binary ends")
    })
    .await
    .unwrap()
}
