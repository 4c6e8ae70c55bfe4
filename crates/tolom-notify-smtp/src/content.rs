//! What a receipt e-mail says: subject, plain text and HTML, in the payer's
//! language. The sentences are the `email-*` messages of tolom-core's
//! Fluent files (`locales/*/email.ftl`), the labels those of the receipt.

use tolom_core::i18n::{text, text_with, FluentArgs, Language, Text};
use tolom_core::receipt::Receipt;
use tolom_core::time::format_bishkek;

/// The rendered e-mail: a subject and two alternative bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    /// The subject line.
    pub subject: String,
    /// The `text/plain` body.
    pub text: String,
    /// The `text/html` body.
    pub html: String,
}

/// Addresses on the portal that the e-mail links to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The online receipt (view, print, download).
    pub receipt: Option<String>,
    /// The page that checks the receipt's signature.
    pub verify: Option<String>,
}

/// Renders the receipt e-mail in `lang`, linking to `links` (when the
/// portal has such pages); `with_pdf` says whether a PDF is attached. The card appears only masked (first 6 / last 4), as on the
/// receipt.
pub fn render(receipt: &Receipt, lang: Language, links: &Links, with_pdf: bool) -> EmailContent {
    let t = |key: Text| text(key, lang);
    let service = receipt.service_name.get(lang);
    let mut args = FluentArgs::new();
    args.set("number", receipt.number.as_str());
    args.set("service", service);
    args.set("website", receipt.operator.website.as_str());
    let with = |key: Text| text_with(key, lang, &args);
    let (greeting, agency, pdf, signed, auto, questions) = (
        t(Text::EmailGreeting),
        t(Text::EmailAgency),
        t(Text::EmailPdf),
        t(Text::EmailSigned),
        t(Text::EmailAuto),
        t(Text::EmailQuestions),
    );
    let intro = with(Text::EmailIntro);
    let why = with(Text::EmailWhy);
    let headline = with(Text::EmailHeadline);
    let support = format!("{}, {}", receipt.operator.phone, receipt.operator.email);
    let subject = with(Text::EmailSubject).into_owned();
    let link_lines = [
        (t(Text::EmailLink), &links.receipt),
        (t(Text::EmailVerify), &links.verify),
    ];

    // Plain text: the core's receipt text between the sentences.
    let mut plain = String::new();
    plain.push_str(&greeting);
    plain.push_str("\n\n");
    plain.push_str(&intro);
    plain.push_str("\n\n");
    plain.push_str(&receipt.to_text(lang));
    plain.push('\n');
    plain.push_str(&agency);
    plain.push('\n');
    for (label, link) in &link_lines {
        if let Some(link) = link {
            plain.push_str(&format!("\n{label}\n{link}\n"));
        }
    }
    if with_pdf {
        plain.push_str(&format!("\n{pdf}\n"));
    }
    plain.push_str(&format!("\n{signed}\n"));
    plain.push_str("\n-- \n");
    plain.push_str(receipt.operator.name.get(lang));
    plain.push('\n');
    plain.push_str(&format!("{questions} {support}\n"));
    plain.push_str(&auto);
    plain.push('\n');
    plain.push_str(&why);
    plain.push('\n');

    // HTML: the same content as a table.
    let rows = rows(receipt, lang);
    let mut html = String::new();
    html.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n</head>\n",
        lang.tag(),
        esc(&subject)
    ));
    html.push_str(
        "<body style=\"margin:0;padding:16px;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;color:#1b1f24;\">\n\
         <div style=\"max-width:640px;margin:0 auto;background:#ffffff;border:1px solid #d9dde3;padding:24px;\">\n",
    );
    html.push_str(&format!(
        "<h1 style=\"font-size:20px;margin:0 0 16px;\">{}</h1>\n",
        esc(&headline)
    ));
    html.push_str(&format!(
        "<p>{}</p>\n<p>{}</p>\n",
        esc(&greeting),
        esc(&intro)
    ));
    html.push_str("<table style=\"border-collapse:collapse;width:100%;font-size:14px;\">\n");
    for (key, value) in &rows {
        html.push_str(&format!(
            "<tr><th style=\"text-align:left;font-weight:normal;color:#5b6470;padding:4px 12px 4px 0;vertical-align:top;\">{}</th>\
             <td style=\"padding:4px 0;\">{}</td></tr>\n",
            esc(&text(*key, lang)),
            esc(value)
        ));
    }
    html.push_str("</table>\n");
    html.push_str(&format!("<p>{}</p>\n", esc(&agency)));
    for (label, link) in &link_lines {
        if let Some(link) = link {
            html.push_str(&format!(
                "<p>{}<br><a href=\"{}\">{}</a></p>\n",
                esc(label),
                esc(link),
                esc(link)
            ));
        }
    }
    if with_pdf {
        html.push_str(&format!("<p>{}</p>\n", esc(&pdf)));
    }
    html.push_str(&format!(
        "<p style=\"font-size:12px;color:#5b6470;\">{}</p>\n",
        esc(&signed)
    ));
    html.push_str(&format!(
        "<hr style=\"border:none;border-top:1px solid #d9dde3;\">\n\
         <p style=\"font-size:12px;color:#5b6470;\">{}<br>{}<br>{} {}<br>{}<br>{}</p>\n",
        esc(receipt.operator.name.get(lang)),
        esc(receipt.operator.address.get(lang)),
        esc(&questions),
        esc(&support),
        esc(&auto),
        esc(&why)
    ));
    html.push_str("</div>\n</body>\n</html>\n");

    EmailContent {
        subject,
        text: plain,
        html,
    }
}

/// The receipt's fields as (label, value) rows, in the receipt's order.
fn rows(r: &Receipt, lang: Language) -> Vec<(Text, String)> {
    let mut rows = vec![
        (Text::ReceiptLabelNumber, r.number.clone()),
        (
            Text::ReceiptLabelStatus,
            text(r.status.text(), lang).into_owned(),
        ),
        (Text::ReceiptLabelPaidAt, format_bishkek(r.paid_at)),
        (
            Text::ReceiptLabelService,
            r.service_name.get(lang).to_string(),
        ),
    ];
    if let Some(t) = &r.tariff_name {
        rows.push((Text::ReceiptLabelTariff, t.get(lang).to_string()));
    }
    rows.push((Text::ReceiptLabelPayer, r.payer.clone()));
    rows.push((Text::ReceiptLabelCode, r.code.clone()));
    rows.push((Text::ReceiptLabelAmount, r.amount.to_string()));
    rows.push((Text::ReceiptLabelFee, r.fee.to_string()));
    rows.push((Text::ReceiptLabelTotal, r.total.to_string()));
    if !r.refunded.is_zero() {
        rows.push((Text::ReceiptLabelRefunded, r.refunded.to_string()));
    }
    if let (Some(pan), Some(brand)) = (&r.masked_pan, &r.brand) {
        rows.push((Text::ReceiptLabelCard, format!("{brand} {pan}")));
    }
    if let Some(a) = &r.auth_code {
        rows.push((Text::ReceiptLabelAuthCode, a.clone()));
    }
    if let Some(rrn) = &r.rrn {
        rows.push((Text::ReceiptLabelRrn, rrn.clone()));
    }
    if let Some(a) = &r.acquirer {
        rows.push((Text::ReceiptLabelAcquirer, a.clone()));
    }
    rows.push((Text::ReceiptLabelTerms, r.terms_edition.clone()));
    rows.push((
        Text::ReceiptLabelOperator,
        r.operator.name.get(lang).to_string(),
    ));
    rows.push((
        Text::ReceiptLabelSupport,
        format!("{}, {}", r.operator.phone, r.operator.email),
    ));
    rows.push((
        Text::ReceiptLabelSignature,
        format!("{} ({})", r.signature, r.key_id),
    ));
    rows
}

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tolom_core::outbox::Channel;
    use tolom_core::ports::Notification;

    fn receipt() -> Receipt {
        match tolom_testkit::conformance::notifier::sample(Channel::Email) {
            Notification::ReceiptEmail { receipt, .. } => *receipt,
            Notification::Agency(_) => unreachable!("asked for an e-mail"),
        }
    }

    #[test]
    fn escapes_markup_in_every_value() {
        let mut r = receipt();
        r.payer = "<script>alert('x')</script> & Co".into();
        let links = Links {
            receipt: Some("https://pay.example/r?a=1&b=\"2\"".into()),
            verify: None,
        };
        let c = render(&r, Language::En, &links, false);
        assert!(!c.html.contains("<script>"));
        assert!(c
            .html
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co"));
        assert!(c
            .html
            .contains("href=\"https://pay.example/r?a=1&amp;b=&quot;2&quot;\""));
        // The plain text is not escaped.
        assert!(c.text.contains("<script>alert('x')</script> & Co"));
    }

    #[test]
    fn each_language_has_its_own_texts_and_the_same_facts() {
        let r = receipt();
        let none = Links::default();
        let ky = render(&r, Language::Ky, &none, false);
        let ru = render(&r, Language::Ru, &none, false);
        let en = render(&r, Language::En, &none, true);
        assert!(ky.subject.starts_with("Төлөм боюнча дүмүрчөк №"));
        assert!(ru.subject.starts_with("Квитанция об оплате №"));
        assert!(en.subject.starts_with("Payment receipt No."));
        for c in [&ky, &ru, &en] {
            assert!(c.subject.contains(&r.number));
            for body in [&c.text, &c.html] {
                assert!(body.contains(&r.number));
                assert!(body.contains("885.00 KGS"));
                assert!(body.contains("4111********1111"));
                assert!(body.contains("(UTC+06:00)"));
                assert!(body.contains("654321"), "auth code");
                assert!(body.contains("123456789012"), "RRN");
                // Every placeable got its argument.
                assert!(!body.contains('$') && !body.contains("{ "), "{body}");
            }
        }
        assert!(en.subject.ends_with(&format!(": {}", r.service_name.en)));
        assert!(ru
            .text
            .contains(&format!("на сайте {}.", r.operator.website)));
        assert!(ky.text.contains("кызматы үчүн төлөмүңүз кабыл алынды"));
        assert!(ru.text.contains("Ваш платёж за услугу"));
        assert!(en.text.contains("We have received your payment"));
        assert!(ky.html.contains("<html lang=\"ky\">"));
        assert!(en.text.contains("attached to this message as a PDF"));
        assert!(!ru.text.contains("PDF"));
    }

    #[test]
    fn the_links_are_in_both_bodies_when_given() {
        let r = receipt();
        let links = Links {
            receipt: Some("https://pay.example/payments/1/receipt".into()),
            verify: Some("https://pay.example/verify?n=R-1".into()),
        };
        let c = render(&r, Language::Ru, &links, false);
        for link in [
            "https://pay.example/payments/1/receipt",
            "https://pay.example/verify?n=R-1",
        ] {
            assert!(c.text.contains(link));
            assert!(c.html.contains(&format!("<a href=\"{link}\">")));
        }
        assert!(c.text.contains("Проверить подлинность квитанции:"));
        let none = render(&r, Language::Ru, &Links::default(), false);
        assert!(!none.html.contains("<a href"));
    }
}
