//! The shape operators deploy: `tolom serve` as a process, configured from
//! a TOML file, with the BPC emulator as its bank over real HTTP on
//! 127.0.0.1, stopped with SIGTERM.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tolom_bpc_emulator::{Emulator, EmulatorConfig, RunningEmulator};

pub const BPC_USER: &str = "tolom-merchant";
pub const BPC_PASSWORD: &str = "emulator-pw";

/// The emulator as the bank, with a slow card taking `slow`.
pub async fn bank(slow: Duration) -> RunningEmulator {
    Emulator::start(
        EmulatorConfig::default()
            .with_credentials(BPC_USER, BPC_PASSWORD)
            .with_slow_card_delay(slow),
    )
    .await
    .expect("emulator")
}

/// A free port on 127.0.0.1 (the public URL must be known before start).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A deployment directory: the configuration, the keys, a SQLite file or a
/// PostgreSQL schema.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Site {
    /// A site whose bank is `bank`; `database` is `sqlite` (a file in the
    /// directory) or a `postgres://` URL (with `schema`). The per-client
    /// limit of look-ups and starts is off (`lookup_rate_per_minute = 0`):
    /// the tests play many payers from one address (the limit itself is
    /// tested in `tolom-http/tests/abuse.rs`).
    pub fn new(bank: &RunningEmulator, database: &str, schema: Option<&str>, public: &str) -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("bpc.pw"), BPC_PASSWORD).expect("pw");
        let url = if database == "sqlite" {
            format!("sqlite:{}", dir.path().join("tolom.db").display())
        } else {
            database.to_string()
        };
        let schema = schema
            .map(|s| format!("schema = \"{s}\"\n"))
            .unwrap_or_default();
        let config = dir.path().join("tolom.toml");
        std::fs::write(
            &config,
            format!(
                "data_dir = \"{data}\"\n\n[database]\nurl = \"{url}\"\n{schema}\n[server]\npublic_url = \"{public}\"\njobs_interval_secs = 1\nshutdown_grace_secs = 20\nlookup_rate_per_minute = 0\n\n[acquirer]\nkind = \"bpc\"\nbase_url = \"{base}\"\nusername = \"{BPC_USER}\"\npassword_file = \"{pw}\"\nallow_insecure_http = true\n",
                data = dir.path().join("data").display(),
                base = bank.base_url(),
                pw = dir.path().join("bpc.pw").display(),
            ),
        )
        .expect("config");
        Site { dir, config }
    }

    /// `tolom --config <file> <args>`, in the site's directory, with only
    /// `PATH` from the environment.
    pub fn tolom(&self, args: &[&str]) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("tolom"));
        c.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TOLOM_LOG", "warn")
            .arg("--config")
            .arg(&self.config)
            .args(args);
        c
    }

    /// `tolom migrate` (the schema and the shared keys).
    pub fn migrate(&self) {
        let out = self.tolom(&["migrate"]).output().expect("migrate");
        assert!(
            out.status.success(),
            "migrate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Issues a code with `tolom codes issue` and returns it.
    pub fn issue(&self, service: &str, payer: &str) -> String {
        let out = self
            .tolom(&[
                "--json",
                "codes",
                "issue",
                "--service",
                service,
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
}

/// A running `tolom serve`, killed when dropped.
pub struct Instance {
    pub child: Child,
    pub base: String,
    pub first_line: String,
}

impl Instance {
    /// Starts `tolom serve --addr 127.0.0.1:<port>` with extra environment.
    pub fn start(site: &Site, port: u16, env: &[(&str, &str)]) -> Instance {
        let addr = format!("127.0.0.1:{port}");
        let mut cmd = site.tolom(&["serve", "--addr", &addr]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tolom serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first_line = loop {
            let line = lines
                .next()
                .expect("tolom serve stopped before listening")
                .expect("stdout");
            if line.starts_with("tolom listening on ") {
                break line;
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Instance {
            child,
            base: format!("http://{addr}"),
            first_line,
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "tolom serve ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JSON API client.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// The id of the agreement edition in force, from the API.
pub async fn terms_id(http: &reqwest::Client, base: &str) -> String {
    let v: Value = http
        .get(format!("{base}/api/v1/terms"))
        .send()
        .await
        .expect("terms")
        .json()
        .await
        .expect("json");
    v["in_force"]["id"].as_str().expect("terms id").to_string()
}

/// Starts paying `code` through the API; the answer's status and body.
pub async fn start(
    http: &reqwest::Client,
    base: &str,
    code: &str,
    terms: &str,
    key: &str,
) -> (u16, Value) {
    let r = http
        .post(format!("{base}/api/v1/payments"))
        .header("Idempotency-Key", key)
        .json(&json!({"code": code, "accepted_terms": terms, "language": "en"}))
        .send()
        .await
        .expect("start");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Sends a card through the API; the answer's status and body.
pub async fn card(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    pan: &str,
    key: &str,
) -> (u16, Value) {
    let r = http
        .post(format!("{base}/api/v1/payments/{id}/card"))
        .header("Idempotency-Key", key)
        .json(&json!({
            "holder": "AIBEK ASANOV", "pan": pan, "expiry": "12/30", "cvv": "123",
            "phone": "+996 555 123 456", "email": "aibek@example.kg"
        }))
        .send()
        .await
        .expect("card");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The site's data directory.
pub fn data(site: &Site) -> &Path {
    site.dir.path()
}
