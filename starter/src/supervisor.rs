//! `bookings up`: the whole local system on embedded defaults, as child processes of one
//! command: the Temporal dev server, the provider sandbox, a worker, and a demo booking; once the
//! worker runs, the hourly reconciliation schedule is ensured. Ctrl-C stops everything in
//! reverse order.

use std::{
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use booking_proto::domain::BookingId;
use nix::{sys::signal::Signal, unistd::Pid};
use tokio::process::{Child, Command};

use crate::{
    booking_client,
    dev_server::{DevServer, DevServerConfig, ensure_port_free},
};

/// Ports and places of the local system.
#[derive(Debug, Clone)]
pub struct UpConfig {
    pub dev_server: DevServerConfig,
    pub sandbox_port: u16,
    pub shim_port: u16,
    pub worker_metrics_port: u16,
    pub worker_health_port: u16,
    pub task_queue: String,
}

/// A child process that is stopped when dropped.
struct Service {
    name: &'static str,
    child: Child,
}

/// Runs the system until Ctrl-C or until a service dies.
pub async fn up(config: UpConfig) -> anyhow::Result<()> {
    let data_dir = config.dev_server.data_dir.clone();
    ensure_port_free("127.0.0.1", config.sandbox_port, "provider sandbox")?;
    let shim_port = config.shim_port;
    ensure_port_free("127.0.0.1", shim_port, "webhook shim")?;
    let shim_url = format!("http://127.0.0.1:{shim_port}");

    println!(
        "starting the Temporal dev server (data in {})...",
        data_dir.display()
    );
    let mut server = DevServer::start(config.dev_server.clone()).await?;
    let address = config.dev_server.grpc_address();

    let sandbox_url = format!("http://127.0.0.1:{}", config.sandbox_port);
    let sandbox = spawn_service(
        "booking-sandbox",
        &data_dir,
        &[
            "--port".to_owned(),
            config.sandbox_port.to_string(),
            "--snapshot".to_owned(),
            data_dir.join("sandbox.json").to_string_lossy().into_owned(),
            "--webhook-target".to_owned(),
            format!("{shim_url}/webhooks/calendly"),
            "--twilio-inbound-webhook".to_owned(),
            format!("{shim_url}/webhooks/twilio/inbound"),
            "--acuity-webhook".to_owned(),
            format!("{shim_url}/webhooks/acuity"),
        ],
        &[],
    )?;
    wait_for_port(
        format!("127.0.0.1:{}", config.sandbox_port).parse()?,
        Duration::from_secs(20),
    )
    .context("the provider sandbox did not start")?;

    // One demo agent per calendar provider, unless the user configured their own agents.
    let agent_calendars = std::env::var("BOOKINGS_AGENT_CALENDARS")
        .unwrap_or_else(|_| crate::demo::demo_agent_calendars());
    let metrics_addr = format!("127.0.0.1:{}", config.worker_metrics_port);
    let status_callback = format!("{shim_url}/webhooks/twilio/status");
    let health_addr = format!("127.0.0.1:{}", config.worker_health_port);
    let worker = spawn_service(
        "booking-worker",
        &data_dir,
        &[],
        &[
            ("TEMPORAL_ADDRESS", address.as_str()),
            ("TEMPORAL_NAMESPACE", config.dev_server.namespace.as_str()),
            ("BOOKINGS_TASK_QUEUE", config.task_queue.as_str()),
            ("BOOKINGS_SANDBOX_URL", sandbox_url.as_str()),
            ("BOOKINGS_AGENT_CALENDARS", agent_calendars.as_str()),
            ("BOOKINGS_WORKER_METRICS_ADDR", metrics_addr.as_str()),
            ("BOOKINGS_WORKER_HEALTH_ADDR", health_addr.as_str()),
            // The dev server is on this machine: gzip would only cost CPU.
            ("BOOKINGS_TEMPORAL_COMPRESSION", "none"),
            (
                "BOOKINGS_TWILIO_STATUS_CALLBACK_URL",
                status_callback.as_str(),
            ),
        ],
    )?;
    let shim_port_text = shim_port.to_string();
    let shim = spawn_service(
        "booking-shim",
        &data_dir,
        &[],
        &[
            ("SHIM_PORT", shim_port_text.as_str()),
            // Twilio signs the URL it called; the sandbox calls the shim here.
            ("SHIM_PUBLIC_URL", shim_url.as_str()),
            ("BOOKINGS_TEMPORAL_COMPRESSION", "none"),
            ("TEMPORAL_ADDRESS", address.as_str()),
            ("TEMPORAL_NAMESPACE", config.dev_server.namespace.as_str()),
            ("BOOKINGS_TASK_QUEUE", config.task_queue.as_str()),
            ("BOOKINGS_SANDBOX_URL", sandbox_url.as_str()),
        ],
    )?;
    let mut services = vec![sandbox, worker, shim];

    let client = connect_to(&address, &config.dev_server.namespace).await?;
    // The worker runs: reconciliation can be scheduled (ensure is idempotent across restarts).
    crate::schedule::ensure(
        &client,
        &config.task_queue,
        &booking_workflows::reconcile::ReconcileConfig::default(),
    )
    .await
    .context("could not ensure the reconciliation schedule")?;
    let now = chrono::Utc::now();
    let booking_id =
        booking_client::start_booking(&client, &config.task_queue, crate::demo::demo_request(now))
            .await?;
    let microsoft_demo = crate::demo::demo_request_for(now, crate::demo::MICROSOFT_AGENT);
    let microsoft_id =
        booking_client::start_booking(&client, &config.task_queue, microsoft_demo).await?;
    wait_for_first_step(&client, &booking_id).await?;
    wait_for_first_step(&client, &microsoft_id).await?;

    print_banner(&config, &booking_id, &microsoft_id, &sandbox_url, shim_port);

    let outcome = tokio::select! {
        _ = booking_worker::wait_for_stop_signal() => Ok(()),
        status = server.wait() => Err(anyhow::anyhow!("the Temporal dev server exited ({status:?}); see {}", config.dev_server.log_file().display())),
        dead = first_exit(&mut services) => Err(anyhow::anyhow!("{dead} exited; see {}", data_dir.join(format!("{dead}.log")).display())),
    };
    println!("\nstopping...");
    for mut service in services.into_iter().rev() {
        terminate(&mut service.child, Duration::from_secs(10)).await;
        println!("  {} stopped", service.name);
    }
    server.stop().await;
    println!(
        "  Temporal dev server stopped (bookings are kept in {})",
        data_dir.display()
    );
    outcome
}

async fn connect_to(address: &str, namespace: &str) -> anyhow::Result<temporalio_client::Client> {
    let url = url_for(address)?;
    let connection = temporalio_client::ConnectionOptions::new(url)
        .identity("bookings-cli".to_owned())
        .build();
    let options = temporalio_client::ClientOptions::new(namespace.to_owned()).build();
    Ok(booking_worker::connect_with(connection, options).await?)
}

fn url_for(address: &str) -> anyhow::Result<url::Url> {
    Ok(url::Url::parse(&format!("http://{address}"))?)
}

/// Polls the demo booking until its first email went out, so the banner describes a booking
/// that visibly works.
async fn wait_for_first_step(
    client: &temporalio_client::Client,
    booking_id: &BookingId,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(snapshot) = booking_client::status(client, booking_id).await
            && !snapshot.steps_done.is_empty()
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "the demo booking {booking_id} made no progress within 60s; see worker.log in the data directory"
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn print_banner(
    config: &UpConfig,
    booking_id: &BookingId,
    microsoft_id: &BookingId,
    sandbox_url: &str,
    shim_port: u16,
) {
    let ui = config
        .dev_server
        .ui_url()
        .unwrap_or_else(|| "(headless)".into());
    let ns = &config.dev_server.namespace;
    let temporal = config.dev_server.temporal_bin.display();
    let address = config.dev_server.grpc_address();
    println!(
        "\nThe booking engine is running.\n\
         \n  Temporal Web UI      {ui}\
         \n  demo booking         {ui}/namespaces/{ns}/workflows/{wf} (Google Calendar agent)\
         \n  demo booking         {ui}/namespaces/{ns}/workflows/{ms_wf} (Microsoft 365 agent)\
         \n  Temporal frontend    {address} (namespace {ns}, task queue {tq})\
         \n  provider sandbox     {sandbox_url}/_sandbox/sendgrid/emails (what was sent)\
         \n                       {sandbox_url}/_sandbox/microsoft/events (Microsoft 365 calendars)\
         \n                       {sandbox_url}/_sandbox/twilio/messages (texts; a lead's reply: POST {sandbox_url}/_sandbox/twilio/inbound)\
         \n  webhook shim         http://127.0.0.1:{shim_port}/openapi.json (Calendly webhooks go here)\
         \n  worker               http://127.0.0.1:{metrics_port}/metrics (Temporal SDK metrics), http://127.0.0.1:{health_port}/readyz\
         \n  reconciliation       hourly schedule {schedule} (`bookings schedule describe`)\
         \n  logs and data        {data}\
         \n\nTry, in another terminal (the exports point every command at this system):\
         \n  export TEMPORAL_ADDRESS={address} TEMPORAL_NAMESPACE={ns} BOOKINGS_TASK_QUEUE={tq}\
         \n  {temporal} workflow list\
         \n  {temporal} workflow show --workflow-id {wf}\
         \n  {bookings} show {id}\
         \n  {bookings} signal confirm {id}\
         \n\nPress Ctrl-C to stop everything.",
        wf = booking_id.workflow_id(),
        ms_wf = microsoft_id.workflow_id(),
        metrics_port = config.worker_metrics_port,
        health_port = config.worker_health_port,
        tq = config.task_queue,
        schedule = crate::schedule::SCHEDULE_ID,
        data = config.dev_server.data_dir.display(),
        id = booking_id,
        bookings = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "bookings".into()),
    );
}

/// Starts one of the project's own binaries (found next to this executable), logging to
/// `<data_dir>/<name>.log`.
fn spawn_service(
    name: &'static str,
    data_dir: &Path,
    args: &[String],
    env: &[(&str, &str)],
) -> anyhow::Result<Service> {
    let binary = sibling_binary(name)?;
    let log_path = data_dir.join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let child = Command::new(&binary)
        .args(args)
        .envs(env.iter().copied())
        // Everything `up` starts talks to the sandbox it started: its public credentials are
        // accepted only in sandbox mode.
        .env("BOOKINGS_SANDBOX", "1")
        // The output goes to a file: colour codes would only garble it.
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    println!("started {name} (log: {})", log_path.display());
    Ok(Service { name, child })
}

fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("cannot locate the bookings executable")?;
    let path = me
        .parent()
        .context("the bookings executable has no parent directory")?
        .join(name);
    if !path.is_file() {
        bail!(
            "{} is missing: build every binary first (cargo build --workspace --bins; scripts/run does)",
            path.display()
        );
    }
    Ok(path)
}

fn wait_for_port(addr: SocketAddr, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if Instant::now() >= deadline {
            bail!("nothing listens on {addr} after {}s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

async fn first_exit(services: &mut [Service]) -> &'static str {
    loop {
        for service in services.iter_mut() {
            if let Ok(Some(_)) = service.child.try_wait() {
                return service.name;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// SIGTERM, then SIGKILL if the process has not exited within `grace`.
pub async fn terminate(child: &mut Child, grace: Duration) {
    if let Some(pid) = child.id() {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        if tokio::time::timeout(grace, child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.kill().await;
}
