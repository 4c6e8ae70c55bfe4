//! Keys: the receipt signing seed, the receipt key ring (public keys,
//! current and retired) and its rotation, and the portal's secret.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::RngCore;
use secrecy::ExposeSecret;
use tolom_core::ports::{KeyRing, KeyRingError, ReceiptSigner, RingKey};
use tolom_core::Tolom;

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

/// The receipt key ring file as written: one `[[key]]` table per public
/// key. Times are RFC 3339 strings.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct RingFile {
    #[serde(default)]
    key: Vec<RingEntry>,
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct RingEntry {
    /// The key id (the first 8 characters of the base64url public key).
    id: String,
    /// The Ed25519 public key, base64url.
    public_key: String,
    /// Since when it signs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_from: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was retired: it verifies only receipts whose facts are
    /// older.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_until: Option<chrono::DateTime<chrono::Utc>>,
}

const RING_HEADER: &str = "\
# tolom receipt signing keys: PUBLIC keys only, the same file on every
# instance (signing.ring_file). Written by `tolom keys rotate`; print it for
# agencies with `tolom keys show`. A receipt is genuine when its signature
# verifies with the key its id names and its facts are older than that
# key's valid_until.
";

fn read_ring_file(path: &Path) -> Result<RingFile, CliError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| CliError::Usage(format!("{}: {}", path.display(), e.message()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RingFile::default()),
        Err(e) => Err(CliError::Usage(format!(
            "cannot read {}: {}",
            path.display(),
            e.kind()
        ))),
    }
}

fn ring_of(file: &RingFile, path: &Path) -> Result<KeyRing, CliError> {
    let bad = |e: KeyRingError| CliError::Usage(format!("{}: {e}", path.display()));
    let mut keys = Vec::new();
    for entry in &file.key {
        let key = RingKey::from_base64url(&entry.public_key, entry.valid_from, entry.valid_until)
            .map_err(bad)?;
        key.check_id(&entry.id).map_err(bad)?;
        keys.push(key);
    }
    KeyRing::new(keys).map_err(bad)
}

/// The receipt key ring from `signing.ring_file` (a missing file is an
/// empty ring), with `signer`'s key added when the file does not list it.
pub fn key_ring(settings: &Settings, signer: &dyn ReceiptSigner) -> Result<KeyRing, CliError> {
    let path = settings.signing_ring_file();
    ring_of(&read_ring_file(&path)?, &path)?
        .with_current(signer)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

/// When the ring says `signer`'s key was retired at or before `now`: the
/// message that says so (this instance would sign receipts no one can
/// verify).
pub fn retired_signer(
    ring: &KeyRing,
    signer: &dyn ReceiptSigner,
    now: DateTime<Utc>,
) -> Option<String> {
    let key = ring.key(&signer.key_id())?;
    let until = key.valid_until()?;
    (until <= now).then(|| {
        format!(
            "the receipt signing key {} was retired at {} (signing.ring_file): install the new \
             key file (signing.key_file) that `tolom keys rotate` wrote, and restart",
            key.key_id(),
            until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    })
}

/// For `serve`: refuses to start with a retired key, then reloads the key
/// ring whenever its file changes (checked every 10 seconds) until `stop`,
/// so that every instance knows a new key before any signs with it.
pub fn watch_ring(
    settings: &Settings,
    tolom: &Arc<Tolom>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), CliError> {
    let signer = tolom.signer().clone();
    if let Some(problem) = retired_signer(&tolom.key_ring(), signer.as_ref(), Utc::now()) {
        return Err(CliError::Usage(problem));
    }
    let settings = settings.clone();
    let tolom = tolom.clone();
    let path = settings.signing_ring_file();
    let stamp = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().ok(), m.len()))
    };
    let mut seen = stamp(&path);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_secs(10)) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            let now = stamp(&path);
            if now == seen {
                continue;
            }
            seen = now;
            match key_ring(&settings, signer.as_ref()) {
                Ok(ring) => {
                    let keys = ring.keys().len();
                    if let Some(problem) = retired_signer(&ring, signer.as_ref(), Utc::now()) {
                        tracing::error!(%problem, "receipt key ring");
                    }
                    match tolom.set_key_ring(ring) {
                        Ok(()) => {
                            tracing::info!(path = %path.display(), keys, "receipt key ring reloaded")
                        }
                        Err(e) => tracing::error!(error = %e, "receipt key ring not reloaded"),
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "receipt key ring not reloaded; the previous one stays")
                }
            }
        }
    });
    Ok(())
}

/// What `tolom keys rotate` did.
#[derive(Debug)]
pub struct Rotation {
    /// The retired key.
    pub retired: RingKey,
    /// The new current key.
    pub current: RingKey,
    /// The key file (now the new key).
    pub key_file: std::path::PathBuf,
    /// The ring file written.
    pub ring_file: std::path::PathBuf,
}

/// Rotates the receipt signing key: a new key in `signing.key_file`, the
/// old one's public key retired into `signing.ring_file` with `valid_until
/// = now + overlap` (instances not yet restarted keep signing with it until
/// then; 0 for a leaked key). The old private key is gone. The ring is
/// written first (atomically), then the key file is replaced (atomically);
/// an interrupted rotation leaves `<key_file>.new` and says so next time.
pub fn rotate(settings: &Settings, overlap: chrono::Duration) -> Result<Rotation, CliError> {
    if settings.signing_key_env.is_some() {
        return Err(CliError::Usage(
            "the signing key comes from TOLOM_SIGNING_KEY: rotate it where it is kept (write a \
             new key with `tolom keys generate`, retire the old public key into \
             signing.ring_file), or use signing.key_file"
                .into(),
        ));
    }
    let key_file = settings.signing_key_file();
    let ring_file = settings.signing_ring_file();
    let seed = signing_seed(settings, KeyPolicy::Required)?;
    let old = tolom_core::ports::Ed25519Signer::from_seed(seed);
    let mut file = read_ring_file(&ring_file)?;
    ring_of(&file, &ring_file)?;
    // Whole seconds: the ring file, the published ring and the receipts'
    // times all read to the second.
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_else(Utc::now);
    let retire_at = now + overlap;
    let old_id = old.key_id();
    match file.key.iter_mut().find(|e| e.id == old_id) {
        Some(e) => e.valid_until = Some(retire_at),
        None => file.key.push(RingEntry {
            id: old_id.clone(),
            public_key: old.public_key(),
            valid_from: None,
            valid_until: Some(retire_at),
        }),
    }
    // The new key, beside the old one until the ring is written.
    let pending = key_file.with_extension("new");
    if pending.exists() {
        return Err(CliError::Usage(format!(
            "{} exists: an earlier rotation was interrupted. If {} lists its key, move it over \
             {}; else delete it. Then run again.",
            pending.display(),
            ring_file.display(),
            key_file.display()
        )));
    }
    let new_seed = generate_key_file(&pending)?;
    let new = tolom_core::ports::Ed25519Signer::from_seed(new_seed);
    file.key.push(RingEntry {
        id: new.key_id(),
        public_key: new.public_key(),
        valid_from: Some(now),
        valid_until: None,
    });
    let ring = ring_of(&file, &ring_file)?;
    let text = toml::to_string(&file)
        .map_err(|e| CliError::Usage(format!("cannot write the key ring: {e}")))?;
    let fail = |what: &str, e: std::io::Error| {
        let _ = std::fs::remove_file(&pending);
        CliError::Usage(format!("cannot {what}: {e}"))
    };
    if let Some(dir) = ring_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(&format!("create {}", dir.display()), e))?;
    }
    let tmp = ring_file.with_extension("tmp");
    std::fs::write(&tmp, format!("{RING_HEADER}\n{text}"))
        .map_err(|e| fail(&format!("write {}", tmp.display()), e))?;
    std::fs::rename(&tmp, &ring_file)
        .map_err(|e| fail(&format!("replace {}", ring_file.display()), e))?;
    std::fs::rename(&pending, &key_file).map_err(|e| {
        CliError::Usage(format!(
            "the ring {} lists the new key, but {} could not replace {}: {e}; move it by hand",
            ring_file.display(),
            pending.display(),
            key_file.display()
        ))
    })?;
    let pick = |id: &str| {
        ring.key(id)
            .cloned()
            .ok_or_else(|| CliError::Usage(format!("key {id} missing from the ring")))
    };
    Ok(Rotation {
        retired: pick(&old_id)?,
        current: pick(&new.key_id())?,
        key_file,
        ring_file,
    })
}
