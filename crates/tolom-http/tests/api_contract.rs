//! The JSON API keeps to its OpenAPI document: `lang` is an enum the
//! server enforces, what clients send is held to the documented patterns
//! and lengths (`api::formats`), and every status answered is one the
//! document lists for the operation. The property-based run of the same
//! document is `crates/tolom-cli/tests/openapi_schemathesis.rs`.

mod common;

use common::{json, portal, test_config, Client};
use tolom_acquirer_sandbox::VISA_APPROVE;
use tolom_core::i18n::{text, Language, Text};

async fn setup() -> (Client, tolom_testkit::fixtures::Harness, String) {
    let (app, h) = portal(test_config());
    let charge = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    (Client::new(app), h, charge.code.as_str().to_string())
}

/// Whether the document lists `status` for the operation at `path` and
/// `method`, with `code` among its examples.
fn documented(doc: &serde_json::Value, path: &str, method: &str, status: u16, code: &str) -> bool {
    doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]
        ["examples"][code]
        .is_object()
}

#[tokio::test]
async fn an_unknown_lang_is_refused_on_every_route_in_the_callers_language() {
    let (mut c, _h, code) = setup().await;
    let doc = json(&c.get("/api/v1/openapi.json").await);
    let id = uuid::Uuid::new_v4();
    for (method, path, concrete) in [
        ("get", "/charges/{code}", format!("/charges/{code}")),
        ("get", "/payments/{id}", format!("/payments/{id}")),
        (
            "get",
            "/payments/{id}/receipt",
            format!("/payments/{id}/receipt"),
        ),
        ("get", "/services", "/services".to_string()),
        ("get", "/terms", "/terms".to_string()),
        ("get", "/receipts/keys", "/receipts/keys".to_string()),
        ("get", "/openapi.json", "/openapi.json".to_string()),
    ] {
        for lang in ["xx", "", "KY", "kg", "ky%20", "en-GB"] {
            let r = c.get(&format!("/api/v1{concrete}?lang={lang}")).await;
            assert_eq!(r.status, 400, "{concrete}?lang={lang}: {}", r.body);
            let body = json(&r);
            assert_eq!(body["error"]["code"], "request.lang_unsupported");
            assert!(
                documented(&doc, path, method, 400, "request.lang_unsupported"),
                "{path}"
            );
        }
        // A second `lang` is checked too.
        let r = c.get(&format!("/api/v1{concrete}?lang=ru&lang=de")).await;
        assert_eq!(r.status, 400, "{concrete}");
    }
    // The POSTs as well, before the body is read.
    let r = c
        .post_json("/api/v1/payments?lang=de", None, "not even json")
        .await;
    assert_eq!(json(&r)["error"]["code"], "request.lang_unsupported");
    // The message follows Accept-Language (else Kyrgyz).
    c.accept_language = Some("ru-RU,ru;q=0.9".into());
    let r = c.get("/api/v1/services?lang=de").await;
    assert_eq!(
        json(&r)["error"]["message"],
        &*text(Text::RequestLangUnsupported, Language::Ru)
    );
    for lang in Language::ALL {
        assert!(!text(Text::RequestLangUnsupported, lang).is_empty());
        let r = c
            .get(&format!("/api/v1/services?lang={}", lang.tag()))
            .await;
        assert_eq!(r.status, 200);
    }
    // No `lang` at all is not refused; nor is a path the API does not
    // have (404) or a method a path does not take (405).
    assert_eq!(c.get("/api/v1/services").await.status, 200);
    let r = c.get("/api/v1/nothing?lang=xx").await;
    assert_eq!(json(&r)["error"]["code"], "request.not_found");
    let r = c
        .send(
            axum::http::Request::delete("/api/v1/services?lang=xx")
                .body(axum::body::Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn codes_are_held_to_their_documented_form() {
    let (mut c, h, code) = setup().await;
    let doc = json(&c.get("/api/v1/openapi.json").await);
    let pattern = doc["paths"]["/charges/{code}"]["get"]["parameters"][0]["schema"]["pattern"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(pattern.starts_with('^'), "{pattern}");
    // The code is read as the portal's form reads it: separators anywhere.
    let grouped = format!("{} {} {}", &code[..4], &code[4..8], &code[8..]);
    let dashed = grouped.replace(' ', "-");
    let dotted = grouped.replace(' ', ".");
    let underscored = grouped.replace(' ', "_");
    for form in [code.clone(), grouped.replace(' ', "%20"), dashed, dotted] {
        let r = c.get(&format!("/api/v1/charges/{form}")).await;
        assert_eq!(r.status, 200, "{form}: {}", r.body);
    }
    for (form, expected) in [
        (underscored.as_str(), "code.invalid_characters"),
        ("11004200001", "code.length"),
        ("990042000013", "code.prefix"),
        ("abc", "code.invalid_characters"),
    ] {
        let r = c.get(&format!("/api/v1/charges/{form}")).await;
        assert_eq!(r.status, 422, "{form}: {}", r.body);
        assert_eq!(json(&r)["error"]["code"], expected, "{form}");
        assert!(documented(&doc, "/charges/{code}", "get", 422, expected));
    }
    // Longer than the documented 64 characters, though the core would
    // read it.
    let long = format!("{}{code}", "%20".repeat(60));
    let r = c.get(&format!("/api/v1/charges/{long}")).await;
    assert_eq!(json(&r)["error"]["code"], "code.length", "{}", r.body);
    // Starting a payment: the same form.
    let terms = h.terms_id().await;
    let r = c
        .post_json(
            "/api/v1/payments",
            None,
            &format!(r#"{{"code":"{underscored}","accepted_terms":"{terms}"}}"#),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(json(&r)["error"]["code"], "code.invalid_characters");
    let r = c
        .post_json(
            "/api/v1/payments",
            None,
            &format!(r#"{{"code":"{grouped}","accepted_terms":"{terms}"}}"#),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn card_fields_are_held_to_their_documented_form_with_every_error_at_once() {
    let (mut c, h, code) = setup().await;
    let terms = h.terms_id().await;
    let start = format!(r#"{{"code":"{code}","accepted_terms":"{terms}"}}"#);
    let p = c.post_json("/api/v1/payments", None, &start).await;
    assert_eq!(p.status, 201, "{}", p.body);
    let id = json(&p)["id"].as_str().unwrap_or_default().to_string();
    // Forms the core reads but the API does not: a double space in the
    // name, dots in the number, spaces around the slash; and a CVV the
    // core refuses itself, reported with them.
    let card = serde_json::json!({
        "holder": "AIBEK  ASANOV",
        "pan": "4111.1111.1111.1111",
        "expiry": "12 / 30",
        "cvv": "12",
        "phone": "+996 555 123 456",
        "email": "a@example.kg",
    });
    let r = c
        .post_json(
            &format!("/api/v1/payments/{id}/card"),
            None,
            &card.to_string(),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let body = json(&r);
    let fields: Vec<(String, String)> = body["error"]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["field"].as_str().unwrap_or_default().to_string(),
                f["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("holder", "card.holder_latin"),
        ("pan", "card.pan_digits"),
        ("expiry", "card.expiry_invalid"),
        ("cvv", "card.cvv_length"),
    ]
    .iter()
    .map(|(f, c)| (f.to_string(), c.to_string()))
    .collect();
    assert_eq!(fields, expected, "{body}");
    assert!(!r.body.contains("4111"), "the card number is never echoed");
    // Nothing was submitted: the same payment takes the card in its form.
    let card = serde_json::json!({
        "holder": "AIBEK ASANOV",
        "pan": format!("{} {} {} {}", &VISA_APPROVE[..4], &VISA_APPROVE[4..8], &VISA_APPROVE[8..12], &VISA_APPROVE[12..]),
        "expiry": "12/30",
        "cvv": "123",
        "phone": "+996 (555) 123-456",
        "email": "a@example.kg",
    });
    let r = c
        .post_json(
            &format!("/api/v1/payments/{id}/card"),
            None,
            &card.to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["state"], "succeeded");
}

#[tokio::test]
async fn idempotency_keys_and_receipt_references_are_held_to_their_form() {
    let (mut c, h, code) = setup().await;
    let terms = h.terms_id().await;
    let body = format!(r#"{{"code":"{code}","accepted_terms":"{terms}"}}"#);
    for key in ["has space", "ключ", "a/b", &"k".repeat(129)] {
        let r = c.post_json("/api/v1/payments", Some(key), &body).await;
        assert_eq!(r.status, 400, "{key:?}: {}", r.body);
        assert_eq!(json(&r)["error"]["code"], "idempotency.key_invalid");
    }
    // On the challenge route too, which does not hand the key to the core.
    let r = c
        .post_json(
            &format!("/api/v1/payments/{}/challenge", uuid::Uuid::new_v4()),
            Some("has space"),
            "{}",
        )
        .await;
    assert_eq!(json(&r)["error"]["code"], "idempotency.key_invalid");
    let r = c
        .post_json("/api/v1/payments", Some("0f3c:start_1.A-b"), &body)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Receipt references: malformed is 400, well-formed but unknown is a
    // 200 that says "not genuine".
    let sig = "A".repeat(86);
    for query in [
        format!("number=x&signature={sig}"),
        "number=20260101-0123456789ABCDEF&signature=short".to_string(),
        format!("number=20260101-0123456789ABCDEF&key_id=toolongkey&signature={sig}"),
        format!("number=20260101-0123456789abcdef&signature={sig}"),
    ] {
        let r = c.get(&format!("/api/v1/receipts/verify?{query}")).await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(json(&r)["error"]["code"], "request.invalid");
    }
    let r = c
        .get(&format!(
            "/api/v1/receipts/verify?number=20260101-0123456789ABCDEF&key_id=&signature={sig}"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["genuine"], false);
    for posted in [
        serde_json::json!({"signature": sig, "number": "x"}),
        serde_json::json!({"signature": sig, "signed_content": " \n"}),
        serde_json::json!({"signature": sig, "signed_content": "x", "key_id": "bad key"}),
        serde_json::json!({"signature": "x", "signed_content": "x"}),
        serde_json::json!({"signature": sig}),
    ] {
        let r = c
            .post_json("/api/v1/receipts/verify", None, &posted.to_string())
            .await;
        assert_eq!(r.status, 400, "{posted}: {}", r.body);
    }
    let r = c
        .post_json(
            "/api/v1/receipts/verify",
            None,
            &serde_json::json!({"signature": sig, "number": "20260101-0123456789", "key_id": null})
                .to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["genuine"], false);
}
