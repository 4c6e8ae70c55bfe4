//! The server-rendered pages of the payment flow, one module per page, each
//! with its template in `templates/` (askama, checked at compile time,
//! autoescaped). Every form is a plain HTML form with a CSRF token; no page
//! needs JavaScript. Shared pieces: the [`layout`] of every page, the
//! [`extract`]ors every handler uses, where the flow goes next ([`flow`]),
//! the [`error`] pages and the agreement text ([`agreement`]).

pub(crate) mod agreement;
pub(crate) mod assets;
pub(crate) mod card;
pub(crate) mod charge;
pub(crate) mod confirm;
pub(crate) mod documents;
pub(crate) mod edition;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod flow;
pub(crate) mod home;
pub(crate) mod layout;
pub(crate) mod receipt;
pub(crate) mod redirect;
pub(crate) mod services;
pub(crate) mod status;
pub(crate) mod terms;
pub(crate) mod verify;
