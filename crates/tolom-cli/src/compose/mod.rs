//! The one composition root: which store, acquirer, signer and notifiers a
//! command runs with, from the [`Settings`] and the [`Mode`].
//!
//! Production is the default. Test adapters are reachable only when asked
//! for explicitly: the sandbox acquirer runs in [`Mode::Demo`] (`tolom
//! demo`, `tolom serve --demo`) or when the configuration says
//! `acquirer.kind = "sandbox"` together with `acquirer.environment =
//! "development"` or `"test"`; anything else that names it is refused with
//! an error saying so. The testkit's in-memory store is not part of the
//! binary at all.

use std::sync::Arc;

use tolom_core::ports::{Acquirer, Ed25519Signer, Notifier, OpsStore, Store, StoreHealth};
use tolom_core::Tolom;

use crate::config::Settings;
use crate::CliError;

mod acquirer;
pub mod keys;
pub mod metered;
mod notifiers;
mod store;

pub use acquirer::Unconfigured;
pub use keys::KeyPolicy;
pub use metered::{MeteredAcquirer, MeteredStore};

/// How the program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Real payers: every adapter from the configuration, no test adapter
    /// unless the configuration asks for a development environment.
    Production,
    /// The README's first command: SQLite under the data directory, the
    /// sandbox acquirer, demo codes, notifications to a local log.
    Demo,
}

/// Whether a command needs the acquirer (and so refuses to run without a
/// configured one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// It calls the acquirer (serve, refund, reconcile, expire).
    Acquirer,
    /// It never does (codes, reports, tokens, ...): without an
    /// `[acquirer]` section it runs with [`Unconfigured`].
    NoAcquirer,
}

/// A composed program.
pub struct Composed {
    /// The use cases, the operator's among them.
    pub tolom: Arc<Tolom>,
    /// `sqlite` or `postgres`.
    pub store_kind: &'static str,
    /// What pays: `sandbox (demo)`, `bpc https://...`, `none`.
    pub acquirer_note: String,
    /// The origins of the acquirer's pages (3-D Secure, hosted page) the
    /// payer may be sent to.
    pub bank_origins: Vec<String>,
    /// Whether the acquirer sends payers to its own pages and back, so
    /// that the portal's public address is needed for the return.
    pub needs_public_url: bool,
    /// Whether a real acquirer is configured (not [`Unconfigured`]): a
    /// readiness check of `serve`.
    pub acquirer_configured: bool,
}

/// Opens (and migrates) the database named by the settings; returns it as
/// both ports.
pub async fn open_store(
    settings: &Settings,
) -> Result<(Arc<dyn Store>, Arc<dyn OpsStore>, &'static str), CliError> {
    let opened = store::open(settings, store::Schema::Migrate).await?;
    Ok((opened.store, opened.ops, opened.kind))
}

/// Builds the use cases for a command.
pub async fn compose(
    settings: &Settings,
    mode: Mode,
    needs: Needs,
    keys: KeyPolicy,
) -> Result<Composed, CliError> {
    let built = acquirer::build(settings, mode, needs)?;
    let notifiers = match mode {
        Mode::Demo => notifiers::demo(settings)?,
        Mode::Production => notifiers::configured(settings)?,
    };
    let opened = store::open(settings, store::Schema::AsConfigured).await?;
    let acquirer_configured = built.configured;
    // Metrics by decoration: payments by outcome at the store, calls and
    // errors at the acquirer (no-ops unless a recorder is installed).
    let store: Arc<dyn Store> = Arc::new(MeteredStore::new(opened.store));
    let acquirer: Arc<dyn Acquirer> = Arc::new(MeteredAcquirer::new(built.acquirer));
    let tolom = build(
        settings,
        Ports {
            store,
            ops: opened.ops,
            health: opened.health,
            acquirer,
        },
        notifiers,
        keys,
    )?;
    Ok(Composed {
        tolom,
        store_kind: opened.kind,
        acquirer_note: built.note,
        bank_origins: built.origins,
        needs_public_url: built.redirects,
        acquirer_configured,
    })
}

/// The adapters the builder gets.
struct Ports {
    store: Arc<dyn Store>,
    ops: Arc<dyn OpsStore>,
    health: Arc<dyn StoreHealth>,
    acquirer: Arc<dyn Acquirer>,
}

fn build(
    settings: &Settings,
    ports: Ports,
    notifiers: Vec<Arc<dyn Notifier>>,
    keys: KeyPolicy,
) -> Result<Arc<Tolom>, CliError> {
    let seed = keys::signing_seed(settings, keys)?;
    let signer = Ed25519Signer::from_seed(seed);
    // Receipts are verified by key id against the ring (current and
    // retired public keys), never by signing again.
    let ring = keys::key_ring(settings, &signer)?;
    let mut b = Tolom::builder()
        .store(ports.store)
        .ops(ports.ops)
        .health(ports.health)
        .acquirer(ports.acquirer)
        .signer(Arc::new(signer))
        .key_ring(ring)
        .config(core_config(settings)?);
    for n in notifiers {
        b = b.notifier(n);
    }
    Ok(Arc::new(
        b.build().map_err(|e| CliError::Usage(e.to_string()))?,
    ))
}

/// The core's configuration: the code format, operator and catalogue the
/// file fits (checked when it was loaded), and the return address.
pub fn core_config(settings: &Settings) -> Result<tolom_core::Config, CliError> {
    let fitted = &settings.fitted;
    let mut config = tolom_core::Config {
        code_format: fitted.code_format.clone(),
        operator: fitted.operator.clone(),
        brands: fitted.brands.clone(),
        catalogue: fitted.catalogue.clone(),
        ..tolom_core::Config::default()
    };
    if let Some(u) = &settings.file.server.public_url {
        // The payment's own return route: a payer back from the bank lands
        // on the payment, which settles at once.
        config.return_url = Some(format!(
            "{}/payments/{{order}}/return",
            u.trim_end_matches('/')
        ));
    }
    Ok(config)
}

/// Removes any secret from a driver's message.
pub fn redact_error(message: &str, settings: &Settings) -> String {
    let mut m = message.to_string();
    for s in [
        &settings.database_password,
        &settings.bpc_password,
        &settings.smtp_password,
        &settings.webhook_secret,
    ]
    .into_iter()
    .flatten()
    {
        let secret = secrecy::ExposeSecret::expose_secret(s);
        if !secret.is_empty() {
            m = m.replace(secret, "[REDACTED]");
        }
    }
    m
}
