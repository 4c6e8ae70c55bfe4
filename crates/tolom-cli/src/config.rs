//! Configuration: one TOML file plus `TOLOM_*` environment variables.
//!
//! Secrets (database password, gateway password, SMTP password, webhook
//! secret, receipt signing key) come only from the environment or from
//! files, are held as [`SecretString`], and never appear in `Debug`,
//! `config show`, logs or error messages.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The file is not valid TOML or has unknown keys.
    #[error("invalid configuration in {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// Why (never a secret: secrets are not in the file).
        message: String,
    },
    /// A value is missing or wrong.
    #[error("configuration: {0}")]
    Invalid(String),
    /// Values of the sections that fit tolom to the operator's data
    /// (`[codes]`, `[operator]`, `[cards]`, `catalogue_file`) are wrong:
    /// each problem names its key.
    #[error("{}", unfit_message(.path, .problems))]
    Unfit {
        /// The file (or `(no file)`).
        path: String,
        /// Each problem, naming its key.
        problems: Vec<String>,
    },
}

fn unfit_message(path: &str, problems: &[String]) -> String {
    match problems {
        [one] => format!("invalid configuration in {path}: {one}"),
        many => {
            let mut m = format!("invalid configuration in {path}: {} problems", many.len());
            for p in many {
                m.push_str("\n  - ");
                m.push_str(p);
            }
            m
        }
    }
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// `sqlite:PATH` or `postgres://user@host/db` (no password in the URL:
    /// use `TOLOM_DATABASE_PASSWORD` or `password_file`). Env:
    /// `TOLOM_DATABASE_URL`.
    pub url: Option<String>,
    /// A file holding the database password. Env:
    /// `TOLOM_DATABASE_PASSWORD_FILE`.
    pub password_file: Option<PathBuf>,
    /// PostgreSQL schema (default: the connection's search path). Env:
    /// `TOLOM_DATABASE_SCHEMA`.
    pub schema: Option<String>,
    /// PostgreSQL pool size per instance (default 10).
    pub max_connections: Option<u32>,
    /// Whether commands other than `tolom migrate` bring the schema up to
    /// date when they open the database (default `true`). With `false`
    /// (PostgreSQL; a SQLite file is always migrated by whoever opens it),
    /// they only check that the schema is at this build's migration and
    /// refuse to start otherwise: the service's role then needs no right
    /// to create anything, and migrations run as the schema's owner
    /// (`tolom migrate`). Env: `TOLOM_DATABASE_RUN_MIGRATIONS`.
    pub run_migrations: Option<bool>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Listen address (default `127.0.0.1:8080`). Env: `TOLOM_ADDR`.
    pub addr: Option<String>,
    /// The admin listener (e.g. `10.0.0.5:9090`, a private address): when
    /// set, the admin API and `GET /metrics` (without a token) are served
    /// there, with `/healthz` and `/readyz`, and no longer on `addr`. When
    /// not set, the admin API stays on `addr` and `/metrics` there needs an
    /// operator or auditor token. Env: `TOLOM_ADMIN_ADDR`.
    pub admin_addr: Option<String>,
    /// Public address of the portal. Env: `TOLOM_PUBLIC_URL`.
    pub public_url: Option<String>,
    /// Served over TLS (HSTS, Secure cookies).
    #[serde(default)]
    pub tls: bool,
    /// Trust the last `X-Forwarded-For` entry (behind a proxy only).
    #[serde(default)]
    pub trust_forwarded_for: bool,
    /// Look-ups per client per minute (default 20).
    pub lookup_rate_per_minute: Option<u32>,
    /// Seconds between background rounds (outbox, reconciliation, expiry;
    /// default 10).
    pub jobs_interval_secs: Option<u64>,
    /// Seconds `serve` gives requests in flight and the current job step to
    /// finish after SIGTERM or Ctrl-C (default 30).
    pub shutdown_grace_secs: Option<u64>,
    /// After SIGTERM, at most this many seconds (default 5, within the
    /// grace period) during which `serve` keeps accepting connections
    /// while requests are still in flight, answering `/readyz` with 503 so
    /// that a load balancer takes the instance out; it stops accepting as
    /// soon as nothing is in flight.
    pub drain_secs: Option<u64>,
}

/// `[acquirer]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AcquirerSection {
    /// `bpc`, or `sandbox` for a development instance (together with
    /// `environment`). None: commands that need an acquirer refuse to run.
    /// Env: `TOLOM_ACQUIRER`.
    pub kind: Option<String>,
    /// Sandbox: `development` or `test`; the sandbox never runs in
    /// `production` (the default).
    pub environment: Option<String>,
    /// No longer supported: the sandbox never runs in production. Kept so
    /// that an old file saying `true` gets a clear error.
    #[serde(default)]
    pub allow_in_production: bool,
    /// BPC: the gateway's base URL. Env: `TOLOM_BPC_URL`.
    pub base_url: Option<String>,
    /// BPC: the merchant user name. Env: `TOLOM_BPC_USERNAME`.
    pub username: Option<String>,
    /// BPC: a file holding the password (or env `TOLOM_BPC_PASSWORD`, or
    /// `TOLOM_BPC_PASSWORD_FILE`).
    pub password_file: Option<PathBuf>,
    /// BPC: allow `http://` (the local emulator only).
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Origins besides the gateway's own (`https://acs.bank.kg`) that the
    /// payer may be sent to for 3-D Secure or a hosted page: the redirect
    /// page's Content-Security-Policy allows exactly the gateway's origin
    /// and these.
    #[serde(default)]
    pub redirect_origins: Vec<String>,
}

/// `[signing]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SigningSection {
    /// The receipt signing key: a file with the 32-byte Ed25519 seed in hex
    /// (64 characters) or raw (32 bytes). Default `<data_dir>/receipt-signing.key`.
    /// Env: `TOLOM_SIGNING_KEY_FILE`, or the hex seed itself in
    /// `TOLOM_SIGNING_KEY`.
    pub key_file: Option<PathBuf>,
    /// The receipt key ring: a TOML file listing the public keys receipts
    /// are verified against (the current one and the retired ones, each
    /// with `id`, `public_key`, `valid_from`, `valid_until`). Public, the
    /// same file on every instance; `tolom keys rotate` writes it, `serve`
    /// reloads it when it changes. Default `<data_dir>/receipt-keys.toml`;
    /// a missing file is a ring of the current key alone. Env:
    /// `TOLOM_SIGNING_RING_FILE`.
    pub ring_file: Option<PathBuf>,
    /// A file with the portal's 32-byte CSRF secret (hex); default
    /// `<data_dir>/portal-secret.key`.
    pub portal_secret_file: Option<PathBuf>,
}

/// `[retention]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RetentionSection {
    /// Days after which contact data of settled payments is anonymised
    /// (default 365). Env: `TOLOM_RETENTION_DAYS`.
    pub days: Option<u32>,
    /// Hours between retention runs in `serve` (default 24; 0 = never).
    pub interval_hours: Option<u64>,
}

/// `[audit]`: the audit log's sealing and its signed checkpoints
/// (`docs/operations.md`, "Audit log").
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// The log's name in its checkpoints (and the key's name), e.g.
    /// `pay.example.kg/audit`: no spaces, no `+`. Default: the host of
    /// `server.public_url` and `/audit`, else `tolom/audit`. Set it once
    /// and keep it: verifier keys carry it.
    pub origin: Option<String>,
    /// The checkpoint signing key: a file with a 32-byte Ed25519 seed (64
    /// hex digits), its own key, not the receipt key. Default
    /// `<data_dir>/audit-checkpoint.key`, created by `tolom migrate`. Env:
    /// `TOLOM_AUDIT_KEY_FILE`.
    pub key_file: Option<PathBuf>,
    /// Seconds between seals of the log in `serve` (default 2).
    pub seal_interval_secs: Option<u64>,
    /// Seconds between checkpoints in `serve` when the log grew (default
    /// 3600; 0 = only on demand, `tolom audit checkpoint`).
    pub checkpoint_interval_secs: Option<u64>,
    /// Append every new checkpoint to this file.
    pub checkpoint_file: Option<PathBuf>,
    /// POST every new checkpoint (`text/plain`) to this witness URL.
    pub witness_url: Option<String>,
    /// Verifier keys `tolom audit verify` trusts besides the configured
    /// key's own (keys used before a rotation): `name+id+base64`.
    #[serde(default)]
    pub trusted_keys: Vec<String>,
}

/// `[smtp]`: receipt e-mails (optional).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SmtpSection {
    /// Server host.
    pub host: String,
    /// Port (default by security).
    pub port: Option<u16>,
    /// `plain`, `starttls` (default) or `tls`.
    pub security: Option<String>,
    /// User name (password from `TOLOM_SMTP_PASSWORD` or `password_file`).
    pub username: Option<String>,
    /// File with the password.
    pub password_file: Option<PathBuf>,
    /// Sender address.
    pub from: String,
}

/// `[webhook]`: agency notices (optional).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// The agency's endpoint.
    pub url: String,
    /// File with the HMAC secret (or env `TOLOM_WEBHOOK_SECRET`).
    pub secret_file: Option<PathBuf>,
}

/// The file as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Directory for keys and the default SQLite file (default
    /// `tolom-data`). Env: `TOLOM_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// A catalogue JSON file replacing the built-in Kyrgyz catalogue
    /// (`deploy/catalogue.example.json`); checked when loaded.
    pub catalogue_file: Option<PathBuf>,
    /// `[codes]`: the shape of payment codes (length, check digits,
    /// prefixes per family).
    #[serde(default)]
    pub codes: crate::fitting::CodesSection,
    /// `[operator]`: who runs the site, in each language (default: the
    /// state payment site's operator).
    pub operator: Option<crate::fitting::OperatorSection>,
    /// `[cards]`: the card brands and number ranges accepted (default:
    /// the built-in table).
    #[serde(default)]
    pub cards: crate::fitting::CardsSection,
    /// `[database]`.
    #[serde(default)]
    pub database: DatabaseSection,
    /// `[server]`.
    #[serde(default)]
    pub server: ServerSection,
    /// `[acquirer]`.
    #[serde(default)]
    pub acquirer: AcquirerSection,
    /// `[signing]`.
    #[serde(default)]
    pub signing: SigningSection,
    /// `[retention]`.
    #[serde(default)]
    pub retention: RetentionSection,
    /// `[audit]`.
    #[serde(default)]
    pub audit: AuditSection,
    /// `[smtp]`.
    pub smtp: Option<SmtpSection>,
    /// `[webhook]`.
    pub webhook: Option<WebhookSection>,
}

/// The effective configuration: the file, overridden by the environment,
/// with secrets loaded.
#[derive(Clone)]
pub struct Settings {
    /// The file's values after environment overrides.
    pub file: FileConfig,
    /// Where the file came from, if any.
    pub source: Option<PathBuf>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Database URL (without password).
    pub database_url: String,
    /// Database password.
    pub database_password: Option<SecretString>,
    /// BPC password.
    pub bpc_password: Option<SecretString>,
    /// SMTP password.
    pub smtp_password: Option<SecretString>,
    /// Webhook secret.
    pub webhook_secret: Option<SecretString>,
    /// Signing key seed given in the environment (hex).
    pub signing_key_env: Option<SecretString>,
    /// The portal secret given in the environment (hex).
    pub portal_secret_env: Option<SecretString>,
    /// Retention period in days.
    pub retention_days: u32,
    /// The code format, operator and catalogue the file fits, checked.
    pub fitted: crate::fitting::Fitted,
}

const REDACTED: &str = "[REDACTED]";

fn redact(s: &Option<SecretString>) -> &'static str {
    if s.is_some() {
        REDACTED
    } else {
        "(not set)"
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("source", &self.source)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("database_password", &redact(&self.database_password))
            .field("bpc_password", &redact(&self.bpc_password))
            .field("smtp_password", &redact(&self.smtp_password))
            .field("webhook_secret", &redact(&self.webhook_secret))
            .field("signing_key_env", &redact(&self.signing_key_env))
            .field("portal_secret_env", &redact(&self.portal_secret_env))
            .field("retention_days", &self.retention_days)
            .finish_non_exhaustive()
    }
}

/// A URL with any password replaced by `[REDACTED]`.
pub fn redact_url(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some(REDACTED));
            parsed.to_string()
        }
        _ => u.to_string(),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Reads a secret from a file (trailing newline removed).
pub fn secret_from_file(path: &Path) -> Result<SecretString, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        message: e.kind().to_string(),
    })?;
    Ok(SecretString::from(
        text.trim_end_matches(['\n', '\r']).to_string(),
    ))
}

fn secret(env_name: &str, file: Option<&Path>) -> Result<Option<SecretString>, ConfigError> {
    if let Some(v) = env(env_name) {
        return Ok(Some(SecretString::from(v)));
    }
    if let Some(p) = env(&format!("{env_name}_FILE")) {
        return secret_from_file(Path::new(&p)).map(Some);
    }
    file.map(secret_from_file).transpose()
}

impl Settings {
    /// Loads `path` (or `./tolom.toml` when it exists, or nothing) and the
    /// environment.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let (mut file, source) = match path {
            Some(p) => (read_file(p)?, Some(p.to_path_buf())),
            None => {
                let default = Path::new("tolom.toml");
                if default.exists() {
                    (read_file(default)?, Some(default.to_path_buf()))
                } else {
                    (FileConfig::default(), None)
                }
            }
        };
        if let Some(v) = env("TOLOM_DATA_DIR") {
            file.data_dir = Some(v.into());
        }
        if let Some(v) = env("TOLOM_DATABASE_URL") {
            file.database.url = Some(v);
        }
        if let Some(v) = env("TOLOM_DATABASE_SCHEMA") {
            file.database.schema = Some(v);
        }
        if let Some(v) = env("TOLOM_DATABASE_RUN_MIGRATIONS") {
            file.database.run_migrations = Some(match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "TOLOM_DATABASE_RUN_MIGRATIONS={v:?}: use true or false"
                    )))
                }
            });
        }
        if let Some(v) = env("TOLOM_ADDR") {
            file.server.addr = Some(v);
        }
        if let Some(v) = env("TOLOM_ADMIN_ADDR") {
            file.server.admin_addr = Some(v);
        }
        if let Some(v) = env("TOLOM_PUBLIC_URL") {
            file.server.public_url = Some(v);
        }
        if let Some(v) = env("TOLOM_ACQUIRER") {
            file.acquirer.kind = Some(v);
        }
        if let Some(v) = env("TOLOM_BPC_URL") {
            file.acquirer.base_url = Some(v);
        }
        if let Some(v) = env("TOLOM_BPC_USERNAME") {
            file.acquirer.username = Some(v);
        }
        if let Some(v) = env("TOLOM_SIGNING_KEY_FILE") {
            file.signing.key_file = Some(v.into());
        }
        if let Some(v) = env("TOLOM_SIGNING_RING_FILE") {
            file.signing.ring_file = Some(v.into());
        }
        if let Some(v) = env("TOLOM_AUDIT_KEY_FILE") {
            file.audit.key_file = Some(v.into());
        }
        let retention_days = match env("TOLOM_RETENTION_DAYS") {
            Some(v) => v
                .parse()
                .map_err(|_| ConfigError::Invalid("TOLOM_RETENTION_DAYS is not a number".into()))?,
            None => file.retention.days.unwrap_or(365),
        };
        let data_dir = file
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("tolom-data"));
        let database_url = file
            .database
            .url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", data_dir.join("tolom.db").display()));
        if url::Url::parse(&database_url)
            .ok()
            .is_some_and(|u| u.password().is_some())
        {
            return Err(ConfigError::Invalid(
                "the database URL must not contain a password: use TOLOM_DATABASE_PASSWORD or password_file".into(),
            ));
        }
        let fitted = crate::fitting::fit(
            &file.codes,
            file.operator.as_ref(),
            &file.cards,
            file.catalogue_file.as_deref(),
            file.server.public_url.as_deref(),
        )
        .map_err(|problems| ConfigError::Unfit {
            path: source
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(no file)".into()),
            problems,
        })?;
        Ok(Settings {
            fitted,
            database_password: secret(
                "TOLOM_DATABASE_PASSWORD",
                file.database.password_file.as_deref(),
            )?,
            bpc_password: secret("TOLOM_BPC_PASSWORD", file.acquirer.password_file.as_deref())?,
            smtp_password: secret(
                "TOLOM_SMTP_PASSWORD",
                file.smtp.as_ref().and_then(|s| s.password_file.as_deref()),
            )?,
            webhook_secret: secret(
                "TOLOM_WEBHOOK_SECRET",
                file.webhook.as_ref().and_then(|s| s.secret_file.as_deref()),
            )?,
            signing_key_env: env("TOLOM_SIGNING_KEY").map(SecretString::from),
            portal_secret_env: secret("TOLOM_PORTAL_SECRET", None)?,
            retention_days,
            data_dir,
            database_url,
            source,
            file,
        })
    }

    /// The signing key file.
    pub fn signing_key_file(&self) -> PathBuf {
        self.file
            .signing
            .key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("receipt-signing.key"))
    }

    /// The receipt key ring file.
    pub fn signing_ring_file(&self) -> PathBuf {
        self.file
            .signing
            .ring_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("receipt-keys.toml"))
    }

    /// The audit log's name in its checkpoints: `audit.origin`, else the
    /// host of `server.public_url` followed by `/audit`, else
    /// `tolom/audit`.
    pub fn audit_origin(&self) -> String {
        if let Some(o) = &self.file.audit.origin {
            return o.trim().to_string();
        }
        self.file
            .server
            .public_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}/audit"),
                    None => format!("{h}/audit"),
                })
            })
            .unwrap_or_else(|| "tolom/audit".to_string())
    }

    /// The checkpoint key file: `audit.key_file` (env
    /// `TOLOM_AUDIT_KEY_FILE`), default `<data_dir>/audit-checkpoint.key`.
    pub fn audit_key_file(&self) -> PathBuf {
        self.file
            .audit
            .key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-checkpoint.key"))
    }

    /// The portal secret file.
    pub fn portal_secret_file(&self) -> PathBuf {
        self.file
            .signing
            .portal_secret_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("portal-secret.key"))
    }

    /// What `tolom config show` prints: every setting, secrets as
    /// `[REDACTED]` or `(not set)`.
    pub fn show(&self) -> String {
        let f = &self.file;
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "(default)".into());
        let mut out = String::new();
        let mut line = |k: &str, v: String| out.push_str(&format!("{k:<28} {v}\n"));
        line(
            "config file",
            self.source
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(none)".into()),
        );
        line("data_dir", self.data_dir.display().to_string());
        line("database.url", redact_url(&self.database_url));
        line("database.password", redact(&self.database_password).into());
        line("database.schema", opt(&f.database.schema));
        line(
            "database.run_migrations",
            f.database.run_migrations.unwrap_or(true).to_string(),
        );
        line("server.addr", opt(&f.server.addr));
        line(
            "server.admin_addr",
            f.server
                .admin_addr
                .clone()
                .unwrap_or_else(|| "(none: admin API on server.addr)".into()),
        );
        line("server.public_url", opt(&f.server.public_url));
        line(
            "acquirer.kind",
            f.acquirer.kind.clone().unwrap_or_else(|| "(none)".into()),
        );
        line("acquirer.base_url", opt(&f.acquirer.base_url));
        line("acquirer.username", opt(&f.acquirer.username));
        line("acquirer.password", redact(&self.bpc_password).into());
        line(
            "signing.key_file",
            self.signing_key_file().display().to_string(),
        );
        line("signing.key (env)", redact(&self.signing_key_env).into());
        line(
            "signing.ring_file",
            self.signing_ring_file().display().to_string(),
        );
        line(
            "signing.portal_secret_file",
            self.portal_secret_file().display().to_string(),
        );
        line(
            "portal secret (env)",
            redact(&self.portal_secret_env).into(),
        );
        line("retention.days", self.retention_days.to_string());
        line(
            "audit.key_file",
            self.audit_key_file().display().to_string(),
        );
        line("audit.origin", self.audit_origin());
        line(
            "audit.checkpoint_file",
            f.audit
                .checkpoint_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(none)".into()),
        );
        line(
            "audit.witness_url",
            f.audit
                .witness_url
                .clone()
                .unwrap_or_else(|| "(none)".into()),
        );
        line(
            "smtp",
            f.smtp
                .as_ref()
                .map(|s| format!("{} (from {})", s.host, s.from))
                .unwrap_or_else(|| "(off)".into()),
        );
        line("smtp.password", redact(&self.smtp_password).into());
        line(
            "webhook",
            f.webhook
                .as_ref()
                .map(|w| w.url.clone())
                .unwrap_or_else(|| "(off)".into()),
        );
        line("webhook.secret", redact(&self.webhook_secret).into());
        for (k, v) in self.fitted.show() {
            line(&k, v);
        }
        out
    }

    /// The database URL with the password inserted (for the driver only).
    pub fn database_url_with_password(&self) -> SecretString {
        match (&self.database_password, url::Url::parse(&self.database_url)) {
            (Some(pw), Ok(mut u)) if u.scheme().starts_with("postgres") => {
                let _ = u.set_password(Some(pw.expose_secret()));
                SecretString::from(u.to_string())
            }
            _ => SecretString::from(self.database_url.clone()),
        }
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        message: e.kind().to_string(),
    })?;
    toml::from_str(&text).map_err(|e| {
        // Where: the line of the key (or of its table) the error is about.
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        ConfigError::Parse {
            path: path.display().to_string(),
            message: match line {
                Some(n) => format!("line {n}: {}", e.message()),
                None => e.message().to_string(),
            },
        }
    })
}
