//! The use cases: what a portal, an API or a command line calls, grouped by
//! what they do. Each group takes only the ports it needs:
//!
//! | module | does | ports |
//! |---|---|---|
//! | `charges` | issue, cancel, look up codes (and what paid a paid one) | charges, payments, payments made elsewhere |
//! | `terms` | agreement editions in force, publishing | terms |
//! | `paying` | start a payment, send the card or the payer to a hosted page | charges, payments, acquirer |
//! | `challenge` | 3-D Secure / one-time code answers, returns from hosted pages | charges, payments, acquirer |
//! | `settle` | apply the acquirer's word, late approvals, duplicates (shared) | charges, payments, payments made elsewhere, acquirer |
//! | `refunds` | reserve, send, settle refunds | charges, payments, acquirer |
//! | `reconcile` | reconciliation and expiry rounds | charges, payments, acquirer |
//! | `receipts` | signed receipts, receipt checks | charges, payments, signer |
//! | `outbox` | deliver receipt e-mails and agency notices | outbox, notifiers |
//! | [`operator`] | the operator's actions, with the acting principal (payments made elsewhere among them) | all storage, operations |
//! | `health` | readiness: the database answers, the schema is current | payments, store health |
//!
//! [`Tolom`] composes them over `Arc<dyn Port>`s (see
//! `docs/architecture.md` for why) and is what programs hold. Every use
//! case takes the time from the [`Clock`] port and ids from the
//! [`IdGenerator`] port.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use crate::audit::AuditNote;
use crate::card::CardForm;
use crate::charge::Charge;
use crate::code::PaymentCode;
use crate::errors::*;
use crate::money::Money;
use crate::payment::{ChallengeResponse, Payment, Refund};
use crate::ports::{
    Acquirer, Clock, IdGenerator, Notifier, OpsStore, RandomIds, ReceiptSigner, Store, StoreError,
    StoreHealth, SystemClock,
};
use crate::ports::{KeyRing, KeyRingError};
use crate::receipt::Receipt;
use crate::terms::TermsEdition;

mod challenge;
mod charges;
mod config;
mod ctx;
mod duplicates;
mod health;
mod notices;
pub mod operator;
mod outbox;
mod paying;
mod receipts;
mod reconcile;
mod refunds;
mod settle;
mod terms;

pub use charges::{
    ChargeView, IssueCharge, Issued, PaidVia, MAX_AGENCY_REF_CHARS, MAX_PAYER_CHARS, MAX_VALID_DAYS,
};
pub use config::{Config, FeePolicy};
pub use duplicates::{return_backoff, ReturnOutcome};
pub use health::{Readiness, ReadinessCheck};
pub use operator::{Operator, OperatorError};
pub use outbox::DispatchReport;
pub use paying::StartPayment;
pub use receipts::{GenuineReceipt, ReceiptCheck, ReceiptClaim, ReceiptProof};
pub use reconcile::{ExpireReport, ReconcileReport};

use challenge::Challenges;
use charges::Charges;
use ctx::Ctx;
use duplicates::Duplicates;
use health::Health;
use outbox::Dispatcher;
use paying::Paying;
use receipts::Receipts;
use reconcile::Reconciler;
use refunds::Refunds;
use settle::Settler;
use terms::Terms;

/// Builds a [`Tolom`].
pub struct TolomBuilder {
    store: Option<Arc<dyn Store>>,
    ops: Option<Arc<dyn OpsStore>>,
    health: Option<Arc<dyn StoreHealth>>,
    acquirer: Option<Arc<dyn Acquirer>>,
    clock: Option<Arc<dyn Clock>>,
    ids: Option<Arc<dyn IdGenerator>>,
    signer: Option<Arc<dyn ReceiptSigner>>,
    key_ring: KeyRing,
    notifiers: Vec<Arc<dyn Notifier>>,
    config: Config,
}

/// A required port was not given to the builder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing {0}")]
pub struct MissingPort(pub &'static str);

impl TolomBuilder {
    /// The storage adapter (required).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }
    /// The operations store (audit log, tokens, retention), needed for
    /// [`Tolom::operator`].
    pub fn ops(mut self, ops: Arc<dyn OpsStore>) -> Self {
        self.ops = Some(ops);
        self
    }
    /// The store's look at itself for readiness probes (optional; see
    /// [`Tolom::ready`]).
    pub fn health(mut self, health: Arc<dyn StoreHealth>) -> Self {
        self.health = Some(health);
        self
    }
    /// A store that is both: storage and operations.
    pub fn store_with_ops<S: Store + OpsStore + 'static>(self, store: Arc<S>) -> Self {
        self.store(store.clone()).ops(store)
    }
    /// The acquirer adapter (required).
    pub fn acquirer(mut self, acquirer: Arc<dyn Acquirer>) -> Self {
        self.acquirer = Some(acquirer);
        self
    }
    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }
    /// The id generator (default: random v4 ids).
    pub fn ids(mut self, ids: Arc<dyn IdGenerator>) -> Self {
        self.ids = Some(ids);
        self
    }
    /// The receipt signer (required).
    pub fn signer(mut self, signer: Arc<dyn ReceiptSigner>) -> Self {
        self.signer = Some(signer);
        self
    }
    /// The public keys receipts are verified against besides the signer's
    /// own (retired keys with their validity periods; default: only the
    /// signer's key). See [`Tolom::check_receipt`].
    pub fn key_ring(mut self, ring: KeyRing) -> Self {
        self.key_ring = ring;
        self
    }
    /// Adds a notifier for its channel.
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifiers.push(notifier);
        self
    }
    /// The configuration (default: [`Config::default`]).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }
    /// Builds.
    pub fn build(self) -> Result<Tolom, MissingPort> {
        let store = self.store.ok_or(MissingPort("store"))?;
        let acquirer = self.acquirer.ok_or(MissingPort("acquirer"))?;
        let signer = self.signer.ok_or(MissingPort("signer"))?;
        let ring = self.key_ring.with_current(signer.as_ref()).map_err(|_| {
            MissingPort("a key ring whose entry for the signer's key id is its key")
        })?;
        let ctx = Ctx {
            config: Arc::new(self.config),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            ids: self.ids.unwrap_or_else(|| Arc::new(RandomIds)),
        };
        let charges = Arc::new(Charges {
            charges: store.clone(),
            payments: store.clone(),
            external: store.clone(),
            ctx: ctx.clone(),
        });
        let terms = Arc::new(Terms::new(store.clone(), ctx.clone()));
        let refunds = Arc::new(Refunds {
            payments: store.clone(),
            charges: store.clone(),
            acquirer: acquirer.clone(),
            ctx: ctx.clone(),
        });
        let duplicates = Arc::new(Duplicates {
            payments: store.clone(),
            acquirer: acquirer.clone(),
            refunds: refunds.clone(),
            ctx: ctx.clone(),
        });
        let settler = Arc::new(Settler {
            payments: store.clone(),
            charges: store.clone(),
            external: store.clone(),
            acquirer: acquirer.clone(),
            duplicates: duplicates.clone(),
            ctx: ctx.clone(),
        });
        let reconciler = Arc::new(Reconciler {
            payments: store.clone(),
            charges: store.clone(),
            acquirer: acquirer.clone(),
            settler: settler.clone(),
            refunds: refunds.clone(),
            duplicates: duplicates.clone(),
            ctx: ctx.clone(),
        });
        let receipts = Arc::new(Receipts {
            payments: store.clone(),
            charges: store.clone(),
            signer,
            ring: std::sync::RwLock::new(Arc::new(ring)),
            ctx: ctx.clone(),
        });
        let operator = self.ops.map(|ops| Operator {
            charges: charges.clone(),
            refunds: refunds.clone(),
            duplicates,
            reconciler: reconciler.clone(),
            terms: terms.clone(),
            charge_store: store.clone(),
            payments: store.clone(),
            external: store.clone(),
            events: store.clone(),
            outbox: store.clone(),
            ops,
            ctx: ctx.clone(),
        });
        let health = Health {
            payments: store.clone(),
            store: self.health,
        };
        Ok(Tolom {
            health,
            paying: Paying {
                charges: store.clone(),
                payments: store.clone(),
                acquirer: acquirer.clone(),
                terms: terms.clone(),
                settler: settler.clone(),
                ctx: ctx.clone(),
            },
            challenges: Challenges {
                payments: store.clone(),
                charges: store.clone(),
                acquirer: acquirer.clone(),
                settler,
                ctx: ctx.clone(),
            },
            dispatcher: Dispatcher {
                outbox: store,
                notifiers: self
                    .notifiers
                    .into_iter()
                    .map(|n| (n.channel(), n))
                    .collect::<HashMap<_, _>>(),
                receipts: receipts.clone(),
                ctx: ctx.clone(),
            },
            charges,
            terms,
            refunds,
            reconciler,
            receipts,
            operator,
            acquirer,
            ctx,
        })
    }
}

/// The use cases of tolom over its ports.
///
/// ```
/// # // The testkit has ready-made adapters; see the examples for a full flow.
/// use tolom_core::Tolom;
/// let builder = Tolom::builder();
/// assert!(builder.build().is_err()); // store, acquirer and signer are required
/// ```
pub struct Tolom {
    charges: Arc<Charges>,
    terms: Arc<Terms>,
    paying: Paying,
    challenges: Challenges,
    refunds: Arc<Refunds>,
    reconciler: Arc<Reconciler>,
    receipts: Arc<Receipts>,
    dispatcher: Dispatcher,
    operator: Option<Operator>,
    health: Health,
    acquirer: Arc<dyn Acquirer>,
    ctx: Ctx,
}

impl std::fmt::Debug for Tolom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tolom")
            .field("acquirer", &self.acquirer.name())
            .finish_non_exhaustive()
    }
}

impl Tolom {
    /// Starts a builder.
    pub fn builder() -> TolomBuilder {
        TolomBuilder {
            store: None,
            ops: None,
            health: None,
            acquirer: None,
            clock: None,
            ids: None,
            signer: None,
            key_ring: KeyRing::default(),
            notifiers: Vec::new(),
            config: Config::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.ctx.config
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.ctx.clock
    }

    /// The acquirer's name, as recorded on payments.
    pub fn acquirer_name(&self) -> &str {
        self.acquirer.name()
    }

    /// The receipt signer (for its key id and public key).
    pub fn signer(&self) -> &Arc<dyn ReceiptSigner> {
        &self.receipts.signer
    }

    /// The operator's actions; needs an operations store
    /// ([`TolomBuilder::ops`]).
    pub fn operator(&self) -> Result<&Operator, MissingPort> {
        self.operator.as_ref().ok_or(MissingPort("ops store"))
    }

    /// Whether this instance can serve payers now, for readiness probes:
    /// `database` (one cheap read through the payments port, and the
    /// store's own check when it has a [`StoreHealth`]) and `schema` (the
    /// database at exactly this build's migrations). Drivers add their own
    /// checks (the acquirer, shutting down). Never fails: a failure is a
    /// failed check with its reason.
    pub async fn ready(&self) -> Readiness {
        self.health.ready().await
    }

    // -- charges ------------------------------------------------------------

    /// Issues a charge (what an agency does when it gives out a code), as
    /// tolom itself (actor `system`); operators use
    /// [`Operator::issue`].
    pub async fn issue_charge(&self, req: IssueCharge) -> Result<Charge, IssueError> {
        Ok(self
            .charges
            .issue(req, crate::audit::SYSTEM_ACTOR, &ctx::Notes::none())
            .await?
            .into_charge())
    }

    /// Cancels an unpaid charge (the agency withdrew it), as tolom itself;
    /// operators use [`Operator::cancel`].
    pub async fn cancel_charge(&self, code: &PaymentCode) -> Result<Charge, LookupError> {
        self.charges
            .cancel(code, crate::audit::SYSTEM_ACTOR, &ctx::Notes::none())
            .await
    }

    /// Looks a code up: what the payer sees after typing it. A typo is
    /// caught by the check digit before any storage access.
    pub async fn look_up(&self, input: &str) -> Result<ChargeView, LookupError> {
        self.charges.look_up(input).await
    }

    // -- agreement ----------------------------------------------------------

    /// The agreement edition in force now (the built-in seed edition when
    /// none was published).
    pub async fn terms_in_force(&self) -> Result<TermsEdition, StoreError> {
        self.terms.in_force().await
    }

    /// Every edition, oldest first.
    pub async fn terms_editions(&self) -> Result<Vec<TermsEdition>, StoreError> {
        Ok(self.terms.editions().await?.as_ref().clone())
    }

    /// Publishes a new edition, as tolom itself (`terms.published` by
    /// `system`); operators use [`Operator::publish_terms`].
    pub async fn publish_terms(&self, edition: TermsEdition) -> Result<(), StoreError> {
        let note = AuditNote::system(
            self.ctx.now(),
            "terms.published",
            edition.id.clone(),
            serde_json::json!({"effective_at": edition.effective_at}),
        );
        self.terms.publish(&edition, &note).await
    }

    // -- paying -------------------------------------------------------------

    /// Starts a payment of a code: the payer pressed "Pay" and accepted the
    /// agreement in force.
    ///
    /// The same idempotency key returns the same payment. A payment of the
    /// same code that was started but never got card details is superseded
    /// (expired); one that is being processed makes this fail with
    /// `charge.payment_in_progress`.
    pub async fn start_payment(&self, req: StartPayment<'_>) -> Result<Payment, StartPaymentError> {
        self.paying.start_payment(req).await
    }

    /// Sends the card to the acquirer. A decline is an `Ok` payment in state
    /// `Declined`; field errors come all at once and change nothing. The
    /// same idempotency key returns the payment as it is, without a second
    /// call to the acquirer.
    pub async fn submit_card(
        &self,
        payment_id: Uuid,
        form: &CardForm,
        idempotency_key: &str,
    ) -> Result<Payment, SubmitCardError> {
        self.paying
            .submit_card(payment_id, form, idempotency_key)
            .await
    }

    /// Sends the payer to the acquirer's hosted payment page instead of
    /// taking card data: the payment becomes `ActionRequired` with a
    /// [`crate::payment::Challenge::Redirect`]; after the payer returns,
    /// call [`Tolom::complete_challenge`].
    pub async fn submit_hosted(
        &self,
        payment_id: Uuid,
        idempotency_key: &str,
    ) -> Result<Payment, SubmitCardError> {
        self.paying.submit_hosted(payment_id, idempotency_key).await
    }

    /// Continues a payment after the 3-D Secure / one-time-code step (or
    /// the payer's return from a hosted page). Calling it for a payment
    /// already settled returns the payment unchanged.
    pub async fn complete_challenge(
        &self,
        payment_id: Uuid,
        response: &ChallengeResponse,
    ) -> Result<Payment, ChallengeError> {
        self.challenges
            .complete_challenge(payment_id, response)
            .await
    }

    // -- payments and receipts ----------------------------------------------

    /// A payment by id.
    pub async fn payment(&self, id: Uuid) -> Result<Payment, QueryError> {
        self.receipts.payment(id).await
    }

    /// The signed receipt of a succeeded (or since refunded) payment.
    pub async fn receipt(&self, payment_id: Uuid) -> Result<Receipt, QueryError> {
        self.receipts.receipt(payment_id).await
    }

    /// The payment whose receipt the payer of a paid code asks to see
    /// again: `proof` is the e-mail address they gave or the card's last
    /// four digits ([`ReceiptProof`]). A wrong proof is
    /// [`ReceiptProofError::Mismatch`]; a code paid outside tolom has no
    /// receipt here ([`ReceiptProofError::PaidElsewhere`]). Callers that
    /// face the public limit it like the look-up (it tells whether a code
    /// was paid).
    pub async fn receipt_for_code(
        &self,
        code: &str,
        proof: &str,
    ) -> Result<Uuid, ReceiptProofError> {
        self.receipts.receipt_for_code(code, proof).await
    }

    /// When `code` was paid by card through tolom (the paid payment's
    /// time; `None` when no payment of it was paid here), for the page of
    /// a paid code.
    pub async fn paid_at(
        &self,
        code: &PaymentCode,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        self.receipts.paid_at(code).await
    }

    /// Checks a receipt by key id against the key ring (never by signing
    /// again): a printed one by its number, key id and signature (its
    /// signed content rebuilt from the records, as it reads now or read
    /// before a later refund), or a signed content as given (verified as
    /// given, then compared with the records). A receipt signed before a
    /// key rotation verifies while its retired key is in the ring.
    pub async fn check_receipt(&self, claim: &ReceiptClaim) -> Result<ReceiptCheck, QueryError> {
        self.receipts.check(claim).await
    }

    /// Checks a receipt number and signature (every key of the ring
    /// tried): `Ok(Some(receipt))` when genuine, `Ok(None)` when not. See
    /// [`Tolom::check_receipt`].
    pub async fn verify_receipt(
        &self,
        number: &str,
        signature: &str,
    ) -> Result<Option<Receipt>, QueryError> {
        let claim = ReceiptClaim::Reference {
            number: number.to_string(),
            key_id: None,
            signature: signature.to_string(),
        };
        Ok(match self.receipts.check(&claim).await? {
            ReceiptCheck::Genuine(g) => Some(g.receipt),
            ReceiptCheck::NotGenuine(_) => None,
        })
    }

    /// The key ring receipts are checked against: the signer's key and the
    /// retired ones (publish it for agencies: [`KeyRing::to_json`]).
    pub fn key_ring(&self) -> Arc<KeyRing> {
        self.receipts.ring()
    }

    /// Replaces the key ring (a ring file changed); the signer's key is
    /// added when missing.
    pub fn set_key_ring(&self, ring: KeyRing) -> Result<(), KeyRingError> {
        self.receipts.set_ring(ring)
    }

    // -- refunds ------------------------------------------------------------

    /// Refunds `amount` (everything left when `None`) of a payment, as tolom
    /// itself; operators use [`Operator::refund`]. The same idempotency key
    /// returns the same refund without a second call to the acquirer.
    /// Refunds never exceed what was paid.
    pub async fn refund(
        &self,
        payment_id: Uuid,
        amount: Option<Money>,
        reason: &str,
        idempotency_key: &str,
    ) -> Result<Refund, RefundError> {
        self.refunds
            .refund(
                payment_id,
                amount,
                reason,
                idempotency_key,
                crate::audit::SYSTEM_ACTOR,
            )
            .await
    }

    // -- background jobs ----------------------------------------------------

    /// Settles payments whose outcome is unknown, that are stuck in
    /// `Authorizing`, or whose challenge was abandoned, by asking the
    /// acquirer; recovers late approvals; and settles refunds whose outcome
    /// was lost.
    pub async fn reconcile(&self) -> Result<ReconcileReport, StoreError> {
        self.reconciler.reconcile().await
    }

    /// Expires abandoned payments (started but never sent to the acquirer),
    /// settles abandoned challenges from the acquirer's status (a payer who
    /// left during 3-D Secure may still have paid), and marks charges past
    /// their expiry.
    pub async fn expire_stale(&self) -> Result<ExpireReport, StoreError> {
        self.reconciler.expire_stale().await
    }

    /// Delivers due outbox messages through the notifiers, at least once
    /// each: a message is marked delivered only after its notifier accepted
    /// it; failures are retried on the back-off schedule and end as dead
    /// letters. Messages are delivered one after another under one lease
    /// (`Config::outbox_lease`); once three quarters of it have passed, the
    /// rest of the batch is left for a later round (`deferred`), so a slow
    /// receiver never makes two workers deliver the same message. A message
    /// whose channel has no notifier is retried later (and ends dead),
    /// never dropped.
    pub async fn dispatch_outbox(
        &self,
        worker: &str,
        limit: usize,
    ) -> Result<DispatchReport, StoreError> {
        self.dispatcher.dispatch_outbox(worker, limit).await
    }
}
