//! The landing page's seat counter: served by the shim from a cache, so page views never turn
//! into one ledger query each, and refreshed on its interval.

use booking_tests::{TestApp, WAIT, eventually, serve_shim, shim_config};
use booking_workflows::ledger::{
    LedgerConfig, LedgerStart, ReserveRequest, SlotLedgerWorkflow, Window,
};
use chrono::{Duration, TimeZone, Utc};
use temporalio_client::{WorkflowExecuteUpdateOptions, WorkflowStartOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seat_counter_is_cached_and_refreshed() {
    let app = TestApp::spawn().await;
    let config = LedgerConfig::open_house("spring-fair", 10);
    let ledger_id = config.workflow_id();
    app.client
        .start_workflow(
            SlotLedgerWorkflow::run,
            LedgerStart {
                config,
                carried: None,
            },
            WorkflowStartOptions::new(app.task_queue.clone(), ledger_id.clone()).build(),
        )
        .await
        .unwrap();
    let ledger = app
        .client
        .get_workflow_handle::<SlotLedgerWorkflow>(ledger_id);
    let start = Utc.with_ymd_and_hms(2031, 4, 5, 10, 0, 0).unwrap();
    let reserve = |n: u32| ReserveRequest {
        booking_id: format!("rsvp-{n}"),
        window: Window {
            start,
            end: start + Duration::hours(3),
        },
        seats: 1,
        notify_workflow_id: String::new(),
    };
    for n in 0..3 {
        ledger
            .execute_update(
                SlotLedgerWorkflow::reserve,
                reserve(n),
                WorkflowExecuteUpdateOptions::default(),
            )
            .await
            .unwrap();
    }

    // A long interval: 100 page views, one ledger query.
    let shim = serve_shim(
        shim_config(
            &app.task_queue,
            &app.sandbox_url,
            &[("SHIM_AVAILABILITY_REFRESH_MS", "60000")],
        ),
        Some(app.client.clone()),
    )
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/open-houses/spring-fair/availability", shim.url);
    let views = futures::future::join_all((0..100).map(|_| http.get(&url).send())).await;
    for view in views {
        let view = view.unwrap();
        assert_eq!(view.status(), 200);
        assert_eq!(
            view.headers()["cache-control"].to_str().unwrap(),
            "public, max-age=60"
        );
        let body: serde_json::Value = view.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"seats_left": 7, "waitlist_length": 0, "capacity": 10})
        );
    }
    assert_eq!(shim.state.availability_queries(), 1);
    let missing = http
        .get(format!("{}/open-houses/nope/availability", shim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // A short interval: a new RSVP shows up once the cached counter expires.
    let fast = serve_shim(
        shim_config(
            &app.task_queue,
            &app.sandbox_url,
            &[("SHIM_AVAILABILITY_REFRESH_MS", "200")],
        ),
        Some(app.client.clone()),
    )
    .await;
    let fast_url = format!("{}/open-houses/spring-fair/availability", fast.url);
    ledger
        .execute_update(
            SlotLedgerWorkflow::reserve,
            reserve(3),
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .unwrap();
    eventually("the counter shows the new RSVP", WAIT, || async {
        let body: serde_json::Value = http.get(&fast_url).send().await.ok()?.json().await.ok()?;
        (body["seats_left"] == 6).then_some(())
    })
    .await;
}
