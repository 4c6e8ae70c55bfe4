//! The outbox messages a success or a refund announces: the receipt e-mail
//! and the agency notice; and the agency notice of a payment made
//! elsewhere.

use chrono::{DateTime, Utc};

use crate::charge::Charge;
use crate::external::{ExternalPayment, PaymentChannel};
use crate::money::Money;
use crate::outbox::{AgencyEvent, AgencyEventKind, OutboxMessage, OutboxPayload};
use crate::payment::Payment;

use super::ctx::Ctx;

/// The messages a success sends: the receipt e-mail (when the payer gave an
/// address and e-mails are on) and the agency notice (when on).
pub(crate) fn success_messages(
    ctx: &Ctx,
    payment: &Payment,
    charge: &Charge,
    now: DateTime<Utc>,
) -> Vec<OutboxMessage> {
    let mut out = Vec::with_capacity(2);
    if ctx.config.receipt_emails {
        if let Some(contact) = payment.contact() {
            out.push(OutboxMessage::new(
                ctx.new_id(),
                OutboxPayload::ReceiptEmail {
                    payment_id: payment.id(),
                    to: contact.email.clone(),
                    language: payment.language(),
                },
                now,
            ));
        }
    }
    if ctx.config.agency_notices {
        out.push(agency_notice(
            ctx,
            payment,
            charge,
            AgencyEventKind::PaymentSucceeded,
            now,
        ));
    }
    out
}

/// A notice to the agency that issued the charge.
pub(crate) fn agency_notice(
    ctx: &Ctx,
    payment: &Payment,
    charge: &Charge,
    kind: AgencyEventKind,
    now: DateTime<Utc>,
) -> OutboxMessage {
    OutboxMessage::new(
        ctx.new_id(),
        OutboxPayload::AgencyNotice(AgencyEvent {
            event_id: ctx.new_id(),
            kind,
            occurred_at: now,
            code: payment.code().to_string(),
            agency_ref: charge.agency_ref.clone(),
            service: payment.service().clone(),
            payment_id: payment.id(),
            receipt_number: payment.receipt_number().map(str::to_string),
            amount: payment.amount(),
            refunded: payment.refunded(),
            channel: PaymentChannel::Card,
        }),
        now,
    )
}

/// The notice to the agency that a payment made elsewhere paid its charge
/// (`payment.succeeded` with the channel; the receipt is the channel's, so
/// its number is the channel's reference). `None` when agency notices are
/// off.
pub(crate) fn external_notice(
    ctx: &Ctx,
    payment: &ExternalPayment,
    charge: &Charge,
    now: DateTime<Utc>,
) -> Option<OutboxMessage> {
    ctx.config.agency_notices.then(|| {
        OutboxMessage::new(
            ctx.new_id(),
            OutboxPayload::AgencyNotice(AgencyEvent {
                event_id: ctx.new_id(),
                kind: AgencyEventKind::PaymentSucceeded,
                occurred_at: now,
                code: payment.code.to_string(),
                agency_ref: charge.agency_ref.clone(),
                service: payment.service.clone(),
                payment_id: payment.id,
                receipt_number: Some(payment.reference.clone()),
                amount: payment.amount,
                refunded: Money::zero(payment.amount.currency()),
                channel: payment.channel,
            }),
            now,
        )
    })
}
