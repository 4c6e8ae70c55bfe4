//! `tolom demo` as the README runs it: the one binary, SQLite under
//! `./tolom-data`, the sandbox acquirer, demo codes printed, notifications
//! written to `./tolom-data/notifications.log`, stopped with SIGTERM.
//!
//! The browser test pays a demo code in real headless Chromium over
//! WebDriver, through the one-time-code step, in each of ky, ru and en,
//! using the keyboard for every field, and saves a screenshot of each
//! receipt under `target/e2e/receipt-<lang>.png`. It needs Debian's
//! `chromium` and `chromium-driver` (skipped loudly without them, failing
//! in CI).

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use support::webdriver::{browser, start_chromedriver};
use tolom_acquirer_sandbox::THREE_DS_OTP;
use tolom_core::i18n::{text, Language, Text};
use tolom_core::payment::PaymentState;

/// A running `tolom demo`, stopped with SIGTERM when dropped.
struct Demo {
    child: Child,
    base: String,
    /// The demo codes it printed, with the masked payer of each.
    codes: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

impl Demo {
    /// Starts `tolom demo --addr 127.0.0.1:0` in a fresh directory with no
    /// configuration at all, and reads its console up to the listening line.
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
        let mut codes = Vec::new();
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
            if in_codes {
                if line.trim().is_empty() {
                    in_codes = false;
                    continue;
                }
                // `  1100 4200 0013  passport-2020  Сыдыкова А.  885.00 KGS  unpaid`
                let code: String = line
                    .chars()
                    .take(18)
                    .filter(|c| c.is_ascii_digit())
                    .collect();
                let payer = line.chars().skip(18 + 33).take(14).collect::<String>();
                codes.push((code, payer.trim().to_string()));
            }
            if let Some(url) = line
                .strip_prefix("tolom listening on ")
                .and_then(|rest| rest.split_whitespace().next())
            {
                break url.to_string();
            }
        };
        // Keep draining the console so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Demo {
            child,
            base,
            codes,
            dir,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("tolom-data")
    }

    /// Sends SIGTERM and returns the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "tolom demo ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `path` has `n` lines that contain `needle`.
fn wait_for_lines(path: &Path, needle: &str, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "{} has {} of {n} {needle} lines",
            path.display(),
            lines.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_its_codes_and_stops_cleanly_on_sigterm() {
    let mut demo = Demo::start();
    assert_eq!(
        demo.codes.len(),
        5,
        "one demo code per service: {:?}",
        demo.codes
    );
    assert!(
        demo.data().join("tolom.db").is_file(),
        "SQLite under ./tolom-data"
    );
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    for (code, payer) in &demo.codes {
        let v: serde_json::Value = http
            .get(format!("{}/api/v1/charges/{code}", demo.base))
            .send()
            .await
            .expect("look-up")
            .json()
            .await
            .expect("json");
        assert_eq!(v["status"], "unpaid", "{v}");
        assert_eq!(
            v["payer"].as_str(),
            Some(payer.as_str()),
            "masked payer as printed"
        );
    }
    let status = demo.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM stops tolom demo cleanly");
    // A second start finds the same codes (issuing them is idempotent).
    let again = Demo::start();
    assert_eq!(again.codes, demo.codes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pays_a_demo_code_through_the_otp_step_in_every_language() {
    let Some((chromium, driver)) =
        browser("pays_a_demo_code_through_the_otp_step_in_every_language")
    else {
        return;
    };
    let mut demo = Demo::start();
    let base = demo.base.clone();
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let wd = start_chromedriver(&driver, &chromium, &demo.dir.path().join("profile")).await;

    for (lang, (code, payer)) in Language::ALL.into_iter().zip(demo.codes.clone()) {
        // 1. The code, submitted with Enter.
        wd.go(&format!("{base}/?lang={}", lang.tag())).await;
        let page = wd.source().await;
        assert!(page.contains(&format!("lang=\"{}\"", lang.tag())));
        wd.type_into("#code", &format!("{code}\u{E007}")).await;
        wd.element("a.button[href$='/terms']").await;
        let page = wd.source().await;
        assert!(page.contains(&payer), "masked payer {payer}");
        // 2. "Pay", then accept the agreement with the space bar and Enter.
        let pay = wd.element("a.button[href$='/terms']").await;
        wd.cmd(
            reqwest::Method::POST,
            &format!("/element/{pay}/click"),
            Some(json!({})),
        )
        .await;
        wd.wait_url("/terms").await;
        assert!(wd.source().await.contains(&*text(Text::TermsAccept, lang)));
        wd.type_into("#accept", " ").await;
        wd.type_into("#accept", "\u{E007}").await;
        wd.wait_url("/card").await;
        // 3. The card form, keyboard only.
        wd.type_into("#holder", "AIBEK ASANOV").await;
        wd.type_into("#pan", THREE_DS_OTP).await;
        wd.type_into("#expiry", "12/30").await;
        wd.type_into("#cvv", "123").await;
        wd.type_into("#phone", "+996 555 123 456").await;
        wd.type_into("#email", "aibek@example.kg\u{E007}").await;
        // 4. The one-time code.
        wd.wait_url("/confirm").await;
        wd.type_into("#otp", "123456\u{E007}").await;
        // 5. The receipt.
        wd.wait_url("/receipt").await;
        let page = wd.source().await;
        assert!(
            page.contains(&*text(Text::ReceiptHeading, lang)),
            "{lang}: receipt heading"
        );
        assert!(
            page.contains(&*text(PaymentState::Succeeded.text(), lang)),
            "{lang}: paid"
        );
        assert!(
            page.contains(&*text(Text::ReceiptLabelNumber, lang)),
            "{lang}: receipt number label"
        );
        let grouped = tolom_core::code::PaymentCode::from_trusted(code.clone()).grouped();
        assert!(page.contains(&grouped), "{lang}: code on receipt, grouped");
        assert!(page.contains("4000********3220"), "{lang}: masked card");
        assert!(!page.contains(THREE_DS_OTP), "{lang}: no full card number");
        assert!(page.contains("<svg"), "{lang}: QR code");
        wd.screenshot(&shots.join(format!("receipt-{}.png", lang.tag())))
            .await;
    }
    let _ = wd.cmd(reqwest::Method::DELETE, "", None).await;
    drop(wd);
    // The demo wrote the receipt e-mails and agency notices to its log.
    let log = demo.data().join("notifications.log");
    let mails = wait_for_lines(&log, "\"channel\":\"email\"", 3);
    assert!(mails.iter().all(|m| m["to"] == "aibek@example.kg"));
    wait_for_lines(&log, "\"channel\":\"webhook\"", 3);
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        !text.contains(THREE_DS_OTP),
        "no full card number in the log"
    );
    assert_eq!(demo.terminate().code(), Some(0));
}
