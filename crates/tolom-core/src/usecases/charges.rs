//! Charges: issuing and cancelling codes, and the public look-up.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::catalogue::Tariff;
use crate::charge::{Charge, ChargeStatus, Payer};
use crate::code::{CodeError, PaymentCode};
use crate::errors::{IssueError, LookupError};
use crate::events::EventKind;
use crate::i18n::{LocalizedText, Text};
use crate::money::Money;
use crate::ports::{ChargeStore, StoreError};

use super::ctx::Ctx;

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

/// Issues, cancels and looks up charges. Needs only the charge store.
pub(crate) struct Charges {
    pub(crate) charges: Arc<dyn ChargeStore>,
    pub(crate) ctx: Ctx,
}

impl Charges {
    /// Issues a charge (what an agency does when it gives out a code).
    pub(crate) async fn issue(&self, req: IssueCharge, actor: &str) -> Result<Charge, IssueError> {
        let now = self.ctx.now();
        let service = self
            .ctx
            .config
            .catalogue
            .service(&req.service)
            .ok_or_else(|| IssueError::UnknownService(req.service.clone()))?
            .clone();
        let amount = match (&req.urgency, req.amount) {
            (_, Some(a)) => a,
            (Some(u), None) => self
                .ctx
                .config
                .catalogue
                .tariff(&service.id, u)
                .ok_or_else(|| IssueError::UnknownTariff(u.clone()))?
                .total()
                .map_err(|_| IssueError::BadAmount)?,
            (None, None) => {
                let mut tariffs = self.ctx.config.catalogue.tariffs_of(&service.id);
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
            .is_some_and(|u| self.ctx.config.catalogue.tariff(&service.id, u).is_none())
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
        let format = &self.ctx.config.code_format;
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
                    let serial = (self.ctx.new_id().as_u128() % modulus) as u64;
                    format
                        .generate(service.family, serial)
                        .ok_or(IssueError::Code(CodeError::Prefix))?
                }
            };
            let charge = Charge {
                id: self.ctx.new_id(),
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
            let event = self.ctx.event_by(
                actor,
                charge.id,
                None,
                EventKind::ChargeIssued,
                json!({"code": charge.code, "service": charge.service, "amount": charge.amount}),
                now,
            );
            match self.charges.insert_charge(&charge, &event).await {
                Ok(()) => return Ok(charge),
                Err(StoreError::DuplicateCode) if fixed_code.is_none() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(IssueError::Store(StoreError::DuplicateCode))
    }

    /// Cancels an unpaid charge (the agency withdrew it).
    pub(crate) async fn cancel(
        &self,
        code: &PaymentCode,
        actor: &str,
    ) -> Result<Charge, LookupError> {
        let now = self.ctx.now();
        let charge = self
            .charges
            .charge_by_code(code)
            .await?
            .ok_or(LookupError::NotFound)?;
        let event = self.ctx.event_by(
            actor,
            charge.id,
            None,
            EventKind::ChargeCancelled,
            json!({}),
            now,
        );
        self.charges
            .set_charge_status(charge.id, charge.status, ChargeStatus::Cancelled, &event)
            .await?;
        Ok(Charge {
            status: ChargeStatus::Cancelled,
            ..charge
        })
    }

    /// Looks a code up: what the payer sees after typing it. A typo is
    /// caught by the check digit before any storage access.
    pub(crate) async fn look_up(&self, input: &str) -> Result<ChargeView, LookupError> {
        let code = self.ctx.config.code_format.parse(input)?;
        let charge = self
            .charges
            .charge_by_code(&code)
            .await?
            .ok_or(LookupError::NotFound)?;
        Ok(self.view(&charge, self.ctx.now()))
    }

    pub(crate) fn view(&self, charge: &Charge, now: DateTime<Utc>) -> ChargeView {
        let catalogue = &self.ctx.config.catalogue;
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
            fee: self.ctx.config.fee.fee_for(charge.amount),
            status: charge.effective_status(now),
            not_payable: charge
                .ensure_payable(now)
                .err()
                .map(|e| crate::i18n::ErrorCode::text(&e)),
            expires_at: charge.expires_at,
        }
    }
}
