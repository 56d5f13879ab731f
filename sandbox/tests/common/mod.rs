//! Shared helpers of the contract tests: an in-process sandbox per test, a Google token,
//! a webhook receiver, and polling with a deadline.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use booking_sandbox::{RunningSandbox, SandboxConfig, defaults};
use serde_json::Value;

pub const DEADLINE: Duration = Duration::from_secs(10);

pub async fn start() -> RunningSandbox {
    start_with(|_| {}).await
}

pub async fn start_with(configure: impl FnOnce(&mut SandboxConfig)) -> RunningSandbox {
    let mut config = SandboxConfig::default();
    configure(&mut config);
    booking_sandbox::start(config)
        .await
        .expect("sandbox starts")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Polls until `probe` returns `Some`, failing the test after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    booking_sandbox::poll_until(DEADLINE, probe)
        .await
        .unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

/// An access token for the default grant.
pub async fn google_token(sandbox: &RunningSandbox) -> String {
    let response = http()
        .post(sandbox.google_token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", defaults::GOOGLE_REFRESH_TOKEN),
            ("client_id", defaults::GOOGLE_CLIENT_ID),
            ("client_secret", defaults::GOOGLE_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

pub async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, value)
}

#[derive(Debug, Clone)]
pub struct Received {
    pub body: String,
    pub signature: Option<String>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer with, in order; 200 once exhausted.
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

/// A stand-in webhook receiver (the shim's role) that records what it gets.
pub struct Receiver {
    pub url: String,
    state: ReceiverState,
}

impl Receiver {
    pub async fn start() -> Self {
        let state = ReceiverState::default();
        let app = Router::new()
            .route("/webhook", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://{addr}/webhook"),
            state,
        }
    }

    /// The next requests get these statuses, in order.
    pub fn answer_with(&self, statuses: &[u16]) {
        self.state.statuses.lock().unwrap().extend(statuses);
    }

    /// Forgets queued statuses: every request gets 200 again.
    pub fn answer_ok(&self) {
        self.state.statuses.lock().unwrap().clear();
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        eventually(&format!("{count} webhooks"), || async {
            let got = self.received();
            (got.len() >= count).then_some(got)
        })
        .await
    }
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    state.received.lock().unwrap().push(Received {
        body: String::from_utf8_lossy(&body).into_owned(),
        signature: headers
            .get(booking_sandbox::CALENDLY_SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
    let status = state.statuses.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}
