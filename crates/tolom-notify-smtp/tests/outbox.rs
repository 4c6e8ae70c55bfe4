//! Outbox dispatch through the SMTP notifier with a real SMTP server:
//! a full payment flow, a server outage, a dispatcher killed mid-send and
//! restarted, and dead letters that operators retry.
//!
//! Payments go through the testkit's flow harness on `tolom-store-sqlite`
//! (a temporary file); e-mails go out from a separate dispatcher process
//! (its own `Tolom` with the SMTP notifier and its own connections to the
//! same file). A "killed" dispatcher closes its connections, and the
//! restarted one opens the file again.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;
use support::*;
use tolom_core::i18n::Language;
use tolom_core::outbox::{retry_delay, OutboxMessage, OutboxStatus};
use tolom_core::payment::{Payment, PaymentState};
use tolom_core::ports::{Clock, OutboxStore};
use tolom_core::usecases::{Config, DispatchReport, StartPayment, Tolom};
use tolom_notify_smtp::{Security, SmtpConfig, SmtpNotifier};
use tolom_store_sqlite::{SqliteOptions, SqliteStore};
use tolom_testkit::conformance::notifier::SAMPLE_PAN;
use tolom_testkit::fake::FakeAcquirer;
use tolom_testkit::fixtures::{card_form, test_signer, Harness};
use uuid::Uuid;

const CVV: &str = "739";
const PAYER: &str = "Сыдыкова Айгүл Бакытовна";
const PAYER_EMAIL: &str = "payer@example.kg";

/// Only e-mails here; agency notices are the webhook's.
fn config() -> Config {
    Config {
        agency_notices: false,
        ..Config::default()
    }
}

async fn open(db: &TempDir) -> Arc<SqliteStore> {
    let path = db.path().join("tolom.db");
    Arc::new(
        SqliteStore::open(path.to_str().unwrap(), SqliteOptions::default())
            .await
            .unwrap(),
    )
}

/// The payment side (the harness on a database file) and the file.
struct World {
    h: Harness<SqliteStore>,
    acquirer: Arc<FakeAcquirer>,
    db: TempDir,
}

/// A dispatcher process mailing through the SMTP notifier.
struct Dispatcher {
    tolom: Tolom,
    store: Arc<SqliteStore>,
}

impl World {
    async fn new() -> World {
        let db = TempDir::new("tolom-db");
        let acquirer = Arc::new(FakeAcquirer::new());
        let h = Harness::on(open(&db).await, acquirer.clone(), config());
        World { h, acquirer, db }
    }

    /// A dispatcher process on the same database file and clock, mailing
    /// through `port`.
    async fn dispatcher(&self, port: u16) -> Dispatcher {
        let notifier = SmtpNotifier::new(SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            security: Security::Plain,
            from: "receipts@pay.example.kg".into(),
            timeout: Duration::from_secs(20),
            base_url: Some("https://pay.example.kg".into()),
            ..SmtpConfig::default()
        })
        .unwrap();
        let store = open(&self.db).await;
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

/// Pays a passport fee in `language` with a card typed into the form (full
/// PAN and CVV, the payer's e-mail).
async fn pay(h: &Harness<SqliteStore>, key: &str, language: Language) -> Payment {
    let charge = h.charge("passport-2020", PAYER).await;
    let terms = h.terms_id().await;
    let p = h
        .tolom
        .start_payment(StartPayment {
            code: charge.code.as_str(),
            accepted_terms: Some(&terms),
            idempotency_key: &format!("start-{key}"),
            language,
        })
        .await
        .unwrap();
    let mut form = card_form(SAMPLE_PAN);
    form.cvv = CVV.into();
    form.email = PAYER_EMAIL.into();
    let p = h
        .tolom
        .submit_card(p.id(), &form, &format!("card-{key}"))
        .await
        .unwrap();
    assert_eq!(p.state(), PaymentState::Succeeded);
    p
}

#[tokio::test]
async fn a_paid_fee_is_mailed_in_the_payers_language_without_card_secrets() {
    if !smtp_server_available("a_paid_fee_is_mailed_in_the_payers_language_without_card_secrets") {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(dir.path(), ServerOptions::default());
    let w = World::new().await;
    let d = w.dispatcher(server.port).await;
    let p = pay(&w.h, "1", Language::Ky).await;
    let queued = w.outbox(OutboxStatus::Pending).await;
    assert_eq!(
        queued.len(),
        1,
        "the receipt e-mail was queued with the success"
    );

    let report = d.dispatch("w1").await;
    assert_eq!(report.delivered, 1);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.json["rcpt_tos"], serde_json::json!([PAYER_EMAIL]));
    assert_eq!(m.field("tolom_message_id"), queued[0].id.to_string());
    let number = p.receipt_number().unwrap().to_string();
    assert!(m.field("subject").starts_with("Төлөм боюнча дүмүрчөк №"));
    assert!(m.field("subject").contains(&number));
    assert_eq!(m.field("content_language"), "ky");
    let text = m.text_part("text/plain").unwrap();
    let html = m.text_part("text/html").unwrap();
    for body in [&text, &html] {
        assert!(body.contains("кызматы үчүн төлөмүңүз кабыл алынды"));
        assert!(body.contains(&number));
        assert!(body.contains("885.00 KGS"));
        assert!(body.contains("4111********1111"));
        assert!(body.contains("Сыдыкова Айгүл Бакытовна"));
    }
    // No PAN in any form, no CVV as a token anywhere in what arrived.
    let all = m.all_text();
    let digits: String = all.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        !all.contains(SAMPLE_PAN) && !digits.contains(SAMPLE_PAN),
        "no PAN"
    );
    assert!(
        !all.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|token| token == CVV),
        "no CVV"
    );
    // Delivered once: nothing more to do.
    assert_eq!(d.dispatch("w1").await.delivered, 0);
    assert_eq!(w.outbox(OutboxStatus::Delivered).await.len(), 1);
}

#[tokio::test]
async fn an_smtp_outage_delays_but_loses_nothing() {
    if !smtp_server_available("an_smtp_outage_delays_but_loses_nothing") {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let port = free_port(); // nobody listens here yet
    let w = World::new().await;
    let d = w.dispatcher(port).await;
    for (key, lang) in [
        ("a", Language::Ky),
        ("b", Language::Ru),
        ("c", Language::En),
    ] {
        pay(&w.h, key, lang).await;
    }
    // Three failed rounds while the server is down, on the back-off
    // schedule (1 min, 5 min, ...).
    for failures in 1..=3u32 {
        let report = d.dispatch("w1").await;
        assert_eq!(
            (report.delivered, report.retried, report.dead),
            (0, 3, 0),
            "round {failures}"
        );
        let pending = w.outbox(OutboxStatus::Pending).await;
        assert_eq!(pending.len(), 3);
        for m in &pending {
            assert_eq!(m.attempts, failures);
            assert!(m.last_error.is_some());
            assert!(m.lease_until.is_none(), "a failure releases the lease");
            assert_eq!(
                m.next_attempt_at,
                w.h.clock.now() + retry_delay(failures).unwrap()
            );
        }
        // Not due before the back-off has passed.
        assert_eq!(d.dispatch("w1").await, Default::default());
        w.h.clock.advance(retry_delay(failures).unwrap());
    }
    // The server comes back.
    let server = SmtpServer::start(
        dir.path(),
        ServerOptions {
            port,
            ..ServerOptions::default()
        },
    );
    let report = d.dispatch("w1").await;
    assert_eq!(report.delivered, 3);
    let got = server.messages();
    assert_eq!(got.len(), 3, "everything delivered once it is back");
    let mut ids: Vec<String> = got.iter().map(|m| m.field("tolom_message_id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each message exactly once");
    let languages: Vec<String> = got.iter().map(|m| m.field("content_language")).collect();
    for tag in ["ky", "ru", "en"] {
        assert!(languages.iter().any(|l| l == tag));
    }
    // Days later: nothing is sent again.
    w.h.clock.advance(Span::days(3));
    assert_eq!(d.dispatch("w1").await.delivered, 0);
    assert_eq!(server.messages().len(), 3);
    assert_eq!(w.outbox(OutboxStatus::Delivered).await.len(), 3);
}

#[tokio::test]
async fn a_dispatcher_killed_mid_send_delivers_after_restart() {
    if !smtp_server_available("a_dispatcher_killed_mid_send_delivers_after_restart") {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(dir.path(), ServerOptions::default());
    let w = World::new().await;
    let first = w.dispatcher(server.port).await;
    pay(&w.h, "1", Language::Ru).await;
    let id = w.outbox(OutboxStatus::Pending).await[0].id;

    // The server takes the message data and never answers; the process
    // dies while it waits (its future is dropped mid-delivery).
    server.set_mode("stall");
    let killed = tokio::time::timeout(Duration::from_millis(1500), first.dispatch("w1")).await;
    assert!(killed.is_err(), "the dispatcher was still sending");
    first.kill().await;
    let stuck = w.outbox(OutboxStatus::Pending).await;
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].attempts, 0, "no outcome was recorded");
    assert!(stuck[0].lease_until.is_some(), "claimed, never marked");
    assert!(server.messages().is_empty(), "the server never accepted it");

    // A restarted process on the same store, with the server healthy.
    server.set_mode("ok");
    let restarted = w.dispatcher(server.port).await;
    assert_eq!(
        restarted.dispatch("w2").await.delivered,
        0,
        "the lease of the dead process still holds"
    );
    w.h.clock.advance(Span::seconds(61));
    assert_eq!(restarted.dispatch("w2").await.delivered, 1);
    let got = messages_for(dir.path(), id);
    assert_eq!(got.len(), 1, "delivered exactly once");
    assert_eq!(w.outbox(OutboxStatus::Delivered).await.len(), 1);
    assert_eq!(restarted.dispatch("w2").await.delivered, 0);
}

#[tokio::test]
async fn a_crash_after_the_server_accepted_redelivers_the_same_message_id() {
    if !smtp_server_available("a_crash_after_the_server_accepted_redelivers_the_same_message_id") {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(dir.path(), ServerOptions::default());
    let w = World::new().await;
    let first = w.dispatcher(server.port).await;
    pay(&w.h, "1", Language::En).await;
    let id = w.outbox(OutboxStatus::Pending).await[0].id;

    // Accepted by the server, but the answer never reaches the process,
    // which dies before recording the delivery.
    server.set_mode("accept-then-stall");
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), first.dispatch("w1"))
            .await
            .is_err()
    );
    first.kill().await;
    assert_eq!(messages_for(dir.path(), id).len(), 1);

    server.set_mode("ok");
    let restarted = w.dispatcher(server.port).await;
    w.h.clock.advance(Span::seconds(61));
    assert_eq!(restarted.dispatch("w2").await.delivered, 1);
    // At least once: a second copy, recognisable by the same Message-ID.
    let got = messages_for(dir.path(), id);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].field("message_id"), got[1].field("message_id"));
    assert_eq!(w.outbox(OutboxStatus::Delivered).await.len(), 1);
}

#[tokio::test]
async fn permanent_failures_become_dead_letters_that_operators_retry() {
    if !smtp_server_available("permanent_failures_become_dead_letters_that_operators_retry") {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(dir.path(), ServerOptions::default());
    let w = World::new().await;
    let d = w.dispatcher(server.port).await;
    pay(&w.h, "1", Language::Ru).await;

    // 550: dead at once.
    server.set_mode("550");
    let report = d.dispatch("w1").await;
    assert_eq!((report.delivered, report.retried, report.dead), (0, 0, 1));
    let (operator, me) = w.h.operator();
    let dead = operator
        .outbox(&me, Some(OutboxStatus::Dead), 0)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1, "visible to operators");
    assert_eq!(dead[0].attempts, 1);
    assert!(
        dead[0].last_error.as_deref().unwrap_or("").contains("550"),
        "{:?}",
        dead[0].last_error
    );
    // Dead letters are not retried on their own.
    server.set_mode("ok");
    w.h.clock.advance(Span::days(3));
    assert_eq!(d.dispatch("w1").await.delivered, 0);
    assert!(server.messages().is_empty());
    // The operator retries it.
    w.operator_retries(dead[0].id).await;
    assert_eq!(d.dispatch("w1").await.delivered, 1);
    assert_eq!(messages_for(dir.path(), dead[0].id).len(), 1);
    assert!(w.outbox(OutboxStatus::Dead).await.is_empty());

    // 451 again and again: dead once the back-off schedule is used up
    // (1 min, 5 min, 1 h, 1 day, 2 days, then give up).
    pay(&w.h, "2", Language::En).await;
    server.set_mode("451");
    let mut failures = 0;
    loop {
        let report = d.dispatch("w1").await;
        assert_eq!(report.delivered, 0);
        failures += 1;
        match retry_delay(failures) {
            Some(delay) => {
                assert_eq!(report.retried, 1, "failure {failures} is retried");
                w.h.clock.advance(delay);
            }
            None => {
                assert_eq!(report.dead, 1, "failure {failures} gives up");
                break;
            }
        }
    }
    assert_eq!(failures, 6);
    let dead = w.outbox(OutboxStatus::Dead).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 6);
    assert!(dead[0].last_error.as_deref().unwrap_or("").contains("451"));
    server.set_mode("ok");
    w.operator_retries(dead[0].id).await;
    assert_eq!(d.dispatch("w1").await.delivered, 1);
    assert_eq!(messages_for(dir.path(), dead[0].id).len(), 1);
}
