//! The one way provider requests are sent: timing, structured logs, redaction.
//!
//! Every provider call logs one event (target `booking_activities::provider`) with the
//! provider, method, path, status, latency and the provider's request id; the booking id,
//! activity name and attempt come from the span each activity opens (see
//! [`crate::booking`]). A failed call logs its response body at WARN, with every configured
//! secret and any bearer token masked, and only that redacted body reaches a
//! [`ProviderError`] (and so the Temporal UI).

use std::time::Instant;

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use crate::{
    error::{Provider, ProviderError, retry_delay},
    redact::Redactor,
};

/// `base` with `segments` appended as path segments, each percent-encoded as needed (a calendar
/// id holding `/` or `#` stays one segment). The one way provider clients build request URLs.
pub fn endpoint<'a>(base: &url::Url, segments: impl IntoIterator<Item = &'a str>) -> url::Url {
    let mut url = base.clone();
    url.path_segments_mut()
        .expect("an http(s) base URL has path segments")
        .pop_if_empty()
        .extend(segments);
    url
}

/// Headers providers use to name a request in their own logs.
const REQUEST_ID_HEADERS: &[&str] = &[
    "x-request-id",
    "x-hubspot-correlation-id",
    "x-message-id",
    "x-goog-request-id",
    "x-guploader-uploadid",
    // Microsoft Graph and the identity platform.
    "request-id",
    "x-ms-request-id",
    "twilio-request-id",
];

/// A pooled HTTP client plus the redactor every logged body goes through.
#[derive(Debug, Clone)]
pub struct Http {
    pub client: reqwest::Client,
    pub redactor: Redactor,
}

/// A provider's answer, read whole. For non-2xx answers `body` is already redacted.
#[derive(Debug)]
pub struct Answer {
    pub provider: Provider,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The 2xx body as `T`; an unreadable one is a retryable [`ProviderError::BadResponse`].
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ProviderError> {
        serde_json::from_str(&self.body).map_err(|e| ProviderError::BadResponse {
            provider: self.provider,
            message: format!("status {}: {e}", self.status),
        })
    }

    /// The generic classification of this (non-2xx) answer, with the delay the provider asked
    /// for.
    pub fn into_error(self) -> ProviderError {
        let delay = retry_delay(&self.headers);
        ProviderError::from_status(self.provider, self.status, delay, self.body)
    }
}

impl Http {
    pub fn new(client: reqwest::Client, redactor: Redactor) -> Self {
        Self { client, redactor }
    }

    /// Sends `request` and reads the answer. Only transport failures are errors here: each
    /// client classifies statuses itself (a 409 or a 410 can be success for it).
    pub async fn send(
        &self,
        provider: Provider,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, ProviderError> {
        let request = request.build().map_err(|e| ProviderError::Transport {
            provider,
            message: format!("request could not be built: {e}"),
        })?;
        let method = request.method().as_str().to_owned();
        let path = request.url().path().to_owned();
        let started = Instant::now();
        let response = match self.client.execute(request).await {
            Ok(response) => response,
            Err(e) => {
                let err = ProviderError::from_transport(provider, &e);
                tracing::warn!(
                    target: "booking_activities::provider",
                    provider = %provider,
                    method,
                    path,
                    latency_ms = started.elapsed().as_millis() as u64,
                    error = %self.redactor.redact(&err.to_string()),
                    "provider call failed without an answer"
                );
                return Err(err);
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|e| ProviderError::from_transport(provider, &e))?;
        let latency_ms = started.elapsed().as_millis() as u64;
        let request_id = REQUEST_ID_HEADERS
            .iter()
            .find_map(|name| headers.get(*name)?.to_str().ok())
            .unwrap_or("")
            .to_owned();
        // An error body reaches failure messages and the Temporal UI: redacted here, once.
        let body = if (200..300).contains(&status) {
            tracing::info!(target: "booking_activities::provider", %provider, method, path, status, latency_ms, request_id, "provider call");
            body
        } else {
            let body = self.redactor.redact(&body);
            tracing::warn!(target: "booking_activities::provider", %provider, method, path, status, latency_ms, request_id, body, "provider call answered an error");
            body
        };
        Ok(Answer {
            provider,
            status,
            headers,
            body,
        })
    }
}
