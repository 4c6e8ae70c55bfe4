//! The OpenAPI description checked against the server, property-based:
//! schemathesis (v4, from PyPI) reads `GET /api/v1/openapi.json` of a real
//! `tolom demo` on 127.0.0.1 and sends what the document allows and what
//! it does not — the examples, the coverage of every constraint, random
//! inputs and stateful sequences that follow the document's links (start
//! → card → challenge → status → receipt → verification) — with every
//! check on (`--checks all`): no server error, every status and content
//! type and body documented, invalid data refused, valid data accepted.
//! Any failure fails the test.
//!
//! The instance: `tolom demo` in a fresh directory with
//! `server.lookup_rate_per_minute = 0` (the per-client limit of look-ups
//! and starts would answer most of a fuzzer's requests with 429, which is
//! documented but tests nothing else), and 60 more codes issued with
//! `tolom codes import` so that starts keep succeeding after the demo's
//! five are paid. Idempotency is left on: a reused `Idempotency-Key` is a
//! documented 409 and the run does not avoid it. The rest of the
//! configuration (the dictionaries that put real codes, the agreement in
//! force and the sandbox's cards among the generated values, and the one
//! widened check) is `tests/openapi/schemathesis.toml`, with its reasons.
//!
//! Bounded: `--max-examples 80` per operation and a fixed `--seed`, about
//! two minutes on two cores; the run is killed after 8 minutes. Skipped
//! with a SKIPPED line without schemathesis, failing in CI
//! (`python3 -m pip install schemathesis`, as `.ci/run` does).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tolom_testkit::external;

const NAME: &str = "the_openapi_description_matches_the_server";
/// Examples per operation and phase.
const MAX_EXAMPLES: &str = "80";
/// The seed of the run (reproducible: `--seed`).
const SEED: &str = "20261202";
/// Codes issued besides the demo's.
const EXTRA_CODES: usize = 60;

/// A running `tolom demo`, killed when dropped.
struct Demo {
    child: Child,
    base: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tolom(dir: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("tolom"));
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TOLOM_LOG", "warn");
    c
}

/// `tolom demo --addr 127.0.0.1:0` in `dir`, up to its listening line.
fn start_demo(dir: &Path) -> Demo {
    let mut child = tolom(dir)
        .args(["demo", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn tolom demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("tolom demo stopped before listening")
            .expect("read stdout");
        if let Some(url) = line
            .strip_prefix("tolom listening on ")
            .and_then(|rest| rest.split_whitespace().next())
        {
            break url.to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Demo { child, base }
}

/// Issues [`EXTRA_CODES`] passport codes with `tolom codes import`; their
/// codes.
fn issue_codes(dir: &Path) -> Vec<String> {
    let mut csv = String::from("service,payer,agency_ref\n");
    for i in 0..EXTRA_CODES {
        csv.push_str(&format!("passport-2020,Openapi Payer {i},openapi-{i}\n"));
    }
    std::fs::write(dir.join("codes.csv"), csv).expect("csv");
    let out = tolom(dir)
        .args(["--json", "codes", "import", "codes.csv"])
        .output()
        .expect("tolom codes import");
    assert!(
        out.status.success(),
        "codes import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    report["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|c| c["code"].as_str().map(str::to_string))
        .collect()
}

/// schemathesis's version, when it is there and of the major version this
/// test's flags are for.
fn schemathesis_version() -> Result<String, String> {
    let out = Command::new("schemathesis")
        .arg("--version")
        .output()
        .map_err(|e| format!("schemathesis: {e}"))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // "schemathesis, version 4.32.5"
    let number = version.rsplit(' ').next().unwrap_or("").to_string();
    if number.split('.').next() == Some("4") {
        Ok(number)
    } else {
        Err(format!("{version:?} is not schemathesis 4"))
    }
}

#[test]
fn the_openapi_description_matches_the_server() {
    let Some(version) = external::require(
        NAME,
        external::External::Tool("schemathesis"),
        schemathesis_version(),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("tolom.toml"),
        "[server]\n# A fuzzer is one client: the per-client limit is off.\nlookup_rate_per_minute = 0\n",
    )
    .expect("config");
    let mut codes = issue_codes(dir.path());
    assert_eq!(codes.len(), EXTRA_CODES);
    let demo = start_demo(dir.path());
    // The demo's own codes too (serial 4 200 001 and on, fixed).
    let format = tolom_core::code::CodeFormat::default();
    for (i, family) in [
        tolom_core::code::ServiceFamily::Passport,
        tolom_core::code::ServiceFamily::Passport,
        tolom_core::code::ServiceFamily::DrivingLicence,
        tolom_core::code::ServiceFamily::DrivingLicence,
        tolom_core::code::ServiceFamily::MekenCard,
    ]
    .into_iter()
    .enumerate()
    {
        if let Some(code) = format.generate(family, 4_200_001 + i as u64) {
            codes.push(code.as_str().to_string());
        }
    }
    let dictionary: String = codes.iter().map(|c| format!("\"{c}\"\n")).collect();
    std::fs::write(dir.path().join("codes.dict"), dictionary).expect("codes.dict");
    let config = dir.path().join("schemathesis.toml");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/openapi/schemathesis.toml"
        ),
        &config,
    )
    .expect("schemathesis.toml");

    let har = dir.path().join("run.har");
    let output = dir.path().join("schemathesis.txt");
    let log = std::fs::File::create(&output).expect("log");
    let started = Instant::now();
    let mut run = Command::new("schemathesis")
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["--config-file", config.to_str().expect("utf-8"), "run"])
        .arg(format!("{}/api/v1/openapi.json", demo.base))
        .args(["--checks", "all"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .args(["--generation-database", "none", "--no-color"])
        .args(["--report", "har", "--report-har-path"])
        .arg(&har)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn schemathesis");
    let deadline = started + Duration::from_secs(480);
    let status = loop {
        if let Some(status) = run.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = run.kill();
            let _ = run.wait();
            panic!(
                "schemathesis ran longer than 8 minutes:\n{}",
                std::fs::read_to_string(&output).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = std::fs::read_to_string(&output).unwrap_or_default();
    let requests = std::fs::read_to_string(&har)
        .ok()
        .and_then(|h| serde_json::from_str::<serde_json::Value>(&h).ok())
        .and_then(|h| h["log"]["entries"].as_array().map(Vec::len))
        .unwrap_or(0);
    let summary: Vec<&str> = text
        .lines()
        .filter(|l| {
            let l = l.trim();
            l.contains("generated")
                || l.starts_with("API Links:")
                || l.starts_with("Scenarios:")
                || l.contains("issues found")
                || l.contains("failures")
        })
        .collect();
    eprintln!(
        "schemathesis {version}: {requests} requests in {:.0} s (seed {SEED}, {MAX_EXAMPLES} examples)\n{}",
        started.elapsed().as_secs_f64(),
        summary.join("\n")
    );
    assert!(
        status.success(),
        "schemathesis found failures (exit {status}):\n{text}"
    );
    assert!(
        text.contains("No issues found"),
        "schemathesis did not report a clean run:\n{text}"
    );
    // The run reached the whole payment flow through the links, not only
    // its error answers.
    let har: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&har).unwrap_or_default())
            .unwrap_or_default();
    let reached = |method: &str, suffix: &str, status: u64| {
        har["log"]["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| {
                e["request"]["method"] == method
                    && e["request"]["url"]
                        .as_str()
                        .is_some_and(|u| u.split('?').next().unwrap_or("").ends_with(suffix))
                    && e["response"]["status"] == status
            })
    };
    for (method, suffix, status) in [
        ("POST", "/api/v1/payments", 201),
        ("POST", "/card", 200),
        ("POST", "/challenge", 200),
        ("GET", "/receipt", 200),
        ("GET", "/receipts/verify", 200),
        ("POST", "/receipts/verify", 200),
    ] {
        assert!(
            reached(method, suffix, status),
            "no {method} …{suffix} answered {status}:\n{}",
            summary.join("\n")
        );
    }
}
