//! Keys: the receipt signing seed and the portal's secret.

use std::path::Path;

use rand::RngCore;
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::CliError;

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

/// How to get the receipt signing key (and, for `serve`, the portal
/// secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPolicy {
    /// Create the key file when missing (`migrate`, `demo`): the explicit
    /// set-up step, or a single demo instance.
    CreateIfMissing,
    /// The key must exist (`serve` in production, `receipts verify`): every
    /// instance must sign with the same key, so none makes its own.
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
                "no receipt signing key at {} (run `tolom migrate` or `tolom keys generate`, and \
                 give every instance the same file, or set TOLOM_SIGNING_KEY_FILE)",
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

/// The portal's secret (CSRF tokens, idempotency fingerprints, the
/// started-payment cookie): `TOLOM_PORTAL_SECRET` (64 hex digits), or the
/// file `signing.portal_secret_file` (default `<data_dir>/portal-secret.key`).
/// Every instance behind one address must have the same one, so with
/// [`KeyPolicy::Required`] a missing one is an error instead of a new
/// per-instance secret.
pub fn portal_secret(settings: &Settings, policy: KeyPolicy) -> Result<[u8; 32], CliError> {
    if let Some(s) = &settings.portal_secret_env {
        return parse_seed(s.expose_secret().as_bytes())
            .ok_or_else(|| CliError::Usage("TOLOM_PORTAL_SECRET must be 64 hex digits".into()));
    }
    let path = settings.portal_secret_file();
    match std::fs::read(&path) {
        Ok(b) => parse_seed(&b)
            .ok_or_else(|| CliError::Usage(format!("{}: expected 32 bytes", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match policy {
            KeyPolicy::CreateIfMissing => {
                let secret = generate_key_file(&path)?;
                tracing::info!(path = %path.display(), "created a new portal secret");
                Ok(secret)
            }
            KeyPolicy::Required => Err(CliError::Usage(format!(
                "no portal secret at {} (run `tolom migrate`, which creates it, and give every \
                 instance the same file, or set TOLOM_PORTAL_SECRET / signing.portal_secret_file)",
                path.display()
            ))),
            KeyPolicy::Optional => {
                let mut secret = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut secret);
                Ok(secret)
            }
        },
        Err(e) => Err(CliError::Usage(format!(
            "cannot read {}: {}",
            path.display(),
            e.kind()
        ))),
    }
}
