//! Google OAuth access tokens: the only code that knows OAuth.
//!
//! [`TokenProvider::get_valid_token`] hands out a cached access token until
//! [`EXPIRY_MARGIN`] before it expires, then exchanges the account's refresh token for a new
//! one (`grant_type=refresh_token`). One refresh runs at a time per account: concurrent
//! callers wait on the account's `tokio::sync::Mutex` and then take the token the first one
//! fetched. A revoked grant (`invalid_grant`) is [`ProviderError::GrantRevoked`]: fatal, and
//! logged at ERROR naming the account a person has to re-authorise.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex as StdMutex},
    time::{Duration, Instant},
};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::{
    config::GoogleOAuthConfig,
    error::{Provider, ProviderError},
    http::Http,
    secret::Secret,
};

/// Name of the account configured by `BOOKINGS_GOOGLE_REFRESH_TOKEN`.
pub const DEFAULT_ACCOUNT: &str = "default";

/// A token is renewed this long before Google says it expires, so no call starts with a
/// token about to die in flight.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

const PROVIDER: Provider = Provider::GoogleOAuth;

#[derive(Debug, Clone)]
struct CachedToken {
    token: Secret,
    renew_at: Instant,
}

#[derive(Debug, Default)]
struct AccountSlot {
    cached: Mutex<Option<CachedToken>>,
}

/// Access tokens per Google account, refreshed on demand.
#[derive(Debug, Clone)]
pub struct TokenProvider {
    http: Http,
    config: GoogleOAuthConfig,
    /// Account name -> refresh token.
    refresh_tokens: Arc<HashMap<String, Secret>>,
    slots: Arc<StdMutex<HashMap<String, Arc<AccountSlot>>>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
}

impl TokenProvider {
    pub fn new(http: Http, config: GoogleOAuthConfig) -> Self {
        let refresh_tokens =
            HashMap::from([(DEFAULT_ACCOUNT.to_owned(), config.refresh_token.clone())]);
        Self {
            http,
            config,
            refresh_tokens: Arc::new(refresh_tokens),
            slots: Arc::default(),
        }
    }

    fn slot(&self, account: &str) -> Arc<AccountSlot> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(account.to_owned()).or_default().clone()
    }

    /// An access token for `account` that stays valid for at least [`EXPIRY_MARGIN`].
    pub async fn get_valid_token(&self, account: &str) -> Result<Secret, ProviderError> {
        let slot = self.slot(account);
        let mut cached = slot.cached.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(token.token.clone());
        }
        let fresh = self.refresh(account).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets `rejected` (a token a provider answered 401 to), so the next
    /// [`get_valid_token`](Self::get_valid_token) refreshes. A token already replaced by a
    /// concurrent caller is left alone, so one 401 wave causes one refresh.
    pub async fn invalidate(&self, account: &str, rejected: &Secret) {
        let slot = self.slot(account);
        let mut cached = slot.cached.lock().await;
        if cached.as_ref().is_some_and(|c| &c.token == rejected) {
            *cached = None;
        }
    }

    async fn refresh(&self, account: &str) -> Result<CachedToken, ProviderError> {
        let refresh_token =
            self.refresh_tokens
                .get(account)
                .ok_or_else(|| ProviderError::GrantRevoked {
                    provider: PROVIDER,
                    account: account.to_owned(),
                    body: "no refresh token is configured for this account".into(),
                })?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("client_secret", self.config.client_secret.expose())
            .append_pair("refresh_token", refresh_token.expose())
            .finish();
        let request = self
            .http
            .client
            .post(self.config.token_url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form);
        let requested_at = Instant::now();
        let answer = self.http.send(PROVIDER, request).await?;
        if answer.is_success() {
            let body: TokenResponse = answer.json()?;
            let lifetime = Duration::from_secs(body.expires_in);
            return Ok(CachedToken {
                token: Secret::new(body.access_token),
                renew_at: requested_at + lifetime.saturating_sub(EXPIRY_MARGIN),
            });
        }
        let oauth_error = serde_json::from_str::<OAuthErrorBody>(&answer.body)
            .map(|b| b.error)
            .unwrap_or_default();
        if answer.status == 400 && oauth_error == "invalid_grant" {
            tracing::error!(
                account,
                "Google refused the refresh token of account {account:?} (invalid_grant): \
                 a person must re-authorise this account"
            );
            return Err(ProviderError::GrantRevoked {
                provider: PROVIDER,
                account: account.to_owned(),
                body: answer.body,
            });
        }
        if oauth_error == "invalid_client" {
            return Err(ProviderError::AuthRejected {
                provider: PROVIDER,
                status: answer.status,
                body: answer.body,
            });
        }
        Err(answer.into_error())
    }
}
