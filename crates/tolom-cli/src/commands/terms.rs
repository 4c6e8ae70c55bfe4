//! `tolom terms publish|list`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use tolom_core::terms::TermsEdition;
use tolom_core::time::{format_bishkek, parse_when, to_bishkek};

use super::{me, operator, tolom};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::{print_json, table};
use crate::CliError;

/// `terms`.
#[derive(Debug, Subcommand)]
pub enum TermsCommand {
    /// Publish a new edition (never rewrites an existing one).
    #[command(
        after_help = "Example:\n  tolom terms publish --id 2026-12 --effective 2026-12-01 \\\n    --ky terms.ky.md --ru terms.ru.md --en terms.en.md"
    )]
    Publish(PublishArgs),
    /// List editions.
    List,
}

/// `terms publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Edition id.
    #[arg(long)]
    pub id: String,
    /// When it takes effect: RFC 3339, or a day (midnight, Asia/Bishkek).
    #[arg(long)]
    pub effective: String,
    /// The "last changed" date shown to payers (default: the effective day).
    #[arg(long)]
    pub last_changed: Option<chrono::NaiveDate>,
    /// Kyrgyz text file.
    #[arg(long)]
    pub ky: PathBuf,
    /// Russian text file.
    #[arg(long)]
    pub ru: PathBuf,
    /// English text file.
    #[arg(long)]
    pub en: PathBuf,
}

fn read(p: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(p)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", p.display())))
}

/// Runs `terms`.
pub async fn run(settings: &Settings, command: TermsCommand, json: bool) -> Result<(), CliError> {
    let tolom = tolom(settings, Needs::NoAcquirer, KeyPolicy::Optional).await?;
    let operator = operator(&tolom)?;
    match command {
        TermsCommand::Publish(a) => {
            let effective_at = parse_when(&a.effective, false).ok_or_else(|| {
                CliError::Usage(format!("--effective {:?}: not a date", a.effective))
            })?;
            let edition = TermsEdition {
                id: a.id.clone(),
                published_at: operator.now(),
                effective_at,
                last_changed: a
                    .last_changed
                    .unwrap_or_else(|| to_bishkek(effective_at).date_naive()),
                text_ky: read(&a.ky)?,
                text_ru: read(&a.ru)?,
                text_en: read(&a.en)?,
            };
            operator.publish_terms(&me(), edition).await?;
            println!(
                "published edition {} (in force from {})",
                a.id,
                format_bishkek(effective_at)
            );
            Ok(())
        }
        TermsCommand::List => {
            let editions = operator.terms_editions().await?;
            if json {
                return print_json(&editions);
            }
            let rows: Vec<Vec<String>> = editions
                .iter()
                .map(|e| {
                    vec![
                        e.id.clone(),
                        format_bishkek(e.effective_at),
                        format_bishkek(e.published_at),
                        e.last_changed.to_string(),
                    ]
                })
                .collect();
            table(&["ID", "EFFECTIVE", "PUBLISHED", "LAST CHANGED"], &rows);
            Ok(())
        }
    }
}
