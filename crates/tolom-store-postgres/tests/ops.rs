//! The audit chain on PostgreSQL: rows altered, deleted or inserted behind
//! the store's back break it; events enter it with their actor; each
//! operator action and its note are one transaction, and a refused action
//! writes neither. (The testkit's operations suite runs in
//! `tests/conformance.rs`.)

mod common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use tolom_acquirer_sandbox::{SandboxAcquirer, VISA_APPROVE};
use tolom_core::audit::{verify_chain, AuditNote, AuditProblem};
use tolom_core::events::EventKind;
use tolom_core::outbox::OutboxStatus;
use tolom_core::ports::{EventLog, InvariantKind, OpsStore, OutboxStore, StoreError, TermsStore};
use tolom_core::terms::TermsEdition;
use tolom_core::usecases::Config;
use tolom_testkit::fixtures::Harness;
use uuid::Uuid;

fn note(action: &str, subject: &str) -> AuditNote {
    AuditNote::new(
        Utc::now(),
        "cli:test",
        action,
        subject,
        serde_json::json!({}),
    )
}

#[tokio::test]
async fn tampering_breaks_the_chain() {
    let Some(db) = common::TestDb::connect_or_skip("audit tampering").await else {
        return;
    };
    let (store, guard) = db.fresh().await;
    let now = Utc::now();
    for i in 0..4 {
        store
            .append_audit(&AuditNote::new(
                now,
                "system",
                "x",
                "s",
                serde_json::json!({"i": i, "b": [1, "x"]}),
            ))
            .await
            .expect("append");
    }
    store.seal_audit(100_000).await.expect("seal");
    let entries = store.audit_entries(1, 0).await.expect("entries");
    assert_eq!(
        verify_chain(&entries),
        Ok(4),
        "hashes computed in SQL match the core's"
    );
    let raw = store.pool();
    assert!(
        sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
            .execute(raw)
            .await
            .is_err(),
        "append-only"
    );
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .execute(raw)
        .await
        .expect("disable trigger");
    sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
        .execute(raw)
        .await
        .expect("tamper");
    store.seal_audit(100_000).await.expect("seal");
    let entries = store.audit_entries(1, 0).await.expect("entries");
    assert_eq!(
        verify_chain(&entries),
        Err(AuditProblem::Altered { seq: 2 })
    );
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(raw)
        .await
        .expect("delete");
    store.seal_audit(100_000).await.expect("seal");
    let entries = store.audit_entries(1, 0).await.expect("entries");
    assert_eq!(
        verify_chain(&entries),
        Err(AuditProblem::Missing { from: 2, to: 2 })
    );
    drop(guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_enter_the_chain_with_their_actor() {
    let Some(db) = common::TestDb::connect_or_skip("event actors").await else {
        return;
    };
    let (store, _guard) = db.fresh().await;
    let store = Arc::new(store);
    let h = Harness::on(
        store.clone(),
        Arc::new(SandboxAcquirer::for_tests()),
        Config::default(),
    );
    let charge = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    let paid = h.pay(&charge.code, VISA_APPROVE, "actor").await;
    let (operator, who) = h.operator();
    operator
        .refund(&who, paid.id(), None, "paid twice", "refund-1")
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let events = store
        .events_of(paid.id())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let requested = events
        .iter()
        .find(|e| e.kind == EventKind::RefundRequested)
        .unwrap_or_else(|| panic!("no refund.requested in {events:?}"));
    assert_eq!(requested.actor, "cli:test", "the operator is the actor");
    let created = events
        .iter()
        .find(|e| e.kind == EventKind::PaymentCreated)
        .unwrap_or_else(|| panic!("no payment.created"));
    assert_eq!(created.actor, "system", "a payer's step is the system's");

    store.seal_audit(100_000).await.expect("seal");

    let audit = store.audit_entries(1, 0).await.unwrap_or_default();
    let actor_of = |action: &str| {
        audit
            .iter()
            .find(|e| e.action == action)
            .map(|e| e.actor.clone())
    };
    assert_eq!(actor_of("refund.requested").as_deref(), Some("cli:test"));
    assert_eq!(actor_of("payment.succeeded").as_deref(), Some("system"));
    assert_eq!(verify_chain(&audit), Ok(audit.len()));

    // A row written without an actor (as before migration 5, or by hand)
    // is the system's, in the event log and in the chain.
    sqlx::query(
        "INSERT INTO events (id, at, charge_id, payment_id, kind, data) \
         VALUES ($1, now(), $2, NULL, 'charge.expired', '{}')",
    )
    .bind(Uuid::new_v4())
    .bind(charge.id)
    .execute(store.pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let last = store
        .events_of(charge.id)
        .await
        .unwrap_or_default()
        .pop()
        .unwrap_or_else(|| panic!("no events"));
    assert_eq!(
        (last.kind, last.actor.as_str()),
        (EventKind::ChargeExpired, "system")
    );
    store.seal_audit(100_000).await.expect("seal");
    let audit = store.audit_entries(1, 0).await.unwrap_or_default();
    assert_eq!(
        audit.last().map(|e| (e.action.as_str(), e.actor.as_str())),
        Some(("charge.expired", "system"))
    );
}

/// The number of audit entries.
async fn audit_len(store: &tolom_store_postgres::PostgresStore) -> usize {
    store.seal_audit(100_000).await.expect("seal");
    store
        .audit_entries(1, 0)
        .await
        .map(|v| v.len())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_and_its_note_are_one_transaction() {
    let Some(db) = common::TestDb::connect_or_skip("audit notes").await else {
        return;
    };
    let (store, _guard) = db.fresh().await;

    // publish_terms: the edition and its note; a reused id writes neither.
    let mut edition = TermsEdition::seed_edition();
    edition.id = "2030-01-01".into();
    let before = audit_len(&store).await;
    store
        .publish_terms(&edition, &note("terms.published", &edition.id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(audit_len(&store).await, before + 1);
    let again = store
        .publish_terms(&edition, &note("terms.published", "again"))
        .await;
    assert_eq!(
        again.as_ref().err().and_then(StoreError::invariant_kind),
        Some(InvariantKind::DuplicateEdition),
        "{again:?}"
    );
    assert!(!again.as_ref().err().is_some_and(StoreError::is_temporary));
    assert_eq!(audit_len(&store).await, before + 1, "no note for a refusal");

    // outbox_retry of a message that is not dead: NotFound, no note.
    let r = store
        .outbox_retry(Uuid::new_v4(), Utc::now(), &note("outbox.retried", "x"))
        .await;
    assert_eq!(r, Err(StoreError::NotFound));
    assert_eq!(audit_len(&store).await, before + 1, "no note for NotFound");

    // A dead letter retried: pending again, with its note.
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO outbox (id, created_at, channel, payload, status, attempts, \
         next_attempt_at, last_error) VALUES ($1, now(), 'email', \
         '{\"kind\":\"receipt_email\",\"payment_id\":\"00000000-0000-0000-0000-000000000001\",\
           \"to\":\"a@example.kg\",\"language\":\"ky\"}', 'dead', 6, now(), 'http 410')",
    )
    .bind(id)
    .execute(store.pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    store
        .outbox_retry(id, Utc::now(), &note("outbox.retried", &id.to_string()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pending = store
        .outbox_list(Some(OutboxStatus::Pending), 0)
        .await
        .unwrap_or_default();
    assert_eq!(pending.iter().map(|m| m.id).collect::<Vec<_>>(), vec![id]);
    store.seal_audit(100_000).await.expect("seal");
    let audit = store.audit_entries(1, 0).await.unwrap_or_default();
    assert_eq!(
        audit
            .last()
            .map(|e| (e.action.as_str(), e.subject.clone(), e.actor.as_str())),
        Some(("outbox.retried", id.to_string(), "cli:test"))
    );

    // revoke_token of an unknown name: NotFound, no note.
    let n = audit_len(&store).await;
    assert_eq!(
        store
            .revoke_token("nobody", Utc::now(), &note("token.revoked", "nobody"))
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(audit_len(&store).await, n);

    // A retention run's note carries its count.
    let counted = store
        .anonymise_before(
            Utc::now() - Duration::days(365),
            &AuditNote::new(
                Utc::now(),
                "system",
                "retention.run",
                "payments",
                serde_json::json!({"days": 365}),
            ),
        )
        .await;
    assert_eq!(counted, Ok(0));
    store.seal_audit(100_000).await.expect("seal");
    let audit = store.audit_entries(1, 0).await.unwrap_or_default();
    assert_eq!(
        audit.last().map(|e| e.data.clone()),
        Some(serde_json::json!({"days": 365, "anonymised": 0}))
    );
    assert_eq!(verify_chain(&audit), Ok(audit.len()));
}
