//! `tolom audit verify|list`.

use clap::Subcommand;
use tolom_core::time::format_bishkek;

use super::{me, operator, tolom};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::{print_json, table};
use crate::CliError;

/// `audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; exit 1 naming the first altered, inserted or deleted entry.
    #[command(after_help = "Example:\n  tolom audit verify")]
    Verify,
    /// Show the latest entries.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        last: usize,
    },
}

/// Runs `audit`.
pub async fn run(settings: &Settings, command: AuditCommand, json: bool) -> Result<(), CliError> {
    let tolom = tolom(settings, Needs::NoAcquirer, KeyPolicy::Optional).await?;
    let operator = operator(&tolom)?;
    match command {
        AuditCommand::Verify => {
            let r = operator.verify_audit(&me()).await?;
            if json {
                print_json(&r)?;
            }
            match &r.problem {
                None => {
                    if !json {
                        println!("audit log intact: {} entries, chain verified", r.entries);
                    }
                    Ok(())
                }
                Some(p) => Err(CliError::CheckFailed(format!("audit log TAMPERED: {p}"))),
            }
        }
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
                    ]
                })
                .collect();
            table(&["SEQ", "AT", "ACTOR", "ACTION", "SUBJECT"], &rows);
            Ok(())
        }
    }
}
