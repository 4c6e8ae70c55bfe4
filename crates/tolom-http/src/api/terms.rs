//! `GET /terms`: the user agreement in force and every edition.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tolom_core::i18n::Text;

use crate::api::error::ApiError;
use crate::security::Ctx;
use crate::state::AppState;

/// `GET /terms`: the edition in force (its text in the caller's language)
/// and every edition.
pub(crate) async fn terms(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<Json<Value>, ApiError> {
    let (current, editions) = match (
        state.tolom.terms_in_force().await,
        state.tolom.terms_editions().await,
    ) {
        (Ok(c), Ok(e)) => (c, e),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "terms");
            return Err(ApiError::new(Text::ServiceUnavailable, ctx.lang));
        }
    };
    let list: Vec<Value> = editions
        .iter()
        .map(|e| json!({"id": e.id, "effective_at": e.effective_at, "last_changed": e.last_changed, "in_force": e.id == current.id}))
        .collect();
    Ok(Json(json!({
        "in_force": {
            "id": current.id,
            "effective_at": current.effective_at,
            "last_changed": current.last_changed,
            "language": ctx.lang,
            "text": current.text(ctx.lang),
        },
        "editions": list,
    })))
}
