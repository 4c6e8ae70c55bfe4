//! Hand-written HTML with escaping: the page layout (language switch,
//! operator's address and support contacts on every page) and helpers.

use std::fmt::Write as _;

use tolom_core::i18n::{text, Language, Text};
use tolom_core::receipt::Operator;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query value.
pub fn qv(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A page to render inside the layout.
pub struct Page<'a> {
    /// The language.
    pub lang: Language,
    /// The `<title>` and `<h1>`.
    pub title: &'a str,
    /// The GET address of this page, for the language switch.
    pub here: &'a str,
    /// The main content (already escaped HTML).
    pub body: String,
    /// Extra `<head>` content (e.g. a meta refresh).
    pub head: &'a str,
}

/// The stylesheet (screen and print).
pub const CSS: &str = r#"
*{box-sizing:border-box}
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;margin:0;color:#1a1a1a;background:#f6f7f9;line-height:1.5}
a{color:#0b4f9c}
a:focus,button:focus,input:focus{outline:3px solid #f0a500;outline-offset:2px}
.skip{position:absolute;left:-9999px}
.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:10}
header,footer{background:#0b3d73;color:#fff;padding:1rem}
header a,footer a{color:#fff}
header .brand{font-size:1.4rem;font-weight:bold;text-decoration:none}
nav ul{list-style:none;margin:.5rem 0 0;padding:0;display:flex;flex-wrap:wrap;gap:1rem}
.langs{margin-top:.5rem}
.langs a[aria-current]{font-weight:bold;text-decoration:none;border-bottom:2px solid #fff}
main{max-width:46rem;margin:1.5rem auto;background:#fff;padding:1.5rem;border-radius:6px}
label{display:block;font-weight:bold;margin-top:1rem}
.hint{display:block;color:#555;font-size:.9rem}
input[type=text],input[type=email],input[type=tel],input:not([type]){width:100%;padding:.6rem;font-size:1.1rem;border:1px solid #888;border-radius:4px}
input[aria-invalid=true]{border:2px solid #b00020}
.error{color:#b00020;font-weight:bold;display:block}
.summary{border:2px solid #b00020;padding:1rem;margin-bottom:1rem}
button,.button{display:inline-block;margin-top:1.2rem;padding:.7rem 1.6rem;font-size:1.1rem;background:#0b6e2e;color:#fff;border:0;border-radius:4px;text-decoration:none;cursor:pointer}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}
dl.facts dt{font-weight:bold}
dl.facts dd{margin:0}
.ok{border-left:6px solid #0b6e2e;padding:.5rem 1rem;background:#eef8f0}
.bad{border-left:6px solid #b00020;padding:.5rem 1rem;background:#fdeeee}
.terms{max-height:24rem;overflow:auto;border:1px solid #ccc;padding:0 1rem;background:#fafafa}
.check{display:flex;gap:.5rem;align-items:flex-start;font-weight:bold;margin-top:1rem}
.check input{width:1.4rem;height:1.4rem}
.qr svg{width:10rem;height:10rem}
.sig{word-break:break-all;font-family:monospace;font-size:.85rem}
footer p{margin:.2rem 0}
@media print{
 header nav,.langs,.noprint,.skip,button,.button{display:none!important}
 body{background:#fff}
 header,footer{background:#fff;color:#000;border-bottom:1px solid #000}
 header a,footer a{color:#000}
 main{margin:0;max-width:none;padding:0}
}
"#;

/// Renders a full page.
pub fn render(page: &Page<'_>, operator: &Operator) -> String {
    let lang = page.lang;
    let mut h = String::with_capacity(page.body.len() + 3000);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{tag}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} — {site}</title><link rel=\"stylesheet\" href=\"/static/portal.css\">{head}</head><body>\
<a class=\"skip\" href=\"#main\">{skip}</a><header><a class=\"brand\" href=\"/\">{site}</a> <span>{tagline}</span>\
<nav aria-label=\"{site}\"><ul><li><a href=\"/\">{home}</a></li><li><a href=\"/documents\">{docs}</a></li>\
<li><a href=\"/verify\">{verify}</a></li></ul></nav>",
        tag = lang.tag(),
        title = esc(page.title),
        site = esc(&text(Text::SiteName, lang)),
        head = page.head,
        skip = esc(&text(Text::Skip, lang)),
        tagline = esc(&text(Text::SiteTagline, lang)),
        home = esc(&text(Text::NavHome, lang)),
        docs = esc(&text(Text::NavDocuments, lang)),
        verify = esc(&text(Text::NavVerify, lang)),
    );
    let sep = if page.here.contains('?') { '&' } else { '?' };
    let _ = write!(
        h,
        "<nav class=\"langs\" aria-label=\"{}\"><ul>",
        esc(&text(Text::LangSwitch, lang))
    );
    for l in Language::ALL {
        let current = if l == lang {
            " aria-current=\"true\""
        } else {
            ""
        };
        let _ = write!(
            h,
            "<li><a href=\"{}{}lang={}\" hreflang=\"{}\" lang=\"{}\"{}>{}</a></li>",
            esc(page.here),
            sep,
            l.tag(),
            l.tag(),
            l.tag(),
            current,
            esc(l.native_name())
        );
    }
    let _ = write!(
        h,
        "</ul></nav></header><main id=\"main\" tabindex=\"-1\"><h1>{}</h1>{}</main>",
        esc(page.title),
        page.body
    );
    let _ = write!(
        h,
        "<footer><p><strong>{op_l}:</strong> {op}</p><p><strong>{addr_l}:</strong> {addr}</p>\
<p><strong>{sup_l}:</strong> <a href=\"tel:{phone}\">{phone}</a>, <a href=\"mailto:{email}\">{email}</a>, \
<a href=\"{web}\">{web}</a></p></footer></body></html>",
        op_l = esc(&text(Text::FooterOperator, lang)),
        op = esc(operator.name.get(lang)),
        addr_l = esc(&text(Text::FooterAddress, lang)),
        addr = esc(operator.address.get(lang)),
        sup_l = esc(&text(Text::FooterSupport, lang)),
        phone = esc(&operator.phone),
        email = esc(&operator.email),
        web = esc(&operator.website),
    );
    h
}

/// A text input with its label, hint and error tied together for screen
/// readers (`aria-describedby`, `aria-invalid`).
pub struct Field<'a> {
    /// `name` and `id`.
    pub name: &'a str,
    /// Label text.
    pub label: &'a str,
    /// Hint text.
    pub hint: Option<&'a str>,
    /// Current value (re-shown after errors; never for PAN or CVV).
    pub value: &'a str,
    /// Error text, if any.
    pub error: Option<&'a str>,
    /// `type`.
    pub kind: &'a str,
    /// `autocomplete`.
    pub autocomplete: &'a str,
    /// `inputmode`, if any.
    pub inputmode: Option<&'a str>,
}

impl Field<'_> {
    /// The HTML.
    pub fn html(&self) -> String {
        let mut described = Vec::new();
        let mut out = format!(
            "<div class=\"field\"><label for=\"{n}\">{l}</label>",
            n = esc(self.name),
            l = esc(self.label)
        );
        if let Some(hint) = self.hint {
            let _ = write!(
                out,
                "<span class=\"hint\" id=\"{}-hint\">{}</span>",
                esc(self.name),
                esc(hint)
            );
            described.push(format!("{}-hint", self.name));
        }
        if let Some(err) = self.error {
            let _ = write!(
                out,
                "<span class=\"error\" id=\"{}-error\">{}</span>",
                esc(self.name),
                esc(err)
            );
            described.push(format!("{}-error", self.name));
        }
        let _ = write!(
            out,
            "<input type=\"{kind}\" id=\"{n}\" name=\"{n}\" value=\"{v}\" autocomplete=\"{ac}\"{im}{desc}{inv} required></div>",
            kind = esc(self.kind),
            n = esc(self.name),
            v = esc(self.value),
            ac = esc(self.autocomplete),
            im = self
                .inputmode
                .map(|m| format!(" inputmode=\"{}\"", esc(m)))
                .unwrap_or_default(),
            desc = if described.is_empty() {
                String::new()
            } else {
                format!(" aria-describedby=\"{}\"", esc(&described.join(" ")))
            },
            inv = if self.error.is_some() {
                " aria-invalid=\"true\""
            } else {
                ""
            },
        );
        out
    }
}

/// An error summary at the top of a form, linking to each field.
pub fn error_summary(lang: Language, errors: &[(&str, &str)]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<div class=\"summary\" role=\"alert\" tabindex=\"-1\" id=\"error-summary\"><p><strong>{}</strong></p><ul>",
        esc(&text(Text::ErrorsSummary, lang))
    );
    for (field, msg) in errors {
        let _ = write!(out, "<li><a href=\"#{}\">{}</a></li>", esc(field), esc(msg));
    }
    out.push_str("</ul></div>");
    out
}

/// Renders agreement text (Markdown-ish: `#` headings, paragraphs, `-`
/// list items) as escaped HTML.
pub fn agreement_html(text: &str) -> String {
    let mut out = String::new();
    for block in text.split("\n\n") {
        let block = block.trim();
        if block.is_empty() {
            continue;
        }
        if let Some(rest) = block.strip_prefix("### ") {
            let _ = write!(out, "<h4>{}</h4>", esc(rest));
        } else if let Some(rest) = block.strip_prefix("## ") {
            let _ = write!(out, "<h3>{}</h3>", esc(rest));
        } else if let Some(rest) = block.strip_prefix("# ") {
            let _ = write!(out, "<h2>{}</h2>", esc(rest));
        } else if block.starts_with("- ") || block.starts_with("* ") {
            out.push_str("<ul>");
            for line in block.lines() {
                let item = line.trim_start_matches(['-', '*']).trim();
                let _ = write!(out, "<li>{}</li>", esc(item));
            }
            out.push_str("</ul>");
        } else {
            let _ = write!(out, "<p>{}</p>", esc(&block.replace('\n', " ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<script>alert('x')&\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn field_ties_error_to_input() {
        let html = Field {
            name: "pan",
            label: "Card number",
            hint: None,
            value: "",
            error: Some("bad"),
            kind: "text",
            autocomplete: "cc-number",
            inputmode: Some("numeric"),
        }
        .html();
        assert!(html.contains("aria-describedby=\"pan-error\""));
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(html.contains("<label for=\"pan\">"));
    }
}
