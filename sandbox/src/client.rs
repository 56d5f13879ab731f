//! Typed client of the control and inspection API (`/_sandbox/...`), for tests and demos.

use std::future::Future;
use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::calendly::booking::{
    BookInvitee, Booked, CancelInvitee, Cancelled, RescheduleInvitee, Rescheduled,
};
use crate::calendly::model::{CalendlyEvent, CalendlyInvitee};
use crate::calendly::webhooks::{RawWebhook, WebhookDelivery};
use crate::calendly::{WebhookSubscription, WebhookSubscriptionUpdate};
use crate::faults::{ChaosConfig, DropConnections, Faults, Injection, Latency};
use crate::google_calendar::model::CalendarEventRecord;
use crate::google_oauth::GoogleGrant;
use crate::hubspot::store::CrmObject;
use crate::microsoft::MicrosoftApp;
use crate::microsoft::model::{GraphEventMove, GraphEventRecord};
use crate::percent::segment;
use crate::request_log::RequestRecord;
use crate::sendgrid::model::SentEmail;
use crate::twilio::model::{
    TwilioCallbackFaults, TwilioInbound, TwilioInboundMessage, TwilioInboundWebhook, TwilioMessage,
    TwilioOptOut,
};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("request to the sandbox failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the sandbox answered {status}: {body}")]
    Status { status: u16, body: String },
}

type Result<T> = std::result::Result<T, ClientError>;

#[derive(Debug, Clone)]
pub struct SandboxClient {
    base: String,
    http: reqwest::Client,
}

impl SandboxClient {
    /// `base_url` is the sandbox root, e.g. `http://127.0.0.1:8089`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base: base_url.into().trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}/_sandbox{path}", self.base))
    }

    async fn checked(request: RequestBuilder) -> Result<reqwest::Response> {
        let response = request.send().await?;
        let status = response.status();
        if status.is_success() {
            Ok(response)
        } else {
            let body = response.text().await.unwrap_or_default();
            Err(ClientError::Status {
                status: status.as_u16(),
                body,
            })
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        Ok(Self::checked(self.request(Method::GET, path))
            .await?
            .json()
            .await?)
    }

    async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        Ok(Self::checked(self.request(method, path).json(body))
            .await?
            .json()
            .await?)
    }

    /// A control call that sends no body and answers nothing but its status.
    async fn act(&self, method: Method, path: &str) -> Result<()> {
        self.send::<()>(method, path, None).await
    }

    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<()> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::checked(request).await.map(drop)
    }

    pub async fn health(&self) -> Result<()> {
        self.get::<Value>("/health").await.map(drop)
    }

    /// Back to a fresh sandbox (keeps the webhook subscription).
    pub async fn reset(&self) -> Result<()> {
        self.act(Method::POST, "/reset").await
    }

    /// Everything the providers hold, as one JSON document (the snapshot format).
    pub async fn state(&self) -> Result<Value> {
        self.get("/state").await
    }

    // ---- request log ----

    pub async fn requests(&self) -> Result<Vec<RequestRecord>> {
        self.get("/requests").await
    }

    /// Requests whose path starts with `path_prefix`, optionally of one method.
    pub async fn requests_matching(
        &self,
        method: Option<&str>,
        path_prefix: &str,
    ) -> Result<Vec<RequestRecord>> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("path_prefix", path_prefix);
        if let Some(method) = method {
            query.append_pair("method", method);
        }
        self.get(&format!("/requests?{}", query.finish())).await
    }

    pub async fn clear_requests(&self) -> Result<()> {
        self.act(Method::DELETE, "/requests").await
    }

    // ---- faults ----

    pub async fn faults(&self) -> Result<Faults> {
        self.get("/faults").await
    }

    pub async fn clear_faults(&self) -> Result<()> {
        self.act(Method::DELETE, "/faults").await
    }

    pub async fn inject(&self, injection: &Injection) -> Result<()> {
        self.send(Method::POST, "/faults/injections", Some(injection))
            .await
    }

    pub async fn add_latency(&self, latency: &Latency) -> Result<()> {
        self.send(Method::POST, "/faults/latency", Some(latency))
            .await
    }

    pub async fn drop_connections(&self, drops: &DropConnections) -> Result<()> {
        self.send(Method::POST, "/faults/drops", Some(drops)).await
    }

    pub async fn set_chaos(&self, chaos: &ChaosConfig) -> Result<()> {
        self.send(Method::PUT, "/faults/chaos", Some(chaos)).await
    }

    pub async fn clear_chaos(&self) -> Result<()> {
        self.act(Method::DELETE, "/faults/chaos").await
    }

    // ---- Google ----

    pub async fn google_grants(&self) -> Result<Vec<GoogleGrant>> {
        self.get("/google/grants").await
    }

    pub async fn add_grant(&self, grant: &GoogleGrant) -> Result<()> {
        self.send(Method::POST, "/google/grants", Some(grant)).await
    }

    /// The refresh token then answers `invalid_grant`, and its access tokens stop working.
    pub async fn revoke_grant(&self, refresh_token: &str) -> Result<()> {
        self.act(
            Method::POST,
            &format!("/google/grants/{}/revoke", segment(refresh_token)),
        )
        .await
    }

    pub async fn restore_grant(&self, refresh_token: &str) -> Result<()> {
        self.act(
            Method::POST,
            &format!("/google/grants/{}/restore", segment(refresh_token)),
        )
        .await
    }

    /// Every issued access token expires now (the next Calendar call gets 401 `authError`).
    pub async fn expire_access_tokens(&self) -> Result<()> {
        self.act(Method::POST, "/google/access-tokens/expire").await
    }

    /// Every sync token handed out so far answers 410 `fullSyncRequired`.
    pub async fn expire_sync_tokens(&self) -> Result<()> {
        self.act(Method::POST, "/google/sync-tokens/expire").await
    }

    pub async fn calendar_events(&self, include_deleted: bool) -> Result<Vec<CalendarEventRecord>> {
        self.get(&format!("/google/events?include_deleted={include_deleted}"))
            .await
    }

    // ---- Microsoft identity platform and Graph ----

    /// Every Graph calendar event of every mailbox, in creation order.
    pub async fn graph_events(&self, include_deleted: bool) -> Result<Vec<GraphEventRecord>> {
        self.get(&format!(
            "/microsoft/events?include_deleted={include_deleted}"
        ))
        .await
    }

    /// Deletes an event as a person would in Outlook (the next delta round reports it).
    pub async fn delete_graph_event(&self, id: &str) -> Result<()> {
        self.act(
            Method::POST,
            &format!("/microsoft/events/{}/delete", segment(id)),
        )
        .await
    }

    /// Moves an event as a person would in Outlook (the next delta round reports it).
    pub async fn move_graph_event(
        &self,
        id: &str,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
    ) -> Result<GraphEventRecord> {
        self.call(
            Method::POST,
            &format!("/microsoft/events/{}/move", segment(id)),
            &GraphEventMove { start, end },
        )
        .await
    }

    pub async fn microsoft_apps(&self) -> Result<Vec<MicrosoftApp>> {
        self.get("/microsoft/apps").await
    }

    /// The app's secret answers AADSTS7000222 (expired) until restored.
    pub async fn expire_microsoft_secret(&self, client_id: &str) -> Result<()> {
        self.act(
            Method::POST,
            &format!("/microsoft/apps/{}/expire-secret", segment(client_id)),
        )
        .await
    }

    /// The app answers AADSTS7000112 (disabled) until restored.
    pub async fn disable_microsoft_app(&self, client_id: &str) -> Result<()> {
        self.act(
            Method::POST,
            &format!("/microsoft/apps/{}/disable", segment(client_id)),
        )
        .await
    }

    /// Undoes [`Self::expire_microsoft_secret`] and [`Self::disable_microsoft_app`].
    pub async fn restore_microsoft_app(&self, client_id: &str) -> Result<()> {
        self.act(
            Method::POST,
            &format!("/microsoft/apps/{}/restore", segment(client_id)),
        )
        .await
    }

    /// Every Graph access token expires now (401 `InvalidAuthenticationToken`).
    pub async fn expire_microsoft_access_tokens(&self) -> Result<()> {
        self.act(Method::POST, "/microsoft/access-tokens/expire")
            .await
    }

    /// Every delta and skip token handed out so far answers 410 `SyncStateNotFound`.
    pub async fn expire_graph_delta_tokens(&self) -> Result<()> {
        self.act(Method::POST, "/microsoft/delta-tokens/expire")
            .await
    }

    // ---- HubSpot ----

    pub async fn contacts(&self) -> Result<Vec<CrmObject>> {
        self.get("/hubspot/contacts").await
    }

    pub async fn tasks(&self) -> Result<Vec<CrmObject>> {
        self.get("/hubspot/tasks").await
    }

    pub async fn notes(&self) -> Result<Vec<CrmObject>> {
        self.get("/hubspot/notes").await
    }

    // ---- SendGrid ----

    pub async fn emails(&self) -> Result<Vec<SentEmail>> {
        self.get("/sendgrid/emails").await
    }

    /// How many emails were accepted, without listing them.
    pub async fn email_count(&self) -> Result<usize> {
        #[derive(serde::Deserialize)]
        struct Count {
            count: usize,
        }
        Ok(self.get::<Count>("/sendgrid/emails/count").await?.count)
    }

    pub async fn clear_emails(&self) -> Result<()> {
        self.act(Method::DELETE, "/sendgrid/emails").await
    }

    // ---- Twilio ----

    /// Every accepted message, oldest first, with its status callbacks and their attempts.
    pub async fn twilio_messages(&self) -> Result<Vec<TwilioMessage>> {
        self.get("/twilio/messages").await
    }

    pub async fn twilio_message(&self, sid: &str) -> Result<TwilioMessage> {
        self.get(&format!("/twilio/messages/{}", segment(sid)))
            .await
    }

    /// Forgets every sent message (their pending status changes and callbacks stop).
    pub async fn clear_twilio_messages(&self) -> Result<()> {
        self.act(Method::DELETE, "/twilio/messages").await
    }

    /// Numbers that replied with an opt-out keyword (sends to them get 21610).
    pub async fn twilio_opt_outs(&self) -> Result<Vec<TwilioOptOut>> {
        self.get("/twilio/opt-outs").await
    }

    /// Plays a reply of `body` from `from`; returns after the inbound webhook answered.
    pub async fn twilio_inbound(&self, from: &str, body: &str) -> Result<TwilioInboundMessage> {
        self.twilio_inbound_with(&TwilioInbound::new(from, body))
            .await
    }

    /// Plays a reply with every option (own `MessageSid`, other `To`, delivered twice).
    pub async fn twilio_inbound_with(
        &self,
        inbound: &TwilioInbound,
    ) -> Result<TwilioInboundMessage> {
        self.call(Method::POST, "/twilio/inbound", inbound).await
    }

    /// Every reply played so far, oldest first.
    pub async fn twilio_inbound_messages(&self) -> Result<Vec<TwilioInboundMessage>> {
        self.get("/twilio/inbound").await
    }

    /// The number's "A message comes in" webhook.
    pub async fn twilio_inbound_webhook(&self) -> Result<Option<String>> {
        Ok(self
            .get::<TwilioInboundWebhook>("/twilio/inbound-webhook")
            .await?
            .url)
    }

    /// Points the number's "A message comes in" webhook at `url`.
    pub async fn set_twilio_inbound_webhook(&self, url: &str) -> Result<()> {
        let webhook = TwilioInboundWebhook {
            url: Some(url.to_owned()),
        };
        self.send(Method::PUT, "/twilio/inbound-webhook", Some(&webhook))
            .await
    }

    /// Removes the inbound webhook: replies are then recorded but not sent.
    pub async fn clear_twilio_inbound_webhook(&self) -> Result<()> {
        self.send(
            Method::PUT,
            "/twilio/inbound-webhook",
            Some(&TwilioInboundWebhook::default()),
        )
        .await
    }

    /// Sets the status-callback faults for messages accepted from now on
    /// (`TwilioCallbackFaults::default()` turns them off).
    pub async fn twilio_callback_faults(&self, faults: &TwilioCallbackFaults) -> Result<()> {
        self.send(Method::PUT, "/twilio/callback-faults", Some(faults))
            .await
    }

    /// The status-callback faults in force.
    pub async fn twilio_callback_fault_settings(&self) -> Result<TwilioCallbackFaults> {
        self.get("/twilio/callback-faults").await
    }

    // ---- Calendly ----

    pub async fn calendly_events(&self) -> Result<Vec<CalendlyEvent>> {
        self.get("/calendly/events").await
    }

    pub async fn calendly_invitees(&self) -> Result<Vec<CalendlyInvitee>> {
        self.get("/calendly/invitees").await
    }

    /// Books and returns after the first attempt of the `invitee.created` webhook.
    pub async fn book_calendly(&self, booking: &BookInvitee) -> Result<Booked> {
        self.call(Method::POST, "/calendly/invitees", booking).await
    }

    pub async fn cancel_calendly(
        &self,
        invitee_uuid: &str,
        cancel: &CancelInvitee,
    ) -> Result<Cancelled> {
        self.call(
            Method::POST,
            &format!("/calendly/invitees/{}/cancel", segment(invitee_uuid)),
            cancel,
        )
        .await
    }

    pub async fn reschedule_calendly(
        &self,
        invitee_uuid: &str,
        reschedule: &RescheduleInvitee,
    ) -> Result<Rescheduled> {
        self.call(
            Method::POST,
            &format!("/calendly/invitees/{}/reschedule", segment(invitee_uuid)),
            reschedule,
        )
        .await
    }

    pub async fn webhook_deliveries(&self) -> Result<Vec<WebhookDelivery>> {
        self.get("/calendly/deliveries").await
    }

    /// Sends a past delivery's body again; returns the new delivery after its first attempt.
    pub async fn redeliver(&self, delivery_id: &str) -> Result<WebhookDelivery> {
        self.call(
            Method::POST,
            &format!("/calendly/deliveries/{}/redeliver", segment(delivery_id)),
            &(),
        )
        .await
    }

    pub async fn send_raw_webhook(&self, raw: &RawWebhook) -> Result<WebhookDelivery> {
        self.call(Method::POST, "/calendly/webhooks/raw", raw).await
    }

    pub async fn webhook_subscription(&self) -> Result<WebhookSubscription> {
        self.get("/calendly/webhook").await
    }

    pub async fn set_webhook(
        &self,
        update: &WebhookSubscriptionUpdate,
    ) -> Result<WebhookSubscription> {
        self.call(Method::PUT, "/calendly/webhook", update).await
    }

    /// Points the subscription at `target` and enables it.
    pub async fn set_webhook_target(&self, target: &str) -> Result<WebhookSubscription> {
        self.set_webhook(&WebhookSubscriptionUpdate::target(target))
            .await
    }
}

/// Polls `probe` every 20 ms until it yields `Some` or `timeout` passes (tests wait for
/// asynchronous effects this way instead of sleeping).
pub async fn poll_until<T, F, Fut>(timeout: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
