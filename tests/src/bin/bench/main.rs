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

use std::{sync::Arc, time::Duration};

use booking_activities::secret::Secret;
use booking_sandbox::SandboxClient;
use booking_tests::{
    NAMESPACE, WorkerThread,
    bench_flow::{CeilingWorkflow, NoopActivities, TimerWorkflow},
    free_port,
    procs::{sibling, spawn_logged, wait_http},
};
use booking_workflows::connection::COMPRESSION_VAR;
use chrono::{DurationRound, Utc};
use serde_json::{Value, json};

/// Process names in the CPU figures that the engine's own cost is read from.
pub(crate) const WORKER: &str = "booking worker";
pub(crate) const LOAD_SHIM: &str = "load shim";
/// The rate of the profiled shim load: the issue's target rate.
pub(crate) const PROFILED_RATE: u64 = 250;
const FORM_SECRET: &str = "whsec_YmVuY2gtZm9ybS1zaWduaW5nLWtleS0wMDAx";
pub(crate) const AGENTS: usize = 50;
/// Webhooks (and client starts) in flight at once in the end-to-end and ceiling scenarios.
pub(crate) const SENDERS: usize = 32;

use cpu::metered;
use options::{Options, Scenario, options};
use profiled::profiled_pass;
use report::report;
use scenarios::{agent_calendars, ceiling, end_to_end, idle, ledger};
use shim_load::{LatencySplit, shim_cost, shim_load, worker_cost};
use signer::Signer;

mod cpu;
mod options;
mod profiled;
mod report;
mod scenarios;
mod shim_load;
mod signer;
mod stats;

/// What the worker and the shims send to Temporal with: `none`, as every deployment next to its
/// server runs (compose, `bookings up`), unless the bench's own environment says otherwise.
pub(crate) fn temporal_compression() -> String {
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

fn main() -> anyhow::Result<()> {
    let options = options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(options))
}

pub(crate) fn git_revision() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

pub(crate) async fn run(o: Options) -> anyhow::Result<()> {
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
