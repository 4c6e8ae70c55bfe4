//! What every page template shares: the [`Layout`] that
//! `templates/base.html` reads (language, title, the address for the
//! language switch, the operator), the [`Page`] trait that renders a
//! template with a status, and the values the form macros of
//! `templates/macros.html` take ([`Field`], [`Problem`], [`PaymentFacts`]).

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use tolom_core::i18n::{text, Language, LocalizedText, Text};
use tolom_core::payment::Payment;
use tolom_core::receipt::Operator;

use crate::facts::money;
use crate::security::Ctx;
use crate::state::AppState;

/// A text key as templates pass it: askama hands method arguments over by
/// reference, so `layout.t(…)` takes a [`Text`] behind any number of `&`.
pub(crate) trait TextKey {
    /// The key.
    fn key(&self) -> Text;
}

impl TextKey for Text {
    fn key(&self) -> Text {
        *self
    }
}

impl<T: TextKey + ?Sized> TextKey for &T {
    fn key(&self) -> Text {
        (**self).key()
    }
}

/// What the layout of every page needs.
pub(crate) struct Layout<'a> {
    /// The payer's language (`<html lang>`).
    pub lang: Language,
    /// The `<title>` and the `<h1>`.
    pub title: Cow<'static, str>,
    /// The address of this page (a GET), for the language switch.
    here: String,
    /// The operator, for the footer.
    pub operator: &'a Operator,
    /// Reload the page after this many seconds (a payment in flight).
    pub refresh: Option<u32>,
    /// Whether the page answers an error (a 4xx or 5xx status): its
    /// `<title>` then starts with "Error:". Set by [`Page::respond`].
    failed: AtomicBool,
    /// What went wrong, for the `<title>` of an error page (instead of the
    /// page's heading, which is only "Error").
    reason: Option<Cow<'static, str>>,
}

/// A link of the language switch.
pub(crate) struct LanguageLink {
    pub href: String,
    pub tag: &'static str,
    pub name: &'static str,
    pub current: bool,
}

impl<'a> Layout<'a> {
    /// The layout of a page titled `title` whose address is `here`.
    pub fn new(state: &'a AppState, ctx: &Ctx, title: Text, here: impl Into<String>) -> Layout<'a> {
        Layout {
            lang: ctx.lang,
            title: text(title, ctx.lang),
            here: here.into(),
            operator: &state.tolom.config().operator,
            refresh: None,
            failed: AtomicBool::new(false),
            reason: None,
        }
    }

    /// An error page's layout: titled "Error", and `reason` in its
    /// `<title>`.
    pub fn error(
        state: &'a AppState,
        ctx: &Ctx,
        reason: Text,
        here: impl Into<String>,
    ) -> Layout<'a> {
        Layout {
            reason: Some(text(reason, ctx.lang)),
            ..Layout::new(state, ctx, Text::ErrorHeading, here)
        }
    }

    /// The document's `<title>`: the page's heading and the site's name
    /// (the name alone when the heading is the name), after "Error:" on a
    /// page that answers an error, with what went wrong on an error page.
    pub fn document_title(&self) -> String {
        let site = text(Text::SiteName, self.lang);
        let heading = match &self.reason {
            Some(reason) => reason.trim_end_matches('.'),
            None => self.title.as_ref(),
        };
        let titled = if heading == site {
            site.into_owned()
        } else {
            format!("{heading} — {site}")
        };
        if self.failed.load(Ordering::Relaxed) {
            format!("{}: {titled}", text(Text::ErrorHeading, self.lang))
        } else {
            titled
        }
    }

    /// The text of `key` in the page's language.
    pub fn t(&self, key: impl TextKey) -> Cow<'static, str> {
        text(key.key(), self.lang)
    }

    /// The page's language of a text the operator or the catalogue gives
    /// in every language.
    pub fn pick<'t>(&self, t: &'t LocalizedText) -> &'t str {
        t.get(self.lang)
    }

    /// This page in every language.
    pub fn languages(&self) -> Vec<LanguageLink> {
        let sep = if self.here.contains('?') { '&' } else { '?' };
        Language::ALL
            .into_iter()
            .map(|l| LanguageLink {
                href: format!("{}{sep}lang={}", self.here, l.tag()),
                tag: l.tag(),
                name: l.native_name(),
                current: l == self.lang,
            })
            .collect()
    }
}

/// A page: a template with a [`Layout`].
pub(crate) trait Page: Template {
    /// The page's layout.
    fn layout(&self) -> &Layout<'_>;

    /// The rendered page with `status`. A template that fails to render (a
    /// value whose `Display` fails; none of ours does) is logged and
    /// answered with a plain 500.
    fn respond(&self, status: StatusCode) -> Response {
        self.layout().failed.store(
            status.is_client_error() || status.is_server_error(),
            Ordering::Relaxed,
        );
        match self.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "a page did not render");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    text(Text::InternalError, self.layout().lang).into_owned(),
                )
                    .into_response()
            }
        }
    }
}

/// A text input of a form (`ui::field` in `templates/macros.html`).
pub(crate) struct Field<'a> {
    /// `name` and `id`.
    pub name: &'static str,
    /// The label.
    pub label: Cow<'static, str>,
    /// The hint under the label.
    pub hint: Option<Cow<'static, str>>,
    /// The value to show (what the payer typed, after an error; never a
    /// card number or CVV).
    pub value: &'a str,
    /// The field's error.
    pub error: Option<Cow<'static, str>>,
    /// For a short field (CVV, expiry, one-time code): the most characters
    /// it takes (`maxlength`), and it is drawn narrow (`class="short"`).
    pub max_chars: Option<usize>,
}

impl<'a> Field<'a> {
    /// An empty field labelled `label` in `lang`.
    pub fn new(lang: Language, name: &'static str, label: Text) -> Field<'a> {
        Field {
            name,
            label: text(label, lang),
            hint: None,
            value: "",
            error: None,
            max_chars: None,
        }
    }

    /// A short field of at most `max` characters.
    pub fn short(self, max: usize) -> Field<'a> {
        Field {
            max_chars: Some(max),
            ..self
        }
    }

    /// With a hint.
    pub fn hint(self, hint: Option<Cow<'static, str>>) -> Field<'a> {
        Field { hint, ..self }
    }

    /// With a value.
    pub fn value(self, value: &'a str) -> Field<'a> {
        Field { value, ..self }
    }

    /// With an error.
    pub fn error(self, error: Option<Cow<'static, str>>) -> Field<'a> {
        Field { error, ..self }
    }

    /// The ids of the hint and the error, for `aria-describedby`.
    pub fn described_by(&self) -> Option<String> {
        let ids: Vec<String> = [
            self.hint.as_ref().map(|_| format!("{}-hint", self.name)),
            self.error.as_ref().map(|_| format!("{}-error", self.name)),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!ids.is_empty()).then(|| ids.join(" "))
    }
}

/// A line of a form's error summary: the field and what is wrong with it.
pub(crate) struct Problem {
    /// The field's id.
    pub field: &'static str,
    /// The message.
    pub message: Cow<'static, str>,
}

impl Problem {
    /// The summary of a form: its fields in error, in form order.
    pub fn of(fields: &[&Field<'_>]) -> Vec<Problem> {
        fields
            .iter()
            .filter_map(|f| {
                f.error.clone().map(|message| Problem {
                    field: f.name,
                    message,
                })
            })
            .collect()
    }
}

/// What is being paid (`ui::payment_facts`).
pub(crate) struct PaymentFacts {
    /// The payment code, grouped.
    pub code: String,
    /// The amount.
    pub amount: String,
    /// The fee.
    pub fee: String,
    /// Amount and fee.
    pub total: String,
}

impl PaymentFacts {
    /// The facts of a payment.
    pub fn of(p: &Payment) -> PaymentFacts {
        PaymentFacts {
            code: p.code().grouped(),
            amount: money(p.amount()),
            fee: money(p.fee()),
            total: money(p.total()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_points_screen_readers_at_its_hint_and_error() {
        let field = Field::new(Language::En, "pan", Text::CardPan);
        assert_eq!(field.described_by(), None);
        let field = field.hint(Some("hint".into())).error(Some("wrong".into()));
        assert_eq!(field.described_by().as_deref(), Some("pan-hint pan-error"));
    }
}
