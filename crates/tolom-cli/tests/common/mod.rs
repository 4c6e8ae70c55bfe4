//! Shared set-up: a temp directory with a SQLite database, the receipt key
//! of the testkit, and payments made through the core on the same file.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use assert_cmd::Command;
use chrono::{DateTime, Duration, Utc};
use tolom_core::payment::Payment;
use tolom_core::ports::Clock;
use tolom_core::usecases::{IssueCharge, StartPayment};
use tolom_core::Tolom;
use tolom_store_sqlite::{SqliteOptions, SqliteStore};
use tolom_testkit::clock::ManualClock;
use tolom_testkit::fake::FakeAcquirer;
use tolom_testkit::fixtures::{card_form, test_signer};

/// A deployment in a temp directory.
pub struct Site {
    /// The directory.
    pub dir: tempfile::TempDir,
}

impl Site {
    pub fn new() -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("data")).expect("data dir");
        // The testkit's signing seed ([7; 32]), so receipts made by the core
        // in the tests verify with the command line.
        std::fs::write(
            dir.path().join("data/receipt-signing.key"),
            hex::encode([7u8; 32]),
        )
        .expect("key");
        // The commands that call an acquirer (refund, reconcile, expire) run
        // with the sandbox, which a configuration must name explicitly,
        // together with a development or test environment.
        std::fs::write(
            dir.path().join("tolom.toml"),
            "[acquirer]\nkind = \"sandbox\"\nenvironment = \"test\"\n",
        )
        .expect("config");
        Site { dir }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("tolom.db")
    }

    /// `tolom` with this site's environment.
    pub fn tolom(&self) -> Command {
        let mut c = Command::cargo_bin("tolom").expect("binary");
        c.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "TOLOM_DATABASE_URL",
                format!("sqlite:{}", self.db().display()),
            )
            .env("TOLOM_DATA_DIR", self.dir.path().join("data"))
            .env("USER", "tester");
        c
    }

    /// A paid payment made through the core at `at`.
    pub async fn paid_payment(&self, at: DateTime<Utc>, payer: &str) -> Payment {
        let store = Arc::new(
            SqliteStore::open(self.db().to_str().expect("utf-8"), SqliteOptions::default())
                .await
                .expect("open"),
        );
        let clock = Arc::new(ManualClock::at(at));
        let tolom = Tolom::builder()
            .store(store.clone())
            .acquirer(Arc::new(FakeAcquirer::new()))
            .clock(clock.clone())
            .signer(Arc::new(test_signer()))
            .build()
            .expect("tolom");
        let charge = tolom
            .issue_charge(IssueCharge {
                service: "passport-2020".into(),
                urgency: None,
                amount: None,
                payer: payer.into(),
                code: None,
                expires_at: clock.now() + Duration::days(30),
                agency_ref: None,
            })
            .await
            .expect("issue");
        let terms = tolom.terms_in_force().await.expect("terms").id;
        let p = tolom
            .start_payment(StartPayment {
                code: charge.code.as_str(),
                accepted_terms: Some(&terms),
                idempotency_key: &format!("k-{}", charge.id),
                language: tolom_core::i18n::Language::En,
            })
            .await
            .expect("start");
        let paid = tolom
            .submit_card(
                p.id(),
                &card_form("4111111111111111"),
                &format!("s-{}", p.id()),
            )
            .await
            .expect("pay");
        store.close().await;
        paid
    }
}
