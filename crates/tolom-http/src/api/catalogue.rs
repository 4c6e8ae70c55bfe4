//! `GET /services`: the services catalogue with its tariffs. A tariff the
//! catalogue marks unpublished (a placeholder) is listed with
//! `"published": false`, no amount and the notice payers get for it
//! (`charge.fee_unpublished`): its placeholder is never shown as a fee.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tolom_core::i18n::{text, Text};

use crate::security::Ctx;
use crate::state::AppState;

/// `GET /services`.
pub(crate) async fn services(State(state): State<AppState>, ctx: Ctx) -> Json<Value> {
    let catalogue = &state.tolom.config().catalogue;
    let list: Vec<Value> = catalogue
        .services()
        .iter()
        .map(|s| {
            let tariffs: Vec<Value> = catalogue
                .tariffs_of(&s.id)
                .map(|t| {
                    if !t.published {
                        let notice = Text::ChargeFeeUnpublished;
                        return json!({
                            "urgency": t.urgency,
                            "name": t.name.get(ctx.lang),
                            "published": false,
                            "total": null,
                            "components": [],
                            "notice": {"code": notice.code(), "message": text(notice, ctx.lang)},
                        });
                    }
                    json!({
                        "urgency": t.urgency,
                        "name": t.name.get(ctx.lang),
                        "published": true,
                        "total": t.total().map(|m| m.amount().to_string()).ok(),
                        "components": t.components.iter().map(|c| json!({"label": c.label.get(ctx.lang), "amount": c.amount.to_string()})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({"id": s.id, "name": s.name.get(ctx.lang), "names": s.name, "tariffs": tariffs})
        })
        .collect();
    Json(json!({"services": list}))
}
