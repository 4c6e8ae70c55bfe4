//! Metrics by decoration: the acquirer and the store the use cases get are
//! wrapped here, in the composition root, so that neither the core nor an
//! adapter knows about metrics.
//!
//! - [`MeteredAcquirer`]: every call's duration
//!   (`tolom_acquirer_call_duration_seconds{call}`) and its errors by kind
//!   (`tolom_acquirer_errors_total{call, kind}`: `not_sent`, `unknown`,
//!   `rejected`).
//! - [`MeteredStore`]: payments by outcome, counted when the transition is
//!   committed (`tolom_payments_total{outcome}`), payments started
//!   (`tolom_payments_started_total`), refunds by outcome
//!   (`tolom_refunds_total{outcome}`) and payments made elsewhere by
//!   channel and state (`tolom_external_payments_total{channel, state}`:
//!   `accepted` pays its charge, `duplicate` is flagged for operators).
//!   Counting at the commit counts every
//!   path once — the portal, the API, reconciliation, expiry, late
//!   approvals — and never a replayed answer or a write that lost a race.
//!
//! Both forward every call unchanged; they cost one virtual call and, for
//! the store, a look at the events of each payment update.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tolom_core::audit::AuditNote;
use tolom_core::charge::{Charge, ChargeStatus};
use tolom_core::code::PaymentCode;
use tolom_core::events::{Event, EventKind};
use tolom_core::external::{ExternalPayment, ExternalState, PaymentChannel};
use tolom_core::money::Money;
use tolom_core::outbox::{OutboxMessage, OutboxStatus};
use tolom_core::payment::{ChallengeResponse, Payment, PaymentState, Refund, RefundState};
use tolom_core::ports::{
    Acquirer, AcquirerError, AcquirerErrorKind, AcquirerOutcome, ChargeQuery, ChargeStore,
    CreateOutcome, EventLog, ExternalPaymentStore, ExternalQuery, ExternalWrite, OrderStatus,
    OutboxStore, PaymentQuery, PaymentStore, PaymentUpdate, PurchaseRequest, RecordOutcome,
    RefundOutcome, Store, StoreError, TermsStore,
};
use tolom_core::terms::TermsEdition;
use uuid::Uuid;

/// An acquirer that measures the one it wraps.
pub struct MeteredAcquirer {
    inner: Arc<dyn Acquirer>,
}

impl MeteredAcquirer {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Acquirer>) -> MeteredAcquirer {
        MeteredAcquirer { inner }
    }
}

/// The metric label of an acquirer error's kind.
pub fn error_kind_label(kind: AcquirerErrorKind) -> &'static str {
    match kind {
        AcquirerErrorKind::NotSent => "not_sent",
        AcquirerErrorKind::Unknown => "unknown",
        AcquirerErrorKind::Rejected => "rejected",
    }
}

async fn timed<T>(
    call: &'static str,
    f: impl Future<Output = Result<T, AcquirerError>>,
) -> Result<T, AcquirerError> {
    let started = Instant::now();
    let result = f.await;
    metrics::histogram!("tolom_acquirer_call_duration_seconds", "call" => call)
        .record(started.elapsed().as_secs_f64());
    if let Err(e) = &result {
        metrics::counter!(
            "tolom_acquirer_errors_total",
            "call" => call,
            "kind" => error_kind_label(e.kind)
        )
        .increment(1);
    }
    result
}

#[async_trait]
impl Acquirer for MeteredAcquirer {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn purchase<'a>(
        &self,
        request: PurchaseRequest<'a>,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        timed("purchase", self.inner.purchase(request)).await
    }

    async fn complete_challenge(
        &self,
        order_number: &str,
        response: &ChallengeResponse,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        timed(
            "complete_challenge",
            self.inner.complete_challenge(order_number, response),
        )
        .await
    }

    async fn status(&self, order_number: &str) -> Result<OrderStatus, AcquirerError> {
        timed("status", self.inner.status(order_number)).await
    }

    async fn refund(
        &self,
        order_number: &str,
        refund_id: &str,
        amount: Money,
    ) -> Result<RefundOutcome, AcquirerError> {
        timed("refund", self.inner.refund(order_number, refund_id, amount)).await
    }

    async fn reverse(&self, order_number: &str) -> Result<(), AcquirerError> {
        timed("reverse", self.inner.reverse(order_number)).await
    }

    async fn cancel(&self, order_number: &str) -> Result<(), AcquirerError> {
        timed("cancel", self.inner.cancel(order_number)).await
    }
}

/// A store that counts the payment outcomes it commits.
pub struct MeteredStore {
    inner: Arc<dyn Store>,
}

impl MeteredStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>) -> MeteredStore {
        MeteredStore { inner }
    }
}

/// The outcome label of a committed payment update: the payment's new state
/// when the update is a settling transition (its event says so), else
/// `None` (a refund reservation, a challenge answer, ...).
pub fn outcome_label(update: &PaymentUpdate) -> Option<&'static str> {
    let settles = update.events.iter().any(|e| {
        matches!(
            e.kind,
            EventKind::PaymentSucceeded
                | EventKind::PaymentDeclined
                | EventKind::PaymentFailed
                | EventKind::PaymentExpired
                | EventKind::PaymentUnknown
                | EventKind::PaymentActionRequired
                | EventKind::PaymentLateApproval
        )
    });
    if !settles {
        return None;
    }
    Some(match update.payment.state() {
        PaymentState::Succeeded => "succeeded",
        PaymentState::Declined => "declined",
        PaymentState::Failed => "failed",
        PaymentState::Expired => "expired",
        PaymentState::Unknown => "unknown",
        PaymentState::ActionRequired => "action_required",
        _ => return None,
    })
}

fn record(update: &PaymentUpdate) {
    if let Some(outcome) = outcome_label(update) {
        metrics::counter!("tolom_payments_total", "outcome" => outcome).increment(1);
    }
    for e in &update.events {
        let refund = match e.kind {
            EventKind::RefundSucceeded => "succeeded",
            EventKind::RefundFailed => "failed",
            _ => continue,
        };
        metrics::counter!("tolom_refunds_total", "outcome" => refund).increment(1);
    }
}

#[async_trait]
impl ChargeStore for MeteredStore {
    async fn insert_charge(
        &self,
        charge: &Charge,
        event: &Event,
        notes: &[AuditNote],
    ) -> Result<(), StoreError> {
        self.inner.insert_charge(charge, event, notes).await
    }
    async fn charge_by_agency_ref(
        &self,
        service: &str,
        agency_ref: &str,
    ) -> Result<Option<Charge>, StoreError> {
        self.inner.charge_by_agency_ref(service, agency_ref).await
    }
    async fn charge_by_code(&self, code: &PaymentCode) -> Result<Option<Charge>, StoreError> {
        self.inner.charge_by_code(code).await
    }
    async fn charge(&self, id: Uuid) -> Result<Option<Charge>, StoreError> {
        self.inner.charge(id).await
    }
    async fn set_charge_status(
        &self,
        id: Uuid,
        from: ChargeStatus,
        to: ChargeStatus,
        event: &Event,
        notes: &[AuditNote],
    ) -> Result<(), StoreError> {
        self.inner
            .set_charge_status(id, from, to, event, notes)
            .await
    }
    async fn list_charges(&self, query: &ChargeQuery) -> Result<Vec<Charge>, StoreError> {
        self.inner.list_charges(query).await
    }
}

#[async_trait]
impl PaymentStore for MeteredStore {
    async fn create_payment(
        &self,
        payment: &Payment,
        events: &[Event],
    ) -> Result<CreateOutcome, StoreError> {
        let outcome = self.inner.create_payment(payment, events).await?;
        if matches!(outcome, CreateOutcome::Created) {
            metrics::counter!("tolom_payments_started_total").increment(1);
        }
        Ok(outcome)
    }
    async fn payment(&self, id: Uuid) -> Result<Option<Payment>, StoreError> {
        self.inner.payment(id).await
    }
    async fn payment_by_receipt(&self, number: &str) -> Result<Option<Payment>, StoreError> {
        self.inner.payment_by_receipt(number).await
    }
    async fn update_payment(&self, update: &PaymentUpdate) -> Result<(), StoreError> {
        self.inner.update_payment(update).await?;
        record(update);
        Ok(())
    }
    async fn list_payments(&self, query: &PaymentQuery) -> Result<Vec<Payment>, StoreError> {
        self.inner.list_payments(query).await
    }
    async fn refund_by_key(
        &self,
        payment_id: Uuid,
        key: &str,
    ) -> Result<Option<Refund>, StoreError> {
        self.inner.refund_by_key(payment_id, key).await
    }
    async fn refunds_of(&self, payment_id: Uuid) -> Result<Vec<Refund>, StoreError> {
        self.inner.refunds_of(payment_id).await
    }
    async fn refunds_in_state(
        &self,
        state: RefundState,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        self.inner.refunds_in_state(state, limit).await
    }
}

#[async_trait]
impl OutboxStore for MeteredStore {
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
        worker: &str,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        self.inner
            .claim_outbox(now, lease_until, limit, worker)
            .await
    }
    async fn outbox_delivered(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.inner.outbox_delivered(id, now).await
    }
    async fn outbox_delivered_many(
        &self,
        ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.outbox_delivered_many(ids, now).await
    }
    async fn outbox_failed(
        &self,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.inner.outbox_failed(id, error, retry_at).await
    }
    async fn outbox_list(
        &self,
        status: Option<OutboxStatus>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        self.inner.outbox_list(status, limit).await
    }
    async fn outbox_retry(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        note: &AuditNote,
    ) -> Result<(), StoreError> {
        self.inner.outbox_retry(id, now, note).await
    }
}

#[async_trait]
impl ExternalPaymentStore for MeteredStore {
    async fn record_external_payment(
        &self,
        write: &ExternalWrite,
    ) -> Result<RecordOutcome, StoreError> {
        let outcome = self.inner.record_external_payment(write).await?;
        if outcome == RecordOutcome::Recorded {
            metrics::counter!(
                "tolom_external_payments_total",
                "channel" => write.payment.channel.as_str(),
                "state" => write.payment.state.as_str()
            )
            .increment(1);
        }
        Ok(outcome)
    }
    async fn update_external_payment(
        &self,
        from: ExternalState,
        write: &ExternalWrite,
    ) -> Result<(), StoreError> {
        self.inner.update_external_payment(from, write).await
    }
    async fn external_payment(&self, id: Uuid) -> Result<Option<ExternalPayment>, StoreError> {
        self.inner.external_payment(id).await
    }
    async fn external_payment_by_reference(
        &self,
        channel: PaymentChannel,
        reference: &str,
    ) -> Result<Option<ExternalPayment>, StoreError> {
        self.inner
            .external_payment_by_reference(channel, reference)
            .await
    }
    async fn list_external_payments(
        &self,
        query: &ExternalQuery,
    ) -> Result<Vec<ExternalPayment>, StoreError> {
        self.inner.list_external_payments(query).await
    }
}

#[async_trait]
impl EventLog for MeteredStore {
    async fn append_event(&self, event: &Event) -> Result<(), StoreError> {
        self.inner.append_event(event).await
    }
    async fn events_of(&self, id: Uuid) -> Result<Vec<Event>, StoreError> {
        self.inner.events_of(id).await
    }
}

#[async_trait]
impl TermsStore for MeteredStore {
    async fn publish_terms(
        &self,
        edition: &TermsEdition,
        note: &AuditNote,
    ) -> Result<(), StoreError> {
        self.inner.publish_terms(edition, note).await
    }
    async fn terms_editions(&self) -> Result<Vec<TermsEdition>, StoreError> {
        self.inner.terms_editions().await
    }
}
