//! Smoke test against a running gateway emulator (or a bank's test
//! gateway with its test cards): an approval, a refund, and a payment with a
//! 3-D Secure step walked like a browser.
//!
//! ```sh
//! cargo run -p tolom-bpc-emulator -- --listen 127.0.0.1:8090 &
//! cargo run -p tolom-acquirer-bpc --example smoke -- http://127.0.0.1:8090/payment/rest/ tolom secret
//! ```

use std::collections::BTreeMap;

use secrecy::SecretString;
use tolom_acquirer_bpc::{BpcAcquirer, BpcConfig};
use tolom_bpc_emulator::html::parse_forms;
use tolom_core::card::{BrandTable, CardForm};
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::payment::{Challenge, ChallengeResponse};
use tolom_core::ports::{Acquirer, AcquirerOutcome, Instrument, PurchaseRequest};
use url::Url;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

async fn buy(client: &BpcAcquirer, order: &str, pan: &str) -> Result<AcquirerOutcome> {
    let form = CardForm {
        holder: "AIBEK ASANOV".into(),
        pan: pan.into(),
        expiry: "12/30".into(),
        cvv: "123".into(),
        phone: "+996555123456".into(),
        email: "aibek@example.kg".into(),
    };
    let (card, contact) = form
        .validate(chrono::Utc::now(), &BrandTable::default())
        .map_err(|e| format!("card: {:?}", e.codes()))?;
    Ok(client
        .purchase(PurchaseRequest {
            order_number: order,
            amount: Money::som(885),
            description: "smoke test",
            language: Language::Ru,
            instrument: Instrument::Card {
                card: &card,
                contact: &contact,
            },
            return_url: None,
        })
        .await?)
}

async fn walk_acs(url: &str, fields: &BTreeMap<String, String>, otp: &str) -> Result<()> {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let acs = Url::parse(url)?;
    let html = browser
        .post(acs.clone())
        .form(fields)
        .send()
        .await?
        .text()
        .await?;
    let mut form = parse_forms(&html)
        .into_iter()
        .find(|f| f.field("otp").is_some())
        .ok_or("no one-time-code form on the ACS page")?;
    form.set("otp", otp);
    let html = browser
        .post(acs.join(&form.action)?)
        .form(&form.fields)
        .send()
        .await?
        .text()
        .await?;
    let back = parse_forms(&html)
        .into_iter()
        .find(|f| f.field("PaRes").is_some())
        .ok_or("no PaRes form")?;
    let status = browser
        .post(acs.join(&back.action)?)
        .form(&back.fields)
        .send()
        .await?
        .status();
    println!("  TermUrl answered HTTP {status}");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base = args
        .first()
        .map(String::as_str)
        .unwrap_or("http://127.0.0.1:8090/payment/rest/");
    let user = args.get(1).map(String::as_str).unwrap_or("tolom");
    let password = args.get(2).cloned().unwrap_or_else(|| "secret".into());
    let client = BpcAcquirer::new(
        BpcConfig::new(base, user, SecretString::from(password))
            .with_return_url("http://127.0.0.1:9/return/{order}"),
    )?;
    let stamp = chrono::Utc::now().timestamp_millis();

    let order = format!("smoke-{stamp}-a");
    println!(
        "approve card: {:?}",
        buy(&client, &order, "4111111111111111").await?
    );
    println!(
        "refund 100 som: {:?}",
        client.refund(&order, "r1", Money::som(100)).await?
    );
    println!("status: {:?}", client.status(&order).await?);

    let order = format!("smoke-{stamp}-3ds");
    let outcome = buy(&client, &order, "4000000000003063").await?;
    println!("3-D Secure card: {outcome:?}");
    if let AcquirerOutcome::ActionRequired(Challenge::Redirect { url, fields, .. }) = outcome {
        walk_acs(&url, &fields, "123456").await?;
        let done = client
            .complete_challenge(&order, &ChallengeResponse::default())
            .await?;
        println!("after 3-D Secure: {done:?}");
        if !matches!(done, AcquirerOutcome::Approved(_)) {
            return Err("the 3-D Secure payment was not approved".into());
        }
    } else {
        return Err("the 3-D Secure card did not ask for a challenge".into());
    }
    Ok(())
}
