//! Charges: issuing and cancelling codes, and the public look-up.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use crate::catalogue::{Catalogue, Tariff};
use crate::charge::{Charge, ChargeStatus, NotPayable, Payer};
use crate::code::{CodeError, PaymentCode};
use crate::errors::{IssueError, LookupError};
use crate::events::EventKind;
use crate::external::{ExternalState, PaymentChannel};
use crate::i18n::{LocalizedText, Text};
use crate::money::Money;
use crate::payment::PaymentState;
use crate::ports::{
    ChargeStore, ExternalPaymentStore, ExternalQuery, InvariantKind, PaymentQuery, PaymentStore,
    StoreError,
};

use super::ctx::{Ctx, Notes};

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
    /// How and when a paid charge was paid ("paid on <date> via
    /// <channel>"); `None` unless it is paid.
    pub paid_via: Option<PaidVia>,
}

/// How and when a charge was paid, as a look-up shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PaidVia {
    /// By card through tolom, or the channel that reported the payment.
    pub channel: PaymentChannel,
    /// When the payer paid.
    pub paid_at: DateTime<Utc>,
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

/// The longest payer name a charge takes, in characters.
pub const MAX_PAYER_CHARS: usize = 200;

/// The longest agency reference, in characters.
pub const MAX_AGENCY_REF_CHARS: usize = 100;

/// The longest a code may stay payable: its expiry is at most this many
/// days after it is issued.
pub const MAX_VALID_DAYS: u32 = 3650;

/// How many random codes issuing draws, each refused by the store as taken,
/// before it gives up. With the default format (10⁹ serials per family)
/// a second draw is already rare.
const CODE_DRAWS: usize = 16;

/// What issuing did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "charge", rename_all = "snake_case")]
pub enum Issued {
    /// A new charge.
    New(Charge),
    /// The agency reference was issued before with the same data: that
    /// charge, unchanged (nothing was written).
    Existing(Charge),
}

impl Issued {
    /// The charge, new or existing.
    pub fn charge(&self) -> &Charge {
        match self {
            Issued::New(c) | Issued::Existing(c) => c,
        }
    }

    /// The charge, new or existing.
    pub fn into_charge(self) -> Charge {
        match self {
            Issued::New(c) | Issued::Existing(c) => c,
        }
    }
}

/// What of `req` differs from the charge that holds its agency reference
/// (empty: the same request). The expiry is not compared: a re-run with
/// another default validity is the same request.
fn differences(
    existing: &Charge,
    req: &IssueCharge,
    code: Option<&PaymentCode>,
    payer: &str,
    amount: Money,
) -> Vec<&'static str> {
    let mut differs = Vec::new();
    if existing.payer.full_name != payer {
        differs.push("payer");
    }
    if existing.amount != amount {
        differs.push("amount");
    }
    if existing.urgency != req.urgency {
        differs.push("urgency");
    }
    if code.is_some_and(|c| *c != existing.code) {
        differs.push("code");
    }
    if existing.service != req.service {
        differs.push("service");
    }
    differs
}

/// Issues, cancels and looks up charges. Needs the charge store, and for
/// the look-up of a paid charge what paid it (the payment store and the
/// payments made elsewhere).
pub(crate) struct Charges {
    pub(crate) charges: Arc<dyn ChargeStore>,
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) external: Arc<dyn ExternalPaymentStore>,
    pub(crate) ctx: Ctx,
}

impl Charges {
    /// Issues a charge (what an agency does when it gives out a code),
    /// **idempotently by agency reference**: a request whose reference a
    /// charge of the service already holds gets that charge back when
    /// everything else is the same ([`Issued::Existing`], nothing written)
    /// and [`IssueError::AgencyRefConflict`] when it is not. A code the
    /// agency does not choose gets a random serial from the operating
    /// system's CSPRNG; the store refuses a code that is taken and another
    /// is drawn. `notes` go into the audit log with the charge.
    pub(crate) async fn issue(
        &self,
        req: IssueCharge,
        actor: &str,
        notes: &Notes,
    ) -> Result<Issued, IssueError> {
        let now = self.ctx.now();
        let service = self
            .ctx
            .config
            .catalogue
            .service(&req.service)
            .ok_or_else(|| IssueError::UnknownService(req.service.clone()))?
            .clone();
        // A placeholder is not a fee: no charge names an unpublished
        // tariff, nor takes its amount from one.
        let unpublished = |urgency: &str| IssueError::TariffUnpublished {
            service: service.id.clone(),
            urgency: urgency.to_string(),
        };
        if let Some(u) = &req.urgency {
            if !self
                .ctx
                .config
                .catalogue
                .fee_published(&service.id, Some(u))
            {
                return Err(unpublished(u));
            }
        }
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
                    (Some(t), None) if !t.published => return Err(unpublished(&t.urgency)),
                    (Some(t), None) => t.total().map_err(|_| IssueError::BadAmount)?,
                    _ => return Err(IssueError::UnknownTariff("(none given)".into())),
                }
            }
        };
        if amount.is_zero() {
            return Err(IssueError::BadAmount);
        }
        // The amount and the total with the site's fee are kept and sent
        // to the bank as integer minor units: an amount beyond them is
        // refused here, never stored as something else.
        let with_fee = amount
            .checked_add(self.ctx.config.fee.fee_for(amount))
            .ok()
            .and_then(|t| t.checked_minor_units());
        if amount.checked_minor_units().is_none() || with_fee.is_none() {
            return Err(IssueError::AmountTooLarge(amount.amount().to_string()));
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
        if payer.chars().count() > MAX_PAYER_CHARS {
            return Err(IssueError::PayerTooLong(MAX_PAYER_CHARS));
        }
        let agency_ref = match req.agency_ref.as_deref().map(str::trim) {
            None => None,
            Some(r)
                if r.is_empty()
                    || r.chars().count() > MAX_AGENCY_REF_CHARS
                    || r.chars().any(char::is_control) =>
            {
                return Err(IssueError::AgencyRefInvalid(
                    r.chars().take(MAX_AGENCY_REF_CHARS).collect(),
                ))
            }
            Some(r) => Some(r.to_string()),
        };
        if req.expires_at <= now {
            return Err(IssueError::BadExpiry);
        }
        if req.expires_at - now > Duration::days(i64::from(MAX_VALID_DAYS)) {
            return Err(IssueError::ExpiryTooFar(MAX_VALID_DAYS));
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
        let held = |existing: Charge| {
            let differs = differences(&existing, &req, fixed_code.as_ref(), &payer, amount);
            if differs.is_empty() {
                Ok(Issued::Existing(existing))
            } else {
                Err(IssueError::AgencyRefConflict {
                    agency_ref: agency_ref.clone().unwrap_or_default(),
                    code: existing.code.to_string(),
                    differs: differs.join(", "),
                })
            }
        };
        if let Some(r) = &agency_ref {
            if let Some(existing) = self.charges.charge_by_agency_ref(&service.id, r).await? {
                return held(existing);
            }
        }
        for _ in 0..CODE_DRAWS {
            let code = match &fixed_code {
                Some(c) => c.clone(),
                None => format
                    .random(service.family, &mut rand::rngs::OsRng)
                    .ok_or(IssueError::Code(CodeError::Prefix))?,
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
                agency_ref: agency_ref.clone(),
            };
            let event = self.ctx.event_by(
                actor,
                charge.id,
                None,
                EventKind::ChargeIssued,
                json!({"code": charge.code, "service": charge.service, "amount": charge.amount}),
                now,
            );
            match self
                .charges
                .insert_charge(&charge, &event, notes.pending())
                .await
            {
                Ok(()) => {
                    notes.mark_written();
                    return Ok(Issued::New(charge));
                }
                Err(StoreError::DuplicateCode) if fixed_code.is_none() => continue,
                // The agency's own code again: the same request is the
                // charge issued before, another one is refused.
                Err(StoreError::DuplicateCode) => {
                    let Some(existing) = self.charges.charge_by_code(&charge.code).await? else {
                        return Err(StoreError::DuplicateCode.into());
                    };
                    let mut differs = differences(&existing, &req, None, &payer, amount);
                    if existing.agency_ref != agency_ref {
                        differs.push("agency reference");
                    }
                    return if differs.is_empty() {
                        Ok(Issued::Existing(existing))
                    } else {
                        Err(IssueError::CodeTaken {
                            code: existing.code.to_string(),
                            differs: differs.join(", "),
                        })
                    };
                }
                // Another request took the reference meanwhile.
                Err(e) if e.invariant_kind() == Some(InvariantKind::DuplicateAgencyRef) => {
                    let Some(r) = &agency_ref else {
                        return Err(e.into());
                    };
                    return match self.charges.charge_by_agency_ref(&service.id, r).await? {
                        Some(existing) => held(existing),
                        None => Err(e.into()),
                    };
                }
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
        notes: &Notes,
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
            .set_charge_status(
                charge.id,
                charge.status,
                ChargeStatus::Cancelled,
                &event,
                notes.pending(),
            )
            .await?;
        notes.mark_written();
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
        let mut view = self.view(&charge, self.ctx.now());
        if view.status == ChargeStatus::Paid {
            view.paid_via = self.paid_via(&charge).await?;
        }
        Ok(view)
    }

    /// What pays a paid charge: an accepted payment made elsewhere, else
    /// its succeeded, unrefunded card payment (two reads at most, only for
    /// a paid charge).
    async fn paid_via(&self, charge: &Charge) -> Result<Option<PaidVia>, StoreError> {
        let external = self
            .external
            .list_external_payments(&ExternalQuery {
                states: vec![ExternalState::Accepted],
                charge_id: Some(charge.id),
                limit: 1,
                ..ExternalQuery::default()
            })
            .await?;
        if let Some(p) = external.first() {
            return Ok(Some(PaidVia {
                channel: p.channel,
                paid_at: p.paid_at,
            }));
        }
        let card = self
            .payments
            .list_payments(&PaymentQuery {
                states: vec![PaymentState::Succeeded, PaymentState::PartiallyRefunded],
                charge_id: Some(charge.id),
                limit: 1,
                ..PaymentQuery::default()
            })
            .await?;
        Ok(card.first().and_then(|p| {
            p.succeeded_at().map(|at| PaidVia {
                channel: PaymentChannel::Card,
                paid_at: at,
            })
        }))
    }

    /// Whether `charge` can be paid at `now`: its status, and a fee the
    /// catalogue has published ([`NotPayable::FeeUnpublished`] for a
    /// charge that names a placeholder tariff, e.g. one issued before the
    /// tariff was marked unpublished).
    pub(crate) fn payable(
        catalogue: &Catalogue,
        charge: &Charge,
        now: DateTime<Utc>,
    ) -> Result<(), NotPayable> {
        charge.ensure_payable(now)?;
        if catalogue.fee_published(&charge.service, charge.urgency.as_deref()) {
            Ok(())
        } else {
            Err(NotPayable::FeeUnpublished)
        }
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
            not_payable: Charges::payable(catalogue, charge, now)
                .err()
                .map(|e| crate::i18n::ErrorCode::text(&e)),
            expires_at: charge.expires_at,
            paid_via: None,
        }
    }
}
