//! The pages a payer sees (issue 13, item 4), driving the real router in
//! process: the look-up at a GET address after the form's redirect, page
//! titles, card hints written from the validator's rules, one Kyrgyz term
//! set, the receipt (agency, purpose, grouped code, a colour per status, no
//! technical details), the services and their fees, and a wrong one-time
//! code typed again without typing the card again.

mod common;

use common::{json, portal, test_config, Client, Resp};
use tolom_acquirer_sandbox::{THREE_DS_OTP, VISA_APPROVE};
use tolom_core::card::{BrandTable, CardForm, CVV_DIGITS};
use tolom_core::catalogue::Catalogue;
use tolom_core::i18n::{text, Language, Text};
use tolom_core::money::Money;
use tolom_testkit::fixtures::Harness;

async fn setup() -> (Client, Harness, String) {
    let (app, h) = portal(test_config());
    let charge = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    (Client::new(app), h, charge.code.as_str().to_string())
}

/// The text of the page's `<title>`.
fn title(r: &Resp) -> String {
    let start = r.body.find("<title>").map_or(0, |i| i + "<title>".len());
    let end = r.body[start..]
        .find("</title>")
        .map_or(start, |i| start + i);
    r.body[start..end].to_string()
}

/// Pays `code` through the API with `pan`: the payment's id.
async fn pay_by_api(c: &mut Client, h: &Harness, code: &str, pan: &str) -> String {
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
        r#"{{"holder":"AIBEK ASANOV","pan":"{pan}","expiry":"12/30","cvv":"123","phone":"+996555123456","email":"aibek@example.kg"}}"#
    );
    let r = c
        .post_json(&format!("/api/v1/payments/{id}/card"), None, &card)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    id
}

/// From the code to the card form through the pages: the card form's path.
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
    assert_eq!(r.status, 303, "{}", r.body);
    r.location()
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

#[tokio::test]
async fn the_code_form_redirects_to_the_look_up_address_which_can_be_reloaded() {
    let (mut c, _h, code) = setup().await;
    c.accept_language = Some("en".into());
    let csrf = c.csrf().await;
    // Typed with blanks: the address carries the code's digits.
    let spaced = format!("{} {}", &code[..4], &code[4..]);
    let r = c
        .post_form("/lookup", &[("csrf", &csrf), ("code", &spaced)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("/pay/{code}"));
    // The result is a GET: reloading it is another GET, the same page.
    for _ in 0..2 {
        let page = c.get(&r.location()).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Сыдыкова А."));
        assert!(page.body.contains(&format!("href=\"/pay/{code}/terms\"")));
    }
    // A text that is not a code stays on the form with the error: nothing
    // is looked up, nothing redirected.
    let r = c
        .post_form("/lookup", &[("csrf", &csrf), ("code", "12ab")])
        .await;
    assert_eq!(r.status, 422);
    assert!(r.location().is_empty());
    assert!(r
        .body
        .contains(&*text(Text::CodeInvalidCharacters, Language::En)));
    assert!(r.body.contains("value=\"12ab\""));
}

#[tokio::test]
async fn titles_are_not_doubled_and_error_pages_say_error() {
    let (mut c, _h, code) = setup().await;
    for lang in Language::ALL {
        let site = text(Text::SiteName, lang);
        let error = text(Text::ErrorHeading, lang);
        let look_up = c.get(&format!("/pay/{code}?lang={}", lang.tag())).await;
        let t = title(&look_up);
        assert_eq!(
            t,
            format!("{} — {site}", text(Text::ChargeHeading, lang)),
            "{lang:?}"
        );
        assert_ne!(text(Text::ChargeHeading, lang), site, "{lang:?}");
        let parts: Vec<&str> = t.split(" — ").collect();
        assert!(parts.windows(2).all(|w| w[0] != w[1]), "doubled: {t}");
        // Pages that answer an error say so first.
        let missing = c.get(&format!("/no/such/page?lang={}", lang.tag())).await;
        assert_eq!(missing.status, 404);
        assert_eq!(
            title(&missing),
            format!(
                "{error}: {} — {site}",
                text(Text::ErrorNotFound, lang).trim_end_matches('.')
            )
        );
        let unknown = c
            .get(&format!("/pay/110000000000?lang={}", lang.tag()))
            .await;
        assert!(unknown.status.is_client_error());
        assert!(
            title(&unknown).starts_with(&format!("{error}: ")),
            "{}",
            title(&unknown)
        );
        let fine = c.get(&format!("/?lang={}", lang.tag())).await;
        assert!(!title(&fine).starts_with(&*error), "{}", title(&fine));
    }
}

#[tokio::test]
async fn card_hints_come_from_the_rules_the_validator_applies() {
    let (mut c, h, code) = setup().await;
    let brands = BrandTable::default();
    let (min, max) = brands.pan_lengths().expect("lengths");
    assert_eq!((min, max), (12, 19), "Maestro's 12 to Visa's 19");
    assert_eq!(brands.cvv_lengths(), Some((CVV_DIGITS, CVV_DIGITS)));
    let card_path = to_card_page(&mut c, &code).await;
    for lang in Language::ALL {
        let page = c.get(&format!("{card_path}?lang={}", lang.tag())).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains(&format!("{min}–{max}")),
            "{lang:?}: {}",
            page.body
        );
        assert!(!page.body.contains("13–19"), "{lang:?}");
        assert!(!page.body.contains("3 or 4") && !page.body.contains("3 или 4"));
        // The CVV field takes as many digits as the rule and is drawn short.
        assert!(page.body.contains(&format!(
            "id=\"cvv\" name=\"cvv\" value=\"\" autocomplete=\"cc-csc\" class=\"short\" maxlength=\"{CVV_DIGITS}\""
        )));
        // The expiry format in the hint is the one of the error message.
        let hint_start = page.body.find("id=\"expiry-hint\">").expect("hint") + 17;
        let hint =
            &page.body[hint_start..hint_start + page.body[hint_start..].find('<').unwrap_or(0)];
        let format = hint.split(',').next().unwrap_or("");
        assert!(
            text(Text::CardExpiryInvalid, lang).contains(format),
            "{lang:?}: hint {hint:?}"
        );
        // Its example is a date the validator accepts today.
        let example = hint.rsplit(' ').next().unwrap_or("");
        let form = CardForm {
            holder: "AIBEK ASANOV".into(),
            pan: VISA_APPROVE.into(),
            expiry: example.into(),
            cvv: "1".repeat(CVV_DIGITS),
            phone: "+996 555 123 456".into(),
            email: "a@example.kg".into(),
        };
        assert!(
            form.validate(tolom_core::ports::Clock::now(h.clock.as_ref()), &brands)
                .is_ok(),
            "{lang:?}: example {example:?} or the CVV length is refused"
        );
    }
    // The CVV length the hint names is the one the validator checks.
    let page = c.get(&card_path).await;
    let (csrf, key) = (page.hidden("csrf"), page.hidden("key"));
    let mut form = card(&csrf, &key, VISA_APPROVE);
    form[5] = ("cvv", "12");
    let short = c.post_form(&card_path, &form).await;
    assert_eq!(short.status, 422);
    assert!(short.body.contains("cvv-error"));
}

/// The Kyrgyz texts name the agreement as the seed does («Пайдалануу
/// макулдашуусу», never «келишим»), and write the expiry date one way
/// (АА/ЖЖ: ай/жыл), defined once as a Fluent term.
#[tokio::test]
async fn kyrgyz_uses_one_name_for_the_agreement_and_one_expiry_format() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tolom-core/locales/ky");
    let mut agreement_mentions = 0;
    for entry in std::fs::read_dir(&dir).expect("ky locales") {
        let path = entry.expect("entry").path();
        let source = std::fs::read_to_string(&path).expect("read");
        for (n, line) in source.lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            let lower = line.to_lowercase();
            let at = format!("{}:{}: {line}", path.display(), n + 1);
            assert!(
                !lower.contains("келишим"),
                "another name for the agreement: {at}"
            );
            for variant in ["мм/жж", "мм/гг", "mm/yy", "аа/жылжыл"] {
                assert!(!lower.contains(variant), "another expiry format: {at}");
            }
            if lower.contains("аа/жж") {
                assert!(
                    line.starts_with("-expiry-format = "),
                    "the format is written once, as the term: {at}"
                );
            }
            // Every mention of the agreement is the seed's «Пайдалануу
            // макулдашуусу» (in any case ending).
            let mut rest = lower.as_str();
            while let Some(i) = rest.find("макулдашуу") {
                agreement_mentions += 1;
                assert!(
                    rest[..i].trim_end().ends_with("пайдалануу"),
                    "«макулдашуу» without «Пайдалануу»: {at}"
                );
                rest = &rest[i + "макулдашуу".len()..];
            }
        }
    }
    assert!(
        agreement_mentions >= 5,
        "the agreement is named in the texts"
    );
    // What a Kyrgyz payer reads on the pages.
    let (mut c, _h, code) = setup().await;
    let terms = c.get(&format!("/pay/{code}/terms?lang=ky")).await;
    assert!(terms.body.contains("Пайдалануу макулдашуусу"));
    assert!(!terms.body.to_lowercase().contains("келишим"));
    let card_path = to_card_page(&mut c, &code).await;
    let card = c.get(&format!("{card_path}?lang=ky")).await;
    assert!(card.body.contains("АА/ЖЖ"));
    assert!(!card.body.contains("ММ/ЖЖ"));
}

#[tokio::test]
async fn the_receipt_shows_agency_purpose_the_grouped_code_and_no_technical_details() {
    let (mut c, h, code) = setup().await;
    let id = pay_by_api(&mut c, &h, &code, VISA_APPROVE).await;
    let catalogue = Catalogue::kyrgyz_default();
    let service = catalogue.service("passport-2020").expect("service");
    let grouped = tolom_core::code::PaymentCode::from_trusted(code.clone()).grouped();
    for lang in Language::ALL {
        let page = c
            .get(&format!("/payments/{id}/receipt?lang={}", lang.tag()))
            .await;
        assert_eq!(page.status, 200);
        let agency = service.agency.as_ref().expect("agency").get(lang);
        let purpose = service.purpose.as_ref().expect("purpose").get(lang);
        for (label, value) in [
            (Text::ReceiptLabelAgency, agency),
            (Text::ReceiptLabelPurpose, purpose),
            (Text::ReceiptLabelCode, grouped.as_str()),
        ] {
            assert!(
                page.body
                    .contains(&format!("<dt>{}</dt><dd>{value}</dd>", text(label, lang))),
                "{lang:?} {label:?}: {}",
                page.body
            );
        }
        // Paid: green.
        assert!(page
            .body
            .contains("<div class=\"ok\" role=\"status\" data-state=\"succeeded\">"));
        // No signature, signed content, JSON or acquirer for the payer.
        assert!(!page.body.contains(&*text(Text::ReceiptLabelAcquirer, lang)));
        assert!(!page
            .body
            .contains(&*text(Text::ReceiptLabelSignature, lang)));
        assert!(!page.body.contains("receipt.json"));
        assert!(!page.body.contains("sandbox"));
        assert!(page.body.contains("id=\"verify-link\""));
    }
    // The JSON and the PDF are as they were: the code as signed.
    let j = json(&c.get(&format!("/payments/{id}/receipt.json")).await);
    assert_eq!(j["code"], code.as_str());
    assert_eq!(j["acquirer"], "sandbox");
    // Refunded in part: another colour, and the status says so.
    h.tolom
        .refund(
            id.parse().expect("uuid"),
            Some(Money::som(100)),
            "test",
            "r-1",
        )
        .await
        .expect("refund");
    let page = c.get(&format!("/payments/{id}/receipt?lang=en")).await;
    assert!(
        page.body
            .contains("<div class=\"back\" role=\"status\" data-state=\"partially_refunded\">"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("class=\"ok\""));
}

#[tokio::test]
async fn the_services_page_lists_fees_by_urgency_and_marks_unpublished_ones() {
    let (mut c, _h, _) = setup().await;
    let catalogue = Catalogue::kyrgyz_default();
    for lang in Language::ALL {
        let page = c.get(&format!("/services?lang={}", lang.tag())).await;
        assert_eq!(page.status, 200);
        assert_eq!(
            title(&page),
            format!(
                "{} — {}",
                text(Text::ServicesHeading, lang),
                text(Text::SiteName, lang)
            )
        );
        for s in catalogue.services() {
            assert!(page.body.contains(&format!("<section id=\"{}\"", s.id)));
            assert!(page.body.contains(s.name.get(lang)), "{lang:?} {}", s.id);
            for t in catalogue.tariffs_of(&s.id) {
                assert!(
                    page.body.contains(t.name.get(lang)),
                    "{lang:?} {}",
                    t.urgency
                );
                let total = t.total().expect("total");
                // A placeholder is not shown as a fee.
                assert_eq!(
                    page.body
                        .contains(&format!("{} {}", total.grouped(), total.currency())),
                    t.published,
                    "{lang:?} {} {}",
                    s.id,
                    t.urgency
                );
            }
        }
        // The 3-hour ID card: 4 140.00; the Meken-card's two parts.
        assert!(page.body.contains(&Money::som(4140).grouped()));
        assert!(page.body.contains(&Money::som(1315).grouped()));
        let unpublished = catalogue
            .services()
            .iter()
            .flat_map(|s| catalogue.tariffs_of(&s.id))
            .filter(|t| !t.published)
            .count();
        assert!(unpublished > 0);
        assert_eq!(
            page.body.matches("data-published=\"false\"").count(),
            unpublished
        );
        assert_eq!(
            page.body
                .matches(&*text(Text::ServicesUnpublished, lang))
                .count(),
            unpublished
        );
        // Every page links to it.
        let home = c.get(&format!("/?lang={}", lang.tag())).await;
        assert!(home.body.contains("href=\"/services\""));
    }
}

#[tokio::test]
async fn a_wrong_one_time_code_is_typed_again_without_the_card() {
    let (mut c, _h, code) = setup().await;
    c.accept_language = Some("ru".into());
    let card_path = to_card_page(&mut c, &code).await;
    let page = c.get(&card_path).await;
    let r = c
        .post_form(
            &card_path,
            &card(&page.hidden("csrf"), &page.hidden("key"), THREE_DS_OTP),
        )
        .await;
    assert_eq!(r.status, 303);
    let confirm_path = r.location();
    assert!(confirm_path.ends_with("/confirm"));
    let confirm = c.get(&confirm_path).await;
    let csrf = confirm.hidden("csrf");
    // An empty code: asked for, not sent.
    let empty = c
        .post_form(&confirm_path, &[("csrf", &csrf), ("otp", "")])
        .await;
    assert_eq!(empty.status, 422);
    assert!(empty
        .body
        .contains(&*text(Text::PaymentOtpRequired, Language::Ru)));
    // A wrong code: the same page, saying the code was not accepted.
    let wrong = c
        .post_form(&confirm_path, &[("csrf", &csrf), ("otp", "999999")])
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong
        .body
        .contains(&*text(Text::PaymentOtpWrong, Language::Ru)));
    assert!(wrong.body.contains("id=\"otp\""));
    assert!(wrong.body.contains("aria-invalid=\"true\""));
    assert!(!wrong.body.contains("name=\"pan\""), "no card form");
    // The right code then: paid, with no card typed again.
    let right = c
        .post_form(&confirm_path, &[("csrf", &csrf), ("otp", "123456")])
        .await;
    assert_eq!(right.status, 303);
    assert!(
        right.location().ends_with("/receipt"),
        "{}",
        right.location()
    );
    let receipt = c.get(&right.location()).await;
    assert!(receipt.body.contains("data-state=\"succeeded\""));
}

/// A text as askama escapes it in a page.
fn escaped(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('\'', "&#39;")
        .replace('"', "&#34;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
}

/// The last four digits of a card number.
fn last4(pan: &str) -> &str {
    &pan[pan.len() - 4..]
}

#[tokio::test]
async fn a_paid_code_says_paid_and_when_and_opens_its_receipt_after_a_proof() {
    let (mut c, h, code) = setup().await;
    let id = pay_by_api(&mut c, &h, &code, VISA_APPROVE).await;
    let paid_at = h
        .tolom
        .payment(id.parse().expect("uuid"))
        .await
        .expect("payment")
        .succeeded_at()
        .expect("paid");
    for lang in Language::ALL {
        let page = c.get(&format!("/pay/{code}?lang={}", lang.tag())).await;
        assert_eq!(page.status, 200);
        assert!(title(&page).starts_with(&*text(Text::ChargePaidHeading, lang)));
        assert!(page
            .body
            .contains("<div class=\"ok\" role=\"status\" data-status=\"paid\">"));
        assert!(page.body.contains(&format!(
            "<span data-paid-at=\"true\">{}</span>",
            tolom_core::time::format_bishkek(paid_at)
        )));
        // Not "to pay", not "pay by", not an error.
        for gone in [Text::ChargeTotal, Text::ChargeExpires, Text::ChargePay] {
            assert!(
                !page.body.contains(&format!(">{}<", text(gone, lang))),
                "{lang:?} {gone:?}"
            );
        }
        assert!(page.body.contains(&*text(Text::ChargeTotalPaid, lang)));
        assert!(!page.body.contains("class=\"bad\""));
        assert!(page
            .body
            .contains(&format!("action=\"/pay/{code}/receipt\"")));
        assert!(page.body.contains(&*text(Text::ReceiptAgainIntro, lang)));
    }
    c.accept_language = Some("en".into());
    let page = c.get(&format!("/pay/{code}")).await;
    let csrf = page.hidden("csrf");
    let receipt = format!("/payments/{id}/receipt");
    let path = format!("/pay/{code}/receipt");
    // Wrong proofs: clear errors next to the field, nothing opened.
    for (proof, error) in [
        ("someone@example.kg", Text::ProofMismatch),
        ("0000", Text::ProofMismatch),
        ("11", Text::ProofRequired),
        ("", Text::ProofRequired),
    ] {
        let r = c
            .post_form(&path, &[("csrf", &csrf), ("proof", proof)])
            .await;
        assert_eq!(r.status, 422, "{proof}: {} {}", r.status, r.body);
        assert!(r.location().is_empty());
        assert!(
            r.body.contains(&escaped(&text(error, Language::En))),
            "{proof}"
        );
        assert!(r.body.contains("id=\"proof-error\""));
        assert!(title(&r).starts_with(&*text(Text::ErrorHeading, Language::En)));
        if let Some(i) = r.body.find(&id) {
            panic!(
                "{proof}: the payment stays hidden: {}",
                &r.body[i.saturating_sub(300)..i + 40]
            );
        }
    }
    // The e-mail given when paying (any case), or the card's last four.
    for proof in [
        "aibek@example.kg".to_string(),
        " AIBEK@Example.KG ".to_string(),
        last4(VISA_APPROVE).to_string(),
    ] {
        let r = c
            .post_form(&path, &[("csrf", &csrf), ("proof", &proof)])
            .await;
        assert_eq!(r.status, 303, "{proof}: {}", r.body);
        assert_eq!(r.location(), receipt);
    }
    // A form without its token is refused.
    let r = c.post_form(&path, &[("proof", "aibek@example.kg")]).await;
    assert_eq!(r.status, 403);
    // An unpaid code has no receipt to open: its page.
    let unpaid = h.charge("id-card-2017", "Асанов Айбек").await;
    let unpaid = unpaid.code.as_str();
    let r = c
        .post_form(
            &format!("/pay/{unpaid}/receipt"),
            &[("csrf", &csrf), ("proof", "aibek@example.kg")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), format!("/pay/{unpaid}"));
}

#[tokio::test]
async fn receipt_proofs_take_from_the_look_up_limit() {
    let mut cfg = test_config();
    cfg.lookup_rate_per_minute = 1;
    cfg.lookup_burst = 3;
    let (app, h) = portal(cfg);
    let code = h
        .charge("passport-2020", "Сыдыкова Айгүл Бакытовна")
        .await
        .code
        .as_str()
        .to_string();
    let mut c = Client::new(app);
    c.accept_language = Some("en".into());
    pay_by_api(&mut c, &h, &code, VISA_APPROVE).await;
    let csrf = c.csrf().await;
    let path = format!("/pay/{code}/receipt");
    // The payment's start took one token; two wrong guesses take the rest.
    for guess in ["2222", "3333"] {
        let r = c
            .post_form(&path, &[("csrf", &csrf), ("proof", guess)])
            .await;
        assert!(r.status == 422 || r.status == 429, "{}", r.status);
    }
    // Past the limit even the right proof is refused, with Retry-After.
    let r = c
        .post_form(&path, &[("csrf", &csrf), ("proof", last4(VISA_APPROVE))])
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(!r.header("retry-after").is_empty());
    assert!(r.location().is_empty());
    assert!(r
        .body
        .contains(&*text(Text::RequestRateLimited, Language::En)));
    // The page of the code too.
    assert_eq!(c.get(&format!("/pay/{code}")).await.status, 429);
}

/// Two tabs of one browser: the first leaves its card form open, the second
/// (after the card-entry window) starts again and pays. The first then
/// submits: it is told "already paid" with the way to the receipt, not
/// "session expired — start again", and its status page says the same.
#[tokio::test]
async fn a_second_tab_that_submits_after_the_first_paid_is_told_already_paid() {
    let (mut c, h, code) = setup().await;
    c.accept_language = Some("en".into());
    let first = to_card_page(&mut c, &code).await;
    let first_form = c.get(&first).await;
    // The first tab is left alone past the card-entry window.
    h.clock.advance(chrono::Duration::minutes(11));
    let second = to_card_page(&mut c, &code).await;
    assert_ne!(first, second, "a new payment");
    let form = c.get(&second).await;
    let paid = c
        .post_form(
            &second,
            &card(&form.hidden("csrf"), &form.hidden("key"), VISA_APPROVE),
        )
        .await;
    assert_eq!(paid.status, 303);
    assert!(paid.location().ends_with("/receipt"));
    // The first tab submits its card now.
    let late = c
        .post_form(
            &first,
            &card(
                &first_form.hidden("csrf"),
                &first_form.hidden("key"),
                VISA_APPROVE,
            ),
        )
        .await;
    assert_eq!(late.status, 303, "{}", late.body);
    assert_eq!(late.location(), format!("/pay/{code}"));
    let page = c.get(&late.location()).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-status=\"paid\""));
    assert!(page
        .body
        .contains(&format!("action=\"/pay/{code}/receipt\"")));
    assert!(!page
        .body
        .contains(&*text(Text::PaymentExpired, Language::En)));
    // The first payment's own status page: "already paid", to the code's
    // page, no "try again".
    let first_id = first
        .trim_start_matches("/payments/")
        .trim_end_matches("/card");
    let status = c.get(&format!("/payments/{first_id}")).await;
    assert_eq!(status.status, 200);
    assert!(status.body.contains("data-code=\"charge.already_paid\""));
    assert!(status.body.contains(&format!("href=\"/pay/{code}\"")));
    assert!(!status.body.contains(&format!("href=\"/pay/{code}/terms\"")));
    // And a start from an agreement page left open: the code's page.
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
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("/pay/{code}"));
}
