//! Project automation. `cargo xtask ci` runs every check CI runs; `cargo xtask bench` runs the
//! criterion benches and the load harness.

use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <ci|bench>
  ci     fmt check, clippy -D warnings, the whole test suite, docs with warnings denied
  bench  the criterion benchmarks: policy decision time against cedar-policy, store
         throughput (audit appends, queue claims) on SQLite and PostgreSQL, and triage
         (classifying a ticket beside the keyword baseline, training on 1,000 and 100,000
         tickets); and the load harness: 200 tenants x 10 tickets against the simulators at
         0 and 100 ms per vendor call (about 10 minutes; see docs/performance.md)";

fn main() -> Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "ci" => ci(),
        "bench" => bench(),
        _ => {
            eprintln!("{USAGE}");
            bail!("unknown task {task:?}")
        }
    }
}

fn cargo(args: &[&str], envs: &[(&str, &str)]) -> Result<()> {
    eprintln!("==> cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .envs(envs.iter().copied())
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    let postgres = test_postgres_url()?;
    // The bench crate only has benches; leaving it out also keeps cedar-policy's feature
    // choices (serde_json preserve_order) out of the test build, as in an integrator's build.
    cargo(
        &["test", "--workspace", "--exclude", "stackhand-bench"],
        &[("TEST_POSTGRES_URL", &postgres)],
    )?;
    // The echo connector is not in the default build; its registration is checked here.
    cargo(
        &[
            "clippy",
            "-p",
            "stackhand-runner",
            "--features",
            "connector-echo",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    cargo(
        &[
            "test",
            "-p",
            "stackhand-runner",
            "--features",
            "connector-echo",
            "--test",
            "echo",
        ],
        &[],
    )?;
    cargo(
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    eprintln!("==> all checks passed");
    Ok(())
}

/// The PostgreSQL the store's tests use: `TEST_POSTGRES_URL` when set, else the one
/// `scripts/ensure-postgres` finds, or installs and starts on loopback.
fn test_postgres_url() -> Result<String> {
    if let Ok(url) = std::env::var("TEST_POSTGRES_URL")
        && !url.trim().is_empty()
    {
        return Ok(url);
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the xtask crate lives in the workspace")?;
    eprintln!("==> scripts/ensure-postgres");
    let output = Command::new("bash")
        .arg(root.join("scripts/ensure-postgres"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running scripts/ensure-postgres (needs bash)")?;
    if !output.status.success() {
        bail!(
            "scripts/ensure-postgres could not find or start a PostgreSQL ({}); start one and \
             set TEST_POSTGRES_URL=postgres://USER@HOST:PORT/DB",
            output.status
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(|line| line.trim().to_string())
        .context("scripts/ensure-postgres printed no URL")
}

fn bench() -> Result<()> {
    // The store bench measures PostgreSQL beside SQLite: it gets its server as the tests do.
    let postgres = test_postgres_url()?;
    cargo(
        &["bench", "-p", "stackhand-bench"],
        &[("TEST_POSTGRES_URL", &postgres)],
    )
}
