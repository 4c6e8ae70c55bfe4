//! Receipts through the portal: the PDF, the QR link (and the verification
//! page it opens) and the JSON carry the same signed content; `/verify` and the API check it by key id
//! against the key ring (a forged name is caught, a receipt signed before a
//! key rotation still verifies); and an agency verifies one without tolom,
//! with Python's `cryptography` and with `openssl pkeyutl`, by the steps of
//! `docs/security.md` ("Receipts").

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{json, portal, test_config, Client};
use tolom_acquirer_sandbox::{SandboxAcquirer, VISA_APPROVE};
use tolom_core::ports::{Clock, Ed25519Signer, KeyRing, ReceiptSigner, RingKey};
use tolom_http::{router, AppState};
use tolom_testkit::external::{self, External};
use tolom_testkit::fixtures::{test_signer, Harness};

async fn paid() -> (Client, Harness, String) {
    let (app, h) = portal(test_config());
    let charge = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    let mut c = Client::new(app);
    let terms = h.terms_id().await;
    let p = c
        .post_json(
            "/api/v1/payments",
            None,
            &format!(
                r#"{{"code":"{}","accepted_terms":"{terms}"}}"#,
                charge.code.as_str()
            ),
        )
        .await;
    let id = json(&p)["id"].as_str().unwrap_or("").to_string();
    let card = format!(
        r#"{{"holder":"AIBEK ASANOV","pan":"{VISA_APPROVE}","expiry":"12/30","cvv":"123","phone":"+996555123456","email":"a@example.kg"}}"#
    );
    let r = c
        .post_json(&format!("/api/v1/payments/{id}/card"), None, &card)
        .await;
    assert_eq!(json(&r)["state"], "succeeded", "{}", r.body);
    (c, h, id)
}

/// The portal of another instance over the same store: its own signer and
/// key ring.
fn instance(h: &Harness, signer: Ed25519Signer, ring: KeyRing) -> Client {
    let tolom = tolom_core::Tolom::builder()
        .store(h.store.clone())
        .acquirer(Arc::new(SandboxAcquirer::for_tests()))
        .clock(h.clock.clone())
        .signer(Arc::new(signer))
        .key_ring(ring)
        .build()
        .expect("tolom");
    Client::new(router(AppState::new(Arc::new(tolom), test_config())))
}

fn q(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The path and query of an absolute verification link.
fn path_of(url: &str) -> String {
    url.trim_start_matches("http://portal.test").to_string()
}

/// Undoes askama's HTML escaping (`&#38;` and the like).
fn html_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').filter(|e| *e < 8);
        let decoded = end.and_then(|e| match &rest[1..e] {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            n => n
                .strip_prefix('#')
                .and_then(|d| d.parse::<u32>().ok())
                .and_then(char::from_u32),
        });
        match (decoded, end) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn the_page_the_pdf_the_qr_link_and_the_json_carry_the_same_signed_content() {
    let (mut c, _h, id) = paid().await;
    let j = json(&c.get(&format!("/payments/{id}/receipt.json")).await);
    let api = json(&c.get(&format!("/api/v1/payments/{id}/receipt")).await);
    let content = j["signed_content"].as_str().expect("signed content");
    let (number, key, sig) = (
        j["number"].as_str().unwrap_or(""),
        j["key_id"].as_str().unwrap_or(""),
        j["signature"].as_str().unwrap_or(""),
    );
    assert_eq!(j["format"], "tolom-receipt/2");
    assert_eq!(api["signed_content"], j["signed_content"]);
    assert_eq!(api["signature"], j["signature"]);
    // Every fact the receipt states is in what is signed.
    for line in [
        "payer=Сыдыкова Айгүл Бакытовна".to_string(),
        format!("number={number}"),
        format!("code={}", j["code"].as_str().unwrap_or("")),
        "service=passport-2020".into(),
        "amount=885.00".into(),
        format!("fee={}", j["fee"]["amount"].as_str().unwrap_or("")),
        format!("total={}", j["total"]["amount"].as_str().unwrap_or("")),
        "refunded=0.00".into(),
        "status=succeeded".into(),
        format!("card={}", j["masked_pan"].as_str().unwrap_or("")),
        format!("approval={}", j["auth_code"].as_str().unwrap_or("")),
        format!("terms={}", j["terms_edition"].as_str().unwrap_or("")),
        format!("key={key}"),
    ] {
        assert!(
            content.lines().any(|l| l == line),
            "{line} not in\n{content}"
        );
    }
    // The QR code's link: number, key id, signature.
    let url = format!(
        "http://portal.test/verify?n={}&k={}&s={}",
        q(number),
        q(key),
        q(sig)
    );
    assert_eq!(j["verify_url"], url.as_str());
    // The printable page: the same link under its QR code, and none of the
    // technical details (they are on the verification page it opens).
    let page = c.get(&format!("/payments/{id}/receipt")).await;
    let unescaped = html_unescape(&page.body);
    assert!(
        unescaped.contains(&format!("<a href=\"{url}\" id=\"verify-link\">")),
        "{}",
        page.body
    );
    // The signature is in the link (and its QR code), not shown as text.
    assert_eq!(
        unescaped.matches(sig).count(),
        1,
        "no signature on the payer's page but in the link"
    );
    assert!(!page.body.contains("id=\"signature\""));
    assert!(!page.body.contains("signed-content"));
    assert!(!page.body.contains("receipt.json"));
    // The verification page of that link: key, signature, the signed
    // content itself and the way to the JSON.
    let verify = c.get(&format!("{}&lang=en", path_of(&url))).await;
    assert_eq!(verify.status, 200);
    assert!(
        verify.body.contains("data-genuine=\"true\""),
        "{}",
        verify.body
    );
    assert!(verify
        .body
        .contains(&format!("data-key=\"{key}\" id=\"key\">{key}</dd>")));
    assert!(verify
        .body
        .contains(&format!("<dd class=\"sig\" id=\"signature\">{sig}</dd>")));
    assert!(verify.body.contains(&format!(
        "href=\"/payments/{id}/receipt.json\" id=\"receipt-json\""
    )));
    let start = verify
        .body
        .find("<pre class=\"sig\" id=\"signed-content\">")
        .expect("signed content on the verification page")
        + "<pre class=\"sig\" id=\"signed-content\">".len();
    let end = start + verify.body[start..].find("</pre>").expect("end");
    assert_eq!(html_unescape(&verify.body[start..end]), content);
    // The PDF: the key, the signature and every line of the signed content.
    let bytes = {
        use tower::ServiceExt;
        let resp = c
            .app
            .clone()
            .oneshot(
                axum::http::Request::get(format!("/payments/{id}/receipt.pdf?lang=ru"))
                    .body(axum::body::Body::empty())
                    .expect("req"),
            )
            .await
            .expect("resp");
        axum::body::to_bytes(resp.into_body(), 10 << 20)
            .await
            .expect("bytes")
    };
    let dir = tempdir("pdf");
    let pdf = dir.join("r.pdf");
    std::fs::write(&pdf, &bytes).expect("write");
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-layout"])
        .arg(&pdf)
        .arg("-")
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let flat: String = text.split_whitespace().collect();
            for line in content.lines() {
                let want: String = line.split_whitespace().collect();
                assert!(flat.contains(&want), "PDF lacks {line:?}:\n{text}");
            }
            assert!(flat.contains(sig), "PDF lacks the signature:\n{text}");
        }
        _ => external::missing(
            "receipt PDF text",
            External::Tool("pdftotext"),
            "poppler-utils is not installed; the PDF's text is not checked",
        ),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_forged_payer_name_is_not_genuine_at_verify_and_in_the_api() {
    let (mut c, _h, id) = paid().await;
    let j = json(&c.get(&format!("/payments/{id}/receipt.json")).await);
    let content = j["signed_content"].as_str().unwrap_or("").to_string();
    let sig = j["signature"].as_str().unwrap_or("").to_string();
    let forged = content.replace(
        "payer=Сыдыкова Айгүл Бакытовна",
        "payer=Асанов Айбек Маратович",
    );
    assert_ne!(forged, content);
    // The page: by the QR link, by the genuine content, by the forged one.
    let ok = c
        .get(&format!(
            "{}&lang=en",
            path_of(j["verify_url"].as_str().unwrap_or(""))
        ))
        .await;
    assert!(ok.body.contains("data-genuine=\"true\""), "{}", ok.body);
    assert!(ok.body.contains("Сыдыкова Айгүл Бакытовна"));
    let ok = c
        .get(&format!("/verify?c={}&s={}&lang=en", q(&content), q(&sig)))
        .await;
    assert!(ok.body.contains("data-genuine=\"true\""), "{}", ok.body);
    // A browser's text area sends CR LF: still the same content.
    let ok = c
        .get(&format!(
            "/verify?c={}&s={}&lang=en",
            q(&content.replace('\n', "\r\n")),
            q(&sig)
        ))
        .await;
    assert!(ok.body.contains("data-genuine=\"true\""), "{}", ok.body);
    let bad = c
        .get(&format!("/verify?c={}&s={}&lang=en", q(&forged), q(&sig)))
        .await;
    assert_eq!(bad.status, 200);
    assert!(bad.body.contains("data-genuine=\"false\""), "{}", bad.body);
    assert!(bad.body.contains("NOT genuine"));
    assert!(bad.body.contains("altered or forged"), "{}", bad.body);
    assert!(!bad.body.contains("data-genuine=\"true\""));
    // The API: the receipt's JSON posted as it is, then with the forged
    // name in its signed content.
    let posted = c
        .post_json("/api/v1/receipts/verify?lang=en", None, &j.to_string())
        .await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    let v = json(&posted);
    assert_eq!(v["genuine"], true, "{v}");
    assert_eq!(v["receipt"]["payer"], "Сыдыкова Айгүл Бакытовна");
    let mut f = j.clone();
    f["signed_content"] = forged.clone().into();
    let v = json(
        &c.post_json("/api/v1/receipts/verify?lang=en", None, &f.to_string())
            .await,
    );
    assert_eq!(v["genuine"], false, "{v}");
    assert_eq!(v["reason"]["code"], "receipt.check.bad_signature");
    // Only what is signed counts: a name changed outside the signed
    // content is not what the answer reports.
    let mut f = j.clone();
    f["payer"] = "Асанов Айбек Маратович".into();
    let v = json(
        &c.post_json("/api/v1/receipts/verify", None, &f.to_string())
            .await,
    );
    assert_eq!(v["genuine"], true);
    assert_eq!(v["receipt"]["payer"], "Сыдыкова Айгүл Бакытовна");
    // By reference, with and without the key id; a wrong key id.
    let r = |k: &str| {
        format!(
            "/api/v1/receipts/verify?number={}&key_id={}&signature={}",
            q(j["number"].as_str().unwrap_or("")),
            q(k),
            q(&sig)
        )
    };
    assert_eq!(
        json(&c.get(&r(j["key_id"].as_str().unwrap_or(""))).await)["genuine"],
        true
    );
    assert_eq!(json(&c.get(&r("")).await)["genuine"], true);
    let v = json(&c.get(&r("zzzzzzzz")).await);
    assert_eq!(v["genuine"], false);
    assert_eq!(v["reason"]["code"], "receipt.check.unknown_key");
    // Not JSON, or nothing to check.
    let r = c
        .send(
            axum::http::Request::post("/api/v1/receipts/verify")
                .header("content-type", "text/plain")
                .body(axum::body::Body::from("x"))
                .expect("req"),
        )
        .await;
    assert_eq!(r.status, 415);
    let r = c
        .post_json("/api/v1/receipts/verify", None, r#"{"signature":"x"}"#)
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn a_receipt_signed_before_a_key_rotation_verifies_at_verify_after_it() {
    let (mut c, h, id) = paid().await;
    let j = json(&c.get(&format!("/payments/{id}/receipt.json")).await);
    let old = test_signer();
    assert_eq!(j["key_id"], old.key_id().as_str());
    // The rotation: another key signs, the old one is retired into the ring.
    h.clock.advance(chrono::Duration::hours(1));
    let retired = RingKey::new(old.public_key_bytes(), None, Some(h.clock.now())).expect("key");
    let new = Ed25519Signer::from_seed([42; 32]);
    let new_id = new.key_id();
    let mut after = instance(&h, new, KeyRing::new(vec![retired]).expect("ring"));
    let link = path_of(j["verify_url"].as_str().unwrap_or(""));
    let page = after.get(&format!("{link}&lang=en")).await;
    assert!(page.body.contains("data-genuine=\"true\""), "{}", page.body);
    assert!(page
        .body
        .contains(&format!("data-key=\"{}\"", old.key_id())));
    let v = json(
        &after
            .post_json("/api/v1/receipts/verify", None, &j.to_string())
            .await,
    );
    assert_eq!(v["genuine"], true, "{v}");
    assert_eq!(v["key"]["key_id"], old.key_id().as_str());
    assert!(v["key"]["valid_until"].is_string());
    // The same receipt, fetched now, carries the new key; the ring lists both.
    let now = json(&after.get(&format!("/payments/{id}/receipt.json")).await);
    assert_eq!(now["key_id"], new_id.as_str());
    let ring = json(&after.get("/api/v1/receipts/keys").await);
    let ids: Vec<&str> = ring["keys"]
        .as_array()
        .map(|a| a.iter().filter_map(|k| k["key_id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec![old.key_id().as_str(), new_id.as_str()]);
    // An instance that knows only its own key (what re-signing amounted to)
    // calls the old receipt not genuine.
    let mut forgetful = instance(&h, Ed25519Signer::from_seed([42; 32]), KeyRing::default());
    let page = forgetful.get(&format!("{link}&lang=en")).await;
    assert!(
        page.body.contains("data-genuine=\"false\""),
        "{}",
        page.body
    );
}

fn tempdir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tolom-{what}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn run(cmd: &mut std::process::Command) -> (bool, String) {
    let out = cmd.output().expect("run");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The shell commands of docs/security.md, "Verify a receipt without
/// tolom": the first `sh` block of that section.
fn documented_shell_steps() -> String {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/security.md"),
    )
    .expect("docs/security.md");
    let section = doc
        .split("### Verify a receipt without tolom")
        .nth(1)
        .expect("the agencies' section");
    let block = section.split("```sh\n").nth(1).expect("an sh block");
    block.split("```").next().unwrap_or("").to_string()
}

fn docs_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/verify-receipt.py")
}

#[tokio::test]
async fn an_agency_verifies_a_receipt_without_tolom() {
    let (mut c, _h, id) = paid().await;
    let receipt = c.get(&format!("/payments/{id}/receipt.json")).await.body;
    let keys = c.get("/api/v1/receipts/keys").await.body;
    let dir = tempdir("agency");
    std::fs::write(dir.join("receipt.json"), &receipt).expect("write");
    std::fs::write(dir.join("receipt-keys.json"), &keys).expect("write");
    let j: serde_json::Value = serde_json::from_str(&receipt).expect("json");
    let write = |name: &str, v: &serde_json::Value| {
        std::fs::write(dir.join(name), v.to_string()).expect("write");
    };
    let mut f = j.clone();
    f["payer"] = "Асанов Айбек Маратович".into();
    write("forged-field.json", &f);
    let mut f = j.clone();
    let forged = j["signed_content"]
        .as_str()
        .unwrap_or("")
        .replace("Сыдыкова Айгүл Бакытовна", "Асанов Айбек Маратович");
    f["payer"] = "Асанов Айбек Маратович".into();
    f["signed_content"] = forged.into();
    write("forged-both.json", &f);

    // Python, `cryptography`: docs/verify-receipt.py.
    let probe = std::process::Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .map_err(|e| e.to_string())
        .and_then(|o| {
            if o.status.success() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&o.stderr).into_owned())
            }
        });
    if external::require(
        "an_agency_verifies_a_receipt_without_tolom",
        External::Tool("python3 with cryptography (pip install cryptography)"),
        probe,
    )
    .is_some()
    {
        let script = docs_script();
        let (ok, out) = run(std::process::Command::new("python3")
            .arg(&script)
            .arg(dir.join("receipt.json"))
            .arg(dir.join("receipt-keys.json")));
        assert!(ok, "{out}");
        assert!(out.contains("genuine (tolom-receipt/2"), "{out}");
        assert!(out.contains("Сыдыкова Айгүл Бакытовна"), "{out}");
        for forged in ["forged-field.json", "forged-both.json"] {
            let (ok, out) = run(std::process::Command::new("python3")
                .arg(&script)
                .arg(dir.join(forged))
                .arg(dir.join("receipt-keys.json")));
            assert!(!ok, "{forged}: {out}");
            assert!(out.contains("NOT genuine"), "{forged}: {out}");
        }
    }

    // A shell, jq and OpenSSL: the very commands of docs/security.md.
    let tools = ["openssl", "jq", "base64"];
    if tools
        .iter()
        .all(|t| external::require_tool("an_agency_verifies_a_receipt_without_tolom", t).is_some())
    {
        let steps = documented_shell_steps();
        assert!(steps.contains("openssl pkeyutl -verify"), "{steps}");
        let shell = |receipt: &str| {
            let d = tempdir("agency-sh");
            std::fs::write(d.join("receipt.json"), receipt).expect("write");
            std::fs::write(d.join("receipt-keys.json"), &keys).expect("write");
            let r = run(std::process::Command::new("sh")
                .current_dir(&d)
                .args(["-c", &format!("set -e\n{steps}")]));
            let _ = std::fs::remove_dir_all(&d);
            r
        };
        let (ok, out) = shell(&receipt);
        assert!(ok, "{out}");
        assert!(out.contains("Signature Verified Successfully"), "{out}");
        let (ok, out) = shell(&f.to_string());
        assert!(!ok, "a forged name verified: {out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
