//! The acquirer: the BPC gateway in production; the sandbox only in demo
//! mode or a development environment the configuration names.

use std::sync::Arc;

use async_trait::async_trait;
use tolom_acquirer_sandbox::{Environment, SandboxAcquirer, SandboxConfig};
use tolom_core::money::Money;
use tolom_core::payment::ChallengeResponse;
use tolom_core::ports::{
    Acquirer, AcquirerError, AcquirerOutcome, OrderStatus, PurchaseRequest, RefundOutcome,
};

use super::{Mode, Needs};
use crate::config::Settings;
use crate::CliError;

/// The acquirer of a command that never calls one, when none is
/// configured: every call fails as not sent ("no acquirer configured"), so
/// nothing can be approved or charged by accident.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unconfigured;

const UNCONFIGURED: &str = "no acquirer is configured (set [acquirer] in the configuration)";

#[async_trait]
impl Acquirer for Unconfigured {
    fn name(&self) -> &str {
        "none"
    }
    async fn purchase<'a>(
        &self,
        _request: PurchaseRequest<'a>,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        Err(AcquirerError::not_sent(UNCONFIGURED))
    }
    async fn complete_challenge(
        &self,
        _order_number: &str,
        _response: &ChallengeResponse,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        Err(AcquirerError::not_sent(UNCONFIGURED))
    }
    async fn status(&self, _order_number: &str) -> Result<OrderStatus, AcquirerError> {
        Err(AcquirerError::not_sent(UNCONFIGURED))
    }
    async fn refund(
        &self,
        _order_number: &str,
        _refund_id: &str,
        _amount: Money,
    ) -> Result<RefundOutcome, AcquirerError> {
        Err(AcquirerError::not_sent(UNCONFIGURED))
    }
    async fn reverse(&self, _order_number: &str) -> Result<(), AcquirerError> {
        Err(AcquirerError::not_sent(UNCONFIGURED))
    }
    async fn cancel(&self, _order_number: &str) -> Result<(), AcquirerError> {
        Err(AcquirerError::not_sent(UNCONFIGURED))
    }
}

fn sandbox(environment: Environment) -> Result<Arc<dyn Acquirer>, CliError> {
    let acq = SandboxAcquirer::new(SandboxConfig::new(environment))
        .map_err(|e| CliError::Usage(format!("sandbox acquirer: {e}")))?;
    Ok(Arc::new(acq))
}

/// An acquirer and what the rest of the composition needs to know of it.
pub(super) struct Built {
    pub(super) acquirer: Arc<dyn Acquirer>,
    /// For the first log line.
    pub(super) note: String,
    /// Origins of its pages the payer may be sent to.
    pub(super) origins: Vec<String>,
    /// Whether it sends payers to its pages and back (a public URL is
    /// needed for the return).
    pub(super) redirects: bool,
    /// A real acquirer, not [`Unconfigured`].
    pub(super) configured: bool,
}

impl Built {
    fn local(acquirer: Arc<dyn Acquirer>, note: String) -> Built {
        Built {
            acquirer,
            note,
            origins: Vec::new(),
            redirects: false,
            configured: true,
        }
    }
}

/// The origin of a configured URL.
fn origin(url: &str, what: &str) -> Result<String, CliError> {
    url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
        .map(|u| u.origin().ascii_serialization())
        .ok_or_else(|| CliError::Usage(format!("{what}: {url:?} is not an http(s) URL")))
}

pub(super) fn build(settings: &Settings, mode: Mode, needs: Needs) -> Result<Built, CliError> {
    let a = &settings.file.acquirer;
    if mode == Mode::Demo {
        return Ok(Built::local(
            sandbox(Environment::Development)?,
            "sandbox (demo)".into(),
        ));
    }
    if a.allow_in_production {
        return Err(CliError::Usage(
            "acquirer.allow_in_production is not supported: the sandbox takes no money, so it \
             never runs in production; for a development instance set \
             acquirer.environment = \"development\""
                .into(),
        ));
    }
    match a.kind.as_deref() {
        None => match needs {
            Needs::Acquirer => Err(CliError::Usage(
                "no acquirer is configured: set [acquirer] kind = \"bpc\" with base_url and \
                 username (or run `tolom demo` to try tolom with the sandbox)"
                    .into(),
            )),
            Needs::NoAcquirer => Ok(Built {
                configured: false,
                ..Built::local(Arc::new(Unconfigured), "none".into())
            }),
        },
        Some("sandbox") => {
            let environment = match a.environment.as_deref() {
                Some(e) => e
                    .parse::<Environment>()
                    .map_err(|e| CliError::Usage(format!("acquirer.environment: {e}")))?,
                None => Environment::Production,
            };
            if environment == Environment::Production {
                return Err(CliError::Usage(
                    "the sandbox acquirer takes no money: it runs only in demo mode \
                     (`tolom demo`) or with acquirer.environment = \"development\" or \"test\""
                        .into(),
                ));
            }
            Ok(Built::local(
                sandbox(environment)?,
                format!("sandbox ({environment})"),
            ))
        }
        Some("bpc") => {
            let url = a
                .base_url
                .as_deref()
                .ok_or_else(|| CliError::Usage("acquirer.base_url is required for bpc".into()))?;
            let user = a
                .username
                .as_deref()
                .ok_or_else(|| CliError::Usage("acquirer.username is required for bpc".into()))?;
            let password = settings.bpc_password.clone().ok_or_else(|| {
                CliError::Usage(
                    "the BPC password is required: TOLOM_BPC_PASSWORD, TOLOM_BPC_PASSWORD_FILE or acquirer.password_file"
                        .into(),
                )
            })?;
            let mut config = tolom_acquirer_bpc::BpcConfig::new(url, user, password);
            config.allow_insecure_http = a.allow_insecure_http;
            let acq = tolom_acquirer_bpc::BpcAcquirer::new(config)
                .map_err(|e| CliError::Usage(format!("bpc acquirer: {e}")))?;
            let mut origins = vec![origin(url, "acquirer.base_url")?];
            for extra in &a.redirect_origins {
                let o = origin(extra, "acquirer.redirect_origins")?;
                if !origins.contains(&o) {
                    origins.push(o);
                }
            }
            Ok(Built {
                acquirer: Arc::new(acq),
                note: format!("bpc {url}"),
                origins,
                redirects: true,
                configured: true,
            })
        }
        Some(other) => Err(CliError::Usage(format!(
            "unknown acquirer {other:?} (bpc, or sandbox for development)"
        ))),
    }
}
