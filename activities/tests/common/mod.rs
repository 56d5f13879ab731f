//! One sandbox per test, on a free port, with activities pointed at it.
#![allow(dead_code)]

use std::time::Duration;

use booking_activities::{BookingActivities, config::ProvidersConfig};
use booking_sandbox::{RunningSandbox, SandboxClient, SandboxConfig};
use chrono::{DateTime, TimeZone, Utc};
use temporalio_sdk::{activities::ActivityError, testing::ActivityEnvironment};

pub struct TestEnv {
    pub sandbox: RunningSandbox,
    pub control: SandboxClient,
    pub activities: BookingActivities,
    pub env: ActivityEnvironment,
}

pub async fn spawn() -> TestEnv {
    let sandbox = booking_sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let control = sandbox.client();
    let config = ProvidersConfig::for_sandbox(&sandbox.base_url()).expect("config");
    let activities = BookingActivities::new(config).expect("activities");
    let env = ActivityEnvironment::builder_with_default()
        .register_activities(activities.clone())
        .build();
    TestEnv {
        sandbox,
        control,
        activities,
        env,
    }
}

/// Like [`spawn`], with `BOOKINGS_DEFAULT_CALENDAR` set to `calendar` (e.g.
/// `microsoft:agent@contoso.test`), so that provider's credentials are configured.
pub async fn spawn_with_calendar(calendar: &str) -> TestEnv {
    let sandbox = booking_sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let control = sandbox.client();
    let config = ProvidersConfig::for_sandbox_with(
        &sandbox.base_url(),
        &[("BOOKINGS_DEFAULT_CALENDAR", calendar)],
    )
    .expect("config");
    let activities = BookingActivities::new(config).expect("activities");
    let env = ActivityEnvironment::builder_with_default()
        .register_activities(activities.clone())
        .build();
    TestEnv {
        sandbox,
        control,
        activities,
        env,
    }
}

pub fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 5, 6, hour, 0, 0).unwrap()
}

/// Requests the sandbox logged under `prefix` (optionally one method).
pub async fn count(control: &SandboxClient, method: Option<&str>, prefix: &str) -> usize {
    control
        .requests_matching(method, prefix)
        .await
        .expect("request log")
        .len()
}

/// The application failure inside an activity environment error.
pub fn failure(
    err: temporalio_sdk::testing::ActivityEnvironmentError,
) -> Box<temporalio_sdk::ApplicationFailure> {
    match err {
        temporalio_sdk::testing::ActivityEnvironmentError::Activity(
            ActivityError::Application(f),
        ) => f,
        other => panic!("not an application failure: {other:?}"),
    }
}

pub const DEADLINE: Duration = Duration::from_secs(5);

/// Makes every search for a sent-marker note fail (503) until the faults are cleared.
pub async fn break_marker_search(control: &SandboxClient) {
    control
        .inject(&booking_sandbox::Injection::hubspot_error(
            "POST",
            "/hubspot/crm/v3/objects/notes/search",
            503,
            "INTERNAL_ERROR",
            "try later",
        ))
        .await
        .expect("the fault is injected");
}
