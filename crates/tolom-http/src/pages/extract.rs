//! What every page handler repeats, as extractors that answer with a
//! translated page when they refuse:
//!
//! - [`CsrfForm<T>`]: a posted form whose `csrf` field matches the
//!   session's token (else `403 request.csrf`); the rest of the form is
//!   the `T` (a body that does not parse: `400 request.invalid`);
//! - [`PaymentId`]: the `{id}` of a payment address; anything but a UUID is
//!   the "page not found" page.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tolom_core::i18n::Text;
use uuid::Uuid;

use crate::pages::error::{error_page, not_found_page};
use crate::security::Ctx;
use crate::state::AppState;

/// A form posted by one of our pages, with a valid CSRF token.
pub(crate) struct CsrfForm<T>(pub T);

/// The posted fields: the token, and the form's own fields. Public for
/// `tolom-fuzz` only, through [`crate::fuzzing`].
#[derive(Deserialize)]
pub struct Posted<T> {
    /// The CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// The form's own fields.
    #[serde(flatten)]
    pub form: T,
}

/// The page a POST address belongs to (the one to show again in another
/// language when the post is refused).
fn form_page(path: &str) -> String {
    if path == "/lookup" {
        "/".to_string()
    } else if let Some(code) = path.strip_suffix("/start") {
        format!("{code}/terms")
    } else if let Some(code) = path
        .strip_suffix("/receipt")
        .filter(|p| p.starts_with("/pay/"))
    {
        code.to_string()
    } else if let Some(payment) = path.strip_suffix("/hosted") {
        format!("{payment}/card")
    } else {
        path.to_string()
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<CsrfForm<T>, Response> {
        let ctx = match req.extensions().get::<Ctx>() {
            Some(ctx) => ctx.clone(),
            None => return Err(axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        };
        let here = form_page(req.uri().path());
        let Ok(Form(posted)) = Form::<Posted<T>>::from_request(req, state).await else {
            return Err(error_page(state, &ctx, Text::RequestInvalid, &here));
        };
        if !ctx.csrf_matches(&posted.csrf) {
            return Err(error_page(state, &ctx, Text::RequestCsrf, &here));
        }
        Ok(CsrfForm(posted.form))
    }
}

/// The `{id}` of a payment address.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PaymentId(pub Uuid);

impl FromRequestParts<AppState> for PaymentId {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<PaymentId, Response> {
        let ctx = Ctx::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Uuid::parse_str(&id)
                .map(PaymentId)
                .map_err(|_| not_found_page(state, &ctx)),
            Err(_) => Err(not_found_page(state, &ctx)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_post_shows_its_form_page_again() {
        assert_eq!(form_page("/lookup"), "/");
        assert_eq!(form_page("/pay/110000000010/receipt"), "/pay/110000000010");
        assert_eq!(
            form_page("/pay/110000000010/start"),
            "/pay/110000000010/terms"
        );
        assert_eq!(form_page("/payments/x/card"), "/payments/x/card");
        assert_eq!(form_page("/payments/x/hosted"), "/payments/x/card");
    }
}
