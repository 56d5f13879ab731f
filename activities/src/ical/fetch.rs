//! The poll's conditional GET of a feed: `If-None-Match` / `If-Modified-Since` from what the
//! last applied body carried, so an unchanged feed costs a 304 and no parse.

use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::parse::{ParsedFeed, parse_feed};
use crate::{
    error::{Provider, ProviderError, retry_after_header},
    http::Http,
};

const PROVIDER: Provider = Provider::IcalFeed;

/// A feed larger than this is refused (fatal): a platform's feed of bookings is kilobytes,
/// and a runaway body must not fill a worker's memory or the workflow's history.
pub const MAX_FEED_BYTES: usize = 5 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchFeedInput {
    pub feed: String,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeedFetch {
    /// 304: unchanged since the validators sent.
    NotModified,
    Fetched {
        etag: Option<String>,
        last_modified: Option<String>,
        feed: ParsedFeed,
        body_sha256: String,
    },
    /// The feed answered 2xx but its body is not a usable calendar: a value, not an error, so
    /// the poll workflow holds the feed for an operator instead of retrying for ever.
    Malformed { reason: String, body_sha256: String },
}

fn rejected(message: String) -> ProviderError {
    ProviderError::Rejected {
        provider: PROVIDER,
        status: 0,
        body: message,
    }
}

/// Fetches and parses the feed. Transport failures, 5xx and 429 are retryable; 401, 403, 404
/// and 410 (a feed URL revoked or mistyped), a non-http(s) URL and a body over
/// [`MAX_FEED_BYTES`] are fatal.
pub async fn fetch_feed(http: &Http, input: &FetchFeedInput) -> Result<FeedFetch, ProviderError> {
    let url = url::Url::parse(&input.url)
        .map_err(|e| rejected(format!("feed URL {:?} is not a URL: {e}", input.url)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(rejected(format!("feed URL {:?} is not http(s)", input.url)));
    }
    let mut request = http.client.get(url);
    if let Some(etag) = &input.etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    if let Some(since) = &input.last_modified {
        request = request.header(IF_MODIFIED_SINCE, since);
    }
    let answer = http.send(PROVIDER, request).await?;
    if answer.status == 304 {
        return Ok(FeedFetch::NotModified);
    }
    if !answer.is_success() {
        let delay = retry_after_header(&answer.headers);
        return Err(ProviderError::from_status(
            PROVIDER,
            answer.status,
            delay,
            answer.body,
        ));
    }
    if answer.body.len() > MAX_FEED_BYTES {
        return Err(rejected(format!(
            "the feed is {} bytes, over the {MAX_FEED_BYTES}-byte limit",
            answer.body.len()
        )));
    }
    let header = |name| {
        answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let body_sha256 = data_encoding::HEXLOWER.encode(&Sha256::digest(answer.body.as_bytes()));
    Ok(match parse_feed(&answer.body) {
        Ok(feed) => FeedFetch::Fetched {
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
            feed,
            body_sha256,
        },
        Err(e) => FeedFetch::Malformed {
            reason: e.to_string(),
            body_sha256,
        },
    })
}
