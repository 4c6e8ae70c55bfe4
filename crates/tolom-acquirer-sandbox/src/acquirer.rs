//! The sandbox acquirer itself.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use serde::Serialize;
use tolom_core::card::{CardBrand, Contact, MaskedPan};
use tolom_core::money::{Currency, Money};
use tolom_core::payment::{Approval, Challenge, ChallengeResponse, DeclineReason};
use tolom_core::ports::{
    Acquirer, AcquirerError, AcquirerErrorKind, AcquirerOutcome, Instrument, OrderStatus,
    PurchaseRequest, RefundOutcome,
};

use crate::cards::{behaviour_of, Behaviour, DECLINING_CVV};
use crate::config::{Environment, SandboxConfig, SandboxError};

/// The response field that carries the one-time code of a
/// [`Challenge::Otp`].
pub const OTP_FIELD: &str = "otp";
/// The response field that carries the hosted page's outcome.
pub const HOSTED_OUTCOME_FIELD: &str = "outcome";
/// The [`HOSTED_OUTCOME_FIELD`] value that approves a hosted-page order;
/// any other value (or none) declines it.
pub const HOSTED_APPROVE: &str = "approve";

/// Where a sandbox order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum SandboxOrderState {
    /// Waiting for the 3-D Secure one-time code (status `Pending`).
    AwaitingOtp,
    /// Waiting for the payer to come back from the hosted page (status
    /// `Pending`).
    AwaitingHostedPage,
    /// Approved (and possibly partly or fully refunded).
    Approved,
    /// Declined.
    Declined(DeclineReason),
    /// Reversed: nothing charged.
    Reversed,
}

/// What the sandbox remembers about an order. Never the full PAN or CVV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderSnapshot {
    /// Our order number.
    pub order_number: String,
    /// The amount, in minor units (tyiyn for KGS).
    pub amount_minor: u64,
    /// The amount's currency.
    pub currency: Currency,
    /// Where the order is.
    pub state: SandboxOrderState,
    /// The approval, once approved.
    pub approval: Option<Approval>,
    /// Refunded so far, in minor units.
    pub refunded_minor: u64,
    /// The masked card number (`None` for hosted-page orders).
    pub masked_pan: Option<MaskedPan>,
    /// The card brand (`None` for hosted-page orders).
    pub brand: Option<CardBrand>,
    /// Successful approvals of this order (0 or 1).
    pub charges: u32,
}

#[derive(Debug, Clone)]
enum State {
    AwaitingOtp(Challenge),
    AwaitingHostedPage(Challenge),
    Approved(Approval),
    Declined(DeclineReason),
    Reversed,
}

#[derive(Debug)]
struct Order {
    amount: Money,
    masked_pan: Option<MaskedPan>,
    brand: Option<CardBrand>,
    state: State,
    refunded_minor: u64,
    refunds: HashMap<String, u64>,
    charges: u32,
    /// Wrong one-time codes typed so far.
    otp_failures: u32,
}

impl Order {
    fn new(
        amount: Money,
        masked_pan: Option<MaskedPan>,
        brand: Option<CardBrand>,
        state: State,
    ) -> Order {
        let charges = u32::from(matches!(state, State::Approved(_)));
        Order {
            amount,
            masked_pan,
            brand,
            state,
            refunded_minor: 0,
            refunds: HashMap::new(),
            charges,
            otp_failures: 0,
        }
    }

    fn approve(&mut self, order_number: &str) -> AcquirerOutcome {
        let approval = approval_for(order_number);
        self.state = State::Approved(approval.clone());
        self.charges += 1;
        AcquirerOutcome::Approved(approval)
    }

    fn decline(&mut self, reason: DeclineReason) -> AcquirerOutcome {
        self.state = State::Declined(reason);
        AcquirerOutcome::Declined(reason)
    }

    /// The answer to a repeated call: the order's current outcome.
    fn current_outcome(&self) -> Result<AcquirerOutcome, AcquirerError> {
        match &self.state {
            State::AwaitingOtp(c) | State::AwaitingHostedPage(c) => {
                Ok(AcquirerOutcome::ActionRequired(c.clone()))
            }
            State::Approved(a) => Ok(AcquirerOutcome::Approved(a.clone())),
            State::Declined(r) => Ok(AcquirerOutcome::Declined(*r)),
            State::Reversed => Err(AcquirerError::rejected(
                "sandbox: the order was reversed; use a new order number",
            )),
        }
    }

    fn snapshot(&self, order_number: &str) -> OrderSnapshot {
        let (state, approval) = match &self.state {
            State::AwaitingOtp(_) => (SandboxOrderState::AwaitingOtp, None),
            State::AwaitingHostedPage(_) => (SandboxOrderState::AwaitingHostedPage, None),
            State::Approved(a) => (SandboxOrderState::Approved, Some(a.clone())),
            State::Declined(r) => (SandboxOrderState::Declined(*r), None),
            State::Reversed => (SandboxOrderState::Reversed, None),
        };
        OrderSnapshot {
            order_number: order_number.to_string(),
            amount_minor: self.amount.to_minor_units(),
            currency: self.amount.currency(),
            state,
            approval,
            refunded_minor: self.refunded_minor,
            masked_pan: self.masked_pan.clone(),
            brand: self.brand,
            charges: self.charges,
        }
    }
}

/// An injected fault: the error to return, and whether the call is
/// processed before the answer is "lost".
#[derive(Debug, Clone, Copy)]
struct Fault {
    kind: AcquirerErrorKind,
    processed: bool,
}

impl Fault {
    /// `Unknown` faults strike after processing; `NotSent` and `Rejected`
    /// ones before (the port says those kinds mean "not processed").
    fn of(kind: AcquirerErrorKind) -> Fault {
        Fault {
            kind,
            processed: kind == AcquirerErrorKind::Unknown,
        }
    }

    fn error(&self, call: &str) -> AcquirerError {
        let message = if self.processed {
            format!("sandbox: injected fault: {call} processed, answer lost")
        } else {
            format!("sandbox: injected fault: {call} not processed")
        };
        AcquirerError {
            kind: self.kind,
            message,
        }
    }
}

#[derive(Debug, Default)]
struct Faults {
    purchase: VecDeque<Fault>,
    challenge: VecDeque<Fault>,
    status: VecDeque<Fault>,
    refund: VecDeque<Fault>,
    reverse: VecDeque<Fault>,
}

/// The most finished orders the sandbox remembers (≈ 4 MiB). A
/// long-running demo or soak test makes an order per payment; past this
/// many the oldest *finished* order (approved, declined or reversed) is
/// forgotten, so memory stays flat. Orders still waiting for the payer (a
/// one-time code, the hosted page) are never forgotten: their payments are
/// in flight. A status query of a forgotten order answers as for an order
/// the sandbox never saw; by then its payment has long been settled. A real
/// bank keeps its orders; the sandbox is for tests and demonstrations.
pub const MAX_ORDERS: usize = 10_000;

#[derive(Debug, Default)]
struct Inner {
    orders: HashMap<String, Order>,
    /// Order numbers, oldest first: what to forget past [`MAX_ORDERS`].
    arrival: VecDeque<String>,
    faults: Faults,
}

impl Inner {
    /// Remembers a new order, forgetting the oldest finished ones past
    /// [`MAX_ORDERS`] (O(1) amortised: an order waiting for its payer is
    /// moved to the young end, at most once per pass over the queue).
    fn remember(&mut self, number: &str, order: Order) {
        if self.orders.insert(number.to_string(), order).is_none() {
            self.arrival.push_back(number.to_string());
        }
        let mut looked = 0;
        while self.orders.len() > MAX_ORDERS && looked < self.arrival.len() {
            let Some(oldest) = self.arrival.pop_front() else {
                break;
            };
            let waiting = self.orders.get(&oldest).is_some_and(|o| {
                matches!(
                    o.state,
                    State::AwaitingOtp(_) | State::AwaitingHostedPage(_)
                )
            });
            if waiting {
                self.arrival.push_back(oldest);
                looked += 1;
            } else {
                self.orders.remove(&oldest);
            }
        }
    }
}

/// A deterministic in-process test acquirer.
///
/// The card number decides the outcome (see [`crate::test_cards`]); orders
/// are kept in memory by our order number, so a repeated `purchase` never
/// charges twice. Approval codes and RRNs are derived from the order number,
/// so runs are reproducible. No PAN or CVV is kept: only the masked PAN and
/// the brand.
///
/// Refuses to start in production unless
/// [`SandboxConfig::allow_in_production`] is set.
pub struct SandboxAcquirer {
    config: SandboxConfig,
    inner: Mutex<Inner>,
}

impl fmt::Debug for SandboxAcquirer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("SandboxAcquirer")
            .field("name", &self.config.name)
            .field("environment", &self.config.environment)
            .field("orders", &inner.orders.len())
            .field(
                "total_charges",
                &inner.orders.values().map(|o| o.charges).sum::<u32>(),
            )
            .finish_non_exhaustive()
    }
}

impl SandboxAcquirer {
    /// A sandbox with this configuration.
    ///
    /// Fails with [`SandboxError::ProductionRefused`] in
    /// [`Environment::Production`] unless `allow_in_production` is set, and
    /// with [`SandboxError::InvalidConfig`] for an empty name or a non-digit
    /// OTP.
    pub fn new(config: SandboxConfig) -> Result<SandboxAcquirer, SandboxError> {
        config.validate()?;
        Ok(SandboxAcquirer {
            config,
            inner: Mutex::new(Inner::default()),
        })
    }

    /// A sandbox for tests: [`Environment::Test`], OTP `123456`, name
    /// `sandbox`.
    pub fn for_tests() -> SandboxAcquirer {
        SandboxAcquirer {
            config: SandboxConfig::new(Environment::Test),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave an order half-written
        // in a way that matters for a test double: keep going.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Successful approvals of this order (0 when unknown). Never more
    /// than 1.
    pub fn charges(&self, order_number: &str) -> u32 {
        self.lock()
            .orders
            .get(order_number)
            .map_or(0, |o| o.charges)
    }

    /// Successful approvals ever made, over all orders (reversals and
    /// refunds do not lower it).
    pub fn total_charges(&self) -> u32 {
        self.lock().orders.values().map(|o| o.charges).sum()
    }

    /// Every order, sorted by order number.
    pub fn orders(&self) -> Vec<OrderSnapshot> {
        let inner = self.lock();
        let mut out: Vec<OrderSnapshot> = inner
            .orders
            .iter()
            .map(|(number, order)| order.snapshot(number))
            .collect();
        out.sort_by(|a, b| a.order_number.cmp(&b.order_number));
        out
    }

    /// One order.
    pub fn order(&self, order_number: &str) -> Option<OrderSnapshot> {
        self.lock()
            .orders
            .get(order_number)
            .map(|o| o.snapshot(order_number))
    }

    /// Makes the next `purchase` fail with `kind`. With
    /// [`AcquirerErrorKind::Unknown`] the purchase is processed as usual
    /// (the card decides) and then the answer is lost; with `NotSent` or
    /// `Rejected` nothing is processed. Calls queue: calling this twice
    /// fails the next two purchases.
    pub fn fail_next_purchase(&self, kind: AcquirerErrorKind) {
        self.lock().faults.purchase.push_back(Fault::of(kind));
    }

    /// Makes the next `purchase` fail with an `Unknown` error **without**
    /// processing it (the request was lost on the way): the order is not
    /// recorded and `status` reports `NotFound`.
    pub fn lose_next_purchase_request(&self) {
        self.lock().faults.purchase.push_back(Fault {
            kind: AcquirerErrorKind::Unknown,
            processed: false,
        });
    }

    /// Makes the next `complete_challenge` fail with `kind` (`Unknown`:
    /// processed, answer lost; otherwise not processed). Calls queue.
    pub fn fail_next_challenge(&self, kind: AcquirerErrorKind) {
        self.lock().faults.challenge.push_back(Fault::of(kind));
    }

    /// Makes the next `status` fail with `kind`, e.g. to prove that
    /// reconciliation leaves an unsettled payment unsettled. Calls queue:
    /// call it `n` times to fail the next `n` status queries.
    pub fn fail_next_status(&self, kind: AcquirerErrorKind) {
        self.lock().faults.status.push_back(Fault {
            kind,
            processed: false,
        });
    }

    /// Makes the next `refund` fail with `kind` (`Unknown`: the money is
    /// returned, the answer lost; otherwise not processed). Calls queue.
    pub fn fail_next_refund(&self, kind: AcquirerErrorKind) {
        self.lock().faults.refund.push_back(Fault::of(kind));
    }

    /// Makes the next `reverse` fail with `kind` (`Unknown`: reversed,
    /// answer lost; otherwise not processed). Calls queue.
    pub fn fail_next_reverse(&self, kind: AcquirerErrorKind) {
        self.lock().faults.reverse.push_back(Fault::of(kind));
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.lock().faults = Faults::default();
    }

    /// Decides a new order. Returns the order to record and whether the
    /// answer is lost after processing.
    fn new_order(
        &self,
        order_number: &str,
        amount: Money,
        instrument: &Instrument<'_>,
    ) -> Result<(Order, bool), AcquirerError> {
        match instrument {
            Instrument::HostedPage => {
                let challenge = Challenge::Redirect {
                    url: format!("sandbox://hosted/{order_number}"),
                    method: "GET".to_string(),
                    fields: BTreeMap::new(),
                };
                let state = State::AwaitingHostedPage(challenge);
                Ok((Order::new(amount, None, None, state), false))
            }
            Instrument::Card { card, contact } => {
                let behaviour = behaviour_of(card.pan.expose());
                if behaviour == Behaviour::TechnicalError {
                    return Err(AcquirerError::not_sent(
                        "sandbox: technical error before processing (test card); nothing charged",
                    ));
                }
                let state = if card.cvv.expose() == DECLINING_CVV {
                    State::Declined(DeclineReason::IncorrectCvv)
                } else {
                    match behaviour {
                        Behaviour::Decline(reason) => State::Declined(reason),
                        Behaviour::ThreeDsOtp => State::AwaitingOtp(otp_challenge(contact)),
                        _ => State::Approved(approval_for(order_number)),
                    }
                };
                let order = Order::new(amount, Some(card.pan.masked()), Some(card.brand), state);
                Ok((order, behaviour == Behaviour::TimeoutAfterProcessing))
            }
        }
    }
}

/// The one-time-code challenge, with a hint naming the phone's last two
/// digits.
fn otp_challenge(contact: &Contact) -> Challenge {
    let phone = contact.phone.as_str();
    let last2 = phone.get(phone.len().saturating_sub(2)..).unwrap_or("");
    Challenge::Otp {
        hint: Some(format!(
            "Enter the one-time code sent by SMS to the number ending in {last2}"
        )),
    }
}

/// FNV-1a, 64 bits: stable across runs, platforms and Rust versions.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// The approval for an order: a 6-digit authorisation code and a 12-digit
/// RRN, both derived from the order number (the same order number always
/// gets the same approval).
pub fn approval_for(order_number: &str) -> Approval {
    let auth = fnv1a(&[b"auth:", order_number.as_bytes()]) % 1_000_000;
    let rrn = fnv1a(&[b"rrn:", order_number.as_bytes()]) % 1_000_000_000_000;
    Approval {
        auth_code: format!("{auth:06}"),
        rrn: format!("{rrn:012}"),
    }
}

fn lost(call: &str) -> AcquirerError {
    AcquirerError::unknown(format!(
        "sandbox: timeout after processing the {call}; ask for the order's status"
    ))
}

fn no_such_order() -> AcquirerError {
    AcquirerError::rejected("sandbox: no such order")
}

#[async_trait]
impl Acquirer for SandboxAcquirer {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn purchase<'a>(
        &self,
        request: PurchaseRequest<'a>,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        let mut inner = self.lock();
        let fault = inner.faults.purchase.pop_front();
        if let Some(f) = fault.filter(|f| !f.processed) {
            return Err(f.error("purchase"));
        }
        let order_number = request.order_number;
        if order_number.trim().is_empty() {
            return Err(AcquirerError::rejected("sandbox: empty order number"));
        }
        let outcome = if let Some(order) = inner.orders.get(order_number) {
            order.current_outcome()?
        } else {
            if request.amount.is_zero() {
                return Err(AcquirerError::rejected(
                    "sandbox: the amount must be more than zero",
                ));
            }
            let (order, lost_answer) =
                self.new_order(order_number, request.amount, &request.instrument)?;
            let outcome = order.current_outcome()?;
            inner.remember(order_number, order);
            if lost_answer {
                return Err(lost("purchase"));
            }
            outcome
        };
        match fault {
            Some(f) => Err(f.error("purchase")),
            None => Ok(outcome),
        }
    }

    async fn complete_challenge(
        &self,
        order_number: &str,
        response: &ChallengeResponse,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        let mut inner = self.lock();
        let fault = inner.faults.challenge.pop_front();
        if let Some(f) = fault.filter(|f| !f.processed) {
            return Err(f.error("complete_challenge"));
        }
        let order = inner
            .orders
            .get_mut(order_number)
            .ok_or_else(no_such_order)?;
        let field = |name: &str| response.fields.get(name).map(|v| v.trim());
        let outcome = match order.state {
            State::AwaitingOtp(ref challenge) => {
                if field(OTP_FIELD) == Some(self.config.otp.as_str()) {
                    order.approve(order_number)
                } else {
                    // Like an issuer's 3-D Secure page: a wrong code asks
                    // for it again until the attempts run out.
                    order.otp_failures += 1;
                    if order.otp_failures < self.config.otp_attempts {
                        AcquirerOutcome::ActionRequired(challenge.clone())
                    } else {
                        order.decline(DeclineReason::AuthenticationFailed)
                    }
                }
            }
            State::AwaitingHostedPage(_) => {
                if field(HOSTED_OUTCOME_FIELD) == Some(HOSTED_APPROVE) {
                    order.approve(order_number)
                } else {
                    order.decline(DeclineReason::AuthenticationFailed)
                }
            }
            _ => order.current_outcome()?,
        };
        match fault {
            Some(f) => Err(f.error("complete_challenge")),
            None => Ok(outcome),
        }
    }

    async fn status(&self, order_number: &str) -> Result<OrderStatus, AcquirerError> {
        let mut inner = self.lock();
        if let Some(f) = inner.faults.status.pop_front() {
            return Err(f.error("status"));
        }
        let Some(order) = inner.orders.get(order_number) else {
            return Ok(OrderStatus::NotFound);
        };
        Ok(match &order.state {
            State::AwaitingOtp(_) | State::AwaitingHostedPage(_) => OrderStatus::Pending,
            // Refunded in full or in part: its own outcome (as BPC's
            // `orderStatus` 4), never an approval.
            State::Approved(approval) if order.refunded_minor > 0 => OrderStatus::Refunded {
                approval: approval.clone(),
                refunded: Money::from_minor_units(order.refunded_minor, order.amount.currency()),
            },
            State::Approved(approval) => OrderStatus::Approved {
                approval: approval.clone(),
                refunded: Money::zero(order.amount.currency()),
            },
            State::Declined(reason) => OrderStatus::Declined(*reason),
            State::Reversed => OrderStatus::Reversed,
        })
    }

    async fn refund(
        &self,
        order_number: &str,
        refund_id: &str,
        amount: Money,
    ) -> Result<RefundOutcome, AcquirerError> {
        let mut inner = self.lock();
        let fault = inner.faults.refund.pop_front();
        if let Some(f) = fault.filter(|f| !f.processed) {
            return Err(f.error("refund"));
        }
        if refund_id.trim().is_empty() {
            return Err(AcquirerError::rejected("sandbox: empty refund id"));
        }
        let order = inner
            .orders
            .get_mut(order_number)
            .ok_or_else(no_such_order)?;
        let outcome = refund_order(order, refund_id, amount);
        match fault {
            Some(f) => Err(f.error("refund")),
            None => Ok(outcome),
        }
    }

    async fn reverse(&self, order_number: &str) -> Result<(), AcquirerError> {
        let mut inner = self.lock();
        let fault = inner.faults.reverse.pop_front();
        if let Some(f) = fault.filter(|f| !f.processed) {
            return Err(f.error("reverse"));
        }
        let order = inner
            .orders
            .get_mut(order_number)
            .ok_or_else(no_such_order)?;
        match order.state {
            State::Approved(_) if order.refunded_minor > 0 => {
                return Err(AcquirerError::rejected(
                    "sandbox: the order has refunds; it cannot be reversed",
                ))
            }
            State::Approved(_) | State::AwaitingOtp(_) | State::AwaitingHostedPage(_) => {
                order.state = State::Reversed;
            }
            State::Reversed => {}
            State::Declined(_) => {
                return Err(AcquirerError::rejected(
                    "sandbox: a declined order cannot be reversed",
                ))
            }
        }
        match fault {
            Some(f) => Err(f.error("reverse")),
            None => Ok(()),
        }
    }

    async fn cancel(&self, order_number: &str) -> Result<(), AcquirerError> {
        let mut inner = self.lock();
        let Some(order) = inner.orders.get_mut(order_number) else {
            // Never received: nothing can be paid on it.
            return Ok(());
        };
        match order.state {
            State::Approved(_) => Err(AcquirerError::rejected(
                "sandbox: the order was paid; it cannot be cancelled",
            )),
            State::AwaitingOtp(_) | State::AwaitingHostedPage(_) => {
                order.state = State::Reversed;
                Ok(())
            }
            State::Declined(_) | State::Reversed => Ok(()),
        }
    }
}

fn refund_order(order: &mut Order, refund_id: &str, amount: Money) -> RefundOutcome {
    let minor = amount.to_minor_units();
    if let Some(&done) = order.refunds.get(refund_id) {
        return if done == minor && amount.currency() == order.amount.currency() {
            RefundOutcome::Refunded
        } else {
            RefundOutcome::Refused(format!(
                "refund id {refund_id} was already used for another amount"
            ))
        };
    }
    if !matches!(order.state, State::Approved(_)) {
        return RefundOutcome::Refused("the order is not approved".to_string());
    }
    if amount.currency() != order.amount.currency() {
        return RefundOutcome::Refused(format!(
            "the refund is in {}, the order in {}",
            amount.currency(),
            order.amount.currency()
        ));
    }
    if minor == 0 {
        return RefundOutcome::Refused("the refund amount must be more than zero".to_string());
    }
    let left = order
        .amount
        .to_minor_units()
        .saturating_sub(order.refunded_minor);
    if minor > left {
        let currency = order.amount.currency();
        return RefundOutcome::Refused(format!(
            "the refund of {amount} exceeds the {} left to refund",
            Money::from_minor_units(left, currency)
        ));
    }
    order.refunded_minor += minor;
    order.refunds.insert(refund_id.to_string(), minor);
    RefundOutcome::Refunded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(&[b"fo", b"obar"]), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn the_sandbox_forgets_its_oldest_orders_past_the_cap() {
        let mut inner = Inner::default();
        let order = || {
            Order::new(
                Money::from_minor_units(100, Currency::KGS),
                None,
                None,
                State::Reversed,
            )
        };
        for i in 0..MAX_ORDERS + 25 {
            inner.remember(&format!("order-{i}"), order());
        }
        assert_eq!(inner.orders.len(), MAX_ORDERS, "never above the cap");
        assert_eq!(inner.arrival.len(), MAX_ORDERS);
        assert!(
            !inner.orders.contains_key("order-0"),
            "the oldest goes first"
        );
        assert!(!inner.orders.contains_key("order-24"));
        assert!(inner.orders.contains_key("order-25"));
        assert!(inner
            .orders
            .contains_key(&format!("order-{}", MAX_ORDERS + 24)));
        // The same order again is one entry, not two.
        inner.remember("order-25", order());
        assert_eq!(inner.arrival.len(), MAX_ORDERS);
    }

    #[test]
    fn orders_waiting_for_the_payer_are_never_forgotten() {
        let mut inner = Inner::default();
        let amount = Money::from_minor_units(100, Currency::KGS);
        let waiting = || {
            Order::new(
                amount,
                None,
                None,
                State::AwaitingOtp(Challenge::Otp { hint: None }),
            )
        };
        inner.remember("waiting", waiting());
        for i in 0..MAX_ORDERS + 10 {
            inner.remember(
                &format!("order-{i}"),
                Order::new(amount, None, None, State::Reversed),
            );
        }
        assert!(
            inner.orders.contains_key("waiting"),
            "an order in flight stays"
        );
        assert_eq!(inner.orders.len(), MAX_ORDERS);
        assert!(!inner.orders.contains_key("order-0"));
    }

    #[test]
    fn approvals_are_pinned() {
        // Pinned so that a change of the derivation (which would change
        // every recorded test receipt) is a deliberate one.
        let a = approval_for("0f8fad5bd9cb469fa16570867728950e");
        assert_eq!(a, approval_for("0f8fad5bd9cb469fa16570867728950e"));
        assert_eq!((a.auth_code.len(), a.rrn.len()), (6, 12));
        assert_eq!(a.auth_code, "552129");
        assert_eq!(a.rrn, "473907033119");
    }
}
