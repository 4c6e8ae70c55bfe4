//! Readiness: whether this instance can serve payers now. One cheap read
//! through the payments port (the database answers, the payments table is
//! readable) and, when the program gave the builder a [`StoreHealth`], the
//! store's own look at itself (the same database it opened, the schema this
//! build knows). Drivers add what only they know (the acquirer configured,
//! the instance shutting down) and answer `/readyz` from it.

use std::sync::Arc;

use serde::Serialize;
use uuid::Uuid;

use crate::ports::{PaymentStore, StoreHealth};

/// One check of a readiness probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadinessCheck {
    /// What was checked: `database`, `schema`, `acquirer`, `shutdown`, ...
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// Why it failed, or what was found; for operators, never a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ReadinessCheck {
    /// A passed check.
    pub fn passed(name: impl Into<String>) -> ReadinessCheck {
        ReadinessCheck {
            name: name.into(),
            ok: true,
            detail: None,
        }
    }

    /// A failed check and why.
    pub fn failed(name: impl Into<String>, why: impl Into<String>) -> ReadinessCheck {
        ReadinessCheck {
            name: name.into(),
            ok: false,
            detail: Some(why.into()),
        }
    }

    /// With a detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> ReadinessCheck {
        self.detail = Some(detail.into());
        self
    }
}

/// The answer of a readiness probe: every check, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// The checks.
    pub checks: Vec<ReadinessCheck>,
}

impl Readiness {
    /// Ready when every check passed.
    pub fn is_ready(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// Adds a check.
    pub fn push(&mut self, check: ReadinessCheck) {
        self.checks.push(check);
    }

    /// The failed checks.
    pub fn failed(&self) -> impl Iterator<Item = &ReadinessCheck> {
        self.checks.iter().filter(|c| !c.ok)
    }
}

/// The readiness checks of the storage. Needs the payments port and,
/// optionally, the store's health port.
pub(crate) struct Health {
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) store: Option<Arc<dyn StoreHealth>>,
}

impl Health {
    /// `database` (one primary-key read of a payment that does not exist,
    /// plus the store's own check) and `schema`.
    pub(crate) async fn ready(&self) -> Readiness {
        let mut problems = Vec::new();
        if let Err(e) = self.payments.payment(Uuid::nil()).await {
            problems.push(e.to_string());
        }
        let status = match &self.store {
            Some(h) => Some(h.schema_status().await),
            None => None,
        };
        if let Some(Err(e)) = &status {
            let e = e.to_string();
            if !problems.contains(&e) {
                problems.push(e);
            }
        }
        let mut readiness = Readiness::default();
        readiness.push(if problems.is_empty() {
            ReadinessCheck::passed("database")
        } else {
            ReadinessCheck::failed("database", problems.join("; "))
        });
        readiness.push(match status {
            None => ReadinessCheck::passed("schema")
                .with_detail("not checked here: the store checks its schema when it opens"),
            // A rolling upgrade: another instance's build migrated the
            // schema on. Migrations are additive, so this build keeps
            // serving until it is restarted on the new one; pulling every
            // old instance out of the balancer at once would be an outage.
            Some(Ok(s)) if s.applied.is_some_and(|v| v > s.known) => {
                ReadinessCheck::passed("schema").with_detail(format!(
                    "{}; still served (migrations are additive): restart on the new build",
                    s.problem().unwrap_or_default()
                ))
            }
            Some(Ok(s)) => match s.problem() {
                None => {
                    ReadinessCheck::passed("schema").with_detail(format!("migration {}", s.known))
                }
                Some(p) => ReadinessCheck::failed("schema", p),
            },
            Some(Err(_)) => {
                ReadinessCheck::failed("schema", "not known: the database did not answer")
            }
        });
        readiness
    }
}
