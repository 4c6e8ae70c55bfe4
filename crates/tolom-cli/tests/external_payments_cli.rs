//! `tolom payments import-external` against a SQLite file: a bank
//! statement's rows pay their codes, a row for a code paid by card is
//! recorded flagged, bad rows are named FILE:LINE with their reason (exit
//! 1, the good rows kept), and the same file again records nothing new;
//! then the flagged payment is listed (`payments external`, `payments
//! duplicates`, the report) and resolved (`payments resolve-external`).

mod common;

use chrono::{Duration, Utc};
use common::Site;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn issue(site: &Site, payer: &str) -> String {
    let out = site
        .tolom()
        .args([
            "--json",
            "codes",
            "issue",
            "--service",
            "passport-2020",
            "--payer",
            payer,
        ])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let charge: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    charge["code"].as_str().expect("code").to_string()
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(out), stderr(out)))
}

#[tokio::test]
async fn a_statement_pays_its_codes_once_flags_paid_ones_and_names_bad_rows() {
    let site = Site::new();
    let by_card = site.paid_payment(Utc::now(), "Асанов Айбек").await;
    let elqr = issue(&site, "Сыдыкова Айгүл");
    let app = issue(&site, "Токтогулов Нурлан");
    let unpaid = issue(&site, "Жумабаева Чолпон");
    let now = Utc::now();
    let bishkek = (now + Duration::minutes(1))
        .with_timezone(&tolom_core::time::bishkek())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let csv = format!(
        "code,channel,reference,amount,paid_at\n\
         {elqr},elqr,ELQR-1,885.00,{now}\n\
         {app},bank_app,APP-1,885,{bishkek}\n\
         {card},terminal,T-1,885.00,{now}\n\
         {unpaid},cash,X-1,885.00,{now}\n\
         {unpaid},elqr,ELQR-2,800.00,{now}\n\
         110000000000,elqr,ELQR-3,885.00,{now}\n\
         {unpaid},elqr,ELQR-4,885.00,2026-01-01\n",
        now = now.to_rfc3339(),
        card = by_card.code().as_str(),
    );
    std::fs::write(site.dir.path().join("statement.csv"), &csv).expect("csv");
    let out = site
        .tolom()
        .args(["payments", "import-external", "statement.csv"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "bad rows: exit 1");
    let said = stdout(&out);
    let errors = stderr(&out);
    assert!(
        said.contains("7 rows: 2 recorded, 1 flagged, 0 already recorded, 4 refused"),
        "{said}{errors}"
    );
    for (line, why) in [
        (5, "external.channel_invalid"),
        (6, "external.amount_mismatch"),
        (7, "code.check_digit"),
        (8, "paid_at \"2026-01-01\""),
    ] {
        assert!(
            errors
                .lines()
                .any(|l| l.starts_with(&format!("statement.csv:{line}: ")) && l.contains(why)),
            "line {line}: {why} in {errors}"
        );
    }
    assert!(errors.contains("external_duplicate"), "{errors}");

    // The same file again: nothing new.
    let out = site
        .tolom()
        .args(["--json", "payments", "import-external", "statement.csv"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let again = json_of(&out);
    assert_eq!(
        (
            &again["recorded"],
            &again["flagged"],
            &again["already_recorded"]
        ),
        (
            &serde_json::json!(0),
            &serde_json::json!(0),
            &serde_json::json!(3)
        ),
        "{again}"
    );
    assert_eq!(again["bad"].as_array().map(Vec::len), Some(4));

    // The codes are paid; the unpaid one is not.
    for (code, status) in [(&elqr, "paid"), (&app, "paid"), (&unpaid, "unpaid")] {
        let out = site
            .tolom()
            .args(["--json", "codes", "show", code])
            .output()
            .expect("run");
        assert_eq!(json_of(&out)["charge"]["status"], status, "{code}");
    }
    let out = site
        .tolom()
        .args(["--json", "codes", "show", &elqr])
        .output()
        .expect("run");
    let details = json_of(&out);
    assert_eq!(details["external"][0]["reference"], "ELQR-1", "{details}");
    assert_eq!(details["external"][0]["state"], "accepted");
    let out = site
        .tolom()
        .args(["codes", "show", &app])
        .output()
        .expect("run");
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with("elsewhere") && l.contains("bank_app APP-1")),
        "{}",
        stdout(&out)
    );

    // The flagged one, for operators.
    let out = site
        .tolom()
        .args(["--json", "payments", "external", "--state", "duplicate"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let flagged = json_of(&out);
    assert_eq!(flagged.as_array().map(Vec::len), Some(1), "{flagged}");
    assert_eq!(flagged[0]["reference"], "T-1");
    let id = flagged[0]["id"].as_str().expect("id").to_string();
    let out = site
        .tolom()
        .args(["payments", "duplicates"])
        .output()
        .expect("run");
    assert!(stdout(&out).contains(&id), "{}", stdout(&out));
    let today = tolom_core::time::to_bishkek(now).date_naive().to_string();
    let out = site
        .tolom()
        .args(["report", "--from", &today, "--format", "csv"])
        .output()
        .expect("run");
    let report = stdout(&out);
    assert!(
        report.starts_with("day,service,channel,payments,"),
        "{report}"
    );
    for line in [
        format!("{today},passport-2020,card,1,885.00,"),
        format!("{today},passport-2020,bank_app,1,885.00,0.00,885.00,"),
        format!("{today},passport-2020,elqr,1,885.00,0.00,885.00,"),
    ] {
        assert!(report.contains(&line), "{line} in {report}");
    }
    let out = site.tolom().args(["report"]).output().expect("run");
    let table = stdout(&out);
    let section = table
        .split("Payments made elsewhere for codes already paid")
        .nth(1)
        .unwrap_or_else(|| panic!("no section: {table}"));
    assert!(section.contains("flagged   1"), "{table}");
    assert!(section.contains(&id), "{table}");

    // Resolved: the bank gave the money back.
    let out = site
        .tolom()
        .args(["payments", "resolve-external", &id, "--returned"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "a note is required");
    let out = site
        .tolom()
        .args([
            "payments",
            "resolve-external",
            &id,
            "--returned",
            "--note",
            "the terminal operator returned 885.00",
        ])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("now returned"), "{}", stdout(&out));
    let out = site
        .tolom()
        .args(["--json", "payments", "external", "--state", "duplicate"])
        .output()
        .expect("run");
    assert_eq!(stdout(&out).trim(), "[]");
    let out = site
        .tolom()
        .args(["payments", "import-external", "no-such.csv"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    std::fs::write(site.dir.path().join("short.csv"), "code,amount\n1,2\n").expect("csv");
    let out = site
        .tolom()
        .args(["payments", "import-external", "short.csv"])
        .output()
        .expect("run");
    assert!(
        stderr(&out).contains("no channel, reference, paid_at column"),
        "{}",
        stderr(&out)
    );
}
