//! `GET /metrics` behind the admin API's tokens: operator and auditor
//! tokens read it, an issuer's is refused (and recorded), no or an unknown
//! token is refused (and recorded, as `admin.auth_failed`); allowed reads
//! leave no audit entry.

use std::sync::Arc;

use tolom_core::access::{Principal, Role};
use tolom_core::Tolom;
use tolom_testkit::fake::FakeAcquirer;
use tolom_testkit::fixtures::test_signer;
use tolom_testkit::memory::InMemoryStore;

#[tokio::test]
async fn metrics_need_an_operator_or_auditor_token() {
    let store = Arc::new(InMemoryStore::new());
    let tolom = Arc::new(
        Tolom::builder()
            .store_with_ops(store)
            .acquirer(Arc::new(FakeAcquirer::default()))
            .signer(Arc::new(test_signer()))
            .build()
            .expect("tolom"),
    );
    let operator = tolom.operator().expect("operator");
    let root = Principal::Local {
        user: "root".into(),
    };
    let mut secrets = Vec::new();
    for (name, role) in [
        ("ops", Role::Operator),
        ("audit", Role::Auditor),
        ("agency", Role::Issuer),
    ] {
        secrets.push(
            operator
                .create_token(&root, name, role)
                .await
                .expect("token")
                .secret,
        );
    }
    let app = tolom_admin::metrics_router(
        tolom_admin::AdminState::new(tolom.clone()),
        Arc::new(|| "tolom_test_metric 1\n".to_string()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/metrics", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let get = |secret: Option<String>| {
        let mut r = http.get(&url);
        if let Some(s) = secret {
            r = r.bearer_auth(s);
        }
        r.send()
    };
    let entries = || async {
        operator
            .audit_entries(&root, 0, 0)
            .await
            .expect("audit")
            .into_iter()
            .map(|e| e.action)
            .collect::<Vec<_>>()
    };
    let before = entries().await.len();
    for secret in &secrets[..2] {
        let r = get(Some(secret.clone())).await.expect("get");
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-type"],
            tolom_admin::PROMETHEUS_TEXT,
            "the Prometheus text format"
        );
        assert_eq!(r.text().await.expect("body"), "tolom_test_metric 1\n");
    }
    assert_eq!(
        entries().await.len(),
        before,
        "allowed reads are not recorded"
    );
    let r = get(Some(secrets[2].clone())).await.expect("get");
    assert_eq!(r.status(), 403, "an issuer token may not read metrics");
    let r = get(Some("not-a-token".into())).await.expect("get");
    assert_eq!(r.status(), 401);
    let r = get(None).await.expect("get");
    assert_eq!(r.status(), 401);
    let after = entries().await;
    assert_eq!(
        &after[before..],
        ["auth.forbidden", "admin.auth_failed", "admin.auth_failed"],
        "refusals are recorded, a missing token too"
    );
}
