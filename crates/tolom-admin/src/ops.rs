//! Operator use cases over the core's ports.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::RngCore;
use serde::Serialize;
use tolom_core::money::{Currency, Money};
use tolom_core::access::{hash_token, ApiToken, Role};
use tolom_core::audit::{verify_chain, AuditProblem};
use tolom_core::ports::OpsStore;
use tolom_core::payment::{Payment, PaymentState};
use tolom_core::ports::{PaymentQuery, Store, StoreError};
use tolom_core::time::bishkek;
use uuid::Uuid;

/// One line of the reconciliation report: a day (in Asia/Bishkek) and a
/// service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// The day the payments succeeded, Asia/Bishkek.
    pub day: NaiveDate,
    /// Service id.
    pub service: String,
    /// Succeeded payments (also those refunded since).
    pub payments: u64,
    /// Sum of the charges' amounts.
    pub amount: Money,
    /// Sum of the site's fees.
    pub fee: Money,
    /// Sum charged to cards (amount + fee): what the bank's statement shows.
    pub total: Money,
    /// Refunded of these payments so far.
    pub refunded: Money,
    /// `total - refunded`.
    pub net: Money,
}

/// The states of a payment that took money.
pub const PAID_STATES: [PaymentState; 3] = [
    PaymentState::Succeeded,
    PaymentState::PartiallyRefunded,
    PaymentState::Refunded,
];

fn add(a: Money, b: Money) -> Money {
    a.checked_add(b).unwrap_or(a)
}

/// The report per day (the day a payment succeeded, in Asia/Bishkek) and
/// service, for the days `from..=to`, optionally one service. Sorted by day,
/// then service.
pub async fn report(
    store: &dyn Store,
    from: NaiveDate,
    to: NaiveDate,
    service: Option<&str>,
) -> Result<Vec<ReportRow>, StoreError> {
    let tz = bishkek();
    let start = from
        .and_hms_opt(0, 0, 0)
        .and_then(|d| d.and_local_timezone(tz).single())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default();
    let end = to
        .succ_opt()
        .unwrap_or(to)
        .and_hms_opt(0, 0, 0)
        .and_then(|d| d.and_local_timezone(tz).single())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default();
    // A payment succeeds after it is created (within its session), so
    // everything that succeeded in the window was created at most a day
    // before it.
    let payments = store
        .list_payments(&PaymentQuery {
            states: PAID_STATES.to_vec(),
            service: service.map(str::to_string),
            created_from: Some(start - Duration::days(1)),
            created_to: Some(end),
            ..PaymentQuery::default()
        })
        .await?;
    let mut rows: BTreeMap<(NaiveDate, String), ReportRow> = BTreeMap::new();
    for p in payments {
        let Some(at) = p.succeeded_at() else { continue };
        if at < start || at >= end {
            continue;
        }
        let day = at.with_timezone(&tz).date_naive();
        let zero = Money::zero(p.total().currency());
        let row = rows
            .entry((day, p.service().to_string()))
            .or_insert_with(|| ReportRow {
                day,
                service: p.service().to_string(),
                payments: 0,
                amount: zero,
                fee: zero,
                total: zero,
                refunded: zero,
                net: zero,
            });
        row.payments += 1;
        row.amount = add(row.amount, p.amount());
        row.fee = add(row.fee, p.fee());
        row.total = add(row.total, p.total());
        row.refunded = add(row.refunded, p.refunded());
        row.net = row.total.checked_sub(row.refunded).unwrap_or(row.total);
    }
    Ok(rows.into_values().collect())
}

/// The report as CSV (header line first; amounts with two decimals).
pub fn report_csv(rows: &[ReportRow]) -> String {
    let mut out = String::from("day,service,payments,amount,fee,total,refunded,net,currency\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            r.day,
            r.service,
            r.payments,
            r.amount.amount(),
            r.fee.amount(),
            r.total.amount(),
            r.refunded.amount(),
            r.net.amount(),
            r.total.currency().code()
        ));
    }
    out
}

/// A new admin API token: the stored record and the secret, shown once.
#[derive(Debug)]
pub struct NewToken {
    /// As stored (hash only).
    pub token: ApiToken,
    /// The bearer secret. It is not stored anywhere: show it once.
    pub secret: String,
}

/// Creates a token with a random 256-bit secret (`tlm_` + 64 hex digits)
/// and records `token.created` in the audit log.
pub async fn create_token(
    ops: &dyn OpsStore,
    name: &str,
    role: Role,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<NewToken, StoreError> {
    let name = name.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(StoreError::Invariant(
            "a token name is 1-64 characters: letters, digits, '-', '_', '.'".into(),
        ));
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = format!("tlm_{}", hex::encode(bytes));
    let token = ApiToken {
        id: Uuid::new_v4(),
        name: name.to_string(),
        role,
        secret_hash: hash_token(&secret),
        created_at: now,
        revoked_at: None,
    };
    ops.create_token(&token).await?;
    ops.append_audit(
        now,
        actor,
        "token.created",
        &token.name,
        serde_json::json!({"role": role.as_str(), "id": token.id}),
    )
    .await?;
    Ok(NewToken { token, secret })
}

/// Revokes a token by name and records `token.revoked`.
pub async fn revoke_token(
    ops: &dyn OpsStore,
    name: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    ops.revoke_token(name, now).await?;
    ops.append_audit(now, actor, "token.revoked", name, serde_json::json!({}))
        .await?;
    Ok(())
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Entries read.
    pub entries: usize,
    /// The first problem, if any.
    pub problem: Option<String>,
    /// The sequence number of the first broken entry, if any.
    pub broken_at: Option<u64>,
}

/// Reads the whole audit log and checks the chain.
pub async fn verify_audit(ops: &dyn OpsStore) -> Result<AuditReport, StoreError> {
    let entries = ops.audit_entries(1, 0).await?;
    Ok(match verify_chain(&entries) {
        Ok(n) => AuditReport {
            entries: n,
            problem: None,
            broken_at: None,
        },
        Err(p) => AuditReport {
            entries: entries.len(),
            broken_at: Some(match &p {
                AuditProblem::Altered { seq }
                | AuditProblem::BrokenLink { seq }
                | AuditProblem::Duplicate { seq } => *seq,
                AuditProblem::Missing { from, .. } => *from,
            }),
            problem: Some(p.to_string()),
        },
    })
}

/// Anonymises the contact data of payments settled more than
/// `retention_days` ago and records `retention.run` with the count.
pub async fn run_retention(
    ops: &dyn OpsStore,
    retention_days: u32,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let before = now - Duration::days(i64::from(retention_days));
    let n = ops.anonymise_before(before).await?;
    ops.append_audit(
        now,
        actor,
        "retention.run",
        "payments",
        serde_json::json!({"before": before, "anonymised": n}),
    )
    .await?;
    Ok(n)
}

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
    pub charge: Option<tolom_core::charge::Charge>,
    /// Its refunds.
    pub refunds: Vec<tolom_core::payment::Refund>,
    /// Its events.
    pub events: Vec<tolom_core::events::Event>,
}

/// Collects everything held about a phone number and/or an e-mail address
/// and records `subject.exported` (without the contact itself).
pub async fn subject_export(
    store: &Arc<dyn Store>,
    ops: &dyn OpsStore,
    phone: Option<String>,
    email: Option<String>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<SubjectExport, StoreError> {
    let payments = ops
        .payments_by_contact(phone.clone(), email.clone())
        .await?;
    let mut out = Vec::with_capacity(payments.len());
    for p in payments {
        out.push(SubjectPayment {
            charge: store.charge(p.charge_id()).await?,
            refunds: store.refunds_of(p.id()).await?,
            events: store.events_of(p.id()).await?,
            payment: p,
        });
    }
    ops.append_audit(
        now,
        actor,
        "subject.exported",
        "payments",
        serde_json::json!({"payments": out.len()}),
    )
    .await?;
    Ok(SubjectExport {
        exported_at: now,
        phone,
        email,
        payments: out,
    })
}

/// Zero in som, for callers that sum reports.
pub fn zero_som() -> Money {
    Money::zero(Currency::KGS)
}
