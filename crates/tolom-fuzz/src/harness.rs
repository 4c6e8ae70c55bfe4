//! The runner: draws inputs, runs a target on each under
//! [`std::panic::catch_unwind`], counts outcomes, and keeps the first
//! findings (a panic, or a property the target checks that did not hold)
//! with their input in hex.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::gen::Gen;

/// How many findings a report keeps (the count goes on).
pub const KEPT_FINDINGS: usize = 5;

/// A fuzz target: how to draw an input and what to do with it.
pub trait Target {
    /// One input.
    type Input;

    /// The target's name (`code`, `card`, `api`, `bpc`).
    fn name(&self) -> &'static str;

    /// Draws input number `case`.
    fn generate(&mut self, g: &mut Gen, case: u64) -> Self::Input;

    /// Runs the code under test on `input`, recording what came out in
    /// `out`. `Err` is a property that did not hold (a finding, like a
    /// panic).
    fn run(&mut self, input: &Self::Input, out: &mut Tally) -> Result<(), String>;

    /// The input in a short, redacted form for a report (hex).
    fn show(&self, input: &Self::Input) -> String;
}

/// Outcome counts: how many inputs ended where.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    counts: HashMap<Cow<'static, str>, u64>,
}

impl Tally {
    /// Counts one input under `label`.
    pub fn hit(&mut self, label: impl Into<Cow<'static, str>>) {
        *self.counts.entry(label.into()).or_insert(0) += 1;
    }

    /// The count of `label`.
    pub fn get(&self, label: &str) -> u64 {
        self.counts.get(label).copied().unwrap_or(0)
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Tally) {
        for (k, v) in &other.counts {
            *self.counts.entry(k.clone()).or_insert(0) += v;
        }
    }

    /// Every label with its count, sorted by label.
    pub fn sorted(&self) -> BTreeMap<String, u64> {
        self.counts
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }
}

/// What went wrong on one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    /// The code under test panicked.
    Panic,
    /// A property the target checks did not hold (e.g. a 5xx answer).
    Failure,
}

/// One finding, with its input.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Which input (0-based; with the seed, enough to draw it again).
    pub case: u64,
    /// Panic or failed property.
    pub kind: FindingKind,
    /// The panic message with its location, or the property.
    pub message: String,
    /// The input, redacted ([`Target::show`]).
    pub input: String,
}

/// The result of a run of one target.
#[derive(Debug, Clone)]
pub struct Report {
    /// The target.
    pub target: &'static str,
    /// The seed.
    pub seed: u64,
    /// Inputs run.
    pub inputs: u64,
    /// Inputs that panicked.
    pub panics: u64,
    /// Inputs whose property did not hold.
    pub failures: u64,
    /// The first findings ([`KEPT_FINDINGS`]).
    pub findings: Vec<Finding>,
    /// Outcome counts.
    pub outcomes: Tally,
    /// How long the run took.
    pub elapsed: Duration,
}

impl Report {
    /// Whether the run found nothing.
    pub fn clean(&self) -> bool {
        self.panics == 0 && self.failures == 0
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        writeln!(
            f,
            "target {}: {} inputs, {} panics, {} failures, {:.1} s ({:.0} inputs/s), seed {}",
            self.target,
            self.inputs,
            self.panics,
            self.failures,
            secs,
            self.inputs as f64 / secs.max(1e-9),
            self.seed,
        )?;
        let outcomes = self.outcomes.sorted();
        writeln!(f, "  {} distinct outcomes:", outcomes.len())?;
        for (label, n) in &outcomes {
            writeln!(f, "    {n:>9}  {label}")?;
        }
        for finding in &self.findings {
            writeln!(
                f,
                "  {:?} at case {}: {}\n    input: {}",
                finding.kind, finding.case, finding.message, finding.input
            )?;
        }
        Ok(())
    }
}

thread_local! {
    /// Whether this thread is inside a run (its panics are counted, not
    /// printed).
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// Panics seen on this thread inside a run.
    static PANICS: Cell<u64> = const { Cell::new(0) };
    /// The last panic's message and location.
    static LAST: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Installs the panic hook once: inside a run a panic is counted and its
/// message kept (printed in the report, short); elsewhere the previous
/// hook runs as usual.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                PANICS.with(|p| p.set(p.get() + 1));
                let mut message = info.to_string();
                message.truncate(400);
                LAST.with(|l| *l.borrow_mut() = message);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `target` on `cases` inputs drawn from `seed`.
///
/// A panic is caught and counted, and so is a panic that something
/// swallowed (a task of the in-process runtime): the hook counts every
/// panic on this thread. Neither stops the run.
pub fn run<T: Target>(target: &mut T, cases: u64, seed: u64) -> Report {
    install_hook();
    let mut g = Gen::new(seed);
    let mut outcomes = Tally::default();
    let mut report = Report {
        target: target.name(),
        seed,
        inputs: 0,
        panics: 0,
        failures: 0,
        findings: Vec::new(),
        outcomes: Tally::default(),
        elapsed: Duration::ZERO,
    };
    let started = Instant::now();
    QUIET.with(|q| q.set(true));
    for case in 0..cases {
        report.inputs += 1;
        let before = PANICS.with(Cell::get);
        let input = match panic::catch_unwind(AssertUnwindSafe(|| target.generate(&mut g, case))) {
            Ok(input) => input,
            Err(_) => {
                // The generator's own fault, reported all the same.
                report.panics += 1;
                outcomes.hit("PANIC");
                keep(
                    &mut report,
                    case,
                    FindingKind::Panic,
                    last_panic(),
                    "(generator)".into(),
                );
                continue;
            }
        };
        let caught = panic::catch_unwind(AssertUnwindSafe(|| target.run(&input, &mut outcomes)));
        // A panic something swallowed (a task of the in-process runtime)
        // counts too: the hook saw it.
        let panicked = PANICS.with(Cell::get) > before;
        match caught {
            Err(_) => {
                report.panics += 1;
                outcomes.hit("PANIC");
                keep(
                    &mut report,
                    case,
                    FindingKind::Panic,
                    last_panic(),
                    target.show(&input),
                );
            }
            Ok(_) if panicked => {
                report.panics += 1;
                outcomes.hit("PANIC");
                keep(
                    &mut report,
                    case,
                    FindingKind::Panic,
                    last_panic(),
                    target.show(&input),
                );
            }
            Ok(Err(property)) => {
                report.failures += 1;
                outcomes.hit("FAILURE");
                keep(
                    &mut report,
                    case,
                    FindingKind::Failure,
                    property,
                    target.show(&input),
                );
            }
            Ok(Ok(())) => {}
        }
    }
    QUIET.with(|q| q.set(false));
    report.elapsed = started.elapsed();
    report.outcomes = outcomes;
    report
}

/// The last panic's message and location on this thread.
fn last_panic() -> String {
    LAST.with(|l| l.borrow().clone())
}

/// Keeps a finding while fewer than [`KEPT_FINDINGS`] are kept.
fn keep(report: &mut Report, case: u64, kind: FindingKind, message: String, input: String) {
    if report.findings.len() < KEPT_FINDINGS {
        report.findings.push(Finding {
            case,
            kind,
            message,
            input,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Panics on every 7th input and fails every 11th.
    struct Faulty;

    impl Target for Faulty {
        type Input = u64;
        fn name(&self) -> &'static str {
            "faulty"
        }
        fn generate(&mut self, _g: &mut Gen, case: u64) -> u64 {
            case
        }
        fn run(&mut self, input: &u64, out: &mut Tally) -> Result<(), String> {
            if input % 7 == 3 {
                panic!("deliberate panic on {input}");
            }
            out.hit("ran");
            if input % 11 == 5 {
                return Err(format!("deliberate failure on {input}"));
            }
            Ok(())
        }
        fn show(&self, input: &u64) -> String {
            crate::gen::hex(&input.to_be_bytes())
        }
    }

    #[test]
    fn panics_and_failures_are_caught_counted_and_shown() {
        let r = run(&mut Faulty, 77, 1);
        assert_eq!(r.inputs, 77);
        assert_eq!(r.panics, 11);
        assert!(!r.clean());
        assert!(r.failures > 0);
        assert_eq!(r.findings.len(), KEPT_FINDINGS);
        let first = &r.findings[0];
        assert_eq!(first.kind, FindingKind::Panic);
        assert_eq!(first.case, 3);
        assert!(
            first.message.contains("deliberate panic on 3"),
            "{}",
            first.message
        );
        assert!(first.message.contains("harness.rs"), "{}", first.message);
        assert_eq!(first.input, crate::gen::hex(&3u64.to_be_bytes()));
        assert_eq!(r.outcomes.get("PANIC"), 11);
        let text = r.to_string();
        assert!(text.contains("11 panics"), "{text}");
    }
}
