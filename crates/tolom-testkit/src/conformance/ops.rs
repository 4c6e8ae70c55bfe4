//! The operations-storage conformance suite (audit log, tokens, retention,
//! access requests).

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::future::join_all;
use tolom_core::access::{hash_token, ApiToken, Role, ANONYMISED};
use tolom_core::audit::{verify_chain, AuditHead, AuditNote};
use tolom_core::ports::Clock;
use tolom_core::ports::{InvariantKind, OpsStore, Store, StoreError};
use tolom_core::usecases::{Config, StartPayment};
use uuid::Uuid;

use crate::clock::ManualClock;
use crate::fake::FakeAcquirer;
use crate::fixtures::{card_form, test_signer};

fn note(at: DateTime<Utc>, action: &str, subject: &str) -> AuditNote {
    AuditNote::new(at, "cli:test", action, subject, serde_json::json!({}))
}

/// The cases, by name.
pub const CASES: [&str; 7] = [
    "audit_chain",
    "audit_sealing",
    "audit_checkpoints",
    "tokens",
    "retention",
    "retention_scrubs_outbox_errors",
    "external_payments_audited",
];

/// Seals everything that waits, then reads the whole sealed log.
async fn sealed_entries<S: OpsStore + ?Sized>(store: &S) -> Vec<tolom_core::audit::AuditEntry> {
    while store
        .seal_audit(100)
        .await
        .unwrap_or_else(|e| panic!("seal: {e}"))
        > 0
    {}
    store
        .audit_entries(1, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs every case on fresh stores from `make`. Prefer
/// [`crate::ops_conformance`], which makes one named test per case.
pub async fn run<S, F, Fut>(make: F)
where
    S: Store + OpsStore + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    audit_chain(make().await).await;
    audit_sealing(make().await).await;
    audit_checkpoints(make().await).await;
    tokens(make().await).await;
    retention(make().await).await;
    external_payments_audited(make().await).await;
    retention_scrubs_outbox_errors(make().await).await;
}

/// Appends (also concurrent ones) form one unbroken chain.
pub async fn audit_chain<S: OpsStore + ?Sized>(store: Arc<S>) {
    let t = Utc
        .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let first_note = AuditNote::new(
        t,
        "system",
        "charge.issued",
        "c1",
        serde_json::json!({"amount": "885.00"}),
    );
    store
        .append_audit(&first_note)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let first = sealed_entries(&*store).await.remove(0);
    assert_eq!(first.seq, 1);
    assert_eq!(
        (first.actor.as_str(), first.action.as_str(), &first.data),
        ("system", "charge.issued", &first_note.data)
    );
    let notes: Vec<AuditNote> = (0..10)
        .map(|i| {
            AuditNote::new(
                t,
                "token:ops",
                "admin.refund",
                "p",
                serde_json::json!({"i": i}),
            )
        })
        .collect();
    let appends = join_all(notes.iter().map(|n| store.append_audit(n))).await;
    assert!(
        appends.iter().all(|r| r.is_ok()),
        "concurrent appends succeed: {appends:?}"
    );
    let entries = sealed_entries(&*store).await;
    assert_eq!(entries.len(), 11);
    assert_eq!(
        verify_chain(&entries),
        Ok(11),
        "concurrent appends form one chain"
    );
    assert_eq!(entries[0], first, "an entry reads back exactly as appended");
    let tail = store
        .audit_entries(10, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        tail.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![10, 11],
        "from_seq"
    );
    assert_eq!(
        store.audit_entries(1, 3).await.map(|v| v.len()),
        Ok(3),
        "limit"
    );
}

/// Sealing: appended entries join the chain in the order they were
/// appended, every one exactly once, also with sealers running at once;
/// the head and the unsealed count say where the chain is.
pub async fn audit_sealing<S: OpsStore + ?Sized + 'static>(store: Arc<S>) {
    let t = Utc
        .with_ymd_and_hms(2026, 12, 2, 10, 0, 0)
        .single()
        .unwrap_or_default();
    assert_eq!(
        store.audit_head().await,
        Ok(AuditHead::empty()),
        "an empty log's head is the genesis hash"
    );
    assert_eq!(store.seal_audit(10).await, Ok(0), "nothing to seal");
    for i in 0..5 {
        store
            .append_audit(&AuditNote::new(
                t,
                "system",
                "x",
                "s",
                serde_json::json!({"i": i}),
            ))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // A store that seals later holds them back until sealed; one that
    // chains at once has sealed them already. Either way, after at most
    // five batches of one, all five are in the chain, in order.
    let waiting = store
        .audit_unsealed()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(waiting == 0 || waiting == 5, "unsealed: {waiting}");
    let mut sealed = 0;
    for _ in 0..5 {
        sealed += store.seal_audit(1).await.unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(sealed, waiting, "a batch of one seals one entry");
    assert_eq!(store.audit_unsealed().await, Ok(0));
    let entries = store
        .audit_entries(1, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verify_chain(&entries), Ok(5));
    assert_eq!(
        entries
            .iter()
            .map(|e| e.data["i"].clone())
            .collect::<Vec<_>>(),
        (0..5).map(|i| serde_json::json!(i)).collect::<Vec<_>>(),
        "sealed in the order appended"
    );
    assert_eq!(
        store.audit_head().await,
        Ok(AuditHead::of(&entries[4])),
        "the head is the last sealed entry"
    );
    // Appends and sealers at the same time: one chain, each entry once.
    type Step = std::pin::Pin<Box<dyn Future<Output = Result<u64, StoreError>> + Send>>;
    let mut steps: Vec<Step> = Vec::new();
    for i in 0..40 {
        let appender = store.clone();
        steps.push(Box::pin(async move {
            appender
                .append_audit(&AuditNote::new(
                    t,
                    "system",
                    "y",
                    "s",
                    serde_json::json!({"j": i}),
                ))
                .await
                .map(|_| 0u64)
        }));
        if i % 10 == 0 {
            let store = store.clone();
            steps.push(Box::pin(async move { store.seal_audit(3).await }));
        }
    }
    let results = join_all(steps).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let entries = sealed_entries(&*store).await;
    assert_eq!(verify_chain(&entries), Ok(45), "one chain of every entry");
    let mut js: Vec<i64> = entries
        .iter()
        .filter_map(|e| e.data["j"].as_i64())
        .collect();
    js.sort_unstable();
    assert_eq!(
        js,
        (0..40).collect::<Vec<_>>(),
        "each entry sealed exactly once"
    );
}

/// Checkpoints: the operator seals, signs and keeps one per size (the same
/// one again while the log has not grown); the log verifies against them;
/// the store keeps one per size, largest first; a kept checkpoint the log
/// does not extend makes the operator refuse to sign and verification
/// fail.
pub async fn audit_checkpoints<S: Store + OpsStore + 'static>(store: Arc<S>) {
    use tolom_core::access::Principal;
    use tolom_core::audit::checkpoint::CheckpointKey;
    use tolom_core::ports::StoredCheckpoint;
    use tolom_core::usecases::operator::Checkpointing;
    let t = Utc
        .with_ymd_and_hms(2026, 12, 2, 10, 0, 0)
        .single()
        .unwrap_or_default();
    let tolom = tolom_core::Tolom::builder()
        .store(store.clone())
        .ops(store.clone())
        .acquirer(Arc::new(FakeAcquirer::new()))
        .clock(Arc::new(ManualClock::fixed()))
        .signer(Arc::new(test_signer()))
        .config(Config::default())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let operator = tolom.operator().unwrap_or_else(|e| panic!("{e}"));
    let who = Principal::System;
    let key = CheckpointKey::from_seed("conformance.test/audit", [5u8; 32])
        .unwrap_or_else(|e| panic!("{e}"));
    let append = |n: i64| {
        let store = store.clone();
        async move {
            for i in 0..n {
                store
                    .append_audit(&AuditNote::new(t, "system", "z", "s", serde_json::json!(i)))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
    };
    assert_eq!(store.checkpoints(0).await, Ok(vec![]));
    append(3).await;
    let first = match operator.checkpoint_audit(&who, &key).await {
        Ok(Checkpointing::Made(c)) => c,
        other => panic!("a first checkpoint is made: {other:?}"),
    };
    assert_eq!(first.checkpoint.size, 3, "it covers the sealed log");
    assert_eq!(store.audit_unsealed().await, Ok(0), "it sealed what waited");
    let head = store.audit_head().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((head.size, &head.hash), (3, &first.checkpoint.head));
    assert_eq!(
        operator.checkpoint_audit(&who, &key).await.ok(),
        Some(Checkpointing::Kept(first.clone())),
        "the log has not grown: the same checkpoint"
    );
    append(2).await;
    let second = match operator.checkpoint_audit(&who, &key).await {
        Ok(Checkpointing::Made(c)) => c,
        other => panic!("the log grew: a new checkpoint: {other:?}"),
    };
    assert_eq!(second.checkpoint.size, 5);
    let kept = store.checkpoints(0).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        kept.iter()
            .map(|k| (k.size, k.text.as_str()))
            .collect::<Vec<_>>(),
        vec![(5, second.text()), (3, first.text())],
        "kept as signed, largest first"
    );
    assert_eq!(store.checkpoints(1).await.map(|v| v.len()), Ok(1), "limit");
    let report = operator
        .verify_audit_against(&who, &[first.clone(), second.clone()], &[key.verifier()])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.checkpoints.len(), 4, "two given, two kept");
    assert!(report.checkpoints.iter().all(|c| c.signed_by.is_some()));
    // One per size: a second one of size 5 writes nothing.
    let again = StoredCheckpoint {
        size: 5,
        head: second.checkpoint.head.clone(),
        at: t,
        text: "another".into(),
    };
    assert_eq!(store.save_checkpoint(&again).await, Ok(false));
    assert_eq!(
        store.checkpoints(1).await.map(|v| v[0].text.clone()),
        Ok(second.text().to_string())
    );
    // A kept checkpoint beyond the log (as if entries had been deleted
    // since): no signature on top of it, and verification fails.
    let beyond = key.sign(tolom_core::audit::checkpoint::Checkpoint::new(
        key.name(),
        9,
        &"a".repeat(64),
        t,
    ));
    let row = StoredCheckpoint {
        size: 9,
        head: "a".repeat(64),
        at: t,
        text: beyond.text().to_string(),
    };
    assert_eq!(store.save_checkpoint(&row).await, Ok(true));
    let r = operator.checkpoint_audit(&who, &key).await;
    assert!(matches!(r, Ok(Checkpointing::Refused(_))), "{r:?}");
    let report = operator
        .verify_audit(&who)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !report.intact(),
        "a kept checkpoint beyond the log: {report:?}"
    );
    assert_eq!(report.broken_at, Some(6), "the first missing entry");
}

/// Tokens: hashes only, unique names, revocation.
pub async fn tokens<S: OpsStore + ?Sized>(store: Arc<S>) {
    let t = Utc
        .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let token = ApiToken {
        id: Uuid::new_v4(),
        name: "ops-1".into(),
        role: Role::Operator,
        secret_hash: hash_token("secret-1"),
        created_at: t,
        revoked_at: None,
    };
    store
        .create_token(&token, &note(t, "token.created", "ops-1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dup = ApiToken {
        id: Uuid::new_v4(),
        secret_hash: hash_token("secret-2"),
        ..token.clone()
    };
    let r = store
        .create_token(&dup, &note(t, "token.created", "ops-1 again"))
        .await;
    assert_eq!(
        r.as_ref().err().and_then(StoreError::invariant_kind),
        Some(InvariantKind::DuplicateToken),
        "token names are unique: {r:?}"
    );
    assert_eq!(
        store.token_by_hash(&hash_token("secret-1")).await,
        Ok(Some(token.clone()))
    );
    assert_eq!(store.token_by_hash(&hash_token("wrong")).await, Ok(None));
    store
        .revoke_token(
            "ops-1",
            t + Duration::minutes(1),
            &note(t, "token.revoked", "ops-1"),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.token_by_hash(&hash_token("secret-1")).await,
        Ok(None),
        "a revoked token no longer authenticates"
    );
    assert_eq!(
        store
            .revoke_token("ops-1", t, &note(t, "token.revoked", "again"))
            .await,
        Err(StoreError::NotFound),
        "revoking twice is NotFound"
    );
    let listed = store.list_tokens().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked_at, Some(t + Duration::minutes(1)));
    // Each action left its note, and only the actions that happened.
    let subjects: Vec<(String, String)> = sealed_entries(&*store)
        .await
        .into_iter()
        .map(|e| (e.action, e.subject))
        .collect();
    assert_eq!(
        subjects,
        vec![
            ("token.created".to_string(), "ops-1".to_string()),
            ("token.revoked".to_string(), "ops-1".to_string()),
        ],
        "a token action and its note are one transaction: a refused one leaves no note"
    );
}

/// Retention removes contact data of settled payments, and access requests
/// find a subject's payments.
pub async fn retention<S: Store + OpsStore + 'static>(store: Arc<S>) {
    let clock = Arc::new(ManualClock::fixed());
    let tolom = tolom_core::Tolom::builder()
        .store(store.clone())
        .acquirer(Arc::new(FakeAcquirer::new()))
        .clock(clock.clone())
        .signer(Arc::new(test_signer()))
        .config(Config::default())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let charge = tolom
        .issue_charge(tolom_core::usecases::IssueCharge {
            service: "passport-2020".into(),
            urgency: None,
            amount: None,
            payer: "Асанов Айбек".into(),
            code: None,
            expires_at: clock.now() + Duration::days(30),
            agency_ref: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let terms = tolom
        .terms_in_force()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    let p = tolom
        .start_payment(StartPayment {
            code: charge.code.as_str(),
            accepted_terms: Some(&terms),
            idempotency_key: "k",
            language: tolom_core::i18n::Language::Ky,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let paid = tolom
        .submit_card(p.id(), &card_form("4111111111111111"), "c")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let found = store
        .payments_by_contact(Some("+996 555 123 456".into()), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        found.iter().map(|p| p.id()).collect::<Vec<_>>(),
        vec![paid.id()],
        "found by phone (any notation)"
    );
    let found = store
        .payments_by_contact(None, Some("AIBEK@example.kg".into()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.len(), 1, "found by e-mail, case-insensitively");
    let run = note(clock.now(), "retention.run", "payments");
    assert_eq!(
        store.anonymise_before(paid.updated_at(), &run).await,
        Ok(0),
        "nothing older than the cut-off"
    );
    clock.advance(Duration::days(400));
    assert_eq!(
        store
            .anonymise_before(clock.now() - Duration::days(365), &run)
            .await,
        Ok(1)
    );
    assert_eq!(
        store
            .anonymise_before(clock.now() - Duration::days(365), &run)
            .await,
        Ok(0),
        "idempotent"
    );
    let counts: Vec<serde_json::Value> = sealed_entries(&*store)
        .await
        .into_iter()
        .filter(|e| e.action == "retention.run")
        .map(|e| e.data["anonymised"].clone())
        .collect();
    assert_eq!(
        counts,
        vec![
            serde_json::json!(0),
            serde_json::json!(1),
            serde_json::json!(0)
        ],
        "every run is recorded with its count, in its transaction"
    );
    let after = store
        .payment(paid.id())
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("payment"));
    assert!(after.contact().is_none(), "contact removed");
    assert_eq!(
        after.card().as_ref().map(|c| c.holder.as_str()),
        Some(ANONYMISED),
        "holder name removed"
    );
    assert_eq!(
        after.card().as_ref().map(|c| c.masked_pan.as_str()),
        Some("4111********1111"),
        "the masked PAN stays"
    );
    assert_eq!(
        after.receipt_number(),
        paid.receipt_number(),
        "the payment record stays"
    );
    let outbox = format!("{:?}", store.outbox_list(None, 0).await.unwrap_or_default());
    assert!(
        !outbox.contains("aibek@example.kg"),
        "no e-mail address left in the outbox"
    );
    assert!(store
        .payments_by_contact(
            Some("+996555123456".into()),
            Some("aibek@example.kg".into())
        )
        .await
        .unwrap_or_default()
        .is_empty());
    // The payment still moves on (a refund after anonymisation works).
    let r = tolom.refund(paid.id(), None, "late refund", "r1").await;
    assert!(r.is_ok(), "refund after anonymisation: {r:?}");
    // Every event of the charge, the payment and the refund is in the audit
    // chain, and the chain holds.
    let audit = sealed_entries(&*store).await;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for expected in [
        "charge.issued",
        "payment.created",
        "payment.authorizing",
        "payment.succeeded",
        "refund.requested",
        "refund.succeeded",
    ] {
        assert!(
            actions.contains(&expected),
            "audit log lacks {expected}: {actions:?}"
        );
    }
    assert_eq!(verify_chain(&audit), Ok(audit.len()));
}

/// Retention also removes what the outbox says about a payer: the failure
/// text of every message of an anonymised payment (a mail server's bounce
/// quotes the address, an agency's error may quote the name) becomes
/// [`tolom_core::outbox::ERROR_REMOVED`]; messages of payments still
/// within the retention period keep theirs.
pub async fn retention_scrubs_outbox_errors<S: Store + OpsStore + 'static>(store: Arc<S>) {
    use tolom_core::outbox::{OutboxPayload, ERROR_REMOVED};

    let clock = Arc::new(ManualClock::fixed());
    let tolom = tolom_core::Tolom::builder()
        .store(store.clone())
        .acquirer(Arc::new(FakeAcquirer::new()))
        .clock(clock.clone())
        .signer(Arc::new(test_signer()))
        .config(Config::default())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let terms = tolom
        .terms_in_force()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    let pay = |payer: &'static str, key: &'static str| {
        let tolom = &tolom;
        let clock = &clock;
        let terms = &terms;
        async move {
            let charge = tolom
                .issue_charge(tolom_core::usecases::IssueCharge {
                    service: "passport-2020".into(),
                    urgency: None,
                    amount: None,
                    payer: payer.into(),
                    code: None,
                    expires_at: clock.now() + Duration::days(30),
                    agency_ref: None,
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let p = tolom
                .start_payment(StartPayment {
                    code: charge.code.as_str(),
                    accepted_terms: Some(terms),
                    idempotency_key: key,
                    language: tolom_core::i18n::Language::Ky,
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tolom
                .submit_card(p.id(), &card_form("4111111111111111"), key)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    // Fails every pending message of `payment` with a text quoting the
    // payer: a bounce for the receipt e-mail (to be retried), an agency's
    // error for the notice (given up).
    let fail_all = |payment: Uuid, name: &'static str| {
        let store = store.clone();
        let clock = clock.clone();
        async move {
            let claimed = store
                .claim_outbox(clock.now(), clock.now() + Duration::minutes(5), 100, "w")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let mut failed = 0;
            for m in claimed {
                let (of, error, retry) = match &m.payload {
                    OutboxPayload::ReceiptEmail { payment_id, to, .. } => (
                        *payment_id,
                        format!("550 5.1.1 <{}>: Recipient address rejected", to.as_str()),
                        Some(clock.now() + Duration::hours(1)),
                    ),
                    OutboxPayload::AgencyNotice(event) => (
                        event.payment_id,
                        format!("HTTP 422: payer {name} unknown"),
                        None,
                    ),
                };
                if of != payment {
                    // Another payment's message due again: left leased.
                    continue;
                }
                store
                    .outbox_failed(m.id, &error, retry)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                failed += 1;
            }
            assert!(failed >= 2, "a receipt e-mail and an agency notice");
        }
    };
    let errors = |of: Uuid| {
        let store = store.clone();
        async move {
            store
                .outbox_list(None, 0)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .into_iter()
                .filter(|m| match &m.payload {
                    OutboxPayload::ReceiptEmail { payment_id, .. } => *payment_id == of,
                    OutboxPayload::AgencyNotice(event) => event.payment_id == of,
                })
                .map(|m| m.last_error.unwrap_or_default())
                .collect::<Vec<String>>()
        }
    };

    let old = pay("Асанов Айбек", "k1").await;
    fail_all(old.id(), "Асанов Айбек").await;
    let before = errors(old.id()).await;
    assert!(
        before.iter().any(|e| e.contains("aibek@example.kg"))
            && before.iter().any(|e| e.contains("Асанов Айбек")),
        "the texts quote the payer before retention: {before:?}"
    );
    let run = note(clock.now(), "retention.run", "payments");
    assert_eq!(
        store.anonymise_before(old.updated_at(), &run).await,
        Ok(0),
        "nothing older than the cut-off"
    );
    assert_eq!(errors(old.id()).await, before, "kept within the period");

    clock.advance(Duration::days(400));
    let recent = pay("Сыдыкова Айгүл", "k2").await;
    fail_all(recent.id(), "Сыдыкова Айгүл").await;
    assert_eq!(
        store
            .anonymise_before(clock.now() - Duration::days(365), &run)
            .await,
        Ok(1)
    );
    let after = errors(old.id()).await;
    assert_eq!(after.len(), before.len());
    assert!(
        after.iter().all(|e| e == ERROR_REMOVED),
        "every failure text of the anonymised payment is replaced: {after:?}"
    );
    let everything = format!("{:?}", store.outbox_list(None, 0).await);
    assert!(!everything.contains("Асанов"), "{everything}");
    // The newer payment is within the period: its texts stay.
    let kept = errors(recent.id()).await;
    assert!(
        kept.iter().any(|e| e.contains("aibek@example.kg"))
            && kept.iter().any(|e| e.contains("Сыдыкова Айгүл")),
        "{kept:?}"
    );
    // A second run changes nothing more.
    assert_eq!(
        store
            .anonymise_before(clock.now() - Duration::days(365), &run)
            .await,
        Ok(0)
    );
    assert_eq!(errors(old.id()).await, after);
}

/// A payment made elsewhere is in the audit log with the request that
/// recorded it (its note and its event, one transaction); a report that
/// writes nothing (the same again, or refused) leaves no note; a
/// resolution likewise.
pub async fn external_payments_audited<S: Store + OpsStore + 'static>(store: Arc<S>) {
    use tolom_core::external::{ExternalState, PaymentChannel};
    use tolom_core::money::Money;
    use tolom_core::usecases::operator::{ExternalReport, RequestRecord};
    let (h, _acquirer) = crate::external_payments::harness(store.clone());
    let (op, cli) = h.operator();
    let request = |action: &str| RequestRecord {
        action: action.into(),
        subject: "conformance".into(),
        data: serde_json::json!({}),
    };
    let actions = || async {
        sealed_entries(store.as_ref())
            .await
            .into_iter()
            .map(|e| (e.action, e.actor, e.subject))
            .collect::<Vec<_>>()
    };
    let charge = h.charge("passport-2020", "Асанов Айбек").await;
    h.clock.advance(Duration::hours(1));
    let report = ExternalReport {
        code: charge.code.to_string(),
        channel: PaymentChannel::Elqr,
        reference: format!("ELQR-{}", Uuid::new_v4().simple()),
        amount: charge.amount,
        paid_at: h.clock.now() - Duration::minutes(5),
    };
    let recorded = op.recording(&cli, request("test.record"));
    let paid = recorded
        .record_external_payment(report.clone())
        .await
        .unwrap_or_else(|e| panic!("record: {e}"));
    assert!(
        recorded.written(),
        "the request's note went with the payment"
    );
    let entries = actions().await;
    let id = paid.payment().id.to_string();
    assert!(
        entries
            .iter()
            .any(|(a, actor, _)| a == "test.record" && actor == "cli:test"),
        "the note MUST be in the audit log: {entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|(a, actor, s)| a == "charge.paid_externally" && actor == "cli:test" && *s == id),
        "the event MUST be in the audit log with its actor: {entries:?}"
    );
    for (action, again) in [
        ("test.again", report.clone()),
        (
            "test.refused",
            ExternalReport {
                amount: Money::som(1),
                reference: "ELQR-refused".into(),
                ..report.clone()
            },
        ),
    ] {
        let recorded = op.recording(&cli, request(action));
        let _ = recorded.record_external_payment(again).await;
        assert!(!recorded.written(), "{action}: nothing was written");
        assert!(
            !actions().await.iter().any(|(a, _, _)| a == action),
            "{action}: a report that writes nothing leaves no note"
        );
    }
    // Resolved with its note and event.
    let other = h.charge("passport-2020", "Асанов Айбек").await;
    let card = h
        .pay(
            &other.code,
            "4111111111111111",
            &format!("k-{}", Uuid::new_v4()),
        )
        .await;
    assert!(card.state().is_paid());
    h.clock.advance(Duration::hours(1));
    let flagged = op
        .record_external_payment(
            &cli,
            ExternalReport {
                code: other.code.to_string(),
                reference: format!("ELQR-{}", Uuid::new_v4().simple()),
                paid_at: h.clock.now() - Duration::minutes(5),
                ..report.clone()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(flagged.payment().state, ExternalState::Duplicate);
    let recorded = op.recording(&cli, request("test.resolve"));
    recorded
        .resolve_external(flagged.payment().id, ExternalState::Returned, "returned")
        .await
        .unwrap_or_else(|e| panic!("resolve: {e}"));
    assert!(recorded.written());
    let entries = actions().await;
    assert!(
        entries.iter().any(|(a, _, _)| a == "test.resolve"),
        "{entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|(a, _, s)| a == "charge.external_returned"
                && *s == flagged.payment().id.to_string()),
        "{entries:?}"
    );
    assert!(
        verify_chain(&sealed_entries(store.as_ref()).await).is_ok(),
        "the chain holds"
    );
}
