//! `tolom audit verify|checkpoint|key|list`.

use std::path::PathBuf;

use clap::Subcommand;
use tolom_core::time::format_bishkek;
use tolom_core::usecases::operator::Checkpointing;

use super::{me, operator, tolom};
use crate::checkpoints::{self, Sinks};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::{print_json, table};
use crate::CliError;

/// `audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain, and the log against signed checkpoints kept
    /// outside the database; exit 1 naming the first altered, inserted or
    /// deleted entry, or the checkpoint the log no longer holds (truncated,
    /// rewritten, re-chained).
    #[command(
        after_help = "Examples:\n  tolom audit verify\n  tolom audit verify --checkpoint /srv/witness/tolom-checkpoints.txt\n  tolom audit verify --checkpoint cp.txt --key 'pay.example.kg/audit+1a2b3c4d+AQ...'"
    )]
    Verify {
        /// A file of checkpoints (the checkpoint file, a witness's copy, a
        /// daily report's); every one in it is checked. Repeatable.
        #[arg(long)]
        checkpoint: Vec<PathBuf>,
        /// A verifier key (`name+id+base64`, as `tolom audit key` prints it)
        /// or a file of them, one per line. Default: the configured key's
        /// own and audit.trusted_keys. Repeatable.
        #[arg(long)]
        key: Vec<String>,
    },
    /// Seal what waits, sign a checkpoint of the log, keep it, write it to
    /// the configured file and witness, and print it (when the log has not
    /// grown since the last one: print that one).
    #[command(
        after_help = "Example:\n  tolom audit checkpoint >> /mnt/offsite/tolom-checkpoints.txt"
    )]
    Checkpoint,
    /// Print the verifier key of the checkpoint signing key (give it to
    /// auditors and witnesses).
    Key,
    /// Show the latest entries.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        last: usize,
    },
}

/// Runs `audit`.
pub async fn run(settings: &Settings, command: AuditCommand, json: bool) -> Result<(), CliError> {
    if let AuditCommand::Key = command {
        let key = checkpoints::signing_key(settings, KeyPolicy::Required)?
            .ok_or_else(|| CliError::Usage("no audit checkpoint key".into()))?;
        println!("{}", key.verifier());
        return Ok(());
    }
    let tolom = tolom(settings, Needs::NoAcquirer, KeyPolicy::Optional).await?;
    let operator = operator(&tolom)?;
    match command {
        AuditCommand::Verify { checkpoint, key } => {
            let given = checkpoints::read_checkpoint_files(&checkpoint)?;
            let keys = if key.is_empty() {
                checkpoints::configured_verifiers(settings)?
            } else {
                checkpoints::read_verifiers(&key)?
            };
            if !given.is_empty() && keys.is_empty() {
                return Err(CliError::Usage(
                    "no verifier key to check the checkpoints with: give --key (tolom audit key \
                     prints it) or configure audit.key_file"
                        .into(),
                ));
            }
            let r = operator.verify_audit_against(&me(), &given, &keys).await?;
            if json {
                print_json(&r)?;
            }
            match &r.problem {
                None => {
                    if !json {
                        let given_n = r.checkpoints.iter().filter(|c| c.source == "given").count();
                        let kept_n = r.checkpoints.len() - given_n;
                        println!(
                            "audit log intact: {} entries, chain verified; {given_n} given and \
                             {kept_n} kept checkpoints hold{}",
                            r.entries,
                            if r.unsealed > 0 {
                                format!(" ({} entries not sealed yet)", r.unsealed)
                            } else {
                                String::new()
                            }
                        );
                    }
                    Ok(())
                }
                Some(p) => Err(CliError::CheckFailed(format!("audit log TAMPERED: {p}"))),
            }
        }
        AuditCommand::Checkpoint => {
            let key = checkpoints::signing_key(settings, KeyPolicy::Required)?
                .ok_or_else(|| CliError::Usage("no audit checkpoint key".into()))?;
            let made = operator.checkpoint_audit(&me(), &key).await?;
            // A new checkpoint goes to the sinks; the kept one (the log has
            // not grown) is only printed: the sinks have it.
            let (checkpoint, failed) = match made {
                Checkpointing::Made(c) => {
                    let failed = Sinks::configured(settings).publish(&c).await;
                    (c, failed)
                }
                Checkpointing::Kept(c) => (c, Vec::new()),
                Checkpointing::Refused(why) => {
                    return Err(CliError::CheckFailed(format!(
                        "audit log TAMPERED, no checkpoint signed: {why}"
                    )))
                }
            };
            if json {
                print_json(&serde_json::json!({
                    "checkpoint": checkpoint.checkpoint,
                    "text": checkpoint.text(),
                    "sink_failures": failed,
                }))?;
            } else {
                print!("{}", checkpoint.text());
            }
            if failed.is_empty() {
                Ok(())
            } else {
                Err(CliError::CheckFailed(format!(
                    "the checkpoint was signed and kept, but not written everywhere: {}",
                    failed.join("; ")
                )))
            }
        }
        AuditCommand::Key => Ok(()),
        AuditCommand::List { last } => {
            let all = operator.audit_entries(&me(), 1, 0).await?;
            let tail = &all[all.len().saturating_sub(last)..];
            if json {
                return print_json(&tail);
            }
            let rows: Vec<Vec<String>> = tail
                .iter()
                .map(|e| {
                    vec![
                        e.seq.to_string(),
                        format_bishkek(e.at),
                        e.actor.clone(),
                        e.action.clone(),
                        e.subject.clone(),
                        e.hash[..16.min(e.hash.len())].to_string(),
                    ]
                })
                .collect();
            table(&["SEQ", "AT", "ACTOR", "ACTION", "SUBJECT", "HASH"], &rows);
            Ok(())
        }
    }
}
