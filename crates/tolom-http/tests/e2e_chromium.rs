//! End-to-end in real headless Chromium over WebDriver (chromedriver): a
//! payer enters a demo code, accepts the agreement, pays with the sandbox's
//! 3-D Secure card through the one-time-code step and sees the receipt —
//! once in each language — using the keyboard for every field. Saves a
//! screenshot of each receipt page under `target/e2e/receipt-<lang>.png`.
//!
//! Needs Debian's `chromium` and `chromium-driver`. Skipped (loudly) when
//! they are missing, unless `CI` is set, in which case it fails.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tolom_acquirer_sandbox::{SandboxAcquirer, THREE_DS_OTP};
use tolom_core::i18n::{text, Language, Text};
use tolom_core::payment::PaymentState;
use tolom_core::ports::Ed25519Signer;
use tolom_core::Tolom;
use tolom_http::{demo, router, AppState, PortalConfig};
use tolom_store_sqlite::{SqliteOptions, SqliteStore};

fn find(binary: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(binary))
            .find(|p| p.is_file())
    })
}

struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        v["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Waits for an element (up to 15 s) and returns its id.
    async fn element(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let v = self
                .cmd(
                    reqwest::Method::POST,
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(id) = v
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(|v| v.as_str())
            {
                return id.to_string();
            }
            if Instant::now() > deadline {
                panic!("no element {css} on {}", self.source().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    async fn wait_url(&self, part: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.url().await.contains(part) {
            if Instant::now() > deadline {
                panic!(
                    "never reached {part}: at {} {}",
                    self.url().await,
                    self.source().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&self, path: &Path) {
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or(""))
            .expect("screenshot is base64");
        assert!(png.starts_with(b"\x89PNG"), "screenshot is a PNG");
        std::fs::write(path, png).expect("write screenshot");
    }
}

async fn start_chromedriver(driver: &Path, chromium: &Path, profile: &Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http.get(format!("{base}/status")).send().await {
            let v: Value = r.json().await.unwrap_or(Value::Null);
            if v["value"]["ready"] == true {
                break;
            }
        }
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1000,1600",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    }}});
    let v: Value = http
        .post(format!("{base}/session"))
        .json(&caps)
        .send()
        .await
        .expect("new session")
        .json()
        .await
        .expect("session json");
    let session = v["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {v}"))
        .to_string();
    Driver {
        child,
        base,
        session,
        http,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pays_a_demo_code_through_the_otp_step_in_every_language() {
    let ci = std::env::var("CI")
        .map(|v| !v.is_empty() && v != "false")
        .unwrap_or(false);
    let chromium = find("chromium").or_else(|| find("chromium-browser"));
    let driver = find("chromedriver");
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        assert!(!ci, "CI is set but chromium/chromedriver are not installed");
        eprintln!("SKIPPED: chromium and chromedriver not found (apt-get install chromium chromium-driver)");
        return;
    };

    // A real portal on loopback: SQLite file, sandbox acquirer, system clock.
    let dir = std::env::temp_dir().join(format!("tolom-e2e-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("tolom.db");
    let store = SqliteStore::open(&db.to_string_lossy(), SqliteOptions::default())
        .await
        .expect("sqlite");
    let tolom = Arc::new(
        Tolom::builder()
            .store(Arc::new(store))
            .acquirer(Arc::new(SandboxAcquirer::for_tests()))
            .signer(Arc::new(Ed25519Signer::from_seed([9; 32])))
            .build()
            .expect("tolom"),
    );
    let demo_codes = demo::ensure_demo_codes(&tolom).await.expect("demo codes");
    assert_eq!(demo_codes.len(), 5);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let base = format!("http://{addr}");
    let mut config = PortalConfig::new(base.clone());
    config.lookup_rate_per_minute = 0;
    let app = router(AppState::new(tolom.clone(), config));
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });

    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let wd = start_chromedriver(&driver, &chromium, &dir.join("profile")).await;

    for (lang, view) in Language::ALL.into_iter().zip(&demo_codes) {
        let code = view.code.as_str();
        // 1. The code, submitted with Enter.
        wd.go(&format!("{base}/?lang={}", lang.tag())).await;
        let page = wd.source().await;
        assert!(page.contains(&format!("lang=\"{}\"", lang.tag())));
        wd.type_into("#code", &format!("{}\u{E007}", view.code.grouped()))
            .await;
        wd.element("a.button[href$='/terms']").await;
        let page = wd.source().await;
        assert!(page.contains(&view.payer), "masked payer {}", view.payer);
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
        assert!(page.contains(code), "{lang}: code on receipt");
        assert!(page.contains("400000******3220"), "{lang}: masked card");
        assert!(!page.contains(THREE_DS_OTP), "{lang}: no full card number");
        assert!(page.contains("<svg"), "{lang}: QR code");
        wd.screenshot(&shots.join(format!("receipt-{}.png", lang.tag())))
            .await;
    }
    let _ = wd.cmd(reqwest::Method::DELETE, "", None).await;
    drop(wd);
    let _ = std::fs::remove_dir_all(&dir);
}
