//! The webhook notifier against a real HTTP receiver on 127.0.0.1.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use support::*;
use tolom_core::outbox::{AgencyEvent, Channel};
use tolom_core::ports::{Notification, Notifier};
use tolom_notify_webhook::{
    verify, VerifyError, WebhookConfig, WebhookEvent, WebhookNotifier, DEFAULT_TOLERANCE,
    EVENT_ID_HEADER, EVENT_TYPE_HEADER, MESSAGE_ID_HEADER, SIGNATURE_HEADER,
};
use tolom_testkit::clock::ManualClock;
use tolom_testkit::conformance::notifier::{run, sample, NotifierUnderTest, SAMPLE_PAN};
use uuid::Uuid;

const SECRET: &str = "whsec_test_4c1f0a";

fn notifier(url: &str) -> WebhookNotifier {
    WebhookNotifier::new(WebhookConfig {
        timeout: Duration::from_secs(5),
        ..WebhookConfig::new(url, SECRET)
    })
    .unwrap()
}

fn event() -> AgencyEvent {
    match sample(Channel::Webhook) {
        Notification::Agency(e) => e,
        Notification::ReceiptEmail { .. } => unreachable!("asked for a webhook"),
    }
}

/// The webhook notifier pointed at `receiver`, with an unreachable twin (a
/// port nobody listens on) and the bodies the receiver got for a message
/// id; the receiver lives as long as the case.
fn under_test(receiver: Arc<Receiver>) -> NotifierUnderTest {
    let seen = receiver.clone();
    NotifierUnderTest {
        notifier: Arc::new(notifier(&receiver.url)),
        received: Box::new(move |id| {
            let bodies = seen.bodies_for(id);
            Box::pin(async move { bodies })
        }),
        unreachable: Arc::new(notifier(&dead_url())),
        guard: Some(Box::new(receiver)),
    }
}

/// A fresh receiver per case.
async fn webhook(_case: &'static str) -> Option<NotifierUnderTest> {
    Some(under_test(Arc::new(Receiver::start(SECRET).await)))
}

tolom_testkit::notifier_conformance!(webhook);

#[tokio::test]
async fn the_receiver_acts_once_on_the_suites_redelivery() {
    let receiver = Arc::new(Receiver::start(SECRET).await);
    run(&under_test(receiver.clone())).await;
    // The suite delivered the same event twice; the receiver acted once.
    let deliveries = receiver.deliveries();
    assert_eq!(deliveries.len(), 2);
    assert!(deliveries.iter().all(|d| d.verified.is_ok()));
    assert_eq!(deliveries[0].body, deliveries[1].body);
    assert_eq!(receiver.processed().len(), 1);
}

#[tokio::test]
async fn posts_the_documented_json_with_signature_and_ids() {
    let receiver = Receiver::start(SECRET).await;
    let n = notifier(&receiver.url);
    let e = event();
    let message_id = Uuid::new_v4();
    let before = Utc::now().timestamp();
    n.deliver(message_id, &Notification::Agency(e.clone()))
        .await
        .unwrap();
    let after = Utc::now().timestamp();
    let d = &receiver.deliveries()[0];
    assert_eq!(d.answered, 200);
    assert_eq!(d.verified, Ok(()), "the receiver verified the signature");
    assert_eq!(d.header("content-type"), Some("application/json"));
    assert_eq!(
        d.header(EVENT_ID_HEADER),
        Some(e.event_id.to_string().as_str())
    );
    assert_eq!(d.header(EVENT_TYPE_HEADER), Some("payment.succeeded"));
    assert_eq!(
        d.header(MESSAGE_ID_HEADER),
        Some(message_id.to_string().as_str())
    );
    assert!(d
        .header("user-agent")
        .unwrap()
        .starts_with("tolom-webhook/"));
    let signature = d.header(SIGNATURE_HEADER).unwrap();
    let t: i64 = signature
        .strip_prefix("t=")
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(
        (before..=after).contains(&t),
        "the timestamp is the send time"
    );
    let json: serde_json::Value = serde_json::from_slice(&d.body).unwrap();
    assert_eq!(json["id"], e.event_id.to_string());
    assert_eq!(json["type"], "payment.succeeded");
    assert_eq!(json["created"], "2026-11-25T12:00:00Z");
    assert_eq!(json["data"]["code"], "110000012349");
    assert_eq!(json["data"]["agency_ref"], "AG-77");
    assert_eq!(json["data"]["service"], "passport-2020");
    assert_eq!(json["data"]["payment_id"], e.payment_id.to_string());
    assert_eq!(
        json["data"]["receipt_number"],
        e.receipt_number.clone().unwrap()
    );
    assert_eq!(
        json["data"]["amount"],
        serde_json::json!({"amount": "885.00", "currency": "KGS"})
    );
    assert_eq!(
        json["data"]["refunded"],
        serde_json::json!({"amount": "0.00", "currency": "KGS"})
    );
    assert!(!d.text().contains(SAMPLE_PAN));
    // Any change to the body breaks the signature.
    let tampered = d.text().replace("885.00", "1.00");
    assert_eq!(
        verify(
            SECRET,
            signature,
            tampered.as_bytes(),
            Utc::now(),
            DEFAULT_TOLERANCE
        ),
        Err(VerifyError::Mismatch)
    );
    let parsed: WebhookEvent = serde_json::from_slice(&d.body).unwrap();
    assert_eq!(parsed, WebhookEvent::from(&e));
}

#[tokio::test]
async fn answers_map_to_transient_or_permanent_failures() {
    let receiver = Receiver::start(SECRET).await;
    let n = notifier(&receiver.url);
    let notification = Notification::Agency(event());
    for (status, transient) in [
        (500, true),
        (502, true),
        (503, true),
        (504, true),
        (408, true),
        (429, true),
        (400, false),
        (401, false),
        (403, false),
        (404, false),
        (410, false),
        (422, false),
        (301, false),
    ] {
        receiver.set_mode(Mode::Status(status));
        let e = n
            .deliver(Uuid::new_v4(), &notification)
            .await
            .expect_err("a non-2xx answer is not a delivery");
        assert_eq!(e.is_temporary(), transient, "HTTP {status}: {e}");
        assert!(e.message.contains(&status.to_string()), "{e}");
    }
    receiver.set_mode(Mode::Status(202));
    n.deliver(Uuid::new_v4(), &notification).await.unwrap();
    receiver.set_mode(Mode::Status(204));
    n.deliver(Uuid::new_v4(), &notification).await.unwrap();
    assert!(
        receiver.processed().is_empty(),
        "status-only answers act on nothing"
    );
}

#[tokio::test]
async fn a_wrong_secret_or_a_stale_clock_is_rejected_by_the_receiver() {
    let receiver = Receiver::start(SECRET).await;
    let notification = Notification::Agency(event());

    let wrong = WebhookNotifier::new(WebhookConfig::new(&receiver.url, "not-the-secret")).unwrap();
    let e = wrong
        .deliver(Uuid::new_v4(), &notification)
        .await
        .unwrap_err();
    assert!(!e.is_temporary(), "401 is permanent: {e}");
    assert_eq!(
        receiver.deliveries()[0].verified,
        Err(VerifyError::Mismatch)
    );

    // A sender whose clock is an hour behind: stale for the receiver.
    let clock = Arc::new(ManualClock::at(Utc::now() - chrono::Duration::hours(1)));
    let late = notifier(&receiver.url).with_clock(clock);
    assert!(late.deliver(Uuid::new_v4(), &notification).await.is_err());
    assert!(matches!(
        receiver.deliveries()[1].verified,
        Err(VerifyError::Stale { .. })
    ));
    assert!(receiver.processed().is_empty());
}

#[tokio::test]
async fn a_slow_or_absent_receiver_is_a_transient_failure_and_redelivery_is_idempotent() {
    let receiver = Receiver::start(SECRET).await;
    let n = WebhookNotifier::new(WebhookConfig {
        timeout: Duration::from_millis(400),
        ..WebhookConfig::new(&receiver.url, SECRET)
    })
    .unwrap();
    let e = event();
    let notification = Notification::Agency(e.clone());
    let message_id = Uuid::new_v4();

    // The receiver acts on the event but its answer comes too late.
    receiver.set_mode(Mode::Slow(Duration::from_secs(3)));
    let err = n.deliver(message_id, &notification).await.unwrap_err();
    assert!(err.is_temporary(), "{err}");
    assert!(err.message.contains("timeout"), "{err}");
    assert!(
        !err.message.contains("127.0.0.1"),
        "no URL in errors: {err}"
    );

    // The retry carries the same event id; the receiver acts once.
    receiver.set_mode(Mode::Ok);
    n.deliver(message_id, &notification).await.unwrap();
    let copies = receiver.deliveries_of(e.event_id);
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[0].body, copies[1].body, "the same body, re-signed");
    assert_eq!(receiver.processed().len(), 1);

    let down = notifier(&dead_url());
    let err = down.deliver(message_id, &notification).await.unwrap_err();
    assert!(err.is_temporary(), "connection refused is transient: {err}");
}
