//! Native errors mapped to the port's error kinds, at the edge.
//!
//! Nothing of `sqlx` leaves this crate: every driver error becomes a
//! [`StoreError`] here (or a [`Failure::Retry`] that the retry loop turns
//! into another attempt). The mapping looks at the **SQLSTATE**
//! (`DatabaseError::code`) and the **constraint name**
//! (`DatabaseError::constraint`), never at the text of a message:
//!
//! - class 23 (integrity) and `P0001` (`raise_exception`): by the constraint
//!   name ([`constraint_kind`]). Our triggers raise `23514` with
//!   `CONSTRAINT = '<rule>'` (`migrations/`), so they are named like CHECK
//!   constraints;
//! - `40001` / `40P01`: nothing was written, the statement may run again
//!   ([`Failure::Retry`], run again by [`retry`]; `Unavailable` once the
//!   attempts are spent);
//! - what passes when the server, the network or the load recovers (class
//!   `08`, `57` except a dropped database, `53300` too many connections,
//!   `55P03`, `40003`, `25P03`, pool and I/O errors): `Unavailable`;
//! - what needs an operator (a full disk or other exhausted resource, class
//!   `53` but `53300`; corruption and internal errors, `XX`; system errors,
//!   `58`; missing privileges, unknown tables or columns, class `42`;
//!   authentication, `28`; a read-only server, `25006`; a row that does not
//!   decode; any SQLSTATE not listed): `Broken`.

use std::borrow::Cow;
use std::future::Future;

use tolom_core::ports::{InvariantKind, StoreError};

/// SQLSTATE of a unique violation.
pub(crate) const UNIQUE_VIOLATION: &str = "23505";

/// The constraint names the adapter gives a meaning to. Unique constraints
/// and indexes, CHECK constraints, and the names our triggers raise with
/// `USING CONSTRAINT` (see `migrations/`), plus the two rules the adapter's
/// own statements raise through `tolom_refuse`.
pub(crate) mod constraint {
    /// Charges: one charge per code.
    pub const CHARGE_CODE: &str = "charges_code_key";
    /// Charges: primary key.
    pub const CHARGE_PKEY: &str = "charges_pkey";
    /// Payments: primary key.
    pub const PAYMENT_PKEY: &str = "payments_pkey";
    /// Payments: at most one in flight per charge (partial unique index).
    pub const ONE_IN_FLIGHT: &str = "payments_one_in_flight";
    /// Payments: at most one succeeded, unrefunded per charge (partial
    /// unique index).
    pub const ONE_PAID: &str = "payments_one_paid";
    /// Payments: created only for an unpaid charge (trigger).
    pub const PAYMENT_CHARGE_PAYABLE: &str = "payments_charge_payable";
    /// Refunds: one refund per (payment, idempotency key).
    pub const REFUND_KEY: &str = "refunds_key";
    /// Editions: primary key (an edition id is never reused).
    pub const TERMS_PKEY: &str = "terms_editions_pkey";
    /// Tokens: unique names.
    pub const TOKEN_NAME: &str = "api_tokens_name_key";
    /// The agency reference a charge of the service holds.
    pub const AGENCY_KEY: &str = "charges_agency_key";
    /// Raised by the payment update when `MarkPaid` finds the charge paid.
    pub const CHARGE_ALREADY_PAID: &str = "charges_already_paid";
    /// Raised by the payment update when `Reopen` finds the charge not paid.
    pub const CHARGE_REOPEN_NOT_PAID: &str = "charges_reopen_not_paid";
    /// Payments made elsewhere: one per (channel, reference).
    pub const EXTERNAL_REFERENCE: &str = "external_payments_reference";
    /// Payments made elsewhere: at most one accepted per charge (partial
    /// unique index).
    pub const ONE_ACCEPTED: &str = "external_payments_one_accepted";
}

/// Every constraint name with a meaning beyond [`InvariantKind::Constraint`]
/// (the rest of class 23 and `P0001` is `Constraint`, with the name in the
/// detail). Kept as data so that a test can check each name exists in the
/// migrations or the adapter's SQL.
pub(crate) const NAMED: &[(&str, Named)] = &[
    (constraint::CHARGE_CODE, Named::DuplicateCode),
    (constraint::CHARGE_PKEY, Named::DuplicateCode),
    (constraint::REFUND_KEY, Named::Conflict),
    (
        constraint::ONE_IN_FLIGHT,
        Named::Kind(InvariantKind::SecondInFlight),
    ),
    (
        constraint::ONE_PAID,
        Named::Kind(InvariantKind::SecondPaidPayment),
    ),
    (
        "payments_refunds_within_total",
        Named::Kind(InvariantKind::RefundsExceedTotal),
    ),
    (
        "payments_refunded_minor_check",
        Named::Kind(InvariantKind::RefundsExceedTotal),
    ),
    (
        "payments_refund_pending_minor_check",
        Named::Kind(InvariantKind::RefundsExceedTotal),
    ),
    (
        "refunds_within_total",
        Named::Kind(InvariantKind::RefundsExceedTotal),
    ),
    (
        "payments_fixed_fields",
        Named::Kind(InvariantKind::ImmutableField),
    ),
    (
        "charges_fixed_fields",
        Named::Kind(InvariantKind::ImmutableField),
    ),
    (
        "refunds_fixed_fields",
        Named::Kind(InvariantKind::ImmutableField),
    ),
    (
        "outbox_payload_fixed",
        Named::Kind(InvariantKind::ImmutableField),
    ),
    (
        constraint::CHARGE_ALREADY_PAID,
        Named::Kind(InvariantKind::ChargeAlreadyPaid),
    ),
    (
        constraint::CHARGE_REOPEN_NOT_PAID,
        Named::Kind(InvariantKind::PaidWithoutPayment),
    ),
    (
        "charges_paid_needs_payment",
        Named::Kind(InvariantKind::PaidWithoutPayment),
    ),
    (
        "charges_paid_stays_paid",
        Named::Kind(InvariantKind::PaidWithoutPayment),
    ),
    (
        "payments_paid_charge",
        Named::Kind(InvariantKind::PaidWithoutPayment),
    ),
    ("events_append_only", Named::Kind(InvariantKind::AppendOnly)),
    (
        "terms_editions_append_only",
        Named::Kind(InvariantKind::AppendOnly),
    ),
    (
        "audit_log_append_only",
        Named::Kind(InvariantKind::AppendOnly),
    ),
    (
        "audit_pending_append_only",
        Named::Kind(InvariantKind::AppendOnly),
    ),
    (
        "audit_checkpoints_append_only",
        Named::Kind(InvariantKind::AppendOnly),
    ),
    ("charges_no_delete", Named::Kind(InvariantKind::AppendOnly)),
    ("payments_no_delete", Named::Kind(InvariantKind::AppendOnly)),
    ("refunds_no_delete", Named::Kind(InvariantKind::AppendOnly)),
    (
        constraint::TERMS_PKEY,
        Named::Kind(InvariantKind::DuplicateEdition),
    ),
    (
        constraint::TOKEN_NAME,
        Named::Kind(InvariantKind::DuplicateToken),
    ),
    (
        constraint::AGENCY_KEY,
        Named::Kind(InvariantKind::DuplicateAgencyRef),
    ),
    (
        "payments_card_is_masked",
        Named::Kind(InvariantKind::UnmaskedCard),
    ),
    (constraint::EXTERNAL_REFERENCE, Named::Conflict),
    (
        constraint::ONE_ACCEPTED,
        Named::Kind(InvariantKind::SecondPaidPayment),
    ),
    (
        "external_payments_card_paid",
        Named::Kind(InvariantKind::SecondPaidPayment),
    ),
    (
        "payments_paid_elsewhere",
        Named::Kind(InvariantKind::ChargeAlreadyPaid),
    ),
    (
        "external_payments_paid_charge",
        Named::Kind(InvariantKind::PaidWithoutPayment),
    ),
    (
        "external_payments_stay_accepted",
        Named::Kind(InvariantKind::PaidWithoutPayment),
    ),
    (
        "external_payments_fixed_fields",
        Named::Kind(InvariantKind::ImmutableField),
    ),
    (
        "external_payments_no_delete",
        Named::Kind(InvariantKind::AppendOnly),
    ),
    (
        "external_payments_recorded_returned",
        Named::Kind(InvariantKind::Constraint),
    ),
];

/// What a named constraint means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Named {
    /// [`StoreError::DuplicateCode`].
    DuplicateCode,
    /// [`StoreError::Conflict`] (a second refund with the same key, a
    /// channel's reference recorded meanwhile: read it again).
    Conflict,
    /// [`StoreError::Invariant`] of this kind.
    Kind(InvariantKind),
}

/// What a named constraint's violation means; unknown names are
/// [`InvariantKind::Constraint`].
pub(crate) fn constraint_kind(name: &str) -> Named {
    NAMED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, k)| *k)
        .unwrap_or(Named::Kind(InvariantKind::Constraint))
}

/// Why [`crate::PostgresStore::connect`] or [`crate::PostgresStore::migrate`]
/// failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL or the options are invalid (retrying will not help).
    #[error("invalid database configuration: {0}")]
    Config(String),
    /// The database could not be reached or refused the session:
    /// [`StoreError::Unavailable`] (retrying may help) or
    /// [`StoreError::Broken`] (wrong credentials, missing privileges, no
    /// such database: an operator must act).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A migration failed, or the database holds migrations that this build
    /// does not know (a newer tolom ran against it).
    #[error("migration failed: {0}")]
    Migrate(String),
}

impl ConnectError {
    /// Whether trying again later may succeed (the server was unreachable
    /// or busy): [`StoreError::is_temporary`] of the store error.
    pub fn is_temporary(&self) -> bool {
        matches!(self, ConnectError::Store(e) if e.is_temporary())
    }

    /// The same as [`ConnectError::is_temporary`] (the older name).
    pub fn is_retryable(&self) -> bool {
        self.is_temporary()
    }
}

/// What went wrong inside one attempt of a statement or transaction.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A transient conflict between transactions (serialization failure,
    /// deadlock): nothing was written; the whole attempt may run again.
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
fn db_code(e: &sqlx::Error) -> Option<(Cow<'_, str>, Option<&str>)> {
    match e {
        sqlx::Error::Database(db) => Some((db.code().unwrap_or_default(), db.constraint())),
        _ => None,
    }
}

/// Whether `e` is a unique violation of `name`.
pub(crate) fn is_unique(e: &sqlx::Error, name: &str) -> bool {
    matches!(db_code(e), Some((code, Some(c))) if code == UNIQUE_VIOLATION && c == name)
}

/// Whether `e` is any unique violation.
pub(crate) fn is_any_unique(e: &sqlx::Error) -> bool {
    matches!(db_code(e), Some((code, _)) if code == UNIQUE_VIOLATION)
}

/// Whether `e` is a refusal by a constraint or a trigger (class 23 or
/// `P0001`): the write would have broken a rule, and nothing was written.
pub(crate) fn is_refusal(e: &sqlx::Error) -> bool {
    matches!(db_code(e), Some((code, _)) if integrity(&code))
}

/// The constraint name of a refusal, if the server named one.
pub(crate) fn constraint_of(e: &sqlx::Error) -> Option<&str> {
    db_code(e).and_then(|(_, c)| c)
}

fn integrity(code: &str) -> bool {
    code.starts_with("23") || code == "P0001"
}

/// Maps a SQLSTATE (and the constraint the server named) to a port error or
/// a retry. `message` is the server's primary message, kept for operators
/// only.
pub(crate) fn classify_code(code: &str, constraint: Option<&str>, message: &str) -> Failure {
    let named = |c: &str| {
        if c.is_empty() {
            format!("{code}: {message}")
        } else {
            format!("{c}: {message}")
        }
    };
    let unavailable = || {
        Failure::Store(StoreError::Unavailable(format!(
            "postgres {code}: {message}"
        )))
    };
    let broken = || Failure::Store(StoreError::Broken(format!("postgres {code}: {message}")));
    let class = code.get(..2).unwrap_or("");
    match code {
        // serialization_failure, deadlock_detected: nothing was written;
        // running the statement or transaction again is safe.
        "40001" | "40P01" => Failure::Retry(format!("postgres {code}: {message}")),
        // statement_completion_unknown (the connection broke at commit),
        // transaction_rollback: the outcome is to be read again.
        "40000" | "40003" => unavailable(),
        // too_many_connections: others will disconnect.
        "53300" => unavailable(),
        // lock_not_available (lock_timeout), object_in_use,
        // idle_in_transaction_session_timeout, transaction_timeout.
        "55P03" | "55006" | "25P03" | "25P04" => unavailable(),
        // database_dropped: an operator's doing.
        "57P04" => broken(),
        // read_only_sql_transaction: a standby, or a server put read-only.
        "25006" => broken(),
        _ if integrity(code) => {
            let c = constraint.unwrap_or("");
            Failure::Store(match constraint_kind(c) {
                Named::DuplicateCode => StoreError::DuplicateCode,
                Named::Conflict => StoreError::Conflict,
                Named::Kind(kind) => StoreError::invariant(kind, named(c)),
            })
        }
        // A data exception (a value out of range, a NUL byte in text): the
        // write is refused as it is; retrying will not help.
        _ if class == "22" => Failure::Store(StoreError::invariant(
            InvariantKind::Constraint,
            named(constraint.unwrap_or("")),
        )),
        // Connection exceptions; operator intervention (admin or crash
        // shutdown, cannot connect now, query cancelled by
        // statement_timeout, idle session timeout).
        _ if class == "08" || class == "57" => unavailable(),
        // Everything else needs an operator: insufficient resources (disk
        // full, out of memory, configuration limits), corruption (XX001,
        // XX002) and internal errors, system and I/O errors (58), missing
        // privileges and unknown objects (42501, 42P01, 42703, ...),
        // authentication (28), an unknown database or schema (3D, 3F),
        // and any SQLSTATE not listed here.
        _ => broken(),
    }
}

/// Maps a driver error to a port error (or a retry). Callers that give a
/// refusal a specific meaning (`create_payment`'s `InFlight`, `Existing`,
/// ...) check for it first.
pub(crate) fn classify(e: &sqlx::Error) -> Failure {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            classify_code(&code, db.constraint(), db.message())
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
        sqlx::Error::BeginFailed => Failure::Store(StoreError::Unavailable(
            "the connection did not enter the transaction".into(),
        )),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => Failure::Store(StoreError::Broken(format!(
            "stored row cannot be read: {e}"
        ))),
        // Configuration, TLS, encoding, migration and unknown driver errors:
        // nothing a retry changes.
        other => Failure::Store(StoreError::Broken(format!("database error: {other}"))),
    }
}

/// How often a statement or transaction that lost a deadlock or a
/// serialization check is run again before the call fails with
/// `Unavailable`.
pub(crate) const TX_ATTEMPTS: usize = 4;

/// Runs one attempt after another while the attempt asks for a retry
/// ([`Failure::Retry`]: a serialization failure or a deadlock, nothing
/// written); after [`TX_ATTEMPTS`] the call fails with the temporary
/// [`StoreError::Unavailable`].
pub(crate) async fn retry<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut last = String::new();
    for _ in 0..TX_ATTEMPTS {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(Failure::Store(e)) => return Err(e),
            Err(Failure::Retry(why)) => last = why,
        }
    }
    Err(StoreError::Unavailable(format!(
        "transaction aborted {TX_ATTEMPTS} times: {last}"
    )))
}

/// [`classify`], with a retry reported as `Unavailable` (for statements
/// outside the retry loop).
pub(crate) fn map(e: sqlx::Error) -> StoreError {
    match classify(&e) {
        Failure::Store(s) => s,
        Failure::Retry(msg) => StoreError::Unavailable(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(code: &str, constraint: Option<&str>) -> StoreError {
        match classify_code(code, constraint, "m") {
            Failure::Store(e) => e,
            Failure::Retry(m) => StoreError::Unavailable(m),
        }
    }

    #[test]
    fn temporary_and_permanent_by_sqlstate() {
        for code in [
            "40001", "40P01", "40003", "08000", "08006", "08001", "08P01", "57P01", "57P02",
            "57P03", "57014", "57P05", "55P03", "53300", "25P03",
        ] {
            let e = mapped(code, None);
            assert!(
                matches!(e, StoreError::Unavailable(_)) && e.is_temporary(),
                "{code}: {e:?}"
            );
        }
        for code in [
            "53100", "53000", "53200", "53400", "XX000", "XX001", "XX002", "58030", "58P01",
            "42501", "42P01", "42703", "42883", "42601", "28P01", "28000", "3D000", "3F000",
            "25006", "57P04", "0A000", "P0002", "F0000", "ZZ999",
        ] {
            let e = mapped(code, None);
            assert!(
                matches!(e, StoreError::Broken(_)) && !e.is_temporary(),
                "{code}: {e:?}"
            );
        }
    }

    #[test]
    fn refusals_by_constraint_name() {
        use InvariantKind::*;
        for (code, name, kind) in [
            ("23505", "payments_one_in_flight", SecondInFlight),
            ("23505", "payments_one_paid", SecondPaidPayment),
            ("23514", "payments_refunds_within_total", RefundsExceedTotal),
            ("23514", "refunds_within_total", RefundsExceedTotal),
            ("23514", "payments_fixed_fields", ImmutableField),
            ("23514", "refunds_fixed_fields", ImmutableField),
            ("23514", "charges_already_paid", ChargeAlreadyPaid),
            ("23514", "charges_paid_stays_paid", PaidWithoutPayment),
            ("23514", "charges_paid_needs_payment", PaidWithoutPayment),
            ("23514", "events_append_only", AppendOnly),
            ("23514", "payments_no_delete", AppendOnly),
            ("23505", "terms_editions_pkey", DuplicateEdition),
            ("23505", "api_tokens_name_key", DuplicateToken),
            ("23514", "payments_card_is_masked", UnmaskedCard),
            ("23505", "external_payments_one_accepted", SecondPaidPayment),
            ("23514", "external_payments_card_paid", SecondPaidPayment),
            ("23514", "payments_paid_elsewhere", ChargeAlreadyPaid),
            ("23514", "external_payments_paid_charge", PaidWithoutPayment),
            (
                "23514",
                "external_payments_stay_accepted",
                PaidWithoutPayment,
            ),
            ("23514", "external_payments_fixed_fields", ImmutableField),
            ("23514", "external_payments_no_delete", AppendOnly),
            ("23514", "external_payments_recorded_returned", Constraint),
            ("23514", "payments_paid_has_approval", Constraint),
            ("23503", "payments_charge_id_fkey", Constraint),
            ("23502", "", Constraint),
            // A trigger that raises the default SQLSTATE is mapped by the
            // constraint it names, like a CHECK.
            ("P0001", "payments_fixed_fields", ImmutableField),
            ("P0001", "someone_elses_rule", Constraint),
            ("22003", "", Constraint),
        ] {
            let e = mapped(code, (!name.is_empty()).then_some(name));
            assert_eq!(e.invariant_kind(), Some(kind), "{code} {name}: {e:?}");
            assert!(!e.is_temporary());
        }
        assert_eq!(
            mapped("23505", Some("charges_code_key")),
            StoreError::DuplicateCode
        );
        assert_eq!(
            mapped("23505", Some("charges_pkey")),
            StoreError::DuplicateCode
        );
        assert_eq!(mapped("23505", Some("refunds_key")), StoreError::Conflict);
        assert_eq!(
            mapped("23505", Some("external_payments_reference")),
            StoreError::Conflict
        );
    }

    #[test]
    fn only_serialization_failures_and_deadlocks_are_retried() {
        assert!(matches!(
            classify_code("40001", None, "x"),
            Failure::Retry(_)
        ));
        assert!(matches!(
            classify_code("40P01", None, "x"),
            Failure::Retry(_)
        ));
        assert!(matches!(
            classify_code("08006", None, "x"),
            Failure::Store(_)
        ));
    }

    #[test]
    fn every_named_constraint_exists_in_the_schema_or_the_adapter() {
        let sql = [
            include_str!("../migrations/0001_init.sql"),
            include_str!("../migrations/0002_history_and_card_guard.sql"),
            include_str!("../migrations/0003_single_statement_writes.sql"),
            include_str!("../migrations/0004_ops.sql"),
            include_str!("../migrations/0005_actors.sql"),
            include_str!("../migrations/0006_audit_sealing.sql"),
            include_str!("../migrations/0007_agency_references.sql"),
            include_str!("../migrations/0008_duplicate_approvals.sql"),
            include_str!("../migrations/0009_external_payments.sql"),
        ]
        .concat();
        // Names PostgreSQL derives (`<table>_pkey`, `<table>_<column>_check`)
        // and the append-only family (`TG_TABLE_NAME || '_append_only'`)
        // are listed with the tables and columns they come from.
        let derived = [
            ("charges_pkey", "CREATE TABLE charges"),
            ("terms_editions_pkey", "CREATE TABLE terms_editions"),
            (
                "payments_refunded_minor_check",
                "refunded_minor       bigint",
            ),
            (
                "payments_refund_pending_minor_check",
                "refund_pending_minor bigint",
            ),
            ("events_append_only", "CREATE TRIGGER events_append_only"),
            (
                "terms_editions_append_only",
                "CREATE TRIGGER terms_editions_append_only",
            ),
            (
                "audit_log_append_only",
                "CREATE TRIGGER audit_log_append_only",
            ),
            (
                "audit_pending_append_only",
                "CREATE TRIGGER audit_pending_append_only",
            ),
            (
                "audit_checkpoints_append_only",
                "CREATE TRIGGER audit_checkpoints_append_only",
            ),
            ("charges_no_delete", "CREATE TRIGGER charges_no_delete"),
            ("payments_no_delete", "CREATE TRIGGER payments_no_delete"),
            ("refunds_no_delete", "CREATE TRIGGER refunds_no_delete"),
            (
                "external_payments_no_delete",
                "CREATE TRIGGER external_payments_no_delete",
            ),
            (constraint::CHARGE_ALREADY_PAID, "tolom_refuse"),
            (constraint::CHARGE_REOPEN_NOT_PAID, "tolom_refuse"),
        ];
        // `prefix` followed by the whole name (not a longer one).
        let declared = |prefix: &str| {
            sql.match_indices(prefix).any(|(i, _)| {
                !sql[i + prefix.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        };
        for (name, _) in NAMED {
            let found = match derived.iter().find(|(n, _)| n == name) {
                Some((_, evidence)) => sql.contains(evidence),
                None => {
                    declared(&format!("CONSTRAINT {name}"))
                        || sql.contains(&format!("CONSTRAINT = '{name}'"))
                        || declared(&format!("INDEX {name}"))
                }
            };
            assert!(found, "{name} is not in the migrations");
        }
    }
}
