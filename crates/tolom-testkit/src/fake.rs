//! A scriptable acquirer for rule tests.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use tolom_core::money::Money;
use tolom_core::payment::{Approval, ChallengeResponse, DeclineReason};
use tolom_core::ports::*;

/// What the fake acquirer does with the next purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Approve.
    Approve,
    /// Decline with a reason.
    Decline(DeclineReason),
    /// Ask for a one-time code; `otp` approves, anything else declines.
    Otp(String),
    /// Approve, but lose the answer (`Unknown` error).
    ApproveThenTimeout,
    /// Fail before processing (`NotSent`).
    NotSent,
    /// The request is lost on the way: `Unknown` to the caller, nothing
    /// recorded (yet — see [`FakeAcquirer::approve_late`]).
    LoseRequest,
    /// The order is registered but the card is never processed (a crash or
    /// a 5xx between registering the order and paying it): `Unknown` to the
    /// caller, and `status` says "registered, not paid" until someone
    /// cancels it.
    RegisterOnly,
}

#[derive(Debug, Clone)]
enum OrderState {
    Approved(Approval),
    /// The amount is held, not taken (a pre-authorisation).
    Held(Approval),
    Declined(DeclineReason),
    AwaitingOtp(String),
    Reversed,
}

#[derive(Debug, Default)]
struct Inner {
    script: VecDeque<Script>,
    orders: HashMap<String, (OrderState, Money, Money)>,
    charges: u32,
    purchase_calls: u32,
    status_fails: u32,
    refuse_reverse: bool,
    refuse_cancel: bool,
    refuse_refund: bool,
    status_calls: u32,
    reverse_calls: u32,
    refund_calls: u32,
}

/// An acquirer that follows a script (default: approve everything). It
/// keeps the acquirer contract: a repeated order number never charges
/// twice, and `status` tells the truth about every order.
#[derive(Debug, Default)]
pub struct FakeAcquirer {
    inner: Mutex<Inner>,
}

impl FakeAcquirer {
    /// Approves everything unless scripted otherwise.
    pub fn new() -> FakeAcquirer {
        FakeAcquirer::default()
    }

    /// Queues what the next purchases do.
    pub fn script(&self, steps: impl IntoIterator<Item = Script>) {
        if let Ok(mut i) = self.inner.lock() {
            i.script.extend(steps);
        }
    }

    /// Makes the next `n` status queries fail with `Unknown`.
    pub fn fail_status(&self, n: u32) {
        if let Ok(mut i) = self.inner.lock() {
            i.status_fails = n;
        }
    }

    /// Makes `reverse` refuse every order (as gateways do for orders that
    /// were never authorised).
    pub fn refuse_reverse(&self, refuse: bool) {
        if let Ok(mut i) = self.inner.lock() {
            i.refuse_reverse = refuse;
        }
    }

    /// Makes `refund` refuse every order (as a gateway whose refunds are
    /// switched off, or a bank that is down for refunds).
    pub fn refuse_refund(&self, refuse: bool) {
        if let Ok(mut i) = self.inner.lock() {
            i.refuse_refund = refuse;
        }
    }

    /// An order arrives late with its amount held, not taken (the gateway's
    /// "pre-authorised" state).
    pub fn hold_late(&self, order: &str, amount: Money) {
        if let Ok(mut i) = self.inner.lock() {
            let zero = Money::zero(amount.currency());
            i.orders.insert(
                order.to_string(),
                (OrderState::Held(Self::approval(order)), amount, zero),
            );
        }
    }

    /// The bank refunds `amount` of an approved order on its own (its back
    /// office), outside tolom.
    pub fn refund_at_bank(&self, order: &str, amount: Money) {
        if let Ok(mut i) = self.inner.lock() {
            if let Some((OrderState::Approved(_), _, refunded)) = i.orders.get_mut(order) {
                *refunded = refunded.checked_add(amount).unwrap_or(*refunded);
            }
        }
    }

    /// Calls received so far: (`status`, `reverse`, `refund`).
    pub fn calls(&self) -> (u32, u32, u32) {
        self.inner
            .lock()
            .map(|i| (i.status_calls, i.reverse_calls, i.refund_calls))
            .unwrap_or_default()
    }

    /// Makes `cancel` refuse every unpaid order (as a gateway that does not
    /// close unpaid orders would).
    pub fn refuse_cancel(&self, refuse: bool) {
        if let Ok(mut i) = self.inner.lock() {
            i.refuse_cancel = refuse;
        }
    }

    /// Registers an order that was never paid (a purchase that reached the
    /// gateway's registration and no further).
    pub fn register_unpaid(&self, order: &str, amount: Money) {
        if let Ok(mut i) = self.inner.lock() {
            let zero = Money::zero(amount.currency());
            i.orders.insert(
                order.to_string(),
                (OrderState::AwaitingOtp(String::new()), amount, zero),
            );
        }
    }

    /// An order arrives late and is approved (a lost request that reached
    /// the bank after all, a payer finishing 3-D Secure late).
    pub fn approve_late(&self, order: &str, amount: Money) {
        if let Ok(mut i) = self.inner.lock() {
            i.charges += 1;
            let zero = Money::zero(amount.currency());
            i.orders.insert(
                order.to_string(),
                (OrderState::Approved(Self::approval(order)), amount, zero),
            );
        }
    }

    /// Successful charges made so far.
    pub fn charges(&self) -> u32 {
        self.inner.lock().map(|i| i.charges).unwrap_or(0)
    }

    /// Purchase calls received so far.
    pub fn purchase_calls(&self) -> u32 {
        self.inner.lock().map(|i| i.purchase_calls).unwrap_or(0)
    }

    fn approval(order: &str) -> Approval {
        let h = order
            .bytes()
            .fold(7u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
        Approval {
            auth_code: format!("{:06}", h % 1_000_000),
            rrn: format!("{:012}", h % 1_000_000_000_000),
        }
    }

    fn outcome(state: &OrderState) -> AcquirerOutcome {
        match state {
            OrderState::Approved(a) => AcquirerOutcome::Approved(a.clone()),
            OrderState::Declined(r) => AcquirerOutcome::Declined(*r),
            OrderState::AwaitingOtp(_) => {
                AcquirerOutcome::ActionRequired(tolom_core::payment::Challenge::Otp { hint: None })
            }
            OrderState::Reversed => AcquirerOutcome::Declined(DeclineReason::Other),
            OrderState::Held(_) => AcquirerOutcome::Pending,
        }
    }
}

#[async_trait]
impl Acquirer for FakeAcquirer {
    fn name(&self) -> &str {
        "fake"
    }

    async fn purchase<'a>(
        &self,
        request: PurchaseRequest<'a>,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        let mut i = self
            .inner
            .lock()
            .map_err(|_| AcquirerError::not_sent("poisoned"))?;
        i.purchase_calls += 1;
        if let Some((state, _, _)) = i.orders.get(request.order_number) {
            return Ok(Self::outcome(state));
        }
        let step = i.script.pop_front().unwrap_or(Script::Approve);
        let zero = Money::zero(request.amount.currency());
        let (state, result) = match step {
            Script::Approve => {
                i.charges += 1;
                let s = OrderState::Approved(Self::approval(request.order_number));
                let o = Self::outcome(&s);
                (s, Ok(o))
            }
            Script::Decline(r) => (OrderState::Declined(r), Ok(AcquirerOutcome::Declined(r))),
            Script::Otp(code) => {
                let s = OrderState::AwaitingOtp(code);
                let o = Self::outcome(&s);
                (s, Ok(o))
            }
            Script::ApproveThenTimeout => {
                i.charges += 1;
                (
                    OrderState::Approved(Self::approval(request.order_number)),
                    Err(AcquirerError::unknown("timed out after sending")),
                )
            }
            Script::NotSent => return Err(AcquirerError::not_sent("connection refused")),
            Script::LoseRequest => return Err(AcquirerError::unknown("request lost")),
            Script::RegisterOnly => (
                OrderState::AwaitingOtp(String::new()),
                Err(AcquirerError::unknown(
                    "registered, then the gateway failed",
                )),
            ),
        };
        i.orders.insert(
            request.order_number.to_string(),
            (state, request.amount, zero),
        );
        result
    }

    async fn complete_challenge(
        &self,
        order: &str,
        response: &ChallengeResponse,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        let mut i = self
            .inner
            .lock()
            .map_err(|_| AcquirerError::not_sent("poisoned"))?;
        let Some(entry) = i.orders.get(order).cloned() else {
            return Err(AcquirerError::rejected("no such order"));
        };
        let next = match &entry.0 {
            OrderState::AwaitingOtp(code) => {
                if response.fields.get("otp") == Some(code) {
                    i.charges += 1;
                    OrderState::Approved(Self::approval(order))
                } else {
                    OrderState::Declined(DeclineReason::AuthenticationFailed)
                }
            }
            other => other.clone(),
        };
        let out = Self::outcome(&next);
        i.orders.insert(order.to_string(), (next, entry.1, entry.2));
        Ok(out)
    }

    async fn status(&self, order: &str) -> Result<OrderStatus, AcquirerError> {
        let mut i = self
            .inner
            .lock()
            .map_err(|_| AcquirerError::not_sent("poisoned"))?;
        i.status_calls += 1;
        if i.status_fails > 0 {
            i.status_fails -= 1;
            return Err(AcquirerError::unknown("status timed out"));
        }
        Ok(match i.orders.get(order) {
            None => OrderStatus::NotFound,
            Some((OrderState::Approved(a), _, refunded)) if !refunded.is_zero() => {
                OrderStatus::Refunded {
                    approval: a.clone(),
                    refunded: *refunded,
                }
            }
            Some((OrderState::Approved(a), _, refunded)) => OrderStatus::Approved {
                approval: a.clone(),
                refunded: *refunded,
            },
            Some((OrderState::Held(a), _, _)) => OrderStatus::PreAuthorized {
                approval: a.clone(),
            },
            Some((OrderState::Declined(r), _, _)) => OrderStatus::Declined(*r),
            Some((OrderState::AwaitingOtp(_), _, _)) => OrderStatus::Pending,
            Some((OrderState::Reversed, _, _)) => OrderStatus::Reversed,
        })
    }

    async fn refund(
        &self,
        order: &str,
        _refund_id: &str,
        amount: Money,
    ) -> Result<RefundOutcome, AcquirerError> {
        let mut i = self
            .inner
            .lock()
            .map_err(|_| AcquirerError::not_sent("poisoned"))?;
        i.refund_calls += 1;
        if i.refuse_refund {
            return Ok(RefundOutcome::Refused("refunds refused".into()));
        }
        let Some((state, paid, refunded)) = i.orders.get_mut(order) else {
            return Ok(RefundOutcome::Refused("no such order".into()));
        };
        if !matches!(state, OrderState::Approved(_)) {
            return Ok(RefundOutcome::Refused("order not paid".into()));
        }
        let Ok(after) = refunded.checked_add(amount) else {
            return Ok(RefundOutcome::Refused("bad amount".into()));
        };
        if after > *paid {
            return Ok(RefundOutcome::Refused(
                "refund above the amount paid".into(),
            ));
        }
        *refunded = after;
        Ok(RefundOutcome::Refunded)
    }

    async fn reverse(&self, order: &str) -> Result<(), AcquirerError> {
        let mut i = self
            .inner
            .lock()
            .map_err(|_| AcquirerError::not_sent("poisoned"))?;
        i.reverse_calls += 1;
        if i.refuse_reverse {
            return Err(AcquirerError::rejected("reversal refused"));
        }
        match i.orders.get_mut(order) {
            Some((state @ (OrderState::AwaitingOtp(_) | OrderState::Held(_)), _, _)) => {
                *state = OrderState::Reversed;
                Ok(())
            }
            Some((state @ OrderState::Approved(_), _, refunded)) if refunded.is_zero() => {
                *state = OrderState::Reversed;
                i.charges = i.charges.saturating_sub(1);
                Ok(())
            }
            _ => Err(AcquirerError::rejected("cannot reverse")),
        }
    }

    async fn cancel(&self, order: &str) -> Result<(), AcquirerError> {
        let mut i = self
            .inner
            .lock()
            .map_err(|_| AcquirerError::not_sent("poisoned"))?;
        let refuse = i.refuse_cancel;
        match i.orders.get_mut(order) {
            Some((OrderState::Approved(_) | OrderState::Held(_), _, _)) => {
                Err(AcquirerError::rejected("the order was paid"))
            }
            Some((state @ OrderState::AwaitingOtp(_), _, _)) => {
                if refuse {
                    return Err(AcquirerError::rejected("unpaid orders are not closed"));
                }
                *state = OrderState::Reversed;
                Ok(())
            }
            Some(_) | None => Ok(()),
        }
    }
}
