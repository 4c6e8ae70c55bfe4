//! The text of a user-agreement edition as HTML, for the `ui::agreement`
//! macro.
//!
//! An edition is Markdown (the operator's `tolom terms publish --ky --ru
//! --en` files, or the built-in seed edition), parsed by `pulldown-cmark`
//! (CommonMark, plus tables) and written by its HTML writer, which escapes
//! every text and attribute. Between the parser and the writer the events
//! are filtered, so that an edition cannot put anything in the page that the
//! portal did not write itself:
//!
//! - **raw HTML is text**: an HTML block or inline tag (`<script>`,
//!   `<img onerror>`, a comment) is shown as the characters it is made of,
//!   escaped, never as markup;
//! - **links only to http, https and mailto** (and to addresses without a
//!   scheme: `/documents`, `#section`); a link to anything else
//!   (`javascript:`, `data:`, `vbscript:`, `file:`…) is shown as its text,
//!   without the link;
//! - **no images**: an image is shown as its alt text (the page's CSP allows
//!   only the portal's own images, and an agreement needs none);
//! - headings move one level down (`#` is `<h2>`, `##` is `<h3>`…): the
//!   page's `<h1>` is its own title; heading ids, classes and table
//!   alignments (inline styles the CSP refuses) are dropped.
//!
//! A line starting with `•` (after any indentation) is read as a list item,
//! like `-`: text copied from an office document keeps its bullets as that
//! character, and a legal list run together into one paragraph would
//! misrepresent it. Nothing else in the wording is changed (no "smart"
//! punctuation).

use std::borrow::Cow;
use std::fmt;

use pulldown_cmark::{html, Alignment, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// An edition's text as HTML, made only by [`agreement_html`]: markup the
/// renderer wrote around text it escaped. The template writes it as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AgreementHtml(String);

impl fmt::Display for AgreementHtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Renders an edition's Markdown `source` as HTML (see the module's
/// documentation for what is kept, and what is shown as text).
pub(crate) fn agreement_html(source: &str) -> AgreementHtml {
    let source = bullets(source);
    let mut links: Vec<bool> = Vec::new();
    let events = Parser::new_ext(&source, Options::ENABLE_TABLES).filter_map(|event| {
        Some(match event {
            Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
            Event::Start(Tag::HtmlBlock) => Event::Start(Tag::Paragraph),
            Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::Paragraph),
            Event::Start(Tag::Heading { level, .. }) => Event::Start(Tag::Heading {
                level: lower(level),
                id: None,
                classes: Vec::new(),
                attrs: Vec::new(),
            }),
            Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(lower(level))),
            Event::Start(Tag::Table(alignments)) => {
                Event::Start(Tag::Table(vec![Alignment::None; alignments.len()]))
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let kept = allowed_link(&dest_url);
                links.push(kept);
                if !kept {
                    return None;
                }
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            }
            Event::End(TagEnd::Link) => {
                if !links.pop().unwrap_or(false) {
                    return None;
                }
                Event::End(TagEnd::Link)
            }
            // The alt text (the events between) stays, as text.
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => return None,
            other => other,
        })
    });
    let mut out = String::with_capacity(source.len() + source.len() / 2);
    html::push_html(&mut out, events);
    AgreementHtml(out)
}

/// One level down: the page's own title is the `<h1>`.
fn lower(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H2,
        HeadingLevel::H2 => HeadingLevel::H3,
        HeadingLevel::H3 => HeadingLevel::H4,
        HeadingLevel::H4 => HeadingLevel::H5,
        HeadingLevel::H5 | HeadingLevel::H6 => HeadingLevel::H6,
    }
}

/// Whether a link's destination may be a link: `http:`, `https:` and
/// `mailto:`, or no scheme at all (a path, a query or a fragment on the
/// portal). Read as a browser reads it (the URL standard drops tabs and
/// line breaks anywhere, and leading control characters and spaces), so
/// `java&#9;script:` is no way around it.
fn allowed_link(dest: &str) -> bool {
    let url: String = dest
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .skip_while(|c| *c <= ' ')
        .collect();
    let end = url.find(['/', '?', '#']).unwrap_or(url.len());
    match url[..end].find(':') {
        None => true,
        Some(colon) => {
            let scheme = url[..colon].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
    }
}

/// The source with each `•` that starts a line (after any indentation,
/// followed by a space or a tab, outside fenced code) replaced by `-`, the
/// Markdown bullet.
fn bullets(source: &str) -> Cow<'_, str> {
    if !source.contains('•') {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len());
    let mut fence: Option<(char, usize)> = None;
    for line in source.split_inclusive('\n') {
        let body = line.trim_start_matches([' ', '\t']);
        let indent = &line[..line.len() - body.len()];
        let run = |c: char| body.chars().take_while(|&x| x == c).count();
        let marker = ['`', '~']
            .into_iter()
            .map(|c| (c, run(c)))
            .find(|&(_, n)| n >= 3 && indent.len() <= 3);
        match (fence, marker) {
            (None, Some(open)) => fence = Some(open),
            (Some((c, n)), Some((d, m)))
                if c == d && m >= n && body[m * c.len_utf8()..].trim().is_empty() =>
            {
                fence = None;
            }
            _ => {}
        }
        match body.strip_prefix('•') {
            Some(rest) if fence.is_none() && rest.starts_with([' ', '\t']) => {
                out.push_str(indent);
                out.push('-');
                out.push_str(rest);
            }
            _ => out.push_str(line),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(source: &str) -> String {
        agreement_html(source).to_string()
    }

    #[test]
    fn headings_paragraphs_and_lists() {
        let h = html("# Title\nOne\nline.\n\n- a\n- b\n  wrapped\n\n## Sub");
        assert_eq!(
            h,
            "<h2>Title</h2>\n<p>One\nline.</p>\n<ul>\n<li>a</li>\n<li>b\nwrapped</li>\n</ul>\n<h3>Sub</h3>\n"
        );
    }

    #[test]
    fn raw_html_is_text() {
        let h = html("<script>alert(1)</script>\n\nA <b onclick=\"x()\">b</b> <!-- c -->");
        assert!(!h.contains("<script"), "{h}");
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{h}");
        assert!(h.contains("&lt;b onclick=\"x()\"&gt;b&lt;/b&gt;"), "{h}");
        assert!(!h.contains("<b"), "{h}");
        assert!(!h.contains("<!--"), "{h}");
    }

    #[test]
    fn links_only_to_safe_schemes() {
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "java&#9;script:alert(1)",
            "&#x20;javascript:alert(1)",
            "<java\tscript:alert(1)>",
            "data:text/html,x",
            "vbscript:x",
            "file:///etc/passwd",
        ] {
            let h = html(&format!("[click]({bad})"));
            assert_eq!(h, "<p>click</p>\n", "{bad}");
        }
        assert!(html("<javascript:alert(1)>").contains("<p>javascript:alert(1)</p>"));
        for (good, href) in [
            (
                "https://payment.infocom.kg/documents",
                "https://payment.infocom.kg/documents",
            ),
            ("HTTP://example.kg", "HTTP://example.kg"),
            ("mailto:support@infocom.kg", "mailto:support@infocom.kg"),
            ("/documents", "/documents"),
            ("#contacts", "#contacts"),
            ("/a?b=c:d", "/a?b=c:d"),
        ] {
            let h = html(&format!("[x]({good})"));
            assert!(h.contains(&format!("<a href=\"{href}\">x</a>")), "{h}");
        }
        assert!(html("<support@infocom.kg>")
            .contains("<a href=\"mailto:support@infocom.kg\">support@infocom.kg</a>"));
        let h = html("[x](\"><script>) [y](<\"onmouseover=x()>)");
        assert!(
            !h.contains("<script") && !h.contains("\"onmouseover"),
            "{h}"
        );
    }

    #[test]
    fn images_are_their_alt_text() {
        assert_eq!(
            html("![a *logo*](https://evil.example/x.png \"t\")"),
            "<p>a <em>logo</em></p>\n"
        );
        assert_eq!(html("![x](data:image/png;base64,AAAA)"), "<p>x</p>\n");
        assert_eq!(
            html("[![img](/a.png)](javascript:x)"),
            "<p>img</p>\n",
            "an image in a refused link"
        );
    }

    #[test]
    fn bullets_are_list_items_outside_code() {
        assert_eq!(
            html("Intro:\n\n • one\n • two\n   wrapped\n•\tthree"),
            "<p>Intro:</p>\n<ul>\n<li>one</li>\n<li>two\nwrapped</li>\n<li>three</li>\n</ul>\n"
        );
        assert_eq!(html("•not a bullet"), "<p>•not a bullet</p>\n");
        assert_eq!(
            html("```\n• kept\n```\n• item"),
            "<pre><code>• kept\n</code></pre>\n<ul>\n<li>item</li>\n</ul>\n"
        );
        assert!(matches!(bullets("no bullets"), Cow::Borrowed("no bullets")));
    }

    #[test]
    fn headings_move_down_and_lose_attributes() {
        assert_eq!(
            html("# a\n## b\n### c\n#### d\n##### e\n###### f"),
            "<h2>a</h2>\n<h3>b</h3>\n<h4>c</h4>\n<h5>d</h5>\n<h6>e</h6>\n<h6>f</h6>\n"
        );
        assert_eq!(html("# a {#id .cls}"), "<h2>a {#id .cls}</h2>\n");
    }

    #[test]
    fn tables_without_inline_styles() {
        let h = html("| a | b |\n|:-:|--:|\n| 1 | 2 |");
        assert!(h.contains("<table>"), "{h}");
        assert!(!h.contains("style"), "{h}");
    }

    #[test]
    fn any_input_renders() {
        for s in [
            "",
            "\u{0}",
            "[",
            "![",
            "<",
            "•",
            "• ",
            "```",
            "~~~\n•",
            "> > > > > > > > > > > > > > > > > > > > > > > > > > > > > x",
            "\u{feff}# x",
            "[x](<>)",
            "[x]( \u{1} javascript:y)",
        ] {
            let _ = agreement_html(s);
        }
    }
}
