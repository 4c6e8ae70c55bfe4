//! The daily report for reconciliation with the bank's statement.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::access::{Permission, Principal};
use crate::money::Money;
use crate::payment::PaymentState;
use crate::ports::PaymentQuery;
use crate::time::bishkek;

use super::{Operator, OperatorError};

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

impl Operator {
    /// The report per day (the day a payment succeeded, in Asia/Bishkek)
    /// and service, for the days `from..=to`, optionally one service.
    /// Sorted by day, then service.
    pub async fn report(
        &self,
        who: &Principal,
        from: NaiveDate,
        to: NaiveDate,
        service: Option<&str>,
    ) -> Result<Vec<ReportRow>, OperatorError> {
        self.allow(who, Permission::ReadReports).await?;
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
        let payments = self
            .payments
            .list_payments(&PaymentQuery {
                states: PAID_STATES.to_vec(),
                service: service.map(str::to_string),
                created_from: Some(start.checked_sub_signed(Duration::days(1)).unwrap_or(start)),
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
}
