//! The flows of payments made elsewhere on the in-memory store (the SQLite
//! and PostgreSQL stores run the same flows).

use std::sync::Arc;

use tolom_testkit::memory::InMemoryStore;

async fn store() -> Option<Arc<InMemoryStore>> {
    Some(Arc::new(InMemoryStore::new()))
}

tolom_testkit::external_payment_flows!(store);
