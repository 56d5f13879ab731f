//! `chaos`: the booking engine under real crashes. It starts, as separate processes, a
//! file-backed Temporal dev server, the provider sandbox, the webhook shim and a worker, drives
//! N bookings through a seeded script of webhooks and signals while it SIGKILLs the worker every
//! few seconds, restarts the dev server once, turns on the sandbox's chaos mode and revokes
//! (then restores) the Google grant; every webhook and signal is delivered two or three times,
//! shuffled, and some bookings race a reschedule against a cancel. Then it checks invariants
//! from the sandbox's inspection API and the bookings' `status` queries, scans every process
//! log for configured secrets, prints a report, and exits non-zero on any violation.
//!
//! Both calendar providers take part: Calendly's host (every Calendly booking's agent) and one
//! form agent are on the default calendar, Google `primary`; the other form agent, which most
//! form bookings name, is on a Microsoft 365 mailbox through Microsoft Graph
//! (`BOOKINGS_AGENT_CALENDARS`), so roughly half the bookings go to each provider. Graph gets
//! its own faults (throttling with `Retry-After`, 503s, expired access tokens) and its client
//! secret expires while the Google grant is revoked; the calendar invariants read each
//! booking's provider.
//!
//! Texts take part through the sandbox's Twilio, wired as in production with this run's
//! account and token: most leads give a number, the policy texts the confirmation reminder and
//! the review request, delivery reports come twice and newest first, sends get Twilio's 429s
//! and 503s, and some leads reply STOP mid-run. Duplicate texts are counted as duplicate emails
//! are; no text goes out after a booking shows texts off but the one in flight; every text step
//! reaches the lead by text or by email; each text's final status in the snapshot is the
//! sandbox's.
//!
//! ```sh
//! scripts/chaos --bookings 300            # or: cargo run -p booking-tests --bin chaos -- ...
//! scripts/chaos --bookings 30 --seed 7    # the CI size; the same seed replays the same script
//! ```

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use booking_proto::{
    domain::{BookingId, EventId, TourSlot},
    time::from_timestamp,
    v1::{BookingSnapshot, BookingStatus},
};
use booking_sandbox::{
    BookInvitee, CancelInvitee, ChaosConfig, Injection, RawWebhook, RequestOutcome, RequestRecord,
    RescheduleInvitee, RescheduleOrder, SandboxClient, TwilioCallbackFaults, TwilioCallbackState,
    TwilioInbound, TwilioMessage,
};
use booking_starter::{
    booking_client::{self, BookingSignal},
    dev_server::{DevServer, DevServerConfig},
};
use booking_tests::procs::{spawn, wait_http};
use booking_workflows::booking::client::BookingClient;
use chrono::{DateTime, DurationRound, Utc};
use futures::{StreamExt, TryStreamExt};
use sha2::Digest;
use temporalio_client::{Client, WorkflowListOptions};

// ---------------------------------------------------------------------------------------------
// Options and the seeded RNG

struct Options {
    bookings: usize,
    seed: u64,
    kill_every: Duration,
    settle_limit: Duration,
    /// Kills and provider chaos go on at least this long (the script alone may be quicker).
    chaos_for: Duration,
    keep: bool,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        bookings: 300,
        seed: Utc::now().timestamp_micros() as u64,
        kill_every: Duration::from_secs(4),
        settle_limit: Duration::from_secs(300),
        chaos_for: Duration::from_secs(45),
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--bookings" => options.bookings = value()?.parse()?,
            "--seed" => options.seed = value()?.parse()?,
            "--kill-every-ms" => options.kill_every = Duration::from_millis(value()?.parse()?),
            "--settle-secs" => options.settle_limit = Duration::from_secs(value()?.parse()?),
            "--chaos-secs" => options.chaos_for = Duration::from_secs(value()?.parse()?),
            "--keep" => options.keep = true,
            "--help" | "-h" => {
                println!(
                    "chaos [--bookings N (300)] [--seed S] [--kill-every-ms MS (4000)] \
                     [--settle-secs S (300)] [--chaos-secs S (45)] [--keep (keep logs and data)]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    if options.bookings == 0 {
        bail!("--bookings must be at least 1");
    }
    Ok(options)
}

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn hex(&mut self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }
}

// ---------------------------------------------------------------------------------------------
// The script

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Calendly,
    Form,
}

/// The calendar provider of a booking's agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Provider {
    Google,
    Microsoft,
}

/// Calendly's host: the agent of every Calendly booking (the sandbox has one host), on the
/// default calendar.
const CALENDLY_AGENT: &str = booking_sandbox::defaults::CALENDLY_HOST_EMAIL;
/// The form agent on the default calendar (Google `primary`, shared with Calendly's host).
const FORM_GOOGLE_AGENT: &str = "agent-chaos";
/// The form agent on a Microsoft 365 mailbox.
const FORM_GRAPH_AGENT: &str = "agent-chaos-graph";
/// That agent's mailbox (Graph user id).
const GRAPH_MAILBOX: &str = "tours-graph@chaos.example.com";
/// Share of the form bookings whose agent is [`FORM_GRAPH_AGENT`] (Calendly's are all Google).
const FORM_GRAPH_PERCENT: u64 = 80;
/// The sandbox's Microsoft app registration (the worker's default client id).
const MICROSOFT_APP: &str = booking_sandbox::defaults::MICROSOFT_CLIENT_ID;
/// Every Graph calendar call of the engine is under this prefix.
const GRAPH_EVENTS_PREFIX: &str = "/microsoft/graph/v1.0/users/";

/// The chaos policy's text steps (the production policy's names, hours as seconds): the
/// confirmation reminder 4 s after booking and the review request. The production policy's
/// text, the reminder an hour (here a second) before the tour, is days away in this run.
const PENDING_TEXT: &str = "pending-reminder-4s";
const REVIEW_TEXT: &str = "review-request";
/// Share of the leads who give a mobile number.
const PHONE_PERCENT: u64 = 70;

/// Share of the leads with a number who reply STOP, by plan: mostly those whose script reaches
/// a text step (a Pending lead's STOP may come before or after the reminder is texted; a
/// Complete lead's comes before the review request, which then goes by email), never those
/// whose booking may have ended when the reply comes (a reply without a running booking is a
/// dead letter).
fn stop_percent(plan: Plan) -> u64 {
    match plan {
        Plan::Pending | Plan::Complete => 50,
        Plan::Confirm | Plan::Reschedule => 20,
        Plan::Cancel | Plan::Race => 0,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Plan {
    /// Created, never answered: stays pending (reminders, call task).
    Pending,
    Confirm,
    /// Confirmed, then moved (Calendly: a reschedule pair of webhooks; form: a signal).
    Reschedule,
    Cancel,
    /// Confirmed, questionnaire link visited, tour completed by the operator endpoint.
    Complete,
    /// Confirmed, then a reschedule and a cancel within 100 ms of each other, in random order.
    Race,
}

#[derive(Clone, Debug)]
struct Scripted {
    index: usize,
    source: Source,
    plan: Plan,
    /// The agent the booking names, and the provider of that agent's calendar.
    agent: &'static str,
    provider: Provider,
    email: String,
    /// The lead's mobile number (E.164) when the lead gave one that parses: their text steps
    /// go by SMS. Form leads without one give a number that does not parse.
    phone: Option<String>,
    /// The lead replies STOP this long after the booking was made (Complete: this long after
    /// it was confirmed, before the tour is marked complete, so the booking is still running
    /// when the reply comes).
    stop_after: Option<Duration>,
    slot: TourSlot,
    moved_to: TourSlot,
    /// Set once the creating webhook was accepted.
    booking: Arc<Mutex<Option<BookingId>>>,
}

impl Scripted {
    fn booking(&self) -> Option<BookingId> {
        self.booking.lock().unwrap().clone()
    }
    fn expected_status(&self) -> BookingStatus {
        match self.plan {
            Plan::Pending => BookingStatus::PendingConfirmation,
            Plan::Confirm | Plan::Reschedule => BookingStatus::Confirmed,
            Plan::Cancel | Plan::Race => BookingStatus::Cancelled,
            Plan::Complete => BookingStatus::TourComplete,
        }
    }
    /// The text steps of the chaos policy this booking's script reaches for certain: each must
    /// reach the lead by text, or by email once texts are off.
    fn text_steps(&self) -> &'static [&'static str] {
        match (&self.phone, self.plan) {
            (None, _) => &[],
            (Some(_), Plan::Pending) => &[PENDING_TEXT],
            (Some(_), Plan::Complete) => &[REVIEW_TEXT],
            (Some(_), _) => &[],
        }
    }
    /// Tour starts the final state may have (a race may or may not have moved first).
    fn allowed_starts(&self) -> Vec<DateTime<Utc>> {
        match self.plan {
            Plan::Reschedule => vec![self.moved_to.start()],
            Plan::Race => vec![self.slot.start(), self.moved_to.start()],
            _ => vec![self.slot.start()],
        }
    }
}

/// A copy of something already delivered once, sent again later in shuffled order.
enum Duplicate {
    Redeliver(String),
    Form(String),
    Signal(BookingId, String, BookingSignal),
    Get(String),
    Operator(String),
}

// ---------------------------------------------------------------------------------------------
// Processes

struct Secrets {
    sendgrid: String,
    hubspot: String,
    calendly_token: String,
    calendly_signing: String,
    google_client_secret: String,
    google_refresh: String,
    microsoft_client_secret: String,
    /// Not a secret, but unique per run like one (`AC` and 32 hex digits).
    twilio_account_sid: String,
    twilio_auth_token: String,
    form_token: String,
    operator_token: String,
    link_secret: String,
}

impl Secrets {
    /// `side` and `texts` draw what was added later, so a seed's script is what it was before.
    fn new(rng: &mut Rng, side: &mut Rng, texts: &mut Rng) -> Self {
        Self {
            sendgrid: format!("SG.chaos-{}", rng.hex()),
            hubspot: format!("pat-chaos-{}", rng.hex()),
            calendly_token: format!("calendly-chaos-{}", rng.hex()),
            calendly_signing: format!("signing-chaos-{}", rng.hex()),
            google_client_secret: format!("gsecret-chaos-{}", rng.hex()),
            google_refresh: format!("grefresh-chaos-{}", rng.hex()),
            microsoft_client_secret: format!("mssecret-chaos-{}", side.hex()),
            twilio_account_sid: format!("AC{}", texts.hex()),
            twilio_auth_token: format!("twtoken-chaos-{}", texts.hex()),
            form_token: format!("form-chaos-{}", rng.hex()),
            operator_token: format!("operator-chaos-{}", rng.hex()),
            link_secret: format!("link-chaos-{}", rng.hex()),
        }
    }
    fn all(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("SendGrid API key", &self.sendgrid),
            ("HubSpot token", &self.hubspot),
            ("Calendly token", &self.calendly_token),
            ("Calendly signing key", &self.calendly_signing),
            ("Google client secret", &self.google_client_secret),
            ("Google refresh token", &self.google_refresh),
            ("Microsoft client secret", &self.microsoft_client_secret),
            ("Twilio auth token", &self.twilio_auth_token),
            ("form token", &self.form_token),
            ("operator token", &self.operator_token),
            ("link secret", &self.link_secret),
        ]
    }
}

/// A lead's STOP reply, as the harness saw it go and take effect.
#[derive(Clone, Debug)]
struct StopReply {
    /// When the harness first saw the booking's `sms_off_reason`.
    seen_off: DateTime<Utc>,
    /// The booking's texts still queued at that moment: the ones in flight (a text that was
    /// only waiting turns into an email at once).
    in_flight: BTreeSet<String>,
}

/// The step key of a queued action's pending-step name (`sms:<key>` or `sms:<key> (running)`).
fn queued_text_key(name: &str) -> Option<&str> {
    let key = name.strip_prefix("sms:")?;
    Some(key.split_once(" (").map_or(key, |(key, _)| key))
}

/// How a form lead types the number: with spaces, brackets and a dash.
fn typed(e164: &str) -> String {
    match (e164.get(2..5), e164.get(5..8), e164.get(8..)) {
        (Some(area), Some(exchange), Some(line)) if e164.starts_with("+1") => {
            format!("+1 ({area}) {exchange}-{line}")
        }
        _ => e164.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// The harness shared by every task

struct Harness {
    client: Client,
    http: reqwest::Client,
    no_redirect: reqwest::Client,
    sandbox: SandboxClient,
    /// Finds bookings by their lead's number, as the shim does for a reply.
    bookings: BookingClient,
    shim_url: String,
    secrets: Arc<Secrets>,
    rng: Mutex<Rng>,
    duplicates: Mutex<Vec<Duplicate>>,
    duplicates_sent: AtomicU64,
    deliveries: AtomicU64,
    races: AtomicU64,
    script_errors: Mutex<Vec<String>>,
    kill_times: Mutex<Vec<DateTime<Utc>>>,
    grant_restored: AtomicBool,
    /// By script index: the STOP replies that took effect.
    stops: Mutex<BTreeMap<usize, StopReply>>,
    /// Reply webhooks the shim answered 2xx (a `twice` reply counts both copies).
    replies_accepted: AtomicU64,
}

/// How long one scripted action keeps retrying through kills and the server restart.
const ACTION_LIMIT: Duration = Duration::from_secs(180);

impl Harness {
    fn roll(&self, n: u64) -> u64 {
        self.rng.lock().unwrap().below(n)
    }

    /// Queues one or two extra copies (so each thing arrives two or three times).
    fn duplicate(&self, make: impl Fn() -> Duplicate) {
        let copies = 1 + self.roll(2);
        let mut queue = self.duplicates.lock().unwrap();
        for _ in 0..copies {
            queue.push(make());
        }
    }

    async fn retry<T, F, Fut>(&self, what: &str, mut attempt: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, String>>,
    {
        let deadline = Instant::now() + ACTION_LIMIT;
        let mut last = String::new();
        while Instant::now() < deadline {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        bail!("{what}: gave up after {}s: {last}", ACTION_LIMIT.as_secs())
    }

    async fn signal(
        &self,
        booking: &BookingId,
        event_id: &str,
        signal: BookingSignal,
    ) -> anyhow::Result<()> {
        let event = EventId::parse(event_id).map_err(|e| anyhow::anyhow!("{e}"))?;
        self.retry(&format!("signal {event_id} to {booking}"), || {
            let signal = signal.clone();
            let event = event.clone();
            async move {
                booking_client::signal(&self.client, booking, &event, signal)
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .await?;
        self.deliveries.fetch_add(1, Ordering::Relaxed);
        self.duplicate(|| Duplicate::Signal(booking.clone(), event_id.to_owned(), signal.clone()));
        Ok(())
    }

    async fn post_form(&self, body: &str) -> Result<u16, String> {
        self.http
            .post(format!("{}/webhooks/form", self.shim_url))
            .bearer_auth(&self.secrets.form_token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
    }

    async fn send_duplicate(&self, duplicate: Duplicate) {
        self.duplicates_sent.fetch_add(1, Ordering::Relaxed);
        // Best effort: a copy lost to a kill or a restart is what a real sender's copy may be.
        match duplicate {
            Duplicate::Redeliver(id) => {
                let _ = self.sandbox.redeliver(&id).await;
            }
            Duplicate::Form(body) => {
                let _ = self.post_form(&body).await;
            }
            Duplicate::Signal(booking, event_id, signal) => {
                if let Ok(event) = EventId::parse(&event_id) {
                    let _ = booking_client::signal(&self.client, &booking, &event, signal).await;
                }
            }
            Duplicate::Get(url) => {
                let _ = self.no_redirect.get(url).send().await;
            }
            Duplicate::Operator(url) => {
                let _ = self
                    .http
                    .post(url)
                    .bearer_auth(&self.secrets.operator_token)
                    .send()
                    .await;
            }
        }
    }

    /// Sends queued copies in random order until `stop` and the queue is empty.
    async fn duplicator(self: Arc<Self>, stop: Arc<AtomicBool>) {
        loop {
            let next = {
                let mut queue = self.duplicates.lock().unwrap();
                if queue.is_empty() {
                    None
                } else {
                    let i = self.rng.lock().unwrap().below(queue.len() as u64) as usize;
                    Some(queue.swap_remove(i))
                }
            };
            match next {
                Some(d) => self.send_duplicate(d).await,
                None if stop.load(Ordering::Relaxed) => return,
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    async fn create(&self, b: &Scripted) -> anyhow::Result<BookingId> {
        match b.source {
            Source::Calendly => {
                let mut book =
                    BookInvitee::new(b.email.clone(), format!("Lead {}", b.index), b.slot.start());
                book.end_time = Some(b.slot.end());
                book.text_reminder_number = b.phone.clone();
                let booked = self
                    .sandbox
                    .book_calendly(&book)
                    .await
                    .context("the sandbox books")?;
                self.deliveries.fetch_add(1, Ordering::Relaxed);
                for d in &booked.deliveries {
                    self.duplicate(|| Duplicate::Redeliver(d.id.clone()));
                }
                BookingId::parse(&format!("cal-{}", booked.invitee.uuid))
                    .map_err(|e| anyhow::anyhow!("{e}"))
            }
            Source::Form => {
                let submission = format!("chaos-{}", b.index);
                // A number that does not parse keeps texts off (the booking is made anyway).
                let phone = b.phone.as_deref().map_or_else(|| "+33 1".to_owned(), typed);
                let local = b
                    .slot
                    .start()
                    .with_timezone(&chrono::FixedOffset::east_opt(3600).expect("+01:00"));
                let body = serde_json::json!({
                    "submission_id": submission,
                    "kind": "private_viewing",
                    "lead": {"email": b.email, "name": format!("Lead {}", b.index), "phone": phone},
                    "property_id": "prop-chaos",
                    "agent_id": b.agent,
                    "start": local.to_rfc3339(),
                    "end": b.slot.end().with_timezone(&local.timezone()).to_rfc3339(),
                    "timezone": "Europe/Paris"
                })
                .to_string();
                self.retry("the form webhook", || async {
                    match self.post_form(&body).await? {
                        202 => Ok(()),
                        other => Err(format!("answered {other}")),
                    }
                })
                .await?;
                self.deliveries.fetch_add(1, Ordering::Relaxed);
                self.duplicate(|| Duplicate::Form(body.clone()));
                BookingId::parse(&format!("form-{submission}")).map_err(|e| anyhow::anyhow!("{e}"))
            }
        }
    }

    fn invitee_uuid(booking: &BookingId) -> String {
        booking.as_str().trim_start_matches("cal-").to_owned()
    }

    async fn run_script(&self, b: &Scripted) -> anyhow::Result<()> {
        let booking = self.create(b).await?;
        *b.booking.lock().unwrap() = Some(booking.clone());
        // The lead's STOP comes while the script goes on; a Complete booking's comes inside its
        // script, before the tour is marked complete (the reply must find it running).
        let stop = async {
            match b.plan {
                Plan::Complete => Ok(()),
                _ => self.stop_texts(b, &booking).await,
            }
        };
        let (script, stop) = tokio::join!(self.follow_script(b, &booking), stop);
        script.and(stop)
    }

    /// One reply from a lead's phone, through the sandbox, which opts the number out on STOP
    /// as Twilio does and posts the reply, signed, to the shim. Replayed with the same
    /// `MessageSid` (Twilio's redelivery) until the shim answers 2xx; sometimes delivered twice.
    async fn reply(&self, from: &str, body: &str) -> anyhow::Result<()> {
        let twice = self.roll(2) == 0;
        let deadline = Instant::now() + ACTION_LIMIT;
        let mut message_sid = None;
        let mut last = String::new();
        while Instant::now() < deadline {
            let inbound = TwilioInbound {
                from: from.to_owned(),
                body: body.to_owned(),
                message_sid: message_sid.clone(),
                twice,
                ..TwilioInbound::default()
            };
            match self.sandbox.twilio_inbound_with(&inbound).await {
                Ok(sent) => {
                    let accepted = sent.answers.iter().filter(|a| a.succeeded()).count();
                    if accepted > 0 {
                        self.replies_accepted
                            .fetch_add(accepted as u64, Ordering::Relaxed);
                        self.deliveries.fetch_add(1, Ordering::Relaxed);
                        return Ok(());
                    }
                    last = format!("the shim answered {:?}", sent.answers);
                    message_sid = Some(sent.message_sid);
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        bail!(
            "the reply {body:?} from {from}: gave up after {}s: {last:.300}",
            ACTION_LIMIT.as_secs()
        )
    }

    /// The lead replies STOP, if the script says so, once the shim can find the booking by
    /// its lead's number (visibility lags a start); then waits until the booking shows texts
    /// off and notes which of its texts were in flight at that moment.
    async fn stop_texts(&self, b: &Scripted, booking: &BookingId) -> anyhow::Result<()> {
        let (Some(delay), Some(phone)) = (b.stop_after, b.phone.as_deref()) else {
            return Ok(());
        };
        tokio::time::sleep(delay).await;
        let number = booking_proto::phone::PhoneNumber::parse(phone).map_err(anyhow::Error::msg)?;
        self.retry(&format!("{booking} to be found by {phone}"), || async {
            match self.bookings.running_bookings_for_phone(&number).await {
                Ok(found) if found.contains(booking) => Ok(()),
                Ok(found) => Err(format!("found only {found:?}")),
                Err(e) => Err(e.to_string()),
            }
        })
        .await?;
        self.reply(phone, "STOP").await?;
        let seen = self
            .retry(
                &format!("{booking} to turn texts off after STOP"),
                || async {
                    let s = booking_client::status(&self.client, booking)
                        .await
                        .map_err(|e| e.to_string())?;
                    if s.sms_off_reason.is_empty() {
                        return Err("texts are still on".to_owned());
                    }
                    let in_flight = s
                        .steps_pending
                        .iter()
                        .filter(|p| p.channel == "sms")
                        .filter_map(|p| queued_text_key(&p.name).map(str::to_owned))
                        .collect();
                    Ok(StopReply {
                        seen_off: Utc::now(),
                        in_flight,
                    })
                },
            )
            .await?;
        self.stops.lock().unwrap().insert(b.index, seen);
        Ok(())
    }

    async fn follow_script(&self, b: &Scripted, booking: &BookingId) -> anyhow::Result<()> {
        let booking = booking.clone();
        let i = b.index;
        let cancel = || BookingSignal::Cancel {
            reason: "chaos".into(),
            cancelled_by: "lead".into(),
        };
        if b.plan == Plan::Pending {
            return Ok(());
        }
        if b.plan == Plan::Cancel {
            return match b.source {
                Source::Calendly => {
                    // The booking must exist before its cancellation can name it in Calendly's
                    // chain; the shim copes either way, the wait keeps the script simple.
                    let cancelled = self
                        .sandbox
                        .cancel_calendly(&Self::invitee_uuid(&booking), &CancelInvitee::default())
                        .await
                        .context("the sandbox cancels")?;
                    self.deliveries.fetch_add(1, Ordering::Relaxed);
                    for d in &cancelled.deliveries {
                        self.duplicate(|| Duplicate::Redeliver(d.id.clone()));
                    }
                    Ok(())
                }
                Source::Form => {
                    self.signal(&booking, &format!("chaos-cancel-{i}"), cancel())
                        .await
                }
            };
        }
        self.signal(
            &booking,
            &format!("chaos-confirm-{i}"),
            BookingSignal::Confirm,
        )
        .await?;
        match b.plan {
            Plan::Reschedule => match b.source {
                Source::Calendly => {
                    let mut reschedule = RescheduleInvitee::to(b.moved_to.start());
                    reschedule.end_time = Some(b.moved_to.end());
                    reschedule.order = if self.roll(2) == 0 {
                        RescheduleOrder::CancelFirst
                    } else {
                        RescheduleOrder::CreateFirst
                    };
                    let moved = self
                        .sandbox
                        .reschedule_calendly(&Self::invitee_uuid(&booking), &reschedule)
                        .await
                        .context("the sandbox reschedules")?;
                    self.deliveries.fetch_add(1, Ordering::Relaxed);
                    for d in &moved.deliveries {
                        self.duplicate(|| Duplicate::Redeliver(d.id.clone()));
                    }
                }
                Source::Form => {
                    self.signal(
                        &booking,
                        &format!("chaos-move-{i}"),
                        BookingSignal::Reschedule {
                            tour: b.moved_to,
                            source_ref: format!("chaos-{i}"),
                        },
                    )
                    .await?
                }
            },
            Plan::Complete => {
                self.stop_texts(b, &booking).await?;
                let expiry = (Utc::now() + chrono::Duration::days(7)).timestamp();
                let secret = booking_activities::secret::Secret::new(&self.secrets.link_secret);
                let token = booking_shim::links::sign(
                    &secret,
                    &booking,
                    booking_shim::links::Purpose::Questionnaire,
                    expiry,
                );
                let url = format!("{}/q/{token}", self.shim_url);
                self.retry("the questionnaire link", || async {
                    let r = self
                        .no_redirect
                        .get(&url)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    (r.status() == 303)
                        .then_some(())
                        .ok_or(format!("answered {}", r.status()))
                })
                .await?;
                self.deliveries.fetch_add(1, Ordering::Relaxed);
                self.duplicate(|| Duplicate::Get(url.clone()));
                let url = format!("{}/bookings/{booking}/tour-complete", self.shim_url);
                self.retry("the operator's tour-complete", || async {
                    let r = self
                        .http
                        .post(&url)
                        .bearer_auth(&self.secrets.operator_token)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    (r.status() == 202)
                        .then_some(())
                        .ok_or(format!("answered {}", r.status()))
                })
                .await?;
                self.deliveries.fetch_add(1, Ordering::Relaxed);
                self.duplicate(|| Duplicate::Operator(url.clone()));
            }
            Plan::Race => {
                self.races.fetch_add(1, Ordering::Relaxed);
                let gap = Duration::from_millis(self.roll(100));
                let reschedule_first = self.roll(2) == 0;
                let (move_id, cancel_id) = (
                    format!("chaos-race-move-{i}"),
                    format!("chaos-race-cancel-{i}"),
                );
                let move_it = self.signal(
                    &booking,
                    &move_id,
                    BookingSignal::Reschedule {
                        tour: b.moved_to,
                        source_ref: format!("chaos-race-{i}"),
                    },
                );
                let cancel_it = self.signal(&booking, &cancel_id, cancel());
                let (a, c) = if reschedule_first {
                    tokio::join!(move_it, async {
                        tokio::time::sleep(gap).await;
                        cancel_it.await
                    })
                } else {
                    tokio::join!(
                        async {
                            tokio::time::sleep(gap).await;
                            move_it.await
                        },
                        cancel_it
                    )
                };
                a?;
                c?;
            }
            _ => {}
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Main

fn main() -> anyhow::Result<()> {
    let options = options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?;
    let code = runtime.block_on(run(options))?;
    std::process::exit(code);
}

async fn run(options: Options) -> anyhow::Result<i32> {
    let began = Instant::now();
    println!(
        "chaos: seed {} (replay with --seed {}), {} bookings",
        options.seed, options.seed, options.bookings
    );
    let mut rng = Rng::new(options.seed);
    // Draws added with the second provider, kept apart so a seed's script stays the same.
    let mut side = Rng::new(options.seed.wrapping_add(3));
    // And those added with text messages.
    let mut texts = Rng::new(options.seed.wrapping_add(5));
    let secrets = Arc::new(Secrets::new(&mut rng, &mut side, &mut texts));
    let dir = std::env::temp_dir().join(format!(
        "booking-chaos-{}-{}",
        options.seed,
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    println!("chaos: logs and data in {}", dir.display());

    let port = booking_tests::free_port();
    let server_config = DevServerConfig {
        temporal_bin: DevServerConfig::default_binary(),
        data_dir: dir.clone(),
        ip: "127.0.0.1".into(),
        port,
        ui_port: None,
        namespace: booking_tests::NAMESPACE.into(),
        metrics_port: None,
    };
    let server = DevServer::start(server_config.clone())
        .await
        .context("the dev server starts (run scripts/bootstrap first)")?;
    let temporal_address = server_config.grpc_address();
    let server = Arc::new(tokio::sync::Mutex::new(Some(server)));

    let sandbox_port = booking_tests::free_port();
    let shim_port = booking_tests::free_port();
    let sandbox_url = format!("http://127.0.0.1:{sandbox_port}");
    let shim_url = format!("http://127.0.0.1:{shim_port}");
    let task_queue = format!("chaos-{}", options.seed);
    let mut sandbox = spawn(
        &dir,
        "booking-sandbox",
        &["--port".into(), sandbox_port.to_string()],
        &[
            (
                "SANDBOX_WEBHOOK_TARGET",
                format!("{shim_url}/webhooks/calendly"),
            ),
            ("SANDBOX_SIGNING_KEY", secrets.calendly_signing.clone()),
            ("SANDBOX_WEBHOOK_RETRY_BASE_MS", "250".into()),
            ("SANDBOX_WEBHOOK_RETRY_CAP_SECS", "3".into()),
            ("SANDBOX_HUBSPOT_LIMIT", "1000000".into()),
            ("SANDBOX_SENDGRID_LIMIT", "1000000".into()),
            (
                "SANDBOX_GOOGLE_CLIENT_SECRET",
                secrets.google_client_secret.clone(),
            ),
            (
                "SANDBOX_GOOGLE_REFRESH_TOKEN",
                secrets.google_refresh.clone(),
            ),
            (
                "SANDBOX_MICROSOFT_CLIENT_SECRET",
                secrets.microsoft_client_secret.clone(),
            ),
            ("SANDBOX_HUBSPOT_TOKEN", secrets.hubspot.clone()),
            ("SANDBOX_SENDGRID_API_KEY", secrets.sendgrid.clone()),
            ("SANDBOX_CALENDLY_TOKEN", secrets.calendly_token.clone()),
            // Twilio: this run's account, and the number's "A message comes in" webhook at
            // the shim (replies are posted there, signed with the auth token).
            (
                "SANDBOX_TWILIO_ACCOUNT_SID",
                secrets.twilio_account_sid.clone(),
            ),
            (
                "SANDBOX_TWILIO_AUTH_TOKEN",
                secrets.twilio_auth_token.clone(),
            ),
            (
                "SANDBOX_TWILIO_INBOUND_WEBHOOK",
                format!("{shim_url}/webhooks/twilio/inbound"),
            ),
        ],
    )?;
    wait_http(
        &format!("{sandbox_url}/_sandbox/health"),
        Duration::from_secs(30),
    )
    .await?;

    let common = |extra: &[(&'static str, String)]| {
        let mut env: Vec<(&'static str, String)> = vec![
            ("TEMPORAL_ADDRESS", temporal_address.clone()),
            ("TEMPORAL_NAMESPACE", booking_tests::NAMESPACE.into()),
            ("BOOKINGS_TASK_QUEUE", task_queue.clone()),
            ("BOOKINGS_SANDBOX_URL", sandbox_url.clone()),
            ("BOOKINGS_CALENDLY_TOKEN", secrets.calendly_token.clone()),
        ];
        env.extend(extra.iter().cloned());
        env
    };
    let mut shim = spawn(
        &dir,
        "booking-shim",
        &[],
        &common(&[
            ("SHIM_PORT", shim_port.to_string()),
            (
                "SHIM_CALENDLY_SIGNING_KEY",
                secrets.calendly_signing.clone(),
            ),
            ("SHIM_FORM_TOKEN", secrets.form_token.clone()),
            ("SHIM_OPERATOR_TOKEN", secrets.operator_token.clone()),
            ("SHIM_LINK_SECRET", secrets.link_secret.clone()),
            ("SHIM_RETRY_AFTER_SECS", "1".into()),
            // Twilio signs its callbacks and replies over the URL it called.
            ("SHIM_TWILIO_AUTH_TOKEN", secrets.twilio_auth_token.clone()),
            ("SHIM_PUBLIC_URL", shim_url.clone()),
        ]),
    )?;
    wait_http(&format!("{shim_url}/readyz"), Duration::from_secs(60)).await?;

    // Fast cadence (every hour a second) and fast retries, both as files, as an operator would.
    // Texts for the steps this run reaches: the confirmation reminder and the review request.
    let mut policy = booking_tests::hours_as_seconds(Default::default());
    for step in [PENDING_TEXT, REVIEW_TEXT] {
        policy.sms.channels.insert(
            step.into(),
            booking_workflows::lifecycle::ChannelChoice::Sms,
        );
    }
    policy
        .validate()
        .map_err(|e| anyhow::anyhow!("the chaos policy: {e}"))?;
    let policy_file = dir.join("follow-up.json");
    std::fs::write(&policy_file, serde_json::to_vec(&policy)?)?;
    let retries: BTreeMap<&str, serde_json::Value> = booking_activities::policy::activity::ALL
        .iter()
        .map(|name| {
            (
                *name,
                serde_json::json!({
                    "start_to_close": 6.0,
                    "initial_interval": 0.2,
                    "backoff_coefficient": 1.6,
                    "maximum_interval": 2.0,
                    "maximum_attempts": 80,
                    "non_retryable_error_types": booking_activities::policy::FATAL_PROVIDER_ERRORS,
                }),
            )
        })
        .collect();
    let retries_file = dir.join("activity-policies.json");
    std::fs::write(&retries_file, serde_json::to_vec(&retries)?)?;
    let worker_env = common(&[
        (
            "BOOKINGS_FOLLOW_UP_POLICY",
            policy_file.display().to_string(),
        ),
        (
            "BOOKINGS_ACTIVITY_POLICIES",
            retries_file.display().to_string(),
        ),
        ("BOOKINGS_SENDGRID_API_KEY", secrets.sendgrid.clone()),
        ("BOOKINGS_HUBSPOT_TOKEN", secrets.hubspot.clone()),
        (
            "BOOKINGS_GOOGLE_CLIENT_SECRET",
            secrets.google_client_secret.clone(),
        ),
        (
            "BOOKINGS_GOOGLE_REFRESH_TOKEN",
            secrets.google_refresh.clone(),
        ),
        // Calendly's host and one form agent on Google `primary`, the other on Graph.
        ("BOOKINGS_DEFAULT_CALENDAR", "google:primary".into()),
        (
            "BOOKINGS_AGENT_CALENDARS",
            format!("{FORM_GRAPH_AGENT}=microsoft:{GRAPH_MAILBOX}"),
        ),
        (
            "BOOKINGS_MICROSOFT_CLIENT_SECRET",
            secrets.microsoft_client_secret.clone(),
        ),
        // Texts through the sandbox's Twilio with this run's account, delivery reports to
        // the shim.
        (
            "BOOKINGS_TWILIO_ACCOUNT_SID",
            secrets.twilio_account_sid.clone(),
        ),
        (
            "BOOKINGS_TWILIO_AUTH_TOKEN",
            secrets.twilio_auth_token.clone(),
        ),
        (
            "BOOKINGS_TWILIO_FROM",
            booking_sandbox::defaults::TWILIO_FROM_NUMBER.into(),
        ),
        (
            "BOOKINGS_TWILIO_STATUS_CALLBACK_URL",
            format!("{shim_url}/webhooks/twilio/status"),
        ),
    ]);
    let worker = Arc::new(tokio::sync::Mutex::new(spawn(
        &dir,
        "booking-worker",
        &[],
        &worker_env,
    )?));

    let client = booking_tests::connect(&temporal_address).await;
    let sandbox_client = SandboxClient::new(&sandbox_url);
    sandbox_client
        .set_chaos(&ChaosConfig {
            server_error_rate: 0.08,
            rate_limit_rate: 0.04,
            latency_rate: 0.03,
            latency_ms: 1500,
            retry_after_secs: 1,
            path_prefix: None,
            seed: Some(options.seed),
        })
        .await?;
    // Every delivery report twice, and each message's reports held and sent newest first.
    sandbox_client
        .twilio_callback_faults(&TwilioCallbackFaults {
            twice: true,
            reverse_order: true,
        })
        .await?;

    // The script: sources, agents, plans, and a time for each booking that overlaps no other
    // (the bookings of an agent share its calendar and ledger, and Calendly's host and the
    // Google form agent share Google `primary`; times unique across the script keep every
    // agent's and every calendar's bookings apart whatever the split between agents).
    let base = (Utc::now() + chrono::Duration::days(3))
        .duration_trunc(chrono::Duration::hours(1))
        .expect("truncates");
    let n = options.bookings;
    let script: Vec<Scripted> = (0..n)
        .map(|index| {
            let source = if rng.chance(50) {
                Source::Calendly
            } else {
                Source::Form
            };
            let plan = match rng.below(100) {
                0..15 => Plan::Pending,
                15..35 => Plan::Confirm,
                35..52 => Plan::Reschedule,
                52..70 => Plan::Cancel,
                70..85 => Plan::Complete,
                _ => Plan::Race,
            };
            let agent = match source {
                Source::Calendly => CALENDLY_AGENT,
                Source::Form if side.chance(FORM_GRAPH_PERCENT) => FORM_GRAPH_AGENT,
                Source::Form => FORM_GOOGLE_AGENT,
            };
            let provider = if agent == FORM_GRAPH_AGENT {
                Provider::Microsoft
            } else {
                Provider::Google
            };
            let slot_at = |k: usize| {
                let start = base + chrono::Duration::hours(k as i64);
                TourSlot::new(start, start + chrono::Duration::minutes(30)).expect("a valid slot")
            };
            // Unique per lead: a STOP turns texts off for every running booking of its number.
            let phone = texts
                .chance(PHONE_PERCENT)
                .then(|| format!("+1415555{:04}", 1000 + index % 9000));
            let stops = phone.is_some() && texts.chance(stop_percent(plan));
            let stop_after = stops.then(|| Duration::from_millis(500 + texts.below(3500)));
            Scripted {
                index,
                source,
                plan,
                agent,
                provider,
                email: format!("lead{index}-{:x}@chaos.example.com", options.seed % 0xffff),
                phone,
                stop_after,
                slot: slot_at(index),
                moved_to: slot_at(n + index),
                booking: Arc::new(Mutex::new(None)),
            }
        })
        .collect();

    for b in &script {
        if let Some(phone) = &b.phone {
            let parsed = booking_proto::phone::PhoneNumber::parse(phone)
                .map_err(|e| anyhow::anyhow!("the script's number {phone}: {e}"))?;
            anyhow::ensure!(parsed.as_str() == phone, "{phone} is not in E.164 form");
        }
    }

    let harness = Arc::new(Harness {
        client: client.clone(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()?,
        no_redirect: reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()?,
        sandbox: sandbox_client.clone(),
        bookings: BookingClient::new(client.clone(), task_queue.clone()),
        shim_url: shim_url.clone(),
        secrets: secrets.clone(),
        rng: Mutex::new(Rng::new(options.seed.wrapping_add(1))),
        duplicates: Mutex::new(Vec::new()),
        duplicates_sent: AtomicU64::new(0),
        deliveries: AtomicU64::new(0),
        races: AtomicU64::new(0),
        script_errors: Mutex::new(Vec::new()),
        kill_times: Mutex::new(Vec::new()),
        grant_restored: AtomicBool::new(true),
        stops: Mutex::new(BTreeMap::new()),
        replies_accepted: AtomicU64::new(0),
    });

    // Permanent failures we inject: signed webhooks the shim cannot process (dead letters).
    let dead_letters_injected = (n / 50).max(2);
    let mut expected_dead_letters = BTreeSet::new();
    for k in 0..dead_letters_injected {
        let body = format!(
            r#"{{"event":"routing_form_submission.created","created_at":"2030-01-01T00:00:00Z","payload":{{"chaos":{},"k":{k}}}}}"#,
            options.seed
        );
        expected_dead_letters.insert(format!(
            "dead-letter-{}",
            hex::encode(sha2::Sha256::digest(body.as_bytes()))
        ));
        let sent = sandbox_client
            .send_raw_webhook(&RawWebhook {
                body,
                ..RawWebhook::default()
            })
            .await?;
        harness.duplicate(|| Duplicate::Redeliver(sent.id.clone()));
    }

    // The chaos schedule: worker kills, one server restart, one revoked grant.
    let stop_chaos = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let kills = Arc::new(AtomicU64::new(0));
    let killer = {
        let worker = worker.clone();
        let stop = stop_chaos.clone();
        let kills = kills.clone();
        let harness = harness.clone();
        let every = options.kill_every;
        let stack_env = worker_env.clone();
        let dir = dir.clone();
        tokio::spawn(async move {
            let mut jitter = Rng::new(options.seed.wrapping_add(2));
            while !stop.load(Ordering::Relaxed) {
                let pause = every.mul_f64(0.5 + jitter.below(100) as f64 / 100.0);
                tokio::time::sleep(pause).await;
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let mut child = worker.lock().await;
                let _ = child.start_kill(); // SIGKILL: no goodbye, in-flight work is lost
                let _ = child.wait().await;
                kills.fetch_add(1, Ordering::Relaxed);
                harness.kill_times.lock().unwrap().push(Utc::now());
                tokio::time::sleep(Duration::from_millis(200 + jitter.below(800))).await;
                match spawn(&dir, "booking-worker", &[], &stack_env) {
                    Ok(c) => *child = c,
                    Err(e) => eprintln!("chaos: could not restart the worker: {e:#}"),
                }
            }
        })
    };
    let restarts = Arc::new(AtomicU64::new(0));
    let restarter = {
        let server = server.clone();
        let progress = progress.clone();
        let restarts = restarts.clone();
        let config = server_config.clone();
        let at = (n as u64 * 2 / 5).max(1);
        tokio::spawn(async move {
            while progress.load(Ordering::Relaxed) < at || began.elapsed() < Duration::from_secs(12)
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let mut guard = server.lock().await;
            if let Some(old) = guard.take() {
                old.stop().await;
            }
            // Down for a moment: the shim answers 503, senders retry.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match DevServer::start(config.clone()).await {
                    Ok(s) => {
                        *guard = Some(s);
                        restarts.fetch_add(1, Ordering::Relaxed);
                        println!("chaos: dev server restarted on the same SQLite file and port");
                        return;
                    }
                    Err(e) if Instant::now() < deadline => {
                        eprintln!("chaos: restart not possible yet ({e}); trying again");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => {
                        eprintln!("chaos: the dev server did not come back: {e}");
                        return;
                    }
                }
            }
        })
    };
    let revoker = {
        let harness = harness.clone();
        let progress = progress.clone();
        let refresh = secrets.google_refresh.clone();
        let at = (n as u64 * 3 / 5).max(1);
        tokio::spawn(async move {
            while progress.load(Ordering::Relaxed) < at || began.elapsed() < Duration::from_secs(25)
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            harness.grant_restored.store(false, Ordering::Relaxed);
            let _ = harness.sandbox.revoke_grant(&refresh).await;
            // Microsoft's counterpart: the app's client secret expires (AADSTS7000222), and
            // the access tokens already issued expire with it so the next Graph call has to
            // come back for a token.
            let _ = harness.sandbox.expire_microsoft_secret(MICROSOFT_APP).await;
            let _ = harness.sandbox.expire_microsoft_access_tokens().await;
            println!("chaos: Google grant revoked, Microsoft client secret expired");
            tokio::time::sleep(Duration::from_secs(3)).await;
            let _ = harness.sandbox.restore_grant(&refresh).await;
            let _ = harness.sandbox.restore_microsoft_app(MICROSOFT_APP).await;
            harness.grant_restored.store(true, Ordering::Relaxed);
            println!("chaos: Google grant restored, Microsoft client secret renewed");
        })
    };
    // Graph's own faults on top of the chaos mode's: throttling (429 `TooManyRequests` with
    // `Retry-After`) and 503 `serviceNotAvailable` on the calendar calls, two or three requests
    // at a time whenever the previous ones were consumed, and once every access token expires
    // (a 401 the adapter answers by renewing its token).
    let graph_faults = {
        let sandbox = sandbox_client.clone();
        let stop = stop_chaos.clone();
        tokio::spawn(async move {
            let mut jitter = Rng::new(options.seed.wrapping_add(4));
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(1000 + jitter.below(2000))).await;
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let pending = sandbox.faults().await.map_or(true, |f| {
                    f.injections
                        .iter()
                        .any(|i| i.path_prefix == GRAPH_EVENTS_PREFIX)
                });
                if pending {
                    continue;
                }
                round += 1;
                let times = 2 + jitter.below(2) as u32;
                let injection = if round % 2 == 1 {
                    Injection::graph_throttled("*", GRAPH_EVENTS_PREFIX, 1 + jitter.below(2))
                } else {
                    Injection::graph_error(
                        "*",
                        GRAPH_EVENTS_PREFIX,
                        503,
                        "serviceNotAvailable",
                        "Service Unavailable",
                    )
                    .retry_after(1)
                };
                let _ = sandbox.inject(&injection.times(times)).await;
                if round == 3 {
                    let _ = sandbox.expire_microsoft_access_tokens().await;
                }
            }
        })
    };
    // Twilio's own answers on top of the chaos mode's: 429 (20429, no `Retry-After`, as
    // Twilio's) and 503 (20503) on message sends, one or two at a time whenever the previous
    // ones were consumed.
    let twilio_faults = {
        let sandbox = sandbox_client.clone();
        let stop = stop_chaos.clone();
        tokio::spawn(async move {
            let mut jitter = Rng::new(options.seed.wrapping_add(6));
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(500 + jitter.below(1500))).await;
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let pending = sandbox.faults().await.map_or(true, |f| {
                    f.injections
                        .iter()
                        .any(|i| i.path_prefix.starts_with("/twilio/"))
                });
                if pending {
                    continue;
                }
                round += 1;
                let times = 1 + jitter.below(2) as u32;
                let injection = if round % 2 == 1 {
                    Injection::twilio_throttled(times)
                } else {
                    Injection::twilio_error(503, times)
                };
                let _ = sandbox.inject(&injection).await;
            }
        })
    };
    let stop_duplicates = Arc::new(AtomicBool::new(false));
    let duplicator = tokio::spawn(harness.clone().duplicator(stop_duplicates.clone()));

    // Drive the script, 24 bookings in flight.
    let scripted = futures::stream::iter(script.iter().cloned())
        .map(|b| {
            let harness = harness.clone();
            let progress = progress.clone();
            async move {
                if let Err(e) = harness.run_script(&b).await {
                    harness
                        .script_errors
                        .lock()
                        .unwrap()
                        .push(format!("booking #{} ({:?}): {e:#}", b.index, b.plan));
                }
                progress.fetch_add(1, Ordering::Relaxed);
            }
        })
        .buffer_unordered(24)
        .collect::<Vec<()>>();
    scripted.await;
    println!(
        "chaos: script done after {:.0}s; letting the engine settle",
        began.elapsed().as_secs_f64()
    );
    let _ = restarter.await;
    let _ = revoker.await;
    stop_duplicates.store(true, Ordering::Relaxed);
    let _ = duplicator.await;
    // Kills and provider chaos keep going while the engine works through the backlog.
    while began.elapsed() < options.chaos_for {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop_chaos.store(true, Ordering::Relaxed);
    let _ = killer.await;
    let _ = graph_faults.await;
    let _ = twilio_faults.await;
    let _ = sandbox_client.clear_chaos().await;
    // Graph and Twilio injections not consumed yet (the only injections of this run); the
    // callback faults too, for texts sent from now on.
    let _ = sandbox_client.clear_faults().await;
    let _ = sandbox_client
        .twilio_callback_faults(&TwilioCallbackFaults {
            twice: true,
            reverse_order: true,
        })
        .await;

    // Settle: poll every booking's status; retry bookings flagged by the revoked grant.
    let mut attention_causes: BTreeMap<String, u64> = BTreeMap::new();
    let mut operator_retries = 0u64;
    let mut snapshots: BTreeMap<usize, BookingSnapshot> = BTreeMap::new();
    // Bookings whose `status` query fails for good (a nondeterminism error on replay).
    let mut broken: BTreeMap<usize, String> = BTreeMap::new();
    let deadline = Instant::now() + options.settle_limit;
    loop {
        let pending: Vec<&Scripted> = script
            .iter()
            .filter(|b| b.booking().is_some())
            .filter(|b| !snapshots.get(&b.index).is_some_and(|s| settled(b, s)))
            .filter(|b| !broken.contains_key(&b.index))
            .collect();
        if pending.is_empty() || Instant::now() > deadline {
            break;
        }
        let results: Vec<(usize, Result<BookingSnapshot, String>)> = futures::stream::iter(pending)
            .map(|b| {
                let client = client.clone();
                async move {
                    let id = b.booking().expect("filtered");
                    let answer = booking_client::status(&client, &id).await;
                    (b.index, answer.map_err(|e| e.to_string()))
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        for (index, snapshot) in results {
            let snapshot = match snapshot {
                Ok(s) => s,
                Err(e) if e.contains("TMPRL1100") || e.contains("ondeterminism") => {
                    broken.insert(index, e);
                    continue;
                }
                Err(_) => continue,
            };
            if snapshot.needs_attention && harness.grant_restored.load(Ordering::Relaxed) {
                let cause = snapshot
                    .last_failure
                    .as_ref()
                    .map(|f| format!("{} ({})", f.error_type, f.step))
                    .unwrap_or_default();
                *attention_causes.entry(cause).or_default() += 1;
                operator_retries += 1;
                let id = script[index].booking().expect("created");
                let event = format!("chaos-operator-retry-{index}-{operator_retries}");
                if let Ok(event) = EventId::parse(&event) {
                    let _ =
                        booking_client::signal(&client, &id, &event, BookingSignal::Retry).await;
                }
            }
            snapshots.insert(index, snapshot);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let settled_in = began.elapsed();

    // Texts: wait until every text has its final status and each of its delivery reports was
    // tried to the end (held, doubled, retried), then ask the bookings that texted again, so
    // their snapshots hold every report the shim took.
    let texts_deadline = Instant::now() + Duration::from_secs(30);
    let texts = loop {
        let texts = sandbox_client.twilio_messages().await?;
        let done = texts.iter().all(|m| {
            text_is_final(m.status.as_str())
                && m.callbacks
                    .iter()
                    .all(|c| c.state != TwilioCallbackState::Pending)
        });
        if done || Instant::now() > texts_deadline {
            break texts;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let texted: BTreeSet<String> = texts.iter().filter_map(text_for).map(|(b, _)| b).collect();
    for b in &script {
        if let Some(id) = b.booking()
            && texted.contains(id.as_str())
            && snapshots.contains_key(&b.index)
            && let Ok(snapshot) = booking_client::status(&client, &id).await
        {
            snapshots.insert(b.index, snapshot);
        }
    }

    // Invariants.
    let mut violations: Vec<String> = harness.script_errors.lock().unwrap().clone();
    let emails = sandbox_client.emails().await?;
    let events = sandbox_client.calendar_events(true).await?;
    let graph_events = sandbox_client.graph_events(true).await?;
    let contacts = sandbox_client.contacts().await?;
    let requests = sandbox_client.requests().await?;
    let kill_times = harness.kill_times.lock().unwrap().clone();

    let mut emails_by_booking: BTreeMap<String, Vec<(String, DateTime<Utc>)>> = BTreeMap::new();
    for e in &emails {
        if let (Some(b), Some(step)) = (e.custom_arg("booking_id"), e.custom_arg("step")) {
            emails_by_booking
                .entry(b.to_owned())
                .or_default()
                .push((step.to_owned(), e.received_at));
        }
    }
    let mut duplicates_explained = 0u64;
    let mut duplicates_unexplained = 0u64;
    let mut status_counts: BTreeMap<String, u64> = BTreeMap::new();
    for b in &script {
        let Some(id) = b.booking() else {
            violations.push(format!("booking #{} was never created", b.index));
            continue;
        };
        if let Some(error) = broken.get(&b.index) {
            violations.push(format!(
                "{id} ({:?} via {:?}): its status query fails for good: {error:.300}",
                b.plan, b.source
            ));
        }
        let Some(snapshot) = snapshots.get(&b.index) else {
            violations.push(format!("{id}: no status answer"));
            continue;
        };
        *status_counts
            .entry(format!("{:?}", snapshot.status()))
            .or_default() += 1;
        if !settled(b, snapshot) {
            violations.push(format!(
                "{id} ({:?} via {:?}): ended {:?} at {:?}, needs_attention {}, overdue {:?}; expected {:?} at one of {:?}",
                b.plan,
                b.source,
                snapshot.status(),
                tour_start(snapshot),
                snapshot.needs_attention,
                overdue(snapshot),
                b.expected_status(),
                b.allowed_starts()
            ));
        }
        let cancelled = b.expected_status() == BookingStatus::Cancelled;
        // The booking's events on each provider (deleted ones included), read the same way.
        let google: Vec<CalendarEvent> = events
            .iter()
            .filter(|r| r.event.private_property("booking_id") == Some(id.as_str()))
            .map(|r| CalendarEvent {
                id: r.event.id.clone(),
                calendar: r.calendar_id.clone(),
                live: r.event.status != "cancelled",
                start: r.event.start.instant(),
                end: r.event.end.instant(),
            })
            .collect();
        let graph: Vec<CalendarEvent> = graph_events
            .iter()
            .filter(|r| r.booking_id.as_deref() == Some(id.as_str()))
            .map(|r| CalendarEvent {
                id: r.id.clone(),
                calendar: r.user.clone(),
                live: !r.deleted,
                start: Some(r.start),
                end: Some(r.end),
            })
            .collect();
        let (own, other, calendar, other_provider) = match b.provider {
            Provider::Google => (
                google,
                graph,
                booking_sandbox::defaults::GOOGLE_PRIMARY_CALENDAR,
                Provider::Microsoft,
            ),
            Provider::Microsoft => (graph, google, GRAPH_MAILBOX, Provider::Google),
        };
        if let Some(stray) = other.first() {
            violations.push(format!(
                "{id} ({:?} agent {}): {} event(s) on {other_provider:?}, e.g. {} in {}",
                b.provider,
                b.agent,
                other.len(),
                stray.id,
                stray.calendar
            ));
        }
        let live_events: Vec<&CalendarEvent> = own.iter().filter(|e| e.live).collect();
        if cancelled && !live_events.is_empty() {
            violations.push(format!(
                "{id}: cancelled but has a live {:?} calendar event",
                b.provider
            ));
        }
        if !cancelled && live_events.len() != 1 {
            violations.push(format!(
                "{id}: {} live {:?} calendar events (expected exactly one): {:?}",
                live_events.len(),
                b.provider,
                live_events.iter().map(|e| &e.id).collect::<Vec<_>>()
            ));
        }
        for e in &live_events {
            if !e.calendar.eq_ignore_ascii_case(calendar) {
                violations.push(format!(
                    "{id}: its {:?} event {} is in {}, not in agent {}'s calendar {calendar}",
                    b.provider, e.id, e.calendar, b.agent
                ));
            }
            // At the booking's final time (the status query's tour, one of the allowed).
            let want = tour_start(snapshot)
                .filter(|t| b.allowed_starts().contains(t))
                .map(|t| (t, t + chrono::Duration::minutes(30)));
            if want.is_none_or(|(start, end)| e.start != Some(start) || e.end != Some(end)) {
                violations.push(format!(
                    "{id}: its {:?} event {} is at {:?}..{:?}; the booking's tour is at {:?} \
                     (allowed starts {:?})",
                    b.provider,
                    e.id,
                    e.start,
                    e.end,
                    tour_start(snapshot),
                    b.allowed_starts()
                ));
            }
        }
        let sent = emails_by_booking
            .get(id.as_str())
            .cloned()
            .unwrap_or_default();
        if cancelled
            && let Some(at) = sent.iter().position(|(s, _)| s == "cancellation")
            && let Some((late, _)) = sent[at..].iter().find(|(s, _)| s != "cancellation")
        {
            violations.push(format!(
                "{id}: email {late:?} after the cancellation notice"
            ));
        }
        let mut seen: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
        for (step, at) in &sent {
            match seen.get(step.as_str()) {
                None => {
                    seen.insert(step, *at);
                }
                Some(first) => {
                    if in_crash_window(*first, *at, &kill_times, &requests, "/sendgrid/") {
                        duplicates_explained += 1;
                    } else {
                        duplicates_unexplained += 1;
                        violations.push(format!(
                            "{id}: email {step:?} sent twice with no crash, failure or timeout between"
                        ));
                    }
                }
            }
        }
    }
    // Texts. Each names its booking and step in its status callback; it went to that booking's
    // lead; one per (booking, step) outside the sent-marker's documented window; none after
    // the booking's texts were turned off but the one in flight then; every text step reached
    // the lead by text or by email; the snapshot's status of each text is the sandbox's final
    // one, whatever the doubled and reordered reports.
    let known: BTreeMap<String, &Scripted> = script
        .iter()
        .filter_map(|b| b.booking().map(|id| (id.to_string(), b)))
        .collect();
    let mut texts_by_booking: BTreeMap<String, Vec<(String, &TwilioMessage)>> = BTreeMap::new();
    for m in &texts {
        match text_for(m) {
            Some((booking, step)) if known.contains_key(&booking) => {
                texts_by_booking.entry(booking).or_default().push((step, m))
            }
            Some((booking, _)) => violations.push(format!(
                "text {} to {} for unknown booking {booking}",
                m.sid, m.to
            )),
            None => violations.push(format!(
                "text {} to {} names no booking and step (status callback {:?})",
                m.sid, m.to, m.status_callback
            )),
        }
    }
    let mut text_duplicates_explained = 0u64;
    let mut text_duplicates_unexplained = 0u64;
    let mut texts_in_flight_at_off = 0u64;
    let mut text_steps_by_text = 0u64;
    let mut text_steps_by_email = 0u64;
    let mut finals_checked = 0u64;
    let mut reports_missed = 0u64;
    let mut texts_off: BTreeMap<String, u64> = BTreeMap::new();
    for b in &script {
        let (Some(id), Some(snapshot)) = (b.booking(), snapshots.get(&b.index)) else {
            continue;
        };
        let mut sent = texts_by_booking.remove(id.as_str()).unwrap_or_default();
        sent.sort_by_key(|(_, m)| m.date_created);
        let emailed = emails_by_booking
            .get(id.as_str())
            .cloned()
            .unwrap_or_default();
        let emailed_step = |step: &str| emailed.iter().any(|(s, _)| s == step);
        let texted_step = |step: &str| sent.iter().any(|(s, _)| s == step);
        if !sent.is_empty() && snapshot.sms_number.is_empty() {
            violations.push(format!(
                "{id}: {} texts, but the booking has no number for its lead",
                sent.len()
            ));
        }
        for (step, m) in &sent {
            if b.phone.as_deref() != Some(m.to.as_str()) || snapshot.sms_number != m.to {
                violations.push(format!(
                    "{id}: text {} for {step:?} went to {}, the lead's number is {:?} (booking says {:?})",
                    m.sid, m.to, b.phone, snapshot.sms_number
                ));
            }
        }
        // (a) The same step texted twice, counted as emails are.
        let mut first_sent: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
        for (step, m) in &sent {
            match first_sent.get(step.as_str()) {
                None => {
                    first_sent.insert(step, m.date_created);
                }
                Some(first) => {
                    if in_crash_window(*first, m.date_created, &kill_times, &requests, "/twilio/") {
                        text_duplicates_explained += 1;
                    } else {
                        text_duplicates_unexplained += 1;
                        violations.push(format!(
                            "{id}: text {step:?} sent twice with no crash, failure or timeout between"
                        ));
                    }
                }
            }
        }
        // Nothing after the cancellation notice, by text either.
        if let Some((_, notice)) = emailed.iter().find(|(s, _)| s == "cancellation")
            && let Some((step, m)) = sent.iter().find(|(_, m)| m.date_created > *notice)
        {
            violations.push(format!(
                "{id}: text {} for {step:?} after the cancellation notice",
                m.sid
            ));
        }
        // (b) Texts off (a STOP, or Twilio refusing the number): no text after that but the
        // one in flight at that moment, which the booking did not also email.
        if !snapshot.sms_off_reason.is_empty() {
            let reason = snapshot
                .sms_off_reason
                .split_once(':')
                .map_or(snapshot.sms_off_reason.as_str(), |(why, _)| why);
            *texts_off.entry(reason.to_owned()).or_default() += 1;
            let off_at = snapshot
                .steps_done
                .iter()
                .find(|r| r.name == "sms" && r.detail.starts_with("text messages off"))
                .and_then(|r| r.at.as_ref())
                .and_then(from_timestamp);
            let stop = harness.stops.lock().unwrap().get(&b.index).cloned();
            match off_at.or(stop.as_ref().map(|s| s.seen_off)) {
                None => violations.push(format!(
                    "{id}: texts are off ({}) but its history does not say when",
                    snapshot.sms_off_reason
                )),
                Some(off_at) => {
                    let late: Vec<&(String, &TwilioMessage)> = sent
                        .iter()
                        .filter(|(_, m)| m.date_created > off_at)
                        .collect();
                    texts_in_flight_at_off += late.len() as u64;
                    if late.len() > 1 {
                        violations.push(format!(
                            "{id}: {} texts after texts were turned off at {off_at} ({}); one at most was in flight",
                            late.len(),
                            snapshot.sms_off_reason
                        ));
                    }
                    for (step, m) in late {
                        if emailed_step(step) {
                            violations.push(format!(
                                "{id}: {step:?} texted ({}, {}) after texts were turned off at {off_at}, and emailed instead too",
                                m.sid, m.date_created
                            ));
                        }
                        if let Some(stop) = &stop
                            && m.date_created > stop.seen_off
                            && !stop.in_flight.contains(step)
                        {
                            violations.push(format!(
                                "{id}: {step:?} texted ({}, {}) after the booking showed texts off at {} with only {:?} in flight",
                                m.sid, m.date_created, stop.seen_off, stop.in_flight
                            ));
                        }
                    }
                }
            }
        } else if harness.stops.lock().unwrap().contains_key(&b.index) {
            violations.push(format!("{id}: its lead replied STOP, but texts are on"));
        }
        // (c) Every text step reached the lead, by text or by email: those the booking's
        // history names, and those its script reaches for certain.
        let mut steps: BTreeSet<String> = snapshot
            .steps_done
            .iter()
            .filter_map(|r| r.name.strip_prefix("sms:"))
            .map(str::to_owned)
            .collect();
        for name in b.text_steps() {
            let key = emailed
                .iter()
                .map(|(s, _)| s.as_str())
                .chain(sent.iter().map(|(s, _)| s.as_str()))
                .find(|s| s == name || s.starts_with(&format!("{name}@")));
            match key {
                Some(key) => {
                    steps.insert(key.to_owned());
                }
                None => violations.push(format!(
                    "{id}: its lead ({:?}) got no {name:?}, by text or by email",
                    b.plan
                )),
            }
        }
        for step in &steps {
            if texted_step(step) {
                text_steps_by_text += 1;
            } else if emailed_step(step) {
                text_steps_by_email += 1;
            } else {
                violations.push(format!(
                    "{id}: text step {step:?} reached the lead neither by text nor by email"
                ));
            }
        }
        // (d) Each text's status in the snapshot is the furthest the shim took a report of;
        // for a final one, the sandbox's final status.
        let closed = matches!(
            snapshot.status(),
            BookingStatus::Cancelled | BookingStatus::TourComplete
        );
        for d in &snapshot.sms_deliveries {
            if !sent.iter().any(|(_, m)| m.sid == d.message_sid) {
                violations.push(format!(
                    "{id}: delivery report of text {} ({:?}), which the sandbox did not send for it",
                    d.message_sid, d.status
                ));
            }
        }
        for (step, m) in &sent {
            let taken: Vec<&str> = m
                .callbacks
                .iter()
                .filter(|c| c.state == TwilioCallbackState::Delivered)
                .map(|c| c.message_status.as_str())
                .collect();
            let furthest = taken.iter().copied().max_by_key(|s| text_rank(s));
            let recorded = snapshot
                .sms_deliveries
                .iter()
                .find(|d| d.message_sid == m.sid)
                .map(|d| d.status.as_str());
            let sandbox_final = m.status.as_str();
            match (recorded, furthest) {
                (Some(r), _) if text_is_final(r) && r != sandbox_final => {
                    violations.push(format!(
                        "{id}: text {} ({step:?}) is {r:?} in the snapshot, {sandbox_final:?} in the sandbox",
                        m.sid
                    ));
                }
                // (The shim may have passed on a report whose answer never reached the sandbox.)
                (Some(r), f) if f.is_none_or(|f| text_rank(r) >= text_rank(f)) => {
                    if text_is_final(r) {
                        finals_checked += 1;
                    } else {
                        reports_missed += 1;
                    }
                }
                // A booking that ended takes no more reports (its workflow is closed); no
                // report got through.
                _ if closed => reports_missed += 1,
                (_, None) => reports_missed += 1,
                (r, Some(f)) => violations.push(format!(
                    "{id}: text {} ({step:?}) is {r:?} in the snapshot; the shim took reports up to {f:?} (sandbox: {sandbox_final:?}, reports {:?})",
                    m.sid,
                    m.callbacks
                        .iter()
                        .map(|c| format!("{}#{} {:?}", c.message_status.as_str(), c.copy, c.state))
                        .collect::<Vec<_>>()
                )),
            }
        }
    }

    // One booking at most per calendar event id, and no event of a booking we do not know.
    let ours: BTreeSet<String> = script
        .iter()
        .filter_map(|b| b.booking().map(|id| id.to_string()))
        .collect();
    for r in &events {
        if let Some(b) = r.event.private_property("booking_id")
            && !ours.contains(b)
        {
            violations.push(format!(
                "calendar event {} of unknown booking {b}",
                r.event.id
            ));
        }
    }
    // Graph: the engine is the only writer of the mailbox, so every event carries a booking
    // id, one of ours, and every live event is in the configured mailbox.
    for r in &graph_events {
        match &r.booking_id {
            None => violations.push(format!(
                "Graph event {} in {} ({:?}) has no booking id",
                r.id, r.user, r.subject
            )),
            Some(b) if !ours.contains(b) => violations.push(format!(
                "Graph event {} in {} of unknown booking {b}",
                r.id, r.user
            )),
            Some(_) => {}
        }
    }
    // CRM contacts: one per distinct lead email, never two, and every live lead has one.
    let mut contacts_by_email: BTreeMap<String, u64> = BTreeMap::new();
    for c in &contacts {
        let email = c.property("email").unwrap_or_default().to_ascii_lowercase();
        *contacts_by_email.entry(email).or_default() += 1;
    }
    let emails_ours: BTreeSet<String> = script
        .iter()
        .map(|b| b.email.to_ascii_lowercase())
        .collect();
    for (email, count) in &contacts_by_email {
        if *count > 1 {
            violations.push(format!("{count} CRM contacts for {email}"));
        }
        if !emails_ours.contains(email) {
            violations.push(format!("CRM contact for an unknown email {email}"));
        }
    }
    for b in &script {
        if b.expected_status() != BookingStatus::Cancelled
            && !contacts_by_email.contains_key(&b.email.to_ascii_lowercase())
        {
            violations.push(format!("no CRM contact for {}", b.email));
        }
    }
    // Dead letters: exactly the injected permanent failures.
    let listed: Vec<_> = client
        .list_workflows(
            "WorkflowType = 'DeadLetterWorkflow'".to_owned(),
            WorkflowListOptions::default(),
        )
        .try_collect()
        .await
        .map_err(|e| anyhow::anyhow!("listing dead letters: {e}"))?;
    let dead_letters: BTreeSet<String> = listed.iter().map(|w| w.id().to_owned()).collect();
    if dead_letters != expected_dead_letters {
        violations.push(format!(
            "dead letters {:?} are not the {} injected {:?}",
            dead_letters
                .difference(&expected_dead_letters)
                .collect::<Vec<_>>(),
            expected_dead_letters.len(),
            expected_dead_letters
                .difference(&dead_letters)
                .collect::<Vec<_>>()
        ));
    }
    for cause in attention_causes.keys() {
        if !(cause.starts_with("GrantRevoked") || cause.starts_with("ProviderAuthRejected")) {
            violations.push(format!(
                "a booking needed attention for {cause}: not an injected permanent failure"
            ));
        }
    }

    // Faults, counted from the sandbox's request log.
    let mut faults: BTreeMap<String, u64> = BTreeMap::new();
    // The same, for the two calendar providers' calls (token endpoints included) and Twilio's.
    let mut calendar_faults: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
    let mut calendar_calls: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &requests {
        let provider = if r.path.starts_with("/google/") {
            Some("google")
        } else if r.path.starts_with("/microsoft/") {
            Some("microsoft")
        } else if r.path.starts_with("/twilio/") {
            Some("twilio")
        } else {
            None
        };
        if let Some(p) = provider {
            *calendar_calls.entry(p).or_default() += 1;
        }
        let kind = match (r.outcome, r.status) {
            (RequestOutcome::Chaos, Some(429)) => Some("429 with Retry-After"),
            (RequestOutcome::Chaos, _) => Some("5xx"),
            (RequestOutcome::Injected, _) => Some("injected"),
            (RequestOutcome::Dropped, _) => Some("dropped connection"),
            (RequestOutcome::Handled, _) => None,
        };
        let kind = match (r.outcome, r.status) {
            (RequestOutcome::Injected, Some(status)) => Some(format!("injected {status}")),
            _ => kind.map(str::to_owned),
        };
        if let Some(kind) = kind {
            if let Some(p) = provider {
                *calendar_faults
                    .entry(p)
                    .or_default()
                    .entry(kind.clone())
                    .or_default() += 1;
            }
            *faults.entry(kind).or_default() += 1;
        }
        if r.duration_ms >= 1500 {
            *faults.entry("latency spike (>=1.5s)".into()).or_default() += 1;
        }
    }
    *faults
        .entry("revoked Google grant + expired Microsoft secret (restored 3s later)".into())
        .or_default() += 1;
    *faults
        .entry("signed unprocessable webhook (dead letter)".into())
        .or_default() += dead_letters_injected as u64;

    // Stop everything we started, then scan every log for secrets.
    {
        let mut child = worker.lock().await;
        booking_starter::supervisor::terminate(&mut child, Duration::from_secs(10)).await;
    }
    booking_starter::supervisor::terminate(&mut shim, Duration::from_secs(10)).await;
    booking_starter::supervisor::terminate(&mut sandbox, Duration::from_secs(10)).await;
    if let Some(server) = server.lock().await.take() {
        server.stop().await;
    }
    let mut scanned = 0u64;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "log") {
            let text = String::from_utf8_lossy(&std::fs::read(&path)?).into_owned();
            scanned += text.len() as u64;
            for (name, value) in secrets.all() {
                let hits = text.matches(value).count();
                if hits > 0 {
                    violations.push(format!(
                        "the {name} appears {hits} times in {}",
                        path.display()
                    ));
                }
            }
        }
    }

    let by_plan = |plan: Plan| script.iter().filter(|b| b.plan == plan).count();
    println!("\n=== chaos report (seed {}) ===", options.seed);
    println!(
        "bookings           {n} (calendly {}, form {})",
        script
            .iter()
            .filter(|b| b.source == Source::Calendly)
            .count(),
        script.iter().filter(|b| b.source == Source::Form).count()
    );
    let on = |provider: Provider, source: Source| {
        script
            .iter()
            .filter(|b| b.provider == provider && b.source == source)
            .count()
    };
    println!(
        "by provider        google {} (calendly {}, form {}), microsoft {} (calendly {}, form {})",
        on(Provider::Google, Source::Calendly) + on(Provider::Google, Source::Form),
        on(Provider::Google, Source::Calendly),
        on(Provider::Google, Source::Form),
        on(Provider::Microsoft, Source::Calendly) + on(Provider::Microsoft, Source::Form),
        on(Provider::Microsoft, Source::Calendly),
        on(Provider::Microsoft, Source::Form)
    );
    println!(
        "script             pending {}, confirm {}, reschedule {}, cancel {}, complete {}, race {}",
        by_plan(Plan::Pending),
        by_plan(Plan::Confirm),
        by_plan(Plan::Reschedule),
        by_plan(Plan::Cancel),
        by_plan(Plan::Complete),
        by_plan(Plan::Race)
    );
    println!("final states       {status_counts:?}");
    println!(
        "deliveries         {} first copies, {} duplicate copies (each thing 2-3 times, shuffled), {} races within 100 ms",
        harness.deliveries.load(Ordering::Relaxed),
        harness.duplicates_sent.load(Ordering::Relaxed),
        harness.races.load(Ordering::Relaxed)
    );
    println!("faults injected    {faults:?}");
    for (p, f) in &calendar_faults {
        println!(
            "  {p:<9} faults  {f:?} of {} calls",
            calendar_calls.get(p).copied().unwrap_or(0)
        );
    }
    println!("worker SIGKILLs    {}", kills.load(Ordering::Relaxed));
    println!("server restarts    {}", restarts.load(Ordering::Relaxed));
    println!("operator retries   {operator_retries} (needs-attention causes {attention_causes:?})");
    println!(
        "duplicate emails   {} ({} inside the documented crash window: reported, not violations; {} unexplained: violations)",
        duplicates_explained + duplicates_unexplained,
        duplicates_explained,
        duplicates_unexplained
    );
    let with_phone = |source: Source| {
        script
            .iter()
            .filter(|b| b.phone.is_some() && b.source == source)
            .count()
    };
    let callbacks: Vec<_> = texts.iter().flat_map(|m| &m.callbacks).collect();
    println!(
        "texts              {} to {} leads ({} leads with a number: calendly {}, form {}); text steps {} by text, {} by email instead",
        texts.len(),
        texts.iter().map(|m| &m.to).collect::<BTreeSet<_>>().len(),
        with_phone(Source::Calendly) + with_phone(Source::Form),
        with_phone(Source::Calendly),
        with_phone(Source::Form),
        text_steps_by_text,
        text_steps_by_email
    );
    println!(
        "STOP replies       {} scripted ({} pending, {} complete), {} took effect ({} webhooks accepted); texts off {texts_off:?}; {} texts in flight when turned off",
        script.iter().filter(|b| b.stop_after.is_some()).count(),
        script
            .iter()
            .filter(|b| b.stop_after.is_some() && b.plan == Plan::Pending)
            .count(),
        script
            .iter()
            .filter(|b| b.stop_after.is_some() && b.plan == Plan::Complete)
            .count(),
        harness.stops.lock().unwrap().len(),
        harness.replies_accepted.load(Ordering::Relaxed),
        texts_in_flight_at_off
    );
    println!(
        "delivery reports   {} sent (each twice, newest first), {} taken by the shim, {} failed every attempt; {} final statuses match, {} texts' final report not kept",
        callbacks.len(),
        callbacks
            .iter()
            .filter(|c| c.state == TwilioCallbackState::Delivered)
            .count(),
        callbacks
            .iter()
            .filter(|c| c.state == TwilioCallbackState::Failed)
            .count(),
        finals_checked,
        reports_missed
    );
    println!(
        "duplicate texts    {} ({} inside the documented crash window: reported, not violations; {} unexplained: violations)",
        text_duplicates_explained + text_duplicates_unexplained,
        text_duplicates_explained,
        text_duplicates_unexplained
    );
    println!(
        "emails {}, calendar events {} (google {}, microsoft {}), CRM contacts {}, dead letters {}",
        emails.len(),
        events.len() + graph_events.len(),
        events.len(),
        graph_events.len(),
        contacts.len(),
        dead_letters.len()
    );
    let not_cancelled = |provider: Provider| {
        script
            .iter()
            .filter(|b| b.provider == provider && b.expected_status() != BookingStatus::Cancelled)
            .count()
    };
    println!(
        "calendar events    google {} live / {} cancelled ({} live bookings), microsoft {} live / {} deleted ({} live bookings)",
        events
            .iter()
            .filter(|r| r.event.status != "cancelled")
            .count(),
        events
            .iter()
            .filter(|r| r.event.status == "cancelled")
            .count(),
        not_cancelled(Provider::Google),
        graph_events.iter().filter(|r| !r.deleted).count(),
        graph_events.iter().filter(|r| r.deleted).count(),
        not_cancelled(Provider::Microsoft)
    );
    println!(
        "logs scanned       {} KiB for {} secrets",
        scanned / 1024,
        secrets.all().len()
    );
    println!("settled after      {:.0}s", settled_in.as_secs_f64());
    println!("elapsed            {:.0}s", began.elapsed().as_secs_f64());
    println!("violations         {}", violations.len());
    for v in violations.iter().take(50) {
        println!("  - {v}");
    }
    if violations.len() > 50 {
        println!("  ... and {} more", violations.len() - 50);
    }
    if options.keep || !violations.is_empty() {
        println!("logs kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(if violations.is_empty() { 0 } else { 1 })
}

/// Whether a second send of one step is inside the documented window of the sent-marker
/// guard: the worker died, or the marker write or the attempt failed (chaos on HubSpot or the
/// provider, or a latency spike timing the attempt out), between the provider's acceptance of
/// the first send (from a second before it) and the second one.
fn in_crash_window(
    first: DateTime<Utc>,
    again: DateTime<Utc>,
    kill_times: &[DateTime<Utc>],
    requests: &[RequestRecord],
    provider_prefix: &str,
) -> bool {
    let window = (first - chrono::Duration::seconds(1), again);
    let killed = kill_times.iter().any(|k| *k >= window.0 && *k <= window.1);
    let provider_trouble = requests.iter().any(|r| {
        r.at >= window.0
            && r.at <= window.1
            && (r.path.starts_with("/hubspot/") || r.path.starts_with(provider_prefix))
            && (r.outcome != RequestOutcome::Handled || r.duration_ms >= 1000)
    });
    killed || provider_trouble
}

/// The booking and step a text was for, from its status callback's query (the worker sets
/// `booking_id` and `step` on every text's `StatusCallback`).
fn text_for(message: &TwilioMessage) -> Option<(String, String)> {
    let url = url::Url::parse(message.status_callback.as_deref()?).ok()?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    Some((param("booking_id")?, param("step")?))
}

/// Twilio's statuses in the order a message moves through them; the final ones share a rank.
fn text_rank(status: &str) -> u8 {
    match status {
        "accepted" | "scheduled" => 0,
        "queued" => 1,
        "sending" => 2,
        "sent" => 3,
        "delivered" | "undelivered" | "failed" | "read" | "canceled" => 5,
        _ => 4,
    }
}

fn text_is_final(status: &str) -> bool {
    text_rank(status) == 5
}

/// A booking's calendar event, whichever provider holds it.
struct CalendarEvent {
    id: String,
    /// Google calendar id or Graph mailbox.
    calendar: String,
    /// Not cancelled (Google) or not deleted (Graph).
    live: bool,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

fn tour_start(s: &BookingSnapshot) -> Option<DateTime<Utc>> {
    s.tour.as_ref()?.start.as_ref().and_then(from_timestamp)
}

/// Planned steps more than two seconds past due (the engine has not caught up yet).
fn overdue(s: &BookingSnapshot) -> Vec<String> {
    let now = Utc::now() - chrono::Duration::seconds(2);
    s.steps_pending
        .iter()
        .filter(|p| {
            p.due_at
                .as_ref()
                .and_then(from_timestamp)
                .is_some_and(|due| due < now)
        })
        .map(|p| p.name.clone())
        .collect()
}

fn settled(b: &Scripted, s: &BookingSnapshot) -> bool {
    s.status() == b.expected_status()
        && !s.needs_attention
        && tour_start(s).is_some_and(|t| b.allowed_starts().contains(&t))
        && overdue(s).is_empty()
        && (s.status() != BookingStatus::TourComplete || s.steps_pending.is_empty())
        && !s.steps_done.is_empty()
}
