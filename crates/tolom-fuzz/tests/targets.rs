//! The smaller run of every target, within the test suite: each runs on a
//! few thousand inputs (a share through the router, or the real BPC client
//! and a stub gateway), must not panic nor break a property, and must
//! reach the deep outcomes (accepted codes and cards, genuine receipts,
//! approvals read from the gateway), not only the first "not JSON"
//! rejection. A tripwire around each target shows that a panic on the
//! target's own path would fail the test.
//!
//! The long run is `cargo run --release -p tolom-fuzz -- --cases 1000000`.

use tolom_fuzz::gen::Gen;
use tolom_fuzz::harness::{run, FindingKind, Report, Tally, Target};
use tolom_fuzz::targets::{api, bpc, card, code};

const SEED: u64 = 20_260_401;

/// Runs `f` on a thread with an 8 MiB stack: a debug build's frames are
/// several times a release build's (the long run uses tokio's 2 MiB, in
/// release).
fn big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(f)
        .unwrap_or_else(|e| panic!("thread: {e}"))
        .join()
        .unwrap_or_else(|_| panic!("the run panicked outside the harness"))
}

fn assert_clean(r: &Report) {
    assert!(r.clean(), "{r}");
    assert_eq!(r.inputs, r.inputs.max(1));
}

fn has(r: &Report, label: &str) -> bool {
    r.outcomes.sorted().keys().any(|k| k.contains(label))
}

fn assert_reaches(r: &Report, labels: &[&str]) {
    for label in labels {
        assert!(has(r, label), "no outcome {label:?} in\n{r}");
    }
}

/// A target that panics as soon as its inner target records an outcome
/// containing `on`.
struct Tripwire<T> {
    inner: T,
    on: &'static str,
}

impl<T: Target> Target for Tripwire<T> {
    type Input = T::Input;
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn generate(&mut self, g: &mut Gen, case: u64) -> T::Input {
        self.inner.generate(g, case)
    }
    fn run(&mut self, input: &T::Input, out: &mut Tally) -> Result<(), String> {
        let mut mine = Tally::default();
        let result = self.inner.run(input, &mut mine);
        out.merge(&mine);
        if mine.sorted().keys().any(|k| k.contains(self.on)) {
            panic!("tripwire: {}", self.on);
        }
        result
    }
    fn show(&self, input: &T::Input) -> String {
        self.inner.show(input)
    }
}

fn assert_trips<T: Target + Send + 'static>(inner: T, on: &'static str, cases: u64) {
    let r = big_stack(move || run(&mut Tripwire { inner, on }, cases, SEED));
    assert!(r.panics > 0, "the tripwire on {on:?} never fired:\n{r}");
    let f = &r.findings[0];
    assert_eq!(f.kind, FindingKind::Panic);
    assert!(f.message.contains("tripwire"), "{}", f.message);
    assert!(!f.input.is_empty());
}

#[test]
fn payment_codes() {
    let r = big_stack(|| run(&mut code::CodeTarget::new(40), 10_000, SEED));
    assert_clean(&r);
    assert_reaches(
        &r,
        &[
            "parse default: accepted Passport",
            "parse default: accepted MekenCard",
            "parse default: code.check_digit",
            "parse default: code.prefix",
            "parse default: code.length",
            "parse default: code.invalid_characters",
            "parse mod97-20: accepted",
            "parse gis-gmp-20: accepted",
            "router GET /api/v1/charges/{code}: 200",
            "router GET /api/v1/charges/{code}: 422 code.check_digit",
            "router POST /lookup: 303",
            "router GET /pay/{code}: 200",
        ],
    );
    assert_trips(code::CodeTarget::new(0), "code.check_digit", 200);
    assert_trips(
        code::CodeTarget::new(2),
        "router GET /api/v1/charges/{code}: 422",
        400,
    );
}

#[test]
fn the_card_form() {
    let r = big_stack(|| run(&mut card::CardTarget::new(20), 5_000, SEED));
    assert_clean(&r);
    assert_reaches(
        &r,
        &[
            "fields: accepted visa",
            "post: accepted",
            "pan card.pan_luhn",
            "pan card.brand_unknown",
            "pan card.pan_length",
            "expiry card.expired",
            "phone contact.phone_invalid",
            "email contact.email_invalid",
            "post: not a form",
            "router POST /payments/{id}/card: 303",
            "router POST /payments/{id}/card: 422",
        ],
    );
    assert_trips(card::CardTarget::new(0), "accepted", 500);
}

#[test]
fn the_json_api_bodies() {
    let r = big_stack(|| run(&mut api::ApiTarget::new(10), 3_000, SEED));
    assert_clean(&r);
    assert_reaches(
        &r,
        &[
            "start: code ok, terms in force",
            "start: code.check_digit",
            "card: accepted",
            "challenge: the right one-time code",
            "verify: content: genuine",
            "verify: content: receipt.check",
            "refund: amount accepted",
            "router POST /payments: 201",
            "router POST /payments/{id}/card: 200",
            "router POST /payments/{id}/challenge: 200",
            "router POST /receipts/verify: 200",
            "router GET /receipts/verify: 200",
        ],
    );
    assert_trips(api::ApiTarget::new(0), "verify: content: genuine", 1_000);
}

#[test]
fn the_bpc_answers() {
    let r = big_stack(|| run(&mut bpc::BpcTarget::new(10), 5_000, SEED));
    assert_clean(&r);
    assert_reaches(
        &r,
        &[
            "register.do: new order",
            "paymentorder.do: 3-D Secure",
            "getOrderStatusExtended.do: approved",
            "getOrderStatusExtended.do: declined",
            "getOrderStatusExtended.do: refunded",
            "getOrderStatusExtended.do: error Unknown",
            "not JSON",
            "wire PurchaseCard: approved",
            "wire PurchaseHosted: action required",
            "wire Refund: refunded",
        ],
    );
    assert_trips(
        bpc::BpcTarget::new(0),
        "getOrderStatusExtended.do: approved",
        1_000,
    );
}
