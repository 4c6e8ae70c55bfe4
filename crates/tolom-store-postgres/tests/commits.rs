//! Commits per payment on PostgreSQL, counted by the store (never timed):
//! the payer's path (start → card approved) makes exactly two durable
//! commits — `Authorizing` before the card goes to the acquirer, the result
//! before the payer sees it — and one that does not wait for the disk (the
//! start); a dispatch round makes one durable commit for its delivered
//! marks, after a lease that does not wait for the disk. So the count
//! cannot silently grow.

mod common;

use std::sync::Arc;

use tolom_acquirer_sandbox::{SandboxAcquirer, VISA_APPROVE};
use tolom_core::outbox::OutboxStatus;
use tolom_core::payment::PaymentState;
use tolom_core::ports::{Acquirer, Clock, OutboxStore};
use tolom_core::usecases::Config;
use tolom_store_postgres::PostgresStore;
use tolom_testkit::fixtures::{card_form, Harness};

/// (all commits, durable commits) of `store` so far.
fn counts(store: &PostgresStore) -> (u64, u64) {
    (store.commits(), store.durable_commits())
}

#[tokio::test]
async fn a_payment_makes_two_durable_commits_and_a_dispatch_round_one() {
    let Some(db) = common::TestDb::connect_or_skip("commits per payment").await else {
        return;
    };
    let (store, _guard) = db.fresh().await;
    let sandbox: Arc<dyn Acquirer> = Arc::new(SandboxAcquirer::for_tests());
    let h = Harness::on(Arc::new(store.clone()), sandbox, Config::default());
    let charge = h.charge("id-card-2017", "Асанов Айбек Маратович").await;
    let terms = h.terms_id().await;
    assert!(!terms.is_empty());

    // The start: one commit, not waiting for the disk.
    let before = counts(&store);
    let p = h.start(&charge.code, "commits-start").await;
    let after_start = counts(&store);
    assert_eq!(
        (after_start.0 - before.0, after_start.1 - before.1),
        (1, 0),
        "the start commits once, without waiting for the disk"
    );

    // The card, approved: `Authorizing`, then the success with the charge,
    // its events, outbox messages and audit entries — two durable commits.
    let paid = h
        .tolom
        .submit_card(p.id(), &card_form(VISA_APPROVE), "commits-card")
        .await
        .unwrap_or_else(|e| panic!("submit_card: {e}"));
    assert_eq!(paid.state(), PaymentState::Succeeded);
    let after_card = counts(&store);
    assert_eq!(
        (after_card.0 - after_start.0, after_card.1 - after_start.1),
        (2, 2),
        "authorizing and the result: two durable commits"
    );
    assert_eq!(
        after_card.1 - before.1,
        2,
        "start → card approved: exactly two durable commits on the payer's path"
    );
    let pending = store
        .outbox_list(Some(OutboxStatus::Pending), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        pending.len() >= 2,
        "the success enqueued its messages: {pending:?}"
    );

    // One dispatch round: the lease (not waiting for the disk) and one
    // durable commit for all the delivered marks.
    let report = h
        .tolom
        .dispatch_outbox("commits", 10)
        .await
        .unwrap_or_else(|e| panic!("dispatch: {e}"));
    assert_eq!(report.delivered, pending.len());
    let after_round = counts(&store);
    assert_eq!(
        (after_round.0 - after_card.0, after_round.1 - after_card.1),
        (2, 1),
        "a round: one lease, one durable commit for {} marks",
        pending.len()
    );
    assert_eq!(
        store
            .outbox_list(Some(OutboxStatus::Delivered), 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .len(),
        pending.len()
    );

    // A round with nothing due writes nothing.
    h.tolom
        .dispatch_outbox("commits", 10)
        .await
        .unwrap_or_else(|e| panic!("dispatch: {e}"));
    assert_eq!(
        counts(&store),
        after_round,
        "an empty round commits nothing"
    );
}

/// Marking a round delivered is all or nothing: an unknown id leaves every
/// message as it was.
#[tokio::test]
async fn delivered_marks_are_all_or_nothing() {
    let Some(db) = common::TestDb::connect_or_skip("delivered marks").await else {
        return;
    };
    let (store, _guard) = db.fresh().await;
    let sandbox: Arc<dyn Acquirer> = Arc::new(SandboxAcquirer::for_tests());
    let h = Harness::on(Arc::new(store.clone()), sandbox, Config::default());
    let charge = h.charge("id-card-2017", "Асанов Айбек Маратович").await;
    let paid = h.pay(&charge.code, VISA_APPROVE, "marks").await;
    assert_eq!(paid.state(), PaymentState::Succeeded);
    let pending = store
        .outbox_list(Some(OutboxStatus::Pending), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!pending.is_empty());
    let mut ids: Vec<_> = pending.iter().map(|m| m.id).collect();
    ids.push(uuid::Uuid::new_v4());
    let before = counts(&store);
    assert_eq!(
        store.outbox_delivered_many(&ids, h.clock.now()).await,
        Err(tolom_core::ports::StoreError::NotFound)
    );
    assert_eq!(counts(&store), before);
    assert_eq!(
        store
            .outbox_list(Some(OutboxStatus::Pending), 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .len(),
        pending.len(),
        "nothing marked"
    );
}
