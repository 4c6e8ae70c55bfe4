//! `tolom serve` as operators run it — a TOML file, the BPC emulator as the
//! bank over real HTTP, shared secrets made once by `tolom migrate`,
//! stopped with SIGTERM.

mod support;

use std::time::Duration;

use support::deployed::{bank, card, free_port, http, start, terms_id, Instance, Site};
use tolom_bpc_emulator::cards::SLOW_APPROVE;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_card_payment_answers_the_payer_then_exits_0() {
    let emu = bank(Duration::from_secs(3)).await;
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let site = Site::new(&emu, "sqlite", None, &public);
    site.migrate();
    let code = site.issue("passport-2020", "Асанов Айбек");
    let mut serve = Instance::start(&site, port, &[]);
    let http = http();
    let terms = terms_id(&http, &serve.base).await;
    let (status, p) = start(&http, &serve.base, &code, &terms, "start-1").await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().expect("id").to_string();
    // The bank takes 3 s over this card; SIGTERM arrives after 1 s.
    let base = serve.base.clone();
    let paying = tokio::spawn({
        let http = http.clone();
        async move { card(&http, &base, &id, SLOW_APPROVE, "card-1").await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopping = tokio::task::spawn_blocking(move || {
        let status = serve.terminate();
        (status, serve)
    });
    let (status, answer) = paying.await.expect("client");
    assert_eq!(status, 200, "the payer gets the answer: {answer}");
    assert_eq!(answer["state"], "succeeded", "{answer}");
    let (exit, _serve) = stopping.await.expect("stop");
    assert_eq!(exit.code(), Some(0), "a clean stop exits 0");
    assert_eq!(
        emu.orders().iter().map(|o| o.approvals).sum::<u32>(),
        1,
        "charged once"
    );
}

#[tokio::test]
async fn the_first_line_says_what_the_instance_is() {
    let emu = bank(Duration::from_millis(100)).await;
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let site = Site::new(&emu, "sqlite", None, &public);
    site.migrate();
    let mut serve = Instance::start(&site, port, &[]);
    let line = &serve.first_line;
    for part in [
        "environment production",
        &format!("public {public}"),
        "store sqlite",
        &format!("acquirer bpc {}", emu.base_url()),
    ] {
        assert!(line.contains(part), "{part:?} in {line:?}");
    }
    assert_eq!(serve.terminate().code(), Some(0));
}

/// A production instance never makes its own secrets (another instance
/// would not accept its forms or its receipts): `tolom migrate` makes them
/// once; without them `serve` refuses to start and says what to do. A bank
/// acquirer without a public URL is refused too.
#[test]
fn serve_refuses_missing_shared_secrets_and_a_bank_without_a_public_url() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let emu = rt.block_on(bank(Duration::from_millis(100)));
    let site = Site::new(&emu, "sqlite", None, "http://127.0.0.1:9");
    let out = site
        .tolom(&["serve", "--addr", "127.0.0.1:0"])
        .output()
        .expect("serve");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run `tolom migrate`"), "{err}");
    assert!(
        !site.dir.path().join("data/portal-secret.key").exists()
            && !site.dir.path().join("data/receipt-signing.key").exists(),
        "no per-instance secret was made"
    );
    site.migrate();
    assert!(site.dir.path().join("data/portal-secret.key").exists());
    assert!(site.dir.path().join("data/receipt-signing.key").exists());
    // Without a public URL, a bank acquirer cannot bring payers back.
    let config = std::fs::read_to_string(&site.config).expect("config");
    let without = config.replace("public_url = \"http://127.0.0.1:9\"\n", "");
    std::fs::write(&site.config, without).expect("config");
    let out = site
        .tolom(&["serve", "--addr", "127.0.0.1:0"])
        .output()
        .expect("serve");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.public_url"), "{err}");
}
