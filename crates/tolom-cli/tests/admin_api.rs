//! The admin API over real HTTP: `tolom serve` on 127.0.0.1:0, tokens made
//! with `tolom tokens create`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use common::Site;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn token(site: &Site, name: &str, role: &str) -> String {
    let out = site
        .tolom()
        .args(["--json", "tokens", "create", name, "--role", role])
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["secret"].as_str().expect("secret").to_string()
}

fn serve(site: &Site) -> (Server, String) {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("tolom"));
    cmd.current_dir(site.dir.path())
        .env(
            "TOLOM_DATABASE_URL",
            format!("sqlite:{}", site.db().display()),
        )
        .env("TOLOM_DATA_DIR", site.dir.path().join("data"))
        .args(["serve", "--addr", "127.0.0.1:0", "--no-jobs"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("line");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("listening line")
        .to_string();
    (Server(child), url)
}

#[tokio::test]
async fn admin_api_refuses_what_it_must_and_audits_what_it_does() {
    let site = Site::new();
    site.tolom().arg("migrate").assert().success();
    let issuer = token(&site, "agency-passport", "issuer");
    let operator = token(&site, "ops-1", "operator");
    let auditor = token(&site, "audit-1", "auditor");
    let (_server, base) = serve(&site);
    let api = format!("{base}/api/v1/admin");
    let http = reqwest::Client::new();
    let charge = serde_json::json!({"service": "passport-2020", "payer": "Асанов Айбек", "agency_ref": "R-1"});

    // No token, a wrong token: 401 with a stable code, translated.
    let r = http
        .post(format!("{api}/charges"))
        .json(&charge)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "auth.unauthenticated");
    let r = http
        .post(format!("{api}/charges"))
        .bearer_auth("tlm_wrong")
        .header("Accept-Language", "ru")
        .json(&charge)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"]["message"], "Требуется токен доступа.");

    // Wrong roles: 403.
    for t in [&operator, &auditor] {
        let r = http
            .post(format!("{api}/charges"))
            .bearer_auth(t)
            .json(&charge)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 403);
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(body["error"]["code"], "auth.forbidden");
    }
    let r = http
        .post(format!("{api}/reconcile"))
        .bearer_auth(&auditor)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403);
    let r = http
        .get(format!("{api}/payments"))
        .bearer_auth(&issuer)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403);

    // Right roles.
    let r = http
        .post(format!("{api}/charges"))
        .bearer_auth(&issuer)
        .json(&charge)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    let created: serde_json::Value = r.json().await.expect("json");
    let code = created["code"].as_str().expect("code");
    let r = http
        .get(format!("{api}/charges/{code}"))
        .bearer_auth(&auditor)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{api}/payments?status=succeeded"))
        .bearer_auth(&auditor)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("{api}/reconcile"))
        .bearer_auth(&operator)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{api}/reports?format=csv"))
        .bearer_auth(&operator)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("text").starts_with("day,service,"));
    let r = http
        .delete(format!("{api}/charges/{code}"))
        .bearer_auth(&issuer)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{api}/audit/verify"))
        .bearer_auth(&auditor)
        .send()
        .await
        .expect("send");
    let v: serde_json::Value = r.json().await.expect("json");
    assert!(v["problem"].is_null(), "{v}");

    // A revoked token no longer works.
    site.tolom()
        .args(["tokens", "revoke", "ops-1"])
        .assert()
        .success();
    let r = http
        .post(format!("{api}/reconcile"))
        .bearer_auth(&operator)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);

    // Every authenticated action is in the audit log with who did it.
    let out = site
        .tolom()
        .args(["--json", "audit", "list", "--last", "200"])
        .output()
        .expect("run");
    let entries: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let has =
        |actor: &str, action: &str, status: u64| {
            entries.as_array().expect("array").iter().any(|e| {
                e["actor"] == actor && e["action"] == action && e["data"]["status"] == status
            })
        };
    // A change is recorded with the change itself (no status: it is
    // written before the answer).
    let changed = |actor: &str, action: &str| {
        entries.as_array().expect("array").iter().any(|e| {
            e["actor"] == actor
                && e["action"] == action
                && e["data"]["with_change"] == true
                && e["data"]["status"].is_null()
        })
    };
    assert!(changed("token:agency-passport", "admin.charge.issue"));
    assert!(changed("token:agency-passport", "admin.charge.cancel"));
    assert!(
        has("token:ops-1", "admin.charge.issue", 403),
        "refusals are audited too"
    );
    assert!(changed("token:ops-1", "admin.reconcile"));
    assert!(has("token:audit-1", "admin.payments.list", 200));
    assert!(
        entries.as_array().expect("array").iter().any(|e| {
            e["actor"] == "anonymous"
                && e["action"] == "admin.auth_failed"
                && e["data"]["reason"] == "unknown_token"
        }),
        "a wrong token is recorded"
    );
    site.tolom().args(["audit", "verify"]).assert().success();
}

/// A payment made through the portal's API in `tolom serve` is refunded by
/// an operator through the admin API: partly, idempotently, never above what
/// was paid, never by an auditor — and each admin action is in the audit log.
#[tokio::test]
async fn an_operator_refunds_a_paid_payment_through_the_admin_api() {
    let site = Site::new();
    site.tolom().arg("migrate").assert().success();
    let issuer = token(&site, "agency-passport", "issuer");
    let operator = token(&site, "ops-1", "operator");
    let auditor = token(&site, "audit-1", "auditor");
    let (_server, base) = serve(&site);
    let admin = format!("{base}/api/v1/admin");
    let public = format!("{base}/api/v1");
    let http = reqwest::Client::new();

    // The agency issues a code; the payer pays it through the public API.
    let r = http
        .post(format!("{admin}/charges"))
        .bearer_auth(&issuer)
        .json(&serde_json::json!({"service": "passport-2020", "payer": "Асанов Айбек", "agency_ref": "R-9"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    let code = r.json::<serde_json::Value>().await.expect("json")["code"]
        .as_str()
        .expect("code")
        .to_string();
    let terms: serde_json::Value = http
        .get(format!("{public}/terms"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let terms_id = terms["in_force"]["id"]
        .as_str()
        .expect("terms id")
        .to_string();
    let payment: serde_json::Value = http
        .post(format!("{public}/payments"))
        .header("Idempotency-Key", "start-1")
        .json(&serde_json::json!({"code": code, "accepted_terms": terms_id}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let id = payment["id"].as_str().expect("payment id").to_string();
    let paid: serde_json::Value = http
        .post(format!("{public}/payments/{id}/card"))
        .header("Idempotency-Key", "card-1")
        .json(&serde_json::json!({"holder": "AIBEK ASANOV", "pan": "4111111111111111", "expiry": "12/30",
                                  "cvv": "123", "phone": "+996 555 123 456", "email": "aibek@example.kg"}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(paid["state"], "succeeded", "{paid}");

    let refund = |token: String, amount: &'static str, key: &'static str| {
        let http = http.clone();
        let url = format!("{admin}/payments/{id}/refunds");
        async move {
            http.post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({"amount": amount, "reason": "service cancelled", "idempotency_key": key}))
                .send()
                .await
                .expect("send")
        }
    };
    // An auditor may not refund.
    assert_eq!(refund(auditor.clone(), "100.00", "r-1").await.status(), 403);
    // An operator refunds part of it, and a replay returns the same refund.
    let r = refund(operator.clone(), "100.00", "r-1").await;
    assert_eq!(r.status(), 201);
    let first: serde_json::Value = r.json().await.expect("json");
    assert_eq!(first["state"], "succeeded", "{first}");
    let again: serde_json::Value = refund(operator.clone(), "100.00", "r-1")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["id"], first["id"], "same key, same refund");
    // Never above what is left.
    let r = refund(operator.clone(), "785.01", "r-2").await;
    assert_eq!(r.status(), 422);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "refund.exceeds_paid");
    let p: serde_json::Value = http
        .get(format!("{admin}/payments/{id}"))
        .bearer_auth(&auditor)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(p.to_string().contains("partially_refunded"), "{p}");

    // The audit log holds the refund, by whom, and still verifies.
    let out = site
        .tolom()
        .args(["--json", "audit", "list"])
        .output()
        .expect("run");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("admin.refund") && log.contains("token:ops-1"),
        "{log}"
    );
    assert!(log.contains("refund.succeeded"), "{log}");
    site.tolom().args(["audit", "verify"]).assert().success();
}
