//! Payments per second through the whole flow on a SQLite file, next to a
//! bare program doing durable commits on the same kind of database in the
//! same run.
//!
//! ```text
//! cargo bench -p tolom-store-sqlite --bench flow
//! TOLOM_BENCH_FLOWS=1000 TOLOM_BENCH_DIR=/var/tmp cargo bench -p tolom-store-sqlite --bench flow
//! TOLOM_BENCH_STEPS=1 cargo bench -p tolom-store-sqlite --bench flow   # time per step of payer 0
//! ```
//!
//! One flow = look-up → start → card (sandbox approves) → receipt →
//! outbox dispatched (receipt e-mail + agency notice delivered to no-op
//! notifiers). The baseline is raw sqlx on one connection with the same
//! PRAGMAs (WAL, the same `synchronous`, busy timeout, foreign keys): N
//! transactions `BEGIN IMMEDIATE; INSERT one ~700-byte row; COMMIT`.
//!
//! A flow makes several commits (counted by the store), so the report gives
//! both flows/s against bare commits/s and the store's commits/s against
//! bare commits/s.
#![allow(missing_docs)]

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};
use tolom_acquirer_sandbox::{SandboxAcquirer, VISA_APPROVE};
use tolom_core::card::CardForm;
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::outbox::Channel;
use tolom_core::payment::PaymentState;
use tolom_core::ports::Ed25519Signer;
use tolom_core::ports::{Notification, Notifier, NotifyError};
use tolom_core::usecases::{IssueCharge, StartPayment, Tolom};
use tolom_store_sqlite::{Durability, SqliteOptions, SqliteStore};
use uuid::Uuid;

struct NullNotifier(Channel);

#[async_trait]
impl Notifier for NullNotifier {
    fn channel(&self) -> Channel {
        self.0
    }
    async fn deliver(&self, _: Uuid, _: &Notification) -> Result<(), NotifyError> {
        Ok(())
    }
}

fn card() -> CardForm {
    CardForm {
        holder: "AIBEK ASANOV".into(),
        pan: VISA_APPROVE.into(),
        expiry: "12/30".into(),
        cvv: "123".into(),
        phone: "+996 555 123 456".into(),
        email: "aibek@example.kg".into(),
    }
}

struct FlowRun {
    flows: usize,
    elapsed: Duration,
    commits: u64,
}

async fn flows(dir: &Path, durability: Durability, n: usize, payers: usize) -> FlowRun {
    let path = dir.join(format!(
        "flow-{durability:?}-{payers}-{}.db",
        Uuid::new_v4().simple()
    ));
    let store = Arc::new(
        SqliteStore::open(
            path.to_str().expect("utf-8 path"),
            SqliteOptions {
                durability,
                ..SqliteOptions::default()
            },
        )
        .await
        .expect("open"),
    );
    let tolom = Arc::new(
        Tolom::builder()
            .store(store.clone())
            .acquirer(Arc::new(SandboxAcquirer::for_tests()))
            .signer(Arc::new(Ed25519Signer::from_seed([7; 32])))
            .notifier(Arc::new(NullNotifier(Channel::Email)))
            .notifier(Arc::new(NullNotifier(Channel::Webhook)))
            .build()
            .expect("tolom"),
    );
    // The agency's side, not timed: the codes to pay.
    let mut codes = Vec::with_capacity(n);
    for i in 0..n {
        let charge = tolom
            .issue_charge(IssueCharge {
                service: "passport-2020".into(),
                urgency: None,
                amount: Some(Money::som(885)),
                payer: "Асанов Айбек Маратович".into(),
                code: None,
                expires_at: Utc::now() + chrono::Duration::days(30),
                agency_ref: Some(format!("AG-{i}")),
            })
            .await
            .expect("issue");
        codes.push(charge.code.to_string());
    }
    let terms = tolom.terms_in_force().await.expect("terms").id;
    let before = store.commits();
    let started = Instant::now();
    let chunks: Vec<Vec<(usize, String)>> = {
        let mut chunks = vec![Vec::new(); payers];
        for (i, code) in codes.into_iter().enumerate() {
            chunks[i % payers].push((i, code));
        }
        chunks
    };
    let tasks: Vec<_> = chunks
        .into_iter()
        .enumerate()
        .map(|(worker, chunk)| {
            let tolom = tolom.clone();
            let terms = terms.clone();
            tokio::spawn(async move {
                let mut steps = [Duration::ZERO; 5];
                let mut t = Instant::now();
                let mut lap = |k: usize, t: &mut Instant| {
                    steps[k] += t.elapsed();
                    *t = Instant::now();
                };
                for (i, code) in chunk {
                    tolom.look_up(&code).await.expect("look up");
                    lap(0, &mut t);
                    let p = tolom
                        .start_payment(StartPayment {
                            code: &code,
                            accepted_terms: Some(&terms),
                            idempotency_key: &format!("start-{i}"),
                            language: Language::Ru,
                        })
                        .await
                        .expect("start");
                    lap(1, &mut t);
                    let p = tolom
                        .submit_card(p.id(), &card(), &format!("submit-{i}"))
                        .await
                        .expect("submit");
                    assert_eq!(p.state(), PaymentState::Succeeded);
                    lap(2, &mut t);
                    let receipt = tolom.receipt(p.id()).await.expect("receipt");
                    std::hint::black_box(receipt.to_json());
                    lap(3, &mut t);
                    tolom
                        .dispatch_outbox(&format!("w{worker}"), 16)
                        .await
                        .expect("dispatch");
                    lap(4, &mut t);
                }
                if worker == 0 && std::env::var("TOLOM_BENCH_STEPS").is_ok() {
                    eprintln!("steps (lookup, start, submit, receipt, dispatch) total: {steps:?}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("payer");
    }
    // Whatever a concurrent payer's dispatcher left behind.
    while tolom
        .dispatch_outbox("final", 64)
        .await
        .expect("dispatch")
        .delivered
        > 0
    {}
    let elapsed = started.elapsed();
    let commits = store.commits() - before;
    store.close().await;
    FlowRun {
        flows: n,
        elapsed,
        commits,
    }
}

/// N durable commits of one ~700-byte row each, raw sqlx, same PRAGMAs.
async fn bare(dir: &Path, durability: Durability, n: u64) -> Duration {
    let path = dir.join(format!("bare-{durability:?}.db"));
    let mut conn = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .expect("url")
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match durability {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Normal => SqliteSynchronous::Normal,
        })
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true)
        .disable_statement_logging()
        .connect()
        .await
        .expect("bare connect");
    sqlx::query(
        "CREATE TABLE rows (id TEXT PRIMARY KEY NOT NULL, at TEXT NOT NULL, \
         n INTEGER NOT NULL, payload TEXT NOT NULL) STRICT",
    )
    .execute(&mut conn)
    .await
    .expect("table");
    let payload = "x".repeat(640);
    let started = Instant::now();
    for i in 0..n {
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.expect("begin");
        sqlx::query("INSERT INTO rows (id, at, n, payload) VALUES (?1, ?2, ?3, ?4)")
            .bind(Uuid::new_v4().to_string())
            .bind(Utc::now().to_rfc3339())
            .bind(i64::try_from(i).unwrap_or(i64::MAX))
            .bind(&payload)
            .execute(&mut *tx)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
    }
    let elapsed = started.elapsed();
    conn.close().await.ok();
    elapsed
}

fn remove_bare(dir: &Path, durability: Durability) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("bare-{durability:?}.db{suffix}")));
    }
}

fn per_second(count: f64, d: Duration) -> f64 {
    count / d.as_secs_f64()
}

fn main() {
    let n: usize = std::env::var("TOLOM_BENCH_FLOWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let base = std::env::var("TOLOM_BENCH_DIR").ok();
    let dir = match &base {
        Some(b) => tempfile::tempdir_in(b),
        None => tempfile::tempdir(),
    }
    .expect("tempdir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "tolom-store-sqlite flow benchmark: {n} flows per run, database files in {}",
        dir.path().display()
    );
    println!(
        "{:<8} {:>6} {:>10} {:>13} {:>12} {:>12} {:>14} {:>14}",
        "sync",
        "payers",
        "flows/s",
        "commits/flow",
        "commits/s",
        "bare c/s",
        "flows/bare",
        "commits/bare"
    );
    for durability in [Durability::Full, Durability::Normal] {
        for payers in [1usize, 8] {
            // Interleaved: flows, baseline, flows, baseline; each baseline
            // makes as many commits as the flow run before it. The sums are
            // compared (the machine is shared, so each run is printed too).
            let run = rt.block_on(flows(dir.path(), durability, n, payers));
            let before = rt.block_on(bare(dir.path(), durability, run.commits));
            remove_bare(dir.path(), durability);
            let run2 = rt.block_on(flows(dir.path(), durability, n, payers));
            let after = rt.block_on(bare(dir.path(), durability, run2.commits));
            remove_bare(dir.path(), durability);
            let flow_elapsed = run.elapsed + run2.elapsed;
            let bare_elapsed = before + after;
            let flows_total = (run.flows + run2.flows) as f64;
            let commits_total = (run.commits + run2.commits) as f64;
            let per_flow = commits_total / flows_total;
            let flows_s = per_second(flows_total, flow_elapsed);
            let commits_s = per_second(commits_total, flow_elapsed);
            let bare_s = per_second(commits_total, bare_elapsed);
            println!(
                "{:<8} {:>6} {:>10.1} {:>13.2} {:>12.1} {:>12.1} {:>14.3} {:>14.3}   (runs: {:.1}/{:.1} flows/s, bare {:.1}/{:.1} c/s)",
                durability.pragma(),
                payers,
                flows_s,
                per_flow,
                commits_s,
                bare_s,
                flows_s / bare_s,
                commits_s / bare_s,
                per_second(run.flows as f64, run.elapsed),
                per_second(run2.flows as f64, run2.elapsed),
                per_second(run.commits as f64, before),
                per_second(run2.commits as f64, after),
            );
        }
    }
}
