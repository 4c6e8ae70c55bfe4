//! The probes and what every request carries: `/healthz`, `/readyz` (200,
//! 503 naming the failed check and why: the database gone, shutting down,
//! an instance check), `x-request-id` (kept when valid, made otherwise) and
//! the HTTP metrics by route template.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use common::{json, test_config, Client};
use tolom_acquirer_sandbox::SandboxAcquirer;
use tolom_core::usecases::ReadinessCheck;
use tolom_core::Tolom;
use tolom_http::{router, AppState, Lifecycle};
use tolom_store_sqlite::{SqliteOptions, SqliteStore};

async fn on_sqlite(
    lifecycle: Lifecycle,
) -> (Client, SqliteStore, Arc<Lifecycle>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tolom.db");
    let store = SqliteStore::open(path.to_str().expect("path"), SqliteOptions::default())
        .await
        .expect("open");
    let shared = Arc::new(store.clone());
    let tolom = Tolom::builder()
        .store(shared.clone())
        .health(shared)
        .acquirer(Arc::new(SandboxAcquirer::for_tests()))
        .signer(Arc::new(tolom_testkit::fixtures::test_signer()))
        .build()
        .expect("tolom");
    let lifecycle = Arc::new(lifecycle);
    let state = AppState::new(Arc::new(tolom), test_config()).with_lifecycle(lifecycle.clone());
    (Client::new(router(state)), store, lifecycle, dir)
}

fn names(v: &serde_json::Value) -> Vec<String> {
    v["failed"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn detail(v: &serde_json::Value, name: &str) -> String {
    v["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .and_then(|c| c["detail"].as_str())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn healthz_answers_and_readyz_checks_database_schema_and_shutdown() {
    let (mut c, _store, lifecycle, _dir) =
        on_sqlite(Lifecycle::new().with_check(ReadinessCheck::passed("acquirer"))).await;
    let r = c.get("/healthz").await;
    assert_eq!((r.status.as_u16(), r.body.as_str()), (200, "ok"));
    let r = c.get("/readyz").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = json(&r);
    assert_eq!(v["status"], "ready");
    let checks: Vec<&str> = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(checks, ["database", "schema", "acquirer", "shutdown"]);
    assert!(detail(&v, "schema").starts_with("migration "), "{v}");
    // SIGTERM: not ready while the requests in flight finish.
    lifecycle.start_draining();
    let r = c.get("/readyz").await;
    assert_eq!(r.status, 503);
    let v = json(&r);
    assert_eq!(v["status"], "not_ready");
    assert_eq!(names(&v), ["shutdown"]);
    assert!(detail(&v, "shutdown").contains("shutting down"), "{v}");
    // Alive all the same.
    assert_eq!(c.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn readyz_is_503_when_the_database_file_is_gone_or_the_store_closed() {
    let (mut c, store, _lifecycle, dir) = on_sqlite(Lifecycle::new()).await;
    std::fs::remove_file(dir.path().join("tolom.db")).expect("remove");
    let r = c.get("/readyz").await;
    assert_eq!(r.status, 503, "{}", r.body);
    let v = json(&r);
    assert!(names(&v).contains(&"database".to_string()), "{v}");
    assert!(detail(&v, "database").contains("removed"), "{v}");
    store.close().await;
    let r = c.get("/readyz").await;
    assert_eq!(r.status, 503);
    assert!(names(&json(&r)).contains(&"database".to_string()));
}

#[tokio::test]
async fn instance_checks_and_redaction_are_in_the_answer() {
    let (mut c, _store, _lifecycle, _dir) = on_sqlite(
        Lifecycle::new()
            .with_check(ReadinessCheck::failed("acquirer", "no acquirer: s3cret"))
            .with_redaction(Box::new(|d: &str| d.replace("s3cret", "[REDACTED]"))),
    )
    .await;
    let r = c.get("/readyz").await;
    assert_eq!(r.status, 503);
    let v = json(&r);
    assert_eq!(names(&v), ["acquirer"]);
    assert_eq!(detail(&v, "acquirer"), "no acquirer: [REDACTED]");
    assert!(!r.body.contains("s3cret"));
}

#[tokio::test]
async fn a_valid_request_id_is_echoed_and_anything_else_replaced() {
    let (mut c, _store, _lifecycle, _dir) = on_sqlite(Lifecycle::new()).await;
    let with = |id: &str| {
        Request::get("/")
            .header("x-request-id", id)
            .body(Body::empty())
            .expect("req")
    };
    let r = c.send(with("proxy-1f2e.3_A")).await;
    assert_eq!(r.header("x-request-id"), "proxy-1f2e.3_A");
    for bad in ["has space", "quote\"", &"x".repeat(65), "кириллица"] {
        let r = c
            .send(
                Request::get("/")
                    .header(
                        "x-request-id",
                        axum::http::HeaderValue::from_bytes(bad.as_bytes()).expect("value"),
                    )
                    .body(Body::empty())
                    .expect("req"),
            )
            .await;
        let id = r.header("x-request-id");
        assert_ne!(id, bad);
        assert!(tolom_http::middleware::valid_request_id(&id), "{id:?}");
    }
    let (a, b) = (c.get("/").await, c.get("/").await);
    assert_eq!(a.header("x-request-id").len(), 32);
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
}

#[tokio::test(flavor = "current_thread")]
async fn http_metrics_name_the_route_template_never_the_raw_path() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let (mut c, _store, _lifecycle, _dir) = on_sqlite(Lifecycle::new()).await;
    let id = "6f1c2a4e-0000-4000-8000-000000000001";
    assert_eq!(c.get(&format!("/payments/{id}")).await.status, 404);
    assert_eq!(c.get("/no/such/page-12345").await.status, 404);
    let _ = c.get("/readyz").await;
    let text = handle.render();
    assert!(
        text.contains(
            r#"tolom_http_requests_total{method="GET",route="/payments/{id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched""#), "{text}");
    assert!(text.contains(r#"route="/readyz""#), "{text}");
    assert!(
        text.contains("tolom_http_request_duration_seconds"),
        "{text}"
    );
    assert!(!text.contains(id) && !text.contains("page-12345"), "{text}");
}
