//! Configuration of the sandbox, and the production guard.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a program runs. The sandbox refuses to start in
/// [`Environment::Production`] unless explicitly allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer's machine or a shared development server.
    Development,
    /// Automated tests and staging.
    Test,
    /// Real payers, real money.
    Production,
}

impl Environment {
    /// The stable lowercase name: `development`, `test` or `production`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = SandboxError;

    /// Parses `development`, `test` or `production` (case and surrounding
    /// blanks ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" => Ok(Environment::Development),
            "test" => Ok(Environment::Test),
            "production" => Ok(Environment::Production),
            _ => Err(SandboxError::UnknownEnvironment(s.to_string())),
        }
    }
}

/// How the sandbox acquirer is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Where the program runs.
    pub environment: Environment,
    /// Run even in [`Environment::Production`]. Off by default: a test
    /// acquirer in production would "approve" payments without taking money.
    pub allow_in_production: bool,
    /// The one-time code that passes the 3-D Secure test card's challenge
    /// (default `123456`). Digits only.
    pub otp: String,
    /// The acquirer name recorded on payments and receipts (default
    /// `sandbox`).
    pub name: String,
    /// How many one-time codes a payer may type for one order (default 3,
    /// as issuers' 3-D Secure pages allow): a wrong code before the last
    /// asks for the code again (the order stays open), the last wrong one
    /// declines it ([`DeclineReason::AuthenticationFailed`]). At least 1.
    ///
    /// [`DeclineReason::AuthenticationFailed`]: tolom_core::payment::DeclineReason::AuthenticationFailed
    pub otp_attempts: u32,
}

impl SandboxConfig {
    /// The default OTP.
    pub const DEFAULT_OTP: &'static str = "123456";
    /// The default acquirer name.
    pub const DEFAULT_NAME: &'static str = "sandbox";
    /// The default number of one-time-code attempts.
    pub const DEFAULT_OTP_ATTEMPTS: u32 = 3;

    /// Defaults for an environment: OTP `123456` with 3 attempts, name
    /// `sandbox`, not allowed in production.
    pub fn new(environment: Environment) -> SandboxConfig {
        SandboxConfig {
            environment,
            allow_in_production: false,
            otp: Self::DEFAULT_OTP.to_string(),
            name: Self::DEFAULT_NAME.to_string(),
            otp_attempts: Self::DEFAULT_OTP_ATTEMPTS,
        }
    }

    /// Checks the configuration and the production guard.
    pub fn validate(&self) -> Result<(), SandboxError> {
        if self.environment == Environment::Production && !self.allow_in_production {
            return Err(SandboxError::ProductionRefused);
        }
        if self.otp.is_empty() || !self.otp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SandboxError::InvalidConfig(
                "otp must be one or more digits".to_string(),
            ));
        }
        if self.otp_attempts == 0 {
            return Err(SandboxError::InvalidConfig(
                "otp_attempts must be at least 1".to_string(),
            ));
        }
        if self.name.trim().is_empty() {
            return Err(SandboxError::InvalidConfig(
                "name must not be empty".to_string(),
            ));
        }
        Ok(())
    }
}

impl Default for SandboxConfig {
    /// [`SandboxConfig::new`] in [`Environment::Development`].
    fn default() -> Self {
        SandboxConfig::new(Environment::Development)
    }
}

/// Why the sandbox cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The environment is production and `allow_in_production` is not set.
    #[error(
        "the sandbox acquirer refuses to run in production: it approves test cards \
         without taking money (set allow_in_production to override)"
    )]
    ProductionRefused,
    /// A setting is invalid.
    #[error("invalid sandbox configuration: {0}")]
    InvalidConfig(String),
    /// An environment name other than `development`, `test` or
    /// `production`.
    #[error("unknown environment {0:?}: expected development, test or production")]
    UnknownEnvironment(String),
}
