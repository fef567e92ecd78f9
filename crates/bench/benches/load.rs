//! Load harness: 200 tenants × 10 tickets through the ticket pipeline, against the six vendor
//! simulators on loopback, with 0 ms and with 100 ms of latency injected into every vendor call,
//! measured side by side in one run (issue 11).
//!
//! **Tenants.** Each identity simulator serves one tenant, so the 200 tenants are 100 copies of
//! the built-in world, each started as its own six simulators (600 servers in this process): the
//! world's two tenants (Contoso Law on Microsoft 365 and ConnectWise, Globex on Okta and
//! Autotask, both in NinjaOne and Hudu) renamed `contoso-law-007`, `globex-007`, with no
//! generated ticket history (seeding stays cheap), and with 10 open tickets each. Copy `i` takes
//! the 10 tickets of each tenant's list starting at its `i`-th (wrapping round), so every ticket
//! of the world appears about as often as any other and every workflow is in the mix; the
//! first 10 alone would leave out the unreachable app and Globex's leaver.
//!
//! **Deployment.** One stackhand deployment for all 200 tenants, as `stackhand sim` writes one
//! for one world: every copy's `[tenants.*]` tables and credential files in one `stackhand.toml`,
//! the MSP's technicians as `[[staff]]`, the starter policy (`STARTER_POLICY`), and a local
//! SQLite store (`append_local_store`: WAL, every commit fsynced, on the same disk as `/tmp`).
//! Each latency gets fresh simulators and a fresh deployment; starting them is timed and
//! printed but is not part of any figure.
//!
//! **The pass.** One `Intake::once` (timed phase by phase: `poll`, `drain`, `due`), working on
//! [`AT_ONCE`] tickets at once: every PSA polled, every ticket triaged, its requester resolved,
//! its workflow run under the policy and the ticket documented or routed. Under the starter
//! policy most workflows stop at a step that waits for an approver, as they would in production;
//! the pass is measured as it is. Then, timed on its own, every ticket left waiting or scheduled
//! is seen through (`walkthrough::see_through`, approving as the MSP's lead and moving the clock
//! to each date, [`AT_ONCE`] tickets at once). Last, a reference pass without load: the seed
//! world's own tickets (two tenants), one at a time, at 100 ms, so each step lasts its chain of
//! vendor calls and the framework's own work and nothing else.
//!
//! **Reported.** Tickets per second (wall). CPU per ticket, from `/proc`: the whole process
//! (stackhand, SQLite and the simulators), and the same without the simulators' threads (they
//! run on a runtime of their own, so that share can be taken out): the framework's CPU, with
//! SQLite and the client side of loopback HTTP in it; also split by thread (the main thread
//! polls the intake's future, the runtime's workers drive the HTTP connections, sqlx runs each
//! SQLite connection on a thread of its own). Vendor calls per ticket, from the simulators'
//! request recorders, and the time they account for at that latency. Per workflow
//! (`TicketOutcome::workflow`; tickets with none are `routed`), from the durable run records:
//! how many tickets, the wall time of the workflow's run (first step started to last step
//! finished) and its critical path (the longest chain of steps, each waiting for the one before
//! it in the run's dependency graph, summing step durations: a step is its chain of vendor calls
//! plus its share of framework work), and wall / critical path (1.0: no time lost outside the
//! dependent chain). A routed ticket's run is its documentation run (note, reassign); a request
//! for several people counts its runs, started at once, as one. For the drain, the batches it
//! claimed (it works a batch to its end before claiming the next) and the tickets in flight on
//! average (each ticket from its first recorded step to its last documentation step, so without
//! its triage and requester lookup). Per workflow seen through: rounds and wall time.
//!
//! The 600 listeners and the pooled loopback connections (both ends in this process) keep about
//! 9,000 files open: the harness stops at once, saying so, when the soft limit is lower than
//! 12,000.
//!
//! `cargo xtask bench` runs it with the criterion benches; alone:
//! `cargo bench -p stackhand-bench --bench load` (about 10 minutes on 2 cores). The figures of
//! one run, and what they show, are in `docs/performance.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use stackhand_core::{Principal, TenantId};
use stackhand_runner::walkthrough::see_through;
use stackhand_runner::{
    Intake, LoadedConfig, Pipeline, Resolution, TicketOutcome, append_local_store, default_registry,
};
use stackhand_sim::deployment::{STARTER_POLICY, SimulatedWorld};
use stackhand_sim::world::World;
use stackhand_sim::{Faults, SimServer};
use stackhand_store::RunRecord;

/// Copies of the built-in world: two tenants each (one per identity simulator), 200 in all.
const WORLDS: usize = 100;

/// Open tickets each tenant starts with.
const TICKETS_PER_TENANT: usize = 10;

/// Tickets the intake works on at once under load (`Intake::with_parallelism`); also how many
/// tickets are seen through at once. Enough that the 100 ms pass is not bounded by one ticket
/// after another; the drain claims this many, works them, and claims again.
const AT_ONCE: u32 = 64;

/// The MSP's lead in the built-in world: approves what waits when tickets are seen through.
const APPROVER: &str = "amorgan@northwind-msp.example";

/// How long a claimed ticket is leased: longer than any pass, so nothing is taken over.
const LEASE: Duration = Duration::from_secs(3600);

/// Threads of the simulators' runtime are named this, so their CPU can be told apart.
const SIM_THREADS: &str = "load-sims";

/// Threads of stackhand's runtime (the HTTP connections' tasks, timers).
const RUNNER_THREADS: &str = "load-runtime";

/// Open files the harness needs, with room to spare: 600 listeners, and the pooled loopback
/// connections of the 100 ms pass, counted at both ends (8,617 after its drain in the run of
/// 2026-12-04). Below this soft limit it stops before starting anything rather than measure
/// failed calls.
const OPEN_FILES_NEEDED: u64 = 12_000;

/// One measured setting: fresh simulators and a fresh deployment, one pass of the intake.
struct Setting {
    /// How the report names it.
    name: &'static str,
    /// Latency injected into every vendor call.
    latency: Duration,
    /// Tickets worked on at once.
    at_once: u32,
    /// The worlds the simulators are seeded from, one deployment for all their tenants.
    worlds: fn() -> Vec<World>,
    /// Whether the tickets left waiting are seen through afterwards (timed on their own).
    see_through: bool,
}

/// The load at 0 ms and at 100 ms, then a reference: the seed world's own tickets one at
/// a time at 100 ms, where nothing else competes for the store or the CPU, so each step lasts
/// its chain of vendor calls and the framework's own work, and nothing more.
const SETTINGS: [Setting; 3] = [
    Setting {
        name: "200 tenants x 10 tickets, 0 ms per vendor call",
        latency: Duration::ZERO,
        at_once: AT_ONCE,
        worlds: load_worlds,
        see_through: true,
    },
    Setting {
        name: "200 tenants x 10 tickets, 100 ms per vendor call",
        latency: Duration::from_millis(100),
        at_once: AT_ONCE,
        worlds: load_worlds,
        see_through: true,
    },
    Setting {
        name: "reference: the seed world's tickets one at a time, 100 ms per vendor call",
        latency: Duration::from_millis(100),
        at_once: 1,
        worlds: seed_world,
        see_through: false,
    },
];

fn main() {
    // `cargo bench` passes filter arguments; this harness has one measurement and takes none.
    let limit = open_files_limit();
    if limit.is_some_and(|l| l < OPEN_FILES_NEEDED) {
        eprintln!(
            "the load harness keeps about 9,000 files open (600 simulator listeners and pooled \
             loopback connections, both ends in this process), and this process may open {}; \
             raise the limit (`ulimit -n 16384`) and run it again",
            limit.unwrap_or_default()
        );
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(RUNNER_THREADS)
        .enable_all()
        .build()
        .expect("a runtime");
    let sims = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(SIM_THREADS)
        .enable_all()
        .build()
        .expect("the simulators' runtime");
    println!(
        "load harness: {} tenants x {TICKETS_PER_TENANT} tickets on {} simulator servers, {AT_ONCE} \
         at once; open files allowed: {}",
        WORLDS * 2,
        WORLDS * 6,
        limit.map_or("unknown".into(), |l| l.to_string())
    );
    let started = Instant::now();
    let mut passes = Vec::new();
    for setting in &SETTINGS {
        let pass = runtime.block_on(pass(sims.handle(), setting));
        pass.print();
        passes.push(pass);
    }
    println!();
    print_summary(&passes);
    println!("\nwhole harness: {:.0} s", started.elapsed().as_secs_f64());
}

/// The [`WORLDS`] copies of the built-in world.
fn load_worlds() -> Vec<World> {
    (0..WORLDS).map(world_copy).collect()
}

/// The built-in world with all its open tickets (and no history).
fn seed_world() -> Vec<World> {
    let mut world = World::builtin().clone();
    for tenant in &mut world.tenants {
        tenant.history = 0;
    }
    vec![world]
}

/// Copy `copy` of the built-in world: tenants renamed `<key>-<copy>`, no history, and
/// [`TICKETS_PER_TENANT`] of each tenant's tickets from the `copy`-th on, wrapping round.
fn world_copy(copy: usize) -> World {
    let mut world = World::builtin().clone();
    for tenant in &mut world.tenants {
        tenant.key = format!("{}-{copy:03}", tenant.key);
        tenant.history = 0;
        let all = std::mem::take(&mut tenant.tickets);
        tenant.tickets = (0..TICKETS_PER_TENANT)
            .map(|k| all[(copy + k) % all.len()].clone())
            .collect();
    }
    world
}

/// Every world's simulators, started on `sims` (their own runtime) with `faults`.
async fn start_fleet(
    sims: &tokio::runtime::Handle,
    worlds: Vec<World>,
    faults: Faults,
) -> Vec<SimulatedWorld> {
    let starting: Vec<_> = worlds
        .into_iter()
        .map(|world| {
            let faults = faults.clone();
            sims.spawn(async move { SimulatedWorld::start(&world, faults).await })
        })
        .collect();
    let mut fleet = Vec::with_capacity(starting.len());
    for started in starting {
        fleet.push(
            started
                .await
                .expect("the simulators' start-up task")
                .expect("the simulators start"),
        );
    }
    fleet
}

/// Every simulator of every world.
fn servers(fleet: &[SimulatedWorld]) -> impl Iterator<Item = &SimServer> {
    fleet.iter().flat_map(|w| {
        [
            &w.m365.1,
            &w.okta.1,
            &w.connectwise.1,
            &w.autotask.1,
            &w.ninjaone.1,
            &w.hudu.1,
        ]
    })
}

/// Requests every simulator has received since its recorder was last cleared.
fn vendor_calls(fleet: &[SimulatedWorld]) -> usize {
    servers(fleet).map(|s| s.recorder().requests().len()).sum()
}

/// One `stackhand.toml` for every copy (as `SimulatedWorld::write_deployment` writes one for
/// one world), with the starter policy and a local SQLite store; answers its path.
fn write_deployment(dir: &Path, fleet: &[SimulatedWorld]) -> PathBuf {
    let mut text = format!(
        "# stackhand against {} simulated worlds, written by the load harness.\n\
         policies = [\"policy.toml\"]\nsecrets_dir = \"secrets\"\n",
        fleet.len()
    );
    for world in fleet {
        let (tables, secrets) = world.tenant_tables();
        text.push_str(&tables);
        for secret in secrets {
            let tenant_dir = dir.join("secrets").join(&secret.tenant);
            std::fs::create_dir_all(&tenant_dir).expect("a secrets directory");
            std::fs::write(tenant_dir.join(secret.name), format!("{}\n", secret.value))
                .expect("a credential file");
        }
    }
    // Every copy has the same MSP: its technicians once.
    text.push_str(&fleet[0].staff_tables());
    std::fs::write(dir.join("policy.toml"), STARTER_POLICY).expect("the policy");
    let config = dir.join("stackhand.toml");
    std::fs::write(&config, text).expect("stackhand.toml");
    append_local_store(&config).expect("a local store");
    config
}

/// One pass of `setting`: fresh simulators and deployment, the intake's pass timed phase by
/// phase, the run records read back, then (if the setting says so) the waiting tickets seen
/// through.
async fn pass(sims: &tokio::runtime::Handle, setting: &'static Setting) -> Pass {
    let faults = Faults {
        latency: setting.latency,
        ..Faults::default()
    };
    let clock = Instant::now();
    let fleet = start_fleet(sims, (setting.worlds)(), faults).await;
    let sims_up = clock.elapsed();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let clock = Instant::now();
    let config = write_deployment(dir.path(), &fleet);
    let loaded = LoadedConfig::load(&config).expect("the deployment loads");
    let pipeline = Pipeline::open(&loaded, &default_registry())
        .await
        .expect("the deployment and its pipeline open");
    let opened = clock.elapsed();
    let intake = Intake::new(pipeline.clone(), "load", LEASE).with_parallelism(setting.at_once);
    // The recorders keep every request; counting copies them, so they start each part empty.
    servers(&fleet).for_each(|s| s.recorder().clear());

    let (polled, poll) = measure(&fleet, intake.poll()).await;
    let (drained, drain) = measure(&fleet, intake.drain()).await;
    let (due, due_phase) = measure(&fleet, intake.due()).await;
    let drained = drained.expect("the queue drains");
    let mut outcomes = drained.clone();
    outcomes.extend(due.expect("due tickets are taken up"));
    let queued: usize = polled.iter().map(|p| p.queued).sum();
    let poll_errors = polled.iter().filter(|p| p.error.is_some()).count();
    let open_files = open_files();

    let mut tickets = Vec::with_capacity(outcomes.len());
    for outcome in &outcomes {
        tickets.push(Ticket::read(&pipeline, outcome).await);
    }
    let batches = batch_spans(&tickets[..drained.len()], setting.at_once);
    let ticket_time = tickets[..drained.len()]
        .iter()
        .filter_map(|t| t.span)
        .map(|(a, b)| (b - a).to_std().unwrap_or_default())
        .sum();

    let approver = Principal::technician(APPROVER, &[]);
    let waiting: Vec<TicketOutcome> = outcomes
        .iter()
        .filter(|o| {
            setting.see_through
                && matches!(
                    o.resolution,
                    Resolution::WaitingApproval | Resolution::Scheduled
                )
        })
        .cloned()
        .collect();
    servers(&fleet).for_each(|s| s.recorder().clear());
    let (seen, see_phase) = measure(
        &fleet,
        futures::stream::iter(waiting)
            .map(|outcome| {
                let approver = &approver;
                let pipeline = &pipeline;
                async move {
                    let workflow = outcome.workflow.clone();
                    let clock = Instant::now();
                    let result = see_through(pipeline, outcome, approver).await;
                    Seen {
                        workflow: workflow.unwrap_or_else(|| "routed".into()),
                        wall: clock.elapsed(),
                        ended: result.map(|(outcome, done)| (outcome.resolution, done.len())),
                    }
                }
            })
            .buffer_unordered(setting.at_once as usize)
            .collect::<Vec<_>>(),
    )
    .await;
    Pass {
        setting,
        servers: fleet.len() * 6,
        sims_up,
        opened,
        queued,
        poll_errors,
        phases: [poll, drain, due_phase],
        tickets,
        batches,
        ticket_time,
        open_files,
        seen,
        see_phase,
    }
}

/// Run `work`, timing its wall and CPU; the vendor calls it made are counted after the clock
/// stops (reading the recorders copies every request).
async fn measure<T>(fleet: &[SimulatedWorld], work: impl Future<Output = T>) -> (T, Phase) {
    let before_calls = vendor_calls(fleet);
    let (cpu, clock) = (Cpu::now(), Instant::now());
    let out = work.await;
    let wall = clock.elapsed();
    let cpu = Cpu::now().since(&cpu);
    let calls = vendor_calls(fleet) - before_calls;
    (out, Phase { wall, cpu, calls })
}

/// Wall time, CPU and vendor calls of one phase.
#[derive(Debug, Clone, Copy, Default)]
struct Phase {
    wall: Duration,
    cpu: Cpu,
    calls: usize,
}

impl Phase {
    fn plus(self, other: Phase) -> Phase {
        Phase {
            wall: self.wall + other.wall,
            cpu: self.cpu.plus(other.cpu),
            calls: self.calls + other.calls,
        }
    }
}

/// CPU time (user + system) of this process, and of its threads by role.
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    /// The whole process, exited threads included.
    total: Duration,
    /// The main thread, which polls the intake's future: the pipeline's own work.
    main: Duration,
    /// stackhand's runtime workers: HTTP connections, timers.
    runtime: Duration,
    /// sqlx's SQLite connection threads: the store's queries and commits.
    sqlite: Duration,
    /// The simulators' runtime.
    sims: Duration,
}

impl Cpu {
    /// Now, from `/proc/self/stat` and `/proc/self/task/*/stat`.
    fn now() -> Cpu {
        let pid = std::process::id().to_string();
        let mut cpu = Cpu {
            total: stat_cpu("/proc/self/stat").map_or(Duration::ZERO, |(_, t)| t),
            ..Cpu::default()
        };
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return cpu;
        };
        for task in tasks.flatten() {
            let Some((name, time)) = stat_cpu(task.path().join("stat")) else {
                continue;
            };
            // Linux cuts thread names to 15 bytes; both names fit.
            let slot = if task.file_name().to_str() == Some(pid.as_str()) {
                &mut cpu.main
            } else if name.starts_with(SIM_THREADS) {
                &mut cpu.sims
            } else if name.starts_with(RUNNER_THREADS) {
                &mut cpu.runtime
            } else if name.starts_with("sqlx-sqlite") {
                &mut cpu.sqlite
            } else {
                continue;
            };
            *slot += time;
        }
        cpu
    }

    /// What was spent since `earlier` (a thread that exited in between drops out of its role;
    /// the total keeps it).
    fn since(&self, earlier: &Cpu) -> Cpu {
        Cpu {
            total: self.total.saturating_sub(earlier.total),
            main: self.main.saturating_sub(earlier.main),
            runtime: self.runtime.saturating_sub(earlier.runtime),
            sqlite: self.sqlite.saturating_sub(earlier.sqlite),
            sims: self.sims.saturating_sub(earlier.sims),
        }
    }

    fn plus(self, other: Cpu) -> Cpu {
        Cpu {
            total: self.total + other.total,
            main: self.main + other.main,
            runtime: self.runtime + other.runtime,
            sqlite: self.sqlite + other.sqlite,
            sims: self.sims + other.sims,
        }
    }

    /// Everything but the simulators: stackhand with its store and its side of loopback HTTP.
    fn framework(&self) -> Duration {
        self.total.saturating_sub(self.sims)
    }
}

/// A thread's (or the process's) name and CPU time (user + system) from its `stat` file.
fn stat_cpu(path: impl AsRef<Path>) -> Option<(String, Duration)> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The name is in parentheses and may hold spaces; the fields follow it.
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_string();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name, in
    // USER_HZ, which Linux fixes at 100 for /proc whatever the kernel's tick rate.
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    let ticks = ticks(11)? + ticks(12)?;
    Some((name, Duration::from_millis(ticks * 10)))
}

/// This process's soft limit on open files, from `/proc/self/limits` (`None`: unlimited or
/// unknown).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Files this process has open now (listeners, connections, the database).
fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// When a run's steps ran, from its durable record.
#[derive(Debug, Clone, Copy)]
struct RunTiming {
    first_start: DateTime<Utc>,
    last_finish: DateTime<Utc>,
    /// The longest chain of dependent steps, by the sum of their durations.
    critical: Duration,
    /// Steps that ran in this pass.
    steps: usize,
}

impl RunTiming {
    /// The steps of `record` that started and finished, or `None` if none did.
    fn of(record: &RunRecord) -> Option<RunTiming> {
        let ran = |i: u32| {
            let step = record.steps.get(i as usize)?;
            Some((step.started?, step.finished?))
        };
        let mut first_start = None::<DateTime<Utc>>;
        let mut last_finish = None::<DateTime<Utc>>;
        // The longest chain ending at each step; a step waits only for earlier ones, so one
        // walk in index order sees every wait before the step waiting.
        let mut chain: Vec<Duration> = Vec::with_capacity(record.steps.len());
        let mut steps = 0;
        for step in &record.steps {
            let Some((started, finished)) = ran(step.index) else {
                chain.push(Duration::ZERO);
                continue;
            };
            steps += 1;
            first_start = Some(first_start.map_or(started, |t| t.min(started)));
            last_finish = Some(last_finish.map_or(finished, |t| t.max(finished)));
            let before = step
                .flow
                .waits_for(step.index)
                .iter()
                .filter_map(|w| chain.get(*w as usize).copied())
                .max()
                .unwrap_or_default();
            chain.push(before + (finished - started).to_std().unwrap_or_default());
        }
        Some(RunTiming {
            first_start: first_start?,
            last_finish: last_finish?,
            critical: chain.into_iter().max().unwrap_or_default(),
            steps,
        })
    }

    /// Two runs started at once, as one: the span of both, the longer critical path.
    fn beside(self, other: RunTiming) -> RunTiming {
        RunTiming {
            first_start: self.first_start.min(other.first_start),
            last_finish: self.last_finish.max(other.last_finish),
            critical: self.critical.max(other.critical),
            steps: self.steps + other.steps,
        }
    }

    fn wall(&self) -> Duration {
        (self.last_finish - self.first_start)
            .to_std()
            .unwrap_or_default()
    }
}

/// One ticket as the pass left it.
#[derive(Debug)]
struct Ticket {
    /// Its workflow, or `routed`.
    workflow: String,
    resolution: Resolution,
    /// The workflow's run (for a routed ticket: its documentation run).
    run: Option<RunTiming>,
    /// From its first step (workflow or documentation) to the last step documenting it: the
    /// ticket's time less triage and the requester's lookup, which leave no record.
    span: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Ticket {
    async fn read(pipeline: &Pipeline, outcome: &TicketOutcome) -> Ticket {
        let tenant = &outcome.tenant;
        // The workflow's run is `ticket-<id>`; a request for several people has one run per
        // person instead, started at once: taken together, their critical path is the longest.
        let mut workflow_runs = Vec::new();
        for report in outcome.run.iter().chain(&outcome.runs) {
            workflow_runs.extend(timing(pipeline, tenant, &report.id).await);
        }
        let workflow_run = workflow_runs.into_iter().reduce(RunTiming::beside);
        let documentation = match &outcome.ticket_steps {
            Some(report) => timing(pipeline, tenant, &report.id).await,
            None => None,
        };
        let span = documentation.map(|doc| {
            let start =
                workflow_run.map_or(doc.first_start, |r| r.first_start.min(doc.first_start));
            (start, doc.last_finish)
        });
        let (workflow, run) = match &outcome.workflow {
            Some(id) => (id.clone(), workflow_run),
            None => ("routed".to_string(), documentation),
        };
        Ticket {
            workflow,
            resolution: outcome.resolution,
            run,
            span,
        }
    }
}

async fn timing(pipeline: &Pipeline, tenant: &TenantId, run: &str) -> Option<RunTiming> {
    let record = pipeline
        .deployment()
        .store()
        .runs()
        .get(tenant, run)
        .await
        .expect("the run records read back")?;
    RunTiming::of(&record)
}

/// The drain claims `at_once` tickets, works them all, then claims the next ones; its outcomes
/// come back in that order. Per batch: from its first recorded step to its last (its slowest
/// ticket), and the mean of its tickets' own spans.
fn batch_spans(drained: &[Ticket], at_once: u32) -> Vec<(Duration, Duration)> {
    drained
        .chunks(at_once as usize)
        .filter_map(|batch| {
            let spans: Vec<_> = batch.iter().filter_map(|t| t.span).collect();
            let first = spans.iter().map(|s| s.0).min()?;
            let last = spans.iter().map(|s| s.1).max()?;
            let mean = spans
                .iter()
                .map(|(a, b)| (*b - *a).to_std().unwrap_or_default())
                .sum::<Duration>()
                / spans.len() as u32;
            Some(((last - first).to_std().unwrap_or_default(), mean))
        })
        .collect()
}

fn word(resolution: Resolution) -> &'static str {
    match resolution {
        Resolution::Resolved => "resolved",
        Resolution::WaitingApproval => "waiting approval",
        Resolution::Scheduled => "scheduled",
        Resolution::Routed => "routed",
        Resolution::Shadowed => "shadowed",
        Resolution::LinkedToIncident => "linked to an incident",
    }
}

/// Everything one latency's pass measured.
struct Pass {
    setting: &'static Setting,
    /// Simulator servers it ran against.
    servers: usize,
    sims_up: Duration,
    opened: Duration,
    queued: usize,
    poll_errors: usize,
    /// poll, drain, due.
    phases: [Phase; 3],
    tickets: Vec<Ticket>,
    /// Per drain batch: its span and its tickets' mean span.
    batches: Vec<(Duration, Duration)>,
    /// The drained tickets' spans, summed: over the drain's wall, the tickets in flight.
    ticket_time: Duration,
    open_files: usize,
    /// Every ticket the pass left waiting or scheduled, seen through.
    seen: Vec<Seen>,
    see_phase: Phase,
}

/// One ticket seen through after the pass.
struct Seen {
    workflow: String,
    /// From the start of its see-through to its end, [`AT_ONCE`] tickets being seen through at
    /// once.
    wall: Duration,
    /// How it ended and how many rounds (approvals, dates) it took, or the error that stopped it.
    ended: stackhand_core::Result<(Resolution, usize)>,
}

impl Pass {
    fn total(&self) -> Phase {
        self.phases.iter().fold(Phase::default(), |a, p| a.plus(*p))
    }

    fn print(&self) {
        let n = self.tickets.len();
        println!(
            "\n== {}: {} simulator servers started in {:.1} s, the deployment opened in {:.1} s; \
             {} tickets queued, {n} taken through ({} polls failed); {} files open after the \
             drain",
            self.setting.name,
            self.servers,
            self.sims_up.as_secs_f64(),
            self.opened.as_secs_f64(),
            self.queued,
            self.poll_errors,
            self.open_files,
        );
        println!(
            "\n| phase | wall | CPU, process | of it simulators | main thread | runtime | SQLite | vendor calls |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        let total = self.total();
        let mut rows: Vec<(&str, &Phase)> = ["poll", "drain", "due"]
            .into_iter()
            .zip(self.phases.iter())
            .collect();
        rows.push(("whole pass", &total));
        if self.setting.see_through {
            rows.push(("see-through", &self.see_phase));
        }
        for (name, phase) in rows {
            println!(
                "| {name} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {} |",
                phase.wall.as_secs_f64(),
                phase.cpu.total.as_secs_f64(),
                phase.cpu.sims.as_secs_f64(),
                phase.cpu.main.as_secs_f64(),
                phase.cpu.runtime.as_secs_f64(),
                phase.cpu.sqlite.as_secs_f64(),
                phase.calls,
            );
        }
        let mut resolutions = BTreeMap::new();
        for ticket in &self.tickets {
            *resolutions.entry(word(ticket.resolution)).or_insert(0) += 1;
        }
        println!("\nafter the pass: {}", counts(&resolutions));
        if self.setting.see_through {
            let mut seen = BTreeMap::new();
            for ticket in &self.seen {
                let word = match &ticket.ended {
                    Ok((resolution, _)) => word(*resolution),
                    Err(_) => "stopped by an error",
                };
                *seen.entry(word).or_insert(0) += 1;
            }
            println!(
                "seen through: {} tickets, now {}",
                self.seen.len(),
                counts(&seen)
            );
        }
        let drain = self.phases[1].wall;
        let busy: Duration = self.batches.iter().map(|b| b.0).sum();
        let mean_of_means =
            self.batches.iter().map(|b| b.1).sum::<Duration>() / self.batches.len().max(1) as u32;
        let mean_batch = busy / self.batches.len().max(1) as u32;
        println!(
            "drain: {} batches of up to {at_once}; batch from first step to last {:.2} s on \
             average (sum {:.1} s of the drain's {:.1} s), a ticket within it {:.2} s on \
             average; tickets in flight on average {:.1} of {at_once}",
            self.batches.len(),
            mean_batch.as_secs_f64(),
            busy.as_secs_f64(),
            drain.as_secs_f64(),
            mean_of_means.as_secs_f64(),
            self.ticket_time.as_secs_f64() / drain.as_secs_f64().max(f64::EPSILON),
            at_once = self.setting.at_once,
        );
        println!(
            "\n| workflow | tickets | with a run | steps run | wall p50 | wall p95 | critical path p50 | critical path p95 | wall / critical path p50 | p95 |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for row in self.by_workflow() {
            println!("{row}");
        }
        if self.setting.see_through {
            println!(
                "\n| seen through | tickets | rounds, mean | wall p50 | wall p95 |\n|---|---|---|---|---|"
            );
            for row in self.seen_by_workflow() {
                println!("{row}");
            }
        }
    }

    /// One row per workflow of the tickets seen through: their rounds and wall time.
    fn seen_by_workflow(&self) -> Vec<String> {
        let mut groups: BTreeMap<&str, Vec<&Seen>> = BTreeMap::new();
        for ticket in &self.seen {
            groups.entry(&ticket.workflow).or_default().push(ticket);
        }
        in_report_order(groups.keys().copied())
            .into_iter()
            .map(|name| {
                let tickets = &groups[name];
                let walls = sorted(tickets.iter().map(|t| t.wall));
                let rounds = tickets
                    .iter()
                    .filter_map(|t| t.ended.as_ref().ok().map(|e| e.1))
                    .sum::<usize>() as f64
                    / tickets.len() as f64;
                format!(
                    "| {name} | {} | {rounds:.1} | {} | {} |",
                    tickets.len(),
                    millis(quantile(&walls, 0.5)),
                    millis(quantile(&walls, 0.95))
                )
            })
            .collect()
    }

    /// One table row per workflow, in the order of [`WORKFLOWS`].
    fn by_workflow(&self) -> Vec<String> {
        let mut groups: BTreeMap<&str, Vec<&Ticket>> = BTreeMap::new();
        for ticket in &self.tickets {
            groups.entry(&ticket.workflow).or_default().push(ticket);
        }
        in_report_order(groups.keys().copied())
            .into_iter()
            .map(|name| {
                let tickets = &groups[name];
                let runs: Vec<RunTiming> = tickets.iter().filter_map(|t| t.run).collect();
                let walls = sorted(runs.iter().map(RunTiming::wall));
                let critical = sorted(runs.iter().map(|r| r.critical));
                let ratios =
                    sorted_f64(runs.iter().map(|r| {
                        r.wall().as_secs_f64() / r.critical.as_secs_f64().max(f64::EPSILON)
                    }));
                let steps =
                    runs.iter().map(|r| r.steps).sum::<usize>() as f64 / runs.len().max(1) as f64;
                let mut row = format!(
                    "| {name} | {} | {} | {steps:.1} ",
                    tickets.len(),
                    runs.len()
                );
                for d in [
                    quantile(&walls, 0.5),
                    quantile(&walls, 0.95),
                    quantile(&critical, 0.5),
                    quantile(&critical, 0.95),
                ] {
                    let _ = write!(row, "| {} ", millis(d));
                }
                let _ = write!(
                    row,
                    "| {} | {} |",
                    ratio(quantile(&ratios, 0.5)),
                    ratio(quantile(&ratios, 0.95))
                );
                row
            })
            .collect()
    }
}

/// The workflows of the built-in set a ticket can start, in the order the report lists them,
/// then tickets without one.
const WORKFLOWS: [&str; 11] = [
    "account-unlock",
    "password-reset",
    "mfa-reenrolment",
    "sign-out-everywhere",
    "group-access",
    "mailbox-access",
    "licence-request",
    "onboarding",
    "offboarding",
    "app-unreachable",
    "routed",
];

/// `names` in the order of [`WORKFLOWS`], any other after them.
fn in_report_order<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = names.collect();
    names.sort_by_key(|n| {
        WORKFLOWS
            .iter()
            .position(|w| w == n)
            .unwrap_or(WORKFLOWS.len())
    });
    names
}

fn counts(counts: &BTreeMap<&'static str, usize>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sorted(values: impl Iterator<Item = Duration>) -> Vec<Duration> {
    let mut values: Vec<Duration> = values.collect();
    values.sort();
    values
}

fn sorted_f64(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values
}

/// The nearest-rank quantile `q` of sorted `values`.
fn quantile<T: Copy>(values: &[T], q: f64) -> Option<T> {
    let rank = (q * values.len() as f64).ceil() as usize;
    values.get(rank.clamp(1, values.len().max(1)) - 1).copied()
}

fn millis(d: Option<Duration>) -> String {
    d.map_or("–".into(), |d| format!("{} ms", d.as_millis()))
}

fn ratio(r: Option<f64>) -> String {
    r.map_or("–".into(), |r| format!("{r:.2}"))
}

/// The passes side by side: throughput, CPU and vendor calls per ticket; then the same for
/// seeing the waiting tickets through.
fn print_summary(passes: &[Pass]) {
    println!(
        "| latency per call | at once | tickets | pass wall | tickets/s | CPU/ticket, process | CPU/ticket, without simulators | vendor calls/ticket | their latency/ticket |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for pass in passes {
        let total = pass.total();
        let n = pass.tickets.len();
        println!("{}", summary_row(pass, &total, n));
    }
    println!(
        "\n| seen through, latency per call | at once | tickets | wall | tickets/s | CPU/ticket, process | CPU/ticket, without simulators | vendor calls/ticket | their latency/ticket |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for pass in passes.iter().filter(|p| p.setting.see_through) {
        println!("{}", summary_row(pass, &pass.see_phase, pass.seen.len()));
    }
}

fn summary_row(pass: &Pass, phase: &Phase, tickets: usize) -> String {
    let n = tickets.max(1) as f64;
    let calls = phase.calls as f64 / n;
    format!(
        "| {} ms | {} | {tickets} | {:.1} s | {:.1} | {:.1} ms | {:.1} ms | {calls:.1} | {:.2} s |",
        pass.setting.latency.as_millis(),
        pass.setting.at_once,
        phase.wall.as_secs_f64(),
        n / phase.wall.as_secs_f64().max(f64::EPSILON),
        phase.cpu.total.as_secs_f64() * 1000.0 / n,
        phase.cpu.framework().as_secs_f64() * 1000.0 / n,
        calls * pass.setting.latency.as_secs_f64(),
    )
}
