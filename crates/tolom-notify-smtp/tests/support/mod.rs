//! A real SMTP server (Python `aiosmtpd`, `tests/smtp_server.py`) for the
//! tests, and helpers around it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tolom_testkit::external::{self, External};
use uuid::Uuid;

/// Whether `python3` with `aiosmtpd` is here, by the testkit's one rule
/// for external services ([`tolom_testkit::external`]): when it is not, the
/// test fails in CI and is reported `SKIPPED` elsewhere; the caller returns
/// on `false`.
pub fn smtp_server_available(test: &str) -> bool {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    let probe = PROBE
        .get_or_init(probe_aiosmtpd)
        .as_ref()
        .map_err(String::as_str);
    external::require(test, External::SmtpServer, probe).is_some()
}

/// Imports `aiosmtpd` in `python3`; the error says what is missing.
fn probe_aiosmtpd() -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr
        .lines()
        .last()
        .unwrap_or("no output")
        .trim()
        .to_string();
    Err(format!("python3 -c 'import aiosmtpd': {last}"))
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty directory.
    pub fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("temp dir: {e}"));
        TempDir(dir)
    }
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How the server protects connections.
#[derive(Debug, Clone)]
pub enum ServerTls {
    /// Plain.
    None,
    /// STARTTLS required, with this certificate and key (PEM files).
    StartTls(PathBuf, PathBuf),
    /// Implicit TLS.
    Implicit(PathBuf, PathBuf),
}

/// Server options.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Port (0 = any).
    pub port: u16,
    /// TLS.
    pub tls: ServerTls,
    /// Required login.
    pub auth: Option<(String, String)>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            port: 0,
            tls: ServerTls::None,
            auth: None,
        }
    }
}

/// A running SMTP server; killed when dropped.
pub struct SmtpServer {
    child: Child,
    _stdin: ChildStdin,
    /// Its port.
    pub port: u16,
    /// Where it writes messages.
    pub dir: PathBuf,
}

/// One message as the server received and parsed it.
#[derive(Debug, Clone)]
pub struct Received {
    /// Envelope, decoded headers and parts (see `smtp_server.py`).
    pub json: Value,
    /// The raw source.
    pub raw: String,
}

impl Received {
    /// A string field of the record.
    pub fn field(&self, name: &str) -> String {
        self.json[name].as_str().unwrap_or_default().to_string()
    }
    /// The decoded text of the first part of this content type.
    pub fn text_part(&self, content_type: &str) -> Option<String> {
        self.parts()
            .into_iter()
            .find(|p| p["content_type"] == content_type && p["text"].is_string())
            .and_then(|p| p["text"].as_str().map(str::to_string))
    }
    /// The MIME parts, in order.
    pub fn parts(&self) -> Vec<Value> {
        self.json["parts"].as_array().cloned().unwrap_or_default()
    }
    /// Everything a reader could see: decoded subject, text parts and the
    /// raw source.
    pub fn all_text(&self) -> String {
        let mut s = self.field("subject");
        for p in self.parts() {
            if let Some(t) = p["text"].as_str() {
                s.push('\n');
                s.push_str(t);
            }
        }
        s.push('\n');
        s.push_str(&self.raw);
        s
    }
}

impl SmtpServer {
    /// Starts the server writing to `dir`.
    pub fn start(dir: &Path, options: ServerOptions) -> SmtpServer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
        let mut cmd = Command::new("python3");
        cmd.arg(&script)
            .arg("--dir")
            .arg(dir)
            .arg("--port")
            .arg(options.port.to_string());
        match &options.tls {
            ServerTls::None => {}
            ServerTls::StartTls(cert, key) => {
                cmd.args(["--tls", "starttls", "--cert"])
                    .arg(cert)
                    .arg("--key")
                    .arg(key);
            }
            ServerTls::Implicit(cert, key) => {
                cmd.args(["--tls", "implicit", "--cert"])
                    .arg(cert)
                    .arg("--key")
                    .arg(key);
            }
        }
        if let Some((u, p)) = &options.auth {
            cmd.arg("--auth").arg(format!("{u}:{p}"));
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start python3 {}: {e}", script.display()));
        let stdin = child.stdin.take().unwrap_or_else(|| panic!("stdin"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("stdout"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("the SMTP server did not start");
            }
        };
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected server output {line:?}"));
        SmtpServer {
            child,
            _stdin: stdin,
            port,
            dir: dir.to_path_buf(),
        }
    }

    /// Changes what the server answers (see `smtp_server.py`).
    pub fn set_mode(&self, mode: &str) {
        set_mode(&self.dir, mode);
    }

    /// Everything received so far, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        messages(&self.dir)
    }

    /// Stops the server.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sets the answer mode of a server writing to `dir`.
pub fn set_mode(dir: &Path, mode: &str) {
    std::fs::write(dir.join("mode"), mode).unwrap_or_else(|e| panic!("mode: {e}"));
}

/// The messages in a server directory, oldest first.
pub fn messages(dir: &Path) -> Vec<Received> {
    let mut entries: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .map(|p| {
                    let t = std::fs::metadata(&p)
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH);
                    (t, p)
                })
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    entries
        .into_iter()
        .filter_map(|(_, p)| {
            let json: Value = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
            let raw = std::fs::read_to_string(p.with_extension("eml")).ok()?;
            Some(Received { json, raw })
        })
        .collect()
}

/// The messages carrying this outbox message id.
pub fn messages_for(dir: &Path, id: Uuid) -> Vec<Received> {
    messages(dir)
        .into_iter()
        .filter(|m| m.field("tolom_message_id") == id.to_string())
        .collect()
}
