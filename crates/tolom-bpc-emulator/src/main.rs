//! `tolom-bpc-emulator`: runs the BPC-style gateway emulator until Ctrl-C.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use tolom_bpc_emulator::{cards, Emulator, EmulatorConfig};

/// Local emulator of the BPC-style ("RBS") bank e-commerce gateway.
#[derive(Debug, Parser)]
#[command(name = "tolom-bpc-emulator", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(
        long,
        default_value = "127.0.0.1:8090",
        env = "TOLOM_BPC_EMULATOR_LISTEN"
    )]
    listen: SocketAddr,
    /// Accepted merchant `userName`.
    #[arg(long, default_value = tolom_bpc_emulator::DEFAULT_USER_NAME)]
    user: String,
    /// Accepted merchant `password`.
    #[arg(
        long,
        default_value = tolom_bpc_emulator::DEFAULT_PASSWORD,
        env = "TOLOM_BPC_EMULATOR_PASSWORD",
        hide_env_values = true
    )]
    password: String,
    /// Also accept this `token` instead of userName + password.
    #[arg(long, env = "TOLOM_BPC_EMULATOR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Path prefix of the merchant API.
    #[arg(long, default_value = tolom_bpc_emulator::DEFAULT_BASE_PATH)]
    base_path: String,
    /// Public root URL used in formUrl/acsUrl/termUrl (default:
    /// http://<listen>).
    #[arg(long)]
    public_url: Option<String>,
    /// One-time code accepted by the 3-D Secure page.
    #[arg(long, default_value = tolom_bpc_emulator::DEFAULT_OTP)]
    otp: String,
    /// Delay of the slow test card, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    slow_card_delay_ms: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let mut config = EmulatorConfig::default()
        .with_listen(args.listen)
        .with_credentials(&args.user, &args.password)
        .with_base_path(&args.base_path)
        .with_otp(&args.otp)
        .with_slow_card_delay(Duration::from_millis(args.slow_card_delay_ms));
    if let Some(token) = &args.token {
        config = config.with_token(token);
    }
    if let Some(url) = &args.public_url {
        config = config.with_public_url(url);
    }
    let emu = Emulator::start(config).await?;
    println!("BPC gateway emulator");
    println!("  base URL : {}", emu.base_url());
    println!("  ACS page : {}", emu.acs_url());
    println!("  user     : {}", args.user);
    println!("  OTP      : {}", args.otp);
    println!(
        "  faults   : POST/GET/DELETE {}/emulator/faults",
        emu.root_url()
    );
    println!();
    println!("Test cards (any future expiry, any CVC):");
    print!("{}", cards::card_table_text());
    println!();
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    emu.shutdown().await;
    Ok(())
}
