//! Card data never reaches the logs (its own test binary, so that no other
//! test races the log capture), in the text format and in JSON, where
//! every line of a request carries its request id.

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

/// A JSON line's request span (the outermost span named `request`).
fn request_id_of(line: &serde_json::Value) -> Option<String> {
    line["spans"].as_array().and_then(|spans| {
        spans
            .iter()
            .find(|s| s["name"] == "request")
            .and_then(|s| s["request_id"].as_str().map(String::from))
    })
}

#[tokio::test(flavor = "current_thread")]
async fn json_lines_carry_the_request_id_and_never_card_data() {
    use axum::body::Body;
    use axum::http::{header, Request};
    let captured = Captured::default();
    let sink = captured.clone();
    // What `tolom serve --log-format json` writes.
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (mut c, h, code) = setup().await;
    let terms = h.terms_id().await;
    let post = |path: String, id: &str, body: String| {
        Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-request-id", id)
            .body(Body::from(body))
            .expect("request")
    };
    let started = c
        .send(post(
            "/api/v1/payments".into(),
            "req-start-1",
            format!(r#"{{"code":"{code}","accepted_terms":"{terms}"}}"#),
        ))
        .await;
    assert_eq!(started.header("x-request-id"), "req-start-1");
    let id = json(&started)["id"].as_str().unwrap_or("").to_string();
    let paid = c
        .send(post(
            format!("/api/v1/payments/{id}/card"),
            "req-card-1",
            format!(
                r#"{{"holder":"AIBEK ASANOV","pan":"{VISA_APPROVE}","expiry":"12/30","cvv":"987","phone":"+996555123456","email":"a@example.kg"}}"#
            ),
        ))
        .await;
    assert_eq!(json(&paid)["state"], "succeeded", "{}", paid.body);
    assert_eq!(paid.header("x-request-id"), "req-card-1");
    // A request without an id gets one, in the answer and in its lines.
    let page = c.get("/").await;
    let made = page.header("x-request-id");
    assert_eq!(made.len(), 32);
    let text = String::from_utf8_lossy(&captured.0.lock().map(|v| v.clone()).unwrap_or_default())
        .into_owned();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let mut access = Vec::new();
    for line in &lines {
        let Some(rid) = request_id_of(line) else {
            continue;
        };
        assert!(
            ["req-start-1", "req-card-1", made.as_str()].contains(&rid.as_str()),
            "a line of another request: {line}"
        );
        if line["target"] == "tolom_http::access" {
            access.push((
                rid,
                line["fields"]["route"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    assert_eq!(
        access,
        [
            ("req-start-1".to_string(), "/api/v1/payments".to_string()),
            (
                "req-card-1".to_string(),
                "/api/v1/payments/{id}/card".to_string()
            ),
            (made.clone(), "/".to_string()),
        ],
        "one access line per request, inside its span:\n{text}"
    );
    // The card number anywhere; the CVV as a string value (bare digits
    // also occur in timestamps and durations).
    for secret in [VISA_APPROVE, "\"987\""] {
        assert!(!text.contains(secret), "{secret} in the logs");
    }
}
