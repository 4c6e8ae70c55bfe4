//! Through the store's ports, on a database file: each refused write is
//! reported as the `InvariantKind` of the rule the schema named (index,
//! named CHECK, trigger token), is permanent, and writes nothing. The
//! payments that break a rule are forged with `Payment::restore_unchecked`
//! (the domain type never produces them).

mod common;

use common::World;
use tolom_acquirer_sandbox::{DECLINE_INSUFFICIENT_FUNDS, VISA_APPROVE};
use tolom_core::card::CardSummary;
use tolom_core::charge::ChargeStatus;
use tolom_core::events::{Event, EventKind};
use tolom_core::money::Money;
use tolom_core::payment::{Payment, PaymentRecord, PaymentState};
use tolom_core::ports::{
    ChargeChange, ChargeStore, EventLog, InvariantKind, OpsStore, PaymentStore, PaymentUpdate,
    StoreError,
};
use uuid::Uuid;

fn forge(p: &Payment, change: impl FnOnce(&mut PaymentRecord)) -> Payment {
    let mut r = p.record().clone();
    r.version += 1;
    change(&mut r);
    Payment::restore_unchecked(r)
}

fn event(p: &Payment, kind: EventKind) -> Event {
    Event {
        id: Uuid::new_v4(),
        at: p.updated_at(),
        charge_id: p.charge_id(),
        payment_id: Some(p.id()),
        kind,
        actor: "system".into(),
        data: serde_json::json!({}),
    }
}

fn upd(p: &Payment) -> PaymentUpdate {
    PaymentUpdate {
        payment: p.clone(),
        charge: None,
        refund: None,
        events: vec![event(p, EventKind::PaymentAuthorizing)],
        outbox: vec![],
        notes: Vec::new(),
    }
}

/// Asserts `r` is an `Invariant` of `kind` and that nothing was written:
/// the payment reads back as `before`, and the audit chain did not grow.
async fn refused(w: &World, r: Result<(), StoreError>, kind: InvariantKind, before: &Payment) {
    let e = match r {
        Ok(()) => panic!("expected {kind}, the write went through"),
        Err(e) => e,
    };
    assert_eq!(e.invariant_kind(), Some(kind), "{e}");
    assert!(!e.is_temporary(), "{e}");
    assert_eq!(
        w.store().payment(before.id()).await,
        Ok(Some(before.clone())),
        "{kind}: the payment is as it was"
    );
}

async fn chain_len(w: &World) -> usize {
    w.store().audit_entries(1, 0).await.expect("audit").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_payment_updates_name_their_rule_and_write_nothing() {
    let w = World::new().await;

    // A paid charge.
    let c1 = w.h.charge(common::SERVICE, common::PAYER).await;
    let paid = w.h.pay(&c1.code, VISA_APPROVE, "paid").await;
    assert_eq!(paid.state(), PaymentState::Succeeded);
    let audit = chain_len(&w).await;

    let mut u = upd(&forge(&paid, |_| {}));
    u.charge = Some(ChargeChange::MarkPaid);
    refused(
        &w,
        w.store().update_payment(&u).await,
        InvariantKind::ChargeAlreadyPaid,
        &paid,
    )
    .await;
    let over = forge(&paid, |r| {
        r.refund_pending = Money::from_minor_units(r.total.to_minor_units() + 1, r.total.currency())
    });
    refused(
        &w,
        w.store().update_payment(&upd(&over)).await,
        InvariantKind::RefundsExceedTotal,
        &paid,
    )
    .await;
    // A full card number cannot even be forged into a payment: the domain
    // type refuses it (the schema's `card_masked` rule behind it is tried
    // with raw SQL in `schema.rs`).
    assert!(
        serde_json::from_value::<CardSummary>(serde_json::json!({
            "masked_pan": VISA_APPROVE,
            "brand": "visa",
            "holder": "AIBEK ASANOV",
        }))
        .is_err(),
        "a card summary with a full card number"
    );
    let cheaper = forge(&paid, |r| {
        r.amount = Money::som(1);
        r.total = r.amount.checked_add(r.fee).expect("small sums");
    });
    refused(
        &w,
        w.store().update_payment(&upd(&cheaper)).await,
        InvariantKind::ImmutableField,
        &paid,
    )
    .await;
    let r = w
        .store()
        .set_charge_status(
            c1.id,
            ChargeStatus::Paid,
            ChargeStatus::Cancelled,
            &event(&paid, EventKind::ChargeCancelled),
            &[],
        )
        .await;
    refused(&w, r, InvariantKind::PaidWithoutPayment, &paid).await;
    assert_eq!(
        w.store().charge(c1.id).await.map(|c| c.map(|c| c.status)),
        Ok(Some(ChargeStatus::Paid))
    );

    // A charge paid on the second attempt: the declined first payment,
    // forged into a success, would be a second paid payment.
    let c2 = w.h.charge(common::SERVICE, common::PAYER).await;
    let declined = w.h.pay(&c2.code, DECLINE_INSUFFICIENT_FUNDS, "c2-a").await;
    assert_eq!(declined.state(), PaymentState::Declined);
    w.h.pay(&c2.code, VISA_APPROVE, "c2-b").await;
    let second = forge(&declined, |r| r.state = PaymentState::Succeeded);
    let audit2 = chain_len(&w).await;
    refused(
        &w,
        w.store().update_payment(&upd(&second)).await,
        InvariantKind::SecondPaidPayment,
        &declined,
    )
    .await;

    // A charge with a payment in flight: an earlier, declined payment
    // forged back into flight would be a second one.
    let c3 = w.h.charge(common::SERVICE, common::PAYER).await;
    let first = w.h.pay(&c3.code, DECLINE_INSUFFICIENT_FUNDS, "c3-a").await;
    w.h.start(&c3.code, "c3-b").await;
    let back = forge(&first, |r| r.state = PaymentState::Authorizing);
    let audit3 = chain_len(&w).await;
    refused(
        &w,
        w.store().update_payment(&upd(&back)).await,
        InvariantKind::SecondInFlight,
        &first,
    )
    .await;

    assert_eq!(
        chain_len(&w).await,
        audit3,
        "no refused update left an event in the chain"
    );
    assert!(audit < audit2 && audit2 < audit3);
    let kinds: Vec<EventKind> = w
        .store()
        .events_of(paid.id())
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(
        !kinds.contains(&EventKind::ChargeCancelled),
        "the refused status change wrote no event: {kinds:?}"
    );
}
