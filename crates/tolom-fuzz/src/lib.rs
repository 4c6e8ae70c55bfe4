//! # tolom-fuzz
//!
//! Property/fuzz runs over the parsers that read what payers, API clients
//! and the bank send: payment codes, the card form, the JSON API bodies
//! and the BPC gateway's answers. Stable toolchain: a seeded generator of
//! structure-aware and raw inputs ([`gen`]), a runner that catches and
//! counts panics ([`harness`]), four [`targets`].
//!
//! The long run is a documented command, not part of CI's time budget
//! (`docs/security.md`, "Fuzzing"):
//!
//! ```text
//! cargo run --release -p tolom-fuzz -- --cases 1000000 --target all
//! ```
//!
//! The crate's tests run each target on a smaller number of inputs.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use chrono::{DateTime, Utc};
use tolom_core::ports::Clock;

pub mod fields;
pub mod gen;
pub mod harness;
pub mod portal;
pub mod targets;

pub use harness::{run, Report, Tally, Target};

/// The "now" of every target: the testkit's fixed clock (the portal's
/// too), so that expiry dates mean the same everywhere and a run is
/// repeatable.
pub fn now() -> DateTime<Utc> {
    tolom_testkit::clock::ManualClock::fixed().now()
}

/// The targets by name.
pub const TARGETS: [&str; 4] = ["code", "card", "api", "bpc"];

/// The stack of the thread a target runs on in the long run: 2 MiB, what
/// tokio gives its worker threads (where the portal's handlers and the
/// BPC client run), so that input that needs a deeper stack than
/// production has is found, not hidden by a main thread's 8 MiB.
pub const PRODUCTION_STACK: usize = 2 << 20;

/// Runs target `name` on `cases` inputs from `seed`; one input in
/// `deep_every` goes through the router (or, for `bpc`, the real client
/// and a stub gateway). `None` for an unknown name.
pub fn run_target(name: &str, cases: u64, seed: u64, deep_every: u64) -> Option<Report> {
    use targets::*;
    Some(match name {
        "code" => run(&mut code::CodeTarget::new(deep_every), cases, seed),
        "card" => run(&mut card::CardTarget::new(deep_every), cases, seed),
        "api" => run(&mut api::ApiTarget::new(deep_every), cases, seed),
        "bpc" => run(&mut bpc::BpcTarget::new(deep_every), cases, seed),
        _ => return None,
    })
}

/// [`run_target`] on a thread of its own with a stack of `stack` bytes
/// (a stack overflow aborts the process, as it would a server). `None` for
/// an unknown name or a thread that could not start.
pub fn run_target_on_stack(
    name: &str,
    cases: u64,
    seed: u64,
    deep_every: u64,
    stack: usize,
) -> Option<Report> {
    let name = name.to_string();
    std::thread::Builder::new()
        .name(format!("fuzz-{name}"))
        .stack_size(stack)
        .spawn(move || run_target(&name, cases, seed, deep_every))
        .ok()?
        .join()
        .ok()
        .flatten()
}
