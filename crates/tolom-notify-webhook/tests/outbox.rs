//! Agency notices through `Tolom::dispatch_outbox` to a real receiver:
//! a paid and refunded fee, an outage, a lost answer, a dispatcher killed
//! mid-send and restarted, and dead letters.
//!
//! The store is `tolom-store-sqlite` on a temporary file; a "restarted
//! process" closes it and opens the same file again in a new `Tolom`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;
use support::*;
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::outbox::{AgencyEventKind, OutboxMessage, OutboxStatus};
use tolom_core::payment::{Payment, PaymentState};
use tolom_core::ports::OutboxStore;
use tolom_core::usecases::{Config, IssueCharge, StartPayment, Tolom};
use tolom_core::ports::Clock;
use tolom_notify_webhook::{WebhookConfig, WebhookNotifier};
use tolom_store_sqlite::{SqliteOptions, SqliteStore};
use tolom_testkit::clock::ManualClock;
use tolom_testkit::conformance::notifier::SAMPLE_PAN;
use tolom_testkit::fake::FakeAcquirer;
use tolom_testkit::fixtures::{card_form, test_signer};

const SECRET: &str = "whsec_agency_passport_office";

struct Db(std::path::PathBuf);

impl Drop for Db {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct World {
    db: Db,
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    acquirer: Arc<FakeAcquirer>,
}

async fn open(db: &Db) -> Arc<SqliteStore> {
    let path = db.0.join("tolom.db");
    Arc::new(
        SqliteStore::open(path.to_str().unwrap(), SqliteOptions::default())
            .await
            .unwrap(),
    )
}

impl World {
    async fn new() -> World {
        let dir = std::env::temp_dir().join(format!("tolom-webhook-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Db(dir);
        let store = open(&db).await;
        World {
            db,
            store,
            clock: Arc::new(ManualClock::fixed()),
            acquirer: Arc::new(FakeAcquirer::new()),
        }
    }

    /// A `Tolom` process over the store, notifying the agency at `url`.
    fn process(&self, url: &str, timeout: Duration) -> Tolom {
        let notifier = WebhookNotifier::new(WebhookConfig {
            timeout,
            ..WebhookConfig::new(url, SECRET)
        })
        .unwrap();
        Tolom::builder()
            .store(self.store.clone())
            .acquirer(self.acquirer.clone())
            .clock(self.clock.clone())
            .signer(Arc::new(test_signer()))
            .notifier(Arc::new(notifier))
            .config(Config {
                // Only agency notices here; e-mails are the SMTP adapter's.
                receipt_emails: false,
                ..Config::default()
            })
            .build()
            .unwrap()
    }

    /// The process died; a new one opens the same database file.
    async fn restart(&mut self) {
        self.store.close().await;
        self.store = open(&self.db).await;
    }

    async fn outbox(&self, status: OutboxStatus) -> Vec<OutboxMessage> {
        self.store.outbox_list(Some(status), 0).await.unwrap()
    }
}

async fn pay(tolom: &Tolom, clock: &ManualClock, key: &str) -> Payment {
    let urgency = tolom
        .config()
        .catalogue
        .tariffs_of("passport-2020")
        .next()
        .map(|t| t.urgency.clone());
    let charge = tolom
        .issue_charge(IssueCharge {
            service: "passport-2020".into(),
            urgency,
            amount: None,
            payer: "Токтогулов Нурлан Эркинович".into(),
            code: None,
            expires_at: clock.now() + Span::days(30),
            agency_ref: Some(format!("PASS-{key}")),
        })
        .await
        .unwrap();
    let terms = tolom.terms_in_force().await.unwrap().id;
    let p = tolom
        .start_payment(StartPayment {
            code: charge.code.as_str(),
            accepted_terms: Some(&terms),
            idempotency_key: &format!("start-{key}"),
            language: Language::Ru,
        })
        .await
        .unwrap();
    let p = tolom
        .submit_card(p.id, &card_form(SAMPLE_PAN), &format!("card-{key}"))
        .await
        .unwrap();
    assert_eq!(p.state, PaymentState::Succeeded);
    p
}

#[tokio::test]
async fn the_agency_learns_of_a_payment_and_of_its_refund() {
    let receiver = Receiver::start(SECRET).await;
    let w = World::new().await;
    let tolom = w.process(&receiver.url, Duration::from_secs(5));
    let p = pay(&tolom, &w.clock, "1").await;

    assert_eq!(tolom.dispatch_outbox("w1", 10).await.unwrap().delivered, 1);
    let events = receiver.processed();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.kind, AgencyEventKind::PaymentSucceeded);
    assert_eq!(e.data.payment_id, p.id);
    assert_eq!(e.data.code, p.code.to_string());
    assert_eq!(e.data.agency_ref.as_deref(), Some("PASS-1"));
    assert_eq!(e.data.service, "passport-2020");
    assert_eq!(e.data.receipt_number, p.receipt_number);
    assert_eq!(e.data.amount, Money::som(885));
    assert!(e.data.refunded.is_zero());
    let d = &receiver.deliveries()[0];
    assert_eq!(d.verified, Ok(()));
    assert!(!d.text().contains(SAMPLE_PAN));
    assert!(!d.text().contains("4111 1111"));

    w.clock.advance(Span::hours(2));
    tolom
        .refund(p.id, None, "service not provided", "refund-1")
        .await
        .unwrap();
    assert_eq!(tolom.dispatch_outbox("w1", 10).await.unwrap().delivered, 1);
    let events = receiver.processed();
    assert_eq!(events.len(), 2);
    let r = &events[1];
    assert_eq!(r.kind, AgencyEventKind::PaymentRefunded);
    assert_eq!(r.data.payment_id, p.id);
    assert_eq!(r.data.refunded, Money::som(885));
    assert_ne!(r.id, e.id, "a new event, with its own id");
    assert_eq!(tolom.dispatch_outbox("w1", 10).await.unwrap().delivered, 0);
}

#[tokio::test]
async fn an_agency_outage_delays_but_loses_nothing() {
    let receiver = Receiver::start(SECRET).await;
    let w = World::new().await;
    let tolom = w.process(&receiver.url, Duration::from_secs(5));
    pay(&tolom, &w.clock, "1").await;
    pay(&tolom, &w.clock, "2").await;

    receiver.set_mode(Mode::Status(503));
    for failures in 1..=3u32 {
        let report = tolom.dispatch_outbox("w1", 10).await.unwrap();
        assert_eq!(
            (report.delivered, report.retried),
            (0, 2),
            "round {failures}"
        );
        let pending = w.outbox(OutboxStatus::Pending).await;
        assert!(pending.iter().all(|m| m.attempts == failures));
        assert!(pending
            .iter()
            .all(|m| m.last_error.as_deref().unwrap_or("").contains("503")));
        w.clock
            .advance(tolom_core::outbox::retry_delay(failures).unwrap());
    }
    receiver.set_mode(Mode::Ok);
    assert_eq!(tolom.dispatch_outbox("w1", 10).await.unwrap().delivered, 2);
    assert_eq!(receiver.processed().len(), 2);
    assert_eq!(
        receiver.deliveries().len(),
        8,
        "3 refused rounds of 2, then 2"
    );
    w.clock.advance(Span::days(3));
    assert_eq!(tolom.dispatch_outbox("w1", 10).await.unwrap().delivered, 0);
    assert_eq!(w.outbox(OutboxStatus::Delivered).await.len(), 2);
}

#[tokio::test]
async fn a_lost_answer_is_retried_and_the_receiver_acts_once() {
    let receiver = Receiver::start(SECRET).await;
    let w = World::new().await;
    let tolom = w.process(&receiver.url, Duration::from_millis(400));
    pay(&tolom, &w.clock, "1").await;

    receiver.set_mode(Mode::Slow(Duration::from_secs(3)));
    let report = tolom.dispatch_outbox("w1", 10).await.unwrap();
    assert_eq!(report.retried, 1, "a timeout is transient");
    receiver.set_mode(Mode::Ok);
    w.clock.advance(Span::minutes(1));
    assert_eq!(tolom.dispatch_outbox("w1", 10).await.unwrap().delivered, 1);
    let events = receiver.processed();
    assert_eq!(events.len(), 1, "idempotent by event id");
    assert_eq!(receiver.deliveries_of(events[0].id).len(), 2);
}

#[tokio::test]
async fn a_dispatcher_killed_mid_send_delivers_after_restart() {
    let receiver = Receiver::start(SECRET).await;
    let mut w = World::new().await;
    let first = w.process(&receiver.url, Duration::from_secs(30));
    pay(&first, &w.clock, "1").await;

    // The receiver takes the request and holds the answer; the process
    // dies meanwhile, before recording anything.
    receiver.set_mode(Mode::Slow(Duration::from_secs(30)));
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), first.dispatch_outbox("w1", 10))
            .await
            .is_err()
    );
    drop(first);
    w.restart().await;
    let stuck = w.outbox(OutboxStatus::Pending).await;
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].attempts, 0);

    receiver.set_mode(Mode::Ok);
    let restarted = w.process(&receiver.url, Duration::from_secs(5));
    assert_eq!(
        restarted.dispatch_outbox("w2", 10).await.unwrap().delivered,
        0,
        "the lease of the dead process still holds"
    );
    w.clock.advance(Span::seconds(61));
    assert_eq!(
        restarted.dispatch_outbox("w2", 10).await.unwrap().delivered,
        1
    );
    assert_eq!(receiver.deliveries().len(), 2, "at least once");
    assert_eq!(receiver.processed().len(), 1, "acted on once");
    assert_eq!(w.outbox(OutboxStatus::Delivered).await.len(), 1);
}

#[tokio::test]
async fn permanent_failures_become_dead_letters_that_operators_retry() {
    let receiver = Receiver::start(SECRET).await;
    let w = World::new().await;
    let tolom = w.process(&receiver.url, Duration::from_secs(5));
    pay(&tolom, &w.clock, "1").await;

    receiver.set_mode(Mode::Status(410));
    let report = tolom.dispatch_outbox("w1", 10).await.unwrap();
    assert_eq!(report.dead, 1);
    let dead = w.outbox(OutboxStatus::Dead).await;
    assert_eq!(dead.len(), 1);
    assert!(dead[0]
        .last_error
        .as_deref()
        .unwrap_or("")
        .contains("HTTP 410"));
    w.clock.advance(Span::days(3));
    receiver.set_mode(Mode::Ok);
    assert_eq!(tolom.dispatch_outbox("w1", 10).await.unwrap().delivered, 0);

    tolom
        .store()
        .outbox_retry(dead[0].id, w.clock.now())
        .await
        .unwrap();
    assert_eq!(tolom.dispatch_outbox("w1", 10).await.unwrap().delivered, 1);
    assert_eq!(receiver.processed().len(), 1);
    assert!(w.outbox(OutboxStatus::Dead).await.is_empty());

    // A receiver that never comes back: dead after the whole schedule.
    let gone = w.process(&dead_url(), Duration::from_secs(5));
    pay(&gone, &w.clock, "2").await;
    let mut rounds = 0;
    loop {
        let report = gone.dispatch_outbox("w1", 10).await.unwrap();
        rounds += 1;
        if report.dead == 1 {
            break;
        }
        assert_eq!(report.retried, 1);
        w.clock
            .advance(tolom_core::outbox::retry_delay(rounds).unwrap());
    }
    assert_eq!(rounds, 6, "1 min, 5 min, 1 h, 1 day, 2 days, then dead");
    assert_eq!(w.outbox(OutboxStatus::Dead).await[0].attempts, 6);
}
