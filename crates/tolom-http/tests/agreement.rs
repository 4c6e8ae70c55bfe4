//! The user agreement as the payer reads it: each shipped edition (ky, ru,
//! en) rendered from its Markdown through the real router, with its
//! headings, lists and emphasis intact and its wording unchanged; and an
//! edition's raw HTML, script links and images neutralised.

mod common;

use common::{portal, test_config, Client};
use tolom_core::terms::TermsEdition;
use tolom_testkit::fixtures::Harness;

/// The agreement in a page: the contents of its `.terms` region.
fn region(body: &str) -> &str {
    let start = body
        .find("class=\"terms\"")
        .unwrap_or_else(|| panic!("{body}"));
    let open = start + body[start..].find('>').expect("region tag") + 1;
    let close = open + body[open..].find("</div>").expect("region end");
    &body[open..close]
}

/// The `(level, inner HTML)` of every `<h2>`…`<h6>`.
fn headings(html: &str) -> Vec<(u8, &str)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<h") {
        rest = &rest[i + 2..];
        let level = rest.as_bytes().first().copied().unwrap_or(b'x');
        if !(b'1'..=b'6').contains(&level) || rest.as_bytes().get(1) != Some(&b'>') {
            continue;
        }
        let end = format!("</h{}>", level as char);
        let close = rest.find(&end).expect("heading closed");
        out.push((level - b'0', &rest[2..close]));
        rest = &rest[close..];
    }
    out
}

/// The inner HTML of every `<li>`.
fn items(html: &str) -> Vec<&str> {
    html.split("<li>")
        .skip(1)
        .map(|s| &s[..s.find("</li>").expect("item closed")])
        .collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The words of an HTML fragment: tags dropped, entities read,
/// whitespace collapsed.
fn words_of_html(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The words of a Markdown source: heading and bullet markers, `**` and
/// backticks dropped, whitespace collapsed.
fn words_of_markdown(source: &str) -> String {
    let text: Vec<String> = source
        .lines()
        .map(|l| {
            let l = l.trim_start();
            let l = l.trim_start_matches('#');
            let l = l.strip_prefix("- ").unwrap_or(l);
            l.replace("**", " ").replace('`', " ")
        })
        .collect();
    text.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

async fn setup() -> (Client, Harness, String) {
    let (app, h) = portal(test_config());
    let charge = h.charge("passport-2020", "Сыдыкова Айгүл Бакытовна").await;
    (Client::new(app), h, charge.code.as_str().to_string())
}

/// Puts `edition` in force (after the seed edition), past the terms cache.
async fn publish(h: &Harness, mut edition: TermsEdition) {
    use tolom_core::ports::Clock as _;
    let seed = TermsEdition::seed_edition();
    edition.effective_at = h.clock.now() - chrono::Duration::days(1);
    edition.published_at = edition.effective_at;
    h.tolom.publish_terms(seed).await.expect("publish seed");
    h.tolom.publish_terms(edition).await.expect("publish");
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    h.clock.advance(chrono::Duration::seconds(10));
}

#[tokio::test]
async fn every_shipped_edition_renders_its_headings_lists_and_emphasis() {
    let (mut c, _h, code) = setup().await;
    let seed = TermsEdition::seed_edition();
    // At least what the shipped texts hold: (headings, list items).
    let least = [("ky", 6, 23), ("ru", 7, 22), ("en", 8, 22)];
    for (lang, least_headings, least_items) in least {
        let source = seed.text(lang.parse().expect("language"));
        let page = c.get(&format!("/documents?lang={lang}")).await;
        assert_eq!(page.status, 200, "{lang}");
        let html = region(&page.body);

        // No Markdown left over.
        assert!(!html.contains("**"), "{lang}: literal **\n{html}");
        assert!(!html.contains('`'), "{lang}: literal backtick\n{html}");
        assert!(!html.contains('•'), "{lang}: literal bullet\n{html}");
        for line in html.lines() {
            let text = line.trim_start();
            assert!(!text.starts_with('#'), "{lang}: {line}");
            assert!(!text.starts_with("- "), "{lang}: {line}");
        }

        // Every heading of the source, and nothing but it, is a heading:
        // the title `<h2>`, the sections `<h3>`.
        let expected: Vec<(u8, String)> = source
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(|l| {
                let level = l.chars().take_while(|&c| c == '#').count() as u8 + 1;
                (level, escape(l.trim_start_matches('#').trim()))
            })
            .collect();
        let found: Vec<(u8, String)> = headings(html)
            .into_iter()
            .map(|(l, t)| (l, t.to_string()))
            .collect();
        assert_eq!(found, expected, "{lang}");
        assert!(found.len() >= least_headings, "{lang}: {found:?}");
        assert_eq!(found.iter().filter(|(l, _)| *l == 2).count(), 1, "{lang}");
        assert!(
            found
                .iter()
                .all(|(_, t)| t.chars().count() < 100 && !t.contains('<')),
            "{lang}: a paragraph in a heading: {found:?}"
        );

        // One `<li>` per item of the source, wrapped lines included.
        let items = items(html);
        let source_items = source.lines().filter(|l| l.starts_with("- ")).count();
        assert_eq!(items.len(), source_items, "{lang}: {items:?}");
        assert!(items.len() >= least_items, "{lang}: {}", items.len());
        assert_eq!(
            html.matches("<ul>").count(),
            6,
            "{lang}: services, terms, personal data, responsibility, changes, contacts"
        );

        // Emphasis is the source's, and the wording is unchanged.
        assert_eq!(
            html.matches("<strong>").count() * 2,
            source.matches("**").count(),
            "{lang}"
        );
        assert_eq!(words_of_html(html), words_of_markdown(source), "{lang}");

        // The same text on the agreement page before paying and on the
        // edition's own page.
        let terms = c.get(&format!("/pay/{code}/terms?lang={lang}")).await;
        assert_eq!(terms.status, 200, "{lang}");
        assert_eq!(region(&terms.body), html, "{lang}");
        let edition = c.get(&format!("/documents/{}?lang={lang}", seed.id)).await;
        assert_eq!(edition.status, 200, "{lang}");
        assert!(edition.body.contains(html.trim()), "{lang}");
    }
}

#[tokio::test]
async fn a_wrapped_list_item_stays_one_item() {
    let (mut c, _h, _) = setup().await;
    let en = region(&c.get("/documents?lang=en").await.body).to_string();
    let items = items(&en);
    let first = items
        .iter()
        .find(|i| i.starts_with("issuance of the national passports"))
        .expect("the first service");
    assert!(first.contains('\n'), "wrapped in the source: {first}");
    assert!(
        first.ends_with("<strong>general civil passport, 2020\nmodel</strong>;"),
        "{first}"
    );
    assert!(
        !items.iter().any(|i| i.starts_with("card (the")),
        "{items:?}"
    );
    let ru = region(&c.get("/documents?lang=ru").await.body).to_string();
    // A heading right above a list (no blank line) is still a heading.
    assert!(
        ru.contains("<h3>Термины</h3>\n<ul>\n<li><strong>Сайт</strong> — "),
        "{ru}"
    );
}

#[tokio::test]
async fn raw_html_script_links_and_images_in_an_edition_are_neutralised() {
    let (mut c, h, code) = setup().await;
    let mut edition = TermsEdition::seed_edition();
    edition.id = "2026-07-01".into();
    edition.text_en = "# Agreement\n\
        <script>alert(1)</script>\n\n\
        Read [this](javascript:alert(2)), [that](JaVaScRiPt:alert(3)), \
        [tab](java&#9;script:alert(4)), [data](data:text/html;base64,PHNjcmlwdD4=) \
        and <javascript:alert(5)>.\n\n\
        <img src=x onerror=alert(6)> <a href=\"javascript:alert(7)\">a</a>\n\n\
        ![logo](https://evil.example/logo.png) ![pixel](data:image/png;base64,AAAA)\n\n\
        The [edition in force](https://payment.infocom.kg/documents), \
        [all documents](/documents) and <support@infocom.kg>.\n\n\
        ## Bullets copied from a document\n\
        \u{20}• the first item,\n\
        \u{20}  wrapped over two lines;\n\
        \u{20}• the second item.\n"
        .into();
    publish(&h, edition).await;
    for path in [
        "/documents?lang=en".to_string(),
        format!("/pay/{code}/terms?lang=en"),
    ] {
        let page = c.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        let html = region(&page.body);
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "{path}: {html}");
        assert!(!lower.contains("<img"), "{path}: {html}");
        assert!(!lower.contains("<a href=\"javascript"), "{path}: {html}");
        assert!(!lower.contains("href=\"data"), "{path}: {html}");
        assert!(!lower.contains("evil.example"), "{path}: {html}");
        // Raw HTML is shown as the text it is.
        assert!(
            html.contains("<p>&lt;script&gt;alert(1)&lt;/script&gt;\n</p>"),
            "{html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(6)&gt;"),
            "{html}"
        );
        // A refused link is its text; an image its alt text.
        assert!(
            html.contains("Read this, that, tab, data and javascript:alert(5)."),
            "{html}"
        );
        assert!(html.contains("<p>logo pixel</p>"), "{html}");
        // Safe links stay links.
        for a in [
            "<a href=\"https://payment.infocom.kg/documents\">edition in force</a>",
            "<a href=\"/documents\">all documents</a>",
            "<a href=\"mailto:support@infocom.kg\">support@infocom.kg</a>",
        ] {
            assert!(html.contains(a), "{a}: {html}");
        }
        // Every link in the agreement is http(s), mailto or the portal's.
        for (i, _) in html.match_indices("<a href=\"") {
            let href = &html[i + 9..];
            assert!(
                ["https://", "http://", "mailto:", "/", "#"]
                    .iter()
                    .any(|s| href.starts_with(s)),
                "{href}"
            );
        }
        // `•` lines are one list, the wrapped one a single item.
        assert!(
            html.contains(
                "<h3>Bullets copied from a document</h3>\n<ul>\n\
                 <li>the first item,\nwrapped over two lines;</li>\n\
                 <li>the second item.</li>\n</ul>"
            ),
            "{html}"
        );
    }
    // The JSON API still hands out the operator's Markdown as published.
    let api = c.get("/api/v1/terms?lang=en").await;
    assert!(
        api.body.contains("<script>alert(1)</script>"),
        "{}",
        api.body
    );
}
