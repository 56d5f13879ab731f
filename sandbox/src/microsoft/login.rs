//! Microsoft identity platform token endpoint stand-in (`POST
//! /microsoft/login/{tenant}/oauth2/v2.0/token`, real
//! `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`). Only the
//! client-credentials grant with a client secret exists: app-only access to Graph.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::GraphAccessToken;
use crate::body::{BodyError, PathParams, RawBody, correlation_id, is_form};
use crate::state::Shared;
use crate::time;

/// The only scope the client-credentials grant accepts here.
pub const GRAPH_DEFAULT_SCOPE: &str = "https://graph.microsoft.com/.default";

/// `{error, error_description: "AADSTS<N>: ... Trace ID: ... Correlation ID: ...
/// Timestamp: ...", error_codes, timestamp, trace_id, correlation_id, error_uri}`.
pub fn error_body(error: &str, aadsts: u32, text: &str) -> Value {
    let trace_id = correlation_id();
    let correlation = correlation_id();
    let timestamp = time::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    json!({
        "error": error,
        "error_description": format!(
            "AADSTS{aadsts}: {text} Trace ID: {trace_id} Correlation ID: {correlation} Timestamp: {timestamp}"
        ),
        "error_codes": [aadsts],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation,
        "error_uri": format!("https://login.microsoftonline.com/error?code={aadsts}"),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginError {
    pub status: StatusCode,
    pub error: &'static str,
    pub aadsts: u32,
    pub text: String,
}

impl LoginError {
    fn new(status: StatusCode, error: &'static str, aadsts: u32, text: impl Into<String>) -> Self {
        Self {
            status,
            error,
            aadsts,
            text: text.into(),
        }
    }

    fn missing(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }
}

impl From<BodyError> for LoginError {
    fn from(e: BodyError) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_144,
            format!("The request body could not be read: {}", e.detail()),
        )
    }
}

impl IntoResponse for LoginError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(error_body(self.error, self.aadsts, &self.text)),
        )
            .into_response();
        no_store(response.headers_mut());
        response
    }
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

pub fn router() -> Router<Shared> {
    Router::new().route("/{tenant}/oauth2/v2.0/token", post(token))
}

fn non_empty<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

async fn token(
    State(state): State<Shared>,
    PathParams(tenant, _): PathParams<String, LoginError>,
    RawBody(headers, body, _): RawBody<LoginError>,
) -> Result<Response, LoginError> {
    // Anything but a form body reads as an empty one: the first missing parameter answers.
    let params: BTreeMap<String, String> = if is_form(&headers) {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        BTreeMap::new()
    };
    let lifetime = state.config.microsoft_token_lifetime;
    let now = time::now();
    let issued = state.change(|p| {
        let ms = &mut p.microsoft;
        if !ms
            .apps
            .values()
            .any(|a| a.tenant_id.eq_ignore_ascii_case(&tenant))
        {
            return Err(LoginError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90_002,
                format!(
                    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
                ),
            ));
        }
        let grant_type =
            non_empty(&params, "grant_type").ok_or_else(|| LoginError::missing("grant_type"))?;
        if grant_type != "client_credentials" {
            return Err(LoginError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70_003,
                format!("The app requested an unsupported grant type '{grant_type}'."),
            ));
        }
        let client_id =
            non_empty(&params, "client_id").ok_or_else(|| LoginError::missing("client_id"))?;
        let app = ms
            .apps
            .get(client_id)
            .filter(|a| a.tenant_id.eq_ignore_ascii_case(&tenant))
            .ok_or_else(|| {
                LoginError::new(
                    StatusCode::BAD_REQUEST,
                    "unauthorized_client",
                    700_016,
                    format!(
                        "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
                    ),
                )
            })?;
        if app.disabled {
            return Err(LoginError::new(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                7_000_112,
                format!("Application '{client_id}'(sandbox app) is disabled."),
            ));
        }
        let secret = non_empty(&params, "client_secret").ok_or_else(|| {
            LoginError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7_000_218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )
        })?;
        if secret != app.client_secret {
            return Err(LoginError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7_000_215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"
                    .to_owned()
                    + client_id
                    + "'.",
            ));
        }
        if app.secret_expired {
            return Err(LoginError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7_000_222,
                format!(
                    "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
                ),
            ));
        }
        let scope = params.get("scope").map(String::as_str).unwrap_or_default();
        if scope != GRAPH_DEFAULT_SCOPE {
            return Err(LoginError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                1_002_012,
                format!(
                    "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
            ));
        }
        let client_id = client_id.to_owned();
        let access_token = format!(
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.sandbox-{}",
            uuid::Uuid::new_v4().simple()
        );
        // Expired tokens are dead weight; dropping them keeps the snapshot small.
        ms.access_tokens.retain(|_, t| t.expires_at > now);
        ms.access_tokens.insert(
            access_token.clone(),
            GraphAccessToken {
                client_id,
                expires_at: now
                    + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::hours(1)),
            },
        );
        Ok(access_token)
    })?;
    let mut response = Json(json!({
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "ext_expires_in": lifetime.as_secs(),
        "access_token": issued,
    }))
    .into_response();
    no_store(response.headers_mut());
    Ok(response)
}
