//! Payments per second through the whole flow on PostgreSQL, next to
//! `pgbench` doing bare durable commits of the same shape against the same
//! database, in the same run.
//!
//! ```text
//! cargo bench -p tolom-store-postgres --bench flow
//! DATABASE_URL=postgres://... TOLOM_BENCH_SECS=10 TOLOM_BENCH_TASKS=32 \
//!     cargo bench -p tolom-store-postgres --bench flow
//! ```
//!
//! One flow = look-up → start → card (the sandbox approves; the success, the
//! charge becoming Paid and two outbox messages are one transaction) →
//! receipt → outbox dispatched (this task's worker claims two due messages
//! with `SKIP LOCKED` and marks them delivered to no-op notifiers). 32 tasks
//! run flows for `TOLOM_BENCH_SECS` seconds on one store (one pool of 32
//! connections).
//!
//! The baseline is `pgbench -n -f script.sql -c 32 -j 2 -T <secs>`: each
//! transaction updates one row of a payments-like table by primary key
//! (state, version, timestamps, a JSONB column) and appends one event row
//! with JSONB data — one payment write without tolom around it.
//!
//! Write transactions per flow are counted from the transaction ids the
//! server assigned during the run (read-only transactions take none), and
//! all commits from `pg_stat_database.xact_commit`. The ratio compares the
//! flow's durable write commits per second with pgbench's.
//!
//! Two flow runs, each followed by its own pgbench run: with the default
//! options, and with `PgOptions::test_before_acquire` off (no ping per
//! call).
//!
//! Without a reachable server or without `pgbench`, it prints why and exits
//! 0.
#![allow(missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::VecDeque;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::{Connection, PgConnection};
use tolom_acquirer_sandbox::{SandboxAcquirer, VISA_APPROVE};
use tolom_core::charge::{Charge, ChargeStatus, Payer};
use tolom_core::code::{CodeFormat, ServiceFamily};
use tolom_core::events::{Event, EventKind};
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::outbox::Channel;
use tolom_core::payment::PaymentState;
use tolom_core::ports::{ChargeStore, Notification, Notifier, NotifyError, OpsStore};
use tolom_core::usecases::{StartPayment, Tolom};
use tolom_store_postgres::{PgOptions, PostgresStore};
use tolom_testkit::fixtures::card_form;
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

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

struct Counters {
    xid: i64,
    commits: i64,
}

async fn counters(conn: &mut PgConnection) -> Counters {
    let xid: i64 =
        sqlx::query_scalar("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
            .fetch_one(&mut *conn)
            .await
            .unwrap_or(0);
    // The statistics are sent at the end of each transaction and read from
    // a snapshot: clear it so that this read is fresh.
    let _ = sqlx::query("SELECT pg_stat_clear_snapshot()")
        .execute(&mut *conn)
        .await;
    let commits: i64 = sqlx::query_scalar(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap_or(0);
    Counters { xid, commits }
}

/// Issues `n` unpaid charges straight through the store, 32 at a time.
async fn issue_charges(
    store: &PostgresStore,
    n: usize,
    issued_at: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    let format = CodeFormat::default();
    let codes: Vec<String> = (0..n)
        .map(|i| {
            format
                .generate(ServiceFamily::Passport, 10_000_000 + i as u64)
                .map(|c| c.to_string())
                .unwrap_or_default()
        })
        .collect();
    let chunks: Vec<Vec<String>> = codes
        .chunks(n.div_ceil(32).max(1))
        .map(|c| c.to_vec())
        .collect();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for code in chunk {
                let reference = format!("AG-{code}");
                let charge = Charge {
                    id: Uuid::new_v4(),
                    code: tolom_core::code::PaymentCode::from_trusted(code),
                    service: "passport-2020".into(),
                    urgency: None,
                    payer: Payer {
                        full_name: "Сыдыкова Айгүл Бакытовна".into(),
                    },
                    amount: Money::som(885),
                    issued_at,
                    expires_at: issued_at + chrono::Duration::days(30),
                    status: ChargeStatus::Unpaid,
                    agency_ref: Some(reference),
                };
                let event = Event {
                    id: Uuid::new_v4(),
                    at: issued_at,
                    charge_id: charge.id,
                    payment_id: None,
                    kind: EventKind::ChargeIssued,
                    actor: "system".into(),
                    data: serde_json::json!({"code": charge.code}),
                };
                store
                    .insert_charge(&charge, &event, &[])
                    .await
                    .unwrap_or_else(|e| panic!("issue: {e}"));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap_or_else(|e| panic!("{e}"));
    }
    codes
}

struct FlowRun {
    flows: usize,
    elapsed: Duration,
    write_tx: i64,
    commits: i64,
}

async fn run_flows(db: &common::TestDb, tasks: usize, secs: u64, ping: bool) -> FlowRun {
    let schema = db.new_schema_name();
    let _guard = common::SchemaGuard::new(db.url(), &schema);
    let store = PostgresStore::connect(
        db.url(),
        PgOptions {
            test_before_acquire: ping,
            ..db.options(&schema, tasks as u32)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("connect: {e}"));
    let sandbox = Arc::new(SandboxAcquirer::for_tests());
    let tolom = Arc::new(
        Tolom::builder()
            .store(Arc::new(store.clone()))
            .acquirer(sandbox)
            .signer(Arc::new(tolom_core::ports::Ed25519Signer::from_seed(
                [9; 32],
            )))
            .notifier(Arc::new(NullNotifier(Channel::Email)))
            .notifier(Arc::new(NullNotifier(Channel::Webhook)))
            .build()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let terms = tolom
        .terms_in_force()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    // Enough charges for a generous rate; more are issued if they run out.
    let budget = (secs as usize * 1500).max(2000);
    let started = Instant::now();
    let codes = issue_charges(&store, budget, tolom.clock().now()).await;
    eprintln!(
        "issued {} charges in {:.1} s",
        codes.len(),
        started.elapsed().as_secs_f64()
    );
    let queue = Arc::new(Mutex::new(codes.into_iter().collect::<VecDeque<_>>()));

    // Warm up: a few flows outside the measurement (connections, caches).
    let warm = flow_task(
        tolom.clone(),
        queue.clone(),
        terms.clone(),
        0,
        Instant::now() + Duration::from_millis(500),
    )
    .await;
    eprintln!("warm-up: {warm} flows");

    let mut conn = PgConnection::connect(db.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let before = counters(&mut conn).await;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            tokio::spawn(flow_task(
                tolom.clone(),
                queue.clone(),
                terms.clone(),
                i + 1,
                deadline,
            ))
        })
        .collect();
    // The audit log's sealer, as `tolom serve` runs it (every 2 s by
    // default; here every 500 ms), next to the payments: they never wait
    // for it.
    let sealer = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut sealed = 0u64;
            while Instant::now() < deadline {
                loop {
                    let n = store
                        .seal_audit(1000)
                        .await
                        .unwrap_or_else(|e| panic!("seal: {e}"));
                    sealed += n;
                    if n < 1000 {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            sealed
        })
    };
    let mut flows = 0;
    for h in handles {
        flows += h.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let elapsed = start.elapsed();
    let after = counters(&mut conn).await;
    let sealed = sealer.await.unwrap_or_else(|e| panic!("{e}"));
    let waiting = store.audit_unsealed().await.unwrap_or(0);
    while store.seal_audit(10_000).await.unwrap_or(0) > 0 {}
    let chain = store.audit_entries(1, 0).await.unwrap_or_default();
    eprintln!(
        "audit log: {sealed} entries sealed during the run, {waiting} waiting at its end, \
         chain of {} entries verified: {:?}",
        chain.len(),
        tolom_core::audit::verify_chain(&chain).is_ok()
    );
    let _ = conn.close().await;
    if queue.lock().map(|q| q.is_empty()).unwrap_or(false) {
        eprintln!(
            "note: the charges ran out before the deadline; the rate is over {:.1} s",
            elapsed.as_secs_f64()
        );
    }
    store.close().await;
    FlowRun {
        flows,
        elapsed,
        write_tx: after.xid - before.xid,
        commits: after.commits - before.commits,
    }
}

async fn flow_task(
    tolom: Arc<Tolom>,
    queue: Arc<Mutex<VecDeque<String>>>,
    terms: String,
    worker: usize,
    deadline: Instant,
) -> usize {
    let card = card_form(VISA_APPROVE);
    let mut done = 0;
    while Instant::now() < deadline {
        let Some(code) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
            break;
        };
        let view = tolom
            .look_up(&code)
            .await
            .unwrap_or_else(|e| panic!("look-up: {e:?}"));
        assert!(view.not_payable.is_none());
        let key = Uuid::new_v4().simple().to_string();
        let p = tolom
            .start_payment(StartPayment {
                code: &code,
                accepted_terms: Some(&terms),
                idempotency_key: &key,
                language: Language::Ru,
            })
            .await
            .unwrap_or_else(|e| panic!("start: {e:?}"));
        let p = tolom
            .submit_card(p.id(), &card, &key)
            .await
            .unwrap_or_else(|e| panic!("card: {e:?}"));
        assert_eq!(p.state(), PaymentState::Succeeded);
        let receipt = tolom
            .receipt(p.id())
            .await
            .unwrap_or_else(|e| panic!("receipt: {e:?}"));
        assert!(!receipt.number.is_empty());
        tolom
            .dispatch_outbox(&format!("bench-{worker}"), 2)
            .await
            .unwrap_or_else(|e| panic!("outbox: {e}"));
        done += 1;
    }
    done
}

const PGBENCH_SCRIPT: &str = r#"\set id random(1, 20000)
BEGIN;
UPDATE bench_payments SET state = 'authorizing', version = version + 1,
    updated_at = now(), card = '{"masked_pan":"411111******1111","brand":"visa","holder":"AIBEK ASANOV"}'
    WHERE id = :id;
INSERT INTO bench_events (payment_id, at, kind, data)
    VALUES (:id, now(), 'payment.authorizing', '{"card":{"masked_pan":"411111******1111","brand":"visa"},"hosted":false}');
END;
"#;

struct PgbenchRun {
    tps: f64,
}

async fn run_pgbench(db: &common::TestDb, tasks: usize, secs: u64) -> Result<PgbenchRun, String> {
    let schema = db.new_schema_name();
    let _guard = common::SchemaGuard::new(db.url(), &schema);
    let mut conn = PgConnection::connect(db.url())
        .await
        .map_err(|e| e.to_string())?;
    for sql in [
        format!("CREATE SCHEMA \"{schema}\""),
        format!("SET search_path = \"{schema}\""),
        "CREATE TABLE bench_payments (id bigint PRIMARY KEY, state text NOT NULL, \
         version bigint NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, \
         card jsonb, amount_minor bigint NOT NULL CHECK (amount_minor >= 0))"
            .to_string(),
        "INSERT INTO bench_payments SELECT g, 'created', 1, now(), now(), NULL, 88500 \
         FROM generate_series(1, 20000) g"
            .to_string(),
        "CREATE TABLE bench_events (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
         payment_id bigint NOT NULL, at timestamptz NOT NULL, kind text NOT NULL, data jsonb NOT NULL)"
            .to_string(),
        "CREATE INDEX ON bench_events (payment_id, seq)".to_string(),
        "VACUUM ANALYZE bench_payments".to_string(),
    ] {
        sqlx::query(&sql)
            .execute(&mut conn)
            .await
            .map_err(|e| format!("{sql}: {e}"))?;
    }
    let _ = conn.close().await;
    let script = std::env::temp_dir().join(format!("{schema}.sql"));
    std::fs::write(&script, PGBENCH_SCRIPT).map_err(|e| e.to_string())?;
    let out = Command::new("pgbench")
        .env("PGOPTIONS", format!("-c search_path={schema}"))
        .env("PGAPPNAME", &schema)
        .args(["-n", "-f"])
        .arg(&script)
        .args(["-c", &tasks.to_string(), "-j", "2", "-T", &secs.to_string()])
        .arg(db.url())
        .output()
        .map_err(|e| format!("pgbench: {e}"))?;
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(format!(
            "pgbench failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l["tps = ".len()..].split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .ok_or_else(|| format!("no tps in pgbench output: {text}"))?;
    Ok(PgbenchRun { tps })
}

fn report(label: &str, flow: &FlowRun, bare_tps: f64) {
    let flows_per_s = flow.flows as f64 / flow.elapsed.as_secs_f64();
    let writes_per_flow = flow.write_tx as f64 / flow.flows.max(1) as f64;
    let commits_per_flow = flow.commits as f64 / flow.flows.max(1) as f64;
    let write_rate = flows_per_s * writes_per_flow;
    let ratio = write_rate / bare_tps;
    println!();
    println!("{label}");
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| flows | {} in {:.2} s |",
        flow.flows,
        flow.elapsed.as_secs_f64()
    );
    println!("| flows/s | {flows_per_s:.1} |");
    println!("| write transactions per flow (xids assigned) | {writes_per_flow:.2} |");
    println!(
        "| all transactions per flow (xact_commit, read-only included) | {commits_per_flow:.2} |"
    );
    println!("| flow write commits/s | {write_rate:.1} |");
    println!("| pgbench TPS (bare payment-shaped write transactions) | {bare_tps:.1} |");
    println!(
        "| ratio: flow write commits/s ÷ pgbench TPS | {ratio:.2} (goal ≥ 0.80: {}) |",
        if ratio >= 0.8 { "met" } else { "not met" }
    );
}

fn main() {
    let secs = env_num("TOLOM_BENCH_SECS", 10);
    let tasks = env_num("TOLOM_BENCH_TASKS", 32) as usize;
    if Command::new("pgbench").arg("--version").output().is_err() {
        println!("flow bench skipped: pgbench is not installed (it is the baseline)");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    rt.block_on(async {
        let url = common::url();
        let reachable =
            tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&url)).await;
        if !matches!(reachable, Ok(Ok(_))) {
            println!("flow bench skipped: no PostgreSQL at DATABASE_URL");
            return;
        }
        let Some(db) = common::TestDb::connect_or_skip("flow bench").await else {
            return;
        };
        let (version, sync) = match PgConnection::connect(db.url()).await {
            Ok(mut c) => (
                sqlx::query_scalar::<_, String>("SHOW server_version")
                    .fetch_one(&mut c)
                    .await
                    .unwrap_or_default(),
                sqlx::query_scalar::<_, String>("SHOW synchronous_commit")
                    .fetch_one(&mut c)
                    .await
                    .unwrap_or_default(),
            ),
            Err(_) => (String::new(), String::new()),
        };
        println!(
            "PostgreSQL {version}, synchronous_commit = {sync}, {tasks} tasks, {secs} s per run"
        );
        // Each flow run is followed by its own pgbench run, so that a change
        // of load on a shared machine hits both sides of a ratio alike.
        let mut results = Vec::new();
        for ping in [true, false] {
            let flow = run_flows(&db, tasks, secs, ping).await;
            let bare = match run_pgbench(&db, tasks, secs).await {
                Ok(b) => b,
                Err(why) => {
                    println!("flow bench: pgbench baseline failed: {why}");
                    return;
                }
            };
            results.push((ping, flow, bare.tps));
        }
        for (ping, flow, tps) in &results {
            let label = if *ping {
                "Default options (test_before_acquire = true: one ping per call)"
            } else {
                "test_before_acquire = false (no ping; a dead pooled connection fails one call)"
            };
            println!();
            println!(
                "pgbench -n -f script.sql -c {tasks} -j 2 -T {secs} right after: {tps:.1} TPS"
            );
            report(label, flow, *tps);
        }
    });
}
