//! Writes into the audit chain inside a write transaction, shared by the
//! ports: every event written through the storage ports
//! ([`record_event`]) and every operator's [`AuditNote`] ([`record_note`])
//! is appended in the same transaction as the change it records (the
//! [`OpsStore`](tolom_core::ports::OpsStore) contract).
//!
//! The single writer connection with `BEGIN IMMEDIATE` serialises appends:
//! the last entry read in a transaction is still the last when it commits,
//! so two entries never get the same `seq` or link to the same predecessor.
//!
//! This module depends on [`crate::rows`] and [`crate::error`] only; the
//! port modules (`charges`, `payments`, `outbox`, `events`, `terms`, `ops`)
//! import it, and it imports none of them.

use sqlx::{Sqlite, Transaction};
use tolom_core::audit::{AuditEntry, AuditNote};
use tolom_core::events::Event;
use tolom_core::ports::{InvariantKind, StoreError};

use crate::error::map;
use crate::rows::{audit_from, id, to_json, ts, AUDIT_COLUMNS};

/// A write transaction on the writer connection.
pub(crate) type WriteTx = Transaction<'static, Sqlite>;

/// Appends one entry to the audit chain.
async fn append(
    tx: &mut WriteTx,
    at: chrono::DateTime<chrono::Utc>,
    actor: &str,
    action: &str,
    subject: &str,
    data: serde_json::Value,
) -> Result<AuditEntry, StoreError> {
    let last = sqlx::query(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1"
    ))
    .fetch_optional(&mut **tx)
    .await
    .map_err(map)?
    .as_ref()
    .map(audit_from)
    .transpose()?;
    let entry = AuditEntry::next(last.as_ref(), at, actor, action, subject, data);
    let seq = i64::try_from(entry.seq)
        .map_err(|_| StoreError::invariant(InvariantKind::Constraint, "audit log full"))?;
    sqlx::query(&format!(
        "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))
    .bind(seq)
    .bind(ts(entry.at))
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.subject)
    .bind(to_json(&entry.data)?)
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .execute(&mut **tx)
    .await
    .map_err(map)?;
    Ok(entry)
}

/// Appends an operator's note to the audit chain.
pub(crate) async fn record_note(
    tx: &mut WriteTx,
    note: &AuditNote,
) -> Result<AuditEntry, StoreError> {
    append(
        tx,
        note.at,
        &note.actor,
        &note.action,
        &note.subject,
        note.data.clone(),
    )
    .await
}

/// Appends an event to the event log and to the audit chain: actor = the
/// event's actor, action = its kind's stable name, subject = the payment
/// id, or the charge id when there is no payment.
pub(crate) async fn record_event(tx: &mut WriteTx, event: &Event) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO events (id, at, charge_id, payment_id, kind, actor, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(id(event.id))
    .bind(ts(event.at))
    .bind(id(event.charge_id))
    .bind(event.payment_id.map(id))
    .bind(event.kind.as_str())
    .bind(&event.actor)
    .bind(to_json(&event.data)?)
    .execute(&mut **tx)
    .await
    .map_err(map)?;
    let subject = id(event.payment_id.unwrap_or(event.charge_id));
    append(
        tx,
        event.at,
        &event.actor,
        event.kind.as_str(),
        &subject,
        event.data.clone(),
    )
    .await?;
    Ok(())
}

/// Appends several events, in order.
pub(crate) async fn record_events(tx: &mut WriteTx, events: &[Event]) -> Result<(), StoreError> {
    for event in events {
        record_event(tx, event).await?;
    }
    Ok(())
}
