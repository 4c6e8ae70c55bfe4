//! `tolom codes import` and `codes issue` against a SQLite file: codes that
//! cannot be guessed, collisions that are retried, agency references that
//! name one request, amounts that fit.

mod common;

use std::collections::HashSet;

use common::Site;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Imports `csv` (written to `name`) with `--json`; the report.
fn import_json(site: &Site, name: &str, csv: &str) -> (serde_json::Value, std::process::Output) {
    std::fs::write(site.dir.path().join(name), csv).expect("csv");
    let out = site
        .tolom()
        .args(["--json", "codes", "import", name])
        .output()
        .expect("run");
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (report, out)
}

/// The codes of a report, by agency reference.
fn codes(report: &serde_json::Value) -> Vec<(String, String)> {
    report["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| {
            (
                c["agency_ref"].as_str().unwrap_or_default().to_string(),
                c["code"].as_str().expect("code").to_string(),
            )
        })
        .collect()
}

/// The 9 serial digits of a default code (after the 2-digit prefix).
fn serial(code: &str) -> u64 {
    code[2..11].parse().expect("digits")
}

/// The hash the import used to derive a code from (before issue 12): the
/// first 16 bytes of SHA-256(service ␟ reference), big-endian, mod 10⁹.
fn derived_serial(service: &str, reference: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{service}\u{1f}{reference}").as_bytes());
    let mut n = [0u8; 16];
    n.copy_from_slice(&d[..16]);
    (u128::from_be_bytes(n) % 1_000_000_000) as u64
}

/// Sequential agency references do not give sequential, guessable or
/// reproducible codes: two sites importing the same file get other codes,
/// the serials are neither in order nor close together nor the old hash of
/// the reference, and the import prints every code (and writes them for
/// the agency with `--codes-out`).
#[test]
fn imported_codes_are_random_not_derived_from_the_reference() {
    let mut csv = String::from("service,payer,agency_ref\n");
    for i in 1..=60 {
        csv.push_str(&format!("passport-2020,Payer Number{i},REQ-{i:06}\n"));
    }
    let first = Site::new();
    let (a, _) = import_json(&first, "codes.csv", &csv);
    assert_eq!(a["issued"], 60, "{a}");
    let a = codes(&a);
    let second = Site::new();
    let (b, _) = import_json(&second, "codes.csv", &csv);
    let b = codes(&b);
    assert_eq!(a.len(), 60);
    let same: Vec<_> = a.iter().zip(&b).filter(|(x, y)| x.1 == y.1).collect();
    assert!(
        same.is_empty(),
        "the same reference got the same code on another site: {same:?}"
    );
    let serials: Vec<u64> = a.iter().map(|(_, c)| serial(c)).collect();
    let ascending = serials.windows(2).filter(|w| w[1] > w[0]).count();
    assert!(
        (10..=49).contains(&ascending),
        "serials in order ({ascending} of 59 steps up): {serials:?}"
    );
    let close = serials
        .windows(2)
        .filter(|w| w[0].abs_diff(w[1]) < 1_000)
        .count();
    assert!(
        close <= 1,
        "consecutive serials close together: {serials:?}"
    );
    let spread = serials.iter().max().unwrap_or(&0) - serials.iter().min().unwrap_or(&0);
    assert!(spread > 500_000_000, "serials clustered: {serials:?}");
    for (r, c) in &a {
        assert_ne!(
            serial(c),
            derived_serial("passport-2020", r),
            "the code of {r} is the hash of its reference"
        );
    }
    // Printed for the agency, and written with --codes-out.
    let out = first
        .tolom()
        .args(["codes", "import", "codes.csv", "--codes-out", "issued.csv"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    for (r, c) in &a {
        assert!(
            printed
                .lines()
                .any(|l| l.contains(r.as_str()) && l.contains(c.as_str())),
            "{r} {c} not printed: {printed}"
        );
    }
    assert!(printed.contains("60 already issued"), "{printed}");
    let file = std::fs::read_to_string(first.dir.path().join("issued.csv")).expect("codes-out");
    let mut lines = file.lines();
    assert_eq!(lines.next(), Some("line,agency_ref,code,status"));
    assert_eq!(lines.count(), 60);
    assert!(file.contains(&format!("2,REQ-000001,{},already_issued", a[0].1)));
}

/// Two references whose old derived codes collide (the same 9 digits —
/// found by searching, as the birthday bound makes likely at ~37,000
/// references): both are issued, with two codes. The second is never
/// "already issued" (which left its payer without a charge and handed out
/// the first payer's code).
#[test]
fn references_that_collided_are_both_issued() {
    assert_eq!(
        derived_serial("passport-2020", "REQ-005110"),
        derived_serial("passport-2020", "REQ-013027"),
        "the pair collides under the old derivation"
    );
    let site = Site::new();
    let (report, out) = import_json(
        &site,
        "codes.csv",
        "service,payer,agency_ref\n\
         passport-2020,Асанов Айбек,REQ-005110\n\
         passport-2020,Сыдыкова Айгүл,REQ-013027\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report["issued"], 2, "{report}");
    assert_eq!(report["already_issued"], 0, "{report}");
    let got = codes(&report);
    assert_ne!(got[0].1, got[1].1, "two payers, two codes");
    for (payer, (_, code)) in ["Асанов Айбек", "Сыдыкова Айгүл"].iter().zip(&got)
    {
        let shown = site
            .tolom()
            .args(["codes", "show", code])
            .output()
            .expect("run");
        assert!(stdout(&shown).contains(payer), "{}", stdout(&shown));
    }
}

/// An agency reference issued before names that request: the same row
/// again is "already issued" with the same code; the reference with other
/// data (another payer, another amount) is an error naming the row, and
/// nothing is issued for it — in another file or later in the same one.
#[test]
fn a_reference_reused_with_other_data_is_a_row_error_never_a_silent_skip() {
    let site = Site::new();
    let (first, _) = import_json(
        &site,
        "a.csv",
        "service,payer,agency_ref\npassport-2020,Асанов Айбек,REQ-1\n",
    );
    let code = codes(&first)[0].1.clone();
    let (again, out) = import_json(
        &site,
        "b.csv",
        "service,payer,agency_ref,amount\n\
         passport-2020,Асанов Айбек,REQ-1,\n\
         passport-2020,Бакыт Осмонов,REQ-1,\n\
         passport-2020,Асанов Айбек,REQ-1,100\n\
         passport-2020,Чынара Токтогулова,REQ-2,\n\
         passport-2020,Динара Алиева,REQ-2,\n",
    );
    assert_eq!(out.status.code(), Some(1), "bad rows make the status 1");
    assert_eq!(again["issued"], 1, "{again}");
    assert_eq!(again["already_issued"], 1, "{again}");
    let got = codes(&again);
    assert_eq!(got[0], ("REQ-1".to_string(), code.clone()), "the same code");
    let bad = again["bad"].as_array().expect("bad");
    let lines: Vec<u64> = bad
        .iter()
        .map(|b| b["line"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(lines, vec![3, 4, 6], "{again}");
    for (b, what) in bad.iter().zip(["payer", "amount", "payer"]) {
        let reason = b["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("agency reference") && reason.contains(what),
            "{reason}"
        );
    }
    assert!(bad[0]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains(&code));
    // In text mode, the bad row is named by file and line.
    let out = site
        .tolom()
        .args(["codes", "import", "b.csv"])
        .output()
        .expect("run");
    assert!(
        stderr(&out)
            .lines()
            .any(|l| l.starts_with("b.csv:3:") && l.contains("REQ-1")),
        "{}",
        stderr(&out)
    );
    // Only the first payer holds REQ-1.
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
    assert_eq!(issued, 2, "REQ-1 once, REQ-2 once");
}

/// An amount that does not fit what tolom stores and sends to the bank
/// (integer tyiyn) is refused with a clear error, never issued as another
/// amount (it used to become 0.00).
#[test]
fn an_amount_that_does_not_fit_is_refused_at_issue_and_import() {
    let site = Site::new();
    site.tolom().arg("migrate").assert().success();
    for amount in ["92233720368547758.08", "100000000000000000000"] {
        let out = site
            .tolom()
            .args([
                "codes",
                "issue",
                "--service",
                "passport-2020",
                "--payer",
                "Асанов Айбек",
                "--amount",
                amount,
            ])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "{amount}: {}", stdout(&out));
        assert!(stderr(&out).contains("too large"), "{}", stderr(&out));
    }
    let (report, out) = import_json(
        &site,
        "codes.csv",
        "service,payer,agency_ref,amount\n\
         passport-2020,Асанов Айбек,REQ-1,100000000000000000000\n\
         passport-2020,Асанов Айбек,REQ-2,92233720368547758.07\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        report["issued"], 1,
        "the largest amount that fits: {report}"
    );
    assert_eq!(report["bad"][0]["line"], 2);
    assert!(report["bad"][0]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("too large"));
    let list = site
        .tolom()
        .args(["--json", "audit", "list", "--last", "100"])
        .output()
        .expect("run");
    let entries: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert!(
        !entries
            .as_array()
            .expect("array")
            .iter()
            .any(|e| e["data"]["amount"]["amount"] == "0.00"),
        "no charge of 0.00"
    );
}

/// Codes of one site never repeat, whatever the references.
#[test]
fn many_imported_codes_are_all_different() {
    let mut csv = String::from("service,payer,agency_ref\n");
    for i in 0..300 {
        csv.push_str(&format!("passport-2020,Payer {i},R{i}\n"));
    }
    let site = Site::new();
    let (report, _) = import_json(&site, "codes.csv", &csv);
    let got = codes(&report);
    assert_eq!(got.len(), 300);
    let distinct: HashSet<&String> = got.iter().map(|(_, c)| c).collect();
    assert_eq!(distinct.len(), 300);
}
