//! Health, metrics and logs of `tolom serve` in the deployed shape: a TOML
//! file, the BPC emulator as the bank over real HTTP, JSON log lines on
//! stderr, an admin listener of its own, SIGTERM.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::deployed::{bank, card, free_port, http, start, terms_id, Site};
use tolom_bpc_emulator::cards::{SLOW_APPROVE, VISA_APPROVE};

/// `tolom serve` with JSON log lines captured from stderr.
struct Serve {
    child: Child,
    base: String,
    admin: Option<String>,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    /// Starts `tolom serve --log-format json` on `port` (and the admin
    /// listener on `admin_port` when given), `TOLOM_LOG=info`.
    fn start(site: &Site, port: u16, admin_port: Option<u16>) -> Serve {
        let addr = format!("127.0.0.1:{port}");
        let mut cmd: Command = site.tolom(&["serve", "--addr", &addr, "--log-format", "json"]);
        cmd.env("TOLOM_LOG", "info");
        if let Some(p) = admin_port {
            cmd.env("TOLOM_ADMIN_ADDR", format!("127.0.0.1:{p}"));
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tolom serve");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut l) = sink.lock() {
                    l.push(line);
                }
            }
        });
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        loop {
            let line = lines
                .next()
                .expect("tolom serve stopped before listening")
                .expect("stdout");
            if line.starts_with("tolom listening on ") {
                if let Some(p) = admin_port {
                    assert!(
                        line.contains(&format!("admin http://127.0.0.1:{p}")),
                        "{line}"
                    );
                }
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Serve {
            child,
            base: format!("http://{addr}"),
            admin: admin_port.map(|p| format!("http://127.0.0.1:{p}")),
            logs,
        }
    }

    /// Sends SIGTERM now.
    fn sigterm(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    /// Waits for the exit code.
    fn wait(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "tolom serve did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The JSON log lines so far.
    fn json_logs(&self) -> Vec<Value> {
        self.logs
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET url`: status and body.
async fn get(http: &reqwest::Client, url: &str, token: Option<&str>) -> (u16, String) {
    let mut r = http.get(url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("json {e}: {body}"))
}

fn failed(v: &Value) -> Vec<String> {
    v["failed"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The request id of a JSON log line (its `request` span).
fn request_id(line: &Value) -> Option<&str> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == "request")?["request_id"]
        .as_str()
}

/// The value of a metric line `name{labels} value` (labels as written by
/// the exporter, in order), if present.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_200_then_503_after_sigterm_while_a_slow_card_finishes() {
    let emu = bank(Duration::from_secs(3)).await;
    let (port, admin_port) = (free_port(), free_port());
    let site = Site::new(&emu, "sqlite", None, &format!("http://127.0.0.1:{port}"));
    site.migrate();
    let code = site.issue("passport-2020", "Асанов Айбек");
    let mut serve = Serve::start(&site, port, Some(admin_port));
    let http = http();
    let (status, body) = get(&http, &format!("{}/healthz", serve.base), None).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    for base in [&serve.base, serve.admin.as_ref().expect("admin")] {
        let (status, body) = get(&http, &format!("{base}/readyz"), None).await;
        assert_eq!(status, 200, "{body}");
        let v = json(&body);
        assert_eq!(v["status"], "ready");
        let names: Vec<&str> = v["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, ["database", "schema", "acquirer", "shutdown"]);
    }
    let terms = terms_id(&http, &serve.base).await;
    let (status, p) = start(&http, &serve.base, &code, &terms, "start-1").await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().expect("id").to_string();
    // The bank takes 3 s over this card; SIGTERM after 1 s.
    let base = serve.base.clone();
    let paying = tokio::spawn({
        let http = http.clone();
        async move { card(&http, &base, &id, SLOW_APPROVE, "card-1").await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    serve.sigterm();
    // While the card is in flight the listener still answers, not ready.
    let mut seen = None;
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        let (status, body) = get(&http, &format!("{}/readyz", serve.base), None).await;
        if status == 503 {
            seen = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = seen.expect("/readyz answered 503 after SIGTERM");
    let v = json(&body);
    assert_eq!(v["status"], "not_ready");
    assert_eq!(failed(&v), ["shutdown"], "{v}");
    assert!(!paying.is_finished(), "the slow card was still in flight");
    let (status, answer) = paying.await.expect("client");
    assert_eq!(status, 200, "the payer gets the answer: {answer}");
    assert_eq!(answer["state"], "succeeded", "{answer}");
    let code = tokio::task::spawn_blocking(move || serve.wait())
        .await
        .expect("wait");
    assert_eq!(code, Some(0), "a clean stop exits 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_json_logs_of_a_payment_on_the_admin_listener() {
    let emu = bank(Duration::from_millis(100)).await;
    let (port, admin_port) = (free_port(), free_port());
    let site = Site::new(&emu, "sqlite", None, &format!("http://127.0.0.1:{port}"));
    site.migrate();
    let code = site.issue("passport-2020", "Асанов Айбек");
    let mut serve = Serve::start(&site, port, Some(admin_port));
    let admin = serve.admin.clone().expect("admin");
    let http = http();
    let terms = terms_id(&http, &serve.base).await;
    let (status, p) = start(&http, &serve.base, &code, &terms, "start-1").await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().expect("id").to_string();
    let r = http
        .post(format!("{}/api/v1/payments/{id}/card", serve.base))
        .header("Idempotency-Key", "card-1")
        .header("x-request-id", "obs-card-1")
        .json(&serde_json::json!({
            "holder": "AIBEK ASANOV", "pan": VISA_APPROVE, "expiry": "12/30", "cvv": "739",
            "phone": "+996 555 123 456", "email": "aibek@example.kg"
        }))
        .send()
        .await
        .expect("card");
    assert_eq!(r.headers()["x-request-id"], "obs-card-1", "echoed");
    let answer: Value = r.json().await.expect("json");
    assert_eq!(answer["state"], "succeeded", "{answer}");

    // The admin listener has the metrics; the public one has neither them
    // nor the admin API.
    assert_eq!(
        get(&http, &format!("{}/metrics", serve.base), None).await.0,
        404
    );
    assert_eq!(
        get(
            &http,
            &format!("{}/api/v1/admin/payments", serve.base),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        get(&http, &format!("{admin}/api/v1/admin/payments"), None)
            .await
            .0,
        401,
        "the admin API is on the admin listener, with its tokens"
    );
    // The backlog gauges are sampled by a job round (every second): the
    // first round may have run while the payment was still in flight, so
    // wait for a round after it.
    let mut text = String::new();
    let until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < until {
        let (status, body) = get(&http, &format!("{admin}/metrics"), None).await;
        assert_eq!(status, 200, "{body}");
        text = body;
        if metric(&text, "tolom_outbox_pending").is_some()
            && metric(&text, "tolom_payments_in_flight") == Some(0.0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (series, want) in [
        (
            r#"tolom_http_requests_total{method="POST",route="/api/v1/payments/{id}/card",status="200"}"#,
            1.0,
        ),
        (
            r#"tolom_http_requests_total{method="POST",route="/api/v1/payments",status="201"}"#,
            1.0,
        ),
        (r#"tolom_payments_total{outcome="succeeded"}"#, 1.0),
        ("tolom_payments_started_total", 1.0),
        (
            r#"tolom_acquirer_call_duration_seconds_count{call="purchase"}"#,
            1.0,
        ),
        ("tolom_payments_in_flight", 0.0),
        ("tolom_outbox_dead", 0.0),
    ] {
        assert_eq!(metric(&text, series), Some(want), "{series} in:\n{text}");
    }
    assert!(
        metric(&text, "tolom_outbox_pending").is_some()
            && metric(&text, "tolom_outbox_oldest_pending_age_seconds").is_some(),
        "the outbox backlog in:\n{text}"
    );
    assert!(
        text.contains(r#"tolom_acquirer_call_duration_seconds_bucket{call="purchase",le="#),
        "a real histogram:\n{text}"
    );
    assert!(!text.contains(&id), "no raw path in a label");

    // Every line of the card request carries its id, the bank's too; no
    // line carries the card.
    let logs = serve.json_logs();
    let of_request: Vec<&Value> = logs
        .iter()
        .filter(|l| request_id(l) == Some("obs-card-1"))
        .collect();
    let targets: Vec<&str> = of_request
        .iter()
        .filter_map(|l| l["target"].as_str())
        .collect();
    assert!(
        targets.iter().any(|t| t.starts_with("tolom_acquirer_bpc")),
        "the BPC acquirer's lines carry the request id: {targets:?}"
    );
    assert!(
        targets.contains(&"tolom_http::access"),
        "the access line carries it: {targets:?}"
    );
    for line in &logs {
        // A line inside any bpc.* span belongs to a request (or a job).
        let spans = line["spans"].as_array().cloned().unwrap_or_default();
        if spans
            .iter()
            .any(|s| s["name"].as_str().is_some_and(|n| n.starts_with("bpc.")))
            && spans.iter().any(|s| s["name"] == "request")
        {
            assert!(request_id(line).is_some(), "{line}");
        }
    }
    let all = logs
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!all.contains(VISA_APPROVE), "the card number in the logs");
    assert!(!all.contains("\"739\""), "the CVV in the logs");
    serve.sigterm();
    assert_eq!(serve.wait(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_listener_metrics_need_an_operator_or_auditor_token() {
    let emu = bank(Duration::from_millis(100)).await;
    let port = free_port();
    let site = Site::new(&emu, "sqlite", None, &format!("http://127.0.0.1:{port}"));
    site.migrate();
    let token = |name: &str, role: &str| {
        let out = site
            .tolom(&["--json", "tokens", "create", name, "--role", role])
            .output()
            .expect("tokens create");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        v["secret"].as_str().expect("secret").to_string()
    };
    let (ops, audit, issuer) = (
        token("ops-1", "operator"),
        token("audit-1", "auditor"),
        token("agency-1", "issuer"),
    );
    let mut serve = Serve::start(&site, port, None);
    let http = http();
    let url = format!("{}/metrics", serve.base);
    assert_eq!(get(&http, &url, None).await.0, 401);
    assert_eq!(get(&http, &url, Some("wrong")).await.0, 401);
    assert_eq!(get(&http, &url, Some(&issuer)).await.0, 403);
    for t in [&ops, &audit] {
        let (status, text) = get(&http, &url, Some(t)).await;
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("tolom_build_info"), "{text}");
    }
    let (_, text) = get(&http, &url, Some(&ops)).await;
    assert!(
        text.contains(r#"tolom_http_requests_total{method="GET",route="/metrics",status="401"}"#),
        "{text}"
    );
    // The admin API is still on the main listener.
    assert_eq!(
        get(
            &http,
            &format!("{}/api/v1/admin/payments", serve.base),
            Some(&ops)
        )
        .await
        .0,
        200
    );
    serve.sigterm();
    assert_eq!(serve.wait(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_naming_the_database_when_its_file_is_removed() {
    let emu = bank(Duration::from_millis(100)).await;
    let port = free_port();
    let site = Site::new(&emu, "sqlite", None, &format!("http://127.0.0.1:{port}"));
    site.migrate();
    let mut serve = Serve::start(&site, port, None);
    let http = http();
    let url = format!("{}/readyz", serve.base);
    assert_eq!(get(&http, &url, None).await.0, 200);
    std::fs::remove_file(site.dir.path().join("tolom.db")).expect("remove the database");
    let (status, body) = get(&http, &url, None).await;
    assert_eq!(status, 503, "{body}");
    let v = json(&body);
    assert_eq!(v["status"], "not_ready");
    assert!(failed(&v).contains(&"database".to_string()), "{v}");
    let detail = v["checks"][0]["detail"].as_str().unwrap_or("");
    assert!(detail.contains("removed"), "{v}");
    assert!(!body.contains(support::deployed::BPC_PASSWORD), "{body}");
    // Alive all the same; the not-ready moment is logged once.
    assert_eq!(
        get(&http, &format!("{}/healthz", serve.base), None).await.0,
        200
    );
    let _ = get(&http, &url, None).await;
    let warnings = serve
        .json_logs()
        .iter()
        .filter(|l| l["fields"]["message"] == "not ready")
        .count();
    assert_eq!(warnings, 1, "one warning when readiness is lost");
    serve.sigterm();
    let _ = serve.wait();
}
