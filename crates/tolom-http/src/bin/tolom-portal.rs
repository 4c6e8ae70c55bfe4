//! `tolom-portal`: the reference payment portal with the sandbox acquirer.
//!
//! ```text
//! cargo run --release -p tolom-http --bin tolom-portal
//! ```
//!
//! Starts on 127.0.0.1:8080, issues demo codes for every service on first
//! start, prints them with the sandbox test cards, and runs the background
//! jobs (outbox, reconciliation, expiry).
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use rand::RngCore;
use tolom_acquirer_sandbox::{test_cards, Environment, SandboxAcquirer, SandboxConfig};
use tolom_core::ports::Store;
use tolom_core::ports::Ed25519Signer;
use tolom_core::Tolom;
use tolom_http::{demo, router, AppState, PortalConfig};

#[derive(Parser, Debug)]
#[command(
    name = "tolom-portal",
    about = "The tolom payment portal (sandbox acquirer)"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "TOLOM_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Public address of the portal (for receipt verification links);
    /// default `http://<addr>`.
    #[arg(long, env = "TOLOM_PUBLIC_URL")]
    public_url: Option<String>,
    /// Directory for the keys (and the database file).
    #[arg(long, env = "TOLOM_DATA_DIR", default_value = "tolom-data")]
    data_dir: PathBuf,
    /// Storage: `sqlite` (the file `<data-dir>/tolom.db`) or `memory` (lost
    /// on exit).
    #[arg(long, env = "TOLOM_STORE", default_value = "sqlite")]
    store: String,
    /// Code look-ups allowed per client per minute (0: unlimited).
    #[arg(long, env = "TOLOM_LOOKUP_RATE", default_value_t = 20)]
    lookup_rate_per_minute: u32,
    /// Look-up burst per client.
    #[arg(long, env = "TOLOM_LOOKUP_BURST", default_value_t = 10)]
    lookup_burst: u32,
    /// Trust the last X-Forwarded-For entry (behind a reverse proxy only).
    #[arg(long, env = "TOLOM_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Served over TLS (directly or by a proxy): HSTS and Secure cookies.
    #[arg(long, env = "TOLOM_TLS")]
    tls: bool,
    /// Do not issue demo codes.
    #[arg(long)]
    no_demo: bool,
}

/// Reads a 32-byte secret from `path`, creating it (mode 0600) if missing.
fn secret_file(path: &Path) -> std::io::Result<[u8; 32]> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let bytes = hex::decode(text.trim())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        return <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "expected 32 bytes in hex")
        });
    }
    let mut seed = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut seed);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut f = options.open(path)?;
    f.write_all(hex::encode(seed).as_bytes())?;
    Ok(seed)
}

async fn open_store(args: &Args) -> Result<(Arc<dyn Store>, String), Box<dyn std::error::Error>> {
    match args.store.as_str() {
        "sqlite" => {
            let path = args.data_dir.join("tolom.db");
            let location = path.to_string_lossy().into_owned();
            let store = tolom_store_sqlite::SqliteStore::open(
                &location,
                tolom_store_sqlite::SqliteOptions::default(),
            )
            .await?;
            Ok((Arc::new(store), format!("SQLite file {location}")))
        }
        "memory" => Ok((
            Arc::new(tolom_testkit::memory::InMemoryStore::new()),
            "in memory (lost on exit)".into(),
        )),
        other => Err(format!("unknown store {other:?} (supported: sqlite, memory)").into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    std::fs::create_dir_all(&args.data_dir)?;
    let signing_seed = secret_file(&args.data_dir.join("receipt-signing.key"))?;
    let portal_secret = secret_file(&args.data_dir.join("portal-secret.key"))?;
    let (store, store_note) = open_store(&args).await?;
    let acquirer = SandboxAcquirer::new(SandboxConfig::new(Environment::Development))?;
    let otp = acquirer.config().otp.clone();
    let tolom = Arc::new(
        Tolom::builder()
            .store(store)
            .acquirer(Arc::new(acquirer))
            .signer(Arc::new(Ed25519Signer::from_seed(signing_seed)))
            .build()?,
    );

    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.addr));
    let mut config = PortalConfig::new(public_url.clone());
    config.secret = portal_secret;
    config.lookup_rate_per_minute = args.lookup_rate_per_minute;
    config.lookup_burst = args.lookup_burst;
    config.trust_forwarded_for = args.trust_forwarded_for;
    config.hsts = args.tls;
    config.secure_cookies = args.tls;

    let demo_codes = if args.no_demo {
        Vec::new()
    } else {
        demo::ensure_demo_codes(&tolom).await?
    };

    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    println!("\ntolom portal: {public_url}/  (store: {store_note}, acquirer: sandbox)\n");
    if !demo_codes.is_empty() {
        println!("Demo payment codes:");
        for v in &demo_codes {
            println!(
                "  {:<16} {:<32} {:<14} {:>12}  {}",
                v.code.grouped(),
                v.service,
                v.payer,
                format!("{} {}", v.amount.amount(), v.amount.currency()),
                v.status.as_str()
            );
        }
        println!();
    }
    println!("Sandbox test cards (any Latin name, any future expiry, CVV other than 000):");
    for c in test_cards() {
        println!("  {:<20} {:<11} {}", c.pan, c.brand_name(), c.description);
    }
    println!("One-time code for the 3-D Secure card: {otp}\n");

    spawn_jobs(tolom.clone());
    let app = router(AppState::new(tolom, config));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// Outbox dispatch every 5 s; expiry and reconciliation every 30 s.
fn spawn_jobs(tolom: Arc<Tolom>) {
    let t = tolom.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Err(e) = t.dispatch_outbox("tolom-portal", 50).await {
                tracing::warn!(error = %e, "outbox dispatch");
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            if let Err(e) = tolom.expire_stale().await {
                tracing::warn!(error = %e, "expire");
            }
            if let Err(e) = tolom.reconcile().await {
                tracing::warn!(error = %e, "reconcile");
            }
        }
    });
}
