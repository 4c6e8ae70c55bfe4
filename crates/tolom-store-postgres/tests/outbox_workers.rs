//! Outbox workers in several processes (here: several pools) never hold
//! the same message at once; failures back off on the core's schedule and
//! end as visible dead letters.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::Duration;
use tolom_acquirer_sandbox::{SandboxAcquirer, VISA_APPROVE};
use tolom_core::outbox::{retry_delay, OutboxStatus};
use tolom_core::payment::PaymentState;
use tolom_core::ports::{Acquirer, Clock, OpsStore, OutboxStore};
use tolom_core::usecases::Config;
use tolom_store_postgres::PostgresStore;
use tolom_testkit::fixtures::Harness;
use uuid::Uuid;

/// A portal instance on `store` with the sandbox acquirer.
fn portal(store: &PostgresStore, config: Config) -> Harness<PostgresStore> {
    let sandbox: Arc<dyn Acquirer> = Arc::new(SandboxAcquirer::for_tests());
    Harness::on(Arc::new(store.clone()), sandbox, config)
}

/// Pays `n` charges through `h`; each success enqueues its messages (a
/// receipt e-mail and an agency notice by default).
async fn pay_many(h: &Harness<PostgresStore>, n: usize) {
    for i in 0..n {
        let charge = h.charge("id-card-2017", "Асанов Айбек Маратович").await;
        let p = h.pay(&charge.code, VISA_APPROVE, &format!("pay-{i}")).await;
        assert_eq!(p.state(), PaymentState::Succeeded);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_on_two_pools_never_hold_a_message_together() {
    let Some(db) = common::TestDb::connect_or_skip("outbox workers").await else {
        return;
    };
    let (a, guard) = db.fresh_with(6).await;
    let b = db.another_instance(&guard, 6).await;
    let portal = portal(&a, Config::default());
    pay_many(&portal, 30).await;
    let total = a
        .outbox_list(Some(OutboxStatus::Pending), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .len();
    assert_eq!(total, 60);

    // Eight workers, four per pool, claiming small batches at the same
    // instant with a long lease. Each records which messages it holds; a
    // message held by two workers at once is a failure.
    let holding: Arc<Mutex<HashSet<Uuid>>> = Arc::new(Mutex::new(HashSet::new()));
    let delivered: Arc<Mutex<HashMap<Uuid, u32>>> = Arc::new(Mutex::new(HashMap::new()));
    let overlaps = Arc::new(Mutex::new(Vec::new()));
    let now = portal.clock.now();
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let store: PostgresStore = if w % 2 == 0 { a.clone() } else { b.clone() };
            let (holding, delivered, overlaps) =
                (holding.clone(), delivered.clone(), overlaps.clone());
            tokio::spawn(async move {
                let name = format!("worker-{w}");
                loop {
                    let batch = store
                        .claim_outbox(now, now + Duration::minutes(5), 3, &name)
                        .await
                        .unwrap_or_else(|e| panic!("{name}: claim: {e}"));
                    if batch.is_empty() {
                        break;
                    }
                    for m in &batch {
                        if let Ok(mut h) = holding.lock() {
                            if !h.insert(m.id) {
                                if let Ok(mut o) = overlaps.lock() {
                                    o.push(m.id);
                                }
                            }
                        }
                    }
                    // "Deliver": hold the messages for a moment.
                    tokio::time::sleep(StdDuration::from_millis(3)).await;
                    for m in &batch {
                        if let Ok(mut d) = delivered.lock() {
                            *d.entry(m.id).or_default() += 1;
                        }
                        if let Ok(mut h) = holding.lock() {
                            h.remove(&m.id);
                        }
                        store
                            .outbox_delivered(m.id, now)
                            .await
                            .unwrap_or_else(|e| panic!("{name}: delivered: {e}"));
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap_or_else(|e| panic!("worker: {e}"));
    }
    let overlaps = overlaps.lock().map(|o| o.clone()).unwrap_or_default();
    assert!(overlaps.is_empty(), "messages held twice: {overlaps:?}");
    let delivered = delivered.lock().map(|d| d.clone()).unwrap_or_default();
    assert_eq!(delivered.len(), 60, "every message delivered");
    assert!(
        delivered.values().all(|n| *n == 1),
        "each message delivered exactly once"
    );
    assert_eq!(
        b.outbox_list(Some(OutboxStatus::Delivered), 0)
            .await
            .map(|v| v.len()),
        Ok(60)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_portals_dispatch_each_notice_once() {
    let Some(db) = common::TestDb::connect_or_skip("outbox dispatch, two portals").await else {
        return;
    };
    let (a, guard) = db.fresh_with(6).await;
    let b = db.another_instance(&guard, 6).await;
    let one = Arc::new(portal(&a, Config::default()));
    let two = Arc::new(portal(&b, Config::default()));
    pay_many(&one, 20).await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let portal = if i % 2 == 0 { one.clone() } else { two.clone() };
            tokio::spawn(async move {
                let mut n = 0;
                loop {
                    let r = portal
                        .tolom
                        .dispatch_outbox(&format!("portal-{}-{i}", i % 2), 4)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    if r.delivered + r.retried + r.dead == 0 {
                        return n;
                    }
                    n += r.delivered;
                }
            })
        })
        .collect();
    let mut delivered = 0;
    for t in tasks {
        delivered += t.await.unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(delivered, 40);
    let mut ids: Vec<Uuid> = Vec::new();
    for p in [&one, &two] {
        ids.extend(p.email.delivered().iter().map(|(id, _)| *id));
        ids.extend(p.webhook.delivered().iter().map(|(id, _)| *id));
    }
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    assert_eq!(ids.len(), 40, "40 deliveries in all");
    assert_eq!(unique.len(), 40, "no message delivered twice");
    assert_eq!(
        b.outbox_list(Some(OutboxStatus::Pending), 0)
            .await
            .map(|v| v.len()),
        Ok(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_back_off_then_die_visibly_and_can_be_retried() {
    let Some(db) = common::TestDb::connect_or_skip("outbox back-off").await else {
        return;
    };
    let (store, _guard) = db.fresh().await;
    // One message per payment: the agency notice.
    let h = portal(
        &store,
        Config {
            receipt_emails: false,
            ..Config::default()
        },
    );
    let (tolom, clock, webhook) = (&h.tolom, &h.clock, &h.webhook);
    pay_many(&h, 1).await;

    // The receiver is down: every attempt fails, transiently.
    webhook.fail_next(100, true);
    let mut failures = 0u32;
    loop {
        let r = tolom
            .dispatch_outbox("w", 10)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.delivered, 0);
        failures += 1;
        let m = store
            .outbox_list(None, 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .remove(0);
        assert_eq!(m.attempts, failures);
        assert_eq!(
            m.last_error.as_deref(),
            Some("receiver unavailable (scripted)")
        );
        assert_eq!(m.lease_until, None, "a failure releases the lease");
        match retry_delay(failures) {
            Some(delay) => {
                assert_eq!(r.retried, 1);
                assert_eq!(m.status, OutboxStatus::Pending);
                assert_eq!(m.next_attempt_at, clock.now() + delay, "back-off");
                // Not due before its time...
                clock.advance(delay - Duration::seconds(1));
                let early = tolom
                    .dispatch_outbox("w", 10)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(early.retried + early.delivered + early.dead, 0);
                // ...due at it.
                clock.advance(Duration::seconds(1));
            }
            None => {
                assert_eq!(r.dead, 1);
                assert_eq!(m.status, OutboxStatus::Dead);
                break;
            }
        }
    }
    assert_eq!(failures, 6, "1 min, 5 min, 1 h, 1 day, 2 days, then dead");
    let dead = store
        .outbox_list(Some(OutboxStatus::Dead), 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dead.len(), 1, "the dead letter is visible");
    // An operator retries it once the receiver is back; the retry is in
    // the audit log.
    webhook.fail_next(0, true);
    let (operator, who) = h.operator();
    assert_eq!(
        operator
            .retry_outbox(&who, &[dead[0].id], false)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        1
    );
    store.seal_audit(100_000).await.expect("seal");
    let audit = store.audit_entries(1, 0).await.unwrap_or_default();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "outbox.retried" && e.subject == dead[0].id.to_string()),
        "the retry is audited"
    );
    let r = tolom
        .dispatch_outbox("w", 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.delivered, 1);
    assert_eq!(webhook.delivered().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_hands_the_message_to_another_pool() {
    let Some(db) = common::TestDb::connect_or_skip("outbox leases").await else {
        return;
    };
    let (a, guard) = db.fresh().await;
    let b = db.another_instance(&guard, 2).await;
    let portal = portal(&a, Config::default());
    pay_many(&portal, 1).await;
    let now = portal.clock.now();
    let first = a
        .claim_outbox(now, now + Duration::seconds(60), 10, "crashed-worker")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.len(), 2);
    // The worker "crashes": it never reports. Until the lease ends, the
    // other instance gets nothing.
    let during = b
        .claim_outbox(
            now + Duration::seconds(59),
            now + Duration::seconds(120),
            10,
            "b",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(during.is_empty());
    let owner: Vec<String> = sqlx::query_scalar("SELECT lease_owner FROM outbox ORDER BY seq")
        .fetch_all(b.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(owner, ["crashed-worker", "crashed-worker"]);
    let after = b
        .claim_outbox(
            now + Duration::seconds(60),
            now + Duration::seconds(120),
            10,
            "b",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        after.iter().map(|m| m.id).collect::<Vec<_>>(),
        first.iter().map(|m| m.id).collect::<Vec<_>>(),
        "the same messages, in the same order, once the lease ran out"
    );
}
