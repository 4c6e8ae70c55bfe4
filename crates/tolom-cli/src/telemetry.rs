//! What the `tolom` process tells its operators besides answering payers:
//! log lines on stderr (human text or JSON) and, for `serve`, Prometheus
//! metrics. Every metric is listed in `docs/observability.md`.
//!
//! The drivers (the portal, the admin API) and the decorators of the
//! composition root ([`crate::compose::metered`]) record through the
//! `metrics` facade; [`Metrics::install`] makes the Prometheus exporter the
//! process's recorder (no HTTP listener of its own: `serve` renders
//! `/metrics` on its admin listener). The background jobs publish their
//! rounds here ([`job_round`], [`dispatched`], [`reconciled`],
//! [`expired`], [`backlog`]).

use std::time::{SystemTime, UNIX_EPOCH};

use clap::ValueEnum;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tolom_core::usecases::operator::Backlog;
use tolom_core::usecases::{DispatchReport, ExpireReport, ReconcileReport};

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields`
    /// (the event's, with `message`), `span` (the current span's fields)
    /// and `spans` (every span from the outermost, e.g. `request` with its
    /// `request_id`).
    Json,
}

/// Installs the process's log subscriber on stderr, filtered by `TOLOM_LOG`
/// (an `EnvFilter` directive such as `info` or `tolom_http=debug,info`)
/// or else by `default_filter`. A second call does nothing.
pub fn init_logging(format: LogFormat, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOLOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}

/// Buckets of `tolom_http_request_duration_seconds`.
const HTTP_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets of `tolom_acquirer_call_duration_seconds` (a bank answers in
/// tenths of seconds to tens of seconds).
const ACQUIRER_BUCKETS: [f64; 11] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0];

/// The process's metrics: the Prometheus exporter installed as the
/// `metrics` recorder.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Installs the Prometheus recorder for the whole process, with real
    /// histograms (buckets) for the two latencies and a description of
    /// every metric. Fails when a recorder is already installed.
    pub fn install() -> Result<Metrics, String> {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("tolom_http_request_duration_seconds".into()),
                &HTTP_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("tolom_acquirer_call_duration_seconds".into()),
                    &ACQUIRER_BUCKETS,
                )
            })
            .map_err(|e| format!("metrics buckets: {e}"))?
            .build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder)
            .map_err(|_| "a metrics recorder is already installed".to_string())?;
        describe();
        metrics::gauge!("tolom_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        Ok(Metrics { handle })
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Drains the histograms' buffers; `serve` calls it every few seconds
    /// so that memory does not grow between scrapes.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_gauge!("tolom_build_info", "Always 1; the version in a label");
    describe_counter!(
        "tolom_http_requests_total",
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        "tolom_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request (until the response head), by method and route template"
    );
    describe_gauge!(
        "tolom_http_requests_in_flight",
        "HTTP requests being answered now (probes not counted)"
    );
    describe_counter!(
        "tolom_payments_started_total",
        "Payments started (the payer accepted the agreement)"
    );
    describe_counter!(
        "tolom_payments_total",
        "Payments reaching an outcome, counted when the transition is stored: succeeded, \
         declined, failed, expired, unknown, action_required"
    );
    describe_counter!(
        "tolom_refunds_total",
        "Refunds settled, by outcome: succeeded, failed"
    );
    describe_histogram!(
        "tolom_acquirer_call_duration_seconds",
        Unit::Seconds,
        "Time of an acquirer call, by call: purchase, complete_challenge, status, refund, \
         reverse, cancel"
    );
    describe_counter!(
        "tolom_acquirer_errors_total",
        "Failed acquirer calls, by call and kind: not_sent, unknown, rejected"
    );
    describe_gauge!(
        "tolom_outbox_pending",
        "Outbox messages (receipt e-mails, agency notices) waiting for delivery"
    );
    describe_gauge!(
        "tolom_outbox_oldest_pending_age_seconds",
        Unit::Seconds,
        "Age of the oldest pending outbox message (0 when none waits)"
    );
    describe_gauge!(
        "tolom_outbox_dead",
        "Outbox messages given up on (dead letters): an operator retries them"
    );
    describe_gauge!(
        "tolom_payments_in_flight",
        "Payments created, authorizing, waiting for the payer's confirmation or with an unknown outcome"
    );
    describe_gauge!(
        "tolom_payments_duplicate_open",
        "Duplicate approvals (a card charged again for a code another payment paid) whose \
         money is not back yet: reversal, else refund, retried with back-off"
    );
    describe_counter!(
        "tolom_outbox_dispatched_total",
        "Outbox messages handled by the dispatcher, by result: delivered, retried, dead, deferred"
    );
    describe_counter!(
        "tolom_reconcile_total",
        "Reconciliation results, by result: checked, succeeded, declined, failed, expired, \
         unsettled, refunds_settled, recovered, errors"
    );
    describe_gauge!(
        "tolom_reconcile_unsettled",
        "Payments the last reconciliation round could not settle"
    );
    describe_counter!(
        "tolom_expire_total",
        "Expiry results, by result: payments_expired, payments_settled, charges_expired, errors"
    );
    describe_counter!(
        "tolom_job_rounds_total",
        "Background job rounds, by job (outbox, reconcile, expire, retention, backlog) and \
         outcome (ok, error)"
    );
    describe_gauge!(
        "tolom_job_last_success_timestamp_seconds",
        Unit::Seconds,
        "Unix time of the last successful round, by job"
    );
}

/// Records a background job's round: `tolom_job_rounds_total{job,
/// outcome}` and, when it succeeded, the time in
/// `tolom_job_last_success_timestamp_seconds{job}`.
pub fn job_round(job: &'static str, ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!("tolom_job_rounds_total", "job" => job, "outcome" => outcome).increment(1);
    if ok {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        metrics::gauge!("tolom_job_last_success_timestamp_seconds", "job" => job).set(now);
    }
}

fn add(name: &'static str, result: &'static str, n: usize) {
    if n > 0 {
        metrics::counter!(name, "result" => result).increment(n as u64);
    }
}

/// An outbox round's report.
pub fn dispatched(r: &DispatchReport) {
    let name = "tolom_outbox_dispatched_total";
    add(name, "delivered", r.delivered);
    add(name, "retried", r.retried);
    add(name, "dead", r.dead);
    add(name, "deferred", r.deferred);
}

/// A reconciliation round's report (its counters, and the unsettled gauge).
pub fn reconciled(r: &ReconcileReport) {
    let name = "tolom_reconcile_total";
    add(name, "checked", r.checked);
    add(name, "succeeded", r.succeeded);
    add(name, "declined", r.declined);
    add(name, "failed", r.failed);
    add(name, "expired", r.expired);
    add(name, "unsettled", r.unsettled);
    add(name, "refunds_settled", r.refunds_settled);
    add(name, "recovered", r.recovered);
    add(name, "errors", r.errors);
    metrics::gauge!("tolom_reconcile_unsettled").set(r.unsettled as f64);
}

/// An expiry round's report.
pub fn expired(r: &ExpireReport) {
    let name = "tolom_expire_total";
    add(name, "payments_expired", r.payments_expired);
    add(name, "payments_settled", r.payments_settled);
    add(name, "charges_expired", r.charges_expired);
    add(name, "errors", r.errors);
}

/// The backlog gauges.
pub fn backlog(b: &Backlog) {
    metrics::gauge!("tolom_outbox_pending").set(b.outbox_pending as f64);
    metrics::gauge!("tolom_outbox_oldest_pending_age_seconds")
        .set(b.oldest_pending_secs.unwrap_or(0) as f64);
    metrics::gauge!("tolom_outbox_dead").set(b.outbox_dead as f64);
    metrics::gauge!("tolom_payments_in_flight").set(b.payments_in_flight as f64);
    metrics::gauge!("tolom_payments_duplicate_open").set(b.duplicates_open as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_round_publishes_the_open_duplicates() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            backlog(&Backlog {
                duplicates_open: 2,
                payments_in_flight: 1,
                ..Backlog::default()
            });
        });
        let text = handle.render();
        assert!(
            text.lines().any(|l| l == "tolom_payments_duplicate_open 2"),
            "{text}"
        );
        assert!(text.lines().any(|l| l == "tolom_payments_in_flight 1"));
    }
}
