//! Local stand-ins for the booking engine's providers, on one port, one path prefix per
//! provider, with the real request and response shapes, status codes, error bodies and
//! headers; plus fault injection and inspection for tests and demos.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = booking_sandbox::start(booking_sandbox::SandboxConfig::default()).await?;
//! let client = sandbox.client();
//! // ... point the engine at sandbox.sendgrid_url(), then:
//! let sent = client.emails().await?;
//! # let _ = sent; sandbox.shutdown().await; Ok(()) }
//! ```
//!
//! # Endpoints
//!
//! All provider calls need their provider's credentials (see [`defaults`]).
//!
//! **Google OAuth** (real `https://oauth2.googleapis.com`), prefix `/google/oauth2`:
//! - `POST /token`: `grant_type=refresh_token` (form or JSON; client credentials in the
//!   body or HTTP Basic) → `{access_token, expires_in, scope, token_type}`. Errors
//!   `{error, error_description}`: 400 `invalid_request`, 401 `invalid_client`,
//!   400 `unsupported_grant_type`, 400 `invalid_grant` (unknown or revoked refresh token).
//!
//! **Google Calendar v3** (real `https://www.googleapis.com/calendar/v3`), prefix
//! `/google/calendar/v3`; `Authorization: Bearer` access token from the OAuth stand-in:
//! - `POST /calendars/{calendarId}/events`: insert; client-chosen `id` must be base32hex
//!   (`[a-v0-9]{5,1024}`, else 400 `invalid`); 409 `duplicate` if the id was ever used,
//!   deleted events included.
//! - `GET /calendars/{calendarId}/events/{eventId}`: deleted events come back with
//!   `status: cancelled`; unknown 404 `notFound`.
//! - `PATCH .../events/{eventId}`: only given fields change (nested objects merge, arrays
//!   are replaced, `null` clears); `PUT` replaces.
//! - `DELETE .../events/{eventId}`: 204; again 410 `deleted`; unknown 404 `notFound`.
//! - `GET /calendars/{calendarId}/events`: `updatedMin`, `showDeleted`, `singleEvents`,
//!   `timeMin`/`timeMax`, `privateExtendedProperty`/`sharedExtendedProperty` (repeatable
//!   `key=value`), `iCalUID`, `q`, `orderBy` (`startTime` needs `singleEvents`, or
//!   `updated`), `maxResults` + `pageToken`/`nextPageToken`, `syncToken`/`nextSyncToken`
//!   (invalid or expired: 410 `fullSyncRequired`; not combinable with the filters).
//! - `POST /freeBusy`: `{timeMin, timeMax, items:[{id}]}` → busy ranges per calendar,
//!   merged and clipped; cancelled and `transparent` events are not busy.
//! - Errors `{"error":{"code","message","errors":[{"domain","reason","message"}]}}`;
//!   401 `authError` (bad, expired or revoked token) or `required` (no token).
//!
//! **Microsoft identity platform** (real `https://login.microsoftonline.com`), prefix
//! `/microsoft/login`:
//! - `POST /{tenant}/oauth2/v2.0/token`: form `grant_type=client_credentials`,
//!   `client_id`, `client_secret`, `scope=https://graph.microsoft.com/.default` →
//!   `{token_type, expires_in: 3599, ext_expires_in, access_token}`, `Cache-Control:
//!   no-store`. Errors `{error, error_description: "AADSTS<N>: ... Trace ID: ...
//!   Correlation ID: ... Timestamp: ...", error_codes, timestamp, trace_id,
//!   correlation_id, error_uri}`: 400 `invalid_request` 90002 (unknown tenant), 900144
//!   (missing parameter); 400 `unsupported_grant_type` 70003; 400 `unauthorized_client`
//!   700016 (unknown client id), 7000112 (app disabled); 401 `invalid_client` 7000218 (no
//!   secret), 7000215 (wrong secret), 7000222 (secret expired); 400 `invalid_scope`
//!   1002012 (scope missing or not the Graph `.default`).
//!
//! **Microsoft Graph v1.0** (real `https://graph.microsoft.com/v1.0`), prefix
//! `/microsoft/graph/v1.0`; `Authorization: Bearer` token from the identity stand-in
//! (401 `InvalidAuthenticationToken`: "Access token is empty." or "Access token has
//! expired or is not yet valid."). Any `{user}` (UPN or id, case-insensitive) exists:
//! - `POST /users/{user}/calendar/events`: 201 with the event (`start`/`end` in `UTC`
//!   only, else 400 `TimeZoneNotSupportedException`; bad attendee address 400
//!   `ErrorInvalidRecipients`; extended-property id not `String {guid} Name <name>` 400
//!   `ErrorInvalidExtendedPropertyValue`; end before start 400 `ErrorInvalidParameter`;
//!   malformed body 400 `ErrorInvalidRequest`). A `transactionId` already held by a live
//!   event of the mailbox answers 201 with that event and creates nothing.
//! - `GET /users/{user}/calendar/events`: `$filter=singleValueExtendedProperties/Any(ep:
//!   ep/id eq '...' and ep/value eq '...')` (any other 400 `ErrorInvalidUrlQueryFilter`),
//!   `$expand=singleValueExtendedProperties($filter=id eq '...')`, `$top` (default 10) and
//!   `$skip`, absolute `@odata.nextLink`.
//! - `GET`/`PATCH`/`DELETE /users/{user}/calendar/events/{id}`: `$expand` as above; patch
//!   changes only the given properties (extended properties upserted by id), bumps
//!   `lastModifiedDateTime` and `changeKey`; delete 204; unknown or deleted 404
//!   `ErrorItemNotFound`.
//! - `POST /users/{user}/calendar/getSchedule`: per schedule `availabilityView` (0 free,
//!   1 tentative, 2 busy, 3 oof, 4 workingElsewhere), `scheduleItems` (events not shown as
//!   `free`), `workingHours`; a schedule id that is not an address carries
//!   `error.responseCode: ErrorInvalidSmtpAddress`.
//! - `GET /users/{user}/calendarView/delta?startDateTime=&endDateTime=` (`Prefer:
//!   odata.maxpagesize=N`, default 100): absolute `@odata.nextLink` (`$skiptoken`) and
//!   `@odata.deltaLink` (`$deltatoken`) from the request's `Host`; later rounds give
//!   changed events in full and deleted or moved-out events as `{"@odata.type",
//!   "id", "@removed": {"reason": "deleted"}}`. `$expand` (and `$filter`, `$orderby`,
//!   `$search`, `$top`) 400 `ErrorInvalidUrlQuery`; unknown, garbled or expired token 410
//!   `SyncStateNotFound`.
//! - Errors `{"error":{"code","message","innerError":{"date","request-id",
//!   "client-request-id"}}}`. Throttling (429 `TooManyRequests` with `Retry-After`, 503,
//!   504) comes from fault injection: [`Injection::graph_throttled`],
//!   [`Injection::graph_error`]; chaos mode answers Graph-shaped errors on these paths.
//!
//! **HubSpot CRM v3** (real `https://api.hubapi.com`), prefix `/hubspot`; private-app
//! bearer token; `X-HubSpot-RateLimit-Max`/`-Remaining`/`-Interval-Milliseconds` on every
//! answer; 429 `RATE_LIMIT` over the rolling ten-second limit. `{objectType}` is
//! `contacts`, `tasks` or `notes` (or `0-1`, `0-27`, `0-46`):
//! - `POST /crm/v3/objects/{objectType}` (201; contacts 409 `CONFLICT` "Contact already
//!   exists. Existing ID: N"; tasks and notes need `hs_timestamp`; `associations` with
//!   HUBSPOT_DEFINED types 204 task→contact, 202 note→contact, 203/201 the reverse).
//! - `GET`/`PATCH`/`DELETE /crm/v3/objects/{objectType}/{id}` (`properties`,
//!   `associations`, `archived`, `idProperty` query parameters), `GET
//!   /crm/v3/objects/{objectType}` (list, `limit`/`after`).
//! - `POST /crm/v3/objects/{objectType}/search` (filterGroups, operators EQ, NEQ, LT, LTE,
//!   GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN,
//!   NOT_CONTAINS_TOKEN; sorts; `query`; paging).
//! - `POST /crm/v3/objects/{objectType}/batch/upsert` (`idProperty: email`; results carry
//!   `new: true|false`; all-or-nothing).
//! - `GET /crm/v3/properties/{objectType}`, `GET .../{name}`, `POST` (create a custom
//!   property). Contacts have the custom properties `booking_id`, `booking_status`,
//!   `tour_start`, `tour_type`; tasks and notes `booking_id` and `booking_dedup_key`.
//! - Errors `{status:"error", message, correlationId, category}`: 400 `VALIDATION_ERROR`
//!   (invalid email, unknown property, bad option, bad association type, bad JSON), 401
//!   `INVALID_AUTHENTICATION`, 404 `OBJECT_NOT_FOUND`, 409 `CONFLICT`.
//!
//! **SendGrid v3** (real `https://api.sendgrid.com`), prefix `/sendgrid`:
//! - `POST /v3/mail/send`: 202, empty body, `X-Message-Id`. 400 `{errors:[{message,
//!   field, help}]}` listing every problem (personalizations, `to` addresses, `from`,
//!   `content`/`template_id`, `subject`, custom_args types, categories, `send_at`); 401
//!   with a bad key; 429 with `X-RateLimit-Limit`/`-Remaining`/`-Reset` over the
//!   per-second limit.
//!
//! **Calendly v2** (real `https://api.calendly.com`), prefix `/calendly`; bearer token:
//! - `GET /users/me` (and `/users/{uuid}`), `GET /scheduled_events` (`user` or `organization` required;
//!   `min_start_time`, `max_start_time`, `status`, `invitee_email`, `sort`, `count`,
//!   `page_token`), `GET /scheduled_events/{uuid}`, `GET /scheduled_events/{uuid}/invitees`
//!   (`status`, `email`, `sort`, `count`, `page_token`), `GET
//!   /scheduled_events/{event_uuid}/invitees/{invitee_uuid}`. Lists answer
//!   `{collection, pagination:{count, next_page, next_page_token, previous_page,
//!   previous_page_token}}`; errors `{title, message, details?}`.
//! - Webhooks: every booking change POSTs `{event, created_at, created_by, payload}` to
//!   the subscription target with `Calendly-Webhook-Signature: t=<unix>,v1=<hex
//!   HMAC-SHA256 of "t.body">`; non-2xx answers are retried with exponential backoff
//!   until the retry horizon, after which the subscription is disabled.
//!
//! **Twilio Programmable Messaging** (real `https://api.twilio.com`), prefix `/twilio`; HTTP
//! Basic `AccountSid:AuthToken`, the path's `{AccountSid}` being the caller's (else 401
//! code 20003 "Authenticate", with `WWW-Authenticate: Basic`):
//! - `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form `To`, `From` (the
//!   account's number, [`SandboxConfig::twilio_from_number`]) or `MessagingServiceSid`,
//!   `Body`, optional `StatusCallback`: 201 with the Message resource (`sid` `SM...`,
//!   `status` `queued`, or `accepted` with `from: null` for a Messaging Service;
//!   `num_segments`, RFC 2822 dates, `uri`, `subresource_uris`). Errors, checked in this
//!   order, 400: 21604 no `To`; 21603 no `From`/`MessagingServiceSid`; 21602 no `Body`;
//!   21617 `Body` over 1600 characters; 21211 `To` not E.164 (or the magic
//!   `+15005550001`); 21212 `From` not a number; 21606 `From` not the account's; 21705
//!   malformed `MessagingServiceSid`; 21609 `StatusCallback` not an absolute URL; 21614
//!   `+15005550009`; 21610 an opted-out `To` (or `+15005550004`).
//! - `GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`: the resource as it stands;
//!   unknown 404 code 20404.
//! - Errors `{code, message, more_info: "https://www.twilio.com/docs/errors/<code>",
//!   status}`. 429 code 20429 (no `Retry-After`, as Twilio sends none), 500/503 code
//!   20500/20503 come from fault injection: [`Injection::twilio_throttled`],
//!   [`Injection::twilio_error`], [`Injection::twilio_api_error`]; chaos mode answers
//!   Twilio-shaped errors on these paths.
//! - After the 201, in the background, the status moves `queued` → `sent` → `delivered`
//!   ([`SandboxConfig::twilio_status_delay`] apart); to `+15005550010` it ends
//!   `undelivered` (30003), to `+15005550011` `queued` → `failed` (30006). With a
//!   `StatusCallback` each change is POSTed there as a form (`MessageSid`, `SmsSid`,
//!   `AccountSid`, `From`, `To`, `MessageStatus`, `SmsStatus`, `ApiVersion`,
//!   `MessagingServiceSid` when used, `ErrorCode` for `undelivered`/`failed`) with
//!   `X-Twilio-Signature` (`booking_proto::twilio_signature` over the URL, query included,
//!   and the parameters, keyed with the auth token); a non-2xx answer or none is retried
//!   ([`SandboxConfig::twilio_callback_attempts`], doubling from
//!   [`SandboxConfig::twilio_callback_retry_base`]). Faults ([`TwilioCallbackFaults`]):
//!   every callback twice, and/or a message's callbacks held and sent newest first.
//! - Replies (played through the control API) are POSTed, signed the same way, to the
//!   number's "A message comes in" webhook: `MessageSid`, `SmsSid`, `SmsMessageSid`,
//!   `AccountSid`, `From`, `To`, `Body`, `NumMedia`, `NumSegments`, `SmsStatus=received`,
//!   `ApiVersion`. A reply that is an opt-out keyword (STOP, STOPALL, UNSUBSCRIBE, CANCEL,
//!   END, QUIT; the whole body, trimmed, any case) opts the sender out, as Twilio does for
//!   the number, so sends to it get 21610; START, YES or UNSTOP opt back in. The webhook
//!   still gets the reply in both cases.
//!
//! **Control and inspection** (prefix `/_sandbox`, errors `{"error": "..."}`), all wrapped
//! by [`SandboxClient`]:
//! - `GET /health`, `POST /reset`, `GET /state` (everything, snapshot format).
//! - `GET|DELETE /requests` (`?method=&path_prefix=`): the per-request log.
//! - `GET|DELETE /faults`, `POST /faults/injections` ([`Injection`]), `POST
//!   /faults/latency` ([`Latency`]), `POST /faults/drops` ([`DropConnections`]: close
//!   without answering), `PUT|DELETE /faults/chaos` ([`ChaosConfig`]).
//! - `GET|POST /google/grants`, `POST /google/grants/{refresh_token}/revoke|restore`,
//!   `POST /google/access-tokens/expire`, `POST /google/sync-tokens/expire`, `GET
//!   /google/events?include_deleted=`.
//! - `GET /hubspot/contacts|tasks|notes`; `GET|DELETE /sendgrid/emails`, `GET
//!   /sendgrid/emails/count` (`{"count": n}`).
//! - `GET /calendly/events`, `GET|POST /calendly/invitees` (book; an optional
//!   `text_reminder_number` is kept, carried over a reschedule, and rendered), `POST
//!   /calendly/invitees/{uuid}/cancel`, `POST /calendly/invitees/{uuid}/reschedule`
//!   (order and which webhooks to send are options), `GET /calendly/deliveries`, `POST
//!   /calendly/deliveries/{id}/redeliver`, `POST /calendly/webhooks/raw`, `GET|PUT
//!   /calendly/webhook` (target, signing key, enabled).
//! - `GET /microsoft/events?include_deleted=` ([`GraphEventRecord`]), `POST
//!   /microsoft/events/{id}/delete` and `/move` (`{start, end}`, [`GraphEventMove`]) as a
//!   person would in Outlook (both show in delta), `GET /microsoft/apps`, `POST
//!   /microsoft/apps/{client_id}/expire-secret|disable|restore`, `POST
//!   /microsoft/access-tokens/expire`, `POST /microsoft/delta-tokens/expire`.
//! - `GET|DELETE /twilio/messages` ([`TwilioMessage`]: status, `status_callback` and every
//!   callback with each attempt's answer), `GET /twilio/messages/{sid}`, `GET
//!   /twilio/opt-outs` ([`TwilioOptOut`]), `POST /twilio/inbound` ([`TwilioInbound`]
//!   `{from, body, message_sid?, to?, twice?}`: plays a reply, answers
//!   [`TwilioInboundMessage`] with the `MessageSid` used and the webhook's answers after
//!   they came), `GET /twilio/inbound` (every reply), `GET|PUT /twilio/inbound-webhook`
//!   (`{"url": ...}`), `GET|PUT /twilio/callback-faults` ([`TwilioCallbackFaults`], for
//!   messages accepted afterwards; `DELETE /faults` and reset clear them).
//!
//! Booking changes made through the control API answer after the first delivery attempt
//! of their webhooks (in the requested order); retries run in the background. A reset keeps
//! the Calendly subscription and the Twilio inbound webhook.
//!
//! # Not reproduced, on purpose
//!
//! - Google: recurring events and their expansion (`singleEvents` is accepted, there is
//!   nothing to expand); time-zone rendering (times come back as sent; a `dateTime`
//!   needs an explicit offset); calendar lists, ACLs and per-calendar access (any
//!   calendar id exists, created on first use; `primary` is
//!   [`SandboxConfig::google_primary_calendar`]); `If-None-Match`/304; quotas other than
//!   what faults inject; the OAuth consent flow (only the refresh-token grant exists).
//! - Microsoft: delegated auth, consent and every grant but client credentials with a
//!   secret (no certificates, no `/common` or domain-name tenants); recurring events,
//!   instances and `calendarView` itself (only its delta); time zones other than `UTC`
//!   (no `Prefer: outlook.timezone`; times always come back in UTC); whether users and
//!   mailboxes exist (any user id works, created on first use) and application access
//!   policies; `$select`, `$orderby`, `$search` and any `$filter` but the
//!   extended-property `any` one (unknown body properties such as `categories` are
//!   accepted and ignored); multi-value extended properties; change notifications
//!   (webhooks); throttling on its own (faults inject it); delta may report as removed an
//!   event the client never saw (created and deleted, or changed outside the window,
//!   between two rounds), which real Graph may leave out.
//! - HubSpot: the search index's lag (search sees writes at once; the real one may take
//!   seconds, so a create-then-search de-duplication can race there); the separate search
//!   rate limit and the daily limit; companies, deals and other objects; association
//!   labels beyond the four HUBSPOT_DEFINED contact↔task/note types; property history.
//! - SendGrid: templates are not looked up (any non-empty `template_id` is accepted), no
//!   mail is sent, scheduled `send_at` is only recorded; attachments, ASM, mail settings
//!   are accepted without checks.
//! - Twilio: media (MMS), message listing, updating and deleting, scheduling, Messaging
//!   Services themselves (any well-formed `MG...` sid is one, sending from the account's
//!   number), prices (`price` stays `null`), `HELP` auto-replies and the opt-out
//!   confirmation text, rate limits other than injected ones; opt-outs are per lead number
//!   (one sender number exists). Twilio does not retry status callbacks unless asked to
//!   through connection overrides; the stand-in retries them so a receiver's failure shows.
//!   A restart abandons status changes and callbacks still in flight.
//! - Calendly: event types, availability and routing forms (every booking is a one-on-one
//!   event of one event type, owned by one user); API rate limits (faults can inject
//!   them); webhook subscription management through the API (the subscription is
//!   configured through the control API instead).

mod acuity;
mod body;
mod calendly;
mod client;
mod config;
mod control;
pub mod defaults;
mod email;
mod faults;
mod google_calendar;
mod google_oauth;
mod hubspot;
mod ical;
mod microsoft;
mod percent;
mod ratelimit;
mod request_log;
mod rng;
mod sendgrid;
mod server;
mod snapshot;
mod state;
mod time;
mod twilio;
mod webhook_retries;

pub use calendly::booking::{
    BookInvitee, Booked, CancelInvitee, CancelerType, Cancelled, InviteeChanged,
    RescheduleDelivery, RescheduleInvitee, RescheduleOrder, Rescheduled,
};
pub use calendly::model::{
    CalendlyEvent, CalendlyInvitee, CalendlyStatus, Cancellation, QuestionAndAnswer, Tracking,
};
pub use calendly::webhooks::{
    DeliveryAttempt, DeliveryState, RawWebhook, SIGNATURE_HEADER as CALENDLY_SIGNATURE_HEADER,
    SignatureOverride, WebhookDelivery, signature as calendly_signature,
    signature_header as calendly_signature_header,
};
pub use calendly::{WebhookSubscription, WebhookSubscriptionUpdate};
pub use client::{ClientError, SandboxClient, poll_until};
pub use config::SandboxConfig;
pub use faults::{ChaosConfig, DropConnections, Faults, InjectedBody, Injection, Latency};
pub use google_calendar::model::{
    Attendee, CalendarEventRecord, Event as CalendarEvent, EventDateTime, ExtendedProperties,
    Person, Reminders,
};
pub use google_oauth::GoogleGrant;
pub use hubspot::schema::ObjectType as CrmObjectType;
pub use hubspot::store::{CrmAssociation, CrmObject};
pub use microsoft::MicrosoftApp;
pub use microsoft::model::{GraphEventMove, GraphEventRecord};
pub use request_log::{RequestOutcome, RequestRecord};
pub use sendgrid::model::{MailAddress, MailContent, MailPersonalization, SentEmail};
pub use server::{RunningSandbox, SandboxError, start};
pub use snapshot::SnapshotError;
pub use twilio::callbacks::SIGNATURE_HEADER as TWILIO_SIGNATURE_HEADER;
pub use twilio::magic as twilio_magic;
pub use twilio::model::{
    TwilioCallback, TwilioCallbackFaults, TwilioCallbackState, TwilioInbound, TwilioInboundMessage,
    TwilioInboundWebhook, TwilioMessage, TwilioMessageStatus, TwilioOptOut, TwilioWebhookAttempt,
};
