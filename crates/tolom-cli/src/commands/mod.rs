//! One module per command; each is a thin mapping of its arguments onto
//! the core's use cases (the operator's, acting as the local user
//! `cli:<user>`), and of the result onto standard output.

use std::sync::Arc;

use tolom_core::access::Principal;
use tolom_core::money::{Currency, Money};
use tolom_core::usecases::Operator;
use tolom_core::Tolom;
use uuid::Uuid;

use crate::compose::{self, KeyPolicy, Mode, Needs};
use crate::config::Settings;
use crate::CliError;

pub mod audit;
pub mod codes;
pub mod config_cmd;
mod csv_file;
pub mod expire;
pub mod keys;
pub mod migrate;
pub mod outbox;
pub mod payments;
pub mod receipts;
pub mod reconcile;
pub mod refund;
pub mod report;
pub mod retention;
pub mod serve;
pub mod subject;
pub mod terms;
pub mod tokens;

/// The principal of command-line actions: the operating-system user
/// (`cli:<user>` in the audit log).
pub fn me() -> Principal {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    Principal::Local {
        user: local_user(user, std::env::var("SUDO_USER").ok()),
    }
}

/// Who a local command acts for: under `sudo` the person who ran it
/// (`alice (sudo)`), not `root`, so that the audit log names them.
fn local_user(user: String, sudo_user: Option<String>) -> String {
    match sudo_user.filter(|s| !s.trim().is_empty() && *s != user) {
        Some(person) => format!("{person} (sudo)"),
        None => user,
    }
}

/// The use cases of a command: production composition, signing key as the
/// command needs it.
pub(crate) async fn tolom(
    settings: &Settings,
    needs: Needs,
    keys: KeyPolicy,
) -> Result<Arc<Tolom>, CliError> {
    Ok(compose::compose(settings, Mode::Production, needs, keys)
        .await?
        .tolom)
}

/// The operator's use case of a composed [`Tolom`].
pub(crate) fn operator(tolom: &Tolom) -> Result<&Operator, CliError> {
    tolom.operator().map_err(|e| CliError::Usage(e.to_string()))
}

/// An amount in som.
pub(crate) fn money(s: &str) -> Result<Money, CliError> {
    Money::parse(s, Currency::KGS).map_err(|e| CliError::Usage(format!("amount {s:?}: {e}")))
}

/// A payment id.
pub(crate) fn payment_id(s: &str) -> Result<Uuid, CliError> {
    Uuid::parse_str(s.trim()).map_err(|_| CliError::Refused {
        code: "payment.not_found".into(),
        message: format!("{s:?} is not a payment id"),
    })
}

#[cfg(test)]
mod tests {
    use super::local_user;

    #[test]
    fn sudo_is_recorded_as_the_person_who_ran_it() {
        assert_eq!(
            local_user("root".into(), Some("alice".into())),
            "alice (sudo)"
        );
        assert_eq!(local_user("bob".into(), None), "bob");
        assert_eq!(local_user("root".into(), Some(String::new())), "root");
        assert_eq!(local_user("alice".into(), Some("alice".into())), "alice");
    }
}
