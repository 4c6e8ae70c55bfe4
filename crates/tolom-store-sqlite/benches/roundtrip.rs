//! What one statement costs through sqlx's SQLite worker thread, against
//! the same statement through rusqlite on a plain thread; and the store's
//! read behind the portal's code look-up (`charge_by_code`).
//!
//! ```text
//! cargo bench -p tolom-store-sqlite --bench roundtrip
//! TOLOM_BENCH_OPS=50000 cargo bench -p tolom-store-sqlite --bench roundtrip
//! ```
//!
//! Each row runs N operations one after another on a WAL database file
//! holding one charge, and prints wall time and CPU (user + system of the
//! whole process, `/proc/self/stat`) per operation:
//!
//! - sqlx, one connection: `SELECT 1`; the point read of a charge by code;
//! - sqlx, a pool (as the store's readers): the point read;
//! - the store: `charge_by_code` (its own reader connections, the read,
//!   decoding into a `Charge`);
//! - rusqlite on the calling thread: `SELECT 1`; the point read;
//! - rusqlite on a dedicated thread, called from async code through a
//!   channel (the model of a blocking writer thread): one hop per
//!   statement, and one hop for four statements.
#![allow(missing_docs)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::ConnectOptions;
use tolom_core::charge::{Charge, ChargeStatus, Payer};
use tolom_core::code::PaymentCode;
use tolom_core::events::{Event, EventKind};
use tolom_core::money::Money;
use tolom_core::ports::ChargeStore;
use tolom_store_sqlite::{SqliteOptions, SqliteStore};
use uuid::Uuid;

const READ: &str = "SELECT id, code, service, urgency, payer_name, currency, amount_minor, \
     issued_at, expires_at, status, agency_ref FROM charges WHERE code = ?1";

fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((tick(11) + tick(12)) * 10)
}

struct Measure {
    wall: Duration,
    cpu: Duration,
}

fn measure<F: FnOnce()>(f: F) -> Measure {
    let (c, t) = (cpu(), Instant::now());
    f();
    Measure {
        wall: t.elapsed(),
        cpu: cpu().saturating_sub(c),
    }
}

fn print(what: &str, n: usize, m: &Measure) {
    println!(
        "{what:<58} {:>9.1} {:>9.1}",
        m.wall.as_secs_f64() * 1e6 / n as f64,
        m.cpu.as_secs_f64() * 1e6 / n as f64
    );
}

fn main() {
    let n: usize = std::env::var("TOLOM_BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("roundtrip.db");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let store = rt.block_on(async {
        SqliteStore::open(path.to_str().expect("path"), SqliteOptions::default())
            .await
            .expect("open")
    });
    let charge = Charge {
        id: Uuid::new_v4(),
        code: PaymentCode::from_trusted("123456789012".to_string()),
        service: "passport-2020".into(),
        urgency: None,
        payer: Payer {
            full_name: "Асанов Айбек Маратович".into(),
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
    rt.block_on(store.insert_charge(&charge, &event, &[]))
        .expect("charge");
    let code = charge.code.as_str().to_string();

    println!("statement round trips, {n} operations per row (µs per operation)");
    println!("{:<58} {:>9} {:>9}", "", "wall", "CPU");
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .expect("url")
        .read_only(true)
        .disable_statement_logging();

    // sqlx, one connection.
    let mut conn = rt.block_on(options.clone().connect()).expect("connect");
    let m = measure(|| {
        rt.block_on(async {
            for _ in 0..n {
                let v: i64 = sqlx::query_scalar("SELECT 1")
                    .fetch_one(&mut conn)
                    .await
                    .expect("select");
                std::hint::black_box(v);
            }
        })
    });
    print("sqlx, one connection: SELECT 1", n, &m);
    let m = measure(|| {
        rt.block_on(async {
            for _ in 0..n {
                let row = sqlx::query(READ)
                    .bind(&code)
                    .fetch_optional(&mut conn)
                    .await
                    .expect("read");
                std::hint::black_box(row);
            }
        })
    });
    print("sqlx, one connection: charge by code (row)", n, &m);

    // sqlx, a pool.
    let pool = rt
        .block_on(
            SqlitePoolOptions::new()
                .max_connections(4)
                .test_before_acquire(false)
                .connect_with(options.clone()),
        )
        .expect("pool");
    let m = measure(|| {
        rt.block_on(async {
            for _ in 0..n {
                let row = sqlx::query(READ)
                    .bind(&code)
                    .fetch_optional(&pool)
                    .await
                    .expect("read");
                std::hint::black_box(row);
            }
        })
    });
    print("sqlx, pool of 4: charge by code (row)", n, &m);

    // The store: the portal's look-up read.
    let m = measure(|| {
        rt.block_on(async {
            for _ in 0..n {
                let c = store.charge_by_code(&charge.code).await.expect("read");
                std::hint::black_box(c);
            }
        })
    });
    print(
        "SqliteStore::charge_by_code (its reader, row → Charge)",
        n,
        &m,
    );

    // rusqlite on this thread.
    let r = rusqlite::Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("rusqlite");
    let m = measure(|| {
        for _ in 0..n {
            let mut st = r.prepare_cached("SELECT 1").expect("prepare");
            let v: i64 = st.query_row([], |row| row.get(0)).expect("select");
            std::hint::black_box(v);
        }
    });
    print("rusqlite, same thread: SELECT 1", n, &m);
    let read_row = |r: &rusqlite::Connection| {
        let mut st = r.prepare_cached(READ).expect("prepare");
        st.query_row([&code], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, i64>(6)?,
                row.get::<_, String>(7)?,
                row.get::<_, String>(8)?,
                row.get::<_, String>(9)?,
                row.get::<_, Option<String>>(10)?,
            ))
        })
        .expect("read")
    };
    let m = measure(|| {
        for _ in 0..n {
            std::hint::black_box(read_row(&r));
        }
    });
    print("rusqlite, same thread: charge by code (row)", n, &m);
    drop(r);

    // rusqlite on a dedicated thread, called from async code.
    type Reply = tokio::sync::oneshot::Sender<usize>;
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Reply)>();
    let worker_path = path.clone();
    let worker_code = code.clone();
    let worker = std::thread::spawn(move || {
        let r = rusqlite::Connection::open_with_flags(
            &worker_path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .expect("rusqlite");
        while let Ok((statements, reply)) = rx.recv() {
            let mut got = 0;
            for _ in 0..statements {
                let mut st = r.prepare_cached(READ).expect("prepare");
                let id: String = st
                    .query_row([&worker_code], |row| row.get(0))
                    .expect("read");
                got += id.len();
            }
            let _ = reply.send(got);
        }
    });
    let tx = Arc::new(std::sync::Mutex::new(tx));
    for statements in [1usize, 4] {
        let m = measure(|| {
            rt.block_on(async {
                for _ in 0..n {
                    let (reply, answer) = tokio::sync::oneshot::channel();
                    tx.lock()
                        .expect("lock")
                        .send((statements, reply))
                        .expect("send");
                    std::hint::black_box(answer.await.expect("answer"));
                }
            })
        });
        print(
            &format!("rusqlite, dedicated thread: {statements} point read(s) per hop"),
            n,
            &m,
        );
    }
    drop(tx);
    worker.join().expect("worker");
    rt.block_on(store.close());
}
