//! Load harness: the ticket pipeline over the seed world's open tickets, against the six vendor
//! simulators on loopback, with 0 ms and with 100 ms of latency injected into every vendor call,
//! measured side by side in one run.
//!
//! Each pass runs the tickets one at a time and then eight at once (`Intake::with_parallelism`).
//! Each pass starts fresh simulators and a fresh deployment (SQLite store, shared rate budget,
//! the starter policy of `stackhand sim` allowing the agent's PSA writes and end users' unlocks;
//! resets and access requests wait for an approval, as in production), then times one
//! `Intake::once`: every PSA polled, every open ticket triaged, resolved, run under the policy and
//! documented or routed. Reported per latency: tickets per second (wall), CPU per ticket (this
//! process: the runner, the simulators and SQLite together, so an upper bound on the framework's
//! own CPU), and vendor calls per ticket with the time they account for at that latency (the
//! chain of calls a ticket makes one after the other, its critical path when nothing runs in
//! parallel).
//!
//! `cargo xtask bench` runs it with the criterion benches; alone:
//! `cargo bench -p stackhand-bench --bench load`.

use std::path::Path;
use std::time::{Duration, Instant};

use stackhand_runner::{Intake, LoadedConfig, Pipeline, append_local_store, default_registry};
use stackhand_sim::Faults;
use stackhand_sim::deployment::SimulatedWorld;
use stackhand_sim::world::World;

const POLICY: &str = r#"
[scope]
global = true

[[rules]]
id = "users-unlock-themselves"
actions = ["identity.unlock"]
effect = "allow"
[rules.when]
requester_kinds = ["end_user"]
self_service = true

[[rules]]
id = "technicians-approve-the-rest"
actions = ["identity.reset_password", "identity.reset_mfa", "identity.add_to_group", "identity.grant_mailbox_access"]
effect = "approve"
approvers = [{ role = "msp.tech" }]
[rules.when]
requester_kinds = ["end_user"]

[[rules]]
id = "stackhand-keeps-tickets"
actions = ["psa.add_note", "psa.close", "psa.reassign", "messaging.send"]
effect = "allow"
[rules.when]
requester_kinds = ["agent"]
"#;

/// CPU time of this process so far (user + system), from `/proc/self/stat`.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    // USER_HZ, which Linux fixes at 100 for /proc whatever the kernel's tick rate.
    let clock_ticks_per_second = 100;
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / clock_ticks_per_second)
}

struct Pass {
    tickets: usize,
    wall: Duration,
    cpu: Duration,
    vendor_calls: usize,
}

async fn pass(dir: &Path, latency: Duration, parallelism: u32) -> Pass {
    let faults = Faults {
        latency,
        ..Faults::default()
    };
    let sims = SimulatedWorld::start(World::builtin(), faults)
        .await
        .expect("the simulators start");
    std::fs::write(dir.join("policy.toml"), POLICY).expect("policy written");
    let config = sims
        .write_deployment(dir, "policy.toml")
        .expect("deployment written");
    append_local_store(&config).expect("a local store");
    let loaded = LoadedConfig::load(&config).expect("deployment loads");
    let registry = default_registry();
    let pipeline = Pipeline::open(&loaded, &registry)
        .await
        .expect("the deployment and its pipeline open");
    let intake =
        Intake::new(pipeline, "load", Duration::from_secs(600)).with_parallelism(parallelism);
    let servers = [
        &sims.m365.1,
        &sims.okta.1,
        &sims.connectwise.1,
        &sims.autotask.1,
        &sims.ninjaone.1,
        &sims.hudu.1,
    ];
    servers.iter().for_each(|s| s.recorder().clear());
    let (cpu, started) = (cpu_time(), Instant::now());
    let (_, outcomes) = intake.once().await.expect("a pass over the tickets");
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu);
    Pass {
        tickets: outcomes.len(),
        wall,
        cpu,
        vendor_calls: servers.iter().map(|s| s.recorder().requests().len()).sum(),
    }
}

fn main() {
    // `cargo bench` passes filter arguments; this harness has one measurement and takes none.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    println!(
        "{:>10} {:>8} {:>8} {:>10} {:>12} {:>14} {:>16} {:>18}",
        "latency",
        "at once",
        "tickets",
        "wall",
        "tickets/s",
        "CPU/ticket",
        "calls/ticket",
        "call time/ticket"
    );
    for latency in [Duration::ZERO, Duration::from_millis(100)] {
        for parallelism in [1, 8] {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let result = runtime.block_on(pass(dir.path(), latency, parallelism));
            report(latency, parallelism, &result);
        }
    }
}

fn report(latency: Duration, parallelism: u32, result: &Pass) {
    {
        let n = result.tickets.max(1) as u32;
        let calls = result.vendor_calls as f64 / f64::from(n);
        println!(
            "{:>8}ms {:>8} {:>8} {:>9.2}s {:>12.1} {:>12.1}ms {:>16.1} {:>16.2}s",
            latency.as_millis(),
            parallelism,
            result.tickets,
            result.wall.as_secs_f64(),
            f64::from(n) / result.wall.as_secs_f64(),
            result.cpu.as_secs_f64() * 1000.0 / f64::from(n),
            calls,
            calls * latency.as_secs_f64(),
        );
    }
}
