//! Duplicate approvals at the command line, and the bounds of
//! `--valid-days`: a duplicate made through the core on the site's SQLite
//! file (a card charged twice for one code; the bank will neither reverse
//! nor refund), then `tolom payments duplicates`, the daily report's
//! section, the gauge of the backlog round, `tolom payments
//! return-duplicate` and its audit entry.

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::Site;
use tolom_core::access::Principal;
use tolom_core::payment::{Payment, PaymentState};
use tolom_core::usecases::Config;
use tolom_store_sqlite::{SqliteOptions, SqliteStore};
use tolom_testkit::fake::{FakeAcquirer, Script};
use tolom_testkit::fixtures::Harness;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A duplicate approval on the site's database, as reconciliation finds
/// it (the flow of the testkit's
/// `a_duplicate_that_cannot_be_given_back_yet_is_retried_with_back_off`).
async fn duplicate(site: &Site) -> Payment {
    let store = Arc::new(
        SqliteStore::open(site.db().to_str().expect("utf-8"), SqliteOptions::default())
            .await
            .expect("open"),
    );
    let acquirer = Arc::new(FakeAcquirer::new());
    acquirer.script([Script::LoseRequest, Script::Approve]);
    acquirer.refuse_reverse(true);
    acquirer.refuse_refund(true);
    let h = Harness::on(store.clone(), acquirer.clone(), Config::default());
    let c = h.charge("passport-2020", "A B").await;
    let p1 = h.pay(&c.code, "4111111111111111", "k1").await;
    h.clock.advance(Duration::minutes(3));
    h.tolom.reconcile().await.expect("reconcile");
    let p2 = h.pay(&c.code, "4111111111111111", "k2").await;
    assert_eq!(p2.state(), PaymentState::Succeeded);
    acquirer.approve_late(&p1.order_number(), p1.total());
    let r = h.tolom.reconcile().await.expect("reconcile");
    assert_eq!((r.duplicates, r.duplicates_open), (1, 1), "{r:?}");
    let dup = h.tolom.payment(p1.id()).await.expect("payment");
    assert_eq!(dup.state(), PaymentState::Duplicate);
    // The backlog round of `serve` publishes it as the gauge.
    let backlog = h
        .tolom
        .operator()
        .expect("operator")
        .backlog(&Principal::System)
        .await
        .expect("backlog");
    assert_eq!(backlog.duplicates_open, 1);
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || tolom_cli::telemetry::backlog(&backlog));
    let text = handle.render();
    assert!(
        text.lines().any(|l| l == "tolom_payments_duplicate_open 1"),
        "{text}"
    );
    store.close().await;
    dup
}

#[tokio::test]
async fn operators_see_and_return_a_duplicate_at_the_command_line() {
    let site = Site::new();
    site.tolom().arg("migrate").assert().success();
    let dup = duplicate(&site).await;
    let id = dup.id().to_string();

    // Listed, as JSON and as a table with why the last attempt failed.
    let out = site
        .tolom()
        .args(["--json", "payments", "duplicates"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let open: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(open.as_array().map(Vec::len), Some(1), "{open}");
    assert_eq!(open[0]["payment_id"], id);
    assert_eq!(open[0]["attempts"], 1);
    let out = site
        .tolom()
        .args(["payments", "duplicates"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains(&id) && table.contains("refunds refused"),
        "{table}"
    );

    // The daily report tells the open duplicates apart from its rows.
    let out = site.tolom().args(["report"]).output().expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    let section = report
        .split("Duplicate approvals whose money is not back yet")
        .nth(1)
        .unwrap_or_else(|| panic!("no duplicates section: {report}"));
    assert!(section.contains("open      1"), "{report}");
    assert!(
        section.contains(&format!("total     {}", dup.total())),
        "{report}"
    );
    assert!(section.contains(&format!("payment {id}")), "{report}");
    assert!(
        report.find("Duplicate approvals") < report.find("Audit log checkpoint"),
        "the checkpoint stays the report's last section"
    );

    // Given back (the sandbox of the site holds nothing of the order: the
    // money is back), recorded with the change.
    let out = site
        .tolom()
        .args(["payments", "return-duplicate", &id])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.contains(&id) && said.contains("payment now returned"),
        "{said}"
    );
    let out = site
        .tolom()
        .args(["--json", "payments", "duplicates"])
        .output()
        .expect("run");
    assert_eq!(stdout(&out).trim(), "[]");
    let out = site.tolom().args(["report"]).output().expect("run");
    assert!(
        stdout(&out).contains(
            "Duplicate approvals whose money is not back yet (tolom payments duplicates):\nnone"
        ),
        "{}",
        stdout(&out)
    );
    let out = site
        .tolom()
        .args(["--json", "audit", "list"])
        .output()
        .expect("run");
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        log.as_array().expect("array").iter().any(|e| {
            e["action"] == "cli.return_duplicate"
                && e["actor"] == "cli:tester"
                && e["subject"] == id.as_str()
        }),
        "{log}"
    );
    // Not a duplicate awaiting its money any more: refused, nothing done.
    let out = site
        .tolom()
        .args(["payments", "return-duplicate", &id])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not a duplicate"), "{}", stderr(&out));
    site.tolom().args(["audit", "verify"]).assert().success();
}

/// A huge `--valid-days` is a usage error (exit 2) naming the option,
/// never a panic (`DateTime + Duration` overflows past year 262143); so
/// are 0 and 3651. 3650 issues.
#[test]
fn a_huge_valid_days_is_refused_at_issue_and_import() {
    let site = Site::new();
    site.tolom().arg("migrate").assert().success();
    let csv = site.dir.path().join("codes.csv");
    std::fs::write(
        &csv,
        "service,payer,agency_ref\npassport-2020,Асанов Айбек,R-1\n",
    )
    .expect("csv");
    for days in ["99999999999", "4294967295", "3651", "0", "-1"] {
        let option = format!("--valid-days={days}");
        let out = site
            .tolom()
            .args([
                "codes",
                "issue",
                "--service",
                "passport-2020",
                "--payer",
                "Асанов Айбек",
                &option,
            ])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "issue {days}: {}", stderr(&out));
        assert!(stderr(&out).contains("--valid-days"), "{}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        let out = site
            .tolom()
            .args(["codes", "import", csv.to_str().expect("path"), &option])
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(2),
            "import {days}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("--valid-days"), "{}", stderr(&out));
    }
    let out = site
        .tolom()
        .args(["--json", "codes", "import", csv.to_str().expect("path")])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["issued"], 1, "nothing was imported before: {report}");
    site.tolom()
        .args([
            "codes",
            "issue",
            "--service",
            "passport-2020",
            "--payer",
            "Асанов Айбек",
            "--valid-days",
            "3650",
        ])
        .assert()
        .success();
}
