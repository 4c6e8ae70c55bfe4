//! Outbox dispatch through the SMTP notifier with a real SMTP server:
//! a full payment flow, a server outage, a dispatcher killed mid-send and
//! restarted, and dead letters that operators retry.
//!
//! The store is `tolom-store-sqlite` on a temporary file; a "restarted
//! process" closes it and opens the same file again in a new `Tolom`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;
use support::*;
use tolom_core::i18n::Language;
use tolom_core::outbox::{retry_delay, OutboxMessage, OutboxStatus};
use tolom_core::payment::{Payment, PaymentState};
use tolom_core::ports::OutboxStore;
use tolom_core::usecases::{Config, IssueCharge, StartPayment, Tolom};
use tolom_core::ports::Clock;
use tolom_notify_smtp::{Security, SmtpConfig, SmtpNotifier};
use tolom_store_sqlite::{SqliteOptions, SqliteStore};
use tolom_testkit::clock::ManualClock;
use tolom_testkit::conformance::notifier::SAMPLE_PAN;
use tolom_testkit::fake::FakeAcquirer;
use tolom_testkit::fixtures::{card_form, test_signer};

const CVV: &str = "739";
const PAYER_EMAIL: &str = "payer@example.kg";

struct World {
    db: TempDir,
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    acquirer: Arc<FakeAcquirer>,
}

async fn open(db: &TempDir) -> Arc<SqliteStore> {
    let path = db.path().join("tolom.db");
    Arc::new(
        SqliteStore::open(path.to_str().unwrap(), SqliteOptions::default())
            .await
            .unwrap(),
    )
}

impl World {
    async fn new() -> World {
        let db = TempDir::new("tolom-db");
        let store = open(&db).await;
        World {
            db,
            store,
            clock: Arc::new(ManualClock::fixed()),
            acquirer: Arc::new(FakeAcquirer::new()),
        }
    }

    /// The process died: its database connections are gone; a new process
    /// opens the same file.
    async fn restart(&mut self) {
        self.store.close().await;
        self.store = open(&self.db).await;
    }

    /// A `Tolom` process over the shared store, mailing through `port`.
    fn process(&self, port: u16) -> Tolom {
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
        Tolom::builder()
            .store(self.store.clone())
            .acquirer(self.acquirer.clone())
            .clock(self.clock.clone())
            .signer(Arc::new(test_signer()))
            .notifier(Arc::new(notifier))
            .config(Config {
                // Only e-mails here; agency notices are the webhook's.
                agency_notices: false,
                ..Config::default()
            })
            .build()
            .unwrap()
    }

    async fn outbox(&self, status: OutboxStatus) -> Vec<OutboxMessage> {
        self.store.outbox_list(Some(status), 0).await.unwrap()
    }
}

/// Pays a passport fee with a card typed into the form (full PAN and CVV).
async fn pay(tolom: &Tolom, clock: &ManualClock, key: &str, language: Language) -> Payment {
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
            payer: "Сыдыкова Айгүл Бакытовна".into(),
            code: None,
            expires_at: clock.now() + Span::days(30),
            agency_ref: Some(format!("AG-{key}")),
        })
        .await
        .unwrap();
    let terms = tolom.terms_in_force().await.unwrap().id;
    let p = tolom
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
    let p = tolom
        .submit_card(p.id, &form, &format!("card-{key}"))
        .await
        .unwrap();
    assert_eq!(p.state, PaymentState::Succeeded);
    p
}

#[tokio::test]
async fn a_paid_fee_is_mailed_in_the_payers_language_without_card_secrets() {
    if !smtp_server_available("a_paid_fee_is_mailed_in_the_payers_language") {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(dir.path(), ServerOptions::default());
    let w = World::new().await;
    let tolom = w.process(server.port);
    let p = pay(&tolom, &w.clock, "1", Language::Ky).await;
    let queued = w.outbox(OutboxStatus::Pending).await;
    assert_eq!(
        queued.len(),
        1,
        "the receipt e-mail was queued with the success"
    );

    let report = tolom.dispatch_outbox("w1", 10).await.unwrap();
    assert_eq!(report.delivered, 1);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.json["rcpt_tos"], serde_json::json!([PAYER_EMAIL]));
    assert_eq!(m.field("tolom_message_id"), queued[0].id.to_string());
    let number = p.receipt_number.clone().unwrap();
    assert!(m.field("subject").starts_with("Төлөм боюнча дүмүрчөк №"));
    assert!(m.field("subject").contains(&number));
    assert_eq!(m.field("content_language"), "ky");
    let text = m.text_part("text/plain").unwrap();
    let html = m.text_part("text/html").unwrap();
    for body in [&text, &html] {
        assert!(body.contains("кызматы үчүн төлөмүңүз кабыл алынды"));
        assert!(body.contains(&number));
        assert!(body.contains("885.00 KGS"));
        assert!(body.contains("411111******1111"));
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
    assert_eq!(tolom.dispatch_outbox("w1", 10).await.unwrap().delivered, 0);
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
    let tolom = w.process(port);
    for (key, lang) in [
        ("a", Language::Ky),
        ("b", Language::Ru),
        ("c", Language::En),
    ] {
        pay(&tolom, &w.clock, key, lang).await;
    }
    // Three failed rounds while the server is down, on the back-off
    // schedule (1 min, 5 min, ...).
    for failures in 1..=3u32 {
        let report = tolom.dispatch_outbox("w1", 10).await.unwrap();
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
                w.clock.now() + retry_delay(failures).unwrap()
            );
        }
        // Not due before the back-off has passed.
        assert_eq!(
            tolom.dispatch_outbox("w1", 10).await.unwrap(),
            Default::default()
        );
        w.clock.advance(retry_delay(failures).unwrap());
    }
    // The server comes back.
    let server = SmtpServer::start(
        dir.path(),
        ServerOptions {
            port,
            ..ServerOptions::default()
        },
    );
    let report = tolom.dispatch_outbox("w1", 10).await.unwrap();
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
    w.clock.advance(Span::days(3));
    assert_eq!(tolom.dispatch_outbox("w1", 10).await.unwrap().delivered, 0);
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
    let mut w = World::new().await;
    let first = w.process(server.port);
    pay(&first, &w.clock, "1", Language::Ru).await;
    let id = w.outbox(OutboxStatus::Pending).await[0].id;

    // The server takes the message data and never answers; the process
    // dies while it waits (its future is dropped mid-delivery).
    server.set_mode("stall");
    let killed =
        tokio::time::timeout(Duration::from_millis(1500), first.dispatch_outbox("w1", 10)).await;
    assert!(killed.is_err(), "the dispatcher was still sending");
    drop(first);
    w.restart().await;
    let stuck = w.outbox(OutboxStatus::Pending).await;
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].attempts, 0, "no outcome was recorded");
    assert!(stuck[0].lease_until.is_some(), "claimed, never marked");
    assert!(server.messages().is_empty(), "the server never accepted it");

    // A restarted process on the same store, with the server healthy.
    server.set_mode("ok");
    let restarted = w.process(server.port);
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
    let got = messages_for(dir.path(), id);
    assert_eq!(got.len(), 1, "delivered exactly once");
    assert_eq!(w.outbox(OutboxStatus::Delivered).await.len(), 1);
    assert_eq!(
        restarted.dispatch_outbox("w2", 10).await.unwrap().delivered,
        0
    );
}

#[tokio::test]
async fn a_crash_after_the_server_accepted_redelivers_the_same_message_id() {
    if !smtp_server_available("a_crash_after_the_server_accepted") {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(dir.path(), ServerOptions::default());
    let mut w = World::new().await;
    let first = w.process(server.port);
    pay(&first, &w.clock, "1", Language::En).await;
    let id = w.outbox(OutboxStatus::Pending).await[0].id;

    // Accepted by the server, but the answer never reaches the process,
    // which dies before recording the delivery.
    server.set_mode("accept-then-stall");
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), first.dispatch_outbox("w1", 10))
            .await
            .is_err()
    );
    drop(first);
    w.restart().await;
    assert_eq!(messages_for(dir.path(), id).len(), 1);

    server.set_mode("ok");
    let restarted = w.process(server.port);
    w.clock.advance(Span::seconds(61));
    assert_eq!(
        restarted.dispatch_outbox("w2", 10).await.unwrap().delivered,
        1
    );
    // At least once: a second copy, recognisable by the same Message-ID.
    let got = messages_for(dir.path(), id);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].field("message_id"), got[1].field("message_id"));
    assert_eq!(w.outbox(OutboxStatus::Delivered).await.len(), 1);
}

#[tokio::test]
async fn permanent_failures_become_dead_letters_that_operators_retry() {
    if !smtp_server_available("permanent_failures_become_dead_letters") {
        return;
    }
    let dir = TempDir::new("tolom-smtp");
    let server = SmtpServer::start(dir.path(), ServerOptions::default());
    let w = World::new().await;
    let tolom = w.process(server.port);
    pay(&tolom, &w.clock, "1", Language::Ru).await;

    // 550: dead at once.
    server.set_mode("550");
    let report = tolom.dispatch_outbox("w1", 10).await.unwrap();
    assert_eq!((report.delivered, report.retried, report.dead), (0, 0, 1));
    let dead = w.outbox(OutboxStatus::Dead).await;
    assert_eq!(dead.len(), 1, "visible to operators");
    assert_eq!(dead[0].attempts, 1);
    assert!(
        dead[0].last_error.as_deref().unwrap_or("").contains("550"),
        "{:?}",
        dead[0].last_error
    );
    // Dead letters are not retried on their own.
    server.set_mode("ok");
    w.clock.advance(Span::days(3));
    assert_eq!(tolom.dispatch_outbox("w1", 10).await.unwrap().delivered, 0);
    assert!(server.messages().is_empty());
    // The operator retries it.
    tolom
        .store()
        .outbox_retry(dead[0].id, w.clock.now())
        .await
        .unwrap();
    assert_eq!(tolom.dispatch_outbox("w1", 10).await.unwrap().delivered, 1);
    assert_eq!(messages_for(dir.path(), dead[0].id).len(), 1);
    assert!(w.outbox(OutboxStatus::Dead).await.is_empty());

    // 451 again and again: dead once the back-off schedule is used up
    // (1 min, 5 min, 1 h, 1 day, 2 days, then give up).
    pay(&tolom, &w.clock, "2", Language::En).await;
    server.set_mode("451");
    let mut failures = 0;
    loop {
        let report = tolom.dispatch_outbox("w1", 10).await.unwrap();
        assert_eq!(report.delivered, 0);
        failures += 1;
        match retry_delay(failures) {
            Some(delay) => {
                assert_eq!(report.retried, 1, "failure {failures} is retried");
                w.clock.advance(delay);
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
    tolom
        .store()
        .outbox_retry(dead[0].id, w.clock.now())
        .await
        .unwrap();
    assert_eq!(tolom.dispatch_outbox("w1", 10).await.unwrap().delivered, 1);
    assert_eq!(messages_for(dir.path(), dead[0].id).len(), 1);
}
