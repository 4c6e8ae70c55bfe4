//! How many commits a payment costs, and group commit: counts, never
//! durations (speed is measured in `benches/flow.rs`).
//!
//! - On the payer's path a payment makes exactly two durable commits
//!   (`Authorizing` before the card goes to the acquirer, then the result);
//!   the start commits without waiting for the disk.
//! - One dispatch round marks all its delivered messages with one durable
//!   commit (the lease is not durable).
//! - Concurrent writers share commits, and a job that fails in a batch
//!   leaves its batch-mates' writes in place.

mod common;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Utc;
use common::{card, World};
use sqlx::Connection;
use tolom_acquirer_sandbox::VISA_APPROVE;
use tolom_core::audit::{verify_chain, AuditNote};
use tolom_core::charge::{Charge, ChargeStatus, Payer};
use tolom_core::code::PaymentCode;
use tolom_core::events::{Event, EventKind};
use tolom_core::money::Money;
use tolom_core::payment::PaymentState;
use tolom_core::ports::{ChargeStore, OpsStore, StoreError};
use tolom_store_sqlite::SqliteStore;
use uuid::Uuid;

/// (commits, durable commits, write jobs) so far.
fn counts(store: &SqliteStore) -> (u64, u64, u64) {
    (store.commits(), store.durable_commits(), store.write_jobs())
}

fn delta(before: (u64, u64, u64), after: (u64, u64, u64)) -> (u64, u64, u64) {
    (after.0 - before.0, after.1 - before.1, after.2 - before.2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_makes_two_durable_commits_on_the_payers_path() {
    let w = World::new().await;
    let charge = w.h.charge(common::SERVICE, common::PAYER).await;
    let terms = w.h.terms_id().await;
    assert!(!terms.is_empty());

    let before = counts(w.store());
    let p = w.h.start(&charge.code, "start").await;
    let (commits, durable, jobs) = delta(before, counts(w.store()));
    assert_eq!(jobs, 1, "the start is one write");
    assert_eq!(commits, 1, "the start is committed");
    assert_eq!(durable, 0, "the start does not wait for the disk");

    let before = counts(w.store());
    let paid =
        w.h.tolom
            .submit_card(p.id(), &card(VISA_APPROVE, "123"), "card")
            .await
            .expect("submit");
    assert_eq!(paid.state(), PaymentState::Succeeded);
    let (commits, durable, jobs) = delta(before, counts(w.store()));
    assert_eq!(
        (jobs, commits, durable),
        (2, 2, 2),
        "Authorizing and Succeeded: two durable commits, with the outbox, events and audit \
         entries in them"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_dispatch_round_marks_its_messages_with_one_durable_commit() {
    const N: usize = 8;
    let w = World::new().await;
    for i in 0..N {
        let charge = w.h.charge(common::SERVICE, common::PAYER).await;
        let p = w.h.pay(&charge.code, VISA_APPROVE, &format!("k{i}")).await;
        assert_eq!(p.state(), PaymentState::Succeeded);
    }
    let before = counts(w.store());
    let report =
        w.h.tolom
            .dispatch_outbox("w", 1000)
            .await
            .expect("dispatch");
    assert_eq!(
        report.delivered,
        2 * N,
        "a receipt and a notice per payment"
    );
    let (commits, durable, jobs) = delta(before, counts(w.store()));
    assert_eq!(jobs, 2, "the lease and the marks");
    assert_eq!(commits, 2);
    assert_eq!(
        durable, 1,
        "one durable commit marks the whole round; the lease does not wait for the disk"
    );
    // Nothing left to deliver.
    let again =
        w.h.tolom
            .dispatch_outbox("w", 1000)
            .await
            .expect("dispatch");
    assert_eq!(again.delivered, 0);
}

fn charge_with(code: &str) -> (Charge, Event) {
    let charge = Charge {
        id: Uuid::new_v4(),
        code: PaymentCode::from_trusted(code.to_string()),
        service: common::SERVICE.into(),
        urgency: None,
        payer: Payer {
            full_name: common::PAYER.into(),
        },
        amount: Money::som(885),
        issued_at: Utc::now(),
        expires_at: Utc::now() + chrono::Duration::days(30),
        status: ChargeStatus::Unpaid,
        agency_ref: None,
    };
    let event = Event {
        id: Uuid::new_v4(),
        at: charge.issued_at,
        charge_id: charge.id,
        payment_id: None,
        kind: EventKind::ChargeIssued,
        actor: "system".into(),
        data: serde_json::json!({}),
    };
    (charge, event)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_commits() {
    let w = Arc::new(World::new().await);
    let before = counts(w.store());
    let tasks: Vec<_> = (0..32)
        .map(|t| {
            let w = w.clone();
            tokio::spawn(async move {
                for i in 0..4 {
                    let note = AuditNote::system(
                        Utc::now(),
                        "test.note",
                        format!("{t}-{i}"),
                        serde_json::json!({"t": t, "i": i}),
                    );
                    w.store().append_audit(&note).await.expect("append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let (commits, durable, jobs) = delta(before, counts(w.store()));
    assert_eq!(jobs, 128);
    assert_eq!(commits, durable, "every note is a durable write");
    assert!(
        durable < jobs,
        "32 concurrent writers share commits: {durable} durable commits for {jobs} jobs"
    );
    let entries = w.store().audit_entries(1, 0).await.expect("entries");
    assert_eq!(
        entries.iter().filter(|e| e.action == "test.note").count(),
        128
    );
    verify_chain(&entries).expect("the chain holds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_rolls_back_only_its_own_writes() {
    let w = Arc::new(World::new().await);
    // Taken codes: every fourth write below reuses one and fails.
    for i in 0..8 {
        let (charge, event) = charge_with(&format!("taken-{i}"));
        w.store()
            .insert_charge(&charge, &event, &[])
            .await
            .expect("insert");
    }
    // Another connection holds the write lock, so that the writes below
    // queue up and go into one batch once it is released.
    let mut other = common::raw(&w.path).await;
    let lock = other.begin_with("BEGIN IMMEDIATE").await.expect("lock");
    let before = counts(w.store());
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let w = w.clone();
            tokio::spawn(async move {
                let code = if i % 4 == 0 {
                    format!("taken-{}", i / 4)
                } else {
                    format!("fresh-{i}")
                };
                let (charge, event) = charge_with(&code);
                let note = AuditNote::system(
                    Utc::now(),
                    "test.issued",
                    code.clone(),
                    serde_json::json!({"i": i}),
                );
                let r = w.store().insert_charge(&charge, &event, &[note]).await;
                (i, charge, r)
            })
        })
        .collect();
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    lock.rollback().await.expect("release");
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("task"));
    }
    let (commits, durable, jobs) = delta(before, counts(w.store()));
    assert_eq!(jobs, 32);
    assert!(
        durable < jobs,
        "the queued writes shared commits: {durable} durable commits for {jobs} jobs"
    );
    assert_eq!(commits, durable);
    for (i, charge, r) in &results {
        let stored = w.store().charge(charge.id).await.expect("read");
        if i % 4 == 0 {
            assert_eq!(r, &Err(StoreError::DuplicateCode), "write {i}");
            assert_eq!(stored, None, "nothing of the failed write {i}");
        } else {
            assert_eq!(r, &Ok(()), "write {i}");
            assert_eq!(stored.as_ref(), Some(charge), "write {i} is stored");
        }
    }
    // Events and notes: exactly those of the writes that went through, and
    // the chain intact across the rolled-back savepoints.
    let entries = w.store().audit_entries(1, 0).await.expect("entries");
    assert_eq!(
        entries.iter().filter(|e| e.action == "test.issued").count(),
        24
    );
    verify_chain(&entries).expect("the chain holds");
}
