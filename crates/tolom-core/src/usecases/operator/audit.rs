//! The audit log: sealing, signed checkpoints, and verification — of the
//! chain against itself, and of the log against checkpoints kept outside
//! the database.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::access::{Permission, Principal};
use crate::audit::checkpoint::{
    Checkpoint, CheckpointError, CheckpointKey, CheckpointVerifier, SignedCheckpoint,
};
use crate::audit::{verify_chain, verify_chain_from, AuditHead, AuditProblem};
use crate::ports::StoredCheckpoint;

use super::{Operator, OperatorError};

/// Entries sealed per call to the store.
pub const SEAL_BATCH: usize = 1000;

/// At most this many batches in one [`Operator::seal_audit`] (a log that
/// grows faster is sealed by the next call).
const SEAL_ROUNDS: usize = 100;

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Sealed entries read.
    pub entries: usize,
    /// The first problem, if any: of the chain, else of a checkpoint.
    pub problem: Option<String>,
    /// The sequence number of the first broken entry, if any (for a
    /// truncated log: the first missing one; for a rewritten one: the
    /// checkpoint's last entry, at or before which it was rewritten).
    pub broken_at: Option<u64>,
    /// Entries appended but not sealed yet (not covered by the check).
    pub unsealed: u64,
    /// Every checkpoint checked: those given, then those the database
    /// keeps.
    pub checkpoints: Vec<CheckpointCheck>,
}

/// One checkpoint checked against the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointCheck {
    /// `given` (from outside the database) or `stored` (kept by it).
    pub source: &'static str,
    /// Entries it covers.
    pub size: u64,
    /// The head it signed.
    pub head: String,
    /// When it was made.
    pub time: DateTime<Utc>,
    /// The verifier key whose signature verified (`name+id`), if checked.
    pub signed_by: Option<String>,
    /// What is wrong, if anything.
    pub problem: Option<String>,
}

/// What [`Operator::checkpoint_audit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkpointing {
    /// A new checkpoint was signed and kept: publish it.
    Made(SignedCheckpoint),
    /// The log has not grown since the kept checkpoint of its size (or
    /// another instance kept one of this size first): that one.
    Kept(SignedCheckpoint),
    /// The log does not extend the last kept checkpoint (entries deleted or
    /// rewritten since), or its chain is broken: nothing was signed.
    Refused(String),
}

impl Operator {
    /// Seals the entries appended but not yet chained (in batches of
    /// [`SEAL_BATCH`], at most 100 batches), and returns how many. Stores
    /// that chain entries when they are appended seal nothing.
    pub async fn seal_audit(&self, who: &Principal) -> Result<u64, OperatorError> {
        self.allow(who, Permission::ReadAudit).await?;
        self.seal_all().await
    }

    pub(super) async fn seal_all(&self) -> Result<u64, OperatorError> {
        let mut total = 0;
        for _ in 0..SEAL_ROUNDS {
            let n = self.ops.seal_audit(SEAL_BATCH).await?;
            total += n;
            if n < SEAL_BATCH as u64 {
                break;
            }
        }
        Ok(total)
    }

    /// Seals what waits, then signs a checkpoint of the sealed log with
    /// `key` and keeps it — after checking that the log still extends the
    /// last kept checkpoint (the entries since then chain onto its head),
    /// or, without one, that the whole chain holds. A log that does not is
    /// [`Checkpointing::Refused`]: a checkpoint never vouches for a log
    /// that was tampered with since the previous one.
    pub async fn checkpoint_audit(
        &self,
        who: &Principal,
        key: &CheckpointKey,
    ) -> Result<Checkpointing, OperatorError> {
        self.allow(who, Permission::ReadAudit).await?;
        self.seal_all().await?;
        let head = self.ops.audit_head().await?;
        let latest = self.ops.checkpoints(1).await?.into_iter().next();
        let after = match &latest {
            Some(kept) => {
                let parsed = match read_kept(kept) {
                    Ok(p) => p,
                    Err(e) => return Ok(Checkpointing::Refused(e)),
                };
                if let Err(CheckpointError::BadSignature(k)) = parsed.verify(&[key.verifier()]) {
                    return Ok(Checkpointing::Refused(format!(
                        "the last kept checkpoint (size {}) has a bad signature by {k}",
                        kept.size
                    )));
                }
                if kept.size > head.size {
                    return Ok(Checkpointing::Refused(format!(
                        "the log has {} sealed entries but the last checkpoint saw {}: entries \
                         were deleted",
                        head.size, kept.size
                    )));
                }
                Some((
                    AuditHead {
                        size: kept.size,
                        hash: kept.head.clone(),
                    },
                    parsed,
                ))
            }
            None => None,
        };
        let start = after
            .as_ref()
            .map(|(h, _)| h.clone())
            .unwrap_or_else(AuditHead::empty);
        // Entry `start.size` itself (its hash must still be the kept head),
        // then every entry up to the head read above.
        let from = start.size.max(1);
        let count = usize::try_from(head.size.saturating_sub(from) + 1).unwrap_or(usize::MAX);
        let mut entries = if head.size == 0 {
            Vec::new()
        } else {
            self.ops.audit_entries(from, count).await?
        };
        if start.size > 0 {
            match entries.first() {
                Some(e) if e.seq == start.size && e.hash == start.hash => {
                    entries.remove(0);
                }
                Some(e) if e.seq == start.size => {
                    return Ok(Checkpointing::Refused(format!(
                        "entry {} has hash {}, the last checkpoint signed {}: the log was \
                         rewritten",
                        e.seq, e.hash, start.hash
                    )))
                }
                _ => {
                    return Ok(Checkpointing::Refused(format!(
                        "entry {} of the last checkpoint is gone",
                        start.size
                    )))
                }
            }
        }
        if let Err(p) = verify_chain_from(&start, &entries) {
            return Ok(Checkpointing::Refused(format!(
                "the chain after the last checkpoint is broken: {p}"
            )));
        }
        let end = entries.last().map(AuditHead::of).unwrap_or(start.clone());
        if end != head {
            return Ok(Checkpointing::Refused(format!(
                "the log's head (entry {}, {}) is not its last entry (entry {}, {})",
                head.size, head.hash, end.size, end.hash
            )));
        }
        if let Some((kept, parsed)) = after {
            if kept.size == head.size {
                return Ok(Checkpointing::Kept(parsed));
            }
        }
        let signed = key.sign(Checkpoint::new(
            key.name(),
            head.size,
            &head.hash,
            self.ctx.now(),
        ));
        let stored = StoredCheckpoint {
            size: signed.checkpoint.size,
            head: signed.checkpoint.head.clone(),
            at: signed.checkpoint.time,
            text: signed.text().to_string(),
        };
        if self.ops.save_checkpoint(&stored).await? {
            return Ok(Checkpointing::Made(signed));
        }
        // Another instance kept one of this size first.
        let theirs = self.ops.checkpoints(1).await?.into_iter().next();
        Ok(match theirs.as_ref().map(read_kept) {
            Some(Ok(t)) if t.checkpoint.size == head.size => Checkpointing::Kept(t),
            _ => Checkpointing::Kept(signed),
        })
    }

    /// Kept checkpoints, the largest first, at most `limit` (0 = all).
    pub async fn audit_checkpoints(
        &self,
        who: &Principal,
        limit: usize,
    ) -> Result<Vec<SignedCheckpoint>, OperatorError> {
        self.allow(who, Permission::ReadAudit).await?;
        let kept = self.ops.checkpoints(limit).await?;
        Ok(kept.iter().filter_map(|k| read_kept(k).ok()).collect())
    }

    /// Reads the whole audit log (after sealing what waits) and checks the
    /// chain, and the log against the checkpoints the database keeps (their
    /// sizes and heads; signatures are checked by
    /// [`Operator::verify_audit_against`]).
    pub async fn verify_audit(&self, who: &Principal) -> Result<AuditReport, OperatorError> {
        self.verify_audit_against(who, &[], &[]).await
    }

    /// [`Operator::verify_audit`], and the log against checkpoints kept
    /// outside the database (`given`): each must carry a valid signature by
    /// one of `keys`, and the log must still hold what it saw — at least
    /// its size, and entry `size` with its head. Kept checkpoints signed by
    /// one of `keys` must verify too (others are compared unsigned).
    pub async fn verify_audit_against(
        &self,
        who: &Principal,
        given: &[SignedCheckpoint],
        keys: &[CheckpointVerifier],
    ) -> Result<AuditReport, OperatorError> {
        self.allow(who, Permission::ReadAudit).await?;
        // A read-only copy cannot be sealed: what waits is then reported as
        // unsealed.
        let _ = self.seal_all().await;
        let entries = self.ops.audit_entries(1, 0).await?;
        let unsealed = self.ops.audit_unsealed().await?;
        let mut report = match verify_chain(&entries) {
            Ok(n) => AuditReport {
                entries: n,
                problem: None,
                broken_at: None,
                unsealed,
                checkpoints: Vec::new(),
            },
            Err(p) => AuditReport {
                entries: entries.len(),
                broken_at: Some(match &p {
                    AuditProblem::Altered { seq }
                    | AuditProblem::BrokenLink { seq }
                    | AuditProblem::Duplicate { seq } => *seq,
                    AuditProblem::Missing { from, .. } => *from,
                }),
                problem: Some(p.to_string()),
                unsealed,
                checkpoints: Vec::new(),
            },
        };
        for cp in given {
            let (signed_by, sig_problem) = match cp.verify(keys) {
                Ok(v) => (Some(format!("{}+{}", v.name(), v.key_id())), None),
                Err(_) if keys.is_empty() => (
                    None,
                    Some("no verifier key was given to check its signature".to_string()),
                ),
                Err(e) => (None, Some(e.to_string())),
            };
            let check = check_one("given", &cp.checkpoint, signed_by, sig_problem, &entries);
            report.add(check);
        }
        for kept in self.ops.checkpoints(0).await? {
            let check = match read_kept(&kept) {
                Err(e) => CheckpointCheck {
                    source: "stored",
                    size: kept.size,
                    head: kept.head.clone(),
                    time: kept.at,
                    signed_by: None,
                    problem: Some(e),
                },
                Ok(cp) => {
                    let (signed_by, sig_problem) = match cp.verify(keys) {
                        Ok(v) => (Some(format!("{}+{}", v.name(), v.key_id())), None),
                        Err(CheckpointError::UnknownKey(_)) => (None, None),
                        Err(e) => (None, Some(e.to_string())),
                    };
                    check_one("stored", &cp.checkpoint, signed_by, sig_problem, &entries)
                }
            };
            report.add(check);
        }
        Ok(report)
    }
}

impl AuditReport {
    /// Whether nothing is wrong.
    pub fn intact(&self) -> bool {
        self.problem.is_none()
    }

    fn add(&mut self, check: CheckpointCheck) {
        if self.problem.is_none() {
            if let Some(p) = &check.problem {
                self.problem = Some(format!(
                    "checkpoint of size {} ({}, {}): {p}",
                    check.size,
                    check.source,
                    check
                        .time
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ));
                self.broken_at = Some(if (self.entries as u64) < check.size {
                    self.entries as u64 + 1
                } else {
                    check.size
                });
            }
        }
        self.checkpoints.push(check);
    }
}

fn check_one(
    source: &'static str,
    cp: &Checkpoint,
    signed_by: Option<String>,
    sig_problem: Option<String>,
    entries: &[crate::audit::AuditEntry],
) -> CheckpointCheck {
    let problem = sig_problem.or_else(|| cp.check_log(entries).err().map(|p| p.to_string()));
    CheckpointCheck {
        source,
        size: cp.size,
        head: cp.head.clone(),
        time: cp.time,
        signed_by,
        problem,
    }
}

/// A kept checkpoint's text, read and matched with its columns.
fn read_kept(kept: &StoredCheckpoint) -> Result<SignedCheckpoint, String> {
    let cp = SignedCheckpoint::parse(&kept.text)
        .map_err(|e| format!("the kept checkpoint of size {}: {e}", kept.size))?;
    if cp.checkpoint.size != kept.size || cp.checkpoint.head != kept.head {
        return Err(format!(
            "the kept checkpoint of size {} does not say what its row says",
            kept.size
        ));
    }
    Ok(cp)
}
