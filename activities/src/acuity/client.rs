//! [`AcuityClient`]: `GET /api/v1/appointments/{id}` and the window listing.

use chrono::{DateTime, NaiveDate, Utc};
use url::Url;

use super::model::{Appointment, PROVIDER, bad};
use crate::{
    config::AcuityConfig,
    error::{ProviderError, retry_after_header},
    http::{Answer, Http},
};

/// Appointments one listing asks for (`max`); a window holding more is refused rather than
/// read short, so reconciliation never mistakes a truncated listing for the whole.
pub const MAX_LISTED: usize = 1000;

#[derive(Debug, Clone)]
pub struct AcuityClient {
    http: Http,
    config: AcuityConfig,
}

fn classify(answer: Answer) -> ProviderError {
    let delay = retry_after_header(&answer.headers);
    ProviderError::from_status(PROVIDER, answer.status, delay, answer.body)
}

impl AcuityClient {
    pub fn new(config: &AcuityConfig, http: Http) -> Self {
        Self {
            http,
            config: config.clone(),
        }
    }

    fn url(&self, segments: &[&str]) -> Url {
        crate::http::endpoint(&self.config.base_url, segments.iter().copied())
    }

    async fn get(&self, url: Url) -> Result<String, ProviderError> {
        let request = self
            .http
            .client
            .get(url)
            .basic_auth(&self.config.user_id, Some(self.config.api_key.expose()));
        let answer = self.http.send(PROVIDER, request).await?;
        if answer.is_success() {
            Ok(answer.body)
        } else {
            Err(classify(answer))
        }
    }

    /// The appointment as Acuity holds it now. 404 is `NotFound` (fatal).
    pub async fn appointment(&self, id: u64) -> Result<Appointment, ProviderError> {
        let body = self
            .get(self.url(&["api", "v1", "appointments", &id.to_string()]))
            .await?;
        Appointment::parse(&body)
    }

    /// Appointments on the dates `min..=max` (Acuity's dates are in each appointment's zone):
    /// only active ones, or with `canceled` only canceled ones, as Acuity lists them.
    pub async fn appointments(
        &self,
        min_date: NaiveDate,
        max_date: NaiveDate,
        canceled: bool,
    ) -> Result<Vec<Appointment>, ProviderError> {
        let mut url = self.url(&["api", "v1", "appointments"]);
        url.query_pairs_mut()
            .append_pair("minDate", &min_date.format("%Y-%m-%d").to_string())
            .append_pair("maxDate", &max_date.format("%Y-%m-%d").to_string())
            .append_pair("canceled", if canceled { "true" } else { "false" })
            .append_pair("max", &MAX_LISTED.to_string());
        let body = self.get(url).await?;
        let listed: Vec<Appointment> =
            serde_json::from_str(&body).map_err(|e| bad(format!("appointment listing: {e}")))?;
        if listed.len() >= MAX_LISTED {
            return Err(bad(format!(
                "the listing holds {MAX_LISTED} appointments or more; narrow the window"
            )));
        }
        for a in &listed {
            a.check()?;
        }
        Ok(listed)
    }

    /// Every appointment, active or canceled, starting in `[start, end)`, by start time. The
    /// date filter is widened by a day each side, since Acuity's dates are local.
    pub async fn window(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<Appointment>, ProviderError> {
        let min = (start - chrono::Duration::days(1)).date_naive();
        let max = (end + chrono::Duration::days(1)).date_naive();
        let mut all = self.appointments(min, max, false).await?;
        all.extend(self.appointments(min, max, true).await?);
        all.retain(|a| a.start() >= start && a.start() < end);
        all.sort_by_key(|a| (a.start(), a.id));
        all.dedup_by_key(|a| a.id);
        Ok(all)
    }
}
