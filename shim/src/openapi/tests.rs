use std::collections::BTreeSet;

use axum::{body::Body, http::Request};
use serde_json::Value;
use tower::ServiceExt;

use super::*;
use crate::{ShimState, route_table, router};

fn json() -> Value {
    serde_json::to_value(document()).unwrap()
}

/// `(method, path)` of every operation the document describes.
fn documented() -> BTreeSet<(String, String)> {
    let mut doc = document().clone();
    doc.paths
        .paths
        .iter_mut()
        .flat_map(|(path, item)| {
            operations_mut(item)
                .into_iter()
                .map(|(method, _)| (method.to_owned(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_document_describes_exactly_the_routes_the_router_registers() {
    let registered: BTreeSet<(String, String)> = route_table()
        .into_iter()
        .map(|r| (r.method.as_str().to_ascii_lowercase(), r.path.to_owned()))
        .collect();
    assert_eq!(registered.len(), route_table().len(), "no route twice");
    let documented = documented();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty(),
        "routes without a description: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "described but not served: {unserved:?}"
    );
}

#[test]
fn it_is_openapi_3_1_with_the_crate_version() {
    assert!(REQUEST_ID.eq_ignore_ascii_case(crate::REQUEST_ID_HEADER));
    let doc = json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
}

fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target);
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[test]
fn every_ref_and_security_scheme_resolves() {
    let doc = json();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(
        found.len() > 20,
        "the bodies are referenced, not inlined: {found:?}"
    );
    for target in found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{target} points outside the document"));
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for requirement in operation["security"].as_array().into_iter().flatten() {
                for scheme in requirement.as_object().unwrap().keys() {
                    assert!(schemes.contains_key(scheme), "{method} {path}: {scheme}");
                }
            }
        }
    }
}

#[test]
fn every_route_but_the_liveness_probe_documents_503_with_retry_after() {
    let doc = json();
    for (method, path) in documented() {
        let responses = &doc["paths"][&path][&method]["responses"];
        let unavailable = &responses["503"];
        if in_flight::EXEMPT.contains(&path.as_str()) {
            assert!(unavailable.is_null(), "{method} {path} is never refused");
            continue;
        }
        assert!(
            unavailable["headers"]["Retry-After"].is_object(),
            "{method} {path}: {unavailable}"
        );
        assert!(unavailable["content"]["application/json"]["schema"].is_object());
        assert!(
            responses[&format!("{}", 200)].is_object()
                || responses["202"].is_object()
                || responses["303"].is_object(),
            "{method} {path} documents its success"
        );
        if method == "post" {
            assert!(responses["413"].is_object(), "{method} {path}");
        }
        for (status, response) in responses.as_object().unwrap() {
            assert!(
                response["headers"]["X-Request-Id"].is_object(),
                "{method} {path} {status}"
            );
        }
    }
}

#[test]
fn the_handlers_own_503s_keep_their_reason_and_body() {
    let doc = json();
    let readiness = &doc["paths"]["/readyz"]["get"]["responses"]["503"];
    let description = readiness["description"].as_str().unwrap();
    assert!(description.starts_with("not ready"), "{description}");
    let body = &readiness["content"]["application/json"]["schema"]["oneOf"];
    assert_eq!(body.as_array().map(Vec::len), Some(2), "{readiness}");
    let calendly = &doc["paths"]["/webhooks/calendly"]["post"]["responses"]["503"];
    assert!(
        calendly["description"]
            .as_str()
            .unwrap()
            .contains("Calendly API")
    );
}

#[tokio::test]
async fn the_route_serves_the_generated_document() {
    let request = Request::builder()
        .uri("/openapi.json")
        .body(Body::empty())
        .unwrap();
    let response = router(ShimState::default()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let served: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served, json());
}
