//! What `tolom demo` (`tolom serve --demo`) adds to the production
//! composition: demo codes for every service, the sandbox's test cards on
//! the console, and notifications to a local log.

use chrono::Duration;
use tolom_acquirer_sandbox::test_cards;
use tolom_core::errors::{IssueError, LookupError};
use tolom_core::ports::StoreError;
use tolom_core::usecases::{ChargeView, IssueCharge};
use tolom_core::Tolom;

mod log_notifier;

pub use log_notifier::LogNotifier;

/// Demo payers, one per service of the default catalogue.
pub const DEMO_PAYERS: [(&str, &str); 5] = [
    ("id-card-2017", "Асанов Айбек Маратович"),
    ("passport-2020", "Сыдыкова Айгүл Бакытовна"),
    ("driving-licence-national", "Токтогулов Нурлан Эркинович"),
    ("driving-licence-international", "Жумабаева Чолпон Асановна"),
    ("meken-card", "Ivanova Anna"),
];

/// The fixed serial number of the `index`-th demo code.
fn serial(index: usize) -> u64 {
    4_200_001 + index as u64
}

/// Issues the demo charges that do not exist yet (their codes are fixed, so
/// issuing is idempotent across starts) and returns every demo charge as a
/// payer would see it.
pub async fn ensure_demo_codes(tolom: &Tolom) -> Result<Vec<ChargeView>, IssueError> {
    let mut out = Vec::new();
    let config = tolom.config();
    for (i, (service, payer)) in DEMO_PAYERS.iter().enumerate() {
        let Some(svc) = config.catalogue.service(service) else {
            continue;
        };
        let Some(code) = config.code_format.generate(svc.family, serial(i)) else {
            continue;
        };
        // A published tariff explains the amount. A service whose fees are
        // all unpublished (the default catalogue's driving licences) gets
        // no code from its placeholder: its demo code carries the amount
        // as the issuing agency states it, with no tariff.
        let (urgency, amount) = match config.catalogue.tariffs_of(service).find(|t| t.published) {
            Some(t) => (Some(t.urgency.clone()), None),
            None => (
                None,
                config
                    .catalogue
                    .tariffs_of(service)
                    .next()
                    .and_then(|t| t.total().ok()),
            ),
        };
        let result = tolom
            .issue_charge(IssueCharge {
                service: service.to_string(),
                urgency,
                amount,
                payer: payer.to_string(),
                code: Some(code.as_str().to_string()),
                expires_at: tolom.clock().now() + Duration::days(365),
                agency_ref: Some(format!("demo-{}", i + 1)),
            })
            .await;
        match result {
            // A demo code issued by an earlier version with other data
            // (a driving licence from its placeholder tariff) stays as it
            // is: the look-up shows what a payer would see of it.
            Ok(_)
            | Err(IssueError::Store(StoreError::DuplicateCode))
            | Err(IssueError::AgencyRefConflict { .. })
            | Err(IssueError::CodeTaken { .. }) => {}
            Err(e) => return Err(e),
        }
        match tolom.look_up(code.as_str()).await {
            Ok(view) => out.push(view),
            Err(LookupError::Store(e)) => return Err(IssueError::Store(e)),
            Err(_) => {}
        }
    }
    Ok(out)
}

/// The console banner: the demo codes and the sandbox's test cards.
pub fn banner(codes: &[ChargeView], otp: &str) -> String {
    let mut out = String::new();
    if !codes.is_empty() {
        out.push_str("Demo payment codes:\n");
        for v in codes {
            out.push_str(&format!(
                "  {:<16} {:<32} {:<14} {:>12}  {}\n",
                v.code.grouped(),
                v.service,
                v.payer,
                format!("{} {}", v.amount.amount(), v.amount.currency()),
                v.status.as_str()
            ));
        }
        out.push('\n');
    }
    out.push_str("Sandbox test cards (any Latin name, any future expiry, CVV other than 000):\n");
    for c in test_cards() {
        out.push_str(&format!(
            "  {:<20} {:<11} {}\n",
            c.pan,
            c.brand_name(),
            c.description
        ));
    }
    out.push_str(&format!("One-time code for the 3-D Secure card: {otp}\n"));
    out
}
