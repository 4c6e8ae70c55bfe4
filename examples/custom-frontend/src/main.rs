//! A minimal custom front end on tolom's JSON API: looks a code up, shows
//! the masked payer and amount, accepts the agreement in force, sends a card,
//! answers the one-time-code step and prints the receipt with its
//! verification link. Every step is one HTTP call; see `docs/api.md`.
//!
//! ```text
//! cargo run -p tolom-http --bin tolom-portal          # in one terminal
//! cargo run -p custom-frontend -- 110042000017         # in another
//! cargo run -p custom-frontend -- 110042000017 --lang ru --card 4111111111111111
//! ```
#![forbid(unsafe_code)]

use std::io::{BufRead, Write};

use serde_json::{json, Value};

struct Api {
    http: reqwest::Client,
    base: String,
    lang: String,
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}?lang={}", self.base, self.lang)
    }

    /// GET or POST; an API error becomes `Err("code: message")`.
    async fn call(&self, path: &str, body: Option<(&str, Value)>) -> Result<Value, String> {
        let req = match body {
            None => self.http.get(self.url(path)),
            Some((key, b)) => self
                .http
                .post(self.url(path))
                .header("Idempotency-Key", key)
                .json(&b),
        };
        let resp = req
            .send()
            .await
            .map_err(|e| format!("portal unreachable: {e}"))?;
        let v: Value = resp.json().await.map_err(|e| e.to_string())?;
        match v.get("error") {
            Some(e) => {
                let mut text = format!(
                    "{}: {}",
                    e["code"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                );
                for f in e["fields"].as_array().into_iter().flatten() {
                    text.push_str(&format!(
                        "\n  {}: {}",
                        f["field"].as_str().unwrap_or(""),
                        f["message"].as_str().unwrap_or("")
                    ));
                }
                Err(text)
            }
            None => Ok(v),
        }
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(code) = args.first().filter(|a| !a.starts_with("--")).cloned() else {
        eprintln!("usage: custom-frontend <payment code> [--base http://127.0.0.1:8080] [--lang ky|ru|en] [--card PAN] [--otp CODE]");
        std::process::exit(2);
    };
    if let Err(e) = run(&args, &code).await {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

async fn run(args: &[String], code: &str) -> Result<(), String> {
    let api = Api {
        http: reqwest::Client::new(),
        base: arg(args, "--base").unwrap_or_else(|| "http://127.0.0.1:8080".into()),
        lang: arg(args, "--lang").unwrap_or_else(|| "en".into()),
    };
    // 1. Look-up: masked payer, amount, status.
    let charge = api
        .call(&format!("/charges/{}", code.replace(' ', "")), None)
        .await?;
    println!(
        "{} — {}\n{} {} {}, {}",
        charge["service_name"].as_str().unwrap_or(""),
        charge["payer"].as_str().unwrap_or(""),
        charge["total"].as_str().unwrap_or(""),
        charge["currency"].as_str().unwrap_or(""),
        charge["tariff"]["name"].as_str().unwrap_or(""),
        charge["status_text"].as_str().unwrap_or(""),
    );
    if charge["payable"] != true {
        return Err(charge["not_payable"]["message"]
            .as_str()
            .unwrap_or("not payable")
            .to_string());
    }
    // 2. The agreement in force: show where to read it, accept its edition.
    let terms = api.call("/terms", None).await?;
    let edition = terms["in_force"]["id"].as_str().unwrap_or("").to_string();
    println!(
        "User agreement edition {edition} (last changed {}): {}/documents",
        terms["in_force"]["last_changed"].as_str().unwrap_or(""),
        api.base
    );
    // One key per user action: a retry of the same action is answered once.
    let nonce = format!("{}-{}", std::process::id(), code.replace(' ', ""));
    let payment = api
        .call(
            "/payments",
            Some((
                &format!("start-{nonce}"),
                json!({"code": code, "accepted_terms": edition}),
            )),
        )
        .await?;
    let id = payment["id"].as_str().unwrap_or("").to_string();
    // 3. The card (sandbox test card; see docs/sandbox-cards.md).
    let pan = arg(args, "--card").unwrap_or_else(|| "4000000000003220".into());
    let card = json!({"holder": "AIBEK ASANOV", "pan": pan, "expiry": "12/30", "cvv": "123",
        "phone": "+996 555 123 456", "email": "aibek@example.kg"});
    let mut payment = api
        .call(
            &format!("/payments/{id}/card"),
            Some((&format!("card-{nonce}"), card)),
        )
        .await?;
    // 4. The one-time-code step, when the bank asks.
    if payment["state"] == "action_required" && payment["challenge"]["kind"] == "otp" {
        let otp = match arg(args, "--otp") {
            Some(o) => o,
            None => {
                print!(
                    "{} ",
                    payment["challenge"]["hint"]
                        .as_str()
                        .unwrap_or("One-time code:")
                );
                let _ = std::io::stdout().flush();
                let mut line = String::new();
                let _ = std::io::stdin().lock().read_line(&mut line);
                line.trim().to_string()
            }
        };
        payment = api
            .call(
                &format!("/payments/{id}/challenge"),
                Some((&format!("otp-{nonce}"), json!({"otp": otp}))),
            )
            .await?;
    }
    println!(
        "Payment {id}: {}",
        payment["state_text"].as_str().unwrap_or("")
    );
    if let Some(decline) = payment["decline"]["message"].as_str() {
        return Err(decline.to_string());
    }
    // 5. The receipt and its verification link.
    let receipt = api.call(&format!("/payments/{id}/receipt"), None).await?;
    println!(
        "Receipt {}: {} {}",
        receipt["number"].as_str().unwrap_or(""),
        receipt["total"]["amount"].as_str().unwrap_or(""),
        receipt["total"]["currency"].as_str().unwrap_or("")
    );
    println!(
        "Printable: {}/payments/{id}/receipt   PDF: {}/payments/{id}/receipt.pdf",
        api.base, api.base
    );
    println!("Verify: {}", receipt["verify_url"].as_str().unwrap_or(""));
    Ok(())
}
