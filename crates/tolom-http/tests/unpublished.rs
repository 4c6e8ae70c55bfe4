//! Fees the catalogue has not published, as payers meet them: the services
//! list shows the tariff without its placeholder amount and with the
//! notice; a code that names one (issued before the catalogue marked it)
//! is shown with the `charge.fee_unpublished` notice on the page and in
//! the API, in each language, and a start is refused with 409.

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::{json, test_config, Client};
use tolom_acquirer_sandbox::SandboxAcquirer;
use tolom_core::catalogue::{Catalogue, DEFAULT_CATALOGUE_JSON};
use tolom_core::i18n::{text, Language, Text};
use tolom_core::ports::{Acquirer, Clock};
use tolom_core::usecases::{Config, IssueCharge};
use tolom_http::{router, AppState};
use tolom_testkit::fixtures::Harness;

/// The portal on the default catalogue, over a store that holds a
/// driving-licence code issued from its placeholder tariff while an older
/// catalogue called it published.
async fn portal_with_placeholder_code() -> (Client, Harness, String) {
    let acquirer: Arc<dyn Acquirer> = Arc::new(SandboxAcquirer::for_tests());
    let published = Catalogue::from_json(
        &DEFAULT_CATALOGUE_JSON.replace("\"published\": false", "\"published\": true"),
    )
    .unwrap();
    let before = Harness::with_acquirer(
        acquirer.clone(),
        Config {
            catalogue: published,
            ..Config::default()
        },
    );
    let charge = before
        .tolom
        .issue_charge(IssueCharge {
            service: "driving-licence-national".into(),
            urgency: Some("standard".into()),
            amount: None,
            payer: "Токтогулов Нурлан Эркинович".into(),
            code: None,
            expires_at: before.clock.now() + Duration::days(30),
            agency_ref: None,
        })
        .await
        .unwrap();
    let tolom = tolom_core::Tolom::builder()
        .store(before.store.clone())
        .acquirer(acquirer)
        .clock(before.clock.clone())
        .signer(Arc::new(tolom_testkit::fixtures::test_signer()))
        .build()
        .unwrap();
    let app = router(AppState::new(Arc::new(tolom), test_config()));
    (Client::new(app), before, charge.code.as_str().to_string())
}

#[tokio::test]
async fn the_services_list_shows_an_unpublished_fee_as_such() {
    let (mut c, _h, _) = portal_with_placeholder_code().await;
    let services = json(&c.get("/api/v1/services?lang=en").await);
    let list = services["services"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 5);
    let tariffs = |id: &str| {
        list.iter()
            .find(|s| s["id"] == id)
            .and_then(|s| s["tariffs"].as_array().cloned())
            .unwrap_or_default()
    };
    let licence = tariffs("driving-licence-national");
    assert_eq!(licence.len(), 1, "{licence:?}");
    assert_eq!(licence[0]["published"], false);
    assert!(licence[0]["total"].is_null(), "no placeholder amount");
    assert_eq!(licence[0]["components"], serde_json::json!([]));
    assert_eq!(licence[0]["notice"]["code"], "charge.fee_unpublished");
    assert_eq!(
        licence[0]["notice"]["message"],
        text(Text::ChargeFeeUnpublished, Language::En).as_ref()
    );
    let id_card = tariffs("id-card-2017");
    assert_eq!(id_card.len(), 5);
    assert!(id_card
        .iter()
        .all(|t| t["published"] == true && t["total"].is_string()));
}

#[tokio::test]
async fn a_code_with_an_unpublished_fee_is_shown_with_the_notice_and_cannot_be_started() {
    let (mut c, h, code) = portal_with_placeholder_code().await;
    for lang in Language::ALL {
        let v = json(
            &c.get(&format!("/api/v1/charges/{code}?lang={}", lang.tag()))
                .await,
        );
        assert_eq!(v["payable"], false, "{v}");
        assert_eq!(v["not_payable"]["code"], "charge.fee_unpublished");
        assert_eq!(
            v["not_payable"]["message"],
            text(Text::ChargeFeeUnpublished, lang).as_ref()
        );
        let page = c.get(&format!("/pay/{code}?lang={}", lang.tag())).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("data-code=\"charge.fee_unpublished\""),
            "{}",
            page.body
        );
        assert!(
            !page.body.contains(&format!("href=\"/pay/{code}/terms\"")),
            "no Pay button"
        );
    }
    let terms = h.terms_id().await;
    let r = c
        .post_json(
            "/api/v1/payments?lang=ru",
            Some("start-unpublished"),
            &format!(r#"{{"code":"{code}","accepted_terms":"{terms}"}}"#),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let e = json(&r);
    assert_eq!(e["error"]["code"], "charge.fee_unpublished");
    assert_eq!(
        e["error"]["message"],
        text(Text::ChargeFeeUnpublished, Language::Ru).as_ref()
    );
}
