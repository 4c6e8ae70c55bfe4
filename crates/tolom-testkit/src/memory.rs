//! An in-memory store that honours every storage contract.
//!
//! All state sits behind one mutex, so each port call is one atomic step:
//! the one-in-flight rule, optimistic versions and the "outbox in the same
//! transaction" rule hold exactly as a database adapter must make them hold.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tolom_core::access::{ApiToken, ANONYMISED};
use tolom_core::audit::{audit_hash, AuditEntry, AuditHead, AuditNote, GENESIS_HASH};
use tolom_core::card::{Email, Phone};
use tolom_core::charge::{Charge, ChargeStatus};
use tolom_core::code::PaymentCode;
use tolom_core::events::Event;
use tolom_core::external::{ExternalPayment, ExternalState, PaymentChannel};
use tolom_core::outbox::OutboxPayload;
use tolom_core::outbox::{OutboxMessage, OutboxStatus};
use tolom_core::payment::{Payment, Refund, RefundState};
use tolom_core::ports::OpsStore;
use tolom_core::ports::*;
use tolom_core::terms::TermsEdition;
use uuid::Uuid;

/// Appends events to the log and to the audit log, in one step: each
/// event is copied once and shared by both.
fn record(s: &mut State, events: &[Event]) {
    for e in events {
        let e = Arc::new(e.clone());
        s.audit.push(Entry::new(e.at, Content::Event(e.clone())));
        s.events.push(e);
    }
}

/// Appends an operator's note to the audit log.
fn note(s: &mut State, note: &AuditNote) {
    s.audit
        .push(Entry::new(note.at, Content::Note(Box::new(note.clone()))));
}

/// What an audit entry records: an event of the log (shared with it) or
/// an operator's note.
enum Content {
    Event(Arc<Event>),
    Note(Box<AuditNote>),
}

/// An audit entry as the store keeps it: appended with what it records,
/// chained (its hash computed) when sealed. Appending takes no hash, so a
/// write never waits on the chain; sealing is in order, each entry once,
/// as in the PostgreSQL store, and what a sealed entry reads as is exactly
/// what was hashed.
struct Entry {
    /// When, to the microsecond (what every store hashes).
    at: DateTime<Utc>,
    content: Content,
    /// `None` until sealed.
    hash: Option<String>,
}

impl Entry {
    fn new(at: DateTime<Utc>, content: Content) -> Entry {
        Entry {
            at: DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at),
            content,
            hash: None,
        }
    }

    /// Actor, action, subject and data, as the entry records them.
    fn fields(&self) -> (&str, &str, String, &serde_json::Value) {
        match &self.content {
            Content::Event(e) => (
                &e.actor,
                e.kind.as_str(),
                e.payment_id.unwrap_or(e.charge_id).to_string(),
                &e.data,
            ),
            Content::Note(n) => (&n.actor, &n.action, n.subject.clone(), &n.data),
        }
    }
}

/// The audit log: entries in the order appended, the first `sealed` of
/// them chained.
#[derive(Default)]
struct AuditLog {
    entries: Vec<Entry>,
    sealed: usize,
}

impl AuditLog {
    fn push(&mut self, e: Entry) {
        self.entries.push(e);
    }

    fn prev_hash(&self, i: usize) -> &str {
        i.checked_sub(1)
            .and_then(|p| self.entries.get(p))
            .and_then(|e| e.hash.as_deref())
            .unwrap_or(GENESIS_HASH)
    }

    /// Chains up to `max` waiting entries, oldest first; how many.
    fn seal(&mut self, max: usize) -> u64 {
        let end = self.entries.len().min(self.sealed.saturating_add(max));
        for i in self.sealed..end {
            let e = &self.entries[i];
            let (actor, action, subject, data) = e.fields();
            let hash = audit_hash(
                self.prev_hash(i),
                i as u64 + 1,
                e.at,
                actor,
                action,
                &subject,
                data,
            );
            self.entries[i].hash = Some(hash);
        }
        let done = end.saturating_sub(self.sealed);
        self.sealed = end;
        done as u64
    }

    fn unsealed(&self) -> u64 {
        (self.entries.len() - self.sealed) as u64
    }

    /// Sealed entry `i` (from 0) as the chain has it.
    fn entry(&self, i: usize) -> Option<AuditEntry> {
        let e = self.entries.get(i)?;
        let hash = e.hash.clone()?;
        let (actor, action, subject, data) = e.fields();
        Some(AuditEntry {
            seq: i as u64 + 1,
            at: e.at,
            actor: actor.to_string(),
            action: action.to_string(),
            subject,
            data: data.clone(),
            prev_hash: self.prev_hash(i).to_string(),
            hash,
        })
    }

    fn head(&self) -> AuditHead {
        self.sealed
            .checked_sub(1)
            .and_then(|i| self.entry(i))
            .map(|e| AuditHead::of(&e))
            .unwrap_or_else(AuditHead::empty)
    }
}

/// A map by id with a cheap hash of the id (ids are made by tolom, never
/// chosen by a client; `SipHash` of each id was a tenth of the store's CPU
/// per payment). Maps keyed by what clients send keep `SipHash`.
type IdMap<V> = HashMap<Uuid, V, BuildHasherDefault<IdHasher>>;

/// Hashes an id by multiplying its two halves into one word (FxHash's
/// mixing); `hashbrown` takes the high bits for its control bytes, which
/// the multiplication fills.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

#[derive(Default)]
struct State {
    charges: IdMap<Charge>,
    by_code: HashMap<String, Uuid>,
    by_agency_ref: HashMap<(String, String), Uuid>,
    payments: IdMap<Payment>,
    payment_order: Vec<Uuid>,
    by_start_key: HashMap<String, Uuid>,
    by_receipt: HashMap<String, Uuid>,
    in_flight: IdMap<Uuid>,
    paid: IdMap<Uuid>,
    refunds: IdMap<Refund>,
    refund_order: Vec<Uuid>,
    outbox: Vec<OutboxMessage>,
    outbox_index: IdMap<usize>,
    events: Vec<Arc<Event>>,
    terms: Vec<TermsEdition>,
    audit: AuditLog,
    checkpoints: Vec<StoredCheckpoint>,
    tokens: Vec<ApiToken>,
    external: IdMap<ExternalPayment>,
    external_order: Vec<Uuid>,
    external_by_ref: HashMap<(PaymentChannel, String), Uuid>,
    /// charge id → the accepted payment made elsewhere that pays it.
    external_paid: IdMap<Uuid>,
}

impl State {
    /// Whether something pays the charge: a paid card payment or an
    /// accepted payment made elsewhere.
    fn is_paid(&self, charge_id: &Uuid) -> bool {
        self.paid.contains_key(charge_id) || self.external_paid.contains_key(charge_id)
    }

    /// Appends what goes with a write of a payment made elsewhere.
    fn write_external(&mut self, w: &ExternalWrite) {
        record(self, &w.events);
        for n in &w.notes {
            note(self, n);
        }
        for m in &w.outbox {
            let i = self.outbox.len();
            self.outbox_index.insert(m.id, i);
            self.outbox.push(m.clone());
        }
    }

    /// An accepted payment pays its charge: the charge becomes `Paid`,
    /// refused (`Conflict`) unless it is `Unpaid` or `Expired`; a second
    /// thing paying it is refused as an invariant.
    fn pay_externally(&mut self, p: &ExternalPayment) -> Result<(), StoreError> {
        let charge = self
            .charges
            .get(&p.charge_id)
            .ok_or(StoreError::ChargeNotFound)?;
        if !matches!(charge.status, ChargeStatus::Unpaid | ChargeStatus::Expired) {
            return Err(StoreError::Conflict);
        }
        if self.is_paid(&p.charge_id) {
            return Err(StoreError::invariant(
                InvariantKind::SecondPaidPayment,
                "the charge is already paid",
            ));
        }
        Ok(())
    }
}

/// Storage in memory. Cheap to create; one per test.
#[derive(Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
}

impl std::fmt::Debug for InMemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InMemoryStore")
    }
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> InMemoryStore {
        InMemoryStore::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Unavailable("in-memory store poisoned".into()))
    }

    /// Every event written, in order (for assertions).
    pub fn all_events(&self) -> Vec<Event> {
        self.lock()
            .map(|s| s.events.iter().map(|e| Event::clone(e)).collect())
            .unwrap_or_default()
    }

    /// Every payment, in creation order (for assertions).
    pub fn all_payments(&self) -> Vec<Payment> {
        self.lock()
            .map(|s| {
                s.payment_order
                    .iter()
                    .filter_map(|id| s.payments.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[async_trait]
impl ChargeStore for InMemoryStore {
    async fn insert_charge(
        &self,
        charge: &Charge,
        event: &Event,
        notes: &[AuditNote],
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if s.by_code.contains_key(charge.code.as_str()) || s.charges.contains_key(&charge.id) {
            return Err(StoreError::DuplicateCode);
        }
        let reference = charge
            .agency_ref
            .as_ref()
            .map(|r| (charge.service.clone(), r.clone()));
        if reference
            .as_ref()
            .is_some_and(|r| s.by_agency_ref.contains_key(r))
        {
            return Err(StoreError::invariant(
                InvariantKind::DuplicateAgencyRef,
                "another charge of the service holds this agency reference",
            ));
        }
        if let Some(r) = reference {
            s.by_agency_ref.insert(r, charge.id);
        }
        s.by_code.insert(charge.code.to_string(), charge.id);
        s.charges.insert(charge.id, charge.clone());
        record(&mut s, std::slice::from_ref(event));
        for n in notes {
            note(&mut s, n);
        }
        Ok(())
    }

    async fn charge_by_agency_ref(
        &self,
        service: &str,
        agency_ref: &str,
    ) -> Result<Option<Charge>, StoreError> {
        let s = self.lock()?;
        Ok(s.by_agency_ref
            .get(&(service.to_string(), agency_ref.to_string()))
            .and_then(|id| s.charges.get(id))
            .cloned())
    }

    async fn charge_by_code(&self, code: &PaymentCode) -> Result<Option<Charge>, StoreError> {
        let s = self.lock()?;
        Ok(s.by_code
            .get(code.as_str())
            .and_then(|id| s.charges.get(id))
            .cloned())
    }

    async fn charge(&self, id: Uuid) -> Result<Option<Charge>, StoreError> {
        Ok(self.lock()?.charges.get(&id).cloned())
    }

    async fn set_charge_status(
        &self,
        id: Uuid,
        from: ChargeStatus,
        to: ChargeStatus,
        event: &Event,
        notes: &[AuditNote],
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        let paid = s.is_paid(&id);
        let charge = s.charges.get_mut(&id).ok_or(StoreError::ChargeNotFound)?;
        if charge.status != from {
            return Err(StoreError::Conflict);
        }
        if from == ChargeStatus::Paid && to != ChargeStatus::Paid && paid {
            return Err(StoreError::invariant(
                InvariantKind::PaidWithoutPayment,
                "charge has a paid payment",
            ));
        }
        if to == ChargeStatus::Paid && !paid {
            return Err(StoreError::invariant(
                InvariantKind::PaidWithoutPayment,
                "charge has no paid payment",
            ));
        }
        charge.status = to;
        record(&mut s, std::slice::from_ref(event));
        for n in notes {
            note(&mut s, n);
        }
        Ok(())
    }

    async fn list_charges(&self, q: &ChargeQuery) -> Result<Vec<Charge>, StoreError> {
        let s = self.lock()?;
        let mut out: Vec<Charge> = s
            .charges
            .values()
            .filter(|c| q.status.is_none_or(|st| c.status == st))
            .filter(|c| q.expires_before.is_none_or(|t| c.expires_at < t))
            .cloned()
            .collect();
        out.sort_by_key(|c| (c.expires_at, c.id));
        if q.limit > 0 {
            out.truncate(q.limit);
        }
        Ok(out)
    }
}

fn check_immutable(old: &Payment, new: &Payment) -> Result<(), StoreError> {
    if old.amount() != new.amount()
        || old.fee() != new.fee()
        || old.total() != new.total()
        || old.charge_id() != new.charge_id()
        || old.code() != new.code()
    {
        return Err(StoreError::invariant(
            InvariantKind::ImmutableField,
            "amounts and charge are fixed after creation",
        ));
    }
    Ok(())
}

#[async_trait]
impl PaymentStore for InMemoryStore {
    async fn create_payment(
        &self,
        payment: &Payment,
        events: &[Event],
    ) -> Result<CreateOutcome, StoreError> {
        let mut s = self.lock()?;
        if let Some(existing) = s
            .by_start_key
            .get(payment.start_key())
            .and_then(|id| s.payments.get(id))
        {
            return Ok(CreateOutcome::Existing(Box::new(existing.clone())));
        }
        let charge = s
            .charges
            .get(&payment.charge_id())
            .ok_or(StoreError::ChargeNotFound)?;
        if charge.status != ChargeStatus::Unpaid {
            return Err(StoreError::ChargeNotPayable(charge.status));
        }
        if let Some(other) = s.in_flight.get(&payment.charge_id()) {
            return Err(StoreError::InFlight { payment_id: *other });
        }
        if s.payments.contains_key(&payment.id()) {
            return Err(StoreError::invariant(
                InvariantKind::Constraint,
                "duplicate payment id",
            ));
        }
        if payment.state().is_in_flight() {
            s.in_flight.insert(payment.charge_id(), payment.id());
        }
        s.by_start_key
            .insert(payment.start_key().to_string(), payment.id());
        s.payments.insert(payment.id(), payment.clone());
        s.payment_order.push(payment.id());
        record(&mut s, events);
        Ok(CreateOutcome::Created)
    }

    async fn payment(&self, id: Uuid) -> Result<Option<Payment>, StoreError> {
        Ok(self.lock()?.payments.get(&id).cloned())
    }

    async fn payment_by_receipt(&self, number: &str) -> Result<Option<Payment>, StoreError> {
        let s = self.lock()?;
        Ok(s.by_receipt
            .get(number)
            .and_then(|id| s.payments.get(id))
            .cloned())
    }

    async fn update_payment(&self, u: &PaymentUpdate) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        let new = &u.payment;
        let old = s.payments.get(&new.id()).ok_or(StoreError::NotFound)?;
        if old.version() + 1 != new.version() {
            return Err(StoreError::Conflict);
        }
        check_immutable(old, new)?;
        // Check every rule before writing anything.
        if new.state().is_in_flight() {
            if let Some(other) = s.in_flight.get(&new.charge_id()) {
                if *other != new.id() {
                    return Err(StoreError::invariant(
                        InvariantKind::SecondInFlight,
                        "another payment is in flight",
                    ));
                }
            }
        }
        if new.state().is_paid() {
            if let Some(other) = s.paid.get(&new.charge_id()) {
                if *other != new.id() {
                    return Err(StoreError::invariant(
                        InvariantKind::SecondPaidPayment,
                        "charge already has a paid payment",
                    ));
                }
            }
        }
        let committed = new
            .refunded()
            .checked_add(new.refund_pending())
            .map_err(|_| {
                StoreError::invariant(InvariantKind::RefundsExceedTotal, "refund amounts")
            })?;
        if committed > new.total() {
            return Err(StoreError::invariant(
                InvariantKind::RefundsExceedTotal,
                "refunds exceed the payment",
            ));
        }
        if let Some(r) = &u.refund {
            if r.payment_id != new.id() {
                return Err(StoreError::invariant(
                    InvariantKind::Constraint,
                    "refund of another payment",
                ));
            }
            if let Some(existing) = s.refunds.get(&r.id) {
                if existing.amount != r.amount || existing.payment_id != r.payment_id {
                    return Err(StoreError::invariant(
                        InvariantKind::ImmutableField,
                        "refund amount is fixed",
                    ));
                }
            } else if s
                .refunds
                .values()
                .any(|o| o.payment_id == r.payment_id && o.idempotency_key == r.idempotency_key)
            {
                return Err(StoreError::Conflict);
            }
        }
        let charge = s
            .charges
            .get(&new.charge_id())
            .ok_or(StoreError::ChargeNotFound)?;
        let charge_status = match u.charge {
            None => charge.status,
            Some(ChargeChange::MarkPaid) => {
                if charge.status == ChargeStatus::Paid {
                    return Err(StoreError::invariant(
                        InvariantKind::ChargeAlreadyPaid,
                        "charge already paid",
                    ));
                }
                if !new.state().is_paid() {
                    return Err(StoreError::invariant(
                        InvariantKind::PaidWithoutPayment,
                        "MarkPaid without a paid payment",
                    ));
                }
                ChargeStatus::Paid
            }
            Some(ChargeChange::Reopen) => {
                if charge.status != ChargeStatus::Paid
                    || new.state().is_paid()
                    || s.external_paid.contains_key(&new.charge_id())
                {
                    return Err(StoreError::invariant(
                        InvariantKind::PaidWithoutPayment,
                        "only a fully refunded payment reopens its charge",
                    ));
                }
                ChargeStatus::Unpaid
            }
        };
        // Write.
        let new = new.clone();
        if new.state().is_in_flight() {
            s.in_flight.insert(new.charge_id(), new.id());
        } else if s.in_flight.get(&new.charge_id()) == Some(&new.id()) {
            s.in_flight.remove(&new.charge_id());
        }
        if new.state().is_paid() {
            s.paid.insert(new.charge_id(), new.id());
        } else if s.paid.get(&new.charge_id()) == Some(&new.id()) {
            s.paid.remove(&new.charge_id());
        }
        if let Some(number) = new.receipt_number() {
            s.by_receipt.insert(number.to_string(), new.id());
        }
        if let Some(c) = s.charges.get_mut(&new.charge_id()) {
            c.status = charge_status;
        }
        if let Some(r) = &u.refund {
            if !s.refunds.contains_key(&r.id) {
                s.refund_order.push(r.id);
            }
            s.refunds.insert(r.id, r.clone());
        }
        record(&mut s, &u.events);
        for n in &u.notes {
            note(&mut s, n);
        }
        for m in &u.outbox {
            let i = s.outbox.len();
            s.outbox_index.insert(m.id, i);
            s.outbox.push(m.clone());
        }
        s.payments.insert(new.id(), new);
        Ok(())
    }

    async fn list_payments(&self, q: &PaymentQuery) -> Result<Vec<Payment>, StoreError> {
        let s = self.lock()?;
        let mut out: Vec<Payment> = s
            .payment_order
            .iter()
            .filter_map(|id| s.payments.get(id))
            .filter(|p| q.states.is_empty() || q.states.contains(&p.state()))
            .filter(|p| q.service.as_ref().is_none_or(|sv| p.service() == sv))
            .filter(|p| q.charge_id.is_none_or(|c| p.charge_id() == c))
            .filter(|p| q.created_from.is_none_or(|t| p.created_at() >= t))
            .filter(|p| q.created_to.is_none_or(|t| p.created_at() < t))
            .filter(|p| q.updated_before.is_none_or(|t| p.updated_at() < t))
            .cloned()
            .collect();
        out.sort_by_key(|p| (p.created_at(), p.id()));
        if q.limit > 0 {
            out.truncate(q.limit);
        }
        Ok(out)
    }

    async fn refund_by_key(
        &self,
        payment_id: Uuid,
        key: &str,
    ) -> Result<Option<Refund>, StoreError> {
        let s = self.lock()?;
        Ok(s.refunds
            .values()
            .find(|r| r.payment_id == payment_id && r.idempotency_key == key)
            .cloned())
    }

    async fn refunds_of(&self, payment_id: Uuid) -> Result<Vec<Refund>, StoreError> {
        let s = self.lock()?;
        Ok(s.refund_order
            .iter()
            .filter_map(|id| s.refunds.get(id))
            .filter(|r| r.payment_id == payment_id)
            .cloned()
            .collect())
    }

    async fn refunds_in_state(
        &self,
        state: RefundState,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        let s = self.lock()?;
        let it = s
            .refund_order
            .iter()
            .filter_map(|id| s.refunds.get(id))
            .filter(|r| r.state == state)
            .cloned();
        Ok(if limit > 0 {
            it.take(limit).collect()
        } else {
            it.collect()
        })
    }
}

#[async_trait]
impl ExternalPaymentStore for InMemoryStore {
    async fn record_external_payment(
        &self,
        w: &ExternalWrite,
    ) -> Result<RecordOutcome, StoreError> {
        let mut s = self.lock()?;
        let p = &w.payment;
        let key = (p.channel, p.reference.clone());
        if let Some(existing) = s
            .external_by_ref
            .get(&key)
            .and_then(|id| s.external.get(id))
        {
            return Ok(RecordOutcome::Existing(Box::new(existing.clone())));
        }
        let charge = s
            .charges
            .get(&p.charge_id)
            .ok_or(StoreError::ChargeNotFound)?;
        if s.external.contains_key(&p.id) {
            return Err(StoreError::invariant(
                InvariantKind::Constraint,
                "duplicate external payment id",
            ));
        }
        match p.state {
            ExternalState::Accepted => s.pay_externally(p)?,
            ExternalState::Duplicate if charge.status != ChargeStatus::Paid => {
                return Err(StoreError::Conflict)
            }
            ExternalState::Duplicate => {}
            ExternalState::Returned => {
                return Err(StoreError::invariant(
                    InvariantKind::Constraint,
                    "a payment made elsewhere is never recorded as returned",
                ))
            }
        }
        if p.state == ExternalState::Accepted {
            s.external_paid.insert(p.charge_id, p.id);
            if let Some(c) = s.charges.get_mut(&p.charge_id) {
                c.status = ChargeStatus::Paid;
            }
        }
        s.external_by_ref.insert(key, p.id);
        s.external_order.push(p.id);
        s.external.insert(p.id, p.clone());
        s.write_external(w);
        Ok(RecordOutcome::Recorded)
    }

    async fn update_external_payment(
        &self,
        from: ExternalState,
        w: &ExternalWrite,
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        let new = &w.payment;
        let old = s.external.get(&new.id).ok_or(StoreError::NotFound)?;
        let fixed = |p: &ExternalPayment| {
            (
                p.charge_id,
                p.code.clone(),
                p.service.clone(),
                p.channel,
                p.reference.clone(),
                p.amount,
                p.paid_at,
                p.recorded_at,
                p.recorded_by.clone(),
            )
        };
        if fixed(old) != fixed(new) {
            return Err(StoreError::invariant(
                InvariantKind::ImmutableField,
                "only the state and the resolution of a payment made elsewhere change",
            ));
        }
        if old.state != from {
            return Err(StoreError::Conflict);
        }
        if new.state == ExternalState::Accepted && old.state != ExternalState::Accepted {
            s.pay_externally(new)?;
            s.external_paid.insert(new.charge_id, new.id);
            if let Some(c) = s.charges.get_mut(&new.charge_id) {
                c.status = ChargeStatus::Paid;
            }
        } else if old.state == ExternalState::Accepted && new.state != ExternalState::Accepted {
            return Err(StoreError::invariant(
                InvariantKind::PaidWithoutPayment,
                "an accepted payment made elsewhere stays accepted",
            ));
        }
        s.external.insert(new.id, new.clone());
        s.write_external(w);
        Ok(())
    }

    async fn external_payment(&self, id: Uuid) -> Result<Option<ExternalPayment>, StoreError> {
        Ok(self.lock()?.external.get(&id).cloned())
    }

    async fn external_payment_by_reference(
        &self,
        channel: PaymentChannel,
        reference: &str,
    ) -> Result<Option<ExternalPayment>, StoreError> {
        let s = self.lock()?;
        Ok(s.external_by_ref
            .get(&(channel, reference.to_string()))
            .and_then(|id| s.external.get(id))
            .cloned())
    }

    async fn list_external_payments(
        &self,
        q: &ExternalQuery,
    ) -> Result<Vec<ExternalPayment>, StoreError> {
        let s = self.lock()?;
        let mut out: Vec<ExternalPayment> = s
            .external_order
            .iter()
            .filter_map(|id| s.external.get(id))
            .filter(|p| q.states.is_empty() || q.states.contains(&p.state))
            .filter(|p| q.charge_id.is_none_or(|c| p.charge_id == c))
            .filter(|p| q.service.as_ref().is_none_or(|sv| &p.service == sv))
            .filter(|p| q.paid_from.is_none_or(|t| p.paid_at >= t))
            .filter(|p| q.paid_to.is_none_or(|t| p.paid_at < t))
            .cloned()
            .collect();
        out.sort_by_key(|p| (p.recorded_at, p.id));
        if q.limit > 0 {
            out.truncate(q.limit);
        }
        Ok(out)
    }
}

#[async_trait]
impl OutboxStore for InMemoryStore {
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
        _worker: &str,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut s = self.lock()?;
        let mut out = Vec::new();
        for m in s.outbox.iter_mut() {
            if out.len() >= limit {
                break;
            }
            if m.status == OutboxStatus::Pending
                && m.next_attempt_at <= now
                && m.lease_until.is_none_or(|l| l <= now)
            {
                m.lease_until = Some(lease_until);
                out.push(m.clone());
            }
        }
        Ok(out)
    }

    async fn outbox_delivered(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        let i = *s.outbox_index.get(&id).ok_or(StoreError::NotFound)?;
        let m = &mut s.outbox[i];
        if m.status != OutboxStatus::Delivered {
            m.status = OutboxStatus::Delivered;
            m.delivered_at = Some(now);
        }
        m.lease_until = None;
        Ok(())
    }

    async fn outbox_delivered_many(
        &self,
        ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        // All or nothing: every id is checked before any is marked.
        let mut at = Vec::with_capacity(ids.len());
        for id in ids {
            at.push(*s.outbox_index.get(id).ok_or(StoreError::NotFound)?);
        }
        for i in at {
            let m = &mut s.outbox[i];
            if m.status != OutboxStatus::Delivered {
                m.status = OutboxStatus::Delivered;
                m.delivered_at = Some(now);
            }
            m.lease_until = None;
        }
        Ok(())
    }

    async fn outbox_failed(
        &self,
        id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        let i = *s.outbox_index.get(&id).ok_or(StoreError::NotFound)?;
        let m = &mut s.outbox[i];
        if m.status == OutboxStatus::Delivered {
            return Ok(());
        }
        m.attempts += 1;
        m.last_error = Some(error.to_string());
        m.lease_until = None;
        match retry_at {
            Some(t) => {
                m.status = OutboxStatus::Pending;
                m.next_attempt_at = t;
            }
            None => m.status = OutboxStatus::Dead,
        }
        Ok(())
    }

    async fn outbox_list(
        &self,
        status: Option<OutboxStatus>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let s = self.lock()?;
        let it = s
            .outbox
            .iter()
            .rev()
            .filter(|m| status.is_none_or(|st| m.status == st))
            .cloned();
        Ok(if limit > 0 {
            it.take(limit).collect()
        } else {
            it.collect()
        })
    }

    async fn outbox_retry(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        audit: &AuditNote,
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        let i = *s.outbox_index.get(&id).ok_or(StoreError::NotFound)?;
        let m = &mut s.outbox[i];
        if m.status != OutboxStatus::Dead {
            return Err(StoreError::NotFound);
        }
        m.status = OutboxStatus::Pending;
        m.next_attempt_at = now;
        m.lease_until = None;
        note(&mut s, audit);
        Ok(())
    }
}

#[async_trait]
impl EventLog for InMemoryStore {
    async fn append_event(&self, event: &Event) -> Result<(), StoreError> {
        record(&mut *self.lock()?, std::slice::from_ref(event));
        Ok(())
    }

    async fn events_of(&self, id: Uuid) -> Result<Vec<Event>, StoreError> {
        let s = self.lock()?;
        Ok(s.events
            .iter()
            .filter(|e| e.charge_id == id || e.payment_id == Some(id))
            .map(|e| Event::clone(e))
            .collect())
    }
}

#[async_trait]
impl TermsStore for InMemoryStore {
    async fn publish_terms(
        &self,
        edition: &TermsEdition,
        audit: &AuditNote,
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if s.terms.iter().any(|e| e.id == edition.id) {
            return Err(StoreError::invariant(
                InvariantKind::DuplicateEdition,
                format!("edition {} exists", edition.id),
            ));
        }
        s.terms.push(edition.clone());
        note(&mut s, audit);
        Ok(())
    }

    async fn terms_editions(&self) -> Result<Vec<TermsEdition>, StoreError> {
        let s = self.lock()?;
        let mut out = s.terms.clone();
        out.sort_by_key(|e| (e.effective_at, e.published_at));
        Ok(out)
    }
}

#[async_trait]
impl OpsStore for InMemoryStore {
    async fn append_audit(&self, audit: &AuditNote) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        note(&mut s, audit);
        Ok(())
    }

    // Entries are chained in batches, off the writes (one mutex: in the
    // order appended, each once).
    async fn seal_audit(&self, max: usize) -> Result<u64, StoreError> {
        Ok(self.lock()?.audit.seal(max))
    }

    async fn audit_unsealed(&self) -> Result<u64, StoreError> {
        Ok(self.lock()?.audit.unsealed())
    }

    // Reading the chain seals what waits first, so that readers see every
    // entry written (as when entries were chained on append).
    async fn audit_head(&self) -> Result<AuditHead, StoreError> {
        let mut s = self.lock()?;
        s.audit.seal(usize::MAX);
        Ok(s.audit.head())
    }

    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError> {
        let mut s = self.lock()?;
        if s.checkpoints.iter().any(|c| c.size == checkpoint.size) {
            return Ok(false);
        }
        s.checkpoints.push(checkpoint.clone());
        Ok(true)
    }

    async fn checkpoints(&self, limit: usize) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let s = self.lock()?;
        let mut out = s.checkpoints.clone();
        out.sort_by_key(|c| std::cmp::Reverse(c.size));
        if limit > 0 {
            out.truncate(limit);
        }
        Ok(out)
    }

    async fn audit_entries(
        &self,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut s = self.lock()?;
        s.audit.seal(usize::MAX);
        let from = usize::try_from(from_seq.saturating_sub(1)).unwrap_or(usize::MAX);
        let end = if limit > 0 {
            from.saturating_add(limit).min(s.audit.sealed)
        } else {
            s.audit.sealed
        };
        Ok((from..end).filter_map(|i| s.audit.entry(i)).collect())
    }

    async fn create_token(&self, token: &ApiToken, audit: &AuditNote) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        if s.tokens.iter().any(|t| t.name == token.name) {
            return Err(StoreError::invariant(
                InvariantKind::DuplicateToken,
                format!("token {} exists", token.name),
            ));
        }
        s.tokens.push(token.clone());
        note(&mut s, audit);
        Ok(())
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        Ok(self.lock()?.tokens.clone())
    }

    async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let s = self.lock()?;
        Ok(s.tokens
            .iter()
            .find(|t| t.secret_hash == secret_hash && t.revoked_at.is_none())
            .cloned())
    }

    async fn revoke_token(
        &self,
        name: &str,
        at: DateTime<Utc>,
        audit: &AuditNote,
    ) -> Result<(), StoreError> {
        let mut s = self.lock()?;
        let t = s
            .tokens
            .iter_mut()
            .find(|t| t.name == name && t.revoked_at.is_none())
            .ok_or(StoreError::NotFound)?;
        t.revoked_at = Some(at);
        note(&mut s, audit);
        Ok(())
    }

    async fn anonymise_before(
        &self,
        before: DateTime<Utc>,
        audit: &AuditNote,
    ) -> Result<u64, StoreError> {
        let mut s = self.lock()?;
        let mut ids = Vec::new();
        for p in s.payments.values_mut() {
            let has_data =
                p.contact().is_some() || p.card().is_some_and(|c| c.holder != ANONYMISED);
            if p.updated_at() < before && !p.state().is_in_flight() && has_data {
                let mut r = p.record().clone();
                r.contact = None;
                if let Some(card) = r.card.as_mut() {
                    card.holder = ANONYMISED.to_string();
                }
                r.version += 1;
                *p = Payment::restore(r).map_err(|e| StoreError::Broken(e.to_string()))?;
                ids.push(p.id());
            }
        }
        for m in s.outbox.iter_mut() {
            if let OutboxPayload::ReceiptEmail { payment_id, to, .. } = &mut m.payload {
                if ids.contains(payment_id) {
                    *to =
                        Email::from_stored(format!("{}@invalid", ANONYMISED.to_ascii_lowercase()));
                }
            }
        }
        // The failure texts of every message of an anonymised payment (a
        // bounce quotes the address) go too.
        let anonymised: Vec<Uuid> = s
            .payments
            .values()
            .filter(|p| {
                p.contact().is_none() && !p.state().is_in_flight() && p.updated_at() < before
            })
            .map(|p| p.id())
            .collect();
        for m in s.outbox.iter_mut() {
            let payment_id = match &m.payload {
                OutboxPayload::ReceiptEmail { payment_id, .. } => *payment_id,
                OutboxPayload::AgencyNotice(event) => event.payment_id,
            };
            if m.last_error.is_some() && anonymised.contains(&payment_id) {
                m.last_error = Some(tolom_core::outbox::ERROR_REMOVED.to_string());
            }
        }
        let done = ids.len() as u64;
        let mut audit = audit.clone();
        if let Some(data) = audit.data.as_object_mut() {
            data.insert("anonymised".into(), done.into());
        }
        note(&mut s, &audit);
        Ok(done)
    }

    async fn payments_by_contact(
        &self,
        phone: Option<String>,
        email: Option<String>,
    ) -> Result<Vec<Payment>, StoreError> {
        let s = self.lock()?;
        let phone = phone.as_deref().and_then(Phone::parse);
        let email = email.map(|e| e.trim().to_ascii_lowercase());
        Ok(s.payment_order
            .iter()
            .filter_map(|id| s.payments.get(id))
            .filter(|p| {
                p.contact().as_ref().is_some_and(|c| {
                    phone.as_ref().is_some_and(|ph| &c.phone == ph)
                        || email
                            .as_ref()
                            .is_some_and(|e| c.email.as_str().to_ascii_lowercase() == *e)
                })
            })
            .cloned()
            .collect())
    }
}
