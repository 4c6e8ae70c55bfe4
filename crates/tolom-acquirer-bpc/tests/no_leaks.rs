//! Everything logged while payments run (at TRACE, every crate: tolom, the
//! client, reqwest/hyper, the emulator), every error text and `Debug`
//! output: no card number, no CVV, no password.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tolom_bpc_emulator::{Endpoint, Fault};
use tolom_core::card::CardForm;
use tolom_core::money::Money;
use tolom_core::payment::PaymentState;
use tolom_core::ports::Acquirer;

/// A distinctive CVV, searched for as a standalone number.
const CVV: &str = "739";
const PANS: [&str; 4] = [
    "4111111111111111",
    "4000000000003063",
    "4000000000001166",
    "4000000000009995",
];

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn form(pan: &str) -> CardForm {
    CardForm {
        holder: "AIBEK ASANOV".into(),
        pan: pan.into(),
        expiry: "12/30".into(),
        cvv: CVV.into(),
        phone: "+996 555 123 456".into(),
        email: "aibek@example.kg".into(),
    }
}

/// Whether `needle` (digits) occurs in `hay` not as part of a longer number.
fn has_standalone_number(hay: &str, needle: &str) -> bool {
    let bytes = hay.as_bytes();
    hay.match_indices(needle).any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + needle.len()).copied();
        !before.is_some_and(|b| b.is_ascii_digit()) && !after.is_some_and(|b| b.is_ascii_digit())
    })
}

fn assert_clean(what: &str, text: &str) {
    for pan in PANS {
        assert!(!text.contains(pan), "{what} contains a card number");
        let spaced = format!(
            "{} {} {} {}",
            &pan[..4],
            &pan[4..8],
            &pan[8..12],
            &pan[12..]
        );
        assert!(!text.contains(&spaced), "{what} contains a card number");
    }
    assert!(!has_standalone_number(text, CVV), "{what} contains the CVV");
    assert!(
        !text.contains(common::PASSWORD),
        "{what} contains the password"
    );
}

#[tokio::test]
async fn logs_errors_and_debug_output_carry_no_card_data_or_credentials() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .without_time()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emu = common::emulator_with(Duration::from_millis(200)).await;
    let acquirer = Arc::new(common::client(&emu));
    let h = common::harness(acquirer.clone());
    let mut errors = Vec::new();

    // Approved, with a refund.
    let (_, p) = common::started(&h, "A B").await;
    let paid = h
        .tolom
        .submit_card(p.id(), &form(PANS[0]), "c1")
        .await
        .unwrap();
    assert_eq!(paid.state(), PaymentState::Succeeded);
    h.tolom
        .refund(paid.id(), Some(Money::som(5)), "r", "r1")
        .await
        .unwrap();
    // 3-D Secure.
    let (_, p) = common::started(&h, "C D").await;
    let p = h
        .tolom
        .submit_card(p.id(), &form(PANS[1]), "c2")
        .await
        .unwrap();
    let response = common::solve_3ds(p.challenge().cloned().unwrap(), common::OTP).await;
    let p = h.tolom.complete_challenge(p.id(), &response).await.unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded);
    // Declined.
    let (_, p) = common::started(&h, "E F").await;
    let p = h
        .tolom
        .submit_card(p.id(), &form(PANS[2]), "c3")
        .await
        .unwrap();
    assert_eq!(p.state(), PaymentState::Declined);
    // Dropped after approval, then reconciled.
    let (_, p) = common::started(&h, "G H").await;
    let p = h
        .tolom
        .submit_card(p.id(), &form(PANS[3]), "c4")
        .await
        .unwrap();
    assert_eq!(p.state(), PaymentState::Unknown);
    h.tolom.reconcile().await.unwrap();
    // Faults on the way.
    emu.inject(Fault::malformed_json(Endpoint::GetOrderStatusExtended).times(1));
    errors.push(acquirer.status(&p.order_number()).await.unwrap_err());
    emu.inject(Fault::http_status(Endpoint::Refund, 500).times(1));
    errors.push(
        acquirer
            .refund(&paid.order_number(), "x", Money::som(1))
            .await
            .unwrap_err(),
    );

    // What the emulator received, as rendered for the log.
    for entry in emu.request_log() {
        tracing::info!(entry = ?entry, "emulator request");
    }
    let payments = format!("{:?}", h.store.all_payments());
    let events = format!("{:?}", h.store.all_events());
    let debug = format!("{acquirer:?} {:?}", acquirer.config());
    emu.shutdown().await;

    let log = buffer.text();
    assert!(
        log.contains("paymentorder.do")
            && log.contains("bpc.purchase")
            && log.contains(&p.order_number()),
        "the log is captured and names endpoints and orders"
    );
    assert!(
        log.contains("[REDACTED]"),
        "the emulator's request log was captured, redacted"
    );
    assert!(log.lines().count() > 20, "a whole log was captured");
    assert_clean("the log", &log);
    for e in &errors {
        assert_clean("an error", &format!("{e} {e:?}"));
    }
    assert_clean("stored payments", &payments);
    assert_clean("stored events", &events);
    assert_clean("Debug of the client", &debug);
}

#[test]
fn the_checker_finds_what_it_looks_for() {
    assert!(has_standalone_number("cvc=739;", "739"));
    assert!(!has_standalone_number("port 37391", "739"));
    let caught = std::panic::catch_unwind(|| assert_clean("x", "pan 4111111111111111"));
    assert!(caught.is_err());
    let caught = std::panic::catch_unwind(|| assert_clean("x", common::PASSWORD));
    assert!(caught.is_err());
}
