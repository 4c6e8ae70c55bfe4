//! Personal data: retention (anonymising old contact data) and access
//! requests (everything held about a phone number or an e-mail address).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use crate::access::{Permission, Principal};
use crate::audit::AuditNote;
use crate::charge::Charge;
use crate::events::Event;
use crate::payment::{Payment, Refund};

use super::{Operator, OperatorError};

/// Everything held about a data subject (for an access request).
#[derive(Debug, Clone, Serialize)]
pub struct SubjectExport {
    /// When the export was made.
    pub exported_at: DateTime<Utc>,
    /// The phone number asked about.
    pub phone: Option<String>,
    /// The e-mail address asked about.
    pub email: Option<String>,
    /// The payments made with these contacts, each with its charge, refunds
    /// and events.
    pub payments: Vec<SubjectPayment>,
}

/// One payment of a data subject.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectPayment {
    /// The payment (masked card, contact, states, receipt number).
    pub payment: Payment,
    /// The charge it paid (payer name, service, amount).
    pub charge: Option<Charge>,
    /// Its refunds.
    pub refunds: Vec<Refund>,
    /// Its events.
    pub events: Vec<Event>,
}

impl Operator {
    /// Anonymises the contact data of payments settled more than
    /// `retention_days` ago; `retention.run` (with the count) is recorded
    /// in the same transaction. Returns how many payments were anonymised.
    pub async fn run_retention(
        &self,
        who: &Principal,
        retention_days: u32,
    ) -> Result<u64, OperatorError> {
        self.allow(who, Permission::ManagePersonalData).await?;
        let now = self.ctx.now();
        let before = Duration::try_days(i64::from(retention_days))
            .and_then(|d| now.checked_sub_signed(d))
            .ok_or_else(|| OperatorError::Invalid("retention period too long".into()))?;
        let note = AuditNote::new(
            now,
            who.actor(),
            "retention.run",
            "payments",
            json!({"before": before, "days": retention_days}),
        );
        Ok(self.ops.anonymise_before(before, &note).await?)
    }

    /// Collects everything held about a phone number and/or an e-mail
    /// address. `subject.exported` (without the contact itself) is recorded
    /// before anything is read, so no export leaves without its entry.
    pub async fn subject_export(
        &self,
        who: &Principal,
        phone: Option<String>,
        email: Option<String>,
    ) -> Result<SubjectExport, OperatorError> {
        self.allow(who, Permission::ManagePersonalData).await?;
        if phone.is_none() && email.is_none() {
            return Err(OperatorError::Invalid(
                "give a phone number or an e-mail address".into(),
            ));
        }
        let now = self.ctx.now();
        self.ops
            .append_audit(&AuditNote::new(
                now,
                who.actor(),
                "subject.exported",
                "payments",
                json!({"phone": phone.is_some(), "email": email.is_some()}),
            ))
            .await?;
        let payments = self
            .ops
            .payments_by_contact(phone.clone(), email.clone())
            .await?;
        let mut out = Vec::with_capacity(payments.len());
        for p in payments {
            out.push(SubjectPayment {
                charge: self.charge_store.charge(p.charge_id()).await?,
                refunds: self.payments.refunds_of(p.id()).await?,
                events: self.events.events_of(p.id()).await?,
                payment: p,
            });
        }
        Ok(SubjectExport {
            exported_at: now,
            phone,
            email,
            payments: out,
        })
    }
}
