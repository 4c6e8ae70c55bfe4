//! The tamper-evident audit log: entries chained by hashes, and the notes
//! that operator actions leave in it.
//!
//! Storage keeps the chain ([`crate::ports::OpsStore`]); every event and
//! every operator action is appended in the same transaction as the change
//! it records. A store may chain an entry when it is appended (SQLite, one
//! writer) or later, when the log is *sealed* in batches off the payment
//! path (PostgreSQL: appends never wait on one chain head); either way the
//! entries of the chain are those of the sealed log, and signed
//! [`checkpoint`]s anchor it outside the database.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub mod checkpoint;

/// The hash that starts the chain (the "previous hash" of entry 1).
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry of the audit log. Each entry's `hash` covers its content and
/// the previous entry's hash, so altering, inserting or deleting an entry
/// breaks the chain from that point on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who: `system`, `payer`, or an admin token's name, e.g. `token:ops-1`.
    pub actor: String,
    /// What, e.g. `payment.succeeded`, `admin.refund`, `token.created`.
    pub action: String,
    /// The object concerned (a charge, payment or token id, a code).
    pub subject: String,
    /// Details (never card data).
    pub data: serde_json::Value,
    /// Hash of the previous entry ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// `sha256(prev_hash | seq | at | actor | action | subject | data)`, hex.
    pub hash: String,
}

/// Computes an entry's hash from its fields and the previous hash.
pub fn audit_hash(
    prev_hash: &str,
    seq: u64,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    subject: &str,
    data: &serde_json::Value,
) -> String {
    let mut h = Sha256::new();
    // The data as compact JSON, written straight into bytes (the same text
    // as `data.to_string()`, without going through `fmt`).
    let data = serde_json::to_vec(data).unwrap_or_else(|_| data.to_string().into_bytes());
    for part in [
        prev_hash.as_bytes(),
        seq.to_string().as_bytes(),
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .as_bytes(),
        actor.as_bytes(),
        action.as_bytes(),
        subject.as_bytes(),
        &data,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    crate::hex::lower(&h.finalize())
}

impl AuditEntry {
    /// Builds the entry that follows `prev` (or the first one).
    pub fn next(
        prev: Option<&AuditEntry>,
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        subject: &str,
        data: serde_json::Value,
    ) -> AuditEntry {
        let seq = prev.map(|p| p.seq + 1).unwrap_or(1);
        let prev_hash = prev
            .map(|p| p.hash.clone())
            .unwrap_or_else(|| GENESIS_HASH.to_string());
        // Timestamps are kept to the microsecond so that every database
        // stores exactly what was hashed.
        let at = DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at);
        let hash = audit_hash(&prev_hash, seq, at, actor, action, subject, &data);
        AuditEntry {
            seq,
            at,
            actor: actor.to_string(),
            action: action.to_string(),
            subject: subject.to_string(),
            data,
            prev_hash,
            hash,
        }
    }
}

/// What an operator action leaves in the audit log: written by the store in
/// the same transaction as the action, so that an action is never without
/// its entry, nor an entry without its action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditNote {
    /// When.
    pub at: DateTime<Utc>,
    /// Who ([`crate::access::Principal::actor`]).
    pub actor: String,
    /// What, e.g. `token.created`.
    pub action: String,
    /// The object concerned.
    pub subject: String,
    /// Details (never a secret, never card data).
    pub data: serde_json::Value,
}

impl AuditNote {
    /// A note.
    pub fn new(
        at: DateTime<Utc>,
        actor: impl Into<String>,
        action: impl Into<String>,
        subject: impl Into<String>,
        data: serde_json::Value,
    ) -> AuditNote {
        AuditNote {
            at,
            actor: actor.into(),
            action: action.into(),
            subject: subject.into(),
            data,
        }
    }

    /// A note by tolom itself (actor `system`).
    pub fn system(
        at: DateTime<Utc>,
        action: impl Into<String>,
        subject: impl Into<String>,
        data: serde_json::Value,
    ) -> AuditNote {
        AuditNote::new(at, SYSTEM_ACTOR, action, subject, data)
    }
}

/// The actor of what tolom does by itself (payments, background jobs).
pub const SYSTEM_ACTOR: &str = "system";

/// What `verify_chain` found wrong, at the first broken entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditProblem {
    /// The entry's content does not match its hash: it was altered.
    #[error("entry {seq} was altered (its content does not match its hash)")]
    Altered {
        /// The entry.
        seq: u64,
    },
    /// The entry does not follow the previous one: an entry before it was
    /// deleted, or it was inserted.
    #[error("entry {seq} does not link to the entry before it (an entry was inserted or deleted before it)")]
    BrokenLink {
        /// The entry.
        seq: u64,
    },
    /// Sequence numbers jump: entries are missing.
    #[error("entries {from}..{to} are missing")]
    Missing {
        /// First missing.
        from: u64,
        /// Last missing.
        to: u64,
    },
    /// The same sequence number twice: an entry was inserted.
    #[error("entry {seq} appears twice (an entry was inserted)")]
    Duplicate {
        /// The entry.
        seq: u64,
    },
}

/// The sealed end of the chain: how many entries it has and the hash of the
/// last one ([`GENESIS_HASH`] when it has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    /// Sealed entries (the `seq` of the last one).
    pub size: u64,
    /// The hash of entry `size`.
    pub hash: String,
}

impl AuditHead {
    /// The head of an empty log.
    pub fn empty() -> AuditHead {
        AuditHead {
            size: 0,
            hash: GENESIS_HASH.to_string(),
        }
    }

    /// The head after `entry`.
    pub fn of(entry: &AuditEntry) -> AuditHead {
        AuditHead {
            size: entry.seq,
            hash: entry.hash.clone(),
        }
    }
}

/// Checks a whole chain (entries in `seq` order) and reports the first
/// problem.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<usize, AuditProblem> {
    verify_chain_from(&AuditHead::empty(), entries)
}

/// Checks a stretch of the chain that continues `after` (entries
/// `after.size + 1 ..` in `seq` order) and reports the first problem.
pub fn verify_chain_from(after: &AuditHead, entries: &[AuditEntry]) -> Result<usize, AuditProblem> {
    let mut prev_hash = after.hash.clone();
    for (expected, e) in (after.size.saturating_add(1)..).zip(entries) {
        if e.seq < expected {
            return Err(AuditProblem::Duplicate { seq: e.seq });
        }
        if e.seq > expected {
            return Err(AuditProblem::Missing {
                from: expected,
                to: e.seq - 1,
            });
        }
        let recomputed = audit_hash(
            &e.prev_hash,
            e.seq,
            e.at,
            &e.actor,
            &e.action,
            &e.subject,
            &e.data,
        );
        if recomputed != e.hash {
            return Err(AuditProblem::Altered { seq: e.seq });
        }
        if e.prev_hash != prev_hash {
            return Err(AuditProblem::BrokenLink { seq: e.seq });
        }
        prev_hash = e.hash.clone();
    }
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let e = AuditEntry::next(
                out.last(),
                t,
                "system",
                "payment.created",
                &format!("p{i}"),
                serde_json::json!({"i": i}),
            );
            out.push(e);
        }
        out
    }

    #[test]
    fn detects_altered_inserted_and_deleted_entries() {
        let c = chain(5);
        assert_eq!(verify_chain(&c), Ok(5));
        let mut altered = c.clone();
        altered[2].subject = "other".into();
        assert_eq!(
            verify_chain(&altered),
            Err(AuditProblem::Altered { seq: 3 })
        );
        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(
            verify_chain(&deleted),
            Err(AuditProblem::Missing { from: 2, to: 2 })
        );
        // Deleted and renumbered: the link breaks.
        let mut renumbered = c.clone();
        renumbered.remove(1);
        for (i, e) in renumbered.iter_mut().enumerate() {
            e.seq = i as u64 + 1;
            e.hash = audit_hash(
                &e.prev_hash,
                e.seq,
                e.at,
                &e.actor,
                &e.action,
                &e.subject,
                &e.data,
            );
        }
        assert_eq!(
            verify_chain(&renumbered),
            Err(AuditProblem::BrokenLink { seq: 2 })
        );
        let mut inserted = c.clone();
        let extra = inserted[1].clone();
        inserted.insert(2, extra);
        assert_eq!(
            verify_chain(&inserted),
            Err(AuditProblem::Duplicate { seq: 2 })
        );
    }
}
