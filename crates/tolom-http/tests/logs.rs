//! Card data never reaches the logs (its own test binary, so that no other
//! test races the log capture).

mod common;

use common::{json, portal, test_config, Client};
use tolom_acquirer_sandbox::{DECLINE_INSUFFICIENT_FUNDS, VISA_APPROVE};

fn card<'a>(csrf: &'a str, key: &'a str, pan: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("key", key),
        ("holder", "AIBEK ASANOV"),
        ("pan", pan),
        ("expiry", "12/30"),
        ("cvv", "123"),
        ("phone", "+996 555 123 456"),
        ("email", "aibek@example.kg"),
    ]
}

async fn to_card_page(c: &mut Client, code: &str) -> String {
    let terms = c.get(&format!("/pay/{code}/terms")).await;
    let r = c
        .post_form(
            &format!("/pay/{code}/start"),
            &[
                ("csrf", &terms.hidden("csrf")),
                ("key", &terms.hidden("key")),
                ("terms", &terms.hidden("terms")),
                ("accept", "1"),
            ],
        )
        .await;
    assert!(r.location().ends_with("/card"), "{}", r.body);
    r.location()
}

async fn pay_via_api(c: &mut Client, h: &tolom_testkit::fixtures::Harness, code: &str) {
    let terms = h.terms_id().await;
    let p = c
        .post_json(
            "/api/v1/payments",
            None,
            &format!(r#"{{"code":"{code}","accepted_terms":"{terms}"}}"#),
        )
        .await;
    let id = json(&p)["id"].as_str().unwrap_or("").to_string();
    let card = format!(
        r#"{{"holder":"AIBEK ASANOV","pan":"{VISA_APPROVE}","expiry":"12/30","cvv":"123","phone":"+996555123456","email":"a@example.kg"}}"#
    );
    let r = c
        .post_json(&format!("/api/v1/payments/{id}/card"), None, &card)
        .await;
    assert_eq!(json(&r)["state"], "succeeded", "{}", r.body);
}

async fn setup() -> (Client, tolom_testkit::fixtures::Harness, String) {
    let (app, h) = portal(test_config());
    let charge = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    (Client::new(app), h, charge.code.as_str().to_string())
}

/// Collects everything written through `tracing` in this test.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn card_data_never_reaches_the_logs() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (mut c, h, code) = setup().await;
    // Pages: invalid form, then a decline.
    let card_path = to_card_page(&mut c, &code).await;
    let page = c.get(&card_path).await;
    let (csrf, key) = (page.hidden("csrf"), page.hidden("key"));
    let mut bad = card(&csrf, &key, "4111111111111112");
    bad[5] = ("cvv", "9876");
    let _ = c.post_form(&card_path, &bad).await;
    let page = c.get(&card_path).await;
    let _ = c
        .post_form(
            &card_path,
            &card(
                &page.hidden("csrf"),
                &page.hidden("key"),
                DECLINE_INSUFFICIENT_FUNDS,
            ),
        )
        .await;
    // API: a successful payment of another code.
    let other = h.charge("id-card-2017", "Асанов Айбек").await;
    pay_via_api(&mut c, &h, other.code.as_str()).await;
    let logs = String::from_utf8_lossy(&captured.0.lock().map(|v| v.clone()).unwrap_or_default())
        .into_owned();
    assert!(
        logs.contains("tolom_http::access"),
        "the access log was captured: {logs}"
    );
    for secret in [
        "4111111111111112",
        DECLINE_INSUFFICIENT_FUNDS,
        VISA_APPROVE,
        "9876",
    ] {
        assert!(!logs.contains(secret), "{secret} in logs");
    }
}
