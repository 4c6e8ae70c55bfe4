//! Composition: which store, acquirer, signer and notifiers a command runs
//! with, from the [`Settings`].

use std::path::Path;
use std::sync::Arc;

use rand::RngCore;
use secrecy::ExposeSecret;
use tolom_core::ports::OpsStore;
use tolom_core::ports::{Acquirer, Store};
use tolom_core::ports::Ed25519Signer;
use tolom_core::Tolom;

use crate::config::Settings;
use crate::CliError;

/// An opened store, as both ports.
#[derive(Clone)]
pub struct Stores {
    /// The storage ports.
    pub store: Arc<dyn Store>,
    /// The operations port.
    pub ops: Arc<dyn OpsStore>,
    /// `sqlite` or `postgres`.
    pub kind: &'static str,
}

/// Opens (and migrates) the database named by the settings.
pub async fn open_store(settings: &Settings) -> Result<Stores, CliError> {
    let url = settings.database_url.as_str();
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", dir.display())))?;
        }
        let store = tolom_store_sqlite::SqliteStore::open(
            path,
            tolom_store_sqlite::SqliteOptions::default(),
        )
        .await?;
        let store = Arc::new(store);
        return Ok(Stores {
            store: store.clone(),
            ops: store,
            kind: "sqlite",
        });
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let options = tolom_store_postgres::PgOptions {
            schema: settings.file.database.schema.clone(),
            max_connections: settings.file.database.max_connections.unwrap_or(10),
            ..tolom_store_postgres::PgOptions::default()
        };
        let full = settings.database_url_with_password();
        let store = tolom_store_postgres::PostgresStore::connect(full.expose_secret(), options)
            .await
            .map_err(|e| CliError::Store(redact_error(&e.to_string(), settings)))?;
        let store = Arc::new(store);
        return Ok(Stores {
            store: store.clone(),
            ops: store,
            kind: "postgres",
        });
    }
    Err(CliError::Usage(format!(
        "unsupported database URL {} (use sqlite:PATH or postgres://...)",
        crate::config::redact_url(url)
    )))
}

/// Removes any secret from a driver's message.
pub fn redact_error(message: &str, settings: &Settings) -> String {
    let mut m = message.to_string();
    for s in [
        &settings.database_password,
        &settings.bpc_password,
        &settings.smtp_password,
        &settings.webhook_secret,
    ]
    .into_iter()
    .flatten()
    {
        let secret = s.expose_secret();
        if !secret.is_empty() {
            m = m.replace(secret, "[REDACTED]");
        }
    }
    m
}

/// The acquirer named by the settings.
pub fn acquirer(settings: &Settings) -> Result<Arc<dyn Acquirer>, CliError> {
    let a = &settings.file.acquirer;
    match a.kind.as_deref().unwrap_or("sandbox") {
        "sandbox" => {
            let env: tolom_acquirer_sandbox::Environment = a
                .environment
                .as_deref()
                .unwrap_or("development")
                .parse()
                .map_err(|e| CliError::Usage(format!("acquirer.environment: {e}")))?;
            let mut config = tolom_acquirer_sandbox::SandboxConfig::new(env);
            config.allow_in_production = a.allow_in_production;
            let acq = tolom_acquirer_sandbox::SandboxAcquirer::new(config)
                .map_err(|e| CliError::Usage(format!("sandbox acquirer: {e}")))?;
            Ok(Arc::new(acq))
        }
        "bpc" => {
            let url = a
                .base_url
                .as_deref()
                .ok_or_else(|| CliError::Usage("acquirer.base_url is required for bpc".into()))?;
            let user = a
                .username
                .as_deref()
                .ok_or_else(|| CliError::Usage("acquirer.username is required for bpc".into()))?;
            let password = settings.bpc_password.clone().ok_or_else(|| {
                CliError::Usage(
                    "the BPC password is required: TOLOM_BPC_PASSWORD, TOLOM_BPC_PASSWORD_FILE or acquirer.password_file"
                        .into(),
                )
            })?;
            let mut config = tolom_acquirer_bpc::BpcConfig::new(url, user, password);
            config.allow_insecure_http = a.allow_insecure_http;
            let acq = tolom_acquirer_bpc::BpcAcquirer::new(config)
                .map_err(|e| CliError::Usage(format!("bpc acquirer: {e}")))?;
            Ok(Arc::new(acq))
        }
        other => Err(CliError::Usage(format!(
            "unknown acquirer {other:?} (sandbox or bpc)"
        ))),
    }
}

/// Parses a 32-byte seed: 64 hex digits, or exactly 32 raw bytes.
pub fn parse_seed(bytes: &[u8]) -> Option<[u8; 32]> {
    let text = std::str::from_utf8(bytes).ok().map(str::trim);
    if let Some(t) = text {
        if t.len() == 64 {
            if let Ok(v) = hex::decode(t) {
                return <[u8; 32]>::try_from(v.as_slice()).ok();
            }
        }
    }
    <[u8; 32]>::try_from(bytes).ok()
}

/// Writes a new random 32-byte key as hex to `path` with mode 0600;
/// refuses to overwrite.
pub fn generate_key_file(path: &Path) -> Result<[u8; 32], CliError> {
    let mut seed = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut seed);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut f = options
        .open(path)
        .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(hex::encode(seed).as_bytes())
        .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))?;
    Ok(seed)
}

/// How to get the receipt signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPolicy {
    /// Create the key file when missing (`serve`, `migrate`).
    CreateIfMissing,
    /// The key must exist (`receipts verify`).
    Required,
    /// Use the key when it exists, else a throwaway one (commands that
    /// never sign).
    Optional,
}

/// Loads the receipt signing seed.
pub fn signing_seed(settings: &Settings, policy: KeyPolicy) -> Result<[u8; 32], CliError> {
    if let Some(s) = &settings.signing_key_env {
        return parse_seed(s.expose_secret().as_bytes())
            .ok_or_else(|| CliError::Usage("TOLOM_SIGNING_KEY must be 64 hex digits".into()));
    }
    let path = settings.signing_key_file();
    match std::fs::read(&path) {
        Ok(bytes) => {
            let seed = parse_seed(&bytes).ok_or_else(|| {
                CliError::Usage(format!(
                    "{}: expected 32 bytes (64 hex digits or raw)",
                    path.display()
                ))
            });
            seed
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match policy {
            KeyPolicy::CreateIfMissing => {
                let seed = generate_key_file(&path)?;
                tracing::info!(path = %path.display(), "created a new receipt signing key");
                Ok(seed)
            }
            KeyPolicy::Required => Err(CliError::Usage(format!(
                "no receipt signing key at {} (run `tolom keys generate` or set TOLOM_SIGNING_KEY_FILE)",
                path.display()
            ))),
            KeyPolicy::Optional => {
                let mut seed = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut seed);
                Ok(seed)
            }
        },
        Err(e) => Err(CliError::Usage(format!(
            "cannot read {}: {}",
            path.display(),
            e.kind()
        ))),
    }
}

/// The core's configuration (catalogue from the file when given).
pub fn core_config(settings: &Settings) -> Result<tolom_core::Config, CliError> {
    let mut config = tolom_core::Config::default();
    if let Some(path) = &settings.file.catalogue_file {
        let json = std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
        config.catalogue = tolom_core::catalogue::Catalogue::from_json(&json)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    }
    if let Some(u) = &settings.file.server.public_url {
        config.return_url = Some(u.trim_end_matches('/').to_string());
    }
    Ok(config)
}

/// Builds the use cases.
pub fn tolom(
    settings: &Settings,
    stores: &Stores,
    policy: KeyPolicy,
    notifiers: Vec<Arc<dyn tolom_core::ports::Notifier>>,
) -> Result<Arc<Tolom>, CliError> {
    let seed = signing_seed(settings, policy)?;
    let mut b = Tolom::builder()
        .store(stores.store.clone())
        .acquirer(acquirer(settings)?)
        .signer(Arc::new(Ed25519Signer::from_seed(seed)))
        .config(core_config(settings)?);
    for n in notifiers {
        b = b.notifier(n);
    }
    Ok(Arc::new(
        b.build().map_err(|e| CliError::Usage(e.to_string()))?,
    ))
}
