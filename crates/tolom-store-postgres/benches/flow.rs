//! Payments per second with 32 concurrent payers on PostgreSQL, next to
//! `pgbench`'s default TPC-B transaction against the same server, measured
//! in the same run, interleaved, three times.
//!
//! ```text
//! cargo bench -p tolom-store-postgres --bench flow
//! DATABASE_URL=postgres://... TOLOM_BENCH_SECS=10 TOLOM_BENCH_TASKS=32 \
//!     TOLOM_BENCH_REPS=3 TOLOM_PGBENCH_SCALE=1 \
//!     cargo bench -p tolom-store-postgres --bench flow
//! ```
//!
//! One payment = look-up → start → card (the sandbox approves) → receipt,
//! through `tolom_core::Tolom` on one `PostgresStore` with the default
//! options and a pool of 32 connections; 32 payers run payments for
//! `TOLOM_BENCH_SECS` seconds. The outbox is dispatched in the background,
//! not after each payment: 4 loops (`TOLOM_BENCH_DISPATCHERS`), each like
//! the one `tolom serve` runs per instance (rounds of 50; a round that found
//! less sleeps 200 ms) — one loop alone falls behind at this rate, since the
//! core builds each message's receipt one after another. The audit log is
//! sealed by another loop (every 500 ms).
//!
//! The baseline is `pgbench -n -c 32 -j 2 -T <secs>` with its built-in
//! TPC-B script (BEGIN; three UPDATEs, one SELECT, one INSERT; END), in its
//! own database `tolom_pgbench`, created when missing and initialised once
//! per run with `pgbench -i -s <TOLOM_PGBENCH_SCALE, default 1>`.
//!
//! Printed per repetition: payments/s, pgbench TPS, their ratio, the
//! store's commits per payment and durable commits per payment
//! (`PostgresStore::commits`, `durable_commits`), and what the connections
//! were doing (`pg_stat_activity` sampled every 20 ms: the average number of
//! connections in each state / wait event). Then the ratio's min / median /
//! max over the repetitions (goal ≥ 0.3).
//!
//! `TOLOM_BENCH_DISPATCHERS=n` runs n dispatch loops instead of 4;
//! `TOLOM_BENCH_NO_PING=1` turns `PgOptions::test_before_acquire` off.
//!
//! Without a reachable server or without `pgbench`, it prints why and exits
//! 0.
#![allow(missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, VecDeque};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::{Connection, PgConnection, Row};
use tolom_acquirer_sandbox::{SandboxAcquirer, VISA_APPROVE};
use tolom_core::charge::{Charge, ChargeStatus, Payer};
use tolom_core::code::{CodeFormat, ServiceFamily};
use tolom_core::events::{Event, EventKind};
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::outbox::Channel;
use tolom_core::payment::PaymentState;
use tolom_core::ports::{ChargeStore, Notification, Notifier, NotifyError, OpsStore, OutboxStore};
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

/// CPU seconds this process has used (user + system), from
/// `/proc/self/stat`; 0 where there is no such file.
fn process_cpu() -> f64 {
    let ticks = 100.0; // USER_HZ on Linux
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let u: f64 = f.get(11)?.parse().ok()?;
            let k: f64 = f.get(12)?.parse().ok()?;
            Some((u + k) / ticks)
        })
        .unwrap_or(0.0)
}

/// (busy, total) CPU ticks of the whole machine, from `/proc/stat`.
fn machine_cpu() -> (f64, f64) {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let line = s.lines().next()?.to_string();
            let v: Vec<f64> = line
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            let total: f64 = v.iter().sum();
            let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
            Some((total - idle, total))
        })
        .unwrap_or((0.0, 0.0))
}

/// What the connections named `app` were doing: the average number of
/// connections per state (`active` ones by wait event, `CPU` when none).
#[derive(Default)]
struct Waits {
    samples: u64,
    counts: BTreeMap<String, u64>,
}

impl Waits {
    fn summary(&self) -> String {
        let n = self.samples.max(1) as f64;
        let mut v: Vec<(&String, &u64)> = self.counts.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1));
        v.iter()
            .map(|(k, c)| format!("{k} {:.1}", **c as f64 / n))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Samples `pg_stat_activity` every 20 ms for the connections named `app`
/// until `deadline`.
fn sample_waits(
    url: String,
    app: String,
    from: Instant,
    deadline: Instant,
) -> tokio::task::JoinHandle<Waits> {
    tokio::spawn(async move {
        let mut waits = Waits::default();
        let Ok(mut conn) = PgConnection::connect(&url).await else {
            return waits;
        };
        tokio::time::sleep_until(from.into()).await;
        while Instant::now() < deadline {
            let rows = sqlx::query(
                "SELECT CASE WHEN state = 'active' \
                   THEN coalesce(wait_event_type || ':' || wait_event, 'CPU') \
                   ELSE coalesce(state, '?') END AS what, count(*) AS n \
                 FROM pg_stat_activity WHERE application_name = $1 GROUP BY 1",
            )
            .bind(&app)
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
            waits.samples += 1;
            for r in rows {
                let what: String = r.try_get("what").unwrap_or_default();
                let n: i64 = r.try_get("n").unwrap_or(0);
                *waits.counts.entry(what).or_default() += u64::try_from(n).unwrap_or(0);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = conn.close().await;
        waits
    })
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
    /// CPU seconds of this process during the run.
    cpu: f64,
    /// The machine's busy fraction during the run.
    busy: f64,
    payments: usize,
    elapsed: Duration,
    commits: u64,
    durable: u64,
    waits: Waits,
}

async fn run_flows(db: &common::TestDb, tasks: usize, secs: u64, dispatchers: usize) -> FlowRun {
    let schema = db.new_schema_name();
    let _guard = common::SchemaGuard::new(db.url(), &schema);
    let options = PgOptions {
        // TOLOM_BENCH_NO_PING=1: no round trip to test a pooled connection
        // before each call (the default tests it).
        test_before_acquire: env_num("TOLOM_BENCH_NO_PING", 0) != 1,
        ..db.options(&schema, tasks as u32)
    };
    let store = PostgresStore::connect(db.url(), options)
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
    // Enough charges for a generous rate.
    let budget = (secs as usize * 1200).max(2000);
    let started = Instant::now();
    let codes = issue_charges(&store, budget, tolom.clock().now()).await;
    eprintln!(
        "issued {} charges in {:.1} s",
        codes.len(),
        started.elapsed().as_secs_f64()
    );
    let queue = Arc::new(Mutex::new(codes.into_iter().collect::<VecDeque<_>>()));

    // Warm up: a few payments outside the measurement (connections,
    // prepared statements).
    let warm = payer(
        tolom.clone(),
        queue.clone(),
        terms.clone(),
        Instant::now() + Duration::from_millis(500),
    )
    .await;
    while tolom
        .dispatch_outbox("bench-warm-up", 50)
        .await
        .map(|r| r.delivered > 0)
        .unwrap_or(false)
    {}
    eprintln!("warm-up: {warm} payments");

    let (commits0, durable0) = (store.commits(), store.durable_commits());
    let (cpu0, machine0) = (process_cpu(), machine_cpu());
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let waits = sample_waits(
        db.url().to_string(),
        schema.clone(),
        start + Duration::from_millis(500),
        deadline,
    );
    let handles: Vec<_> = (0..tasks)
        .map(|_| tokio::spawn(payer(tolom.clone(), queue.clone(), terms.clone(), deadline)))
        .collect();
    // The outbox, dispatched in the background as `tolom serve` does (one
    // loop per instance; TOLOM_BENCH_DISPATCHERS loops here).
    let dispatchers: Vec<_> = (0..dispatchers)
        .map(|i| {
            let tolom = tolom.clone();
            tokio::spawn(async move {
                let worker = format!("bench-dispatcher-{i}");
                let mut delivered = 0usize;
                while Instant::now() < deadline {
                    let r = tolom
                        .dispatch_outbox(&worker, 50)
                        .await
                        .unwrap_or_else(|e| panic!("outbox: {e}"));
                    delivered += r.delivered;
                    if r.delivered + r.retried + r.dead + r.deferred < 50 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                delivered
            })
        })
        .collect();
    // The audit log's sealer, as `tolom serve` runs it (every 2 s by
    // default; here every 500 ms): the payments never wait for it.
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
    let mut payments = 0;
    for h in handles {
        payments += h.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let elapsed = start.elapsed();
    let (cpu1, machine1) = (process_cpu(), machine_cpu());
    let cpu = cpu1 - cpu0;
    let busy = if machine1.1 > machine0.1 {
        (machine1.0 - machine0.0) / (machine1.1 - machine0.1)
    } else {
        0.0
    };
    let mut delivered = 0;
    for d in dispatchers {
        delivered += d.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let backlog = store
        .outbox_list(Some(tolom_core::outbox::OutboxStatus::Pending), 0)
        .await
        .map(|v| v.len())
        .unwrap_or(0);
    let sealed = sealer.await.unwrap_or_else(|e| panic!("{e}"));
    let (commits, durable) = (
        store.commits() - commits0,
        store.durable_commits() - durable0,
    );
    let waits = waits.await.unwrap_or_else(|e| panic!("{e}"));
    let waiting = store.audit_unsealed().await.unwrap_or(0);
    while store.seal_audit(10_000).await.unwrap_or(0) > 0 {}
    let chain = store.audit_entries(1, 0).await.unwrap_or_default();
    eprintln!(
        "outbox: {delivered} messages delivered during the run, {backlog} pending at its end; audit log: {sealed} entries \
         sealed during the run, {waiting} waiting at its end, chain of {} entries verified: {:?}",
        chain.len(),
        tolom_core::audit::verify_chain(&chain).is_ok()
    );
    if queue.lock().map(|q| q.is_empty()).unwrap_or(false) {
        eprintln!(
            "note: the charges ran out before the deadline; the rate is over {:.1} s",
            elapsed.as_secs_f64()
        );
    }
    store.close().await;
    FlowRun {
        cpu,
        busy,
        payments,
        elapsed,
        commits,
        durable,
        waits,
    }
}

async fn payer(
    tolom: Arc<Tolom>,
    queue: Arc<Mutex<VecDeque<String>>>,
    terms: String,
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
        done += 1;
    }
    done
}

/// `url` naming the database `name` instead.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

const PGBENCH_DB: &str = "tolom_pgbench";

/// Creates `tolom_pgbench` when missing and initialises pgbench's tables.
async fn prepare_pgbench(db: &common::TestDb, scale: u64) -> Result<String, String> {
    let mut conn = PgConnection::connect(db.url())
        .await
        .map_err(|e| e.to_string())?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(PGBENCH_DB)
            .fetch_one(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {PGBENCH_DB}"))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("CREATE DATABASE {PGBENCH_DB}: {e}"))?;
    }
    let _ = conn.close().await;
    let url = with_database(db.url(), PGBENCH_DB);
    let out = Command::new("pgbench")
        .args(["-i", "-q", "-s", &scale.to_string()])
        .arg(&url)
        .output()
        .map_err(|e| format!("pgbench -i: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pgbench -i failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(url)
}

struct PgbenchRun {
    tps: f64,
    waits: Waits,
}

async fn run_pgbench(url: &str, tasks: usize, secs: u64) -> Result<PgbenchRun, String> {
    let app = format!("tolom_pgbench_{}", std::process::id());
    let start = Instant::now();
    let waits = sample_waits(
        url.to_string(),
        app.clone(),
        start + Duration::from_millis(500),
        start + Duration::from_secs(secs),
    );
    let (url2, app2) = (url.to_string(), app.clone());
    let args = [
        "-n",
        "-c",
        &tasks.to_string(),
        "-j",
        "2",
        "-T",
        &secs.to_string(),
    ]
    .map(String::from);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("pgbench")
            .env("PGAPPNAME", &app2)
            .args(&args)
            .arg(&url2)
            .output()
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("pgbench: {e}"))?;
    let waits = waits.await.map_err(|e| e.to_string())?;
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
    Ok(PgbenchRun { tps, waits })
}

fn min_median_max(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (v[0], median, v[n - 1])
}

fn main() {
    let secs = env_num("TOLOM_BENCH_SECS", 10);
    let tasks = env_num("TOLOM_BENCH_TASKS", 32) as usize;
    let reps = env_num("TOLOM_BENCH_REPS", 3) as usize;
    let scale = env_num("TOLOM_PGBENCH_SCALE", 1);
    let dispatchers = env_num("TOLOM_BENCH_DISPATCHERS", 4) as usize;
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
        let pgbench_url = match prepare_pgbench(&db, scale).await {
            Ok(u) => u,
            Err(why) => {
                println!("flow bench: the pgbench baseline cannot run: {why}");
                return;
            }
        };
        println!(
            "PostgreSQL {version}, synchronous_commit = {sync}; {tasks} payers and \
             pgbench -n -c {tasks} -j 2 (TPC-B, scale {scale}), {secs} s each, {reps} repetitions, \
             interleaved"
        );
        let mut ratios = Vec::new();
        let (mut all_payments, mut all_commits, mut all_durable) = (0usize, 0u64, 0u64);
        for rep in 1..=reps {
            let flow = run_flows(&db, tasks, secs, dispatchers).await;
            let bare = match run_pgbench(&pgbench_url, tasks, secs).await {
                Ok(b) => b,
                Err(why) => {
                    println!("flow bench: pgbench failed: {why}");
                    return;
                }
            };
            let per_s = flow.payments as f64 / flow.elapsed.as_secs_f64();
            let n = flow.payments.max(1) as f64;
            let ratio = per_s / bare.tps;
            ratios.push(ratio);
            all_payments += flow.payments;
            all_commits += flow.commits;
            all_durable += flow.durable;
            println!();
            println!("repetition {rep}");
            println!("| measure | value |");
            println!("|---|---|");
            println!(
                "| payments | {} in {:.2} s: {per_s:.1}/s |",
                flow.payments,
                flow.elapsed.as_secs_f64()
            );
            println!("| pgbench TPS (TPC-B) | {:.1} |", bare.tps);
            println!("| ratio payments/s ÷ pgbench TPS | {ratio:.3} |");
            println!(
                "| commits per payment (durable) | {:.2} ({:.2}) |",
                flow.commits as f64 / n,
                flow.durable as f64 / n
            );
            println!(
                "| this process's CPU per payment (payers, dispatchers, sealer) | {:.2} ms |",
                flow.cpu * 1000.0 / n
            );
            println!(
                "| machine CPU busy during the payments (2 cores: server, this process, others) | {:.0} % |",
                flow.busy * 100.0
            );
            println!(
                "| tolom's connections (avg per sample) | {} |",
                flow.waits.summary()
            );
            println!(
                "| pgbench's connections (avg per sample) | {} |",
                bare.waits.summary()
            );
        }
        let (lo, mid, hi) = min_median_max(ratios);
        let n = all_payments.max(1) as f64;
        println!();
        println!(
            "payments/s ÷ pgbench TPS over {reps} repetitions: min {lo:.3} / median {mid:.3} / \
             max {hi:.3} (goal ≥ 0.3: {})",
            if lo >= 0.3 {
                "met"
            } else if mid >= 0.3 {
                "met by the median, not by the min"
            } else {
                "not met"
            }
        );
        println!(
            "commits per payment: {:.2}, durable commits per payment: {:.2}",
            all_commits as f64 / n,
            all_durable as f64 / n
        );
    });
}
