//! The grants of `deploy/postgres-roles.sql`, applied for real: the schema
//! migrated by its owner, the service running as the application role
//! (`run_migrations: false`) — paying, refunding, sealing the audit log and
//! keeping checkpoints — and that role refused every way of rewriting
//! history: UPDATE, DELETE, TRUNCATE of the audit log, disabling or
//! dropping its triggers, forging a sealed entry, moving the chain's head,
//! removing entries that wait to be sealed, rewriting the checkpoints the
//! database keeps, or replacing the sealing function.
//!
//! Needs `psql` (the file is a psql script) besides PostgreSQL.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use sqlx::{Connection, PgConnection};
use tolom_acquirer_sandbox::{SandboxAcquirer, VISA_APPROVE};
use tolom_core::audit::checkpoint::CheckpointKey;
use tolom_core::audit::verify_chain;
use tolom_core::ports::OpsStore;
use tolom_core::usecases::operator::Checkpointing;
use tolom_core::usecases::Config;
use tolom_store_postgres::{PgOptions, PostgresStore};
use tolom_testkit::external;
use tolom_testkit::fixtures::Harness;

fn roles_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/postgres-roles.sql")
}

/// Runs deploy/postgres-roles.sql as the test's (superuser) connection.
fn apply_roles(url: &str, schema: &str, owner: &str, app: &str) {
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .args(["-v", &format!("schema={schema}")])
        .args(["-v", &format!("owner={owner}")])
        .args(["-v", &format!("app={app}")])
        .args(["-v", "app_create=off"])
        // The test database is shared with every other test.
        .args(["-v", "lock_database=off"])
        .arg("-f")
        .arg(roles_file())
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("psql: {e}"));
    assert!(
        out.status.success(),
        "postgres-roles.sql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Drops the scratch roles (and what they own or were granted) at the end.
struct Roles {
    url: String,
    names: Vec<String>,
}

impl Drop for Roles {
    fn drop(&mut self) {
        let url = self.url.clone();
        let names = self.names.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(mut conn) = PgConnection::connect(&url).await else {
                    return;
                };
                for name in &names {
                    let _ = sqlx::query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
                    )
                    .bind(name)
                    .execute(&mut conn)
                    .await;
                }
                for name in &names {
                    let _ = sqlx::query(&format!("DROP OWNED BY \"{name}\" CASCADE"))
                        .execute(&mut conn)
                        .await;
                    let _ = sqlx::query(&format!("DROP ROLE IF EXISTS \"{name}\""))
                        .execute(&mut conn)
                        .await;
                }
                let _ = conn.close().await;
            });
        })
        .join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_role_cannot_rewrite_the_audit_log() {
    let test = "service role and the audit log";
    let Some(db) = common::TestDb::connect_or_skip(test).await else {
        return;
    };
    if external::require_tool(test, "psql").is_none() {
        return;
    }
    let schema = db.new_schema_name();
    // Named like the schema, so a killed run's roles are dropped by the
    // next run (common::TestDb).
    let owner = format!("{schema}_owner");
    let app = format!("{schema}_app");
    let _roles = Roles {
        url: db.url().to_string(),
        names: vec![app.clone(), owner.clone()],
    };
    let _guard = common::SchemaGuard::new(db.url(), &schema);
    apply_roles(db.url(), &schema, &owner, &app);

    // The owner migrates; the file runs again after the migration.
    let migrated = PostgresStore::connect(&db.url_as(&owner), db.options(&schema, 2))
        .await
        .unwrap_or_else(|e| panic!("migrate as the owner: {e}"));
    migrated.close().await;
    apply_roles(db.url(), &schema, &owner, &app);

    // The service: the app role, no migrations.
    let store = Arc::new(
        PostgresStore::connect(
            &db.url_as(&app),
            PgOptions {
                run_migrations: false,
                ..db.options(&schema, 4)
            },
        )
        .await
        .unwrap_or_else(|e| panic!("connect as the app role: {e}")),
    );
    let h = Harness::on(
        store.clone(),
        Arc::new(SandboxAcquirer::for_tests()),
        Config::default(),
    );
    let charge = h.charge("passport-2020", "Асанов Айбек").await;
    let paid = h.pay(&charge.code, VISA_APPROVE, "roles").await;
    let (operator, who) = h.operator();
    operator
        .refund(&who, paid.id(), None, "paid twice", "r1")
        .await
        .unwrap_or_else(|e| panic!("refund as the app role: {e}"));
    let key =
        CheckpointKey::from_seed("roles.test/audit", [4u8; 32]).unwrap_or_else(|e| panic!("{e}"));
    let checkpoint = match operator.checkpoint_audit(&who, &key).await {
        Ok(Checkpointing::Made(c)) => c,
        other => panic!("the app role seals and keeps a checkpoint: {other:?}"),
    };
    let entries = store.audit_entries(1, 0).await.expect("entries");
    assert_eq!(verify_chain(&entries), Ok(entries.len()));
    assert!(
        entries.len() >= 6,
        "payment and refund sealed: {}",
        entries.len()
    );

    // Everything the app role may not do, each in its own statement.
    let mut conn = PgConnection::connect(&db.url_as(&app))
        .await
        .unwrap_or_else(|e| panic!("app connection: {e}"));
    sqlx::query(&format!("SET search_path = \"{schema}\""))
        .execute(&mut conn)
        .await
        .expect("search_path");
    let head_hash = &entries[entries.len() - 1].hash;
    let refused = [
        (
            "UPDATE the audit log",
            "UPDATE audit_log SET actor = 'forged'".to_string(),
            "permission denied",
        ),
        (
            "DELETE from the audit log",
            "DELETE FROM audit_log WHERE seq > 1".into(),
            "permission denied",
        ),
        (
            "TRUNCATE the audit log",
            "TRUNCATE audit_log".into(),
            "permission denied",
        ),
        (
            "disable its triggers",
            "ALTER TABLE audit_log DISABLE TRIGGER ALL".into(),
            "must be owner",
        ),
        (
            "disable a trigger",
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only".into(),
            "must be owner",
        ),
        (
            "drop its trigger",
            "DROP TRIGGER audit_log_append_only ON audit_log".into(),
            "must be owner",
        ),
        (
            "insert a sealed entry",
            format!(
                "INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash) \
                 VALUES ({}, now(), 'x', 'x', 'x', '{{}}', '{head_hash}', '{head_hash}')",
                entries.len() + 1
            ),
            "permission denied",
        ),
        (
            "move the chain's head",
            "UPDATE audit_head SET seq = 1".into(),
            "permission denied",
        ),
        (
            "DELETE waiting entries",
            "DELETE FROM audit_pending".into(),
            "permission denied",
        ),
        (
            "UPDATE waiting entries",
            "UPDATE audit_pending SET actor = 'x'".into(),
            "permission denied",
        ),
        (
            "TRUNCATE waiting entries",
            "TRUNCATE audit_pending".into(),
            "permission denied",
        ),
        (
            "disable the waiting entries' trigger",
            "ALTER TABLE audit_pending DISABLE TRIGGER ALL".into(),
            "must be owner",
        ),
        (
            "DELETE the kept checkpoints",
            "DELETE FROM audit_checkpoints".into(),
            "permission denied",
        ),
        (
            "UPDATE a kept checkpoint",
            "UPDATE audit_checkpoints SET text = 'x'".into(),
            "permission denied",
        ),
        (
            "replace the sealing function",
            "CREATE OR REPLACE FUNCTION tolom_audit_seal(p_max integer) RETURNS bigint \
             LANGUAGE sql AS 'SELECT 0::bigint'"
                .into(),
            "",
        ),
        (
            "drop the sealing function",
            "DROP FUNCTION tolom_audit_seal(integer)".into(),
            "must be owner",
        ),
        (
            "UPDATE events",
            "UPDATE events SET kind = 'forged'".into(),
            "permission denied",
        ),
        (
            "DELETE events",
            "DELETE FROM events".into(),
            "permission denied",
        ),
    ];
    for (what, sql, expected) in refused {
        let r = sqlx::query(&sql).execute(&mut conn).await;
        let Err(e) = r else {
            panic!("the app role could {what}: {sql}");
        };
        let message = e.to_string();
        assert!(
            message.contains(expected),
            "{what}: refused, but not for lack of rights: {message}"
        );
    }
    let _ = conn.close().await;

    // Nothing changed: the chain, and the log against the checkpoint.
    let report = operator
        .verify_audit_against(&who, &[checkpoint], &[key.verifier()])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.intact(), "{report:?}");
    store.close().await;
}
