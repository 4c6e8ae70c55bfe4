//! What the integration tests need that is SQLite's own: database files
//! in temporary directories, raw connections that bypass the store, and
//! the testkit's flow harness ([`tolom_testkit::fixtures::Harness`]) on a
//! store of ours with the sandbox acquirer (counting its purchase calls).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tolom_acquirer_sandbox::SandboxAcquirer;
use tolom_core::card::CardForm;
use tolom_core::money::Money;
use tolom_core::payment::ChallengeResponse;
use tolom_core::ports::{
    Acquirer, AcquirerError, AcquirerOutcome, OrderStatus, PurchaseRequest, RefundOutcome,
    StoreError,
};
use tolom_core::usecases::Config;
use tolom_store_sqlite::{SqliteOptions, SqliteStore};
use tolom_testkit::fixtures::{card_form, Harness};

/// The real sandbox acquirer, with a count of `purchase` calls (the
/// sandbox counts charges, not calls).
pub struct Counting {
    pub inner: SandboxAcquirer,
    pub purchases: AtomicU32,
}

impl Counting {
    pub fn new() -> Counting {
        Counting {
            inner: SandboxAcquirer::for_tests(),
            purchases: AtomicU32::new(0),
        }
    }
    pub fn purchase_calls(&self) -> u32 {
        self.purchases.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Acquirer for Counting {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn purchase<'a>(
        &self,
        request: PurchaseRequest<'a>,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        self.purchases.fetch_add(1, Ordering::SeqCst);
        self.inner.purchase(request).await
    }
    async fn complete_challenge(
        &self,
        order_number: &str,
        response: &ChallengeResponse,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        self.inner.complete_challenge(order_number, response).await
    }
    async fn status(&self, order_number: &str) -> Result<OrderStatus, AcquirerError> {
        self.inner.status(order_number).await
    }
    async fn refund(
        &self,
        order_number: &str,
        refund_id: &str,
        amount: Money,
    ) -> Result<RefundOutcome, AcquirerError> {
        self.inner.refund(order_number, refund_id, amount).await
    }
    async fn reverse(&self, order_number: &str) -> Result<(), AcquirerError> {
        self.inner.reverse(order_number).await
    }
    async fn cancel(&self, order_number: &str) -> Result<(), AcquirerError> {
        self.inner.cancel(order_number).await
    }
}

/// The service the flow tests pay for.
pub const SERVICE: &str = "passport-2020";
/// Its payer.
pub const PAYER: &str = "Асанов Айбек Маратович";

/// The testkit's flow harness on a SQLite file, with the sandbox acquirer.
pub struct World {
    pub h: Harness<SqliteStore>,
    pub acquirer: Arc<Counting>,
    pub path: PathBuf,
    /// Keeps the directory of the database file.
    _dir: tempfile::TempDir,
}

impl World {
    /// A fresh database file with the default options.
    pub async fn new() -> World {
        World::with_options(SqliteOptions::default()).await
    }

    /// A fresh database file with these options.
    pub async fn with_options(options: SqliteOptions) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = db_path(dir.path());
        let store = Arc::new(open(&path, options).await);
        let acquirer = Arc::new(Counting::new());
        World {
            h: Harness::on(store, acquirer.clone(), Config::default()),
            acquirer,
            path,
            _dir: dir,
        }
    }

    /// The store.
    pub fn store(&self) -> &SqliteStore {
        &self.h.store
    }
}

pub fn db_path(dir: &Path) -> PathBuf {
    dir.join("tolom.db")
}

pub async fn open(path: &Path, options: SqliteOptions) -> SqliteStore {
    SqliteStore::open(path.to_str().expect("utf-8 path"), options)
        .await
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

/// Opens `path` and returns the error.
pub async fn open_err(path: &Path, options: SqliteOptions) -> StoreError {
    match SqliteStore::open(path.to_str().expect("utf-8 path"), options).await {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => e,
    }
}

/// A valid card form with this PAN and CVV.
pub fn card(pan: &str, cvv: &str) -> CardForm {
    let mut form = card_form(pan);
    form.cvv = cvv.into();
    form
}

/// Where the database files of conformance cases go: one directory per
/// test process under cargo's `CARGO_TARGET_TMPDIR`, kept while the
/// process runs (a maker returns only the store). Directories of runs
/// older than an hour are removed when the next run starts.
static SCRATCH: LazyLock<PathBuf> = LazyLock::new(|| {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tolom-store-sqlite");
    std::fs::create_dir_all(&base).expect("scratch base");
    if let Ok(entries) = std::fs::read_dir(&base) {
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > Duration::from_secs(3600));
            if old {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&base)
        .expect("scratch dir")
        .keep()
});

/// A new database file path, unique in this test process.
pub fn scratch_file(prefix: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    SCRATCH.join(format!("{prefix}-{}.db", N.fetch_add(1, Ordering::SeqCst)))
}

/// A raw connection to the same file, bypassing the store (to hold locks,
/// add test-only triggers or read what is really stored).
pub async fn raw(path: &Path) -> sqlx::SqliteConnection {
    use sqlx::ConnectOptions;
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(5))
        .connect()
        .await
        .unwrap_or_else(|e| panic!("raw connection: {e}"))
}

/// Runs a statement on a raw connection.
pub async fn exec(raw: &mut sqlx::SqliteConnection, sql: &str) {
    sqlx::query(sql)
        .execute(&mut *raw)
        .await
        .unwrap_or_else(|e| panic!("`{sql}`: {e}"));
}
