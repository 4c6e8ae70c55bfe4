//! The challenge step: the payer's answer to 3-D Secure or a one-time
//! code, or their return from a hosted payment page.

use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use crate::errors::ChallengeError;
use crate::events::EventKind;
use crate::payment::{ChallengeResponse, Payment, PaymentState};
use crate::ports::{Acquirer, ChargeStore, PaymentStore, StoreError};

use super::ctx::{update, Ctx};
use super::settle::Settler;

/// Completes challenges. Needs the payment and charge stores, the acquirer
/// and the settler.
pub(crate) struct Challenges {
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) charges: Arc<dyn ChargeStore>,
    pub(crate) acquirer: Arc<dyn Acquirer>,
    pub(crate) settler: Arc<Settler>,
    pub(crate) ctx: Ctx,
}

impl Challenges {
    /// Continues a payment after the 3-D Secure / one-time-code step (or
    /// the payer's return from a hosted page). Calling it for a payment
    /// already settled returns the payment unchanged.
    pub(crate) async fn complete_challenge(
        &self,
        payment_id: Uuid,
        response: &ChallengeResponse,
    ) -> Result<Payment, ChallengeError> {
        let mut payment = self
            .payments
            .payment(payment_id)
            .await?
            .ok_or(ChallengeError::NotFound)?;
        match payment.state() {
            PaymentState::ActionRequired => {}
            PaymentState::Created => return Err(ChallengeError::NotAwaiting),
            PaymentState::Expired => return Err(ChallengeError::Expired),
            _ => return Ok(payment),
        }
        let now = self.ctx.now();
        let charge = self
            .charges
            .charge(payment.charge_id())
            .await?
            .ok_or(ChallengeError::NotFound)?;
        if now >= payment.expires_at() {
            // Past the session end the acquirer decides: the order may be
            // settled there already; if it is still open, the answer goes
            // through like any other.
            let settled = self
                .settler
                .settle_from_acquirer(payment, now, false)
                .await?;
            match settled.state() {
                PaymentState::ActionRequired => payment = settled,
                PaymentState::Expired => return Err(ChallengeError::Expired),
                _ => return Ok(settled),
            }
        }
        payment
            .resume(now)
            .map_err(|_| ChallengeError::NotAwaiting)?;
        let ev = self.ctx.event(
            payment.charge_id(),
            Some(payment.id()),
            EventKind::PaymentChallengeAnswered,
            json!({}),
            now,
        );
        match self
            .payments
            .update_payment(&update(payment.clone(), vec![ev]))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return self
                    .payments
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
        Ok(self
            .settler
            .apply_result(payment, &charge, result, true)
            .await?)
    }
}
