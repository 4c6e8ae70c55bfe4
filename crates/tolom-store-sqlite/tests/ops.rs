//! Operations on SQLite beyond the conformance suite: the audit chain
//! catching a row altered behind the store's back, event actors in the
//! chain, and operator actions whose note is written with them — or not at
//! all when the action is refused.

mod common;

use std::sync::Arc;

use chrono::Utc;
use tolom_core::access::{hash_token, ApiToken, Role};
use tolom_core::audit::{verify_chain, AuditNote, AuditProblem};
use tolom_core::ports::{InvariantKind, OpsStore, OutboxStore, StoreError, TermsStore};
use tolom_store_sqlite::{SqliteOptions, SqliteStore};
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

fn token(name: &str) -> ApiToken {
    ApiToken {
        id: Uuid::new_v4(),
        name: name.into(),
        role: Role::Operator,
        secret_hash: hash_token(&Uuid::new_v4().to_string()),
        created_at: Utc::now(),
        revoked_at: None,
    }
}

async fn entries(store: &SqliteStore) -> Vec<tolom_core::audit::AuditEntry> {
    store.audit_entries(1, 0).await.expect("entries")
}

#[tokio::test]
async fn an_altered_row_breaks_the_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    let store = common::open(&path, SqliteOptions::default()).await;
    for i in 0..3 {
        store
            .append_audit(&AuditNote::new(
                Utc::now(),
                "system",
                "x",
                "s",
                serde_json::json!({ "i": i }),
            ))
            .await
            .expect("append");
    }
    store.close().await;
    let mut raw = common::raw(&path).await;
    assert!(
        sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
            .execute(&mut raw)
            .await
            .is_err(),
        "the append-only trigger refuses updates"
    );
    common::exec(&mut raw, "DROP TRIGGER audit_log_no_update").await;
    common::exec(
        &mut raw,
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2",
    )
    .await;
    drop(raw);
    let store = common::open(&path, SqliteOptions::default()).await;
    assert_eq!(
        verify_chain(&entries(&store).await),
        Err(AuditProblem::Altered { seq: 2 })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_keep_their_actor_in_the_log_and_in_the_chain() {
    let w = common::World::new().await;
    let charge = w.h.charge(common::SERVICE, common::PAYER).await;
    // An operator cancels the charge: the event carries the operator.
    let (operator, who) = w.h.operator();
    operator
        .cancel(&who, charge.code.as_str())
        .await
        .expect("cancel");
    let events = tolom_core::ports::EventLog::events_of(w.store(), charge.id)
        .await
        .expect("events");
    let actors: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.kind.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actors,
        [
            ("charge.issued", "system"),
            ("charge.cancelled", "cli:test")
        ]
    );
    let chain = entries(w.store()).await;
    assert_eq!(verify_chain(&chain), Ok(chain.len()));
    let cancelled = chain
        .iter()
        .find(|e| e.action == "charge.cancelled")
        .expect("the event is in the chain");
    assert_eq!(cancelled.actor, "cli:test", "with the event's actor");
    assert_eq!(cancelled.subject, charge.id.to_string());
}

#[tokio::test]
async fn a_refused_action_writes_nothing_not_even_its_note() {
    let store = Arc::new(SqliteStore::in_memory().await.expect("store"));
    store
        .create_token(&token("ops-1"), &note("token.created", "ops-1"))
        .await
        .expect("create");
    let before = entries(&store).await.len();
    assert_eq!(before, 1, "the note of a done action is written with it");

    let r = store
        .create_token(&token("ops-1"), &note("token.created", "ops-1"))
        .await;
    assert_eq!(
        r.as_ref().err().and_then(StoreError::invariant_kind),
        Some(InvariantKind::DuplicateToken),
        "{r:?}"
    );
    assert_eq!(
        store
            .revoke_token("nobody", Utc::now(), &note("token.revoked", "nobody"))
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .outbox_retry(Uuid::new_v4(), Utc::now(), &note("outbox.retried", "x"))
            .await,
        Err(StoreError::NotFound)
    );
    let edition = tolom_core::terms::TermsEdition {
        id: "2026-12-01".into(),
        published_at: Utc::now(),
        effective_at: Utc::now(),
        last_changed: Utc::now().date_naive(),
        text_ky: "ky".into(),
        text_ru: "ru".into(),
        text_en: "en".into(),
    };
    store
        .publish_terms(&edition, &note("terms.published", "2026-12-01"))
        .await
        .expect("publish");
    let r = store
        .publish_terms(&edition, &note("terms.published", "2026-12-01"))
        .await;
    assert_eq!(
        r.as_ref().err().and_then(StoreError::invariant_kind),
        Some(InvariantKind::DuplicateEdition),
        "{r:?}"
    );
    assert_eq!(store.terms_editions().await.map(|v| v.len()), Ok(1));
    assert_eq!(store.list_tokens().await.map(|v| v.len()), Ok(1));
    let after = entries(&store).await;
    let actions: Vec<&str> = after.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["token.created", "terms.published"],
        "only the notes of the actions that were done"
    );
    assert_eq!(verify_chain(&after), Ok(2));
}

#[tokio::test]
async fn retention_adds_the_count_to_its_note_every_run() {
    let store = SqliteStore::in_memory().await.expect("store");
    let run = AuditNote::new(
        Utc::now(),
        "cli:test",
        "retention.run",
        "payments",
        serde_json::json!({"days": 30}),
    );
    assert_eq!(store.anonymise_before(Utc::now(), &run).await, Ok(0));
    let chain = entries(&store).await;
    assert_eq!(chain.len(), 1, "also when nothing was anonymised");
    assert_eq!(
        chain[0].data,
        serde_json::json!({"days": 30, "anonymised": 0})
    );
}
