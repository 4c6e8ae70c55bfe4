//! Notifiers: SMTP and webhooks in production; in demo mode, a local log
//! instead (nothing is sent anywhere, nothing is retried forever).

use std::sync::Arc;

use secrecy::ExposeSecret;
use tolom_core::outbox::Channel;
use tolom_core::ports::Notifier;

use crate::config::Settings;
use crate::demo::LogNotifier;
use crate::CliError;

/// The notifiers the configuration names (SMTP, webhook).
pub(super) fn configured(settings: &Settings) -> Result<Vec<Arc<dyn Notifier>>, CliError> {
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

/// Demo mode: both channels go to `<data_dir>/notifications.log`.
pub(super) fn demo(settings: &Settings) -> Result<Vec<Arc<dyn Notifier>>, CliError> {
    let path = settings.data_dir.join("notifications.log");
    Ok(vec![
        Arc::new(LogNotifier::new(Channel::Email, path.clone())),
        Arc::new(LogNotifier::new(Channel::Webhook, path)),
    ])
}
