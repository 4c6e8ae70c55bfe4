//! An operator's own data, end to end: `tolom serve` from a TOML file whose
//! `[codes]`, `[operator]` and `[cards]` are not tolom's defaults (10-digit
//! codes with a Luhn check digit and one-digit prefixes, another operator,
//! Visa and Elcart only), the BPC emulator as the bank. A code in that format is issued by `tolom codes
//! issue`, looked up and paid through the API; the configured operator is
//! on the pages and the signed receipt; `tolom config show` and `config
//! check` print the settings, and a wrong value stops `serve` naming its
//! key.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::deployed::{bank, card, free_port, http, start, terms_id, Instance, Site};
use tolom_bpc_emulator::cards::{MASTERCARD_APPROVE, VISA_APPROVE};
use tolom_core::checkdigit::Luhn;

const FITTED: &str = r#"
[codes]
length = 10
check = "luhn"

[codes.prefixes]
passport = ["7", "5"]
driving_licence = ["8"]
meken_card = ["9"]

[operator]
phone = "+996 312 900 900"
email = "help@pay.example.kg"
website = "https://pay.example.kg"

[operator.name]
ky = "«Төлөм Сервис» ЖЧК"
ru = "ОсОО «Төлөм Сервис»"
en = "Tolom Services LLC"

[operator.address]
ky = "Бишкек ш., Мисал көч., 1"
ru = "г. Бишкек, ул. Примерная, 1"
en = "1 Example street, Bishkek"

[cards]
brands = ["visa", "elcart"]
"#;

/// A site whose file carries [`FITTED`] (plus `extra`).
fn fitted_site(emu: &tolom_bpc_emulator::RunningEmulator, public: &str, extra: &str) -> Site {
    let site = Site::new(emu, "sqlite", None, public);
    let mut text = std::fs::read_to_string(&site.config).expect("config");
    text.push_str(FITTED);
    text.push_str(extra);
    std::fs::write(&site.config, text).expect("config");
    site
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_in_the_operators_format_is_issued_looked_up_and_paid_under_its_name() {
    let emu = bank(Duration::from_millis(50)).await;
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let site = fitted_site(&emu, &public, "");

    // config show prints what the file fits.
    let out = site.tolom(&["config", "show"]).output().expect("show");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = stdout(&out);
    for want in [
        "codes.length                 10\n",
        "codes.check                  luhn (1 check digit(s))\n",
        "codes.prefixes.passport      7, 5 (new codes: 7…, 100000000 codes each)\n",
        "codes.prefixes.driving_licence 8 ",
        "operator.name.ru             ОсОО «Төлөм Сервис»\n",
        "operator.name.en             Tolom Services LLC\n",
        "operator.phone               +996 312 900 900\n",
        "operator.website             https://pay.example.kg\n",
        "catalogue_file               (built-in Kyrgyz catalogue)\n",
        "cards.brands                 elcart, visa\n",
    ] {
        assert!(shown.contains(want), "{want:?} not in:\n{shown}");
    }
    let out = site.tolom(&["config", "check"]).output().expect("check");
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("codes: 10 digits, check luhn, prefixes passport=7|5"),
        "{}",
        stdout(&out)
    );

    site.migrate();
    let code = site.issue("passport-2020", "Сыдыкова Айгүл Бакытовна");
    assert_eq!(code.len(), 10, "{code}");
    assert!(
        code.starts_with('7'),
        "new codes get the first prefix: {code}"
    );
    assert!(Luhn::check(code.as_bytes()), "{code} carries a Luhn digit");
    // The driving licence's fee is unpublished: the agency's own amount.
    let out = site
        .tolom(&[
            "--json",
            "codes",
            "issue",
            "--service",
            "driving-licence-national",
            "--payer",
            "Токтогулов Нурлан",
            "--amount",
            "700",
        ])
        .output()
        .expect("issue");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issued: Value = serde_json::from_slice(&out.stdout).expect("json");
    let licence = issued["code"].as_str().unwrap_or("").to_string();
    assert!(licence.starts_with('8') && licence.len() == 10, "{licence}");

    let mut serve = Instance::start(&site, port, &[]);
    let http = http();
    let base = serve.base.clone();
    let get = |path: String| {
        let http = http.clone();
        async move {
            let r = http.get(path).send().await.expect("get");
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
    };

    // Looked up in the format, forgiving of spaces.
    let spaced = format!("{} {} {}", &code[..3], &code[3..6], &code[6..]);
    let (status, body) = get(format!("{base}/api/v1/charges/{spaced}?lang=en")).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["payable"], true, "{v}");
    assert_eq!(v["amount"], "885.00", "{v}");
    // A typo is caught by the Luhn digit, a code of the old shape by its
    // length, a prefix no family has by its prefix.
    let last = code.as_bytes()[9] - b'0';
    let typo = format!("{}{}", &code[..9], (last + 1) % 10);
    let (status, body) = get(format!("{base}/api/v1/charges/{typo}")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("code.check_digit"), "{body}");
    let (status, body) = get(format!("{base}/api/v1/charges/110000000017")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("code.length"), "{body}");
    let (status, body) = get(format!("{base}/api/v1/charges/1000000009")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("code.prefix"), "{body}");

    // Paid through the API.
    let terms = terms_id(&http, &base).await;
    let (status, p) = start(&http, &base, &code, &terms, "start-fitted").await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().expect("id").to_string();
    let (status, paid) = card(&http, &base, &id, VISA_APPROVE, "card-fitted").await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["state"], "succeeded", "{paid}");

    // The receipt names the configured operator, and signs its name.
    let (status, body) = get(format!("{base}/api/v1/payments/{id}/receipt")).await;
    assert_eq!(status, 200, "{body}");
    let receipt: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(receipt["operator"]["name"]["en"], "Tolom Services LLC");
    assert_eq!(receipt["operator"]["phone"], "+996 312 900 900");
    assert_eq!(receipt["code"], code.as_str());
    let signed = receipt["signed_content"].as_str().unwrap_or("");
    for line in [
        "operator.ky=«Төлөм Сервис» ЖЧК",
        "operator.ru=ОсОО «Төлөм Сервис»",
        "operator.en=Tolom Services LLC",
    ] {
        assert!(signed.contains(line), "{line:?} not in {signed}");
    }
    let (status, page) = get(format!("{base}/payments/{id}/receipt?lang=ru")).await;
    assert_eq!(status, 200);
    for want in [
        "ОсОО «Төлөм Сервис»",
        "г. Бишкек, ул. Примерная, 1",
        "+996 312 900 900",
        "help@pay.example.kg",
    ] {
        assert!(page.contains(want), "{want:?} not on the receipt page");
    }
    assert!(!page.contains("Инфоком"), "no default operator left");
    let (_, home) = get(format!("{base}/?lang=ky")).await;
    assert!(home.contains("«Төлөм Сервис» ЖЧК"), "the footer names it");

    // A Mastercard is not among the brands accepted: refused before the
    // bank, the payment unchanged.
    let (status, p) = start(&http, &base, &licence, &terms, "start-licence").await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().expect("id").to_string();
    let (status, refused) = card(&http, &base, &id, MASTERCARD_APPROVE, "card-mc").await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused.to_string().contains("card.brand_unknown"),
        "{refused}"
    );
    let orders = emu.orders().len();
    assert_eq!(orders, 1, "only the Visa payment reached the bank");

    assert_eq!(serve.terminate().code(), Some(0));
}

#[tokio::test]
async fn codes_without_a_check_digit_and_a_wrong_value_that_stops_serve() {
    let emu = bank(Duration::from_millis(50)).await;
    // No check digit: the whole code past the prefix is random.
    let site = fitted_site(&emu, "http://127.0.0.1:9", "");
    let text = std::fs::read_to_string(&site.config)
        .expect("config")
        .replace("check = \"luhn\"", "check = \"none\"");
    std::fs::write(&site.config, text).expect("config");
    site.migrate();
    let code = site.issue("passport-2020", "Ivanova Anna");
    assert_eq!(code.len(), 10, "{code}");
    assert!(code.starts_with('7'), "{code}");
    let out = site
        .tolom(&["codes", "show", &code])
        .output()
        .expect("show");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("Ivanova Anna"));
    // Any last digit makes a well-formed code: another one is unknown, not
    // a typo.
    let last = code.as_bytes()[9] - b'0';
    let other = format!("{}{}", &code[..9], (last + 1) % 10);
    let out = site
        .tolom(&["codes", "show", &other])
        .output()
        .expect("show");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("code.not_found"), "{err}");

    // A wrong value: serve refuses to start, naming the key, exit 2.
    let text = std::fs::read_to_string(&site.config)
        .expect("config")
        .replace("check = \"none\"", "check = \"crc32\"")
        .replace("ru = \"ОсОО «Төлөм Сервис»\"\n", "");
    std::fs::write(&site.config, text).expect("config");
    for args in [
        &["serve", "--addr", "127.0.0.1:0"][..],
        &["config", "show"][..],
        &["config", "check"][..],
    ] {
        let out = site.tolom(args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("codes.check = \"crc32\""), "{args:?}: {err}");
        assert!(
            err.contains("operator.name.ru is missing"),
            "{args:?}: {err}"
        );
    }
}
