//! The delivery loop the sandbox's webhook senders share (Calendly, Acuity): first attempts in
//! a given order, failed ones retried in the background until they settle or the sandbox
//! shuts down, and pending ones picked up again after a restart from a snapshot. Each sender
//! brings its own [`Attempt`], which makes one POST, records it, and says when to try again.

use std::{future::Future, pin::Pin, time::Duration};

use chrono::{DateTime, Utc};

use crate::state::Shared;

/// What an attempt comes to: `Some(delay)` when another attempt is due after `delay`.
pub type Attempted = Pin<Box<dyn Future<Output = Option<Duration>> + Send>>;

/// One attempt at delivery `id`.
pub type Attempt = fn(Shared, String) -> Attempted;

/// Keeps retrying a delivery in the background until it settles, reset removes it, or the
/// sandbox shuts down.
pub fn spawn(app: &Shared, id: String, first_delay: Duration, attempt: Attempt) {
    let app = app.clone();
    tokio::spawn(async move {
        let mut delay = first_delay;
        loop {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = app.shutting_down() => return,
            }
            match attempt(app.clone(), id.clone()).await {
                Some(next) => delay = next,
                None => return,
            }
        }
    });
}

/// First attempts one after another, in the given order (so a test controls the order a
/// receiver sees); failed ones continue retrying in the background.
pub async fn deliver_in_order(app: &Shared, ids: &[String], attempt: Attempt) {
    for id in ids {
        if let Some(delay) = attempt(app.clone(), id.clone()).await {
            spawn(app, id.clone(), delay, attempt);
        }
    }
}

/// After a restart from a snapshot: resumes each `(id, next attempt)` pending delivery, one
/// whose time has passed at once.
pub fn resume(app: &Shared, pending: Vec<(String, Option<DateTime<Utc>>)>, attempt: Attempt) {
    let now = crate::time::now();
    for (id, next) in pending {
        let wait = next
            .and_then(|at| (at - now).to_std().ok())
            .unwrap_or_default();
        spawn(app, id, wait, attempt);
    }
}
