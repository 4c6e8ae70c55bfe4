//! `Tolom::ready`: the storage's readiness checks, over the in-memory store
//! and a mocked `StoreHealth`.

use std::sync::Arc;

use tolom_core::ports::{MockStoreHealth, SchemaStatus, StoreError};
use tolom_core::Tolom;
use tolom_testkit::fake::FakeAcquirer;
use tolom_testkit::fixtures::test_signer;
use tolom_testkit::memory::InMemoryStore;

fn tolom(health: Option<MockStoreHealth>) -> Tolom {
    let mut b = Tolom::builder()
        .store(Arc::new(InMemoryStore::new()))
        .acquirer(Arc::new(FakeAcquirer::default()))
        .signer(Arc::new(test_signer()));
    if let Some(h) = health {
        b = b.health(Arc::new(h));
    }
    b.build().expect("tolom")
}

fn check<'a>(
    r: &'a tolom_core::usecases::Readiness,
    name: &str,
) -> &'a tolom_core::usecases::ReadinessCheck {
    r.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} check in {r:?}"))
}

#[tokio::test]
async fn without_a_health_port_the_database_read_is_the_check() {
    let r = tolom(None).ready().await;
    assert!(r.is_ready(), "{r:?}");
    assert!(check(&r, "database").ok);
    let schema = check(&r, "schema");
    assert!(schema.ok);
    assert!(schema
        .detail
        .as_deref()
        .unwrap_or("")
        .contains("when it opens"));
}

#[tokio::test]
async fn a_current_or_newer_schema_is_ready_and_an_older_one_is_not() {
    // Newer: another instance's build migrated on during a rolling upgrade;
    // migrations are additive, so this one keeps serving (and says so).
    for (applied, ready) in [
        (Some(7), true),
        (Some(6), false),
        (Some(8), true),
        (None, false),
    ] {
        let mut h = MockStoreHealth::new();
        h.expect_schema_status()
            .times(1)
            .returning(move || Ok(SchemaStatus { applied, known: 7 }));
        let r = tolom(Some(h)).ready().await;
        assert_eq!(r.is_ready(), ready, "{applied:?}: {r:?}");
        assert!(check(&r, "database").ok);
        assert_eq!(check(&r, "schema").ok, ready);
        if applied == Some(8) {
            let detail = check(&r, "schema").detail.clone().unwrap_or_default();
            assert!(
                detail.contains("newer") && detail.contains("restart"),
                "{detail}"
            );
        }
        if !ready {
            assert_eq!(
                r.failed().map(|c| c.name.as_str()).collect::<Vec<_>>(),
                ["schema"]
            );
        }
    }
}

#[tokio::test]
async fn a_store_that_fails_its_own_check_fails_the_database_check_with_the_reason() {
    let mut h = MockStoreHealth::new();
    h.expect_schema_status().returning(|| {
        Err(StoreError::Broken(
            "the database file tolom.db is gone".into(),
        ))
    });
    let r = tolom(Some(h)).ready().await;
    assert!(!r.is_ready());
    let db = check(&r, "database");
    assert!(!db.ok);
    assert!(
        db.detail.as_deref().unwrap_or("").contains("is gone"),
        "{db:?}"
    );
    assert!(!check(&r, "schema").ok);
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["checks"][0]["name"], "database");
    assert_eq!(json["checks"][0]["ok"], false);
}
