//! The use cases' settings.

use chrono::Duration;

use crate::card::BrandTable;
use crate::catalogue::Catalogue;
use crate::code::CodeFormat;
use crate::money::Money;
use crate::receipt::Operator;

/// A fee the site adds on top of the charge (zero by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeePolicy {
    /// A fixed part, in som.
    pub fixed: Money,
    /// A proportional part, in basis points (1/100 of a percent).
    pub basis_points: u32,
}

impl Default for FeePolicy {
    fn default() -> Self {
        FeePolicy {
            fixed: Money::zero(crate::money::Currency::KGS),
            basis_points: 0,
        }
    }
}

impl FeePolicy {
    /// The fee for an amount, rounded half up to the minor unit.
    pub fn fee_for(&self, amount: Money) -> Money {
        let minor = amount.to_minor_units();
        let prop = (u128::from(minor) * u128::from(self.basis_points) + 5_000) / 10_000;
        let prop =
            Money::from_minor_units(u64::try_from(prop).unwrap_or(u64::MAX), amount.currency());
        prop.checked_add(self.fixed).unwrap_or(prop)
    }
}

/// Settings of the use cases.
#[derive(Debug, Clone)]
pub struct Config {
    /// The shape of valid codes.
    pub code_format: CodeFormat,
    /// Services and tariffs.
    pub catalogue: Catalogue,
    /// Card brand ranges.
    pub brands: BrandTable,
    /// Operator's details for receipts.
    pub operator: Operator,
    /// The site's fee.
    pub fee: FeePolicy,
    /// How long a started payment stays open (default 30 minutes).
    pub payment_ttl: Duration,
    /// After how long an `Authorizing` payment is considered stuck and
    /// reconciled (default 2 minutes).
    pub authorizing_stale_after: Duration,
    /// How long after creation a payment closed as failed or expired is
    /// still checked for an approval that arrived late (default 2 hours;
    /// gateways close their own sessions well within it). Each
    /// `reconcile` round asks the acquirer about these payments.
    pub late_approval_window: Duration,
    /// The least time a payer has for a challenge (3-D Secure, hosted page)
    /// after sending the card: the session end moves out to at least this
    /// far (default 15 minutes).
    pub challenge_window: Duration,
    /// How long a started payment holds its code for its payer to fill the
    /// card form (default 10 minutes): meanwhile another start of the same
    /// code is refused with `charge.payment_in_progress` (and when it may
    /// try again) instead of taking the code from the payer.
    pub card_entry_window: Duration,
    /// How long a payment closed while its order was still open at the
    /// acquirer (the acquirer would not cancel it) is watched for a late
    /// approval (default 7 days).
    pub open_order_watch: Duration,
    /// How long a dispatcher holds an outbox message (default 60 s).
    pub outbox_lease: Duration,
    /// How long the editions of the agreement are cached (default 5 s).
    pub terms_refresh: Duration,
    /// Where the payer returns after a redirect challenge or hosted page:
    /// the payment's own return route, with `{order}` replaced by the
    /// payment's order number (e.g.
    /// `https://pay.example.kg/payments/{order}/return`).
    pub return_url: Option<String>,
    /// Enqueue receipt e-mails (default: true).
    pub receipt_emails: bool,
    /// Enqueue agency notices (default: true).
    pub agency_notices: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            code_format: CodeFormat::default(),
            catalogue: Catalogue::kyrgyz_default(),
            brands: BrandTable::default(),
            operator: Operator::default(),
            fee: FeePolicy::default(),
            payment_ttl: Duration::minutes(30),
            authorizing_stale_after: Duration::minutes(2),
            challenge_window: Duration::minutes(15),
            card_entry_window: Duration::minutes(10),
            open_order_watch: Duration::days(7),
            late_approval_window: Duration::hours(2),
            outbox_lease: Duration::seconds(60),
            terms_refresh: Duration::seconds(5),
            return_url: None,
            receipt_emails: true,
            agency_notices: true,
        }
    }
}
