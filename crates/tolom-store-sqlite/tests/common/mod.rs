//! Shared pieces of the integration tests: a file store, a `Tolom` on it
//! with the sandbox acquirer, and a counting wrapper around the acquirer.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use tolom_acquirer_sandbox::SandboxAcquirer;
use tolom_core::card::CardForm;
use tolom_core::charge::Charge;
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::outbox::Channel;
use tolom_core::payment::ChallengeResponse;
use tolom_core::ports::{
    Acquirer, AcquirerError, AcquirerOutcome, OrderStatus, PurchaseRequest, RefundOutcome,
};
use tolom_core::usecases::{IssueCharge, StartPayment, Tolom};
use tolom_core::ports::Clock;
use tolom_store_sqlite::{SqliteOptions, SqliteStore};
use tolom_testkit::clock::ManualClock;
use tolom_testkit::fixtures::test_signer;
use tolom_testkit::notifier::RecordingNotifier;

/// The real sandbox acquirer, with a count of `purchase` calls.
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
}

/// A `Tolom` on a SQLite file with the sandbox acquirer and handles to
/// every adapter.
pub struct World {
    pub tolom: Arc<Tolom>,
    pub store: Arc<SqliteStore>,
    pub acquirer: Arc<Counting>,
    pub clock: Arc<ManualClock>,
    pub email: Arc<RecordingNotifier>,
    pub webhook: Arc<RecordingNotifier>,
    pub path: PathBuf,
}

pub fn db_path(dir: &Path) -> PathBuf {
    dir.join("tolom.db")
}

pub async fn open(path: &Path, options: SqliteOptions) -> SqliteStore {
    SqliteStore::open(path.to_str().expect("utf-8 path"), options)
        .await
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

impl World {
    pub async fn new(dir: &Path) -> World {
        World::with_options(dir, SqliteOptions::default()).await
    }

    pub async fn with_options(dir: &Path, options: SqliteOptions) -> World {
        let path = db_path(dir);
        let store = Arc::new(open(&path, options).await);
        World::on(store, path)
    }

    pub fn on(store: Arc<SqliteStore>, path: PathBuf) -> World {
        let acquirer = Arc::new(Counting::new());
        let clock = Arc::new(ManualClock::fixed());
        let email = Arc::new(RecordingNotifier::new(Channel::Email));
        let webhook = Arc::new(RecordingNotifier::new(Channel::Webhook));
        let tolom = Tolom::builder()
            .store(store.clone())
            .acquirer(acquirer.clone())
            .clock(clock.clone())
            .signer(Arc::new(test_signer()))
            .notifier(email.clone())
            .notifier(webhook.clone())
            .build()
            .unwrap_or_else(|e| panic!("tolom: {e}"));
        World {
            tolom: Arc::new(tolom),
            store,
            acquirer,
            clock,
            email,
            webhook,
            path,
        }
    }

    pub async fn charge(&self) -> Charge {
        self.tolom
            .issue_charge(IssueCharge {
                service: "passport-2020".into(),
                urgency: None,
                amount: Some(Money::som(885)),
                payer: "Асанов Айбек Маратович".into(),
                code: None,
                expires_at: self.clock.now() + Duration::days(30),
                agency_ref: Some("AG-1".into()),
            })
            .await
            .unwrap_or_else(|e| panic!("issue charge: {e}"))
    }

    pub async fn terms(&self) -> String {
        self.tolom
            .terms_in_force()
            .await
            .unwrap_or_else(|e| panic!("terms: {e}"))
            .id
    }

    pub fn start<'a>(code: &'a str, terms: &'a str, key: &'a str) -> StartPayment<'a> {
        StartPayment {
            code,
            accepted_terms: Some(terms),
            idempotency_key: key,
            language: Language::Ru,
        }
    }
}

/// A valid card form with this PAN and CVV.
pub fn card(pan: &str, cvv: &str) -> CardForm {
    CardForm {
        holder: "AIBEK ASANOV".into(),
        pan: pan.into(),
        expiry: "12/30".into(),
        cvv: cvv.into(),
        phone: "+996 555 123 456".into(),
        email: "aibek@example.kg".into(),
    }
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
