//! Demo payment codes, one per service, issued once and found again on
//! later starts (their codes are fixed, so issuing is idempotent).

use chrono::Duration;
use tolom_core::errors::IssueError;
use tolom_core::ports::StoreError;
use tolom_core::usecases::{ChargeView, IssueCharge};
use tolom_core::Tolom;

/// Demo payers, one per service of the default catalogue.
pub const DEMO_PAYERS: [(&str, &str); 5] = tolom_testkit::fixtures::DEMO_PAYERS;

/// The fixed serial number of the `index`-th demo code.
fn serial(index: usize) -> u64 {
    4_200_001 + index as u64
}

/// Issues the demo charges that do not exist yet and returns every demo
/// charge as a payer would see it.
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
        let urgency = config
            .catalogue
            .tariffs_of(service)
            .find(|t| t.published)
            .or_else(|| config.catalogue.tariffs_of(service).next())
            .map(|t| t.urgency.clone());
        let result = tolom
            .issue_charge(IssueCharge {
                service: service.to_string(),
                urgency,
                amount: None,
                payer: payer.to_string(),
                code: Some(code.as_str().to_string()),
                expires_at: tolom.clock().now() + Duration::days(365),
                agency_ref: Some(format!("demo-{}", i + 1)),
            })
            .await;
        match result {
            Ok(_) | Err(IssueError::Store(StoreError::DuplicateCode)) => {}
            Err(e) => return Err(e),
        }
        match tolom.look_up(code.as_str()).await {
            Ok(view) => out.push(view),
            Err(tolom_core::errors::LookupError::Store(e)) => return Err(IssueError::Store(e)),
            Err(_) => {}
        }
    }
    Ok(out)
}
