//! Writes into the event log and the audit chain inside a write
//! transaction, shared by the ports: every event written through the
//! storage ports and every operator's [`AuditNote`] is appended in the same
//! transaction as the change it records (the
//! [`OpsStore`](tolom_core::ports::OpsStore) contract).
//!
//! A write gathers them in [`Records`], encoded before it reaches the
//! writer, and [`Records::write`] inserts them with one statement per
//! table (a multi-row `INSERT`). The single writer with `BEGIN IMMEDIATE`
//! serialises appends: the head of the chain is read once per transaction
//! (`WriteTx::audit_head`, under the write lock, so it is the real head)
//! and followed in memory by the jobs of the batch, so two entries never
//! get the same `seq` or link to the same predecessor. A job rolled back to
//! its savepoint puts the head back where it was (`writer.rs`).
//!
//! This module depends on [`crate::rows`], [`crate::error`] and
//! [`crate::writer`] only; the port modules import it, and it imports none
//! of them.

use chrono::{DateTime, Utc};
use tolom_core::audit::{AuditEntry, AuditNote};
use tolom_core::events::Event;
use tolom_core::ports::{InvariantKind, StoreError};

use crate::error::map;
use crate::rows::{audit_from, id, to_json, ts, SqliteQuery, AUDIT_COLUMNS};
pub(crate) use crate::writer::WriteTx;

/// An entry to append to the audit chain: what its hash covers, and its
/// data as stored.
struct AuditInput {
    at: DateTime<Utc>,
    actor: String,
    action: &'static str,
    owned_action: Option<String>,
    subject: String,
    data: serde_json::Value,
    data_json: String,
}

/// An event as its row.
struct EventRow {
    id: String,
    at: String,
    charge_id: String,
    payment_id: Option<String>,
    kind: &'static str,
    actor: String,
    data: String,
}

/// The events and audit notes of one write, encoded, in order: each event
/// goes into the event log and the audit chain, each note into the chain.
#[derive(Default)]
pub(crate) struct Records {
    events: Vec<EventRow>,
    audit: Vec<AuditInput>,
}

impl Records {
    /// Nothing yet.
    pub(crate) fn new() -> Records {
        Records::default()
    }

    /// These events, in order.
    pub(crate) fn of_events(events: &[Event]) -> Result<Records, StoreError> {
        let mut r = Records {
            events: Vec::with_capacity(events.len()),
            audit: Vec::with_capacity(events.len()),
        };
        for e in events {
            r.event(e)?;
        }
        Ok(r)
    }

    /// Adds an event: to the event log, and to the audit chain with actor =
    /// the event's actor, action = its kind's stable name, subject = the
    /// payment id, or the charge id when there is no payment.
    pub(crate) fn event(&mut self, event: &Event) -> Result<(), StoreError> {
        let data = to_json(&event.data)?;
        self.events.push(EventRow {
            id: id(event.id),
            at: ts(event.at),
            charge_id: id(event.charge_id),
            payment_id: event.payment_id.map(id),
            kind: event.kind.as_str(),
            actor: event.actor.clone(),
            data: data.clone(),
        });
        self.audit.push(AuditInput {
            at: event.at,
            actor: event.actor.clone(),
            action: event.kind.as_str(),
            owned_action: None,
            subject: id(event.payment_id.unwrap_or(event.charge_id)),
            data: event.data.clone(),
            data_json: data,
        });
        Ok(())
    }

    /// Adds an operator's note to the audit chain.
    pub(crate) fn note(&mut self, note: &AuditNote) -> Result<(), StoreError> {
        self.audit.push(AuditInput {
            at: note.at,
            actor: note.actor.clone(),
            action: "",
            owned_action: Some(note.action.clone()),
            subject: note.subject.clone(),
            data_json: to_json(&note.data)?,
            data: note.data.clone(),
        });
        Ok(())
    }

    /// Adds these notes, in order.
    pub(crate) fn notes(&mut self, notes: &[AuditNote]) -> Result<(), StoreError> {
        for n in notes {
            self.note(n)?;
        }
        Ok(())
    }

    /// Rows this write changes when it is inserted (for a check of the
    /// rows affected of a statement that carries it).
    pub(crate) fn rows(&self) -> u64 {
        (self.events.len() + self.audit.len()) as u64
    }

    /// The statements inserting the events and the audit entries, with
    /// unnumbered parameters, the `first`-th on (so that they can follow
    /// other statements in one call); and the number of parameters they take.
    pub(crate) fn sql(&self, first: usize) -> (String, usize) {
        let mut sql = String::new();
        let mut next = first;
        if !self.events.is_empty() {
            sql.push_str(
                "INSERT INTO events (id, at, charge_id, payment_id, kind, actor, data) VALUES ",
            );
            sql.push_str(&placeholders(&mut next, 7, self.events.len()));
            sql.push_str("; ");
        }
        if !self.audit.is_empty() {
            sql.push_str(&format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES "));
            sql.push_str(&placeholders(&mut next, 8, self.audit.len()));
            sql.push_str("; ");
        }
        (sql, next - first)
    }

    /// Binds the parameters of [`Records::sql`] after those already bound,
    /// chaining the audit entries on `head` (the last entry of the chain,
    /// read with [`head`]); returns the new last entry.
    pub(crate) fn bind<'q>(
        self,
        mut q: SqliteQuery<'q>,
        head: Option<AuditEntry>,
    ) -> Result<(SqliteQuery<'q>, Option<AuditEntry>), StoreError> {
        for e in self.events {
            q = q
                .bind(e.id)
                .bind(e.at)
                .bind(e.charge_id)
                .bind(e.payment_id)
                .bind(e.kind)
                .bind(e.actor)
                .bind(e.data);
        }
        let mut last = head;
        for a in self.audit {
            let action = a.owned_action.as_deref().unwrap_or(a.action);
            let entry = AuditEntry::next(last.as_ref(), a.at, &a.actor, action, &a.subject, a.data);
            let seq = i64::try_from(entry.seq)
                .map_err(|_| StoreError::invariant(InvariantKind::Constraint, "audit log full"))?;
            q = q
                .bind(seq)
                .bind(ts(entry.at))
                .bind(entry.actor.clone())
                .bind(entry.action.clone())
                .bind(entry.subject.clone())
                .bind(a.data_json)
                .bind(entry.prev_hash.clone())
                .bind(entry.hash.clone());
            last = Some(entry);
        }
        Ok((q, last))
    }

    /// Inserts the events and appends the entries to the audit chain, in
    /// one call (two statements).
    pub(crate) async fn write(self, tx: &mut WriteTx) -> Result<(), StoreError> {
        if self.events.is_empty() && self.audit.is_empty() {
            return Ok(());
        }
        let head = head(tx).await?;
        let (sql, _) = self.sql(1);
        let (q, last) = self.bind(sqlx::query(&sql), head)?;
        q.execute(&mut **tx).await.map_err(map)?;
        // The head moves only once the entries are in.
        tx.audit_head = Some(last);
        Ok(())
    }
}

/// The last entry of the audit chain: as followed in this transaction, or
/// read (once per transaction, under the write lock).
pub(crate) async fn head(tx: &mut WriteTx) -> Result<Option<AuditEntry>, StoreError> {
    if let Some(head) = &tx.audit_head {
        return Ok(head.clone());
    }
    let head = sqlx::query(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1"
    ))
    .fetch_optional(&mut **tx)
    .await
    .map_err(map)?
    .as_ref()
    .map(audit_from)
    .transpose()?;
    tx.audit_head = Some(head.clone());
    Ok(head)
}

/// `rows` rows of `width` parameters each, `(?, ?), (?, ?)`, counted on
/// `next`. Statements sent together in one call take unnumbered
/// parameters, bound in order: sqlx numbers the `?NNN` of the second
/// statement of a call wrongly (it counts by the highest number, not the
/// parameters).
pub(crate) fn placeholders(next: &mut usize, width: usize, rows: usize) -> String {
    let mut out = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..width {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('?');
            *next += 1;
        }
        out.push(')');
    }
    out
}
