//! The audit log's anchor outside the database: the checkpoint signing key
//! (its own Ed25519 key, not the receipt key), the verifier keys an
//! auditor trusts, and the sinks a signed checkpoint is written to — a file
//! (appended to), an HTTP witness (POSTed to), and the daily report.
//!
//! `[audit]` in the configuration says which (`docs/operations.md`, "Audit
//! log"); `tolom migrate` creates the key when missing.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tolom_core::audit::checkpoint::{
    parse_checkpoints, CheckpointKey, CheckpointVerifier, SignedCheckpoint,
};

use crate::compose::keys::{generate_key_file, parse_seed, KeyPolicy};
use crate::config::Settings;
use crate::CliError;

/// The log's name in its checkpoints ([`Settings::audit_origin`]).
pub fn origin(settings: &Settings) -> String {
    settings.audit_origin()
}

/// The checkpoint key file ([`Settings::audit_key_file`]).
pub fn key_file(settings: &Settings) -> PathBuf {
    settings.audit_key_file()
}

/// Loads the checkpoint signing key. A missing file is created with
/// [`KeyPolicy::CreateIfMissing`], an error with [`KeyPolicy::Required`],
/// and `None` with [`KeyPolicy::Optional`].
pub fn signing_key(
    settings: &Settings,
    policy: KeyPolicy,
) -> Result<Option<CheckpointKey>, CliError> {
    let path = key_file(settings);
    let seed = match std::fs::read(&path) {
        Ok(bytes) => parse_seed(&bytes).ok_or_else(|| {
            CliError::Usage(format!(
                "{}: expected 32 bytes (64 hex digits or raw)",
                path.display()
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match policy {
            KeyPolicy::CreateIfMissing => {
                let seed = generate_key_file(&path)?;
                tracing::info!(path = %path.display(), "created a new audit checkpoint key");
                seed
            }
            KeyPolicy::Required => {
                return Err(CliError::Usage(format!(
                    "no audit checkpoint key at {} (run `tolom migrate`, which creates it, or set \
                     audit.key_file / TOLOM_AUDIT_KEY_FILE)",
                    path.display()
                )))
            }
            KeyPolicy::Optional => return Ok(None),
        },
        Err(e) => {
            return Err(CliError::Usage(format!(
                "cannot read {}: {}",
                path.display(),
                e.kind()
            )))
        }
    };
    CheckpointKey::from_seed(&origin(settings), seed)
        .map(Some)
        .map_err(|e| CliError::Usage(format!("audit.origin: {e}")))
}

/// Reads verifier keys: each argument is a verifier key
/// (`name+id+base64`) or a file with one per line (`#` comments allowed).
pub fn read_verifiers(args: &[String]) -> Result<Vec<CheckpointVerifier>, CliError> {
    let mut out = Vec::new();
    for a in args {
        if let Ok(v) = CheckpointVerifier::parse(a) {
            out.push(v);
            continue;
        }
        let text = std::fs::read_to_string(a).map_err(|e| {
            CliError::Usage(format!(
                "{a}: neither a verifier key (name+id+key) nor a readable file ({})",
                e.kind()
            ))
        })?;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            out.push(
                CheckpointVerifier::parse(line)
                    .map_err(|e| CliError::Usage(format!("{a}: {e}")))?,
            );
        }
    }
    Ok(out)
}

/// The keys `audit verify` trusts without `--key`: the configured key's
/// own (when its file is there) and `audit.trusted_keys`.
pub fn configured_verifiers(settings: &Settings) -> Result<Vec<CheckpointVerifier>, CliError> {
    let mut out = read_verifiers(&settings.file.audit.trusted_keys)?;
    if let Some(key) = signing_key(settings, KeyPolicy::Optional)? {
        out.push(key.verifier());
    }
    Ok(out)
}

/// Reads every checkpoint of the files given.
pub fn read_checkpoint_files(paths: &[PathBuf]) -> Result<Vec<SignedCheckpoint>, CliError> {
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(p)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {}", p.display(), e.kind())))?;
        let found = parse_checkpoints(&text)
            .map_err(|e| CliError::Usage(format!("{}: {e}", p.display())))?;
        if found.is_empty() {
            return Err(CliError::Usage(format!(
                "{}: no checkpoint in it",
                p.display()
            )));
        }
        out.extend(found);
    }
    Ok(out)
}

/// Where checkpoints go besides the database.
#[derive(Debug, Clone, Default)]
pub struct Sinks {
    /// Appended to.
    pub file: Option<PathBuf>,
    /// POSTed to.
    pub witness: Option<String>,
}

impl Sinks {
    /// The sinks of the configuration.
    pub fn configured(settings: &Settings) -> Sinks {
        Sinks {
            file: settings.file.audit.checkpoint_file.clone(),
            witness: settings.file.audit.witness_url.clone(),
        }
    }

    /// Whether there is any.
    pub fn is_empty(&self) -> bool {
        self.file.is_none() && self.witness.is_none()
    }

    /// Writes `checkpoint` to every sink; the failures, one line each.
    pub async fn publish(&self, checkpoint: &SignedCheckpoint) -> Vec<String> {
        let mut failed = Vec::new();
        if let Some(path) = &self.file {
            if let Err(e) = append_to_file(path, checkpoint) {
                failed.push(format!("checkpoint file {}: {e}", path.display()));
            }
        }
        if let Some(url) = &self.witness {
            if let Err(e) = post_to_witness(url, checkpoint).await {
                failed.push(format!("witness {url}: {e}"));
            }
        }
        failed
    }
}

/// Appends the checkpoint and a blank line, and syncs the file.
pub fn append_to_file(path: &Path, checkpoint: &SignedCheckpoint) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(format!("{}\n", checkpoint.text()).as_bytes())?;
    f.sync_data()
}

/// POSTs the checkpoint's text (`text/plain`) to a witness; any 2xx is
/// taken.
pub async fn post_to_witness(url: &str, checkpoint: &SignedCheckpoint) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(checkpoint.text().to_string())
        .send()
        .await
        .map_err(|e| format!("not reached: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", response.status()))
    }
}
