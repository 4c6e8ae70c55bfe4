//! The emulator's HTML pages (hosted payment page, ACS page) and a tiny
//! form reader for tests that walk those pages without a browser.

use std::fmt::Write as _;

/// One `<form>` of a page: where it posts and its named `<input>` fields
/// (hidden or not, with their `value`, `""` when absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HtmlForm {
    /// The `action` attribute (entities decoded).
    pub action: String,
    /// The `method` attribute, upper-cased (`GET` when absent).
    pub method: String,
    /// `(name, value)` of every named `<input>`/`<button>` with a name, in
    /// page order.
    pub fields: Vec<(String, String)>,
}

impl HtmlForm {
    /// The value of the first field called `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets (or adds) field `name`.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.fields.iter_mut().find(|(k, _)| k == name) {
            Some(f) => f.1 = value.to_owned(),
            None => self.fields.push((name.to_owned(), value.to_owned())),
        }
    }
}

/// Reads the forms of a page served by this emulator (simple, well-formed
/// HTML with double-quoted attributes; not a general HTML parser).
pub fn parse_forms(html: &str) -> Vec<HtmlForm> {
    let mut forms = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut pos = 0;
    while let Some(start) = lower[pos..].find("<form").map(|i| i + pos) {
        let end = lower[start..]
            .find("</form>")
            .map_or(html.len(), |i| i + start);
        let tag_end = lower[start..].find('>').map_or(end, |i| i + start);
        let tag = &html[start..tag_end];
        let mut form = HtmlForm {
            action: attr(tag, "action").unwrap_or_default(),
            method: attr(tag, "method")
                .unwrap_or_else(|| "GET".to_owned())
                .to_ascii_uppercase(),
            fields: Vec::new(),
        };
        let body = &html[tag_end..end];
        let body_lower = &lower[tag_end..end];
        let mut p = 0;
        while let Some(i) = body_lower[p..].find('<').map(|i| i + p) {
            let close = body_lower[i..].find('>').map_or(body.len(), |j| j + i);
            let t = &body[i..close];
            let tl = &body_lower[i..close];
            if tl.starts_with("<input") || tl.starts_with("<button") {
                if let Some(name) = attr(t, "name") {
                    form.fields
                        .push((name, attr(t, "value").unwrap_or_default()));
                }
            }
            p = close.max(i + 1);
        }
        forms.push(form);
        pos = end.max(start + 1);
    }
    forms
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let needle = format!(" {name}=\"");
    let i = lower.find(&needle)? + needle.len();
    let j = tag[i..].find('"')? + i;
    Some(unescape(&tag[i..j]))
}

/// Escapes text for HTML element content and double-quoted attributes.
pub(crate) fn escape(s: &str) -> String {
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

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Formats minor units as `150.00`.
pub(crate) fn money(amount: u64, currency: u16) -> String {
    let code = if currency == crate::gateway::CURRENCY_KGS {
        "KGS".to_owned()
    } else {
        currency.to_string()
    };
    format!("{}.{:02} {code}", amount / 100, amount % 100)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{t}</title>\n\
         <style>body{{font-family:sans-serif;max-width:32em;margin:2em auto}}\
         label{{display:block;margin-top:.8em}}input{{font-size:1.1em}}\
         .note{{color:#666;font-size:.9em}}</style>\n</head>\n<body>\n\
         <h1>{t}</h1>\n{body}\n</body>\n</html>\n",
        t = escape(title)
    )
}

/// A page with a message (errors, finished orders).
pub(crate) fn message_page(title: &str, message: &str, link: Option<(&str, &str)>) -> String {
    let mut body = format!("<p id=\"message\">{}</p>\n", escape(message));
    if let Some((href, text)) = link {
        let _ = writeln!(
            body,
            "<p><a href=\"{}\">{}</a></p>",
            escape(href),
            escape(text)
        );
    }
    page(title, &body)
}

/// The hosted payment page's card form.
pub(crate) fn pay_form(
    action: &str,
    order_id: &str,
    order_number: &str,
    amount: &str,
    description: &str,
) -> String {
    let body = format!(
        "<p>Order <b id=\"orderNumber\">{num}</b>: <b id=\"amount\">{amount}</b></p>\n\
         <p>{desc}</p>\n\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"MDORDER\" value=\"{id}\">\n\
         <label for=\"pan\">Card number</label>\n\
         <input id=\"pan\" name=\"$PAN\" value=\"\" inputmode=\"numeric\" autocomplete=\"cc-number\" required>\n\
         <label for=\"mm\">Expiry month (MM)</label>\n\
         <input id=\"mm\" name=\"MM\" value=\"\" inputmode=\"numeric\" autocomplete=\"cc-exp-month\" required>\n\
         <label for=\"yyyy\">Expiry year (YYYY)</label>\n\
         <input id=\"yyyy\" name=\"YYYY\" value=\"\" inputmode=\"numeric\" autocomplete=\"cc-exp-year\" required>\n\
         <label for=\"text\">Cardholder name</label>\n\
         <input id=\"text\" name=\"TEXT\" value=\"\" autocomplete=\"cc-name\">\n\
         <label for=\"cvc\">CVC</label>\n\
         <input id=\"cvc\" name=\"$CVC\" value=\"\" inputmode=\"numeric\" autocomplete=\"cc-csc\" required>\n\
         <label for=\"email\">E-mail (optional)</label>\n\
         <input id=\"email\" name=\"email\" value=\"\" autocomplete=\"email\">\n\
         <p><button type=\"submit\">Pay</button></p>\n\
         </form>\n\
         <p class=\"note\">Local gateway emulator: use a test card only.</p>\n",
        num = escape(order_number),
        amount = escape(amount),
        desc = escape(description),
        action = escape(action),
        id = escape(order_id),
    );
    page("Card payment", &body)
}

/// The ACS page asking for the one-time code.
pub(crate) fn acs_form(
    action: &str,
    pa_req: &str,
    md: &str,
    term_url: &str,
    order_number: &str,
    amount: &str,
    masked_pan: &str,
) -> String {
    let body = format!(
        "<p>Confirm the payment of <b id=\"amount\">{amount}</b> for order \
         <b id=\"orderNumber\">{num}</b> with card <b id=\"maskedPan\">{pan}</b>.</p>\n\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"PaReq\" value=\"{pa_req}\">\n\
         <input type=\"hidden\" name=\"MD\" value=\"{md}\">\n\
         <input type=\"hidden\" name=\"TermUrl\" value=\"{term}\">\n\
         <label for=\"otp\">One-time code sent to your phone</label>\n\
         <input id=\"otp\" name=\"otp\" value=\"\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\n\
         <p><button type=\"submit\">Confirm</button></p>\n\
         </form>\n\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"PaReq\" value=\"{pa_req}\">\n\
         <input type=\"hidden\" name=\"MD\" value=\"{md}\">\n\
         <input type=\"hidden\" name=\"TermUrl\" value=\"{term}\">\n\
         <input type=\"hidden\" name=\"cancel\" value=\"1\">\n\
         <p><button type=\"submit\">Cancel</button></p>\n\
         </form>\n\
         <p class=\"note\">Emulated 3-D Secure (ACS) page.</p>\n",
        amount = escape(amount),
        num = escape(order_number),
        pan = escape(masked_pan),
        action = escape(action),
        pa_req = escape(pa_req),
        md = escape(md),
        term = escape(term_url),
    );
    page("3-D Secure", &body)
}

/// The auto-submitting form that carries `PaRes` + `MD` to the TermUrl.
pub(crate) fn acs_post_back(term_url: &str, pa_res: &str, md: &str) -> String {
    let body = format!(
        "<form id=\"pares\" method=\"post\" action=\"{term}\">\n\
         <input type=\"hidden\" name=\"PaRes\" value=\"{pa_res}\">\n\
         <input type=\"hidden\" name=\"MD\" value=\"{md}\">\n\
         <noscript><p><button type=\"submit\">Continue</button></p></noscript>\n\
         </form>\n\
         <script>document.getElementById('pares').submit();</script>\n",
        term = escape(term_url),
        pa_res = escape(pa_res),
        md = escape(md),
    );
    page("Returning to the merchant", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_its_own_forms() {
        let html = acs_form(
            "/acs/submit",
            "PAREQ-1",
            "id&1",
            "http://x/t?a=1&b=\"2\"",
            "N",
            "1.00 KGS",
            "411111**1111",
        );
        let forms = parse_forms(&html);
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[0].action, "/acs/submit");
        assert_eq!(forms[0].method, "POST");
        assert_eq!(forms[0].field("PaReq"), Some("PAREQ-1"));
        assert_eq!(forms[0].field("MD"), Some("id&1"));
        assert_eq!(forms[0].field("TermUrl"), Some("http://x/t?a=1&b=\"2\""));
        assert_eq!(forms[0].field("otp"), Some(""));
        assert_eq!(forms[1].field("cancel"), Some("1"));
        assert!(html.contains("<label for=\"otp\">"));
    }

    #[test]
    fn money_formats_minor_units() {
        assert_eq!(money(15000, 417), "150.00 KGS");
        assert_eq!(money(5, 417), "0.05 KGS");
    }
}
