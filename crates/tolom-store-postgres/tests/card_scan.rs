//! Card data never reaches the database: full flows with several test cards
//! and a distinctive CVV, then a `pg_dump` of the schema's data must hold no
//! full card number and no CVV — and must hold the masked numbers, so the
//! scan is not vacuous.

mod common;

use std::process::Command;
use std::sync::Arc;

use tolom_acquirer_sandbox::{
    SandboxAcquirer, DECLINE_INSUFFICIENT_FUNDS, ELCART_APPROVE, MASTERCARD_APPROVE, MIR_APPROVE,
    THREE_DS_OTP, UNIONPAY_APPROVE, VISA_APPROVE,
};
use tolom_core::card::CardForm;
use tolom_core::payment::{ChallengeResponse, PaymentState};
use tolom_core::usecases::Config;
use tolom_testkit::external;
use tolom_testkit::fixtures::{card_form, Harness};

/// A CVV that appears nowhere else in the data (the clock stands on whole
/// seconds, amounts are whole som, sequences stay small).
const CVV: &str = "739";

/// Whether `needle` occurs in `hay` as a token of its own (`\bneedle\b`).
fn has_token(hay: &str, needle: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    hay.match_indices(needle).any(|(i, _)| {
        !word(hay[..i].chars().next_back()) && !word(hay[i + needle.len()..].chars().next())
    })
}

#[test]
fn token_matching() {
    assert!(has_token("cvv 739 x", "739"));
    assert!(has_token("739", "739"));
    assert!(has_token("\"739\"", "739"));
    assert!(!has_token("17390", "739"));
    assert!(!has_token("a739", "739"));
    assert!(!has_token("739_", "739"));
}

/// The masked number tolom keeps (`tolom_core::card::MaskedPan`: at most
/// the first 6 and last 4 digits, never more than half).
fn masked(pan: &str) -> String {
    let (first, last) = tolom_core::card::MaskedPan::shown(pan.len());
    format!(
        "{}{}{}",
        &pan[..first],
        "*".repeat(pan.len() - first - last),
        &pan[pan.len() - last..]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pan_or_cvv_in_a_dump_of_the_database() {
    let Some(db) = common::TestDb::connect_or_skip("card-data scan").await else {
        return;
    };
    if external::require_tool("card-data scan", "pg_dump").is_none() {
        return;
    }
    let (store, guard) = db.fresh().await;
    let sandbox = Arc::new(SandboxAcquirer::for_tests());
    let h = Harness::on(Arc::new(store), sandbox.clone(), Config::default());
    let tolom = &h.tolom;

    let cards = [
        VISA_APPROVE,
        MASTERCARD_APPROVE,
        MIR_APPROVE,
        UNIONPAY_APPROVE,
        ELCART_APPROVE,
        DECLINE_INSUFFICIENT_FUNDS,
        THREE_DS_OTP,
    ];
    let mut receipts = Vec::new();
    for (i, pan) in cards.iter().enumerate() {
        let charge = h.charge("passport-2020", "Жумабаева Чолпон Асановна").await;
        let view = tolom
            .look_up(charge.code.as_str())
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(view.amount, charge.amount);
        let p = h.start(&charge.code, &format!("scan-start-{i}")).await;
        // The harness's card, with the distinctive CVV.
        let mut card: CardForm = card_form(pan);
        card.cvv = CVV.into();
        let mut p = tolom
            .submit_card(p.id(), &card, &format!("scan-submit-{i}"))
            .await
            .unwrap_or_else(|e| panic!("{pan}: {e:?}"));
        if p.state() == PaymentState::ActionRequired {
            p = tolom
                .complete_challenge(
                    p.id(),
                    &ChallengeResponse::otp(sandbox.config().otp.clone()),
                )
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
        }
        if *pan == DECLINE_INSUFFICIENT_FUNDS {
            assert_eq!(p.state(), PaymentState::Declined);
        } else {
            assert_eq!(p.state(), PaymentState::Succeeded, "{pan}");
            let receipt = tolom
                .receipt(p.id())
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
            receipts.push(receipt.number.clone());
        }
    }
    let report = tolom
        .dispatch_outbox("scan", 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.delivered, 12, "6 receipts and 6 agency notices");

    let out = Command::new("pg_dump")
        .arg("--data-only")
        .arg(format!("--schema={}", guard.schema))
        .arg(format!("--dbname={}", db.url()))
        .output()
        .unwrap_or_else(|e| panic!("pg_dump: {e}"));
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(dump.contains("COPY"), "the dump has data");
    for pan in cards {
        assert!(!dump.contains(pan), "a full card number is in the database");
        assert!(
            dump.contains(&masked(pan)),
            "the masked number {} is stored (the scan is not vacuous)",
            masked(pan)
        );
    }
    assert!(
        !has_token(&dump, CVV),
        "the CVV appears in the database dump"
    );
    for number in receipts {
        assert!(dump.contains(&number), "receipt {number} is stored");
    }
}
