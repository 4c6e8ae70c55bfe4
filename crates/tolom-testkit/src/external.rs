//! The one place that decides what a test does when an external service
//! it needs (PostgreSQL, an SMTP server, Chromium, a command-line tool) is
//! missing: skip loudly on a developer's machine, fail in CI.
//!
//! "In CI" has one meaning: the `CI` environment variable is set to
//! something other than empty, `0` or `false` (`.ci/run` sets `CI=true`).
//!
//! ```
//! use tolom_testkit::external::{self, External};
//! fn my_test() {
//!     let Some(url) = external::require("my_test", External::Postgres, probe()) else {
//!         return; // printed "SKIPPED: my_test: ..." (and would have panicked in CI)
//!     };
//!     # let _ = url;
//! }
//! # fn probe() -> Result<String, String> { Ok("postgres://".into()) }
//! # my_test();
//! ```

use std::fmt;

/// Something outside the workspace a test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum External {
    /// A PostgreSQL server (`DATABASE_URL`).
    Postgres,
    /// A real SMTP server on loopback (Python's `aiosmtpd`).
    SmtpServer,
    /// Headless Chromium and ChromeDriver.
    Chromium,
    /// A command-line tool, by name (`pdftotext`, `pg_dump`, `wrk`, ...).
    Tool(&'static str),
}

impl External {
    /// How to get it, for the SKIPPED line.
    pub fn hint(&self) -> String {
        match self {
            External::Postgres => {
                "start PostgreSQL or set DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)"
                    .into()
            }
            External::SmtpServer => "pip install aiosmtpd".into(),
            External::Chromium => "apt-get install chromium chromium-driver".into(),
            External::Tool(name) => format!("install {name}"),
        }
    }
}

impl fmt::Display for External {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            External::Postgres => f.write_str("PostgreSQL"),
            External::SmtpServer => f.write_str("an SMTP server (aiosmtpd)"),
            External::Chromium => f.write_str("chromium and chromedriver"),
            External::Tool(name) => write!(f, "the {name} tool"),
        }
    }
}

/// Whether tests run in CI, where every external service must be present.
pub fn in_ci() -> bool {
    means_ci(std::env::var("CI").ok().as_deref())
}

/// Whether this value of `CI` means "in CI".
fn means_ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim();
        !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false")
    })
}

/// Reports that `what` is missing for `test`: panics in CI, otherwise
/// prints `SKIPPED: <test>: <what> is not available (<why>); <hint>` to
/// stderr. The caller returns right after.
pub fn missing(test: &str, what: External, why: &str) {
    let line = format!("{test}: {what} is not available ({why}); {}", what.hint());
    if in_ci() {
        panic!("CI requires it: {line}");
    }
    eprintln!("SKIPPED: {line}");
}

/// The probe's value when `what` is there; otherwise [`missing`] and
/// `None`.
pub fn require<T, E: fmt::Display>(test: &str, what: External, probe: Result<T, E>) -> Option<T> {
    match probe {
        Ok(v) => Some(v),
        Err(e) => {
            missing(test, what, &e.to_string());
            None
        }
    }
}

/// Whether a command exists on `PATH` (it runs `<name> --version` or, for
/// tools without it, `<name> -v`).
pub fn has_tool(name: &str) -> bool {
    ["--version", "-v", "-V"].iter().any(|flag| {
        std::process::Command::new(name)
            .arg(flag)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok()
    })
}

/// A tool on `PATH`, or [`missing`] and `None`.
pub fn require_tool(test: &str, name: &'static str) -> Option<()> {
    if has_tool(name) {
        Some(())
    } else {
        missing(test, External::Tool(name), "not found on PATH");
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_has_one_meaning() {
        for (v, ci) in [
            (Some("true"), true),
            (Some("1"), true),
            (Some("yes"), true),
            (Some(""), false),
            (Some("0"), false),
            (Some("false"), false),
            (Some("FALSE"), false),
            (None, false),
        ] {
            assert_eq!(means_ci(v), ci, "CI={v:?}");
        }
        assert!(External::Tool("wrk").hint().contains("wrk"));
        assert!(!has_tool("surely-no-such-tool-tolom"));
    }
}
