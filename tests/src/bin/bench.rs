//! `bench`: how fast the booking engine goes on this machine. It starts, as separate processes,
//! a file-backed (SQLite) Temporal dev server, the provider sandbox, the webhook shim and a
//! booking worker, then runs five scenarios and prints one table:
//!
//! 1. end to end: N signed form webhooks through the shim; per booking, webhook acknowledgement
//!    latency and the time until its calendar event, CRM contact and first email exist;
//! 2. ceiling: N benchmark-only workflows making the same calls as a booking's first steps with
//!    no-op activities, on an in-process worker (`booking_tests::bench_flow`);
//! 3. ledger: concurrent reservations on one slot ledger;
//! 4. idle capacity: M open bookings sitting on their production-cadence timers; worker and
//!    server memory, signal + query round trip, timer lateness;
//! 5. shim under load: open-loop signed webhooks at fixed rates to a second shim whose task
//!    queue has no worker (acknowledgement = verify + start the workflow on the server).
//!
//! Results go to `<results dir>/bench-results.json` (printed), with the git revision and core
//! count. `--smoke` runs tiny sizes in seconds.
//!
//! ```sh
//! scripts/bench                    # N=500, M=10,000
//! scripts/bench --smoke            # the CI size
//! scripts/bench --bookings 200 --idle 2000
//! ```

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use booking_activities::secret::Secret;
use booking_proto::domain::{BookingId, EventId};
use booking_sandbox::SandboxClient;
use booking_shim::signature::standard_webhook_signature;
use booking_starter::booking_client::{self, BookingSignal};
use booking_tests::{
    NAMESPACE, WorkerThread,
    bench_flow::{CeilingWorkflow, NoopActivities, TimerWorkflow},
    free_port, ledger_load, perf,
    procs::{cpu_seconds, rss_kib, sibling, spawn_logged, tree_cpu_seconds, wait_http},
    prom::Scrape,
};
use booking_workflows::{
    connection::COMPRESSION_VAR,
    ledger::{LedgerConfig, ReserveStatus, Window},
};
use chrono::{DurationRound, Utc};
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use temporalio_client::{
    Client, WorkflowFetchHistoryOptions, WorkflowGetResultOptions, WorkflowStartOptions,
};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use tokio::sync::Semaphore;

/// Process names in the CPU figures that the engine's own cost is read from.
const WORKER: &str = "booking worker";
const LOAD_SHIM: &str = "load shim";
/// The rate of the profiled shim load: the issue's target rate.
const PROFILED_RATE: u64 = 250;
const FORM_SECRET: &str = "whsec_YmVuY2gtZm9ybS1zaWduaW5nLWtleS0wMDAx";
const AGENTS: usize = 50;
/// Webhooks (and client starts) in flight at once in the end-to-end and ceiling scenarios.
const SENDERS: usize = 32;

struct Options {
    bookings: usize,
    idle: usize,
    rates: Vec<u64>,
    rate_secs: u64,
    reservations: usize,
    results_dir: PathBuf,
    keep: bool,
    smoke: bool,
    /// Scenarios to run (all by default); the others are reported as null.
    only: Vec<Scenario>,
    /// A running Temporal server to measure instead of a dev server of the bench's own.
    temporal_address: Option<String>,
    /// What the results call the server (`dev server (SQLite)` unless given).
    backend: Option<String>,
    /// The server's processes, `name=pid`, whose CPU (process trees) each scenario records.
    server_procs: Vec<(String, u32)>,
    /// The server's Prometheus endpoint, to split the shim's acknowledgement into its parts.
    server_metrics: Option<String>,
    /// Booking workers on the task queue.
    workers: usize,
    /// A profiled pass after the scenarios (`perf`): allocations and hot spots.
    perf: bool,
    /// File name of the results in the results directory.
    results_file: String,
    /// Result files to print side by side, instead of running anything.
    compare: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    EndToEnd,
    Ceiling,
    Ledger,
    Idle,
    ShimLoad,
}

impl Scenario {
    const ALL: [Scenario; 5] = [
        Scenario::EndToEnd,
        Scenario::Ceiling,
        Scenario::Ledger,
        Scenario::Idle,
        Scenario::ShimLoad,
    ];

    fn parse(name: &str) -> anyhow::Result<Self> {
        Ok(match name {
            "end-to-end" => Self::EndToEnd,
            "ceiling" => Self::Ceiling,
            "ledger" => Self::Ledger,
            "idle" => Self::Idle,
            "shim-load" => Self::ShimLoad,
            other => bail!(
                "unknown scenario {other:?}: expected end-to-end, ceiling, ledger, idle or shim-load"
            ),
        })
    }
}

fn options() -> anyhow::Result<Options> {
    let default_dir = std::env::var_os("BOOKINGS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            home.join(".cache/bookings/bench")
        });
    let mut o = Options {
        bookings: 500,
        idle: 10_000,
        rates: vec![100, 250, 500],
        rate_secs: 4,
        reservations: 400,
        results_dir: default_dir,
        keep: false,
        smoke: false,
        only: Scenario::ALL.to_vec(),
        temporal_address: None,
        backend: None,
        server_procs: Vec::new(),
        server_metrics: None,
        workers: 1,
        perf: false,
        results_file: "bench-results.json".into(),
        compare: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--bookings" => o.bookings = value()?.parse()?,
            "--idle" => o.idle = value()?.parse()?,
            "--rates" => {
                o.rates = value()?
                    .split(',')
                    .map(|r| r.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--rate-secs" => o.rate_secs = value()?.parse()?,
            "--reservations" => o.reservations = value()?.parse()?,
            "--results-dir" => o.results_dir = PathBuf::from(value()?),
            "--keep" => o.keep = true,
            "--only" => {
                o.only = value()?
                    .split(',')
                    .map(|name| Scenario::parse(name.trim()))
                    .collect::<Result<_, _>>()?
            }
            "--temporal-address" => o.temporal_address = Some(value()?),
            "--backend" => o.backend = Some(value()?),
            "--server-proc" => {
                let v = value()?;
                let (name, pid) = v
                    .split_once('=')
                    .with_context(|| format!("--server-proc {v:?}: expected NAME=PID"))?;
                let pid = pid
                    .parse()
                    .with_context(|| format!("--server-proc {v:?}: {pid:?} is not a pid"))?;
                o.server_procs.push((name.to_owned(), pid));
            }
            "--server-metrics" => o.server_metrics = Some(value()?),
            "--workers" => o.workers = value()?.parse()?,
            "--perf" => o.perf = true,
            "--results-file" => o.results_file = value()?,
            "--compare" => o.compare.push(PathBuf::from(value()?)),
            "--smoke" => {
                o.smoke = true;
                o.bookings = 10;
                o.idle = 30;
                o.rates = vec![50];
                o.rate_secs = 1;
                o.reservations = 40;
            }
            "--help" | "-h" => {
                println!(
                    "bench [--bookings N (500)] [--idle M (10000)] [--rates 100,250,500] \
                     [--rate-secs S (4)] [--reservations R (400)] [--results-dir DIR] [--keep] [--smoke] \
                     [--only end-to-end,ceiling,ledger,idle,shim-load] [--workers W (1)] [--perf] \
                     [--temporal-address HOST:PORT --backend LABEL [--server-proc NAME=PID]... \
                     [--server-metrics URL]] [--results-file NAME] | --compare FILE [--compare FILE]..."
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    if o.bookings == 0 {
        bail!("--bookings must be at least 1");
    }
    if o.workers == 0 {
        bail!("--workers must be at least 1");
    }
    if o.temporal_address.is_none() && !o.server_procs.is_empty() {
        bail!("--server-proc describes a server given by --temporal-address");
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// Statistics

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// p50/p95/p99/max of millisecond samples.
fn summary(mut ms: Vec<f64>) -> Value {
    ms.sort_by(|a, b| a.total_cmp(b));
    json!({
        "n": ms.len(),
        "p50_ms": round(percentile(&ms, 50.0)),
        "p95_ms": round(percentile(&ms, 95.0)),
        "p99_ms": round(percentile(&ms, 99.0)),
        "max_ms": round(ms.last().copied().unwrap_or(f64::NAN)),
    })
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// Where the time goes

/// Whole-machine CPU counters from the first line of `/proc/stat` (USER_HZ ticks): busy, idle,
/// and waiting on disk (iowait: the dev server's SQLite fsyncs show up here, not as CPU).
#[derive(Clone, Copy, Default)]
struct MachineTicks {
    busy: u64,
    idle: u64,
    iowait: u64,
}

impl MachineTicks {
    fn read() -> Self {
        let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
            return Self::default();
        };
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is inside user).
        let at = |i: usize| fields.get(i).copied().unwrap_or(0);
        Self {
            busy: at(0) + at(1) + at(2) + at(5) + at(6) + at(7),
            idle: at(3),
            iowait: at(4),
        }
    }
}

/// CPU seconds of one process of the system: with its children (PostgreSQL serves each
/// connection from a process of its own), except for the bench itself, whose children are the
/// processes listed beside it.
fn process_cpu_seconds(pid: u32) -> Option<f64> {
    if pid == std::process::id() {
        cpu_seconds(pid)
    } else {
        tree_cpu_seconds(pid)
    }
}

/// CPU seconds each process of the system used during one scenario, and how busy the machine
/// was: the profile that says which process bounds a scenario.
struct CpuMeter {
    procs: Vec<(String, u32)>,
    began: Instant,
    before: Vec<Option<f64>>,
    machine: MachineTicks,
}

impl CpuMeter {
    fn start(procs: &[(String, Option<u32>)]) -> Self {
        let procs: Vec<(String, u32)> = procs
            .iter()
            .filter_map(|(name, pid)| Some((name.clone(), (*pid)?)))
            .collect();
        Self {
            before: procs
                .iter()
                .map(|(_, pid)| process_cpu_seconds(*pid))
                .collect(),
            procs,
            began: Instant::now(),
            machine: MachineTicks::read(),
        }
    }

    fn finish(self) -> Value {
        let wall = self.began.elapsed().as_secs_f64();
        let machine = MachineTicks::read();
        let share = |after: u64, before: u64, total: u64| {
            round(100.0 * after.saturating_sub(before) as f64 / total.max(1) as f64)
        };
        let total = (machine.busy + machine.idle + machine.iowait)
            .saturating_sub(self.machine.busy + self.machine.idle + self.machine.iowait);
        let mut processes = serde_json::Map::new();
        for ((name, pid), before) in self.procs.iter().zip(self.before) {
            if let (Some(before), Some(after)) = (before, process_cpu_seconds(*pid)) {
                let used = after - before;
                processes.insert(
                    name.clone(),
                    json!({
                        "cpu_seconds": (used * 100.0).round() / 100.0,
                        "cores": (100.0 * used / wall).round() / 100.0,
                    }),
                );
            }
        }
        json!({
            "wall_seconds": round(wall),
            "machine_busy_pct": share(machine.busy, self.machine.busy, total),
            "machine_iowait_pct": share(machine.iowait, self.machine.iowait, total),
            "processes": processes,
        })
    }
}

/// Runs `scenario` inside a [`CpuMeter`] and adds the meter's figures to its result as `cpu`.
async fn metered(
    processes: &[(String, Option<u32>)],
    scenario: impl std::future::Future<Output = anyhow::Result<Value>>,
) -> anyhow::Result<Value> {
    let meter = CpuMeter::start(processes);
    let mut result = scenario.await?;
    result["cpu"] = meter.finish();
    Ok(result)
}

// ---------------------------------------------------------------------------------------------
// Signed form webhooks

struct Signer {
    http: reqwest::Client,
    secret: Secret,
    /// This bench run's id: its agents are its own, so a run against a server an earlier run
    /// used never reaches that run's ledgers (whose task queue no worker polls any more).
    agents: String,
}

impl Signer {
    fn body(&self, run: &str, i: usize, start: chrono::DateTime<Utc>) -> String {
        let end = start + chrono::Duration::minutes(30);
        json!({
            "submission_id": format!("{run}-{i}"),
            "kind": "private_viewing",
            "lead": {"email": format!("lead+{run}-{i}@example.com"), "name": format!("Lead {i}"), "phone": "+33 1"},
            "property_id": format!("prop-{}", i % 200),
            "agent_id": bench_agent(&self.agents, i % AGENTS),
            "start": start.to_rfc3339(),
            "end": end.to_rfc3339(),
            "timezone": "Europe/Paris"
        })
        .to_string()
    }

    /// Posts one signed form webhook; the status and how long the shim took to answer.
    async fn post(&self, shim_url: &str, id: &str, body: String) -> (u16, Duration) {
        let now = Utc::now().timestamp();
        let sig = standard_webhook_signature(&self.secret, id, now, body.as_bytes());
        let began = Instant::now();
        let status = self
            .http
            .post(format!("{shim_url}/webhooks/form"))
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", sig)
            .body(body)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        (status, began.elapsed())
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

fn bench_agent(run: &str, k: usize) -> String {
    format!("agent-bench-{run}-{k}")
}

fn idle_agent(run: &str, k: usize) -> String {
    format!("agent-idle-{run}-{k}")
}

/// `agent=calendar` pairs giving each of run `run`'s agents its own calendar.
fn agent_calendars(run: &str) -> String {
    (0..AGENTS)
        .flat_map(|k| [bench_agent(run, k), idle_agent(run, k)])
        .map(|agent| format!("{agent}=google:{agent}@bench.test"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Hour-aligned tour slots far enough ahead that no follow-up is due during the run; booking `i`
/// gets its own hour, so no two bookings ever compete for a slot.
fn slot(base: chrono::DateTime<Utc>, i: usize) -> chrono::DateTime<Utc> {
    base + chrono::Duration::hours(i as i64)
}

async fn end_to_end(
    signer: &Signer,
    shim_url: &str,
    sandbox: &SandboxClient,
    run: &str,
    n: usize,
    base: chrono::DateTime<Utc>,
) -> anyhow::Result<Value> {
    #[derive(Default, Clone)]
    struct Seen {
        sent: Option<Instant>,
        ack: Option<Duration>,
        calendar: Option<Instant>,
        crm: Option<Instant>,
        email: Option<Instant>,
    }
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::new(Mutex::new(vec![Seen::default(); n]));
    let index: HashMap<String, usize> = (0..n).map(|i| (format!("form-{run}-{i}"), i)).collect();
    let by_email: HashMap<String, usize> = (0..n)
        .map(|i| (format!("lead+{run}-{i}@example.com"), i))
        .collect();

    let began = Instant::now();
    let sender = async {
        stream::iter(0..n)
            .map(|i| {
                let seen = seen.clone();
                async move {
                    let body = signer.body(run, i, slot(base, i));
                    seen.lock().unwrap()[i].sent = Some(Instant::now());
                    let (status, took) =
                        signer.post(shim_url, &format!("msg-{run}-{i}"), body).await;
                    seen.lock().unwrap()[i].ack = Some(took);
                    status
                }
            })
            .buffer_unordered(SENDERS)
            .collect::<Vec<u16>>()
            .await
    };
    let poller = async {
        // Lists everything every 100 ms and matches; bounded by a deadline.
        let deadline = Instant::now() + Duration::from_secs(120 + n as u64);
        loop {
            let (events, contacts, emails) = tokio::join!(
                sandbox.calendar_events(false),
                sandbox.contacts(),
                sandbox.emails()
            );
            let now = Instant::now();
            {
                let mut seen = seen.lock().unwrap();
                for e in events.unwrap_or_default() {
                    if let Some(&i) = e
                        .event
                        .private_property("booking_id")
                        .and_then(|b| index.get(b))
                    {
                        seen[i].calendar.get_or_insert(now);
                    }
                }
                for c in contacts.unwrap_or_default() {
                    if let Some(&i) = c.properties.get("email").and_then(|e| by_email.get(e)) {
                        seen[i].crm.get_or_insert(now);
                    }
                }
                for m in emails.unwrap_or_default() {
                    if let Some(&i) = m.custom_arg("booking_id").and_then(|b| index.get(b)) {
                        seen[i].email.get_or_insert(now);
                    }
                }
                let done = seen
                    .iter()
                    .filter(|s| s.calendar.is_some() && s.crm.is_some() && s.email.is_some())
                    .count();
                if done == n {
                    return true;
                }
            }
            if now > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (statuses, complete) = tokio::join!(sender, poller);
    let seen = seen.lock().unwrap().clone();
    let last = seen
        .iter()
        .filter_map(|s| [s.calendar?, s.crm?, s.email?].into_iter().max())
        .max()
        .unwrap_or_else(Instant::now);
    let done = seen
        .iter()
        .filter(|s| s.calendar.is_some() && s.crm.is_some() && s.email.is_some())
        .count();
    let elapsed = last.duration_since(began);
    let since = |f: fn(&Seen) -> Option<Instant>| -> Vec<f64> {
        seen.iter()
            .filter_map(|s| Some(ms(f(s)?.duration_since(s.sent?))))
            .collect()
    };
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    Ok(json!({
        "bookings": n,
        "accepted_202": accepted,
        "completed": done,
        "complete": complete,
        "seconds": round(elapsed.as_secs_f64()),
        "bookings_per_s": round(done as f64 / elapsed.as_secs_f64()),
        "ack": summary(seen.iter().filter_map(|s| s.ack.map(ms)).collect()),
        "to_calendar_event": summary(since(|s| s.calendar)),
        "to_crm_contact": summary(since(|s| s.crm)),
        "to_first_email": summary(since(|s| s.email)),
        "to_all_three": summary(since(|s| [s.calendar?, s.crm?, s.email?].into_iter().max())),
    }))
}

async fn ceiling(
    client: &Client,
    task_queue: &str,
    run: &str,
    n: usize,
    payload: String,
) -> anyhow::Result<Value> {
    let gate = Arc::new(Semaphore::new(SENDERS));
    let began = Instant::now();
    let latencies: Vec<Option<f64>> = futures::future::join_all((0..n).map(|i| {
        let gate = gate.clone();
        let payload = payload.clone();
        async move {
            let permit = gate.acquire_owned().await.ok()?;
            let started = Instant::now();
            let options =
                WorkflowStartOptions::new(task_queue.to_owned(), format!("ceiling-{run}-{i}"))
                    .build();
            let handle = client
                .start_workflow(CeilingWorkflow::run, payload, options)
                .await
                .ok()?;
            drop(permit);
            handle
                .get_result(WorkflowGetResultOptions::default())
                .await
                .ok()?;
            Some(ms(started.elapsed()))
        }
    }))
    .await;
    let elapsed = began.elapsed();
    let done: Vec<f64> = latencies.into_iter().flatten().collect();
    Ok(json!({
        "workflows": n,
        "completed": done.len(),
        "seconds": round(elapsed.as_secs_f64()),
        "workflows_per_s": round(done.len() as f64 / elapsed.as_secs_f64()),
        "start_to_result": summary(done),
    }))
}

async fn ledger(client: &Client, task_queue: &str, run: &str, n: usize) -> anyhow::Result<Value> {
    const IN_FLIGHT: usize = 24;
    let handle = ledger_load::start_ledger(
        client,
        task_queue,
        LedgerConfig::open_house(&format!("bench-{run}"), n as u32),
    )
    .await;
    let start =
        Utc::now().duration_trunc(chrono::Duration::hours(1))? + chrono::Duration::days(400);
    let window = Window {
        start,
        end: start + chrono::Duration::hours(2),
    };
    let ids: Vec<String> = (0..n).map(|i| format!("rsvp-{run}-{i}")).collect();
    let began = Instant::now();
    let outcomes = ledger_load::reserve_all(&handle, ids, window, IN_FLIGHT).await;
    let elapsed = began.elapsed();
    let confirmed = outcomes
        .iter()
        .filter(|(_, o)| o.status == ReserveStatus::Confirmed)
        .count();
    Ok(json!({
        "reservations": outcomes.len(),
        "confirmed": confirmed,
        "in_flight": IN_FLIGHT,
        "seconds": round(elapsed.as_secs_f64()),
        "reservations_per_s": round(outcomes.len() as f64 / elapsed.as_secs_f64()),
    }))
}

#[allow(clippy::too_many_arguments)]
async fn idle(
    client: &Client,
    task_queue: &str,
    timer_queue: &str,
    sandbox: &SandboxClient,
    run: &str,
    m: usize,
    base: chrono::DateTime<Utc>,
    pids: (Option<u32>, Option<u32>),
) -> anyhow::Result<Value> {
    // Start M bookings through the client; the worker runs their first steps, then each sits on
    // its 4-hour reminder timer, waiting for signals. Starts are paced so that at most `window`
    // bookings are still on their first steps: started all at once, 10,000 bookings' first
    // steps interleave and nearly every workflow task misses the worker's sticky cache and
    // replays its history. The rest of the cache is left to the agents' ledger workflows (one
    // per agent, each with a history that grows by every reservation, so costly to replay) and
    // to as many bookings that just finished their first steps.
    let cache = booking_worker::tuning::WorkerTuning::from_env()?.max_cached_workflows;
    let window = (cache.saturating_mul(4) / 5)
        .min(cache.saturating_sub(2 * AGENTS))
        .max(SENDERS);
    let emails_before = sandbox.email_count().await?;
    let settled_count = || async {
        sandbox
            .email_count()
            .await
            .map(|n| n.saturating_sub(emails_before))
    };
    let began = Instant::now();
    // Bounded: a booking that never sends its email (a broken worker) ends the wait, reported
    // as `settled: false`.
    let deadline = began + Duration::from_secs(120 + m as u64 / 5);
    let start_one = |i: usize| async move {
        let mut request = booking_tests::booking_starting_in(chrono::Duration::days(1));
        let start = slot(base, i);
        request.booking_id = format!("idle-{run}-{i}");
        request.event_id = format!("idle-created-{run}-{i}");
        request.agent_id = idle_agent(run, i % AGENTS);
        request.tour = Some(
            booking_proto::domain::TourSlot::new(start, start + chrono::Duration::minutes(30))
                .expect("a 30-minute tour")
                .to_proto(),
        );
        booking_client::start_booking(client, task_queue, request)
            .await
            .ok()
    };
    let mut ids: Vec<BookingId> = Vec::with_capacity(m);
    let mut next = 0;
    while next < m && Instant::now() < deadline {
        let room = (settled_count().await? + window)
            .saturating_sub(ids.len())
            .min(m - next);
        if room == 0 {
            // One number from the sandbox: cheap enough to ask often.
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let batch: Vec<BookingId> = stream::iter(next..next + room)
            .map(start_one)
            .buffer_unordered(SENDERS)
            .filter_map(|id| async move { id })
            .collect()
            .await;
        ids.extend(batch);
        next += room;
    }
    let started_in = began.elapsed();
    // Settled: every booking's ask-to-confirm email was sent.
    let mut settled = false;
    while Instant::now() < deadline {
        if settled_count().await? >= ids.len() {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let settled_in = began.elapsed();
    // Let the worker go quiet before reading memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let worker_rss = pids.0.and_then(rss_kib);
    let server_rss = pids.1.and_then(rss_kib);

    // Signal + query round trip on random bookings (a questionnaire visit: no side effect while
    // pending, but the workflow must take it before the query answers).
    let sample = ids.len().min(200);
    let mut rng = Utc::now().timestamp_micros() as u64 | 1;
    let picks: Vec<BookingId> = (0..sample)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            ids[(rng % ids.len() as u64) as usize].clone()
        })
        .collect();
    let round_trips: Vec<f64> = stream::iter(picks.into_iter().enumerate())
        .map(|(k, id)| async move {
            let event = EventId::parse(&format!("bench-visit-{k}")).ok()?;
            let t = Instant::now();
            booking_client::signal(client, &id, &event, BookingSignal::QuestionnaireVisited)
                .await
                .ok()?;
            booking_client::status(client, &id).await.ok()?;
            Some(ms(t.elapsed()))
        })
        .buffer_unordered(4)
        .filter_map(|x| async move { x })
        .collect()
        .await;

    // Timer lateness: short timers armed on the same server while it holds the idle bookings.
    // "Fired late" is the server's own account (TimerFired minus TimerStarted event times,
    // minus the duration); "observed late" adds what a workflow sees on top: the workflow tasks
    // before and after, and the client's long poll for the result.
    const TIMER_MS: u64 = 2000;
    let timers: Vec<(f64, f64)> = stream::iter(0..50usize)
        .map(|i| async move {
            let options =
                WorkflowStartOptions::new(timer_queue.to_owned(), format!("timer-{run}-{i}"))
                    .build();
            let started = Instant::now();
            let handle = client
                .start_workflow(TimerWorkflow::run, TIMER_MS, options)
                .await
                .ok()?;
            handle
                .get_result(WorkflowGetResultOptions::default())
                .await
                .ok()?;
            let observed = (ms(started.elapsed()) - TIMER_MS as f64).max(0.0);
            let events = handle
                .fetch_history(WorkflowFetchHistoryOptions::default())
                .into_events()
                .await
                .ok()?;
            let at = |want: fn(&Attributes) -> bool| {
                events.iter().find_map(|e| {
                    let t = e.event_time.as_ref()?;
                    want(e.attributes.as_ref()?)
                        .then(|| t.seconds as f64 * 1e3 + t.nanos as f64 / 1e6)
                })
            };
            let armed = at(|a| matches!(a, Attributes::TimerStartedEventAttributes(_)))?;
            let fired = at(|a| matches!(a, Attributes::TimerFiredEventAttributes(_)))?;
            Some(((fired - armed - TIMER_MS as f64).max(0.0), observed))
        })
        .buffer_unordered(50)
        .filter_map(|x| async move { x })
        .collect()
        .await;
    let (fired_late, observed_late): (Vec<f64>, Vec<f64>) = timers.into_iter().unzip();
    Ok(json!({
        "bookings": m,
        "started": ids.len(),
        "settled": settled,
        "start_window": window,
        "start_seconds": round(started_in.as_secs_f64()),
        "settle_seconds": round(settled_in.as_secs_f64()),
        "worker_rss_mib": worker_rss.map(|k| round(k as f64 / 1024.0)),
        "server_rss_mib": server_rss.map(|k| round(k as f64 / 1024.0)),
        "signal_query_round_trip": summary(round_trips),
        "timer_fired_late": summary(fired_late),
        "timer_observed_late": summary(observed_late),
    }))
}

/// Open-loop: request k leaves at `k / rate` whatever the answers do.
/// The metrics endpoints that split an acknowledgement into the shim's own work, its call to
/// Temporal, and the server's handling of that call (frontend, history, persistence).
struct LatencySplit {
    http: reqwest::Client,
    shim_metrics: String,
    server_metrics: Option<String>,
}

impl LatencySplit {
    async fn scrape(&self) -> (Scrape, Scrape) {
        let server = async {
            match &self.server_metrics {
                Some(url) => Scrape::fetch(&self.http, url).await,
                None => Scrape::default(),
            }
        };
        tokio::join!(Scrape::fetch(&self.http, &self.shim_metrics), server)
    }

    /// Mean (and bucket-bounded p99) of each part between two scrapes; an absent part (no
    /// server metrics) is null.
    fn between(before: &(Scrape, Scrape), after: &(Scrape, Scrape)) -> Value {
        let part = |h: booking_tests::prom::Histogram| {
            json!({
                "n": h.count,
                "mean_ms": h.mean_ms().map(round),
                "p99_at_most_ms": h.quantile_upper_ms(0.99).filter(|v| v.is_finite()).map(round),
            })
        };
        // What one histogram of the shim's (`.0`) or the server's (`.1`) scrape observed between
        // the two scrapes.
        let observed =
            |scrape: fn(&(Scrape, Scrape)) -> &Scrape, name: &str, labels: &[(&str, &str)]| {
                part(
                    scrape(after)
                        .histogram(name, labels)
                        .since(&scrape(before).histogram(name, labels)),
                )
            };
        let start = [
            ("operation", "StartWorkflowExecution"),
            ("namespace", NAMESPACE),
        ];
        let frontend = [start[0], start[1], ("service_name", "frontend")];
        let history = [start[0], start[1], ("service_name", "history")];
        let create = [
            ("operation", "CreateWorkflowExecution"),
            ("namespace", NAMESPACE),
        ];
        json!({
            "shim_handoff": observed(|p| &p.0, "shim_handoff_duration_seconds", &[("kind", "form")]),
            "server_frontend_start": observed(|p| &p.1, "service_latency", &frontend),
            "server_history_start": observed(|p| &p.1, "service_latency", &history),
            "server_persistence_create": observed(|p| &p.1, "persistence_latency", &create),
        })
    }
}

async fn shim_load(
    signer: &Arc<Signer>,
    shim_url: &str,
    run: &str,
    rate: u64,
    secs: u64,
    base: chrono::DateTime<Utc>,
    split: &LatencySplit,
) -> Value {
    let before = split.scrape().await;
    let total = rate * secs;
    let began = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for k in 0..total {
        let at = began + Duration::from_secs_f64(k as f64 / rate as f64);
        tokio::time::sleep_until(at.into()).await;
        let signer = signer.clone();
        let url = shim_url.to_owned();
        let body = signer.body(
            &format!("{run}-r{rate}"),
            k as usize,
            slot(base, k as usize),
        );
        let id = format!("load-{run}-{rate}-{k}");
        tasks.push(tokio::spawn(
            async move { signer.post(&url, &id, body).await },
        ));
    }
    let sent_in = began.elapsed();
    let mut lat = Vec::with_capacity(tasks.len());
    let mut ok = 0;
    for t in tasks {
        if let Ok((status, took)) = t.await {
            ok += usize::from(status == 202);
            lat.push(ms(took));
        }
    }
    let after = split.scrape().await;
    json!({
        "rate_per_s": rate,
        "sent": total,
        "accepted_202": ok,
        "achieved_per_s": round(total as f64 / sent_in.as_secs_f64()),
        "ack": summary(lat),
        "where_the_time_goes": LatencySplit::between(&before, &after),
    })
}

/// The engine's own cost in an end-to-end run: the booking workers' CPU per completed booking
/// (its first steps: reserve, free/busy, CRM, calendar, first email), whatever the server cost.
fn worker_cost(e2e: &Value) -> Value {
    let done = e2e["completed"].as_f64().unwrap_or(0.0);
    let cpu: f64 = e2e["cpu"]["processes"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(name, _)| name.starts_with(WORKER))
                .filter_map(|(_, v)| v["cpu_seconds"].as_f64())
                .sum()
        })
        .unwrap_or(0.0);
    json!({"worker_cpu_ms_per_booking": (done > 0.0).then(|| round(1000.0 * cpu / done))})
}

/// The load shim's CPU per acknowledged webhook (signature check, parse, the start call).
fn shim_cost(load: &Value) -> Value {
    let acks = load["accepted_202"].as_f64().unwrap_or(0.0);
    let cpu = load["cpu"]["processes"][LOAD_SHIM]["cpu_seconds"].as_f64();
    json!({"shim_cpu_us_per_ack": cpu.filter(|_| acks > 0.0).map(|c| round(1e6 * c / acks))})
}

/// The measured passes: the end-to-end scenario again, once with a CPU profile of every
/// booking worker and once counting their allocations, then one shim load per measure on the
/// load shim. Their timings are perf's, not the benchmark's; their figures are where the CPU
/// goes and allocations per booking and per acknowledgement.
async fn profiled_pass<E, L>(
    dir: &std::path::Path,
    worker_pids: &[Option<u32>],
    shim_pid: Option<u32>,
    exes: &(PathBuf, PathBuf),
    e2e: impl Fn(usize) -> E,
    load: impl Fn(usize) -> L,
) -> anyhow::Result<Value>
where
    E: std::future::Future<Output = anyhow::Result<Value>>,
    L: std::future::Future<Output = anyhow::Result<Value>>,
{
    use perf::Measure;
    if !perf::available().await {
        bail!("--perf needs Linux perf (Debian: apt-get install linux-perf)");
    }
    let shim_pid = shim_pid.context("the load shim has no pid")?;
    let mut out = serde_json::Map::new();
    for (pass, measure) in [Measure::Profile, Measure::Allocations]
        .into_iter()
        .enumerate()
    {
        let mut recordings = Vec::new();
        for (i, pid) in worker_pids.iter().enumerate() {
            let pid = pid.context("a booking worker has no pid")?;
            let name = format!("booking-worker-{}-{measure:?}", i + 1);
            recordings.push(perf::Recording::start(dir, &name, pid, &exes.0, measure).await?);
        }
        let run = e2e(pass).await?;
        let mut workers = Vec::new();
        for recording in recordings {
            workers.push(recording.finish().await?);
        }
        let shim = perf::Recording::start(
            dir,
            &format!("load-shim-{measure:?}"),
            shim_pid,
            &exes.1,
            measure,
        )
        .await?;
        let loaded = load(pass).await?;
        let shim = shim.finish().await?;
        let bookings = run["completed"].as_f64().unwrap_or(0.0);
        let acks = loaded["accepted_202"].as_f64().unwrap_or(0.0);
        match measure {
            Measure::Profile => {
                out.insert("workers".into(), json!(workers));
                out.insert("shim".into(), shim);
            }
            Measure::Allocations => {
                let per =
                    |n: Option<u64>, d: f64| n.filter(|_| d > 0.0).map(|n| round(n as f64 / d));
                let total: Option<u64> = workers.iter().map(|w| w["allocations"].as_u64()).sum();
                out.insert("bookings".into(), json!(bookings));
                out.insert(
                    "allocations_per_booking".into(),
                    json!(per(total, bookings)),
                );
                out.insert("acks".into(), json!(acks));
                out.insert(
                    "allocations_per_ack".into(),
                    json!(per(shim["allocations"].as_u64(), acks)),
                );
            }
        }
    }
    Ok(Value::Object(out))
}

/// What the worker and the shims send to Temporal with: `none`, as every deployment next to its
/// server runs (compose, `bookings up`), unless the bench's own environment says otherwise.
fn temporal_compression() -> String {
    std::env::var(COMPRESSION_VAR).unwrap_or_else(|_| "none".into())
}

fn backend_label(o: &Options) -> String {
    o.backend.clone().unwrap_or_else(|| {
        if o.temporal_address.is_some() {
            "external Temporal server".into()
        } else {
            "dev server (SQLite)".into()
        }
    })
}

// ---------------------------------------------------------------------------------------------

fn main() -> anyhow::Result<()> {
    let options = options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(options))
}

fn git_revision() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

async fn run(o: Options) -> anyhow::Result<()> {
    if !o.compare.is_empty() {
        return booking_tests::bench_compare::print_and_write(&o.compare, &o.results_dir);
    }
    let run_id = format!("{:x}", Utc::now().timestamp_millis());
    let dir = std::env::temp_dir().join(format!("booking-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "bench: {profile} binaries, logs and data in {}",
        dir.display()
    );

    let result = match &o.temporal_address {
        Some(address) => {
            let server = Server {
                address: address.clone(),
                procs: o
                    .server_procs
                    .iter()
                    .map(|(name, pid)| (name.clone(), Some(*pid)))
                    .collect(),
                metrics: o.server_metrics.clone(),
            };
            run_with_server(&o, &dir, &server, &run_id, profile).await
        }
        None => {
            // A port picked free can be taken by someone else's outgoing connection before the
            // server binds it: the harness's start tries another port then.
            let dev = booking_tests::start_dev_server_with(&dir, true).await;
            let server = Server {
                address: dev.config().grpc_address(),
                procs: vec![("temporal dev server".into(), dev.pid())],
                metrics: dev
                    .config()
                    .metrics_port
                    .map(|port| format!("http://127.0.0.1:{port}/metrics")),
            };
            let result = run_with_server(&o, &dir, &server, &run_id, profile).await;
            dev.stop().await;
            result
        }
    };
    if result.is_ok() && !o.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

/// The Temporal server a run measures: its own dev server, or one given on the command line.
struct Server {
    address: String,
    /// Its processes (name, pid), metered as process trees.
    procs: Vec<(String, Option<u32>)>,
    /// Its Prometheus endpoint.
    metrics: Option<String>,
}

async fn run_with_server(
    o: &Options,
    dir: &std::path::Path,
    server: &Server,
    run_id: &str,
    profile: &str,
) -> anyhow::Result<()> {
    let address = server.address.as_str();
    let server_pid = server.procs.first().and_then(|(_, pid)| *pid);
    let sandbox_port = free_port();
    let sandbox_url = format!("http://127.0.0.1:{sandbox_port}");
    let task_queue = format!("bench-{run_id}");
    const LOG: &str = "info";
    let mut sandbox = spawn_logged(
        dir,
        "booking-sandbox",
        &["--port".into(), sandbox_port.to_string()],
        &[
            ("SANDBOX_HUBSPOT_LIMIT", "100000000".into()),
            ("SANDBOX_SENDGRID_LIMIT", "100000000".into()),
            ("SANDBOX_CALENDLY_TOKEN", "bench-calendly-token".into()),
        ],
        LOG,
    )?;
    wait_http(
        &format!("{sandbox_url}/_sandbox/health"),
        Duration::from_secs(30),
    )
    .await?;
    let common = |queue: &str| -> Vec<(&'static str, String)> {
        vec![
            ("TEMPORAL_ADDRESS", address.to_owned()),
            ("TEMPORAL_NAMESPACE", NAMESPACE.into()),
            ("BOOKINGS_TASK_QUEUE", queue.to_owned()),
            ("BOOKINGS_SANDBOX_URL", sandbox_url.clone()),
            ("BOOKINGS_CALENDLY_TOKEN", "bench-calendly-token".into()),
            (COMPRESSION_VAR, temporal_compression()),
        ]
    };
    let shim_env = |queue: &str, port: u16| {
        let mut env = common(queue);
        env.extend([
            ("SHIM_PORT", port.to_string()),
            ("SHIM_CALENDLY_SIGNING_KEY", "bench-calendly-signing".into()),
            ("SHIM_FORM_TOKEN", "bench-form-token".into()),
            ("SHIM_FORM_WEBHOOK_SECRET", FORM_SECRET.into()),
            ("SHIM_OPERATOR_TOKEN", "bench-operator-token".into()),
            ("SHIM_LINK_SECRET", "bench-link-secret".into()),
        ]);
        env
    };
    let shim_port = free_port();
    let shim_url = format!("http://127.0.0.1:{shim_port}");
    let mut shim = spawn_logged(
        dir,
        "booking-shim",
        &[],
        &shim_env(&task_queue, shim_port),
        LOG,
    )?;
    // Production cadence: the bookings sit on hour-long timers. Every agent has a calendar of
    // its own, as in a real agency: with one shared calendar each free/busy check and each
    // calendar-event lookup scans every idle booking's event.
    let mut worker_env = common(&task_queue);
    worker_env.push(("BOOKINGS_AGENT_CALENDARS", agent_calendars(run_id)));
    let mut workers = (0..o.workers)
        .map(|_| spawn_logged(dir, "booking-worker", &[], &worker_env, LOG))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let worker_pids: Vec<Option<u32>> = workers.iter().map(|w| w.id()).collect();
    wait_http(&format!("{shim_url}/readyz"), Duration::from_secs(60)).await?;
    // A second shim on a task queue no worker polls, for the load scenario.
    let load_port = free_port();
    let load_url = format!("http://127.0.0.1:{load_port}");
    let mut load_shim = spawn_logged(
        dir,
        "booking-shim",
        &[],
        &shim_env(&format!("{task_queue}-unpolled"), load_port),
        LOG,
    )?;
    wait_http(&format!("{load_url}/readyz"), Duration::from_secs(60)).await?;

    let client = booking_tests::connect(address).await;
    let bench_queue = format!("{task_queue}-ceiling");
    let bench_worker = {
        let queue = bench_queue.clone();
        WorkerThread::start_with(address.to_owned(), move |runtime, client| {
            let mut options = temporalio_sdk::WorkerOptions::new(queue)
                .register_workflow::<CeilingWorkflow>()
                .expect("registers")
                .register_workflow::<TimerWorkflow>()
                .expect("registers")
                .register_activities(NoopActivities)
                .build();
            booking_worker::tuning::WorkerTuning::from_env()
                .expect("BOOKINGS_WORKER_* are valid")
                .apply(&mut options);
            temporalio_sdk::Worker::new(runtime, client, options).expect("the bench worker builds")
        })
    };

    let sandbox_client = SandboxClient::new(&sandbox_url);
    let signer = Arc::new(Signer {
        http: reqwest::Client::new(),
        secret: Secret::new(FORM_SECRET),
        agents: run_id.to_owned(),
    });
    let day = Utc::now().duration_trunc(chrono::Duration::days(1))?;
    // Far-apart bases so no two scenarios' slots meet.
    let e2e_base = day + chrono::Duration::days(30);
    let idle_base = day + chrono::Duration::days(3000);
    let load_base = day + chrono::Duration::days(30);
    let profile_base = day + chrono::Duration::days(60);

    // The bench process holds the client, the ceiling worker and the load generator.
    let mut processes: Vec<(String, Option<u32>)> = server.procs.clone();
    for (i, pid) in worker_pids.iter().enumerate() {
        let name = if o.workers == 1 {
            WORKER.to_owned()
        } else {
            format!("{WORKER} {}", i + 1)
        };
        processes.push((name, *pid));
    }
    processes.extend([
        ("shim".to_owned(), shim.id()),
        (LOAD_SHIM.to_owned(), load_shim.id()),
        ("sandbox".to_owned(), sandbox.id()),
        ("bench".to_owned(), Some(std::process::id())),
    ]);
    let split = LatencySplit {
        http: reqwest::Client::new(),
        shim_metrics: format!("{load_url}/metrics"),
        server_metrics: server.metrics.clone(),
    };
    let outcome: anyhow::Result<Value> = async {
        let wanted = |s: Scenario| o.only.contains(&s);
        let e2e = if wanted(Scenario::EndToEnd) {
            println!("bench: 1/5 end to end, {} signed form webhooks", o.bookings);
            let mut e2e = metered(&processes, end_to_end(&signer, &shim_url, &sandbox_client, run_id, o.bookings, e2e_base)).await?;
            e2e["engine_cost"] = worker_cost(&e2e);
            e2e
        } else {
            Value::Null
        };
        let ceil = if wanted(Scenario::Ceiling) {
            println!("bench: 2/5 ceiling, {} no-op workflows", o.bookings);
            let payload = serde_json::to_string(&signer.body(run_id, 0, e2e_base))?;
            metered(&processes, ceiling(&client, &bench_queue, run_id, o.bookings, payload)).await?
        } else {
            Value::Null
        };
        let ledger_result = if wanted(Scenario::Ledger) {
            println!("bench: 3/5 ledger, {} reservations", o.reservations);
            metered(&processes, ledger(&client, &task_queue, run_id, o.reservations)).await?
        } else {
            Value::Null
        };
        let idle_result = if wanted(Scenario::Idle) {
            println!("bench: 4/5 idle capacity, {} open bookings", o.idle);
            metered(&processes, idle(&client, &task_queue, &bench_queue, &sandbox_client, run_id, o.idle, idle_base, (worker_pids[0], server_pid))).await?
        } else {
            Value::Null
        };
        let mut loads = Vec::new();
        if wanted(Scenario::ShimLoad) {
            println!("bench: 5/5 shim under load, {:?}/s for {}s each", o.rates, o.rate_secs);
            for &rate in &o.rates {
                let load = async { Ok(shim_load(&signer, &load_url, run_id, rate, o.rate_secs, load_base, &split).await) };
                let mut load = metered(&processes, load).await?;
                load["engine_cost"] = shim_cost(&load);
                loads.push(load);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        let profiled = if o.perf {
            println!("bench: profiled pass (perf): {} bookings end to end, then shim load at {PROFILED_RATE}/s", o.bookings);
            let exes = (sibling("booking-worker")?, sibling("booking-shim")?);
            // Each pass gets bookings and slots of its own.
            let tag = |pass: usize| format!("{run_id}p{pass}");
            let base = |pass: usize| profile_base + chrono::Duration::days(30 * pass as i64);
            let e2e = |pass: usize| {
                let (signer, shim_url, sandbox_client) = (&signer, &shim_url, &sandbox_client);
                async move { end_to_end(signer, shim_url, sandbox_client, &tag(pass), o.bookings, base(pass)).await }
            };
            let load = |pass: usize| {
                let (signer, load_url, split) = (&signer, &load_url, &split);
                async move { Ok(shim_load(signer, load_url, &tag(pass), PROFILED_RATE, o.rate_secs, base(pass), split).await) }
            };
            profiled_pass(dir, &worker_pids, load_shim.id(), &exes, e2e, load).await?
        } else {
            Value::Null
        };
        Ok(json!({"end_to_end": e2e, "ceiling": ceil, "ledger": ledger_result, "idle": idle_result, "shim_load": loads, "profile": profiled}))
    }
    .await;

    bench_worker.stop();
    for child in workers
        .iter_mut()
        .chain([&mut shim, &mut load_shim, &mut sandbox])
    {
        booking_starter::supervisor::terminate(child, Duration::from_secs(10)).await;
    }
    let scenarios = outcome?;
    let report = report(o, &scenarios, profile, &backend_label(o));
    print!("{}", report.table);
    std::fs::create_dir_all(&o.results_dir)?;
    let path = o.results_dir.join(&o.results_file);
    std::fs::write(&path, serde_json::to_vec_pretty(&report.json)?)?;
    println!("bench: results written to {}", path.display());
    Ok(())
}

struct Report {
    table: String,
    json: Value,
}

/// One table cell from a scenario's [`CpuMeter`] figures: cores each process kept busy, busiest
/// first, then the machine's busy and iowait shares.
fn cpu_cell(cpu: &Value) -> String {
    let mut procs: Vec<(String, f64)> = cpu["processes"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v["cores"].as_f64().unwrap_or(0.0)))
                .collect()
        })
        .unwrap_or_default();
    procs.sort_by(|a, b| b.1.total_cmp(&a.1));
    let procs: Vec<String> = procs
        .iter()
        .filter(|(_, cores)| *cores >= 0.01)
        .map(|(name, cores)| format!("{name} {cores:.2}"))
        .collect();
    format!(
        "{}; machine {}% busy, {}% iowait",
        procs.join(", "),
        cpu["machine_busy_pct"],
        cpu["machine_iowait_pct"]
    )
}

/// One cell splitting an acknowledgement (means, ms): the shim's call to Temporal, and within
/// it the server's frontend, history and persistence times for the start.
fn split_cell(w: &Value) -> String {
    let mean = |k: &str| match w[k]["mean_ms"].as_f64() {
        Some(v) => format!("{v:.1}"),
        None => "n/a".into(),
    };
    format!(
        "shim → Temporal {} ⊃ server frontend {} ⊃ history {} ⊃ persistence (create) {}",
        mean("shim_handoff"),
        mean("server_frontend_start"),
        mean("server_history_start"),
        mean("server_persistence_create"),
    )
}

/// The crates taking the most CPU in a profile, e.g. `tokio 21.5%, prost 10.0%`.
fn crates_cell(profile: &Value) -> String {
    profile["by_crate"]
        .as_array()
        .map(|crates| {
            crates
                .iter()
                .take(6)
                .map(|c| format!("{} {}%", c["crate"].as_str().unwrap_or("?"), c["pct"]))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn report(o: &Options, s: &Value, profile: &str, backend: &str) -> Report {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    // What the booking worker and the ceiling worker ran with (defaults plus BOOKINGS_WORKER_*).
    let tuning = booking_worker::tuning::WorkerTuning::from_env()
        .map(|t| format!("{t:?}"))
        .unwrap_or_else(|e| format!("invalid: {e}"));
    let pct = |v: &Value| format!("{} / {} / {}", v["p50_ms"], v["p95_ms"], v["p99_ms"]);
    let p50_99 = |v: &Value| format!("{} / {}", v["p50_ms"], v["p99_ms"]);
    let mut rows: Vec<[String; 3]> = Vec::new();
    let mut row = |scenario: String, measure: &str, value: String| {
        rows.push([scenario, measure.to_owned(), value]);
    };

    let e2e = &s["end_to_end"];
    if !e2e.is_null() {
        row(
            format!("end to end (N={})", o.bookings),
            "bookings/s",
            format!(
                "{} ({} of {} complete)",
                e2e["bookings_per_s"], e2e["completed"], e2e["bookings"]
            ),
        );
        row(
            String::new(),
            "webhook ack p50/p95/p99 ms",
            pct(&e2e["ack"]),
        );
        for (key, what) in [
            ("to_calendar_event", "webhook → calendar event"),
            ("to_crm_contact", "webhook → CRM contact"),
            ("to_first_email", "webhook → first email"),
        ] {
            row(
                String::new(),
                &format!("{what} p50/p95/p99 ms"),
                pct(&e2e[key]),
            );
        }
        row(String::new(), "CPU cores used", cpu_cell(&e2e["cpu"]));
        row(
            String::new(),
            "worker CPU ms per booking (first steps)",
            e2e["engine_cost"]["worker_cpu_ms_per_booking"].to_string(),
        );
    }
    let ceil = &s["ceiling"];
    let ratio = e2e["bookings_per_s"]
        .as_f64()
        .zip(ceil["workflows_per_s"].as_f64())
        .map(|(e, c)| e / c);
    if !ceil.is_null() {
        row(
            format!("ceiling (no-op activities, N={})", o.bookings),
            "workflows/s",
            ceil["workflows_per_s"].to_string(),
        );
        row(
            String::new(),
            "start → result p50/p95/p99 ms",
            pct(&ceil["start_to_result"]),
        );
        row(String::new(), "CPU cores used", cpu_cell(&ceil["cpu"]));
    }
    if let Some(ratio) = ratio {
        row(String::new(), "end to end / ceiling", format!("{ratio:.2}"));
    }
    let loads = s["shim_load"].as_array().cloned().unwrap_or_default();
    let best_rate = loads
        .iter()
        .filter(|l| l["ack"]["p99_ms"].as_f64().is_some_and(|p| p < 50.0))
        .filter_map(|l| l["rate_per_s"].as_u64())
        .max();
    for l in &loads {
        row(
            format!(
                "shim load {}/s ({}s, achieved {}/s, {} × 202)",
                l["rate_per_s"], o.rate_secs, l["achieved_per_s"], l["accepted_202"]
            ),
            "ack p50/p99 ms",
            p50_99(&l["ack"]),
        );
        row(
            String::new(),
            "where an ack's time goes (means, ms)",
            split_cell(&l["where_the_time_goes"]),
        );
        row(String::new(), "CPU cores used", cpu_cell(&l["cpu"]));
        row(
            String::new(),
            "shim CPU µs per ack",
            l["engine_cost"]["shim_cpu_us_per_ack"].to_string(),
        );
    }
    if !loads.is_empty() {
        row(
            String::new(),
            "highest rate with p99 < 50 ms",
            best_rate.map_or_else(|| "none".into(), |r| format!("{r}/s")),
        );
    }
    let idle = &s["idle"];
    if !idle.is_null() {
        row(
            format!(
                "idle (M={}, ≤{} on first steps, settled {} in {} s)",
                o.idle, idle["start_window"], idle["settled"], idle["settle_seconds"]
            ),
            "worker / server RSS MiB",
            format!("{} / {}", idle["worker_rss_mib"], idle["server_rss_mib"]),
        );
        row(
            String::new(),
            "signal + query p50/p99 ms",
            p50_99(&idle["signal_query_round_trip"]),
        );
        row(
            String::new(),
            "2 s timer fired late (server events) p50/p99 ms",
            p50_99(&idle["timer_fired_late"]),
        );
        row(
            String::new(),
            "2 s timer observed late (start → result) p50/p99 ms",
            p50_99(&idle["timer_observed_late"]),
        );
        row(
            String::new(),
            "CPU cores used (start + settle + probes)",
            cpu_cell(&idle["cpu"]),
        );
    }
    let l = &s["ledger"];
    if !l.is_null() {
        row(
            format!(
                "ledger ({} reservations, {} in flight)",
                l["reservations"], l["in_flight"]
            ),
            "reservations/s",
            l["reservations_per_s"].to_string(),
        );
        row(String::new(), "CPU cores used", cpu_cell(&l["cpu"]));
    }

    let p = &s["profile"];
    if !p.is_null() {
        row(
            format!("profiled pass (perf, {} bookings)", p["bookings"]),
            "allocations per booking (workers)",
            p["allocations_per_booking"].to_string(),
        );
        if let Some(first) = p["workers"].get(0) {
            row(String::new(), "worker CPU by crate", crates_cell(first));
        }
        row(
            format!("profiled shim load {PROFILED_RATE}/s ({} acks)", p["acks"]),
            "allocations per ack (shim)",
            p["allocations_per_ack"].to_string(),
        );
        row(String::new(), "shim CPU by crate", crates_cell(&p["shim"]));
    }

    let mut table = format!(
        "\n### {backend}, {} booking worker(s)\n\n| scenario | measure | value |\n|---|---|---|\n",
        o.workers
    );
    for [scenario, measure, value] in rows {
        table.push_str(&format!("| {scenario} | {measure} | {value} |\n"));
    }
    table.push_str(&format!(
        "\n{profile} binaries, {cores} cores, gRPC compression to Temporal {}, worker tuning {tuning}\n",
        temporal_compression()
    ));
    let json = json!({
        "backend": backend,
        "workers": o.workers,
        "temporal_compression": temporal_compression(),
        "git_revision": git_revision(),
        "cores": cores,
        "profile": profile,
        "smoke": o.smoke,
        "at": Utc::now().to_rfc3339(),
        "worker_tuning": tuning,
        "end_to_end_over_ceiling": ratio.map(|r| (r * 100.0).round() / 100.0),
        "shim_highest_rate_p99_under_50ms": best_rate,
        "scenarios": s,
    });
    Report { table, json }
}
