//! The scenarios that measure bookings: end to end through the shim, the ceiling of a
//! no-op worker, the slot ledger under contention, and idle capacity.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use booking_proto::domain::{BookingId, EventId};
use booking_sandbox::SandboxClient;
use booking_starter::booking_client::{self, BookingSignal};
use booking_tests::{
    bench_flow::{CeilingWorkflow, TimerWorkflow},
    ledger_load,
    procs::rss_kib,
};
use booking_workflows::ledger::{LedgerConfig, ReserveStatus, Window};
use chrono::{DurationRound, Utc};
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use temporalio_client::{
    Client, WorkflowFetchHistoryOptions, WorkflowGetResultOptions, WorkflowStartOptions,
};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use tokio::sync::Semaphore;

use crate::signer::Signer;
use crate::stats::{ms, round, summary};
use crate::{AGENTS, SENDERS};

pub(crate) fn bench_agent(run: &str, k: usize) -> String {
    format!("agent-bench-{run}-{k}")
}

fn idle_agent(run: &str, k: usize) -> String {
    format!("agent-idle-{run}-{k}")
}

/// `agent=calendar` pairs giving each of run `run`'s agents its own calendar.
pub(crate) fn agent_calendars(run: &str) -> String {
    (0..AGENTS)
        .flat_map(|k| [bench_agent(run, k), idle_agent(run, k)])
        .map(|agent| format!("{agent}=google:{agent}@bench.test"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Hour-aligned tour slots far enough ahead that no follow-up is due during the run; booking `i`
/// gets its own hour, so no two bookings ever compete for a slot.
pub(crate) fn slot(base: chrono::DateTime<Utc>, i: usize) -> chrono::DateTime<Utc> {
    base + chrono::Duration::hours(i as i64)
}

pub(crate) async fn end_to_end(
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

pub(crate) async fn ceiling(
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

pub(crate) async fn ledger(
    client: &Client,
    task_queue: &str,
    run: &str,
    n: usize,
) -> anyhow::Result<Value> {
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
pub(crate) async fn idle(
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
