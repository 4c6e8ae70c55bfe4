//! The audit log anchored outside the database, from the command line (on
//! SQLite): `tolom audit checkpoint` signs, keeps and writes a checkpoint to
//! the checkpoint file and to an HTTP witness (a real server on 127.0.0.1);
//! `tolom audit verify --checkpoint` finds a truncated log and a log
//! rewritten and re-chained — both of which plain `tolom audit verify`
//! passes — and the daily report carries a checkpoint that verifies.

mod common;

use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use common::Site;
use tolom_core::audit::{AuditEntry, GENESIS_HASH};

/// A witness on 127.0.0.1: keeps every body POSTed to `/witness`.
async fn witness() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = seen.clone();
    let app = axum::Router::new().route(
        "/witness",
        axum::routing::post(move |body: String| {
            let keep = keep.clone();
            async move {
                keep.lock().expect("lock").push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/witness"), seen)
}

/// A site whose configuration names a checkpoint file and a witness.
fn site_with_sinks(witness_url: &str) -> Site {
    let site = Site::new();
    let config = site.dir.path().join("tolom.toml");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!(
        "\n[audit]\norigin = \"pay.test.kg/audit\"\ncheckpoint_file = \"{}\"\nwitness_url = \"{witness_url}\"\n",
        site.dir.path().join("offsite/checkpoints.txt").display()
    ));
    std::fs::write(&config, text).expect("config");
    site
}

async fn run(site: &Site, args: &[&str]) -> std::process::Output {
    let mut cmd = site.tolom();
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output().expect("run"))
        .await
        .expect("join")
}

async fn raw(site: &Site) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", site.db().display()))
        .await
        .expect("raw")
}

/// Payments in the log, then a checkpoint through the command line,
/// written to the file and the witness. Returns the checkpoint file.
async fn checkpointed(site: &Site, seen: &Arc<Mutex<Vec<String>>>) -> std::path::PathBuf {
    let out = run(site, &["migrate"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let at = Utc
        .with_ymd_and_hms(2026, 12, 2, 6, 0, 0)
        .single()
        .expect("time");
    for payer in ["Асанов Айбек", "Сыдыкова Айгүл", "Бакиев Нурлан"]
    {
        site.paid_payment(at, payer).await;
    }
    let out = run(site, &["audit", "checkpoint"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        printed.starts_with("tolom-audit-checkpoint/v1\norigin pay.test.kg/audit\nsize "),
        "{printed}"
    );
    let file = site.dir.path().join("offsite/checkpoints.txt");
    assert_eq!(
        std::fs::read_to_string(&file).expect("the checkpoint file"),
        format!("{printed}\n"),
        "appended to the checkpoint file"
    );
    assert_eq!(
        seen.lock().expect("lock").clone(),
        vec![printed.clone()],
        "POSTed to the witness"
    );
    // Again without growth: the same checkpoint, not written again.
    let again = run(site, &["audit", "checkpoint"]).await;
    assert_eq!(String::from_utf8_lossy(&again.stdout), printed);
    assert_eq!(seen.lock().expect("lock").len(), 1);
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_log_passes_verify_but_not_verify_with_a_checkpoint() {
    let (url, seen) = witness().await;
    let site = site_with_sinks(&url);
    let file = checkpointed(&site, &seen).await;
    let key = run(&site, &["audit", "key"]).await;
    let key = String::from_utf8(key.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    assert!(key.starts_with("pay.test.kg/audit+"), "{key}");
    let out = run(
        &site,
        &[
            "audit",
            "verify",
            "--checkpoint",
            file.to_str().expect("path"),
            "--key",
            &key,
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The last 2 entries deleted, and the database's copies of the
    // checkpoints with them.
    let pool = raw(&site).await;
    for sql in [
        "DROP TRIGGER audit_log_no_delete",
        "DROP TRIGGER audit_checkpoints_no_delete",
        "DELETE FROM audit_log WHERE seq > (SELECT max(seq) - 2 FROM audit_log)",
        "DELETE FROM audit_checkpoints",
    ] {
        sqlx::query(sql).execute(&pool).await.expect(sql);
    }
    pool.close().await;
    let out = run(&site, &["audit", "verify"]).await;
    assert!(
        out.status.success(),
        "the chain alone cannot tell: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &site,
        &[
            "audit",
            "verify",
            "--checkpoint",
            file.to_str().expect("path"),
            "--key",
            &key,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TAMPERED") && err.contains("truncated"),
        "{err}"
    );
    // Without --key the configured key's own is used.
    let out = run(
        &site,
        &[
            "audit",
            "verify",
            "--checkpoint",
            file.to_str().expect("path"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_and_rechained_log_is_found_with_a_checkpoint() {
    let (url, seen) = witness().await;
    let site = site_with_sinks(&url);
    let file = checkpointed(&site, &seen).await;

    // Entry 3 on rewritten (another actor) and every hash after it
    // recomputed, as the store itself would chain them.
    let pool = raw(&site).await;
    for sql in [
        "DROP TRIGGER audit_log_no_update",
        "DROP TRIGGER audit_log_no_delete",
        "DROP TRIGGER audit_checkpoints_no_delete",
        "DELETE FROM audit_checkpoints",
    ] {
        sqlx::query(sql).execute(&pool).await.expect(sql);
    }
    let rows: Vec<(i64, String, String, String, String, String)> =
        sqlx::query_as("SELECT seq, at, actor, action, subject, data FROM audit_log ORDER BY seq")
            .fetch_all(&pool)
            .await
            .expect("rows");
    let mut chain: Vec<AuditEntry> = Vec::new();
    for (seq, at, actor, action, subject, data) in rows {
        let at = chrono::DateTime::parse_from_rfc3339(&at)
            .expect("at")
            .with_timezone(&Utc);
        let actor = if seq >= 3 {
            "cli:somebody-else".to_string()
        } else {
            actor
        };
        let data: serde_json::Value = serde_json::from_str(&data).expect("data");
        let e = AuditEntry::next(chain.last(), at, &actor, &action, &subject, data);
        assert_eq!(e.seq, seq as u64);
        sqlx::query("UPDATE audit_log SET actor = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4")
            .bind(&e.actor)
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .bind(seq)
            .execute(&pool)
            .await
            .expect("rewrite");
        chain.push(e);
    }
    assert_eq!(chain[0].prev_hash, GENESIS_HASH);
    pool.close().await;

    let out = run(&site, &["audit", "verify"]).await;
    assert!(
        out.status.success(),
        "re-chained: the chain alone verifies: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &site,
        &[
            "audit",
            "verify",
            "--checkpoint",
            file.to_str().expect("path"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TAMPERED") && err.contains("rewritten"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_report_carries_a_checkpoint_that_verifies() {
    let (url, seen) = witness().await;
    let site = site_with_sinks(&url);
    let _ = checkpointed(&site, &seen).await;
    let at = Utc
        .with_ymd_and_hms(2026, 12, 2, 7, 0, 0)
        .single()
        .expect("time");
    site.paid_payment(at, "Токтогулов Азамат").await;
    let report = site.dir.path().join("report-2026-12-02.txt");
    let out = run(
        &site,
        &[
            "report",
            "--from",
            "2026-12-02",
            "--out",
            report.to_str().expect("path"),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&report).expect("report");
    assert!(text.contains("passport-2020"), "{text}");
    assert!(text.contains("tolom-audit-checkpoint/v1"), "{text}");
    assert_eq!(
        seen.lock().expect("lock").len(),
        2,
        "the report's new checkpoint went to the witness too"
    );
    let out = run(
        &site,
        &[
            "audit",
            "verify",
            "--checkpoint",
            report.to_str().expect("path"),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 given"));
    // A checkpoint with a forged size does not verify.
    let forged = site.dir.path().join("forged.txt");
    let size_line = text
        .lines()
        .find(|l| l.starts_with("size "))
        .expect("size line")
        .to_string();
    std::fs::write(&forged, text.replace(&size_line, "size 1")).expect("write");
    let out = run(
        &site,
        &[
            "audit",
            "verify",
            "--checkpoint",
            forged.to_str().expect("path"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"));
}
