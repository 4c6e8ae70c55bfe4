//! The operations port: the audit log, admin API tokens, personal-data
//! retention and access requests.
//!
//! [`OpsStore`] is a port of its own (not part of
//! [`crate::ports::Store`]): an embedding program that needs no operator
//! tooling does not implement it. The testkit's `conformance::ops` suite
//! checks adapters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::access::ApiToken;
use crate::audit::{AuditEntry, AuditHead, AuditNote};
use crate::payment::Payment;

use super::errors::StoreError;

/// A signed checkpoint of the audit log as a store keeps it
/// ([`crate::audit::checkpoint`]): the size and head it states, when it was
/// made, and its exact text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Sealed entries it covers.
    pub size: u64,
    /// The hash of entry `size`.
    pub head: String,
    /// When it was made.
    pub at: DateTime<Utc>,
    /// The signed text.
    pub text: String,
}

/// Storage for operations.
///
/// A store that implements this port MUST also append every event written
/// through the storage ports ([`crate::ports::EventLog`]) to the audit
/// chain, in the same transaction (actor = the event's actor, action = the
/// event's kind, subject = payment id, or charge id when there is no
/// payment), and every [`AuditNote`] given to a storage method, so that
/// every charge, payment and refund event and every operator action is in
/// the tamper-evident log together with the change it records.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait OpsStore: Send + Sync {
    /// Appends an entry to the audit log. It joins the chain — gets its
    /// `seq`, `prev_hash` and `hash` — either at once or at the next
    /// [`OpsStore::seal_audit`]; either way two entries MUST NOT get the
    /// same `seq` or link to the same entry. A store that seals later MUST
    /// NOT make the append wait on the chain's head (that is the point).
    async fn append_audit(&self, note: &AuditNote) -> Result<(), StoreError>;

    /// Seals up to `max` (at least 1) appended entries that are not in the
    /// chain yet, in the order they were appended, and returns how many it
    /// sealed (0: none was waiting). MUST be safe to call from any number of
    /// instances at once (sealers take turns; no entry is sealed twice or
    /// skipped) and MUST NOT block appends. A store that chains entries
    /// when they are appended returns 0.
    async fn seal_audit(&self, max: usize) -> Result<u64, StoreError>;

    /// How many appended entries wait to be sealed.
    async fn audit_unsealed(&self) -> Result<u64, StoreError>;

    /// The sealed end of the chain: its size and the hash of its last
    /// entry.
    async fn audit_head(&self) -> Result<AuditHead, StoreError>;

    /// The sealed audit log in `seq` order, from `from_seq` on, at most
    /// `limit` (0 = no limit).
    async fn audit_entries(
        &self,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Keeps a signed checkpoint of the log. Returns `false`, writing
    /// nothing, when one of the same size is kept already (another
    /// instance made it first). Kept checkpoints are never changed or
    /// deleted.
    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<bool, StoreError>;

    /// Kept checkpoints, the largest size first, at most `limit` (0 = no
    /// limit).
    async fn checkpoints(&self, limit: usize) -> Result<Vec<StoredCheckpoint>, StoreError>;

    /// Stores a token and appends `note`, in one transaction. MUST fail with
    /// [`StoreError::Invariant`] of kind
    /// [`crate::ports::InvariantKind::DuplicateToken`] when the name is
    /// taken, writing nothing.
    async fn create_token(&self, token: &ApiToken, note: &AuditNote) -> Result<(), StoreError>;

    /// Every token, oldest first.
    async fn list_tokens(&self) -> Result<Vec<ApiToken>, StoreError>;

    /// The unrevoked token with this secret hash.
    async fn token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>, StoreError>;

    /// Revokes a token by name and appends `note`, in one transaction. MUST
    /// fail with [`StoreError::NotFound`] when there is no unrevoked token of
    /// that name, writing nothing.
    async fn revoke_token(
        &self,
        name: &str,
        at: DateTime<Utc>,
        note: &AuditNote,
    ) -> Result<(), StoreError>;

    /// Anonymises the personal data of payments last updated before
    /// `before` that are no longer in flight: contact (phone, e-mail) and
    /// cardholder name are replaced, in payments and in any outbox message
    /// that carries them. Returns how many payments were anonymised. MUST
    /// be idempotent. `note` is appended in the same transaction, with the
    /// count added to its data as `anonymised`.
    async fn anonymise_before(
        &self,
        before: DateTime<Utc>,
        note: &AuditNote,
    ) -> Result<u64, StoreError>;

    /// Payments whose contact phone or e-mail is one of these (for access
    /// requests), oldest first.
    async fn payments_by_contact(
        &self,
        phone: Option<String>,
        email: Option<String>,
    ) -> Result<Vec<Payment>, StoreError>;
}
