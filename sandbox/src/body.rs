//! Provider-neutral request parsing. Every extractor here rejects with the *provider's*
//! error type `E` (through `From<BodyError>`), so a malformed request gets the same error
//! shape the real provider would send, never axum's plain-text rejection.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{HeaderMap, header, request::Parts};
use axum::response::IntoResponse;
use serde::de::DeserializeOwned;

/// Why a request could not be read. Providers map each case to their own status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// The `Content-Type` is not the one the endpoint reads.
    WrongContentType {
        expected: &'static str,
        got: Option<String>,
    },
    /// The body could not be read (too large, connection error).
    Unreadable(String),
    /// Not JSON at all (syntax error, truncated body).
    Syntax(String),
    /// Valid JSON of the wrong shape (missing field, wrong type).
    Shape(String),
    /// A path segment could not be decoded.
    Path(String),
}

impl BodyError {
    pub fn detail(&self) -> String {
        match self {
            Self::WrongContentType { expected, got } => format!(
                "expected Content-Type {expected}, got {}",
                got.as_deref().unwrap_or("none")
            ),
            Self::Unreadable(m) | Self::Syntax(m) | Self::Shape(m) | Self::Path(m) => m.clone(),
        }
    }
}

/// A JSON request body of type `T`; rejection is the provider error `E`.
pub struct JsonBody<T, E>(pub T, pub PhantomData<E>);

impl<S, T, E> FromRequest<S> for JsonBody<T, E>
where
    S: Send + Sync,
    T: DeserializeOwned,
    E: From<BodyError> + IntoResponse,
{
    type Rejection = E;

    async fn from_request(req: Request, state: &S) -> Result<Self, E> {
        if !is_json(req.headers()) {
            return Err(E::from(BodyError::WrongContentType {
                expected: "application/json",
                got: content_type(req.headers()),
            }));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| E::from(BodyError::Unreadable(e.body_text())))?;
        parse_json(&bytes)
            .map(|v| Self(v, PhantomData))
            .map_err(E::from)
    }
}

/// Parses JSON, telling syntax errors apart from shape errors. Reading into a `Value`
/// first keeps a truncated body a syntax error even when the target type would have
/// failed earlier on a wrong type.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| BodyError::Syntax(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| BodyError::Shape(e.to_string()))
}

/// Raw body bytes plus headers, for endpoints that accept more than one encoding.
pub struct RawBody<E>(pub HeaderMap, pub Bytes, pub PhantomData<E>);

impl<S, E> FromRequest<S> for RawBody<E>
where
    S: Send + Sync,
    E: From<BodyError> + IntoResponse,
{
    type Rejection = E;

    async fn from_request(req: Request, state: &S) -> Result<Self, E> {
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| E::from(BodyError::Unreadable(e.body_text())))?;
        Ok(Self(headers, bytes, PhantomData))
    }
}

/// Path parameters of type `T`; rejection is the provider error `E`.
pub struct PathParams<T, E>(pub T, pub PhantomData<E>);

impl<S, T, E> FromRequestParts<S> for PathParams<T, E>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
    E: From<BodyError> + IntoResponse,
{
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, E> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| Self(v, PhantomData))
            .map_err(|e| E::from(BodyError::Path(e.body_text())))
    }
}

/// The query string as ordered pairs: several providers repeat a parameter
/// (`privateExtendedProperty`, HubSpot `properties`), which a map would lose.
#[derive(Debug, Clone, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    pub fn parse(query: Option<&str>) -> Self {
        Self(
            query
                .map(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .into_owned()
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// `true`/`false` flags; anything else counts as absent.
    pub fn flag(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            "true" | "True" | "1" => Some(true),
            "false" | "False" | "0" => Some(false),
            _ => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query()))
    }
}

pub fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    content_type(headers).map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}

pub fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|m| m == "application/json" || m.ends_with("+json"))
}

pub fn is_form(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|m| m == "application/x-www-form-urlencoded")
}

/// The token of an `Authorization: Bearer <token>` header (scheme is case-insensitive).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A correlation/request id in the shape providers use (uuid v4).
pub fn correlation_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_is_case_insensitive_and_rejects_other_schemes() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn query_pairs_keep_repeats_in_order() {
        let q = QueryPairs::parse(Some("p=a%3D1&p=b%3D2&x=true"));
        assert_eq!(q.all("p").collect::<Vec<_>>(), vec!["a=1", "b=2"]);
        assert_eq!(q.flag("x"), Some(true));
        assert_eq!(q.get("missing"), None);
    }

    #[test]
    fn json_errors_are_classified() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            a: u32,
        }
        assert!(matches!(parse_json::<T>(b"{"), Err(BodyError::Syntax(_))));
        assert!(matches!(parse_json::<T>(b"[1,"), Err(BodyError::Syntax(_))));
        assert!(matches!(
            parse_json::<T>(b"{\"a\":\"x\"}"),
            Err(BodyError::Shape(_))
        ));
        assert!(parse_json::<T>(b"{\"a\":1}").is_ok());
    }
}
