//! Writes into the audit chain inside a transaction: the operators'
//! [`AuditNote`]s, appended by the transaction of the action they record.
//! (Events enter the chain by the trigger `events_audit`, with their actor:
//! `migrations/0005_actors.sql`.)
//!
//! Every append goes through the SQL function `tolom_audit_append`
//! (`migrations/0004_ops.sql`), which locks the one-row chain head
//! `FOR UPDATE` until the transaction ends, so appends from any number of
//! instances form one chain.

use sqlx::PgConnection;
use tolom_core::audit::{AuditEntry, AuditNote};

use crate::error::Failure;
use crate::rows;

/// Appends `note` to the audit chain on `conn` (inside the caller's
/// transaction, or alone in autocommit): the chain head stays locked until
/// the transaction ends, so call it as the transaction's last statement.
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
