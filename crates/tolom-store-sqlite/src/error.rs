//! Translating SQLite and sqlx errors into [`StoreError`] kinds: by the
//! SQLite **extended result code** and the **name** of the rule that
//! refused a write, never by the prose of a message.
//!
//! What SQLite tells about a refused write, by extended code:
//!
//! | code | SQLite says | the rule is named by |
//! | --- | --- | --- |
//! | 2067 `SQLITE_CONSTRAINT_UNIQUE`, 1555 `..._PRIMARYKEY` | `UNIQUE constraint failed: index 'payments_one_paid'` or `...: charges.code` | the index (an index with an expression key column is reported by name), or the table's column list |
//! | 275 `SQLITE_CONSTRAINT_CHECK` | `CHECK constraint failed: refunds_within_total` | the constraint's name (`CONSTRAINT <name> CHECK`) |
//! | 1811 `SQLITE_CONSTRAINT_TRIGGER` | `tolom:immutable_field` | the token the trigger raises (`RAISE(ABORT, 'tolom:<kind>')`) |
//! | 787 `..._FOREIGNKEY`, 1299 `..._NOTNULL`, 3091 `..._DATATYPE` | — | the code alone |
//!
//! Only text crosses: nothing of sqlx appears in a `StoreError`'s payload.

use tolom_core::ports::{InvariantKind, StoreError};

/// SQLite result codes: primary codes are the low byte of an extended code.
pub(crate) mod code {
    /// `SQLITE_ERROR`: a generic error (an unknown table or column: a
    /// schema this build does not know).
    pub const ERROR: i32 = 1;
    /// `SQLITE_PERM`: access permission denied.
    pub const PERM: i32 = 3;
    /// `SQLITE_ABORT`: the statement was aborted (e.g. its transaction
    /// rolled back under it).
    pub const ABORT: i32 = 4;
    /// `SQLITE_BUSY`: another connection holds the lock (after the busy
    /// timeout).
    pub const BUSY: i32 = 5;
    /// `SQLITE_LOCKED`: a table is locked within the same connection or
    /// shared cache.
    pub const LOCKED: i32 = 6;
    /// `SQLITE_NOMEM`: out of memory.
    pub const NOMEM: i32 = 7;
    /// `SQLITE_READONLY`: the database (or the file system) is read-only.
    pub const READONLY: i32 = 8;
    /// `SQLITE_INTERRUPT`: interrupted.
    pub const INTERRUPT: i32 = 9;
    /// `SQLITE_IOERR` and its extended codes: the operating system reported
    /// an I/O error.
    pub const IOERR: i32 = 10;
    /// `SQLITE_CORRUPT`: the file is damaged.
    pub const CORRUPT: i32 = 11;
    /// `SQLITE_FULL`: the disk (or `max_page_count`) is full.
    pub const FULL: i32 = 13;
    /// `SQLITE_CANTOPEN`: the file cannot be opened (missing directory,
    /// permissions, a directory in its place).
    pub const CANTOPEN: i32 = 14;
    /// `SQLITE_PROTOCOL`: a locking race (WAL).
    pub const PROTOCOL: i32 = 15;
    /// `SQLITE_SCHEMA`: the schema changed under a prepared statement.
    pub const SCHEMA: i32 = 17;
    /// `SQLITE_TOOBIG`: a value too large.
    pub const TOOBIG: i32 = 18;
    /// `SQLITE_CONSTRAINT`: a constraint refused the write.
    pub const CONSTRAINT: i32 = 19;
    /// `SQLITE_MISMATCH`: a data type mismatch.
    pub const MISMATCH: i32 = 20;
    /// `SQLITE_AUTH`: authorisation denied.
    pub const AUTH: i32 = 23;
    /// `SQLITE_NOTADB`: the file is not a database.
    pub const NOTADB: i32 = 26;

    /// `SQLITE_CONSTRAINT_CHECK`.
    pub const CONSTRAINT_CHECK: i32 = 275;
    /// `SQLITE_CONSTRAINT_FOREIGNKEY`.
    pub const CONSTRAINT_FOREIGNKEY: i32 = 787;
    /// `SQLITE_CONSTRAINT_NOTNULL`.
    pub const CONSTRAINT_NOTNULL: i32 = 1299;
    /// `SQLITE_CONSTRAINT_PRIMARYKEY`.
    pub const CONSTRAINT_PRIMARYKEY: i32 = 1555;
    /// `SQLITE_CONSTRAINT_TRIGGER` (a trigger's `RAISE(ABORT, ...)`).
    pub const CONSTRAINT_TRIGGER: i32 = 1811;
    /// `SQLITE_CONSTRAINT_UNIQUE`.
    pub const CONSTRAINT_UNIQUE: i32 = 2067;
    /// `SQLITE_CONSTRAINT_DATATYPE` (a STRICT table refused a value's type).
    pub const CONSTRAINT_DATATYPE: i32 = 3091;
}

/// The unique indexes and constraints of the schema, by the name SQLite
/// reports (`index '<name>'`, or the table's columns).
pub(crate) mod unique {
    /// `payments_one_in_flight` (partial, on `charge_id`).
    pub const ONE_IN_FLIGHT: &str = "index 'payments_one_in_flight'";
    /// `payments_one_paid` (partial, on `charge_id`).
    pub const ONE_PAID: &str = "index 'payments_one_paid'";
    /// `charges.code`.
    pub const CHARGE_CODE: &str = "charges.code";
    /// `charges.id` (primary key).
    pub const CHARGE_ID: &str = "charges.id";
    /// `payments.start_key`.
    pub const START_KEY: &str = "payments.start_key";
    /// `refunds (payment_id, idempotency_key)`.
    pub const REFUND_KEY: &str = "refunds.payment_id, refunds.idempotency_key";
    /// `terms_editions.id`.
    pub const EDITION_ID: &str = "terms_editions.id";
    /// `api_tokens.name`.
    pub const TOKEN_NAME: &str = "api_tokens.name";
    /// `charges_agency_key` (partial, on `service, agency_key`).
    pub const AGENCY_KEY: &str = "charges.service, charges.agency_key";
    /// `external_payments_one_accepted` (partial, on `charge_id`).
    pub const ONE_ACCEPTED: &str = "index 'external_payments_one_accepted'";
    /// `external_payments (channel, reference)`.
    pub const EXTERNAL_REFERENCE: &str = "external_payments.channel, external_payments.reference";
}

/// The named CHECK constraints (migration 3) that stand for an invariant
/// of the port; any other CHECK is [`InvariantKind::Constraint`].
const CHECKS: &[(&str, InvariantKind)] = &[
    ("refunds_within_total", InvariantKind::RefundsExceedTotal),
    ("refunded_not_negative", InvariantKind::RefundsExceedTotal),
    (
        "refund_pending_not_negative",
        InvariantKind::RefundsExceedTotal,
    ),
    ("card_masked", InvariantKind::UnmaskedCard),
];

/// The tokens the schema's triggers raise (`RAISE(ABORT, 'tolom:<kind>')`).
const TRIGGER_TOKENS: &[(&str, InvariantKind)] = &[
    ("tolom:immutable_field", InvariantKind::ImmutableField),
    ("tolom:append_only", InvariantKind::AppendOnly),
    (
        "tolom:paid_without_payment",
        InvariantKind::PaidWithoutPayment,
    ),
    (
        "tolom:charge_already_paid",
        InvariantKind::ChargeAlreadyPaid,
    ),
    (
        "tolom:external_recorded_returned",
        InvariantKind::Constraint,
    ),
];

/// A rule of the schema refused a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Violation {
    /// A UNIQUE or PRIMARY KEY constraint: the index name as SQLite reports
    /// it (`index 'payments_one_paid'`) or the columns
    /// (`charges.code`, `refunds.payment_id, refunds.idempotency_key`).
    Unique(String),
    /// A CHECK constraint, by name (or by its expression when unnamed).
    Check(String),
    /// A trigger's `RAISE(ABORT, ...)`, by its text (a `tolom:` token).
    Trigger(String),
    /// A FOREIGN KEY constraint (SQLite does not say which).
    ForeignKey,
    /// Any other constraint (NOT NULL, a STRICT type, ...): the extended
    /// code and SQLite's message.
    Other(i32, String),
}

/// The extended result code and message of a database error.
fn db_error(e: &sqlx::Error) -> Option<(i32, &str)> {
    match e {
        sqlx::Error::Database(db) => {
            let code = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .unwrap_or(code::ERROR);
            Some((code, db.message()))
        }
        _ => None,
    }
}

/// The part of a constraint message after SQLite's fixed prefix
/// (`UNIQUE constraint failed: `, `CHECK constraint failed: `): the name
/// of the rule.
fn rule_name<'m>(message: &'m str, prefix: &str) -> &'m str {
    message.strip_prefix(prefix).unwrap_or(message).trim()
}

/// Which rule refused the statement, when `e` is a constraint violation.
pub(crate) fn violation(e: &sqlx::Error) -> Option<Violation> {
    let (code, message) = db_error(e)?;
    if code & 0xff != code::CONSTRAINT {
        return None;
    }
    Some(match code {
        code::CONSTRAINT_UNIQUE | code::CONSTRAINT_PRIMARYKEY => {
            Violation::Unique(rule_name(message, "UNIQUE constraint failed:").to_string())
        }
        code::CONSTRAINT_CHECK => {
            Violation::Check(rule_name(message, "CHECK constraint failed:").to_string())
        }
        code::CONSTRAINT_TRIGGER => Violation::Trigger(message.trim().to_string()),
        code::CONSTRAINT_FOREIGNKEY => Violation::ForeignKey,
        other => Violation::Other(other, message.to_string()),
    })
}

/// The UNIQUE (or PRIMARY KEY) rule `e` violated, if that is what it is.
pub(crate) fn unique_violation(e: &sqlx::Error) -> Option<String> {
    match violation(e)? {
        Violation::Unique(name) => Some(name),
        _ => None,
    }
}

/// Whether `e` is a FOREIGN KEY violation.
pub(crate) fn foreign_key_violation(e: &sqlx::Error) -> bool {
    violation(e) == Some(Violation::ForeignKey)
}

/// The `StoreError` of a violated rule, out of any context.
pub(crate) fn map_violation(v: Violation) -> StoreError {
    match v {
        Violation::Unique(name) => match name.as_str() {
            unique::ONE_IN_FLIGHT => StoreError::invariant(
                InvariantKind::SecondInFlight,
                "another payment of the charge is in flight (payments_one_in_flight)",
            ),
            unique::ONE_PAID => StoreError::invariant(
                InvariantKind::SecondPaidPayment,
                "the charge already has a paid payment (payments_one_paid)",
            ),
            unique::CHARGE_CODE | unique::CHARGE_ID => StoreError::DuplicateCode,
            unique::REFUND_KEY => StoreError::Conflict,
            unique::EDITION_ID => StoreError::invariant(
                InvariantKind::DuplicateEdition,
                "an edition with this id exists (terms_editions.id)",
            ),
            unique::TOKEN_NAME => StoreError::invariant(
                InvariantKind::DuplicateToken,
                "a token with this name exists (api_tokens.name)",
            ),
            unique::AGENCY_KEY => StoreError::invariant(
                InvariantKind::DuplicateAgencyRef,
                "another charge of the service holds this agency reference (charges_agency_key)",
            ),
            unique::ONE_ACCEPTED => StoreError::invariant(
                InvariantKind::SecondPaidPayment,
                "the charge is already paid elsewhere (external_payments_one_accepted)",
            ),
            // The same channel and reference written meanwhile: read again.
            unique::EXTERNAL_REFERENCE => StoreError::Conflict,
            _ => StoreError::invariant(InvariantKind::Constraint, format!("duplicate {name}")),
        },
        Violation::Check(name) => {
            let kind = CHECKS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, k)| *k)
                .unwrap_or(InvariantKind::Constraint);
            StoreError::invariant(kind, format!("CHECK {name}"))
        }
        Violation::Trigger(token) => {
            let kind = TRIGGER_TOKENS
                .iter()
                .find(|(t, _)| *t == token)
                .map(|(_, k)| *k)
                .unwrap_or(InvariantKind::Constraint);
            StoreError::invariant(kind, format!("trigger refused: {token}"))
        }
        Violation::ForeignKey => {
            StoreError::invariant(InvariantKind::Constraint, "FOREIGN KEY constraint")
        }
        Violation::Other(code, message) => {
            let what = match code {
                code::CONSTRAINT_NOTNULL => "NOT NULL",
                code::CONSTRAINT_DATATYPE => "column type (STRICT)",
                _ => "constraint",
            };
            StoreError::invariant(
                InvariantKind::Constraint,
                format!("{what} ({code}): {message}"),
            )
        }
    }
}

/// Whether an I/O error needs an operator (a full disk, a read-only file
/// system, permissions, a missing path) rather than a retry.
fn permanent_io(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        kind,
        K::PermissionDenied
            | K::ReadOnlyFilesystem
            | K::StorageFull
            | K::NotFound
            | K::IsADirectory
            | K::NotADirectory
            | K::InvalidInput
            | K::Unsupported
    )
}

/// The general mapping.
///
/// - a constraint (primary code 19) → by its name, see [`map_violation`]:
///   [`StoreError::Invariant`] of the rule's kind, `DuplicateCode`, or
///   `Conflict` (a refund's idempotency key);
/// - `BUSY`, `LOCKED` (after the busy timeout), `PROTOCOL`, `SCHEMA`,
///   `ABORT`, `INTERRUPT`, `NOMEM`; a pool timeout, a closed pool, a crashed
///   worker → [`StoreError::Unavailable`] (temporary: nothing was written,
///   retrying may help);
/// - `CORRUPT`, `NOTADB`, `FULL`, `READONLY*`, `PERM`, `AUTH`, `IOERR*`,
///   `CANTOPEN`, `TOOBIG`, a generic `ERROR` (an unknown table or column),
///   rows that cannot be decoded, a bad location → [`StoreError::Broken`]
///   (permanent: an operator has to act).
pub(crate) fn map(e: sqlx::Error) -> StoreError {
    if let Some(v) = violation(&e) {
        return map_violation(v);
    }
    if let Some((code, message)) = db_error(&e) {
        return match code & 0xff {
            code::BUSY
            | code::LOCKED
            | code::PROTOCOL
            | code::SCHEMA
            | code::ABORT
            | code::INTERRUPT
            | code::NOMEM => StoreError::Unavailable(format!("database busy ({code}): {message}")),
            code::MISMATCH => StoreError::invariant(
                InvariantKind::Constraint,
                format!("type mismatch ({code}): {message}"),
            ),
            code::CORRUPT
            | code::NOTADB
            | code::FULL
            | code::READONLY
            | code::PERM
            | code::AUTH
            | code::IOERR
            | code::CANTOPEN
            | code::TOOBIG => StoreError::Broken(format!("database failed ({code}): {message}")),
            // A generic ERROR (an unknown table or column: a schema this
            // build does not know) and anything unknown: retrying will not
            // help either.
            _ => StoreError::Broken(format!("database error ({code}): {message}")),
        };
    }
    match e {
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("timed out waiting for a database connection".into())
        }
        sqlx::Error::PoolClosed => StoreError::Unavailable("the store is closed".into()),
        sqlx::Error::WorkerCrashed => StoreError::Unavailable("the database worker stopped".into()),
        sqlx::Error::Io(io) if permanent_io(io.kind()) => {
            StoreError::Broken(format!("database i/o: {io}"))
        }
        sqlx::Error::Io(io) => StoreError::Unavailable(format!("database i/o: {io}")),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => {
            StoreError::Broken(format!("unreadable stored row: {e}"))
        }
        sqlx::Error::Configuration(c) => {
            StoreError::Broken(format!("bad database configuration: {c}"))
        }
        sqlx::Error::Migrate(m) => map_migrate(*m),
        other => StoreError::Broken(format!("database error: {other}")),
    }
}

/// A stored value that does not decode: the row is not one tolom wrote.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Broken(format!("unreadable stored {what}: {detail}"))
}

/// Migration errors: a failing statement maps as any error; a database
/// migrated by a newer tolom (an applied migration this build does not
/// know), or an applied migration that was edited, is a schema this build
/// does not know → [`StoreError::Broken`].
pub(crate) fn map_migrate(e: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError;
    match e {
        MigrateError::Execute(inner) => map(inner),
        MigrateError::ExecuteMigration(inner, version) => match map(inner) {
            StoreError::Broken(m) => StoreError::Broken(format!("migration {version} failed: {m}")),
            StoreError::Invariant { kind, detail } => StoreError::Broken(format!(
                "migration {version} failed: invariant {kind}: {detail}"
            )),
            other => other,
        },
        other => StoreError::Broken(format!("migrations refused: {other}")),
    }
}

#[cfg(test)]
mod tests {
    //! Real SQLite errors, provoked on the real schema, through the
    //! mapping: each rule of the schema by its name, and the faults by
    //! their code.

    use tolom_core::charge::{Charge, ChargeStatus, Payer};
    use tolom_core::code::PaymentCode;
    use tolom_core::events::{Event, EventKind};
    use tolom_core::money::Money;
    use tolom_core::ports::ChargeStore;
    use uuid::Uuid;

    use super::*;
    use crate::{SqliteOptions, SqliteStore};

    const T: &str = "2026-11-25T12:00:00.000000000Z";

    /// Runs a statement on the writer connection, outside any transaction.
    async fn run(store: &SqliteStore, sql: &str) -> Result<(), StoreError> {
        let sql = sql.to_string();
        store
            .bare(move |tx| {
                Box::pin(async move {
                    sqlx::query(&sql)
                        .execute(&mut **tx)
                        .await
                        .map(|_| ())
                        .map_err(map)
                })
            })
            .await
    }

    async fn ok(store: &SqliteStore, sql: &str) {
        if let Err(e) = run(store, sql).await {
            panic!("`{sql}`: {e}");
        }
    }

    async fn refused(store: &SqliteStore, sql: &str) -> StoreError {
        match run(store, sql).await {
            Ok(()) => panic!("accepted: `{sql}`"),
            Err(e) => e,
        }
    }

    fn payment(id: &str, charge: &str, state: &str, key: &str) -> String {
        format!(
            "INSERT INTO payments (id, charge_id, code, service, currency, amount_minor, \
             fee_minor, total_minor, state, version, created_at, updated_at, expires_at, \
             terms_edition, language, start_key, refunded_minor, refund_pending_minor) \
             VALUES ('{id}', '{charge}', 'c', 's', 'KGS', 100, 0, 100, '{state}', 1, '{T}', \
             '{T}', '{T}', 'e', 'ru', '{key}', 0, 0)"
        )
    }

    fn charge(id: &str, code: &str) -> String {
        format!(
            "INSERT INTO charges (id, code, service, urgency, payer_name, currency, \
             amount_minor, issued_at, expires_at, status, agency_ref) VALUES ('{id}', '{code}', \
             's', NULL, 'p', 'KGS', 100, '{T}', '{T}', 'unpaid', NULL)"
        )
    }

    #[tokio::test]
    async fn every_rule_of_the_schema_maps_by_its_name() {
        let store = SqliteStore::in_memory()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        ok(&store, &charge("c1", "code-1")).await;
        ok(&store, &charge("c2", "code-2")).await;
        ok(&store, &payment("p1", "c1", "authorizing", "k1")).await;
        ok(&store, &payment("p2", "c2", "succeeded", "k2")).await;
        ok(
            &store,
            &format!(
                "INSERT INTO refunds (id, payment_id, currency, amount_minor, reason, state, \
                 idempotency_key, created_at, updated_at) \
                 VALUES ('r1', 'p2', 'KGS', 10, 'x', 'pending', 'rk', '{T}', '{T}')"
            ),
        )
        .await;
        ok(
            &store,
            "INSERT INTO events (id, at, charge_id, kind, data) \
             VALUES ('e1', 't', 'c1', 'charge.issued', '{}')",
        )
        .await;
        ok(
            &store,
            "INSERT INTO terms_editions (id, published_at, effective_at, last_changed, text_ky, \
             text_ru, text_en) VALUES ('ed', 't', 't', 'd', 'k', 'r', 'e')",
        )
        .await;
        let hash = "a".repeat(64);
        ok(
            &store,
            &format!(
                "INSERT INTO api_tokens VALUES ('t1', 'ops', 'operator', '{hash}', '{T}', NULL)"
            ),
        )
        .await;
        let with_reference = |id: &str, code: &str| {
            format!(
                "INSERT INTO charges (id, code, service, urgency, payer_name, currency, \
                 amount_minor, issued_at, expires_at, status, agency_ref, agency_key) VALUES \
                 ('{id}', '{code}', 's', NULL, 'p', 'KGS', 100, '{T}', '{T}', 'unpaid', 'R-1', \
                 'R-1')"
            )
        };
        ok(&store, &with_reference("c3", "code-3")).await;
        // Payments made elsewhere: c5 paid elsewhere (e1), c6 with a card
        // payment in flight and paid elsewhere (e3), c7 paid elsewhere and
        // marked paid.
        let external = |id: &str, charge: &str, state: &str, reference: &str| {
            format!(
                "INSERT INTO external_payments (id, charge_id, code, service, channel, \
                 reference, currency, amount_minor, paid_at, recorded_at, recorded_by, state) \
                 VALUES ('{id}', '{charge}', 'c', 's', 'elqr', '{reference}', 'KGS', 100, \
                 '{T}', '{T}', 'cli:x', '{state}')"
            )
        };
        for (c, code) in [("c5", "code-5"), ("c6", "code-6"), ("c7", "code-7")] {
            ok(&store, &charge(c, code)).await;
        }
        ok(&store, &external("e1", "c5", "accepted", "R-1")).await;
        ok(&store, &payment("p7", "c6", "authorizing", "k7")).await;
        ok(&store, &external("e3", "c6", "accepted", "R-3")).await;
        ok(&store, &external("e4", "c7", "accepted", "R-4")).await;
        ok(&store, "UPDATE charges SET status = 'paid' WHERE id = 'c7'").await;
        ok(
            &store,
            &format!(
                "INSERT INTO api_tokens VALUES ('t3', 'bank-1', 'bank', '{}', '{T}', NULL)",
                "c".repeat(64)
            ),
        )
        .await;

        use InvariantKind as K;
        let cases: Vec<(String, Option<InvariantKind>, &str)> = vec![
            (
                payment("p3", "c1", "created", "k3"),
                Some(K::SecondInFlight),
                "in flight",
            ),
            (
                payment("p4", "c2", "partially_refunded", "k4"),
                Some(K::SecondPaidPayment),
                "paid",
            ),
            (
                "UPDATE payments SET refunded_minor = 101 WHERE id = 'p2'".into(),
                Some(K::RefundsExceedTotal),
                "refunds above the total",
            ),
            (
                "UPDATE payments SET refund_pending_minor = -1 WHERE id = 'p2'".into(),
                Some(K::RefundsExceedTotal),
                "a negative reservation",
            ),
            (
                "UPDATE payments SET card = '{\"masked_pan\":\"4111111111111111\"}' \
                 WHERE id = 'p2'"
                    .into(),
                Some(K::UnmaskedCard),
                "a full card number",
            ),
            (
                "UPDATE payments SET total_minor = 5 WHERE id = 'p2'".into(),
                Some(K::ImmutableField),
                "a fixed amount",
            ),
            (
                "UPDATE refunds SET amount_minor = 5".into(),
                Some(K::ImmutableField),
                "a refund's amount",
            ),
            ("DELETE FROM events".into(), Some(K::AppendOnly), "events"),
            ("DELETE FROM refunds".into(), Some(K::AppendOnly), "refunds"),
            (
                "UPDATE charges SET status = 'paid' WHERE id = 'c1'".into(),
                Some(K::PaidWithoutPayment),
                "paid without a paid payment",
            ),
            (
                "INSERT INTO terms_editions (id, published_at, effective_at, last_changed, \
                 text_ky, text_ru, text_en) VALUES ('ed', 't', 't', 'd', 'k', 'r', 'e')"
                    .into(),
                Some(K::DuplicateEdition),
                "an edition id",
            ),
            (
                format!(
                    "INSERT INTO api_tokens VALUES ('t2', 'ops', 'auditor', '{}', '{T}', NULL)",
                    "b".repeat(64)
                ),
                Some(K::DuplicateToken),
                "a token name",
            ),
            (
                with_reference("c4", "code-4"),
                Some(K::DuplicateAgencyRef),
                "an agency reference another charge of the service holds",
            ),
            (
                payment("p5", "no-charge", "expired", "k5"),
                Some(K::Constraint),
                "FOREIGN KEY",
            ),
            (
                "UPDATE charges SET status = 'lost' WHERE id = 'c1'".into(),
                Some(K::Constraint),
                "an unnamed CHECK",
            ),
            (
                "UPDATE payments SET version = 0 WHERE id = 'p1'".into(),
                Some(K::Constraint),
                "a named CHECK of no invariant kind",
            ),
            (
                "UPDATE payments SET service = NULL WHERE id = 'p1'".into(),
                Some(K::Constraint),
                "NOT NULL",
            ),
            (
                "UPDATE payments SET fee_minor = 'x' WHERE id = 'p1'".into(),
                Some(K::Constraint),
                "a STRICT type",
            ),
            (
                payment("p6", "c1", "expired", "k1"),
                Some(K::Constraint),
                "a start key outside create_payment",
            ),
            (
                external("e5", "c5", "accepted", "R-5"),
                Some(K::SecondPaidPayment),
                "a second accepted payment made elsewhere",
            ),
            (
                external("e6", "c2", "accepted", "R-6"),
                Some(K::ChargeAlreadyPaid),
                "an accepted payment made elsewhere of a charge paid by card",
            ),
            (
                "UPDATE payments SET state = 'succeeded' WHERE id = 'p7'".into(),
                Some(K::ChargeAlreadyPaid),
                "a card success of a charge paid elsewhere",
            ),
            (
                external("e7", "c1", "returned", "R-7"),
                Some(K::Constraint),
                "a payment made elsewhere recorded returned",
            ),
            (
                "UPDATE external_payments SET amount_minor = 5 WHERE id = 'e1'".into(),
                Some(K::ImmutableField),
                "the amount of a payment made elsewhere",
            ),
            (
                "UPDATE external_payments SET state = 'returned', resolved_at = 't', \
                 resolution = 'n' WHERE id = 'e1'"
                    .into(),
                Some(K::PaidWithoutPayment),
                "an accepted payment made elsewhere stays accepted",
            ),
            (
                "UPDATE charges SET status = 'unpaid' WHERE id = 'c7'".into(),
                Some(K::PaidWithoutPayment),
                "a charge paid elsewhere stays paid",
            ),
            (
                "DELETE FROM external_payments".into(),
                Some(K::AppendOnly),
                "payments made elsewhere",
            ),
            (
                "UPDATE external_payments SET channel = 'cash' WHERE id = 'e3'".into(),
                Some(K::ImmutableField),
                "the channel of a payment made elsewhere",
            ),
            (
                format!(
                    "INSERT INTO api_tokens VALUES ('t4', 'x', 'root', '{}', '{T}', NULL)",
                    "d".repeat(64)
                ),
                Some(K::Constraint),
                "an unknown role",
            ),
        ];
        for (sql, kind, what) in cases {
            let e = refused(&store, &sql).await;
            assert_eq!(e.invariant_kind(), kind, "{what}: {e}");
            assert!(!e.is_temporary(), "{what}: {e}");
        }
        assert_eq!(
            refused(&store, &charge("c3", "code-1")).await,
            StoreError::DuplicateCode
        );
        assert_eq!(
            refused(&store, &charge("c1", "code-3")).await,
            StoreError::DuplicateCode,
            "PRIMARY KEY (1555)"
        );
        assert_eq!(
            refused(
                &store,
                &format!(
                    "INSERT INTO refunds (id, payment_id, currency, amount_minor, reason, \
                     state, idempotency_key, created_at, updated_at) \
                     VALUES ('r2', 'p2', 'KGS', 10, 'x', 'pending', 'rk', '{T}', '{T}')"
                ),
            )
            .await,
            StoreError::Conflict,
            "a refund's idempotency key"
        );
        assert_eq!(
            refused(&store, &external("e8", "c1", "duplicate", "R-1")).await,
            StoreError::Conflict,
            "a channel's reference recorded meanwhile: read it again"
        );
        // A trigger this build does not know: a constraint, named by its text.
        ok(
            &store,
            "CREATE TRIGGER test_no BEFORE INSERT ON outbox \
             BEGIN SELECT RAISE(ABORT, 'test: refused'); END",
        )
        .await;
        let e = refused(
            &store,
            "INSERT INTO outbox (id, created_at, channel, payload, status, attempts, \
             next_attempt_at) VALUES ('o', 't', 'email', '{}', 'pending', 0, 't')",
        )
        .await;
        assert_eq!(e.invariant_kind(), Some(K::Constraint), "{e}");
        assert!(e.to_string().contains("test: refused"), "{e}");
        // A table this build does not know: the schema is not ours.
        let e = refused(&store, "SELECT * FROM no_such_table").await;
        assert!(matches!(e, StoreError::Broken(_)), "{e:?}");
    }

    #[tokio::test]
    async fn a_full_disk_is_broken_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("full.db");
        let store = SqliteStore::open(path.to_str().unwrap_or_default(), SqliteOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // The writer is one connection: cap its database at its current
        // size, as a full disk would.
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&mut *store.reader().await.unwrap_or_else(|e| panic!("{e}")))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        ok(&store, &format!("PRAGMA max_page_count = {pages}")).await;
        let mut refused = None;
        for i in 0..10_000u64 {
            let charge = Charge {
                id: Uuid::new_v4(),
                code: PaymentCode::from_trusted(format!("{i:012}")),
                service: "passport-2020".into(),
                urgency: None,
                payer: Payer {
                    full_name: "x".repeat(500),
                },
                amount: Money::som(885),
                issued_at: chrono::Utc::now(),
                expires_at: chrono::Utc::now(),
                status: ChargeStatus::Unpaid,
                agency_ref: None,
            };
            let event = Event {
                id: Uuid::new_v4(),
                at: charge.issued_at,
                charge_id: charge.id,
                payment_id: None,
                kind: EventKind::ChargeIssued,
                actor: "system".into(),
                data: serde_json::json!({}),
            };
            if let Err(e) = store.insert_charge(&charge, &event, &[]).await {
                refused = Some((e, charge));
                break;
            }
        }
        let Some((e, charge)) = refused else {
            panic!("the database never filled up")
        };
        assert!(matches!(e, StoreError::Broken(_)), "{e:?}");
        assert!(!e.is_temporary());
        assert!(e.to_string().contains("(13)"), "SQLITE_FULL: {e}");
        assert_eq!(store.charge(charge.id).await, Ok(None), "nothing written");
    }
}
