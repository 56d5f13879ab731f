//! Control and inspection of the Microsoft stand-ins, under `/_sandbox/microsoft`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::MicrosoftApp;
use super::model::{GraphEventMove, GraphEventRecord, StoredGraphEvent};
use crate::body::{JsonBody, PathParams, QueryPairs};
use crate::control::{Changes, ChangesNamed, ControlError};
use crate::state::{Providers, Shared};
use crate::time;

type Result<T> = std::result::Result<T, ControlError>;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/events", get(events))
        .route("/events/{id}/delete", post(delete_event))
        .route("/events/{id}/move", post(move_event))
        .route("/apps", get(apps))
        .route(
            "/apps/{client_id}/expire-secret",
            post(app_change(|a| a.secret_expired = true)),
        )
        .route(
            "/apps/{client_id}/disable",
            post(app_change(|a| a.disabled = true)),
        )
        // Undoes `expire-secret` and `disable`.
        .route(
            "/apps/{client_id}/restore",
            post(app_change(|a| {
                a.disabled = false;
                a.secret_expired = false;
            })),
        )
        .route(
            "/access-tokens/expire",
            post(Changes::Providers(|p| {
                p.microsoft.expire_access_tokens(time::now());
            })),
        )
        .route(
            "/delta-tokens/expire",
            post(Changes::Providers(|p| p.microsoft.renew_delta_epoch())),
        )
}

/// `?include_deleted=true` adds deleted events (tombstones).
async fn events(State(app): State<Shared>, query: QueryPairs) -> Json<Vec<GraphEventRecord>> {
    let include_deleted = query.flag("include_deleted").unwrap_or(false);
    Json(app.read(|p| p.microsoft.records(include_deleted)))
}

fn no_event(id: &str) -> ControlError {
    ControlError::not_found(format!("no live Graph event with id {id}"))
}

/// Deletes as a person would in Outlook: the next delta round reports it removed.
async fn delete_event(
    State(app): State<Shared>,
    PathParams(id, _): PathParams<String, ControlError>,
) -> Result<StatusCode> {
    app.change(|p| {
        let delete = |event: &mut StoredGraphEvent| -> Result<()> {
            event.deleted = true;
            Ok(())
        };
        let (mailbox, _) = p.microsoft.find_mut(&id).ok_or_else(|| no_event(&id))?;
        mailbox
            .change_event(&id, delete)
            .ok_or_else(|| no_event(&id))??;
        Ok(StatusCode::NO_CONTENT)
    })
}

/// Moves as a person would in Outlook (recorded for delta).
async fn move_event(
    State(app): State<Shared>,
    PathParams(id, _): PathParams<String, ControlError>,
    JsonBody(to, _): JsonBody<GraphEventMove, ControlError>,
) -> Result<Json<GraphEventRecord>> {
    if to.end < to.start {
        return Err(ControlError::new(
            StatusCode::BAD_REQUEST,
            "end must not be before start",
        ));
    }
    app.change(|p| {
        let move_to = |event: &mut StoredGraphEvent| -> Result<()> {
            event.start_at = to.start;
            event.end_at = to.end;
            Ok(())
        };
        let (mailbox, user) = p.microsoft.find_mut(&id).ok_or_else(|| no_event(&id))?;
        let event = mailbox
            .change_event(&id, move_to)
            .ok_or_else(|| no_event(&id))??;
        Ok(Json(event.record(&user)))
    })
}

async fn apps(State(app): State<Shared>) -> Json<Vec<MicrosoftApp>> {
    Json(app.read(|p| p.microsoft.apps.values().cloned().collect()))
}

fn app_change(
    change: fn(&mut MicrosoftApp),
) -> ChangesNamed<impl Fn(&mut Providers, &str) -> bool + Clone> {
    ChangesNamed {
        what: "Microsoft app with client id",
        change: move |p: &mut Providers, client_id: &str| {
            p.microsoft.apps.get_mut(client_id).map(change).is_some()
        },
    }
}
