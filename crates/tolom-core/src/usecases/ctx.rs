//! What every use case shares: the settings, the clock and the ids.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{AuditNote, SYSTEM_ACTOR};
use crate::events::{Event, EventKind};
use crate::payment::Payment;
use crate::ports::{Clock, IdGenerator, PaymentUpdate};

use super::Config;

/// The settings, the clock and the id generator.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) config: Arc<Config>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: Arc<dyn IdGenerator>,
}

impl Ctx {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn new_id(&self) -> Uuid {
        self.ids.new_id()
    }

    /// An event by tolom itself (payers' actions, background work).
    pub(crate) fn event(
        &self,
        charge_id: Uuid,
        payment_id: Option<Uuid>,
        kind: EventKind,
        data: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Event {
        self.event_by(SYSTEM_ACTOR, charge_id, payment_id, kind, data, now)
    }

    /// An event by `actor` (an operator's action).
    pub(crate) fn event_by(
        &self,
        actor: &str,
        charge_id: Uuid,
        payment_id: Option<Uuid>,
        kind: EventKind,
        data: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Event {
        Event {
            id: self.new_id(),
            at: now,
            charge_id,
            payment_id,
            kind,
            actor: actor.to_string(),
            data,
        }
    }
}

/// Audit notes to write with an action's first write — an operator's
/// request, recorded in the transaction of the change it asked for — and
/// whether they were written.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    list: Vec<AuditNote>,
    written: AtomicBool,
}

impl Notes {
    /// No notes.
    pub(crate) fn none() -> Notes {
        Notes::default()
    }

    /// These notes.
    pub(crate) fn of(list: Vec<AuditNote>) -> Notes {
        Notes {
            list,
            written: AtomicBool::new(false),
        }
    }

    /// The notes still to write (none once they were written).
    pub(crate) fn pending(&self) -> &[AuditNote] {
        if self.written.load(Ordering::SeqCst) {
            &[]
        } else {
            &self.list
        }
    }

    /// A write with [`Notes::pending`] committed.
    pub(crate) fn mark_written(&self) {
        self.written.store(true, Ordering::SeqCst);
    }

    /// Whether the notes were written.
    pub(crate) fn written(&self) -> bool {
        !self.list.is_empty() && self.written.load(Ordering::SeqCst)
    }
}

/// Whether an idempotency key is acceptable: 1–128 characters of
/// `A-Z a-z 0-9 - _ . :`.
pub(crate) fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A payment update that writes only the payment and its events.
pub(crate) fn update(payment: Payment, events: Vec<Event>) -> PaymentUpdate {
    PaymentUpdate {
        payment,
        charge: None,
        refund: None,
        events,
        outbox: Vec::new(),
        notes: Vec::new(),
    }
}
