//! Payments made elsewhere through the admin API, over HTTP on 127.0.0.1:
//! a bank's token records a payment of a code (201, then 200 for the same
//! reference with nothing written), what it gets wrong is refused with a
//! stable code in the caller's language, other roles are refused; a report
//! for a code paid by card is flagged, listed for operators and resolved by
//! them; every request is in the audit log, a recording one in the
//! transaction of its change.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{Duration, SecondsFormat};
use serde_json::{json, Value};
use tolom_core::access::{Principal, Role};
use tolom_core::charge::Charge;
use tolom_core::i18n::Language;
use tolom_core::ports::Clock;
use tolom_core::usecases::{IssueCharge, StartPayment};
use tolom_core::Tolom;
use tolom_testkit::clock::ManualClock;
use tolom_testkit::fake::FakeAcquirer;
use tolom_testkit::fixtures::{card_form, test_signer};
use tolom_testkit::memory::InMemoryStore;

fn root() -> Principal {
    Principal::Local {
        user: "root".into(),
    }
}

struct World {
    tolom: Arc<Tolom>,
    clock: Arc<ManualClock>,
    url: String,
    http: reqwest::Client,
}

impl World {
    async fn new() -> World {
        let clock = Arc::new(ManualClock::fixed());
        let tolom = Arc::new(
            Tolom::builder()
                .store_with_ops(Arc::new(InMemoryStore::new()))
                .acquirer(Arc::new(FakeAcquirer::new()))
                .clock(clock.clone())
                .signer(Arc::new(test_signer()))
                .build()
                .expect("tolom"),
        );
        let app = axum::Router::new().nest(
            "/api/v1/admin",
            tolom_admin::admin_router(tolom_admin::AdminState::new(tolom.clone())),
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
        World {
            tolom,
            clock,
            url: format!("http://{addr}/api/v1/admin"),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
        }
    }

    async fn token(&self, name: &str, role: Role) -> String {
        self.tolom
            .operator()
            .expect("operator")
            .create_token(&root(), name, role)
            .await
            .expect("token")
            .secret
    }

    async fn charge(&self) -> Charge {
        let c = self
            .tolom
            .issue_charge(IssueCharge {
                service: "passport-2020".into(),
                urgency: None,
                amount: None,
                payer: "Сыдыкова Айгүл Бакытовна".into(),
                code: None,
                expires_at: self.clock.now() + Duration::days(30),
                agency_ref: None,
            })
            .await
            .expect("charge");
        self.clock.advance(Duration::hours(1));
        c
    }

    async fn post(&self, token: &str, path: &str, body: Value, lang: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .header("accept-language", lang)
            .json(&body)
            .send()
            .await
            .expect("post");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The audit log's entries of `action`, with their data.
    async fn entries(&self, action: &str) -> Vec<Value> {
        self.tolom
            .operator()
            .expect("operator")
            .audit_entries(&root(), 0, 0)
            .await
            .expect("audit")
            .into_iter()
            .filter(|e| e.action == action)
            .map(|e| e.data)
            .collect()
    }

    fn report(&self, reference: &str) -> Value {
        json!({
            "channel": "elqr",
            "reference": reference,
            "amount": "885.00",
            "paid_at": (self.clock.now() - Duration::minutes(30))
                .to_rfc3339_opts(SecondsFormat::Secs, true),
        })
    }
}

#[tokio::test]
async fn a_bank_records_a_payment_once_and_what_it_gets_wrong_is_refused() {
    let w = World::new().await;
    let bank = w.token("bank-kicb", Role::Bank).await;
    let charge = w.charge().await;
    let path = format!("/charges/{}/external-payments", charge.code.as_str());
    let (status, body) = w.post(&bank, &path, w.report("ELQR-1"), "en").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["outcome"], "new");
    assert_eq!(body["payment"]["state"], "accepted");
    assert_eq!(body["payment"]["channel"], "elqr");
    assert_eq!(body["payment"]["recorded_by"], "token:bank-kicb");
    let recorded = w.entries("admin.external_payment.record").await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(
        recorded[0]["with_change"], true,
        "in the transaction of the payment"
    );
    assert_eq!(recorded[0]["role"], "bank");
    // The same reference again: the same payment, 200, nothing written (the
    // request is recorded after the answer, with its status).
    let (status, again) = w.post(&bank, &path, w.report("ELQR-1"), "en").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["outcome"], "existing");
    assert_eq!(again["payment"], body["payment"]);
    let recorded = w.entries("admin.external_payment.record").await;
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1]["status"], 200);
    assert!(recorded[1].get("with_change").is_none());
    // The charge is paid: the public look-up says how.
    let view = w
        .tolom
        .look_up(charge.code.as_str())
        .await
        .expect("look-up");
    assert_eq!(
        view.paid_via.map(|v| v.channel.as_str()),
        Some("elqr"),
        "paid via ELQR"
    );

    // What a bank can get wrong, each with its code, in the caller's
    // language.
    let other = w.charge().await;
    let other_path = format!("/charges/{}/external-payments", other.code.as_str());
    let mut cases: Vec<(Value, u16, &str)> = Vec::new();
    let with = |key: &str, value: Value| {
        let mut r = w.report("ELQR-2");
        r[key] = value;
        r
    };
    cases.push((
        with("amount", json!("800.00")),
        422,
        "external.amount_mismatch",
    ));
    cases.push((
        with("channel", json!("card")),
        422,
        "external.channel_invalid",
    ));
    cases.push((
        with("channel", json!("cash")),
        422,
        "external.channel_invalid",
    ));
    cases.push((
        with("reference", json!("")),
        422,
        "external.reference_invalid",
    ));
    cases.push((with("amount", json!("eight")), 422, "request.invalid"));
    cases.push((with("paid_at", json!("yesterday")), 422, "request.invalid"));
    cases.push((with("surprise", json!(1)), 422, "request.invalid"));
    cases.push((
        with(
            "paid_at",
            json!((w.clock.now() + Duration::hours(2)).to_rfc3339()),
        ),
        422,
        "external.paid_at_invalid",
    ));
    for (body, status, code) in cases {
        for lang in Language::ALL {
            let (got, answer) = w.post(&bank, &other_path, body.clone(), lang.tag()).await;
            assert_eq!(
                (got, answer["error"]["code"].as_str()),
                (status, Some(code)),
                "{body} {answer}"
            );
            assert!(answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
    }
    let (status, answer) = w
        .post(
            &bank,
            "/charges/110000000000/external-payments",
            w.report("ELQR-3"),
            "ru",
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "code.check_digit");
    // The reference of the first report, for another code: a conflict.
    let (status, answer) = w.post(&bank, &other_path, w.report("ELQR-1"), "en").await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "external.reference_conflict");
    assert_eq!(
        w.tolom
            .look_up(other.code.as_str())
            .await
            .expect("look-up")
            .status
            .as_str(),
        "unpaid",
        "nothing refused was written"
    );

    // Other roles may not record; a bank may do nothing else.
    for (name, role) in [("audit-1", Role::Auditor), ("agency-1", Role::Issuer)] {
        let token = w.token(name, role).await;
        let (status, answer) = w.post(&token, &other_path, w.report("ELQR-4"), "en").await;
        assert_eq!(status, 403, "{role:?}: {answer}");
    }
    for path in ["/external-payments", "/payments", "/duplicates"] {
        assert_eq!(w.get(&bank, path).await.0, 403, "{path}");
    }
    assert_eq!(
        w.get(&bank, &format!("/charges/{}", other.code.as_str()))
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn a_report_for_a_code_paid_by_card_is_flagged_listed_and_resolved() {
    let w = World::new().await;
    let bank = w.token("bank-kicb", Role::Bank).await;
    let ops = w.token("ops-1", Role::Operator).await;
    let auditor = w.token("audit-1", Role::Auditor).await;
    let charge = w.charge().await;
    let terms = w.tolom.terms_in_force().await.expect("terms").id;
    let p = w
        .tolom
        .start_payment(StartPayment {
            code: charge.code.as_str(),
            accepted_terms: Some(&terms),
            idempotency_key: "start-1",
            language: Language::Ky,
        })
        .await
        .expect("start");
    let paid = w
        .tolom
        .submit_card(p.id(), &card_form("4111111111111111"), "card-1")
        .await
        .expect("card");
    assert!(paid.state().is_paid());
    w.clock.advance(Duration::hours(1));
    let path = format!("/charges/{}/external-payments", charge.code.as_str());
    let (status, body) = w.post(&bank, &path, w.report("APP-1"), "en").await;
    assert_eq!(status, 201, "recorded, never dropped: {body}");
    assert_eq!(body["payment"]["state"], "duplicate", "flagged");
    let id = body["payment"]["id"].as_str().expect("id").to_string();
    for token in [&ops, &auditor] {
        let (status, listed) = w.get(token, "/external-payments?state=duplicate").await;
        assert_eq!(status, 200);
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
        assert_eq!(listed[0]["id"], id.as_str());
    }
    let (status, by_code) = w
        .get(
            &ops,
            &format!("/external-payments?code={}", charge.code.as_str()),
        )
        .await;
    assert_eq!((status, by_code.as_array().map(Vec::len)), (200, Some(1)));
    assert_eq!(w.get(&ops, "/external-payments?state=lost").await.0, 422);
    assert_eq!(
        w.get(&ops, "/external-payments?limit=99999999").await.0,
        422
    );
    // Resolving is the operator's.
    let resolve = format!("/external-payments/{id}/resolve");
    let returned = json!({"resolution": "returned", "note": "KICB returned it to the payer"});
    assert_eq!(
        w.post(&auditor, &resolve, returned.clone(), "en").await.0,
        403
    );
    assert_eq!(w.post(&bank, &resolve, returned.clone(), "en").await.0, 403);
    let (status, answer) = w
        .post(
            &ops,
            &resolve,
            json!({"resolution": "accepted", "note": "keep it"}),
            "en",
        )
        .await;
    assert_eq!(status, 409, "the card still pays the charge: {answer}");
    assert_eq!(answer["error"]["code"], "external.charge_still_paid");
    let (status, answer) = w
        .post(
            &ops,
            &resolve,
            json!({"resolution": "lost", "note": "x"}),
            "en",
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("request.invalid"))
    );
    let (status, answer) = w
        .post(
            &ops,
            &resolve,
            json!({"resolution": "returned", "note": " "}),
            "en",
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("request.invalid"))
    );
    let (status, done) = w.post(&ops, &resolve, returned.clone(), "en").await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "returned");
    assert_eq!(done["resolution"], "KICB returned it to the payer");
    let resolved = w.entries("admin.external_payment.resolve").await;
    assert!(
        resolved.iter().any(|d| d["with_change"] == true),
        "{resolved:?}"
    );
    let (status, answer) = w.post(&ops, &resolve, returned.clone(), "en").await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "external.not_duplicate");
    let (status, answer) = w
        .post(
            &ops,
            "/external-payments/not-an-id/resolve",
            returned.clone(),
            "en",
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("external.not_found"))
    );
    let (status, listed) = w.get(&ops, "/external-payments?state=duplicate").await;
    assert_eq!((status, listed.as_array().map(Vec::len)), (200, Some(0)));
}
