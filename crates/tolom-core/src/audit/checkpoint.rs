//! Signed checkpoints of the audit log: what anchors the log outside the
//! database.
//!
//! A checkpoint says "the audit log had `size` sealed entries, and the hash
//! of entry `size` was `head`", at a time, signed with an Ed25519 key that
//! the database never sees. Kept anywhere outside the database (a file, a
//! witness, the daily report), it lets `tolom audit verify --checkpoint`
//! prove that the first `size` entries are still the ones that were
//! checkpointed: deleting entries from the end (fewer than `size` left) or
//! rewriting any entry up to `size` and re-chaining the rest (entry `size`
//! gets another hash, because every hash covers the one before it) is
//! found, whoever had write access to the database.
//!
//! # The text format (`tolom-audit-checkpoint/v1`)
//!
//! A checkpoint is a *signed note* in the format of C2SP's `signed-note`
//! (the envelope Certificate Transparency's and Go's checksum database's
//! checkpoints use): a body of text lines, a blank line, and one or more
//! signature lines.
//!
//! ```text
//! tolom-audit-checkpoint/v1
//! origin pay.example.kg/audit
//! size 1234
//! head 3f5c0a…(64 lower-case hex digits)
//! time 2026-12-02T10:00:00Z
//!
//! — pay.example.kg/audit AbCd…(base64)
//! ```
//!
//! - The body is exactly these five lines, in this order, each ending in
//!   `\n` (LF): the format line; `origin` — the log's name (also the key's
//!   name); `size` — the number of sealed entries, in decimal without
//!   leading zeros; `head` — the `hash` of entry `size` as `tolom audit
//!   list` and the database show it (for `size 0`, 64 zeros: the chain's
//!   genesis hash); `time` — when it was made, RFC 3339 in UTC to the
//!   second.
//! - A signature line is `— ` (U+2014 EM DASH and a space), the key name,
//!   a space, and the standard base64 (with padding) of 4 + 64 bytes: the
//!   key id, then the Ed25519 signature of the body's bytes (everything up
//!   to and including the `\n` before the blank line).
//! - The key id is the first 4 bytes of SHA-256(key name ‖ `\n` ‖ `0x01` ‖
//!   the 32-byte public key), as in C2SP.
//! - A verifier key is written `<name>+<key id, 8 hex digits>+<base64 of
//!   0x01 ‖ public key>` (C2SP's verifier key encoding; `tolom audit key`
//!   prints it).
//!
//! A file of checkpoints (the file sink appends to one) is checkpoints one
//! after another, each followed by a blank line.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{AuditEntry, GENESIS_HASH};

/// The first line of every checkpoint body.
pub const FORMAT_LINE: &str = "tolom-audit-checkpoint/v1";

/// The signature algorithm byte of C2SP's Ed25519 keys.
const ALG_ED25519: u8 = 0x01;

/// The start of a signature line.
const SIG_PREFIX: &str = "\u{2014} ";

/// Why a checkpoint or a key could not be read or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The text is not a checkpoint in the documented format.
    #[error("not a tolom audit checkpoint: {0}")]
    Format(String),
    /// A key or verifier key is not valid.
    #[error("bad checkpoint key: {0}")]
    Key(String),
    /// None of the signatures is by a key the verifier knows.
    #[error("the checkpoint is not signed by a known key (signed by {0})")]
    UnknownKey(String),
    /// A signature by a known key does not verify: the checkpoint was
    /// altered or forged.
    #[error("the signature by {0} does not verify: the checkpoint was altered or forged")]
    BadSignature(String),
}

/// What a checkpoint says about the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// The log's name (also the signing key's name).
    pub origin: String,
    /// Sealed entries at the time.
    pub size: u64,
    /// The hash of entry `size` ([`GENESIS_HASH`] for 0), lower-case hex.
    pub head: String,
    /// When it was made (to the second).
    pub time: DateTime<Utc>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.contains('+')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn valid_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Checkpoint {
    /// A checkpoint of a log of `size` entries whose last hash is `head`,
    /// made at `time` (kept to the second).
    pub fn new(origin: &str, size: u64, head: &str, time: DateTime<Utc>) -> Checkpoint {
        Checkpoint {
            origin: origin.to_string(),
            size,
            head: head.to_string(),
            time: DateTime::from_timestamp(time.timestamp(), 0).unwrap_or(time),
        }
    }

    /// The signed body: five lines, each ending in `\n`.
    pub fn body(&self) -> String {
        format!(
            "{FORMAT_LINE}\norigin {}\nsize {}\nhead {}\ntime {}\n",
            self.origin,
            self.size,
            self.head,
            self.time.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }

    /// Reads a body (exactly as [`Checkpoint::body`] writes it).
    pub fn parse_body(body: &str) -> Result<Checkpoint, CheckpointError> {
        let bad = |m: &str| CheckpointError::Format(m.to_string());
        let Some(stripped) = body.strip_suffix('\n') else {
            return Err(bad("the body does not end with a newline"));
        };
        let lines: Vec<&str> = stripped.split('\n').collect();
        let [format, origin, size, head, time] = lines.as_slice() else {
            return Err(bad("the body must have exactly five lines"));
        };
        if *format != FORMAT_LINE {
            return Err(bad(&format!("the first line must be {FORMAT_LINE}")));
        }
        let field = |line: &str, key: &str| -> Result<String, CheckpointError> {
            line.strip_prefix(key)
                .and_then(|r| r.strip_prefix(' '))
                .map(str::to_string)
                .ok_or_else(|| bad(&format!("expected a line `{key} ...`")))
        };
        let origin = field(origin, "origin")?;
        if !valid_name(&origin) {
            return Err(bad("the origin must be a name without spaces or '+'"));
        }
        let size_text = field(size, "size")?;
        let size: u64 = size_text
            .parse()
            .ok()
            .filter(|n: &u64| n.to_string() == size_text)
            .ok_or_else(|| bad("the size must be a decimal number without leading zeros"))?;
        let head = field(head, "head")?;
        if !valid_hash(&head) {
            return Err(bad("the head must be 64 lower-case hex digits"));
        }
        let time_text = field(time, "time")?;
        let time = DateTime::parse_from_rfc3339(&time_text)
            .map_err(|_| bad("the time must be RFC 3339"))?
            .with_timezone(&Utc);
        if time.to_rfc3339_opts(SecondsFormat::Secs, true) != time_text {
            return Err(bad("the time must be UTC to the second (…T10:00:00Z)"));
        }
        Ok(Checkpoint {
            origin,
            size,
            head,
            time,
        })
    }

    /// Whether the log `entries` (the whole log in `seq` order, from the
    /// first entry on) still holds what this checkpoint saw: at least `size`
    /// entries, and entry `size` with the checkpointed hash. Check the chain
    /// itself with [`super::verify_chain`]: together they prove the first
    /// `size` entries unchanged.
    pub fn check_log(&self, entries: &[AuditEntry]) -> Result<(), CheckpointProblem> {
        let log_size = entries.last().map(|e| e.seq).unwrap_or(0);
        if self.size == 0 {
            return if self.head == GENESIS_HASH {
                Ok(())
            } else {
                Err(CheckpointProblem::Rewritten {
                    size: 0,
                    expected: self.head.clone(),
                    found: GENESIS_HASH.to_string(),
                })
            };
        }
        if log_size < self.size {
            return Err(CheckpointProblem::Truncated {
                size: self.size,
                log_size,
            });
        }
        let found = entries
            .iter()
            .find(|e| e.seq == self.size)
            .map(|e| e.hash.clone());
        match found {
            Some(h) if h == self.head => Ok(()),
            Some(h) => Err(CheckpointProblem::Rewritten {
                size: self.size,
                expected: self.head.clone(),
                found: h,
            }),
            None => Err(CheckpointProblem::Truncated {
                size: self.size,
                log_size,
            }),
        }
    }
}

/// How the log differs from a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointProblem {
    /// The log is shorter than the checkpoint: entries were deleted.
    #[error("the log has {log_size} sealed entries but the checkpoint saw {size}: entries were deleted (truncated)")]
    Truncated {
        /// Entries the checkpoint saw.
        size: u64,
        /// Entries the log has now.
        log_size: u64,
    },
    /// Entry `size` has another hash: the log was rewritten at or before it
    /// (and re-chained).
    #[error("entry {size} has hash {found}, the checkpoint signed {expected}: the log was rewritten at or before entry {size}")]
    Rewritten {
        /// The checkpoint's size.
        size: u64,
        /// The checkpointed head.
        expected: String,
        /// The hash there now.
        found: String,
    },
}

/// The key id of C2SP's signed notes: SHA-256(name ‖ LF ‖ 0x01 ‖ key)[..4].
fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The key that signs checkpoints (its own key: not the receipt key).
pub struct CheckpointKey {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointKey({})", self.verifier())
    }
}

impl CheckpointKey {
    /// A key named `name` (the log's origin: no spaces, no `+`) from a
    /// 32-byte secret seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<CheckpointKey, CheckpointError> {
        if !valid_name(name) {
            return Err(CheckpointError::Key(format!(
                "the name {name:?} must be non-empty, without spaces or '+'"
            )));
        }
        Ok(CheckpointKey {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The key's name (the origin of its checkpoints).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public half, for verifiers.
    pub fn verifier(&self) -> CheckpointVerifier {
        let key = self.key.verifying_key();
        CheckpointVerifier {
            id: key_id(&self.name, &key),
            name: self.name.clone(),
            key,
        }
    }

    /// Signs `checkpoint` (its origin should be this key's name).
    pub fn sign(&self, checkpoint: Checkpoint) -> SignedCheckpoint {
        let body = checkpoint.body();
        let signature = self.key.sign(body.as_bytes()).to_bytes();
        let sig = NoteSignature {
            name: self.name.clone(),
            key_id: key_id(&self.name, &self.key.verifying_key()),
            signature,
        };
        let text = format!("{body}\n{}\n", sig.line());
        SignedCheckpoint {
            checkpoint,
            signatures: vec![sig],
            text,
        }
    }
}

/// A public key that checks checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointVerifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl CheckpointVerifier {
    /// Reads a verifier key `<name>+<id hex>+<base64(0x01 ‖ key)>`.
    pub fn parse(text: &str) -> Result<CheckpointVerifier, CheckpointError> {
        let bad = |m: &str| CheckpointError::Key(m.to_string());
        // The name and the id hold no '+'; the base64 key may.
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("a verifier key is <name>+<key id>+<base64 key>"));
        };
        if !valid_name(name) {
            return Err(bad("the key name must be non-empty, without spaces"));
        }
        let bytes = STANDARD
            .decode(key)
            .map_err(|_| bad("the key is not base64"))?;
        let Some((&ALG_ED25519, rest)) = bytes.split_first() else {
            return Err(bad("the key is not an Ed25519 key (0x01 and 32 bytes)"));
        };
        let raw = <[u8; 32]>::try_from(rest)
            .map_err(|_| bad("the key is not an Ed25519 key (0x01 and 32 bytes)"))?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|_| bad("not an Ed25519 point"))?;
        let expected = key_id(name, &key);
        if id.len() != 8 || crate::hex::lower(&expected) != id {
            return Err(bad("the key id does not match the name and key"));
        }
        Ok(CheckpointVerifier {
            name: name.to_string(),
            id: expected,
            key,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id, 8 hex digits.
    pub fn key_id(&self) -> String {
        crate::hex::lower(&self.id)
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }
}

impl std::fmt::Display for CheckpointVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{}+{}",
            self.name,
            crate::hex::lower(&self.id),
            STANDARD.encode(raw)
        )
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key's name.
    pub name: String,
    /// The key id.
    pub key_id: [u8; 4],
    /// The Ed25519 signature of the body.
    pub signature: [u8; 64],
}

impl NoteSignature {
    fn line(&self) -> String {
        let mut raw = self.key_id.to_vec();
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}", self.name, STANDARD.encode(raw))
    }

    fn parse(line: &str) -> Result<NoteSignature, CheckpointError> {
        let bad = |m: &str| CheckpointError::Format(m.to_string());
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or_else(|| bad("a signature line starts with an em dash and a space"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| bad("a signature line is `— <name> <base64>`"))?;
        if !valid_name(name) {
            return Err(bad("bad key name in a signature line"));
        }
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| bad("a signature is not base64"))?;
        if raw.len() != 68 {
            return Err(bad("a signature is 4 + 64 bytes"));
        }
        let mut key_id = [0u8; 4];
        key_id.copy_from_slice(&raw[..4]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&raw[4..]);
        Ok(NoteSignature {
            name: name.to_string(),
            key_id,
            signature,
        })
    }
}

/// A checkpoint with its signatures, and its exact text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// What it says.
    pub checkpoint: Checkpoint,
    /// Who signed it.
    pub signatures: Vec<NoteSignature>,
    text: String,
}

impl SignedCheckpoint {
    /// The text, as written to files and witnesses (ends with `\n`).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Reads one checkpoint (surrounding blank lines are ignored).
    pub fn parse(text: &str) -> Result<SignedCheckpoint, CheckpointError> {
        let mut all = parse_checkpoints(text)?;
        match (all.pop(), all.is_empty()) {
            (Some(one), true) => Ok(one),
            _ => Err(CheckpointError::Format(
                "expected exactly one checkpoint".into(),
            )),
        }
    }

    /// Checks the signature by the first of `verifiers` that signed it:
    /// its key. A checkpoint signed by none of them is
    /// [`CheckpointError::UnknownKey`]; a signature by a known key that
    /// does not verify is [`CheckpointError::BadSignature`].
    pub fn verify<'a>(
        &self,
        verifiers: &'a [CheckpointVerifier],
    ) -> Result<&'a CheckpointVerifier, CheckpointError> {
        let body = self.checkpoint.body();
        for sig in &self.signatures {
            let Some(v) = verifiers
                .iter()
                .find(|v| v.name == sig.name && v.id == sig.key_id)
            else {
                continue;
            };
            let signature = Signature::from_bytes(&sig.signature);
            return match v.key.verify(body.as_bytes(), &signature) {
                Ok(()) => Ok(v),
                Err(_) => Err(CheckpointError::BadSignature(format!(
                    "{}+{}",
                    v.name,
                    v.key_id()
                ))),
            };
        }
        Err(CheckpointError::UnknownKey(
            self.signatures
                .iter()
                .map(|s| format!("{}+{}", s.name, crate::hex::lower(&s.key_id)))
                .collect::<Vec<_>>()
                .join(", "),
        ))
    }
}

/// Reads every checkpoint of a text: a file the file sink appended to, a
/// witness's copy, or a daily report with one at its end. A checkpoint
/// starts at a line [`FORMAT_LINE`]: its five body lines, an empty line,
/// and its signature lines up to an empty line or the end. Other text
/// around checkpoints is skipped; a checkpoint that starts but is not
/// well-formed is an error. Carriage returns before line feeds are
/// tolerated.
pub fn parse_checkpoints(text: &str) -> Result<Vec<SignedCheckpoint>, CheckpointError> {
    let normalised = text.replace("\r\n", "\n");
    let lines: Vec<&str> = normalised.split('\n').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i] != FORMAT_LINE {
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && !lines[i].is_empty() {
            i += 1;
        }
        let body: String = lines[start..i].iter().map(|l| format!("{l}\n")).collect();
        let checkpoint = Checkpoint::parse_body(&body)?;
        // The empty line, then at least one signature line.
        i += 1;
        let mut signatures = Vec::new();
        while i < lines.len() && !lines[i].is_empty() {
            signatures.push(NoteSignature::parse(lines[i])?);
            i += 1;
        }
        if signatures.is_empty() {
            return Err(CheckpointError::Format(format!(
                "the checkpoint starting at line {} has no signature",
                start + 1
            )));
        }
        let text = format!(
            "{body}\n{}\n",
            signatures
                .iter()
                .map(NoteSignature::line)
                .collect::<Vec<_>>()
                .join("\n")
        );
        out.push(SignedCheckpoint {
            checkpoint,
            signatures,
            text,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key() -> CheckpointKey {
        CheckpointKey::from_seed("pay.example.kg/audit", [9u8; 32]).unwrap()
    }

    fn log(n: u64) -> Vec<AuditEntry> {
        let t = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let e = AuditEntry::next(out.last(), t, "system", "x", "s", serde_json::json!(i));
            out.push(e);
        }
        out
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap()
    }

    #[test]
    fn the_text_is_the_documented_format_and_reads_back() {
        let entries = log(3);
        let signed = key().sign(Checkpoint::new(
            "pay.example.kg/audit",
            3,
            &entries[2].hash,
            at(),
        ));
        let text = signed.text();
        let expected_body = format!(
            "tolom-audit-checkpoint/v1\norigin pay.example.kg/audit\nsize 3\nhead {}\ntime 2026-12-02T10:00:00Z\n",
            entries[2].hash
        );
        assert!(text.starts_with(&expected_body), "{text}");
        assert!(text[expected_body.len()..].starts_with("\n\u{2014} pay.example.kg/audit "));
        assert!(text.ends_with('\n'));
        let back = SignedCheckpoint::parse(text).unwrap();
        assert_eq!(back, signed);
        assert_eq!(
            back.verify(&[key().verifier()]).map(|v| v.name()),
            Ok("pay.example.kg/audit")
        );
        // Two in a file, as the file sink appends them; one at the end of
        // a report.
        let two = format!("{text}\n{text}\n");
        assert_eq!(parse_checkpoints(&two).unwrap().len(), 2);
        let report = format!("DAY SERVICE\n2026-12-02 passport\n\nAudit log checkpoint:\n\n{text}");
        assert_eq!(parse_checkpoints(&report).unwrap(), vec![signed.clone()]);
    }

    #[test]
    fn verifier_keys_round_trip_and_forgeries_fail() {
        let v = key().verifier();
        let text = v.to_string();
        assert_eq!(CheckpointVerifier::parse(&text), Ok(v.clone()));
        assert!(CheckpointVerifier::parse(&text.replacen("+", "x+", 1)).is_err());
        // Base64 keys with '+' in them (most of them) read back too.
        for seed in 0..64u8 {
            let v = CheckpointKey::from_seed("a/audit", [seed; 32])
                .unwrap()
                .verifier();
            assert_eq!(
                CheckpointVerifier::parse(&v.to_string()),
                Ok(v.clone()),
                "{v}"
            );
        }
        let signed = key().sign(Checkpoint::new(
            "pay.example.kg/audit",
            0,
            GENESIS_HASH,
            at(),
        ));
        // Another size under the same signature.
        let forged = signed.text().replacen("size 0", "size 1", 1);
        let forged = SignedCheckpoint::parse(&forged).unwrap();
        assert!(matches!(
            forged.verify(std::slice::from_ref(&v)),
            Err(CheckpointError::BadSignature(_))
        ));
        // Another key of the same name.
        let other = CheckpointKey::from_seed("pay.example.kg/audit", [1u8; 32]).unwrap();
        assert!(matches!(
            signed.verify(&[other.verifier()]),
            Err(CheckpointError::UnknownKey(_))
        ));
        assert!(CheckpointKey::from_seed("has space", [1u8; 32]).is_err());
    }

    #[test]
    fn malformed_texts_are_errors_not_panics() {
        let head = "0".repeat(64);
        let good = format!(
            "tolom-audit-checkpoint/v1\norigin a\nsize 1\nhead {head}\ntime 2026-12-02T10:00:00Z\n"
        );
        for text in [
            "tolom-audit-checkpoint/v1\n".to_string(),
            "tolom-audit-checkpoint/v1\norigin a\nsize 01\nhead x\ntime t\n\n\u{2014} a AAAA\n"
                .into(),
            format!("{good}\n"),
            format!("{good}\n\u{2014} a AAAA\n"),
            format!("{good}\n\u{2014}a\n"),
            good.replace("size 1", "size 18446744073709551616"),
            good.replace("2026-12-02T10:00:00Z", "2026-12-02T10:00:00+01:00"),
            good.replace("origin a", "origin a b"),
        ] {
            assert!(parse_checkpoints(&text).is_err(), "{text:?}");
        }
        for text in ["", "x\n\n\u{2014} a AAAA\n", "\u{2014}\n\n\u{2014}"] {
            assert_eq!(parse_checkpoints(text), Ok(vec![]), "{text:?}");
        }
    }

    #[test]
    fn truncation_and_rewriting_are_found() {
        let entries = log(5);
        let cp = Checkpoint::new("o", 4, &entries[3].hash, at());
        assert_eq!(cp.check_log(&entries), Ok(()));
        assert_eq!(cp.check_log(&entries[..4]), Ok(()));
        assert_eq!(
            cp.check_log(&entries[..2]),
            Err(CheckpointProblem::Truncated {
                size: 4,
                log_size: 2
            })
        );
        // Rewritten from entry 2 and re-chained: the chain holds, the
        // checkpoint does not.
        let mut rewritten: Vec<AuditEntry> = entries[..1].to_vec();
        for e in &entries[1..] {
            let next = AuditEntry::next(
                rewritten.last(),
                e.at,
                &e.actor,
                "forged",
                &e.subject,
                e.data.clone(),
            );
            rewritten.push(next);
        }
        assert_eq!(super::super::verify_chain(&rewritten), Ok(5));
        assert!(matches!(
            cp.check_log(&rewritten),
            Err(CheckpointProblem::Rewritten { size: 4, .. })
        ));
        let empty = Checkpoint::new("o", 0, GENESIS_HASH, at());
        assert_eq!(empty.check_log(&[]), Ok(()));
    }
}
