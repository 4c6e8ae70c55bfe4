//! `tolom-fuzz`: the long fuzz run.
//!
//! ```text
//! cargo run --release -p tolom-fuzz -- --cases 1000000 [--target code|card|api|bpc|all] [--seed N] [--deep-every N]
//! ```
//!
//! Each target runs on a thread with tokio's 2 MiB worker stack. Prints,
//! per target, the inputs run, the panics and failed properties
//! (each with its input in hex), the outcome counts and the time; exits 1
//! when anything was found, 2 on a wrong argument.
#![forbid(unsafe_code)]

use std::process::ExitCode;

const USAGE: &str =
    "usage: tolom-fuzz [--cases N] [--target code|card|api|bpc|all] [--seed N] [--deep-every N]
  --cases N       inputs per target (default 1000000)
  --target T      one target, or all (default all)
  --seed N        the generator's seed (default 12)
  --deep-every N  one input in N through the router / the real BPC client (default 50; 0: none)";

fn main() -> ExitCode {
    let mut cases: u64 = 1_000_000;
    let mut target = "all".to_string();
    let mut seed: u64 = 12;
    let mut deep_every: u64 = 50;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        let number = |v: String| v.replace('_', "").parse::<u64>().ok();
        let ok = match arg.as_str() {
            "--cases" => number(value()).map(|n| cases = n).is_some(),
            "--seed" => number(value()).map(|n| seed = n).is_some(),
            "--deep-every" => number(value()).map(|n| deep_every = n).is_some(),
            "--target" => {
                target = value();
                target == "all" || tolom_fuzz::TARGETS.contains(&target.as_str())
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => false,
        };
        if !ok {
            eprintln!("tolom-fuzz: bad argument {arg:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let names: Vec<&str> = if target == "all" {
        tolom_fuzz::TARGETS.to_vec()
    } else {
        vec![target.as_str()]
    };
    println!(
        "tolom-fuzz: {cases} inputs per target, seed {seed}, one in {deep_every} through the router / the BPC client"
    );
    let mut clean = true;
    for name in names {
        let stack = tolom_fuzz::PRODUCTION_STACK;
        let Some(report) = tolom_fuzz::run_target_on_stack(name, cases, seed, deep_every, stack)
        else {
            eprintln!("tolom-fuzz: unknown target {name}");
            return ExitCode::from(2);
        };
        print!("{report}");
        clean &= report.clean();
    }
    if clean {
        println!("tolom-fuzz: 0 panics, 0 failures");
        ExitCode::SUCCESS
    } else {
        println!("tolom-fuzz: FOUND PROBLEMS (see above)");
        ExitCode::FAILURE
    }
}
