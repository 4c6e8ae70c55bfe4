//! [`SqliteStore`]: the pools, opening and migrating, and every storage
//! port.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Sqlite, Transaction};
use tolom_core::charge::{Charge, ChargeStatus, Payer};
use tolom_core::code::PaymentCode;
use tolom_core::i18n::{ErrorCode, Language};
use tolom_core::events::Event;
use tolom_core::outbox::{OutboxMessage, OutboxPayload, OutboxStatus};
use tolom_core::payment::{DeclineReason, Payment, PaymentState, Refund, RefundState};
use tolom_core::ports::{
    ChargeChange, ChargeQuery, ChargeStore, CreateOutcome, EventLog, OutboxStore, PaymentQuery,
    PaymentStore, PaymentUpdate, StoreError, TermsStore,
};
use tolom_core::terms::TermsEdition;
use uuid::Uuid;

use crate::codec::*;
use crate::error::{corrupt, foreign_key_violation, map, map_migrate, unique_violation};
use crate::options::{Durability, SqliteOptions};

/// The embedded, versioned, forward-only migrations
/// (`crates/tolom-store-sqlite/migrations/`).
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Storage on SQLite: every storage port of the core, so an
/// `Arc<SqliteStore>` is an `Arc<dyn tolom_core::ports::Store>`.
///
/// **Write discipline.** All write transactions go through one writer
/// connection (a pool of size 1) and start with `BEGIN IMMEDIATE`, so within
/// a process writers queue in the pool instead of meeting `SQLITE_BUSY`,
/// and a transaction that reads before it writes never has to upgrade its
/// lock. Look-ups and lists use a pool of read-only connections, which in
/// WAL mode never block the writer and are never blocked by it. Several
/// processes on one file still work: `BEGIN IMMEDIATE` takes SQLite's write
/// lock, and the busy timeout makes them wait their turn.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tolom_store_sqlite::{SqliteOptions, SqliteStore};
/// let dir = std::env::temp_dir().join(format!("tolom-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let store = SqliteStore::open(dir.join("tolom.db").to_str().unwrap(), SqliteOptions::default())
///     .await
///     .unwrap();
/// assert_eq!(store.schema_version().await.unwrap(), Some(SqliteStore::latest_schema_version()));
/// store.close().await;
/// # std::fs::remove_dir_all(&dir).ok();
/// # });
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    location: String,
    commits: Arc<AtomicU64>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

fn is_memory(location: &str) -> bool {
    location == ":memory:"
        || location == "sqlite::memory:"
        || location.contains("mode=memory")
        || location
            .trim_start_matches("sqlite:")
            .starts_with(":memory:")
}

impl SqliteStore {
    /// Opens (creating it if allowed) the database at `location` — a file
    /// path, or a `sqlite:` URL such as `sqlite:///var/lib/tolom/tolom.db`
    /// or `sqlite://data/tolom.db?mode=rwc` — in WAL mode with the
    /// durability, busy timeout and foreign keys of `options`, and runs the
    /// pending migrations.
    ///
    /// Fails with [`StoreError::Unavailable`] when the file cannot be opened
    /// (missing directory, permissions, not a database), and with
    /// [`StoreError::Invariant`] when the database was migrated by a newer
    /// tolom (an applied migration this build does not know) or an applied
    /// migration was edited.
    pub async fn open(location: &str, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        if is_memory(location) {
            return SqliteStore::in_memory().await;
        }
        let base = if location.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(location)
                .map_err(|e| StoreError::Unavailable(format!("bad database location: {e}")))?
        } else {
            SqliteConnectOptions::new().filename(location)
        };
        let base = base
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout)
            .synchronous(match options.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .disable_statement_logging();
        let writer_options = base
            .clone()
            .create_if_missing(options.create_if_missing)
            .journal_mode(SqliteJournalMode::Wal);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(options.acquire_timeout)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(writer_options)
            .await
            .map_err(map)?;
        MIGRATOR.run(&writer).await.map_err(map_migrate)?;
        let readers = SqlitePoolOptions::new()
            .max_connections(options.readers.max(1))
            .min_connections(0)
            .acquire_timeout(options.acquire_timeout)
            .test_before_acquire(false)
            .connect_with(base.read_only(true))
            .await
            .map_err(map)?;
        Ok(SqliteStore {
            writer,
            readers,
            location: location.to_string(),
            commits: Arc::default(),
        })
    }

    /// A fresh private database in memory, migrated: for tests. One
    /// connection serves reads and writes (an in-memory database lives in
    /// its connection).
    pub async fn in_memory() -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(":memory:")
            .foreign_keys(true)
            .disable_statement_logging();
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(map)?;
        MIGRATOR.run(&pool).await.map_err(map_migrate)?;
        Ok(SqliteStore {
            readers: pool.clone(),
            writer: pool,
            location: ":memory:".into(),
            commits: Arc::default(),
        })
    }

    /// Runs the migrations not yet applied (idempotent; [`SqliteStore::open`]
    /// already does it). Migrations are forward-only: there is no down
    /// migration.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.writer).await.map_err(map_migrate)
    }

    /// The newest migration applied to the database, if any.
    pub async fn schema_version(&self) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1",
        )
        .fetch_one(&self.readers)
        .await
        .map_err(map)
    }

    /// The newest migration this build knows.
    pub fn latest_schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// Where the database is, as given to [`SqliteStore::open`].
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Write transactions committed through this store (and its clones)
    /// since it was opened: for metrics and for the benchmark's
    /// commits-per-payment figure.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Closes every connection (after the calls in progress end). Calls
    /// made afterwards fail with [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.writer.close().await;
        self.readers.close().await;
    }

    /// Starts a write transaction on the writer connection, taking SQLite's
    /// write lock at once (`BEGIN IMMEDIATE`).
    pub(crate) async fn write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(map)
    }
}

impl SqliteStore {
    /// The read-only pool.
    pub(crate) fn readers(&self) -> &SqlitePool {
        &self.readers
    }

    pub(crate) async fn commit(&self, tx: Transaction<'static, Sqlite>) -> Result<(), StoreError> {
        tx.commit().await.map_err(map)?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

const CHARGE_COLUMNS: &str = "id, code, service, urgency, payer_name, currency, amount_minor, \
     issued_at, expires_at, status, agency_ref";

fn charge_from(row: &SqliteRow) -> Result<Charge, StoreError> {
    let status = row.text("status")?;
    Ok(Charge {
        id: parse_id(&row.text("id")?)?,
        code: PaymentCode::from_trusted(row.text("code")?),
        service: row.text("service")?,
        urgency: row.opt_text("urgency")?,
        payer: Payer {
            full_name: row.text("payer_name")?,
        },
        amount: money(row.int("amount_minor")?, currency(&row.text("currency")?)?)?,
        issued_at: parse_ts(&row.text("issued_at")?)?,
        expires_at: parse_ts(&row.text("expires_at")?)?,
        status: ChargeStatus::parse(&status).ok_or_else(|| corrupt("charge status", status))?,
        agency_ref: row.opt_text("agency_ref")?,
    })
}

/// Payment columns in binding order (`?1` … `?29`).
const PAYMENT_FIELDS: [&str; 29] = [
    "id",
    "charge_id",
    "code",
    "service",
    "currency",
    "amount_minor",
    "fee_minor",
    "total_minor",
    "state",
    "version",
    "created_at",
    "updated_at",
    "expires_at",
    "terms_edition",
    "language",
    "start_key",
    "submit_key",
    "card",
    "contact",
    "acquirer",
    "acquirer_ref",
    "approval",
    "decline_reason",
    "failure",
    "challenge",
    "refunded_minor",
    "refund_pending_minor",
    "succeeded_at",
    "receipt_number",
];

static PAYMENT_COLUMNS: LazyLock<String> = LazyLock::new(|| PAYMENT_FIELDS.join(", "));

static INSERT_PAYMENT: LazyLock<String> = LazyLock::new(|| {
    let params: Vec<String> = (1..=PAYMENT_FIELDS.len())
        .map(|i| format!("?{i}"))
        .collect();
    format!(
        "INSERT INTO payments ({}) VALUES ({})",
        PAYMENT_FIELDS.join(", "),
        params.join(", ")
    )
});

/// Every column but `id` is set (so that the schema's triggers see an
/// attempt to change a fixed one); `?30` is the expected stored version.
static UPDATE_PAYMENT: LazyLock<String> = LazyLock::new(|| {
    let sets: Vec<String> = PAYMENT_FIELDS
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, c)| format!("{c} = ?{}", i + 1))
        .collect();
    format!(
        "UPDATE payments SET {} WHERE id = ?1 AND version = ?{}",
        sets.join(", "),
        PAYMENT_FIELDS.len() + 1
    )
});

/// A payment as stored.
struct PaymentRecord {
    id: String,
    charge_id: String,
    code: String,
    service: String,
    currency: &'static str,
    amount: i64,
    fee: i64,
    total: i64,
    state: &'static str,
    version: i64,
    created_at: String,
    updated_at: String,
    expires_at: String,
    terms_edition: String,
    language: &'static str,
    start_key: String,
    submit_key: Option<String>,
    card: Option<String>,
    contact: Option<String>,
    acquirer: Option<String>,
    acquirer_ref: Option<String>,
    approval: Option<String>,
    decline_reason: Option<&'static str>,
    failure: Option<String>,
    challenge: Option<String>,
    refunded: i64,
    refund_pending: i64,
    succeeded_at: Option<String>,
    receipt_number: Option<String>,
}

type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

impl PaymentRecord {
    fn encode(p: &Payment) -> Result<PaymentRecord, StoreError> {
        let currency = same_currency(&[p.amount(), p.fee(), p.total(), p.refunded(), p.refund_pending()])?;
        Ok(PaymentRecord {
            id: id(p.id()),
            charge_id: id(p.charge_id()),
            code: p.code().as_str().to_string(),
            service: p.service().clone(),
            currency: currency.code(),
            amount: minor(p.amount())?,
            fee: minor(p.fee())?,
            total: minor(p.total())?,
            state: p.state().as_str(),
            version: i64::try_from(p.version())
                .map_err(|_| StoreError::Invariant("version out of range".into()))?,
            created_at: ts(p.created_at()),
            updated_at: ts(p.updated_at()),
            expires_at: ts(p.expires_at()),
            terms_edition: p.terms_edition().clone(),
            language: p.language().tag(),
            start_key: p.start_key().clone(),
            submit_key: p.submit_key().map(str::to_string),
            card: opt_json(&p.card())?,
            contact: opt_json(&p.contact())?,
            acquirer: p.acquirer().map(str::to_string),
            acquirer_ref: p.acquirer_ref().map(str::to_string),
            approval: opt_json(&p.approval())?,
            decline_reason: p.decline_reason().map(|r| r.code()),
            failure: p.failure().map(str::to_string),
            challenge: opt_json(&p.challenge())?,
            refunded: minor(p.refunded())?,
            refund_pending: minor(p.refund_pending())?,
            succeeded_at: p.succeeded_at().map(ts),
            receipt_number: p.receipt_number().map(str::to_string),
        })
    }

    fn bind<'q>(self, q: SqliteQuery<'q>) -> SqliteQuery<'q> {
        q.bind(self.id)
            .bind(self.charge_id)
            .bind(self.code)
            .bind(self.service)
            .bind(self.currency)
            .bind(self.amount)
            .bind(self.fee)
            .bind(self.total)
            .bind(self.state)
            .bind(self.version)
            .bind(self.created_at)
            .bind(self.updated_at)
            .bind(self.expires_at)
            .bind(self.terms_edition)
            .bind(self.language)
            .bind(self.start_key)
            .bind(self.submit_key)
            .bind(self.card)
            .bind(self.contact)
            .bind(self.acquirer)
            .bind(self.acquirer_ref)
            .bind(self.approval)
            .bind(self.decline_reason)
            .bind(self.failure)
            .bind(self.challenge)
            .bind(self.refunded)
            .bind(self.refund_pending)
            .bind(self.succeeded_at)
            .bind(self.receipt_number)
    }
}

fn payment_from(row: &SqliteRow) -> Result<Payment, StoreError> {
    let cur = currency(&row.text("currency")?)?;
    let state = row.text("state")?;
    let language = row.text("language")?;
    let version = row.int("version")?;
    let card: Option<tolom_core::card::CardSummary> = row
        .opt_text("card")?
        .map(|s| from_json("card summary", &s))
        .transpose()?;
    // Defence in depth: never hand out a stored value that shows a PAN.
    if let Some(c) = &card {
        if tolom_core::card::MaskedPan::from_stored(c.masked_pan.as_str()).is_none() {
            return Err(corrupt("card summary", "not masked"));
        }
    }
    Ok(Payment {
        id: parse_id(&row.text("id")?)?,
        charge_id: parse_id(&row.text("charge_id")?)?,
        code: PaymentCode::from_trusted(row.text("code")?),
        service: row.text("service")?,
        amount: money(row.int("amount_minor")?, cur)?,
        fee: money(row.int("fee_minor")?, cur)?,
        total: money(row.int("total_minor")?, cur)?,
        state: PaymentState::parse(&state).ok_or_else(|| corrupt("payment state", &state))?,
        version: u64::try_from(version).map_err(|_| corrupt("version", version))?,
        created_at: parse_ts(&row.text("created_at")?)?,
        updated_at: parse_ts(&row.text("updated_at")?)?,
        expires_at: parse_ts(&row.text("expires_at")?)?,
        terms_edition: row.text("terms_edition")?,
        language: Language::from_str(&language).map_err(|e| corrupt("language", e))?,
        start_key: row.text("start_key")?,
        submit_key: row.opt_text("submit_key")?,
        card,
        contact: row
            .opt_text("contact")?
            .map(|s| from_json("contact", &s))
            .transpose()?,
        acquirer: row.opt_text("acquirer")?,
        acquirer_ref: row.opt_text("acquirer_ref")?,
        approval: row
            .opt_text("approval")?
            .map(|s| from_json("approval", &s))
            .transpose()?,
        decline_reason: row
            .opt_text("decline_reason")?
            .map(|s| DeclineReason::from_code(&s).ok_or_else(|| corrupt("decline reason", s)))
            .transpose()?,
        failure: row.opt_text("failure")?,
        challenge: row
            .opt_text("challenge")?
            .map(|s| from_json("challenge", &s))
            .transpose()?,
        refunded: money(row.int("refunded_minor")?, cur)?,
        refund_pending: money(row.int("refund_pending_minor")?, cur)?,
        succeeded_at: row
            .opt_text("succeeded_at")?
            .map(|s| parse_ts(&s))
            .transpose()?,
        receipt_number: row.opt_text("receipt_number")?,
    })
}

const REFUND_COLUMNS: &str = "id, payment_id, currency, amount_minor, reason, state, \
     idempotency_key, created_at, updated_at, failure";

fn refund_from(row: &SqliteRow) -> Result<Refund, StoreError> {
    let state = row.text("state")?;
    Ok(Refund {
        id: parse_id(&row.text("id")?)?,
        payment_id: parse_id(&row.text("payment_id")?)?,
        amount: money(row.int("amount_minor")?, currency(&row.text("currency")?)?)?,
        reason: row.text("reason")?,
        state: RefundState::parse(&state).ok_or_else(|| corrupt("refund state", state))?,
        idempotency_key: row.text("idempotency_key")?,
        created_at: parse_ts(&row.text("created_at")?)?,
        updated_at: parse_ts(&row.text("updated_at")?)?,
        failure: row.opt_text("failure")?,
    })
}

const EVENT_COLUMNS: &str = "id, at, charge_id, payment_id, kind, data";

fn event_from(row: &SqliteRow) -> Result<Event, StoreError> {
    Ok(Event {
        id: parse_id(&row.text("id")?)?,
        at: parse_ts(&row.text("at")?)?,
        charge_id: parse_id(&row.text("charge_id")?)?,
        payment_id: row
            .opt_text("payment_id")?
            .map(|s| parse_id(&s))
            .transpose()?,
        kind: row.text("kind")?,
        data: from_json("event data", &row.text("data")?)?,
    })
}

const OUTBOX_COLUMNS: &str = "seq, id, created_at, payload, status, attempts, next_attempt_at, \
     lease_until, last_error, delivered_at";

fn outbox_from(row: &SqliteRow) -> Result<OutboxMessage, StoreError> {
    let status = row.text("status")?;
    let attempts = row.int("attempts")?;
    let payload: OutboxPayload = payload_from(&row.text("payload")?)?;
    Ok(OutboxMessage {
        id: parse_id(&row.text("id")?)?,
        created_at: parse_ts(&row.text("created_at")?)?,
        payload,
        status: OutboxStatus::parse(&status).ok_or_else(|| corrupt("outbox status", status))?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts", attempts))?,
        next_attempt_at: parse_ts(&row.text("next_attempt_at")?)?,
        lease_until: row
            .opt_text("lease_until")?
            .map(|s| parse_ts(&s))
            .transpose()?,
        last_error: row.opt_text("last_error")?,
        delivered_at: row
            .opt_text("delivered_at")?
            .map(|s| parse_ts(&s))
            .transpose()?,
    })
}

const TERMS_COLUMNS: &str =
    "id, published_at, effective_at, last_changed, text_ky, text_ru, text_en";

fn terms_from(row: &SqliteRow) -> Result<TermsEdition, StoreError> {
    Ok(TermsEdition {
        id: row.text("id")?,
        published_at: parse_ts(&row.text("published_at")?)?,
        effective_at: parse_ts(&row.text("effective_at")?)?,
        last_changed: parse_date(&row.text("last_changed")?)?,
        text_ky: row.text("text_ky")?,
        text_ru: row.text("text_ru")?,
        text_en: row.text("text_en")?,
    })
}

fn limit_of(limit: usize) -> i64 {
    if limit == 0 {
        -1 // SQLite: a negative LIMIT means none
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    }
}

// ---------------------------------------------------------------------------
// Writes shared by several ports
// ---------------------------------------------------------------------------

async fn insert_event(
    tx: &mut Transaction<'static, Sqlite>,
    event: &Event,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO events (id, at, charge_id, payment_id, kind, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(id(event.id))
    .bind(ts(event.at))
    .bind(id(event.charge_id))
    .bind(event.payment_id.map(id))
    .bind(&event.kind)
    .bind(to_json(&event.data)?)
    .execute(&mut **tx)
    .await
    .map_err(map)?;
    // The same event goes into the tamper-evident audit chain, in the same
    // transaction (the `OpsStore` contract).
    let subject = id(event.payment_id.unwrap_or(event.charge_id));
    crate::ops::append_in(
        tx,
        event.at,
        "system",
        &event.kind,
        &subject,
        event.data.clone(),
    )
    .await?;
    Ok(())
}

async fn insert_outbox(
    tx: &mut Transaction<'static, Sqlite>,
    m: &OutboxMessage,
) -> Result<(), StoreError> {
    let channel = match m.payload.channel() {
        tolom_core::outbox::Channel::Email => "email",
        tolom_core::outbox::Channel::Webhook => "webhook",
    };
    sqlx::query(
        "INSERT INTO outbox (id, created_at, channel, payload, status, attempts, \
         next_attempt_at, lease_until, lease_owner, last_error, delivered_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9, ?10)",
    )
    .bind(id(m.id))
    .bind(ts(m.created_at))
    .bind(channel)
    .bind(payload_json(&m.payload)?)
    .bind(m.status.as_str())
    .bind(i64::from(m.attempts))
    .bind(ts(m.next_attempt_at))
    .bind(m.lease_until.map(ts))
    .bind(&m.last_error)
    .bind(m.delivered_at.map(ts))
    .execute(&mut **tx)
    .await
    .map_err(map)?;
    Ok(())
}

async fn upsert_refund(
    tx: &mut Transaction<'static, Sqlite>,
    r: &Refund,
) -> Result<(), StoreError> {
    let result = sqlx::query(
        "INSERT INTO refunds (id, payment_id, currency, amount_minor, reason, state, \
         idempotency_key, created_at, updated_at, failure) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (id) DO UPDATE SET payment_id = excluded.payment_id, \
         currency = excluded.currency, amount_minor = excluded.amount_minor, \
         reason = excluded.reason, state = excluded.state, \
         idempotency_key = excluded.idempotency_key, created_at = excluded.created_at, \
         updated_at = excluded.updated_at, failure = excluded.failure",
    )
    .bind(id(r.id))
    .bind(id(r.payment_id))
    .bind(r.amount.currency().code())
    .bind(minor(r.amount)?)
    .bind(&r.reason)
    .bind(r.state.as_str())
    .bind(&r.idempotency_key)
    .bind(ts(r.created_at))
    .bind(ts(r.updated_at))
    .bind(&r.failure)
    .execute(&mut **tx)
    .await;
    match result {
        Ok(_) => Ok(()),
        // Another refund of the payment already has this idempotency key.
        Err(e) if unique_violation(&e).is_some_and(|c| c.contains("idempotency_key")) => {
            Err(StoreError::Conflict)
        }
        Err(e) => Err(map(e)),
    }
}

// ---------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------

#[async_trait]
impl ChargeStore for SqliteStore {
    async fn insert_charge(&self, charge: &Charge, event: &Event) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let inserted = sqlx::query(
            "INSERT INTO charges (id, code, service, urgency, payer_name, currency, \
             amount_minor, issued_at, expires_at, status, agency_ref) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .bind(id(charge.id))
        .bind(charge.code.as_str())
        .bind(&charge.service)
        .bind(&charge.urgency)
        .bind(&charge.payer.full_name)
        .bind(charge.amount.currency().code())
        .bind(minor(charge.amount)?)
        .bind(ts(charge.issued_at))
        .bind(ts(charge.expires_at))
        .bind(charge.status.as_str())
        .bind(&charge.agency_ref)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if unique_violation(&e).is_some() => return Err(StoreError::DuplicateCode),
            Err(e) => return Err(map(e)),
        }
        insert_event(&mut tx, event).await?;
        self.commit(tx).await
    }

    async fn charge_by_code(&self, code: &PaymentCode) -> Result<Option<Charge>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHARGE_COLUMNS} FROM charges WHERE code = ?1"
        ))
        .bind(code.as_str())
        .fetch_optional(&self.readers)
        .await
        .map_err(map)?
        .as_ref()
        .map(charge_from)
        .transpose()
    }

    async fn charge(&self, charge_id: Uuid) -> Result<Option<Charge>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHARGE_COLUMNS} FROM charges WHERE id = ?1"
        ))
        .bind(id(charge_id))
        .fetch_optional(&self.readers)
        .await
        .map_err(map)?
        .as_ref()
        .map(charge_from)
        .transpose()
    }

    async fn set_charge_status(
        &self,
        charge_id: Uuid,
        from: ChargeStatus,
        to: ChargeStatus,
        event: &Event,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        // The schema's triggers refuse leaving Paid while a paid payment
        // exists, and entering Paid without one.
        let done = sqlx::query("UPDATE charges SET status = ?1 WHERE id = ?2 AND status = ?3")
            .bind(to.as_str())
            .bind(id(charge_id))
            .bind(from.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map)?;
        if done.rows_affected() == 0 {
            let exists = sqlx::query_scalar::<_, i64>("SELECT 1 FROM charges WHERE id = ?1")
                .bind(id(charge_id))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
            return Err(if exists.is_some() {
                StoreError::Conflict
            } else {
                StoreError::ChargeNotFound
            });
        }
        insert_event(&mut tx, event).await?;
        self.commit(tx).await
    }

    async fn list_charges(&self, q: &ChargeQuery) -> Result<Vec<Charge>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHARGE_COLUMNS} FROM charges \
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR expires_at < ?2) \
             ORDER BY expires_at, id LIMIT ?3"
        ))
        .bind(q.status.map(|s| s.as_str()))
        .bind(q.expires_before.map(ts))
        .bind(limit_of(q.limit))
        .fetch_all(&self.readers)
        .await
        .map_err(map)?
        .iter()
        .map(charge_from)
        .collect()
    }
}

/// The payment of a charge that is in flight (used after the partial
/// unique index refused a second one).
async fn in_flight_of(
    tx: &mut Transaction<'static, Sqlite>,
    charge_id: &str,
) -> Result<Option<Uuid>, StoreError> {
    sqlx::query_scalar::<_, String>(
        "SELECT id FROM payments WHERE charge_id = ?1 \
         AND state IN ('created', 'authorizing', 'action_required', 'unknown')",
    )
    .bind(charge_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(map)?
    .map(|s| parse_id(&s))
    .transpose()
}

async fn payment_by_start_key(
    tx: &mut Transaction<'static, Sqlite>,
    key: &str,
) -> Result<Option<Payment>, StoreError> {
    sqlx::query(&format!(
        "SELECT {} FROM payments WHERE start_key = ?1",
        *PAYMENT_COLUMNS
    ))
    .bind(key)
    .fetch_optional(&mut **tx)
    .await
    .map_err(map)?
    .as_ref()
    .map(payment_from)
    .transpose()
}

#[async_trait]
impl PaymentStore for SqliteStore {
    async fn create_payment(
        &self,
        payment: &Payment,
        events: &[Event],
    ) -> Result<CreateOutcome, StoreError> {
        let record = PaymentRecord::encode(payment)?;
        let charge_id = record.charge_id.clone();
        let mut tx = self.write().await?;
        if let Some(existing) = payment_by_start_key(&mut tx, &payment.start_key()).await? {
            return Ok(CreateOutcome::Existing(Box::new(existing)));
        }
        let status = sqlx::query_scalar::<_, String>("SELECT status FROM charges WHERE id = ?1")
            .bind(&charge_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map)?
            .ok_or(StoreError::ChargeNotFound)?;
        let status =
            ChargeStatus::parse(&status).ok_or_else(|| corrupt("charge status", status))?;
        if status != ChargeStatus::Unpaid {
            return Err(StoreError::ChargeNotPayable(status));
        }
        // The partial unique index `payments_one_in_flight` takes the
        // one-in-flight rule atomically.
        let inserted = record
            .bind(sqlx::query(INSERT_PAYMENT.as_str()))
            .execute(&mut *tx)
            .await;
        if let Err(e) = inserted {
            return Err(match unique_violation(&e) {
                Some(cols) if cols == "payments.charge_id" => {
                    match in_flight_of(&mut tx, &charge_id).await? {
                        Some(payment_id) => StoreError::InFlight { payment_id },
                        None => StoreError::Invariant("charge already has a paid payment".into()),
                    }
                }
                Some(cols) if cols == "payments.start_key" => {
                    return match payment_by_start_key(&mut tx, &payment.start_key()).await? {
                        Some(p) => Ok(CreateOutcome::Existing(Box::new(p))),
                        None => Err(StoreError::Conflict),
                    }
                }
                Some(cols) => StoreError::Invariant(format!("duplicate {cols}")),
                None if foreign_key_violation(&e) => StoreError::ChargeNotFound,
                None => map(e),
            });
        }
        for event in events {
            insert_event(&mut tx, event).await?;
        }
        self.commit(tx).await?;
        Ok(CreateOutcome::Created)
    }

    async fn payment(&self, payment_id: Uuid) -> Result<Option<Payment>, StoreError> {
        sqlx::query(&format!(
            "SELECT {} FROM payments WHERE id = ?1",
            *PAYMENT_COLUMNS
        ))
        .bind(id(payment_id))
        .fetch_optional(&self.readers)
        .await
        .map_err(map)?
        .as_ref()
        .map(payment_from)
        .transpose()
    }

    async fn payment_by_receipt(&self, number: &str) -> Result<Option<Payment>, StoreError> {
        sqlx::query(&format!(
            "SELECT {} FROM payments WHERE receipt_number = ?1",
            *PAYMENT_COLUMNS
        ))
        .bind(number)
        .fetch_optional(&self.readers)
        .await
        .map_err(map)?
        .as_ref()
        .map(payment_from)
        .transpose()
    }

    async fn update_payment(&self, u: &PaymentUpdate) -> Result<(), StoreError> {
        let new = &u.payment;
        let expected = new
            .version()
            .checked_sub(1)
            .and_then(|v| i64::try_from(v).ok());
        let record = PaymentRecord::encode(new)?;
        let payment_id = record.id.clone();
        let charge_id = record.charge_id.clone();
        if let Some(r) = &u.refund {
            if r.payment_id != new.id() {
                return Err(StoreError::Invariant("refund of another payment".into()));
            }
        }
        match u.charge {
            Some(ChargeChange::MarkPaid) if !new.state().is_paid() => {
                return Err(StoreError::Invariant(
                    "MarkPaid without a paid payment".into(),
                ))
            }
            Some(ChargeChange::Reopen) if new.state().is_paid() => {
                return Err(StoreError::Invariant(
                    "only a fully refunded payment reopens its charge".into(),
                ))
            }
            _ => {}
        }
        let mut tx = self.write().await?;
        // Optimistic concurrency: only the expected stored version is
        // replaced. The schema refuses changed amounts/charge/code
        // (trigger), a second in-flight or paid payment (partial unique
        // indexes) and refunds above the total (CHECK).
        let updated = record
            .bind(sqlx::query(UPDATE_PAYMENT.as_str()))
            .bind(expected.unwrap_or(-1))
            .execute(&mut *tx)
            .await;
        let updated = match updated {
            Ok(r) => r,
            Err(e) => {
                return Err(match unique_violation(&e) {
                    Some(cols) if cols == "payments.charge_id" => StoreError::Invariant(
                        if new.state().is_paid() {
                            "charge already has a paid payment"
                        } else {
                            "another payment of the charge is in flight"
                        }
                        .into(),
                    ),
                    Some(cols) => StoreError::Invariant(format!("duplicate {cols}")),
                    None => map(e),
                })
            }
        };
        if updated.rows_affected() == 0 {
            let exists = sqlx::query_scalar::<_, i64>("SELECT version FROM payments WHERE id = ?1")
                .bind(&payment_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map)?;
            return Err(match exists {
                None => StoreError::NotFound,
                Some(_) => StoreError::Conflict,
            });
        }
        match u.charge {
            None => {}
            Some(change) => {
                let (sql, what) = match change {
                    ChargeChange::MarkPaid => (
                        "UPDATE charges SET status = 'paid' WHERE id = ?1 AND status <> 'paid'",
                        "charge already paid",
                    ),
                    ChargeChange::Reopen => (
                        "UPDATE charges SET status = 'unpaid' WHERE id = ?1 AND status = 'paid'",
                        "only a paid charge reopens",
                    ),
                };
                let done = sqlx::query(sql)
                    .bind(&charge_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Invariant(what.into()));
                }
            }
        }
        if let Some(r) = &u.refund {
            upsert_refund(&mut tx, r).await?;
        }
        for event in &u.events {
            insert_event(&mut tx, event).await?;
        }
        for m in &u.outbox {
            insert_outbox(&mut tx, m).await?;
        }
        self.commit(tx).await
    }

    async fn list_payments(&self, q: &PaymentQuery) -> Result<Vec<Payment>, StoreError> {
        let states: Vec<&str> = q.states.iter().map(|s| s.as_str()).collect();
        let states_json = to_json(&states)?;
        sqlx::query(&format!(
            "SELECT {} FROM payments \
             WHERE (?1 = '[]' OR state IN (SELECT value FROM json_each(?1))) \
             AND (?2 IS NULL OR service = ?2) \
             AND (?3 IS NULL OR charge_id = ?3) \
             AND (?4 IS NULL OR created_at >= ?4) \
             AND (?5 IS NULL OR created_at < ?5) \
             AND (?6 IS NULL OR updated_at < ?6) \
             ORDER BY created_at, id LIMIT ?7",
            *PAYMENT_COLUMNS
        ))
        .bind(states_json)
        .bind(&q.service)
        .bind(q.charge_id.map(id))
        .bind(q.created_from.map(ts))
        .bind(q.created_to.map(ts))
        .bind(q.updated_before.map(ts))
        .bind(limit_of(q.limit))
        .fetch_all(&self.readers)
        .await
        .map_err(map)?
        .iter()
        .map(payment_from)
        .collect()
    }

    async fn refund_by_key(
        &self,
        payment_id: Uuid,
        key: &str,
    ) -> Result<Option<Refund>, StoreError> {
        sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = ?1 AND idempotency_key = ?2"
        ))
        .bind(id(payment_id))
        .bind(key)
        .fetch_optional(&self.readers)
        .await
        .map_err(map)?
        .as_ref()
        .map(refund_from)
        .transpose()
    }

    async fn refunds_of(&self, payment_id: Uuid) -> Result<Vec<Refund>, StoreError> {
        sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = ?1 ORDER BY seq"
        ))
        .bind(id(payment_id))
        .fetch_all(&self.readers)
        .await
        .map_err(map)?
        .iter()
        .map(refund_from)
        .collect()
    }

    async fn refunds_in_state(
        &self,
        state: RefundState,
        limit: usize,
    ) -> Result<Vec<Refund>, StoreError> {
        sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE state = ?1 ORDER BY seq LIMIT ?2"
        ))
        .bind(state.as_str())
        .bind(limit_of(limit))
        .fetch_all(&self.readers)
        .await
        .map_err(map)?
        .iter()
        .map(refund_from)
        .collect()
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
        worker: &str,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // One write transaction picks the due, unleased messages and leases
        // them: a second claim (another task or process) waits for the
        // write lock and then no longer sees them as claimable.
        let mut tx = self.write().await?;
        let rows = sqlx::query(&format!(
            "UPDATE outbox SET lease_until = ?1, lease_owner = ?2 \
             WHERE seq IN (SELECT seq FROM outbox \
                 WHERE status = 'pending' AND next_attempt_at <= ?3 \
                 AND (lease_until IS NULL OR lease_until <= ?3) \
                 ORDER BY next_attempt_at, seq LIMIT ?4) \
             RETURNING {OUTBOX_COLUMNS}"
        ))
        .bind(ts(lease_until))
        .bind(worker)
        .bind(ts(now))
        .bind(limit_of(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(map)?;
        self.commit(tx).await?;
        let mut claimed: Vec<(i64, OutboxMessage)> = rows
            .iter()
            .map(|r| Ok((r.int("seq")?, outbox_from(r)?)))
            .collect::<Result<_, StoreError>>()?;
        claimed.sort_by_key(|(seq, _)| *seq);
        Ok(claimed.into_iter().map(|(_, m)| m).collect())
    }

    async fn outbox_delivered(&self, message: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE outbox SET \
             delivered_at = CASE WHEN status = 'delivered' THEN delivered_at ELSE ?2 END, \
             status = 'delivered', lease_until = NULL, lease_owner = NULL \
             WHERE id = ?1",
        )
        .bind(id(message))
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.commit(tx).await
    }

    async fn outbox_failed(
        &self,
        message: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let status = sqlx::query_scalar::<_, String>("SELECT status FROM outbox WHERE id = ?1")
            .bind(id(message))
            .fetch_optional(&mut *tx)
            .await
            .map_err(map)?
            .ok_or(StoreError::NotFound)?;
        if status == OutboxStatus::Delivered.as_str() {
            return Ok(());
        }
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, \
             lease_until = NULL, lease_owner = NULL, \
             status = CASE WHEN ?3 IS NULL THEN 'dead' ELSE 'pending' END, \
             next_attempt_at = COALESCE(?3, next_attempt_at) \
             WHERE id = ?1",
        )
        .bind(id(message))
        .bind(error)
        .bind(retry_at.map(ts))
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        self.commit(tx).await
    }

    async fn outbox_list(
        &self,
        status: Option<OutboxStatus>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE (?1 IS NULL OR status = ?1) \
             ORDER BY seq DESC LIMIT ?2"
        ))
        .bind(status.map(|s| s.as_str()))
        .bind(limit_of(limit))
        .fetch_all(&self.readers)
        .await
        .map_err(map)?
        .iter()
        .map(outbox_from)
        .collect()
    }

    async fn outbox_retry(&self, message: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ?2, \
             lease_until = NULL, lease_owner = NULL \
             WHERE id = ?1 AND status = 'dead'",
        )
        .bind(id(message))
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.commit(tx).await
    }
}

#[async_trait]
impl EventLog for SqliteStore {
    async fn append_event(&self, event: &Event) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        insert_event(&mut tx, event).await?;
        self.commit(tx).await
    }

    async fn events_of(&self, of: Uuid) -> Result<Vec<Event>, StoreError> {
        let key = id(of);
        sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE charge_id = ?1 OR payment_id = ?1 \
             ORDER BY seq"
        ))
        .bind(&key)
        .fetch_all(&self.readers)
        .await
        .map_err(map)?
        .iter()
        .map(event_from)
        .collect()
    }
}

#[async_trait]
impl TermsStore for SqliteStore {
    async fn publish_terms(&self, edition: &TermsEdition) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let inserted = sqlx::query(
            "INSERT INTO terms_editions (id, published_at, effective_at, last_changed, \
             text_ky, text_ru, text_en) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(&edition.id)
        .bind(ts(edition.published_at))
        .bind(ts(edition.effective_at))
        .bind(edition.last_changed.format("%Y-%m-%d").to_string())
        .bind(&edition.text_ky)
        .bind(&edition.text_ru)
        .bind(&edition.text_en)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => self.commit(tx).await,
            Err(e) if unique_violation(&e).is_some() => Err(StoreError::Invariant(format!(
                "edition {} exists",
                edition.id
            ))),
            Err(e) => Err(map(e)),
        }
    }

    async fn terms_editions(&self) -> Result<Vec<TermsEdition>, StoreError> {
        sqlx::query(&format!(
            "SELECT {TERMS_COLUMNS} FROM terms_editions ORDER BY effective_at, published_at, seq"
        ))
        .fetch_all(&self.readers)
        .await
        .map_err(map)?
        .iter()
        .map(terms_from)
        .collect()
    }
}
