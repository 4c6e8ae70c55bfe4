//! The BPC gateway's answers, as `tolom-acquirer-bpc` reads them.
//!
//! Typed path: the body through `serde_json::from_slice::<Value>` and the
//! object check (as the client's `Wire::call`), then the readers every
//! call uses (`tolom_acquirer_bpc::fuzzing`: `error_code`,
//! `error_message`, `int`, `text`, `parse_status`, `order_id_of`) in the
//! order each endpoint's code reads its answer: `register.do` (`orderId`,
//! `formUrl`), `paymentorder.do` (`acsUrl`, `paReq`, `termUrl`),
//! `getOrderStatusExtended.do` (the status mapping, amounts, `mdOrder`),
//! `refund.do`, `reverse.do`, `decline.do`.
//!
//! Wire path (a share of the inputs): the real [`BpcAcquirer`] against a
//! stub gateway on 127.0.0.1 that answers each call with the next fuzzed
//! answer (status and body) for its endpoint; every port call is made
//! (`purchase` by card and by hosted page, `complete_challenge`,
//! `status`, `refund`, `reverse`, `cancel`). Any `termUrl` in an answer is
//! pointed at the stub: the client posts to it, and nothing may leave the
//! machine.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use secrecy::SecretString;
use serde_json::{json, Value};
use tolom_acquirer_bpc::fuzzing as read;
use tolom_acquirer_bpc::{BpcAcquirer, BpcConfig, ACTION_CODES};
use tolom_core::card::{BrandTable, CardDetails, Contact};
use tolom_core::i18n::Language;
use tolom_core::money::Money;
use tolom_core::payment::ChallengeResponse;
use tolom_core::ports::{
    Acquirer, AcquirerOutcome, Instrument, OrderStatus, PurchaseRequest, RefundOutcome,
};

use crate::gen::{hex, Gen};
use crate::harness::{Tally, Target};

/// A merchant-API endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `register.do`.
    Register,
    /// `paymentorder.do`.
    PaymentOrder,
    /// `getOrderStatusExtended.do`.
    Status,
    /// `refund.do`.
    Refund,
    /// `reverse.do`.
    Reverse,
    /// `decline.do`.
    Decline,
}

const ENDPOINTS: [Endpoint; 6] = [
    Endpoint::Register,
    Endpoint::PaymentOrder,
    Endpoint::Status,
    Endpoint::Refund,
    Endpoint::Reverse,
    Endpoint::Decline,
];

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::Register => "register.do",
            Endpoint::PaymentOrder => "paymentorder.do",
            Endpoint::Status => "getOrderStatusExtended.do",
            Endpoint::Refund => "refund.do",
            Endpoint::Reverse => "reverse.do",
            Endpoint::Decline => "decline.do",
        }
    }

    fn of_path(path: &str) -> Option<Endpoint> {
        ENDPOINTS.into_iter().find(|e| path.ends_with(e.path()))
    }
}

/// A port call of the wire path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `purchase` with a card.
    PurchaseCard,
    /// `purchase` on the hosted page.
    PurchaseHosted,
    /// `complete_challenge` with `PaRes`/`MD`.
    CompleteWithPaRes,
    /// `complete_challenge` with nothing (the payer came back).
    Complete,
    /// `status`.
    Status,
    /// `refund`.
    Refund,
    /// `reverse`.
    Reverse,
    /// `cancel`.
    Cancel,
}

const OPS: [Op; 8] = [
    Op::PurchaseCard,
    Op::PurchaseHosted,
    Op::CompleteWithPaRes,
    Op::Complete,
    Op::Status,
    Op::Refund,
    Op::Reverse,
    Op::Cancel,
];

/// One answer of the stub: HTTP status and body.
pub type Answer = (u16, Vec<u8>);

/// One input.
#[derive(Debug, Clone)]
pub enum BpcInput {
    /// One answer of an endpoint, read as the client reads it.
    Answer(Endpoint, Vec<u8>),
    /// A port call against the stub, with the answers each endpoint gives
    /// in turn.
    Wire(Op, Vec<(Endpoint, Answer)>),
}

/// The stub gateway's script: answers per endpoint, in order.
#[derive(Default)]
struct Script {
    answers: HashMap<Endpoint, VecDeque<Answer>>,
}

/// The stub gateway and the client pointed at it.
struct Wire {
    rt: tokio::runtime::Runtime,
    script: Arc<Mutex<Script>>,
    acquirer: BpcAcquirer,
    card: (CardDetails, Contact),
    stub: String,
    orders: u64,
}

async fn stub(
    axum::extract::State(script): axum::extract::State<Arc<Mutex<Script>>>,
    uri: Uri,
) -> Response {
    let next = Endpoint::of_path(uri.path()).and_then(|e| {
        script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .answers
            .get_mut(&e)
            .and_then(VecDeque::pop_front)
    });
    match next {
        Some((status, body)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        // The script ran out (or the 3-D Secure finish): a plain 200.
        None if uri.path().ends_with("finish3ds.do") => StatusCode::OK.into_response(),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "no answer scripted").into_response(),
    }
}

impl Wire {
    fn start() -> Wire {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let script = Arc::new(Mutex::new(Script::default()));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap_or_else(|e| panic!("stub gateway: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("stub gateway: {e}"));
        let app = Router::new().fallback(stub).with_state(script.clone());
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let base = format!("http://{addr}/payment/rest/");
        let config = BpcConfig::new(
            &base,
            "fuzz",
            SecretString::from("fuzz-password".to_string()),
        )
        .with_return_url("http://127.0.0.1:9/return/{order}")
        .with_request_timeout(Duration::from_secs(5))
        .with_connect_timeout(Duration::from_secs(2));
        let acquirer = BpcAcquirer::new(config).unwrap_or_else(|e| panic!("client: {e}"));
        let card = tolom_testkit::fixtures::card_form("4111111111111111")
            .validate(crate::now(), &BrandTable::default())
            .unwrap_or_else(|e| panic!("card: {e}"));
        Wire {
            rt,
            script,
            acquirer,
            card,
            stub: format!("http://{addr}/payment/rest/finish3ds.do"),
            orders: 0,
        }
    }

    /// Runs `op` with `answers` scripted; the outcome's label.
    fn run(&mut self, op: Op, answers: &[(Endpoint, Answer)]) -> String {
        {
            let mut script = self.script.lock().unwrap_or_else(PoisonError::into_inner);
            script.answers.clear();
            for (e, (status, body)) in answers {
                let body = keep_local(body, &self.stub);
                script
                    .answers
                    .entry(*e)
                    .or_default()
                    .push_back((*status, body));
            }
        }
        self.orders += 1;
        let order = format!("fz{}", self.orders);
        let a = &self.acquirer;
        let (card, contact) = (&self.card.0, &self.card.1);
        self.rt.block_on(async {
            let purchase = |instrument| PurchaseRequest {
                order_number: &order,
                amount: Money::som(885),
                description: "fuzz",
                language: Language::Ky,
                instrument,
                return_url: None,
            };
            let outcome = |r: Result<AcquirerOutcome, tolom_core::ports::AcquirerError>| match r {
                Ok(AcquirerOutcome::Approved(_)) => "approved".to_string(),
                Ok(AcquirerOutcome::Declined(r)) => format!("declined {r:?}"),
                Ok(AcquirerOutcome::ActionRequired(_)) => "action required".to_string(),
                Ok(AcquirerOutcome::Pending) => "pending".to_string(),
                Err(e) => format!("error {:?}", e.kind),
            };
            let mut pares = ChallengeResponse::default();
            pares.fields.insert("PaRes".into(), "pares".into());
            let label = match op {
                Op::PurchaseCard => outcome(
                    a.purchase(purchase(Instrument::Card { card, contact }))
                        .await,
                ),
                Op::PurchaseHosted => outcome(a.purchase(purchase(Instrument::HostedPage)).await),
                Op::CompleteWithPaRes => outcome(a.complete_challenge(&order, &pares).await),
                Op::Complete => outcome(
                    a.complete_challenge(&order, &ChallengeResponse::default())
                        .await,
                ),
                Op::Status => match a.status(&order).await {
                    Ok(s) => status_label(&s),
                    Err(e) => format!("error {:?}", e.kind),
                },
                Op::Refund => match a.refund(&order, "r1", Money::som(100)).await {
                    Ok(RefundOutcome::Refunded) => "refunded".to_string(),
                    Ok(_) => "refund refused".to_string(),
                    Err(e) => format!("error {:?}", e.kind),
                },
                Op::Reverse => match a.reverse(&order).await {
                    Ok(()) => "reversed".to_string(),
                    Err(e) => format!("error {:?}", e.kind),
                },
                Op::Cancel => match a.cancel(&order).await {
                    Ok(()) => "cancelled".to_string(),
                    Err(e) => format!("error {:?}", e.kind),
                },
            };
            format!("wire {op:?}: {label}")
        })
    }
}

/// `body` with any `termUrl` (the one address of an answer the client
/// connects to) pointed at the stub.
fn keep_local(body: &[u8], stub: &str) -> Vec<u8> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut map)) if map.contains_key("termUrl") => {
            map.insert("termUrl".into(), json!(stub));
            serde_json::to_vec(&Value::Object(map)).unwrap_or_default()
        }
        _ => body.to_vec(),
    }
}

fn status_label(s: &OrderStatus) -> String {
    match s {
        OrderStatus::NotFound => "not found".into(),
        OrderStatus::Pending => "pending".into(),
        OrderStatus::Approved { .. } => "approved".into(),
        OrderStatus::Declined(r) => format!("declined {r:?}"),
        OrderStatus::Reversed => "reversed".into(),
        OrderStatus::Refunded { .. } => "refunded".into(),
        OrderStatus::PreAuthorized { .. } => "pre-authorised".into(),
        #[allow(unreachable_patterns)]
        _ => "other".into(),
    }
}

/// The real answers of each endpoint (as the gateway and the emulator
/// send them), to mutate.
fn template(g: &mut Gen, e: Endpoint) -> Value {
    let error = |g: &mut Gen| {
        let code = *g.pick(&[1, 2, 3, 4, 5, 6, 7, 8, 99]);
        let code = if g.one_in(2) {
            json!(code)
        } else {
            json!(code.to_string())
        };
        json!({"errorCode": code, "errorMessage": "Заказ с таким номером уже обработан"})
    };
    if g.one_in(5) {
        return error(g);
    }
    match e {
        Endpoint::Register => json!({
            "orderId": "70906e55-7114-41d6-8332-4609dba6b3ed",
            "formUrl": "https://bank.example/payment/merchants/pay.html?mdOrder=70906e55-7114-41d6-8332-4609dba6b3ed",
        }),
        Endpoint::PaymentOrder => {
            if g.one_in(2) {
                json!({"errorCode": 0, "info": "Your order is proceeded, redirecting...",
                       "redirect": "https://portal.example/return?orderId=70906e55"})
            } else {
                json!({"errorCode": 0, "info": "Your order is proceeded, redirecting...",
                       "acsUrl": "https://acs.bank.example/acs", "paReq": "eJxVUl1vmzAU/SuI9xm",
                       "termUrl": "https://bank.example/payment/rest/finish3ds.do"})
            }
        }
        Endpoint::Status => {
            let status = g.below(7);
            let action = if status == 6 {
                g.pick(ACTION_CODES).0
            } else {
                0
            };
            json!({
                "errorCode": "0",
                "errorMessage": "Success",
                "orderNumber": "pay-1",
                "orderStatus": status,
                "actionCode": action,
                "actionCodeDescription": "",
                "amount": 88500,
                "currency": "417",
                "date": 1764072000000u64,
                "orderDescription": "passport",
                "merchantOrderParams": [{"name": "k", "value": "v"}],
                "attributes": [{"name": "mdOrder", "value": "70906e55-7114-41d6-8332-4609dba6b3ed"}],
                "paymentAmountInfo": {
                    "paymentState": "DEPOSITED",
                    "approvedAmount": 88500,
                    "depositedAmount": 88500,
                    "refundedAmount": if status == 4 { 30000 } else { 0 },
                },
                "bankInfo": {"bankName": "TOLOM EMULATOR BANK", "bankCountryCode": "KG",
                             "bankCountryName": "Kyrgyzstan"},
                "cardAuthInfo": {"maskedPan": "411111**1111", "expiration": "203012",
                                 "cardholderName": "AIBEK ASANOV", "approvalCode": "123456"},
                "authRefNum": "123456789012",
                "authDateTime": 1764072001000u64,
                "ip": "192.0.2.10",
                "payerData": {"email": "a@example.kg"},
            })
        }
        Endpoint::Refund | Endpoint::Reverse | Endpoint::Decline => {
            json!({"errorCode": "0", "errorMessage": "Success"})
        }
    }
}

/// An answer of endpoint `e`: the real one, with fields mutated, with
/// bytes changed, deeply nested, or raw. `clean` in 20 are the real one
/// unchanged (more for the wire path, whose calls go on only after a
/// readable answer).
fn answer_body(g: &mut Gen, e: Endpoint, clean: usize) -> Vec<u8> {
    if g.below(20) < clean {
        return serde_json::to_vec(&template(g, e)).unwrap_or_default();
    }
    match g.below(20) {
        0..=4 => serde_json::to_vec(&template(g, e)).unwrap_or_default(),
        5..=13 => {
            let mut v = template(g, e);
            for _ in 0..=g.below(4) {
                g.mutate_json(&mut v);
            }
            serde_json::to_vec(&v).unwrap_or_default()
        }
        14 | 15 => {
            let b = serde_json::to_vec(&template(g, e)).unwrap_or_default();
            g.mutate_bytes(&b)
        }
        16 => g.nested(*g.pick(&[64, 128, 129, 10_000])),
        17 => serde_json::to_vec(&g.json(3)).unwrap_or_default(),
        _ => g.bytes(),
    }
}

/// The BPC target.
pub struct BpcTarget {
    wire: Option<Wire>,
    wire_every: u64,
}

impl BpcTarget {
    /// The target; one input in `wire_every` goes through the real client
    /// and a stub gateway (0: none).
    pub fn new(wire_every: u64) -> BpcTarget {
        BpcTarget {
            wire: (wire_every > 0).then(Wire::start),
            wire_every,
        }
    }
}

/// Reads one answer as the client does; the outcome's label.
fn read_answer(e: Endpoint, body: &[u8]) -> Result<String, String> {
    let name = e.path();
    let v = match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => v,
        Ok(_) => return Ok(format!("{name}: not an object (unknown)")),
        Err(_) => return Ok(format!("{name}: not JSON (unknown)")),
    };
    let code = read::error_code(&v);
    let message = read::error_message(&v);
    if message.is_empty() {
        return Err("an empty errorMessage".into());
    }
    let label = match (e, code) {
        (Endpoint::Register, 0) => match read::text(&v, "orderId") {
            Some(_) => {
                let _ = read::text(&v, "formUrl");
                "new order"
            }
            None => "no orderId (unknown)",
        },
        (Endpoint::Register, 1) => "order number taken",
        (Endpoint::PaymentOrder, 0) => match read::text(&v, "acsUrl") {
            Some(_) => {
                let _ = read::text(&v, "termUrl");
                match read::text(&v, "paReq") {
                    Some(_) => "3-D Secure",
                    None => "3-D Secure without paReq (unknown)",
                }
            }
            None => "processed",
        },
        (Endpoint::PaymentOrder, 7) => "wrong state",
        (Endpoint::Status, 0) => {
            let _ = read::order_id_of(&v);
            let _ = read::int(&v, "actionCode");
            return Ok(match read::parse_status(&v) {
                Ok((raw, status)) => {
                    check_status(raw, &status)?;
                    format!("{name}: {}", status_label(&status))
                }
                Err(err) => format!("{name}: error {:?}", err.kind),
            });
        }
        (Endpoint::Status, 6) => "no such order",
        (Endpoint::Refund, 0) => "refunded",
        (Endpoint::Refund, 7) => "refused",
        (Endpoint::Reverse | Endpoint::Decline, 0) => "done",
        (Endpoint::Reverse | Endpoint::Decline, 7) => "wrong state",
        _ => "refused (rejected)",
    };
    Ok(format!("{name}: {label}"))
}

/// What a status must mean for its raw `orderStatus`.
fn check_status(raw: i64, status: &OrderStatus) -> Result<(), String> {
    let ok = match status {
        OrderStatus::Pending => raw == 0 || raw == 5,
        OrderStatus::PreAuthorized { .. } => raw == 1,
        OrderStatus::Approved { refunded, .. } => {
            raw == 2 && refunded.to_minor_units() <= i64::MAX as u64
        }
        OrderStatus::Reversed => raw == 3,
        OrderStatus::Refunded { .. } => raw == 4,
        OrderStatus::Declined(_) => raw == 6,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "orderStatus {raw} read as {}",
            status_label(status)
        ))
    }
}

impl Target for BpcTarget {
    type Input = BpcInput;

    fn name(&self) -> &'static str {
        "bpc"
    }

    fn generate(&mut self, g: &mut Gen, case: u64) -> BpcInput {
        let wired = self.wire_every > 0 && case % self.wire_every == self.wire_every - 1;
        if !wired {
            let e = *g.pick(&ENDPOINTS);
            return BpcInput::Answer(e, answer_body(g, e, 1));
        }
        let op = *g.pick(&OPS);
        let mut answers = Vec::new();
        for e in ENDPOINTS {
            for _ in 0..g.below(3) {
                let status = if g.one_in(6) {
                    *g.pick(&[500, 503, 404, 408, 302, 204])
                } else {
                    200
                };
                answers.push((e, (status, answer_body(g, e, 10))));
            }
        }
        BpcInput::Wire(op, answers)
    }

    fn run(&mut self, input: &BpcInput, out: &mut Tally) -> Result<(), String> {
        match input {
            BpcInput::Answer(e, body) => out.hit(read_answer(*e, body)?),
            BpcInput::Wire(op, answers) => {
                if let Some(wire) = self.wire.as_mut() {
                    out.hit(wire.run(*op, answers));
                }
            }
        }
        Ok(())
    }

    fn show(&self, input: &BpcInput) -> String {
        match input {
            BpcInput::Answer(e, body) => format!("{} {}", e.path(), hex(body)),
            BpcInput::Wire(op, answers) => {
                let shown: BTreeMap<usize, String> = answers
                    .iter()
                    .enumerate()
                    .take(4)
                    .map(|(i, (e, (s, b)))| (i, format!("{} {s} {}", e.path(), hex(b))))
                    .collect();
                format!("{op:?} {} answers: {shown:?}", answers.len())
            }
        }
    }
}
