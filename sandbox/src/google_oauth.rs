//! Google OAuth 2.0 token endpoint stand-in (`POST /google/oauth2/token`, real:
//! `https://oauth2.googleapis.com/token`). Only the refresh-token grant exists here: the
//! consent screen that produces a refresh token is a human step the sandbox replaces with
//! pre-provisioned grants.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::body::{BodyError, RawBody, is_form, is_json};
use crate::config::SandboxConfig;
use crate::defaults;
use crate::state::Shared;
use crate::time;

/// A refresh-token grant a client may exchange for access tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleGrant {
    pub refresh_token: String,
    pub client_id: String,
    pub client_secret: String,
    #[serde(default = "default_scope")]
    pub scope: String,
    /// A revoked grant answers `invalid_grant` until restored.
    #[serde(default)]
    pub revoked: bool,
}

fn default_scope() -> String {
    defaults::GOOGLE_SCOPE.to_owned()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessToken {
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuthState {
    /// Grants by refresh token.
    pub grants: BTreeMap<String, GoogleGrant>,
    /// Issued access tokens by token.
    pub access_tokens: BTreeMap<String, AccessToken>,
}

/// Why an access token is refused by a Google API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Unknown,
    Expired,
    Revoked,
}

impl OAuthState {
    pub fn provision(&mut self, config: &SandboxConfig) {
        self.grants
            .entry(config.google_refresh_token.clone())
            .or_insert_with(|| GoogleGrant {
                refresh_token: config.google_refresh_token.clone(),
                client_id: config.google_client_id.clone(),
                client_secret: config.google_client_secret.clone(),
                scope: default_scope(),
                revoked: false,
            });
    }

    pub fn check_access(&self, token: &str, now: DateTime<Utc>) -> Result<(), TokenProblem> {
        let issued = self.access_tokens.get(token).ok_or(TokenProblem::Unknown)?;
        if issued.expires_at <= now {
            return Err(TokenProblem::Expired);
        }
        match self.grants.get(&issued.refresh_token) {
            Some(g) if !g.revoked => Ok(()),
            _ => Err(TokenProblem::Revoked),
        }
    }

    fn client_known(&self, client_id: &str) -> bool {
        self.grants.values().any(|g| g.client_id == client_id)
    }

    fn client_secret_ok(&self, client_id: &str, secret: &str) -> bool {
        self.grants
            .values()
            .any(|g| g.client_id == client_id && g.client_secret == secret)
    }

    /// Revoking a refresh token also kills the access tokens minted from it, as Google does.
    pub fn set_revoked(&mut self, refresh_token: &str, revoked: bool) -> bool {
        let Some(grant) = self.grants.get_mut(refresh_token) else {
            return false;
        };
        grant.revoked = revoked;
        if revoked {
            self.access_tokens
                .retain(|_, t| t.refresh_token != refresh_token);
        }
        true
    }

    pub fn expire_all(&mut self, now: DateTime<Utc>) {
        for token in self.access_tokens.values_mut() {
            token.expires_at = token.expires_at.min(now);
        }
    }
}

pub fn error_body(error: &str, description: &str) -> Value {
    json!({ "error": error, "error_description": description })
}

/// Token-endpoint error: `{"error", "error_description"}`.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
}

impl From<BodyError> for OAuthError {
    fn from(e: BodyError) -> Self {
        Self::invalid_request(format!("Invalid request: {}", e.detail()))
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, Json(error_body(self.error, &self.description))).into_response();
        no_store(response.headers_mut());
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"oauth2\""),
            );
        }
        response
    }
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

#[derive(Debug, Serialize, Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
    scope: String,
    token_type: &'static str,
}

pub fn router() -> Router<Shared> {
    Router::new().route("/token", post(token))
}

/// The parameters, from a form body (the standard) or a JSON body (Google accepts both).
fn parameters(headers: &HeaderMap, body: &[u8]) -> Result<BTreeMap<String, String>, OAuthError> {
    if is_form(headers) {
        Ok(url::form_urlencoded::parse(body).into_owned().collect())
    } else if is_json(headers) {
        let value: BTreeMap<String, Value> = crate::body::parse_json(body)?;
        Ok(value
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Null => None,
                other => Some((k, other.to_string())),
            })
            .collect())
    } else {
        Err(OAuthError::invalid_request(
            "Invalid request: expected an application/x-www-form-urlencoded body",
        ))
    }
}

/// Client credentials from the body or an HTTP Basic header (client_secret_basic).
fn client_credentials(
    headers: &HeaderMap,
    params: &BTreeMap<String, String>,
) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| data_encoding::BASE64.decode(b64.trim().as_bytes()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
        });
    match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (
            params.get("client_id").cloned(),
            params.get("client_secret").cloned(),
        ),
    }
}

async fn token(
    State(state): State<Shared>,
    RawBody(headers, body, _): RawBody<OAuthError>,
) -> Result<Response, OAuthError> {
    let params = parameters(&headers, &body)?;
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("Required parameter is missing: grant_type"))?;
    let (client_id, client_secret) = client_credentials(&headers, &params);
    let client_id = client_id.filter(|c| !c.is_empty()).ok_or_else(|| {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Could not determine client ID from request.",
        )
    })?;

    let lifetime = state.config.token_lifetime;
    let now = time::now();
    let issued = state.change(|p| {
        let oauth = &mut p.google_oauth;
        if !oauth.client_known(&client_id) {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The OAuth client was not found.",
            ));
        }
        if !client_secret
            .as_deref()
            .is_some_and(|s| oauth.client_secret_ok(&client_id, s))
        {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Unauthorized",
            ));
        }
        if grant_type != "refresh_token" {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("Invalid grant_type: {grant_type}"),
            ));
        }
        let refresh_token = params
            .get("refresh_token")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                OAuthError::invalid_request("Missing required parameter: refresh_token")
            })?;
        let grant = oauth
            .grants
            .get(refresh_token)
            .filter(|g| !g.revoked && g.client_id == client_id)
            .ok_or_else(|| {
                OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Token has been expired or revoked.",
                )
            })?;
        let scope = grant.scope.clone();
        let access_token = format!("ya29.sandbox-{}", uuid::Uuid::new_v4().simple());
        // Expired tokens are dead weight; dropping them keeps the snapshot small.
        oauth.access_tokens.retain(|_, t| t.expires_at > now);
        oauth.access_tokens.insert(
            access_token.clone(),
            AccessToken {
                refresh_token: refresh_token.clone(),
                expires_at: now
                    + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::hours(1)),
            },
        );
        Ok(TokenResponse {
            access_token,
            expires_in: lifetime.as_secs(),
            scope,
            token_type: "Bearer",
        })
    })?;
    let mut response = Json(issued).into_response();
    no_store(response.headers_mut());
    Ok(response)
}
