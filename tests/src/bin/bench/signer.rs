//! Signed form webhooks, as a form provider sends them.

use std::time::{Duration, Instant};

use booking_activities::secret::Secret;
use booking_shim::signature::standard_webhook_signature;
use chrono::Utc;
use serde_json::json;

use crate::AGENTS;
use crate::scenarios::bench_agent;

pub(crate) struct Signer {
    pub(crate) http: reqwest::Client,
    pub(crate) secret: Secret,
    /// This bench run's id: its agents are its own, so a run against a server an earlier run
    /// used never reaches that run's ledgers (whose task queue no worker polls any more).
    pub(crate) agents: String,
}

impl Signer {
    pub(crate) fn body(&self, run: &str, i: usize, start: chrono::DateTime<Utc>) -> String {
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
    pub(crate) async fn post(&self, shim_url: &str, id: &str, body: String) -> (u16, Duration) {
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
