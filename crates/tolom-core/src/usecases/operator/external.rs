//! Payments made elsewhere ([`crate::external`]): a bank, a terminal
//! network or the ELQR operator reports that a payer paid a code through
//! it, and tolom records it against the charge, so that the charge is paid
//! once whatever channel paid it.
//!
//! - **Recording** ([`Operator::record_external_payment`]): idempotent by
//!   `(channel, reference)`. The amount must be the charge's. An unpaid
//!   charge becomes paid (`charge.paid_externally`; the agency is notified
//!   with the channel); a charge already paid — by card, or by another
//!   channel — keeps its payment and the report is kept **flagged**
//!   (`charge.external_duplicate`, [`ExternalState::Duplicate`]) for
//!   operators: the money is at the other channel, which tolom cannot give
//!   back. A card payment in flight when the report arrives is not stopped:
//!   if the bank approves it, the approval is a duplicate and is reversed,
//!   else refunded ([`crate::usecases::duplicates`]).
//! - **Resolving** a flagged one ([`Operator::resolve_external`]): the
//!   channel gave the money back ([`ExternalState::Returned`]), or the card
//!   payment was refunded in full and the flagged payment pays the charge
//!   after all ([`ExternalState::Accepted`]).

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::access::{Permission, Principal};
use crate::charge::{Charge, ChargeStatus, NotPayable};
use crate::errors::{ExternalError, LookupError};
use crate::events::{Event, EventKind};
use crate::external::{self, ExternalPayment, ExternalState, PaymentChannel, MAX_NOTE_CHARS};
use crate::money::Money;
use crate::ports::{ExternalQuery, ExternalWrite, InvariantKind, RecordOutcome, StoreError};
use crate::usecases::ctx::Notes;
use crate::usecases::notices;

use super::{Operator, OperatorError};

/// How far in the future a reported time of payment may be: the channel's
/// clock and ours may differ a little.
pub const PAID_AT_SKEW: Duration = Duration::minutes(5);

/// How often a write that met a concurrent change of the charge is tried
/// again (each time after reading the charge anew).
const ATTEMPTS: usize = 4;

/// A channel's report of a payment of a code made through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalReport {
    /// The code paid, as the channel sent it.
    pub code: String,
    /// The channel (never [`PaymentChannel::Card`]).
    pub channel: PaymentChannel,
    /// The channel's reference of the payment.
    pub reference: String,
    /// What the payer paid.
    pub amount: Money,
    /// When the payer paid.
    pub paid_at: DateTime<Utc>,
}

/// What recording a payment made elsewhere did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "payment", rename_all = "snake_case")]
pub enum ExternalRecorded {
    /// Recorded now: [`ExternalState::Accepted`] (it pays the charge) or
    /// [`ExternalState::Duplicate`] (the charge was already paid: flagged).
    New(ExternalPayment),
    /// The channel reported this reference before with the same data: the
    /// payment as recorded then (nothing was written).
    Existing(ExternalPayment),
}

impl ExternalRecorded {
    /// The payment, new or existing.
    pub fn payment(&self) -> &ExternalPayment {
        match self {
            ExternalRecorded::New(p) | ExternalRecorded::Existing(p) => p,
        }
    }

    /// Whether it was recorded now.
    pub fn is_new(&self) -> bool {
        matches!(self, ExternalRecorded::New(_))
    }
}

/// Whether a write was refused because the charge changed under it: its
/// status (`Conflict`), or something paid it at the same moment (a store
/// that sees the second payer only at commit refuses it as an invariant).
fn paid_meanwhile(e: &StoreError) -> bool {
    matches!(e, StoreError::Conflict)
        || matches!(
            e.invariant_kind(),
            Some(InvariantKind::SecondPaidPayment | InvariantKind::ChargeAlreadyPaid)
        )
}

/// What differs between a stored payment and a report of its reference.
fn differences(stored: &ExternalPayment, charge: &Charge, report: &ExternalReport) -> String {
    let mut differs = Vec::new();
    if stored.charge_id != charge.id {
        differs.push("code");
    }
    if stored.amount != report.amount {
        differs.push("amount");
    }
    if stored.paid_at != report.paid_at {
        differs.push("paid_at");
    }
    differs.join(", ")
}

impl Operator {
    /// Records a payment of a code made through another channel
    /// ([`Permission::RecordExternalPayments`]: bank and operator tokens,
    /// the command line). See the module documentation for what happens to
    /// the charge and to a card payment racing it. Its events name `who`.
    ///
    /// Refused: an unknown or invalid code ([`LookupError`]); `card` as the
    /// channel, a bad reference, an amount that is not the charge's, a time
    /// of payment in the future (beyond [`PAID_AT_SKEW`]) or before the
    /// code was issued, a reference the channel reported before with other
    /// data, a cancelled charge, or a payment made after the charge expired
    /// ([`ExternalError`]).
    pub async fn record_external_payment(
        &self,
        who: &Principal,
        report: ExternalReport,
    ) -> Result<ExternalRecorded, OperatorError> {
        self.record_external_noted(who, report, &Notes::none())
            .await
    }

    pub(super) async fn record_external_noted(
        &self,
        who: &Principal,
        report: ExternalReport,
        notes: &Notes,
    ) -> Result<ExternalRecorded, OperatorError> {
        self.allow(who, Permission::RecordExternalPayments).await?;
        if !report.channel.is_external() {
            return Err(ExternalError::ChannelInvalid(report.channel.to_string()).into());
        }
        let reference =
            external::reference(&report.reference).ok_or(ExternalError::ReferenceInvalid)?;
        // Kept to the microsecond (what every store keeps), so that a
        // report sent again with nanoseconds is the same report.
        let report = ExternalReport {
            reference,
            paid_at: report.paid_at.trunc_subsecs(6),
            ..report
        };
        let code = self.parse_code(&report.code)?;
        let mut charge = self
            .charge_store
            .charge_by_code(&code)
            .await?
            .ok_or(OperatorError::Lookup(LookupError::NotFound))?;
        // The same report again is answered before anything else is
        // checked: a retry gets what the first report got.
        if let Some(stored) = self
            .external
            .external_payment_by_reference(report.channel, &report.reference)
            .await?
        {
            return self.reported_before(stored, &charge, &report);
        }
        if report.amount != charge.amount {
            return Err(ExternalError::AmountMismatch {
                due: charge.amount,
                paid: report.amount,
            }
            .into());
        }
        let now = self.ctx.now();
        if report.paid_at > now + PAID_AT_SKEW || report.paid_at < charge.issued_at {
            return Err(ExternalError::PaidAtInvalid(report.paid_at).into());
        }
        for _ in 0..ATTEMPTS {
            let state = match charge.status {
                ChargeStatus::Paid => ExternalState::Duplicate,
                ChargeStatus::Cancelled => {
                    return Err(ExternalError::NotPayable(NotPayable::Cancelled).into())
                }
                // Paid in time and reported later (a statement comes the
                // next day) pays even a charge marked expired since.
                ChargeStatus::Unpaid | ChargeStatus::Expired
                    if report.paid_at >= charge.expires_at =>
                {
                    return Err(ExternalError::NotPayable(NotPayable::Expired).into())
                }
                ChargeStatus::Unpaid | ChargeStatus::Expired => ExternalState::Accepted,
            };
            let now = self.ctx.now();
            let payment = ExternalPayment {
                id: self.ctx.new_id(),
                charge_id: charge.id,
                code: charge.code.clone(),
                service: charge.service.clone(),
                channel: report.channel,
                reference: report.reference.clone(),
                amount: report.amount,
                paid_at: report.paid_at,
                recorded_at: now.trunc_subsecs(6),
                recorded_by: who.actor(),
                state,
                resolved_at: None,
                resolution: None,
            };
            let write = self.external_write(who, payment, &charge, None, notes, now);
            match self.external.record_external_payment(&write).await {
                Ok(RecordOutcome::Recorded) => {
                    notes.mark_written();
                    return Ok(ExternalRecorded::New(write.payment));
                }
                Ok(RecordOutcome::Existing(stored)) => {
                    return self.reported_before(*stored, &charge, &report)
                }
                // The charge changed meanwhile (paid by card or by
                // another channel, expired, cancelled): decide again on
                // what it is now.
                Err(e) if paid_meanwhile(&e) => {
                    charge = self
                        .charge_store
                        .charge(charge.id)
                        .await?
                        .ok_or(OperatorError::Lookup(LookupError::NotFound))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// The answer to a reference reported before: the stored payment when
    /// the report is the same, a conflict when it is not.
    fn reported_before(
        &self,
        stored: ExternalPayment,
        charge: &Charge,
        report: &ExternalReport,
    ) -> Result<ExternalRecorded, OperatorError> {
        if stored.same_report(charge.id, report.amount, report.paid_at) {
            return Ok(ExternalRecorded::Existing(stored));
        }
        Err(ExternalError::ReferenceConflict {
            channel: report.channel.to_string(),
            reference: report.reference.clone(),
            differs: differences(&stored, charge, report),
            code: stored.code.to_string(),
        }
        .into())
    }

    /// The write of a payment in its (new) state: its event, the agency
    /// notice when it pays the charge, and the request's notes.
    fn external_write(
        &self,
        who: &Principal,
        payment: ExternalPayment,
        charge: &Charge,
        from: Option<ExternalState>,
        notes: &Notes,
        now: DateTime<Utc>,
    ) -> ExternalWrite {
        let kind = match payment.state {
            ExternalState::Accepted => EventKind::ChargePaidExternally,
            ExternalState::Duplicate => EventKind::ChargeExternalDuplicate,
            ExternalState::Returned => EventKind::ChargeExternalReturned,
        };
        let event = Event {
            id: self.ctx.new_id(),
            at: now,
            charge_id: payment.charge_id,
            payment_id: Some(payment.id),
            kind,
            actor: who.actor(),
            data: json!({
                "channel": payment.channel,
                "reference": payment.reference,
                "amount": payment.amount,
                "paid_at": payment.paid_at,
                "from": from.map(|s| s.as_str()),
                "resolution": payment.resolution,
            }),
        };
        let outbox = match payment.state {
            ExternalState::Accepted => notices::external_notice(&self.ctx, &payment, charge, now)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        ExternalWrite {
            payment,
            events: vec![event],
            outbox,
            notes: notes.pending().to_vec(),
        }
    }

    /// Payments made elsewhere matching a query, in the order recorded.
    pub async fn external_payments(
        &self,
        who: &Principal,
        query: &ExternalQuery,
    ) -> Result<Vec<ExternalPayment>, OperatorError> {
        self.allow(who, Permission::ReadPayments).await?;
        Ok(self.external.list_external_payments(query).await?)
    }

    /// The flagged payments made elsewhere (`external_duplicate`: reported
    /// for a charge that was already paid), oldest first: what operators
    /// must resolve with the channel.
    pub async fn external_duplicates(
        &self,
        who: &Principal,
    ) -> Result<Vec<ExternalPayment>, OperatorError> {
        self.external_payments(
            who,
            &ExternalQuery {
                states: vec![ExternalState::Duplicate],
                ..ExternalQuery::default()
            },
        )
        .await
    }

    /// Resolves a flagged payment made elsewhere ([`Permission::Refund`]:
    /// a decision about money): `to` is [`ExternalState::Returned`] (the
    /// channel gave the money back to the payer) or
    /// [`ExternalState::Accepted`] (it pays the charge after all — allowed
    /// once the charge is no longer paid, i.e. the card payment that paid
    /// it was refunded in full; the agency is notified). `note` says what
    /// was done (1 to 500 characters).
    pub async fn resolve_external(
        &self,
        who: &Principal,
        id: Uuid,
        to: ExternalState,
        note: &str,
    ) -> Result<ExternalPayment, OperatorError> {
        self.resolve_external_noted(who, id, to, note, &Notes::none())
            .await
    }

    pub(super) async fn resolve_external_noted(
        &self,
        who: &Principal,
        id: Uuid,
        to: ExternalState,
        note: &str,
        notes: &Notes,
    ) -> Result<ExternalPayment, OperatorError> {
        self.allow(who, Permission::Refund).await?;
        let note = note.trim();
        if note.is_empty() || note.chars().count() > MAX_NOTE_CHARS {
            return Err(OperatorError::Invalid(format!(
                "a resolution needs a note of 1 to {MAX_NOTE_CHARS} characters"
            )));
        }
        if to == ExternalState::Duplicate {
            return Err(OperatorError::Invalid(
                "a flagged payment is resolved as returned or accepted".into(),
            ));
        }
        for _ in 0..ATTEMPTS {
            let stored = self
                .external
                .external_payment(id)
                .await?
                .ok_or(ExternalError::NotFound)?;
            if !stored.state.may_become(to) {
                return Err(ExternalError::NotDuplicate(stored.state).into());
            }
            let charge = self
                .charge_store
                .charge(stored.charge_id)
                .await?
                .ok_or(OperatorError::Lookup(LookupError::NotFound))?;
            if to == ExternalState::Accepted {
                match charge.status {
                    ChargeStatus::Paid => return Err(ExternalError::ChargeStillPaid.into()),
                    ChargeStatus::Cancelled => {
                        return Err(ExternalError::NotPayable(NotPayable::Cancelled).into())
                    }
                    ChargeStatus::Unpaid | ChargeStatus::Expired => {}
                }
            }
            let now = self.ctx.now();
            let from = stored.state;
            let payment = ExternalPayment {
                state: to,
                resolved_at: Some(now.trunc_subsecs(6)),
                resolution: Some(note.to_string()),
                ..stored
            };
            let write = self.external_write(who, payment, &charge, Some(from), notes, now);
            match self.external.update_external_payment(from, &write).await {
                Ok(()) => {
                    notes.mark_written();
                    return Ok(write.payment);
                }
                Err(e) if paid_meanwhile(&e) => continue,
                Err(StoreError::NotFound) => return Err(ExternalError::NotFound.into()),
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }
}
