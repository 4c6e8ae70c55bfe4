//! Fees the catalogue marks unpublished (`"published": false`, the default
//! catalogue's driving licences): no code is issued from such a
//! placeholder, and a charge that names one (issued before the catalogue
//! said so) is shown with the `charge.fee_unpublished` notice and cannot
//! be paid, neither started nor sent a card.

use std::sync::Arc;

use chrono::Duration;
use tolom_core::catalogue::{Catalogue, DEFAULT_CATALOGUE_JSON};
use tolom_core::charge::NotPayable;
use tolom_core::errors::{IssueError, StartPaymentError, SubmitCardError};
use tolom_core::i18n::{text, ErrorCode, Language, Text};
use tolom_core::money::Money;
use tolom_core::ports::Clock;
use tolom_core::usecases::{Config, IssueCharge, StartPayment};
use tolom_testkit::fake::FakeAcquirer;
use tolom_testkit::fixtures::{card_form, Harness};

fn issue(h: &Harness, urgency: Option<&str>, amount: Option<Money>) -> IssueCharge {
    IssueCharge {
        service: "driving-licence-national".into(),
        urgency: urgency.map(str::to_string),
        amount,
        payer: "Токтогулов Нурлан Эркинович".into(),
        code: None,
        expires_at: h.clock.now() + Duration::days(30),
        agency_ref: None,
    }
}

/// The default catalogue with every placeholder marked published: what an
/// operator had before marking them (or what an older catalogue said).
fn all_published() -> Config {
    let json = DEFAULT_CATALOGUE_JSON.replace("\"published\": false", "\"published\": true");
    assert_ne!(json, DEFAULT_CATALOGUE_JSON, "the default has placeholders");
    Config {
        catalogue: Catalogue::from_json(&json).unwrap(),
        ..Config::default()
    }
}

#[tokio::test]
async fn no_code_is_issued_from_a_placeholder() {
    let (h, _) = Harness::with_fake();
    let unpublished: Vec<_> = h
        .tolom
        .config()
        .catalogue
        .unpublished()
        .map(|t| format!("{}/{}", t.service, t.urgency))
        .collect();
    assert_eq!(
        unpublished,
        [
            "driving-licence-national/standard",
            "driving-licence-international/standard"
        ]
    );
    // Named, with or without an amount of the agency's.
    for amount in [None, Some(Money::som(700))] {
        let err = h
            .tolom
            .issue_charge(issue(&h, Some("standard"), amount))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, IssueError::TariffUnpublished { service, urgency }
                if service == "driving-licence-national" && urgency == "standard"),
            "{err}"
        );
        assert!(err.to_string().contains("\"published\": true"), "{err}");
    }
    // Taken as the service's only tariff, without naming it.
    let err = h
        .tolom
        .issue_charge(issue(&h, None, None))
        .await
        .unwrap_err();
    assert!(matches!(err, IssueError::TariffUnpublished { .. }), "{err}");
    // The agency's own amount, with no tariff, is a charge like any other.
    let charge = h
        .tolom
        .issue_charge(issue(&h, None, Some(Money::som(700))))
        .await
        .unwrap();
    let view = h.tolom.look_up(charge.code.as_str()).await.unwrap();
    assert_eq!(view.not_payable, None);
    assert_eq!(view.amount, Money::som(700));
    assert!(view.tariff.is_none());
    h.pay(&charge.code, "4111 1111 1111 1111", "agency-amount")
        .await;
}

#[tokio::test]
async fn a_charge_naming_a_placeholder_is_shown_with_the_notice_and_not_payable() {
    let acquirer = Arc::new(FakeAcquirer::new());
    // Issued while the catalogue still called the fee published, and a
    // payment started then.
    let before = Harness::with_acquirer(acquirer.clone(), all_published());
    let charge = before
        .tolom
        .issue_charge(issue(&before, Some("standard"), None))
        .await
        .unwrap();
    assert_eq!(charge.amount, Money::som(1000), "the placeholder amount");
    let started = before.start(&charge.code, "started-before").await;

    // The same store under the catalogue that marks it unpublished.
    let after = Harness::on(before.store.clone(), acquirer.clone(), Config::default());
    let view = after.tolom.look_up(charge.code.as_str()).await.unwrap();
    assert_eq!(view.not_payable, Some(Text::ChargeFeeUnpublished));
    assert_eq!(
        Text::ChargeFeeUnpublished.code(),
        "charge.fee_unpublished",
        "a stable code"
    );
    for lang in Language::ALL {
        assert!(!text(Text::ChargeFeeUnpublished, lang).is_empty());
    }

    let terms = after.terms_id().await;
    let err = after
        .tolom
        .start_payment(StartPayment {
            code: charge.code.as_str(),
            accepted_terms: Some(&terms),
            idempotency_key: "start-after",
            language: Language::En,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StartPaymentError::NotPayable(NotPayable::FeeUnpublished)
        ),
        "{err}"
    );
    assert_eq!(err.text(), Text::ChargeFeeUnpublished);

    let err = after
        .tolom
        .submit_card(
            started.id(),
            &card_form("4111 1111 1111 1111"),
            "card-after",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, SubmitCardError::NotPayable(NotPayable::FeeUnpublished)),
        "{err}"
    );
    assert_eq!(acquirer.charges(), 0, "no money was taken");
}
