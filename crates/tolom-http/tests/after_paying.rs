//! After paying: the card form's address (reached again with Back) and the
//! one-time-code page's answer "already paid" with the receipt link; the
//! card form loads the script that keeps it out of the back/forward cache
//! with the card in it; every page of the flow is `no-store`. (The browser
//! side is `tolom-cli/tests/e2e_back.rs`, in real Chromium.)

mod common;

use common::{portal, test_config, Client};
use tolom_acquirer_sandbox::{THREE_DS_OTP, VISA_APPROVE};
use tolom_core::i18n::{text, Language, Text};

/// Pays a new code with `pan` (and the one-time code when asked); returns
/// the card form's and the receipt's addresses.
async fn pay(c: &mut Client, code: &str, pan: &str) -> (String, String) {
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
    let card_path = r.location();
    let form = c.get(&card_path).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.header("cache-control"), "no-store", "the card form");
    assert!(
        form.body
            .contains("<script src=\"/static/cardform.js\" defer></script>"),
        "the card form loads its script"
    );
    assert!(form.body.contains("data-card-form"));
    let mut r = c
        .post_form(
            &card_path,
            &[
                ("csrf", &form.hidden("csrf")),
                ("key", &form.hidden("key")),
                ("holder", "AIBEK ASANOV"),
                ("pan", pan),
                ("expiry", "12/30"),
                ("cvv", "123"),
                ("phone", "+996 555 123 456"),
                ("email", "aibek@example.kg"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    if r.location().ends_with("/confirm") {
        let confirm = c.get(&r.location()).await;
        assert_eq!(confirm.header("cache-control"), "no-store");
        r = c
            .post_form(
                &r.location(),
                &[("csrf", &confirm.hidden("csrf")), ("otp", "123456")],
            )
            .await;
    }
    assert!(r.location().ends_with("/receipt"), "{}", r.location());
    (card_path, r.location())
}

/// The page at `path` says "already paid" with the link to `receipt`, and
/// nothing of the card.
async fn already_paid(c: &mut Client, path: &str, receipt: &str, pan: &str) {
    let r = c.get(path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    assert_eq!(r.header("cache-control"), "no-store", "{path}");
    assert!(
        r.body.contains("data-code=\"charge.already_paid\""),
        "{path}: {}",
        r.body
    );
    assert!(
        r.body
            .contains(&*text(Text::ChargeAlreadyPaid, Language::Ru)),
        "{path}: in the payer's language"
    );
    assert!(
        r.body.contains(&format!("href=\"{receipt}\"")),
        "{path}: the receipt link: {}",
        r.body
    );
    assert!(!r.body.contains("name=\"pan\""), "{path}: no card form");
    assert!(!r.body.contains(pan), "{path}: no card number");
}

#[tokio::test]
async fn the_card_form_of_a_paid_payment_says_already_paid_with_the_receipt_link() {
    let (app, h) = portal(test_config());
    let mut c = Client::new(app);
    c.accept_language = Some("ru".into());
    let code = h
        .charge("passport-2020", "Асанов Айбек")
        .await
        .code
        .as_str()
        .to_string();
    let (card, receipt) = pay(&mut c, &code, VISA_APPROVE).await;
    already_paid(&mut c, &card, &receipt, VISA_APPROVE).await;
    let r = c.get(&receipt).await;
    assert_eq!(r.header("cache-control"), "no-store", "the receipt");

    // Through the one-time code: its page too.
    let code = h
        .charge("passport-2020", "Асанов Айбек")
        .await
        .code
        .as_str()
        .to_string();
    let (card, receipt) = pay(&mut c, &code, THREE_DS_OTP).await;
    already_paid(&mut c, &card, &receipt, THREE_DS_OTP).await;
    let confirm = card.replace("/card", "/confirm");
    already_paid(&mut c, &confirm, &receipt, THREE_DS_OTP).await;
}

#[tokio::test]
async fn the_card_forms_script_is_served_and_allowed() {
    let (app, _h) = portal(test_config());
    let mut c = Client::new(app);
    let js = c.get("/static/cardform.js").await;
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").starts_with("text/javascript"));
    assert!(js.body.contains("pagehide") && js.body.contains("pageshow"));
    let home = c.get("/").await;
    assert!(home
        .header("content-security-policy")
        .contains("script-src 'self'"));
}
