//! Benchmark (not a timed test): code look-ups per second with `wrk` on
//! loopback against the portal (SQLite file, sandbox acquirer, rate limit
//! off), next to a bare axum handler returning the same number of bytes,
//! in the same run; and the process's memory under that load.
//!
//! ```text
//! cargo bench -p tolom-http --bench lookup
//! BENCH_SECONDS=10 BENCH_CONNECTIONS=32 cargo bench -p tolom-http --bench lookup
//! ```
//! Needs `wrk` (`apt-get install wrk`).

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use tolom_acquirer_sandbox::SandboxAcquirer;
use tolom_core::ports::Ed25519Signer;
use tolom_core::usecases::IssueCharge;
use tolom_core::Tolom;
use tolom_http::{router, AppState, PortalConfig};
use tolom_store_sqlite::{SqliteOptions, SqliteStore};

/// Issues the charge to look up: a passport fee, as `tolom demo` issues it.
async fn issue_code(tolom: &Tolom) -> String {
    let config = tolom.config();
    let service = "passport-2020";
    let family = config.catalogue.service(service).expect("service").family;
    let code = config
        .code_format
        .generate(family, 4_200_002)
        .expect("code");
    let urgency = config
        .catalogue
        .tariffs_of(service)
        .find(|t| t.published)
        .map(|t| t.urgency.clone());
    tolom
        .issue_charge(IssueCharge {
            service: service.to_string(),
            urgency,
            amount: None,
            payer: "Сыдыкова Айгүл Бакытовна".to_string(),
            code: Some(code.as_str().to_string()),
            expires_at: tolom.clock().now() + chrono::Duration::days(365),
            agency_ref: Some("bench".to_string()),
        })
        .await
        .expect("issue");
    code.as_str().to_string()
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn wrk(url: &str, seconds: u32, connections: u32) -> (f64, String) {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            url,
        ])
        .output()
        .expect("run wrk");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rps = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let p99 = text
        .lines()
        .find(|l| l.trim_start().starts_with("99%"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
        .unwrap_or_default();
    if text.contains("Non-2xx") {
        panic!("wrk saw errors:\n{text}");
    }
    (rps, p99)
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    addr
}

fn main() {
    if tolom_testkit::external::require_tool("lookup benchmark", "wrk").is_none() {
        return;
    }
    let seconds: u32 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let connections: u32 = std::env::var("BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let dir = std::env::temp_dir().join(format!("tolom-bench-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let db = dir.join("tolom.db");
        let memory = std::env::var("BENCH_STORE").as_deref() == Ok("memory");
        let store: Arc<dyn tolom_core::ports::Store> = if memory {
            Arc::new(tolom_testkit::memory::InMemoryStore::new())
        } else {
            Arc::new(
                SqliteStore::open(&db.to_string_lossy(), SqliteOptions::default())
                    .await
                    .expect("sqlite"),
            )
        };
        let store_name = if memory { "in-memory store" } else { "SQLite file" };
        let tolom = Arc::new(
            Tolom::builder()
                .store(store)
                .acquirer(Arc::new(SandboxAcquirer::for_tests()))
                .signer(Arc::new(Ed25519Signer::from_seed([3; 32])))
                .build()
                .expect("tolom"),
        );
        let code = issue_code(&tolom).await;
        let mut config = PortalConfig::new("http://127.0.0.1");
        config.lookup_rate_per_minute = 0;
        let portal = serve(router(AppState::new(tolom, config))).await;
        let path = format!("/api/v1/charges/{code}?lang=en");
        let url = format!("http://{portal}{path}");
        // The same bytes from a bare handler.
        let body = reqwest::get(&url)
            .await
            .expect("portal answers")
            .bytes()
            .await
            .expect("body");
        let size = body.len();
        let bare_body = body.clone();
        let bare = serve(Router::new().route(
            "/bare",
            get(move || {
                let b = bare_body.clone();
                async move { ([("content-type", "application/json")], b) }
            }),
        ))
        .await;
        let bare_url = format!("http://{bare}/bare");
        let rss_idle = status_kib("VmRSS:");

        // Warm up both, then measure: bare, portal, bare again.
        let _ = tokio::task::spawn_blocking({
            let (u1, u2) = (url.clone(), bare_url.clone());
            move || {
                wrk(&u1, 2, connections);
                wrk(&u2, 2, connections);
            }
        })
        .await;
        let (u1, u2) = (url.clone(), bare_url.clone());
        let health = format!("http://{portal}/healthz");
        let results = tokio::task::spawn_blocking(move || {
            let b1 = wrk(&u2, seconds, connections);
            let p = wrk(&u1, seconds, connections);
            let b2 = wrk(&u2, seconds, connections);
            let h = wrk(&health, seconds, connections);
            (b1, p, b2, h)
        });
        // Sample RSS while the load runs.
        let mut peak_during = 0;
        while !results.is_finished() {
            peak_during = peak_during.max(status_kib("VmRSS:"));
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let ((b1, b1p99), (p, pp99), (b2, b2p99), (h, hp99)) = results.await.expect("wrk");
        let bare_rps = (b1 + b2) / 2.0;
        let hwm = status_kib("VmHWM:");
        println!("tolom-http look-up benchmark (wrk -t2 -c{connections} -d{seconds}s, loopback, 2 server worker threads)");
        println!("response: {size} bytes of JSON (GET {path})");
        println!("| target | requests/s | p99 latency |");
        println!("|---|---:|---:|");
        println!("| bare axum handler, same bytes (run 1) | {b1:.0} | {b1p99} |");
        println!("| portal look-up ({store_name}) | {p:.0} | {pp99} |");
        println!("| bare axum handler, same bytes (run 2) | {b2:.0} | {b2p99} |");
        println!("| portal `/healthz` (middleware only, for comparison) | {h:.0} | {hp99} |");
        println!("ratio portal / bare (mean of the two bare runs): {:.2}", p / bare_rps);
        println!(
            "process memory: idle {:.1} MiB, peak sampled during load {:.1} MiB, VmHWM {:.1} MiB",
            rss_idle as f64 / 1024.0,
            peak_during as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
        let _ = std::fs::remove_dir_all(&dir);
    });
}
