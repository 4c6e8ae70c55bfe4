//! # tolom-cli
//!
//! The `tolom` binary: the one composition root of tolom and the operator's
//! command line. `tolom serve` runs the portal with the admin API and the
//! background jobs; `tolom demo` (= `serve --demo`) runs the same
//! composition with the sandbox acquirer, demo codes and a local log
//! instead of e-mails. The other commands — migrate, codes, payments,
//! refund, reconcile, expire, outbox, report, receipts, terms, tokens,
//! audit, retention, subject — are thin mappings onto the core's operator
//! use case. See `docs/operations.md`.
//!
//! Layout: [`cli`] (the top-level shape), [`commands`] (one module per
//! command, each with its own arguments), [`compose`] (which adapters run,
//! and the refusal of test adapters in production), [`config`] (the TOML
//! file and `TOLOM_*` variables), [`fitting`] (the code format, operator
//! and catalogue it fits, checked), [`demo`] (what the demo adds),
//! [`output`], and [`telemetry`] (log lines and metrics). `main.rs` only
//! calls [`main`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod checkpoints;
pub mod cli;
pub mod commands;
pub mod compose;
pub mod config;
pub mod demo;
pub mod fitting;
pub mod output;
pub mod telemetry;

use std::process::ExitCode;

use clap::Parser;

/// What can go wrong in a command. The exit code says which kind.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or configuration (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The configuration could not be loaded (exit 2).
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// Storage failed (exit 3).
    #[error("storage: {0}")]
    Store(String),
    /// The operation was refused (exit 1), with its stable code.
    #[error("{code}: {message}")]
    Refused {
        /// Stable error code (`payment.not_found`, ...).
        code: String,
        /// What happened.
        message: String,
    },
    /// A check failed (audit chain broken, receipt not genuine, bad import
    /// rows) (exit 1); what was found is already printed.
    #[error("{0}")]
    CheckFailed(String),
}

impl From<tolom_core::ports::StoreError> for CliError {
    fn from(e: tolom_core::ports::StoreError) -> Self {
        CliError::Store(e.to_string())
    }
}

impl From<tolom_core::usecases::OperatorError> for CliError {
    fn from(e: tolom_core::usecases::OperatorError) -> Self {
        use tolom_core::usecases::OperatorError;
        match e {
            OperatorError::Store(s) => CliError::Store(s.to_string()),
            OperatorError::Invalid(m) => CliError::Usage(m),
            other => CliError::refused(other),
        }
    }
}

impl CliError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::Config(_) => 2,
            CliError::Store(_) => 3,
            CliError::Refused { .. } | CliError::CheckFailed(_) => 1,
        }
    }

    /// A refusal from a core error.
    pub fn refused<E: tolom_core::i18n::ErrorCode + std::fmt::Display>(e: E) -> CliError {
        CliError::Refused {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

/// Runs the command line.
pub fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let default_level = if matches!(cli.command, cli::Command::Serve(_) | cli::Command::Demo(_)) {
        "info"
    } else {
        "warn"
    };
    telemetry::init_logging(cli.log_format, default_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
