//! Outbox on a SQLite file: leases hand each message to one worker at a
//! time, failures are retried on the core's schedule, dead letters are
//! visible and can be retried.

mod common;

use std::collections::HashSet;

use std::sync::Arc;

use chrono::Duration;
use common::World;
use tolom_acquirer_sandbox::VISA_APPROVE;
use tolom_core::outbox::{retry_delay, Channel, OutboxStatus};
use tolom_core::ports::{Clock, OpsStore, OutboxStore, Store};
use uuid::Uuid;

/// Pays `n` charges; each success enqueues a receipt e-mail and an agency
/// notice.
async fn pay(w: &World, n: usize) {
    for i in 0..n {
        let charge = w.h.charge(common::SERVICE, common::PAYER).await;
        w.h.pay(&charge.code, VISA_APPROVE, &format!("pay-{i}"))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_dispatchers_deliver_each_message_once() {
    let w = Arc::new(World::new().await);
    pay(&w, 24).await;
    assert_eq!(
        w.store()
            .outbox_list(Some(OutboxStatus::Pending), 0)
            .await
            .map(|v| v.len()),
        Ok(48),
        "two messages per success, written with it"
    );
    let workers: Vec<_> = (0..6)
        .map(|i| {
            let w = w.clone();
            tokio::spawn(async move {
                let mut delivered = 0;
                loop {
                    let r =
                        w.h.tolom
                            .dispatch_outbox(&format!("worker-{i}"), 3)
                            .await
                            .expect("dispatch");
                    if r.delivered + r.retried + r.dead == 0 {
                        break delivered;
                    }
                    delivered += r.delivered;
                }
            })
        })
        .collect();
    let mut total = 0;
    for t in workers {
        total += t.await.expect("worker");
    }
    assert_eq!(total, 48, "every message delivered by exactly one worker");
    let ids: Vec<Uuid> =
        w.h.email
            .delivered()
            .iter()
            .chain(w.h.webhook.delivered().iter())
            .map(|(id, _)| *id)
            .collect();
    assert_eq!(ids.len(), 48, "48 deliveries, no second delivery");
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        48,
        "no duplicates"
    );
    assert_eq!(w.h.email.delivered().len(), 24);
    assert_eq!(w.h.webhook.delivered().len(), 24);
    assert_eq!(
        w.store()
            .outbox_list(Some(OutboxStatus::Delivered), 0)
            .await
            .map(|v| v.len()),
        Ok(48)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn raw_claims_from_many_tasks_never_overlap_while_leased() {
    let w = World::new().await;
    pay(&w, 20).await;
    let now = w.h.clock.now();
    let lease = now + Duration::seconds(60);
    let claims: Vec<_> = (0..16)
        .map(|i| {
            let store = w.h.store.clone();
            tokio::spawn(async move {
                store
                    .claim_outbox(now, lease, 3, &format!("w{i}"))
                    .await
                    .expect("claim")
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for c in claims {
        for m in c.await.expect("task") {
            assert!(seen.insert(m.id), "message {} handed out twice", m.id);
            assert_eq!(m.lease_until, Some(lease));
        }
    }
    assert_eq!(seen.len(), 40, "all 40 messages claimed, each once");
    assert_eq!(
        w.store()
            .claim_outbox(now, lease, 100, "late")
            .await
            .map(|v| v.len()),
        Ok(0),
        "nothing claimable while leased"
    );
    let after = now + Duration::seconds(61);
    let again = w
        .store()
        .claim_outbox(after, after + Duration::seconds(60), 100, "late")
        .await
        .expect("claim");
    assert_eq!(again.len(), 40, "an expired lease frees the message");
    // The lease owner is recorded for operators.
    let mut raw = common::raw(&w.path).await;
    let owners: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT lease_owner FROM outbox WHERE lease_owner IS NOT NULL")
            .fetch_all(&mut raw)
            .await
            .expect("owners");
    assert_eq!(owners, vec!["late".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_follow_the_retry_schedule_then_become_dead_letters() {
    let w = World::new().await;
    pay(&w, 1).await;
    w.h.webhook.fail_next(100, true);
    let mut failures = 0u32;
    loop {
        let r = w.h.tolom.dispatch_outbox("w", 10).await.expect("dispatch");
        let webhook_msg = w
            .store()
            .outbox_list(None, 0)
            .await
            .expect("list")
            .into_iter()
            .find(|m| m.payload.channel() == Channel::Webhook)
            .expect("agency notice");
        failures += 1;
        assert_eq!(webhook_msg.attempts, failures, "one attempt counted");
        assert_eq!(
            webhook_msg.last_error.as_deref(),
            Some("receiver unavailable (scripted)")
        );
        assert_eq!(
            webhook_msg.lease_until, None,
            "a failure releases the lease"
        );
        match retry_delay(failures) {
            Some(delay) => {
                assert_eq!(r.retried, 1);
                assert_eq!(webhook_msg.status, OutboxStatus::Pending);
                assert_eq!(
                    webhook_msg.next_attempt_at,
                    w.h.clock.now() + delay,
                    "retried after retry_delay({failures})"
                );
                // Not before its time.
                w.h.clock.advance(delay - Duration::seconds(1));
                assert_eq!(
                    w.h.tolom.dispatch_outbox("w", 10).await.map(|r| r.retried),
                    Ok(0)
                );
                w.h.clock.advance(Duration::seconds(1));
            }
            None => {
                assert_eq!(r.dead, 1);
                assert_eq!(webhook_msg.status, OutboxStatus::Dead);
                break;
            }
        }
    }
    assert_eq!(failures, 6, "five retries, then a dead letter");
    let dead = w
        .store()
        .outbox_list(Some(OutboxStatus::Dead), 0)
        .await
        .expect("dead letters");
    assert_eq!(dead.len(), 1, "the dead letter is visible");
    assert_eq!(
        w.h.email.delivered().len(),
        1,
        "the e-mail went out at once"
    );
    // An operator retries it; the receiver is back. The retry and its
    // audit note are one transaction.
    w.h.webhook.fail_next(0, true);
    let (operator, who) = w.h.operator();
    assert_eq!(
        operator
            .retry_outbox(&who, &[dead[0].id], false)
            .await
            .expect("retry"),
        1
    );
    let notes = w.store().audit_entries(1, 0).await.expect("audit");
    let retried = notes
        .iter()
        .find(|e| e.action == "outbox.retried")
        .expect("the retry is in the audit chain");
    assert_eq!(retried.actor, "cli:test");
    assert_eq!(retried.subject, dead[0].id.to_string());
    let r = w.h.tolom.dispatch_outbox("w", 10).await.expect("dispatch");
    assert_eq!(r.delivered, 1);
    assert_eq!(w.h.webhook.delivered().len(), 1);
    assert_eq!(
        w.store()
            .outbox_list(Some(OutboxStatus::Dead), 0)
            .await
            .map(|v| v.len()),
        Ok(0)
    );
    let _: &dyn Store = w.store();
}

#[tokio::test]
async fn a_permanent_failure_is_a_dead_letter_at_once() {
    let w = World::new().await;
    pay(&w, 1).await;
    w.h.email.fail_next(1, false);
    let r = w.h.tolom.dispatch_outbox("w", 10).await.expect("dispatch");
    assert_eq!((r.delivered, r.dead), (1, 1));
    let dead = w
        .store()
        .outbox_list(Some(OutboxStatus::Dead), 0)
        .await
        .expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 1);
}
