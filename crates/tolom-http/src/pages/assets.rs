//! The portal's static files: the stylesheet (screen and print) and the
//! two scripts (the bank redirect's auto-submit; the card form's guard
//! against the back/forward cache), all from `assets/`, cached for an hour.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../../assets/portal.css");
const AUTOSUBMIT_JS: &str = include_str!("../../assets/autosubmit.js");
const CARDFORM_JS: &str = include_str!("../../assets/cardform.js");

fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// `GET /static/portal.css`.
pub(crate) async fn stylesheet() -> Response {
    file("text/css; charset=utf-8", CSS)
}

/// `GET /static/autosubmit.js`.
pub(crate) async fn autosubmit() -> Response {
    file("text/javascript; charset=utf-8", AUTOSUBMIT_JS)
}

/// `GET /static/cardform.js`.
pub(crate) async fn cardform() -> Response {
    file("text/javascript; charset=utf-8", CARDFORM_JS)
}
