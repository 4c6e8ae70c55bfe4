//! [`TermsStore`] on SQLite: user-agreement editions, published once
//! (UNIQUE `terms_editions.id` → `DuplicateEdition`) and never rewritten
//! (triggers `terms_no_update`, `terms_no_delete`).

use async_trait::async_trait;
use tolom_core::audit::AuditNote;
use tolom_core::ports::{StoreError, TermsStore};
use tolom_core::terms::TermsEdition;

use crate::audit::Records;
use crate::error::map;
use crate::rows::{terms_from, ts, TERMS_COLUMNS};
use crate::SqliteStore;

#[async_trait]
impl TermsStore for SqliteStore {
    async fn publish_terms(
        &self,
        edition: &TermsEdition,
        note: &AuditNote,
    ) -> Result<(), StoreError> {
        let mut records = Records::new();
        records.note(note)?;
        let e = edition.clone();
        self.write(move |tx| {
            Box::pin(async move {
                // A reused id fails here, before the note: the job rolls back
                // and nothing is written.
                sqlx::query(
                    "INSERT INTO terms_editions (id, published_at, effective_at, last_changed, \
                     text_ky, text_ru, text_en) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .bind(e.id)
                .bind(ts(e.published_at))
                .bind(ts(e.effective_at))
                .bind(e.last_changed.format("%Y-%m-%d").to_string())
                .bind(e.text_ky)
                .bind(e.text_ru)
                .bind(e.text_en)
                .execute(&mut **tx)
                .await
                .map_err(map)?;
                records.write(tx).await
            })
        })
        .await
    }

    async fn terms_editions(&self) -> Result<Vec<TermsEdition>, StoreError> {
        sqlx::query(&format!(
            "SELECT {TERMS_COLUMNS} FROM terms_editions ORDER BY effective_at, published_at, seq"
        ))
        .fetch_all(&mut *self.reader().await?)
        .await
        .map_err(map)?
        .iter()
        .map(terms_from)
        .collect()
    }
}
