//! `tolom config show`.

use clap::Subcommand;

use crate::config::Settings;
use crate::CliError;

/// `config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting; secrets show as [REDACTED].
    #[command(after_help = "Example:\n  tolom --config tolom.toml config show")]
    Show,
}

/// Runs `config`.
pub fn run(settings: &Settings, command: ConfigCommand) -> Result<(), CliError> {
    match command {
        ConfigCommand::Show => {
            print!("{}", settings.show());
            Ok(())
        }
    }
}
