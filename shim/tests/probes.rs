//! The shim's probes: alive at once, ready only once Temporal answers.

use booking_shim::{ShimState, router};

async fn serve(state: ShimState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn healthz_answers_and_readyz_refuses_without_temporal() {
    let base = serve(ShimState::default()).await;
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["reason"], "not connected to Temporal yet");
}
