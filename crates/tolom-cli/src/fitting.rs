//! Fitting tolom to an operator's data: the `[codes]`, `[operator]` and
//! `[cards]` sections and `catalogue_file` of the configuration file,
//! checked when it is loaded (every command, `serve` and `config check`
//! first).
//!
//! Each problem is reported with the key it is about (`codes.length`,
//! `operator.name.ru`, ...), all of them at once. `docs/operations.md`
//! ("Fitting tolom to your data") describes every key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use tolom_core::card::{BrandRange, BrandTable, CardBrand, Email};
use tolom_core::catalogue::Catalogue;
use tolom_core::checkdigit::{scheme_by_name, CheckDigitScheme, SCHEME_NAMES};
use tolom_core::code::{CodeFormat, ServiceFamily};
use tolom_core::i18n::{Language, LocalizedText};
use tolom_core::receipt::Operator;

/// The shortest code length `codes.length` takes.
pub const MIN_CODE_LENGTH: usize = 6;
/// The longest code length `codes.length` takes.
pub const MAX_CODE_LENGTH: usize = 40;
/// The fewest random digits a code keeps besides its prefix and check
/// digits: issuing draws serials at random, and a million per prefix keeps
/// codes hard to guess and a draw rarely taken.
pub const MIN_SERIAL_DIGITS: usize = 6;
/// The longest prefix, in digits.
pub const MAX_PREFIX_DIGITS: usize = 8;
/// The longest operator name, in characters (it is signed on receipts).
pub const MAX_NAME_CHARS: usize = 200;
/// The longest operator address, in characters.
pub const MAX_ADDRESS_CHARS: usize = 300;

/// The service families, with their configuration keys, in order.
pub const FAMILIES: [(ServiceFamily, &str); 3] = [
    (ServiceFamily::Passport, "passport"),
    (ServiceFamily::DrivingLicence, "driving_licence"),
    (ServiceFamily::MekenCard, "meken_card"),
];

/// The configuration key of a family (`passport`, `driving_licence`,
/// `meken_card`).
pub fn family_key(family: ServiceFamily) -> &'static str {
    FAMILIES
        .iter()
        .find(|(f, _)| *f == family)
        .map(|(_, k)| *k)
        .unwrap_or("?")
}

/// `[codes]`: the shape of payment codes.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CodesSection {
    /// Digits in a code, check digits included (default 12;
    /// [`MIN_CODE_LENGTH`]..=[`MAX_CODE_LENGTH`]).
    pub length: Option<u32>,
    /// The check-digit scheme: `damm` (default), `luhn`, `mod97-10`,
    /// `gis-gmp` or `none`.
    pub check: Option<String>,
    /// `[codes.prefixes]`: the prefixes of each service family (default
    /// passport `11`, driving licence `16`, Meken-card `13`). When given,
    /// it replaces the default whole.
    pub prefixes: Option<PrefixesSection>,
}

/// `[codes.prefixes]`: each family's prefixes. New codes get the first;
/// codes with any of them are accepted.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PrefixesSection {
    /// ID card and passport.
    pub passport: Option<Vec<String>>,
    /// Driving licences.
    pub driving_licence: Option<Vec<String>>,
    /// The Meken-card.
    pub meken_card: Option<Vec<String>>,
}

/// A text in Kyrgyz, Russian and English, as written in the file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LanguagesSection {
    /// Kyrgyz.
    pub ky: Option<String>,
    /// Russian.
    pub ru: Option<String>,
    /// English.
    pub en: Option<String>,
}

/// `[operator]`: who runs the site, shown on every page, receipt and
/// e-mail. Without the section, the state payment site's operator.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OperatorSection {
    /// `[operator.name]`: `ky`, `ru`, `en` (signed on receipts).
    pub name: Option<LanguagesSection>,
    /// `[operator.address]`: `ky`, `ru`, `en`.
    pub address: Option<LanguagesSection>,
    /// Support telephone, e.g. `+996 312 000 000` or a short number.
    pub phone: Option<String>,
    /// Support e-mail address.
    pub email: Option<String>,
    /// The operator's web site (default `server.public_url`).
    pub website: Option<String>,
}

/// The card brands tolom knows, by their configuration ids.
pub const BRANDS: [CardBrand; 6] = [
    CardBrand::Visa,
    CardBrand::Mastercard,
    CardBrand::Maestro,
    CardBrand::UnionPay,
    CardBrand::Mir,
    CardBrand::Elcart,
];

/// `[cards]`: the cards the site accepts.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CardsSection {
    /// The brands accepted (default: every brand of the table): `visa`,
    /// `mastercard`, `maestro`, `union_pay`, `mir`, `elcart`.
    pub brands: Option<Vec<String>>,
    /// `[[cards.ranges]]`: the brands' number ranges, matched in order;
    /// when given they replace the built-in table whole.
    pub ranges: Option<Vec<RangeSection>>,
}

/// `[[cards.ranges]]`: one range of card numbers of a brand.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeSection {
    /// The brand (`elcart`, ...).
    pub brand: String,
    /// The lowest leading digits, e.g. `"9417"` or `"2221"` (1 to 8
    /// digits).
    pub from: String,
    /// The highest leading digits, as many as `from` (default: `from`).
    pub to: Option<String>,
    /// The card number lengths of the range (12 to 19).
    pub lengths: Vec<u8>,
    /// Whether numbers must pass the Luhn check (default `true`).
    pub luhn: Option<bool>,
}

/// What the file fits: the core's code format, operator, cards and
/// catalogue, checked, with what `config show` prints of them.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The shape of codes.
    pub code_format: CodeFormat,
    /// Each family's prefixes as configured (the first is issued).
    pub prefixes: Vec<(ServiceFamily, Vec<String>)>,
    /// Who runs the site.
    pub operator: Operator,
    /// Whether `[operator]` was left out (the state site's operator).
    pub operator_is_default: bool,
    /// The card ranges accepted, in the order they are matched.
    pub brands: BrandTable,
    /// Services and tariffs.
    pub catalogue: Catalogue,
    /// The catalogue file, if not the built-in catalogue.
    pub catalogue_file: Option<PathBuf>,
}

impl Default for Fitted {
    fn default() -> Self {
        Fitted {
            code_format: CodeFormat::default(),
            prefixes: default_prefixes(),
            operator: Operator::default(),
            operator_is_default: true,
            brands: BrandTable::default(),
            catalogue: Catalogue::kyrgyz_default(),
            catalogue_file: None,
        }
    }
}

fn default_prefixes() -> Vec<(ServiceFamily, Vec<String>)> {
    vec![
        (ServiceFamily::Passport, vec!["11".into()]),
        (ServiceFamily::DrivingLicence, vec!["16".into()]),
        (ServiceFamily::MekenCard, vec!["13".into()]),
    ]
}

/// The problems found, each naming its key.
#[derive(Debug, Default)]
struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, p: impl Into<String>) {
        self.0.push(p.into());
    }
}

/// Checks the sections and builds what they fit; every problem found, each
/// naming its key, when any is wrong. `public_url` is the website's
/// default.
pub fn fit(
    codes: &CodesSection,
    operator: Option<&OperatorSection>,
    cards: &CardsSection,
    catalogue_file: Option<&Path>,
    public_url: Option<&str>,
) -> Result<Fitted, Vec<String>> {
    let mut problems = Problems::default();
    let format = fit_codes(codes, &mut problems);
    let operator_fitted = operator.map(|o| fit_operator(o, public_url, &mut problems));
    let brands = fit_cards(cards, &mut problems);
    let catalogue = fit_catalogue(catalogue_file, &mut problems);
    if let (Some((_, prefixes)), Some(catalogue)) = (&format, &catalogue) {
        for s in catalogue.services() {
            if !prefixes.iter().any(|(f, _)| *f == s.family) {
                problems.push(format!(
                    "catalogue: service {} is of the family {}, which codes.prefixes gives no \
                     prefix: add codes.prefixes.{} or take the service out of the catalogue file",
                    s.id,
                    family_key(s.family),
                    family_key(s.family)
                ));
            }
        }
    }
    match (format, operator_fitted, brands, catalogue) {
        (Some((code_format, prefixes)), operator, Some(brands), Some(catalogue))
            if problems.0.is_empty() =>
        {
            Ok(Fitted {
                code_format,
                prefixes,
                operator_is_default: operator.is_none(),
                operator: operator.flatten().unwrap_or_default(),
                brands,
                catalogue,
                catalogue_file: catalogue_file.map(Path::to_path_buf),
            })
        }
        _ => Err(problems.0),
    }
}

type FittedCodes = (CodeFormat, Vec<(ServiceFamily, Vec<String>)>);

fn fit_codes(c: &CodesSection, problems: &mut Problems) -> Option<FittedCodes> {
    let before = problems.0.len();
    let length = match c.length {
        None => 12,
        Some(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if !(MIN_CODE_LENGTH..=MAX_CODE_LENGTH).contains(&n) {
                problems.push(format!(
                    "codes.length = {n}: a code has {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH} digits"
                ));
            }
            n
        }
    };
    let scheme: Option<Arc<dyn CheckDigitScheme>> = match c.check.as_deref() {
        None => scheme_by_name("damm"),
        Some(name) => {
            let found = scheme_by_name(name.trim());
            if found.is_none() {
                problems.push(format!(
                    "codes.check = {name:?}: not a check-digit scheme tolom knows; use one of {}",
                    SCHEME_NAMES.join(", ")
                ));
            }
            found
        }
    };
    let prefixes: Vec<(ServiceFamily, Vec<String>)> = match &c.prefixes {
        None => default_prefixes(),
        Some(p) => [
            (ServiceFamily::Passport, &p.passport),
            (ServiceFamily::DrivingLicence, &p.driving_licence),
            (ServiceFamily::MekenCard, &p.meken_card),
        ]
        .into_iter()
        .filter_map(|(f, list)| list.as_ref().map(|l| (f, l.clone())))
        .collect(),
    };
    if prefixes.is_empty() {
        problems.push(
            "codes.prefixes: no family has a prefix; give at least one of passport, \
             driving_licence, meken_card",
        );
    }
    let check_len = scheme.as_ref().map_or(0, |s| s.check_len());
    let mut all: Vec<(&str, ServiceFamily)> = Vec::new();
    for (family, list) in &prefixes {
        let key = format!("codes.prefixes.{}", family_key(*family));
        if list.is_empty() {
            problems.push(format!(
                "{key} = []: a family given has at least one prefix (leave the family out instead)"
            ));
        }
        for p in list {
            if p.is_empty() || p.len() > MAX_PREFIX_DIGITS || !p.bytes().all(|b| b.is_ascii_digit())
            {
                problems.push(format!(
                    "{key}: {p:?} is not a prefix: 1 to {MAX_PREFIX_DIGITS} digits"
                ));
                continue;
            }
            if p.len() + check_len >= length {
                problems.push(format!(
                    "{key}: {p:?} is longer than a {length}-digit code leaves room for \
                     ({check_len} check digit(s) at the end)"
                ));
            } else if length - p.len() - check_len < MIN_SERIAL_DIGITS {
                problems.push(format!(
                    "{key}: {p:?} leaves {} random digits in a {length}-digit code with \
                     {check_len} check digit(s); at least {MIN_SERIAL_DIGITS} are needed \
                     (a shorter prefix or a longer codes.length)",
                    length - p.len() - check_len
                ));
            }
            all.push((p.as_str(), *family));
        }
    }
    for (i, (a, fa)) in all.iter().enumerate() {
        for (b, fb) in all.iter().skip(i + 1) {
            if a == b {
                problems.push(if fa == fb {
                    format!("codes.prefixes.{}: {a:?} is given twice", family_key(*fa))
                } else {
                    format!(
                        "codes.prefixes: {a:?} is given for both {} and {}: a code's prefix \
                         tells its family",
                        family_key(*fa),
                        family_key(*fb)
                    )
                });
            } else if b.starts_with(a) || a.starts_with(b) {
                let (short, fs, long, fl) = if a.len() < b.len() {
                    (a, fa, b, fb)
                } else {
                    (b, fb, a, fa)
                };
                problems.push(format!(
                    "codes.prefixes: {short:?} ({}) is the start of {long:?} ({}): a code \
                     starting {long} would match both; no prefix may begin another",
                    family_key(*fs),
                    family_key(*fl)
                ));
            }
        }
    }
    if problems.0.len() > before {
        return None;
    }
    let scheme = scheme?;
    let pairs = prefixes
        .iter()
        .flat_map(|(f, list)| list.iter().map(move |p| (p.clone(), *f)))
        .collect();
    match CodeFormat::new(length, pairs, scheme) {
        Ok(format) => Some((format, prefixes)),
        Err(e) => {
            problems.push(format!("codes: {e}"));
            None
        }
    }
}

/// One line of text: no control characters, not blank, at most `max`
/// characters.
fn line_problem(value: &str, max: usize) -> Option<String> {
    if value.trim().is_empty() {
        Some("is empty".into())
    } else if value.chars().count() > max {
        Some(format!("is longer than {max} characters"))
    } else if value.chars().any(char::is_control) {
        Some("has a line break or another control character".into())
    } else {
        None
    }
}

fn languages(
    key: &str,
    given: Option<&LanguagesSection>,
    max: usize,
    problems: &mut Problems,
) -> Option<LocalizedText> {
    let Some(given) = given else {
        problems.push(format!(
            "{key} is missing: [{key}] with ky, ru and en (it is shown in each language)"
        ));
        return None;
    };
    let mut out = Vec::new();
    for (lang, value) in [
        (Language::Ky, &given.ky),
        (Language::Ru, &given.ru),
        (Language::En, &given.en),
    ] {
        match value {
            None => problems.push(format!(
                "{key}.{} is missing: {key} is shown in Kyrgyz, Russian and English",
                lang.tag()
            )),
            Some(v) => match line_problem(v, max) {
                Some(p) => problems.push(format!("{key}.{} {p}", lang.tag())),
                None => out.push(v.trim().to_string()),
            },
        }
    }
    match <[String; 3]>::try_from(out) {
        Ok([ky, ru, en]) => Some(LocalizedText::new(ky, ru, en)),
        Err(_) => None,
    }
}

/// A support telephone: `+` first or not at all, then digits with spaces,
/// dashes and parentheses; 3 (a short number) to 15 digits (E.164).
fn phone_ok(p: &str) -> bool {
    let body = p.trim().strip_prefix('+').unwrap_or(p.trim());
    let digits = body.bytes().filter(u8::is_ascii_digit).count();
    (3..=15).contains(&digits)
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || b" -()".contains(&b))
}

fn fit_operator(
    o: &OperatorSection,
    public_url: Option<&str>,
    problems: &mut Problems,
) -> Option<Operator> {
    let before = problems.0.len();
    let name = languages("operator.name", o.name.as_ref(), MAX_NAME_CHARS, problems);
    let address = languages(
        "operator.address",
        o.address.as_ref(),
        MAX_ADDRESS_CHARS,
        problems,
    );
    let phone = match o.phone.as_deref() {
        None => {
            problems.push("operator.phone is missing: the support telephone payers call");
            None
        }
        Some(p) if !phone_ok(p) => {
            problems.push(format!(
                "operator.phone = {p:?}: digits with spaces, dashes or parentheses, \
                 optionally + first; 3 to 15 digits"
            ));
            None
        }
        Some(p) => Some(p.trim().to_string()),
    };
    let email = match o.email.as_deref() {
        None => {
            problems.push("operator.email is missing: the support address payers write to");
            None
        }
        Some(e) => match Email::parse(e) {
            Some(e) => Some(e.as_str().to_string()),
            None => {
                problems.push(format!("operator.email = {e:?} is not an e-mail address"));
                None
            }
        },
    };
    let website = match o.website.as_deref().or(public_url) {
        None => {
            problems.push(
                "operator.website is missing, and server.public_url is not set either: \
                 the address shown on pages and receipts",
            );
            None
        }
        Some(w) => match url::Url::parse(w.trim()) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.host_str().is_some() => {
                Some(w.trim().trim_end_matches('/').to_string())
            }
            _ => {
                let key = if o.website.is_some() {
                    "operator.website"
                } else {
                    "server.public_url (the default of operator.website)"
                };
                problems.push(format!(
                    "{key} = {w:?} is not an http(s) address such as https://pay.example.kg"
                ));
                None
            }
        },
    };
    if problems.0.len() > before {
        return None;
    }
    Some(Operator {
        name: name?,
        address: address?,
        email: email?,
        phone: phone?,
        website: website?,
    })
}

fn brand_by_id(id: &str) -> Option<CardBrand> {
    BRANDS.into_iter().find(|b| b.id() == id)
}

fn brand_ids() -> String {
    BRANDS.map(|b| b.id()).join(", ")
}

/// Leading digits of a range: 1 to 8 digits.
fn leading_digits(s: &str) -> Option<u32> {
    (!s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn fit_cards(c: &CardsSection, problems: &mut Problems) -> Option<BrandTable> {
    let before = problems.0.len();
    let accepted: Option<Vec<CardBrand>> = c.brands.as_ref().map(|list| {
        if list.is_empty() {
            problems.push(
                "cards.brands = []: no card could pay; leave the key out to accept every brand",
            );
        }
        let mut out = Vec::new();
        for id in list {
            match brand_by_id(id) {
                None => problems.push(format!(
                    "cards.brands: {id:?} is not a brand tolom knows; use {}",
                    brand_ids()
                )),
                Some(b) if out.contains(&b) => {
                    problems.push(format!("cards.brands: {id:?} is given twice"))
                }
                Some(b) => out.push(b),
            }
        }
        out
    });
    let ranges: Vec<BrandRange> = match &c.ranges {
        None => BrandTable::default().ranges().to_vec(),
        Some(list) => {
            if list.is_empty() {
                problems.push(
                    "cards.ranges = []: no card could pay; leave the key out for the built-in ranges",
                );
            }
            let mut out = Vec::new();
            for (i, r) in list.iter().enumerate() {
                let key = format!("cards.ranges[{}]", i + 1);
                let brand = brand_by_id(&r.brand);
                if brand.is_none() {
                    problems.push(format!(
                        "{key}.brand = {:?}: not a brand tolom knows; use {}",
                        r.brand,
                        brand_ids()
                    ));
                }
                if let (Some(b), Some(accepted)) = (brand, &accepted) {
                    if !accepted.contains(&b) {
                        problems.push(format!(
                            "{key}.brand = {:?} is not in cards.brands: add it there or drop the range",
                            r.brand
                        ));
                    }
                }
                let to_text = r.to.as_deref().unwrap_or(&r.from);
                let from = leading_digits(&r.from);
                let to = leading_digits(to_text);
                if from.is_none() {
                    problems.push(format!("{key}.from = {:?}: 1 to 8 digits", r.from));
                }
                if to.is_none() {
                    problems.push(format!("{key}.to = {to_text:?}: 1 to 8 digits"));
                }
                if let (Some(f), Some(t)) = (from, to) {
                    if to_text.len() != r.from.len() {
                        problems.push(format!(
                            "{key}: from {:?} and to {to_text:?} have different numbers of digits",
                            r.from
                        ));
                    } else if f > t {
                        problems.push(format!("{key}: from {:?} is above to {to_text:?}", r.from));
                    }
                }
                if r.lengths.is_empty() {
                    problems.push(format!("{key}.lengths = []: give the card number lengths"));
                }
                for n in &r.lengths {
                    if !(12..=19).contains(n) {
                        problems.push(format!(
                            "{key}.lengths: {n} is not a card number length (12 to 19)"
                        ));
                    }
                }
                if let (Some(brand), Some(from), Some(to)) = (brand, from, to) {
                    let mut lengths = r.lengths.clone();
                    lengths.sort_unstable();
                    lengths.dedup();
                    out.push(BrandRange {
                        brand,
                        from,
                        to,
                        prefix_len: u8::try_from(r.from.len()).unwrap_or(u8::MAX),
                        lengths,
                        luhn: r.luhn.unwrap_or(true),
                    });
                }
            }
            out
        }
    };
    let kept: Vec<BrandRange> = ranges
        .into_iter()
        .filter(|r| accepted.as_ref().is_none_or(|a| a.contains(&r.brand)))
        .collect();
    if let Some(accepted) = &accepted {
        for b in accepted {
            if c.ranges.is_some() && !kept.iter().any(|r| r.brand == *b) {
                problems.push(format!(
                    "cards.brands: {:?} has no range in cards.ranges: no card of it could pay",
                    b.id()
                ));
            }
        }
    }
    if problems.0.len() > before {
        return None;
    }
    Some(BrandTable::new(kept))
}

fn fit_catalogue(file: Option<&Path>, problems: &mut Problems) -> Option<Catalogue> {
    let Some(path) = file else {
        return Some(Catalogue::kyrgyz_default());
    };
    let shown = path.display();
    let json = match std::fs::read_to_string(path) {
        Ok(j) => j,
        Err(e) => {
            problems.push(format!("catalogue_file = \"{shown}\": cannot read it: {e}"));
            return None;
        }
    };
    let catalogue = match Catalogue::from_json(&json) {
        Ok(c) => c,
        Err(e) => {
            problems.push(format!("catalogue_file = \"{shown}\": {e}"));
            return None;
        }
    };
    let before = problems.0.len();
    if catalogue.services().is_empty() {
        problems.push(format!("catalogue_file = \"{shown}\": no service"));
    }
    for s in catalogue.services() {
        if s.id.trim().is_empty() || s.id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            problems.push(format!(
                "catalogue_file = \"{shown}\": service id {:?} is empty or has spaces",
                s.id
            ));
        }
        for lang in Language::ALL {
            if let Some(p) = line_problem(s.name.get(lang), MAX_NAME_CHARS) {
                problems.push(format!(
                    "catalogue_file = \"{shown}\": the name of {} in {} {p}",
                    s.id,
                    lang.tag()
                ));
            }
        }
        for t in catalogue.tariffs_of(&s.id) {
            if t.total().is_ok_and(|m| m.is_zero()) {
                problems.push(format!(
                    "catalogue_file = \"{shown}\": tariff {}/{} adds up to 0",
                    s.id, t.urgency
                ));
            }
            for lang in Language::ALL {
                if let Some(p) = line_problem(t.name.get(lang), MAX_NAME_CHARS) {
                    problems.push(format!(
                        "catalogue_file = \"{shown}\": the name of tariff {}/{} in {} {p}",
                        s.id,
                        t.urgency,
                        lang.tag()
                    ));
                }
            }
        }
    }
    (problems.0.len() == before).then_some(catalogue)
}

impl Fitted {
    /// What `config show` prints of it: one `key value` pair a line.
    pub fn show(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let f = &self.code_format;
        out.push(("codes.length".into(), f.length().to_string()));
        out.push((
            "codes.check".into(),
            format!(
                "{} ({} check digit(s))",
                f.scheme().name(),
                f.scheme().check_len()
            ),
        ));
        for (family, list) in &self.prefixes {
            let serials = f
                .serials(*family)
                .map(|n| format!("{n}"))
                .unwrap_or_else(|| "more than 10^38".into());
            out.push((
                format!("codes.prefixes.{}", family_key(*family)),
                format!(
                    "{} (new codes: {}…, {serials} codes each)",
                    list.join(", "),
                    list.first().map(String::as_str).unwrap_or("")
                ),
            ));
        }
        let op = &self.operator;
        out.push((
            "operator".into(),
            if self.operator_is_default {
                "(default: the state payment site's operator; set [operator] for your own)".into()
            } else {
                "[operator]".into()
            },
        ));
        for lang in Language::ALL {
            out.push((
                format!("operator.name.{}", lang.tag()),
                op.name.get(lang).to_string(),
            ));
        }
        for lang in Language::ALL {
            out.push((
                format!("operator.address.{}", lang.tag()),
                op.address.get(lang).to_string(),
            ));
        }
        out.push(("operator.phone".into(), op.phone.clone()));
        out.push(("operator.email".into(), op.email.clone()));
        out.push(("operator.website".into(), op.website.clone()));
        let mut brands: Vec<&str> = Vec::new();
        for r in self.brands.ranges() {
            if !brands.contains(&r.brand.id()) {
                brands.push(r.brand.id());
            }
        }
        out.push(("cards.brands".into(), brands.join(", ")));
        for (i, r) in self.brands.ranges().iter().enumerate() {
            let width = usize::from(r.prefix_len);
            let digits = |n: u32| format!("{n:0width$}");
            out.push((
                format!("cards.ranges[{}]", i + 1),
                format!(
                    "{} {}{}, {} digits{}",
                    r.brand.id(),
                    digits(r.from),
                    if r.from == r.to {
                        String::new()
                    } else {
                        format!("–{}", digits(r.to))
                    },
                    r.lengths
                        .iter()
                        .map(u8::to_string)
                        .collect::<Vec<_>>()
                        .join("/"),
                    if r.luhn { ", Luhn" } else { "" }
                ),
            ));
        }
        out.push((
            "catalogue_file".into(),
            self.catalogue_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(built-in Kyrgyz catalogue)".into()),
        ));
        out.push((
            "catalogue.services".into(),
            self.catalogue
                .services()
                .iter()
                .map(|s| format!("{} ({})", s.id, family_key(s.family)))
                .collect::<Vec<_>>()
                .join(", "),
        ));
        let unpublished: Vec<String> = self
            .catalogue
            .unpublished()
            .map(|t| format!("{}/{}", t.service, t.urgency))
            .collect();
        out.push((
            "catalogue.unpublished".into(),
            if unpublished.is_empty() {
                "(none)".into()
            } else {
                format!(
                    "{} (no code is issued from them; a code that names one is shown \
                     \"fee not yet published\" and cannot be paid)",
                    unpublished.join(", ")
                )
            },
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;

    /// The file's sections fitted, as `Settings::load` does.
    fn fit_toml(toml_text: &str) -> Result<Fitted, Vec<String>> {
        let file: FileConfig =
            toml::from_str(toml_text).unwrap_or_else(|e| panic!("toml: {e}\n{toml_text}"));
        fit(
            &file.codes,
            file.operator.as_ref(),
            &file.cards,
            file.catalogue_file.as_deref(),
            file.server.public_url.as_deref(),
        )
    }

    /// The one problem of a file, which must name `key`.
    fn problem(toml_text: &str, key: &str) -> String {
        let problems = fit_toml(toml_text).err().unwrap_or_else(|| {
            panic!("accepted:\n{toml_text}");
        });
        assert!(
            problems.iter().any(|p| p.contains(key)),
            "no problem names {key}: {problems:?}"
        );
        problems.join("\n")
    }

    const OPERATOR: &str = r#"
[operator]
phone = "+996 312 000 000"
email = "help@pay.example.kg"
website = "https://pay.example.kg"
[operator.name]
ky = "Мисал ишканасы"
ru = "Предприятие «Пример»"
en = "Example enterprise"
[operator.address]
ky = "Бишкек ш., Мисал көч., 1"
ru = "г. Бишкек, ул. Примерная, 1"
en = "1 Example street, Bishkek"
"#;

    #[test]
    fn no_sections_is_the_state_sites_shape() {
        let f = fit_toml("").unwrap();
        assert_eq!(f.code_format.length(), 12);
        assert_eq!(f.code_format.scheme().name(), "damm");
        assert_eq!(
            f.code_format.prefix_of(ServiceFamily::DrivingLicence),
            Some("16")
        );
        assert!(f.operator_is_default);
        assert_eq!(f.operator, Operator::default());
        assert_eq!(f.catalogue.services().len(), 5);
    }

    #[test]
    fn every_scheme_and_several_prefixes_per_family() {
        for (scheme, length) in [
            ("damm", 10),
            ("luhn", 10),
            ("mod97-10", 18),
            ("gis-gmp", 20),
            ("gis-gmp", 25),
            ("none", 10),
        ] {
            let f = fit_toml(&format!(
                "[codes]\nlength = {length}\ncheck = \"{scheme}\"\n[codes.prefixes]\n\
                 passport = [\"11\", \"12\"]\ndriving_licence = [\"16\"]\nmeken_card = [\"13\"]\n"
            ))
            .unwrap_or_else(|p| panic!("{scheme}: {p:?}"));
            assert_eq!(f.code_format.length(), length);
            assert_eq!(f.code_format.scheme().name(), scheme);
            let issued = f.code_format.generate(ServiceFamily::Passport, 42).unwrap();
            assert!(issued.as_str().starts_with("11"), "new codes get the first");
            assert_eq!(f.code_format.parse(issued.as_str()), Ok(issued.clone()));
            // A code with the second prefix is a passport code too.
            let mut other = issued.as_str().to_string();
            other.replace_range(..2, "12");
            let payload = &other[..length - f.code_format.scheme().check_len()];
            let check = f.code_format.scheme().compute(payload.as_bytes());
            let other = format!("{payload}{}", String::from_utf8(check).unwrap());
            let parsed = f.code_format.parse(&other).unwrap();
            assert_eq!(
                f.code_format.family_of(&parsed),
                Some(ServiceFamily::Passport)
            );
        }
    }

    #[test]
    fn a_bad_scheme_is_refused_with_the_known_ones() {
        let p = problem("[codes]\ncheck = \"verhoeff\"\n", "codes.check");
        assert!(p.contains("\"verhoeff\""), "{p}");
        assert!(p.contains("damm, luhn, mod97-10, gis-gmp, none"), "{p}");
    }

    #[test]
    fn a_length_out_of_range_is_refused() {
        for n in [0, 5, 41, 1000] {
            let p = problem(&format!("[codes]\nlength = {n}\n"), "codes.length");
            assert!(p.contains("6 to 40"), "{p}");
        }
        // Negative is not a number of digits at all: refused by the parser.
        assert!(toml::from_str::<FileConfig>("[codes]\nlength = -12\n").is_err());
    }

    #[test]
    fn a_prefix_clash_between_families_is_refused() {
        let p = problem(
            "[codes.prefixes]\npassport = [\"1\"]\nmeken_card = [\"13\"]\n",
            "codes.prefixes",
        );
        assert!(
            p.contains("\"1\" (passport) is the start of \"13\" (meken_card)"),
            "{p}"
        );
        let p = problem(
            "[codes.prefixes]\npassport = [\"11\"]\ndriving_licence = [\"11\"]\n",
            "codes.prefixes",
        );
        assert!(p.contains("both passport and driving_licence"), "{p}");
        let p = problem(
            "[codes.prefixes]\npassport = [\"11\", \"11\"]\n",
            "codes.prefixes.passport",
        );
        assert!(p.contains("twice"), "{p}");
    }

    #[test]
    fn a_prefix_longer_than_the_code_or_leaving_too_few_digits_is_refused() {
        let p = problem(
            "[codes]\nlength = 8\n[codes.prefixes]\npassport = [\"12345678\"]\n",
            "codes.prefixes.passport",
        );
        assert!(p.contains("longer than a 8-digit code"), "{p}");
        let p = problem(
            "[codes]\nlength = 10\n[codes.prefixes]\npassport = [\"1234\"]\n",
            "codes.prefixes.passport",
        );
        assert!(p.contains("leaves 5 random digits"), "{p}");
        problem(
            "[codes.prefixes]\npassport = [\"1a\"]\n",
            "codes.prefixes.passport",
        );
        problem(
            "[codes.prefixes]\npassport = []\n",
            "codes.prefixes.passport",
        );
        problem("[codes.prefixes]\n", "codes.prefixes");
    }

    #[test]
    fn a_service_without_a_prefix_for_its_family_is_refused() {
        let p = problem(
            "[codes.prefixes]\npassport = [\"11\"]\nmeken_card = [\"13\"]\n",
            "codes.prefixes.driving_licence",
        );
        assert!(p.contains("driving-licence-national"), "{p}");
    }

    #[test]
    fn unknown_keys_are_refused_by_the_parser() {
        for text in [
            "[codes]\nlenght = 12\n",
            "[codes.prefixes]\nvisa = [\"4\"]\n",
            "[operator.name]\nkz = \"x\"\n",
        ] {
            let e = toml::from_str::<FileConfig>(text).unwrap_err();
            assert!(e.message().contains("unknown field"), "{text}: {e}");
        }
    }

    #[test]
    fn an_operator_in_each_language() {
        let f = fit_toml(OPERATOR).unwrap();
        assert!(!f.operator_is_default);
        assert_eq!(f.operator.name.get(Language::Ru), "Предприятие «Пример»");
        assert_eq!(
            f.operator.address.get(Language::Ky),
            "Бишкек ш., Мисал көч., 1"
        );
        assert_eq!(f.operator.phone, "+996 312 000 000");
        assert_eq!(f.operator.email, "help@pay.example.kg");
        assert_eq!(f.operator.website, "https://pay.example.kg");
        // The website defaults to the portal's address.
        let f = fit_toml(&format!(
            "{}\n[server]\npublic_url = \"https://portal.example.kg/\"\n",
            OPERATOR.replace("website = \"https://pay.example.kg\"\n", "")
        ))
        .unwrap();
        assert_eq!(f.operator.website, "https://portal.example.kg");
    }

    #[test]
    fn a_missing_language_or_field_of_the_operator_is_refused() {
        let p = problem(
            &OPERATOR.replace("ru = \"Предприятие «Пример»\"\n", ""),
            "operator.name.ru",
        );
        assert!(p.contains("Kyrgyz, Russian and English"), "{p}");
        problem(
            &OPERATOR.replace("en = \"1 Example street, Bishkek\"\n", ""),
            "operator.address.en",
        );
        problem(
            &OPERATOR.replace("ky = \"Мисал ишканасы\"", "ky = \"  \""),
            "operator.name.ky is empty",
        );
        problem(
            &OPERATOR.replace("ky = \"Мисал ишканасы\"", "ky = \"two\\nlines\""),
            "operator.name.ky has a line break",
        );
        problem(
            &OPERATOR.replace("phone = \"+996 312 000 000\"\n", ""),
            "operator.phone",
        );
        problem(
            &OPERATOR.replace("+996 312 000 000", "call us"),
            "operator.phone",
        );
        problem(
            &OPERATOR.replace("help@pay.example.kg", "help"),
            "operator.email",
        );
        problem(
            &OPERATOR.replace("https://pay.example.kg", "pay.example.kg"),
            "operator.website",
        );
        problem(
            &OPERATOR.replace("website = \"https://pay.example.kg\"\n", ""),
            "operator.website is missing",
        );
        let without_name = OPERATOR
            .split("[operator.name]")
            .next()
            .unwrap()
            .to_string()
            + "[operator.address]"
            + OPERATOR.split("[operator.address]").nth(1).unwrap();
        problem(&without_name, "operator.name is missing");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let problems = fit_toml(&format!(
            "[codes]\nlength = 3\ncheck = \"crc\"\n{}",
            OPERATOR.replace("help@pay.example.kg", "nope")
        ))
        .unwrap_err();
        for key in ["codes.length", "codes.check", "operator.email"] {
            assert!(
                problems.iter().any(|p| p.contains(key)),
                "{key}: {problems:?}"
            );
        }
    }

    #[test]
    fn a_catalogue_file_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("catalogue.json");
        let example = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/catalogue.example.json"
        ))
        .unwrap();
        std::fs::write(&good, &example).unwrap();
        let f = fit_toml(&format!(
            "catalogue_file = {:?}\n",
            good.display().to_string()
        ))
        .unwrap();
        assert_eq!(f.catalogue_file.as_deref(), Some(good.as_path()));
        assert!(f.catalogue.services().len() >= 3);

        let missing = dir.path().join("nope.json");
        let p = problem(
            &format!("catalogue_file = {:?}\n", missing.display().to_string()),
            "catalogue_file",
        );
        assert!(p.contains("cannot read"), "{p}");

        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, "{\"services\": [").unwrap();
        problem(
            &format!("catalogue_file = {:?}\n", broken.display().to_string()),
            "catalogue_file",
        );

        // A service of a family without a prefix.
        let p = problem(
            &format!(
                "catalogue_file = {:?}\n[codes.prefixes]\npassport = [\"11\"]\n",
                good.display().to_string()
            ),
            "codes.prefixes.",
        );
        assert!(p.contains("catalogue: service"), "{p}");
    }

    #[test]
    fn show_names_every_fitted_key() {
        let f = fit_toml(&format!(
            "[codes]\nlength = 10\ncheck = \"luhn\"\n{OPERATOR}"
        ))
        .unwrap();
        let shown = f.show();
        let keys: Vec<&str> = shown.iter().map(|(k, _)| k.as_str()).collect();
        for k in [
            "codes.length",
            "codes.check",
            "codes.prefixes.passport",
            "codes.prefixes.driving_licence",
            "codes.prefixes.meken_card",
            "operator.name.ky",
            "operator.name.ru",
            "operator.name.en",
            "operator.address.ky",
            "operator.phone",
            "operator.email",
            "operator.website",
            "catalogue_file",
            "catalogue.services",
            "catalogue.unpublished",
        ] {
            assert!(keys.contains(&k), "{k} not shown: {keys:?}");
        }
        let get = |k: &str| &shown.iter().find(|(key, _)| key == k).unwrap().1;
        assert_eq!(get("codes.length"), "10");
        assert!(get("codes.check").starts_with("luhn"));
        assert!(get("codes.prefixes.passport").contains("10000000 codes"));
        assert_eq!(get("operator.name.en"), "Example enterprise");
        assert!(get("catalogue.unpublished").contains("driving-licence-national/standard"));
    }

    #[test]
    fn the_built_in_card_table_by_default() {
        let f = fit_toml("").unwrap();
        assert_eq!(f.brands.ranges(), BrandTable::default().ranges());
    }

    #[test]
    fn accepted_brands_filter_the_table() {
        let f = fit_toml("[cards]\nbrands = [\"visa\", \"elcart\"]\n").unwrap();
        let brand = |pan: &str| f.brands.detect(pan).map(|r| r.brand);
        assert_eq!(brand("4111111111111111"), Some(CardBrand::Visa));
        assert_eq!(brand("9417000000000008"), Some(CardBrand::Elcart));
        assert_eq!(brand("5555555555554444"), None, "Mastercard not accepted");
        assert_eq!(brand("2200000000000004"), None, "Mir not accepted");
        let shown = f.show();
        let get = |k: &str| {
            shown
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("cards.brands").as_deref(), Some("elcart, visa"));
        assert_eq!(
            get("cards.ranges[1]").as_deref(),
            Some("elcart 9417, 16/19 digits")
        );
        assert_eq!(
            get("cards.ranges[2]").as_deref(),
            Some("visa 4, 13/16/19 digits, Luhn")
        );
    }

    #[test]
    fn ranges_replace_the_table() {
        let f = fit_toml(
            "[[cards.ranges]]\nbrand = \"elcart\"\nfrom = \"94170\"\nto = \"94172\"\n\
             lengths = [16]\nluhn = false\n\n[[cards.ranges]]\nbrand = \"visa\"\nfrom = \"4\"\n\
             lengths = [16, 13]\n",
        )
        .unwrap();
        let r = f.brands.ranges();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].from, r[0].to, r[0].prefix_len), (94170, 94172, 5));
        assert!(!r[0].luhn);
        assert_eq!(r[1].lengths, vec![13, 16], "sorted");
        assert!(r[1].luhn, "Luhn by default");
        assert_eq!(r[1].to, 4, "to defaults to from");
        let brand = |pan: &str| f.brands.detect(pan).map(|r| r.brand);
        assert_eq!(brand("9417100000000000"), Some(CardBrand::Elcart));
        assert_eq!(brand("9417300000000000"), None, "outside the sub-range");
        assert_eq!(brand("5555555555554444"), None);
        // A leading zero counts as a digit.
        let f = fit_toml("[[cards.ranges]]\nbrand = \"mir\"\nfrom = \"0220\"\nlengths = [16]\n")
            .unwrap();
        assert_eq!(f.brands.ranges()[0].prefix_len, 4);
    }

    #[test]
    fn wrong_card_settings_are_refused_naming_the_key() {
        let p = problem("[cards]\nbrands = [\"amex\"]\n", "cards.brands");
        assert!(
            p.contains("visa, mastercard, maestro, union_pay, mir, elcart"),
            "{p}"
        );
        problem("[cards]\nbrands = []\n", "cards.brands = []");
        problem("[cards]\nbrands = [\"visa\", \"visa\"]\n", "twice");
        let range = |body: &str| format!("[[cards.ranges]]\nbrand = \"elcart\"\n{body}");
        problem(
            &range("from = \"9418\"\nto = \"9417\"\nlengths = [16]\n"),
            "cards.ranges[1]: from",
        );
        problem(
            &range("from = \"9417\"\nto = \"94179\"\nlengths = [16]\n"),
            "different numbers of digits",
        );
        problem(
            &range("from = \"94x7\"\nlengths = [16]\n"),
            "cards.ranges[1].from",
        );
        problem(
            &range("from = \"123456789\"\nlengths = [16]\n"),
            "cards.ranges[1].from",
        );
        problem(
            &range("from = \"9417\"\nlengths = [20]\n"),
            "cards.ranges[1].lengths",
        );
        problem(
            &range("from = \"9417\"\nlengths = []\n"),
            "cards.ranges[1].lengths",
        );
        problem(
            "[[cards.ranges]]\nbrand = \"amex\"\nfrom = \"34\"\nlengths = [15]\n",
            "cards.ranges[1].brand",
        );
        problem(
            &format!(
                "[cards]\nbrands = [\"visa\"]\n{}",
                range("from = \"9417\"\nlengths = [16]\n")
            ),
            "is not in cards.brands",
        );
        problem(
            &format!(
                "[cards]\nbrands = [\"visa\", \"elcart\"]\n{}",
                range("from = \"9417\"\nlengths = [16]\n")
            ),
            "\"visa\" has no range",
        );
        problem("[cards]\nranges = []\n", "cards.ranges = []");
        let e = toml::from_str::<FileConfig>(
            "[[cards.ranges]]\nbrand = \"visa\"\nfrom = \"4\"\nlenghts = [16]\n",
        )
        .unwrap_err();
        assert!(e.message().contains("unknown field"), "{e}");
    }
}
