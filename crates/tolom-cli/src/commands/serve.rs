//! `tolom serve` (and `tolom demo`, which is `serve --demo`): the portal,
//! the admin API under `/api/v1/admin/`, and the background jobs (outbox,
//! reconciliation, expiry, retention) — one composition for production and
//! for the demo.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tolom_core::access::Principal;
use tolom_core::Tolom;

use crate::compose::{self, keys, KeyPolicy, Mode, Needs};
use crate::config::Settings;
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

/// Runs until Ctrl-C or SIGTERM; in-flight requests finish first.
pub async fn serve(settings: Settings, args: ServeArgs) -> Result<(), CliError> {
    let mode = if args.demo {
        Mode::Demo
    } else {
        Mode::Production
    };
    let composed =
        compose::compose(&settings, mode, Needs::Acquirer, KeyPolicy::CreateIfMissing).await?;
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
    portal.secret = keys::portal_secret(&settings)?;
    portal.hsts = settings.file.server.tls;
    portal.secure_cookies = settings.file.server.tls;
    portal.trust_forwarded_for = settings.file.server.trust_forwarded_for;
    portal.bank_origins = composed.bank_origins.clone();
    if let Some(r) = settings.file.server.lookup_rate_per_minute {
        portal.lookup_rate_per_minute = r;
    }
    let admin = tolom_admin::admin_router(tolom_admin::AdminState {
        tolom: tolom.clone(),
    });
    let app = axum::Router::new()
        .nest("/api/v1/admin", admin)
        .merge(tolom_http::router(tolom_http::AppState::new(
            tolom.clone(),
            portal,
        )));
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
    if !args.no_jobs {
        spawn_jobs(&settings, tolom.clone());
    }
    // The line tests and scripts wait for.
    println!(
        "tolom listening on http://{local} (public {public_url}, store {}, acquirer {})",
        composed.store_kind, composed.acquirer_note
    );
    tracing::info!(%local, store = composed.store_kind, acquirer = %composed.acquirer_note, "tolom serving");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| CliError::Usage(format!("server: {e}")))
}

/// Ctrl-C, or SIGTERM (systemd, containers).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn spawn_jobs(settings: &Settings, tolom: Arc<Tolom>) {
    let every = Duration::from_secs(settings.file.server.jobs_interval_secs.unwrap_or(10).max(1));
    let worker = format!("{}-{}", hostname(), std::process::id());
    let t = tolom.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = t.dispatch_outbox(&worker, 50).await {
                tracing::warn!(error = %e, "outbox round failed");
            }
            if let Err(e) = t.reconcile().await {
                tracing::warn!(error = %e, "reconciliation round failed");
            }
            if let Err(e) = t.expire_stale().await {
                tracing::warn!(error = %e, "expiry round failed");
            }
            tokio::time::sleep(every).await;
        }
    });
    let hours = settings.file.retention.interval_hours.unwrap_or(24);
    let days = settings.retention_days;
    if hours > 0 {
        tokio::spawn(async move {
            loop {
                match tolom.operator() {
                    Ok(operator) => match operator.run_retention(&Principal::System, days).await {
                        Ok(n) => tracing::info!(anonymised = n, days, "retention run"),
                        Err(e) => tracing::warn!(error = %e, "retention run failed"),
                    },
                    Err(e) => tracing::warn!(error = %e, "retention needs an operations store"),
                }
                tokio::time::sleep(Duration::from_secs(hours.saturating_mul(3600))).await;
            }
        });
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "tolom".into())
}
