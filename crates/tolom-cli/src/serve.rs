//! `serve`: the portal, the admin API under `/api/v1/admin/`, and the
//! background jobs (outbox, reconciliation, expiry, retention).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use tolom_core::ports::Notifier;

use crate::cli::ServeArgs;
use crate::compose::{self, KeyPolicy};
use crate::config::Settings;
use crate::CliError;

fn notifiers(settings: &Settings) -> Result<Vec<Arc<dyn Notifier>>, CliError> {
    let mut out: Vec<Arc<dyn Notifier>> = Vec::new();
    if let Some(s) = &settings.file.smtp {
        let mut c = tolom_notify_smtp::SmtpConfig {
            host: s.host.clone(),
            from: s.from.clone(),
            base_url: settings.file.server.public_url.clone(),
            ..tolom_notify_smtp::SmtpConfig::default()
        };
        c.security = match s.security.as_deref().unwrap_or("starttls") {
            "plain" => tolom_notify_smtp::Security::Plain,
            "tls" => tolom_notify_smtp::Security::Tls,
            "starttls" => tolom_notify_smtp::Security::StartTls,
            other => return Err(CliError::Usage(format!("smtp.security {other:?}"))),
        };
        c.port = s.port.unwrap_or_else(|| c.security.default_port());
        if let Some(user) = &s.username {
            let pw = settings.smtp_password.as_ref().ok_or_else(|| {
                CliError::Usage("smtp.username is set but TOLOM_SMTP_PASSWORD is not".into())
            })?;
            c.credentials = Some(tolom_notify_smtp::SmtpCredentials::new(
                user.clone(),
                pw.expose_secret().to_string(),
            ));
        }
        let n = tolom_notify_smtp::SmtpNotifier::new(c)
            .map_err(|e| CliError::Usage(format!("smtp: {e}")))?;
        out.push(Arc::new(n));
    }
    if let Some(w) = &settings.file.webhook {
        let secret = settings.webhook_secret.as_ref().ok_or_else(|| {
            CliError::Usage("[webhook] needs TOLOM_WEBHOOK_SECRET or webhook.secret_file".into())
        })?;
        let c = tolom_notify_webhook::WebhookConfig::new(w.url.clone(), secret.expose_secret());
        let n = tolom_notify_webhook::WebhookNotifier::new(c)
            .map_err(|e| CliError::Usage(format!("webhook: {e}")))?;
        out.push(Arc::new(n));
    }
    Ok(out)
}

fn portal_secret(settings: &Settings) -> Result<[u8; 32], CliError> {
    let path = settings.portal_secret_file();
    match std::fs::read(&path) {
        Ok(b) => compose::parse_seed(&b)
            .ok_or_else(|| CliError::Usage(format!("{}: expected 32 bytes", path.display()))),
        Err(_) => compose::generate_key_file(&path),
    }
}

/// Runs until Ctrl-C / SIGTERM.
pub async fn serve(settings: Settings, args: ServeArgs) -> Result<(), CliError> {
    let stores = compose::open_store(&settings).await?;
    let tolom = compose::tolom(
        &settings,
        &stores,
        KeyPolicy::CreateIfMissing,
        notifiers(&settings)?,
    )?;
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
    portal.secret = portal_secret(&settings)?;
    portal.hsts = settings.file.server.tls;
    portal.secure_cookies = settings.file.server.tls;
    portal.trust_forwarded_for = settings.file.server.trust_forwarded_for;
    if let Some(r) = settings.file.server.lookup_rate_per_minute {
        portal.lookup_rate_per_minute = r;
    }
    let admin = tolom_admin::admin_router(tolom_admin::AdminState {
        tolom: tolom.clone(),
        ops: stores.ops.clone(),
    });
    let app = axum::Router::new()
        .nest("/api/v1/admin", admin)
        .merge(tolom_http::router(tolom_http::AppState::new(
            tolom.clone(),
            portal,
        )));
    if !args.no_jobs {
        spawn_jobs(&settings, tolom.clone(), stores.ops.clone());
    }
    // The line tests and scripts wait for.
    println!(
        "tolom listening on http://{local} (public {public_url}, store {})",
        stores.kind
    );
    tracing::info!(%local, store = stores.kind, "tolom serving");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| CliError::Usage(format!("server: {e}")))
}

fn spawn_jobs(
    settings: &Settings,
    tolom: Arc<tolom_core::Tolom>,
    ops: Arc<dyn tolom_core::ports::OpsStore>,
) {
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
                let now = tolom.clock().now();
                match tolom_admin::run_retention(ops.as_ref(), days, "system", now).await {
                    Ok(n) => tracing::info!(anonymised = n, days, "retention run"),
                    Err(e) => tracing::warn!(error = %e, "retention run failed"),
                }
                tokio::time::sleep(Duration::from_secs(hours * 3600)).await;
            }
        });
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "tolom".into())
}
