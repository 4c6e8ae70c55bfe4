//! The text of a user-agreement edition as blocks for the `ui::agreement`
//! macro: the editions are Markdown-ish (`#` headings, paragraphs, `-`
//! lists), and the template writes the tags, so the text itself is escaped
//! like every other value and never trusted as HTML.

/// A heading, a paragraph or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    /// `h2`, `h3`, `h4` or `p` (unused for a list).
    pub tag: &'static str,
    /// The text of a heading or paragraph.
    pub text: String,
    /// The items of a list (empty for anything else).
    pub items: Vec<String>,
}

/// Splits an edition's text into blocks (separated by blank lines).
pub(crate) fn blocks(source: &str) -> Vec<Block> {
    let block = |tag, text: &str| Block {
        tag,
        text: text.to_string(),
        items: Vec::new(),
    };
    source
        .split("\n\n")
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| {
            if let Some(rest) = b.strip_prefix("### ") {
                block("h4", rest)
            } else if let Some(rest) = b.strip_prefix("## ") {
                block("h3", rest)
            } else if let Some(rest) = b.strip_prefix("# ") {
                block("h2", rest)
            } else if b.starts_with("- ") || b.starts_with("* ") {
                Block {
                    tag: "ul",
                    text: String::new(),
                    items: b
                        .lines()
                        .map(|l| l.trim_start_matches(['-', '*']).trim().to_string())
                        .collect(),
                }
            } else {
                block("p", &b.replace('\n', " "))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_paragraphs_and_lists() {
        let b = blocks("# Title\n\nOne\nline.\n\n- a\n- <b>\n\n## Sub");
        assert_eq!(b[0].tag, "h2");
        assert_eq!(b[0].text, "Title");
        assert_eq!(b[1].text, "One line.");
        assert_eq!(b[2].items, vec!["a".to_string(), "<b>".to_string()]);
        assert_eq!(b[3].tag, "h3");
        assert_eq!(b.len(), 4);
    }
}
