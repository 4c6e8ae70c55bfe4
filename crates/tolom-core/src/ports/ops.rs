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
use crate::audit::{AuditEntry, AuditNote};
use crate::payment::Payment;

use super::errors::StoreError;

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
    /// Appends an entry to the audit log, computing `seq`, `prev_hash` and
    /// `hash` from the current last entry **atomically** (two concurrent
    /// appends MUST NOT get the same `seq` or link to the same entry).
    async fn append_audit(&self, note: &AuditNote) -> Result<AuditEntry, StoreError>;

    /// The audit log in `seq` order, from `from_seq` on, at most `limit`
    /// (0 = no limit).
    async fn audit_entries(
        &self,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;

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
