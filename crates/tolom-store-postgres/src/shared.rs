//! What the port files share: the retry loop for statements and
//! transactions, the in-flight states as SQL, and appending an
//! [`AuditNote`] inside a transaction.

use std::future::Future;

use sqlx::PgConnection;
use tolom_core::audit::{AuditEntry, AuditNote};
use tolom_core::ports::StoreError;

use crate::error::Failure;
use crate::rows;

/// How often a statement or transaction that lost a deadlock or a
/// serialization check is run again before the call fails with
/// `Unavailable`.
pub(crate) const TX_ATTEMPTS: usize = 4;

/// The in-flight states, as stored (must match the partial index
/// `payments_one_in_flight`).
pub(crate) const IN_FLIGHT_SQL: &str = "('created', 'authorizing', 'action_required', 'unknown')";

/// Runs one attempt after another while the attempt asks for a retry
/// ([`Failure::Retry`]: a serialization failure or a deadlock, nothing
/// written); after [`TX_ATTEMPTS`] the call fails with the temporary
/// [`StoreError::Unavailable`].
pub(crate) async fn retry<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut last = String::new();
    for _ in 0..TX_ATTEMPTS {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(Failure::Store(e)) => return Err(e),
            Err(Failure::Retry(why)) => last = why,
        }
    }
    Err(StoreError::Unavailable(format!(
        "transaction aborted {TX_ATTEMPTS} times: {last}"
    )))
}

/// Appends `note` to the audit chain on `conn` (inside the caller's
/// transaction): `tolom_audit_append` locks the chain head until that
/// transaction ends, so call it as the transaction's last statement.
pub(crate) async fn append_note(
    conn: &mut PgConnection,
    note: &AuditNote,
) -> Result<AuditEntry, Failure> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM tolom_audit_append($1, $2, $3, $4, $5)",
        rows::AUDIT_COLUMNS
    ))
    .bind(note.at)
    .bind(&note.actor)
    .bind(&note.action)
    .bind(&note.subject)
    .bind(sqlx::types::Json(&note.data))
    .fetch_one(conn)
    .await?;
    Ok(rows::audit(&row)?)
}
