//! User-agreement editions.
//!
//! The edition in force at a moment is the latest one whose effective time
//! is not after it. Every payment records the edition the payer accepted.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::i18n::Language;

/// One published edition of the user agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsEdition {
    /// Stable id, e.g. `2024-05-01`. Payments refer to it.
    pub id: String,
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// When it takes effect (its publication, unless it says otherwise).
    pub effective_at: DateTime<Utc>,
    /// The "last changed" date shown with the text.
    pub last_changed: NaiveDate,
    /// The text in Kyrgyz (the original).
    pub text_ky: String,
    /// The text in Russian.
    pub text_ru: String,
    /// The text in English.
    pub text_en: String,
}

impl TermsEdition {
    /// The text in one language.
    pub fn text(&self, lang: Language) -> &str {
        match lang {
            Language::Ky => &self.text_ky,
            Language::Ru => &self.text_ru,
            Language::En => &self.text_en,
        }
    }

    /// The built-in first edition: the agreement of the state payment site
    /// (Kyrgyz original, Russian and English renderings).
    pub fn seed_edition() -> TermsEdition {
        let t = DateTime::parse_from_rfc3339("2024-01-01T00:00:00+06:00")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        TermsEdition {
            id: "2024-01-01".into(),
            published_at: t,
            effective_at: t,
            last_changed: crate::time::to_bishkek(t).date_naive(),
            text_ky: include_str!("../data/terms/ky.md").into(),
            text_ru: include_str!("../data/terms/ru.md").into(),
            text_en: include_str!("../data/terms/en.md").into(),
        }
    }
}

/// The edition in force at `at`: the latest whose effective time is not
/// after it (ties broken by publication time).
///
/// ```
/// use chrono::{Duration, Utc};
/// use tolom_core::terms::{in_force, TermsEdition};
/// let first = TermsEdition::seed_edition();
/// let mut second = first.clone();
/// second.id = "2027-01-01".into();
/// second.effective_at = first.effective_at + Duration::days(30);
/// let editions = [first.clone(), second.clone()];
/// assert_eq!(in_force(&editions, first.effective_at).unwrap().id, first.id);
/// assert_eq!(in_force(&editions, second.effective_at).unwrap().id, second.id);
/// ```
pub fn in_force(editions: &[TermsEdition], at: DateTime<Utc>) -> Option<&TermsEdition> {
    editions
        .iter()
        .filter(|e| e.effective_at <= at)
        .max_by_key(|e| (e.effective_at, e.published_at))
}
