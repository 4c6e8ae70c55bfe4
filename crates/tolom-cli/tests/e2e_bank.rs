//! The deployed shape in a real browser: `tolom serve` configured as an
//! operator configures it (a TOML file, `[acquirer] kind = "bpc"` with the
//! BPC emulator's `base_url`, `[server] public_url`, `tolom migrate`
//! first), the emulator as the bank over real HTTP on another site than
//! the portal (`localhost` against `127.0.0.1`, so cookies and the
//! Content-Security-Policy meet a foreign bank as in production), and
//! headless Chromium over WebDriver going through the portal's pages with
//! the keyboard and through the bank's own pages: the 3-D Secure (ACS)
//! page and the hosted payment page.
//!
//! In each of ky, ru and en a payer
//! 1. pays with a card without 3-D Secure and lands on the receipt;
//! 2. pays with a 3-D Secure card, types the right one-time code on the
//!    bank's ACS page and is back on the portal's receipt;
//! 3. types a wrong code there, is back on the payment's status page
//!    ("declined: not confirmed"), and pays the code again;
//! 4. pays with a declined card and sees the decline reason;
//! 5. chooses "pay on the bank's page", types the card on the emulator's
//!    hosted page and is back on the portal's receipt.
//!
//! Every payment settles on the payer's return (background jobs are off,
//! so nothing is left for reconciliation), the bank is given the payment's
//! own return route, and the browser's console has no
//! Content-Security-Policy violation on any page (checked through
//! chromedriver's log, which a canary proves reports them). Screenshots of
//! the end pages go to `target/e2e/bank-<flow>-<lang>.png`. Needs Debian's
//! `chromium` and `chromium-driver` (skipped loudly without them, failing
//! in CI).

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use support::deployed::{free_port, Instance, Site, BPC_PASSWORD, BPC_USER};
use support::webdriver::{browser, start_chromedriver, Driver};
use tolom_bpc_emulator::cards::{DECLINE_INSUFFICIENT_FUNDS, VISA_3DS, VISA_APPROVE};
use tolom_bpc_emulator::{Emulator, EmulatorConfig, Endpoint, RunningEmulator, DEFAULT_OTP};
use tolom_core::i18n::{text, ErrorCode, Language, Text};
use tolom_core::payment::{DeclineReason, PaymentState};

/// The deployment under test and the browser.
struct World {
    emu: RunningEmulator,
    site: Site,
    serve: Instance,
    wd: Driver,
    /// The portal's public URL (`http://127.0.0.1:PORT`).
    base: String,
    shots: PathBuf,
}

/// The text of the first element matching `css`.
async fn text_of(wd: &Driver, css: &str) -> String {
    let id = wd.element(css).await;
    wd.cmd(reqwest::Method::GET, &format!("/element/{id}/text"), None)
        .await
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// Presses a key on the element (Enter on a link or a button follows or
/// submits it, as a payer on the keyboard does).
async fn press(wd: &Driver, css: &str, key: &str) {
    wd.type_into(css, key).await;
}

const ENTER: &str = "\u{E007}";

impl World {
    /// Waits until the browser is at exactly `url` (query and fragment
    /// aside).
    async fn wait_at(&self, url: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let now = self.wd.url().await;
            let bare = now.split(['?', '#']).next().unwrap_or("");
            if bare == url {
                return;
            }
            if Instant::now() > deadline {
                panic!("never reached {url}: at {now} {}", self.wd.source().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fails on any Content-Security-Policy report in the browser console
    /// since the last check; `at` says where.
    async fn no_csp_violation(&self, at: &str) {
        let log = self.wd.browser_log().await;
        let bad: Vec<_> = log
            .iter()
            .filter(|(_, source, message)| {
                source == "security" || message.contains("Content Security Policy")
            })
            .collect();
        assert!(bad.is_empty(), "{at}: CSP violations: {bad:#?}");
    }

    /// The code on the home page, "Pay", the agreement accepted: the card
    /// form of a new payment, whose id is returned.
    async fn to_card_form(&self, lang: Language, code: &str) -> String {
        let wd = &self.wd;
        wd.go(&format!("{}/?lang={}", self.base, lang.tag())).await;
        wd.type_into("#code", &format!("{code}{ENTER}")).await;
        press(wd, "a.button[href$='/terms']", ENTER).await;
        wd.wait_url("/terms").await;
        wd.type_into("#accept", " ").await;
        wd.type_into("#accept", ENTER).await;
        wd.wait_url("/card").await;
        let page = wd.source().await;
        assert!(page.contains(&format!("lang=\"{}\"", lang.tag())), "{lang}");
        self.no_csp_violation(&format!("{lang}: card form")).await;
        let url = wd.url().await;
        let id = url
            .strip_prefix(&format!("{}/payments/", self.base))
            .and_then(|rest| rest.strip_suffix("/card"))
            .unwrap_or_else(|| panic!("card form at {url}"));
        id.to_string()
    }

    /// Types a card into the portal's form and submits it with Enter.
    async fn type_card(&self, pan: &str) {
        let wd = &self.wd;
        wd.type_into("#holder", "AIBEK ASANOV").await;
        wd.type_into("#pan", pan).await;
        wd.type_into("#expiry", "12/30").await;
        wd.type_into("#cvv", "123").await;
        wd.type_into("#phone", "+996 555 123 456").await;
        wd.type_into("#email", &format!("aibek@example.kg{ENTER}"))
            .await;
    }

    /// On the bank's ACS page (reached through the portal's redirect
    /// page), types `otp` and confirms with Enter.
    async fn on_acs(&self, id: &str, otp: &str) {
        let wd = &self.wd;
        wd.wait_url(&format!("{}/acs", self.emu.root_url())).await;
        assert!(
            text_of(wd, "#maskedPan").await.ends_with("3063"),
            "the ACS page shows the card"
        );
        self.no_csp_violation(&format!("ACS page of {id}")).await;
        wd.type_into("#otp", &format!("{otp}{ENTER}")).await;
    }

    /// On the bank's hosted payment page (reached through the portal's
    /// redirect page), types the card and pays with Enter.
    async fn on_hosted_page(&self, id: &str, pan: &str) {
        let wd = &self.wd;
        wd.wait_url(&format!(
            "{}{}",
            self.emu.root_url(),
            tolom_bpc_emulator::PAY_PAGE_PATH
        ))
        .await;
        wd.element("#pan").await;
        self.no_csp_violation(&format!("hosted page of {id}")).await;
        wd.type_into("#pan", pan).await;
        wd.type_into("#mm", "12").await;
        wd.type_into("#yyyy", "2030").await;
        wd.type_into("#text", "AIBEK ASANOV").await;
        wd.type_into("#cvc", "123").await;
        wd.type_into("#email", &format!("aibek@example.kg{ENTER}"))
            .await;
    }

    /// The receipt of payment `id`, reached at once: paid, with the code.
    async fn on_receipt(&self, lang: Language, id: &str, code: &str, masked: Option<&str>) {
        self.wait_at(&format!("{}/payments/{id}/receipt", self.base))
            .await;
        let page = self.wd.source().await;
        assert!(page.contains(&format!("lang=\"{}\"", lang.tag())), "{lang}");
        assert!(
            page.contains(&*text(Text::ReceiptHeading, lang)),
            "{lang}: receipt heading"
        );
        assert!(
            page.contains(&*text(PaymentState::Succeeded.text(), lang)),
            "{lang}: paid"
        );
        let grouped = tolom_core::code::PaymentCode::from_trusted(code).grouped();
        assert!(
            page.contains(&grouped),
            "{lang}: code on the receipt, grouped"
        );
        if let Some(masked) = masked {
            assert!(page.contains(masked), "{lang}: masked card {masked}");
        }
        assert!(page.contains("<svg"), "{lang}: QR code");
        self.no_csp_violation(&format!("{lang}: receipt of {id}"))
            .await;
    }

    /// The status page of payment `id`, reached at once: declined for
    /// `reason`, with its text, and "try again".
    async fn on_declined(&self, lang: Language, id: &str, reason: DeclineReason) {
        self.wait_at(&format!("{}/payments/{id}", self.base)).await;
        let wd = &self.wd;
        let state = wd.element("[data-state]").await;
        let state = wd
            .cmd(
                reqwest::Method::GET,
                &format!("/element/{state}/attribute/data-state"),
                None,
            )
            .await;
        assert_eq!(state, json!("declined"), "{lang}: {id} declined");
        assert_eq!(
            text_of(wd, &format!("[data-code='{}']", reason.code())).await,
            *text(reason.text(), lang),
            "{lang}: the reason, translated"
        );
        assert_eq!(
            text_of(wd, "a.button[href$='/terms']").await,
            *text(Text::StatusTryAgain, lang),
            "{lang}: try again"
        );
        self.no_csp_violation(&format!("{lang}: status of {id}"))
            .await;
    }

    /// The URL the bank was given to send the payer back to, for our order
    /// number `id`.
    fn return_url_given(&self, id: &str) -> String {
        let order = id.replace('-', "");
        self.emu
            .request_log()
            .iter()
            .filter(|e| e.endpoint == Endpoint::Register)
            .find(|e| {
                e.param("orderNumber")
                    .is_some_and(|n| n == id || n == order)
            })
            .and_then(|e| e.param("returnUrl").map(str::to_string))
            .unwrap_or_else(|| panic!("no register.do for {id}"))
    }

    async fn shot(&self, flow: &str, lang: Language) {
        self.wd
            .screenshot(&self.shots.join(format!("bank-{flow}-{}.png", lang.tag())))
            .await;
    }
}

/// Starts the emulator, a site configured for it, `tolom migrate`, the
/// codes, `tolom serve` and the browser.
async fn world(
    chromium: &std::path::Path,
    driver: &std::path::Path,
    codes: usize,
) -> (World, Vec<String>) {
    // The bank on another site than the portal, as in production: the
    // emulator listens on 127.0.0.1 and is addressed as `localhost`.
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
    // No background jobs during the test: every payment must settle on the
    // payer's return, not by a later reconciliation round.
    let config = std::fs::read_to_string(&site.config).expect("config");
    assert!(config.contains("jobs_interval_secs = 1\n"), "{config}");
    std::fs::write(
        &site.config,
        config.replace("jobs_interval_secs = 1\n", "jobs_interval_secs = 86400\n"),
    )
    .expect("config");
    site.migrate();
    let codes = (0..codes)
        .map(|_| site.issue("passport-2020", "Асанов Айбек"))
        .collect();
    let serve = Instance::start(&site, port, &[]);
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let wd = start_chromedriver(driver, chromium, &site.dir.path().join("profile")).await;
    (
        World {
            emu,
            site,
            serve,
            wd,
            base,
            shots,
        },
        codes,
    )
}

/// The console check is not vacuous: an image from elsewhere on a portal
/// page is reported, and the report is still in the log after the browser
/// went on to the bank's site (so a check on the bank's page covers the
/// portal's redirect page before it).
async fn canary(w: &World) {
    w.wd.go(&format!("{}/?lang=en", w.base)).await;
    w.wd.element("#code").await;
    w.no_csp_violation("home page").await;
    let reported =
        w.wd.cmd(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({
                "script": "var done = arguments[0]; \
                           document.addEventListener('securitypolicyviolation', \
                               function (e) { done(e.violatedDirective); }); \
                           var i = document.createElement('img'); \
                           i.src = 'http://127.0.0.2:9/canary.png'; \
                           document.body.appendChild(i);",
                "args": []
            })),
        )
        .await;
    assert_eq!(reported, json!("img-src"), "the canary violates img-src");
    w.wd.go(&format!("{}/emulator/cards", w.emu.root_url()))
        .await;
    w.wd.wait_url("/emulator/cards").await;
    let log = w.wd.browser_log().await;
    assert!(
        log.iter().any(|(_, source, message)| source == "security"
            && message.contains("Content Security Policy")
            && message.contains("canary.png")),
        "the browser log reports CSP violations: {log:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pays_through_the_banks_pages_in_chromium_in_every_language() {
    let Some((chromium, driver)) =
        browser("pays_through_the_banks_pages_in_chromium_in_every_language")
    else {
        return;
    };
    let (mut w, codes) = world(&chromium, &driver, 5 * Language::ALL.len()).await;
    canary(&w).await;
    let mut codes = codes.into_iter();
    for lang in Language::ALL {
        // 1. No 3-D Secure: straight to the receipt.
        let code = codes.next().expect("code");
        let id = w.to_card_form(lang, &code).await;
        w.type_card(VISA_APPROVE).await;
        w.on_receipt(lang, &id, &code, Some("4111********1111"))
            .await;
        // The bank is given the payment's own return route (the order
        // number is the payment id, in its short form).
        let given = w.return_url_given(&id);
        let order = given
            .strip_prefix(&format!("{}/payments/", w.base))
            .and_then(|rest| rest.strip_suffix("/return"))
            .unwrap_or_else(|| panic!("return URL {given}"));
        assert_eq!(
            uuid::Uuid::parse_str(order).ok(),
            uuid::Uuid::parse_str(&id).ok(),
            "{given}"
        );
        w.shot("approved", lang).await;

        // 2. 3-D Secure, the right code on the bank's page.
        let code = codes.next().expect("code");
        let id = w.to_card_form(lang, &code).await;
        w.type_card(VISA_3DS).await;
        w.on_acs(&id, DEFAULT_OTP).await;
        w.on_receipt(lang, &id, &code, Some("4000********3063"))
            .await;
        w.shot("3ds", lang).await;

        // 3. 3-D Secure, a wrong code: declined, and the code is payable
        // again.
        let code = codes.next().expect("code");
        let id = w.to_card_form(lang, &code).await;
        w.type_card(VISA_3DS).await;
        w.on_acs(&id, "000000").await;
        w.on_declined(lang, &id, DeclineReason::AuthenticationFailed)
            .await;
        w.shot("3ds-wrong-code", lang).await;
        press(&w.wd, "a.button[href$='/terms']", ENTER).await;
        w.wd.wait_url("/terms").await;
        w.wd.type_into("#accept", " ").await;
        w.wd.type_into("#accept", ENTER).await;
        w.wd.wait_url("/card").await;
        let again =
            w.wd.url()
                .await
                .trim_end_matches("/card")
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
        assert_ne!(again, id, "a new payment");
        w.type_card(VISA_3DS).await;
        w.on_acs(&again, DEFAULT_OTP).await;
        w.on_receipt(lang, &again, &code, Some("4000********3063"))
            .await;
        w.shot("3ds-wrong-code-paid-again", lang).await;

        // 4. Declined by the issuer: the reason.
        let code = codes.next().expect("code");
        let id = w.to_card_form(lang, &code).await;
        w.type_card(DECLINE_INSUFFICIENT_FUNDS).await;
        w.on_declined(lang, &id, DeclineReason::InsufficientFunds)
            .await;
        w.shot("declined", lang).await;

        // 5. The bank's hosted payment page, chosen on the card form.
        let code = codes.next().expect("code");
        let id = w.to_card_form(lang, &code).await;
        assert_eq!(
            text_of(&w.wd, "#hosted button").await,
            *text(Text::CardHosted, lang)
        );
        press(&w.wd, "#hosted button", ENTER).await;
        w.on_hosted_page(&id, VISA_APPROVE).await;
        w.on_receipt(lang, &id, &code, None).await;
        w.shot("hosted", lang).await;
    }
    w.no_csp_violation("the end").await;
    let _ = w.wd.cmd(reqwest::Method::DELETE, "", None).await;
    // Charged once per paid payment, nothing else.
    let approvals: u32 = w.emu.orders().iter().map(|o| o.approvals).sum();
    assert_eq!(approvals, 4 * Language::ALL.len() as u32);
    assert_eq!(w.serve.terminate().code(), Some(0));
    drop(w.site);
}
