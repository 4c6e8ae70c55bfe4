//! Benchmark (not a timed test): a soak of the JSON API — 100,000
//! payments, each `POST /api/v1/payments` then `POST
//! /api/v1/payments/{id}/card` with an `Idempotency-Key` on both, over real
//! HTTP on loopback to the portal served in this process (sandbox
//! acquirer, rate limit off) — printing payments/s and the process's
//! resident memory for each tenth of the run, then the payments/s of the
//! last tenth ÷ the first (goal ≥ 0.95) and the growth of resident memory
//! from the end of the first tenth to the end of the last (goal ≤ 10 %).
//! A cache that keeps something per payment without a bound, or scans
//! itself, shows here as a falling rate or a rising RSS.
//!
//! The charges a tenth pays are issued (in process, through the use case)
//! before that tenth's clock starts, so the figures are the API's payments.
//!
//! ```text
//! cargo bench -p tolom-http --bench soak
//! SOAK_PAYMENTS=10000 cargo bench -p tolom-http --bench soak     # quicker
//! SOAK_STORE=sqlite SOAK_PAYMENTS=10000 cargo bench -p tolom-http --bench soak
//! SOAK_PAYERS=16 cargo bench -p tolom-http --bench soak          # concurrent payers (default 8)
//! ```
//!
//! The in-memory store (the default) keeps every charge and payment in
//! the process, so its RSS grows with the payments by design; the SQLite
//! store (a file in a temporary directory, `synchronous=FULL`) keeps them
//! on disk, so its RSS is the portal's own.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tolom_acquirer_sandbox::cards::VISA_APPROVE;
use tolom_acquirer_sandbox::SandboxAcquirer;
use tolom_core::ports::Ed25519Signer;
use tolom_core::usecases::IssueCharge;
use tolom_core::Tolom;
use tolom_http::{router, AppState, PortalConfig};
use tolom_store_sqlite::{SqliteOptions, SqliteStore};

use support::{serve, status_kib};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Issues `n` charges of a passport fee; their codes.
async fn issue(tolom: &Tolom, first: usize, n: usize) -> Vec<String> {
    let config = tolom.config();
    let service = "passport-2020";
    let urgency = config
        .catalogue
        .tariffs_of(service)
        .find(|t| t.published)
        .map(|t| t.urgency.clone());
    let mut codes = Vec::with_capacity(n);
    for i in first..first + n {
        let charge = tolom
            .issue_charge(IssueCharge {
                service: service.to_string(),
                urgency: urgency.clone(),
                amount: None,
                payer: "Сыдыкова Айгүл Бакытовна".to_string(),
                code: None,
                expires_at: tolom.clock().now() + chrono::Duration::days(365),
                agency_ref: Some(format!("soak-{i}")),
            })
            .await
            .expect("issue");
        codes.push(charge.code.as_str().to_string());
    }
    codes
}

/// One payment over the API: start, then the card; panics on anything but
/// a payment that succeeded.
async fn pay(client: &reqwest::Client, base: &str, code: &str, terms: &str, key: &str) {
    let start = client
        .post(format!("{base}/api/v1/payments"))
        .header("content-type", "application/json")
        .header("idempotency-key", format!("{key}-start"))
        .body(format!(r#"{{"code":"{code}","accepted_terms":"{terms}"}}"#))
        .send()
        .await
        .expect("start");
    let status = start.status();
    let body = start.text().await.expect("start body");
    assert_eq!(status.as_u16(), 201, "start: {body}");
    let started: serde_json::Value = serde_json::from_str(&body).expect("start json");
    let id = started["id"].as_str().expect("id");
    let card = serde_json::json!({
        "holder": "AIBEK ASANOV",
        "pan": VISA_APPROVE,
        "expiry": "12/30",
        "cvv": "123",
        "phone": "+996555123456",
        "email": "a@example.kg",
    });
    let paid = client
        .post(format!("{base}/api/v1/payments/{id}/card"))
        .header("content-type", "application/json")
        .header("idempotency-key", format!("{key}-card"))
        .body(card.to_string())
        .send()
        .await
        .expect("card");
    let status = paid.status();
    let body = paid.text().await.expect("card body");
    assert_eq!(status.as_u16(), 200, "card: {body}");
    assert!(body.contains(r#""state":"succeeded""#), "card: {body}");
}

/// Pays every code in `codes` with `payers` concurrent payers.
async fn run(
    client: &reqwest::Client,
    base: &str,
    terms: &str,
    codes: Vec<String>,
    payers: usize,
    tag: &str,
) {
    let codes = Arc::new(codes);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..payers {
        let (client, base, terms) = (client.clone(), base.to_string(), terms.to_string());
        let (codes, next, tag) = (codes.clone(), next.clone(), tag.to_string());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(code) = codes.get(i) else { break };
                pay(&client, &base, code, &terms, &format!("soak-{tag}-{i}")).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("payer");
    }
}

fn main() {
    let total = env_usize("SOAK_PAYMENTS", 100_000).max(10);
    let payers = env_usize("SOAK_PAYERS", 8).max(1);
    let sqlite = std::env::var("SOAK_STORE").as_deref() == Ok("sqlite");
    // SOAK_LOG=1: the portal's warnings and errors (with their causes) on
    // stderr, to tell why a request failed.
    if std::env::var_os("SOAK_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let dir = std::env::temp_dir().join(format!("tolom-soak-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let store: Arc<dyn tolom_core::ports::Store> = if sqlite {
            Arc::new(
                SqliteStore::open(
                    &dir.join("tolom.db").to_string_lossy(),
                    SqliteOptions::default(),
                )
                .await
                .expect("sqlite"),
            )
        } else {
            Arc::new(tolom_testkit::memory::InMemoryStore::new())
        };
        let tolom = Arc::new(
            Tolom::builder()
                .store(store)
                .acquirer(Arc::new(SandboxAcquirer::for_tests()))
                .signer(Arc::new(Ed25519Signer::from_seed([3; 32])))
                .build()
                .expect("tolom"),
        );
        let terms = tolom.terms_in_force().await.expect("terms").id;
        let mut config = PortalConfig::new("http://127.0.0.1");
        config.lookup_rate_per_minute = 0;
        let state = AppState::new(tolom.clone(), config);
        let idempotency = state.idempotency.clone();
        let base = format!("http://{}", serve(router(state)).await);
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(payers)
            .build()
            .expect("client");
        println!(
            "tolom-http soak: {total} payments over the JSON API, {payers} concurrent payers, {} store, 2 server worker threads",
            if sqlite { "SQLite (file, synchronous=FULL)" } else { "in-memory" }
        );
        println!("| slice | payments | payments/s | RSS MiB | idempotency keys |");
        println!("|---:|---:|---:|---:|---:|");
        // Warm up (connections, allocator, first-time paths), not counted.
        let warm = (total / 100).clamp(50, 1_000);
        let codes = issue(&tolom, total, warm).await;
        run(&client, &base, &terms, codes, payers, "warm").await;
        let slice = total / 10;
        let mut rates = Vec::new();
        let mut rss = Vec::new();
        let mut done = 0usize;
        for s in 0..10 {
            let n = if s == 9 { total - done } else { slice };
            let codes = issue(&tolom, done, n).await;
            let started = Instant::now();
            run(&client, &base, &terms, codes, payers, &format!("s{s}")).await;
            let secs = started.elapsed().as_secs_f64();
            done += n;
            let rate = n as f64 / secs;
            let kib = status_kib("VmRSS:");
            rates.push(rate);
            rss.push(kib);
            println!(
                "| {}0 % | {done} | {rate:.0} | {:.1} | {} |",
                s + 1,
                kib as f64 / 1024.0,
                idempotency.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let ratio = rates[9] / rates[0];
        let growth = (rss[9] as f64 - rss[0] as f64) / rss[0] as f64;
        println!(
            "payments/s last 10 % ÷ first 10 %: {ratio:.3} (goal ≥ 0.95: {})",
            if ratio >= 0.95 { "met" } else { "NOT met" }
        );
        println!(
            "RSS growth from the end of the first 10 % to the end of the last: {:+.1} % ({:.1} → {:.1} MiB, {:+.2} KiB a payment; goal ≤ 10 %: {})",
            growth * 100.0,
            rss[0] as f64 / 1024.0,
            rss[9] as f64 / 1024.0,
            (rss[9] as f64 - rss[0] as f64) / (total - slice) as f64,
            if growth <= 0.10 { "met" } else { "NOT met" }
        );
        println!(
            "VmHWM {:.1} MiB; idempotency cache {} of {} keys",
            status_kib("VmHWM:") as f64 / 1024.0,
            idempotency.len(),
            idempotency.capacity()
        );
        let _ = std::fs::remove_dir_all(&dir);
    });
}
