//! Writes into the audit log inside a transaction: the operators'
//! [`AuditNote`]s, appended by the transaction of the action they record.
//! (Events enter it by the trigger `events_audit`, with their actor:
//! `migrations/0005_actors.sql`.)
//!
//! An append only inserts the entry into `audit_pending`
//! (`tolom_audit_append`, `migrations/0006_audit_sealing.sql`): it takes no
//! lock that another writer takes, so audited writes never wait for each
//! other. The entry joins the hash chain when the log is sealed
//! ([`seal`]: `tolom_audit_seal`, which only sealers lock).

use sqlx::PgConnection;
use tolom_core::audit::AuditNote;

use crate::error::Failure;

/// Appends `note` to the audit log on `conn` (inside the caller's
/// transaction, or alone in autocommit): it waits to be sealed.
pub(crate) async fn append_note(conn: &mut PgConnection, note: &AuditNote) -> Result<(), Failure> {
    sqlx::query("SELECT 1 FROM tolom_audit_append($1, $2, $3, $4, $5)")
        .bind(note.at)
        .bind(&note.actor)
        .bind(&note.action)
        .bind(&note.subject)
        .bind(sqlx::types::Json(&note.data))
        .execute(conn)
        .await?;
    Ok(())
}

/// Seals up to `max` pending entries into the chain (one transaction:
/// sealers take turns on the chain's head); returns how many.
pub(crate) async fn seal(conn: &mut PgConnection, max: usize) -> Result<u64, Failure> {
    let max = i32::try_from(max.max(1)).unwrap_or(i32::MAX);
    let n: i64 = sqlx::query_scalar("SELECT tolom_audit_seal($1)")
        .bind(max)
        .fetch_one(conn)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}
