//! The storage conformance suite.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::future::join_all;
use tolom_core::audit::AuditNote;
use tolom_core::card::{CardBrand, CardSummary, Contact, Email, MaskedPan, Phone};
use tolom_core::charge::{Charge, ChargeStatus, Payer};
use tolom_core::code::{CodeFormat, ServiceFamily};
use tolom_core::events::{Event, EventKind};
use tolom_core::external::{ExternalPayment, ExternalState, PaymentChannel};
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::outbox::{
    AgencyEvent, AgencyEventKind, OutboxMessage, OutboxPayload, OutboxStatus,
};
use tolom_core::payment::{
    Approval, DeclineReason, NewPayment, Payment, PaymentRecord, PaymentState, Refund, RefundState,
};
use tolom_core::ports::*;
use tolom_core::terms::TermsEdition;
use uuid::Uuid;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn event(charge_id: Uuid, payment_id: Option<Uuid>, kind: EventKind, at: DateTime<Utc>) -> Event {
    Event {
        id: Uuid::new_v4(),
        at,
        charge_id,
        payment_id,
        kind,
        actor: "system".into(),
        data: serde_json::json!({"k": kind.as_str()}),
    }
}

fn new_charge(serial: u64) -> Charge {
    let code = CodeFormat::default()
        .generate(ServiceFamily::Passport, serial)
        .unwrap_or_else(|| panic!("code"));
    Charge {
        id: Uuid::new_v4(),
        code,
        service: "passport-2020".into(),
        urgency: Some("18-working-days".into()),
        payer: Payer {
            full_name: "Асанов Айбек Маратович".into(),
        },
        amount: Money::som(885),
        issued_at: t0(),
        expires_at: t0() + Duration::days(30),
        status: ChargeStatus::Unpaid,
        agency_ref: Some(format!("AG-{serial}")),
    }
}

fn new_payment(charge: &Charge, key: &str, at: DateTime<Utc>) -> Payment {
    Payment::create(NewPayment {
        id: Uuid::new_v4(),
        charge_id: charge.id,
        code: charge.code.clone(),
        service: charge.service.clone(),
        amount: charge.amount,
        fee: Money::som(0),
        terms_edition: "2024-01-01".into(),
        language: Language::Ru,
        start_key: key.into(),
        now: at,
        expires_at: at + Duration::minutes(30),
    })
    .unwrap_or_else(|e| panic!("payment: {e}"))
}

/// A payment with some of its stored fields changed, without the checks of
/// [`Payment::restore`]: what a buggy caller or another process could send
/// to a store, which the store itself must refuse.
fn forge(p: &Payment, change: impl FnOnce(&mut PaymentRecord)) -> Payment {
    let mut r = p.record().clone();
    change(&mut r);
    Payment::restore_unchecked(r)
}

/// Asserts a refusal with one of these invariant kinds: callers match on
/// the kind, so it is part of the contract.
fn assert_invariant<T: std::fmt::Debug>(
    r: &Result<T, StoreError>,
    kinds: &[InvariantKind],
    rule: &str,
) {
    match r {
        Err(e) if e.invariant_kind().is_some_and(|k| kinds.contains(&k)) => {}
        other => panic!("{rule}: MUST fail with Invariant of kind {kinds:?}, got {other:?}"),
    }
}

fn note(action: &str) -> AuditNote {
    AuditNote::new(
        t0(),
        "cli:test",
        action,
        "conformance",
        serde_json::json!({}),
    )
}

fn upd(payment: &Payment) -> PaymentUpdate {
    PaymentUpdate {
        payment: payment.clone(),
        charge: None,
        refund: None,
        events: vec![event(
            payment.charge_id(),
            Some(payment.id()),
            EventKind::PaymentAuthorizing,
            t0(),
        )],
        outbox: Vec::new(),
        notes: Vec::new(),
    }
}

fn card() -> CardSummary {
    CardSummary {
        masked_pan: MaskedPan::from_stored("411111******1111").unwrap_or_else(|| panic!("mask")),
        brand: CardBrand::Visa,
        holder: "AIBEK ASANOV".into(),
    }
}

fn contact() -> Contact {
    Contact {
        phone: Phone::from_stored("+996555123456"),
        email: Email::from_stored("aibek@example.kg"),
    }
}

fn notice(p: &Payment, at: DateTime<Utc>) -> OutboxMessage {
    OutboxMessage::new(
        Uuid::new_v4(),
        OutboxPayload::AgencyNotice(AgencyEvent {
            event_id: Uuid::new_v4(),
            kind: AgencyEventKind::PaymentSucceeded,
            occurred_at: at,
            code: p.code().to_string(),
            agency_ref: Some("AG-1".into()),
            service: p.service().clone(),
            payment_id: p.id(),
            receipt_number: p.receipt_number().map(str::to_string),
            amount: p.amount(),
            refunded: p.refunded(),
            channel: tolom_core::external::PaymentChannel::Card,
        }),
        at,
    )
}

fn receipt_mail(p: &Payment, at: DateTime<Utc>) -> OutboxMessage {
    OutboxMessage::new(
        Uuid::new_v4(),
        OutboxPayload::ReceiptEmail {
            payment_id: p.id(),
            to: Email::from_stored("aibek@example.kg"),
            language: Language::Ky,
        },
        at,
    )
}

async fn created(store: &dyn Store, serial: u64) -> (Charge, Payment) {
    let charge = new_charge(serial);
    store
        .insert_charge(
            &charge,
            &event(charge.id, None, EventKind::ChargeIssued, t0()),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("insert_charge: {e}"));
    let p = new_payment(&charge, &format!("start-{}", Uuid::new_v4()), t0());
    let out = store
        .create_payment(
            &p,
            &[event(
                charge.id,
                Some(p.id()),
                EventKind::PaymentCreated,
                t0(),
            )],
        )
        .await;
    assert_eq!(
        out,
        Ok(CreateOutcome::Created),
        "create_payment of a fresh charge"
    );
    (charge, p)
}

/// Moves a stored payment to `Succeeded` (with its charge `Paid` and two
/// outbox messages) and returns it.
async fn succeeded(store: &dyn Store, serial: u64) -> (Charge, Payment) {
    let (charge, mut p) = created(store, serial).await;
    p.authorize(
        "submit-1".into(),
        Some(card()),
        Some(contact()),
        "fake",
        t0(),
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&upd(&p))
        .await
        .unwrap_or_else(|e| panic!("authorize: {e}"));
    p.succeed(
        Approval {
            auth_code: "123456".into(),
            rrn: "000000000001".into(),
        },
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut u = upd(&p);
    u.charge = Some(ChargeChange::MarkPaid);
    u.outbox = vec![receipt_mail(&p, t0()), notice(&p, t0())];
    store
        .update_payment(&u)
        .await
        .unwrap_or_else(|e| panic!("succeed: {e}"));
    (charge, p)
}

/// The cases, by name, in the order [`run`] runs them.
pub const CASES: [&str; 15] = [
    "charges",
    "charge_status",
    "create_payment_rules",
    "in_flight_is_atomic",
    "optimistic_versions",
    "success_is_atomic",
    "invariants_in_storage",
    "refunds",
    "queries",
    "outbox_claims",
    "outbox_failures",
    "events_and_terms",
    "round_trip",
    "external_payments",
    "external_payment_races",
];

/// Runs every storage case, each on a fresh store from `make`. Prefer
/// [`crate::storage_conformance`], which makes one named test per case.
pub async fn run<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    charges(make().await.as_ref()).await;
    charge_status(make().await.as_ref()).await;
    create_payment_rules(make().await.as_ref()).await;
    in_flight_is_atomic(make().await.as_ref()).await;
    optimistic_versions(make().await.as_ref()).await;
    success_is_atomic(make().await.as_ref()).await;
    invariants_in_storage(make().await.as_ref()).await;
    refunds(make().await.as_ref()).await;
    queries(make().await.as_ref()).await;
    outbox_claims(make().await.as_ref()).await;
    outbox_failures(make().await.as_ref()).await;
    events_and_terms(make().await.as_ref()).await;
    round_trip(make().await.as_ref()).await;
    external_payments(make().await.as_ref()).await;
    external_payment_races(make().await.as_ref()).await;
}

/// Charges: insert, look up, duplicates.
pub async fn charges(store: &dyn Store) {
    let c = new_charge(1);
    store
        .insert_charge(&c, &event(c.id, None, EventKind::ChargeIssued, t0()), &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.charge_by_code(&c.code).await,
        Ok(Some(c.clone())),
        "charge_by_code returns the charge as inserted"
    );
    assert_eq!(store.charge(c.id).await, Ok(Some(c.clone())), "charge(id)");
    let mut dup = new_charge(1);
    dup.payer.full_name = "Other".into();
    dup.agency_ref = Some("AG-dup".into());
    assert_eq!(
        store
            .insert_charge(
                &dup,
                &event(dup.id, None, EventKind::ChargeIssued, t0()),
                &[]
            )
            .await,
        Err(StoreError::DuplicateCode),
        "a second charge with the same code MUST fail with DuplicateCode"
    );
    assert_eq!(
        store.charge_by_code(&c.code).await,
        Ok(Some(c.clone())),
        "the duplicate wrote nothing"
    );
    assert_eq!(
        store.events_of(dup.id).await,
        Ok(vec![]),
        "the duplicate's event was not written"
    );
    let missing = CodeFormat::default()
        .generate(ServiceFamily::MekenCard, 9)
        .unwrap_or_else(|| panic!("code"));
    assert_eq!(
        store.charge_by_code(&missing).await,
        Ok(None),
        "unknown code → Ok(None)"
    );
    assert_eq!(
        store.charge(Uuid::new_v4()).await,
        Ok(None),
        "unknown id → Ok(None)"
    );
}

/// Agency references: one charge of a service holds a reference; a second
/// charge with it is refused and writes nothing, whatever its code; the
/// same reference in another service, and charges without one, are free.
pub async fn agency_references(store: &dyn Store) {
    let issued = |c: &Charge| event(c.id, None, EventKind::ChargeIssued, t0());
    let mut first = new_charge(60);
    first.agency_ref = Some("REQ-2026-000060".into());
    store
        .insert_charge(&first, &issued(&first), &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store
            .charge_by_agency_ref("passport-2020", "REQ-2026-000060")
            .await,
        Ok(Some(first.clone())),
        "charge_by_agency_ref finds the charge holding the reference"
    );
    assert_eq!(
        store
            .charge_by_agency_ref("id-card-2017", "REQ-2026-000060")
            .await,
        Ok(None),
        "a reference is held per service"
    );
    assert_eq!(
        store
            .charge_by_agency_ref("passport-2020", "REQ-2026")
            .await,
        Ok(None),
        "the exact text only"
    );
    let mut second = new_charge(61);
    second.agency_ref = first.agency_ref.clone();
    second.payer.full_name = "Other Payer".into();
    assert_invariant(
        &store.insert_charge(&second, &issued(&second), &[]).await,
        &[InvariantKind::DuplicateAgencyRef],
        "a second charge of the service with a held agency reference",
    );
    assert_eq!(
        store.charge_by_code(&second.code).await,
        Ok(None),
        "the refused charge wrote nothing"
    );
    assert_eq!(
        store.events_of(second.id).await,
        Ok(vec![]),
        "the refused charge's event was not written"
    );
    let mut other_service = new_charge(62);
    other_service.service = "id-card-2017".into();
    other_service.agency_ref = first.agency_ref.clone();
    store
        .insert_charge(&other_service, &issued(&other_service), &[])
        .await
        .unwrap_or_else(|e| panic!("the same reference in another service: {e}"));
    for serial in [63, 64] {
        let mut none = new_charge(serial);
        none.agency_ref = None;
        store
            .insert_charge(&none, &issued(&none), &[])
            .await
            .unwrap_or_else(|e| panic!("charges without a reference: {e}"));
    }
    // Under concurrency exactly one of several charges with one reference
    // is stored.
    let racers: Vec<Charge> = (70..78)
        .map(|serial| {
            let mut c = new_charge(serial);
            c.agency_ref = Some("REQ-RACE".into());
            c
        })
        .collect();
    let results = join_all(
        racers
            .iter()
            .map(|c| async move { store.insert_charge(c, &issued(c), &[]).await }),
    )
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "exactly one charge holds a reference: {results:?}"
    );
    let holder = store
        .charge_by_agency_ref("passport-2020", "REQ-RACE")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the winner holds the reference"));
    assert!(racers.iter().any(|c| c.id == holder.id));
}

/// Charge status changes: compare-and-set, never away from a paid payment.
pub async fn charge_status(store: &dyn Store) {
    let c = new_charge(2);
    store
        .insert_charge(&c, &event(c.id, None, EventKind::ChargeIssued, t0()), &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ev = event(c.id, None, EventKind::ChargeCancelled, t0());
    assert_eq!(
        store
            .set_charge_status(
                c.id,
                ChargeStatus::Expired,
                ChargeStatus::Cancelled,
                &ev,
                &[]
            )
            .await,
        Err(StoreError::Conflict),
        "set_charge_status MUST fail with Conflict when the status is not `from`"
    );
    store
        .set_charge_status(
            c.id,
            ChargeStatus::Unpaid,
            ChargeStatus::Cancelled,
            &ev,
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.charge(c.id).await.ok().flatten().map(|c| c.status),
        Some(ChargeStatus::Cancelled)
    );
    assert_eq!(
        store
            .set_charge_status(
                Uuid::new_v4(),
                ChargeStatus::Unpaid,
                ChargeStatus::Cancelled,
                &ev,
                &[]
            )
            .await,
        Err(StoreError::ChargeNotFound)
    );
    let (paid, _) = succeeded(store, 3).await;
    let r = store
        .set_charge_status(
            paid.id,
            ChargeStatus::Paid,
            ChargeStatus::Cancelled,
            &event(paid.id, None, EventKind::ChargeCancelled, t0()),
            &[],
        )
        .await;
    assert_invariant(
        &r,
        &[InvariantKind::PaidWithoutPayment],
        "a charge with a paid payment MUST stay Paid",
    );
    let listed = store
        .list_charges(&ChargeQuery {
            status: Some(ChargeStatus::Cancelled),
            ..ChargeQuery::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![c.id],
        "list_charges by status"
    );
    let expiring = store
        .list_charges(&ChargeQuery {
            expires_before: Some(t0() + Duration::days(31)),
            ..ChargeQuery::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(expiring.len(), 2, "list_charges by expiry");
}

/// `create_payment`: idempotency, payable charges only.
pub async fn create_payment_rules(store: &dyn Store) {
    let (charge, p) = created(store, 10).await;
    let again = new_payment(&charge, p.start_key(), t0());
    assert_eq!(
        store.create_payment(&again, &[]).await,
        Ok(CreateOutcome::Existing(Box::new(p.clone()))),
        "the same start key MUST return the existing payment"
    );
    assert_eq!(
        store.payment(again.id()).await,
        Ok(None),
        "…and write nothing"
    );
    let other = new_payment(&charge, "another-key", t0());
    assert_eq!(
        store.create_payment(&other, &[]).await,
        Err(StoreError::InFlight { payment_id: p.id() }),
        "a second payment while one is in flight MUST fail with InFlight naming it"
    );
    let ghost = new_payment(&new_charge(11), "ghost", t0());
    assert_eq!(
        store.create_payment(&ghost, &[]).await,
        Err(StoreError::ChargeNotFound)
    );
    let c2 = new_charge(12);
    store
        .insert_charge(&c2, &event(c2.id, None, EventKind::ChargeIssued, t0()), &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .set_charge_status(
            c2.id,
            ChargeStatus::Unpaid,
            ChargeStatus::Cancelled,
            &event(c2.id, None, EventKind::ChargeCancelled, t0()),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store
            .create_payment(&new_payment(&c2, "k-c2", t0()), &[])
            .await,
        Err(StoreError::ChargeNotPayable(ChargeStatus::Cancelled))
    );
    // Once the payment in flight ends, another may start.
    let mut p = p;
    p.authorize(
        "s".into(),
        Some(card()),
        Some(contact()),
        "fake",
        t0(),
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&upd(&p))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    p.decline(DeclineReason::InsufficientFunds, t0())
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&upd(&p))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.create_payment(&other, &[]).await,
        Ok(CreateOutcome::Created),
        "after a decline a new payment may start"
    );
}

/// Many concurrent `create_payment` calls for one charge: exactly one wins.
pub async fn in_flight_is_atomic(store: &dyn Store) {
    let charge = new_charge(20);
    store
        .insert_charge(
            &charge,
            &event(charge.id, None, EventKind::ChargeIssued, t0()),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let payments: Vec<Payment> = (0..16)
        .map(|i| new_payment(&charge, &format!("race-{i}"), t0()))
        .collect();
    let results = join_all(payments.iter().map(|p| store.create_payment(p, &[]))).await;
    let wins = results
        .iter()
        .filter(|r| matches!(r, Ok(CreateOutcome::Created)))
        .count();
    assert_eq!(
        wins, 1,
        "exactly one of 16 concurrent payments MUST be created, got {results:?}"
    );
    assert!(
        results.iter().all(|r| matches!(
            r,
            Ok(CreateOutcome::Created) | Err(StoreError::InFlight { .. })
        )),
        "the others MUST fail with InFlight: {results:?}"
    );
    let listed = store
        .list_payments(&PaymentQuery {
            charge_id: Some(charge.id),
            ..PaymentQuery::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(listed.len(), 1, "one payment stored");
    // Concurrent replays of one key all see the same payment.
    let winner = listed[0].clone();
    let replays: Vec<Payment> = (0..8)
        .map(|_| new_payment(&charge, winner.start_key(), t0()))
        .collect();
    for r in join_all(replays.iter().map(|p| store.create_payment(p, &[]))).await {
        assert_eq!(
            r,
            Ok(CreateOutcome::Existing(Box::new(winner.clone()))),
            "replayed key"
        );
    }
}

/// Optimistic versions: a stale update fails and writes nothing.
pub async fn optimistic_versions(store: &dyn Store) {
    let (_, p) = created(store, 30).await;
    let mut a = p.clone();
    a.authorize(
        "a".into(),
        Some(card()),
        Some(contact()),
        "fake",
        t0(),
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut b = p.clone();
    b.expire(t0()).unwrap_or_else(|e| panic!("{e}"));
    let mut ub = upd(&b);
    ub.outbox = vec![notice(&b, t0())];
    let results = join_all([store.update_payment(&upd(&a)), store.update_payment(&ub)]).await;
    let oks = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        oks, 1,
        "two updates from the same version: exactly one MUST win, got {results:?}"
    );
    assert!(
        results.contains(&Err(StoreError::Conflict)),
        "the other MUST fail with Conflict"
    );
    let stored = store
        .payment(p.id())
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("payment"));
    assert_eq!(stored.version(), 2);
    let outbox = store
        .outbox_list(None, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if stored.state() == PaymentState::Authorizing {
        assert!(
            outbox.is_empty(),
            "the losing update's outbox message MUST NOT be written"
        );
    }
    // Replaying an old version fails.
    assert_eq!(
        store
            .update_payment(&upd(&a))
            .await
            .err()
            .or(store.update_payment(&ub).await.err()),
        Some(StoreError::Conflict)
    );
    let missing = forge(&new_payment(&new_charge(31), "m", t0()), |r| r.version = 2);
    assert_eq!(
        store.update_payment(&upd(&missing)).await,
        Err(StoreError::NotFound)
    );
}

/// A success, its charge becoming `Paid`, its events and its outbox
/// messages are written together.
pub async fn success_is_atomic(store: &dyn Store) {
    let (charge, p) = succeeded(store, 40).await;
    let stored_charge = store
        .charge(charge.id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("charge"));
    assert_eq!(
        stored_charge.status,
        ChargeStatus::Paid,
        "MarkPaid sets the charge Paid"
    );
    let outbox = store
        .outbox_list(Some(OutboxStatus::Pending), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        outbox.len(),
        2,
        "both outbox messages are written with the success"
    );
    let kinds: Vec<String> = store
        .events_of(p.id())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|e| e.kind.as_str().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "payment.created",
            "payment.authorizing",
            "payment.authorizing"
        ],
        "events of the payment, in order"
    );
    assert_eq!(
        store
            .payment_by_receipt(p.receipt_number().unwrap_or(""))
            .await,
        Ok(Some(p.clone())),
        "payment_by_receipt"
    );
    // A failing update writes none of its parts.
    let bad = forge(&p, |r| {
        r.version += 1;
        r.refunded = Money::som(886);
    });
    let mut u = upd(&bad);
    u.outbox = vec![notice(&bad, t0())];
    let r = store.update_payment(&u).await;
    assert_invariant(
        &r,
        &[InvariantKind::RefundsExceedTotal],
        "refunded above total MUST fail",
    );
    assert_eq!(
        store.outbox_list(None, 0).await.map(|o| o.len()),
        Ok(2),
        "…and write no outbox message"
    );
    assert_eq!(
        store.events_of(p.id()).await.map(|e| e.len()),
        Ok(3),
        "…and no event"
    );
    assert_eq!(
        store.payment(p.id()).await,
        Ok(Some(p)),
        "…and leave the payment as it was"
    );
}

/// The storage itself refuses a second paid payment, changed amounts and a
/// second in-flight payment.
pub async fn invariants_in_storage(store: &dyn Store) {
    let (charge, paid) = succeeded(store, 50).await;
    let (_, other) = created(store, 51).await;
    let other = forge(&other, |r| {
        r.charge_id = charge.id;
        r.version += 1;
    });
    let r = store.update_payment(&upd(&other)).await;
    assert_invariant(
        &r,
        &[InvariantKind::ImmutableField],
        "a payment's charge is fixed after creation",
    );
    let changed = forge(&paid, |r| {
        r.version += 1;
        r.amount = Money::som(1);
        r.total = Money::som(1);
    });
    assert_invariant(
        &store.update_payment(&upd(&changed)).await,
        &[InvariantKind::ImmutableField],
        "amounts MUST NOT change after creation",
    );
    // MarkPaid on an already paid charge.
    let c2 = new_charge(52);
    store
        .insert_charge(&c2, &event(c2.id, None, EventKind::ChargeIssued, t0()), &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut p1 = new_payment(&c2, "p1", t0());
    store
        .create_payment(&p1, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    p1.authorize("s".into(), None, None, "fake", t0(), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&upd(&p1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    p1.mark_unknown(t0()).unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&upd(&p1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // p1 is Unknown (in flight): a forged second in-flight payment is refused.
    let mut p2 = new_payment(&c2, "p2", t0());
    assert!(matches!(
        store.create_payment(&p2, &[]).await,
        Err(StoreError::InFlight { .. })
    ));
    p1.decline(DeclineReason::Other, t0())
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&upd(&p1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .create_payment(&p2, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    p2.authorize("s".into(), None, None, "fake", t0(), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&upd(&p2))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    p2.succeed(
        Approval {
            auth_code: "1".into(),
            rrn: "2".into(),
        },
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut u = upd(&p2);
    u.charge = Some(ChargeChange::MarkPaid);
    store
        .update_payment(&u)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Now forge p1 (declined) into a success: a second paid payment.
    // (With everything a success carries, so that only the "one paid
    // payment per charge" rule can refuse it.)
    let forged = forge(&p1, |r| {
        r.version += 1;
        r.state = PaymentState::Succeeded;
        r.decline_reason = None;
        r.approval = Some(Approval {
            auth_code: "654321".into(),
            rrn: "000000000002".into(),
        });
        r.succeeded_at = Some(t0());
        r.receipt_number = Some(tolom_core::payment::receipt_number(r.id, t0()));
    });
    assert!(
        Payment::restore(forged.record().clone()).is_ok(),
        "the forged success is a valid payment on its own"
    );
    let r = store.update_payment(&upd(&forged)).await;
    assert_invariant(
        &r,
        &[InvariantKind::SecondPaidPayment],
        "a second paid payment of a charge MUST fail",
    );
    let mut u = upd(&forged);
    u.charge = Some(ChargeChange::MarkPaid);
    let r = store.update_payment(&u).await;
    assert_invariant(
        &r,
        &[
            InvariantKind::SecondPaidPayment,
            InvariantKind::ChargeAlreadyPaid,
        ],
        "MarkPaid on a Paid charge MUST fail",
    );
}

/// Refunds: reserved with the payment's version, by idempotency key, never
/// above the total.
pub async fn refunds(store: &dyn Store) {
    let (charge, mut p) = succeeded(store, 60).await;
    p.reserve_refund(Money::som(300), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut r1 = Refund {
        id: Uuid::new_v4(),
        payment_id: p.id(),
        amount: Money::som(300),
        reason: "duplicate service".into(),
        state: RefundState::Pending,
        idempotency_key: "refund-1".into(),
        created_at: t0(),
        updated_at: t0(),
        failure: None,
    };
    let mut u = upd(&p);
    u.refund = Some(r1.clone());
    store
        .update_payment(&u)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.refund_by_key(p.id(), "refund-1").await,
        Ok(Some(r1.clone()))
    );
    assert_eq!(store.refund_by_key(p.id(), "nope").await, Ok(None));
    assert_eq!(
        store
            .refunds_in_state(RefundState::Pending, 0)
            .await
            .map(|v| v.len()),
        Ok(1)
    );
    p.complete_refund(Money::som(300), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    r1.state = RefundState::Succeeded;
    let mut u = upd(&p);
    u.refund = Some(r1.clone());
    store
        .update_payment(&u)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.refunds_of(p.id()).await, Ok(vec![r1.clone()]));
    assert_eq!(
        store
            .refunds_in_state(RefundState::Pending, 0)
            .await
            .map(|v| v.len()),
        Ok(0)
    );
    let stored = store
        .payment(p.id())
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("payment"));
    assert_eq!(stored.state(), PaymentState::PartiallyRefunded);
    assert_eq!(stored.refunded(), Money::som(300));
    // A refund's amount is fixed.
    let p2 = forge(&stored, |r| r.version += 1);
    let mut changed = r1.clone();
    changed.amount = Money::som(1);
    let mut u = upd(&p2);
    u.refund = Some(changed);
    assert_invariant(
        &store.update_payment(&u).await,
        &[InvariantKind::ImmutableField],
        "a refund's amount MUST NOT change",
    );
    // Refund the rest: the charge reopens.
    let mut p = stored;
    p.reserve_refund(Money::som(585), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    p.complete_refund(Money::som(585), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    let p = forge(&p, |r| r.version -= 1); // one stored step for both transitions
    let r2 = Refund {
        id: Uuid::new_v4(),
        amount: Money::som(585),
        idempotency_key: "refund-2".into(),
        state: RefundState::Succeeded,
        ..r1
    };
    let mut u = upd(&p);
    u.refund = Some(r2);
    u.charge = Some(ChargeChange::Reopen);
    store
        .update_payment(&u)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store
            .charge(charge.id)
            .await
            .ok()
            .flatten()
            .map(|c| c.status),
        Some(ChargeStatus::Unpaid),
        "Reopen"
    );
    assert_eq!(store.refunds_of(p.id()).await.map(|v| v.len()), Ok(2));
}

/// Listing payments by state, service, charge, times and limit.
pub async fn queries(store: &dyn Store) {
    let (c1, p1) = created(store, 70).await;
    let (_, p2) = succeeded(store, 71).await;
    let (_, mut p3) = created(store, 72).await;
    p3.expire(t0()).unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&upd(&p3))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ids = |v: Vec<Payment>| v.into_iter().map(|p| p.id()).collect::<Vec<_>>();
    let q = |states: Vec<PaymentState>| PaymentQuery {
        states,
        ..PaymentQuery::default()
    };
    let mut all = ids(store
        .list_payments(&PaymentQuery::default())
        .await
        .unwrap_or_else(|e| panic!("{e}")));
    all.sort();
    let mut expected = vec![p1.id(), p2.id(), p3.id()];
    expected.sort();
    assert_eq!(all, expected);
    assert_eq!(
        ids(store
            .list_payments(&q(vec![PaymentState::Created]))
            .await
            .unwrap_or_default()),
        vec![p1.id()]
    );
    assert_eq!(
        ids(store
            .list_payments(&q(vec![PaymentState::Succeeded, PaymentState::Expired]))
            .await
            .unwrap_or_default())
        .len(),
        2
    );
    let by_charge = PaymentQuery {
        charge_id: Some(c1.id),
        ..PaymentQuery::default()
    };
    assert_eq!(
        ids(store.list_payments(&by_charge).await.unwrap_or_default()),
        vec![p1.id()]
    );
    let by_service = PaymentQuery {
        service: Some("id-card-2017".into()),
        ..PaymentQuery::default()
    };
    assert!(store
        .list_payments(&by_service)
        .await
        .unwrap_or_default()
        .is_empty());
    let limited = PaymentQuery {
        limit: 2,
        ..PaymentQuery::default()
    };
    assert_eq!(
        store
            .list_payments(&limited)
            .await
            .unwrap_or_default()
            .len(),
        2
    );
    let future = PaymentQuery {
        created_from: Some(t0() + Duration::seconds(1)),
        ..PaymentQuery::default()
    };
    assert!(store
        .list_payments(&future)
        .await
        .unwrap_or_default()
        .is_empty());
    let window = PaymentQuery {
        created_from: Some(t0()),
        created_to: Some(t0() + Duration::seconds(1)),
        ..PaymentQuery::default()
    };
    assert_eq!(
        store.list_payments(&window).await.unwrap_or_default().len(),
        3
    );
    let stale = PaymentQuery {
        updated_before: Some(t0()),
        ..PaymentQuery::default()
    };
    assert!(
        store
            .list_payments(&stale)
            .await
            .unwrap_or_default()
            .is_empty(),
        "updated_before is exclusive"
    );
}

/// Outbox: claims never overlap while leased; leases expire.
pub async fn outbox_claims(store: &dyn Store) {
    let (_, p) = succeeded(store, 80).await;
    let lease = t0() + Duration::seconds(60);
    let claims = join_all((0..4).map(|i| {
        let worker = format!("w{i}");
        async move { store.claim_outbox(t0(), lease, 10, &worker).await }
    }))
    .await;
    let mut seen: Vec<Uuid> = Vec::new();
    for c in claims {
        for m in c.unwrap_or_else(|e| panic!("{e}")) {
            assert!(
                !seen.contains(&m.id),
                "message {} claimed twice while leased",
                m.id
            );
            seen.push(m.id);
        }
    }
    assert_eq!(seen.len(), 2, "both messages claimed once");
    assert_eq!(
        store
            .claim_outbox(t0() + Duration::seconds(30), lease, 10, "w9")
            .await
            .map(|v| v.len()),
        Ok(0),
        "leased messages are not claimable"
    );
    let again = store
        .claim_outbox(
            t0() + Duration::seconds(61),
            t0() + Duration::seconds(121),
            10,
            "w9",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.len(), 2, "messages come back once the lease runs out");
    let limited = store
        .claim_outbox(
            t0() + Duration::seconds(200),
            t0() + Duration::seconds(260),
            1,
            "w8",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(limited.len(), 1, "limit is honoured");
    store
        .outbox_delivered(again[0].id, t0() + Duration::seconds(62))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .outbox_delivered(again[0].id, t0() + Duration::seconds(63))
        .await
        .unwrap_or_else(|e| panic!("delivered MUST be idempotent: {e}"));
    let delivered = store
        .outbox_list(Some(OutboxStatus::Delivered), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(delivered.len(), 1);
    assert_eq!(
        delivered[0].delivered_at,
        Some(t0() + Duration::seconds(62))
    );
    let later = store
        .claim_outbox(
            t0() + Duration::seconds(400),
            t0() + Duration::seconds(460),
            10,
            "w1",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(later.len(), 1, "a delivered message is never claimed again");
    // Marking a round's messages together: all of them, idempotently, the
    // already delivered one keeping its first time.
    let ids = [again[0].id, later[0].id];
    store
        .outbox_delivered_many(&ids, t0() + Duration::seconds(401))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .outbox_delivered_many(&ids, t0() + Duration::seconds(402))
        .await
        .unwrap_or_else(|e| panic!("delivered_many MUST be idempotent: {e}"));
    let delivered = store
        .outbox_list(Some(OutboxStatus::Delivered), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(delivered.len(), 2, "both marked delivered");
    for m in &delivered {
        let want = if m.id == again[0].id { 62 } else { 401 };
        assert_eq!(m.delivered_at, Some(t0() + Duration::seconds(want)));
    }
    assert_eq!(
        store
            .claim_outbox(
                t0() + Duration::seconds(600),
                t0() + Duration::seconds(660),
                10,
                "w1",
            )
            .await
            .map(|v| v.len()),
        Ok(0),
        "delivered messages are never claimed again"
    );
    assert_ne!(later[0].id, again[0].id);
    let _ = p;
}

/// Outbox failures: retry later, dead letters, operator retry.
pub async fn outbox_failures(store: &dyn Store) {
    succeeded(store, 90).await;
    let lease = t0() + Duration::seconds(60);
    let claimed = store
        .claim_outbox(t0(), lease, 10, "w")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(claimed.len(), 2);
    let (a, b) = (&claimed[0], &claimed[1]);
    store
        .outbox_failed(a.id, "smtp 451", Some(t0() + Duration::minutes(5)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .outbox_failed(b.id, "http 410", None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store
            .claim_outbox(
                t0() + Duration::minutes(4),
                t0() + Duration::minutes(5),
                10,
                "w"
            )
            .await
            .map(|v| v.len()),
        Ok(0),
        "a failed message waits for its retry time (and its lease was released)"
    );
    let retried = store
        .claim_outbox(
            t0() + Duration::minutes(5),
            t0() + Duration::minutes(6),
            10,
            "w",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(retried.iter().map(|m| m.id).collect::<Vec<_>>(), vec![a.id]);
    assert_eq!(retried[0].attempts, 1);
    assert_eq!(retried[0].last_error.as_deref(), Some("smtp 451"));
    let dead = store
        .outbox_list(Some(OutboxStatus::Dead), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        dead.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![b.id],
        "dead letters are visible"
    );
    assert_eq!(
        store
            .outbox_retry(a.id, t0(), &note("outbox.retried"))
            .await,
        Err(StoreError::NotFound),
        "only dead messages can be retried"
    );
    store
        .outbox_retry(b.id, t0() + Duration::minutes(10), &note("outbox.retried"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let back = store
        .claim_outbox(
            t0() + Duration::minutes(10),
            t0() + Duration::minutes(11),
            10,
            "w",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        back.iter().any(|m| m.id == b.id),
        "a retried dead letter is claimable again"
    );
    assert_eq!(
        store.outbox_list(None, 1).await.map(|v| v.len()),
        Ok(1),
        "outbox_list limit"
    );
}

/// Events are append-only and ordered; editions are never rewritten.
pub async fn events_and_terms(store: &dyn Store) {
    let c = new_charge(100);
    store
        .insert_charge(&c, &event(c.id, None, EventKind::ChargeIssued, t0()), &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let appended = [
        EventKind::PaymentCreated,
        EventKind::PaymentAuthorizing,
        EventKind::PaymentSucceeded,
        EventKind::RefundRequested,
        EventKind::RefundSucceeded,
    ];
    for kind in appended {
        store
            .append_event(&event(c.id, None, kind, t0()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let kinds: Vec<String> = store
        .events_of(c.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.kind.as_str().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "charge.issued",
            "payment.created",
            "payment.authorizing",
            "payment.succeeded",
            "refund.requested",
            "refund.succeeded"
        ],
        "events in the order written"
    );
    let stored = store.events_of(c.id).await.unwrap_or_default();
    assert_eq!(
        stored[1].data,
        serde_json::json!({"k": "payment.created"}),
        "event data round-trips"
    );
    let first = TermsEdition::seed_edition();
    let mut second = first.clone();
    second.id = "2027-01-01".into();
    second.effective_at = first.effective_at + Duration::days(365);
    second.text_ru = "Новая редакция".into();
    store
        .publish_terms(&second, &note("terms.published"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .publish_terms(&first, &note("terms.published"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_invariant(
        &store.publish_terms(&second, &note("terms.published")).await,
        &[InvariantKind::DuplicateEdition],
        "an edition id MUST NOT be reused",
    );
    let editions = store
        .terms_editions()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        editions,
        vec![first, second],
        "editions oldest first, texts intact"
    );
}

/// Every field of a payment survives storage.
pub async fn round_trip(store: &dyn Store) {
    let (_, mut p) = created(store, 110).await;
    p.authorize(
        "submit".into(),
        Some(card()),
        Some(contact()),
        "fake",
        t0(),
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&upd(&p))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("PaReq".to_string(), "abc".to_string());
    p.require_action(
        tolom_core::payment::Challenge::Redirect {
            url: "https://acs.example/3ds".into(),
            method: "POST".into(),
            fields,
        },
        t0() + Duration::seconds(1),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut p = forge(&p, |r| r.acquirer_ref = Some("gw-order-1".into()));
    store
        .update_payment(&upd(&p))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.payment(p.id()).await,
        Ok(Some(p.clone())),
        "a payment reads back exactly as written"
    );
    p.resume(t0() + Duration::seconds(2))
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&upd(&p))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    p.decline(
        DeclineReason::AuthenticationFailed,
        t0() + Duration::seconds(3),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&upd(&p))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.payment(p.id()).await,
        Ok(Some(p)),
        "decline reason round-trips"
    );
}

/// A payment of `charge` made elsewhere, in `state`, reported with
/// `reference` through ELQR.
fn external_payment(charge: &Charge, reference: &str, state: ExternalState) -> ExternalPayment {
    ExternalPayment {
        id: Uuid::new_v4(),
        charge_id: charge.id,
        code: charge.code.clone(),
        service: charge.service.clone(),
        channel: PaymentChannel::Elqr,
        reference: reference.into(),
        amount: charge.amount,
        paid_at: t0() + Duration::hours(1),
        recorded_at: t0() + Duration::hours(2),
        recorded_by: "token:bank-1".into(),
        state,
        resolved_at: None,
        resolution: None,
    }
}

/// The write of `p` with its event and one outbox message.
fn external_write(p: &ExternalPayment) -> ExternalWrite {
    let kind = match p.state {
        ExternalState::Accepted => EventKind::ChargePaidExternally,
        ExternalState::Duplicate => EventKind::ChargeExternalDuplicate,
        ExternalState::Returned => EventKind::ChargeExternalReturned,
    };
    ExternalWrite {
        payment: p.clone(),
        events: vec![event(p.charge_id, Some(p.id), kind, t0())],
        outbox: vec![OutboxMessage::new(
            Uuid::new_v4(),
            OutboxPayload::AgencyNotice(AgencyEvent {
                event_id: Uuid::new_v4(),
                kind: AgencyEventKind::PaymentSucceeded,
                occurred_at: t0(),
                code: p.code.to_string(),
                agency_ref: None,
                service: p.service.clone(),
                payment_id: p.id,
                receipt_number: Some(p.reference.clone()),
                amount: p.amount,
                refunded: Money::som(0),
                channel: p.channel,
            }),
            t0(),
        )],
        notes: Vec::new(),
    }
}

async fn issued(store: &dyn Store, serial: u64) -> Charge {
    let charge = new_charge(serial);
    store
        .insert_charge(
            &charge,
            &event(charge.id, None, EventKind::ChargeIssued, t0()),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("insert_charge: {e}"));
    charge
}

async fn status_of(store: &dyn Store, charge: &Charge) -> Option<ChargeStatus> {
    store
        .charge(charge.id)
        .await
        .ok()
        .flatten()
        .map(|c| c.status)
}

async fn written(store: &dyn Store, id: Uuid) -> (usize, usize) {
    (
        store.events_of(id).await.map(|e| e.len()).unwrap_or(0),
        store
            .outbox_list(None, 0)
            .await
            .map(|o| o.len())
            .unwrap_or(0),
    )
}

/// Payments made elsewhere: recording pays an unpaid (or expired) charge
/// atomically, idempotently by channel and reference; a duplicate is kept
/// for a paid charge only; the rules about the charge's status; the
/// resolution of a flagged one; queries.
pub async fn external_payments(store: &dyn Store) {
    // Recorded, accepted: the charge is paid, with the event and the notice.
    let charge = issued(store, 900).await;
    let accepted = external_payment(&charge, "ELQR-900", ExternalState::Accepted);
    assert_eq!(
        store
            .record_external_payment(&external_write(&accepted))
            .await,
        Ok(RecordOutcome::Recorded),
        "record_external_payment of an unpaid charge"
    );
    assert_eq!(status_of(store, &charge).await, Some(ChargeStatus::Paid));
    assert_eq!(
        store.external_payment(accepted.id).await,
        Ok(Some(accepted.clone())),
        "a payment made elsewhere MUST read back as written"
    );
    assert_eq!(
        store
            .external_payment_by_reference(PaymentChannel::Elqr, "ELQR-900")
            .await,
        Ok(Some(accepted.clone()))
    );
    assert_eq!(
        store
            .external_payment_by_reference(PaymentChannel::Terminal, "ELQR-900")
            .await,
        Ok(None),
        "a reference is the channel's"
    );
    assert_eq!(store.external_payment(Uuid::new_v4()).await, Ok(None));
    let before = written(store, accepted.id).await;
    assert_eq!(before.0, 1, "the payment's event");
    // The same channel and reference again: the stored one, nothing written.
    let again = ExternalPayment {
        id: Uuid::new_v4(),
        ..accepted.clone()
    };
    assert_eq!(
        store.record_external_payment(&external_write(&again)).await,
        Ok(RecordOutcome::Existing(Box::new(accepted.clone()))),
        "the same (channel, reference) MUST return the stored payment"
    );
    assert_eq!(written(store, accepted.id).await, before, "nothing written");
    assert_eq!(store.external_payment(again.id).await, Ok(None));
    // A charge is paid once: a card payment cannot start, nor can a second
    // accepted payment be recorded.
    let card = new_payment(&charge, "start-after-external", t0());
    assert_eq!(
        store.create_payment(&card, &[]).await,
        Err(StoreError::ChargeNotPayable(ChargeStatus::Paid)),
        "create_payment of a charge paid elsewhere"
    );
    let second = external_payment(&charge, "ELQR-900-b", ExternalState::Accepted);
    assert_eq!(
        store
            .record_external_payment(&external_write(&second))
            .await,
        Err(StoreError::Conflict),
        "an accepted payment of a paid charge MUST fail with Conflict"
    );
    assert_eq!(store.external_payment(second.id).await, Ok(None));
    for to in [ChargeStatus::Unpaid, ChargeStatus::Cancelled] {
        let r = store
            .set_charge_status(
                charge.id,
                ChargeStatus::Paid,
                to,
                &event(charge.id, None, EventKind::ChargeCancelled, t0()),
                &[],
            )
            .await;
        assert_invariant(
            &r,
            &[InvariantKind::PaidWithoutPayment],
            "a charge paid elsewhere MUST stay Paid",
        );
    }
    // The same report for the paid charge, flagged.
    let flagged = external_payment(&charge, "ELQR-900-b", ExternalState::Duplicate);
    assert_eq!(
        store
            .record_external_payment(&external_write(&flagged))
            .await,
        Ok(RecordOutcome::Recorded),
        "a duplicate of a paid charge is recorded"
    );
    assert_eq!(status_of(store, &charge).await, Some(ChargeStatus::Paid));

    // A duplicate needs a paid charge; nothing is ever recorded returned.
    let unpaid = issued(store, 901).await;
    let r = store
        .record_external_payment(&external_write(&external_payment(
            &unpaid,
            "ELQR-901",
            ExternalState::Duplicate,
        )))
        .await;
    assert_eq!(
        r,
        Err(StoreError::Conflict),
        "a duplicate of an unpaid charge MUST fail with Conflict"
    );
    let r = store
        .record_external_payment(&external_write(&external_payment(
            &unpaid,
            "ELQR-901",
            ExternalState::Returned,
        )))
        .await;
    assert!(
        matches!(r, Err(StoreError::Invariant { .. })),
        "a payment MUST NOT be recorded returned: {r:?}"
    );
    assert_eq!(status_of(store, &unpaid).await, Some(ChargeStatus::Unpaid));
    let mut ghost = external_payment(&unpaid, "ELQR-ghost", ExternalState::Accepted);
    ghost.charge_id = Uuid::new_v4();
    assert_eq!(
        store.record_external_payment(&external_write(&ghost)).await,
        Err(StoreError::ChargeNotFound),
        "a payment of no charge"
    );

    // An expired charge is paid (paid in time, reported late); a cancelled
    // one is not.
    let expired = issued(store, 902).await;
    store
        .set_charge_status(
            expired.id,
            ChargeStatus::Unpaid,
            ChargeStatus::Expired,
            &event(expired.id, None, EventKind::ChargeExpired, t0()),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store
            .record_external_payment(&external_write(&external_payment(
                &expired,
                "ELQR-902",
                ExternalState::Accepted,
            )))
            .await,
        Ok(RecordOutcome::Recorded),
        "an accepted payment of an expired charge"
    );
    assert_eq!(status_of(store, &expired).await, Some(ChargeStatus::Paid));
    let cancelled = issued(store, 903).await;
    store
        .set_charge_status(
            cancelled.id,
            ChargeStatus::Unpaid,
            ChargeStatus::Cancelled,
            &event(cancelled.id, None, EventKind::ChargeCancelled, t0()),
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store
            .record_external_payment(&external_write(&external_payment(
                &cancelled,
                "ELQR-903",
                ExternalState::Accepted,
            )))
            .await,
        Err(StoreError::Conflict),
        "an accepted payment of a cancelled charge MUST fail with Conflict"
    );

    // Resolutions: only the state and the resolution change.
    let resolved = ExternalPayment {
        state: ExternalState::Returned,
        resolved_at: Some(t0() + Duration::days(1)),
        resolution: Some("the bank returned it".into()),
        ..flagged.clone()
    };
    let mut tampered = resolved.clone();
    tampered.amount = Money::som(1);
    assert_invariant(
        &store
            .update_external_payment(ExternalState::Duplicate, &external_write(&tampered))
            .await,
        &[InvariantKind::ImmutableField],
        "the amount of a payment made elsewhere is fixed",
    );
    assert_eq!(
        store
            .update_external_payment(ExternalState::Accepted, &external_write(&resolved))
            .await,
        Err(StoreError::Conflict),
        "update_external_payment MUST fail with Conflict when the state is not `from`"
    );
    let missing = ExternalPayment {
        id: Uuid::new_v4(),
        ..resolved.clone()
    };
    assert_eq!(
        store
            .update_external_payment(ExternalState::Duplicate, &external_write(&missing))
            .await,
        Err(StoreError::NotFound)
    );
    let accept = ExternalPayment {
        state: ExternalState::Accepted,
        ..resolved.clone()
    };
    assert_eq!(
        store
            .update_external_payment(ExternalState::Duplicate, &external_write(&accept))
            .await,
        Err(StoreError::Conflict),
        "accepting a duplicate of a charge that is still paid MUST fail with Conflict"
    );
    let before = written(store, flagged.id).await;
    store
        .update_external_payment(ExternalState::Duplicate, &external_write(&resolved))
        .await
        .unwrap_or_else(|e| panic!("resolve: {e}"));
    assert_eq!(
        store.external_payment(flagged.id).await,
        Ok(Some(resolved.clone()))
    );
    assert_eq!(
        written(store, flagged.id).await,
        (before.0 + 1, before.1 + 1),
        "the resolution's event and message"
    );
    let undo = ExternalPayment {
        state: ExternalState::Returned,
        ..accepted.clone()
    };
    assert!(
        store
            .update_external_payment(ExternalState::Accepted, &external_write(&undo))
            .await
            .is_err(),
        "an accepted payment made elsewhere MUST stay accepted"
    );
    assert_eq!(status_of(store, &charge).await, Some(ChargeStatus::Paid));

    // Queries.
    let all = store
        .list_external_payments(&ExternalQuery::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.len(), 3, "every payment made elsewhere: {all:?}");
    let of_charge = store
        .list_external_payments(&ExternalQuery {
            charge_id: Some(charge.id),
            states: vec![ExternalState::Accepted],
            ..ExternalQuery::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(of_charge, vec![accepted.clone()], "by charge and state");
    let returned = store
        .list_external_payments(&ExternalQuery {
            states: vec![ExternalState::Returned, ExternalState::Duplicate],
            ..ExternalQuery::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(returned, vec![resolved], "by states");
    let window = |from: i64, to: i64, limit: usize| ExternalQuery {
        paid_from: Some(t0() + Duration::minutes(from)),
        paid_to: Some(t0() + Duration::minutes(to)),
        service: Some("passport-2020".into()),
        limit,
        ..ExternalQuery::default()
    };
    let listed = |q: ExternalQuery| async move {
        store
            .list_external_payments(&q)
            .await
            .map(|v| v.len())
            .unwrap_or(usize::MAX)
    };
    assert_eq!(listed(window(60, 61, 0)).await, 3, "paid in the window");
    assert_eq!(
        listed(window(61, 120, 0)).await,
        0,
        "paid_from is inclusive"
    );
    assert_eq!(listed(window(0, 60, 0)).await, 0, "paid_to is exclusive");
    assert_eq!(listed(window(60, 61, 2)).await, 2, "limit");
    assert_eq!(
        listed(ExternalQuery {
            service: Some("id-card-2017".into()),
            ..ExternalQuery::default()
        })
        .await,
        0,
        "by service"
    );
}

/// A card payment and a payment made elsewhere race for one charge:
/// whichever commits first pays it, the other is refused, under any
/// concurrency; and a charge reopened by a full card refund can be paid by
/// a flagged payment made elsewhere.
pub async fn external_payment_races(store: &dyn Store) {
    // Card in flight, then the payment made elsewhere: the card's approval
    // can no longer mark the charge paid.
    let (charge, mut p) = created(store, 910).await;
    p.authorize(
        "submit-1".into(),
        Some(card()),
        Some(contact()),
        "fake",
        t0(),
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&upd(&p))
        .await
        .unwrap_or_else(|e| panic!("authorize: {e}"));
    let ext = external_payment(&charge, "ELQR-910", ExternalState::Accepted);
    assert_eq!(
        store.record_external_payment(&external_write(&ext)).await,
        Ok(RecordOutcome::Recorded),
        "a payment made elsewhere while a card payment is in flight"
    );
    let mut approved = p.clone();
    approved
        .succeed(
            Approval {
                auth_code: "123456".into(),
                rrn: "000000000910".into(),
            },
            t0(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut u = upd(&approved);
    u.charge = Some(ChargeChange::MarkPaid);
    assert_invariant(
        &store.update_payment(&u).await,
        &[
            InvariantKind::ChargeAlreadyPaid,
            InvariantKind::SecondPaidPayment,
        ],
        "MarkPaid of a charge paid elsewhere",
    );
    assert_eq!(
        store
            .payment(p.id())
            .await
            .ok()
            .flatten()
            .map(|p| p.state()),
        Some(PaymentState::Authorizing),
        "the refused success wrote nothing"
    );

    // Card paid first: the payment made elsewhere is refused as accepted,
    // recorded as a duplicate.
    let (paid, card_payment) = succeeded(store, 911).await;
    let late = external_payment(&paid, "ELQR-911", ExternalState::Accepted);
    assert_eq!(
        store.record_external_payment(&external_write(&late)).await,
        Err(StoreError::Conflict)
    );
    let flagged = ExternalPayment {
        state: ExternalState::Duplicate,
        ..late.clone()
    };
    assert_eq!(
        store
            .record_external_payment(&external_write(&flagged))
            .await,
        Ok(RecordOutcome::Recorded)
    );
    // The card payment refunded in full reopens the charge; the flagged
    // payment then pays it.
    let mut refunded = card_payment.clone();
    refunded
        .reserve_refund(card_payment.total(), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    refunded
        .complete_refund(card_payment.total(), t0())
        .unwrap_or_else(|e| panic!("{e}"));
    let refunded = forge(&refunded, |r| r.version -= 1); // one stored step
    let mut u = upd(&refunded);
    u.refund = Some(Refund {
        id: Uuid::new_v4(),
        payment_id: refunded.id(),
        amount: card_payment.total(),
        reason: "paid elsewhere".into(),
        state: RefundState::Succeeded,
        idempotency_key: "refund-911".into(),
        created_at: t0(),
        updated_at: t0(),
        failure: None,
    });
    u.charge = Some(ChargeChange::Reopen);
    store
        .update_payment(&u)
        .await
        .unwrap_or_else(|e| panic!("refund: {e}"));
    assert_eq!(status_of(store, &paid).await, Some(ChargeStatus::Unpaid));
    let accept = ExternalPayment {
        state: ExternalState::Accepted,
        resolved_at: Some(t0() + Duration::days(1)),
        resolution: Some("the card payment was refunded".into()),
        ..flagged.clone()
    };
    store
        .update_external_payment(ExternalState::Duplicate, &external_write(&accept))
        .await
        .unwrap_or_else(|e| panic!("accept: {e}"));
    assert_eq!(status_of(store, &paid).await, Some(ChargeStatus::Paid));

    // Concurrently: a card success and eight reports of eight references
    // for one charge; exactly one pays it.
    let charge = issued(store, 912).await;
    let mut card = new_payment(&charge, "race-card", t0());
    store
        .create_payment(&card, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    card.authorize(
        "submit-1".into(),
        Some(self::card()),
        Some(contact()),
        "fake",
        t0(),
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    store
        .update_payment(&upd(&card))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    card.succeed(
        Approval {
            auth_code: "123456".into(),
            rrn: "000000000912".into(),
        },
        t0(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut success = upd(&card);
    success.charge = Some(ChargeChange::MarkPaid);
    let reports: Vec<ExternalWrite> = (0..8)
        .map(|i| {
            external_write(&external_payment(
                &charge,
                &format!("ELQR-912-{i}"),
                ExternalState::Accepted,
            ))
        })
        .collect();
    let card_race = store.update_payment(&success);
    let ext_race = join_all(reports.iter().map(|w| store.record_external_payment(w)));
    let (card_result, ext_results) = futures::join!(card_race, ext_race);
    let card_wins = usize::from(card_result.is_ok());
    let ext_wins = ext_results
        .iter()
        .filter(|r| matches!(r, Ok(RecordOutcome::Recorded)))
        .count();
    assert_eq!(
        card_wins + ext_wins,
        1,
        "exactly one thing MUST pay the charge: card {card_result:?}, elsewhere {ext_results:?}"
    );
    if card_wins == 0 {
        assert_invariant(
            &card_result,
            &[
                InvariantKind::ChargeAlreadyPaid,
                InvariantKind::SecondPaidPayment,
            ],
            "a card success after a payment made elsewhere",
        );
    }
    assert!(
        ext_results.iter().all(|r| matches!(
            r,
            Ok(RecordOutcome::Recorded) | Err(StoreError::Conflict | StoreError::Invariant { .. })
        )),
        "the losers MUST fail with Conflict or Invariant: {ext_results:?}"
    );
    assert_eq!(status_of(store, &charge).await, Some(ChargeStatus::Paid));
    let accepted = store
        .list_external_payments(&ExternalQuery {
            charge_id: Some(charge.id),
            ..ExternalQuery::default()
        })
        .await
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    assert_eq!(accepted, ext_wins, "only the winner is stored");
}
