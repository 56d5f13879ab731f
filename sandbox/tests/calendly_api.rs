//! Calendly v2 read API contract: users/me, scheduled events with filters and paging,
//! invitees, error shapes.

mod common;

use booking_sandbox::{BookInvitee, CancelInvitee, RescheduleInvitee, defaults};
use chrono::{TimeZone, Utc};
use common::{http, json, start};
use serde_json::Value;

async fn get(url: &str) -> (u16, Value) {
    json(
        http()
            .get(url)
            .bearer_auth(defaults::CALENDLY_TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn at(day: u32, hour: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 6, day, hour, 0, 0).unwrap()
}

async fn user_uri(base: &str) -> String {
    let (status, me) = get(&format!("{base}/users/me")).await;
    assert_eq!(status, 200);
    assert!(
        me["resource"]["current_organization"]
            .as_str()
            .unwrap()
            .contains(defaults::CALENDLY_ORGANIZATION_UUID)
    );
    me["resource"]["uri"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn scheduled_events_filter_sort_and_page() {
    let sandbox = start().await;
    let client = sandbox.client();
    let base = sandbox.calendly_url();
    for (day, email) in [
        (3, "c@example.com"),
        (1, "a@example.com"),
        (2, "b@example.com"),
    ] {
        let mut booking = BookInvitee::new(email, "Lead", at(day, 10));
        booking.location = Some("12 Elm St".into());
        client.book_calendly(&booking).await.unwrap();
    }
    let user = user_uri(&base).await;
    let user_q = url_encode(&user);

    let (status, page1) = get(&format!("{base}/scheduled_events?user={user_q}&count=2")).await;
    assert_eq!(status, 200, "{page1}");
    let collection = page1["collection"].as_array().unwrap();
    assert_eq!(collection.len(), 2);
    assert_eq!(collection[0]["start_time"], "2030-06-01T10:00:00.000000Z");
    assert_eq!(collection[1]["start_time"], "2030-06-02T10:00:00.000000Z");
    let event = &collection[0];
    assert!(
        event["uri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{base}/scheduled_events/"))
    );
    assert_eq!(event["status"], "active");
    assert_eq!(event["location"]["location"], "12 Elm St");
    assert_eq!(event["event_memberships"][0]["user"], user.as_str());
    assert_eq!(event["invitees_counter"]["active"], 1);
    let pagination = &page1["pagination"];
    assert_eq!(pagination["count"], 2);
    assert!(pagination["previous_page"].is_null());
    let next = pagination["next_page"].as_str().unwrap();
    assert!(next.contains(pagination["next_page_token"].as_str().unwrap()));

    let (_, page2) = get(next).await;
    assert_eq!(page2["collection"].as_array().unwrap().len(), 1);
    assert_eq!(
        page2["collection"][0]["start_time"],
        "2030-06-03T10:00:00.000000Z"
    );
    assert!(page2["pagination"]["next_page"].is_null());
    assert!(page2["pagination"]["previous_page_token"].is_string());

    let window = format!(
        "{base}/scheduled_events?user={user_q}&min_start_time=2030-06-02T00:00:00Z&max_start_time=2030-06-03T10:00:00Z"
    );
    let (_, windowed) = get(&window).await;
    assert_eq!(
        windowed["collection"].as_array().unwrap().len(),
        1,
        "max_start_time is exclusive"
    );

    let (_, desc) = get(&format!(
        "{base}/scheduled_events?organization={}&sort=start_time:desc",
        url_encode(&format!(
            "{base}/organizations/{}",
            defaults::CALENDLY_ORGANIZATION_UUID
        ))
    ))
    .await;
    assert_eq!(
        desc["collection"][0]["start_time"],
        "2030-06-03T10:00:00.000000Z"
    );

    let (_, by_email) = get(&format!(
        "{base}/scheduled_events?user={user_q}&invitee_email=b@example.com"
    ))
    .await;
    assert_eq!(by_email["collection"].as_array().unwrap().len(), 1);
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn status_filter_and_invitees_of_an_event() {
    let sandbox = start().await;
    let client = sandbox.client();
    let base = sandbox.calendly_url();
    let booked = client
        .book_calendly(&BookInvitee::new(
            "lead@example.com",
            "Ada Lovelace",
            at(5, 9),
        ))
        .await
        .unwrap();
    let other = client
        .book_calendly(&BookInvitee::new("other@example.com", "Other", at(6, 9)))
        .await
        .unwrap();
    client
        .cancel_calendly(
            &other.invitee.uuid,
            &CancelInvitee {
                reason: Some("sick".into()),
                ..CancelInvitee::default()
            },
        )
        .await
        .unwrap();
    let user = url_encode(&user_uri(&base).await);

    let (_, canceled) = get(&format!(
        "{base}/scheduled_events?user={user}&status=canceled"
    ))
    .await;
    let list = canceled["collection"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["cancellation"]["reason"], "sick");
    assert_eq!(list[0]["cancellation"]["canceler_type"], "invitee");
    let (_, active) = get(&format!(
        "{base}/scheduled_events?user={user}&status=active"
    ))
    .await;
    assert_eq!(active["collection"].as_array().unwrap().len(), 1);

    let (status, event) = get(&format!("{base}/scheduled_events/{}", booked.event.uuid)).await;
    assert_eq!(status, 200);
    assert_eq!(
        event["resource"]["uri"],
        format!("{base}/scheduled_events/{}", booked.event.uuid)
    );

    let (status, invitees) = get(&format!(
        "{base}/scheduled_events/{}/invitees",
        booked.event.uuid
    ))
    .await;
    assert_eq!(status, 200);
    let invitee = &invitees["collection"][0];
    assert_eq!(invitee["email"], "lead@example.com");
    assert_eq!(invitee["name"], "Ada Lovelace");
    assert_eq!(invitee["status"], "active");
    assert_eq!(invitee["event"], event["resource"]["uri"]);
    assert_eq!(invitee["rescheduled"], false);
    assert!(
        invitee["cancel_url"]
            .as_str()
            .unwrap()
            .starts_with("https://calendly.com/cancellations/")
    );
    assert_eq!(invitees["pagination"]["count"], 1);

    let (status, one) = get(invitee["uri"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(one["resource"]["uri"], invitee["uri"]);
}

#[tokio::test]
async fn reschedule_links_old_and_new_invitees_in_the_api() {
    let sandbox = start().await;
    let client = sandbox.client();
    let base = sandbox.calendly_url();
    let booked = client
        .book_calendly(&BookInvitee::new("lead@example.com", "Lead", at(5, 9)))
        .await
        .unwrap();
    let moved = client
        .reschedule_calendly(&booked.invitee.uuid, &RescheduleInvitee::to(at(7, 14)))
        .await
        .unwrap();
    assert_ne!(
        moved.new_event.uuid, booked.event.uuid,
        "a reschedule makes a new scheduled event"
    );
    let (_, old) = get(&format!(
        "{base}/scheduled_events/{}/invitees/{}",
        booked.event.uuid, booked.invitee.uuid
    ))
    .await;
    let (_, new) = get(&format!(
        "{base}/scheduled_events/{}/invitees/{}",
        moved.new_event.uuid, moved.new_invitee.uuid
    ))
    .await;
    assert_eq!(old["resource"]["status"], "canceled");
    assert_eq!(old["resource"]["rescheduled"], true);
    assert_eq!(old["resource"]["new_invitee"], new["resource"]["uri"]);
    assert_eq!(new["resource"]["old_invitee"], old["resource"]["uri"]);
    assert!(new["resource"]["new_invitee"].is_null());
    let (_, new_event) = get(&format!("{base}/scheduled_events/{}", moved.new_event.uuid)).await;
    assert_eq!(
        new_event["resource"]["start_time"],
        "2030-06-07T14:00:00.000000Z"
    );
    assert_eq!(
        new_event["resource"]["end_time"],
        "2030-06-07T14:30:00.000000Z"
    );
}

#[tokio::test]
async fn errors_have_calendly_shape() {
    let sandbox = start().await;
    let base = sandbox.calendly_url();
    let (status, body) = json(http().get(format!("{base}/users/me")).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(body["title"], "Unauthenticated");
    assert!(body["message"].is_string());

    let (status, body) = get(&format!("{base}/scheduled_events")).await;
    assert_eq!(status, 400, "user or organization is required");
    assert_eq!(body["title"], "Invalid Argument");
    assert!(body["details"][0]["parameter"].is_string());

    let user = url_encode(&user_uri(&base).await);
    for bad in [
        "count=500",
        "min_start_time=yesterday",
        "status=gone",
        "page_token=%25%25",
    ] {
        let (status, body) = get(&format!("{base}/scheduled_events?user={user}&{bad}")).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body["details"][0]["message"].is_string());
    }

    let (status, _) = get(&format!("{base}/users/{}", defaults::CALENDLY_USER_UUID)).await;
    assert_eq!(status, 200);
    let (status, _) = get(&format!("{base}/users/SOMEONEELSE")).await;
    assert_eq!(status, 404);

    let (status, body) = get(&format!("{base}/scheduled_events/nope")).await;
    assert_eq!(status, 404);
    assert_eq!(body["title"], "Resource Not Found");
    let (status, _) = get(&format!("{base}/scheduled_events/nope/invitees")).await;
    assert_eq!(status, 404);
    let (status, body) = get(&format!("{base}/no/such/path")).await;
    assert_eq!(
        (status, body["title"].as_str()),
        (404, Some("Resource Not Found"))
    );
}
