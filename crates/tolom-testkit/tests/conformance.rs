//! The in-memory adapters pass the conformance suites they define: one
//! named test per case.

use std::sync::Arc;

use futures::FutureExt;
use tolom_core::outbox::Channel;
use tolom_core::payment::{ChallengeResponse, DeclineReason};
use tolom_core::ports::Notification;
use tolom_testkit::conformance::acquirer::{AcquirerUnderTest, TestCards};
use tolom_testkit::conformance::notifier::NotifierUnderTest;
use tolom_testkit::fake::{FakeAcquirer, Script};
use tolom_testkit::memory::InMemoryStore;
use tolom_testkit::notifier::RecordingNotifier;

async fn store() -> Option<Arc<InMemoryStore>> {
    Some(Arc::new(InMemoryStore::new()))
}

tolom_testkit::storage_conformance!(store);
tolom_testkit::ops_conformance!(store);

/// A fake acquirer scripted for the case: it answers in order, so each case
/// gets exactly the answers it asks for.
async fn acquirer(case: &'static str) -> Option<AcquirerUnderTest> {
    let fake = FakeAcquirer::new();
    match case {
        "approval_is_idempotent" | "refunds_never_exceed_the_payment" => {
            fake.script([Script::Approve])
        }
        "decline" => fake.script([Script::Decline(DeclineReason::InsufficientFunds)]),
        "challenge" => fake.script([Script::Otp("4321".into())]),
        "unpaid_order_is_cancelled" => fake.script([Script::Otp("4321".into()), Script::Approve]),
        _ => {}
    }
    Some(AcquirerUnderTest {
        acquirer: Arc::new(fake),
        cards: TestCards {
            approve: "4111111111111111".into(),
            decline: ("5555555555554444".into(), DeclineReason::InsufficientFunds),
            challenge: "4111111111111111".into(),
        },
        solve: Box::new(|_challenge, _order| async { ChallengeResponse::otp("4321") }.boxed()),
        guard: None,
    })
}

tolom_testkit::acquirer_conformance!(acquirer);

/// A recording notifier; the unreachable one fails once, temporarily.
async fn notifier(case: &'static str) -> Option<NotifierUnderTest> {
    let channel = if case == "delivers_at_least_once" {
        Channel::Email
    } else {
        Channel::Webhook
    };
    let n = Arc::new(RecordingNotifier::new(channel));
    let down = Arc::new(RecordingNotifier::new(channel));
    down.fail_next(1, true);
    let seen = n.clone();
    Some(NotifierUnderTest {
        notifier: n,
        received: Box::new(move |id| {
            let texts: Vec<String> = seen
                .delivered()
                .into_iter()
                .filter(|(m, _)| *m == id)
                .map(|(_, notification)| match notification {
                    Notification::ReceiptEmail {
                        receipt, language, ..
                    } => receipt.to_text(language),
                    Notification::Agency(e) => serde_json::to_string(&e).unwrap_or_default(),
                })
                .collect();
            async move { texts }.boxed()
        }),
        unreachable: down,
        guard: None,
    })
}

tolom_testkit::notifier_conformance!(notifier);

/// The webhook channel delivers too (the per-case tests above deliver on
/// the e-mail channel).
#[tokio::test]
async fn webhook_channel_delivers_at_least_once() {
    let Some(mut under_test) = notifier("delivers_at_least_once").await else {
        return;
    };
    let n = Arc::new(RecordingNotifier::new(Channel::Webhook));
    let seen = n.clone();
    under_test.notifier = n;
    under_test.received = Box::new(move |id| {
        let texts: Vec<String> = seen
            .delivered()
            .into_iter()
            .filter(|(m, _)| *m == id)
            .filter_map(|(_, notification)| match notification {
                Notification::Agency(e) => serde_json::to_string(&e).ok(),
                Notification::ReceiptEmail { .. } => None,
            })
            .collect();
        async move { texts }.boxed()
    });
    tolom_testkit::conformance::notifier::delivers_at_least_once(&under_test).await;
}
