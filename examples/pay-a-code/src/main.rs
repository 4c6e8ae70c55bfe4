//! Pays a payment code end to end on in-memory adapters and the sandbox
//! acquirer, through a 3-D Secure one-time-code step, and prints the receipt.
//!
//! Run: `cargo run -p pay-a-code`
#![forbid(unsafe_code)]

use std::sync::Arc;

use chrono::{Duration, Utc};
use futures::executor::block_on;
use tolom_acquirer_sandbox::{SandboxAcquirer, THREE_DS_OTP};
use tolom_core::card::CardForm;
use tolom_core::i18n::Language;
use tolom_core::payment::{ChallengeResponse, PaymentState};
use tolom_core::ports::Ed25519Signer;
use tolom_core::usecases::{IssueCharge, StartPayment};
use tolom_core::Tolom;
use tolom_testkit::memory::InMemoryStore;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    block_on(async {
        let tolom = Tolom::builder()
            .store(Arc::new(InMemoryStore::new()))
            .acquirer(Arc::new(SandboxAcquirer::for_tests()))
            .signer(Arc::new(Ed25519Signer::from_seed([42; 32]))) // load a real key in production
            .build()?;

        // The agency issues a code; the payer types it in.
        let charge = tolom
            .issue_charge(IssueCharge {
                service: "passport-2020".into(),
                urgency: Some("18-working-days".into()),
                amount: None,
                payer: "Асанов Айбек Маратович".into(),
                code: None,
                expires_at: Utc::now() + Duration::days(30),
                agency_ref: None,
            })
            .await?;
        let view = tolom.look_up(&charge.code.grouped()).await?;
        println!(
            "{}: {} — {} ({:?})",
            view.code, view.payer, view.amount, view.status
        );

        // "Pay": accept the agreement in force, then send the card.
        let terms = tolom.terms_in_force().await?;
        let payment = tolom
            .start_payment(StartPayment {
                code: charge.code.as_str(),
                accepted_terms: Some(&terms.id),
                idempotency_key: "start-1",
                language: Language::En,
            })
            .await?;
        let card = CardForm {
            holder: "AIBEK ASANOV".into(),
            pan: THREE_DS_OTP.into(), // this sandbox card asks for a one-time code
            expiry: "12/30".into(),
            cvv: "123".into(),
            phone: "+996 555 123 456".into(),
            email: "aibek@example.kg".into(),
        };
        let payment = tolom.submit_card(payment.id(), &card, "card-1").await?;
        assert_eq!(payment.state(), PaymentState::ActionRequired);

        // 3-D Secure: the payer types the code the bank sent by SMS.
        let payment = tolom
            .complete_challenge(payment.id(), &ChallengeResponse::otp("123456"))
            .await?;
        println!("payment {}: {}", payment.id(), payment.state());

        let receipt = tolom.receipt(payment.id()).await?;
        println!("\n{}", receipt.to_text(Language::En));
        Ok(())
    })
}
