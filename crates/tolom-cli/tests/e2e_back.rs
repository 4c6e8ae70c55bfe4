//! "Back after paying" in a real browser: `tolom serve` configured as an
//! operator configures it (a TOML file, the BPC emulator as the bank over
//! real HTTP, `tolom migrate` first) and headless Chromium over WebDriver.
//!
//! A payer types a card into the portal's form, pays, lands on the receipt
//! and presses the browser's Back button. The tab must then show "already
//! paid" with a link to the receipt, and the card number must be nowhere in
//! the page: not in its markup and not in any form field's live value (the
//! back/forward cache keeps a page's typed values, which its markup does
//! not show). The card form and the pages after it are `no-store`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (skipped loudly without
//! them, failing in CI).

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::deployed::{free_port, Instance, Site, BPC_PASSWORD, BPC_USER};
use support::webdriver::{browser, start_chromedriver, Driver};
use tolom_bpc_emulator::cards::VISA_APPROVE;
use tolom_bpc_emulator::{Emulator, EmulatorConfig};
use tolom_core::i18n::{text, Language, Text};

const ENTER: &str = "\u{E007}";

/// What the page in the tab is, seen from inside it: its address, every
/// form field's live value, whether it came from the back/forward cache
/// (the marker set on the card form survives only there) and its text.
async fn inside(wd: &Driver) -> Value {
    wd.cmd(
        reqwest::Method::POST,
        "/execute/sync",
        Some(json!({
            "script": "var nav = performance.getEntriesByType('navigation')[0]; \
                       return { url: location.href, \
                                restored: window.__tolomMarker === 1, \
                                navigation: nav ? nav.type : '', \
                                values: Array.prototype.map.call( \
                                    document.querySelectorAll('input, textarea, select'), \
                                    function (e) { return e.name + '=' + e.value; }), \
                                text: document.body ? document.body.innerText : '' };",
            "args": []
        })),
    )
    .await
}

/// Waits until `check` holds for what [`inside`] sees (up to 15 s); the last
/// look otherwise.
async fn wait_inside(wd: &Driver, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v = inside(wd).await;
        if check(&v) || Instant::now() > deadline {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_after_paying_shows_already_paid_and_no_card_number() {
    let Some((chromium, driver)) =
        browser("back_after_paying_shows_already_paid_and_no_card_number")
    else {
        return;
    };
    let bank_port = free_port();
    let emu = Emulator::start(
        EmulatorConfig::default()
            .with_credentials(BPC_USER, BPC_PASSWORD)
            .with_listen(([127, 0, 0, 1], bank_port).into())
            .with_public_url(&format!("http://localhost:{bank_port}")),
    )
    .await
    .expect("emulator");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let site = Site::new(&emu, "sqlite", None, &base);
    site.migrate();
    let codes: Vec<String> = Language::ALL
        .iter()
        .map(|_| site.issue("passport-2020", "Асанов Айбек"))
        .collect();
    let _serve = Instance::start(&site, port, &[]);
    let wd = start_chromedriver(&driver, &chromium, &site.dir.path().join("profile")).await;
    let http = support::deployed::http();

    for (lang, code) in Language::ALL.into_iter().zip(codes) {
        // The code, "Pay", the agreement: the card form.
        wd.go(&format!("{base}/?lang={}", lang.tag())).await;
        wd.type_into("#code", &format!("{code}{ENTER}")).await;
        wd.type_into("a.button[href$='/terms']", ENTER).await;
        wd.wait_url("/terms").await;
        wd.type_into("#accept", " ").await;
        wd.type_into("#accept", ENTER).await;
        wd.wait_url("/card").await;
        let card_url = wd.url().await;
        let id = card_url
            .strip_prefix(&format!("{base}/payments/"))
            .and_then(|rest| rest.strip_suffix("/card"))
            .unwrap_or_else(|| panic!("card form at {card_url}"))
            .to_string();
        let receipt = format!("/payments/{id}/receipt");
        // The card form is never stored by a cache.
        let r = http.get(&card_url).send().await.expect("card form");
        assert_eq!(
            r.headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{lang}: the card form is no-store"
        );
        // A marker that only a page restored from the back/forward cache
        // still has (a reloaded page starts with a fresh `window`).
        wd.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": "window.__tolomMarker = 1; return 1;", "args": []})),
        )
        .await;
        wd.type_into("#holder", "AIBEK ASANOV").await;
        wd.type_into("#pan", VISA_APPROVE).await;
        wd.type_into("#expiry", "12/30").await;
        wd.type_into("#cvv", "123").await;
        wd.type_into("#phone", "+996 555 123 456").await;
        wd.type_into("#email", &format!("aibek@example.kg{ENTER}"))
            .await;
        wd.wait_url(&receipt).await;
        let paid = text(Text::ChargeAlreadyPaid, lang);
        assert!(
            wd.source()
                .await
                .contains(&*text(Text::ReceiptHeading, lang)),
            "{lang}: the receipt"
        );
        for (what, url) in [("the receipt", format!("{base}{receipt}"))] {
            let r = http.get(&url).send().await.expect("page");
            assert_eq!(
                r.headers()
                    .get("cache-control")
                    .and_then(|v| v.to_str().ok()),
                Some("no-store"),
                "{lang}: {what} is no-store"
            );
        }

        // Back.
        wd.cmd(reqwest::Method::POST, "/back", Some(json!({})))
            .await;
        let seen = wait_inside(&wd, |v| {
            !v["url"].as_str().unwrap_or("").ends_with(&receipt)
                && v["text"].as_str().unwrap_or("").contains(&*paid)
        })
        .await;
        let digits = VISA_APPROVE.replace(' ', "");
        let values = seen["values"].to_string();
        assert!(
            !values.contains(&digits) && !values.contains("=123\""),
            "{lang}: no card data in any field after Back: {seen:#}"
        );
        let source = wd.source().await;
        assert!(
            !source.contains(&digits),
            "{lang}: no card number in the page after Back"
        );
        assert!(
            seen["text"].as_str().unwrap_or("").contains(&*paid),
            "{lang}: \"{paid}\" after Back: {seen:#}"
        );
        let link = wd.element(&format!("a[href='{receipt}']")).await;
        assert!(!link.is_empty(), "{lang}: the receipt link after Back");
        assert!(
            source.contains(&format!("lang=\"{}\"", lang.tag())),
            "{lang}: in the payer's language"
        );
        // The link leads to the receipt.
        wd.cmd(
            reqwest::Method::POST,
            &format!("/element/{link}/click"),
            Some(json!({})),
        )
        .await;
        wd.wait_url(&receipt).await;
    }
    let _ = wd.cmd(reqwest::Method::DELETE, "", None).await;
}
