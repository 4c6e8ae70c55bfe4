//! Paying: starting a payment of a code and sending the card (or the
//! payer, to a hosted page) to the acquirer.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::card::CardForm;
use crate::charge::{Charge, ChargeStatus, NotPayable};
use crate::errors::{StartPaymentError, SubmitCardError};
use crate::events::EventKind;
use crate::i18n::Language;
use crate::payment::{NewPayment, Payment, PaymentState};
use crate::ports::{
    Acquirer, ChargeStore, CreateOutcome, Instrument, PaymentQuery, PaymentStore, PurchaseRequest,
    StoreError,
};

use super::ctx::{update, valid_key, Ctx};
use super::settle::Settler;
use super::terms::{current_edition, Terms};

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

/// Whether a start may take the code.
enum Room {
    /// The payment in flight was closed (or is gone): try again.
    Made,
    /// Another payment holds the code, until `retry_after` when known.
    Held { retry_after: Option<DateTime<Utc>> },
}

/// Starts payments and sends cards. Needs the charge and payment stores,
/// the acquirer, the agreement editions and the settler.
pub(crate) struct Paying {
    pub(crate) charges: Arc<dyn ChargeStore>,
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) acquirer: Arc<dyn Acquirer>,
    pub(crate) terms: Arc<Terms>,
    pub(crate) settler: Arc<Settler>,
    pub(crate) ctx: Ctx,
}

impl Paying {
    /// Starts a payment of a code: the payer pressed "Pay" and accepted the
    /// agreement in force.
    ///
    /// The same idempotency key returns the same payment. A payment of the
    /// same code that was started but never got card details is superseded
    /// (expired); one that is being processed makes this fail with
    /// `charge.payment_in_progress`.
    pub(crate) async fn start_payment(
        &self,
        req: StartPayment<'_>,
    ) -> Result<Payment, StartPaymentError> {
        let code = self.ctx.config.code_format.parse(req.code)?;
        if !valid_key(req.idempotency_key) {
            return Err(StartPaymentError::KeyInvalid);
        }
        let accepted = req
            .accepted_terms
            .filter(|t| !t.is_empty())
            .ok_or(StartPaymentError::TermsNotAccepted)?;
        let charge = self
            .charges
            .charge_by_code(&code)
            .await?
            .ok_or(StartPaymentError::NotFound)?;
        let now = self.ctx.now();
        let terms = self.terms.editions().await?;
        let current = current_edition(&terms, now)
            .map(|e| e.id.as_str())
            .unwrap_or("");
        if accepted != current {
            return Err(StartPaymentError::TermsOutdated {
                accepted: accepted.to_string(),
                in_force: current.to_string(),
            });
        }
        if let Err(e) = super::charges::Charges::payable(&self.ctx.config.catalogue, &charge, now) {
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
            id: self.ctx.new_id(),
            charge_id: charge.id,
            code: charge.code.clone(),
            service: charge.service.clone(),
            amount: charge.amount,
            fee: self.ctx.config.fee.fee_for(charge.amount),
            terms_edition: current.to_string(),
            language: req.language,
            start_key: req.idempotency_key.to_string(),
            now,
            expires_at: now + self.ctx.config.payment_ttl,
        })
        .map_err(|_| StartPaymentError::AmountTooLarge)?;
        let events = [self.ctx.event(
            charge.id,
            Some(payment.id()),
            EventKind::PaymentCreated,
            json!({"terms_edition": current, "amount": payment.total()}),
            now,
        )];
        // Starts racing for one code are expected: each try either creates
        // the payment, finds the key's own payment, or finds who holds the
        // code. A bounded number of tries, then the answer is the holder's.
        let mut holder = None;
        for _ in 0..3 {
            match self.payments.create_payment(&payment, &events).await {
                Ok(CreateOutcome::Created) => return Ok(payment),
                Ok(CreateOutcome::Existing(p)) if p.charge_id() == charge.id => return Ok(*p),
                Ok(CreateOutcome::Existing(_)) => return Err(StartPaymentError::KeyReused),
                Err(StoreError::InFlight { payment_id }) => {
                    match self.supersede(payment_id, now).await? {
                        Room::Made => holder = Some((payment_id, None)),
                        Room::Held { retry_after } => {
                            return Err(StartPaymentError::InProgress {
                                payment_id,
                                retry_after,
                            })
                        }
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
        // Others kept taking the code as soon as room was made: one of them
        // holds it now.
        match holder {
            Some((payment_id, retry_after)) => Err(StartPaymentError::InProgress {
                payment_id,
                retry_after,
            }),
            None => Err(StartPaymentError::Store(StoreError::Conflict)),
        }
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
            .payments
            .list_payments(&query)
            .await?
            .into_iter()
            .find(|p| p.start_key() == key))
    }

    /// Makes room for a new payment of the same charge, or says who holds
    /// the code. A payment still in `Created` (its payer is filling the card
    /// form) holds the code for the card-entry window and is expired only
    /// after it; an abandoned challenge or an unknown outcome past its
    /// session end is settled from the acquirer's word first; a payment
    /// being authorised holds the code until it is settled.
    async fn supersede(&self, payment_id: Uuid, now: DateTime<Utc>) -> Result<Room, StoreError> {
        let Some(mut old) = self.payments.payment(payment_id).await? else {
            return Ok(Room::Made);
        };
        match old.state() {
            PaymentState::Created => {
                let held_until = old.created_at() + self.ctx.config.card_entry_window;
                if now < held_until {
                    return Ok(Room::Held {
                        retry_after: Some(held_until),
                    });
                }
                if old.expire(now).is_err() {
                    return Ok(Room::Held { retry_after: None });
                }
                let ev = self.ctx.event(
                    old.charge_id(),
                    Some(old.id()),
                    EventKind::PaymentExpired,
                    json!({"superseded": true}),
                    now,
                );
                match self.payments.update_payment(&update(old, vec![ev])).await {
                    // A conflict: it moved on meanwhile (the payer sent the
                    // card, or another start expired it); the next try says.
                    Ok(()) | Err(StoreError::Conflict) => Ok(Room::Made),
                    Err(e) => Err(e),
                }
            }
            PaymentState::ActionRequired | PaymentState::Unknown if now >= old.expires_at() => {
                // Boxed: a rare path that would make every start's future
                // (moved on each call) far larger.
                let settled = Box::pin(self.settler.settle_from_acquirer(old, now, true)).await?;
                Ok(if settled.state().is_in_flight() {
                    Room::Held { retry_after: None }
                } else {
                    Room::Made
                })
            }
            state if state.is_in_flight() => Ok(Room::Held { retry_after: None }),
            _ => Ok(Room::Made),
        }
    }

    /// Sends the card to the acquirer. A decline is an `Ok` payment in state
    /// `Declined`; field errors come all at once and change nothing. The
    /// same idempotency key returns the payment as it is, without a second
    /// call to the acquirer.
    pub(crate) async fn submit_card(
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
    pub(crate) async fn submit_hosted(
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
            .payments
            .payment(payment_id)
            .await?
            .ok_or(SubmitCardError::NotFound)?;
        if payment.submit_key() == Some(key) {
            return Ok(payment);
        }
        match payment.state() {
            PaymentState::Created => {}
            PaymentState::Expired => return Err(SubmitCardError::Expired),
            _ => return Err(SubmitCardError::AlreadySubmitted),
        }
        let now = self.ctx.now();
        if now >= payment.expires_at() {
            let mut expired = payment.clone();
            if expired.expire(now).is_ok() {
                let ev = self.ctx.event(
                    expired.charge_id(),
                    Some(expired.id()),
                    EventKind::PaymentExpired,
                    json!({}),
                    now,
                );
                match self
                    .payments
                    .update_payment(&update(expired, vec![ev]))
                    .await
                {
                    Ok(()) | Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            return Err(SubmitCardError::Expired);
        }
        let validated = match form {
            Some(f) => Some(f.validate(now, &self.ctx.config.brands)?),
            None => None,
        };
        let charge = self
            .charges
            .charge(payment.charge_id())
            .await?
            .ok_or(SubmitCardError::NotFound)?;
        if let Err(e) = super::charges::Charges::payable(&self.ctx.config.catalogue, &charge, now) {
            // A replay of this very submission may have paid the charge
            // while we were reading: answer with the payment, as a replay
            // must.
            if let Some(current) = self.payments.payment(payment_id).await? {
                if current.submit_key() == Some(key) {
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
                now + self.ctx.config.challenge_window,
                now,
            )
            .map_err(|_| SubmitCardError::AlreadySubmitted)?;
        let ev = self.ctx.event(
            payment.charge_id(),
            Some(payment.id()),
            EventKind::PaymentAuthorizing,
            json!({
                "card": payment.card().map(|c| json!({"masked_pan": c.masked_pan, "brand": c.brand})),
                "hosted": validated.is_none(),
            }),
            now,
        );
        // The payment goes into the update and is taken back from it: one
        // copy per write (the store's).
        let authorizing = update(payment, vec![ev]);
        match self.payments.update_payment(&authorizing).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                let current = self
                    .payments
                    .payment(payment_id)
                    .await?
                    .ok_or(SubmitCardError::NotFound)?;
                return if current.submit_key() == Some(key) {
                    Ok(current)
                } else if current.state() == PaymentState::Expired {
                    Err(SubmitCardError::Expired)
                } else {
                    Err(SubmitCardError::AlreadySubmitted)
                };
            }
            Err(e) => return Err(e.into()),
        }
        let payment = authorizing.payment;
        let description = self.description(&payment);
        let order = payment.order_number();
        // The payment's own return route: the payer who comes back from the
        // bank lands on this payment, which settles at once.
        let return_url = self
            .ctx
            .config
            .return_url
            .as_ref()
            .map(|u| u.replace("{order}", &order));
        let instrument = match &validated {
            Some((card, contact)) => Instrument::Card { card, contact },
            None => Instrument::HostedPage,
        };
        let result = self
            .acquirer
            .purchase(PurchaseRequest {
                order_number: &order,
                amount: payment.total(),
                description: &description,
                language: payment.language(),
                instrument,
                return_url: return_url.as_deref(),
            })
            .await;
        drop(validated);
        // Boxed: settling's future is large, and one here would be moved
        // with every card submission's.
        Ok(Box::pin(self.settler.apply_result(payment, &charge, result, false)).await?)
    }

    fn description(&self, payment: &Payment) -> String {
        let name = self
            .ctx
            .config
            .catalogue
            .service(payment.service())
            .map(|s| s.name.en.as_str())
            .unwrap_or(payment.service().as_str());
        format!("{name}, code {}", payment.code())
    }
}
