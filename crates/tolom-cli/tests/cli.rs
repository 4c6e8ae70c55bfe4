//! Every subcommand of the real `tolom` binary against a SQLite file.

mod common;

use chrono::{Duration, Utc};
use predicates::prelude::*;

use common::Site;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn help_everywhere_has_examples() {
    let site = Site::new();
    site.tolom()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples"));
    for cmd in [
        vec!["codes", "import", "--help"],
        vec!["codes", "issue", "--help"],
        vec!["payments", "list", "--help"],
        vec!["refund", "--help"],
        vec!["report", "--help"],
        vec!["tokens", "create", "--help"],
        vec!["subject", "export", "--help"],
        vec!["terms", "publish", "--help"],
    ] {
        site.tolom()
            .args(&cmd)
            .assert()
            .success()
            .stdout(predicate::str::contains("Example"));
    }
}

#[test]
fn config_show_never_prints_secrets() {
    let site = Site::new();
    std::fs::write(site.dir.path().join("bpc.pw"), "bpc-s3cret-pw\n").expect("pw");
    std::fs::write(
        site.dir.path().join("tolom.toml"),
        "[acquirer]\nkind = \"bpc\"\nbase_url = \"https://gw.example\"\nusername = \"merchant\"\npassword_file = \"bpc.pw\"\n",
    )
    .expect("toml");
    let out = site
        .tolom()
        .env("TOLOM_DATABASE_PASSWORD", "db-s3cret-pw")
        .env("TOLOM_SMTP_PASSWORD", "smtp-s3cret-pw")
        .args(["config", "show"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("[REDACTED]"), "{all}");
    for s in ["db-s3cret-pw", "smtp-s3cret-pw", "bpc-s3cret-pw"] {
        assert!(!all.contains(s), "secret {s} printed: {all}");
    }
    // A password inside the URL is refused without echoing it.
    let out = site
        .tolom()
        .env(
            "TOLOM_DATABASE_URL",
            "postgres://tolom:url-s3cret@127.0.0.1/x",
        )
        .args(["config", "show"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains("url-s3cret"), "{all}");
}

#[test]
fn codes_issue_show_cancel() {
    let site = Site::new();
    site.tolom().arg("migrate").assert().success();
    let out = site
        .tolom()
        .args([
            "--json",
            "codes",
            "issue",
            "--service",
            "passport-2020",
            "--payer",
            "Асанов Айбек",
            "--agency-ref",
            "A-1",
        ])
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    let charge: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        charge["amount"]["amount"], "885.00",
        "amount from the catalogue"
    );
    let code = charge["code"].as_str().expect("code").to_string();
    site.tolom()
        .args(["codes", "show", &code])
        .assert()
        .success()
        .stdout(predicate::str::contains("Асанов Айбек").and(predicate::str::contains("unpaid")));
    site.tolom()
        .args(["codes", "cancel", &code])
        .assert()
        .success();
    site.tolom()
        .args(["codes", "show", &code])
        .assert()
        .success()
        .stdout(predicate::str::contains("cancelled"));
    site.tolom()
        .args(["codes", "issue", "--service", "no-such", "--payer", "X"])
        .assert()
        .code(1);
    site.tolom()
        .args(["codes", "show", "1100000000000"])
        .assert()
        .failure();
}

#[test]
fn import_reports_bad_rows_and_is_idempotent() {
    let site = Site::new();
    let csv = "service,urgency,amount,payer,code,agency_ref,expires_at\n\
passport-2020,,,Асанов Айбек,,REF-1,\n\
no-such-service,,,Bakyt,,REF-2,\n\
passport-2020,,,,,REF-3,\n\
passport-2020,,,Chynara,,,\n\
passport-2020,,abc,Dinara,,REF-5,\n\
passport-2020,,,Eldiyar,,REF-6,2020-01-01\n\
id-card-2017,12-working-days,,Farida,,REF-7,\n\
passport-2020,,,Gulnara,,REF-8,2030-01-31\n";
    let file = site.dir.path().join("codes.csv");
    std::fs::write(&file, csv).expect("csv");
    let out = site
        .tolom()
        .args(["codes", "import", "codes.csv"])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "bad rows make the exit status 1"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    for (line, why) in [
        (3, "unknown service"),
        (4, "payer is empty"),
        (5, "code or agency_ref is required"),
        (6, "amount"),
        (7, "expir"),
    ] {
        assert!(
            err.contains(&format!("codes.csv:{line}: "))
                && err
                    .lines()
                    .any(|l| l.starts_with(&format!("codes.csv:{line}:"))
                        && l.to_lowercase().contains(why)),
            "line {line} ({why}) not reported: {err}"
        );
    }
    assert!(stdout(&out).contains("3 issued"), "{}", stdout(&out));
    // The same file again: nothing new.
    let again = site
        .tolom()
        .args(["--json", "codes", "import", "codes.csv"])
        .output()
        .expect("run");
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!(report["issued"], 0);
    assert_eq!(report["already_issued"], 3);
    let list = site
        .tolom()
        .args(["--json", "audit", "list", "--last", "100"])
        .output()
        .expect("run");
    let entries: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let issued = entries
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["action"] == "charge.issued")
        .count();
    assert_eq!(issued, 3, "re-running created no duplicates");
}

#[tokio::test]
async fn payments_report_receipts_refund() {
    let site = Site::new();
    let paid = site
        .paid_payment(Utc::now() - Duration::minutes(5), "Асанов Айбек")
        .await;
    let id = paid.id().to_string();
    let out = site
        .tolom()
        .args([
            "--json",
            "payments",
            "list",
            "--status",
            "succeeded",
            "--service",
            "passport-2020",
        ])
        .output()
        .expect("run");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list.as_array().map(|a| a.len()), Some(1));
    site.tolom()
        .args(["payments", "list", "--status", "refunded"])
        .assert()
        .success()
        .stdout(predicate::str::contains(&id).not());
    site.tolom()
        .args([
            "payments",
            "list",
            "--from",
            "2001-01-01",
            "--to",
            "2001-01-02",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(&id).not());
    site.tolom()
        .args(["payments", "show", &id])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("succeeded").and(predicate::str::contains("4111********1111")),
        );
    site.tolom()
        .args(["payments", "list", "--status", "bogus"])
        .assert()
        .code(2);
    // Report for today (Asia/Bishkek).
    let today = tolom_core::time::to_bishkek(paid.succeeded_at().expect("paid")).date_naive();
    site.tolom()
        .args(["report", "--from", &today.to_string(), "--format", "csv"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "{today},passport-2020,card,1,885.00,"
        )));
    // Receipts: genuine, and a forged signature.
    let signer = tolom_testkit::fixtures::test_signer();
    let store = tolom_store_sqlite::SqliteStore::open(
        site.db().to_str().expect("utf-8"),
        Default::default(),
    )
    .await
    .expect("open");
    let tolom = tolom_core::Tolom::builder()
        .store(std::sync::Arc::new(store.clone()))
        .acquirer(std::sync::Arc::new(tolom_testkit::fake::FakeAcquirer::new()))
        .signer(std::sync::Arc::new(signer))
        .build()
        .expect("tolom");
    let receipt = tolom.receipt(paid.id()).await.expect("receipt");
    store.close().await;
    site.tolom()
        .args(["receipts", "verify", &receipt.number, &receipt.signature])
        .assert()
        .success()
        .stdout(predicate::str::contains("genuine"));
    let mut forged = receipt.signature.clone();
    forged.replace_range(0..2, if forged.starts_with("AA") { "BB" } else { "AA" });
    site.tolom()
        .args(["receipts", "verify", &receipt.number, &forged])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("NOT genuine"));
    // Refunds the rules refuse.
    site.tolom()
        .args([
            "refund",
            &id,
            "--amount",
            "100000.00",
            "--reason",
            "too much",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("refund."));
    site.tolom()
        .args([
            "refund",
            "00000000-0000-0000-0000-000000000000",
            "--reason",
            "x",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("payment.not_found"));
    // Background jobs by hand.
    site.tolom()
        .args(["--json", "reconcile"])
        .assert()
        .success()
        .stdout(predicate::str::contains("checked"));
    site.tolom().arg("expire").assert().success();
    site.tolom()
        .args(["outbox", "status"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pending"));
    site.tolom()
        .args(["outbox", "retry", "--all-dead"])
        .assert()
        .code(2);
}

#[test]
fn terms_publish_and_list() {
    let site = Site::new();
    for l in ["ky", "ru", "en"] {
        std::fs::write(
            site.dir.path().join(format!("t.{l}.md")),
            format!("text {l}"),
        )
        .expect("t");
    }
    let publish = || {
        let mut c = site.tolom();
        c.args([
            "terms",
            "publish",
            "--id",
            "2026-12",
            "--effective",
            "2026-12-01",
            "--ky",
            "t.ky.md",
            "--ru",
            "t.ru.md",
            "--en",
            "t.en.md",
        ]);
        c
    };
    publish()
        .assert()
        .success()
        .stdout(predicate::str::contains("2026-12-01 00:00:00"));
    publish()
        .assert()
        .code(1)
        .stderr(predicate::str::contains("terms.exists"));
    site.tolom()
        .args(["terms", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2026-12"));
}

#[test]
fn tokens_create_list_revoke() {
    let site = Site::new();
    let out = site
        .tolom()
        .args(["--json", "tokens", "create", "ops-1", "--role", "operator"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let secret = v["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("tlm_") && secret.len() == 68);
    site.tolom()
        .args(["tokens", "create", "ops-1", "--role", "auditor"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("token.exists"));
    site.tolom()
        .args(["tokens", "create", "x", "--role", "king"])
        .assert()
        .code(2);
    site.tolom()
        .args(["tokens", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ops-1").and(predicate::str::contains(&secret).not()));
    // Only the hash is in the database file.
    let bytes = std::fs::read(site.db()).expect("db");
    assert!(!String::from_utf8_lossy(&bytes).contains(&secret));
    site.tolom()
        .args(["tokens", "revoke", "ops-1"])
        .assert()
        .success();
    site.tolom()
        .args(["tokens", "revoke", "ops-1"])
        .assert()
        .code(1);
}

async fn raw(site: &Site) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", site.db().display()))
        .await
        .expect("raw")
}

#[tokio::test]
async fn audit_verify_catches_altered_deleted_and_inserted_rows() {
    for tamper in ["alter", "delete", "insert"] {
        let site = Site::new();
        for i in 0..4 {
            site.tolom()
                .args([
                    "codes",
                    "issue",
                    "--service",
                    "passport-2020",
                    "--payer",
                    &format!("P{i}"),
                ])
                .assert()
                .success();
        }
        site.tolom()
            .args(["audit", "verify"])
            .assert()
            .success()
            .stdout(predicate::str::contains("4 entries"));
        let pool = raw(&site).await;
        sqlx::query("DROP TRIGGER audit_log_no_update")
            .execute(&pool)
            .await
            .expect("drop");
        sqlx::query("DROP TRIGGER audit_log_no_delete")
            .execute(&pool)
            .await
            .expect("drop");
        let (sql, expect) = match tamper {
            "alter" => ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", "entry 2 was altered"),
            "delete" => ("DELETE FROM audit_log WHERE seq = 3", "entries 3..3 are missing"),
            _ => (
                "INSERT INTO audit_log SELECT 5, at, actor, action, subject, data, prev_hash, hash FROM audit_log WHERE seq = 2",
                "entry 5",
            ),
        };
        sqlx::query(sql).execute(&pool).await.expect("tamper");
        pool.close().await;
        site.tolom()
            .args(["audit", "verify"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("TAMPERED").and(predicate::str::contains(expect)));
    }
}

#[tokio::test]
async fn retention_removes_contact_data_and_subject_export_finds_it_before() {
    let site = Site::new();
    let old = site
        .paid_payment(Utc::now() - Duration::days(400), "Асанов Айбек")
        .await;
    let out = site
        .tolom()
        .args(["subject", "export", "--email", "AIBEK@example.kg"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let export: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(export["payments"][0]["payment"]["id"], old.id().to_string());
    assert_eq!(
        export["payments"][0]["charge"]["payer"]["full_name"],
        "Асанов Айбек"
    );
    site.tolom()
        .args([
            "subject",
            "export",
            "--phone",
            "+996 555 123 456",
            "--out",
            "req.json",
        ])
        .assert()
        .success();
    assert!(std::fs::read_to_string(site.dir.path().join("req.json"))
        .expect("file")
        .contains(&old.id().to_string()));
    site.tolom()
        .args(["--json", "retention", "run", "--days", "365"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"anonymised\": 1"));
    let out = site
        .tolom()
        .args([
            "subject",
            "export",
            "--email",
            "aibek@example.kg",
            "--phone",
            "+996555123456",
        ])
        .output()
        .expect("run");
    let export: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        export["payments"].as_array().map(|a| a.len()),
        Some(0),
        "nothing found after retention"
    );
    let pool = raw(&site).await;
    let rows: Vec<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT contact, card FROM payments")
            .fetch_all(&pool)
            .await
            .expect("rows");
    let outbox: Vec<(String,)> = sqlx::query_as("SELECT payload FROM outbox")
        .fetch_all(&pool)
        .await
        .expect("outbox");
    pool.close().await;
    let dump = format!("{rows:?} {outbox:?}");
    for trace in ["aibek@example.kg", "996555123456", "AIBEK ASANOV"] {
        assert!(!dump.contains(trace), "{trace} still stored: {dump}");
    }
    site.tolom().args(["audit", "verify"]).assert().success();
}

/// Production is the default, and test adapters are refused unless the
/// configuration asks for a development or test environment; a command
/// that calls the acquirer refuses to run without one.
#[test]
fn production_refuses_test_adapters_and_a_missing_acquirer() {
    let site = Site::new();
    // The shared secrets exist (made once by `tolom migrate`), so what is
    // checked below is the acquirer.
    site.tolom().arg("migrate").assert().success();
    let config = site.dir.path().join("tolom.toml");
    let cases = [
        ("", "no acquirer is configured"),
        ("[acquirer]\nkind = \"sandbox\"\n", "takes no money"),
        (
            "[acquirer]\nkind = \"sandbox\"\nenvironment = \"production\"\n",
            "takes no money",
        ),
        (
            "[acquirer]\nkind = \"sandbox\"\nenvironment = \"development\"\nallow_in_production = true\n",
            "allow_in_production is not supported",
        ),
    ];
    for (file, refusal) in cases {
        std::fs::write(&config, file).expect("config");
        for args in [vec!["serve", "--addr", "127.0.0.1:0"], vec!["reconcile"]] {
            site.tolom()
                .args(&args)
                .assert()
                .code(2)
                .stderr(predicate::str::contains(refusal));
        }
    }
    // Commands that never call an acquirer run without one.
    std::fs::write(&config, "").expect("config");
    site.tolom()
        .args([
            "codes",
            "issue",
            "--service",
            "passport-2020",
            "--payer",
            "Асанов Айбек",
        ])
        .assert()
        .success();
    // A development instance may name the sandbox.
    std::fs::write(
        &config,
        "[acquirer]\nkind = \"sandbox\"\nenvironment = \"development\"\n",
    )
    .expect("config");
    site.tolom().arg("reconcile").assert().success();
}
