//! The acquirer conformance suite.

use std::sync::Arc;

use futures::future::BoxFuture;

use chrono::Utc;
use tolom_core::card::{BrandTable, CardForm};
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::payment::{Challenge, ChallengeResponse, DeclineReason};
use tolom_core::ports::*;
use uuid::Uuid;

/// The adapter's test cards for the suite.
#[derive(Debug, Clone)]
pub struct TestCards {
    /// A card that is approved without a challenge.
    pub approve: String,
    /// A card that is declined, and the reason the adapter reports.
    pub decline: (String, DeclineReason),
    /// A card that needs a challenge (3-D Secure / one-time code).
    pub challenge: String,
}

fn form(pan: &str) -> CardForm {
    CardForm {
        holder: "AIBEK ASANOV".into(),
        pan: pan.into(),
        expiry: "12/30".into(),
        cvv: "123".into(),
        phone: "+996555123456".into(),
        email: "aibek@example.kg".into(),
    }
}

async fn buy(
    acquirer: &dyn Acquirer,
    order: &str,
    pan: &str,
    amount: Money,
) -> Result<AcquirerOutcome, AcquirerError> {
    let (card, contact) = form(pan)
        .validate(Utc::now(), &BrandTable::default())
        .unwrap_or_else(|e| {
            panic!(
                "test card {} does not validate: {:?}",
                &pan[..6.min(pan.len())],
                e.codes()
            )
        });
    acquirer
        .purchase(PurchaseRequest {
            order_number: order,
            amount,
            description: "conformance",
            language: Language::En,
            instrument: Instrument::Card {
                card: &card,
                contact: &contact,
            },
            return_url: Some("http://127.0.0.1/return"),
        })
        .await
}

fn order() -> String {
    Uuid::new_v4().simple().to_string()
}

/// An acquirer under test, as a case of the suite gets it.
pub struct AcquirerUnderTest {
    /// The acquirer.
    pub acquirer: Arc<dyn Acquirer>,
    /// Its test cards.
    pub cards: TestCards,
    /// Answers a challenge the way the payer's browser would (typing the
    /// one-time code, following the ACS page) and returns what the portal
    /// then passes to `complete_challenge`; gets the challenge and the order
    /// number.
    pub solve: Solver,
    /// Anything that must live as long as the case (an emulator, a server).
    pub guard: Option<Box<dyn std::any::Any + Send + Sync>>,
}

/// How the suite solves a challenge.
pub type Solver =
    Box<dyn Fn(Challenge, String) -> BoxFuture<'static, ChallengeResponse> + Send + Sync>;

/// The cases, by name, in the order [`run`] runs them.
pub const CASES: [&str; 6] = [
    "approval_is_idempotent",
    "refunds_never_exceed_the_payment",
    "decline",
    "unknown_order",
    "challenge",
    "unpaid_order_is_cancelled",
];

/// Runs every case on one acquirer (for adapters that cannot be made per
/// case). Prefer [`crate::acquirer_conformance`], which makes one named
/// test per case.
pub async fn run(a: &AcquirerUnderTest) {
    approval_is_idempotent(a).await;
    refunds_never_exceed_the_payment(a).await;
    decline(a).await;
    unknown_order(a).await;
    challenge(a).await;
    unpaid_order_is_cancelled(a).await;
}

const AMOUNT: u64 = 885;

/// An approval, repeated with the same order number, charges once and
/// reports the same approval; `status` reports it.
pub async fn approval_is_idempotent(a: &AcquirerUnderTest) {
    let acquirer = a.acquirer.as_ref();
    let amount = Money::som(AMOUNT);
    assert!(!acquirer.name().is_empty(), "an acquirer has a name");
    let o = order();
    let first = buy(acquirer, &o, &a.cards.approve, amount).await;
    let Ok(AcquirerOutcome::Approved(approval)) = first else {
        panic!("the approve card MUST be approved, got {first:?}");
    };
    assert!(
        !approval.auth_code.is_empty() && !approval.rrn.is_empty(),
        "an approval carries an auth code and RRN"
    );
    let again = buy(acquirer, &o, &a.cards.approve, amount).await;
    assert_eq!(
        again,
        Ok(AcquirerOutcome::Approved(approval.clone())),
        "a purchase repeated with the same order number MUST NOT charge again and MUST report the same approval"
    );
    match acquirer.status(&o).await {
        Ok(OrderStatus::Approved {
            approval: got,
            refunded,
        }) => {
            assert_eq!(got, approval, "status reports the approval");
            assert!(refunded.is_zero(), "nothing refunded yet");
        }
        other => panic!("status of an approved order MUST be Approved, got {other:?}"),
    }
}

/// Refunds: partial, one above the rest (refused), the rest.
pub async fn refunds_never_exceed_the_payment(a: &AcquirerUnderTest) {
    let acquirer = a.acquirer.as_ref();
    let o = order();
    let first = buy(acquirer, &o, &a.cards.approve, Money::som(AMOUNT)).await;
    assert!(
        matches!(first, Ok(AcquirerOutcome::Approved(_))),
        "the approve card MUST be approved, got {first:?}"
    );
    let r = acquirer.refund(&o, &order(), Money::som(300)).await;
    assert_eq!(
        r,
        Ok(RefundOutcome::Refunded),
        "a partial refund of a paid order"
    );
    match acquirer.status(&o).await {
        Ok(OrderStatus::Refunded { refunded, .. }) => assert_eq!(
            refunded,
            Money::som(300),
            "status reports what was refunded"
        ),
        other => panic!(
            "status of an order refunded in part MUST be Refunded (never Approved), got {other:?}"
        ),
    }
    let over = acquirer.refund(&o, &order(), Money::som(586)).await;
    assert!(
        matches!(
            over,
            Ok(RefundOutcome::Refused(_))
                | Err(AcquirerError {
                    kind: AcquirerErrorKind::Rejected,
                    ..
                })
        ),
        "a refund above what is left MUST be refused, got {over:?}"
    );
    assert_eq!(
        acquirer.refund(&o, &order(), Money::som(585)).await,
        Ok(RefundOutcome::Refunded),
        "refund the rest"
    );
}

/// A declined card is declined, and `status` says so.
pub async fn decline(a: &AcquirerUnderTest) {
    let acquirer = a.acquirer.as_ref();
    let o = order();
    let (pan, reason) = &a.cards.decline;
    assert_eq!(
        buy(acquirer, &o, pan, Money::som(AMOUNT)).await,
        Ok(AcquirerOutcome::Declined(*reason)),
        "the decline card"
    );
    assert_eq!(
        acquirer.status(&o).await,
        Ok(OrderStatus::Declined(*reason)),
        "status of a declined order"
    );
}

/// An order never sent is `NotFound`.
pub async fn unknown_order(a: &AcquirerUnderTest) {
    let acquirer = a.acquirer.as_ref();
    assert_eq!(
        acquirer.status(&order()).await,
        Ok(OrderStatus::NotFound),
        "an unknown order MUST be NotFound"
    );
}

/// A challenge: `Pending` while it is open, approved once solved, the same
/// outcome when completed twice.
pub async fn challenge(a: &AcquirerUnderTest) {
    let acquirer = a.acquirer.as_ref();
    let o = order();
    let challenge = match buy(acquirer, &o, &a.cards.challenge, Money::som(AMOUNT)).await {
        Ok(AcquirerOutcome::ActionRequired(c)) => c,
        other => panic!("the challenge card MUST ask for action, got {other:?}"),
    };
    let pending = acquirer.status(&o).await;
    assert_eq!(
        pending,
        Ok(OrderStatus::Pending),
        "an order awaiting its challenge is Pending"
    );
    let response = (a.solve)(challenge, o.clone()).await;
    match acquirer.complete_challenge(&o, &response).await {
        Ok(AcquirerOutcome::Approved(_)) => {}
        other => panic!("a solved challenge MUST end approved, got {other:?}"),
    }
    assert!(
        matches!(acquirer.status(&o).await, Ok(OrderStatus::Approved { .. })),
        "status after the challenge"
    );
    let again = acquirer.complete_challenge(&o, &response).await;
    assert!(
        matches!(again, Ok(AcquirerOutcome::Approved(_))),
        "completing twice reports the same outcome, got {again:?}"
    );
}

/// An unpaid order (waiting for its challenge) is closed by `cancel`, after
/// which it can no longer be paid; cancelling an order never sent is
/// harmless; a paid order is not cancelled.
pub async fn unpaid_order_is_cancelled(a: &AcquirerUnderTest) {
    let acquirer = a.acquirer.as_ref();
    let o = order();
    match buy(acquirer, &o, &a.cards.challenge, Money::som(AMOUNT)).await {
        Ok(AcquirerOutcome::ActionRequired(_)) => {}
        other => panic!("the challenge card MUST ask for action, got {other:?}"),
    }
    assert_eq!(
        acquirer.cancel(&o).await,
        Ok(()),
        "an unpaid order is closed"
    );
    match acquirer.status(&o).await {
        Ok(OrderStatus::Reversed | OrderStatus::Declined(_)) => {}
        other => panic!("a cancelled order MUST be closed and unpaid, got {other:?}"),
    }
    assert_eq!(
        acquirer.cancel(&o).await,
        Ok(()),
        "cancelling twice answers Ok (a retry after a lost answer)"
    );
    assert_eq!(
        acquirer.cancel(&order()).await,
        Ok(()),
        "an order never received cannot be paid: Ok"
    );
    let paid = order();
    let approved = buy(acquirer, &paid, &a.cards.approve, Money::som(AMOUNT)).await;
    assert!(
        matches!(approved, Ok(AcquirerOutcome::Approved(_))),
        "the approve card MUST be approved, got {approved:?}"
    );
    match acquirer.cancel(&paid).await {
        Err(AcquirerError {
            kind: AcquirerErrorKind::Rejected,
            ..
        }) => {}
        other => panic!("a paid order MUST NOT be cancelled (Rejected), got {other:?}"),
    }
    assert!(
        matches!(
            acquirer.status(&paid).await,
            Ok(OrderStatus::Approved { .. })
        ),
        "the paid order stays paid"
    );
}
