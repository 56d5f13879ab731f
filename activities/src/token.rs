//! OAuth access tokens for the calendar providers: the only code that knows OAuth.
//!
//! [`TokenProvider::get_valid_token`] hands out a cached access token until
//! [`EXPIRY_MARGIN`] before it expires, then fetches a new one with the account's grant:
//!
//! - [`DEFAULT_ACCOUNT`], Google: the refresh-token grant (`grant_type=refresh_token`). A
//!   revoked grant (`invalid_grant`) is [`ProviderError::GrantRevoked`].
//! - [`MICROSOFT_ACCOUNT`], the Microsoft identity platform: the client-credentials grant of
//!   an app registration (app-only access to the tenant's mailboxes), against
//!   `{login}/{tenant}/oauth2/v2.0/token`. The `AADSTS` code of a refusal decides: an expired
//!   or disabled secret, an app gone from the tenant or withdrawn consent is
//!   [`ProviderError::GrantRevoked`]; a wrong secret or an unknown tenant is
//!   [`ProviderError::AuthRejected`] (the configuration is wrong, not the grant).
//!
//! One fetch runs at a time per account: concurrent callers wait on the account's
//! `tokio::sync::Mutex` and then take the token the first one fetched. Every refusal that a
//! person must act on is logged at ERROR saying what to re-authorise.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex as StdMutex},
    time::{Duration, Instant},
};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::{
    config::{GoogleOAuthConfig, MicrosoftIdentityConfig},
    error::{Provider, ProviderError},
    http::Http,
    secret::Secret,
};

/// Name of the Google account configured by `BOOKINGS_GOOGLE_REFRESH_TOKEN`.
pub const DEFAULT_ACCOUNT: &str = "default";

/// Name of the Microsoft app registration configured by `BOOKINGS_MICROSOFT_*`.
pub const MICROSOFT_ACCOUNT: &str = "microsoft";

/// A token is renewed this long before Google says it expires, so no call starts with a
/// token about to die in flight.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
struct CachedToken {
    token: Secret,
    renew_at: Instant,
}

#[derive(Debug, Default)]
struct AccountSlot {
    cached: Mutex<Option<CachedToken>>,
}

/// How an account gets its access tokens.
#[derive(Debug, Clone)]
enum Grant {
    GoogleRefreshToken(GoogleOAuthConfig),
    MicrosoftClientCredentials(MicrosoftIdentityConfig),
}

/// Access tokens per account, fetched on demand.
#[derive(Debug, Clone)]
pub struct TokenProvider {
    http: Http,
    /// Account name -> its grant.
    grants: Arc<HashMap<String, Grant>>,
    slots: Arc<StdMutex<HashMap<String, Arc<AccountSlot>>>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize, Default)]
struct OAuthErrorBody {
    #[serde(default)]
    error: String,
    /// The identity platform's `AADSTS` numbers.
    #[serde(default)]
    error_codes: Vec<u64>,
}

impl OAuthErrorBody {
    fn read(body: &str) -> Self {
        serde_json::from_str(body).unwrap_or_default()
    }
}

impl TokenProvider {
    /// Tokens for the configured accounts: Google's [`DEFAULT_ACCOUNT`] and the Microsoft
    /// [`MICROSOFT_ACCOUNT`], each when its provider is used by some calendar.
    pub fn new(
        http: Http,
        google: Option<GoogleOAuthConfig>,
        microsoft: Option<MicrosoftIdentityConfig>,
    ) -> Self {
        let mut grants = HashMap::new();
        if let Some(config) = google {
            grants.insert(
                DEFAULT_ACCOUNT.to_owned(),
                Grant::GoogleRefreshToken(config),
            );
        }
        if let Some(config) = microsoft {
            grants.insert(
                MICROSOFT_ACCOUNT.to_owned(),
                Grant::MicrosoftClientCredentials(config),
            );
        }
        Self {
            http,
            grants: Arc::new(grants),
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

    /// Sends a request built by `build` with `account`'s bearer token. A 401 makes the token
    /// be forgotten, renewed once and the request sent once more: token renewal, not a retry
    /// loop (retries belong to Temporal).
    pub async fn send_authorised(
        &self,
        http: &Http,
        provider: Provider,
        account: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<crate::http::Answer, ProviderError> {
        let token = self.get_valid_token(account).await?;
        let answer = http
            .send(provider, build(&http.client).bearer_auth(token.expose()))
            .await?;
        if answer.status != 401 {
            return Ok(answer);
        }
        tracing::info!(
            account,
            %provider,
            "the provider refused the access token; renewing it once"
        );
        self.invalidate(account, &token).await;
        let token = self.get_valid_token(account).await?;
        http.send(provider, build(&http.client).bearer_auth(token.expose()))
            .await
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
        match self.grants.get(account) {
            Some(Grant::GoogleRefreshToken(config)) => self.refresh_google(account, config).await,
            Some(Grant::MicrosoftClientCredentials(config)) => {
                self.fetch_microsoft(account, config).await
            }
            None => Err(ProviderError::GrantRevoked {
                provider: if account == MICROSOFT_ACCOUNT {
                    Provider::MicrosoftIdentity
                } else {
                    Provider::GoogleOAuth
                },
                account: account.to_owned(),
                body: "no credentials are configured for this account".into(),
            }),
        }
    }

    /// Posts a token request and reads a successful answer into a cached token.
    async fn request_token(
        &self,
        provider: Provider,
        token_url: url::Url,
        form: String,
    ) -> Result<Result<CachedToken, crate::http::Answer>, ProviderError> {
        let request = self
            .http
            .client
            .post(token_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form);
        let requested_at = Instant::now();
        let answer = self.http.send(provider, request).await?;
        if !answer.is_success() {
            return Ok(Err(answer));
        }
        let body: TokenResponse = answer.json()?;
        let lifetime = Duration::from_secs(body.expires_in);
        Ok(Ok(CachedToken {
            token: Secret::new(body.access_token),
            renew_at: requested_at + lifetime.saturating_sub(EXPIRY_MARGIN),
        }))
    }

    async fn refresh_google(
        &self,
        account: &str,
        config: &GoogleOAuthConfig,
    ) -> Result<CachedToken, ProviderError> {
        const PROVIDER: Provider = Provider::GoogleOAuth;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("client_id", &config.client_id)
            .append_pair("client_secret", config.client_secret.expose())
            .append_pair("refresh_token", config.refresh_token.expose())
            .finish();
        let answer = match self
            .request_token(PROVIDER, config.token_url.clone(), form)
            .await?
        {
            Ok(token) => return Ok(token),
            Err(answer) => answer,
        };
        let oauth_error = OAuthErrorBody::read(&answer.body).error;
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

    async fn fetch_microsoft(
        &self,
        account: &str,
        config: &MicrosoftIdentityConfig,
    ) -> Result<CachedToken, ProviderError> {
        const PROVIDER: Provider = Provider::MicrosoftIdentity;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &config.client_id)
            .append_pair("client_secret", config.client_secret.expose())
            .append_pair("scope", GRAPH_DEFAULT_SCOPE)
            .finish();
        let answer = match self
            .request_token(PROVIDER, config.token_url(), form)
            .await?
        {
            Ok(token) => return Ok(token),
            Err(answer) => answer,
        };
        let refusal = OAuthErrorBody::read(&answer.body);
        match aadsts_refusal(&refusal.error_codes) {
            Some(AadstsRefusal::GrantGone(what)) => {
                tracing::error!(
                    account,
                    tenant = %config.tenant_id,
                    client_id = %config.client_id,
                    "the Microsoft identity platform refused app registration {} in tenant {}: \
                     {what}; a tenant administrator must act before any Microsoft calendar \
                     call can succeed",
                    config.client_id,
                    config.tenant_id,
                );
                Err(ProviderError::GrantRevoked {
                    provider: PROVIDER,
                    account: format!(
                        "{account} (tenant {}, app {})",
                        config.tenant_id, config.client_id
                    ),
                    body: answer.body,
                })
            }
            Some(AadstsRefusal::Misconfigured) => Err(ProviderError::AuthRejected {
                provider: PROVIDER,
                status: answer.status,
                body: answer.body,
            }),
            None if refusal.error == "invalid_client" => Err(ProviderError::AuthRejected {
                provider: PROVIDER,
                status: answer.status,
                body: answer.body,
            }),
            None => Err(answer.into_error()),
        }
    }
}

/// The scope of app-only Microsoft Graph access: every application permission the tenant's
/// administrator granted the app (here `Calendars.ReadWrite`).
const GRAPH_DEFAULT_SCOPE: &str = "https://graph.microsoft.com/.default";

/// What an `AADSTS` refusal asks of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AadstsRefusal {
    /// The grant itself is gone: renew or re-consent (fatal, `GrantRevoked`).
    GrantGone(&'static str),
    /// The configuration names the wrong secret or tenant (fatal, `AuthRejected`).
    Misconfigured,
}

fn aadsts_refusal(codes: &[u64]) -> Option<AadstsRefusal> {
    codes.iter().find_map(|code| {
        Some(match code {
            7_000_222 => AadstsRefusal::GrantGone("the client secret has expired; add a new one"),
            7_000_112 => AadstsRefusal::GrantGone("the application is disabled"),
            700_016 => AadstsRefusal::GrantGone(
                "the application is not registered in the tenant (deleted, or never consented)",
            ),
            65_001 => {
                AadstsRefusal::GrantGone("administrator consent was not granted or was withdrawn")
            }
            50_173 | 700_082 | 70_008 => {
                AadstsRefusal::GrantGone("the grant expired or was revoked")
            }
            7_000_215 | 90_002 | 900_023 => AadstsRefusal::Misconfigured,
            _ => return None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_codes_say_who_must_act() {
        assert!(matches!(
            aadsts_refusal(&[7_000_222]),
            Some(AadstsRefusal::GrantGone(_))
        ));
        assert!(matches!(
            aadsts_refusal(&[700_016]),
            Some(AadstsRefusal::GrantGone(_))
        ));
        assert_eq!(
            aadsts_refusal(&[7_000_215]),
            Some(AadstsRefusal::Misconfigured)
        );
        assert_eq!(
            aadsts_refusal(&[90_002]),
            Some(AadstsRefusal::Misconfigured)
        );
        assert_eq!(aadsts_refusal(&[50_058]), None);
        assert_eq!(aadsts_refusal(&[]), None);
    }
}
