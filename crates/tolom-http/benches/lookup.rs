//! Benchmark (not a timed test): code look-ups per second with `wrk` on
//! loopback against the portal (sandbox acquirer, rate limit off), each
//! next to a bare axum handler returning the same bytes with the same
//! content type, in the same run:
//!
//! - four targets: the JSON look-up (`GET /api/v1/charges/{code}`) and the
//!   HTML one (`GET /pay/{code}`, a browser with its session cookie), each
//!   on the in-memory store and on a SQLite file (`synchronous=FULL`);
//! - three repetitions, interleaved (bare, portal, for each target in
//!   turn, then again), and per target the min/median/max of the ratio
//!   portal ÷ bare and the p99 latencies (`wrk --latency`);
//! - the process's resident memory (`VmRSS`) with 1,000 open connections
//!   on the in-memory portal (goal ≤ 32 MiB), measured first, before the
//!   SQLite portal and the bare servers exist.
//!
//! ```text
//! cargo bench -p tolom-http --bench lookup
//! BENCH_SECONDS=10 BENCH_CONNECTIONS=32 BENCH_REPEATS=3 cargo bench -p tolom-http --bench lookup
//! ```
//! Needs `wrk` (`apt-get install wrk`).

mod support;

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

use support::{serve, status_kib};

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

/// A `wrk` run's requests/s, p99 latency and this process's CPU time per
/// request (µs; `wrk` is another process, and only one server is loaded
/// at a time, so it is the loaded server's CPU, less noisy than req/s on a
/// shared machine).
#[derive(Clone)]
struct Run {
    rps: f64,
    p99: String,
    cpu_us: f64,
}

/// The bare handler's run and the portal's, one after the other.
type Pair = (Run, Run);

/// One `wrk` run: requests/s and the p99 latency as printed.
fn wrk(url: &str, seconds: u32, connections: u32, cookie: Option<&str>) -> Run {
    let mut args = vec![
        "-t2".to_string(),
        format!("-c{connections}"),
        format!("-d{seconds}s"),
        "--latency".to_string(),
    ];
    if let Some(c) = cookie {
        args.push("-H".to_string());
        args.push(format!("Cookie: {c}"));
    }
    args.push(url.to_string());
    let cpu_before = cpu_ticks();
    let out = Command::new("wrk").args(&args).output().expect("run wrk");
    let cpu = cpu_ticks().saturating_sub(cpu_before);
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
    let requests: f64 = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    Run {
        rps,
        p99,
        // Clock ticks are 1/100 s on Linux.
        cpu_us: cpu as f64 * 10_000.0 / requests.max(1.0),
    }
}

/// This process's user + system CPU time, in clock ticks
/// (`/proc/self/stat` fields 14 and 15).
fn cpu_ticks() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The command name may hold spaces; fields follow its `)`.
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0)
}

/// A portal on `store` with one charge issued; its address and the code.
async fn portal(store: Arc<dyn tolom_core::ports::Store>) -> (SocketAddr, String) {
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
    (serve(router(AppState::new(tolom, config))).await, code)
}

/// What one look-up target is: the portal's URL, the bare handler's URL
/// (same bytes, same content type), the cookie to send.
struct Target {
    name: String,
    portal: String,
    bare: String,
    cookie: Option<String>,
    bytes: usize,
}

/// Fetches `url` once (with `cookie`) and serves its bytes from a bare
/// axum handler; the target.
async fn target(name: &str, url: String, cookie: Option<String>) -> Target {
    let client = reqwest::Client::new();
    let mut req = client.get(&url);
    if let Some(c) = &cookie {
        req = req.header("cookie", c.as_str());
    }
    let resp = req.send().await.expect("portal answers");
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let body = resp.bytes().await.expect("body");
    let bytes = body.len();
    let bare = serve(Router::new().route(
        "/bare",
        get(move || {
            let (b, ct) = (body.clone(), content_type.clone());
            async move { ([("content-type", ct)], b) }
        }),
    ))
    .await;
    Target {
        name: name.to_string(),
        portal: url,
        bare: format!("http://{bare}/bare"),
        cookie,
        bytes,
    }
}

/// Runs `f` on a blocking thread while sampling this process's RSS; the
/// result and the peak RSS seen (KiB).
async fn sampling<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> (T, u64) {
    let job = tokio::task::spawn_blocking(f);
    let mut peak = 0;
    while !job.is_finished() {
        peak = peak.max(status_kib("VmRSS:"));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (job.await.expect("wrk"), peak)
}

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    if tolom_testkit::external::require_tool("lookup benchmark", "wrk").is_none() {
        return;
    }
    let seconds = env_u32("BENCH_SECONDS", 5);
    let connections = env_u32("BENCH_CONNECTIONS", 32);
    let repeats = env_u32("BENCH_REPEATS", 3).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        println!("tolom-http look-up benchmark (wrk -t2 -c{connections} -d{seconds}s --latency, loopback, 2 server worker threads, {repeats} interleaved repetitions)");
        // A browser's session: the HTML look-up with its cookie (no new
        // session a request).
        let sid = "0123456789abcdef0123456789abcdef";
        let cookie = format!("tolom_sid={sid}");

        // Memory with 1,000 open connections, on the in-memory portal
        // alone (the process holds nothing else yet but the runtime).
        let rss_start = status_kib("VmRSS:");
        // For comparison, first: a bare axum handler (433 bytes of JSON,
        // the look-up's size) with 1,000 open connections. RSS rarely
        // shrinks, so the portal's peak below includes what this one left.
        let bare_alone = serve(Router::new().route(
            "/bare",
            get(|| async { ([("content-type", "application/json")], vec![b' '; 433]) }),
        ))
        .await;
        let (_, peak_bare_1000) = sampling({
            let u = format!("http://{bare_alone}/bare");
            move || wrk(&u, seconds.max(3), 1_000, None)
        })
        .await;
        let rss_after_bare = status_kib("VmRSS:");
        let (mem_addr, mem_code) =
            portal(Arc::new(tolom_testkit::memory::InMemoryStore::new())).await;
        let json_url = format!("http://{mem_addr}/api/v1/charges/{mem_code}?lang=en");
        let html_url = format!("http://{mem_addr}/pay/{mem_code}?lang=en");
        let rss_idle = status_kib("VmRSS:");
        let (_, peak_json) = sampling({
            let u = json_url.clone();
            move || wrk(&u, seconds.max(3), 1_000, None)
        })
        .await;
        let (_, peak_html) = sampling({
            let (u, c) = (html_url.clone(), cookie.clone());
            move || wrk(&u, seconds.max(3), 1_000, Some(&c))
        })
        .await;
        let peak_1000 = peak_json.max(peak_html);

        let dir = std::env::temp_dir().join(format!("tolom-bench-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let sqlite = SqliteStore::open(
            &dir.join("tolom.db").to_string_lossy(),
            SqliteOptions::default(),
        )
        .await
        .expect("sqlite");
        let (sql_addr, sql_code) = portal(Arc::new(sqlite)).await;
        let targets = [
            target("JSON, memory", json_url, None).await,
            target("HTML, memory", html_url, Some(cookie.clone())).await,
            target(
                "JSON, SQLite",
                format!("http://{sql_addr}/api/v1/charges/{sql_code}?lang=en"),
                None,
            )
            .await,
            target(
                "HTML, SQLite",
                format!("http://{sql_addr}/pay/{sql_code}?lang=en"),
                Some(cookie.clone()),
            )
            .await,
        ];
        let plan: Vec<(String, String, Option<String>)> = targets
            .iter()
            .map(|t| (t.portal.clone(), t.bare.clone(), t.cookie.clone()))
            .collect();
        // Warm up every server, then the interleaved repetitions.
        let ((), peak_load) = sampling(move || {
            for (p, b, c) in &plan {
                wrk(p, 1, connections, c.as_deref());
                wrk(b, 1, connections, None);
            }
        })
        .await;
        let mut runs: Vec<Vec<Pair>> =
            targets.iter().map(|_| Vec::new()).collect();
        for r in 0..repeats {
            for (i, t) in targets.iter().enumerate() {
                let (p, b, c) = (t.portal.clone(), t.bare.clone(), t.cookie.clone());
                let pair = tokio::task::spawn_blocking(move || {
                    let bare = wrk(&b, seconds, connections, None);
                    let portal = wrk(&p, seconds, connections, c.as_deref());
                    (bare, portal)
                })
                .await
                .expect("wrk");
                println!(
                    "repetition {}: {}: bare {:.0}/s (p99 {}, {:.1} µs CPU/req), portal {:.0}/s (p99 {}, {:.1} µs CPU/req), ratio {:.3}",
                    r + 1,
                    t.name,
                    pair.0.rps,
                    pair.0.p99,
                    pair.0.cpu_us,
                    pair.1.rps,
                    pair.1.p99,
                    pair.1.cpu_us,
                    pair.1.rps / pair.0.rps
                );
                runs[i].push(pair);
            }
        }
        println!();
        println!("| target | bytes | bare req/s (median) | portal req/s (median) | ratio min / median / max | goal | p99 bare | p99 portal | CPU µs/req bare / portal (median) |");
        println!("|---|---:|---:|---:|---:|---:|---|---|---:|");
        for (t, pairs) in targets.iter().zip(&runs) {
            let median = |mut v: Vec<f64>| {
                v.sort_by(|a, b| a.total_cmp(b));
                (v[0], v[v.len() / 2], v[v.len() - 1])
            };
            let (rmin, rmed, rmax) = median(pairs.iter().map(|(b, p)| p.rps / b.rps).collect());
            let (_, bmed, _) = median(pairs.iter().map(|(b, _)| b.rps).collect());
            let (_, pmed, _) = median(pairs.iter().map(|(_, p)| p.rps).collect());
            let (_, bcpu, _) = median(pairs.iter().map(|(b, _)| b.cpu_us).collect());
            let (_, pcpu, _) = median(pairs.iter().map(|(_, p)| p.cpu_us).collect());
            let goal = if t.name.ends_with("SQLite") { 0.5 } else { 0.8 };
            let p99 = |f: &dyn Fn(&Pair) -> String| {
                pairs.iter().map(f).collect::<Vec<_>>().join(", ")
            };
            println!(
                "| {} | {} | {bmed:.0} | {pmed:.0} | {rmin:.3} / {rmed:.3} / {rmax:.3} | ≥ {goal} ({}) | {} | {} | {bcpu:.1} / {pcpu:.1} |",
                t.name,
                t.bytes,
                if rmed >= goal { "met" } else { "NOT met" },
                p99(&|(b, _)| b.p99.clone()),
                p99(&|(_, p)| p.p99.clone()),
            );
        }
        println!();
        println!(
            "RSS: {:.1} MiB at start; bare axum alone: peak {:.1} MiB with 1,000 open connections, {:.1} MiB after",
            mib(rss_start),
            mib(peak_bare_1000),
            mib(rss_after_bare),
        );
        println!(
            "RSS: {:.1} MiB with the in-memory portal idle, peak {:.1} MiB with 1,000 open connections (goal ≤ 32 MiB: {}); peak {:.1} MiB later with both portals and the bare servers; VmHWM {:.1} MiB",
            mib(rss_idle),
            mib(peak_1000),
            if peak_1000 <= 32 * 1024 { "met" } else { "NOT met" },
            mib(peak_load),
            mib(status_kib("VmHWM:"))
        );
        let _ = std::fs::remove_dir_all(&dir);
    });
}
