//! Black-box tests of the emulator over real HTTP on 127.0.0.1.

use std::time::{Duration, Instant};

use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tolom_bpc_emulator::cards::{self, action_codes};
use tolom_bpc_emulator::html::{parse_forms, HtmlForm};
use tolom_bpc_emulator::{
    Emulator, EmulatorConfig, Endpoint, Fault, FaultScope, OrderStatus, RunningEmulator,
};

const RETURN_URL: &str = "https://shop.example/ok";
const FAIL_URL: &str = "https://shop.example/fail";
const USER: &str = "merchant-api";
const PASSWORD: &str = "s3cret-Pw-7731";
const CVC: &str = "987";
const SLOW_CARD_DELAY: Duration = Duration::from_millis(600);

struct Gw {
    emu: RunningEmulator,
    http: Client,
}

fn config() -> EmulatorConfig {
    EmulatorConfig::default()
        .with_credentials(USER, PASSWORD)
        .with_slow_card_delay(SLOW_CARD_DELAY)
}

fn client(timeout: Duration) -> Client {
    Client::builder()
        .redirect(Policy::none())
        .timeout(timeout)
        .build()
        .unwrap()
}

async fn start() -> Gw {
    start_with(config()).await
}

async fn start_with(config: EmulatorConfig) -> Gw {
    let emu = Emulator::start(config).await.unwrap();
    Gw {
        emu,
        http: client(Duration::from_secs(15)),
    }
}

/// `errorCode` as a string whether the gateway sent a string or a number.
fn code(v: &Value) -> String {
    match &v["errorCode"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null => "absent".to_owned(),
        other => other.to_string(),
    }
}

impl Gw {
    fn url(&self, endpoint: &str) -> String {
        format!("{}{endpoint}", self.emu.base_url())
    }

    fn abs(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.emu.root_url())
        }
    }

    /// POSTs the form without adding credentials.
    async fn call_raw(&self, endpoint: &str, params: &[(&str, &str)]) -> Value {
        let res = self
            .http
            .post(self.url(endpoint))
            .form(params)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{endpoint}");
        res.json().await.unwrap()
    }

    /// POSTs the form with the merchant credentials.
    async fn call(&self, endpoint: &str, params: &[(&str, &str)]) -> Value {
        let mut all = vec![("userName", USER), ("password", PASSWORD)];
        all.extend_from_slice(params);
        self.call_raw(endpoint, &all).await
    }

    async fn register_with(&self, endpoint: &str, number: &str, amount: u64) -> (String, String) {
        let amount = amount.to_string();
        let v = self
            .call(
                endpoint,
                &[
                    ("orderNumber", number),
                    ("amount", &amount),
                    ("currency", "417"),
                    ("returnUrl", RETURN_URL),
                    ("failUrl", FAIL_URL),
                    ("description", "Passport fee"),
                    ("language", "ru"),
                ],
            )
            .await;
        assert!(
            v.get("errorCode").is_none(),
            "register succeeded without errorCode: {v}"
        );
        (
            v["orderId"].as_str().unwrap().to_owned(),
            v["formUrl"].as_str().unwrap().to_owned(),
        )
    }

    async fn register(&self, number: &str, amount: u64) -> String {
        self.register_with("register.do", number, amount).await.0
    }

    fn card_params<'a>(order_id: &'a str, pan: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("MDORDER", order_id),
            ("$PAN", pan),
            ("$CVC", CVC),
            ("YYYY", "2099"),
            ("MM", "12"),
            ("TEXT", "AIBEK ASANOV"),
            ("language", "ru"),
            ("ip", "10.1.2.3"),
            ("email", "payer@example.kg"),
        ]
    }

    async fn pay(&self, order_id: &str, pan: &str) -> Value {
        self.call("paymentorder.do", &Self::card_params(order_id, pan))
            .await
    }

    async fn status(&self, order_id: &str) -> Value {
        let v = self
            .call("getOrderStatusExtended.do", &[("orderId", order_id)])
            .await;
        assert_eq!(code(&v), "0", "{v}");
        v
    }

    async fn get_html(&self, url: &str) -> (StatusCode, String) {
        let res = self.http.get(self.abs(url)).send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }

    async fn post_form(&self, form: &HtmlForm) -> reqwest::Response {
        assert_eq!(form.method, "POST");
        self.http
            .post(self.abs(&form.action))
            .form(&form.fields)
            .send()
            .await
            .unwrap()
    }
}

fn location(res: &reqwest::Response) -> String {
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "expected a 303 redirect"
    );
    res.headers()["location"].to_str().unwrap().to_owned()
}

// ---------------------------------------------------------------- register

#[tokio::test]
async fn register_pay_approve_and_status_shows_the_authorisation() {
    let gw = start().await;
    let (id, form_url) = gw.register_with("register.do", "T-1001", 15_000).await;
    assert_eq!(
        form_url,
        format!(
            "{}/payment/merchants/pay.html?mdOrder={id}",
            gw.emu.root_url()
        )
    );
    let before = gw.status(&id).await;
    assert_eq!(before["orderStatus"], 0);
    assert_eq!(before["actionCode"], action_codes::NO_PAYMENT_ATTEMPT);

    let pay = gw.pay(&id, cards::VISA_APPROVE).await;
    assert_eq!(pay["errorCode"], 0, "{pay}");
    assert_eq!(pay["redirect"], format!("{RETURN_URL}?orderId={id}"));

    let s = gw.status(&id).await;
    assert_eq!(s["errorCode"], "0");
    assert_eq!(s["orderNumber"], "T-1001");
    assert_eq!(s["orderStatus"], 2);
    assert_eq!(s["actionCode"], 0);
    assert!(s["actionCodeDescription"].is_string());
    assert_eq!(s["amount"], 15_000);
    assert_eq!(s["currency"], "417");
    assert!(s["date"].as_u64().unwrap() > 1_600_000_000_000);
    let card = &s["cardAuthInfo"];
    assert_eq!(card["maskedPan"], "411111**1111");
    assert_eq!(card["expiration"], "209912");
    assert_eq!(card["cardholderName"], "AIBEK ASANOV");
    let approval = card["approvalCode"].as_str().unwrap();
    assert_eq!(approval.len(), 6);
    let rrn = s["authRefNum"].as_str().unwrap();
    assert_eq!(rrn.len(), 12);
    assert!(rrn.bytes().all(|b| b.is_ascii_digit()));
    let info = &s["paymentAmountInfo"];
    assert_eq!(info["paymentState"], "DEPOSITED");
    assert_eq!(info["approvedAmount"], 15_000);
    assert_eq!(info["depositedAmount"], 15_000);
    assert_eq!(info["refundedAmount"], 0);
    assert_eq!(s["payerData"]["email"], "payer@example.kg");

    let snap = gw.emu.order("T-1001").unwrap();
    assert_eq!(snap.status, OrderStatus::Authorized);
    assert_eq!(snap.approvals, 1);
    assert_eq!(snap.payment_attempts, 1);
    assert_eq!(snap.masked_pan.as_deref(), Some("411111**1111"));
    assert_eq!(snap.order_id.to_string(), id);
    gw.emu.shutdown().await;
}

#[tokio::test]
async fn all_approve_cards_are_approved_and_masked() {
    let gw = start().await;
    for (i, (pan, masked)) in [
        (cards::VISA_APPROVE, "411111**1111"),
        (cards::MASTERCARD_APPROVE, "555555**4444"),
        (cards::ELCART_APPROVE, "941700**0008"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = gw.register(&format!("A-{i}"), 100).await;
        let pay = gw.pay(&id, pan).await;
        assert_eq!(pay["errorCode"], 0);
        let s = gw.status(&id).await;
        assert_eq!(s["orderStatus"], 2, "{pan}");
        assert_eq!(s["cardAuthInfo"]["maskedPan"], masked);
    }
}

#[tokio::test]
async fn duplicate_order_number_is_error_1_and_creates_nothing() {
    let gw = start().await;
    gw.register("DUP-1", 500).await;
    let again = gw
        .call(
            "register.do",
            &[
                ("orderNumber", "DUP-1"),
                ("amount", "500"),
                ("returnUrl", RETURN_URL),
            ],
        )
        .await;
    assert_eq!(again["errorCode"], "1");
    assert_eq!(
        again["errorMessage"],
        "Order with this number was already processed"
    );
    // The same namespace for two-stage orders.
    let pre = gw
        .call(
            "registerPreAuth.do",
            &[
                ("orderNumber", "DUP-1"),
                ("amount", "500"),
                ("returnUrl", RETURN_URL),
            ],
        )
        .await;
    assert_eq!(pre["errorCode"], "1");
    assert_eq!(gw.emu.orders().len(), 1);
}

#[tokio::test]
async fn wrong_credentials_are_access_denied() {
    let gw = start_with(config().with_token("tok-42")).await;
    let base = [
        ("orderNumber", "C-1"),
        ("amount", "100"),
        ("returnUrl", RETURN_URL),
    ];
    for creds in [
        vec![("userName", USER), ("password", "wrong")],
        vec![("userName", "someone"), ("password", PASSWORD)],
        vec![("token", "tok-43")],
    ] {
        let mut params = creds.clone();
        params.extend_from_slice(&base);
        let v = gw.call_raw("register.do", &params).await;
        assert_eq!(v["errorCode"], "5", "{creds:?}");
        assert_eq!(v["errorMessage"], "Access denied");
    }
    let missing = gw.call_raw("register.do", &base).await;
    assert_eq!(missing["errorCode"], "4");
    assert!(gw.emu.orders().is_empty());

    let mut with_token = vec![("token", "tok-42")];
    with_token.extend_from_slice(&base);
    let ok = gw.call_raw("register.do", &with_token).await;
    assert!(ok["orderId"].is_string(), "{ok}");

    let id = ok["orderId"].as_str().unwrap();
    let mut pay = vec![("userName", USER), ("password", "nope")];
    pay.extend(Gw::card_params(id, cards::VISA_APPROVE));
    let denied = gw.call_raw("paymentorder.do", &pay).await;
    assert_eq!(denied["errorCode"], 5);
    let status = gw
        .call_raw(
            "getOrderStatusExtended.do",
            &[("userName", USER), ("password", "x"), ("orderId", id)],
        )
        .await;
    assert_eq!(status["errorCode"], "5");
    assert_eq!(gw.emu.order("C-1").unwrap().payment_attempts, 0);
}

#[tokio::test]
async fn unknown_currency_is_error_3() {
    let gw = start().await;
    for currency in ["840", "643", "KGS"] {
        let v = gw
            .call(
                "register.do",
                &[
                    ("orderNumber", "CUR-1"),
                    ("amount", "100"),
                    ("currency", currency),
                    ("returnUrl", RETURN_URL),
                ],
            )
            .await;
        assert_eq!(v["errorCode"], "3", "{currency}");
    }
    assert!(gw.emu.orders().is_empty());
}

#[tokio::test]
async fn missing_and_invalid_parameters() {
    let gw = start().await;
    let full = [
        ("orderNumber", "P-1"),
        ("amount", "100"),
        ("returnUrl", RETURN_URL),
    ];
    for missing in ["orderNumber", "amount", "returnUrl"] {
        let params: Vec<_> = full
            .iter()
            .copied()
            .filter(|(k, _)| *k != missing)
            .collect();
        let v = gw.call("register.do", &params).await;
        assert_eq!(v["errorCode"], "4", "without {missing}: {v}");
        assert!(v["errorMessage"].is_string());
    }
    let long = "X".repeat(33);
    for (k, bad) in [
        ("orderNumber", long.as_str()),
        ("amount", "0"),
        ("amount", "12.50"),
        ("amount", "-5"),
        ("returnUrl", "not a url"),
    ] {
        let params: Vec<_> = full
            .iter()
            .map(|(name, v)| {
                if *name == k {
                    (*name, bad)
                } else {
                    (*name, *v)
                }
            })
            .collect();
        let v = gw.call("register.do", &params).await;
        assert_eq!(v["errorCode"], "5", "{k}={bad}: {v}");
    }
    let mut bad_json = full.to_vec();
    bad_json.push(("jsonParams", "[1,2]"));
    assert_eq!(gw.call("register.do", &bad_json).await["errorCode"], "5");
    assert!(gw.emu.orders().is_empty());

    // 32 characters is still fine, and jsonParams come back.
    let ok_number = "N".repeat(32);
    let v = gw
        .call(
            "register.do",
            &[
                ("orderNumber", &ok_number),
                ("amount", "100"),
                ("returnUrl", RETURN_URL),
                ("jsonParams", r#"{"paymentCode":"PC-77","service":3}"#),
            ],
        )
        .await;
    let id = v["orderId"].as_str().unwrap();
    let s = gw.status(id).await;
    let params = s["merchantOrderParams"].as_array().unwrap();
    assert!(params.contains(&serde_json::json!({"name":"paymentCode","value":"PC-77"})));
    assert!(params.contains(&serde_json::json!({"name":"service","value":"3"})));

    // paymentorder.do validation.
    let mut p = Gw::card_params(id, "4111111111111112");
    let v = gw.call("paymentorder.do", &p).await;
    assert_eq!(v["errorCode"], 5, "Luhn-invalid PAN: {v}");
    p.retain(|(k, _)| *k != "$PAN");
    assert_eq!(gw.call("paymentorder.do", &p).await["errorCode"], 4);
    let mut p = Gw::card_params(id, cards::VISA_APPROVE);
    p.retain(|(k, _)| *k != "$CVC");
    assert_eq!(gw.call("paymentorder.do", &p).await["errorCode"], 4);
    let p: Vec<_> = Gw::card_params(id, cards::VISA_APPROVE)
        .into_iter()
        .map(|(k, v)| if k == "MM" { (k, "13") } else { (k, v) })
        .collect();
    assert_eq!(gw.call("paymentorder.do", &p).await["errorCode"], 5);
    // Nothing of that touched the order.
    assert_eq!(gw.emu.orders()[0].payment_attempts, 0);
    assert_eq!(gw.status(id).await["orderStatus"], 0);
}

#[tokio::test]
async fn get_query_parameters_are_accepted() {
    let gw = start().await;
    let url = format!(
        "{}?userName={USER}&password={PASSWORD}&orderNumber=Q-1&amount=700&returnUrl={RETURN_URL}",
        gw.url("register.do")
    );
    let v: Value = gw.http.get(url).send().await.unwrap().json().await.unwrap();
    let id = v["orderId"].as_str().unwrap().to_owned();
    let url = format!(
        "{}?userName={USER}&password={PASSWORD}&orderNumber=Q-1",
        gw.url("getOrderStatusExtended.do")
    );
    let s: Value = gw.http.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(s["errorCode"], "0");
    assert_eq!(s["amount"], 700);
    assert_eq!(s["attributes"][0]["value"], id);
}

#[tokio::test]
async fn unknown_orders_are_error_6() {
    let gw = start().await;
    let random = "0f4a2c1e-8b7d-4c5a-9e3f-2a1b0c9d8e7f";
    let s = gw
        .call("getOrderStatusExtended.do", &[("orderId", random)])
        .await;
    assert_eq!(s["errorCode"], "6");
    let s = gw
        .call("getOrderStatusExtended.do", &[("orderNumber", "never")])
        .await;
    assert_eq!(s["errorCode"], "6");
    let s = gw
        .call("getOrderStatusExtended.do", &[("orderId", "not-a-uuid")])
        .await;
    assert_eq!(s["errorCode"], "6");
    let p = gw.pay(random, cards::VISA_APPROVE).await;
    assert_eq!(p["errorCode"], 6);
    for op in ["deposit.do", "reverse.do", "refund.do"] {
        let v = gw.call(op, &[("orderId", random), ("amount", "1")]).await;
        assert_eq!(v["errorCode"], "6", "{op}");
    }
}

#[tokio::test]
async fn status_by_order_number_and_ids_are_deterministic_per_seed() {
    let a = start().await;
    let b = start().await;
    let id_a = a.register("S-1", 100).await;
    let id_b = b.register("S-1", 100).await;
    assert_eq!(id_a, id_b, "same seed, same call sequence, same ids");
    let s = a
        .call("getOrderStatusExtended.do", &[("orderNumber", "S-1")])
        .await;
    assert_eq!(s["attributes"][0]["value"], id_a);
    let c = start_with(EmulatorConfig {
        seed: 99,
        ..config()
    })
    .await;
    assert_ne!(c.register("S-1", 100).await, id_a);
}

// ---------------------------------------------------------------- declines

#[tokio::test]
async fn each_decline_card_ends_in_status_6_with_its_action_code() {
    let gw = start().await;
    let cases = [
        (cards::DECLINE_INSUFFICIENT_FUNDS, 116),
        (cards::DECLINE_EXPIRED_CARD, 101),
        (cards::DECLINE_DO_NOT_HONOUR, 100),
        (cards::DECLINE_INVALID_CVC, 129),
        (cards::DECLINE_LOST_CARD, 208),
        (cards::DECLINE_STOLEN_CARD, 209),
    ];
    for (i, (pan, action)) in cases.into_iter().enumerate() {
        let number = format!("D-{i}");
        let id = gw.register(&number, 2_500).await;
        let pay = gw.pay(&id, pan).await;
        assert_eq!(pay["errorCode"], 0, "{pan}: {pay}");
        assert_eq!(pay["redirect"], format!("{FAIL_URL}?orderId={id}"));
        let s = gw.status(&id).await;
        assert_eq!(s["orderStatus"], 6, "{pan}");
        assert_eq!(s["actionCode"], action, "{pan}");
        assert_eq!(
            s["actionCodeDescription"],
            cards::action_code_description(action)
        );
        assert_eq!(s["paymentAmountInfo"]["paymentState"], "DECLINED");
        assert_eq!(s["paymentAmountInfo"]["approvedAmount"], 0);
        assert!(s["cardAuthInfo"].get("approvalCode").is_none());
        let snap = gw.emu.order(&number).unwrap();
        assert_eq!(snap.approvals, 0);
        assert_eq!(snap.status, OrderStatus::Declined);
        // A declined order cannot be paid again.
        let again = gw.pay(&id, cards::VISA_APPROVE).await;
        assert_eq!(again["errorCode"], 7);
        assert_eq!(gw.emu.order(&number).unwrap().approvals, 0);
    }
}

#[tokio::test]
async fn past_expiry_declines_any_card_with_101() {
    let gw = start().await;
    let id = gw.register("E-1", 100).await;
    let p: Vec<_> = Gw::card_params(&id, cards::VISA_APPROVE)
        .into_iter()
        .map(|(k, v)| if k == "YYYY" { (k, "2020") } else { (k, v) })
        .collect();
    let pay = gw.call("paymentorder.do", &p).await;
    assert_eq!(pay["errorCode"], 0);
    let s = gw.status(&id).await;
    assert_eq!(s["orderStatus"], 6);
    assert_eq!(s["actionCode"], 101);
    assert_eq!(s["cardAuthInfo"]["expiration"], "202012");
}

#[tokio::test]
async fn decline_without_fail_url_goes_to_return_url() {
    let gw = start().await;
    let v = gw
        .call(
            "register.do",
            &[
                ("orderNumber", "F-1"),
                ("amount", "100"),
                ("returnUrl", "https://shop.example/back?x=1"),
            ],
        )
        .await;
    let id = v["orderId"].as_str().unwrap();
    let pay = gw.pay(id, cards::DECLINE_LOST_CARD).await;
    assert_eq!(
        pay["redirect"],
        format!("https://shop.example/back?x=1&orderId={id}")
    );
}

#[tokio::test]
async fn paying_a_paid_order_is_refused_and_charges_once() {
    let gw = start().await;
    let id = gw.register("PP-1", 100).await;
    assert_eq!(gw.pay(&id, cards::VISA_APPROVE).await["errorCode"], 0);
    let again = gw.pay(&id, cards::MASTERCARD_APPROVE).await;
    assert_eq!(again["errorCode"], 7);
    assert_eq!(again["errorMessage"], "Order is already paid");
    let snap = gw.emu.order("PP-1").unwrap();
    assert_eq!(snap.approvals, 1);
    assert_eq!(snap.masked_pan.as_deref(), Some("411111**1111"));
}

#[tokio::test]
async fn session_timeout_declines_an_unpaid_order() {
    let gw = start().await;
    let v = gw
        .call(
            "register.do",
            &[
                ("orderNumber", "TO-1"),
                ("amount", "100"),
                ("returnUrl", RETURN_URL),
                ("sessionTimeoutSecs", "1"),
            ],
        )
        .await;
    let id = v["orderId"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let s = gw.status(&id).await;
    assert_eq!(s["orderStatus"], 6);
    assert_eq!(s["actionCode"], action_codes::SESSION_TIMEOUT);
    assert_eq!(gw.pay(&id, cards::VISA_APPROVE).await["errorCode"], 7);
}

// ---------------------------------------------------------------- 3-D Secure

/// Walks paymentorder → ACS → finish3ds over plain HTTP; returns the final
/// redirect and the order id.
async fn three_ds_round_trip(gw: &Gw, number: &str, otp: &str) -> (String, String) {
    let id = gw.register(number, 9_900).await;
    let pay = gw.pay(&id, cards::VISA_3DS).await;
    assert_eq!(pay["errorCode"], 0, "{pay}");
    assert!(pay.get("redirect").is_none());
    let acs_url = pay["acsUrl"].as_str().unwrap();
    let pa_req = pay["paReq"].as_str().unwrap();
    let term_url = pay["termUrl"].as_str().unwrap();
    assert_eq!(acs_url, gw.emu.acs_url());
    assert_eq!(term_url, format!("{}finish3ds.do", gw.emu.base_url()));
    let s = gw.status(&id).await;
    assert_eq!(s["orderStatus"], 5);
    assert_eq!(s["paymentAmountInfo"]["paymentState"], "STARTED");

    // The payer's browser POSTs PaReq / MD / TermUrl to the ACS.
    let res = gw
        .http
        .post(acs_url)
        .form(&[
            ("PaReq", pa_req),
            ("MD", id.as_str()),
            ("TermUrl", term_url),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("<label for=\"otp\">"), "{page}");
    assert!(page.contains("400000**3063"));
    let mut form = parse_forms(&page)
        .into_iter()
        .find(|f| f.field("otp").is_some())
        .expect("an OTP form");
    form.set("otp", otp);

    // The OTP form answers an auto-submitting form towards TermUrl.
    let res = gw.post_form(&form).await;
    assert_eq!(res.status(), StatusCode::OK);
    let back = res.text().await.unwrap();
    assert!(back.contains("<noscript>"));
    let post_back = parse_forms(&back).remove(0);
    assert_eq!(post_back.action, term_url);
    assert_eq!(post_back.field("MD"), Some(id.as_str()));
    assert!(post_back.field("PaRes").is_some_and(|p| !p.is_empty()));
    assert_eq!(
        gw.status(&id).await["orderStatus"],
        5,
        "ACS alone does not finish"
    );

    // TermUrl (finish3ds.do) finalises and redirects.
    let fields = [
        ("PaRes", post_back.field("PaRes").unwrap()),
        ("MD", post_back.field("MD").unwrap()),
    ];
    let res = gw.http.post(term_url).form(&fields).send().await.unwrap();
    let first = location(&res);
    // Replaying the same PaRes only redirects again.
    let res = gw.http.post(term_url).form(&fields).send().await.unwrap();
    assert_eq!(location(&res), first);
    (first, id)
}

#[tokio::test]
async fn three_ds_with_the_right_otp_approves() {
    let gw = start().await;
    let (redirect, id) = three_ds_round_trip(&gw, "3DS-OK", "123456").await;
    assert_eq!(redirect, format!("{RETURN_URL}?orderId={id}"));
    let s = gw.status(&id).await;
    assert_eq!(s["orderStatus"], 2);
    assert_eq!(s["actionCode"], 0);
    assert_eq!(s["cardAuthInfo"]["approvalCode"].as_str().unwrap().len(), 6);
    assert_eq!(gw.emu.order("3DS-OK").unwrap().approvals, 1);
}

#[tokio::test]
async fn three_ds_with_a_wrong_otp_declines() {
    let gw = start().await;
    let (redirect, id) = three_ds_round_trip(&gw, "3DS-BAD", "000000").await;
    assert_eq!(redirect, format!("{FAIL_URL}?orderId={id}"));
    let s = gw.status(&id).await;
    assert_eq!(s["orderStatus"], 6);
    assert_eq!(s["actionCode"], action_codes::THREE_DS_FAILED);
    assert_eq!(gw.emu.order("3DS-BAD").unwrap().approvals, 0);
}

#[tokio::test]
async fn configured_otp_is_used() {
    let gw = start_with(config().with_otp("777777")).await;
    let (redirect, _) = three_ds_round_trip(&gw, "3DS-CFG", "123456").await;
    assert!(redirect.starts_with(FAIL_URL));
    let (redirect, _) = three_ds_round_trip(&gw, "3DS-CFG2", "777777").await;
    assert!(redirect.starts_with(RETURN_URL));
}

#[tokio::test]
async fn three_ds_rejects_unknown_tokens() {
    let gw = start().await;
    let id = gw.register("3DS-X", 100).await;
    let pay = gw.pay(&id, cards::ELCART_3DS).await;
    let pa_req = pay["paReq"].as_str().unwrap();
    let term = gw.emu.term_url();
    let res = gw
        .http
        .post(gw.emu.acs_url())
        .form(&[
            ("PaReq", "PAREQ-nope"),
            ("MD", id.as_str()),
            ("TermUrl", term.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let other = "0f4a2c1e-8b7d-4c5a-9e3f-2a1b0c9d8e7f";
    let res = gw
        .http
        .post(gw.emu.acs_url())
        .form(&[("PaReq", pa_req), ("MD", other), ("TermUrl", term.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "MD must match PaReq");
    let res = gw
        .http
        .post(&term)
        .form(&[("PaRes", "PARES-forged"), ("MD", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(gw.status(&id).await["orderStatus"], 5);
    // Paying again while 3-D Secure is in progress is refused.
    assert_eq!(gw.pay(&id, cards::VISA_APPROVE).await["errorCode"], 7);
}

// ---------------------------------------------------------------- hosted page

async fn hosted_card_form(gw: &Gw, form_url: &str) -> HtmlForm {
    let (status, page) = gw.get_html(form_url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<label for=\"pan\">"));
    let mut forms = parse_forms(&page);
    assert_eq!(forms.len(), 1);
    forms.remove(0)
}

#[tokio::test]
async fn hosted_page_approves_and_redirects_to_return_url() {
    let gw = start().await;
    let (id, form_url) = gw.register_with("register.do", "H-1", 12_345).await;
    let mut form = hosted_card_form(&gw, &form_url).await;
    assert_eq!(form.field("MDORDER"), Some(id.as_str()));
    form.set("$PAN", cards::MASTERCARD_APPROVE);
    form.set("$CVC", CVC);
    form.set("MM", "03");
    form.set("YYYY", "2031");
    form.set("TEXT", "BAKYT TOKTOGULOV");
    let res = gw.post_form(&form).await;
    assert_eq!(location(&res), format!("{RETURN_URL}?orderId={id}"));
    let s = gw.status(&id).await;
    assert_eq!(s["orderStatus"], 2);
    assert_eq!(s["cardAuthInfo"]["maskedPan"], "555555**4444");
    assert_eq!(s["cardAuthInfo"]["expiration"], "203103");
    // The page now says the order is finished instead of showing a form.
    let (_, page) = gw.get_html(&form_url).await;
    assert!(parse_forms(&page).is_empty());
    assert!(page.contains("orderStatus 2"));
}

#[tokio::test]
async fn hosted_page_decline_redirects_to_fail_url() {
    let gw = start().await;
    let (id, form_url) = gw.register_with("register.do", "H-2", 100).await;
    let mut form = hosted_card_form(&gw, &form_url).await;
    form.set("$PAN", cards::DECLINE_INSUFFICIENT_FUNDS);
    form.set("$CVC", CVC);
    form.set("MM", "12");
    form.set("YYYY", "2099");
    let res = gw.post_form(&form).await;
    assert_eq!(location(&res), format!("{FAIL_URL}?orderId={id}"));
    assert_eq!(gw.status(&id).await["actionCode"], 116);
}

#[tokio::test]
async fn hosted_page_bad_card_number_shows_an_error_and_keeps_the_order_payable() {
    let gw = start().await;
    let (id, form_url) = gw.register_with("register.do", "H-3", 100).await;
    let mut form = hosted_card_form(&gw, &form_url).await;
    form.set("$PAN", "1234");
    form.set("$CVC", CVC);
    form.set("MM", "12");
    form.set("YYYY", "2099");
    let res = gw.post_form(&form).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("Card number is invalid"));
    assert_eq!(gw.status(&id).await["orderStatus"], 0);
}

#[tokio::test]
async fn hosted_page_with_three_ds() {
    let gw = start().await;
    let (id, form_url) = gw.register_with("register.do", "H-4", 100).await;
    let mut form = hosted_card_form(&gw, &form_url).await;
    form.set("$PAN", cards::VISA_3DS);
    form.set("$CVC", CVC);
    form.set("MM", "12");
    form.set("YYYY", "2099");
    let res = gw.post_form(&form).await;
    let acs = location(&res);
    assert!(acs.starts_with(&format!("{}?", gw.emu.acs_url())), "{acs}");
    let (status, page) = gw.get_html(&acs).await;
    assert_eq!(status, StatusCode::OK);
    let mut otp_form = parse_forms(&page)
        .into_iter()
        .find(|f| f.field("otp").is_some())
        .unwrap();
    otp_form.set("otp", "123456");
    let back = gw.post_form(&otp_form).await.text().await.unwrap();
    let post_back = parse_forms(&back).remove(0);
    let res = gw.post_form(&post_back).await;
    assert_eq!(location(&res), format!("{RETURN_URL}?orderId={id}"));
    assert_eq!(gw.status(&id).await["orderStatus"], 2);
    assert_eq!(gw.emu.order("H-4").unwrap().approvals, 1);
}

#[tokio::test]
async fn hosted_page_unknown_order_is_404() {
    let gw = start().await;
    let (status, _) = gw
        .get_html("/payment/merchants/pay.html?mdOrder=0f4a2c1e-8b7d-4c5a-9e3f-2a1b0c9d8e7f")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- operations

#[tokio::test]
async fn refund_partial_then_full_and_over_refund_refused() {
    let gw = start().await;
    let id = gw.register("R-1", 10_000).await;
    // Nothing to refund before payment.
    let early = gw
        .call("refund.do", &[("orderId", &id), ("amount", "100")])
        .await;
    assert_eq!(early["errorCode"], "7");
    gw.pay(&id, cards::VISA_APPROVE).await;

    let r = gw
        .call("refund.do", &[("orderId", &id), ("amount", "3000")])
        .await;
    assert_eq!(r["errorCode"], "0", "{r}");
    let s = gw.status(&id).await;
    assert_eq!(s["orderStatus"], 4);
    assert_eq!(s["paymentAmountInfo"]["refundedAmount"], 3_000);
    assert_eq!(s["paymentAmountInfo"]["paymentState"], "REFUNDED");

    let over = gw
        .call("refund.do", &[("orderId", &id), ("amount", "7001")])
        .await;
    assert_eq!(over["errorCode"], "7");
    assert!(over["errorMessage"].as_str().unwrap().contains("7000"));
    assert_eq!(
        gw.status(&id).await["paymentAmountInfo"]["refundedAmount"],
        3_000
    );

    let zero = gw
        .call("refund.do", &[("orderId", &id), ("amount", "0")])
        .await;
    assert_eq!(zero["errorCode"], "5");
    let no_amount = gw.call("refund.do", &[("orderId", &id)]).await;
    assert_eq!(no_amount["errorCode"], "4");

    let rest = gw
        .call("refund.do", &[("orderId", &id), ("amount", "7000")])
        .await;
    assert_eq!(rest["errorCode"], "0");
    let s = gw.status(&id).await;
    assert_eq!(s["orderStatus"], 4);
    assert_eq!(s["paymentAmountInfo"]["refundedAmount"], 10_000);
    let more = gw
        .call("refund.do", &[("orderId", &id), ("amount", "1")])
        .await;
    assert_eq!(more["errorCode"], "7");
    let snap = gw.emu.order("R-1").unwrap();
    assert_eq!(snap.refunded_amount, 10_000);
    assert_eq!(snap.approvals, 1);
}

#[tokio::test]
async fn reverse_a_one_stage_payment() {
    let gw = start().await;
    let id = gw.register("V-1", 4_000).await;
    let early = gw.call("reverse.do", &[("orderId", &id)]).await;
    assert_eq!(early["errorCode"], "7", "nothing to reverse yet");
    gw.pay(&id, cards::VISA_APPROVE).await;
    let r = gw.call("reverse.do", &[("orderId", &id)]).await;
    assert_eq!(r["errorCode"], "0");
    let s = gw.status(&id).await;
    assert_eq!(s["orderStatus"], 3);
    assert_eq!(s["paymentAmountInfo"]["paymentState"], "REVERSED");
    assert_eq!(s["paymentAmountInfo"]["depositedAmount"], 0);
    assert_eq!(
        gw.call("reverse.do", &[("orderId", &id)]).await["errorCode"],
        "7"
    );
    assert_eq!(
        gw.call("refund.do", &[("orderId", &id), ("amount", "1")])
            .await["errorCode"],
        "7"
    );
    // A refunded order cannot be reversed either.
    let id2 = gw.register("V-2", 4_000).await;
    gw.pay(&id2, cards::VISA_APPROVE).await;
    gw.call("refund.do", &[("orderId", &id2), ("amount", "1")])
        .await;
    assert_eq!(
        gw.call("reverse.do", &[("orderId", &id2)]).await["errorCode"],
        "7"
    );
}

#[tokio::test]
async fn two_stage_preauth_deposit_and_reverse() {
    let gw = start().await;
    let (id, _) = gw.register_with("registerPreAuth.do", "PA-1", 20_000).await;
    gw.pay(&id, cards::ELCART_APPROVE).await;
    let s = gw.status(&id).await;
    assert_eq!(s["orderStatus"], 1);
    assert_eq!(s["paymentAmountInfo"]["paymentState"], "APPROVED");
    assert_eq!(s["paymentAmountInfo"]["approvedAmount"], 20_000);
    assert_eq!(s["paymentAmountInfo"]["depositedAmount"], 0);
    // Refund before capture is refused.
    assert_eq!(
        gw.call("refund.do", &[("orderId", &id), ("amount", "1")])
            .await["errorCode"],
        "7"
    );
    let over = gw
        .call("deposit.do", &[("orderId", &id), ("amount", "20001")])
        .await;
    assert_eq!(over["errorCode"], "7");
    let dep = gw
        .call("deposit.do", &[("orderId", &id), ("amount", "0")])
        .await;
    assert_eq!(dep["errorCode"], "0");
    let s = gw.status(&id).await;
    assert_eq!(s["orderStatus"], 2);
    assert_eq!(s["paymentAmountInfo"]["depositedAmount"], 20_000);
    assert_eq!(
        gw.call("deposit.do", &[("orderId", &id), ("amount", "0")])
            .await["errorCode"],
        "7",
        "already deposited"
    );

    let (id2, _) = gw.register_with("registerPreAuth.do", "PA-2", 5_000).await;
    gw.pay(&id2, cards::VISA_APPROVE).await;
    let part = gw
        .call("deposit.do", &[("orderId", &id2), ("amount", "3000")])
        .await;
    assert_eq!(part["errorCode"], "0");
    assert_eq!(
        gw.status(&id2).await["paymentAmountInfo"]["depositedAmount"],
        3_000
    );

    let (id3, _) = gw.register_with("registerPreAuth.do", "PA-3", 5_000).await;
    gw.pay(&id3, cards::VISA_APPROVE).await;
    assert_eq!(
        gw.call("reverse.do", &[("orderId", &id3)]).await["errorCode"],
        "0"
    );
    assert_eq!(gw.status(&id3).await["orderStatus"], 3);
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn drop_after_processing_fault_hides_the_answer_but_charges_once() {
    let gw = start().await;
    let id = gw.register("DROP-1", 3_000).await;
    gw.emu
        .inject(Fault::drop_after_processing(Endpoint::PaymentOrder).times(1));
    let mut params = vec![("userName", USER), ("password", PASSWORD)];
    params.extend(Gw::card_params(&id, cards::VISA_APPROVE));
    let res = gw
        .http
        .post(gw.url("paymentorder.do"))
        .form(&params)
        .send()
        .await;
    let e = res.expect_err("the connection must be dropped without an answer");
    assert!(!e.is_timeout(), "dropped, not timed out: {e}");
    assert!(gw.emu.faults().is_empty(), "a next-1 fault is used up");

    let s = gw.status(&id).await;
    assert_eq!(s["orderStatus"], 2);
    let snap = gw.emu.order("DROP-1").unwrap();
    assert_eq!(snap.approvals, 1);

    // The client retries the same order: refused, still one charge.
    let retry = gw.pay(&id, cards::VISA_APPROVE).await;
    assert_eq!(retry["errorCode"], 7);
    assert_eq!(gw.emu.order("DROP-1").unwrap().approvals, 1);
}

#[tokio::test]
async fn drop_card_approves_then_drops_the_connection() {
    let gw = start().await;
    let id = gw.register("DROP-2", 3_000).await;
    let mut params = vec![("userName", USER), ("password", PASSWORD)];
    params.extend(Gw::card_params(&id, cards::APPROVE_THEN_DROP));
    let res = gw
        .http
        .post(gw.url("paymentorder.do"))
        .form(&params)
        .send()
        .await;
    assert!(res.is_err());
    let s = gw.status(&id).await;
    assert_eq!(s["orderStatus"], 2);
    assert_eq!(s["cardAuthInfo"]["maskedPan"], "400000**9995");
    assert_eq!(gw.emu.order("DROP-2").unwrap().approvals, 1);
}

/// Sends one raw HTTP/1.1 request and reads until the server closes.
async fn raw_exchange(
    addr: std::net::SocketAddr,
    path: &str,
    body: &str,
) -> std::io::Result<Vec<u8>> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf))
        .await
        .expect("the server must close the connection")?;
    Ok(buf)
}

#[tokio::test]
async fn drop_fault_seen_by_a_raw_tcp_client() {
    let gw = start().await;
    let path = "/payment/rest/getOrderStatusExtended.do";
    let a = gw.register("RAW-1", 100).await;
    let body = format!("userName={USER}&password={PASSWORD}&orderId={a}");

    // Control: without the fault the same bytes get an HTTP answer.
    let answer = raw_exchange(gw.emu.local_addr(), path, &body)
        .await
        .unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    gw.emu.inject(Fault::drop_after_processing(
        Endpoint::GetOrderStatusExtended,
    ));
    for _ in 0..2 {
        match raw_exchange(gw.emu.local_addr(), path, &body).await {
            Ok(bytes) => assert!(
                bytes.is_empty(),
                "no answer expected, got {}",
                String::from_utf8_lossy(&bytes)
            ),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }
    // "always" scope: still there; and it was processed (logged) each time.
    assert_eq!(gw.emu.faults().len(), 1);
    let logged = gw
        .emu
        .request_log()
        .iter()
        .filter(|e| e.endpoint == Endpoint::GetOrderStatusExtended)
        .count();
    assert_eq!(logged, 3);
    gw.emu.clear_faults();
    let answer = raw_exchange(gw.emu.local_addr(), path, &body)
        .await
        .unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"));
}

#[tokio::test]
async fn http_5xx_fault_answers_before_processing() {
    let gw = start().await;
    gw.emu
        .inject(Fault::http_status(Endpoint::Register, 503).times(1));
    let res = gw
        .http
        .post(gw.url("register.do"))
        .form(&[
            ("userName", USER),
            ("password", PASSWORD),
            ("orderNumber", "5XX-1"),
            ("amount", "100"),
            ("returnUrl", RETURN_URL),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(gw.emu.orders().is_empty(), "not processed");
    // Next call goes through, and the number is still free.
    gw.register("5XX-1", 100).await;
    assert_eq!(gw.emu.orders().len(), 1);
}

#[tokio::test]
async fn malformed_json_fault_processes_but_garbles_the_answer() {
    let gw = start().await;
    gw.emu
        .inject(Fault::malformed_json(Endpoint::Register).times(1));
    let res = gw
        .http
        .post(gw.url("register.do"))
        .form(&[
            ("userName", USER),
            ("password", PASSWORD),
            ("orderNumber", "MJ-1"),
            ("amount", "100"),
            ("returnUrl", RETURN_URL),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body = res.text().await.unwrap();
    assert!(!body.is_empty());
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
    assert_eq!(gw.emu.orders().len(), 1, "the order was registered");
    let dup = gw
        .call(
            "register.do",
            &[
                ("orderNumber", "MJ-1"),
                ("amount", "100"),
                ("returnUrl", RETURN_URL),
            ],
        )
        .await;
    assert_eq!(dup["errorCode"], "1");
}

#[tokio::test]
async fn delay_fault_slows_the_answer() {
    let gw = start().await;
    let id = gw.register("SL-1", 100).await;
    gw.emu.inject(
        Fault::delay(Endpoint::GetOrderStatusExtended, Duration::from_millis(700)).times(1),
    );
    let t = Instant::now();
    gw.status(&id).await;
    assert!(
        t.elapsed() >= Duration::from_millis(700),
        "{:?}",
        t.elapsed()
    );
    assert!(gw.emu.faults().is_empty());
}

#[tokio::test]
async fn delayed_payment_is_processed_even_when_the_client_gives_up() {
    let gw = start().await;
    let id = gw.register("SL-2", 100).await;
    gw.emu
        .inject(Fault::delay(Endpoint::PaymentOrder, Duration::from_millis(800)).times(1));
    let impatient = client(Duration::from_millis(200));
    let mut params = vec![("userName", USER), ("password", PASSWORD)];
    params.extend(Gw::card_params(&id, cards::VISA_APPROVE));
    let e = impatient
        .post(gw.url("paymentorder.do"))
        .form(&params)
        .send()
        .await
        .expect_err("client times out");
    assert!(e.is_timeout());
    assert_eq!(gw.status(&id).await["orderStatus"], 0, "not yet");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if gw.status(&id).await["orderStatus"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "payment never completed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gw.emu.order("SL-2").unwrap().approvals, 1);
}

#[tokio::test]
async fn slow_card_answers_after_the_configured_delay() {
    let gw = start().await;
    let id = gw.register("SL-3", 100).await;
    let t = Instant::now();
    let pay = gw.pay(&id, cards::SLOW_APPROVE).await;
    assert!(t.elapsed() >= SLOW_CARD_DELAY, "{:?}", t.elapsed());
    assert_eq!(pay["errorCode"], 0);
    assert_eq!(gw.status(&id).await["orderStatus"], 2);
}

#[tokio::test]
async fn next_n_and_always_scopes_and_clearing() {
    let gw = start().await;
    gw.emu
        .inject(Fault::http_status(Endpoint::All, 500).times(2));
    let url = gw.url("getOrderStatusExtended.do");
    let form = [
        ("userName", USER),
        ("password", PASSWORD),
        ("orderNumber", "x"),
    ];
    for _ in 0..2 {
        let r = gw.http.post(&url).form(&form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
    let r = gw.http.post(&url).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    gw.emu
        .inject(Fault::http_status(Endpoint::GetOrderStatusExtended, 502));
    assert_eq!(gw.emu.faults()[0].scope, FaultScope::Always);
    for _ in 0..3 {
        let r = gw.http.post(&url).form(&form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    }
    // Other endpoints are unaffected.
    gw.register("SC-1", 100).await;
    gw.emu.clear_faults();
    let r = gw.http.post(&url).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn admin_endpoint_manages_faults() {
    let gw = start().await;
    let admin = format!("{}/emulator/faults", gw.emu.root_url());
    let res = gw
        .http
        .post(&admin)
        .header("content-type", "application/json")
        .body(r#"{"endpoint":"getOrderStatusExtended.do","fault":"http_status","status":502,"scope":{"next":1}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let listed: Value = gw
        .http
        .get(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["faults"].as_array().unwrap().len(), 1);
    assert_eq!(
        gw.emu.faults(),
        vec![Fault::http_status(Endpoint::GetOrderStatusExtended, 502).times(1)]
    );
    let form = [
        ("userName", USER),
        ("password", PASSWORD),
        ("orderNumber", "x"),
    ];
    let r = gw
        .http
        .post(gw.url("getOrderStatusExtended.do"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);

    // An array, then DELETE clears.
    let res = gw
        .http
        .post(&admin)
        .body(r#"[{"endpoint":"*","fault":"delay","ms":10},{"endpoint":"refund.do","fault":"malformed_json"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(gw.emu.faults().len(), 2);
    let res = gw.http.delete(&admin).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(gw.emu.faults().is_empty());

    for bad in [
        r#"{"endpoint":"nope.do","fault":"delay","ms":1}"#,
        r#"{"endpoint":"refund.do","fault":"http_status","status":200}"#,
        "not json",
    ] {
        let res = gw.http.post(&admin).body(bad).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    assert!(gw.emu.faults().is_empty());

    let orders: Value = gw
        .http
        .get(format!("{}/emulator/orders", gw.emu.root_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(orders.as_array().unwrap().is_empty());
    let cards_json: Value = gw
        .http
        .get(format!("{}/emulator/cards", gw.emu.root_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        cards_json.as_array().unwrap().len(),
        cards::TEST_CARDS.len()
    );
}

// ---------------------------------------------------------------- secrecy

#[tokio::test]
async fn request_log_never_holds_pan_cvc_password_or_otp() {
    let gw = start_with(config().with_token("tok-SECRET-99")).await;
    let id = gw.register("LOG-1", 100).await;
    gw.pay(&id, cards::VISA_APPROVE).await;
    three_ds_round_trip(&gw, "LOG-2", "123456").await;
    let (_, form_url) = gw.register_with("register.do", "LOG-3", 100).await;
    let mut form = hosted_card_form(&gw, &form_url).await;
    form.set("$PAN", cards::MASTERCARD_APPROVE);
    form.set("$CVC", CVC);
    form.set("MM", "12");
    form.set("YYYY", "2099");
    gw.post_form(&form).await;
    gw.call_raw(
        "getOrderStatusExtended.do",
        &[("token", "tok-SECRET-99"), ("orderId", &id)],
    )
    .await;

    let log = gw.emu.request_log();
    assert!(log.len() >= 10, "{}", log.len());
    let endpoints: Vec<_> = log.iter().map(|e| e.endpoint).collect();
    for e in [
        Endpoint::Register,
        Endpoint::PaymentOrder,
        Endpoint::Acs,
        Endpoint::AcsSubmit,
        Endpoint::Finish3ds,
        Endpoint::PayPage,
        Endpoint::GetOrderStatusExtended,
    ] {
        assert!(endpoints.contains(&e), "{e} missing from the log");
    }
    let secrets = [
        cards::VISA_APPROVE,
        cards::VISA_3DS,
        cards::MASTERCARD_APPROVE,
        PASSWORD,
        "tok-SECRET-99",
    ];
    let admin_json = gw
        .http
        .get(format!("{}/emulator/requests", gw.emu.root_url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let debug = format!("{log:?}");
    for dump in [&debug, &admin_json] {
        for s in secrets {
            assert!(!dump.contains(s), "{s} leaked into the request log");
        }
    }
    let mut pan_entries = 0;
    for entry in &log {
        for (k, v) in &entry.params {
            if ["$PAN", "$CVC", "password", "token", "otp"].contains(&k.as_str()) {
                assert_eq!(v, tolom_bpc_emulator::REDACTED, "{k}");
            }
            assert_ne!(v, CVC, "CVC value under {k}");
            assert_ne!(v, "123456", "OTP value under {k}");
        }
        if entry.param("$PAN").is_some() {
            pan_entries += 1;
        }
    }
    assert_eq!(pan_entries, 3, "three card submissions, all redacted");
    for o in gw.emu.orders() {
        if let Some(m) = &o.masked_pan {
            assert!(m.contains("**"), "{m}");
        }
    }
}
