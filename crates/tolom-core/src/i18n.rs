//! Languages, and the one way tolom translates: [Project Fluent].
//!
//! Every text a payer or operator reads (error messages, the portal's labels,
//! receipt labels and payment states, the receipt e-mail) is a message in the
//! Fluent files of this crate, `locales/{ky,ru,en}/*.ftl`, split by area
//! (`errors.ftl`, `portal.ftl`, `receipt.ftl`, `email.ftl`; the same files in
//! each language). Front ends and embedders can use the files directly.
//!
//! The build script parses the files and **fails the build** when a file does
//! not parse, when a message exists in one language but not in another, or
//! when a message uses other variables in one language than in another. It
//! generates [`Text`], one variant per message, so code names texts by type
//! and a missing translation is a build error, never a placeholder at run
//! time.
//!
//! # Codes and ids
//!
//! Errors have stable dotted codes (`code.check_digit`) that the API returns
//! next to the message. Fluent ids cannot contain dots, so a message's id is
//! its code with each `.` written as `-`: the id `code-check_digit` is the
//! code `code.check_digit`, and the variant is [`Text::CodeCheckDigit`]
//! ([`Text::id`], [`Text::code`]). Codes never contain `-`, so the mapping is
//! reversible: [`Text::from_code`] turns a code that arrives as data (a stored
//! failure code) back into a text, and says `None` for anything else.
//!
//! # Formatting
//!
//! [`text`] formats a message; [`text_with`] passes Fluent arguments to the
//! messages that have placeables ([`Text::variables`]), e.g. the e-mail's
//! `{ $service }`. The bundles are built once, on first use.
//!
//! [Project Fluent]: https://projectfluent.org

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentError, FluentResource};
use serde::{Deserialize, Serialize};

pub use fluent_bundle::{FluentArgs, FluentValue};

include!(concat!(env!("OUT_DIR"), "/text.rs"));

impl fmt::Display for Text {
    /// The stable code, e.g. `code.check_digit`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Text {
    /// As its stable code, e.g. `"code.check_digit"`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// One language's messages.
type Bundle = FluentBundle<FluentResource>;

/// The bundles, in [`Language::ALL`] order, built on first use.
fn bundle(lang: Language) -> &'static Bundle {
    static BUNDLES: OnceLock<[Bundle; 3]> = OnceLock::new();
    let bundles = BUNDLES.get_or_init(|| Language::ALL.map(build_bundle));
    match lang {
        Language::Ky => &bundles[0],
        Language::Ru => &bundles[1],
        Language::En => &bundles[2],
    }
}

fn build_bundle(lang: Language) -> Bundle {
    let locale = lang.tag().parse().unwrap_or_default();
    let mut bundle = Bundle::new_concurrent(vec![locale]);
    // Plain text around placeables: no Unicode isolation marks in e-mails,
    // PDFs and JSON.
    bundle.set_use_isolating(false);
    for (tag, _file, source) in SOURCES {
        if tag == lang.tag() {
            // The build parsed these very files and found no error and no
            // id defined twice, so neither result can be an error here.
            let resource =
                FluentResource::try_new(source.to_string()).unwrap_or_else(|(partial, _)| partial);
            let _ = bundle.add_resource(resource);
        }
    }
    bundle
}

/// Formats `key` in `lang`, with the Fluent errors (none for every text and
/// its declared variables: a test formats them all).
fn format(
    key: Text,
    lang: Language,
    args: Option<&FluentArgs<'_>>,
) -> (Cow<'static, str>, Vec<FluentError>) {
    let bundle = bundle(lang);
    let mut errors = Vec::new();
    let value = bundle.get_message(key.id()).and_then(|m| m.value());
    match value {
        Some(pattern) => {
            let text = bundle.format_pattern(pattern, args, &mut errors);
            (text, errors)
        }
        // Unreachable: the build generated `Text` from these files and
        // checked that every message has a value in every language.
        None => (Cow::Borrowed(key.id()), errors),
    }
}

/// The text of `key` in `lang`.
///
/// ```
/// use tolom_core::i18n::{text, Language, Text};
/// assert_eq!(text(Text::CodeNotFound, Language::En), "This payment code was not found.");
/// assert_eq!(Text::CodeNotFound.code(), "code.not_found");
/// ```
pub fn text(key: Text, lang: Language) -> Cow<'static, str> {
    format(key, lang, None).0
}

/// The text of `key` in `lang` with Fluent arguments for its placeables
/// (the names in [`Text::variables`]).
///
/// ```
/// use tolom_core::i18n::{text_with, FluentArgs, Language, Text};
/// let mut args = FluentArgs::new();
/// args.set("service", "Passport");
/// assert!(text_with(Text::EmailIntro, Language::En, &args)
///     .starts_with("We have received your payment for Passport."));
/// ```
pub fn text_with(key: Text, lang: Language, args: &FluentArgs<'_>) -> Cow<'static, str> {
    format(key, lang, Some(args)).0
}

/// A language a payer can read tolom in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Kyrgyz (the default).
    #[default]
    Ky,
    /// Russian.
    Ru,
    /// English.
    En,
}

impl Language {
    /// All languages, in display order.
    pub const ALL: [Language; 3] = [Language::Ky, Language::Ru, Language::En];

    /// The BCP 47 tag: `ky`, `ru` or `en`.
    pub fn tag(&self) -> &'static str {
        match self {
            Language::Ky => "ky",
            Language::Ru => "ru",
            Language::En => "en",
        }
    }

    /// The language's own name, for a language switch. Not a translated
    /// text: each language is named in itself, whatever the page's language.
    pub fn native_name(&self) -> &'static str {
        match self {
            Language::Ky => "Кыргызча",
            Language::Ru => "Русский",
            Language::En => "English",
        }
    }

    /// Picks the best language from an HTTP `Accept-Language` header; `None`
    /// when nothing in it is supported.
    ///
    /// ```
    /// use tolom_core::i18n::Language;
    /// assert_eq!(Language::negotiate("en-GB,en;q=0.9,ru;q=0.8"), Some(Language::En));
    /// assert_eq!(Language::negotiate("de, ru;q=0.5, en;q=0.4"), Some(Language::Ru));
    /// assert_eq!(Language::negotiate("de"), None);
    /// ```
    pub fn negotiate(accept_language: &str) -> Option<Language> {
        let mut best: Option<(u32, Language)> = None;
        for part in accept_language.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // Quality is compared in thousandths to stay clear of float ordering.
            let q = (quality.clamp(0.0, 1.0) * 1000.0) as u32;
            let primary = tag.split(['-', '_']).next().unwrap_or("");
            if let Ok(lang) = primary.parse::<Language>() {
                if q > 0 && best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, lang));
                }
            }
        }
        best.map(|(_, l)| l)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// The text was not a supported language tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported language {0:?}")]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ky" | "kg" | "kir" | "kgz" => Ok(Language::Ky),
            "ru" | "rus" => Ok(Language::Ru),
            "en" | "eng" => Ok(Language::En),
            other => Err(UnknownLanguage(other.to_string())),
        }
    }
}

/// An error with a stable machine code and a message in every language,
/// both from its [`Text`]: an error cannot have a code without a translation.
pub trait ErrorCode {
    /// The error's text: its stable code and its message.
    fn text(&self) -> Text;

    /// The stable machine code, e.g. `code.check_digit`.
    fn code(&self) -> &'static str {
        self.text().code()
    }

    /// The translated message for the payer.
    fn message(&self, lang: Language) -> Cow<'static, str> {
        text(self.text(), lang)
    }
}

/// A text in each of the three languages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LocalizedText {
    /// Kyrgyz.
    pub ky: String,
    /// Russian.
    pub ru: String,
    /// English.
    pub en: String,
}

impl LocalizedText {
    /// Builds a text from its three translations.
    pub fn new(ky: impl Into<String>, ru: impl Into<String>, en: impl Into<String>) -> Self {
        LocalizedText {
            ky: ky.into(),
            ru: ru.into(),
            en: en.into(),
        }
    }

    /// The text in one language.
    pub fn get(&self, lang: Language) -> &str {
        match lang {
            Language::Ky => &self.ky,
            Language::Ru => &self.ru,
            Language::En => &self.en,
        }
    }
}

/// The checks that `build.rs` runs on the Fluent files, run here on
/// mutated copies to show that each kind of mistake fails the build.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../build/check.rs"]
mod build_check;

#[cfg(test)]
mod fluent_tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_syntax::ast;

    /// Arguments for every variable of `key`: `‹name›`.
    fn args_for(key: Text) -> FluentArgs<'static> {
        let mut args = FluentArgs::new();
        for v in key.variables() {
            args.set(*v, format!("‹{v}›"));
        }
        args
    }

    #[test]
    fn every_text_formats_in_every_language_without_errors() {
        for key in Text::ALL {
            for lang in Language::ALL {
                let (out, errors) = format(key, lang, Some(&args_for(key)));
                assert!(errors.is_empty(), "{key:?} in {lang}: {errors:?}");
                assert!(!out.trim().is_empty(), "{key:?} in {lang} is empty");
                assert!(!out.contains(['{', '}']), "{key:?} in {lang}: {out}");
                assert!(!out.contains(['\u{2068}', '\u{2069}']), "isolation marks");
                for v in key.variables() {
                    assert!(out.contains(&format!("‹{v}›")), "{key:?} in {lang}: ${v}");
                }
                if key.variables().is_empty() {
                    let (plain, errors) = format(key, lang, None);
                    assert!(errors.is_empty(), "{key:?} in {lang}: {errors:?}");
                    assert_eq!(plain, out);
                    assert_eq!(text(key, lang), out);
                } else {
                    assert_eq!(text_with(key, lang, &args_for(key)), out);
                }
            }
        }
    }

    fn variables_of(e: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
        let inline = |i: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>| match i {
            ast::InlineExpression::VariableReference { id } => {
                out.insert(id.name.to_string());
            }
            ast::InlineExpression::Placeable { expression } => variables_of(expression, out),
            _ => {}
        };
        match e {
            ast::Expression::Inline(i) => inline(i, out),
            ast::Expression::Select { selector, variants } => {
                inline(selector, out);
                for v in variants {
                    for el in &v.value.elements {
                        if let ast::PatternElement::Placeable { expression } = el {
                            variables_of(expression, out);
                        }
                    }
                }
            }
        }
    }

    /// Every message with placeables gets the same variables in all three
    /// languages, and the ones `Text::variables` declares.
    #[test]
    fn placeables_take_the_same_variables_in_every_language() {
        let mut seen: BTreeMap<String, BTreeMap<&str, BTreeSet<String>>> = BTreeMap::new();
        for (tag, file, source) in SOURCES {
            let resource = fluent_syntax::parser::parse(source)
                .unwrap_or_else(|(_, e)| panic!("{tag}/{file}: {e:?}"));
            for entry in resource.body {
                if let ast::Entry::Message(m) = entry {
                    let mut vars = BTreeSet::new();
                    for el in m.value.iter().flat_map(|v| &v.elements) {
                        if let ast::PatternElement::Placeable { expression } = el {
                            variables_of(expression, &mut vars);
                        }
                    }
                    seen.entry(m.id.name.to_string())
                        .or_default()
                        .insert(tag, vars);
                }
            }
        }
        assert_eq!(seen.len(), Text::ALL.len());
        let mut with_placeables = 0;
        for key in Text::ALL {
            let by_lang = &seen[key.id()];
            assert_eq!(by_lang.len(), 3, "{key:?}");
            let declared: BTreeSet<String> =
                key.variables().iter().map(|v| v.to_string()).collect();
            for (lang, vars) in by_lang {
                assert_eq!(vars, &declared, "{key:?} in {lang}");
            }
            with_placeables += usize::from(!declared.is_empty());
        }
        assert!(with_placeables >= 4, "the e-mail has placeables");
    }

    #[test]
    fn ids_and_codes_map_both_ways() {
        let mut codes = BTreeSet::new();
        for key in Text::ALL {
            assert_eq!(key.code(), key.id().replace('-', "."));
            assert!(!key.code().contains('-'), "{key:?}");
            assert_eq!(Text::from_code(key.code()), Some(key));
            assert_eq!(Text::from_id(key.id()), Some(key));
            assert_eq!(key.to_string(), key.code());
            assert!(codes.insert(key.code()), "{key:?}");
        }
        assert_eq!(Text::CodeCheckDigit.id(), "code-check_digit");
        assert_eq!(Text::CodeCheckDigit.code(), "code.check_digit");
        assert_eq!(Text::from_code("code-check_digit"), None);
        assert_eq!(Text::from_code("no.such_code"), None);
        assert_eq!(
            serde_json::to_string(&Text::CardPanLuhn).ok().as_deref(),
            Some("\"card.pan_luhn\"")
        );
    }

    /// Kyrgyz and Russian texts are written in Cyrillic, unless a text is
    /// the same in every language (`CVV/CVC`, `JSON`, `RRN`): a message
    /// copied from English into another file is caught here.
    #[test]
    fn texts_are_translated() {
        let cyrillic = |s: &str| s.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
        let mut neutral = Vec::new();
        for key in Text::ALL {
            let args = args_for(key);
            let [ky, ru, en] = Language::ALL.map(|l| text_with(key, l, &args));
            if ky == en && ru == en {
                neutral.push(key);
                continue;
            }
            assert!(cyrillic(&ky), "{key:?}: Kyrgyz {ky:?}");
            assert!(cyrillic(&ru), "{key:?}: Russian {ru:?}");
            if key.file() == "errors.ftl" || key.file() == "email.ftl" {
                assert_ne!(ky, en, "{key:?}");
                assert_ne!(ru, en, "{key:?}");
            }
        }
        assert!(neutral.len() <= 5, "{neutral:?}");
    }

    /// The build's checks, on mutated copies of the real files.
    #[test]
    fn the_build_catches_each_kind_of_mistake() {
        use super::build_check::{analyse, Source};
        let files: Vec<(String, String, String)> = SOURCES
            .iter()
            .map(|(l, f, t)| (l.to_string(), f.to_string(), t.to_string()))
            .collect();
        let run = |files: &[(String, String, String)]| {
            let sources: Vec<Source<'_>> = files
                .iter()
                .map(|(lang, file, text)| Source { lang, file, text })
                .collect();
            analyse(&sources).map(|_| ()).map_err(|p| p.join("\n"))
        };
        assert_eq!(run(&files), Ok(()));
        let edit = |lang: &str, file: &str, f: &dyn Fn(&str) -> String| {
            let mut copy = files.clone();
            for (l, n, t) in &mut copy {
                if l == lang && n == file {
                    *t = f(t);
                }
            }
            run(&copy).expect_err("a mistake")
        };
        let missing = edit("ru", "errors.ftl", &|t| {
            t.lines()
                .filter(|l| !l.starts_with("code-prefix ="))
                .collect::<Vec<_>>()
                .join("\n")
        });
        assert!(
            missing.contains("message code-prefix is in ky/errors.ftl, en/errors.ftl but missing from locales/ru"),
            "{missing}"
        );
        let vars = edit("ky", "email.ftl", &|t| t.replace("$website", "$site"));
        assert!(
            vars.contains("message email-why uses the variables"),
            "{vars}"
        );
        let syntax = edit("en", "portal.ftl", &|t| format!("{t}\nbroken = {{ oops\n"));
        assert!(
            syntax.contains("en/portal.ftl:") && syntax.contains("does not parse"),
            "{syntax}"
        );
        let bad_id = edit("en", "portal.ftl", &|t| format!("{t}\nSite_Name = x\n"));
        assert!(bad_id.contains("Site_Name"), "{bad_id}");
        let mut fewer = files.clone();
        fewer.retain(|(l, f, _)| !(l == "ky" && f == "email.ftl"));
        let files_err = run(&fewer).expect_err("a missing file");
        assert!(
            files_err.contains("every language needs the same files"),
            "{files_err}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_languages() {
        assert_eq!("KY".parse::<Language>().unwrap(), Language::Ky);
        assert_eq!("ru".parse::<Language>().unwrap(), Language::Ru);
        assert!("de".parse::<Language>().is_err());
        assert_eq!(Language::negotiate("ky-KG,ru;q=0.9"), Some(Language::Ky));
        assert_eq!(Language::negotiate("en;q=0"), None);
    }
}
