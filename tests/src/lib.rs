//! End-to-end test support: [`TestApp::spawn`] gives each test its own real Temporal dev server
//! (from the binary `scripts/bootstrap` installs) on free ports, its own provider sandbox, and
//! an in-process worker on a unique task queue. Everything is torn down when the `TestApp` is
//! dropped, also when the test panics.

use std::{
    future::Future,
    net::TcpListener,
    path::PathBuf,
    sync::mpsc,
    thread::JoinHandle,
    time::{Duration, Instant},
};

use booking_proto::{
    domain::{BookingId, EventId},
    v1::BookingSnapshot,
};
use booking_sandbox::{RunningSandbox, SandboxClient, SandboxConfig};
use booking_starter::booking_client::{self, BookingSignal};
use booking_starter::dev_server::{DevServer, DevServerConfig};
use booking_worker::{ConnectError, WorkerConfig, build_worker, connect_with};
use booking_workflows::BookingWorkflow;
use booking_workflows::lifecycle::{FollowUpPolicy, Span};
use temporalio_client::{Client, ClientOptions, ConnectionOptions};
use temporalio_client::{WorkflowFetchHistoryOptions, WorkflowGetResultOptions};
use temporalio_sdk::runtime::Runtime;

/// `hours` from now, to the minute: tour times tests can compare with what providers echo.
pub fn hours_from_now(hours: i64) -> chrono::DateTime<chrono::Utc> {
    use chrono::DurationRound;
    (chrono::Utc::now() + chrono::Duration::hours(hours))
        .duration_trunc(chrono::Duration::minutes(1))
        .expect("a minute divides time")
}

/// When the booking's tour starts, as its snapshot says.
pub fn tour_start(snapshot: &BookingSnapshot) -> Option<chrono::DateTime<chrono::Utc>> {
    snapshot
        .tour
        .as_ref()
        .and_then(|t| t.start.as_ref())
        .and_then(booking_proto::time::from_timestamp)
}

/// How many times the booking actually moved (a move to the time it has is recorded, not
/// made).
pub fn moves(snapshot: &BookingSnapshot) -> usize {
    snapshot
        .steps_done
        .iter()
        .filter(|step| step.name == "reschedule" && step.detail.starts_with("moved from"))
        .count()
}

pub mod bench_compare;
pub mod bench_flow;
pub mod ledger_load;
pub mod perf;
pub mod procs;
pub mod prom;

pub const NAMESPACE: &str = "default";

/// How a test's engine differs from the defaults.
#[derive(Default)]
pub struct TestOptions {
    pub sandbox: SandboxConfig,
    pub follow_up: FollowUpPolicy,
    pub activity_policies: booking_activities::policy::PolicyTable,
    /// History length past which bookings continue as new (`None`: the production default).
    pub history_limit: Option<u32>,
    /// Every agent's calendar (`BOOKINGS_DEFAULT_CALENDAR`, e.g. `microsoft:agent@contoso.test`;
    /// `None`: the sandbox's Google `primary`).
    pub default_calendar: Option<String>,
}

/// One test's private booking engine.
pub struct TestApp {
    pub client: Client,
    pub task_queue: String,
    pub sandbox: SandboxClient,
    pub sandbox_url: String,
    pub temporal_address: String,
    worker: Option<WorkerThread>,
    worker_config: WorkerConfig,
    _sandbox: RunningSandbox,
    _server: DevServer,
    _data_dir: TempDir,
}

impl TestApp {
    /// Starts a dev server, a sandbox and a worker (production cadence) for one test.
    pub async fn spawn() -> Self {
        Self::spawn_with(TestOptions::default()).await
    }

    /// Like [`TestApp::spawn`], with every hour of the follow-up cadence run as a second.
    pub async fn spawn_fast() -> Self {
        Self::spawn_with(TestOptions {
            follow_up: hours_as_seconds(FollowUpPolicy::default()),
            ..TestOptions::default()
        })
        .await
    }

    pub async fn spawn_with(options: TestOptions) -> Self {
        let TestOptions {
            sandbox: sandbox_config,
            follow_up,
            activity_policies,
            history_limit,
            default_calendar,
        } = options;
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let data_dir = TempDir::new(&unique);
        let server = start_dev_server(&data_dir.path).await;
        let temporal_address = server.config().grpc_address();

        let sandbox = booking_sandbox::start(sandbox_config)
            .await
            .expect("the sandbox starts");
        let sandbox_url = sandbox.base_url();
        let task_queue = format!("test-{unique}");

        let client = connect(&temporal_address).await;
        let mut config =
            WorkerConfig::for_sandbox(&task_queue, &sandbox_url).expect("the sandbox URL is valid");
        if let Some(calendar) = &default_calendar {
            config.providers = booking_activities::config::ProvidersConfig::for_sandbox_with(
                &sandbox_url,
                &[("BOOKINGS_DEFAULT_CALENDAR", calendar)],
            )
            .expect("the calendar entry is valid");
        }
        config.follow_up = follow_up;
        config.activity_policies = activity_policies;
        if let Some(limit) = history_limit {
            config.history_limit = limit;
        }
        let worker = WorkerThread::start(temporal_address.clone(), config.clone());
        Self {
            client,
            task_queue,
            sandbox: SandboxClient::new(&sandbox_url),
            sandbox_url,
            temporal_address,
            worker: Some(worker),
            worker_config: config,
            _sandbox: sandbox,
            _server: server,
            _data_dir: data_dir,
        }
    }
}

impl TestApp {
    /// Stops the worker and starts a fresh one on the same task queue: its empty cache makes
    /// every booking it touches replay its whole history, as after a crash.
    pub fn restart_worker(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.stop();
        }
        self.worker = Some(WorkerThread::start(
            self.temporal_address.clone(),
            self.worker_config.clone(),
        ));
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.stop();
        }
    }
}

/// The production cadence with each hour turned into a second, so a test runs a day's
/// sequence in seconds with the same shape.
pub fn hours_as_seconds(mut policy: FollowUpPolicy) -> FollowUpPolicy {
    let scale = |span: &mut Span| span.secs /= 3600;
    policy.pending.reminders_after.iter_mut().for_each(scale);
    scale(&mut policy.pending.call_task_after);
    policy.confirmed.reminders_before.iter_mut().for_each(scale);
    policy
        .questionnaire
        .reminders_before
        .iter_mut()
        .for_each(scale);
    policy
        .preparation
        .reminders_before
        .iter_mut()
        .for_each(scale);
    scale(&mut policy.completion.review_after);
    // Text steps are named by their offsets (`tour-reminder-1h` becomes `tour-reminder-1s`),
    // and quiet hours would tie a test's outcome to the time of day it runs at.
    policy.sms.channels = std::mem::take(&mut policy.sms.channels)
        .into_iter()
        .map(|(name, choice)| match name.strip_suffix('h') {
            Some(stem) if stem.ends_with(|c: char| c.is_ascii_digit()) => {
                (format!("{stem}s"), choice)
            }
            _ => (name, choice),
        })
        .collect();
    policy.sms.quiet_hours = None;
    policy
        .validate()
        .expect("a scaled production policy is valid");
    policy
}

/// A client of its own, for callers that need one on their runtime. A dev server that listens
/// may still answer "Frontend is not healthy yet" for a moment (seen on a loaded 2-core
/// machine), so an unreachable server is asked again until a deadline.
pub async fn connect(address: &str) -> Client {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let connection = ConnectionOptions::new(url_for(address))
            .identity("booking-tests".to_owned())
            .build();
        match connect_with(connection, ClientOptions::new(NAMESPACE.to_owned()).build()).await {
            Ok(client) => return client,
            Err(error @ ConnectError::Unreachable { .. }) if Instant::now() < deadline => {
                tracing::debug!(%error, "the dev server is not serving yet; asking again");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("the test client connects to its dev server: {error:?}"),
        }
    }
}

fn url_for(address: &str) -> url::Url {
    url::Url::parse(&format!("http://{address}")).expect("host:port makes a URL")
}

/// The worker runs on a thread of its own with its own runtime: workflow futures are not
/// `Send`, and a worker that outlives a panicking test's runtime must still shut down cleanly.
pub struct WorkerThread {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl WorkerThread {
    fn start(address: String, config: WorkerConfig) -> Self {
        Self::start_with(address, move |runtime, client| {
            build_worker(runtime, client, &config).expect("the worker builds")
        })
    }

    /// A worker that `build` makes from the thread's Temporal runtime and a client of `address`.
    pub fn start_with(
        address: String,
        build: impl FnOnce(&Runtime, Client) -> temporalio_sdk::Worker + Send + 'static,
    ) -> Self {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime builds");
            rt.block_on(async move {
                let runtime = Runtime::from_current_tokio(Default::default())
                    .expect("the Temporal runtime starts");
                let client = connect(&address).await;
                let mut worker = build(&runtime, client);
                let shutdown = worker.shutdown_handle();
                let _ = ready_tx.send(());
                let stopper = tokio::task::spawn_blocking(move || {
                    let _ = stop_rx.recv();
                    shutdown();
                });
                worker.run().await.expect("the worker runs until shut down");
                let _ = stopper.await;
            });
        });
        ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the worker starts within 30s");
        Self {
            stop: stop_tx,
            thread,
        }
    }

    /// Asks the worker to shut down and waits (at most 15 s) for its thread.
    pub fn stop(self) {
        let _ = self.stop.send(());
        // A worker whose server is already gone may take its poll timeout to notice; never hang
        // a test run on it.
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.thread.is_finished() {
            let _ = self.thread.join();
        }
    }
}

/// Polls `probe` until it yields a value or `limit` passes. Tests wait for outcomes this way,
/// never with a fixed sleep.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {}s waiting for {what}",
            limit.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts a dev server on a free port. Another process on the machine can take the port
/// between choosing it and the server binding it, so a taken port means: choose again.
pub async fn start_dev_server(data_dir: &std::path::Path) -> DevServer {
    start_dev_server_with(data_dir, false).await
}

/// Like [`start_dev_server`]; with `metrics`, the server also serves its own Prometheus
/// metrics on a free port (`DevServerConfig::metrics_port`).
pub async fn start_dev_server_with(data_dir: &std::path::Path, metrics: bool) -> DevServer {
    let mut last_error = None;
    for _ in 0..5 {
        let config = DevServerConfig {
            temporal_bin: DevServerConfig::default_binary(),
            data_dir: data_dir.to_owned(),
            ip: "127.0.0.1".into(),
            port: free_port(),
            ui_port: None,
            namespace: NAMESPACE.into(),
            metrics_port: metrics.then(free_port),
        };
        match DevServer::start(config).await {
            Ok(server) => return server,
            Err(
                error @ (booking_starter::dev_server::DevServerError::PortTaken { .. }
                | booking_starter::dev_server::DevServerError::ExitedEarly { .. }),
            ) => last_error = Some(error),
            Err(error) => {
                panic!("the Temporal dev server starts (run scripts/bootstrap first): {error}")
            }
        }
    }
    panic!("no free port for the Temporal dev server after 5 tries: {last_error:?}")
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the OS hands out a free port")
}

/// A directory removed on drop.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new(unique: &str) -> Self {
        let path = std::env::temp_dir().join(format!("booking-test-{unique}"));
        std::fs::create_dir_all(&path).expect("the temp dir is writable");
        Self { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

impl TestApp {
    /// The `step` custom arg of every email the sandbox accepted for `booking`, in send order.
    pub async fn email_steps(&self, booking: &BookingId) -> Vec<String> {
        self.sandbox
            .emails()
            .await
            .expect("the sandbox lists its emails")
            .iter()
            .filter(|email| email.custom_arg("booking_id") == Some(booking.as_str()))
            .filter_map(|email| email.custom_arg("step").map(str::to_owned))
            .collect()
    }
}

impl TestApp {
    /// Starts the booking and returns its id.
    pub async fn start(&self, request: booking_proto::v1::BookingRequest) -> BookingId {
        booking_client::start_booking(&self.client, &self.task_queue, request)
            .await
            .expect("the booking starts")
    }

    /// Sends a signal with the given event id.
    pub async fn signal(&self, booking: &BookingId, event_id: &str, signal: BookingSignal) {
        let event_id = EventId::parse(event_id).expect("a valid event id");
        booking_client::signal(&self.client, booking, &event_id, signal)
            .await
            .expect("the signal is delivered");
    }

    /// Polls the booking's `status` query until `accept` holds.
    pub async fn snapshot_where(
        &self,
        booking: &BookingId,
        what: &str,
        accept: impl Fn(&BookingSnapshot) -> bool,
    ) -> BookingSnapshot {
        eventually(what, WAIT, || async {
            booking_client::status(&self.client, booking)
                .await
                .ok()
                .filter(|s| accept(s))
        })
        .await
    }

    /// Polls until the sandbox has accepted an email with this step for the booking.
    pub async fn wait_for_email(&self, booking: &BookingId, step_prefix: &str) {
        eventually(&format!("the {step_prefix} email"), WAIT, || async {
            self.email_steps(booking)
                .await
                .iter()
                .any(|s| s.starts_with(step_prefix))
                .then_some(())
        })
        .await
    }

    /// Every calendar event the sandbox holds for the booking, deleted ones included.
    /// Where the booking's live (not cancelled) calendar events start.
    pub async fn live_calendar_starts(
        &self,
        booking: &BookingId,
    ) -> Vec<chrono::DateTime<chrono::Utc>> {
        self.calendar_events(booking)
            .await
            .iter()
            .filter(|e| e.status != "cancelled")
            .filter_map(|e| e.start.date_time.as_deref())
            .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
            .collect()
    }

    pub async fn calendar_events(
        &self,
        booking: &BookingId,
    ) -> Vec<booking_sandbox::CalendarEvent> {
        self.sandbox
            .calendar_events(true)
            .await
            .expect("the sandbox lists its events")
            .into_iter()
            .map(|record| record.event)
            .filter(|event| event.private_property("booking_id") == Some(booking.as_str()))
            .collect()
    }

    /// Every Microsoft Graph event the sandbox holds for the booking, deleted ones included.
    pub async fn graph_events(
        &self,
        booking: &BookingId,
    ) -> Vec<booking_sandbox::GraphEventRecord> {
        self.sandbox
            .graph_events(true)
            .await
            .expect("the sandbox lists its Graph events")
            .into_iter()
            .filter(|event| event.booking_id.as_deref() == Some(booking.as_str()))
            .collect()
    }

    /// Waits for the booking's workflow to complete and returns its final snapshot.
    pub async fn result(&self, booking: &BookingId) -> BookingSnapshot {
        self.client
            .get_workflow_handle::<BookingWorkflow>(booking.workflow_id())
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("the booking completes")
    }

    /// Saves the history of one run of the booking (`run_id`) like [`TestApp::record_history`]
    /// does the latest run's.
    pub async fn record_run_history(&self, booking: &BookingId, run_id: &str, name: &str) {
        if std::env::var_os("BOOKINGS_RECORD_HISTORIES").is_none() {
            return;
        }
        let json = self
            .run_handle(booking, run_id)
            .fetch_history(WorkflowFetchHistoryOptions::default())
            .to_json()
            .await
            .expect("the run's history can be fetched");
        let path = histories_dir().join(format!("{name}.json"));
        std::fs::write(&path, json).expect("the history directory is writable");
    }

    /// A handle on one run of the booking, not whichever run is the latest.
    pub fn run_handle(
        &self,
        booking: &BookingId,
        run_id: &str,
    ) -> temporalio_client::WorkflowHandle<Client, BookingWorkflow> {
        let info = temporalio_client::WorkflowExecutionInfo::builder()
            .namespace(NAMESPACE)
            .workflow_id(booking.workflow_id())
            .run_id(run_id.to_owned())
            .build();
        temporalio_client::WorkflowHandle::new(self.client.clone(), info)
    }

    /// Saves the booking's history under `tests/histories/<name>.json` when
    /// `BOOKINGS_RECORD_HISTORIES` is set, so the replay test can check future workflow code
    /// against it.
    pub async fn record_history(&self, booking: &BookingId, name: &str) {
        if std::env::var_os("BOOKINGS_RECORD_HISTORIES").is_none() {
            return;
        }
        let json = self
            .client
            .get_workflow_handle::<BookingWorkflow>(booking.workflow_id())
            .fetch_history(WorkflowFetchHistoryOptions::default())
            .to_json()
            .await
            .expect("the history can be fetched");
        let path = histories_dir().join(format!("{name}.json"));
        std::fs::write(&path, json).expect("the history directory is writable");
    }
}

/// Where recorded histories live.
pub fn histories_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("histories")
}

/// How long a test waits for any one outcome.
pub const WAIT: Duration = Duration::from_secs(30);

/// A private viewing starting `starts_in` from now, for a lead unique to this test.
pub fn booking_starting_in(starts_in: chrono::Duration) -> booking_proto::v1::BookingRequest {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let mut request = booking_starter::demo::demo_request(chrono::Utc::now());
    let start = chrono::Utc::now() + starts_in;
    let start = start - chrono::Duration::nanoseconds(start.timestamp_subsec_nanos() as i64);
    request.booking_id = format!("bk-{unique}");
    request.event_id = format!("created-{unique}");
    if let Some(lead) = request.lead.as_mut() {
        lead.email = format!("lead+{unique}@example.com");
        // Texts are opt-in per test (`with_phone`): a number would move the one-hour reminder
        // every other test waits for from email to SMS.
        lead.phone = String::new();
    }
    request.tour = Some(
        booking_proto::domain::TourSlot::new(start, start + chrono::Duration::minutes(30))
            .expect("a 30-minute tour is valid")
            .to_proto(),
    );
    request
}

/// `request` with a lead who gave a mobile number, so the policy's text steps go by SMS.
pub fn with_phone(
    mut request: booking_proto::v1::BookingRequest,
    phone: &str,
) -> booking_proto::v1::BookingRequest {
    if let Some(lead) = request.lead.as_mut() {
        lead.phone = phone.to_owned();
    }
    request
}

/// The webhook shim served in-process on a free port, handing off to a test's Temporal and task
/// queue, with the Calendly API of its sandbox. Stops when dropped.
pub struct TestShim {
    pub url: String,
    pub state: booking_shim::ShimState,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestShim {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Secrets every test shim is configured with.
pub const SHIM_FORM_TOKEN: &str = "test-form-token";
pub const SHIM_FORM_WEBHOOK_SECRET: &str = "whsec_dGVzdC1mb3JtLXNpZ25pbmcta2V5";
pub const SHIM_OPERATOR_TOKEN: &str = "test-operator-token";
pub const SHIM_LINK_SECRET: &str = "test-link-secret";

/// A shim configuration in sandbox mode for `task_queue` and `sandbox_url`, plus `extra`
/// variables.
pub fn shim_config(
    task_queue: &str,
    sandbox_url: &str,
    extra: &[(&str, &str)],
) -> booking_shim::config::ShimConfig {
    let mut vars: Vec<(String, String)> = vec![
        ("BOOKINGS_TASK_QUEUE".into(), task_queue.into()),
        ("BOOKINGS_SANDBOX_URL".into(), sandbox_url.into()),
        ("SHIM_FORM_TOKEN".into(), SHIM_FORM_TOKEN.into()),
        (
            "SHIM_FORM_WEBHOOK_SECRET".into(),
            SHIM_FORM_WEBHOOK_SECRET.into(),
        ),
        ("SHIM_OPERATOR_TOKEN".into(), SHIM_OPERATOR_TOKEN.into()),
        ("SHIM_LINK_SECRET".into(), SHIM_LINK_SECRET.into()),
        (
            "SHIM_QUESTIONNAIRE_URL".into(),
            "https://forms.example.com/tour".into(),
        ),
    ];
    vars.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
    booking_shim::config::ShimConfig::for_sandbox(move |name| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("the test shim configuration is valid")
}

/// Serves a shim with `config`, connected to Temporal through `client` (`None`: as if Temporal
/// had never answered).
pub async fn serve_shim(
    config: booking_shim::config::ShimConfig,
    client: Option<Client>,
) -> TestShim {
    let state = booking_shim::ShimState::new(config);
    if let Some(client) = client {
        state.set_client(client).await;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("a bound address"));
    // Served like production (connection limits included); stops when the task is aborted.
    let served = state.clone();
    let server = tokio::spawn(async move {
        let _ = booking_shim::serve(listener, served, std::future::pending()).await;
    });
    TestShim { url, state, server }
}

impl TestApp {
    /// A shim for this test's engine, and the sandbox's Calendly webhooks pointed at it.
    pub async fn spawn_shim(&self) -> TestShim {
        let shim = serve_shim(
            shim_config(&self.task_queue, &self.sandbox_url, &[]),
            Some(self.client.clone()),
        )
        .await;
        self.sandbox
            .set_webhook_target(&format!("{}/webhooks/calendly", shim.url))
            .await
            .expect("the sandbox takes the webhook target");
        shim
    }
}

impl TestApp {
    /// A shim for this test's engine with Twilio wired through it, as in production: the
    /// sandbox's inbound replies go to the shim, and the worker (restarted with the setting)
    /// asks for delivery callbacks at the shim.
    pub async fn spawn_shim_with_texts(&mut self) -> TestShim {
        let shim = self.spawn_shim().await;
        self.sandbox
            .set_twilio_inbound_webhook(&format!("{}/webhooks/twilio/inbound", shim.url))
            .await
            .expect("the sandbox takes the inbound webhook");
        let callback = format!("{}/webhooks/twilio/status", shim.url);
        self.worker_config.providers.twilio.status_callback_url =
            Some(callback.parse().expect("the shim's URL is valid"));
        self.restart_worker();
        shim
    }

    /// Every text the sandbox accepted for `number`, in send order.
    pub async fn texts_to(&self, number: &str) -> Vec<booking_sandbox::TwilioMessage> {
        let mut texts: Vec<_> = self
            .sandbox
            .twilio_messages()
            .await
            .expect("the sandbox lists its texts")
            .into_iter()
            .filter(|m| m.to == number)
            .collect();
        texts.sort_by_key(|m| m.date_created);
        texts
    }
}

impl TestApp {
    /// Runs one reconciliation (default window) on this test's worker and returns its report.
    pub async fn reconcile(&self) -> booking_workflows::reconcile::ReconcileReport {
        self.reconcile_with(Default::default()).await
    }

    /// Runs one reconciliation with `config` (e.g. the positions an earlier run reported).
    pub async fn reconcile_with(
        &self,
        config: booking_workflows::reconcile::ReconcileConfig,
    ) -> booking_workflows::reconcile::ReconcileReport {
        use booking_workflows::reconcile::ReconcileWorkflow;
        let id = format!("reconcile-test-{}", uuid::Uuid::new_v4().simple());
        let options =
            temporalio_client::WorkflowStartOptions::new(self.task_queue.clone(), id).build();
        self.client
            .start_workflow(ReconcileWorkflow::run, config, options)
            .await
            .expect("reconciliation starts")
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("reconciliation completes")
    }

    /// Deletes the booking's calendar event by hand, through the Calendar API with a token,
    /// as a person in Google Calendar would.
    pub async fn delete_calendar_event_by_hand(&self, booking: &BookingId) {
        let providers = booking_activities::config::ProvidersConfig::for_sandbox(&self.sandbox_url)
            .expect("the sandbox URL is valid");
        let calendar_id = providers.calendars.default_calendar.to_wire();
        let activities =
            booking_activities::BookingActivities::new(providers).expect("the clients build");
        activities
            .calendar()
            .delete_event(&booking_activities::inputs::DeleteCalendarEventInput {
                booking_id: booking.to_string(),
                calendar_id,
            })
            .await
            .expect("the event is deleted");
    }

    /// The built `bookings` binary, pointed at this test's Temporal and task queue.
    pub fn bookings_cli(&self) -> std::process::Command {
        let mut command = std::process::Command::new(bookings_binary());
        command
            .env("TEMPORAL_ADDRESS", &self.temporal_address)
            .env("TEMPORAL_NAMESPACE", NAMESPACE)
            .env("BOOKINGS_TASK_QUEUE", &self.task_queue)
            .env_remove("TEMPORAL_API_KEY")
            .env_remove("TEMPORAL_CONFIG_FILE")
            .env_remove("TEMPORAL_PROFILE");
        command
    }
}

/// What one `bookings` run answered.
#[derive(Debug)]
pub struct CliRun {
    pub code: i32,
    pub json: serde_json::Value,
    pub stderr: String,
}

/// Runs `command` (with `--json`) to completion off the async runtime.
pub async fn run_cli(mut command: std::process::Command) -> CliRun {
    command.arg("--json");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the CLI thread joins")
        .expect("the bookings binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    CliRun {
        code: output.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout:?}")),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The binary `bin` of workspace package `package` next to this test executable
/// (`target/<profile>/<bin>`), brought up to date by `cargo build` once per test process:
/// `cargo test -p booking-tests` builds only this package's binaries, and a stale one would
/// test yesterday's code.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, path)) = built.iter().find(|(name, _)| name == bin) {
        return path.clone();
    }
    let exe = std::env::current_exe().expect("the test executable has a path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/<profile>/deps");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build.args(["build", "-q", "-p", package, "--bin", bin]);
    if profile_dir
        .file_name()
        .is_some_and(|name| name == "release")
    {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "building the {bin} binary failed");
    let path = profile_dir.join(bin);
    built.push((bin.to_owned(), path.clone()));
    path
}

/// The `bookings` binary next to this test executable (`target/<profile>/bookings`), built
/// once if `cargo test` did not build it (e.g. `cargo test -p booking-tests`).
pub fn bookings_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("the test executable has a path");
            let profile_dir = exe
                .parent()
                .and_then(|deps| deps.parent())
                .expect("tests run from target/<profile>/deps");
            let binary = profile_dir.join("bookings");
            if !binary.exists() {
                let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
                let status = std::process::Command::new(cargo)
                    .args(["build", "-q", "-p", "booking-starter", "--bin", "bookings"])
                    .status()
                    .expect("cargo runs");
                assert!(status.success(), "building the bookings binary failed");
            }
            binary
        })
        .clone()
}
