//! The use cases: what a portal, an API or a command line calls.
//!
//! [`Tolom`] holds the ports as `Arc<dyn Port>` (see `docs/architecture.md`
//! for why) and the configuration. Every method takes the time from the
//! [`Clock`] port and ids from the [`IdGenerator`] port.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::card::{BrandTable, CardForm};
use crate::catalogue::{Catalogue, Tariff};
use crate::charge::{Charge, ChargeStatus, NotPayable, Payer};
use crate::code::{CodeError, CodeFormat, PaymentCode};
use crate::errors::*;
use crate::i18n::{Language, LocalizedText, Text};
use crate::money::Money;
use crate::outbox::{
    retry_delay, AgencyEvent, AgencyEventKind, Channel, Event, OutboxMessage, OutboxPayload,
};
use crate::payment::{
    Approval, ChallengeResponse, NewPayment, Payment, PaymentState, Refund, RefundState,
};
use crate::ports::*;
use crate::receipt::{Operator, Receipt, ReceiptSigner};
use crate::terms::{in_force, TermsEdition};
use crate::time::Clock;

/// A fee the site adds on top of the charge (zero by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeePolicy {
    /// A fixed part, in som.
    pub fixed: Money,
    /// A proportional part, in basis points (1/100 of a percent).
    pub basis_points: u32,
}

impl Default for FeePolicy {
    fn default() -> Self {
        FeePolicy {
            fixed: Money::zero(crate::money::Currency::KGS),
            basis_points: 0,
        }
    }
}

impl FeePolicy {
    /// The fee for an amount, rounded half up to the minor unit.
    pub fn fee_for(&self, amount: Money) -> Money {
        let minor = amount.to_minor_units();
        let prop = (u128::from(minor) * u128::from(self.basis_points) + 5_000) / 10_000;
        let prop =
            Money::from_minor_units(u64::try_from(prop).unwrap_or(u64::MAX), amount.currency());
        prop.checked_add(self.fixed).unwrap_or(prop)
    }
}

/// Settings of the use cases.
#[derive(Debug, Clone)]
pub struct Config {
    /// The shape of valid codes.
    pub code_format: CodeFormat,
    /// Services and tariffs.
    pub catalogue: Catalogue,
    /// Card brand ranges.
    pub brands: BrandTable,
    /// Operator's details for receipts.
    pub operator: Operator,
    /// The site's fee.
    pub fee: FeePolicy,
    /// How long a started payment stays open (default 30 minutes).
    pub payment_ttl: Duration,
    /// After how long an `Authorizing` payment is considered stuck and
    /// reconciled (default 2 minutes).
    pub authorizing_stale_after: Duration,
    /// How long after creation a payment closed as failed or expired is
    /// still checked for an approval that arrived late (default 2 hours;
    /// gateways close their own sessions well within it). Each
    /// `reconcile` round asks the acquirer about these payments.
    pub late_approval_window: Duration,
    /// The least time a payer has for a challenge (3-D Secure, hosted page)
    /// after sending the card: the session end moves out to at least this
    /// far (default 15 minutes).
    pub challenge_window: Duration,
    /// How long a dispatcher holds an outbox message (default 60 s).
    pub outbox_lease: Duration,
    /// How long the editions of the agreement are cached (default 5 s).
    pub terms_refresh: Duration,
    /// Where the payer returns after a redirect challenge or hosted page.
    pub return_url: Option<String>,
    /// Enqueue receipt e-mails (default: true).
    pub receipt_emails: bool,
    /// Enqueue agency notices (default: true).
    pub agency_notices: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            code_format: CodeFormat::default(),
            catalogue: Catalogue::kyrgyz_default(),
            brands: BrandTable::default(),
            operator: Operator::default(),
            fee: FeePolicy::default(),
            payment_ttl: Duration::minutes(30),
            authorizing_stale_after: Duration::minutes(2),
            challenge_window: Duration::minutes(15),
            late_approval_window: Duration::hours(2),
            outbox_lease: Duration::seconds(60),
            terms_refresh: Duration::seconds(5),
            return_url: None,
            receipt_emails: true,
            agency_notices: true,
        }
    }
}

/// What a public look-up shows: never the full name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChargeView {
    /// The code.
    pub code: PaymentCode,
    /// Service id.
    pub service: String,
    /// Service name.
    pub service_name: LocalizedText,
    /// The tariff explaining the amount, when known.
    pub tariff: Option<Tariff>,
    /// The payer's name, masked (`Асанов А.`).
    pub payer: String,
    /// The amount due.
    pub amount: Money,
    /// The site's fee on top.
    pub fee: Money,
    /// Status now.
    pub status: ChargeStatus,
    /// Why it cannot be paid now, if it cannot (serialized as its code).
    pub not_payable: Option<Text>,
    /// When it stops being payable.
    pub expires_at: DateTime<Utc>,
}

/// A request to start paying a code.
#[derive(Debug, Clone)]
pub struct StartPayment<'a> {
    /// The code as typed.
    pub code: &'a str,
    /// The id of the agreement edition the payer accepted (`None`: not
    /// accepted).
    pub accepted_terms: Option<&'a str>,
    /// Idempotency key: the same key returns the same payment.
    pub idempotency_key: &'a str,
    /// The payer's language.
    pub language: Language,
}

/// A request to issue a charge.
#[derive(Debug, Clone)]
pub struct IssueCharge {
    /// Service id.
    pub service: String,
    /// Tariff urgency (amount from the catalogue).
    pub urgency: Option<String>,
    /// Amount, when not from a tariff (or to override it).
    pub amount: Option<Money>,
    /// The payer's full name.
    pub payer: String,
    /// A code chosen by the agency; generated when `None`.
    pub code: Option<String>,
    /// When it stops being payable.
    pub expires_at: DateTime<Utc>,
    /// The agency's reference.
    pub agency_ref: Option<String>,
}

/// Result of [`Tolom::reconcile`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// Payments asked about.
    pub checked: usize,
    /// Settled as succeeded.
    pub succeeded: usize,
    /// Settled as declined.
    pub declined: usize,
    /// Settled as failed (never reached the acquirer, reversed).
    pub failed: usize,
    /// Expired (abandoned challenge, nothing charged).
    pub expired: usize,
    /// Still unsettled (acquirer unreachable or still pending).
    pub unsettled: usize,
    /// Pending refunds settled.
    pub refunds_settled: usize,
    /// Late approvals recovered on payments already closed as failed or
    /// expired.
    pub recovered: usize,
    /// Items that could not be handled this round (storage errors); they
    /// are tried again next round.
    pub errors: usize,
}

/// Result of [`Tolom::expire_stale`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExpireReport {
    /// Payments expired.
    pub payments_expired: usize,
    /// Abandoned challenges settled from the acquirer's status instead.
    pub payments_settled: usize,
    /// Charges marked expired.
    pub charges_expired: usize,
    /// Items that could not be handled this round; tried again next round.
    pub errors: usize,
}

/// Result of [`Tolom::dispatch_outbox`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DispatchReport {
    /// Delivered.
    pub delivered: usize,
    /// Failed and scheduled again.
    pub retried: usize,
    /// Failed for good (dead letters).
    pub dead: usize,
    /// Claimed but left for a later round because the lease was running out.
    pub deferred: usize,
}

/// Builds a [`Tolom`].
pub struct TolomBuilder {
    store: Option<Arc<dyn Store>>,
    acquirer: Option<Arc<dyn Acquirer>>,
    clock: Option<Arc<dyn Clock>>,
    ids: Option<Arc<dyn IdGenerator>>,
    signer: Option<Arc<dyn ReceiptSigner>>,
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
        Ok(Tolom {
            store: self.store.ok_or(MissingPort("store"))?,
            acquirer: self.acquirer.ok_or(MissingPort("acquirer"))?,
            clock: self
                .clock
                .unwrap_or_else(|| Arc::new(crate::time::SystemClock)),
            ids: self.ids.unwrap_or_else(|| Arc::new(RandomIds)),
            signer: self.signer.ok_or(MissingPort("signer"))?,
            notifiers: self
                .notifiers
                .into_iter()
                .map(|n| (n.channel(), n))
                .collect(),
            config: self.config,
            terms: RwLock::new(None),
        })
    }
}

/// The use cases of tolom over its ports.
///
/// ```
/// # // The testkit has ready-made adapters; see the examples for a full flow.
/// use tolom_core::service::Tolom;
/// let builder = Tolom::builder();
/// assert!(builder.build().is_err()); // store, acquirer and signer are required
/// ```
pub struct Tolom {
    store: Arc<dyn Store>,
    acquirer: Arc<dyn Acquirer>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    signer: Arc<dyn ReceiptSigner>,
    notifiers: HashMap<Channel, Arc<dyn Notifier>>,
    config: Config,
    terms: RwLock<Option<CachedTerms>>,
}

/// The editions of the agreement and when they were read.
type CachedTerms = (DateTime<Utc>, Arc<Vec<TermsEdition>>);

/// The edition payers accept now: the one in force, or — before the first
/// published edition takes effect — the earliest one. `terms_in_force` shows
/// and `start_payment` requires the same edition.
fn current_edition(editions: &[TermsEdition], now: DateTime<Utc>) -> Option<&TermsEdition> {
    in_force(editions, now).or_else(|| editions.iter().min_by_key(|e| e.effective_at))
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

impl Tolom {
    /// Starts a builder.
    pub fn builder() -> TolomBuilder {
        TolomBuilder {
            store: None,
            acquirer: None,
            clock: None,
            ids: None,
            signer: None,
            notifiers: Vec::new(),
            config: Config::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The storage.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The acquirer.
    pub fn acquirer(&self) -> &Arc<dyn Acquirer> {
        &self.acquirer
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The receipt signer.
    pub fn signer(&self) -> &Arc<dyn ReceiptSigner> {
        &self.signer
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn event(
        &self,
        charge_id: Uuid,
        payment_id: Option<Uuid>,
        kind: &str,
        data: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Event {
        Event {
            id: self.ids.new_id(),
            at: now,
            charge_id,
            payment_id,
            kind: kind.to_string(),
            data,
        }
    }

    // -- charges ------------------------------------------------------------

    /// Issues a charge (what an agency does when it gives out a code).
    pub async fn issue_charge(&self, req: IssueCharge) -> Result<Charge, IssueError> {
        let now = self.now();
        let service = self
            .config
            .catalogue
            .service(&req.service)
            .ok_or_else(|| IssueError::UnknownService(req.service.clone()))?
            .clone();
        let amount = match (&req.urgency, req.amount) {
            (_, Some(a)) => a,
            (Some(u), None) => self
                .config
                .catalogue
                .tariff(&service.id, u)
                .ok_or_else(|| IssueError::UnknownTariff(u.clone()))?
                .total()
                .map_err(|_| IssueError::BadAmount)?,
            (None, None) => {
                let mut tariffs = self.config.catalogue.tariffs_of(&service.id);
                match (tariffs.next(), tariffs.next()) {
                    (Some(t), None) => t.total().map_err(|_| IssueError::BadAmount)?,
                    _ => return Err(IssueError::UnknownTariff("(none given)".into())),
                }
            }
        };
        if amount.is_zero() {
            return Err(IssueError::BadAmount);
        }
        if req
            .urgency
            .as_ref()
            .is_some_and(|u| self.config.catalogue.tariff(&service.id, u).is_none())
        {
            return Err(IssueError::UnknownTariff(
                req.urgency.clone().unwrap_or_default(),
            ));
        }
        let payer = req.payer.split_whitespace().collect::<Vec<_>>().join(" ");
        if payer.is_empty() {
            return Err(IssueError::PayerMissing);
        }
        if req.expires_at <= now {
            return Err(IssueError::BadExpiry);
        }
        let format = &self.config.code_format;
        let fixed_code = match &req.code {
            Some(text) => {
                let code = format.parse(text)?;
                if format.family_of(&code) != Some(service.family) {
                    return Err(IssueError::Code(CodeError::Prefix));
                }
                Some(code)
            }
            None => None,
        };
        for _ in 0..8 {
            let code = match &fixed_code {
                Some(c) => c.clone(),
                None => {
                    let prefix_len = format.prefix_of(service.family).map(str::len).unwrap_or(0);
                    let body = format.length() - prefix_len - format.scheme().check_len();
                    let modulus = 10u128.saturating_pow(body.min(38) as u32);
                    let serial = (self.ids.new_id().as_u128() % modulus) as u64;
                    format
                        .generate(service.family, serial)
                        .ok_or(IssueError::Code(CodeError::Prefix))?
                }
            };
            let charge = Charge {
                id: self.ids.new_id(),
                code,
                service: service.id.clone(),
                urgency: req.urgency.clone(),
                payer: Payer {
                    full_name: payer.clone(),
                },
                amount,
                issued_at: now,
                expires_at: req.expires_at,
                status: ChargeStatus::Unpaid,
                agency_ref: req.agency_ref.clone(),
            };
            let event = self.event(
                charge.id,
                None,
                "charge.issued",
                json!({"code": charge.code, "service": charge.service, "amount": charge.amount}),
                now,
            );
            match self.store.insert_charge(&charge, &event).await {
                Ok(()) => return Ok(charge),
                Err(StoreError::DuplicateCode) if fixed_code.is_none() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(IssueError::Store(StoreError::DuplicateCode))
    }

    /// Cancels an unpaid charge (the agency withdrew it).
    pub async fn cancel_charge(&self, code: &PaymentCode) -> Result<Charge, LookupError> {
        let now = self.now();
        let charge = self
            .store
            .charge_by_code(code)
            .await?
            .ok_or(LookupError::NotFound)?;
        let event = self.event(charge.id, None, "charge.cancelled", json!({}), now);
        self.store
            .set_charge_status(charge.id, charge.status, ChargeStatus::Cancelled, &event)
            .await?;
        Ok(Charge {
            status: ChargeStatus::Cancelled,
            ..charge
        })
    }

    /// Looks a code up: what the payer sees after typing it. A typo is
    /// caught by the check digit before any storage access.
    pub async fn look_up(&self, input: &str) -> Result<ChargeView, LookupError> {
        let code = self.config.code_format.parse(input)?;
        let charge = self
            .store
            .charge_by_code(&code)
            .await?
            .ok_or(LookupError::NotFound)?;
        Ok(self.view(&charge, self.now()))
    }

    fn view(&self, charge: &Charge, now: DateTime<Utc>) -> ChargeView {
        let catalogue = &self.config.catalogue;
        let service_name = catalogue
            .service(&charge.service)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| {
                LocalizedText::new(&charge.service, &charge.service, &charge.service)
            });
        ChargeView {
            code: charge.code.clone(),
            service: charge.service.clone(),
            service_name,
            tariff: charge
                .urgency
                .as_deref()
                .and_then(|u| catalogue.tariff(&charge.service, u))
                .cloned(),
            payer: charge.payer.masked_name(),
            amount: charge.amount,
            fee: self.config.fee.fee_for(charge.amount),
            status: charge.effective_status(now),
            not_payable: charge
                .ensure_payable(now)
                .err()
                .map(|e| crate::i18n::ErrorCode::text(&e)),
            expires_at: charge.expires_at,
        }
    }

    // -- agreement ----------------------------------------------------------

    async fn editions(&self) -> Result<Arc<Vec<TermsEdition>>, StoreError> {
        let now = self.now();
        if let Ok(guard) = self.terms.read() {
            if let Some((at, editions)) = guard.as_ref() {
                if now >= *at && now - *at < self.config.terms_refresh {
                    return Ok(editions.clone());
                }
            }
        }
        let mut editions = self.store.terms_editions().await?;
        if editions.is_empty() {
            editions.push(TermsEdition::seed_edition());
        }
        let editions = Arc::new(editions);
        if let Ok(mut guard) = self.terms.write() {
            *guard = Some((now, editions.clone()));
        }
        Ok(editions)
    }

    /// The agreement edition in force now (the built-in seed edition when
    /// none was published).
    pub async fn terms_in_force(&self) -> Result<TermsEdition, StoreError> {
        let now = self.now();
        let editions = self.editions().await?;
        Ok(current_edition(&editions, now)
            .cloned()
            .unwrap_or_else(TermsEdition::seed_edition))
    }

    /// Every edition, oldest first.
    pub async fn terms_editions(&self) -> Result<Vec<TermsEdition>, StoreError> {
        Ok(self.editions().await?.as_ref().clone())
    }

    /// Publishes a new edition.
    pub async fn publish_terms(&self, edition: TermsEdition) -> Result<(), StoreError> {
        self.store.publish_terms(&edition).await?;
        if let Ok(mut guard) = self.terms.write() {
            *guard = None;
        }
        Ok(())
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
        let code = self.config.code_format.parse(req.code)?;
        if !valid_key(req.idempotency_key) {
            return Err(StartPaymentError::KeyInvalid);
        }
        let accepted = req
            .accepted_terms
            .filter(|t| !t.is_empty())
            .ok_or(StartPaymentError::TermsNotAccepted)?;
        let charge = self
            .store
            .charge_by_code(&code)
            .await?
            .ok_or(StartPaymentError::NotFound)?;
        let now = self.now();
        let terms = self.editions().await?;
        let current = current_edition(&terms, now)
            .map(|e| e.id.as_str())
            .unwrap_or("");
        if accepted != current {
            return Err(StartPaymentError::TermsOutdated {
                accepted: accepted.to_string(),
                in_force: current.to_string(),
            });
        }
        if let Err(e) = charge.ensure_payable(now) {
            // A replay of a request that already succeeded returns its payment.
            if let Some(p) = self
                .payment_by_start_key(&charge, req.idempotency_key)
                .await?
            {
                return Ok(p);
            }
            return Err(e.into());
        }
        let payment = Payment::create(NewPayment {
            id: self.ids.new_id(),
            charge_id: charge.id,
            code: charge.code.clone(),
            service: charge.service.clone(),
            amount: charge.amount,
            fee: self.config.fee.fee_for(charge.amount),
            terms_edition: current.to_string(),
            language: req.language,
            start_key: req.idempotency_key.to_string(),
            now,
            expires_at: now + self.config.payment_ttl,
        })
        .map_err(|_| StartPaymentError::Store(StoreError::Invariant("amount overflow".into())))?;
        let events = [self.event(
            charge.id,
            Some(payment.id),
            "payment.created",
            json!({"terms_edition": current, "amount": payment.total}),
            now,
        )];
        for _ in 0..3 {
            match self.store.create_payment(&payment, &events).await {
                Ok(CreateOutcome::Created) => return Ok(payment),
                Ok(CreateOutcome::Existing(p)) if p.charge_id == charge.id => return Ok(*p),
                Ok(CreateOutcome::Existing(_)) => return Err(StartPaymentError::KeyReused),
                Err(StoreError::InFlight { payment_id }) => {
                    if !self.supersede(payment_id, now).await? {
                        return Err(StartPaymentError::InProgress(payment_id));
                    }
                }
                Err(StoreError::ChargeNotPayable(status)) => {
                    return Err(match status {
                        ChargeStatus::Paid => NotPayable::AlreadyPaid,
                        ChargeStatus::Cancelled => NotPayable::Cancelled,
                        _ => NotPayable::Expired,
                    }
                    .into())
                }
                Err(StoreError::ChargeNotFound) => return Err(StartPaymentError::NotFound),
                Err(e) => return Err(e.into()),
            }
        }
        Err(StartPaymentError::Store(StoreError::Conflict))
    }

    async fn payment_by_start_key(
        &self,
        charge: &Charge,
        key: &str,
    ) -> Result<Option<Payment>, StoreError> {
        let query = PaymentQuery {
            charge_id: Some(charge.id),
            ..PaymentQuery::default()
        };
        Ok(self
            .store
            .list_payments(&query)
            .await?
            .into_iter()
            .find(|p| p.start_key == key))
    }

    /// Makes room for a new payment of the same charge when the one in
    /// flight never reached the acquirer (`Created`), or is an abandoned
    /// challenge that the acquirer confirms was not paid. Returns whether
    /// room was made.
    async fn supersede(&self, payment_id: Uuid, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let Some(mut old) = self.store.payment(payment_id).await? else {
            return Ok(true);
        };
        match old.state {
            PaymentState::Created => {
                if old.expire(now).is_err() {
                    return Ok(false);
                }
                let ev = self.event(
                    old.charge_id,
                    Some(old.id),
                    "payment.expired",
                    json!({"superseded": true}),
                    now,
                );
                match self.store.update_payment(&self.update(old, vec![ev])).await {
                    Ok(()) | Err(StoreError::Conflict) => Ok(true),
                    Err(e) => Err(e),
                }
            }
            PaymentState::ActionRequired | PaymentState::Unknown if now >= old.expires_at => {
                let settled = self.reconcile_one(old, now, true).await?;
                Ok(!settled.state.is_in_flight())
            }
            _ => Ok(!old.state.is_in_flight()),
        }
    }

    fn update(&self, payment: Payment, events: Vec<Event>) -> PaymentUpdate {
        PaymentUpdate {
            payment,
            charge: None,
            refund: None,
            events,
            outbox: Vec::new(),
        }
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
        self.submit(payment_id, Some(form), idempotency_key).await
    }

    /// Sends the payer to the acquirer's hosted payment page instead of
    /// taking card data: the payment becomes `ActionRequired` with a
    /// [`Challenge::Redirect`]; after the payer returns, call
    /// [`Tolom::complete_challenge`].
    pub async fn submit_hosted(
        &self,
        payment_id: Uuid,
        idempotency_key: &str,
    ) -> Result<Payment, SubmitCardError> {
        self.submit(payment_id, None, idempotency_key).await
    }

    async fn submit(
        &self,
        payment_id: Uuid,
        form: Option<&CardForm>,
        key: &str,
    ) -> Result<Payment, SubmitCardError> {
        if !valid_key(key) {
            return Err(SubmitCardError::KeyInvalid);
        }
        let mut payment = self
            .store
            .payment(payment_id)
            .await?
            .ok_or(SubmitCardError::NotFound)?;
        if payment.submit_key.as_deref() == Some(key) {
            return Ok(payment);
        }
        match payment.state {
            PaymentState::Created => {}
            PaymentState::Expired => return Err(SubmitCardError::Expired),
            _ => return Err(SubmitCardError::AlreadySubmitted),
        }
        let now = self.now();
        if now >= payment.expires_at {
            let mut expired = payment.clone();
            if expired.expire(now).is_ok() {
                let ev = self.event(
                    expired.charge_id,
                    Some(expired.id),
                    "payment.expired",
                    json!({}),
                    now,
                );
                match self
                    .store
                    .update_payment(&self.update(expired, vec![ev]))
                    .await
                {
                    Ok(()) | Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            return Err(SubmitCardError::Expired);
        }
        let validated = match form {
            Some(f) => Some(f.validate(now, &self.config.brands)?),
            None => None,
        };
        let charge = self
            .store
            .charge(payment.charge_id)
            .await?
            .ok_or(SubmitCardError::NotFound)?;
        if let Err(e) = charge.ensure_payable(now) {
            // A replay of this very submission may have paid the charge
            // while we were reading: answer with the payment, as a replay
            // must.
            if let Some(current) = self.store.payment(payment_id).await? {
                if current.submit_key.as_deref() == Some(key) {
                    return Ok(current);
                }
            }
            return Err(e.into());
        }
        payment
            .authorize(
                key.to_string(),
                validated.as_ref().map(|(card, _)| card.summary()),
                validated.as_ref().map(|(_, contact)| contact.clone()),
                self.acquirer.name(),
                now,
            )
            .map_err(|_| SubmitCardError::AlreadySubmitted)?;
        payment.expires_at = payment.expires_at.max(now + self.config.challenge_window);
        let ev = self.event(
            payment.charge_id,
            Some(payment.id),
            "payment.authorizing",
            json!({
                "card": payment.card.as_ref().map(|c| json!({"masked_pan": c.masked_pan, "brand": c.brand})),
                "hosted": validated.is_none(),
            }),
            now,
        );
        match self
            .store
            .update_payment(&self.update(payment.clone(), vec![ev]))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                let current = self
                    .store
                    .payment(payment_id)
                    .await?
                    .ok_or(SubmitCardError::NotFound)?;
                return if current.submit_key.as_deref() == Some(key) {
                    Ok(current)
                } else if current.state == PaymentState::Expired {
                    Err(SubmitCardError::Expired)
                } else {
                    Err(SubmitCardError::AlreadySubmitted)
                };
            }
            Err(e) => return Err(e.into()),
        }
        let description = self.description(&payment);
        let order = payment.order_number();
        let instrument = match &validated {
            Some((card, contact)) => Instrument::Card { card, contact },
            None => Instrument::HostedPage,
        };
        let result = self
            .acquirer
            .purchase(PurchaseRequest {
                order_number: &order,
                amount: payment.total,
                description: &description,
                language: payment.language,
                instrument,
                return_url: self.config.return_url.as_deref(),
            })
            .await;
        drop(validated);
        Ok(self.apply_result(payment, &charge, result, false).await?)
    }

    fn description(&self, payment: &Payment) -> String {
        let name = self
            .config
            .catalogue
            .service(&payment.service)
            .map(|s| s.name.en.as_str())
            .unwrap_or(payment.service.as_str());
        format!("{name}, code {}", payment.code)
    }

    /// Applies the acquirer's answer (or error) to a payment that is
    /// `Authorizing`, and stores it. On a concurrent change, returns the
    /// stored payment.
    async fn apply_result(
        &self,
        payment: Payment,
        charge: &Charge,
        result: Result<AcquirerOutcome, AcquirerError>,
        order_exists: bool,
    ) -> Result<Payment, StoreError> {
        let now = self.now();
        let outcome = match result {
            Ok(o) => Settlement::Outcome(o),
            // After a challenge the order exists at the acquirer and the payer
            // may already have paid there: whatever went wrong with our call,
            // only the acquirer's status can settle it.
            Err(_) if order_exists => Settlement::Unknown,
            Err(e) => match e.kind {
                AcquirerErrorKind::Unknown => Settlement::Unknown,
                AcquirerErrorKind::NotSent => Settlement::NotSent,
                AcquirerErrorKind::Rejected => Settlement::Fail(Text::ServiceUnavailable),
            },
        };
        self.settle(payment, charge, outcome, now).await
    }

    async fn settle(
        &self,
        payment: Payment,
        charge: &Charge,
        settlement: Settlement,
        now: DateTime<Utc>,
    ) -> Result<Payment, StoreError> {
        let id = payment.id;
        let before = payment.state;
        let late_approval = match &settlement {
            Settlement::Outcome(AcquirerOutcome::Approved(a)) => Some(a.clone()),
            _ => None,
        };
        let mut next = payment;
        let mut charge_change = None;
        let mut outbox = Vec::new();
        let moved = match settlement {
            Settlement::Outcome(AcquirerOutcome::Approved(approval)) => {
                let ok = next.succeed(approval, now).is_ok();
                if ok {
                    charge_change = Some(ChargeChange::MarkPaid);
                    outbox = self.success_messages(&next, charge, now);
                }
                ok
            }
            Settlement::Outcome(AcquirerOutcome::Declined(reason)) => {
                next.decline(reason, now).is_ok()
            }
            Settlement::Outcome(AcquirerOutcome::ActionRequired(challenge)) => {
                next.require_action(challenge, now).is_ok()
            }
            Settlement::Outcome(AcquirerOutcome::Pending) | Settlement::Unknown => {
                next.mark_unknown(now).is_ok()
            }
            Settlement::Fail(code) => next.fail(code, now).is_ok(),
            Settlement::NotSent => {
                // The purchase certainly never reached the acquirer: record
                // that, so that the late-approval sweep never asks about it.
                next.acquirer = None;
                next.fail(Text::PaymentAcquirerUnavailable, now).is_ok()
            }
            Settlement::Expire => next.expire(now).is_ok(),
        };
        if !moved {
            // The transition does not apply to the payment as it is (e.g. it
            // was settled meanwhile): report it unchanged.
            return Ok(next);
        }
        let event = self.event(
            next.charge_id,
            Some(next.id),
            &format!("payment.{}", next.state.as_str()),
            json!({
                "from": before.as_str(),
                "decline_reason": next.decline_reason.map(|r| crate::i18n::ErrorCode::code(&r)),
                "failure": next.failure,
                "receipt_number": next.receipt_number,
            }),
            now,
        );
        let update = PaymentUpdate {
            payment: next,
            charge: charge_change,
            refund: None,
            events: vec![event],
            outbox,
        };
        match self.store.update_payment(&update).await {
            Ok(()) => Ok(update.payment),
            Err(StoreError::Conflict) => {
                let current = self.store.payment(id).await?.ok_or(StoreError::NotFound)?;
                match late_approval {
                    // Never drop an approval because the payment changed
                    // meanwhile (e.g. reconciliation closed it).
                    Some(approval) => self.keep_approval(current, charge, approval).await,
                    None => Ok(current),
                }
            }
            Err(StoreError::Invariant(why)) if late_approval.is_some() => {
                self.duplicate_approval(update.payment, &why).await
            }
            Err(e) => Err(e),
        }
    }

    /// Records an approval on a payment that moved on since it was read:
    /// applied normally while it can still be settled, recovered if it was
    /// closed as failed or expired.
    async fn keep_approval(
        &self,
        current: Payment,
        charge: &Charge,
        approval: Approval,
    ) -> Result<Payment, StoreError> {
        let now = self.now();
        if matches!(
            current.state,
            PaymentState::Authorizing | PaymentState::Unknown | PaymentState::ActionRequired
        ) {
            return Box::pin(self.settle(
                current,
                charge,
                Settlement::Outcome(AcquirerOutcome::Approved(approval)),
                now,
            ))
            .await;
        }
        if !matches!(current.state, PaymentState::Failed | PaymentState::Expired) {
            return Ok(current);
        }
        let mut next = current.clone();
        if next.recover_approval(approval, now).is_err() {
            return Ok(current);
        }
        let event = self.event(
            next.charge_id,
            Some(next.id),
            "payment.late_approval",
            json!({"from": current.state.as_str(), "receipt_number": next.receipt_number}),
            now,
        );
        let update = PaymentUpdate {
            outbox: self.success_messages(&next, charge, now),
            payment: next,
            charge: Some(ChargeChange::MarkPaid),
            refund: None,
            events: vec![event],
        };
        match self.store.update_payment(&update).await {
            Ok(()) => Ok(update.payment),
            Err(StoreError::Invariant(why)) => self.duplicate_approval(current, &why).await,
            Err(e) => Err(e),
        }
    }

    /// The acquirer approved a payment whose charge another payment has
    /// already paid (the store refused a second paid payment): the money
    /// is given back at once by reversing the order, and operators see an
    /// event either way.
    async fn duplicate_approval(&self, payment: Payment, why: &str) -> Result<Payment, StoreError> {
        let now = self.now();
        // Only a second payment of an already paid charge is a duplicate;
        // any other refusal of the write is reported as it is (the approval
        // stays to be recorded by reconciliation).
        let paid_by_other = self
            .store
            .list_payments(&PaymentQuery {
                charge_id: Some(payment.charge_id),
                states: vec![PaymentState::Succeeded, PaymentState::PartiallyRefunded],
                ..PaymentQuery::default()
            })
            .await?
            .iter()
            .any(|p| p.id != payment.id);
        if !paid_by_other {
            return Err(StoreError::Invariant(why.to_string()));
        }
        let reversed = self.acquirer.reverse(&payment.order_number()).await.is_ok();
        let kind = if reversed {
            "payment.duplicate_reversed"
        } else {
            "payment.duplicate_unresolved"
        };
        let event = self.event(
            payment.charge_id,
            Some(payment.id),
            kind,
            json!({"reason": why}),
            now,
        );
        self.store.append_event(&event).await?;
        Ok(self.store.payment(payment.id).await?.unwrap_or(payment))
    }

    fn success_messages(
        &self,
        payment: &Payment,
        charge: &Charge,
        now: DateTime<Utc>,
    ) -> Vec<OutboxMessage> {
        let mut out = Vec::with_capacity(2);
        if self.config.receipt_emails {
            if let Some(contact) = &payment.contact {
                out.push(OutboxMessage::new(
                    self.ids.new_id(),
                    OutboxPayload::ReceiptEmail {
                        payment_id: payment.id,
                        to: contact.email.clone(),
                        language: payment.language,
                    },
                    now,
                ));
            }
        }
        if self.config.agency_notices {
            out.push(self.agency_notice(payment, charge, AgencyEventKind::PaymentSucceeded, now));
        }
        out
    }

    fn agency_notice(
        &self,
        payment: &Payment,
        charge: &Charge,
        kind: AgencyEventKind,
        now: DateTime<Utc>,
    ) -> OutboxMessage {
        OutboxMessage::new(
            self.ids.new_id(),
            OutboxPayload::AgencyNotice(AgencyEvent {
                event_id: self.ids.new_id(),
                kind,
                occurred_at: now,
                code: payment.code.to_string(),
                agency_ref: charge.agency_ref.clone(),
                service: payment.service.clone(),
                payment_id: payment.id,
                receipt_number: payment.receipt_number.clone(),
                amount: payment.amount,
                refunded: payment.refunded,
            }),
            now,
        )
    }

    /// Continues a payment after the 3-D Secure / one-time-code step (or
    /// the payer's return from a hosted page). Calling it for a payment
    /// already settled returns the payment unchanged.
    pub async fn complete_challenge(
        &self,
        payment_id: Uuid,
        response: &ChallengeResponse,
    ) -> Result<Payment, ChallengeError> {
        let mut payment = self
            .store
            .payment(payment_id)
            .await?
            .ok_or(ChallengeError::NotFound)?;
        match payment.state {
            PaymentState::ActionRequired => {}
            PaymentState::Created => return Err(ChallengeError::NotAwaiting),
            PaymentState::Expired => return Err(ChallengeError::Expired),
            _ => return Ok(payment),
        }
        let now = self.now();
        let charge = self
            .store
            .charge(payment.charge_id)
            .await?
            .ok_or(ChallengeError::NotFound)?;
        if now >= payment.expires_at {
            // Past the session end the acquirer decides: the order may be
            // settled there already; if it is still open, the answer goes
            // through like any other.
            let settled = self.reconcile_one(payment, now, false).await?;
            match settled.state {
                PaymentState::ActionRequired => payment = settled,
                PaymentState::Expired => return Err(ChallengeError::Expired),
                _ => return Ok(settled),
            }
        }
        payment
            .resume(now)
            .map_err(|_| ChallengeError::NotAwaiting)?;
        let ev = self.event(
            payment.charge_id,
            Some(payment.id),
            "payment.challenge_answered",
            json!({}),
            now,
        );
        match self
            .store
            .update_payment(&self.update(payment.clone(), vec![ev]))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return self
                    .store
                    .payment(payment_id)
                    .await?
                    .ok_or(ChallengeError::NotFound);
            }
            Err(e) => return Err(e.into()),
        }
        let result = self
            .acquirer
            .complete_challenge(&payment.order_number(), response)
            .await;
        Ok(self.apply_result(payment, &charge, result, true).await?)
    }

    /// A payment by id.
    pub async fn payment(&self, id: Uuid) -> Result<Payment, QueryError> {
        self.store.payment(id).await?.ok_or(QueryError::NotFound)
    }

    /// The signed receipt of a succeeded (or since refunded) payment.
    pub async fn receipt(&self, payment_id: Uuid) -> Result<Receipt, QueryError> {
        let payment = self.payment(payment_id).await?;
        self.receipt_of(&payment).await
    }

    async fn receipt_of(&self, payment: &Payment) -> Result<Receipt, QueryError> {
        let charge = self
            .store
            .charge(payment.charge_id)
            .await?
            .ok_or(QueryError::NotFound)?;
        Receipt::build(
            payment,
            &charge,
            &self.config.catalogue,
            &self.config.operator,
            self.signer.as_ref(),
        )
        .map_err(|_| QueryError::NoReceipt)
    }

    /// Checks a receipt number and signature (as printed or in the QR code):
    /// `Ok(Some(receipt))` when genuine, `Ok(None)` when not.
    pub async fn verify_receipt(
        &self,
        number: &str,
        signature: &str,
    ) -> Result<Option<Receipt>, QueryError> {
        let Some(payment) = self.store.payment_by_receipt(number.trim()).await? else {
            return Ok(None);
        };
        let receipt = self.receipt_of(&payment).await?;
        let genuine = receipt.signature == signature.trim() && receipt.verify(self.signer.as_ref());
        Ok(genuine.then_some(receipt))
    }

    // -- refunds ------------------------------------------------------------

    /// Refunds `amount` (everything left when `None`) of a payment. The same
    /// idempotency key returns the same refund without a second call to the
    /// acquirer. Refunds never exceed what was paid.
    pub async fn refund(
        &self,
        payment_id: Uuid,
        amount: Option<Money>,
        reason: &str,
        idempotency_key: &str,
    ) -> Result<Refund, RefundError> {
        if !valid_key(idempotency_key) {
            return Err(RefundError::KeyInvalid);
        }
        if let Some(existing) = self
            .store
            .refund_by_key(payment_id, idempotency_key)
            .await?
        {
            return Ok(existing);
        }
        let now = self.now();
        let mut attempts = 0;
        let (mut payment, refund) = loop {
            attempts += 1;
            if attempts > 8 {
                return Err(RefundError::Store(StoreError::Conflict));
            }
            let mut payment = self
                .store
                .payment(payment_id)
                .await?
                .ok_or(RefundError::NotFound)?;
            let amount = amount.unwrap_or_else(|| payment.refundable());
            payment.reserve_refund(amount, now)?;
            let refund = Refund {
                id: self.ids.new_id(),
                payment_id,
                amount,
                reason: reason.to_string(),
                state: RefundState::Pending,
                idempotency_key: idempotency_key.to_string(),
                created_at: now,
                updated_at: now,
                failure: None,
            };
            let mut update = self.update(
                payment.clone(),
                vec![self.event(
                    payment.charge_id,
                    Some(payment.id),
                    "refund.requested",
                    json!({"refund_id": refund.id, "amount": amount, "reason": reason}),
                    now,
                )],
            );
            update.refund = Some(refund.clone());
            match self.store.update_payment(&update).await {
                Ok(()) => break (payment, refund),
                Err(StoreError::Conflict) => {
                    if let Some(existing) = self
                        .store
                        .refund_by_key(payment_id, idempotency_key)
                        .await?
                    {
                        return Ok(existing);
                    }
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let result = self
            .acquirer
            .refund(
                &payment.order_number(),
                &refund.id.simple().to_string(),
                refund.amount,
            )
            .await;
        match result {
            Ok(RefundOutcome::Refunded) => {
                Ok(self.finish_refund(&mut payment, refund, true, None).await?)
            }
            Ok(RefundOutcome::Refused(why)) => {
                self.finish_refund(&mut payment, refund, false, Some(why.clone()))
                    .await?;
                Err(RefundError::Failed(why))
            }
            Err(e) if e.kind == AcquirerErrorKind::Unknown => Ok(refund),
            Err(e) => {
                self.finish_refund(&mut payment, refund, false, Some(e.message.clone()))
                    .await?;
                Err(RefundError::Failed(e.message))
            }
        }
    }

    /// Settles a pending refund (succeeded or failed), retrying on
    /// concurrent changes of the payment.
    async fn finish_refund(
        &self,
        payment: &mut Payment,
        mut refund: Refund,
        succeeded: bool,
        failure: Option<String>,
    ) -> Result<Refund, StoreError> {
        for _ in 0..8 {
            let now = self.now();
            let mut next = payment.clone();
            let applied = if succeeded {
                next.complete_refund(refund.amount, now)
            } else {
                next.release_refund(refund.amount, now)
            };
            if applied.is_err() {
                return Err(StoreError::Invariant(
                    "refund does not fit the payment".into(),
                ));
            }
            refund.state = if succeeded {
                RefundState::Succeeded
            } else {
                RefundState::Failed
            };
            refund.updated_at = now;
            refund.failure = failure.clone();
            let kind = if succeeded {
                "refund.succeeded"
            } else {
                "refund.failed"
            };
            let mut update = self.update(
                next.clone(),
                vec![self.event(
                    next.charge_id,
                    Some(next.id),
                    kind,
                    json!({"refund_id": refund.id, "amount": refund.amount}),
                    now,
                )],
            );
            update.refund = Some(refund.clone());
            if succeeded {
                let charge = self
                    .store
                    .charge(next.charge_id)
                    .await?
                    .ok_or(StoreError::ChargeNotFound)?;
                if self.config.agency_notices {
                    update.outbox.push(self.agency_notice(
                        &next,
                        &charge,
                        AgencyEventKind::PaymentRefunded,
                        now,
                    ));
                }
                if next.state == PaymentState::Refunded && charge.status == ChargeStatus::Paid {
                    update.charge = Some(ChargeChange::Reopen);
                }
            }
            match self.store.update_payment(&update).await {
                Ok(()) => {
                    *payment = next;
                    return Ok(refund);
                }
                Err(StoreError::Conflict) => {
                    // Someone else may have settled this very refund.
                    let stored = self.store.refunds_of(payment.id).await?;
                    if let Some(done) = stored
                        .into_iter()
                        .find(|r| r.id == refund.id && r.state != RefundState::Pending)
                    {
                        return Ok(done);
                    }
                    *payment = self
                        .store
                        .payment(payment.id)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    // -- background jobs ----------------------------------------------------

    /// Settles payments whose outcome is unknown, that are stuck in
    /// `Authorizing`, or whose challenge was abandoned, by asking the
    /// acquirer; and settles refunds whose outcome was lost.
    pub async fn reconcile(&self) -> Result<ReconcileReport, StoreError> {
        let now = self.now();
        let mut report = ReconcileReport::default();
        let mut candidates = self
            .store
            .list_payments(&PaymentQuery {
                states: vec![PaymentState::Unknown],
                ..PaymentQuery::default()
            })
            .await?;
        candidates.extend(
            self.store
                .list_payments(&PaymentQuery {
                    states: vec![PaymentState::Authorizing],
                    updated_before: Some(now - self.config.authorizing_stale_after),
                    ..PaymentQuery::default()
                })
                .await?,
        );
        candidates.extend(
            self.store
                .list_payments(&PaymentQuery {
                    states: vec![PaymentState::ActionRequired],
                    ..PaymentQuery::default()
                })
                .await?
                .into_iter()
                .filter(|p| now >= p.expires_at),
        );
        // Payments closed as failed or expired recently after they reached
        // the acquirer: an approval that arrived late is recovered.
        let closed = self
            .store
            .list_payments(&PaymentQuery {
                states: vec![PaymentState::Failed, PaymentState::Expired],
                created_from: Some(now - self.config.late_approval_window),
                ..PaymentQuery::default()
            })
            .await?;
        for payment in closed.into_iter().filter(|p| p.acquirer.is_some()) {
            let Ok(OrderStatus::Approved { approval, .. }) =
                self.acquirer.status(&payment.order_number()).await
            else {
                continue;
            };
            let Some(charge) = self.store.charge(payment.charge_id).await? else {
                continue;
            };
            match self.keep_approval(payment, &charge, approval).await {
                Ok(p) if p.state.is_paid() => report.recovered += 1,
                Ok(_) => {}
                Err(_) => report.errors += 1,
            }
        }
        for payment in candidates {
            report.checked += 1;
            let Ok(settled) = self.reconcile_one(payment, now, true).await else {
                report.errors += 1;
                continue;
            };
            match settled.state {
                PaymentState::Succeeded
                | PaymentState::PartiallyRefunded
                | PaymentState::Refunded => report.succeeded += 1,
                PaymentState::Declined => report.declined += 1,
                PaymentState::Failed => report.failed += 1,
                PaymentState::Expired => report.expired += 1,
                _ => report.unsettled += 1,
            }
        }
        for refund in self.store.refunds_in_state(RefundState::Pending, 0).await? {
            if now - refund.created_at < self.config.authorizing_stale_after {
                continue;
            }
            match self.reconcile_refund(refund).await {
                Ok(true) => report.refunds_settled += 1,
                Ok(false) => {}
                Err(_) => report.errors += 1,
            }
        }
        Ok(report)
    }

    /// Asks the acquirer about one payment and settles it. With
    /// `may_expire`, a payment past its session end that the acquirer has
    /// not charged is expired (or failed, if it reached `Unknown`).
    async fn reconcile_one(
        &self,
        payment: Payment,
        now: DateTime<Utc>,
        may_expire: bool,
    ) -> Result<Payment, StoreError> {
        let Ok(status) = self.acquirer.status(&payment.order_number()).await else {
            return Ok(payment);
        };
        let charge = self
            .store
            .charge(payment.charge_id)
            .await?
            .ok_or(StoreError::ChargeNotFound)?;
        let settlement = match status {
            OrderStatus::Approved { approval, .. } => {
                Settlement::Outcome(AcquirerOutcome::Approved(approval))
            }
            OrderStatus::Declined(reason) => Settlement::Outcome(AcquirerOutcome::Declined(reason)),
            OrderStatus::Reversed => Self::closed(&payment),
            // A request may still be on its way to the acquirer: "no such
            // order" is final only once the payment has waited a while.
            OrderStatus::NotFound
                if now - payment.updated_at < self.config.authorizing_stale_after =>
            {
                return Ok(payment);
            }
            OrderStatus::NotFound => Self::closed(&payment),
            OrderStatus::Pending => {
                if !(may_expire && now >= payment.expires_at) {
                    return Ok(payment);
                }
                // The session is over but the order is open at the acquirer,
                // where the payer may still complete it. Cancel it there, and
                // close the payment only once the acquirer confirms that it
                // was not paid; otherwise it stays in flight and a later
                // round settles it (e.g. when the gateway's own session
                // timeout declines the order).
                if self
                    .acquirer
                    .reverse(&payment.order_number())
                    .await
                    .is_err()
                {
                    return Ok(payment);
                }
                match self.acquirer.status(&payment.order_number()).await {
                    Ok(OrderStatus::Approved { approval, .. }) => {
                        Settlement::Outcome(AcquirerOutcome::Approved(approval))
                    }
                    Ok(OrderStatus::Declined(reason)) => {
                        Settlement::Outcome(AcquirerOutcome::Declined(reason))
                    }
                    Ok(OrderStatus::Reversed | OrderStatus::NotFound) => Self::closed(&payment),
                    Ok(OrderStatus::Pending) | Err(_) => return Ok(payment),
                }
            }
        };
        self.settle(payment, &charge, settlement, now).await
    }

    /// How a payment ends when the acquirer says nothing was charged: an
    /// abandoned challenge expires, anything else failed.
    fn closed(payment: &Payment) -> Settlement {
        if payment.state == PaymentState::ActionRequired {
            Settlement::Expire
        } else {
            Settlement::Fail(Text::PaymentAcquirerUnavailable)
        }
    }

    async fn reconcile_refund(&self, refund: Refund) -> Result<bool, StoreError> {
        let Some(mut payment) = self.store.payment(refund.payment_id).await? else {
            return Ok(false);
        };
        let Ok(status) = self.acquirer.status(&payment.order_number()).await else {
            return Ok(false);
        };
        let acquirer_refunded = match status {
            OrderStatus::Approved { refunded, .. } => refunded,
            _ => return Ok(false),
        };
        let went_through = payment
            .refunded
            .checked_add(refund.amount)
            .map(|expected| acquirer_refunded >= expected)
            .unwrap_or(false);
        self.finish_refund(
            &mut payment,
            refund,
            went_through,
            (!went_through).then(|| "not refunded at the acquirer".to_string()),
        )
        .await?;
        Ok(true)
    }

    /// Expires abandoned payments (started but never sent to the acquirer),
    /// settles abandoned challenges from the acquirer's status (a payer who
    /// left during 3-D Secure may still have paid), and marks charges past
    /// their expiry.
    pub async fn expire_stale(&self) -> Result<ExpireReport, StoreError> {
        let now = self.now();
        let mut report = ExpireReport::default();
        let stale = self
            .store
            .list_payments(&PaymentQuery {
                states: vec![PaymentState::Created, PaymentState::ActionRequired],
                ..PaymentQuery::default()
            })
            .await?;
        for payment in stale.into_iter().filter(|p| now >= p.expires_at) {
            let result = if payment.state == PaymentState::Created {
                match self.store.charge(payment.charge_id).await {
                    Ok(Some(charge)) => {
                        self.settle(payment, &charge, Settlement::Expire, now).await
                    }
                    Ok(None) => Err(StoreError::ChargeNotFound),
                    Err(e) => Err(e),
                }
            } else {
                self.reconcile_one(payment, now, true).await
            };
            let Ok(settled) = result else {
                report.errors += 1;
                continue;
            };
            match settled.state {
                PaymentState::Expired => report.payments_expired += 1,
                s if !s.is_in_flight() => report.payments_settled += 1,
                _ => {}
            }
        }
        let charges = self
            .store
            .list_charges(&ChargeQuery {
                status: Some(ChargeStatus::Unpaid),
                expires_before: Some(now),
                limit: 0,
            })
            .await?;
        for charge in charges {
            let in_flight = self
                .store
                .list_payments(&PaymentQuery {
                    charge_id: Some(charge.id),
                    states: PaymentState::IN_FLIGHT.to_vec(),
                    ..PaymentQuery::default()
                })
                .await?;
            if !in_flight.is_empty() {
                continue;
            }
            let ev = self.event(charge.id, None, "charge.expired", json!({}), now);
            match self
                .store
                .set_charge_status(charge.id, ChargeStatus::Unpaid, ChargeStatus::Expired, &ev)
                .await
            {
                Ok(()) => report.charges_expired += 1,
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Delivers due outbox messages through the notifiers, at least once
    /// each: a message is marked delivered only after its notifier accepted
    /// it; failures are retried on the back-off schedule and end as dead
    /// letters. Messages are delivered one after another under one lease
    /// (`Config::outbox_lease`); once three quarters of it have passed, the
    /// rest of the batch is left for a later round (`deferred`), so a slow
    /// receiver never makes two workers deliver the same message. A message whose channel has no notifier is retried later
    /// (and ends dead), never dropped.
    pub async fn dispatch_outbox(
        &self,
        worker: &str,
        limit: usize,
    ) -> Result<DispatchReport, StoreError> {
        let now = self.now();
        let lease_until = now + self.config.outbox_lease;
        let messages = self
            .store
            .claim_outbox(now, lease_until, limit, worker)
            .await?;
        let mut report = DispatchReport::default();
        // Stop before the lease runs out: a message whose lease has expired
        // may already be claimed by another worker, and delivering it here
        // too would send it twice. What is left is claimed again later.
        let deadline = lease_until - self.config.outbox_lease / 4;
        for message in messages {
            if self.now() >= deadline {
                report.deferred += 1;
                continue;
            }
            let result = match self.notifiers.get(&message.payload.channel()) {
                None => Err(NotifyError {
                    transient: true,
                    message: format!("no notifier for {:?}", message.payload.channel()),
                }),
                Some(notifier) => match self.resolve(&message.payload).await {
                    Ok(notification) => notifier.deliver(message.id, &notification).await,
                    Err(e) => Err(NotifyError {
                        transient: e.is_retryable(),
                        message: e.to_string(),
                    }),
                },
            };
            match result {
                Ok(()) => {
                    self.store.outbox_delivered(message.id, self.now()).await?;
                    report.delivered += 1;
                }
                Err(e) => {
                    let failures = message.attempts + 1;
                    let retry_at = if e.transient {
                        retry_delay(failures).map(|d| self.now() + d)
                    } else {
                        None
                    };
                    if retry_at.is_some() {
                        report.retried += 1;
                    } else {
                        report.dead += 1;
                    }
                    self.store
                        .outbox_failed(message.id, &e.message, retry_at)
                        .await?;
                }
            }
        }
        Ok(report)
    }

    async fn resolve(&self, payload: &OutboxPayload) -> Result<Notification, StoreError> {
        Ok(match payload {
            OutboxPayload::ReceiptEmail {
                payment_id,
                to,
                language,
            } => {
                let receipt = match self.receipt(*payment_id).await {
                    Ok(r) => r,
                    Err(QueryError::Store(e)) => return Err(e),
                    Err(_) => return Err(StoreError::NotFound),
                };
                Notification::ReceiptEmail {
                    to: to.clone(),
                    language: *language,
                    receipt: Box::new(receipt),
                }
            }
            OutboxPayload::AgencyNotice(event) => Notification::Agency(event.clone()),
        })
    }
}

enum Settlement {
    Outcome(AcquirerOutcome),
    Unknown,
    Fail(Text),
    /// The purchase was refused before it reached the acquirer.
    NotSent,
    Expire,
}
