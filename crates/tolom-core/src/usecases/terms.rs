//! The user agreement: the edition in force, every edition, publishing.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use crate::audit::AuditNote;
use crate::ports::{StoreError, TermsStore};
use crate::terms::{in_force, TermsEdition};

use super::ctx::Ctx;

/// The editions of the agreement and when they were read.
type CachedTerms = (DateTime<Utc>, Arc<Vec<TermsEdition>>);

/// The edition payers accept now: the one in force, or — before the first
/// published edition takes effect — the earliest one. `terms_in_force` shows
/// and `start_payment` requires the same edition.
pub(crate) fn current_edition(
    editions: &[TermsEdition],
    now: DateTime<Utc>,
) -> Option<&TermsEdition> {
    in_force(editions, now).or_else(|| editions.iter().min_by_key(|e| e.effective_at))
}

/// Agreement editions, cached for `Config::terms_refresh`. Needs only the
/// terms store.
pub(crate) struct Terms {
    pub(crate) terms: Arc<dyn TermsStore>,
    pub(crate) ctx: Ctx,
    pub(crate) cache: RwLock<Option<CachedTerms>>,
}

impl Terms {
    pub(crate) fn new(terms: Arc<dyn TermsStore>, ctx: Ctx) -> Terms {
        Terms {
            terms,
            ctx,
            cache: RwLock::new(None),
        }
    }

    /// Every edition (the built-in seed edition when none was published).
    pub(crate) async fn editions(&self) -> Result<Arc<Vec<TermsEdition>>, StoreError> {
        let now = self.ctx.now();
        if let Ok(guard) = self.cache.read() {
            if let Some((at, editions)) = guard.as_ref() {
                if now >= *at && now - *at < self.ctx.config.terms_refresh {
                    return Ok(editions.clone());
                }
            }
        }
        let mut editions = self.terms.terms_editions().await?;
        if editions.is_empty() {
            editions.push(TermsEdition::seed_edition());
        }
        let editions = Arc::new(editions);
        if let Ok(mut guard) = self.cache.write() {
            *guard = Some((now, editions.clone()));
        }
        Ok(editions)
    }

    /// The edition in force now.
    pub(crate) async fn in_force(&self) -> Result<TermsEdition, StoreError> {
        let now = self.ctx.now();
        let editions = self.editions().await?;
        Ok(current_edition(&editions, now)
            .cloned()
            .unwrap_or_else(TermsEdition::seed_edition))
    }

    /// Publishes an edition, with its audit note; visible at once.
    pub(crate) async fn publish(
        &self,
        edition: &TermsEdition,
        note: &AuditNote,
    ) -> Result<(), StoreError> {
        self.terms.publish_terms(edition, note).await?;
        if let Ok(mut guard) = self.cache.write() {
            *guard = None;
        }
        Ok(())
    }
}
