//! Native errors mapped to the port's error kinds, at the edge.
//!
//! Nothing of `sqlx` leaves this crate: every driver error becomes a
//! [`StoreError`] here (or a [`Failure::Retry`] that the transaction loop
//! turns into another attempt).

use tolom_core::ports::StoreError;

/// SQLSTATE of a unique violation.
pub(crate) const UNIQUE_VIOLATION: &str = "23505";

/// The unique constraints and indexes the adapter maps by name.
pub(crate) mod constraint {
    /// Charges: one charge per code.
    pub const CHARGE_CODE: &str = "charges_code_key";
    /// Charges: primary key.
    pub const CHARGE_PKEY: &str = "charges_pkey";
    /// Payments: primary key.
    pub const PAYMENT_PKEY: &str = "payments_pkey";
    /// Payments: created only for an unpaid charge (trigger).
    pub const PAYMENT_CHARGE_PAYABLE: &str = "payments_charge_payable";
    /// Refunds: one refund per (payment, idempotency key).
    pub const REFUND_KEY: &str = "refunds_key";
}

/// What went wrong inside one attempt of a transaction.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A transient conflict between transactions (serialization failure,
    /// deadlock): nothing was written; the whole transaction may be run
    /// again.
    Retry(String),
    /// A final answer for the caller.
    Store(StoreError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        classify(&e)
    }
}

/// The SQLSTATE and constraint of a database error, if it is one.
pub(crate) fn db_code(e: &sqlx::Error) -> Option<(String, Option<String>)> {
    match e {
        sqlx::Error::Database(db) => Some((
            db.code().map(|c| c.into_owned()).unwrap_or_default(),
            db.constraint().map(str::to_string),
        )),
        _ => None,
    }
}

/// Whether `e` is a unique violation of `name`.
pub(crate) fn is_unique(e: &sqlx::Error, name: &str) -> bool {
    matches!(db_code(e), Some((code, Some(c))) if code == UNIQUE_VIOLATION && c == name)
}

/// Whether `e` is a check violation (or a trigger's refusal) of `name`.
pub(crate) fn is_check(e: &sqlx::Error, name: &str) -> bool {
    matches!(db_code(e), Some((code, Some(c))) if code == "23514" && c == name)
}

/// Whether `e` is any unique violation.
pub(crate) fn is_any_unique(e: &sqlx::Error) -> bool {
    matches!(db_code(e), Some((code, _)) if code == UNIQUE_VIOLATION)
}

/// Maps a driver error to a port error (or a retry), with the generic
/// rules. Callers that give a unique violation a specific meaning
/// (`DuplicateCode`, `InFlight`, `Existing`) check for it first.
pub(crate) fn classify(e: &sqlx::Error) -> Failure {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let constraint = db.constraint().unwrap_or("");
            let message = db.message();
            match code.as_str() {
                // serialization_failure, deadlock_detected: nothing was
                // written; running the transaction again is safe.
                "40001" | "40P01" => Failure::Retry(format!("{code}: {message}")),
                UNIQUE_VIOLATION
                    if constraint == constraint::CHARGE_CODE
                        || constraint == constraint::CHARGE_PKEY =>
                {
                    Failure::Store(StoreError::DuplicateCode)
                }
                UNIQUE_VIOLATION if constraint == constraint::REFUND_KEY => {
                    Failure::Store(StoreError::Conflict)
                }
                // Other unique violations (a second paid payment, a second
                // payment in flight on update, a reused edition id), check
                // violations (refunds above the total, fixed fields, the
                // charge rules: raised by triggers as 23514), foreign keys
                // and not-null: the write would break an invariant.
                c if c.starts_with("23") => {
                    Failure::Store(StoreError::Invariant(if constraint.is_empty() {
                        message.to_string()
                    } else {
                        format!("{constraint}: {message}")
                    }))
                }
                // Class 08 connection exception, 53 insufficient resources
                // (too many connections, disk full), 57 operator
                // intervention (admin shutdown 57P01, crash shutdown,
                // cannot connect now, query cancelled), 55P03 lock not
                // available, 40003 statement completion unknown, 25P03 idle
                // in transaction timeout.
                c if c.starts_with("08")
                    || c.starts_with("53")
                    || c.starts_with("57")
                    || c == "55P03"
                    || c == "40003"
                    || c == "25P03" =>
                {
                    Failure::Store(StoreError::Unavailable(format!(
                        "postgres {code}: {message}"
                    )))
                }
                _ => Failure::Store(StoreError::Unavailable(format!(
                    "postgres {code}: {message}"
                ))),
            }
        }
        sqlx::Error::RowNotFound => Failure::Store(StoreError::NotFound),
        sqlx::Error::PoolTimedOut => Failure::Store(StoreError::Unavailable(
            "timed out waiting for a database connection".into(),
        )),
        sqlx::Error::PoolClosed => Failure::Store(StoreError::Unavailable(
            "the connection pool is closed".into(),
        )),
        sqlx::Error::Io(io) => Failure::Store(StoreError::Unavailable(format!(
            "connection to the database failed: {io}"
        ))),
        sqlx::Error::Protocol(p) => Failure::Store(StoreError::Unavailable(format!(
            "database protocol error (connection lost?): {p}"
        ))),
        sqlx::Error::WorkerCrashed => {
            Failure::Store(StoreError::Unavailable("database worker crashed".into()))
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => Failure::Store(StoreError::Invariant(format!(
            "stored row cannot be read: {e}"
        ))),
        other => Failure::Store(StoreError::Unavailable(format!("database error: {other}"))),
    }
}

/// [`classify`], with a retry reported as `Unavailable` (for single
/// statements outside the retry loop).
pub(crate) fn map(e: sqlx::Error) -> StoreError {
    match classify(&e) {
        Failure::Store(s) => s,
        Failure::Retry(msg) => StoreError::Unavailable(msg),
    }
}
