//! `tolom outbox status|retry`.

use clap::Subcommand;
use tolom_core::outbox::OutboxStatus;
use tolom_core::time::format_bishkek;
use uuid::Uuid;

use super::{me, operator, tolom};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::{print_json, table};
use crate::CliError;

/// `outbox`.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Messages, newest first.
    #[command(
        after_help = "Examples:\n  tolom outbox status\n  tolom outbox status --status dead"
    )]
    Status {
        /// pending, delivered or dead.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Put dead letters back in the queue.
    #[command(
        after_help = "Examples:\n  tolom outbox retry 0b6e...\n  tolom outbox retry --all-dead"
    )]
    Retry {
        /// Message ids.
        ids: Vec<String>,
        /// Every dead message.
        #[arg(long)]
        all_dead: bool,
    },
}

/// Runs `outbox`.
pub async fn run(settings: &Settings, command: OutboxCommand, json: bool) -> Result<(), CliError> {
    let tolom = tolom(settings, Needs::NoAcquirer, KeyPolicy::Optional).await?;
    let operator = operator(&tolom)?;
    let who = me();
    match command {
        OutboxCommand::Status { status, limit } => {
            let status = status
                .as_deref()
                .map(|s| {
                    OutboxStatus::parse(s)
                        .ok_or_else(|| CliError::Usage(format!("unknown outbox status {s:?}")))
                })
                .transpose()?;
            let messages = operator.outbox(&who, status, limit).await?;
            if json {
                return print_json(&messages);
            }
            let counts = operator.outbox_counts(&who).await?;
            println!(
                "pending {}  delivered {}  dead {}",
                counts.pending, counts.delivered, counts.dead
            );
            let rows: Vec<Vec<String>> = messages
                .iter()
                .map(|m| {
                    vec![
                        m.id.to_string(),
                        format!("{:?}", m.payload.channel()).to_lowercase(),
                        m.status.as_str().to_string(),
                        m.attempts.to_string(),
                        format_bishkek(m.next_attempt_at),
                        m.last_error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            table(
                &["ID", "CHANNEL", "STATUS", "ATTEMPTS", "NEXT", "LAST ERROR"],
                &rows,
            );
            Ok(())
        }
        OutboxCommand::Retry { ids, all_dead } => {
            let ids: Vec<Uuid> = ids
                .iter()
                .map(|s| {
                    Uuid::parse_str(s).map_err(|_| CliError::Usage(format!("{s:?} is not an id")))
                })
                .collect::<Result<_, _>>()?;
            if ids.is_empty() && !all_dead {
                return Err(CliError::Usage("give message ids or --all-dead".into()));
            }
            let retried = operator.retry_outbox(&who, &ids, all_dead).await?;
            if json {
                print_json(&serde_json::json!({"retried": retried}))
            } else {
                println!("{retried} messages queued again");
                Ok(())
            }
        }
    }
}
