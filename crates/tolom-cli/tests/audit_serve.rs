//! `tolom serve` seals the audit log and signs checkpoints by itself:
//! periodically, written to the checkpoint file and POSTed to a witness (a
//! real HTTP server on 127.0.0.1). On SQLite with one instance, and on
//! PostgreSQL with two instances sealing the same log: every checkpoint is
//! signed once (one per size), covers the payment made, and verifies.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::deployed::{bank, card, free_port, http, start, terms_id, Instance, Site};
use tolom_bpc_emulator::cards::VISA_APPROVE;
use tolom_core::audit::checkpoint::parse_checkpoints;
use tolom_testkit::external::{require, External};

/// A witness on 127.0.0.1 that keeps every body POSTed to it.
async fn witness() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = seen.clone();
    let app = axum::Router::new().route(
        "/",
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
    (format!("http://{addr}/"), seen)
}

/// The sizes the witness got, in order.
fn sizes(seen: &Arc<Mutex<Vec<String>>>) -> Vec<u64> {
    seen.lock()
        .expect("lock")
        .iter()
        .flat_map(|t| parse_checkpoints(t).expect("a checkpoint"))
        .map(|c| c.checkpoint.size)
        .collect()
}

fn sealed_size(site: &Site) -> u64 {
    let out = site
        .tolom(&["--json", "audit", "list", "--last", "1"])
        .output()
        .expect("audit list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v[0]["seq"].as_u64().unwrap_or(0)
}

async fn periodic_checkpoints(database: &str, schema: Option<&str>, instances: usize) {
    let emu = bank(Duration::from_millis(50)).await;
    let ports: Vec<u16> = (0..instances).map(|_| free_port()).collect();
    let site = Site::new(
        &emu,
        database,
        schema,
        &format!("http://127.0.0.1:{}", ports[0]),
    );
    let (url, seen) = witness().await;
    let file = site.dir.path().join("checkpoints.txt");
    let mut config = std::fs::read_to_string(&site.config).expect("config");
    config.push_str(&format!(
        "\n[audit]\norigin = \"serve.test/audit\"\nseal_interval_secs = 1\ncheckpoint_interval_secs = 1\ncheckpoint_file = \"{}\"\nwitness_url = \"{url}\"\n",
        file.display()
    ));
    std::fs::write(&site.config, config).expect("config");
    site.migrate();
    let code = site.issue("passport-2020", "Асанов Айбек");
    let mut serving: Vec<Instance> = ports
        .iter()
        .map(|p| Instance::start(&site, *p, &[]))
        .collect();
    let http = http();
    let base = serving[instances - 1].base.clone();
    let terms = terms_id(&http, &base).await;
    let (status, p) = start(&http, &base, &code, &terms, "audit-start").await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().expect("id").to_string();
    let (status, paid) = card(&http, &base, &id, VISA_APPROVE, "audit-card").await;
    assert_eq!(paid["state"], "succeeded", "{status} {paid}");
    // Everything written so far, sealed (by whichever sealer is first).
    let after_payment = sealed_size(&site);
    assert!(after_payment >= 5, "{after_payment}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while sizes(&seen).iter().max().copied().unwrap_or(0) < after_payment {
        assert!(
            Instant::now() < deadline,
            "no checkpoint covering the payment within 30 s: {:?}",
            sizes(&seen)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for s in &mut serving {
        assert_eq!(s.terminate().code(), Some(0));
    }
    let got = sizes(&seen);
    let mut unique = got.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), got.len(), "one checkpoint per size: {got:?}");
    let in_file: Vec<u64> = parse_checkpoints(&std::fs::read_to_string(&file).expect("file"))
        .expect("checkpoints")
        .iter()
        .map(|c| c.checkpoint.size)
        .collect();
    assert_eq!(in_file, got, "the file and the witness got the same");
    let out = site
        .tolom(&[
            "audit",
            "verify",
            "--checkpoint",
            file.to_str().expect("path"),
        ])
        .output()
        .expect("verify");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("{} given", got.len())), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_checkpoints_the_log_periodically_on_sqlite() {
    periodic_checkpoints("sqlite", None, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_seal_one_log_and_sign_each_checkpoint_once() {
    let test = "two instances checkpoint one log";
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let probe = match sqlx::PgPool::connect(&url).await {
        Ok(p) => {
            p.close().await;
            Ok(())
        }
        Err(e) => Err(format!("unreachable at {url}: {e}")),
    };
    if require(test, External::Postgres, probe).is_none() {
        return;
    }
    let schema = format!(
        "tolom_test_{}_{}_audit",
        chrono::Utc::now().timestamp(),
        std::process::id()
    );
    periodic_checkpoints(&url, Some(&schema), 2).await;
    if let Ok(pool) = sqlx::PgPool::connect(&url).await {
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&pool)
            .await;
        pool.close().await;
    }
}
