//! The delivery loop the sandbox's webhook senders share (Calendly, Acuity): first attempts in
//! a given order, failed ones retried in the background until they settle or the sandbox
//! shuts down, and pending ones picked up again after a restart from a snapshot. Each sender
//! is a [`Sender`]: its attempt makes one POST, records it, and says when to try again.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};

use crate::state::Shared;

/// A provider that sends webhooks.
pub trait Sender: 'static {
    /// One attempt at delivery `id`, recorded: `Some(delay)` when another attempt is due after
    /// `delay`.
    fn attempt(app: &Shared, id: &str) -> impl Future<Output = Option<Duration>> + Send;

    /// The deliveries waiting for a retry, each with when it is due.
    fn pending(app: &Shared) -> Vec<(String, Option<DateTime<Utc>>)>;
}

/// Sends one webhook POST, with its signature header when it has one (a test may ask for an
/// unsigned delivery): the answer's status if one came, else why not, and how many
/// milliseconds it took.
pub async fn post(
    request: reqwest::RequestBuilder,
    signature: Option<(&str, &str)>,
) -> (Option<u16>, Option<String>, u64) {
    let request = match signature {
        Some((header, value)) => request.header(header, value),
        None => request,
    };
    let started = Instant::now();
    let (status, error) = match request.send().await {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    (status, error, duration_ms)
}

/// Keeps retrying a delivery in the background until it settles, reset removes it, or the
/// sandbox shuts down.
fn spawn<S: Sender>(app: &Shared, id: String, first_delay: Duration) {
    let app = app.clone();
    tokio::spawn(async move {
        let mut delay = first_delay;
        loop {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = app.shutting_down() => return,
            }
            match S::attempt(&app, &id).await {
                Some(next) => delay = next,
                None => return,
            }
        }
    });
}

/// First attempts one after another, in the given order (so a test controls the order a
/// receiver sees); failed ones continue retrying in the background.
pub async fn deliver_in_order<S: Sender>(app: &Shared, ids: &[String]) {
    for id in ids {
        if let Some(delay) = S::attempt(app, id).await {
            spawn::<S>(app, id.clone(), delay);
        }
    }
}

/// After a restart from a snapshot: resumes each pending delivery, one whose time has passed
/// at once.
pub fn resume<S: Sender>(app: &Shared) {
    let now = crate::time::now();
    for (id, next) in S::pending(app) {
        let wait = next
            .and_then(|at| (at - now).to_std().ok())
            .unwrap_or_default();
        spawn::<S>(app, id, wait);
    }
}
