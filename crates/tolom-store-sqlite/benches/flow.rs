//! Payments per second through the whole flow on a SQLite file
//! (`synchronous=FULL`), against a bare program doing durable single-row
//! commits on the same disk in the same run; and the CPU a payment costs on
//! SQLite against the same flow on the in-memory store.
//!
//! ```text
//! cargo bench -p tolom-store-sqlite --bench flow
//! TOLOM_BENCH_FLOWS=1000 TOLOM_BENCH_REPS=3 TOLOM_BENCH_DIR=/var/tmp cargo bench -p tolom-store-sqlite --bench flow
//! ```
//!
//! One payment = look-up → start → card (sandbox approves) → receipt, by
//! each of 1 or 32 concurrent payers. The outbox (receipt e-mail + agency
//! notice, to no-op notifiers) is dispatched by a background loop, as
//! `tolom serve` does, not after each payment: rounds of up to 50 messages,
//! a pause of 10 ms when a round found less than a full round. The time
//! and CPU counted run from the first look-up until the outbox is empty.
//!
//! The baseline is raw sqlx on one connection with the same PRAGMAs (WAL,
//! `synchronous=FULL`, busy timeout, foreign keys): `BEGIN IMMEDIATE;
//! INSERT one ~700-byte row; COMMIT` in a loop. Each repetition runs, for
//! each number of payers: the SQLite flow, the baseline, the in-memory
//! flow (interleaved), and prints a row; the summary gives min/median/max
//! of each ratio over the repetitions.
//!
//! CPU is the process's user + system time (`/proc/self/stat`, as
//! `getrusage(RUSAGE_SELF)` reports it, in clock ticks of 10 ms) over the
//! timed part, divided by the payments: every thread counts (the runtime's,
//! sqlx's SQLite worker threads).
#![allow(missing_docs)]

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
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
use tolom_core::ports::{Ed25519Signer, Store};
use tolom_core::ports::{Notification, Notifier, NotifyError};
use tolom_core::usecases::{IssueCharge, StartPayment, Tolom};
use tolom_store_sqlite::{Durability, SqliteOptions, SqliteStore};
use tolom_testkit::memory::InMemoryStore;
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

/// User + system CPU time of the whole process so far.
fn cpu() -> Duration {
    // Fields 14 and 15 (utime, stime) of /proc/self/stat, in clock ticks
    // (USER_HZ, 100 on Linux); the command (field 2) may hold spaces, so
    // count from the closing parenthesis.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After ')': state is index 0, utime is field 14 → index 11.
    Duration::from_millis((tick(11) + tick(12)) * 10)
}

/// What one timed run of payments did.
struct Run {
    payments: usize,
    elapsed: Duration,
    cpu: Duration,
    commits: u64,
    durable: u64,
    jobs: u64,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.payments as f64 / self.elapsed.as_secs_f64()
    }
    fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.payments as f64
    }
}

fn tolom_on(store: Arc<dyn Store>) -> Arc<Tolom> {
    Arc::new(
        Tolom::builder()
            .store(store)
            .acquirer(Arc::new(SandboxAcquirer::for_tests()))
            .signer(Arc::new(Ed25519Signer::from_seed([7; 32])))
            .notifier(Arc::new(NullNotifier(Channel::Email)))
            .notifier(Arc::new(NullNotifier(Channel::Webhook)))
            .build()
            .expect("tolom"),
    )
}

/// `n` payments by `payers` concurrent payers, the outbox dispatched in
/// the background. `counts` reads (commits, durable commits, jobs).
async fn payments(
    tolom: Arc<Tolom>,
    n: usize,
    payers: usize,
    counts: &(dyn Fn() -> (u64, u64, u64) + Sync),
) -> Run {
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
    let mut chunks: Vec<Vec<(usize, String)>> = vec![Vec::new(); payers];
    for (i, code) in codes.into_iter().enumerate() {
        chunks[i % payers].push((i, code));
    }

    let before = counts();
    let cpu_before = cpu();
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let dispatcher = {
        let tolom = tolom.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            loop {
                let stopping = stop.load(Ordering::Acquire);
                let r = tolom.dispatch_outbox("bench", 50).await.expect("dispatch");
                if r.delivered < 50 {
                    if stopping {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        })
    };
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let tolom = tolom.clone();
            let terms = terms.clone();
            tokio::spawn(async move {
                for (i, code) in chunk {
                    tolom.look_up(&code).await.expect("look up");
                    let p = tolom
                        .start_payment(StartPayment {
                            code: &code,
                            accepted_terms: Some(&terms),
                            idempotency_key: &format!("start-{i}"),
                            language: Language::Ru,
                        })
                        .await
                        .expect("start");
                    let p = tolom
                        .submit_card(p.id(), &card(), &format!("submit-{i}"))
                        .await
                        .expect("submit");
                    assert_eq!(p.state(), PaymentState::Succeeded);
                    let receipt = tolom.receipt(p.id()).await.expect("receipt");
                    std::hint::black_box(receipt.to_json());
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("payer");
    }
    // The dispatcher's last round starts after the last payment: the
    // outbox is empty when it ends.
    stop.store(true, Ordering::Release);
    dispatcher.await.expect("dispatcher");
    let elapsed = started.elapsed();
    let cpu = cpu().saturating_sub(cpu_before);
    let after = counts();
    Run {
        payments: n,
        elapsed,
        cpu,
        commits: after.0 - before.0,
        durable: after.1 - before.1,
        jobs: after.2 - before.2,
    }
}

async fn on_sqlite(dir: &Path, n: usize, payers: usize) -> Run {
    let path = dir.join(format!("flow-{payers}-{}.db", Uuid::new_v4().simple()));
    let store = Arc::new(
        SqliteStore::open(
            path.to_str().expect("utf-8 path"),
            SqliteOptions {
                durability: Durability::Full,
                ..SqliteOptions::default()
            },
        )
        .await
        .expect("open"),
    );
    let counted = store.clone();
    let counts = move || {
        (
            counted.commits(),
            counted.durable_commits(),
            counted.write_jobs(),
        )
    };
    let run = payments(tolom_on(store.clone()), n, payers, &counts).await;
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    run
}

async fn in_memory(n: usize, payers: usize) -> Run {
    let store = Arc::new(InMemoryStore::new());
    payments(tolom_on(store), n, payers, &|| (0, 0, 0)).await
}

/// `n` durable commits of one ~700-byte row each, raw sqlx, same PRAGMAs:
/// commits per second.
async fn bare(dir: &Path, n: u64) -> f64 {
    let path = dir.join("bare.db");
    let mut conn = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .expect("url")
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
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
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("bare.db{suffix}")));
    }
    n as f64 / elapsed.as_secs_f64()
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (min, median, max).
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

struct Row {
    ratio: f64,
    cpu_ratio: f64,
    commits: f64,
    durable: f64,
    sqlite_cpu: f64,
    memory_cpu: f64,
}

fn main() {
    let n = env("TOLOM_BENCH_FLOWS", 600);
    let reps = env("TOLOM_BENCH_REPS", 3).max(1);
    let bare_n = env("TOLOM_BENCH_BARE", 1500) as u64;
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
        "tolom-store-sqlite flow benchmark: synchronous=FULL, {n} payments per run, \
         {bare_n} bare commits per baseline, {reps} repetitions, files in {}",
        dir.path().display()
    );
    println!(
        "{:>3} {:>6} {:>11} {:>10} {:>7} {:>9} {:>9} {:>9} {:>11} {:>11} {:>8}",
        "rep",
        "payers",
        "payments/s",
        "bare c/s",
        "ratio",
        "commits/p",
        "durable/p",
        "jobs/c",
        "cpu µs/p sq",
        "cpu µs/p mem",
        "cpu x"
    );
    let payer_counts = [1usize, 32];
    let mut rows: Vec<Vec<Row>> = payer_counts.iter().map(|_| Vec::new()).collect();
    for rep in 1..=reps {
        for (k, &payers) in payer_counts.iter().enumerate() {
            let sq = rt.block_on(on_sqlite(dir.path(), n, payers));
            let bare_s = rt.block_on(bare(dir.path(), bare_n));
            let mem = rt.block_on(in_memory(n, payers));
            let row = Row {
                ratio: sq.per_second() / bare_s,
                cpu_ratio: sq.cpu_us() / mem.cpu_us().max(f64::MIN_POSITIVE),
                commits: sq.commits as f64 / sq.payments as f64,
                durable: sq.durable as f64 / sq.payments as f64,
                sqlite_cpu: sq.cpu_us(),
                memory_cpu: mem.cpu_us(),
            };
            println!(
                "{:>3} {:>6} {:>11.1} {:>10.1} {:>7.3} {:>9.2} {:>9.2} {:>9.2} {:>11.0} {:>11.0} {:>8.2}",
                rep,
                payers,
                sq.per_second(),
                bare_s,
                row.ratio,
                row.commits,
                row.durable,
                sq.jobs as f64 / sq.commits.max(1) as f64,
                row.sqlite_cpu,
                row.memory_cpu,
                row.cpu_ratio,
            );
            rows[k].push(row);
        }
    }
    println!();
    println!("summary over {reps} repetitions (min / median / max):");
    for (k, &payers) in payer_counts.iter().enumerate() {
        let r = &rows[k];
        let f = |g: fn(&Row) -> f64| spread(r.iter().map(g).collect());
        let (a, b, c) = f(|r| r.ratio);
        let goal = if payers == 1 { 0.4 } else { 1.0 };
        println!(
            "  {payers:>2} payers: payments/s ÷ bare commits/s {a:.3} / {b:.3} / {c:.3} (goal ≥ {goal}: {})",
            if a >= goal { "met" } else if b >= goal { "median met" } else { "not met" }
        );
        let (a, b, c) = f(|r| r.commits);
        let (d, e, g) = f(|r| r.durable);
        println!(
            "             commits/payment {a:.2} / {b:.2} / {c:.2}, durable commits/payment {d:.2} / {e:.2} / {g:.2}"
        );
        let (a, b, c) = f(|r| r.sqlite_cpu);
        let (d, e, g) = f(|r| r.memory_cpu);
        let (h, i, j) = f(|r| r.cpu_ratio);
        println!(
            "             CPU µs/payment SQLite {a:.0} / {b:.0} / {c:.0}, memory {d:.0} / {e:.0} / {g:.0}, \
             SQLite ÷ memory {h:.2} / {i:.2} / {j:.2} (goal ≤ 3: {})",
            if j <= 3.0 { "met" } else if i <= 3.0 { "median met" } else { "not met" }
        );
    }
}
