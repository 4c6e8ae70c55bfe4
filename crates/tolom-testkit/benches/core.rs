//! Benchmarks of the core on in-memory adapters.
#![allow(missing_docs)] // criterion's macros generate undocumented items
//!
//! `cargo bench -p tolom-testkit --bench core`
//!
//! Each group also measures a baseline in the same run, so ratios hold on a
//! noisy machine: parsing a code is compared with `str::parse::<u64>` of the
//! same digits; a full payment flow with three `Mutex<HashMap>` writes of a
//! cloned payment (the bare cost of the three state changes it stores).

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};

use criterion::{criterion_group, BatchSize, Criterion};
use futures::executor::block_on;
use tolom_acquirer_sandbox::SandboxAcquirer;
use tolom_core::card::{BrandTable, CardForm};
use tolom_core::code::{CodeFormat, ServiceFamily};
use tolom_core::i18n::Language;
use tolom_core::usecases::{Config, StartPayment};
use tolom_testkit::fixtures::{card_form, Harness};
use uuid::Uuid;

fn codes(c: &mut Criterion) {
    let format = CodeFormat::default();
    let code = format
        .generate(ServiceFamily::Passport, 123_456_789)
        .unwrap_or_else(|| panic!("code"));
    let typed = code.grouped();
    let mut g = c.benchmark_group("code");
    g.bench_function("baseline: u64 parse of 12 digits", |b| {
        b.iter(|| black_box(code.as_str()).parse::<u64>())
    });
    g.bench_function("parse + Damm check (grouped input)", |b| {
        b.iter(|| format.parse(black_box(&typed)))
    });
    g.finish();
}

fn cards(c: &mut Criterion) {
    let now = chrono::Utc::now();
    let brands = BrandTable::default();
    let form: CardForm = card_form("4111 1111 1111 1111");
    let mut g = c.benchmark_group("card");
    g.bench_function("validate full card form", |b| {
        b.iter(|| {
            black_box(&form)
                .validate(now, &brands)
                .map(|(c, _)| c.brand)
        })
    });
    g.finish();
}

fn audit(c: &mut Criterion) {
    let at = chrono::Utc::now();
    let data = serde_json::json!({
        "from": "authorizing",
        "decline_reason": null,
        "failure": null,
        "receipt_number": "20261202-3F2A9C0B1D4E5F60",
    });
    let subject = Uuid::from_u128(7).to_string();
    let prev = tolom_core::audit::GENESIS_HASH;
    let mut g = c.benchmark_group("audit");
    g.bench_function(
        "hash of a payment.succeeded entry (what sealing costs per entry)",
        |b| {
            b.iter(|| {
                tolom_core::audit::audit_hash(
                    black_box(prev),
                    12,
                    at,
                    "system",
                    "payment.succeeded",
                    &subject,
                    black_box(&data),
                )
            })
        },
    );
    g.finish();
}

fn flow(c: &mut Criterion) {
    let h = Harness::with_acquirer(Arc::new(SandboxAcquirer::for_tests()), Config::default());
    let terms = block_on(h.terms_id());
    let form = card_form("4111111111111111");
    let mut g = c.benchmark_group("flow");
    let code = block_on(h.charge("passport-2020", "Асанов Айбек"))
        .code
        .to_string();
    let sample = block_on(async {
        h.tolom
            .start_payment(StartPayment {
                code: &code,
                accepted_terms: Some(&terms),
                idempotency_key: "sample",
                language: Language::Ky,
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    });
    let map: Mutex<HashMap<Uuid, tolom_core::payment::Payment>> = Mutex::new(HashMap::new());
    // The bare cost of storing the three states of a payment: clone it and
    // insert it into a (bounded) map behind a mutex, three times.
    let mut counter = 0u128;
    g.bench_function("baseline: 3 mutex-hashmap writes of a payment", |b| {
        b.iter(|| {
            for _ in 0..3 {
                counter += 1;
                let mut r = sample.record().clone();
                r.id = Uuid::from_u128(counter % 4096);
                let p = tolom_core::payment::Payment::restore_unchecked(r);
                map.lock().map(|mut m| m.insert(p.id(), p)).ok();
            }
        })
    });
    let mut n = 0u64;
    g.bench_function("look-up + start + card (approved) in memory", |b| {
        b.iter_batched(
            || {
                n += 1;
                (
                    block_on(h.charge("passport-2020", "Асанов Айбек"))
                        .code
                        .to_string(),
                    format!("k{n}"),
                )
            },
            |(code, key)| {
                block_on(async {
                    h.tolom
                        .look_up(&code)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    let p = h
                        .tolom
                        .start_payment(StartPayment {
                            code: &code,
                            accepted_terms: Some(&terms),
                            idempotency_key: &key,
                            language: Language::Ky,
                        })
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    h.tolom
                        .submit_card(p.id(), &form, &key)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"))
                })
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// What one repetition of the per-core measure uses: a harness on a fresh
/// in-memory store with `n` charges issued (untimed), the agreement
/// accepted and a card form.
struct Flows {
    h: Harness,
    terms: String,
    form: CardForm,
    codes: Vec<String>,
}

impl Flows {
    /// A fresh store with `n` charges, warmed up by a few flows of other
    /// charges (the phone metadata and its patterns are loaded once per
    /// process, as in a running portal).
    fn new(n: usize) -> Flows {
        let h = Harness::with_acquirer(Arc::new(SandboxAcquirer::for_tests()), Config::default());
        let terms = block_on(h.terms_id());
        let form = card_form("4111111111111111");
        let issue = |n: usize| -> Vec<String> {
            (0..n)
                .map(|_| {
                    block_on(h.charge("passport-2020", "Асанов Айбек"))
                        .code
                        .to_string()
                })
                .collect()
        };
        let warm = issue(16);
        let codes = issue(n);
        let f = Flows {
            h,
            terms,
            form,
            codes: warm,
        };
        run_flows(&f, "warm");
        Flows { codes, ..f }
    }
}

/// Runs one flow per code of `f` (look-up → start → card, approved by the
/// sandbox), then seals the audit log the way a background step would, so
/// that the hashing a store leaves for later is counted too.
#[inline(never)]
fn run_flows(f: &Flows, prefix: &str) {
    use tolom_core::ports::OpsStore;
    for (i, code) in f.codes.iter().enumerate() {
        let key = format!("{prefix}{i}");
        block_on(async {
            f.h.tolom
                .look_up(code)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let p =
                f.h.tolom
                    .start_payment(StartPayment {
                        code,
                        accepted_terms: Some(&f.terms),
                        idempotency_key: &key,
                        language: Language::Ky,
                    })
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            let p =
                f.h.tolom
                    .submit_card(p.id(), &f.form, &key)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            assert!(p.state().is_paid(), "the sandbox approves this card");
        });
    }
    block_on(f.h.store.seal_audit(usize::MAX)).unwrap_or_else(|e| panic!("{e}"));
}

/// The baseline of the per-core measure: what storing the three states of
/// a payment costs at the least, `n` times: clone it and insert it into a
/// (bounded) map behind a mutex, three times.
#[inline(never)]
fn run_baseline(sample: &tolom_core::payment::Payment, n: usize) {
    let map: Mutex<HashMap<Uuid, tolom_core::payment::Payment>> = Mutex::new(HashMap::new());
    let mut counter = 0u128;
    for _ in 0..n {
        for _ in 0..3 {
            counter += 1;
            let mut r = sample.record().clone();
            r.id = Uuid::from_u128(counter % 4096);
            let p = tolom_core::payment::Payment::restore_unchecked(r);
            map.lock().map(|mut m| m.insert(p.id(), p)).ok();
        }
    }
    black_box(map);
}

/// The flows [`flow_loop`] measures (not the warm-up's). Not inlined:
/// `valgrind --tool=callgrind --toggle-collect='core::measured_flows'`
/// counts just these.
#[inline(never)]
fn measured_flows(f: &Flows) {
    run_flows(f, "k");
}

/// `TOLOM_FLOW_LOOP=N` runs N flows without criterion (for `perf stat` /
/// `valgrind --tool=callgrind`, which count CPU work rather than wall time).
fn flow_loop(n: usize) {
    let f = Flows::new(n);
    let start = std::time::Instant::now();
    let cpu = thread_cpu();
    measured_flows(&f);
    let wall = start.elapsed();
    let cpu = thread_cpu() - cpu;
    println!(
        "{n} flows: wall {:.2} µs/flow, cpu {:.2} µs/flow, {:.0} flows/s of cpu",
        wall.as_secs_f64() * 1e6 / n as f64,
        cpu * 1e6 / n as f64,
        n as f64 / cpu
    );
}

/// The goal of issue 14: in-memory payments per second per core.
const GOAL_PER_CORE: f64 = 100_000.0;

/// The per-core measure: three repetitions, each the baseline then the
/// flows, both timed by this thread's CPU time (not wall time: the
/// machine is shared); the flows of a repetition run in rounds of
/// `TOLOM_FLOW_ROUND` (default 20,000) payments on a fresh store until
/// they have used `TOLOM_FLOW_CPU` seconds (default 2) of CPU.
fn per_core() {
    let env = |name: &str, default: f64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(default)
    };
    let round = env("TOLOM_FLOW_ROUND", 20_000.0) as usize;
    let budget = env("TOLOM_FLOW_CPU", 2.0);
    let sample = {
        let f = Flows::new(1);
        block_on(f.h.tolom.start_payment(StartPayment {
            code: &f.codes[0],
            accepted_terms: Some(&f.terms),
            idempotency_key: "sample",
            language: Language::Ky,
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let mut base_us = Vec::new();
    let mut flow_us = Vec::new();
    println!(
        "\nflow per core: look-up + start + card (approved) in memory, CPU time of this thread"
    );
    for rep in 1..=3 {
        let (mut n, mut cpu) = (0usize, 0.0);
        while cpu < budget / 4.0 {
            let t = thread_cpu();
            run_baseline(&sample, 100_000);
            cpu += thread_cpu() - t;
            n += 100_000;
        }
        let base = cpu * 1e6 / n as f64;
        let (mut n, mut cpu) = (0usize, 0.0);
        while cpu < budget {
            let f = Flows::new(round);
            let t = thread_cpu();
            run_flows(&f, "k");
            cpu += thread_cpu() - t;
            n += round;
        }
        let flow = cpu * 1e6 / n as f64;
        println!(
            "  run {rep}: baseline (3 mutex-map writes of a payment) {base:.2} µs; flow {flow:.2} µs CPU \
             ({n} flows) = {:.0} payments/s per core; flow/baseline {:.1}; goal ratio {:.2} (≥ 1 meets {GOAL_PER_CORE:.0}/s)",
            1e6 / flow,
            flow / base,
            1e6 / flow / GOAL_PER_CORE
        );
        base_us.push(base);
        flow_us.push(flow);
    }
    let stats = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        (v[0], v[v.len() / 2], v[v.len() - 1])
    };
    let (bmin, bmed, bmax) = stats(&base_us);
    let (fmin, fmed, fmax) = stats(&flow_us);
    let rates: Vec<f64> = flow_us.iter().map(|f| 1e6 / f).collect();
    let (rmin, rmed, rmax) = stats(&rates);
    let ratios: Vec<f64> = flow_us.iter().zip(&base_us).map(|(f, b)| f / b).collect();
    let (qmin, qmed, qmax) = stats(&ratios);
    println!("  baseline µs        min {bmin:.2}  median {bmed:.2}  max {bmax:.2}");
    println!("  flow µs CPU        min {fmin:.2}  median {fmed:.2}  max {fmax:.2}");
    println!("  flow / baseline    min {qmin:.2}  median {qmed:.2}  max {qmax:.2}");
    println!("  payments/s per core min {rmin:.0}  median {rmed:.0}  max {rmax:.0}");
    println!(
        "  ÷ goal {GOAL_PER_CORE:.0}/s     min {:.2}  median {:.2}  max {:.2}  ({})",
        rmin / GOAL_PER_CORE,
        rmed / GOAL_PER_CORE,
        rmax / GOAL_PER_CORE,
        if rmed >= GOAL_PER_CORE {
            "met"
        } else {
            "NOT met"
        }
    );
}

/// This thread's CPU time (user + system) in seconds, from
/// /proc/thread-self/stat (clock ticks of 10 ms; the measures run for
/// seconds).
fn thread_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = codes, cards, audit, flow
}
fn main() {
    if let Some(n) = std::env::var("TOLOM_FLOW_LOOP")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        flow_loop(n);
        return;
    }
    // `cargo bench -- per-core` runs just the per-core measure; any other
    // filter just the criterion benches that match it.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if filters.iter().any(|f| f == "per-core") {
        per_core();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    if filters.is_empty() {
        per_core();
    }
}
