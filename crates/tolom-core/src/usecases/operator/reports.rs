//! The daily report for reconciliation with the bank's statement: card
//! payments, and the payments made elsewhere on lines of their own, one
//! per channel.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::access::{Permission, Principal};
use crate::external::{ExternalState, PaymentChannel};
use crate::money::Money;
use crate::payment::PaymentState;
use crate::ports::{ExternalQuery, PaymentQuery};
use crate::time::bishkek;

use super::{Operator, OperatorError};

/// One line of the reconciliation report: a day (in Asia/Bishkek), a
/// service and a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// The day the payments succeeded (were paid at their channel),
    /// Asia/Bishkek.
    pub day: NaiveDate,
    /// Service id.
    pub service: String,
    /// `card` (payments through tolom, on the acquirer's statement), or the
    /// channel that reported payments made elsewhere (on that channel's
    /// statement). Flagged duplicates made elsewhere are not counted (they
    /// do not pay a charge; `tolom payments duplicates` lists them).
    pub channel: PaymentChannel,
    /// Succeeded payments (also those refunded since).
    pub payments: u64,
    /// Sum of the charges' amounts.
    pub amount: Money,
    /// Sum of the site's fees (none on payments made elsewhere).
    pub fee: Money,
    /// Sum paid (amount + fee): what the channel's statement shows.
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
    let mut out =
        String::from("day,service,channel,payments,amount,fee,total,refunded,net,currency\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            r.day,
            r.service,
            r.channel,
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
    /// The report per day (the day a payment succeeded, in Asia/Bishkek),
    /// service and channel, for the days `from..=to`, optionally one
    /// service. Sorted by day, service, then channel (`card` first).
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
        let external = self
            .external
            .list_external_payments(&ExternalQuery {
                states: vec![ExternalState::Accepted],
                service: service.map(str::to_string),
                paid_from: Some(start),
                paid_to: Some(end),
                ..ExternalQuery::default()
            })
            .await?;
        let mut rows: BTreeMap<(NaiveDate, String, usize), ReportRow> = BTreeMap::new();
        let mut add_line = |at: chrono::DateTime<Utc>,
                            service: &str,
                            channel: PaymentChannel,
                            [amount, fee, total, refunded]: [Money; 4]| {
            let day = at.with_timezone(&tz).date_naive();
            let zero = Money::zero(total.currency());
            let order = PaymentChannel::ALL
                .iter()
                .position(|c| *c == channel)
                .unwrap_or(usize::MAX);
            let row = rows
                .entry((day, service.to_string(), order))
                .or_insert_with(|| ReportRow {
                    day,
                    service: service.to_string(),
                    channel,
                    payments: 0,
                    amount: zero,
                    fee: zero,
                    total: zero,
                    refunded: zero,
                    net: zero,
                });
            row.payments += 1;
            row.amount = add(row.amount, amount);
            row.fee = add(row.fee, fee);
            row.total = add(row.total, total);
            row.refunded = add(row.refunded, refunded);
            row.net = row.total.checked_sub(row.refunded).unwrap_or(row.total);
        };
        for p in payments {
            let Some(at) = p.succeeded_at() else { continue };
            if at < start || at >= end {
                continue;
            }
            add_line(
                at,
                p.service(),
                PaymentChannel::Card,
                [p.amount(), p.fee(), p.total(), p.refunded()],
            );
        }
        for p in external {
            let zero = Money::zero(p.amount.currency());
            add_line(
                p.paid_at,
                &p.service,
                p.channel,
                [p.amount, zero, p.amount, zero],
            );
        }
        Ok(rows.into_values().collect())
    }
}
