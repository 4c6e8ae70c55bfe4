//! What a receipt e-mail says: subject, plain text and HTML, in the payer's
//! language.

use tolom_core::i18n::Language;
use tolom_core::receipt::{label, status_text, Receipt};
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

/// The sentences of the e-mail in one language.
struct Phrases {
    subject: &'static str,
    headline: &'static str,
    greeting: &'static str,
    intro: &'static str,
    agency: &'static str,
    link: &'static str,
    verify: &'static str,
    pdf: &'static str,
    signed: &'static str,
    auto: &'static str,
    questions: &'static str,
    why: &'static str,
}

fn phrases(lang: Language) -> Phrases {
    match lang {
        Language::Ky => Phrases {
            subject: "Төлөм боюнча дүмүрчөк №",
            headline: "Төлөм боюнча дүмүрчөк",
            greeting: "Саламатсызбы!",
            intro: "«{service}» кызматы үчүн төлөмүңүз кабыл алынды. Төмөндө төлөмдүн дүмүрчөгү берилди: \
                    аны кызмат көрсөтүлгөнгө чейин сактап коюңуз.",
            agency: "Төлөм кодун берген мекемеге төлөм тууралуу автоматтык түрдө кабар берилет, \
                     кошумча эч нерсе кылуунун кереги жок.",
            link: "Дүмүрчөктү онлайн көрүү жана басып чыгаруу:",
            verify: "Дүмүрчөктүн чындыгын текшерүү:",
            pdf: "Дүмүрчөк ушул катка PDF файл катары тиркелди.",
            signed: "Дүмүрчөк электрондук кол тамга менен корголгон; анын чындыгын оператордун сайтынан текшерсеңиз болот.",
            auto: "Бул кат автоматтык түрдө жөнөтүлдү, ага жооп бербеңиз.",
            questions: "Суроолоруңуз болсо:",
            why: "Бул катты {website} сайтында төлөп жатканда ушул электрондук даректи көрсөткөнүңүз үчүн алдыңыз.",
        },
        Language::Ru => Phrases {
            subject: "Квитанция об оплате №",
            headline: "Квитанция об оплате",
            greeting: "Здравствуйте!",
            intro: "Ваш платёж за услугу «{service}» принят. Ниже — квитанция об оплате: \
                    сохраните её до получения услуги.",
            agency: "Ведомство, выдавшее код платежа, получит сведения об оплате автоматически — \
                     ничего дополнительно делать не нужно.",
            link: "Посмотреть и распечатать квитанцию онлайн:",
            verify: "Проверить подлинность квитанции:",
            pdf: "Квитанция приложена к письму в формате PDF.",
            signed: "Квитанция заверена электронной подписью; её подлинность можно проверить на сайте оператора.",
            auto: "Это письмо отправлено автоматически, отвечать на него не нужно.",
            questions: "Если у вас есть вопросы:",
            why: "Вы получили это письмо, потому что указали этот адрес при оплате на сайте {website}.",
        },
        Language::En => Phrases {
            subject: "Payment receipt No.",
            headline: "Payment receipt",
            greeting: "Hello,",
            intro: "We have received your payment for {service}. Your receipt is below; \
                    please keep it until the service has been provided.",
            agency: "The agency that issued the payment code is notified of the payment automatically; \
                     you do not need to do anything else.",
            link: "View and print the receipt online:",
            verify: "Check that the receipt is genuine:",
            pdf: "The receipt is attached to this message as a PDF file.",
            signed: "The receipt carries an electronic signature; you can check that it is genuine on the operator's site.",
            auto: "This message was sent automatically; please do not reply to it.",
            questions: "If you have questions:",
            why: "You received this e-mail because this address was given when paying on {website}.",
        },
    }
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
    let p = phrases(lang);
    let service = receipt.service_name.get(lang);
    let website = receipt.operator.website.as_str();
    let intro = p.intro.replace("{service}", service);
    let why = p.why.replace("{website}", website);
    let support = format!("{}, {}", receipt.operator.phone, receipt.operator.email);
    let subject = format!("{} {}: {}", p.subject, receipt.number, service);

    // Plain text: the core's receipt text between the sentences.
    let mut text = String::new();
    text.push_str(p.greeting);
    text.push_str("\n\n");
    text.push_str(&intro);
    text.push_str("\n\n");
    text.push_str(&receipt.to_text(lang));
    text.push('\n');
    text.push_str(p.agency);
    text.push('\n');
    for (label, link) in [(p.link, &links.receipt), (p.verify, &links.verify)] {
        if let Some(link) = link {
            text.push_str(&format!("\n{label}\n{link}\n"));
        }
    }
    if with_pdf {
        text.push_str(&format!("\n{}\n", p.pdf));
    }
    text.push_str(&format!("\n{}\n", p.signed));
    text.push_str("\n-- \n");
    text.push_str(receipt.operator.name.get(lang));
    text.push('\n');
    text.push_str(&format!("{} {}\n", p.questions, support));
    text.push_str(p.auto);
    text.push('\n');
    text.push_str(&why);
    text.push('\n');

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
        "<h1 style=\"font-size:20px;margin:0 0 16px;\">{} № {}</h1>\n",
        esc(p.headline),
        esc(&receipt.number)
    ));
    html.push_str(&format!(
        "<p>{}</p>\n<p>{}</p>\n",
        esc(p.greeting),
        esc(&intro)
    ));
    html.push_str("<table style=\"border-collapse:collapse;width:100%;font-size:14px;\">\n");
    for (key, value) in &rows {
        html.push_str(&format!(
            "<tr><th style=\"text-align:left;font-weight:normal;color:#5b6470;padding:4px 12px 4px 0;vertical-align:top;\">{}</th>\
             <td style=\"padding:4px 0;\">{}</td></tr>\n",
            esc(key),
            esc(value)
        ));
    }
    html.push_str("</table>\n");
    html.push_str(&format!("<p>{}</p>\n", esc(p.agency)));
    for (label, link) in [(p.link, &links.receipt), (p.verify, &links.verify)] {
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
        html.push_str(&format!("<p>{}</p>\n", esc(p.pdf)));
    }
    html.push_str(&format!(
        "<p style=\"font-size:12px;color:#5b6470;\">{}</p>\n",
        esc(p.signed)
    ));
    html.push_str(&format!(
        "<hr style=\"border:none;border-top:1px solid #d9dde3;\">\n\
         <p style=\"font-size:12px;color:#5b6470;\">{}<br>{}<br>{} {}<br>{}<br>{}</p>\n",
        esc(receipt.operator.name.get(lang)),
        esc(receipt.operator.address.get(lang)),
        esc(p.questions),
        esc(&support),
        esc(p.auto),
        esc(&why)
    ));
    html.push_str("</div>\n</body>\n</html>\n");

    EmailContent {
        subject,
        text,
        html,
    }
}

/// The receipt's fields as (label, value) rows, in the receipt's order.
fn rows(r: &Receipt, lang: Language) -> Vec<(&'static str, String)> {
    let l = |k: &str| label(k, lang);
    let mut rows = vec![
        (l("receipt"), r.number.clone()),
        (l("status"), status_text(r.status, lang).to_string()),
        (l("paid_at"), format_bishkek(r.paid_at)),
        (l("service"), r.service_name.get(lang).to_string()),
    ];
    if let Some(t) = &r.tariff_name {
        rows.push((l("tariff"), t.get(lang).to_string()));
    }
    rows.push((l("payer"), r.payer.clone()));
    rows.push((l("code"), r.code.clone()));
    rows.push((l("amount"), r.amount.to_string()));
    rows.push((l("fee"), r.fee.to_string()));
    rows.push((l("total"), r.total.to_string()));
    if !r.refunded.is_zero() {
        rows.push((l("refunded"), r.refunded.to_string()));
    }
    if let (Some(pan), Some(brand)) = (&r.masked_pan, &r.brand) {
        rows.push((l("card"), format!("{brand} {pan}")));
    }
    if let Some(a) = &r.auth_code {
        rows.push((l("auth_code"), a.clone()));
    }
    if let Some(rrn) = &r.rrn {
        rows.push((l("rrn"), rrn.clone()));
    }
    if let Some(a) = &r.acquirer {
        rows.push((l("acquirer"), a.clone()));
    }
    rows.push((l("terms"), r.terms_edition.clone()));
    rows.push((l("operator"), r.operator.name.get(lang).to_string()));
    rows.push((
        l("support"),
        format!("{}, {}", r.operator.phone, r.operator.email),
    ));
    rows.push((l("signature"), format!("{} ({})", r.signature, r.key_id)));
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
                assert!(body.contains("411111******1111"));
                assert!(body.contains("(UTC+06:00)"));
                assert!(body.contains("654321"), "auth code");
                assert!(body.contains("123456789012"), "RRN");
            }
        }
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
