//! Agency notices through `Tolom::dispatch_outbox` to a real receiver:
//! a paid and refunded fee, an outage, a lost answer, a dispatcher killed
//! mid-send and restarted, and dead letters that operators retry.
//!
//! Payments go through the testkit's flow harness on `tolom-store-sqlite`
//! (a temporary file); notices go out from a separate dispatcher process
//! (its own `Tolom` with the webhook notifier and its own connections to
//! the same file). A "killed" dispatcher closes its connections, and the
//! restarted one opens the file again.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;
use support::*;
use tolom_core::money::Money;
use tolom_core::outbox::{AgencyEventKind, OutboxMessage, OutboxStatus};
use tolom_core::payment::{Payment, PaymentState};
use tolom_core::ports::{Clock, OutboxStore};
use tolom_core::usecases::{Config, DispatchReport, IssueCharge, Tolom};
use tolom_notify_webhook::{WebhookConfig, WebhookNotifier};
use tolom_store_sqlite::{SqliteOptions, SqliteStore};
use tolom_testkit::conformance::notifier::SAMPLE_PAN;
use tolom_testkit::fake::FakeAcquirer;
use tolom_testkit::fixtures::{test_signer, Harness};
use uuid::Uuid;

const SECRET: &str = "whsec_agency_passport_office";

/// Only agency notices here; e-mails are the SMTP adapter's.
fn config() -> Config {
    Config {
        receipt_emails: false,
        ..Config::default()
    }
}

struct Db(std::path::PathBuf);

impl Db {
    fn new() -> Db {
        let dir = std::env::temp_dir().join(format!("tolom-webhook-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Db(dir)
    }

    async fn open(&self) -> Arc<SqliteStore> {
        let path = self.0.join("tolom.db");
        Arc::new(
            SqliteStore::open(path.to_str().unwrap(), SqliteOptions::default())
                .await
                .unwrap(),
        )
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The payment side (the harness on a database file) and the file.
struct World {
    h: Harness<SqliteStore>,
    acquirer: Arc<FakeAcquirer>,
    db: Db,
}

/// A dispatcher process notifying the agency.
struct Dispatcher {
    tolom: Tolom,
    store: Arc<SqliteStore>,
}

impl World {
    async fn new() -> World {
        let db = Db::new();
        let acquirer = Arc::new(FakeAcquirer::new());
        let h = Harness::on(db.open().await, acquirer.clone(), config());
        World { h, acquirer, db }
    }

    /// A dispatcher process on the same database file and clock, notifying
    /// the agency at `url`.
    async fn dispatcher(&self, url: &str, timeout: Duration) -> Dispatcher {
        let notifier = WebhookNotifier::new(WebhookConfig {
            timeout,
            ..WebhookConfig::new(url, SECRET)
        })
        .unwrap();
        let store = self.db.open().await;
        let tolom = Tolom::builder()
            .store(store.clone())
            .acquirer(self.acquirer.clone())
            .clock(self.h.clock.clone())
            .signer(Arc::new(test_signer()))
            .notifier(Arc::new(notifier))
            .config(config())
            .build()
            .unwrap();
        Dispatcher { tolom, store }
    }

    async fn outbox(&self, status: OutboxStatus) -> Vec<OutboxMessage> {
        self.h.store.outbox_list(Some(status), 0).await.unwrap()
    }

    /// Pays a passport fee of an agency file `PASS-<key>` with the card
    /// typed into the form (full PAN).
    async fn pay(&self, key: &str) -> Payment {
        let h = &self.h;
        let urgency = h
            .tolom
            .config()
            .catalogue
            .tariffs_of("passport-2020")
            .next()
            .map(|t| t.urgency.clone());
        let charge = h
            .tolom
            .issue_charge(IssueCharge {
                service: "passport-2020".into(),
                urgency,
                amount: None,
                payer: "Токтогулов Нурлан Эркинович".into(),
                code: None,
                expires_at: h.clock.now() + Span::days(30),
                agency_ref: Some(format!("PASS-{key}")),
            })
            .await
            .unwrap();
        let p = h.pay(&charge.code, SAMPLE_PAN, key).await;
        assert_eq!(p.state(), PaymentState::Succeeded);
        p
    }

    /// Puts a dead letter back in the queue as an operator, and checks the
    /// audit log has it.
    async fn operator_retries(&self, id: Uuid) {
        let (operator, me) = self.h.operator();
        assert_eq!(operator.retry_outbox(&me, &[id], false).await.unwrap(), 1);
        let audit = operator.audit_entries(&me, 1, 0).await.unwrap();
        assert!(
            audit.iter().any(|e| e.action == "outbox.retried"
                && e.subject == id.to_string()
                && e.actor == me.actor()),
            "the retry is in the audit log"
        );
    }
}

impl Dispatcher {
    /// One round of `worker`, ten messages at most.
    async fn dispatch(&self, worker: &str) -> DispatchReport {
        self.tolom.dispatch_outbox(worker, 10).await.unwrap()
    }

    /// The process dies: its database connections go with it.
    async fn kill(self) {
        drop(self.tolom);
        self.store.close().await;
    }
}

#[tokio::test]
async fn the_agency_learns_of_a_payment_and_of_its_refund() {
    let receiver = Receiver::start(SECRET).await;
    let w = World::new().await;
    let d = w.dispatcher(&receiver.url, Duration::from_secs(5)).await;
    let p = w.pay("1").await;

    assert_eq!(d.dispatch("w1").await.delivered, 1);
    let events = receiver.processed();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.kind, AgencyEventKind::PaymentSucceeded);
    assert_eq!(e.data.payment_id, p.id());
    assert_eq!(e.data.code, p.code().to_string());
    assert_eq!(e.data.agency_ref.as_deref(), Some("PASS-1"));
    assert_eq!(e.data.service, "passport-2020");
    assert_eq!(e.data.receipt_number.as_deref(), p.receipt_number());
    assert_eq!(e.data.amount, Money::som(885));
    assert!(e.data.refunded.is_zero());
    let delivery = &receiver.deliveries()[0];
    assert_eq!(delivery.verified, Ok(()));
    assert!(!delivery.text().contains(SAMPLE_PAN));
    assert!(!delivery.text().contains("4111 1111"));

    w.h.clock.advance(Span::hours(2));
    w.h.tolom
        .refund(p.id(), None, "service not provided", "refund-1")
        .await
        .unwrap();
    assert_eq!(d.dispatch("w1").await.delivered, 1);
    let events = receiver.processed();
    assert_eq!(events.len(), 2);
    let r = &events[1];
    assert_eq!(r.kind, AgencyEventKind::PaymentRefunded);
    assert_eq!(r.data.payment_id, p.id());
    assert_eq!(r.data.refunded, Money::som(885));
    assert_ne!(r.id, e.id, "a new event, with its own id");
    assert_eq!(d.dispatch("w1").await.delivered, 0);
}

#[tokio::test]
async fn an_agency_outage_delays_but_loses_nothing() {
    let receiver = Receiver::start(SECRET).await;
    let w = World::new().await;
    let d = w.dispatcher(&receiver.url, Duration::from_secs(5)).await;
    w.pay("1").await;
    w.pay("2").await;

    receiver.set_mode(Mode::Status(503));
    for failures in 1..=3u32 {
        let report = d.dispatch("w1").await;
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
        w.h.clock
            .advance(tolom_core::outbox::retry_delay(failures).unwrap());
    }
    receiver.set_mode(Mode::Ok);
    assert_eq!(d.dispatch("w1").await.delivered, 2);
    assert_eq!(receiver.processed().len(), 2);
    assert_eq!(
        receiver.deliveries().len(),
        8,
        "3 refused rounds of 2, then 2"
    );
    w.h.clock.advance(Span::days(3));
    assert_eq!(d.dispatch("w1").await.delivered, 0);
    assert_eq!(w.outbox(OutboxStatus::Delivered).await.len(), 2);
}

#[tokio::test]
async fn a_lost_answer_is_retried_and_the_receiver_acts_once() {
    let receiver = Receiver::start(SECRET).await;
    let w = World::new().await;
    let d = w
        .dispatcher(&receiver.url, Duration::from_millis(400))
        .await;
    w.pay("1").await;

    receiver.set_mode(Mode::Slow(Duration::from_secs(3)));
    let report = d.dispatch("w1").await;
    assert_eq!(report.retried, 1, "a timeout is transient");
    receiver.set_mode(Mode::Ok);
    w.h.clock.advance(Span::minutes(1));
    assert_eq!(d.dispatch("w1").await.delivered, 1);
    let events = receiver.processed();
    assert_eq!(events.len(), 1, "idempotent by event id");
    assert_eq!(receiver.deliveries_of(events[0].id).len(), 2);
}

#[tokio::test]
async fn a_dispatcher_killed_mid_send_delivers_after_restart() {
    let receiver = Receiver::start(SECRET).await;
    let w = World::new().await;
    let first = w.dispatcher(&receiver.url, Duration::from_secs(30)).await;
    w.pay("1").await;

    // The receiver takes the request and holds the answer; the process
    // dies meanwhile, before recording anything.
    receiver.set_mode(Mode::Slow(Duration::from_secs(30)));
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), first.dispatch("w1"))
            .await
            .is_err()
    );
    first.kill().await;
    let stuck = w.outbox(OutboxStatus::Pending).await;
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].attempts, 0);

    receiver.set_mode(Mode::Ok);
    let restarted = w.dispatcher(&receiver.url, Duration::from_secs(5)).await;
    assert_eq!(
        restarted.dispatch("w2").await.delivered,
        0,
        "the lease of the dead process still holds"
    );
    w.h.clock.advance(Span::seconds(61));
    assert_eq!(restarted.dispatch("w2").await.delivered, 1);
    assert_eq!(receiver.deliveries().len(), 2, "at least once");
    assert_eq!(receiver.processed().len(), 1, "acted on once");
    assert_eq!(w.outbox(OutboxStatus::Delivered).await.len(), 1);
}

#[tokio::test]
async fn permanent_failures_become_dead_letters_that_operators_retry() {
    let receiver = Receiver::start(SECRET).await;
    let w = World::new().await;
    let d = w.dispatcher(&receiver.url, Duration::from_secs(5)).await;
    w.pay("1").await;

    receiver.set_mode(Mode::Status(410));
    let report = d.dispatch("w1").await;
    assert_eq!(report.dead, 1);
    let dead = w.outbox(OutboxStatus::Dead).await;
    assert_eq!(dead.len(), 1);
    assert!(dead[0]
        .last_error
        .as_deref()
        .unwrap_or("")
        .contains("HTTP 410"));
    w.h.clock.advance(Span::days(3));
    receiver.set_mode(Mode::Ok);
    assert_eq!(d.dispatch("w1").await.delivered, 0);

    w.operator_retries(dead[0].id).await;
    assert_eq!(d.dispatch("w1").await.delivered, 1);
    assert_eq!(receiver.processed().len(), 1);
    assert!(w.outbox(OutboxStatus::Dead).await.is_empty());

    // A receiver that never comes back: dead after the whole schedule.
    let gone = w.dispatcher(&dead_url(), Duration::from_secs(5)).await;
    w.pay("2").await;
    let mut rounds = 0;
    loop {
        let report = gone.dispatch("w1").await;
        rounds += 1;
        if report.dead == 1 {
            break;
        }
        assert_eq!(report.retried, 1);
        w.h.clock
            .advance(tolom_core::outbox::retry_delay(rounds).unwrap());
    }
    assert_eq!(rounds, 6, "1 min, 5 min, 1 h, 1 day, 2 days, then dead");
    assert_eq!(w.outbox(OutboxStatus::Dead).await[0].attempts, 6);
}
