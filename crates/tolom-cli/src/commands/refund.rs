//! `tolom refund`.

use clap::Args;
use tolom_core::access::hash_token;

use super::{me, money, operator, payment_id, tolom};
use crate::compose::{KeyPolicy, Needs};
use crate::config::Settings;
use crate::output::print_json;
use crate::CliError;

/// `refund`.
#[derive(Debug, Args)]
pub struct RefundArgs {
    /// Payment id.
    pub payment: String,
    /// Amount in som (default: everything not yet refunded).
    #[arg(long)]
    pub amount: Option<String>,
    /// Why.
    #[arg(long)]
    pub reason: String,
    /// Idempotency key: the same key never refunds twice (default: derived
    /// from payment, amount and reason).
    #[arg(long)]
    pub key: Option<String>,
}

/// Runs `refund`: the refund's `refund.requested` event names the local
/// user, in the same transaction as the reservation.
pub async fn run(settings: &Settings, a: RefundArgs, json: bool) -> Result<(), CliError> {
    let tolom = tolom(settings, Needs::Acquirer, KeyPolicy::Optional).await?;
    let id = payment_id(&a.payment)?;
    let amount = a.amount.as_deref().map(money).transpose()?;
    let key = a.key.unwrap_or_else(|| {
        let h = hash_token(&format!(
            "{id}|{}|{}",
            a.amount.as_deref().unwrap_or("all"),
            a.reason
        ));
        format!("cli-{}", &h[..32])
    });
    let refund = operator(&tolom)?
        .refund(&me(), id, amount, &a.reason, &key)
        .await?;
    if json {
        print_json(&refund)
    } else {
        println!(
            "refund {} of {}: {}",
            refund.id,
            refund.amount,
            refund.state.as_str()
        );
        Ok(())
    }
}
