//! The operator's actions: what the `tolom` command line and the admin API
//! do, as one use case that takes the acting [`Principal`].
//!
//! Every action checks the principal's [`Permission`] first (a refusal is
//! itself recorded), and leaves its audit entry **in the same transaction
//! as the action**: through the actor of the events it writes (issue,
//! cancel, refund) or through the [`AuditNote`] the store writes with it
//! (tokens, retention, outbox retries, agreement editions). Reads by an API
//! token are recorded by the admin API with [`Operator::record`].
//!
//! Drivers (the command line, the admin API) are thin mappings onto these
//! methods; none of them reaches a store.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::access::{hash_token, Permission, Principal};
use crate::audit::{AuditEntry, AuditNote};
use crate::charge::Charge;
use crate::code::PaymentCode;
use crate::errors::{ExternalError, IssueError, LookupError, QueryError, RefundError};
use crate::events::Event;
use crate::i18n::{ErrorCode, Text};
use crate::money::Money;
use crate::outbox::{OutboxMessage, OutboxStatus};
use crate::payment::{Payment, PaymentState, Refund};
use crate::ports::{
    ChargeStore, EventLog, ExternalPaymentStore, InvariantKind, OpsStore, OutboxStore,
    PaymentQuery, PaymentStore, StoreError,
};
use crate::terms::TermsEdition;

use super::charges::{Charges, IssueCharge, Issued};
use super::ctx::{Ctx, Notes};
use super::duplicates::Duplicates;
use super::reconcile::{ExpireReport, ReconcileReport, Reconciler};
use super::refunds::Refunds;
use super::terms::Terms;

mod audit;
mod duplicates;
mod external;
mod personal_data;
mod reports;
mod requests;
mod tokens;

pub use audit::{AuditReport, CheckpointCheck, Checkpointing, SEAL_BATCH};
pub use duplicates::{DuplicateReturn, OpenDuplicate};
pub use external::{ExternalRecorded, ExternalReport, PAID_AT_SKEW};
pub use personal_data::{SubjectExport, SubjectPayment};
pub use reports::{report_csv, ReportRow, PAID_STATES};
pub use requests::{Recorded, RequestRecord};
pub use tokens::NewToken;

/// Why an operator action was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OperatorError {
    /// No credentials, or unknown or revoked ones.
    #[error("not authenticated")]
    Unauthenticated,
    /// The principal may not do this.
    #[error("{actor} may not do this ({permission:?})")]
    Forbidden {
        /// Who asked.
        actor: String,
        /// What they lacked.
        permission: Permission,
    },
    /// The request is not valid (details for the operator).
    #[error("{0}")]
    Invalid(String),
    /// Issuing or cancelling a charge was refused.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// The code is not valid or not known.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// The refund was refused or failed.
    #[error(transparent)]
    Refund(#[from] RefundError),
    /// Recording or resolving a payment made elsewhere was refused.
    #[error(transparent)]
    External(#[from] ExternalError),
    /// No such payment.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A token of this name exists.
    #[error("a token named {0} exists")]
    TokenExists(String),
    /// No active token of this name.
    #[error("no active token named {0}")]
    TokenNotFound(String),
    /// The agreement edition was already published.
    #[error("edition {0} was already published")]
    EditionExists(String),
    /// The outbox message is not a dead letter.
    #[error("no dead message {0}")]
    NotDead(Uuid),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for OperatorError {
    fn text(&self) -> Text {
        match self {
            OperatorError::Unauthenticated => Text::AuthUnauthenticated,
            OperatorError::Forbidden { .. } => Text::AuthForbidden,
            OperatorError::Invalid(_) => Text::RequestInvalid,
            OperatorError::Issue(e) => e.text(),
            OperatorError::Lookup(e) => e.text(),
            OperatorError::Refund(e) => e.text(),
            OperatorError::External(e) => e.text(),
            OperatorError::Query(e) => e.text(),
            OperatorError::TokenExists(_) => Text::TokenExists,
            OperatorError::TokenNotFound(_) => Text::TokenNotFound,
            OperatorError::EditionExists(_) => Text::TermsExists,
            OperatorError::NotDead(_) => Text::OutboxNotDead,
            OperatorError::Store(e) => crate::errors::store_text(e),
        }
    }
}

/// The actor of what callers without valid credentials asked.
pub const ANONYMOUS_ACTOR: &str = "anonymous";

/// A charge with its payments, as an operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ChargeDetails {
    /// The charge (full payer name).
    pub charge: Charge,
    /// Its payments, oldest first.
    pub payments: Vec<Payment>,
    /// Its payments made elsewhere (a bank's app, a terminal, ELQR), in
    /// the order recorded.
    pub external: Vec<crate::external::ExternalPayment>,
}

/// A payment with its refunds and events, as an operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentDetails {
    /// The payment.
    pub payment: Payment,
    /// Its refunds.
    pub refunds: Vec<Refund>,
    /// Its events.
    pub events: Vec<Event>,
}

/// Counts of outbox messages by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    /// Waiting for delivery.
    pub pending: u64,
    /// Delivered.
    pub delivered: u64,
    /// Dead letters.
    pub dead: u64,
}

/// Work waiting and in flight, as the background jobs publish it (metrics
/// gauges): see [`Operator::backlog`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Backlog {
    /// Outbox messages waiting for delivery.
    pub outbox_pending: u64,
    /// Seconds since the oldest of them was written (`None`: none waits).
    pub oldest_pending_secs: Option<u64>,
    /// Dead letters (delivery given up; an operator retries them).
    pub outbox_dead: u64,
    /// Payments in flight: created, authorizing, waiting for the payer's
    /// confirmation, or with an unknown outcome.
    pub payments_in_flight: u64,
    /// Duplicate approvals (cards charged twice for one code) whose money
    /// is not back yet: reversal or refund retried with back-off.
    pub duplicates_open: u64,
}

/// The operator's actions. Get it from [`crate::Tolom::operator`].
pub struct Operator {
    pub(crate) charges: Arc<Charges>,
    pub(crate) refunds: Arc<Refunds>,
    pub(crate) duplicates: Arc<Duplicates>,
    pub(crate) reconciler: Arc<Reconciler>,
    pub(crate) terms: Arc<Terms>,
    pub(crate) charge_store: Arc<dyn ChargeStore>,
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) external: Arc<dyn ExternalPaymentStore>,
    pub(crate) events: Arc<dyn EventLog>,
    pub(crate) outbox: Arc<dyn OutboxStore>,
    pub(crate) ops: Arc<dyn OpsStore>,
    pub(crate) ctx: Ctx,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator").finish_non_exhaustive()
    }
}

impl Operator {
    /// Refuses (and records the refusal) unless `who` may do `permission`.
    async fn allow(&self, who: &Principal, permission: Permission) -> Result<(), OperatorError> {
        if who.may(permission) {
            return Ok(());
        }
        self.ops
            .append_audit(&AuditNote::new(
                self.ctx.now(),
                who.actor(),
                "auth.forbidden",
                "permission",
                json!({"permission": permission}),
            ))
            .await?;
        Err(OperatorError::Forbidden {
            actor: who.actor(),
            permission,
        })
    }

    fn note(
        &self,
        who: &Principal,
        action: &str,
        subject: &str,
        data: serde_json::Value,
    ) -> AuditNote {
        AuditNote::new(self.ctx.now(), who.actor(), action, subject, data)
    }

    /// The principal of an admin API bearer secret. An unknown or revoked
    /// secret is refused and the failed attempt recorded (with the first 8
    /// hex digits of the secret's hash, never the secret). Every failure is
    /// recorded: a caller that faces the network bounds what it records
    /// with [`Operator::identify`] and [`Operator::record_anonymous`]
    /// instead (the admin API does).
    pub async fn authenticate(&self, secret: &str) -> Result<Principal, OperatorError> {
        match self.identify(secret).await? {
            Some(principal) => Ok(principal),
            None => {
                let hash = hash_token(secret.trim());
                self.record_anonymous("auth.failed", "token", json!({"hash_prefix": &hash[..8]}))
                    .await?;
                Err(OperatorError::Unauthenticated)
            }
        }
    }

    /// The principal of an admin API bearer secret, `None` for an unknown
    /// or revoked one — **without** recording the refusal: the caller
    /// records it (with [`Operator::record_anonymous`]), so that it can
    /// bound how many refusals a flood of wrong secrets writes.
    pub async fn identify(&self, secret: &str) -> Result<Option<Principal>, OperatorError> {
        let hash = hash_token(secret.trim());
        Ok(match self.ops.token_by_hash(&hash).await? {
            Some(token) if token.revoked_at.is_none() => Some(Principal::token(&token)),
            _ => None,
        })
    }

    /// Records what a caller without valid credentials asked (actor
    /// `anonymous`), e.g. the admin API's `admin.auth_failed`. `data` must
    /// hold no secret.
    pub async fn record_anonymous(
        &self,
        action: &str,
        subject: &str,
        data: serde_json::Value,
    ) -> Result<(), OperatorError> {
        self.ops
            .append_audit(&AuditNote::new(
                self.ctx.now(),
                ANONYMOUS_ACTOR,
                action,
                subject,
                data,
            ))
            .await?;
        Ok(())
    }

    /// Records what an API caller asked and got (`admin.*` entries: the
    /// action, the subject, the HTTP status). Actions that change something
    /// are recorded by the action itself in its own transaction as well.
    pub async fn record(
        &self,
        who: &Principal,
        action: &str,
        subject: &str,
        data: serde_json::Value,
    ) -> Result<(), OperatorError> {
        self.ops
            .append_audit(&self.note(who, action, subject, data))
            .await?;
        Ok(())
    }

    fn parse_code(&self, text: &str) -> Result<PaymentCode, OperatorError> {
        self.ctx
            .config
            .code_format
            .parse(text)
            .map_err(|e| OperatorError::Lookup(LookupError::Code(e)))
    }

    // -- charges ------------------------------------------------------------

    /// Issues a charge; its `charge.issued` event names `who`. Idempotent
    /// by agency reference: the same request again gets the charge issued
    /// the first time, the same reference with other data is refused
    /// ([`IssueError::AgencyRefConflict`]). See [`Operator::issue_once`]
    /// to tell the two apart.
    pub async fn issue(&self, who: &Principal, req: IssueCharge) -> Result<Charge, OperatorError> {
        Ok(self.issue_once(who, req).await?.into_charge())
    }

    /// Issues a charge, telling whether it is new or the one its agency
    /// reference was issued with before ([`Issued`]); what `tolom codes
    /// import` does for each row.
    pub async fn issue_once(
        &self,
        who: &Principal,
        req: IssueCharge,
    ) -> Result<Issued, OperatorError> {
        self.issue_noted(who, req, &Notes::none()).await
    }

    async fn issue_noted(
        &self,
        who: &Principal,
        req: IssueCharge,
        notes: &Notes,
    ) -> Result<Issued, OperatorError> {
        self.allow(who, Permission::IssueCharges).await?;
        Ok(self.charges.issue(req, &who.actor(), notes).await?)
    }

    /// Cancels an unpaid charge; its `charge.cancelled` event names `who`.
    pub async fn cancel(&self, who: &Principal, code: &str) -> Result<Charge, OperatorError> {
        self.cancel_noted(who, code, &Notes::none()).await
    }

    async fn cancel_noted(
        &self,
        who: &Principal,
        code: &str,
        notes: &Notes,
    ) -> Result<Charge, OperatorError> {
        self.allow(who, Permission::CancelCharges).await?;
        let code = self.parse_code(code)?;
        Ok(self.charges.cancel(&code, &who.actor(), notes).await?)
    }

    /// A charge by code, with its payments (and those made elsewhere).
    pub async fn charge(
        &self,
        who: &Principal,
        code: &str,
    ) -> Result<ChargeDetails, OperatorError> {
        self.allow(who, Permission::ReadCharges).await?;
        let code = self.parse_code(code)?;
        let charge = self
            .charge_store
            .charge_by_code(&code)
            .await?
            .ok_or(OperatorError::Lookup(LookupError::NotFound))?;
        let payments = self
            .payments
            .list_payments(&PaymentQuery {
                charge_id: Some(charge.id),
                ..PaymentQuery::default()
            })
            .await?;
        let external = self
            .external
            .list_external_payments(&crate::ports::ExternalQuery {
                charge_id: Some(charge.id),
                ..crate::ports::ExternalQuery::default()
            })
            .await?;
        Ok(ChargeDetails {
            charge,
            payments,
            external,
        })
    }

    // -- payments -----------------------------------------------------------

    /// Payments matching a query, oldest first.
    pub async fn payments(
        &self,
        who: &Principal,
        query: &PaymentQuery,
    ) -> Result<Vec<Payment>, OperatorError> {
        self.allow(who, Permission::ReadPayments).await?;
        Ok(self.payments.list_payments(query).await?)
    }

    /// A payment with its refunds and events.
    pub async fn payment(
        &self,
        who: &Principal,
        id: Uuid,
    ) -> Result<PaymentDetails, OperatorError> {
        self.allow(who, Permission::ReadPayments).await?;
        let payment = self
            .payments
            .payment(id)
            .await?
            .ok_or(OperatorError::Query(QueryError::NotFound))?;
        Ok(PaymentDetails {
            refunds: self.payments.refunds_of(id).await?,
            events: self.events.events_of(id).await?,
            payment,
        })
    }

    /// Refunds `amount` (everything left when `None`) of a payment; the
    /// `refund.requested` event, written with the reservation, names `who`.
    pub async fn refund(
        &self,
        who: &Principal,
        payment_id: Uuid,
        amount: Option<Money>,
        reason: &str,
        idempotency_key: &str,
    ) -> Result<Refund, OperatorError> {
        self.refund_noted(
            who,
            payment_id,
            amount,
            reason,
            idempotency_key,
            &Notes::none(),
        )
        .await
    }

    async fn refund_noted(
        &self,
        who: &Principal,
        payment_id: Uuid,
        amount: Option<Money>,
        reason: &str,
        idempotency_key: &str,
        notes: &Notes,
    ) -> Result<Refund, OperatorError> {
        self.allow(who, Permission::Refund).await?;
        Ok(self
            .refunds
            .refund_noted(
                payment_id,
                amount,
                reason,
                idempotency_key,
                &who.actor(),
                notes,
            )
            .await?)
    }

    /// Runs reconciliation now.
    pub async fn reconcile(&self, who: &Principal) -> Result<ReconcileReport, OperatorError> {
        self.allow(who, Permission::Reconcile).await?;
        Ok(self.reconciler.reconcile().await?)
    }

    /// Runs expiry now.
    pub async fn expire(&self, who: &Principal) -> Result<ExpireReport, OperatorError> {
        self.allow(who, Permission::Reconcile).await?;
        Ok(self.reconciler.expire_stale().await?)
    }

    // -- outbox -------------------------------------------------------------

    /// Outbox messages, newest first, optionally in one status (0 = no
    /// limit).
    pub async fn outbox(
        &self,
        who: &Principal,
        status: Option<OutboxStatus>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, OperatorError> {
        self.allow(who, Permission::ManageOutbox).await?;
        Ok(self.outbox.outbox_list(status, limit).await?)
    }

    /// How many messages are pending, delivered and dead.
    pub async fn outbox_counts(&self, who: &Principal) -> Result<OutboxCounts, OperatorError> {
        self.allow(who, Permission::ManageOutbox).await?;
        let mut counts = OutboxCounts::default();
        for m in self.outbox.outbox_list(None, 0).await? {
            match m.status {
                OutboxStatus::Pending => counts.pending += 1,
                OutboxStatus::Delivered => counts.delivered += 1,
                OutboxStatus::Dead => counts.dead += 1,
            }
        }
        Ok(counts)
    }

    /// What waits and what is in flight, for metrics: pending outbox
    /// messages and the age of the oldest, dead letters, payments in
    /// flight. Needs [`Permission::ReadMetrics`].
    ///
    /// Cost: four reads through the storage ports — the pending and the
    /// dead outbox messages, the payments in flight and the open
    /// duplicates, whole rows — so it grows with those counts (small on a
    /// healthy portal: pending messages are delivered within a round,
    /// payments settle within minutes, duplicates are rare).
    pub async fn backlog(&self, who: &Principal) -> Result<Backlog, OperatorError> {
        self.allow(who, Permission::ReadMetrics).await?;
        let pending = self
            .outbox
            .outbox_list(Some(OutboxStatus::Pending), 0)
            .await?;
        let dead = self.outbox.outbox_list(Some(OutboxStatus::Dead), 0).await?;
        let in_flight = self
            .payments
            .list_payments(&PaymentQuery {
                states: PaymentState::IN_FLIGHT.to_vec(),
                ..PaymentQuery::default()
            })
            .await?;
        let duplicates = self
            .payments
            .list_payments(&PaymentQuery {
                states: vec![PaymentState::Duplicate],
                ..PaymentQuery::default()
            })
            .await?;
        let now = self.ctx.now();
        Ok(Backlog {
            duplicates_open: duplicates.len() as u64,
            outbox_pending: pending.len() as u64,
            oldest_pending_secs: pending
                .iter()
                .map(|m| m.created_at)
                .min()
                .map(|t| (now - t).num_seconds().max(0) as u64),
            outbox_dead: dead.len() as u64,
            payments_in_flight: in_flight.len() as u64,
        })
    }

    /// Refuses (and records the refusal) unless `who` may read the
    /// service's metrics ([`Permission::ReadMetrics`]: operator and auditor
    /// tokens). Allowed reads are not recorded: a scraper reads every few
    /// seconds, and metrics hold no personal data.
    pub async fn allow_metrics(&self, who: &Principal) -> Result<(), OperatorError> {
        self.allow(who, Permission::ReadMetrics).await
    }

    /// Puts dead letters back in the queue: the given ones, and every dead
    /// one with `all_dead`. Each retry is recorded (`outbox.retried`) in
    /// its own transaction. Returns how many were queued again.
    pub async fn retry_outbox(
        &self,
        who: &Principal,
        ids: &[Uuid],
        all_dead: bool,
    ) -> Result<usize, OperatorError> {
        self.allow(who, Permission::ManageOutbox).await?;
        let mut targets = ids.to_vec();
        if all_dead {
            targets.extend(
                self.outbox
                    .outbox_list(Some(OutboxStatus::Dead), 0)
                    .await?
                    .into_iter()
                    .map(|m| m.id),
            );
        }
        if targets.is_empty() {
            return Err(OperatorError::Invalid(
                "give message ids or ask for every dead letter".into(),
            ));
        }
        let mut retried = 0;
        for id in targets {
            let note = self.note(who, "outbox.retried", &id.to_string(), json!({}));
            match self.outbox.outbox_retry(id, self.ctx.now(), &note).await {
                Ok(()) => retried += 1,
                Err(StoreError::NotFound) => return Err(OperatorError::NotDead(id)),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(retried)
    }

    // -- agreement ----------------------------------------------------------

    /// Publishes an agreement edition (`terms.published`). Every language
    /// needs a text.
    pub async fn publish_terms(
        &self,
        who: &Principal,
        edition: TermsEdition,
    ) -> Result<(), OperatorError> {
        self.allow(who, Permission::PublishTerms).await?;
        if edition.id.trim().is_empty()
            || [&edition.text_ky, &edition.text_ru, &edition.text_en]
                .iter()
                .any(|t| t.trim().is_empty())
        {
            return Err(OperatorError::Invalid(
                "an edition needs an id and a non-empty text in every language".into(),
            ));
        }
        let note = self.note(
            who,
            "terms.published",
            &edition.id,
            json!({"effective_at": edition.effective_at}),
        );
        match self.terms.publish(&edition, &note).await {
            Ok(()) => Ok(()),
            Err(e) if e.invariant_kind() == Some(InvariantKind::DuplicateEdition) => {
                Err(OperatorError::EditionExists(edition.id))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every agreement edition, oldest first.
    pub async fn terms_editions(&self) -> Result<Vec<TermsEdition>, OperatorError> {
        Ok(self.terms.editions().await?.as_ref().clone())
    }

    /// The current time of the use cases' clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.ctx.now()
    }

    /// The audit log from `from_seq` on, at most `limit` (0 = no limit),
    /// after sealing what waits (a read-only copy is read as it is).
    pub async fn audit_entries(
        &self,
        who: &Principal,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, OperatorError> {
        self.allow(who, Permission::ReadAudit).await?;
        let _ = self.seal_all().await;
        Ok(self.ops.audit_entries(from_seq, limit).await?)
    }
}
