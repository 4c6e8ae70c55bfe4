//! The operations-storage conformance suite (audit log, tokens, retention,
//! access requests).

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::future::join_all;
use tolom_core::access::{hash_token, ApiToken, Role, ANONYMISED};
use tolom_core::audit::{verify_chain, AuditNote};
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
pub const CASES: [&str; 3] = ["audit_chain", "tokens", "retention"];

/// Runs every case on fresh stores from `make`. Prefer
/// [`crate::ops_conformance`], which makes one named test per case.
pub async fn run<S, F, Fut>(make: F)
where
    S: Store + OpsStore + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<S>>,
{
    audit_chain(make().await).await;
    tokens(make().await).await;
    retention(make().await).await;
}

/// Appends (also concurrent ones) form one unbroken chain.
pub async fn audit_chain<S: OpsStore + ?Sized>(store: Arc<S>) {
    let t = Utc
        .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let first = store
        .append_audit(&AuditNote::new(
            t,
            "system",
            "charge.issued",
            "c1",
            serde_json::json!({"amount": "885.00"}),
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.seq, 1);
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
    let entries = store
        .audit_entries(1, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
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
    let subjects: Vec<(String, String)> = store
        .audit_entries(1, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
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
    let counts: Vec<serde_json::Value> = store
        .audit_entries(1, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
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
        Some("411111******1111"),
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
    let audit = store
        .audit_entries(1, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
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
