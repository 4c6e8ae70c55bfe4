//! `GET /services`: the services a code can be issued for, with their
//! fees by urgency, from the catalogue (`Config::catalogue`) in the
//! payer's language. A fee the catalogue marks `published: false` (a
//! placeholder amount) is shown as not published, without the placeholder
//! (as `GET /api/v1/services` does). The amount a payer pays always comes
//! from the code's charge; this page explains it.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tolom_core::i18n::Text;

use crate::facts::money;
use crate::pages::layout::{Layout, Page};
use crate::security::Ctx;
use crate::state::AppState;

/// One service and its fees.
struct ServiceFees<'a> {
    /// The catalogue's id (the section's anchor).
    id: &'a str,
    name: &'a str,
    agency: Option<&'a str>,
    fees: Vec<Fee<'a>>,
}

/// One urgency's fee.
struct Fee<'a> {
    urgency: &'a str,
    /// The total; `None` for a fee that is not published (or parts that
    /// do not add up, never for a catalogue that loaded).
    total: Option<String>,
    /// The parts, when there is more than one: `(label, amount)`.
    parts: Vec<(&'a str, String)>,
    published: bool,
}

#[derive(Template)]
#[template(path = "services.html")]
struct ServicesPage<'a> {
    layout: Layout<'a>,
    services: Vec<ServiceFees<'a>>,
}

impl Page for ServicesPage<'_> {
    fn layout(&self) -> &Layout<'_> {
        &self.layout
    }
}

/// `GET /services`.
pub(crate) async fn services(State(state): State<AppState>, ctx: Ctx) -> Response {
    let layout = Layout::new(&state, &ctx, Text::ServicesHeading, "/services");
    let catalogue = &state.tolom.config().catalogue;
    let services = catalogue
        .services()
        .iter()
        .map(|s| ServiceFees {
            id: &s.id,
            name: layout.pick(&s.name),
            agency: s.agency.as_ref().map(|a| layout.pick(a)),
            fees: catalogue
                .tariffs_of(&s.id)
                .map(|t| Fee {
                    urgency: layout.pick(&t.name),
                    total: t.published.then(|| t.total().ok().map(money)).flatten(),
                    parts: if t.published && t.components.len() > 1 {
                        t.components
                            .iter()
                            .map(|c| {
                                let amount = tolom_core::money::Money::new(
                                    c.amount,
                                    tolom_core::money::Currency::KGS,
                                )
                                .map(money)
                                .unwrap_or_else(|_| c.amount.to_string());
                                (layout.pick(&c.label), amount)
                            })
                            .collect()
                    } else {
                        Vec::new()
                    },
                    published: t.published,
                })
                .collect(),
        })
        .collect();
    ServicesPage { layout, services }.respond(StatusCode::OK)
}
