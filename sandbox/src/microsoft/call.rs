//! What every Graph calendar call starts from: the caller's access token, checked; the path's
//! parameters; and the root its links are built from.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::GRAPH_PREFIX;
use super::error::GraphError;
use crate::body::{PathParams, bearer};
use crate::state::Shared;
use crate::time;

/// An authorized Graph call: a valid, unexpired access token from the identity stand-in (else
/// a 401, before anything else is looked at), and the path's parameters.
pub struct GraphCall<P> {
    pub path: P,
    /// `http://{Host}/microsoft/graph/v1.0`: the root of absolute links (`@odata.nextLink`,
    /// `@odata.deltaLink`, `@odata.context`), built from the request's `Host` so clients can
    /// follow them as is.
    pub root: String,
}

impl<P: DeserializeOwned + Send> FromRequestParts<Shared> for GraphCall<P> {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, GraphError> {
        let token = bearer(&parts.headers).ok_or_else(GraphError::token_empty)?;
        if !state.read(|p| p.microsoft.token_valid(token, time::now())) {
            return Err(GraphError::token_expired());
        }
        let PathParams(path, _) =
            PathParams::<P, GraphError>::from_request_parts(parts, state).await?;
        Ok(Self {
            path,
            root: graph_root(&parts.headers, state),
        })
    }
}

fn graph_root(headers: &HeaderMap, state: &Shared) -> String {
    match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) if !host.is_empty() => format!("http://{host}{GRAPH_PREFIX}"),
        _ => format!("{}{GRAPH_PREFIX}", state.base_url),
    }
}
