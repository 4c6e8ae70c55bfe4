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

/// `TOLOM_FLOW_LOOP=N` runs N flows without criterion (for `perf stat` /
/// `valgrind --tool=callgrind`, which count CPU work rather than wall time).
fn flow_loop(n: usize) {
    let h = Harness::with_acquirer(Arc::new(SandboxAcquirer::for_tests()), Config::default());
    let terms = block_on(h.terms_id());
    let form = card_form("4111111111111111");
    let codes: Vec<String> = (0..n)
        .map(|_| {
            block_on(h.charge("passport-2020", "Асанов Айбек"))
                .code
                .to_string()
        })
        .collect();
    let start = std::time::Instant::now();
    let cpu = cpu_time();
    for (i, code) in codes.iter().enumerate() {
        let key = format!("k{i}");
        block_on(async {
            h.tolom
                .look_up(code)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let p = h
                .tolom
                .start_payment(StartPayment {
                    code,
                    accepted_terms: Some(&terms),
                    idempotency_key: &key,
                    language: Language::Ky,
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            h.tolom
                .submit_card(p.id(), &form, &key)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        });
    }
    let wall = start.elapsed();
    let cpu = cpu_time() - cpu;
    println!(
        "{n} flows: wall {:.2} µs/flow, cpu {:.2} µs/flow, {:.0} flows/s of cpu",
        wall.as_secs_f64() * 1e6 / n as f64,
        cpu * 1e6 / n as f64,
        n as f64 / cpu
    );
}

/// Process CPU time in seconds (user + system), from /proc/self/stat.
fn cpu_time() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
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
    targets = codes, cards, flow
}
fn main() {
    if let Some(n) = std::env::var("TOLOM_FLOW_LOOP")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        flow_loop(n);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
