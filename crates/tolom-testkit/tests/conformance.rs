//! The in-memory adapters pass the conformance suites they define.

use std::sync::Arc;

use tolom_core::outbox::Channel;
use tolom_core::payment::ChallengeResponse;
use tolom_core::payment::DeclineReason;
use tolom_core::ports::Store;
use tolom_testkit::conformance;
use tolom_testkit::fake::{FakeAcquirer, Script};
use tolom_testkit::memory::InMemoryStore;
use tolom_testkit::notifier::RecordingNotifier;

#[tokio::test]
async fn in_memory_store_keeps_the_storage_contract() {
    conformance::storage::run(|| async { Arc::new(InMemoryStore::new()) as Arc<dyn Store> }).await;
}

#[tokio::test]
async fn fake_acquirer_keeps_the_acquirer_contract() {
    let acquirer = FakeAcquirer::new();
    // The suite buys: approve (twice, same order), decline, challenge.
    acquirer.script([
        Script::Approve,
        Script::Decline(DeclineReason::InsufficientFunds),
        Script::Otp("4321".into()),
    ]);
    let cards = conformance::acquirer::TestCards {
        approve: "4111111111111111".into(),
        decline: ("5555555555554444".into(), DeclineReason::InsufficientFunds),
        challenge: "4111111111111111".into(),
    };
    conformance::acquirer::run(&acquirer, &cards, |_challenge, _order| async {
        ChallengeResponse::otp("4321")
    })
    .await;
    assert_eq!(
        acquirer.charges(),
        2,
        "one approval and one challenge approval"
    );
}

#[tokio::test]
async fn recording_notifier_keeps_the_notifier_contract() {
    for channel in [Channel::Email, Channel::Webhook] {
        let n = RecordingNotifier::new(channel);
        let down = RecordingNotifier::new(channel);
        down.fail_next(1, true);
        conformance::notifier::run(
            &n,
            |id| {
                let texts: Vec<String> = n
                    .delivered()
                    .into_iter()
                    .filter(|(m, _)| *m == id)
                    .map(|(_, notification)| match notification {
                        tolom_core::ports::Notification::ReceiptEmail {
                            receipt, language, ..
                        } => receipt.to_text(language),
                        tolom_core::ports::Notification::Agency(e) => {
                            serde_json::to_string(&e).unwrap_or_default()
                        }
                    })
                    .collect();
                async move { texts }
            },
            Some(&down),
        )
        .await;
    }
}

#[tokio::test]
async fn in_memory_store_keeps_the_ops_contract() {
    conformance::ops::run(|| async { Arc::new(InMemoryStore::new()) }).await;
}
