//! The store health port: what a durable store can say about itself to a
//! readiness probe (`/readyz`) — that its database is still the one it
//! opened, and which schema it is at.

use async_trait::async_trait;

use super::errors::StoreError;

/// The schema of a database, as a store sees it: the newest migration
/// applied to the database and the newest one this build of the store
/// knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaStatus {
    /// The newest migration applied to the database (`None`: none at all).
    pub applied: Option<i64>,
    /// The newest migration this build knows.
    pub known: i64,
}

impl SchemaStatus {
    /// Whether the database is exactly at this build's schema.
    pub fn is_current(&self) -> bool {
        self.applied == Some(self.known)
    }

    /// Why the schema is not current (`None` when it is), for operators.
    pub fn problem(&self) -> Option<String> {
        match self.applied {
            Some(v) if v == self.known => None,
            Some(v) if v > self.known => Some(format!(
                "the database has migration {v}, newer than this build's {} (a newer tolom \
                 migrated it)",
                self.known
            )),
            Some(v) => Some(format!(
                "the database is at migration {v}, this build needs {} (run `tolom migrate`)",
                self.known
            )),
            None => Some(format!(
                "the database has no migrations, this build needs {} (run `tolom migrate`)",
                self.known
            )),
        }
    }
}

/// A store's look at itself, for readiness probes. Optional: a program that
/// gives none to the builder gets the database check alone
/// ([`crate::Tolom::ready`]).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// The database's schema, read from the database now.
    ///
    /// MUST read from the database itself (never a value remembered from
    /// opening it), so that a database that went away fails with
    /// [`StoreError::Unavailable`] (temporary) or [`StoreError::Broken`]
    /// (an operator has to act: e.g. an SQLite file removed or replaced
    /// while open). MUST be cheap: it runs on every probe.
    async fn schema_status(&self) -> Result<SchemaStatus, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_is_current_only_at_this_builds_migration() {
        let at = |applied| SchemaStatus { applied, known: 5 };
        assert!(at(Some(5)).is_current());
        assert_eq!(at(Some(5)).problem(), None);
        for (applied, says) in [
            (Some(6), "newer than this build's 5"),
            (Some(4), "run `tolom migrate`"),
            (None, "no migrations"),
        ] {
            let s = at(applied);
            assert!(!s.is_current());
            let p = s.problem().unwrap_or_default();
            assert!(p.contains(says), "{p}");
        }
    }
}
