//! Translating SQLite and sqlx errors into [`StoreError`] kinds.
//!
//! Only text crosses: nothing of sqlx appears in a `StoreError`'s payload.

use tolom_core::ports::StoreError;

/// SQLite primary result codes (the low byte of an extended code).
mod code {
    pub const BUSY: i32 = 5;
    pub const LOCKED: i32 = 6;
    pub const NOMEM: i32 = 7;
    pub const READONLY: i32 = 8;
    pub const INTERRUPT: i32 = 9;
    pub const IOERR: i32 = 10;
    pub const CORRUPT: i32 = 11;
    pub const FULL: i32 = 13;
    pub const CANTOPEN: i32 = 14;
    pub const PROTOCOL: i32 = 15;
    pub const CONSTRAINT: i32 = 19;
    pub const NOTADB: i32 = 26;
    /// `SQLITE_CONSTRAINT_UNIQUE`.
    pub const CONSTRAINT_UNIQUE: i32 = 2067;
    /// `SQLITE_CONSTRAINT_PRIMARYKEY`.
    pub const CONSTRAINT_PRIMARYKEY: i32 = 1555;
    /// `SQLITE_CONSTRAINT_FOREIGNKEY`.
    pub const CONSTRAINT_FOREIGNKEY: i32 = 787;
}

/// The extended result code and message of a database error.
fn db_error(e: &sqlx::Error) -> Option<(i32, String)> {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(1);
            Some((code, db.message().to_string()))
        }
        _ => None,
    }
}

/// When `e` is a UNIQUE (or primary key) violation, the columns it names,
/// e.g. `payments.charge_id` or `refunds.payment_id, refunds.idempotency_key`.
pub(crate) fn unique_violation(e: &sqlx::Error) -> Option<String> {
    let (code, message) = db_error(e)?;
    if code != code::CONSTRAINT_UNIQUE && code != code::CONSTRAINT_PRIMARYKEY {
        return None;
    }
    Some(
        message
            .strip_prefix("UNIQUE constraint failed: ")
            .unwrap_or(&message)
            .to_string(),
    )
}

/// Whether `e` is a FOREIGN KEY violation.
pub(crate) fn foreign_key_violation(e: &sqlx::Error) -> bool {
    db_error(e).is_some_and(|(code, _)| code == code::CONSTRAINT_FOREIGNKEY)
}

/// The general mapping.
///
/// - constraint violations (CHECK, UNIQUE, FOREIGN KEY, NOT NULL, the
///   schema's `RAISE(ABORT)` triggers) → [`StoreError::Invariant`];
/// - busy, locked, I/O, read-only, cannot open, disk full, no memory,
///   corrupt, a closed or exhausted pool, a crashed worker →
///   [`StoreError::Unavailable`] (nothing was written; retrying may help);
/// - rows that cannot be decoded → [`StoreError::Invariant`].
pub(crate) fn map(e: sqlx::Error) -> StoreError {
    if let Some((code, message)) = db_error(&e) {
        return match code & 0xff {
            code::CONSTRAINT => StoreError::Invariant(message),
            code::BUSY | code::LOCKED => {
                StoreError::Unavailable(format!("database busy: {message}"))
            }
            code::IOERR
            | code::READONLY
            | code::CANTOPEN
            | code::FULL
            | code::NOMEM
            | code::INTERRUPT
            | code::PROTOCOL
            | code::CORRUPT
            | code::NOTADB => StoreError::Unavailable(format!("database error {code}: {message}")),
            _ => StoreError::Unavailable(format!("database error {code}: {message}")),
        };
    }
    match e {
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("timed out waiting for a database connection".into())
        }
        sqlx::Error::PoolClosed => StoreError::Unavailable("the store is closed".into()),
        sqlx::Error::WorkerCrashed => StoreError::Unavailable("the database worker stopped".into()),
        sqlx::Error::Io(io) => StoreError::Unavailable(format!("database i/o: {io}")),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => {
            StoreError::Invariant(format!("unreadable stored row: {e}"))
        }
        sqlx::Error::Migrate(m) => StoreError::Invariant(format!("migration refused: {m}")),
        other => StoreError::Unavailable(format!("database error: {other}")),
    }
}

/// A stored value that does not decode.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Invariant(format!("unreadable stored {what}: {detail}"))
}

/// Migration errors: a database the program cannot reach is
/// `Unavailable`; a database migrated by a newer tolom, or an applied
/// migration that was edited, is refused as `Invariant`.
pub(crate) fn map_migrate(e: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError;
    match e {
        MigrateError::Execute(inner) => map(inner),
        MigrateError::ExecuteMigration(inner, version) => match map(inner) {
            StoreError::Invariant(m) => {
                StoreError::Invariant(format!("migration {version} failed: {m}"))
            }
            other => other,
        },
        other => StoreError::Invariant(format!("migrations refused: {other}")),
    }
}
