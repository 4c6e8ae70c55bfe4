//! Operations: the tamper-evident audit log, API tokens for the admin API,
//! and personal-data retention and access requests.
//!
//! [`OpsStore`] is a port of its own (not part of [`crate::ports::Store`]):
//! an embedding program that needs no operator tooling does not implement
//! it. The testkit's `conformance::ops` suite checks adapters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::payment::Payment;
use crate::ports::StoreError;

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
    for part in [
        prev_hash,
        &seq.to_string(),
        &at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        actor,
        action,
        subject,
        &data.to_string(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex_lower(&h.finalize())
}

/// Lower-case hex of bytes, without an allocation per byte.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
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

/// Checks a whole chain (entries in `seq` order) and reports the first
/// problem.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<usize, AuditProblem> {
    let mut prev_hash = GENESIS_HASH.to_string();
    for (expected, e) in (1u64..).zip(entries) {
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

/// A role of an admin API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Creates and cancels charges.
    Issuer,
    /// Refunds, reconciliation, reports.
    Operator,
    /// Reads only.
    Auditor,
}

impl Role {
    /// Stable id.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Issuer => "issuer",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
        }
    }

    /// Parses the stable id.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "issuer" => Role::Issuer,
            "operator" => Role::Operator,
            "auditor" => Role::Auditor,
            _ => return None,
        })
    }
}

/// An admin API token as stored: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Id.
    pub id: Uuid,
    /// A name for people (`ops-1`, `agency-passport`).
    pub name: String,
    /// Role.
    pub role: Role,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The SHA-256 hex of a token secret, as stored.
pub fn hash_token(secret: &str) -> String {
    hex_lower(&Sha256::digest(secret.as_bytes()))
}

/// Storage for operations.
///
/// A store that implements this port MUST also append every event written
/// through the storage ports ([`crate::ports::EventLog`]) to the audit
/// chain, in the same transaction (actor `system`, action = event kind,
/// subject = payment id, or charge id when there is no payment), so that
/// every charge, payment and refund event is in the tamper-evident log.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait OpsStore: Send + Sync {
    /// Appends an entry to the audit log, computing `seq`, `prev_hash` and
    /// `hash` from the current last entry **atomically** (two concurrent
    /// appends MUST NOT get the same `seq` or link to the same entry).
    async fn append_audit(
        &self,
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        subject: &str,
        data: serde_json::Value,
    ) -> Result<AuditEntry, StoreError>;

    /// The audit log in `seq` order, from `from_seq` on, at most `limit`
    /// (0 = no limit).
    async fn audit_entries(
        &self,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Stores a token. MUST fail with [`StoreError::Invariant`] when the
    /// name is taken.
    async fn create_token(&self, token: &ApiToken) -> Result<(), StoreError>;

    /// Every token, oldest first.
    async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError>;

    /// The unrevoked token with this secret hash.
    async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>, StoreError>;

    /// Revokes a token by name. MUST fail with [`StoreError::NotFound`]
    /// when there is no unrevoked token of that name.
    async fn revoke_token(&self, name: &str, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Anonymises the personal data of payments last updated before
    /// `before` that are no longer in flight: contact (phone, e-mail) and
    /// cardholder name are replaced, in payments and in any outbox message
    /// that carries them. Returns how many payments were anonymised. MUST
    /// be idempotent.
    async fn anonymise_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Payments whose contact phone or e-mail is one of these (for access
    /// requests), oldest first.
    async fn payments_by_contact(
        &self,
        phone: Option<String>,
        email: Option<String>,
    ) -> Result<Vec<Payment>, StoreError>;
}

/// The text that replaces anonymised personal data.
pub const ANONYMISED: &str = "ANONYMISED";

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
        assert_eq!(hash_token("s3cret").len(), 64);
    }
}
