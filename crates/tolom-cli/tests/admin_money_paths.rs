//! The admin API's money paths, in process: the admin router on
//! 127.0.0.1 over the in-memory store of the testkit, driven over HTTP.
//!
//! - a changing request is recorded in the transaction of its change: a
//!   refund whose client went away while the bank was being asked still
//!   has its `admin.refund` entry;
//! - a refused or replayed request is recorded after the answer, with its
//!   status;
//! - a failed authentication is recorded (`admin.auth_failed`), never with
//!   the token, and a flood of them is bounded;
//! - inputs that do not fit (a huge `valid_days`, `limit`, a long report)
//!   are refused with a stable code, never a panic;
//! - operators list duplicate approvals and give one back.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Duration;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tolom_core::access::{hash_token, Principal, Role};
use tolom_core::audit::AuditEntry;
use tolom_core::money::Money;
use tolom_core::payment::{ChallengeResponse, PaymentState};
use tolom_core::ports::{
    Acquirer, AcquirerError, AcquirerOutcome, OrderStatus, PurchaseRequest, RefundOutcome,
};
use tolom_core::usecases::Config;
use tolom_core::Tolom;
use tolom_testkit::fake::{FakeAcquirer, Script};
use tolom_testkit::fixtures::Harness;

/// The fake acquirer, but a refund waits at the bank until released: the
/// refund's reservation is committed, the answer has not come.
struct SlowRefunds {
    inner: Arc<FakeAcquirer>,
    entered: Notify,
    release: Notify,
}

#[async_trait]
impl Acquirer for SlowRefunds {
    fn name(&self) -> &str {
        "slow-refunds"
    }

    async fn purchase<'a>(
        &self,
        request: PurchaseRequest<'a>,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        self.inner.purchase(request).await
    }

    async fn complete_challenge(
        &self,
        order_number: &str,
        response: &ChallengeResponse,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        self.inner.complete_challenge(order_number, response).await
    }

    async fn status(&self, order_number: &str) -> Result<OrderStatus, AcquirerError> {
        self.inner.status(order_number).await
    }

    async fn refund(
        &self,
        order_number: &str,
        refund_id: &str,
        amount: Money,
    ) -> Result<RefundOutcome, AcquirerError> {
        self.entered.notify_one();
        self.release.notified().await;
        self.inner.refund(order_number, refund_id, amount).await
    }

    async fn reverse(&self, order_number: &str) -> Result<(), AcquirerError> {
        self.inner.reverse(order_number).await
    }

    async fn cancel(&self, order_number: &str) -> Result<(), AcquirerError> {
        self.inner.cancel(order_number).await
    }
}

fn root() -> Principal {
    Principal::Local {
        user: "root".into(),
    }
}

/// The admin API as `tolom serve` mounts it, on 127.0.0.1 (with the
/// client's address); its base URL.
async fn serve(tolom: Arc<Tolom>) -> String {
    let app = axum::Router::new().nest(
        "/api/v1/admin",
        tolom_admin::admin_router(tolom_admin::AdminState::new(tolom)),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    format!("http://{addr}/api/v1/admin")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

async fn token(tolom: &Tolom, name: &str, role: Role) -> String {
    tolom
        .operator()
        .expect("operator")
        .create_token(&root(), name, role)
        .await
        .expect("token")
        .secret
}

async fn audit(tolom: &Tolom) -> Vec<AuditEntry> {
    tolom
        .operator()
        .expect("operator")
        .audit_entries(&root(), 0, 0)
        .await
        .expect("audit")
}

fn entries<'a>(log: &'a [AuditEntry], action: &str) -> Vec<&'a AuditEntry> {
    log.iter().filter(|e| e.action == action).collect()
}

/// The client asks for a refund and goes away while the bank is being
/// asked (the request future is dropped): the refund's reservation is
/// committed, and so is its `admin.refund` entry — written with it, not
/// after an answer that never comes.
#[tokio::test]
async fn a_refund_whose_client_went_away_still_has_its_admin_entry() {
    let slow = Arc::new(SlowRefunds {
        inner: Arc::new(FakeAcquirer::new()),
        entered: Notify::new(),
        release: Notify::new(),
    });
    let h = Harness::with_acquirer(slow.clone(), Config::default());
    let c = h.charge("passport-2020", "A B").await;
    let p = h.pay(&c.code, "4111111111111111", "k").await;
    assert_eq!(p.state(), PaymentState::Succeeded);
    let tolom = Arc::new(h.tolom);
    let ops = token(&tolom, "ops-1", Role::Operator).await;
    let api = serve(tolom.clone()).await;
    let http = http();
    let before = entries(&audit(&tolom).await, "admin.refund").len();

    let send = http
        .post(format!("{api}/payments/{}/refunds", p.id()))
        .bearer_auth(&ops)
        .json(&json!({"amount": "100.00", "reason": "service cancelled", "idempotency_key": "r-1"}))
        .send();
    tokio::select! {
        () = slow.entered.notified() => {}
        r = send => panic!("answered before the bank did: {r:?}"),
    }
    // The request future is gone: the client disconnected.

    let payment = tolom
        .operator()
        .expect("operator")
        .payment(&root(), p.id())
        .await
        .expect("payment");
    assert_eq!(payment.refunds.len(), 1, "the reservation is committed");
    let log = audit(&tolom).await;
    let refunds = entries(&log, "admin.refund");
    assert_eq!(refunds.len(), before + 1, "{log:#?}");
    let e = refunds[refunds.len() - 1];
    assert_eq!(e.actor, "token:ops-1");
    assert_eq!(e.subject, p.id().to_string());
    assert_eq!(e.data["with_change"], true);
    assert_eq!(e.data["method"], "POST");
    assert_eq!(e.data["role"], "operator");
    slow.release.notify_one();
}

/// What changes nothing is recorded after the answer, with its status: a
/// refund of an unknown payment (404), a replayed refund (201, no second
/// change). The change itself is recorded once, with the change.
#[tokio::test]
async fn refused_and_replayed_admin_requests_are_recorded_with_their_status() {
    let (h, _fake) = Harness::with_fake();
    let c = h.charge("passport-2020", "A B").await;
    let p = h.pay(&c.code, "4111111111111111", "k").await;
    let tolom = Arc::new(h.tolom);
    let ops = token(&tolom, "ops-1", Role::Operator).await;
    let auditor = token(&tolom, "audit-1", Role::Auditor).await;
    let api = serve(tolom.clone()).await;
    let http = http();
    let refund = |who: &str, id: String| {
        http.post(format!("{api}/payments/{id}/refunds"))
            .bearer_auth(who)
            .json(&json!({"amount": "100.00", "reason": "r", "idempotency_key": "r-1"}))
            .send()
    };
    let unknown = uuid::Uuid::new_v4().to_string();
    let r = refund(&ops, unknown.clone()).await.expect("send");
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "payment.not_found");
    assert_eq!(
        refund(&auditor, p.id().to_string())
            .await
            .expect("send")
            .status(),
        403
    );
    assert_eq!(
        refund(&ops, p.id().to_string())
            .await
            .expect("send")
            .status(),
        201
    );
    assert_eq!(
        refund(&ops, p.id().to_string())
            .await
            .expect("send")
            .status(),
        201,
        "the same key returns the same refund"
    );

    let log = audit(&tolom).await;
    let refunds = entries(&log, "admin.refund");
    let of = |subject: &str| -> Vec<&&AuditEntry> {
        refunds.iter().filter(|e| e.subject == subject).collect()
    };
    let refused = of(&unknown);
    assert_eq!(refused.len(), 1, "{log:#?}");
    assert_eq!(refused[0].data["status"], 404);
    assert_eq!(refused[0].data["with_change"], Value::Null);
    let paid = of(&p.id().to_string());
    let statuses: Vec<(Value, Value, String)> = paid
        .iter()
        .map(|e| {
            (
                e.data["status"].clone(),
                e.data["with_change"].clone(),
                e.actor.clone(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (json!(403), Value::Null, "token:audit-1".to_string()),
            (Value::Null, json!(true), "token:ops-1".to_string()),
            (json!(201), Value::Null, "token:ops-1".to_string()),
        ],
        "refusal after the answer, the change with the change, the replay after the answer"
    );
    assert!(tolom
        .operator()
        .expect("operator")
        .verify_audit(&root())
        .await
        .expect("verify")
        .problem
        .is_none());
}

/// A `Write` into a shared buffer, for the log lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A wrong, a missing and a revoked token: `401`, and each recorded as
/// `admin.auth_failed` with the method, path, client address and reason
/// (and for a token that was given, its hash's first 8 hex digits) —
/// the token itself in no audit entry and no log line.
#[tokio::test]
async fn failed_authentication_is_recorded_without_the_token() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

    let (h, _fake) = Harness::with_fake();
    let tolom = Arc::new(h.tolom);
    let revoked = token(&tolom, "old-ops", Role::Operator).await;
    tolom
        .operator()
        .expect("operator")
        .revoke_token(&root(), "old-ops")
        .await
        .expect("revoke");
    let api = serve(tolom.clone()).await;
    let http = http();
    let wrong = format!("tlm_{}", "5ec2e7".repeat(10));

    let r = http
        .post(format!("{api}/reconcile"))
        .bearer_auth(&wrong)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "auth.unauthenticated");
    let r = http
        .get(format!("{api}/payments"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let r = http
        .get(format!("{api}/duplicates"))
        .bearer_auth(&revoked)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);

    let log = audit(&tolom).await;
    let failed = entries(&log, "admin.auth_failed");
    assert_eq!(failed.len(), 3, "{log:#?}");
    let e = failed[0];
    assert_eq!(e.actor, "anonymous");
    assert_eq!(e.subject, "/api/v1/admin/reconcile");
    assert_eq!(e.data["method"], "POST");
    assert_eq!(e.data["path"], "/api/v1/admin/reconcile");
    assert_eq!(e.data["client"], "127.0.0.1");
    assert_eq!(e.data["reason"], "unknown_token");
    assert_eq!(e.data["status"], 401);
    assert_eq!(e.data["fingerprint"], hash_token(&wrong)[..8]);
    assert_eq!(failed[1].data["reason"], "missing");
    assert!(failed[1].data["fingerprint"].is_null());
    assert_eq!(failed[2].data["reason"], "unknown_token", "revoked");
    assert_eq!(failed[2].data["fingerprint"], hash_token(&revoked)[..8]);

    let whole = serde_json::to_string(&log).expect("json");
    for secret in [&wrong, &revoked] {
        assert!(!whole.contains(secret.as_str()), "a token in the audit log");
        assert!(
            !whole.contains(&secret[4..]),
            "a token's secret part in the audit log"
        );
    }
    let lines = String::from_utf8_lossy(&logs.0.lock().expect("logs")).to_string();
    assert!(
        lines.contains("admin authentication failed"),
        "the logs were captured: {lines}"
    );
    for secret in [&wrong, &revoked] {
        assert!(
            !lines.contains(&secret[4..]),
            "a token in the logs: {lines}"
        );
    }
}

/// A flood of wrong tokens from one client writes at most 10 entries a
/// minute; the next minute's entry tells how many were left out.
#[tokio::test]
async fn a_flood_of_wrong_tokens_is_recorded_bounded() {
    let (h, _fake) = Harness::with_fake();
    let clock = h.clock.clone();
    let tolom = Arc::new(h.tolom);
    let api = serve(tolom.clone()).await;
    let http = http();
    let before = audit(&tolom).await.len();
    for i in 0..50 {
        let r = http
            .get(format!("{api}/payments"))
            .bearer_auth(format!("tlm_wrong{i}"))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 401);
    }
    let log = audit(&tolom).await;
    assert_eq!(
        log.len() - before,
        tolom_admin::failures::PER_CLIENT as usize
    );
    clock.advance(Duration::seconds(61));
    let r = http
        .get(format!("{api}/payments"))
        .bearer_auth("tlm_wrong-again")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let log = audit(&tolom).await;
    let last = log.last().expect("entry");
    assert_eq!(last.action, "admin.auth_failed");
    assert_eq!(last.data["suppressed_before"], 40, "{last:?}");
}

/// Numbers that do not fit are refused with a stable code, never a
/// panic: `valid_days` of 10^12 (not a u32), 4000 (above 3650) or 0, an
/// expiry in the year 9999, a `limit` above `usize` or above the
/// maximum, a report of years, a body that is not JSON.
#[tokio::test]
async fn admin_inputs_out_of_range_are_refused_not_a_panic() {
    let (h, _fake) = Harness::with_fake();
    let tolom = Arc::new(h.tolom);
    let issuer = token(&tolom, "agency", Role::Issuer).await;
    let ops = token(&tolom, "ops-1", Role::Operator).await;
    let api = serve(tolom.clone()).await;
    let http = http();
    let issue = |body: Value| {
        http.post(format!("{api}/charges"))
            .bearer_auth(&issuer)
            .json(&body)
            .send()
    };
    let charge = |extra: Value| {
        let mut b =
            json!({"service": "passport-2020", "payer": "Асанов Айбек", "agency_ref": "R-1"});
        if let (Some(b), Some(extra)) = (b.as_object_mut(), extra.as_object()) {
            b.extend(extra.clone());
        }
        b
    };
    for extra in [
        json!({"valid_days": 1_000_000_000_000u64}),
        json!({"valid_days": 4000}),
        json!({"valid_days": 0}),
        json!({"valid_days": -1}),
        json!({"expires_at": "9999-12-31T00:00:00Z"}),
    ] {
        let r = issue(charge(extra.clone()))
            .await
            .expect("an answer, not a panic");
        assert_eq!(r.status(), 422, "{extra}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"]["code"], "request.invalid", "{extra}: {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    let r = issue(charge(json!({"valid_days": 3650})))
        .await
        .expect("send");
    assert_eq!(r.status(), 201, "the longest validity is allowed");

    for query in [
        "payments?limit=100000000000000000000000",
        "payments?limit=20000",
        "payments?limit=-1",
        "reports?from=2000-01-01&to=2026-01-01",
        "reports?from=2026-01-02&to=2026-01-01",
        "reports?from=+262142-01-01",
    ] {
        let r = http
            .get(format!("{api}/{query}"))
            .bearer_auth(&ops)
            .send()
            .await
            .expect("an answer, not a panic");
        assert_eq!(r.status(), 422, "{query}");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"]["code"], "request.invalid", "{query}: {body}");
    }
    let r = http
        .post(format!("{api}/charges"))
        .bearer_auth(&issuer)
        .body("service=passport-2020")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 415);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "request.unsupported_media_type");
}

/// A card charged twice for one code, and the bank will neither reverse
/// nor refund yet: operators and auditors list it; an operator gives it
/// back once the bank takes refunds again (an auditor may not); it is
/// gone from the list, and the request is in the audit log with the
/// change.
#[tokio::test]
async fn operators_list_and_return_duplicates_through_the_admin_api() {
    let (h, acquirer) = Harness::with_fake();
    acquirer.script([Script::LoseRequest, Script::Approve]);
    acquirer.refuse_reverse(true);
    acquirer.refuse_refund(true);
    let c = h.charge("passport-2020", "A B").await;
    let p1 = h.pay(&c.code, "4111111111111111", "k1").await;
    h.clock.advance(Duration::minutes(3));
    h.tolom.reconcile().await.expect("reconcile");
    h.pay(&c.code, "4111111111111111", "k2").await;
    acquirer.approve_late(&p1.order_number(), p1.total());
    let r = h.tolom.reconcile().await.expect("reconcile");
    assert_eq!((r.duplicates, r.duplicates_open), (1, 1), "{r:?}");

    let tolom = Arc::new(h.tolom);
    let ops = token(&tolom, "ops-1", Role::Operator).await;
    let auditor = token(&tolom, "audit-1", Role::Auditor).await;
    let issuer = token(&tolom, "agency", Role::Issuer).await;
    let api = serve(tolom.clone()).await;
    let http = http();
    let list = |who: String| {
        http.get(format!("{api}/duplicates"))
            .bearer_auth(who)
            .send()
    };
    let give_back = |who: String| {
        http.post(format!("{api}/payments/{}/return-duplicate", p1.id()))
            .bearer_auth(who)
            .send()
    };

    assert_eq!(list(issuer.clone()).await.expect("send").status(), 403);
    let r = list(auditor.clone()).await.expect("send");
    assert_eq!(r.status(), 200);
    let open: Value = r.json().await.expect("json");
    assert_eq!(open.as_array().map(Vec::len), Some(1), "{open}");
    assert_eq!(open[0]["payment_id"], p1.id().to_string());
    assert_eq!(open[0]["attempts"], 1);
    assert!(open[0]["last_error"]
        .as_str()
        .unwrap_or_default()
        .contains("refunds refused"));

    assert_eq!(
        give_back(auditor.clone()).await.expect("send").status(),
        403
    );
    acquirer.refuse_refund(false);
    let r = give_back(ops.clone()).await.expect("send");
    assert_eq!(r.status(), 200);
    let done: Value = r.json().await.expect("json");
    assert_eq!(done["outcome"], "refunded", "{done}");
    assert_eq!(done["payment"]["state"], "returned", "{done}");
    let open: Value = list(ops.clone())
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(open, json!([]));
    let r = give_back(ops.clone()).await.expect("send");
    assert_eq!(r.status(), 422, "no longer a duplicate awaiting its money");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "request.invalid");

    let log = audit(&tolom).await;
    let returns = entries(&log, "admin.return_duplicate");
    let shape: Vec<(String, Value, Value)> = returns
        .iter()
        .map(|e| {
            (
                e.actor.clone(),
                e.data["with_change"].clone(),
                e.data["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("token:audit-1".to_string(), Value::Null, json!(403)),
            ("token:ops-1".to_string(), json!(true), Value::Null),
            ("token:ops-1".to_string(), Value::Null, json!(422)),
        ]
    );
    assert!(returns.iter().all(|e| e.subject == p1.id().to_string()));
    assert_eq!(entries(&log, "admin.duplicates.list").len(), 3);
}
