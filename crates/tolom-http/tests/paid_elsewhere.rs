//! A code paid elsewhere (a bank's app, a terminal, ELQR): its page and its
//! look-up through the API say "paid on <date> via <channel>" in ky, ru and
//! en, offer no receipt form (the receipt is the channel's) and no way to
//! pay by card; a start through the API is refused as already paid.

mod common;

use chrono::Duration;
use common::{json, portal, test_config, Client};
use tolom_core::external::PaymentChannel;
use tolom_core::i18n::{text, text_with, FluentArgs, Language, Text};
use tolom_core::ports::Clock;
use tolom_core::time::format_bishkek;
use tolom_core::usecases::operator::ExternalReport;

#[tokio::test]
async fn a_code_paid_elsewhere_says_how_and_cannot_be_paid_by_card() {
    let (app, h) = portal(test_config());
    let mut c = Client::new(app);
    let charge = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    h.clock.advance(Duration::hours(2));
    let paid_at = h.clock.now() - Duration::hours(1);
    let (op, cli) = h.operator();
    op.record_external_payment(
        &cli,
        ExternalReport {
            code: charge.code.to_string(),
            channel: PaymentChannel::Elqr,
            reference: "ELQR-0001".into(),
            amount: charge.amount,
            paid_at,
        },
    )
    .await
    .expect("recorded");
    let code = charge.code.as_str();
    for lang in Language::ALL {
        let mut args = FluentArgs::new();
        args.set("channel", text(Text::ChannelElqr, lang));
        args.set("date", format_bishkek(paid_at));
        let sentence = text_with(Text::ChargePaidVia, lang, &args);
        let page = c.get(&format!("/pay/{code}?lang={}", lang.tag())).await;
        assert_eq!(page.status, 200, "{lang}");
        assert!(
            page.body.contains("data-paid-via=\"elqr\""),
            "{lang}: {}",
            page.body
        );
        let escaped = sentence.replace('\'', "&#x27;").replace('"', "&quot;");
        assert!(
            page.body.contains(sentence.as_ref()) || page.body.contains(&escaped),
            "{lang}: {sentence} in {}",
            page.body
        );
        assert!(page.body.contains("data-status=\"paid\""), "{lang}");
        assert!(
            !page.body.contains("id=\"receipt-again\""),
            "{lang}: the receipt is the channel's"
        );
        assert!(
            !page.body.contains(&format!("/pay/{code}/terms")),
            "{lang}: no way to pay by card"
        );
        let api = c
            .get(&format!("/api/v1/charges/{code}?lang={}", lang.tag()))
            .await;
        assert_eq!(api.status, 200);
        let body = json(&api);
        assert_eq!(body["status"], "paid");
        assert_eq!(body["payable"], false);
        assert_eq!(body["not_payable"]["code"], "charge.already_paid");
        assert_eq!(body["paid_via"]["channel"], "elqr");
        assert_eq!(
            body["paid_via"]["channel_name"],
            text(Text::ChannelElqr, lang).as_ref()
        );
        assert_eq!(body["paid_via"]["text"], sentence.as_ref());
        assert_eq!(
            body["paid_via"]["paid_at"],
            serde_json::to_value(paid_at).expect("json")
        );
    }
    let terms = json(&c.get("/api/v1/terms").await);
    let start = c
        .post_json(
            "/api/v1/payments",
            Some("start-after-elqr"),
            &serde_json::json!({
                "code": code,
                "accepted_terms": terms["in_force"]["id"],
            })
            .to_string(),
        )
        .await;
    assert_eq!(start.status, 409, "{}", start.body);
    assert_eq!(json(&start)["error"]["code"], "charge.already_paid");
}
