//! `tolom serve` (and `tolom demo`, which is `serve --demo`): the portal,
//! the admin API under `/api/v1/admin/`, the probes (`/healthz`,
//! `/readyz`), Prometheus metrics (`/metrics`), and the background jobs
//! (outbox, reconciliation, expiry, retention, the audit log's sealing and
//! checkpoints) — one composition for
//! production and for the demo. With `server.admin_addr` the admin API and
//! `/metrics` move to a listener of their own (`docs/observability.md`).

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tolom_core::access::Principal;
use tolom_core::audit::checkpoint::{CheckpointKey, SignedCheckpoint};
use tolom_core::usecases::operator::Checkpointing;
use tolom_core::usecases::ReadinessCheck;
use tolom_core::Tolom;
use tracing::Instrument as _;

use crate::compose::{self, keys, KeyPolicy, Mode, Needs};
use crate::config::Settings;
use crate::telemetry::{self, Metrics};
use crate::{demo, CliError};

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen address (overrides server.addr / TOLOM_ADDR).
    #[arg(long)]
    pub addr: Option<String>,
    /// Do not run the background jobs (another instance runs them).
    #[arg(long)]
    pub no_jobs: bool,
    /// Demo mode: the sandbox acquirer, demo codes and test cards printed,
    /// notifications written to <data_dir>/notifications.log.
    #[arg(long)]
    pub demo: bool,
}

/// `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Listen address (default 127.0.0.1:8080).
    #[arg(long)]
    pub addr: Option<String>,
    /// Do not run the background jobs.
    #[arg(long)]
    pub no_jobs: bool,
}

/// Runs `tolom demo`.
pub async fn demo(settings: Settings, args: DemoArgs) -> Result<(), CliError> {
    serve(
        settings,
        ServeArgs {
            addr: args.addr,
            no_jobs: args.no_jobs,
            demo: true,
        },
    )
    .await
}

/// Runs until Ctrl-C or SIGTERM. Then `/readyz` answers 503 at once; the
/// listeners keep accepting while requests are in flight, for at most
/// `server.drain_secs` (default 5 s), then stop accepting; the requests in
/// flight and the current job step finish within
/// `server.shutdown_grace_secs` (default 30 s, counted from the signal),
/// and it exits 0 — or 1 when the grace period ran out first.
pub async fn serve(settings: Settings, args: ServeArgs) -> Result<(), CliError> {
    let mode = if args.demo {
        Mode::Demo
    } else {
        Mode::Production
    };
    // Production instances share their secrets (a load balancer sends one
    // payer's requests to any of them): they must exist, made once by
    // `tolom migrate`; the demo makes its own.
    let keys = match mode {
        Mode::Demo => KeyPolicy::CreateIfMissing,
        Mode::Production => KeyPolicy::Required,
    };
    let portal_secret = keys::portal_secret(&settings, keys)?;
    let composed = compose::compose(&settings, mode, Needs::Acquirer, keys).await?;
    let tolom = composed.tolom;
    if composed.needs_public_url && settings.file.server.public_url.is_none() {
        return Err(CliError::Usage(
            "server.public_url (TOLOM_PUBLIC_URL) is required with a bank acquirer: the bank \
             sends payers back to <public_url>/payments/<id>/return"
                .into(),
        ));
    }
    let addr: SocketAddr = args
        .addr
        .or_else(|| settings.file.server.addr.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".into())
        .parse()
        .map_err(|e| CliError::Usage(format!("server.addr: {e}")))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Usage(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let public_url = settings
        .file
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let mut portal = tolom_http::PortalConfig::new(public_url.clone());
    portal.secret = portal_secret;
    portal.hsts = settings.file.server.tls;
    portal.secure_cookies = settings.file.server.tls;
    portal.trust_forwarded_for = settings.file.server.trust_forwarded_for;
    portal.bank_origins = composed.bank_origins.clone();
    if let Some(r) = settings.file.server.lookup_rate_per_minute {
        portal.lookup_rate_per_minute = r;
    }
    let lifecycle = Arc::new(lifecycle(&settings, composed.acquirer_configured));
    let metrics = match Metrics::install() {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, "metrics are off");
            None
        }
    };
    let admin_addr = settings
        .file
        .server
        .admin_addr
        .as_deref()
        .map(|a| {
            a.parse::<SocketAddr>()
                .map_err(|e| CliError::Usage(format!("server.admin_addr: {e}")))
        })
        .transpose()?;
    let (app, admin_app) = routers(
        &tolom,
        tolom_http::AppState::new(tolom.clone(), portal).with_lifecycle(lifecycle.clone()),
        metrics.clone(),
        admin_addr.is_some(),
    );
    let admin_listener = match admin_addr {
        Some(a) => Some(
            tokio::net::TcpListener::bind(a)
                .await
                .map_err(|e| CliError::Usage(format!("cannot listen on {a}: {e}")))?,
        ),
        None => None,
    };
    let admin_local = admin_listener
        .as_ref()
        .map(|l| l.local_addr())
        .transpose()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if mode == Mode::Demo {
        let codes = demo::ensure_demo_codes(&tolom)
            .await
            .map_err(|e| CliError::Store(e.to_string()))?;
        print!(
            "\n{}",
            demo::banner(&codes, tolom_acquirer_sandbox::SandboxConfig::DEFAULT_OTP)
        );
        println!(
            "Receipt e-mails and agency notices go to {}\n",
            settings.data_dir.join("notifications.log").display()
        );
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // The audit log's checkpoints: signed with their own key (made by
    // `tolom migrate`); without one the log is still sealed, and
    // `tolom audit checkpoint` can sign where the key is.
    let audit_key = crate::checkpoints::signing_key(
        &settings,
        match mode {
            Mode::Demo => KeyPolicy::CreateIfMissing,
            Mode::Production => KeyPolicy::Optional,
        },
    )?;
    if audit_key.is_none() && !args.no_jobs {
        tracing::warn!(
            path = %crate::checkpoints::key_file(&settings).display(),
            "no audit checkpoint key: the audit log is sealed but no checkpoints are signed \
             (run `tolom migrate`, which creates the key)"
        );
    }
    let jobs =
        (!args.no_jobs).then(|| spawn_jobs(&settings, tolom.clone(), stop_rx.clone(), audit_key));
    if let Some(m) = metrics.clone() {
        spawn_upkeep(m, stop_rx.clone());
    }
    // The receipt key ring: refused when this instance's key is retired,
    // reloaded when its file changes (a rotation on another host).
    crate::compose::keys::watch_ring(&settings, &tolom, stop_rx.clone())?;
    let environment = match mode {
        Mode::Demo => "demo".to_string(),
        Mode::Production => match composed.acquirer_note.strip_prefix("sandbox (") {
            Some(env) => env.trim_end_matches(')').to_string(),
            None => "production".to_string(),
        },
    };
    // Stop signals are caught from here on (before the first line).
    let stop_signal = shutdown_signal();
    // The first line: what this instance is. Tests and scripts wait for it.
    let admin_note = admin_local
        .map(|a| format!(", admin http://{a}"))
        .unwrap_or_default();
    println!(
        "tolom listening on http://{local} (environment {environment}, public {public_url}, store {}, acquirer {}{admin_note})",
        composed.store_kind, composed.acquirer_note
    );
    tracing::info!(
        %local,
        environment = %environment,
        public_url = %public_url,
        store = composed.store_kind,
        acquirer = %composed.acquirer_note,
        admin = %admin_local.map(|a| a.to_string()).unwrap_or_else(|| "none".into()),
        "tolom serving"
    );
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = server_stop.wait_for(|stop| *stop).await;
        })
        .into_future(),
    );
    let admin_server = admin_listener.zip(admin_app).map(|(listener, app)| {
        let mut stop = stop_rx.clone();
        tokio::spawn(
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stop| *stop).await;
            })
            .into_future(),
        )
    });
    let grace = Duration::from_secs(settings.file.server.shutdown_grace_secs.unwrap_or(30));
    let drain = Duration::from_secs(settings.file.server.drain_secs.unwrap_or(5)).min(grace);
    stop_signal.await;
    let deadline = tokio::time::Instant::now() + grace;
    // Not ready from now on; keep accepting while requests are in flight
    // (a load balancer polling /readyz sees the 503), at most `drain`.
    lifecycle.start_draining();
    tracing::info!(
        grace_secs = grace.as_secs(),
        in_flight = lifecycle.in_flight(),
        "shutting down: /readyz answers 503; finishing requests in flight and the current job step"
    );
    let drained_by = tokio::time::Instant::now() + drain;
    while lifecycle.in_flight() > 0 && tokio::time::Instant::now() < drained_by {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_tx.send(true);
    if let Some(admin) = admin_server {
        if !matches!(
            tokio::time::timeout_at(deadline, admin).await,
            Ok(Ok(Ok(())))
        ) {
            tracing::warn!("the admin listener did not stop cleanly");
        }
    }
    let server_done = tokio::time::timeout_at(deadline, server).await;
    let jobs_done = match jobs {
        Some(j) => tokio::time::timeout_at(deadline, j).await.is_ok(),
        None => true,
    };
    match server_done {
        Ok(Ok(Ok(()))) if jobs_done => {
            tracing::info!("stopped cleanly");
            Ok(())
        }
        Ok(Ok(Err(e))) => Err(CliError::Usage(format!("server: {e}"))),
        _ => {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "the grace period ran out: work still in flight was abandoned"
            );
            Err(CliError::CheckFailed(
                "stopped after the grace period with work still in flight".into(),
            ))
        }
    }
}

/// The instance's own readiness checks (`acquirer`), with driver messages
/// cleaned of configured secrets.
fn lifecycle(settings: &Settings, acquirer_configured: bool) -> tolom_http::Lifecycle {
    let acquirer = if acquirer_configured {
        ReadinessCheck::passed("acquirer")
    } else {
        ReadinessCheck::failed("acquirer", "no acquirer is configured")
    };
    let secrets = settings.clone();
    tolom_http::Lifecycle::new()
        .with_check(acquirer)
        .with_redaction(Box::new(move |d: &str| compose::redact_error(d, &secrets)))
}

/// The public app and, with an admin listener, the admin app. Without
/// one, the admin API stays under `/api/v1/admin` and `/metrics` needs an
/// operator or auditor token; with one, both move there (`/metrics`
/// without a token: bind it to a private address), with the probes.
fn routers(
    tolom: &Arc<Tolom>,
    portal: tolom_http::AppState,
    metrics: Option<Metrics>,
    admin_listener: bool,
) -> (axum::Router, Option<axum::Router>) {
    let lifecycle = portal.lifecycle.clone();
    let admin_state = tolom_admin::AdminState::new(tolom.clone())
        .trust_forwarded_for(portal.config.trust_forwarded_for);
    let mut admin = axum::Router::new().nest(
        "/api/v1/admin",
        tolom_admin::admin_router(admin_state.clone()),
    );
    if admin_listener {
        if let Some(m) = metrics {
            admin = admin.route(
                "/metrics",
                axum::routing::get(move || {
                    let m = m.clone();
                    async move {
                        (
                            [(
                                axum::http::header::CONTENT_TYPE,
                                tolom_admin::PROMETHEUS_TEXT,
                            )],
                            m.render(),
                        )
                    }
                }),
            );
        }
        let admin = admin.merge(tolom_http::probes(tolom_http::health::Probes {
            tolom: tolom.clone(),
            lifecycle: lifecycle.clone(),
        }));
        let public = tolom_http::router(portal);
        return (public, Some(tolom_http::observed(admin, lifecycle)));
    }
    if let Some(m) = metrics {
        admin = admin.merge(tolom_admin::metrics_router(
            admin_state,
            Arc::new(move || m.render()),
        ));
    }
    let app = tolom_http::observed(admin, lifecycle).merge(tolom_http::router(portal));
    (app, None)
}

/// Keeps the metrics' buffers small between scrapes.
fn spawn_upkeep(metrics: Metrics, mut stop: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(5)) => metrics.upkeep(),
                _ = stop.wait_for(|s| *s) => break,
            }
        }
    });
}

/// Ctrl-C, or SIGTERM (systemd, containers). The handlers are installed
/// when this is called, not when the future is first awaited: `serve` calls
/// it before printing its first line, so a stop sent as soon as a
/// supervisor sees that line is never the default action (death, exit 143).
fn shutdown_signal() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let listen = |kind: SignalKind, name: &'static str| match signal(kind) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, signal = name, "cannot listen for the signal");
                None
            }
        };
        let mut term = listen(SignalKind::terminate(), "SIGTERM");
        let mut int = listen(SignalKind::interrupt(), "SIGINT");
        Box::pin(async move {
            tokio::select! {
                _ = wait_for(term.as_mut()) => {},
                _ = wait_for(int.as_mut()) => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Box::pin(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Waits for `signal`, for ever when there is none.
#[cfg(unix)]
async fn wait_for(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// The background jobs: outbox, reconciliation and expiry every
/// `jobs_interval_secs`, retention every `interval_hours`. A stop request
/// lets the current step finish and ends the loop before the next one.
fn spawn_jobs(
    settings: &Settings,
    tolom: Arc<Tolom>,
    stop: tokio::sync::watch::Receiver<bool>,
    audit_key: Option<CheckpointKey>,
) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(settings.file.server.jobs_interval_secs.unwrap_or(10).max(1));
    let worker = format!("{}-{}", hostname(), std::process::id());
    let hours = settings.file.retention.interval_hours.unwrap_or(24);
    let days = settings.retention_days;
    let audit = tokio::spawn(audit_jobs(
        tolom.clone(),
        AuditJobs::configured(settings, audit_key),
        stop.clone(),
    ));
    tokio::spawn(async move {
        let stopping = |stop: &tokio::sync::watch::Receiver<bool>| *stop.borrow();
        let mut next_retention = tokio::time::Instant::now();
        loop {
            if stopping(&stop) {
                break;
            }
            match tolom
                .dispatch_outbox(&worker, 50)
                .instrument(job_span("outbox"))
                .await
            {
                Ok(r) => {
                    telemetry::dispatched(&r);
                    telemetry::job_round("outbox", true);
                }
                Err(e) => {
                    telemetry::job_round("outbox", false);
                    tracing::warn!(error = %e, "outbox round failed");
                }
            }
            if stopping(&stop) {
                break;
            }
            match tolom.reconcile().instrument(job_span("reconcile")).await {
                Ok(r) => {
                    telemetry::reconciled(&r);
                    telemetry::job_round("reconcile", true);
                }
                Err(e) => {
                    telemetry::job_round("reconcile", false);
                    tracing::warn!(error = %e, "reconciliation round failed");
                }
            }
            if stopping(&stop) {
                break;
            }
            match tolom.expire_stale().instrument(job_span("expire")).await {
                Ok(r) => {
                    telemetry::expired(&r);
                    telemetry::job_round("expire", true);
                }
                Err(e) => {
                    telemetry::job_round("expire", false);
                    tracing::warn!(error = %e, "expiry round failed");
                }
            }
            // The gauges: what waits and what is in flight.
            match tolom.operator() {
                Ok(operator) => match operator.backlog(&Principal::System).await {
                    Ok(b) => {
                        telemetry::backlog(&b);
                        telemetry::job_round("backlog", true);
                    }
                    Err(e) => {
                        telemetry::job_round("backlog", false);
                        tracing::warn!(error = %e, "backlog gauges not refreshed");
                    }
                },
                Err(_) => telemetry::job_round("backlog", false),
            }
            if hours > 0 && tokio::time::Instant::now() >= next_retention && !stopping(&stop) {
                match tolom.operator() {
                    Ok(operator) => match operator.run_retention(&Principal::System, days).await {
                        Ok(n) => {
                            telemetry::job_round("retention", true);
                            tracing::info!(anonymised = n, days, "retention run")
                        }
                        Err(e) => {
                            telemetry::job_round("retention", false);
                            tracing::warn!(error = %e, "retention run failed")
                        }
                    },
                    Err(e) => tracing::warn!(error = %e, "retention needs an operations store"),
                }
                next_retention += Duration::from_secs(hours.saturating_mul(3600));
            }
            let mut wake = stop.clone();
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = wake.wait_for(|s| *s) => break,
            }
        }
        let _ = audit.await;
        tracing::info!("background jobs stopped");
    })
}

/// What the audit job does: seal every `seal_every`; sign a checkpoint
/// every `checkpoint_every` when the log grew (and at start), and write it
/// to the sinks (again a minute later while a sink fails).
struct AuditJobs {
    key: Option<CheckpointKey>,
    sinks: crate::checkpoints::Sinks,
    seal_every: Duration,
    checkpoint_every: Option<Duration>,
}

impl AuditJobs {
    fn configured(settings: &Settings, key: Option<CheckpointKey>) -> AuditJobs {
        let a = &settings.file.audit;
        AuditJobs {
            key,
            sinks: crate::checkpoints::Sinks::configured(settings),
            seal_every: Duration::from_secs(a.seal_interval_secs.unwrap_or(2).max(1)),
            checkpoint_every: match a.checkpoint_interval_secs.unwrap_or(3600) {
                0 => None,
                s => Some(Duration::from_secs(s)),
            },
        }
    }
}

/// The audit log's job: sealing off the payment path, and checkpoints.
/// Safe on any number of instances (sealers take turns in the database;
/// one checkpoint is kept per size, and only the instance that kept it
/// publishes it).
async fn audit_jobs(
    tolom: Arc<Tolom>,
    jobs: AuditJobs,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Ok(operator) = tolom.operator() else {
        return;
    };
    let mut next_checkpoint = tokio::time::Instant::now();
    let mut unpublished: Option<(SignedCheckpoint, tokio::time::Instant)> = None;
    loop {
        if *stop.borrow() {
            break;
        }
        let span = job_span("audit");
        match operator
            .seal_audit(&Principal::System)
            .instrument(span.clone())
            .await
        {
            Ok(n) => {
                telemetry::job_round("audit_seal", true);
                if n > 0 {
                    tracing::debug!(parent: &span, sealed = n, "audit log sealed");
                }
            }
            Err(e) => {
                telemetry::job_round("audit_seal", false);
                tracing::warn!(parent: &span, error = %e, "sealing the audit log failed");
            }
        }
        let now = tokio::time::Instant::now();
        if let (Some(key), Some(every)) = (&jobs.key, jobs.checkpoint_every) {
            if now >= next_checkpoint && !*stop.borrow() {
                next_checkpoint = now + every;
                match operator
                    .checkpoint_audit(&Principal::System, key)
                    .instrument(span.clone())
                    .await
                {
                    Ok(Checkpointing::Made(c)) => {
                        telemetry::job_round("audit_checkpoint", true);
                        tracing::info!(parent: &span, size = c.checkpoint.size,
                            head = %c.checkpoint.head, "audit checkpoint signed");
                        unpublished = Some((c, now));
                    }
                    Ok(Checkpointing::Kept(_)) => telemetry::job_round("audit_checkpoint", true),
                    Ok(Checkpointing::Refused(why)) => {
                        telemetry::job_round("audit_checkpoint", false);
                        tracing::error!(parent: &span, %why,
                            "audit log TAMPERED: no checkpoint signed");
                    }
                    Err(e) => {
                        telemetry::job_round("audit_checkpoint", false);
                        tracing::warn!(parent: &span, error = %e, "audit checkpoint failed");
                    }
                }
            }
        }
        if let Some((c, due)) = unpublished.take() {
            if now >= due && !jobs.sinks.is_empty() {
                let failed = jobs.sinks.publish(&c).await;
                if failed.is_empty() {
                    tracing::info!(parent: &span, size = c.checkpoint.size,
                        "audit checkpoint written to its sinks");
                } else {
                    tracing::warn!(parent: &span, failed = %failed.join("; "),
                        "audit checkpoint not written everywhere; again in a minute");
                    unpublished = Some((c, now + Duration::from_secs(60)));
                }
            } else if now < due {
                unpublished = Some((c, due));
            }
        }
        tokio::select! {
            () = tokio::time::sleep(jobs.seal_every) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
}

/// The span of a background job's step: its log lines (the acquirer's
/// too) carry `job` as a request's carry `request_id`.
fn job_span(job: &'static str) -> tracing::Span {
    tracing::info_span!("job", job)
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "tolom".into())
}
