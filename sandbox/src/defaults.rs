//! Credentials and identities the sandbox provisions when the configuration does not
//! say otherwise. Tests and local configs can use these constants instead of copying strings.

/// SendGrid API key accepted by `POST /sendgrid/v3/mail/send`.
pub const SENDGRID_API_KEY: &str = "SG.sandbox-key";
/// HubSpot private-app token accepted by every `/hubspot/crm/v3/...` call.
pub const HUBSPOT_TOKEN: &str = "sandbox-hubspot-token";
/// Calendly personal access token accepted by every `/calendly/...` call.
pub const CALENDLY_TOKEN: &str = "sandbox-calendly-token";
/// OAuth client id of the pre-provisioned Google grant.
pub const GOOGLE_CLIENT_ID: &str = "sandbox-client-id";
/// OAuth client secret of the pre-provisioned Google grant.
pub const GOOGLE_CLIENT_SECRET: &str = "sandbox-client-secret";
/// Refresh token of the pre-provisioned Google grant.
pub const GOOGLE_REFRESH_TOKEN: &str = "sandbox-refresh-token";
/// Scope reported for tokens of the pre-provisioned Google grant.
pub const GOOGLE_SCOPE: &str = "https://www.googleapis.com/auth/calendar";
/// Calendar that the `primary` calendar id stands for.
pub const GOOGLE_PRIMARY_CALENDAR: &str = "agent@sandbox.test";
/// Key used to sign Calendly webhooks (`Calendly-Webhook-Signature`).
pub const CALENDLY_SIGNING_KEY: &str = "sandbox-calendly-signing-key";
/// UUID of the Calendly user that owns every scheduled event (`/users/me`).
pub const CALENDLY_USER_UUID: &str = "SANDBOXUSER00001";
/// UUID of the Calendly organization of that user.
pub const CALENDLY_ORGANIZATION_UUID: &str = "SANDBOXORG000001";
/// UUID of the one Calendly event type every booking uses.
pub const CALENDLY_EVENT_TYPE_UUID: &str = "SANDBOXTYPE00001";
/// Name and email of the Calendly host.
pub const CALENDLY_HOST_NAME: &str = "Sandbox Agent";
/// Email of the Calendly host.
pub const CALENDLY_HOST_EMAIL: &str = "agent@sandbox.test";
/// Directory (tenant) id of the pre-provisioned Microsoft app registration.
pub const MICROSOFT_TENANT_ID: &str = "sandbox-tenant";
/// Application (client) id of the pre-provisioned Microsoft app registration.
pub const MICROSOFT_CLIENT_ID: &str = "00000000-0000-4000-8000-5a4db0c11e47";
/// Client secret of the pre-provisioned Microsoft app registration.
pub const MICROSOFT_CLIENT_SECRET: &str = "sandbox-microsoft-client-secret";
/// The scope of the client-credentials grant for Microsoft Graph.
pub const MICROSOFT_GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// Acuity user id: the HTTP Basic user of every `/acuity/api/v1/...` call.
pub const ACUITY_USER_ID: &str = "sandbox-acuity-user";
/// Acuity API key: the HTTP Basic password, and the key of `X-Acuity-Signature`.
pub const ACUITY_API_KEY: &str = "sandbox-acuity-key";
/// Account SID of the Twilio stand-in: the HTTP Basic user of every `/twilio/2010-04-01/...`
/// call and the `{AccountSid}` of its paths (`AC` and 32 hex digits, as Twilio's).
pub const TWILIO_ACCOUNT_SID: &str = "AC5a4db0c11e47000000000000005a4db0";
/// Auth token of that account: the HTTP Basic password, and the key of `X-Twilio-Signature`
/// on every status callback and inbound-message webhook.
pub const TWILIO_AUTH_TOKEN: &str = "5a4db0c11e47a0d1b0c2d3e4f5a6b7c8";
/// The account's SMS number (Twilio's test-credentials "valid From" number).
pub const TWILIO_FROM_NUMBER: &str = "+15005550006";
/// Default SandboxConfig port of the binary.
pub const PORT: u16 = 8089;
