//! HTTP-level tests of every route and error path, driving the real router
//! in process (real core, in-memory store, sandbox acquirer).

mod common;

use common::{json, portal, test_config, Client};
use tolom_acquirer_sandbox::{DECLINE_INSUFFICIENT_FUNDS, THREE_DS_OTP, VISA_APPROVE};
use tolom_core::i18n::{text, Language, Text};

async fn setup() -> (Client, tolom_testkit::fixtures::Harness, String) {
    let (app, h) = portal(test_config());
    let charge = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    (Client::new(app), h, charge.code.as_str().to_string())
}

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

/// Drives the pages from the code to the card form; returns the card
/// page's path.
async fn to_card_page(c: &mut Client, code: &str) -> String {
    let csrf = c.csrf().await;
    let r = c
        .post_form("/lookup", &[("csrf", &csrf), ("code", code)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = c.get(&r.location()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let terms = c.get(&format!("/pay/{code}/terms")).await;
    assert_eq!(terms.status, 200);
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
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().ends_with("/card"), "{}", r.location());
    r.location()
}

#[tokio::test]
async fn language_defaults_to_kyrgyz_honours_accept_language_and_the_switch() {
    let (mut c, _h, _) = setup().await;
    let r = c.get("/").await;
    assert!(r.body.contains("<html lang=\"ky\""));
    assert!(r.body.contains("Төлөм кодун киргизиңиз"));
    c.accept_language = Some("ru-RU,ru;q=0.9,en;q=0.5".into());
    let r = c.get("/").await;
    assert!(r.body.contains("<html lang=\"ru\""));
    assert!(r.body.contains("Введите код платежа"));
    // The switch wins over Accept-Language and sticks (cookie).
    let r = c.get("/?lang=en").await;
    assert!(r.body.contains("<html lang=\"en\""));
    assert!(
        r.header("set-cookie").contains("tolom_lang=en") || c.cookies.contains_key("tolom_lang")
    );
    let r = c.get("/documents").await;
    assert!(r.body.contains("<html lang=\"en\""));
    // Every page links to the other languages.
    assert!(r.body.contains("href=\"/documents?lang=ky\""));
    assert!(r.body.contains("href=\"/documents?lang=ru\""));
}

#[tokio::test]
async fn operator_address_and_support_on_every_page() {
    let (mut c, _h, code) = setup().await;
    for path in [
        "/".to_string(),
        "/documents".into(),
        "/verify".into(),
        format!("/pay/{code}"),
        format!("/pay/{code}/terms"),
        "/no/such/page".into(),
    ] {
        let r = c
            .get(&format!(
                "{path}{}lang=en",
                if path.contains('?') { '&' } else { '?' }
            ))
            .await;
        assert!(r.body.contains("Bishkek, Cholpon-Ata"), "{path}");
        assert!(r.body.contains("support@infocom.kg"), "{path}");
        assert!(r.body.contains("href=\"tel:119\""), "{path}");
    }
}

#[tokio::test]
async fn full_payment_through_the_one_time_code_step_and_receipt() {
    let (mut c, _h, code) = setup().await;
    c.accept_language = Some("en".into());
    let csrf = c.csrf().await;
    let r = c
        .post_form("/lookup", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), format!("/pay/{code}"));
    let r = c.get(&r.location()).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Сыдыкова А."), "masked name shown");
    assert!(!r.body.contains("Айгүл"), "full name never shown");
    assert!(r.body.contains("885.00 KGS"));
    assert!(r.body.contains(&format!("href=\"/pay/{code}/terms\"")));

    let card_path = to_card_page(&mut c, &code).await;
    let page = c.get(&card_path).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control"), "no-store");
    for (name, ac) in [
        ("holder", "cc-name"),
        ("pan", "cc-number"),
        ("expiry", "cc-exp"),
        ("cvv", "cc-csc"),
        ("phone", "tel"),
        ("email", "email"),
    ] {
        assert!(
            page.body.contains(&format!("<label for=\"{name}\">")),
            "{name} label"
        );
        assert!(
            page.body.contains(&format!("autocomplete=\"{ac}\"")),
            "{name} autocomplete"
        );
    }
    let (csrf, key) = (page.hidden("csrf"), page.hidden("key"));
    let r = c
        .post_form(&card_path, &card(&csrf, &key, THREE_DS_OTP))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().ends_with("/confirm"));
    let confirm = c.get(&r.location()).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("autocomplete=\"one-time-code\""));
    let r = c
        .post_form(
            &r.location(),
            &[("csrf", &confirm.hidden("csrf")), ("otp", "123456")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(r.location().ends_with("/receipt"), "{}", r.location());
    let receipt = c.get(&r.location()).await;
    assert_eq!(receipt.status, 200);
    assert!(receipt.body.contains("Paid"));
    assert!(
        receipt.body.contains("Сыдыкова Айгүл Бакытовна"),
        "receipt names the payer"
    );
    assert!(receipt.body.contains("4000********3220"));
    assert!(!receipt.body.contains("4000000000003220"));
    assert!(receipt.body.contains("<svg"), "QR code");
    assert!(receipt.body.contains("http://portal.test/verify?n="));

    // JSON and the verification link.
    let rj = c.get(&format!("{}.json", r.location())).await;
    assert_eq!(rj.status, 200);
    let v = json(&rj);
    let (n, s) = (
        v["number"].as_str().unwrap_or(""),
        v["signature"].as_str().unwrap_or(""),
    );
    let ok = c.get(&format!("/verify?n={n}&s={s}&lang=en")).await;
    assert!(ok.body.contains("data-genuine=\"true\""));
    assert!(ok.body.contains("The receipt is genuine"));
    let first_char = if s.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{first_char}{}", &s[1..]);
    let bad = c.get(&format!("/verify?n={n}&s={forged}&lang=en")).await;
    assert!(bad.body.contains("data-genuine=\"false\""));
    assert!(bad.body.contains("NOT genuine"));
    // A paid code cannot be paid again.
    let again = c.get(&format!("/pay/{code}")).await;
    assert!(again
        .body
        .contains(&*text(Text::ChargeAlreadyPaid, Language::En)));
}

#[tokio::test]
async fn card_form_shows_every_error_at_once_next_to_its_field_without_echoing_the_card() {
    let (mut c, _h, code) = setup().await;
    c.accept_language = Some("ru".into());
    let card_path = to_card_page(&mut c, &code).await;
    let page = c.get(&card_path).await;
    let r = c
        .post_form(
            &card_path,
            &[
                ("csrf", &page.hidden("csrf")),
                ("key", &page.hidden("key")),
                ("holder", "Айбек"),
                ("pan", "4111111111111112"),
                ("expiry", "13/99"),
                ("cvv", "98765"),
                ("phone", "12"),
                ("email", "nope"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    for field in ["holder", "pan", "expiry", "cvv", "phone", "email"] {
        assert!(
            r.body.contains(&format!("id=\"{field}-error\"")),
            "{field} error missing"
        );
        assert!(
            r.body.contains(&format!("href=\"#{field}\"")),
            "{field} in summary"
        );
    }
    assert!(r.body.contains(&*text(Text::CardHolderLatin, Language::Ru)));
    assert!(r.body.contains(&*text(Text::CardPanLuhn, Language::Ru)));
    assert!(r.body.contains("aria-invalid=\"true\""));
    assert!(!r.body.contains("4111111111111112"), "PAN never echoed");
    assert!(!r.body.contains("98765"), "CVV never echoed");
    assert!(r.body.contains("value=\"nope\""), "other values kept");
}

#[tokio::test]
async fn terms_must_be_accepted_and_double_submit_gives_the_same_payment() {
    let (mut c, _h, code) = setup().await;
    c.accept_language = Some("en".into());
    let terms = c.get(&format!("/pay/{code}/terms")).await;
    assert!(terms.body.contains("href=\"/documents\""));
    assert!(terms.body.contains("Last changed"));
    let base = [
        ("csrf", terms.hidden("csrf")),
        ("key", terms.hidden("key")),
        ("terms", terms.hidden("terms")),
    ];
    let fields: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = c.post_form(&format!("/pay/{code}/start"), &fields).await;
    assert_eq!(r.status, 422);
    assert!(r
        .body
        .contains(&*text(Text::TermsNotAccepted, Language::En)));
    assert!(r.body.contains("id=\"accept-error\""));
    let mut accepted = fields.clone();
    accepted.push(("accept", "1"));
    let a = c.post_form(&format!("/pay/{code}/start"), &accepted).await;
    let b = c.post_form(&format!("/pay/{code}/start"), &accepted).await;
    assert_eq!(a.status, 303);
    assert_eq!(a.location(), b.location(), "same key, same payment");
    // An outdated edition is refused.
    let mut outdated = accepted.clone();
    outdated[2] = ("terms", "1999-01-01");
    outdated[1] = ("key", "another-key");
    let r = c.post_form(&format!("/pay/{code}/start"), &outdated).await;
    assert_eq!(r.status, 409);
    assert!(r.body.contains(&*text(Text::TermsOutdated, Language::En)));
}

#[tokio::test]
async fn declined_card_shows_the_reason_and_a_way_to_try_again() {
    let (mut c, _h, code) = setup().await;
    c.accept_language = Some("en".into());
    let card_path = to_card_page(&mut c, &code).await;
    let page = c.get(&card_path).await;
    let r = c
        .post_form(
            &card_path,
            &card(
                &page.hidden("csrf"),
                &page.hidden("key"),
                DECLINE_INSUFFICIENT_FUNDS,
            ),
        )
        .await;
    assert_eq!(r.status, 303);
    let status = c.get(&r.location()).await;
    assert!(status.body.contains("data-state=\"declined\""));
    assert!(status
        .body
        .contains(&*text(Text::DeclineInsufficientFunds, Language::En)));
    assert!(status.body.contains(&format!("href=\"/pay/{code}/terms\"")));
    // The receipt of a declined payment is not available: back to status.
    let id = r.location().trim_start_matches("/payments/").to_string();
    let rec = c.get(&format!("/payments/{id}/receipt")).await;
    assert_eq!(rec.status, 303);
    // The card page of a settled payment sends the payer to its status.
    let again = c.get(&format!("/payments/{id}/card")).await;
    assert_eq!(again.status, 303);
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let (mut c, _h, code) = setup().await;
    c.accept_language = Some("en".into());
    let r = c.post_form("/lookup", &[("code", &code)]).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains(&*text(Text::RequestCsrf, Language::En)));
    let _ = c.csrf().await;
    let r = c
        .post_form("/lookup", &[("csrf", "0000"), ("code", &code)])
        .await;
    assert_eq!(r.status, 403);
    // A token from another session does not work.
    let mut other = Client::new(c.app.clone());
    let foreign = other.csrf().await;
    let r = c
        .post_form("/lookup", &[("csrf", &foreign), ("code", &code)])
        .await;
    assert_eq!(r.status, 403);
    let card_path = to_card_page(&mut c, &code).await;
    let r = c
        .post_form(&card_path, &card("bad", "k1", VISA_APPROVE))
        .await;
    assert_eq!(r.status, 403);
    assert!(!r.body.contains(VISA_APPROVE));
}

#[tokio::test]
async fn code_errors_are_shown_next_to_the_field() {
    let (mut c, _h, code) = setup().await;
    c.accept_language = Some("ky".into());
    let csrf = c.csrf().await;
    let mut typo = code.clone();
    let last = typo.pop().and_then(|d| d.to_digit(10)).unwrap_or(0);
    typo.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
    let r = c
        .post_form("/lookup", &[("csrf", &csrf), ("code", &typo)])
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains(&*text(Text::CodeCheckDigit, Language::Ky)));
    assert!(r.body.contains("id=\"code-error\""));
    let r = c
        .post_form("/lookup", &[("csrf", &csrf), ("code", "1100 0000 0000 0")])
        .await;
    let r = if r.status == 303 {
        c.get(&r.location()).await
    } else {
        r
    };
    assert!(r.status == 404 || r.status == 422, "{}", r.status);
    let r = c.get("/pay/abc").await;
    assert_eq!(r.status, 422);
    assert!(
        r.body
            .contains(&*text(Text::CodeInvalidCharacters, Language::Ky))
            || r.body.contains("code-error")
    );
}

#[tokio::test]
async fn look_ups_are_rate_limited_per_client_with_a_translated_429() {
    let mut cfg = test_config();
    cfg.lookup_rate_per_minute = 1;
    cfg.lookup_burst = 2;
    let (app, h) = portal(cfg);
    let code = h
        .charge("id-card-2017", "Асанов Айбек")
        .await
        .code
        .as_str()
        .to_string();
    let mut c = Client::new(app.clone());
    c.accept_language = Some("ru".into());
    assert_eq!(c.get(&format!("/pay/{code}")).await.status, 200);
    assert_eq!(c.get(&format!("/api/v1/charges/{code}")).await.status, 200);
    let r = c.get(&format!("/pay/{code}")).await;
    assert_eq!(r.status, 429);
    assert!(r
        .body
        .contains(&*text(Text::RequestRateLimited, Language::Ru)));
    assert!(!r.body.contains("Асанов А."), "no name once limited");
    assert!(!r.header("retry-after").is_empty());
    let api = c.get(&format!("/api/v1/charges/{code}")).await;
    assert_eq!(api.status, 429);
    assert_eq!(json(&api)["error"]["code"], "request.rate_limited");
    // The form's post only checks the code's format and sends the payer to
    // the look-up's address, which is limited.
    let csrf = c.csrf().await;
    let r = c
        .post_form("/lookup", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(c.get(&r.location()).await.status, 429);
    // Another client is not affected.
    let mut other = Client::new(app);
    other.ip = "198.51.100.7:1".parse().expect("addr");
    assert_eq!(other.get(&format!("/pay/{code}")).await.status, 200);
}

#[tokio::test]
async fn security_headers_on_pages_and_api() {
    let (mut c, _h, _) = setup().await;
    for path in ["/", "/api/v1/services", "/documents", "/nope"] {
        let r = c.get(path).await;
        let csp = r.header("content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{path}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(r.header("x-frame-options"), "DENY", "{path}");
        assert_eq!(r.header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{path}");
        assert!(
            r.header("strict-transport-security").is_empty(),
            "no HSTS over plain HTTP"
        );
    }
    let mut cfg = test_config();
    cfg.hsts = true;
    cfg.secure_cookies = true;
    let (app, _h) = portal(cfg);
    let mut tls = Client::new(app);
    let r = tls.get("/").await;
    assert!(r.header("strict-transport-security").contains("max-age="));
    assert!(r.header("set-cookie").contains("Secure"));
    assert!(r.header("set-cookie").contains("HttpOnly"));
    let css = tls.get("/static/portal.css").await;
    assert!(css.header("content-type").starts_with("text/css"));
    assert!(css.body.contains("@media print"));
    assert_eq!(tls.get("/healthz").await.body, "ok");
}

#[tokio::test]
async fn documents_show_the_edition_in_force_and_past_editions() {
    let (mut c, h, _) = setup().await;
    let mut next = tolom_core::terms::TermsEdition::seed_edition();
    let first = next.clone();
    next.id = "2026-06-01".into();
    next.effective_at = h.clock.now() - chrono::Duration::days(1);
    next.published_at = next.effective_at;
    next.last_changed = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
    next.text_en = "# Agreement\n\nThe new edition.".into();
    h.tolom
        .publish_terms(first.clone())
        .await
        .expect("publish seed");
    h.tolom.publish_terms(next).await.expect("publish");
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    use tolom_core::ports::Clock as _;
    h.clock.advance(chrono::Duration::seconds(10));
    let r = c.get("/documents?lang=en").await;
    assert!(r.body.contains("The new edition."), "{}", r.body);
    assert!(r.body.contains("2026-06-01"));
    assert!(r
        .body
        .contains(&format!("href=\"/documents/{}\"", first.id)));
    let past = c.get(&format!("/documents/{}", first.id)).await;
    assert_eq!(past.status, 200);
    assert_eq!(c.get("/documents/no-such").await.status, 404);
    let api = json(&c.get("/api/v1/terms").await);
    assert_eq!(api["in_force"]["id"], "2026-06-01");
    assert_eq!(api["editions"].as_array().map(|a| a.len()), Some(2));
}

#[tokio::test]
async fn unknown_pages_and_payments_are_404_in_the_payers_language() {
    let (mut c, _h, _) = setup().await;
    c.accept_language = Some("ru".into());
    let r = c.get("/nope").await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("Страница не найдена."));
    assert_eq!(c.get("/payments/not-a-uuid/card").await.status, 404);
    let r = c.get(&format!("/payments/{}", uuid::Uuid::new_v4())).await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains(&*text(Text::PaymentNotFound, Language::Ru)));
    let api = c.get("/api/v1/nope").await;
    assert_eq!(api.status, 404);
    assert_eq!(json(&api)["error"]["code"], "request.not_found");
}

#[tokio::test]
async fn api_pays_a_code_with_idempotency_keys() {
    let (mut c, h, code) = setup().await;
    let terms = h.terms_id().await;
    let body = format!(r#"{{"code":"{code}","accepted_terms":"{terms}"}}"#);
    let a = c
        .post_json("/api/v1/payments?lang=en", Some("start-1"), &body)
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let b = c
        .post_json("/api/v1/payments?lang=en", Some("start-1"), &body)
        .await;
    assert_eq!(b.status, 201);
    assert_eq!(a.body, b.body, "same key, same body: same answer");
    assert_eq!(b.header("idempotent-replayed"), "true");
    let other = format!(r#"{{"code":"{code}","accepted_terms":null}}"#);
    let conflict = c
        .post_json("/api/v1/payments?lang=en", Some("start-1"), &other)
        .await;
    assert_eq!(conflict.status, 409);
    assert_eq!(json(&conflict)["error"]["code"], "idempotency.key_reused");
    assert_eq!(
        json(&conflict)["error"]["message"],
        &*text(Text::IdempotencyKeyReused, Language::En)
    );
    let id = json(&a)["id"].as_str().unwrap_or("").to_string();

    // Field errors, all at once, translated.
    let bad = c
        .post_json(
            &format!("/api/v1/payments/{id}/card?lang=ru"),
            None,
            r#"{"holder":"","pan":"123","expiry":"1","cvv":"","phone":"","email":"x"}"#,
        )
        .await;
    assert_eq!(bad.status, 422);
    let fields = json(&bad)["error"]["fields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(fields.len(), 6, "{}", bad.body);
    assert!(!bad.body.contains("\"123\""));

    let card = format!(
        r#"{{"holder":"AIBEK ASANOV","pan":"{THREE_DS_OTP}","expiry":"12/30","cvv":"123","phone":"+996555123456","email":"a@example.kg"}}"#
    );
    let s1 = c
        .post_json(
            &format!("/api/v1/payments/{id}/card"),
            Some("card-1"),
            &card,
        )
        .await;
    assert_eq!(s1.status, 200, "{}", s1.body);
    assert_eq!(json(&s1)["state"], "action_required");
    assert_eq!(json(&s1)["challenge"]["kind"], "otp");
    assert!(!s1.body.contains(THREE_DS_OTP), "no PAN in answers");
    let s2 = c
        .post_json(
            &format!("/api/v1/payments/{id}/card"),
            Some("card-1"),
            &card,
        )
        .await;
    assert_eq!(s1.body, s2.body);

    let done = c
        .post_json(
            &format!("/api/v1/payments/{id}/challenge"),
            Some("otp-1"),
            r#"{"otp":"123456"}"#,
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(json(&done)["state"], "succeeded");
    let status = json(&c.get(&format!("/api/v1/payments/{id}")).await);
    assert_eq!(status["state"], "succeeded");
    let receipt = c.get(&format!("/api/v1/payments/{id}/receipt")).await;
    assert_eq!(receipt.status, 200);
    let r = json(&receipt);
    assert!(r["verify_url"]
        .as_str()
        .unwrap_or("")
        .starts_with("http://portal.test/verify?n="));
    let v = json(
        &c.get(&format!(
            "/api/v1/receipts/verify?number={}&signature={}",
            r["number"].as_str().unwrap_or(""),
            r["signature"].as_str().unwrap_or("")
        ))
        .await,
    );
    assert_eq!(v["genuine"], true);
    // A well-formed reference that is not genuine: a 200 that says so (a
    // malformed one is 400, tests/api_contract.rs).
    let v = json(
        &c.get(&format!(
            "/api/v1/receipts/verify?number=20260101-0123456789ABCDEF&signature={}",
            "A".repeat(86)
        ))
        .await,
    );
    assert_eq!(v["genuine"], false);
}

#[tokio::test]
async fn api_error_paths() {
    let (mut c, _h, code) = setup().await;
    // Not JSON: refused (a cross-site form cannot post JSON).
    let r = c
        .send(
            axum::http::Request::post("/api/v1/payments")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from("code=1"))
                .expect("req"),
        )
        .await;
    assert_eq!(r.status, 415);
    let r = c
        .post_json("/api/v1/payments?lang=en", None, "{not json")
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(json(&r)["error"]["code"], "request.invalid");
    let r = c
        .post_json(
            "/api/v1/payments?lang=en",
            None,
            &format!(r#"{{"code":"{code}"}}"#),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(json(&r)["error"]["code"], "terms.not_accepted");
    let r = c.get("/api/v1/charges/110000000000?lang=en").await;
    assert!(r.status == 404 || r.status == 422);
    let r = c.get(&format!("/api/v1/charges/{code}?lang=en")).await;
    assert_eq!(json(&r)["payer"], "Сыдыкова А.");
    assert_eq!(json(&r)["payable"], true);
    let r = c
        .get(&format!("/api/v1/payments/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(json(&r)["error"]["code"], "payment.not_found");
    let r = c
        .post_json(
            &format!("/api/v1/payments/{}/challenge", uuid::Uuid::new_v4()),
            None,
            "{}",
        )
        .await;
    assert_eq!(r.status, 404);
    let r = c
        .get(&format!(
            "/api/v1/payments/{}/receipt",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!(r.status, 404);
    let r = c.get("/api/v1/receipts/verify").await;
    assert_eq!(r.status, 400);
    let services = json(&c.get("/api/v1/services?lang=en").await);
    assert_eq!(services["services"].as_array().map(|a| a.len()), Some(5));
}

#[tokio::test]
async fn openapi_document_lists_every_api_route() {
    let (mut c, _h, _) = setup().await;
    let doc = json(&c.get("/api/v1/openapi.json").await);
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3."));
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for p in [
        "/charges/{code}",
        "/payments",
        "/payments/{id}",
        "/payments/{id}/card",
        "/payments/{id}/challenge",
        "/payments/{id}/receipt",
        "/services",
        "/terms",
        "/receipts/verify",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
    // And every documented path is routed (not the API's 404).
    for p in paths.keys() {
        let concrete = p
            .replace("{code}", "110000000000")
            .replace("{id}", &uuid::Uuid::new_v4().to_string());
        let r = c.get(&format!("/api/v1{concrete}")).await;
        if r.status == 404 {
            assert_ne!(
                json(&r)["error"]["code"],
                "request.not_found",
                "{p} not routed"
            );
        }
    }
}

async fn pay_via_api(c: &mut Client, h: &tolom_testkit::fixtures::Harness, code: &str) -> String {
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
    id
}

#[tokio::test]
async fn receipt_pdf_carries_cyrillic_text_and_the_verification_link() {
    let (mut c, h, code) = setup().await;
    let id = pay_via_api(&mut c, &h, &code).await;
    let r = c
        .send(
            axum::http::Request::get(format!("/payments/{id}/receipt.pdf?lang=ky"))
                .body(axum::body::Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/pdf");
    assert!(r.header("content-disposition").contains(".pdf"));
    // Fetch the raw bytes again (the helper decodes bodies as text).
    let bytes = {
        use tower::ServiceExt;
        let resp = c
            .app
            .clone()
            .oneshot(
                axum::http::Request::get(format!("/payments/{id}/receipt.pdf?lang=ky"))
                    .body(axum::body::Body::empty())
                    .expect("req"),
            )
            .await
            .expect("resp");
        axum::body::to_bytes(resp.into_body(), 10 << 20)
            .await
            .expect("bytes")
    };
    assert!(bytes.starts_with(b"%PDF-1.7"));
    assert!(bytes.ends_with(b"%%EOF\n"));
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("/FontFile2") && text.contains("/ToUnicode"),
        "embedded font with a Unicode map"
    );
    // With poppler's pdftotext (apt-get install poppler-utils), check the text itself.
    let dir = std::env::temp_dir().join(format!("tolom-pdf-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let pdf = dir.join("r.pdf");
    std::fs::write(&pdf, &bytes).expect("write");
    match std::process::Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(&pdf)
        .arg("-")
        .output()
    {
        Ok(out) if out.status.success() => {
            let extracted = String::from_utf8_lossy(&out.stdout);
            assert!(
                extracted.contains("Сыдыкова Айгүл Бакытовна"),
                "{extracted}"
            );
            assert!(extracted.contains("Төлөнгөн убакыт"), "{extracted}");
            assert!(extracted.contains("Дүмүрчөк"), "{extracted}");
            assert!(extracted.contains("4111********1111"), "{extracted}");
            assert!(!extracted.contains(VISA_APPROVE), "no full PAN");
        }
        _ => tolom_testkit::external::missing(
            "receipt PDF text",
            tolom_testkit::external::External::Tool("pdftotext"),
            "poppler-utils is not installed; the PDF's text is not checked",
        ),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn challenge_return_continues_only_a_payment_awaiting_a_challenge() {
    let (mut c, _h, code) = setup().await;
    let card_path = to_card_page(&mut c, &code).await;
    let id = card_path
        .trim_start_matches("/payments/")
        .trim_end_matches("/card")
        .to_string();
    // Not awaiting a challenge yet: back to where the payment continues.
    let r = c.get(&format!("/payments/{id}/return?PaRes=x")).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), card_path);
    let r = c
        .post_form(&format!("/payments/{id}/return"), &[("PaRes", "x")])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), card_path);
    assert_eq!(c.get("/payments/nope/return").await.status, 404);
    // A wrong one-time code is asked for again (the sandbox, like issuers'
    // pages, allows three); the third declines, and says so.
    let page = c.get(&card_path).await;
    let r = c
        .post_form(
            &card_path,
            &card(&page.hidden("csrf"), &page.hidden("key"), THREE_DS_OTP),
        )
        .await;
    let confirm = c.get(&r.location()).await;
    let empty = c
        .post_form(
            &r.location(),
            &[("csrf", &confirm.hidden("csrf")), ("otp", " ")],
        )
        .await;
    assert_eq!(empty.status, 422, "an empty code is not sent to the bank");
    for _ in 0..2 {
        let again = c
            .post_form(
                &r.location(),
                &[("csrf", &confirm.hidden("csrf")), ("otp", "000000")],
            )
            .await;
        assert_eq!(again.status, 422, "{}", again.body);
        assert!(again.body.contains("payment.otp_wrong") || again.body.contains("otp-error"));
    }
    let wrong = c
        .post_form(
            &r.location(),
            &[("csrf", &confirm.hidden("csrf")), ("otp", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 303);
    let status = c.get(&wrong.location()).await;
    assert!(status.body.contains("data-state=\"declined\""));
    assert!(status.body.contains("decline.authentication_failed"));
}

#[tokio::test]
async fn the_bank_page_is_reached_by_a_form_that_also_works_without_javascript() {
    use std::sync::Arc;
    use tolom_core::payment::{Approval, Challenge};
    use tolom_core::ports::{AcquirerOutcome, MockAcquirer, OrderStatus};

    // A bank that sends every card to its 3-D Secure page.
    let mut bank = MockAcquirer::new();
    bank.expect_name().return_const("mock".to_string());
    bank.expect_purchase().returning(|_| {
        Ok(AcquirerOutcome::ActionRequired(Challenge::Redirect {
            url: "https://acs.bank.test/3ds?step=1&lang=en".into(),
            method: "POST".into(),
            fields: [
                ("PaReq".to_string(), "<pa&req>\"".to_string()),
                ("MD".to_string(), "md-1".to_string()),
            ]
            .into(),
        }))
    });
    bank.expect_complete_challenge().returning(|_, response| {
        assert_eq!(response.fields.get("PaRes").map(String::as_str), Some("ok"));
        Ok(AcquirerOutcome::Approved(Approval {
            auth_code: "123456".into(),
            rrn: "000000000001".into(),
        }))
    });
    bank.expect_status().returning(|_| Ok(OrderStatus::Pending));
    let mut config = test_config();
    config.bank_origins = vec!["https://acs.bank.test".into()];
    let (app, h) = common::portal_with(Arc::new(bank), config);
    let code = h
        .charge("passport-2020", "Сыдыкова Айгүл Бакытовна")
        .await
        .code
        .as_str()
        .to_string();
    let mut c = Client::new(app);
    c.accept_language = Some("en".into());
    let card_path = to_card_page(&mut c, &code).await;
    let page = c.get(&card_path).await;
    let r = c
        .post_form(
            &card_path,
            &card(&page.hidden("csrf"), &page.hidden("key"), VISA_APPROVE),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().ends_with("/confirm"), "{}", r.location());
    let to_bank = c.get(&r.location()).await;
    assert_eq!(to_bank.status, 200);
    let body = &to_bank.body;
    assert!(body.contains(&*text(Text::RedirectHeading, Language::En)));
    // The form goes to the bank with the bank's fields, escaped.
    assert!(body.contains("method=\"post\""), "{body}");
    assert!(
        body.contains("https://acs.bank.test/3ds?step=1&#38;lang=en"),
        "{body}"
    );
    assert!(!body.contains("<pa&req>"), "the bank's values are escaped");
    assert!(body.contains("name=\"MD\" value=\"md-1\""));
    // It submits itself, and without JavaScript the payer presses the button.
    assert!(body.contains("<script src=\"/static/autosubmit.js\" defer></script>"));
    assert!(body.contains("data-autosubmit"));
    assert!(body.contains(&format!(
        "<button type=\"submit\">{}</button>",
        text(Text::RedirectSubmit, Language::En)
    )));
    // Only this page may post to the bank's origin.
    let csp = to_bank.header("content-security-policy");
    assert!(
        csp.contains("form-action 'self' https://acs.bank.test;"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    let js = c.get("/static/autosubmit.js").await;
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").starts_with("text/javascript"));
    assert!(js.body.contains("form[data-autosubmit]"));
    assert!(!c
        .get("/")
        .await
        .header("content-security-policy")
        .contains("acs.bank.test"));
    // Back from the bank: the receipt.
    let id = card_path
        .trim_start_matches("/payments/")
        .trim_end_matches("/card")
        .to_string();
    let back = c
        .post_form(
            &format!("/payments/{id}/return"),
            &[("PaRes", "ok"), ("MD", "md-1")],
        )
        .await;
    assert_eq!(back.status, 303, "{}", back.body);
    assert!(back.location().ends_with("/receipt"), "{}", back.location());
}

/// Every text a payer reads comes from Fluent: the templates hold markup,
/// punctuation and `{{ layout.t(Text::…) }}`, never a word of their own,
/// and nothing is marked `|safe` but the receipt's QR code and the
/// agreement's HTML (escaped by its renderer).
#[test]
fn templates_hold_no_literal_text_and_trust_only_the_qr_code_and_the_agreement() {
    fn strip(s: &str, open: &str, close: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(open) {
            out.push_str(&rest[..i]);
            rest = rest[i..]
                .find(close)
                .map_or("", |j| &rest[i + j + close.len()..]);
        }
        out.push_str(rest);
        out
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("templates") {
        let path = entry.expect("entry").path();
        let name = path.display().to_string();
        let source = std::fs::read_to_string(&path).expect("template");
        seen += 1;
        let safe: Vec<_> = source.match_indices("|safe").collect();
        if name.ends_with("receipt.html") {
            assert_eq!(safe.len(), 1, "{name}");
            assert!(source.contains("{{ qr_svg|safe }}"), "{name}");
        } else if name.ends_with("macros.html") {
            // The agreement, rendered by `pages::agreement` (tests/agreement.rs).
            assert_eq!(safe.len(), 1, "{name}");
            assert!(source.contains("{{ html|safe }}"), "{name}");
        } else {
            assert!(safe.is_empty(), "{name} marks something safe");
        }
        let code = strip(&strip(&source, "{#", "#}"), "{%", "%}");
        // Attributes a payer reads (or hears) come from Fluent too.
        for attr in ["aria-label=\"", "title=\"", "placeholder=\"", "alt=\""] {
            for (i, _) in code.match_indices(attr) {
                assert!(
                    code[i + attr.len()..].starts_with("{{"),
                    "{name}: literal {attr}…"
                );
            }
        }
        let text = strip(&strip(&code, "{{", "}}"), "<", ">");
        let words: String = text.chars().filter(|c| c.is_alphanumeric()).collect();
        assert!(words.is_empty(), "{name} has literal text: {words}");
    }
    assert!(seen >= 14, "read the templates");
}

/// A challenge that points to an origin the operator did not configure is
/// not followed: the payer gets an error page (no form to it), and no
/// Content-Security-Policy is widened.
#[tokio::test]
async fn a_bank_page_on_an_unconfigured_origin_is_not_followed() {
    use std::sync::Arc;
    use tolom_core::payment::Challenge;
    use tolom_core::ports::{AcquirerOutcome, MockAcquirer, OrderStatus};

    let mut bank = MockAcquirer::new();
    bank.expect_name().return_const("mock".to_string());
    bank.expect_purchase().returning(|_| {
        Ok(AcquirerOutcome::ActionRequired(Challenge::Redirect {
            url: "https://elsewhere.test/3ds".into(),
            method: "POST".into(),
            fields: [("PaReq".to_string(), "x".to_string())].into(),
        }))
    });
    bank.expect_status().returning(|_| Ok(OrderStatus::Pending));
    let mut config = test_config();
    config.bank_origins = vec!["https://acs.bank.test".into()];
    let (app, h) = common::portal_with(Arc::new(bank), config);
    let code = h
        .charge("passport-2020", "A B")
        .await
        .code
        .as_str()
        .to_string();
    let mut c = Client::new(app);
    let card_path = to_card_page(&mut c, &code).await;
    let page = c.get(&card_path).await;
    let r = c
        .post_form(
            &card_path,
            &card(&page.hidden("csrf"), &page.hidden("key"), VISA_APPROVE),
        )
        .await;
    let to_bank = c.get(&r.location()).await;
    assert_eq!(to_bank.status, 503, "{}", to_bank.body);
    assert!(!to_bank.body.contains("elsewhere.test"));
    let csp = to_bank.header("content-security-policy");
    assert!(
        !csp.contains("elsewhere.test") && !csp.contains("acs.bank.test"),
        "{csp}"
    );
}

/// A payer filling the card form holds the code: a stranger's start gets
/// 409 with when to try again (page and API), never a 5xx; the payer's own
/// browser starting again is sent back to its payment.
#[tokio::test]
async fn a_started_payment_holds_its_code_against_strangers_not_its_payer() {
    let (mut c, h, code) = setup().await;
    let card_path = to_card_page(&mut c, &code).await;
    // Another browser.
    let mut stranger = Client::new(c.app.clone());
    stranger.accept_language = Some("en".into());
    let csrf = stranger.csrf().await;
    stranger
        .post_form("/lookup", &[("csrf", &csrf), ("code", &code)])
        .await;
    let terms = stranger.get(&format!("/pay/{code}/terms")).await;
    let r = stranger
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
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("data-code=\"charge.payment_in_progress\""));
    assert!(
        r.body.contains("(Bishkek time)"),
        "when to try again: {}",
        r.body
    );
    // The API says the same, with Retry-After: the rest of the window.
    let terms_id = h.terms_id().await;
    let api = stranger
        .post_json(
            "/api/v1/payments",
            Some("stranger-1"),
            &format!(r#"{{"code":"{code}","accepted_terms":"{terms_id}"}}"#),
        )
        .await;
    assert_eq!(api.status, 409, "{}", api.body);
    assert!(api.body.contains("charge.payment_in_progress"));
    let wait: i64 = api.header("retry-after").parse().unwrap_or(0);
    let window = h.tolom.config().card_entry_window.num_seconds();
    assert!(wait > 0 && wait <= window, "Retry-After {wait}");
    // The payer's own browser, starting again from a fresh agreement page,
    // is sent back to its payment.
    let again = c.get(&format!("/pay/{code}/terms")).await;
    let r = c
        .post_form(
            &format!("/pay/{code}/start"),
            &[
                ("csrf", &again.hidden("csrf")),
                ("key", &again.hidden("key")),
                ("terms", &again.hidden("terms")),
                ("accept", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), card_path);
}

/// With a bank acquirer the card form also offers the bank's own payment
/// page: the payer is sent there by a `GET` form that carries the page's
/// query as fields (a `GET` form drops its action's query), and the bank
/// sends the payer back to the payment's return route. Without bank
/// origins (the sandbox) it is not offered, and posting it anyway leaves
/// the payer on the card form.
#[tokio::test]
async fn the_banks_hosted_page_is_offered_with_a_bank_and_keeps_its_query() {
    use std::sync::Arc;
    use tolom_core::payment::{Approval, Challenge};
    use tolom_core::ports::{AcquirerOutcome, Instrument, MockAcquirer, OrderStatus};

    // Not offered with the sandbox.
    let (mut c, _h, code) = setup().await;
    let card_path = to_card_page(&mut c, &code).await;
    let page = c.get(&card_path).await;
    assert!(!page.body.contains("/hosted"), "{}", page.body);
    let hosted_path = card_path.replace("/card", "/hosted");
    let r = c
        .post_form(
            &hosted_path,
            &[("csrf", &page.hidden("csrf")), ("key", &"k".repeat(32))],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), card_path);

    // Offered with a bank.
    let mut bank = MockAcquirer::new();
    bank.expect_name().return_const("mock".to_string());
    bank.expect_purchase().returning(|req| {
        assert!(matches!(req.instrument, Instrument::HostedPage));
        Ok(AcquirerOutcome::ActionRequired(Challenge::Redirect {
            url: "https://pay.bank.test/payment/merchants/pay.html?mdOrder=a%26b&lang=en#top"
                .into(),
            method: "GET".into(),
            fields: Default::default(),
        }))
    });
    bank.expect_complete_challenge().returning(|_, response| {
        assert_eq!(
            response.fields.get("orderId").map(String::as_str),
            Some("a&b")
        );
        Ok(AcquirerOutcome::Approved(Approval {
            auth_code: "123456".into(),
            rrn: "000000000001".into(),
        }))
    });
    bank.expect_status().returning(|_| Ok(OrderStatus::Pending));
    let mut config = test_config();
    config.bank_origins = vec!["https://pay.bank.test".into()];
    let (app, h) = common::portal_with(Arc::new(bank), config);
    let code = h
        .charge("passport-2020", "A B")
        .await
        .code
        .as_str()
        .to_string();
    let mut c = Client::new(app);
    c.accept_language = Some("en".into());
    let card_path = to_card_page(&mut c, &code).await;
    let hosted_path = card_path.replace("/card", "/hosted");
    let page = c.get(&card_path).await;
    assert!(
        page.body
            .contains(&format!("<form method=\"post\" action=\"{hosted_path}\"")),
        "{}",
        page.body
    );
    // (askama escapes the apostrophe of "bank's")
    assert!(page
        .body
        .contains(&text(Text::CardHosted, Language::En).replace('\'', "&#39;")));
    let key = {
        let at = page.body.find(&hosted_path).expect("hosted form");
        let needle = "name=\"key\" value=\"";
        let start = page.body[at..].find(needle).expect("key") + at + needle.len();
        page.body[start..start + 32].to_string()
    };
    assert_ne!(key, page.hidden("key"), "its own idempotency key");
    let r = c
        .post_form(
            &hosted_path,
            &[("csrf", &page.hidden("csrf")), ("key", &key)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().ends_with("/confirm"), "{}", r.location());
    let to_bank = c.get(&r.location()).await;
    assert_eq!(to_bank.status, 200, "{}", to_bank.body);
    let body = &to_bank.body;
    assert!(
        body.contains(
            "<form method=\"get\" action=\"https://pay.bank.test/payment/merchants/pay.html\""
        ),
        "{body}"
    );
    assert!(
        body.contains("name=\"mdOrder\" value=\"a&#38;b\""),
        "{body}"
    );
    assert!(body.contains("name=\"lang\" value=\"en\""), "{body}");
    let csp = to_bank.header("content-security-policy");
    assert!(
        csp.contains("form-action 'self' https://pay.bank.test;"),
        "{csp}"
    );
    // Back from the bank's page (a GET with the bank's order id).
    let id = card_path
        .trim_start_matches("/payments/")
        .trim_end_matches("/card")
        .to_string();
    let back = c.get(&format!("/payments/{id}/return?orderId=a%26b")).await;
    assert_eq!(back.status, 303, "{}", back.body);
    assert!(back.location().ends_with("/receipt"), "{}", back.location());
}
