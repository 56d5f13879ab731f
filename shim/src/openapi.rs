//! The OpenAPI description of what the shim serves (`GET /openapi.json`), generated from the
//! handlers' `#[utoipa::path]` attributes and the types they read and write, so it cannot drift
//! from the code. Schemathesis runs against it (see the README).
//!
//! What the handlers answer is on each handler. What the middleware answers on every route
//! alike is added here, from the same constants the middleware uses: the request id, the
//! in-flight cap's 503 (every route but [`in_flight::EXEMPT`]'s) and the body reader's 413/408.

use std::sync::LazyLock;

use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        self, ContentBuilder, HeaderBuilder, ObjectBuilder, PathItem, RefOr, Required,
        ResponseBuilder, Type,
        path::{Operation, ParameterBuilder, ParameterIn},
        schema::{OneOfBuilder, Ref},
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::{acuity, answers, availability, calendly, form, in_flight, routes, twilio};

#[derive(OpenApi)]
#[openapi(
    paths(
        routes::probes::healthz,
        routes::probes::readyz,
        routes::probes::metrics_text,
        routes::probes::openapi_json,
        routes::calendly::calendly_webhook,
        routes::form::form_webhook,
        routes::acuity::acuity_webhook,
        routes::twilio::twilio_status,
        routes::twilio::twilio_inbound,
        routes::links::questionnaire_link,
        routes::links::confirm_page,
        routes::links::confirm_action,
        routes::links::cancel_page,
        routes::links::cancel_action,
        routes::operator::tour_complete,
        routes::availability::open_house_availability,
    ),
    components(schemas(
        answers::ErrorBody,
        answers::ValidationErrors,
        answers::Accepted,
        answers::DeadLettered,
        answers::ProbeStatus,
        availability::SeatCounter,
        calendly::CalendlyWebhook,
        form::BookingForm,
        acuity::AcuityForm,
        twilio::TwilioStatus,
        twilio::TwilioInbound,
    )),
    modifiers(&Middleware, &Security)
)]
pub struct ApiDoc;

/// [`crate::REQUEST_ID_HEADER`] as documents usually spell it (header names ignore case).
const REQUEST_ID: &str = "X-Request-Id";

static DOCUMENT: LazyLock<openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// The document `GET /openapi.json` serves, built once.
pub fn document() -> &'static openapi::OpenApi {
    &DOCUMENT
}

/// The schemes the handlers' `security(...)` name.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let header = |name: &str, description: Option<&str>| {
            let mut value = ApiKeyValue::new(name);
            value.description = description.map(str::to_owned);
            SecurityScheme::ApiKey(ApiKey::Header(value))
        };
        let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme("standardWebhooks", header("webhook-signature", None));
        components.add_security_scheme(
            "acuitySignature",
            header(
                "X-Acuity-Signature",
                Some("base64 HMAC-SHA256 of the raw body with the Acuity API key"),
            ),
        );
        components.add_security_scheme(
            "twilioSignature",
            header(
                "X-Twilio-Signature",
                Some(
                    "base64 HMAC-SHA1 with the account's auth token over the full URL \
                     (SHIM_PUBLIC_URL + path + query) and the sorted form parameters",
                ),
            ),
        );
    }
}

/// The answers the shim's middleware gives on every route alike (see [`crate::router`]).
struct Middleware;

impl Modify for Middleware {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        doc.info.title = "Booking engine webhook shim".into();
        doc.info.description = Some(
            "Receives scheduler and form webhooks and signed link clicks, and hands them to the \
             booking workflows on Temporal. Every response carries X-Request-Id. Every route but \
             /healthz answers 503 with Retry-After while the shim serves \
             SHIM_MAX_IN_FLIGHT_REQUESTS already; a body over SHIM_BODY_LIMIT_BYTES is answered \
             413, one that does not arrive within SHIM_BODY_READ_TIMEOUT_MS 408."
                .into(),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let capped = !in_flight::EXEMPT.contains(&path.as_str());
            for (method, operation) in operations_mut(item) {
                if capped {
                    over_capacity(operation);
                }
                if method == "post" {
                    body_refused(operation);
                }
                // Last, so that the responses added above carry it too.
                request_id(operation);
            }
        }
    }
}

/// The operations of a path item by lower-case method name.
pub(crate) fn operations_mut(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    let PathItem {
        get,
        put,
        post,
        delete,
        options,
        head,
        patch,
        trace,
        ..
    } = item;
    [
        ("get", get),
        ("put", put),
        ("post", post),
        ("delete", delete),
        ("options", options),
        ("head", head),
        ("patch", patch),
        ("trace", trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_mut().map(|o| (method, o)))
    .collect()
}

fn error_ref() -> RefOr<openapi::Schema> {
    RefOr::Ref(Ref::from_schema_name(answers::ErrorBody::name()))
}

fn seconds_header() -> openapi::Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        )
        .description(Some("seconds (SHIM_RETRY_AFTER_SECS)"))
        .build()
}

/// Accepted when sane (1..=128 visible ASCII characters), else made; echoed in every response.
/// The schema allows any string: an insane id is replaced, never refused, and a document that
/// promised otherwise would be wrong (schemathesis' negative checks found exactly that).
fn request_id(operation: &mut Operation) {
    let schema = ObjectBuilder::new().schema_type(Type::String).build();
    let parameter = ParameterBuilder::new()
        .name(REQUEST_ID)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "the caller's request id, kept when 1..=128 visible ASCII characters; else one is made",
        ))
        .schema(Some(schema))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(parameter);
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            response.headers.insert(
                REQUEST_ID.to_owned(),
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(Type::String))
                    .description(Some("the request's id, as every log line of it names it"))
                    .build(),
            );
        }
    }
}

/// The in-flight cap's 503, merged into a 503 the handler documents itself.
fn over_capacity(operation: &mut Operation) {
    const WHY: &str = "the shim is serving SHIM_MAX_IN_FLIGHT_REQUESTS already";
    let responses = &mut operation.responses.responses;
    let merged = match responses.remove("503") {
        Some(RefOr::T(mut own)) => {
            own.description = format!("{}; or {WHY}", own.description);
            own.headers
                .entry("Retry-After".to_owned())
                .or_insert_with(seconds_header);
            let content = own.content.entry("application/json".to_owned());
            let content = content.or_insert_with(|| ContentBuilder::new().build());
            content.schema = Some(match content.schema.take() {
                Some(schema) if schema != error_ref() => {
                    OneOfBuilder::new().item(schema).item(error_ref()).into()
                }
                _ => error_ref(),
            });
            own
        }
        _ => ResponseBuilder::new()
            .description(format!("{WHY}; retry after the given seconds"))
            .header("Retry-After", seconds_header())
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(error_ref())).build(),
            )
            .build(),
    };
    responses.insert("503".to_owned(), RefOr::T(merged));
}

/// The body reader's refusals: it reads every request's body before any handler runs.
fn body_refused(operation: &mut Operation) {
    for (status, description) in [
        (
            "408",
            "the body did not arrive within SHIM_BODY_READ_TIMEOUT_MS",
        ),
        ("413", "the body is over SHIM_BODY_LIMIT_BYTES"),
    ] {
        let refused = ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(error_ref())).build(),
            )
            .build();
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert(RefOr::T(refused));
    }
}

pub mod shared;

#[cfg(test)]
mod tests;
