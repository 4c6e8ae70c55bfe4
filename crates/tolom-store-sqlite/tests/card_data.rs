//! Card data never reaches the database: after full flows with several
//! test cards, neither the database file nor its WAL holds a full card
//! number, and no text column holds the CVV; the masked numbers are there.

mod common;

use common::{card, World};
use regex::Regex;
use sqlx::Row;
use tolom_acquirer_sandbox::{
    DECLINE_INSUFFICIENT_FUNDS, ELCART_APPROVE, MASTERCARD_APPROVE, THREE_DS_OTP, VISA_APPROVE,
};
use tolom_core::payment::{ChallengeResponse, PaymentState};
use tolom_core::ports::OpsStore;

/// A CVV that appears nowhere else in the data of these flows.
const CVV: &str = "862";

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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pan_or_cvv_in_the_database_file_its_wal_or_any_text_column() {
    let w = World::new().await;
    let cards = [
        (VISA_APPROVE, PaymentState::Succeeded),
        (MASTERCARD_APPROVE, PaymentState::Succeeded),
        (ELCART_APPROVE, PaymentState::Succeeded),
        (DECLINE_INSUFFICIENT_FUNDS, PaymentState::Declined),
        (THREE_DS_OTP, PaymentState::Succeeded),
    ];
    for (i, (pan, expected)) in cards.iter().enumerate() {
        let charge = w.h.charge(common::SERVICE, common::PAYER).await;
        let p = w.h.start(&charge.code, &format!("start-{i}")).await;
        let mut p =
            w.h.tolom
                .submit_card(p.id(), &card(pan, CVV), &format!("submit-{i}"))
                .await
                .expect("submit");
        if p.state() == PaymentState::ActionRequired {
            p =
                w.h.tolom
                    .complete_challenge(p.id(), &ChallengeResponse::otp("123456"))
                    .await
                    .expect("3-D Secure");
        }
        assert_eq!(p.state(), *expected, "card {}", masked(pan));
        if p.state() == PaymentState::Succeeded {
            w.h.tolom.receipt(p.id()).await.expect("receipt");
        }
    }
    // Receipts e-mailed, agency notified: the outbox is exercised too.
    let r = w.h.tolom.dispatch_outbox("w", 100).await.expect("dispatch");
    assert_eq!(r.delivered, 8);

    // 1. The raw bytes of the database file and its write-ahead log, as
    //    they are while the store is open (nothing checkpointed by hand).
    let mut bytes = std::fs::read(&w.path).expect("db file");
    let wal = w.path.with_file_name("tolom.db-wal");
    bytes.extend(std::fs::read(&wal).expect("wal file"));
    assert!(bytes.len() > 8192, "the scan reads real data");
    for (pan, _) in &cards {
        assert!(
            !contains(&bytes, pan.as_bytes()),
            "a full card number ({}) is in the database file or its WAL",
            masked(pan)
        );
    }
    assert!(
        contains(&bytes, masked(VISA_APPROVE).as_bytes()),
        "the masked number is stored (the scan is not vacuous)"
    );

    // 2. Every TEXT column of every table, dumped through SQL.
    let mut raw = common::raw(&w.path).await;
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut raw)
            .await
            .expect("tables");
    let cvv = Regex::new(&format!(r"\b{CVV}\b")).expect("regex");
    let mut values = 0;
    let mut dump = String::new();
    for table in &tables {
        let columns: Vec<(String, String)> = sqlx::query(&format!(
            "SELECT name, type FROM pragma_table_info('{table}')"
        ))
        .fetch_all(&mut raw)
        .await
        .expect("columns")
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect();
        for (column, ty) in columns {
            if !ty.eq_ignore_ascii_case("TEXT") {
                continue;
            }
            let texts: Vec<Option<String>> =
                sqlx::query_scalar(&format!("SELECT \"{column}\" FROM \"{table}\""))
                    .fetch_all(&mut raw)
                    .await
                    .expect("dump");
            for text in texts.into_iter().flatten() {
                values += 1;
                assert!(
                    !cvv.is_match(&text),
                    "the CVV appears in {table}.{column}: {text}"
                );
                for (pan, _) in &cards {
                    assert!(!text.contains(pan), "a full PAN in {table}.{column}");
                }
                dump.push_str(&text);
                dump.push('\n');
            }
        }
    }
    assert!(values > 100, "the dump covers the data ({values} values)");
    for (pan, _) in &cards {
        assert!(
            dump.contains(&masked(pan)),
            "the masked number {} is stored",
            masked(pan)
        );
    }
    assert!(
        tables.iter().any(|t| t == "payments")
            && tables.iter().any(|t| t == "events")
            && tables.iter().any(|t| t == "audit_log"),
        "{tables:?}"
    );
    // The audit chain (every event, with its data) was scanned too.
    assert!(
        w.store()
            .audit_entries(1, 0)
            .await
            .map(|e| e.len())
            .unwrap_or(0)
            > 20,
        "the audit chain holds the flows' events"
    );
}
