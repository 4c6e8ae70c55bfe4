//! Every page a payer sees fits the screen (issue 13, item 4): `tolom serve`
//! as deployed (the BPC emulator as its bank), headless Chromium at a
//! 375-pixel phone and at a 1280-pixel desktop, in Kyrgyz, Russian and
//! English. On each page `document.documentElement.scrollWidth` must not
//! exceed `innerWidth` (no sideways scrolling), and a screenshot of each
//! whole page is saved as `target/e2e/pages/<page>-<lang>-<width>.png`.
//!
//! The one-time-code page comes from `tolom demo` (its sandbox asks for the
//! code on the portal's page; with the BPC gateway the bank's own 3-D Secure
//! page does). The page that hands the payer to the bank submits itself at
//! once and is not measured.
//!
//! Skips unless Chromium and chromedriver are on `PATH` (and fails then in
//! CI).

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use support::deployed::{bank, free_port, http, terms_id, Instance, Site};
use support::webdriver::{browser, start_chromedriver, Driver};
use tolom_bpc_emulator::cards::{DECLINE_INSUFFICIENT_FUNDS, VISA_APPROVE};
use tolom_core::i18n::Language;

/// The widths: a small phone and a desktop.
const WIDTHS: [u32; 2] = [375, 1280];

/// Emulates a screen `width` pixels wide (a phone below 600: a mobile
/// viewport, as a phone's browser lays pages out).
async fn screen(wd: &Driver, width: u32) {
    wd.cmd(
        reqwest::Method::POST,
        "/goog/cdp/execute",
        Some(json!({
            "cmd": "Emulation.setDeviceMetricsOverride",
            "params": {
                "width": width,
                "height": if width < 600 { 812 } else { 900 },
                "deviceScaleFactor": 1,
                "mobile": width < 600,
            }
        })),
    )
    .await;
}

/// A screenshot of the whole page (beyond the screen's height), as PNG at
/// `path`.
async fn full_page_screenshot(wd: &Driver, path: &std::path::Path, width: u32) {
    let height = js(wd, "return document.documentElement.scrollHeight;")
        .await
        .as_u64()
        .unwrap_or(900);
    let v = wd
        .cmd(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({
                "cmd": "Page.captureScreenshot",
                "params": {
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
                }
            })),
        )
        .await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(v["data"].as_str().unwrap_or(""))
        .expect("screenshot is base64");
    assert!(png.starts_with(b"\x89PNG"), "screenshot is a PNG");
    std::fs::write(path, png).expect("write screenshot");
}

/// Runs `script` in the page and returns its value.
async fn js(wd: &Driver, script: &str) -> Value {
    wd.cmd(
        reqwest::Method::POST,
        "/execute/sync",
        Some(json!({"script": script, "args": []})),
    )
    .await
}

/// Waits until the page that replaced the marked one has loaded.
async fn wait_new_page(wd: &Driver) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v = js(
            wd,
            "return window.__tolomOld !== 1 && document.readyState === 'complete';",
        )
        .await;
        if v == true {
            return;
        }
        assert!(Instant::now() < deadline, "the form's answer never loaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How a page is reached (addresses under the served portal).
enum Reach {
    /// Its address.
    Get(String),
    /// Its address, then this form posted (the answer is the page): the
    /// script fills the form in and submits it.
    Post(String, &'static str),
    /// An address of the demo (the one-time-code page, which the BPC
    /// gateway's own 3-D Secure page replaces).
    Demo(String),
}

/// `tolom demo` (the sandbox acquirer, whose 3-D Secure asks for the
/// one-time code on the portal's own page), killed when dropped.
struct Demo {
    child: Child,
    base: String,
    /// The first demo code it printed.
    code: String,
    _dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("tolom"))
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TOLOM_LOG", "warn")
            .args(["demo", "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tolom demo");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut code = String::new();
        let mut in_codes = false;
        let base = loop {
            let line = lines
                .next()
                .expect("tolom demo stopped before listening")
                .expect("read stdout");
            if line.starts_with("Demo payment codes:") {
                in_codes = true;
                continue;
            }
            if in_codes && code.is_empty() {
                code = line
                    .chars()
                    .take(18)
                    .filter(|c| c.is_ascii_digit())
                    .collect();
            }
            if let Some(url) = line
                .strip_prefix("tolom listening on ")
                .and_then(|rest| rest.split_whitespace().next())
            {
                break url.to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Demo {
            child,
            base,
            code,
            _dir: dir,
        }
    }
}

/// Issues a code of `service` at `urgency` with `tolom codes issue`.
fn issue(site: &Site, service: &str, urgency: &str, payer: &str) -> String {
    let out = site
        .tolom(&[
            "--json",
            "codes",
            "issue",
            "--service",
            service,
            "--urgency",
            urgency,
            "--payer",
            payer,
        ])
        .output()
        .expect("issue");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    v["code"].as_str().expect("code").to_string()
}

/// Starts a payment of `code` through the API and sends `pan` (or nothing):
/// the payment's id.
async fn payment(base: &str, code: &str, terms: &str, pan: Option<&str>) -> String {
    let http = http();
    let p: Value = http
        .post(format!("{base}/api/v1/payments"))
        .json(&json!({"code": code, "accepted_terms": terms}))
        .send()
        .await
        .expect("start")
        .json()
        .await
        .expect("json");
    let id = p["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{p}"))
        .to_string();
    if let Some(pan) = pan {
        let r: Value = http
            .post(format!("{base}/api/v1/payments/{id}/card"))
            .json(&json!({
                "holder": "AIBEK ASANOV", "pan": pan, "expiry": "12/30", "cvv": "123",
                "phone": "+996555123456", "email": "aibek.asanov.long-address@example.kg"
            }))
            .send()
            .await
            .expect("card")
            .json()
            .await
            .expect("json");
        assert!(r["state"].is_string(), "{r}");
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_phone_and_a_desktop_in_every_language() {
    let Some((chromium, driver)) =
        browser("every_page_fits_a_phone_and_a_desktop_in_every_language")
    else {
        return;
    };
    let emu = bank(Duration::from_millis(50)).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let site = Site::new(&emu, "sqlite", None, &base);
    site.migrate();
    // The longest names the catalogue has: the Meken-card and the
    // general passport, with a long payer name.
    let payer = "Абдыкадыров-Токтогулов Нурсултан Эркинбекович";
    let paid = issue(&site, "meken-card", "in-country", payer);
    let declined = issue(&site, "passport-2020", "18-working-days", payer);
    let started = issue(&site, "id-card-2017", "3-hours", payer);
    let fresh = issue(&site, "meken-card", "abroad", payer);
    let _serve = Instance::start(&site, port, &[]);
    let terms = terms_id(&http(), &base).await;

    let paid_id = payment(&base, &paid, &terms, Some(VISA_APPROVE)).await;
    let declined_id = payment(&base, &declined, &terms, Some(DECLINE_INSUFFICIENT_FUNDS)).await;
    let started_id = payment(&base, &started, &terms, None).await;
    let receipt: Value = http()
        .get(format!("{base}/payments/{paid_id}/receipt.json"))
        .send()
        .await
        .expect("receipt")
        .json()
        .await
        .expect("json");
    let verify = receipt["verify_url"]
        .as_str()
        .expect("verify url")
        .trim_start_matches(&base)
        .to_string();

    // The one-time-code page, from the demo's sandbox: a card that asks for
    // the code.
    let demo = Demo::start();
    let demo_terms = terms_id(&http(), &demo.base).await;
    let otp_id = payment(
        &demo.base,
        &demo.code,
        &demo_terms,
        Some(tolom_acquirer_sandbox::THREE_DS_OTP),
    )
    .await;

    let pages: Vec<(&str, Reach)> = vec![
        ("home", Reach::Get("/".into())),
        (
            "home-error",
            Reach::Post(
                "/".into(),
                "document.getElementById('code').value = '1100 0000 0000 1'; \
                 document.querySelector('form').submit();",
            ),
        ),
        ("services", Reach::Get("/services".into())),
        ("documents", Reach::Get("/documents".into())),
        ("edition", Reach::Get(format!("/documents/{terms}"))),
        ("verify", Reach::Get("/verify".into())),
        ("verify-genuine", Reach::Get(verify)),
        ("look-up", Reach::Get(format!("/pay/{fresh}"))),
        ("terms", Reach::Get(format!("/pay/{fresh}/terms"))),
        ("card", Reach::Get(format!("/payments/{started_id}/card"))),
        (
            "card-errors",
            Reach::Post(
                format!("/payments/{started_id}/card"),
                "document.querySelector('form[data-card-form]').submit();",
            ),
        ),
        ("status", Reach::Get(format!("/payments/{declined_id}"))),
        (
            "receipt",
            Reach::Get(format!("/payments/{paid_id}/receipt")),
        ),
        ("paid", Reach::Get(format!("/pay/{paid}"))),
        (
            "paid-proof-error",
            Reach::Post(
                format!("/pay/{paid}"),
                "document.getElementById('proof').value = '0000'; \
                 document.getElementById('receipt-again').submit();",
            ),
        ),
        ("not-found", Reach::Get("/no/such/page".into())),
        (
            "confirm",
            Reach::Demo(format!("/payments/{otp_id}/confirm")),
        ),
    ];

    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e/pages");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let wd = start_chromedriver(&driver, &chromium, &site.dir.path().join("profile")).await;
    let mut too_wide = Vec::new();
    for width in WIDTHS {
        screen(&wd, width).await;
        for lang in Language::ALL {
            for (name, reach) in &pages {
                let (at_base, path) = match reach {
                    Reach::Get(p) | Reach::Post(p, _) => (&base, p),
                    Reach::Demo(p) => (&demo.base, p),
                };
                let sep = if path.contains('?') { '&' } else { '?' };
                wd.go(&format!("{at_base}{path}{sep}lang={}", lang.tag()))
                    .await;
                if let Reach::Post(_, script) = reach {
                    js(&wd, "window.__tolomOld = 1;").await;
                    js(&wd, script).await;
                    wait_new_page(&wd).await;
                }
                let m = js(
                    &wd,
                    "return { scroll: document.documentElement.scrollWidth, \
                              inner: window.innerWidth, \
                              lang: document.documentElement.lang, \
                              title: document.title };",
                )
                .await;
                let at = format!("{name} in {} at {width}px", lang.tag());
                assert_eq!(m["lang"], lang.tag(), "{at}: {m}");
                // A phone's browser widens its layout viewport (and zooms
                // out) for a page wider than the screen: `innerWidth` is
                // then the page's width. Both must be the screen's.
                let (scroll, inner) = (
                    m["scroll"].as_u64().unwrap_or(u64::MAX),
                    m["inner"].as_u64().unwrap_or(0),
                );
                full_page_screenshot(
                    &wd,
                    &shots.join(format!("{name}-{}-{width}.png", lang.tag())),
                    width,
                )
                .await;
                if scroll > inner || inner != u64::from(width) {
                    too_wide.push(format!(
                        "{at}: scrollWidth {scroll}, innerWidth {inner} ({})",
                        m["title"]
                    ));
                }
            }
        }
    }
    let _ = wd.cmd(reqwest::Method::DELETE, "", None).await;
    drop(wd);
    assert!(
        too_wide.is_empty(),
        "pages wider than the screen:\n{}",
        too_wide.join("\n")
    );
    for width in WIDTHS {
        for lang in Language::ALL {
            for (name, _) in &pages {
                let shot = shots.join(format!("{name}-{}-{width}.png", lang.tag()));
                assert!(shot.is_file(), "no screenshot {}", shot.display());
            }
        }
    }
}
