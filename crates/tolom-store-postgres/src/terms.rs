//! [`TermsStore`] on PostgreSQL: user-agreement editions, published once
//! and never rewritten (primary key and append-only triggers).

use async_trait::async_trait;
use tolom_core::audit::AuditNote;
use tolom_core::ports::{StoreError, TermsStore};
use tolom_core::terms::TermsEdition;

use crate::audit::append_note;
use crate::error::{self, retry};
use crate::rows::{self, TERMS_COLUMNS};
use crate::PostgresStore;

#[async_trait]
impl TermsStore for PostgresStore {
    async fn publish_terms(
        &self,
        edition: &TermsEdition,
        note: &AuditNote,
    ) -> Result<(), StoreError> {
        // One transaction: the edition, then the note. A reused id fails on
        // `terms_editions_pkey` (→ DuplicateEdition) before the note is
        // written, and the transaction rolls back: nothing is written.
        let sql = format!(
            "INSERT INTO terms_editions ({TERMS_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        retry(|| async {
            let mut tx = self.pool().begin().await?;
            sqlx::query(&sql)
                .bind(&edition.id)
                .bind(edition.published_at)
                .bind(edition.effective_at)
                .bind(edition.last_changed)
                .bind(&edition.text_ky)
                .bind(&edition.text_ru)
                .bind(&edition.text_en)
                .execute(&mut *tx)
                .await?;
            append_note(&mut tx, note).await?;
            tx.commit().await?;
            self.committed(true);
            Ok(())
        })
        .await
    }

    async fn terms_editions(&self) -> Result<Vec<TermsEdition>, StoreError> {
        let found = sqlx::query(&format!(
            "SELECT {TERMS_COLUMNS} FROM terms_editions ORDER BY effective_at, published_at, id"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(error::map)?;
        rows::all(&found, rows::terms)
    }
}
