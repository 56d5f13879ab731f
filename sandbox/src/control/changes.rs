//! Control endpoints whose whole work is one change of state, written in the router as the
//! change itself (`post(Changes::Providers(|p| ...))`) rather than as one async fn each.

use std::future::{Future, Ready, ready};
use std::pin::Pin;

use axum::extract::{FromRequestParts, Request};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::ControlError;
use crate::body::PathParams;
use crate::state::{Providers, Runtime, Shared};

/// Changes state and answers 204 No Content.
#[derive(Clone, Copy)]
pub enum Changes {
    /// Provider data (what a snapshot saves).
    Providers(fn(&mut Providers)),
    /// Fault rules and the request log.
    Runtime(fn(&mut Runtime)),
}

impl Handler<Self, Shared> for Changes {
    type Future = Ready<Response>;

    fn call(self, _: Request, app: Shared) -> Self::Future {
        match self {
            Self::Providers(change) => app.change(change),
            Self::Runtime(change) => app.runtime(change),
        }
        ready(StatusCode::NO_CONTENT.into_response())
    }
}

/// Changes the one thing the path's only parameter names: 204 No Content, or 404
/// `no {what} {name}` when `change` finds nothing by that name.
#[derive(Clone)]
pub struct ChangesNamed<F> {
    pub what: &'static str,
    pub change: F,
}

impl<F> Handler<Self, Shared> for ChangesNamed<F>
where
    F: Fn(&mut Providers, &str) -> bool + Clone + Send + Sync + 'static,
{
    type Future = Pin<Box<dyn Future<Output = Response> + Send>>;

    fn call(self, request: Request, app: Shared) -> Self::Future {
        Box::pin(async move {
            let (mut parts, _) = request.into_parts();
            let name = match PathParams::<String, ControlError>::from_request_parts(
                &mut parts, &app,
            )
            .await
            {
                Ok(PathParams(name, _)) => name,
                Err(e) => return e.into_response(),
            };
            if app.change(|p| (self.change)(p, &name)) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                ControlError::not_found(format!("no {} {name}", self.what)).into_response()
            }
        })
    }
}
