//! The notifier conformance suite.

use std::sync::Arc;

use futures::future::BoxFuture;

use chrono::{TimeZone, Utc};
use tolom_core::card::{CardBrand, CardSummary, Contact, Email, MaskedPan, Phone};
use tolom_core::catalogue::Catalogue;
use tolom_core::charge::{Charge, ChargeStatus, Payer};
use tolom_core::code::PaymentCode;
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::outbox::{AgencyEvent, AgencyEventKind, Channel};
use tolom_core::payment::{Approval, NewPayment, Payment};
use tolom_core::ports::{Notification, Notifier};
use tolom_core::receipt::{Operator, Receipt};
use uuid::Uuid;

/// A full PAN that never reaches a notifier; the suite checks it is not in
/// anything received.
pub const SAMPLE_PAN: &str = "4111111111111111";

/// A sample notification for a channel: a Russian receipt e-mail or a
/// `payment.succeeded` agency event.
pub fn sample(channel: Channel) -> Notification {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let charge = Charge {
        id: Uuid::from_u128(1),
        code: PaymentCode::from_trusted("110000012349"),
        service: "passport-2020".into(),
        urgency: Some("18-working-days".into()),
        payer: Payer {
            full_name: "Асанов Айбек Маратович".into(),
        },
        amount: Money::som(885),
        issued_at: now,
        expires_at: now + chrono::Duration::days(30),
        status: ChargeStatus::Paid,
        agency_ref: Some("AG-77".into()),
    };
    let mut p = Payment::create(NewPayment {
        id: Uuid::from_u128(0xabc),
        charge_id: charge.id,
        code: charge.code.clone(),
        service: charge.service.clone(),
        amount: charge.amount,
        fee: Money::som(0),
        terms_edition: "2024-01-01".into(),
        language: Language::Ru,
        start_key: "k".into(),
        now,
        expires_at: now + chrono::Duration::minutes(30),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let card = CardSummary {
        masked_pan: MaskedPan::from_stored("411111******1111").unwrap_or_else(|| panic!("mask")),
        brand: CardBrand::Visa,
        holder: "AIBEK ASANOV".into(),
    };
    let contact = Contact {
        phone: Phone::from_stored("+996555123456"),
        email: Email::from_stored("aibek@example.kg"),
    };
    let _ = p.authorize("s".into(), Some(card), Some(contact), "sandbox", now, now);
    let _ = p.succeed(
        Approval {
            auth_code: "654321".into(),
            rrn: "123456789012".into(),
        },
        now,
    );
    match channel {
        Channel::Email => {
            let signer = tolom_core::ports::Ed25519Signer::from_seed([7u8; 32]);
            let mut receipt = Receipt::build(
                &p,
                &charge,
                &Catalogue::kyrgyz_default(),
                &Operator::default(),
                tolom_core::ports::ReceiptSigner::key_id(&signer),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            tolom_core::ports::sign_receipt(&mut receipt, &signer);
            Notification::ReceiptEmail {
                to: Email::from_stored("aibek@example.kg"),
                language: Language::Ru,
                receipt: Box::new(receipt),
            }
        }
        Channel::Webhook => Notification::Agency(AgencyEvent {
            event_id: Uuid::from_u128(0xe1),
            kind: AgencyEventKind::PaymentSucceeded,
            occurred_at: now,
            code: p.code().to_string(),
            agency_ref: charge.agency_ref.clone(),
            service: p.service().clone(),
            payment_id: p.id(),
            receipt_number: p.receipt_number().map(str::to_string),
            amount: p.amount(),
            refunded: p.refunded(),
            channel: tolom_core::external::PaymentChannel::Card,
        }),
    }
}

/// A notifier under test, as a case of the suite gets it.
pub struct NotifierUnderTest {
    /// The notifier, pointed at a working receiver.
    pub notifier: Arc<dyn Notifier>,
    /// The raw texts the receiver got for a message id (e-mail source, HTTP
    /// body), so the suite can check content and redelivery.
    pub received: Received,
    /// The same notifier pointed at a receiver that is down (a port nobody
    /// listens on, a dead URL): its errors MUST be temporary.
    pub unreachable: Arc<dyn Notifier>,
    /// Anything that must live as long as the case (a server).
    pub guard: Option<Box<dyn std::any::Any + Send + Sync>>,
}

/// What a receiver got for a message id.
pub type Received = Box<dyn Fn(Uuid) -> BoxFuture<'static, Vec<String>> + Send + Sync>;

/// The cases, by name, in the order [`run`] runs them.
pub const CASES: [&str; 2] = ["delivers_at_least_once", "unreachable_is_temporary"];

/// Runs every case on one notifier. Prefer
/// [`crate::notifier_conformance`], which makes one named test per case.
pub async fn run(n: &NotifierUnderTest) {
    delivers_at_least_once(n).await;
    unreachable_is_temporary(n).await;
}

/// A delivery reaches the receiver with the receipt's facts and no card
/// number, and a redelivery of the same message is accepted.
pub async fn delivers_at_least_once(n: &NotifierUnderTest) {
    let notifier = n.notifier.as_ref();
    let received = &n.received;
    let notification = sample(notifier.channel());
    let id = Uuid::new_v4();
    notifier
        .deliver(id, &notification)
        .await
        .unwrap_or_else(|e| panic!("delivery to a working receiver MUST succeed: {e}"));
    let got = received(id).await;
    assert!(
        !got.is_empty(),
        "the receiver MUST have the message once deliver returned Ok"
    );
    let text = got.join("\n");
    let (number, must_contain) = match &notification {
        Notification::ReceiptEmail { receipt, .. } => (receipt.number.clone(), vec!["885", "1111"]),
        Notification::Agency(e) => (
            e.receipt_number.clone().unwrap_or_default(),
            vec!["payment.succeeded", "885"],
        ),
    };
    assert!(
        text.contains(&number),
        "the message carries the receipt number {number}"
    );
    for needle in must_contain {
        assert!(text.contains(needle), "the message carries {needle:?}");
    }
    assert!(
        !text.contains(SAMPLE_PAN),
        "no full card number in a notification"
    );
    // At-least-once: a redelivery of the same message is accepted.
    notifier
        .deliver(id, &notification)
        .await
        .unwrap_or_else(|e| panic!("redelivery of the same message MUST be accepted: {e}"));
    assert!(!received(id).await.is_empty());
}

/// A receiver that is down is a temporary failure (retried later), never a
/// permanent one and never a success.
pub async fn unreachable_is_temporary(n: &NotifierUnderTest) {
    let down = &n.unreachable;
    let notification = sample(n.notifier.channel());
    match down.deliver(Uuid::new_v4(), &notification).await {
        Err(e) => assert!(
            e.is_temporary(),
            "an unreachable receiver is a temporary failure: {e}"
        ),
        Ok(()) => panic!("delivery to an unreachable receiver MUST fail"),
    }
}
