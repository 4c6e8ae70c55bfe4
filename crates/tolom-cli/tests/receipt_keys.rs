//! The receipt key ring at the command line: `tolom keys show`, `tolom keys
//! rotate`, and `tolom receipts verify` of a receipt signed before the
//! rotation (by key id against the ring) and of a forged one.

mod common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use predicates::prelude::*;
use tolom_core::ports::ReceiptSigner;
use tolom_core::receipt::Receipt;

use common::Site;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The receipt of `payment` as the portal makes it (signed with the
/// testkit's key, which the site's key file holds).
async fn receipt(site: &Site, payment: uuid::Uuid) -> Receipt {
    let store = tolom_store_sqlite::SqliteStore::open(
        site.db().to_str().expect("utf-8"),
        Default::default(),
    )
    .await
    .expect("open");
    let tolom = tolom_core::Tolom::builder()
        .store(Arc::new(store.clone()))
        .acquirer(Arc::new(tolom_testkit::fake::FakeAcquirer::new()))
        .signer(Arc::new(tolom_testkit::fixtures::test_signer()))
        .build()
        .expect("tolom");
    let r = tolom.receipt(payment).await.expect("receipt");
    store.close().await;
    r
}

/// A receipt's JSON with its signed content, as the portal serves it.
fn receipt_file(site: &Site, name: &str, r: &Receipt, content: &str) -> String {
    let mut v = serde_json::to_value(r).expect("json");
    v["signed_content"] = content.into();
    let path = site.dir.path().join(name);
    std::fs::write(&path, v.to_string()).expect("write");
    path.display().to_string()
}

fn ring_json(site: &Site) -> serde_json::Value {
    let out = site
        .tolom()
        .args(["--json", "keys", "show"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[tokio::test]
async fn a_receipt_signed_before_a_key_rotation_still_verifies_after_it() {
    let site = Site::new();
    let paid = site
        .paid_payment(Utc::now() - Duration::minutes(5), "Асанов Айбек")
        .await;
    let r = receipt(&site, paid.id()).await;
    let old_id = tolom_testkit::fixtures::test_signer().key_id();
    assert_eq!(r.key_id, old_id);
    let verify = |site: &Site| {
        let mut c = site.tolom();
        c.args([
            "receipts",
            "verify",
            &r.number,
            &r.signature,
            "--key-id",
            &old_id,
        ]);
        c
    };
    verify(&site)
        .assert()
        .success()
        .stdout(predicate::str::contains("genuine").and(predicate::str::contains("Асанов Айбек")));
    let ring = ring_json(&site);
    assert_eq!(ring["current"], old_id.as_str());
    assert_eq!(ring["keys"].as_array().map(|a| a.len()), Some(1));

    // Rotate: the old key is retired into the ring, a new one signs.
    let out = site
        .tolom()
        .args(["keys", "rotate", "--overlap-minutes", "0"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains(&format!("retired key {old_id}")),
        "{}",
        stdout(&out)
    );
    let ring_file = site.dir.path().join("data/receipt-keys.toml");
    let text = std::fs::read_to_string(&ring_file).expect("ring file");
    assert!(text.contains(&format!("id = \"{old_id}\"")), "{text}");
    assert!(
        !text.contains(&hex::encode([7u8; 32])),
        "no private key in the ring"
    );
    let key =
        std::fs::read_to_string(site.dir.path().join("data/receipt-signing.key")).expect("key");
    assert_ne!(
        key.trim(),
        hex::encode([7u8; 32]),
        "the key file holds the new key"
    );
    let ring = ring_json(&site);
    let keys = ring["keys"].as_array().cloned().unwrap_or_default();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["key_id"], old_id.as_str());
    assert!(keys[0]["valid_until"].is_string());
    assert!(keys[1]["valid_until"].is_null());
    assert_eq!(ring["current"], keys[1]["key_id"]);
    assert_ne!(ring["current"], old_id.as_str());
    let shown = site.tolom().args(["keys", "show"]).output().expect("run");
    let shown = stdout(&shown);
    assert!(
        shown.contains(&format!("key {old_id} (retired, Ed25519)")),
        "{shown}"
    );
    assert!(shown.contains("-----BEGIN PUBLIC KEY-----"), "{shown}");

    // The receipt signed before the rotation: genuine, by its key id.
    verify(&site)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "signed with key {old_id}"
        )));
    site.tolom()
        .args(["receipts", "verify", &r.number, &r.signature])
        .assert()
        .success();
    let genuine = receipt_file(&site, "receipt.json", &r, &r.signed_content());
    site.tolom()
        .args(["receipts", "verify", "--file", &genuine])
        .assert()
        .success();
    // A forged name on it: not genuine.
    let forged = r
        .signed_content()
        .replace("payer=Асанов Айбек", "payer=Сыдыкова Айгүл");
    let forged = receipt_file(&site, "forged.json", &r, &forged);
    site.tolom()
        .args(["receipts", "verify", "--file", &forged])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("NOT genuine")
                .and(predicate::str::contains("receipt.check.bad_signature")),
        );
    // Rotating again keeps every retired key.
    site.tolom().args(["keys", "rotate"]).assert().success();
    assert_eq!(
        ring_json(&site)["keys"].as_array().map(|a| a.len()),
        Some(3)
    );
    verify(&site).assert().success();
}

#[test]
fn the_ring_file_is_checked_and_rotation_needs_a_key_file() {
    let site = Site::new();
    site.tolom().arg("migrate").assert().success();
    // A key id that is not its public key's.
    let signer = tolom_testkit::fixtures::test_signer();
    std::fs::write(
        site.dir.path().join("data/receipt-keys.toml"),
        format!(
            "[[key]]\nid = \"AAAAAAAA\"\npublic_key = \"{}\"\n",
            signer.public_key()
        ),
    )
    .expect("ring");
    site.tolom()
        .args(["keys", "show"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "does not belong to its public key",
        ));
    // The key from the environment cannot be rotated here.
    std::fs::remove_file(site.dir.path().join("data/receipt-keys.toml")).expect("rm");
    site.tolom()
        .env("TOLOM_SIGNING_KEY", hex::encode([7u8; 32]))
        .args(["keys", "rotate"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("TOLOM_SIGNING_KEY"));
    // `serve` refuses to sign with a key the ring says is retired.
    std::fs::write(
        site.dir.path().join("data/receipt-keys.toml"),
        format!(
            "[[key]]\nid = \"{}\"\npublic_key = \"{}\"\nvalid_until = \"2020-01-01T00:00:00Z\"\n",
            signer.key_id(),
            signer.public_key()
        ),
    )
    .expect("ring");
    site.tolom()
        .env("TOLOM_ADDR", "127.0.0.1:0")
        .args(["serve", "--no-jobs"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "was retired at 2020-01-01T00:00:00Z",
        ));
}
