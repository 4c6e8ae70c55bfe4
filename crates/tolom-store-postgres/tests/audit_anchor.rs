//! The audit log anchored outside the database, on PostgreSQL: someone
//! with the owner's rights who deletes the last entries, or rewrites from
//! entry k and re-chains with the shipped sealing function (and deletes the
//! checkpoints the database keeps), leaves a chain that verifies on its own
//! — and a log that a signed checkpoint kept elsewhere proves changed.
//! Sealers on two instances at once form one chain, and appends never wait
//! for a sealer.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sqlx::PgConnection;
use tolom_acquirer_sandbox::{SandboxAcquirer, VISA_APPROVE};
use tolom_core::audit::checkpoint::{CheckpointKey, SignedCheckpoint};
use tolom_core::audit::{verify_chain, AuditNote};
use tolom_core::ports::OpsStore;
use tolom_core::usecases::operator::Checkpointing;
use tolom_core::usecases::Config;
use tolom_store_postgres::PostgresStore;
use tolom_testkit::fixtures::Harness;

fn key() -> CheckpointKey {
    CheckpointKey::from_seed("pay.test/audit", [3u8; 32]).unwrap_or_else(|e| panic!("{e}"))
}

/// A log with payments and a refund in it, and a signed checkpoint of it.
async fn log_with_checkpoint(
    store: &Arc<PostgresStore>,
) -> (Harness<PostgresStore>, SignedCheckpoint) {
    let h = Harness::on(
        store.clone(),
        Arc::new(SandboxAcquirer::for_tests()),
        Config::default(),
    );
    for i in 0..3 {
        let charge = h.charge("passport-2020", "Сыдыкова Айгүл").await;
        let paid = h.pay(&charge.code, VISA_APPROVE, &format!("k{i}")).await;
        if i == 1 {
            let (operator, who) = h.operator();
            operator
                .refund(&who, paid.id(), None, "twice", "r1")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let (operator, who) = h.operator();
    let checkpoint = match operator.checkpoint_audit(&who, &key()).await {
        Ok(Checkpointing::Made(c)) => c,
        other => panic!("checkpoint: {other:?}"),
    };
    assert!(
        checkpoint.checkpoint.size >= 10,
        "{:?}",
        checkpoint.checkpoint
    );
    (h, checkpoint)
}

/// What an intruder with the owner's rights does first: triggers off, and
/// the copies of the checkpoints in the database gone.
async fn intruder(conn: &mut PgConnection) {
    for sql in [
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        "ALTER TABLE audit_checkpoints DISABLE TRIGGER USER",
        "DELETE FROM audit_checkpoints",
    ] {
        sqlx::query(sql)
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_log_is_found_with_a_checkpoint() {
    let Some(db) = common::TestDb::connect_or_skip("audit truncation").await else {
        return;
    };
    let (store, guard) = db.fresh().await;
    let store = Arc::new(store);
    let (h, checkpoint) = log_with_checkpoint(&store).await;
    let (operator, who) = h.operator();
    let size = checkpoint.checkpoint.size;
    let report = operator
        .verify_audit_against(&who, std::slice::from_ref(&checkpoint), &[key().verifier()])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.intact(), "before: {report:?}");

    // The last 3 entries deleted, the head moved back to match.
    let mut conn = db.raw_in(&guard.schema).await;
    intruder(&mut conn).await;
    sqlx::query("DELETE FROM audit_log WHERE seq > $1")
        .bind(i64::try_from(size - 3).unwrap_or(0))
        .execute(&mut conn)
        .await
        .expect("truncate");
    sqlx::query(
        "UPDATE audit_head SET (seq, hash) = \
         (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) WHERE id = 1",
    )
    .execute(&mut conn)
    .await
    .expect("head");

    let plain = operator
        .verify_audit(&who)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        plain.intact() && plain.entries as u64 == size - 3,
        "without a checkpoint the truncated chain verifies (the weakness): {plain:?}"
    );
    let report = operator
        .verify_audit_against(&who, std::slice::from_ref(&checkpoint), &[key().verifier()])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.intact(), "the checkpoint finds it: {report:?}");
    let problem = report.problem.clone().unwrap_or_default();
    assert!(problem.contains("truncated"), "{problem}");
    assert_eq!(report.broken_at, Some(size - 2), "the first missing entry");
    // The operator's next checkpoint would not vouch for it either (the
    // database's copy is gone, so it checks the whole chain — which holds:
    // only the copy outside can tell).
    drop(guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewriting_and_rechaining_with_the_shipped_function_is_found() {
    let Some(db) = common::TestDb::connect_or_skip("audit rewrite").await else {
        return;
    };
    let (store, guard) = db.fresh().await;
    let store = Arc::new(store);
    let (h, checkpoint) = log_with_checkpoint(&store).await;
    let (operator, who) = h.operator();
    let size = checkpoint.checkpoint.size;
    let k = 5i64;

    // From entry k on: deleted, the head set back to entry k-1, the entries
    // appended again with the refund's actor changed, and re-chained by the
    // sealing function the schema ships.
    let mut conn = db.raw_in(&guard.schema).await;
    intruder(&mut conn).await;
    let tail: Vec<(
        chrono::DateTime<Utc>,
        String,
        String,
        String,
        serde_json::Value,
    )> = sqlx::query_as(
        "SELECT at, actor, action, subject, data FROM audit_log WHERE seq >= $1 ORDER BY seq",
    )
    .bind(k)
    .fetch_all(&mut conn)
    .await
    .expect("tail");
    sqlx::query("DELETE FROM audit_log WHERE seq >= $1")
        .bind(k)
        .execute(&mut conn)
        .await
        .expect("delete");
    sqlx::query(
        "UPDATE audit_head SET (seq, hash) = (SELECT seq, hash FROM audit_log WHERE seq = $1) \
         WHERE id = 1",
    )
    .bind(k - 1)
    .execute(&mut conn)
    .await
    .expect("head");
    let mut forged = 0;
    for (at, actor, action, subject, data) in tail {
        let actor = if action.starts_with("refund.") {
            forged += 1;
            "cli:somebody-else".to_string()
        } else {
            actor
        };
        sqlx::query("SELECT 1 FROM tolom_audit_append($1, $2, $3, $4, $5)")
            .bind(at)
            .bind(actor)
            .bind(action)
            .bind(subject)
            .bind(sqlx::types::Json(data))
            .execute(&mut conn)
            .await
            .expect("append");
    }
    assert!(forged > 0, "the refund is after entry {k}");
    let sealed: i64 = sqlx::query_scalar("SELECT tolom_audit_seal(100000)")
        .fetch_one(&mut conn)
        .await
        .expect("re-chain");
    assert_eq!(sealed as u64, size - (k as u64) + 1);

    let entries = store.audit_entries(1, 0).await.expect("entries");
    assert_eq!(
        verify_chain(&entries),
        Ok(size as usize),
        "re-chained: the chain verifies on its own (the weakness)"
    );
    assert!(entries.iter().any(|e| e.actor == "cli:somebody-else"));
    let plain = operator
        .verify_audit(&who)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(plain.intact(), "{plain:?}");
    let report = operator
        .verify_audit_against(&who, std::slice::from_ref(&checkpoint), &[key().verifier()])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let problem = report.problem.clone().unwrap_or_default();
    assert!(
        problem.contains("rewritten"),
        "the checkpoint finds the rewrite: {report:?}"
    );
    assert_eq!(report.broken_at, Some(size));
    drop(guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealers_on_two_instances_form_one_chain_and_appends_never_wait_for_them() {
    let Some(db) = common::TestDb::connect_or_skip("audit sealers").await else {
        return;
    };
    let (one, guard) = db.fresh().await;
    let two = db.another_instance(&guard, 4).await;
    let (one, two) = (Arc::new(one), Arc::new(two));
    let note =
        |i: usize| AuditNote::new(Utc::now(), "system", "x", "s", serde_json::json!({"i": i}));
    // Appends on both instances while both seal in small batches.
    let mut tasks = Vec::new();
    for (n, store) in [one.clone(), two.clone()].into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 0..100 {
                store
                    .append_audit(&note(n * 1000 + i))
                    .await
                    .expect("append");
            }
        }));
    }
    for store in [one.clone(), two.clone()] {
        tasks.push(tokio::spawn(async move {
            for _ in 0..40 {
                store.seal_audit(7).await.expect("seal");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    while one.seal_audit(1000).await.expect("seal") > 0 {}
    let entries = two.audit_entries(1, 0).await.expect("entries");
    assert_eq!(verify_chain(&entries), Ok(200), "one chain of every entry");
    let mut seen: Vec<i64> = entries
        .iter()
        .filter_map(|e| e.data["i"].as_i64())
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 200, "each entry once");

    // A sealer holding the chain's head (a transaction that sealed and has
    // not committed) does not hold up an append on the other instance.
    let mut sealer = db.raw_in(&guard.schema).await;
    sqlx::query("BEGIN")
        .execute(&mut sealer)
        .await
        .expect("begin");
    one.append_audit(&note(5000)).await.expect("append");
    let _: i64 = sqlx::query_scalar("SELECT tolom_audit_seal(10)")
        .fetch_one(&mut sealer)
        .await
        .expect("seal in the open transaction");
    let append = tokio::time::timeout(Duration::from_secs(5), two.append_audit(&note(5001))).await;
    assert!(
        matches!(append, Ok(Ok(()))),
        "an append waits for no sealer: {append:?}"
    );
    sqlx::query("COMMIT")
        .execute(&mut sealer)
        .await
        .expect("commit");
    while two.seal_audit(1000).await.expect("seal") > 0 {}
    let entries = one.audit_entries(1, 0).await.expect("entries");
    assert_eq!(verify_chain(&entries), Ok(202));
    drop(guard);
}
