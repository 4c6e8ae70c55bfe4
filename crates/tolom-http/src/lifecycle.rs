//! What `/readyz` knows beyond the use cases, and what a stopping server
//! waits for: the checks only the program serving the portal can make (an
//! acquirer configured), whether it is shutting down, and the requests in
//! flight.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tolom_core::usecases::{Readiness, ReadinessCheck};
use tolom_core::Tolom;

/// Removes secrets from a check's detail before it is shown.
pub type Redactor = Box<dyn Fn(&str) -> String + Send + Sync>;

/// The life of a serving instance, shared by its listeners: readiness
/// checks of its own, the shutdown flag and the requests in flight.
///
/// ```
/// use tolom_core::usecases::ReadinessCheck;
/// use tolom_http::Lifecycle;
/// let lifecycle = Lifecycle::new().with_check(ReadinessCheck::passed("acquirer"));
/// assert!(!lifecycle.is_draining());
/// lifecycle.start_draining(); // SIGTERM: /readyz answers 503 from now on
/// assert!(lifecycle.is_draining());
/// ```
pub struct Lifecycle {
    draining: AtomicBool,
    in_flight: AtomicUsize,
    was_ready: AtomicBool,
    checks: Vec<ReadinessCheck>,
    redact: Option<Redactor>,
    timeout: Duration,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle::new()
    }
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle")
            .field("draining", &self.is_draining())
            .field("in_flight", &self.in_flight())
            .field("checks", &self.checks)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Lifecycle {
    /// Serving, nothing in flight, no checks of its own; the storage checks
    /// get 2 seconds.
    pub fn new() -> Lifecycle {
        Lifecycle {
            draining: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            was_ready: AtomicBool::new(true),
            checks: Vec::new(),
            redact: None,
            timeout: Duration::from_secs(2),
        }
    }

    /// Adds a check whose outcome is fixed for the life of the instance
    /// (e.g. `acquirer`: one is configured).
    pub fn with_check(mut self, check: ReadinessCheck) -> Lifecycle {
        self.checks.push(check);
        self
    }

    /// Passes every check's detail through `redact` (a driver's message
    /// that might hold a configured secret) before it is shown.
    pub fn with_redaction(mut self, redact: Redactor) -> Lifecycle {
        self.redact = Some(redact);
        self
    }

    /// How long the storage checks may take before they count as failed
    /// (default 2 s; probes have timeouts of their own).
    pub fn with_timeout(mut self, timeout: Duration) -> Lifecycle {
        self.timeout = timeout;
        self
    }

    /// Shutting down: `/readyz` answers 503 from now on, while the
    /// requests in flight finish.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether [`Lifecycle::start_draining`] was called.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Requests being answered now (probes not counted).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Counts a request in flight until the guard is dropped.
    pub(crate) fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        metrics::gauge!("tolom_http_requests_in_flight").increment(1.0);
        InFlight(self)
    }

    /// Every readiness check: the use cases' (`database`, `schema`, within
    /// the timeout), this instance's own, and `shutdown`.
    pub async fn readiness(&self, tolom: &Tolom) -> Readiness {
        let mut readiness = match tokio::time::timeout(self.timeout, tolom.ready()).await {
            Ok(r) => r,
            Err(_) => {
                let why = format!(
                    "no answer from the database within {} ms",
                    self.timeout.as_millis()
                );
                Readiness {
                    checks: vec![
                        ReadinessCheck::failed("database", why),
                        ReadinessCheck::failed("schema", "not known: the database did not answer"),
                    ],
                }
            }
        };
        readiness.checks.extend(self.checks.iter().cloned());
        readiness.push(if self.is_draining() {
            ReadinessCheck::failed(
                "shutdown",
                "shutting down: finishing the requests in flight",
            )
        } else {
            ReadinessCheck::passed("shutdown")
        });
        if let Some(redact) = &self.redact {
            for c in &mut readiness.checks {
                if let Some(d) = &c.detail {
                    c.detail = Some(redact(d));
                }
            }
        }
        let ready = readiness.is_ready();
        if self.was_ready.swap(ready, Ordering::SeqCst) != ready {
            if ready {
                tracing::info!("ready again");
            } else {
                let failed: Vec<String> = readiness
                    .failed()
                    .map(|c| format!("{}: {}", c.name, c.detail.as_deref().unwrap_or("")))
                    .collect();
                tracing::warn!(failed = %failed.join("; "), "not ready");
            }
        }
        readiness
    }
}

/// A request in flight; counted down when dropped.
pub(crate) struct InFlight<'a>(&'a Lifecycle);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        metrics::gauge!("tolom_http_requests_in_flight").decrement(1.0);
    }
}
