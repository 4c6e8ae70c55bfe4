//! Flows of payments made elsewhere (a bank's app, a terminal, ELQR) on
//! any store, through the use cases: what every storage adapter's tests
//! run (`tests/external_payments.rs` of the testkit, the SQLite and the
//! PostgreSQL store), so that each is proven with the same steps.
//!
//! Each flow takes a [`Harness`] over the store under test and the
//! [`FakeAcquirer`] it was built with, issues its own charges (random
//! codes: a shared database is fine), and panics with a message naming the
//! broken rule.

use chrono::{Duration, SubsecRound};
use std::sync::Arc;
use tolom_core::access::{Principal, Role};
use tolom_core::charge::{Charge, ChargeStatus, NotPayable};
use tolom_core::errors::{ExternalError, LookupError, StartPaymentError};
use tolom_core::events::EventKind;
use tolom_core::external::{ExternalState, PaymentChannel};
use tolom_core::i18n::{ErrorCode, Language};
use tolom_core::money::Money;
use tolom_core::outbox::{OutboxPayload, OutboxStatus};
use tolom_core::payment::{ChallengeResponse, PaymentState};
use tolom_core::ports::{Clock, Notification, OpsStore, Store};
use tolom_core::usecases::operator::{ExternalRecorded, ExternalReport};
use tolom_core::usecases::{Config, OperatorError, StartPayment};

use crate::fake::{FakeAcquirer, Script};
use crate::fixtures::Harness;

/// A harness over `store` with a [`FakeAcquirer`] (approves unless
/// scripted), and the acquirer: what each flow takes.
pub fn harness<S: Store + OpsStore + 'static>(store: Arc<S>) -> (Harness<S>, Arc<FakeAcquirer>) {
    let acquirer = Arc::new(FakeAcquirer::new());
    (
        Harness::on(store, acquirer.clone(), Config::default()),
        acquirer,
    )
}

/// Every flow, in order, each on the same harness (each with its own
/// charges). Prefer [`crate::external_payment_flows`], which makes one
/// named test per flow.
pub async fn run_all<S: Store + OpsStore + 'static>(h: &Harness<S>, acquirer: &FakeAcquirer) {
    paid_elsewhere_is_paid_once(h, acquirer).await;
    reports_are_checked(h, acquirer).await;
    a_card_payment_in_flight_is_given_back(h, acquirer).await;
    a_lost_card_answer_approved_later_is_given_back(h, acquirer).await;
    paid_by_card_then_elsewhere_is_flagged_and_resolved(h, acquirer).await;
    expired_and_cancelled_charges(h, acquirer).await;
    who_may_record(h, acquirer).await;
}

/// A report of a payment of `charge` through `channel`, made half an hour
/// ago.
fn report<S: ?Sized>(
    charge: &Charge,
    channel: PaymentChannel,
    reference: &str,
    h: &Harness<S>,
) -> ExternalReport {
    ExternalReport {
        code: charge.code.to_string(),
        channel,
        reference: reference.to_string(),
        amount: charge.amount,
        paid_at: h.clock.now() - Duration::minutes(30),
    }
}

/// A unique reference for this run (a shared database keeps earlier runs'
/// references).
fn reference(what: &str) -> String {
    format!("{what}-{}", uuid::Uuid::new_v4().simple())
}

async fn start_refused<S: Store + OpsStore + 'static>(
    h: &Harness<S>,
    code: &str,
) -> StartPaymentError {
    let terms = h.terms_id().await;
    match h
        .tolom
        .start_payment(StartPayment {
            code,
            accepted_terms: Some(&terms),
            idempotency_key: &reference("start"),
            language: Language::Ru,
        })
        .await
    {
        Ok(p) => panic!("a card payment of a paid code MUST be refused, got {p:?}"),
        Err(e) => e,
    }
}

/// Paid through ELQR: the charge is paid, shows the channel, refuses a card
/// payment with `charge.already_paid`, the agency hears of it with the
/// channel, the report has its line; the same report again records
/// nothing.
pub async fn paid_elsewhere_is_paid_once<S: Store + OpsStore + 'static>(
    h: &Harness<S>,
    _acquirer: &FakeAcquirer,
) {
    let (op, cli) = h.operator();
    let charge = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    h.clock.advance(Duration::hours(1));
    // A time with nanoseconds: kept to the microsecond (PostgreSQL keeps
    // no more), so that the same report again is the same report.
    let r = ExternalReport {
        paid_at: h.clock.now() - Duration::minutes(30) + Duration::nanoseconds(123_456_789),
        ..report(&charge, PaymentChannel::Elqr, &reference("ELQR"), h)
    };
    let paid_at = r.paid_at.trunc_subsecs(6);
    let recorded = op
        .record_external_payment(&cli, r.clone())
        .await
        .unwrap_or_else(|e| panic!("record: {e}"));
    let ExternalRecorded::New(paid) = recorded.clone() else {
        panic!("a first report MUST be recorded anew: {recorded:?}");
    };
    assert_eq!(paid.state, ExternalState::Accepted);
    assert_eq!(paid.recorded_by, "cli:test");
    let view = h
        .tolom
        .look_up(charge.code.as_str())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(view.status, ChargeStatus::Paid);
    let via = view
        .paid_via
        .unwrap_or_else(|| panic!("a paid charge says how"));
    assert_eq!((via.channel, via.paid_at), (PaymentChannel::Elqr, paid_at));
    assert!(view.not_payable.is_some());
    let refused = start_refused(h, charge.code.as_str()).await;
    assert!(
        matches!(
            refused,
            StartPaymentError::NotPayable(NotPayable::AlreadyPaid)
        ),
        "{refused:?}"
    );
    assert_eq!(refused.code(), "charge.already_paid");
    // The agency notice says the channel.
    let report_run = h.tolom.dispatch_outbox("flow", 100).await;
    assert!(report_run.is_ok(), "{report_run:?}");
    let notice = h
        .webhook
        .delivered()
        .into_iter()
        .find_map(|(_, n)| match n {
            Notification::Agency(e) if e.payment_id == paid.id => Some(e),
            _ => None,
        })
        .unwrap_or_else(|| panic!("the agency MUST be notified"));
    assert_eq!(notice.channel, PaymentChannel::Elqr);
    assert_eq!(
        notice.receipt_number.as_deref(),
        Some(r.reference.as_str()),
        "the receipt is the channel's: its reference"
    );
    assert_eq!(notice.code, charge.code.as_str());
    assert_eq!(notice.amount, charge.amount);
    // Its event, by the operator.
    let events = h
        .store
        .events_of(paid.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        events
            .iter()
            .any(|e| e.kind == EventKind::ChargePaidExternally && e.actor == "cli:test"),
        "{events:?}"
    );
    // The same report again: the same payment, nothing new.
    let messages = h.store.outbox_list(None, 0).await.map(|m| m.len());
    let again = op
        .record_external_payment(&cli, r.clone())
        .await
        .unwrap_or_else(|e| panic!("again: {e}"));
    assert_eq!(again, ExternalRecorded::Existing(paid.clone()));
    assert_eq!(
        h.store.outbox_list(None, 0).await.map(|m| m.len()),
        messages
    );
    assert_eq!(
        h.store.events_of(paid.id).await.map(|e| e.len()),
        Ok(events.len())
    );
    // The reference with other data is a conflict, never a second payment.
    let other = ExternalReport {
        paid_at: r.paid_at - Duration::minutes(1),
        ..r.clone()
    };
    let e = op
        .record_external_payment(&cli, other)
        .await
        .err()
        .unwrap_or_else(|| panic!("a reference with other data MUST be refused"));
    assert_eq!(e.code(), "external.reference_conflict", "{e}");
    // The report has a line for the channel.
    let today = r
        .paid_at
        .with_timezone(&tolom_core::time::bishkek())
        .date_naive();
    let rows = op
        .report(&cli, today, today, Some("passport-2020"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let line = rows
        .iter()
        .find(|row| row.channel == PaymentChannel::Elqr)
        .unwrap_or_else(|| panic!("a line for ELQR: {rows:?}"));
    assert!(
        line.payments >= 1 && line.total >= charge.amount,
        "{line:?}"
    );
    assert!(line.fee.is_zero(), "no site fee elsewhere: {line:?}");
}

/// What a channel can get wrong is refused with a stable code, and writes
/// nothing.
pub async fn reports_are_checked<S: Store + OpsStore + 'static>(
    h: &Harness<S>,
    _acquirer: &FakeAcquirer,
) {
    let (op, cli) = h.operator();
    let charge = h.charge("passport-2020", "Асанов Айбек").await;
    h.clock.advance(Duration::hours(1));
    let good = report(&charge, PaymentChannel::Terminal, &reference("T"), h);
    let cases: Vec<(ExternalReport, &str)> = vec![
        (
            ExternalReport {
                amount: Money::som(1),
                ..good.clone()
            },
            "external.amount_mismatch",
        ),
        (
            ExternalReport {
                channel: PaymentChannel::Card,
                ..good.clone()
            },
            "external.channel_invalid",
        ),
        (
            ExternalReport {
                reference: " \t ".into(),
                ..good.clone()
            },
            "external.reference_invalid",
        ),
        (
            ExternalReport {
                reference: "x".repeat(101),
                ..good.clone()
            },
            "external.reference_invalid",
        ),
        (
            ExternalReport {
                paid_at: h.clock.now() + Duration::hours(1),
                ..good.clone()
            },
            "external.paid_at_invalid",
        ),
        (
            ExternalReport {
                paid_at: charge.issued_at - Duration::days(1),
                ..good.clone()
            },
            "external.paid_at_invalid",
        ),
        (
            ExternalReport {
                code: "11".into(),
                ..good.clone()
            },
            "code.length",
        ),
    ];
    for (bad, code) in cases {
        let e = op
            .record_external_payment(&cli, bad.clone())
            .await
            .err()
            .unwrap_or_else(|| panic!("MUST be refused: {bad:?}"));
        assert_eq!(e.code(), code, "{bad:?}: {e}");
        for lang in Language::ALL {
            assert!(!e.message(lang).is_empty());
        }
    }
    let unknown = tolom_core::code::CodeFormat::default()
        .generate(tolom_core::code::ServiceFamily::Passport, 999_999_999)
        .unwrap_or_else(|| panic!("code"));
    if h.store
        .charge_by_code(&unknown)
        .await
        .ok()
        .flatten()
        .is_none()
    {
        let e = op
            .record_external_payment(
                &cli,
                ExternalReport {
                    code: unknown.to_string(),
                    ..good.clone()
                },
            )
            .await
            .err()
            .unwrap_or_else(|| panic!("an unknown code MUST be refused"));
        assert!(
            matches!(e, OperatorError::Lookup(LookupError::NotFound)),
            "{e:?}"
        );
    }
    assert_eq!(
        h.store
            .charge(charge.id)
            .await
            .ok()
            .flatten()
            .map(|c| c.status),
        Some(ChargeStatus::Unpaid),
        "refused reports wrote nothing"
    );
    let with_spaces = ExternalReport {
        reference: format!("  {}  ", good.reference),
        ..good.clone()
    };
    let ok = op
        .record_external_payment(&cli, with_spaces)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok.payment().reference, good.reference, "trimmed");
}

/// A card payment waiting for its one-time code when the payment made
/// elsewhere arrives: the payment made elsewhere pays the charge; the
/// card's approval that follows is a duplicate, reversed at once.
pub async fn a_card_payment_in_flight_is_given_back<S: Store + OpsStore + 'static>(
    h: &Harness<S>,
    acquirer: &FakeAcquirer,
) {
    let (op, cli) = h.operator();
    acquirer.script([Script::Otp("123456".into())]);
    let charge = h.charge("passport-2020", "Токтогулов Нурлан").await;
    let card = h
        .pay(&charge.code, "4111111111111111", &reference("k"))
        .await;
    assert_eq!(card.state(), PaymentState::ActionRequired);
    h.clock.advance(Duration::minutes(40));
    let paid = op
        .record_external_payment(
            &cli,
            report(&charge, PaymentChannel::BankApp, &reference("APP"), h),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        paid.payment().state,
        ExternalState::Accepted,
        "it pays the charge"
    );
    let charges_before = acquirer.charges();
    let after = h
        .tolom
        .complete_challenge(card.id(), &ChallengeResponse::otp("123456"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        after.state(),
        PaymentState::Returned,
        "the card's approval of a charge paid elsewhere is a duplicate, given back"
    );
    assert!(after.refunded().is_zero(), "reversed, not refunded");
    assert_eq!(after.receipt_number(), None, "no receipt for a duplicate");
    assert_eq!(
        acquirer.charges(),
        charges_before,
        "the card was not charged in the end"
    );
    let duplicate = h
        .store
        .events_of(card.id())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .find(|e| e.kind == EventKind::PaymentDuplicate)
        .unwrap_or_else(|| panic!("payment.duplicate"));
    assert_eq!(
        duplicate.data["paid_via"], "bank_app",
        "{:?}",
        duplicate.data
    );
    assert_eq!(duplicate.data["paid_by"], paid.payment().id.to_string());
    let view = h
        .tolom
        .look_up(charge.code.as_str())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        view.paid_via.map(|v| v.channel),
        Some(PaymentChannel::BankApp)
    );
}

/// A card payment whose answer was lost; the payment made elsewhere
/// arrives; reconciliation then finds the card approved: a duplicate,
/// reversed (else refunded) — never a second paid payment.
pub async fn a_lost_card_answer_approved_later_is_given_back<S: Store + OpsStore + 'static>(
    h: &Harness<S>,
    acquirer: &FakeAcquirer,
) {
    let (op, cli) = h.operator();
    acquirer.script([Script::ApproveThenTimeout]);
    let charge = h.charge("passport-2020", "Жумабаева Чолпон").await;
    let card = h
        .pay(&charge.code, "4111111111111111", &reference("k"))
        .await;
    assert_eq!(card.state(), PaymentState::Unknown);
    h.clock.advance(Duration::minutes(40));
    let paid = op
        .record_external_payment(
            &cli,
            report(&charge, PaymentChannel::BankBranch, &reference("KASSA"), h),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(paid.payment().state, ExternalState::Accepted);
    acquirer.refuse_reverse(true);
    let round = h.tolom.reconcile().await.unwrap_or_else(|e| panic!("{e}"));
    acquirer.refuse_reverse(false);
    assert!(round.duplicates >= 1, "{round:?}");
    let after = h
        .tolom
        .payment(card.id())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        after.state(),
        PaymentState::Returned,
        "refunded when not reversed"
    );
    assert_eq!(after.refunded(), after.total());
    assert_eq!(
        h.store
            .charge(charge.id)
            .await
            .ok()
            .flatten()
            .map(|c| c.status),
        Some(ChargeStatus::Paid),
        "still paid, by the bank's cash desk"
    );
}

/// Paid by card first; the bank reports its payment later: recorded,
/// flagged (`external_duplicate`), listed for operators, never dropped; an
/// operator resolves it — returned by the bank, or (once the card payment
/// is refunded in full) accepted as the charge's payment.
pub async fn paid_by_card_then_elsewhere_is_flagged_and_resolved<S: Store + OpsStore + 'static>(
    h: &Harness<S>,
    _acquirer: &FakeAcquirer,
) {
    let (op, cli) = h.operator();
    for resolution in [ExternalState::Returned, ExternalState::Accepted] {
        let charge = h.charge("passport-2020", "Сыдыкова Айгүл").await;
        let card = h
            .pay(&charge.code, "4111111111111111", &reference("k"))
            .await;
        assert_eq!(card.state(), PaymentState::Succeeded);
        h.clock.advance(Duration::hours(1));
        let recorded = op
            .record_external_payment(
                &cli,
                report(&charge, PaymentChannel::Elqr, &reference("ELQR"), h),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let flagged = recorded.payment().clone();
        assert!(recorded.is_new());
        assert_eq!(
            flagged.state,
            ExternalState::Duplicate,
            "flagged, not dropped"
        );
        let events = h
            .store
            .events_of(flagged.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            events
                .iter()
                .any(|e| e.kind == EventKind::ChargeExternalDuplicate),
            "{events:?}"
        );
        let listed = op
            .external_duplicates(&cli)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            listed.iter().any(|p| p.id == flagged.id),
            "listed for operators"
        );
        let view = h
            .tolom
            .look_up(charge.code.as_str())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            view.paid_via.map(|v| v.channel),
            Some(PaymentChannel::Card),
            "the charge stays paid by the card"
        );
        // A flagged payment sends the agency nothing.
        let notices = h
            .store
            .outbox_list(None, 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .filter(|m| matches!(&m.payload, OutboxPayload::AgencyNotice(e) if e.payment_id == flagged.id))
            .count();
        assert_eq!(notices, 0);
        let bad = op.resolve_external(&cli, flagged.id, resolution, " ").await;
        assert!(
            matches!(bad, Err(OperatorError::Invalid(_))),
            "a note is needed"
        );
        match resolution {
            ExternalState::Returned => {
                let done = op
                    .resolve_external(
                        &cli,
                        flagged.id,
                        ExternalState::Returned,
                        "KICB returned it",
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(done.state, ExternalState::Returned);
                assert_eq!(done.resolution.as_deref(), Some("KICB returned it"));
                let again = op
                    .resolve_external(&cli, flagged.id, ExternalState::Returned, "again")
                    .await;
                assert!(
                    matches!(
                        again,
                        Err(OperatorError::External(ExternalError::NotDuplicate(
                            ExternalState::Returned
                        )))
                    ),
                    "{again:?}"
                );
            }
            _ => {
                let early = op
                    .resolve_external(&cli, flagged.id, ExternalState::Accepted, "keep it")
                    .await;
                assert!(
                    matches!(
                        early,
                        Err(OperatorError::External(ExternalError::ChargeStillPaid))
                    ),
                    "{early:?}"
                );
                h.tolom
                    .refund(card.id(), None, "paid at the bank", &reference("refund"))
                    .await
                    .unwrap_or_else(|e| panic!("refund: {e}"));
                let done = op
                    .resolve_external(&cli, flagged.id, ExternalState::Accepted, "card refunded")
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(done.state, ExternalState::Accepted);
                let view = h
                    .tolom
                    .look_up(charge.code.as_str())
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(view.status, ChargeStatus::Paid);
                assert_eq!(view.paid_via.map(|v| v.channel), Some(PaymentChannel::Elqr));
                let notice = h
                    .store
                    .outbox_list(Some(OutboxStatus::Pending), 0)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .into_iter()
                    .any(|m| matches!(&m.payload, OutboxPayload::AgencyNotice(e) if e.payment_id == flagged.id && e.channel == PaymentChannel::Elqr));
                assert!(notice, "the agency hears that ELQR paid it");
            }
        }
        let listed = op
            .external_duplicates(&cli)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!listed.iter().any(|p| p.id == flagged.id), "resolved");
    }
}

/// Paid in time and reported after the charge expired: it pays. Paid
/// after the expiry, or for a cancelled charge: refused with the charge's
/// own code.
pub async fn expired_and_cancelled_charges<S: Store + OpsStore + 'static>(
    h: &Harness<S>,
    _acquirer: &FakeAcquirer,
) {
    let (op, cli) = h.operator();
    let charge = h.charge("passport-2020", "Асанов Айбек").await;
    let in_time = charge.expires_at - Duration::hours(1);
    h.clock.advance(Duration::days(31));
    h.tolom
        .expire_stale()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        h.store
            .charge(charge.id)
            .await
            .ok()
            .flatten()
            .map(|c| c.status),
        Some(ChargeStatus::Expired)
    );
    let late = op
        .record_external_payment(
            &cli,
            ExternalReport {
                amount: charge.amount,
                paid_at: charge.expires_at + Duration::minutes(1),
                ..report(&charge, PaymentChannel::Terminal, &reference("T"), h)
            },
        )
        .await
        .err()
        .unwrap_or_else(|| panic!("a payment after the expiry MUST be refused"));
    assert_eq!(late.code(), "charge.expired");
    let paid = op
        .record_external_payment(
            &cli,
            ExternalReport {
                amount: charge.amount,
                paid_at: in_time,
                ..report(&charge, PaymentChannel::Terminal, &reference("T"), h)
            },
        )
        .await
        .unwrap_or_else(|e| panic!("paid in time: {e}"));
    assert_eq!(paid.payment().state, ExternalState::Accepted);
    assert_eq!(
        h.store
            .charge(charge.id)
            .await
            .ok()
            .flatten()
            .map(|c| c.status),
        Some(ChargeStatus::Paid)
    );
    let cancelled = h.charge("passport-2020", "Асанов Айбек").await;
    h.clock.advance(Duration::hours(1));
    h.tolom
        .cancel_charge(&cancelled.code)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let e = op
        .record_external_payment(
            &cli,
            report(&cancelled, PaymentChannel::Terminal, &reference("T"), h),
        )
        .await
        .err()
        .unwrap_or_else(|| panic!("a cancelled charge MUST refuse"));
    assert_eq!(e.code(), "charge.cancelled");
}

/// A bank's token records payments and does nothing else; an operator's
/// may; an auditor's and an issuer's may not.
pub async fn who_may_record<S: Store + OpsStore + 'static>(
    h: &Harness<S>,
    _acquirer: &FakeAcquirer,
) {
    let (op, _) = h.operator();
    let token = |role: Role| Principal::Token {
        name: format!("{}-1", role.as_str()),
        role,
    };
    let charge = h.charge("passport-2020", "Асанов Айбек").await;
    h.clock.advance(Duration::hours(1));
    for role in [Role::Auditor, Role::Issuer] {
        let e = op
            .record_external_payment(
                &token(role),
                report(&charge, PaymentChannel::Elqr, &reference("E"), h),
            )
            .await
            .err()
            .unwrap_or_else(|| panic!("{role:?} MUST NOT record"));
        assert_eq!(e.code(), "auth.forbidden");
    }
    let bank = token(Role::Bank);
    let done = op
        .record_external_payment(
            &bank,
            report(&charge, PaymentChannel::Elqr, &reference("E"), h),
        )
        .await
        .unwrap_or_else(|e| panic!("a bank records: {e}"));
    assert_eq!(done.payment().recorded_by, "token:bank-1");
    assert!(
        op.external_duplicates(&bank).await.is_err(),
        "a bank reads nothing"
    );
    assert!(op.charge(&bank, charge.code.as_str()).await.is_err());
}

/// One `#[tokio::test]` per flow of [`crate::external_payments`], in a
/// module `external_payment_flows`, each on a store from `$make` (an
/// `async fn() -> Option<Arc<S>>` with `S: Store + OpsStore`; `None`
/// skips).
#[macro_export]
macro_rules! external_payment_flows {
    ($make:ident) => {
        $crate::external_payment_flows!(external_payment_flows, $make);
    };
    ($module:ident, $make:ident) => {
        mod $module {
            $crate::__external_flow!($make, paid_elsewhere_is_paid_once);
            $crate::__external_flow!($make, reports_are_checked);
            $crate::__external_flow!($make, a_card_payment_in_flight_is_given_back);
            $crate::__external_flow!($make, a_lost_card_answer_approved_later_is_given_back);
            $crate::__external_flow!($make, paid_by_card_then_elsewhere_is_flagged_and_resolved);
            $crate::__external_flow!($make, expired_and_cancelled_charges);
            $crate::__external_flow!($make, who_may_record);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __external_flow {
    ($make:ident, $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let Some(store) = super::$make().await else {
                return;
            };
            let (h, acquirer) = $crate::external_payments::harness(store);
            $crate::external_payments::$case(&h, &acquirer).await;
        }
    };
}
