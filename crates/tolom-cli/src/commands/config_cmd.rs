//! `tolom config show` and `tolom config check`.

use clap::Subcommand;

use crate::config::Settings;
use crate::CliError;

/// `config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting; secrets show as [REDACTED].
    #[command(after_help = "Example:\n  tolom --config tolom.toml config show")]
    Show,
    /// Check the configuration without running anything: the file's keys
    /// and values (code format, operator, catalogue file, ...) and the
    /// secrets' files. Exit 0 with what deserves a look, or 2 with every
    /// wrong key.
    #[command(after_help = "Example:\n  tolom --config /etc/tolom/tolom.toml config check")]
    Check,
}

/// Runs `config`. The settings were loaded, so checked, before: a wrong
/// value never gets here (exit 2 with each problem and its key).
pub fn run(settings: &Settings, command: ConfigCommand) -> Result<(), CliError> {
    match command {
        ConfigCommand::Show => {
            print!("{}", settings.show());
            Ok(())
        }
        ConfigCommand::Check => {
            print!("{}", check_report(settings));
            Ok(())
        }
    }
}

/// What `config check` prints of a configuration that loaded: where it
/// came from, the fitted shape in one line each, and notes.
pub fn check_report(settings: &Settings) -> String {
    let fitted = &settings.fitted;
    let mut out = format!(
        "configuration OK: {}\n",
        settings
            .source
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(no file: defaults and TOLOM_* variables)".into())
    );
    let f = &fitted.code_format;
    out.push_str(&format!(
        "codes: {} digits, check {}, prefixes {}\n",
        f.length(),
        f.scheme().name(),
        fitted
            .prefixes
            .iter()
            .map(|(family, list)| format!(
                "{}={}",
                crate::fitting::family_key(*family),
                list.join("|")
            ))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    out.push_str(&format!(
        "operator: {}\n",
        fitted.operator.name.get(tolom_core::i18n::Language::En)
    ));
    let mut brands: Vec<&str> = Vec::new();
    for r in fitted.brands.ranges() {
        if !brands.contains(&r.brand.id()) {
            brands.push(r.brand.id());
        }
    }
    out.push_str(&format!(
        "cards: {} ({} ranges)\n",
        brands.join(", "),
        fitted.brands.ranges().len()
    ));
    out.push_str(&format!(
        "catalogue: {} services, {} tariffs not published\n",
        fitted.catalogue.services().len(),
        fitted.catalogue.unpublished().count()
    ));
    if fitted.operator_is_default {
        out.push_str(
            "note: [operator] is not set: pages, receipts and e-mails name the state payment \
             site's operator; set [operator] unless that is you\n",
        );
    }
    let unpublished: Vec<String> = fitted
        .catalogue
        .unpublished()
        .map(|t| format!("{}/{}", t.service, t.urgency))
        .collect();
    if !unpublished.is_empty() {
        out.push_str(&format!(
            "note: fees not published: {}: no code is issued from them, and a code that names \
             one is shown \"fee not yet published\" and cannot be paid; publish the real fee in \
             catalogue_file\n",
            unpublished.join(", ")
        ));
    }
    out
}
