//! Shared by the integration tests: an emulator, a client against it, and a
//! "browser" that walks the emulator's 3-D Secure and hosted pages.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;
use tolom_acquirer_bpc::{BpcAcquirer, BpcConfig};
use tolom_bpc_emulator::html::{parse_forms, HtmlForm};
use tolom_bpc_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use tolom_core::payment::{Challenge, ChallengeResponse};
use url::Url;

/// The merchant login the tests use.
pub const USER: &str = "tolom-merchant";
/// A password distinctive enough to be searched for in logs.
pub const PASSWORD: &str = "Pw-9zQx-secret-Kv7";
/// Where the payer's browser returns (never followed by the tests).
pub const RETURN_URL: &str = "http://127.0.0.1:9/return";
/// The emulator's one-time code.
pub const OTP: &str = "123456";

/// An emulator on 127.0.0.1 with the test credentials; the slow card takes
/// `slow`.
pub async fn emulator_with(slow: Duration) -> RunningEmulator {
    Emulator::start(
        EmulatorConfig::default()
            .with_credentials(USER, PASSWORD)
            .with_slow_card_delay(slow),
    )
    .await
    .unwrap_or_else(|e| panic!("emulator did not start: {e}"))
}

/// An emulator that never times its orders out (unpaid orders stay payable
/// until someone declines them).
pub async fn emulator_never_expiring() -> RunningEmulator {
    let mut config = EmulatorConfig::default()
        .with_credentials(USER, PASSWORD)
        .with_slow_card_delay(Duration::from_millis(1_500));
    config.expire_orders = false;
    Emulator::start(config)
        .await
        .unwrap_or_else(|e| panic!("emulator did not start: {e}"))
}

/// An emulator with a 1.5 s slow card.
pub async fn emulator() -> RunningEmulator {
    emulator_with(Duration::from_millis(1_500)).await
}

/// The client's configuration for this emulator (1 s request timeout).
pub fn config(emu: &RunningEmulator) -> BpcConfig {
    BpcConfig::new(
        &emu.base_url(),
        USER,
        SecretString::from(PASSWORD.to_string()),
    )
    .with_return_url(RETURN_URL)
    .with_request_timeout(Duration::from_millis(1_000))
    .with_connect_timeout(Duration::from_millis(500))
}

/// A client for this emulator.
pub fn client(emu: &RunningEmulator) -> BpcAcquirer {
    BpcAcquirer::new(config(emu)).unwrap_or_else(|e| panic!("client: {e}"))
}

/// A browser: no redirects followed (the return URL leads nowhere).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("browser: {e}"))
}

async fn submit_form(browser: &reqwest::Client, base: &Url, form: &HtmlForm) -> reqwest::Response {
    let url = base
        .join(&form.action)
        .unwrap_or_else(|e| panic!("form action {:?}: {e}", form.action));
    let request = if form.method == "GET" {
        browser.get(url).query(&form.fields)
    } else {
        browser.post(url).form(&form.fields)
    };
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("submitting a form: {e}"))
}

fn redirect_parts(challenge: &Challenge) -> (String, String, BTreeMap<String, String>) {
    match challenge {
        Challenge::Redirect {
            url,
            method,
            fields,
        } => (url.clone(), method.clone(), fields.clone()),
        other => panic!("expected a redirect challenge, got {other:?}"),
    }
}

/// What the ACS posted back to the TermUrl.
#[derive(Debug, Clone)]
pub struct AcsResult {
    /// The TermUrl the result went to.
    pub term_url: String,
    /// The posted fields (`PaRes`, `MD`).
    pub fields: Vec<(String, String)>,
}

/// Walks the ACS like a browser up to (not including) the post to the
/// TermUrl: posts the challenge's fields to the ACS, types `otp`, and
/// returns the auto-post form's target and fields.
pub async fn walk_acs(challenge: &Challenge, otp: &str) -> AcsResult {
    let browser = browser();
    let (url, method, fields) = redirect_parts(challenge);
    assert_eq!(method, "POST", "the ACS is reached with a POST");
    for name in ["PaReq", "MD", "TermUrl"] {
        assert!(fields.contains_key(name), "the challenge carries {name}");
    }
    let acs = Url::parse(&url).unwrap_or_else(|e| panic!("acsUrl {url}: {e}"));
    let page = browser
        .post(acs.clone())
        .form(&fields)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ACS: {e}"));
    assert!(page.status().is_success(), "ACS page: {}", page.status());
    let html = page.text().await.unwrap_or_default();
    let mut otp_form = parse_forms(&html)
        .into_iter()
        .find(|f| f.field("otp").is_some())
        .unwrap_or_else(|| panic!("the ACS page has a one-time-code form"));
    otp_form.set("otp", otp);
    let answer = submit_form(&browser, &acs, &otp_form).await;
    assert!(
        answer.status().is_success(),
        "ACS submit: {}",
        answer.status()
    );
    let html = answer.text().await.unwrap_or_default();
    let post_back = parse_forms(&html)
        .into_iter()
        .find(|f| f.field("PaRes").is_some())
        .unwrap_or_else(|| panic!("the ACS answers with a PaRes form"));
    AcsResult {
        term_url: acs
            .join(&post_back.action)
            .map(|u| u.to_string())
            .unwrap_or(post_back.action.clone()),
        fields: post_back.fields,
    }
}

/// Posts the ACS result to its TermUrl as the browser's auto-submit would.
/// Returns the HTTP status.
pub async fn post_to_term_url(result: &AcsResult) -> u16 {
    browser()
        .post(&result.term_url)
        .form(&result.fields)
        .send()
        .await
        .unwrap_or_else(|e| panic!("TermUrl: {e}"))
        .status()
        .as_u16()
}

/// The whole browser side of 3-D Secure with the gateway's TermUrl: ACS,
/// one-time code, post back to `finish3ds.do` (which redirects to the
/// return URL). What the portal then passes to `complete_challenge` is
/// nothing in particular: the status decides.
pub async fn solve_3ds(challenge: Challenge, otp: &str) -> ChallengeResponse {
    let result = walk_acs(&challenge, otp).await;
    let status = post_to_term_url(&result).await;
    assert_eq!(status, 303, "finish3ds.do redirects the browser back");
    ChallengeResponse::default()
}

/// Pays on the emulator's hosted page like a browser: GET `formUrl`, fill
/// the card form, POST it. Returns the HTTP status of the POST.
pub async fn pay_on_hosted_page(challenge: &Challenge, pan: &str) -> u16 {
    let browser = browser();
    let (url, method, _) = redirect_parts(challenge);
    assert_eq!(method, "GET", "the hosted page is reached with a GET");
    let page_url = Url::parse(&url).unwrap_or_else(|e| panic!("formUrl {url}: {e}"));
    let html = browser
        .get(page_url.clone())
        .send()
        .await
        .unwrap_or_else(|e| panic!("hosted page: {e}"))
        .text()
        .await
        .unwrap_or_default();
    let mut form = parse_forms(&html)
        .into_iter()
        .find(|f| f.field("$PAN").is_some())
        .unwrap_or_else(|| panic!("the hosted page has a card form"));
    form.set("$PAN", pan);
    form.set("$CVC", "123");
    form.set("MM", "12");
    form.set("YYYY", "2030");
    form.set("TEXT", "AIBEK ASANOV");
    form.set("email", "aibek@example.kg");
    submit_form(&browser, &page_url, &form)
        .await
        .status()
        .as_u16()
}

/// A [`tolom_testkit::fixtures::Harness`] (in-memory store, manual clock)
/// with this acquirer and the test return URL.
pub fn harness(
    acquirer: std::sync::Arc<dyn tolom_core::ports::Acquirer>,
) -> tolom_testkit::fixtures::Harness {
    tolom_testkit::fixtures::Harness::with_acquirer(
        acquirer,
        tolom_core::usecases::Config {
            return_url: Some(RETURN_URL.to_string()),
            ..tolom_core::usecases::Config::default()
        },
    )
}

/// Issues a passport charge to `payer` and starts paying it.
pub async fn started(
    h: &tolom_testkit::fixtures::Harness,
    payer: &str,
) -> (tolom_core::charge::Charge, tolom_core::payment::Payment) {
    let charge = h.charge("passport-2020", payer).await;
    let terms = h.terms_id().await;
    let key = format!("start-{}", charge.id.simple());
    let payment = h
        .tolom
        .start_payment(tolom_core::usecases::StartPayment {
            code: charge.code.as_str(),
            accepted_terms: Some(&terms),
            idempotency_key: &key,
            language: tolom_core::i18n::Language::Ru,
        })
        .await
        .unwrap_or_else(|e| panic!("start_payment: {e:?}"));
    (charge, payment)
}

/// Submits a card (test form with this PAN) to a started payment.
pub async fn submit(
    h: &tolom_testkit::fixtures::Harness,
    payment: &tolom_core::payment::Payment,
    pan: &str,
) -> tolom_core::payment::Payment {
    h.tolom
        .submit_card(
            payment.id(),
            &tolom_testkit::fixtures::card_form(pan),
            &format!("card-{}", payment.id().simple()),
        )
        .await
        .unwrap_or_else(|e| panic!("submit_card: {e:?}"))
}

/// Approvals (charges) at the emulator for a payment's order.
pub fn approvals(emu: &RunningEmulator, payment: &tolom_core::payment::Payment) -> u32 {
    emu.order(&payment.order_number())
        .map(|o| o.approvals)
        .unwrap_or(0)
}
