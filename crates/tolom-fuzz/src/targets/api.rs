//! The JSON API bodies: `tolom_http::api::extract::parse` (the one
//! `serde_json::from_slice` every `POST` handler uses) into the handlers'
//! own body types, then what each handler does with the body before the
//! store is involved:
//!
//! - `POST /api/v1/payments`: `StartBody`, then the code's parse
//!   (`CodeFormat::parse`) and the agreement's id;
//! - `POST /api/v1/payments/{id}/card`: `CardForm`, then
//!   `CardForm::validate`;
//! - `POST /api/v1/payments/{id}/challenge`: `ChallengeBody`, then the
//!   `ChallengeResponse` the handler builds;
//! - `POST /api/v1/receipts/verify`: `VerifyBody`, then the claim the
//!   handler builds and its check: `KeyRing::verify_content` (the
//!   `tolom-receipt/2` parser and Ed25519) or `decode_signature`;
//! - refunds (`POST /api/v1/admin/payments/{id}/refunds`, whose body type is
//!   tolom-admin's): the amount's parse, `Money::parse`.
//!
//! A share of the inputs goes through the router instead: the same routes
//! plus `GET /api/v1/receipts/verify?…` and `GET /api/v1/payments/{id}`,
//! with the content type and the `Idempotency-Key` header fuzzed too; no
//! answer may be a 5xx.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tolom_core::card::{BrandTable, CardForm};
use tolom_core::code::CodeFormat;
use tolom_core::i18n::{ErrorCode, Language};
use tolom_core::money::{Currency, Money, MoneyError};
use tolom_core::payment::ChallengeResponse;
use tolom_core::ports::{decode_signature, KeyRing};
use tolom_http::api::extract::parse;
use tolom_http::fuzzing::{ChallengeBody, StartBody, VerifyBody};

use crate::fields;
use crate::gen::{hex, percent, Gen};
use crate::harness::{Tally, Target};
use crate::portal::Portal;
use crate::targets::card::card_fields;

/// Which body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `POST /payments`.
    Start,
    /// `POST /payments/{id}/card`.
    Card,
    /// `POST /payments/{id}/challenge`.
    Challenge,
    /// `POST /receipts/verify`.
    Verify,
    /// A refund's body (its amount).
    Refund,
    /// `GET /receipts/verify?…` (router only).
    VerifyQuery,
    /// `GET /payments/{id}` (router only).
    Payment,
}

const BODY_KINDS: [Kind; 5] = [
    Kind::Start,
    Kind::Card,
    Kind::Challenge,
    Kind::Verify,
    Kind::Refund,
];
const ROUTED_KINDS: [Kind; 6] = [
    Kind::Start,
    Kind::Card,
    Kind::Challenge,
    Kind::Verify,
    Kind::VerifyQuery,
    Kind::Payment,
];

/// One input.
#[derive(Debug, Clone)]
pub struct ApiInput {
    /// Which body.
    pub kind: Kind,
    /// Through the router (else the typed path).
    pub routed: bool,
    /// The body (the query or the path for the `GET`s).
    pub body: Bytes,
    /// The `Content-Type` sent (router only).
    pub content_type: Option<String>,
    /// The `Idempotency-Key` sent (router only).
    pub key: Option<Vec<u8>>,
}

/// The JSON-API target.
pub struct ApiTarget {
    portal: Portal,
    ring: Arc<KeyRing>,
    format: CodeFormat,
    brands: BrandTable,
    now: DateTime<Utc>,
    router_every: u64,
}

impl ApiTarget {
    /// The target; one input in `router_every` goes through the router (0:
    /// none).
    pub fn new(router_every: u64) -> ApiTarget {
        let portal = Portal::new();
        ApiTarget {
            ring: portal.key_ring(),
            now: portal.now(),
            portal,
            format: CodeFormat::default(),
            brands: BrandTable::default(),
            router_every,
        }
    }

    /// A body of `kind` with the right keys and (mostly) well-made values.
    fn template(&self, g: &mut Gen, kind: Kind) -> Value {
        let p = &self.portal;
        match kind {
            Kind::Start => {
                let mut v = json!({"code": fields::code(g, &self.format, &p.codes)});
                if !g.one_in(5) {
                    let terms = if g.one_in(5) {
                        g.mutate(&p.terms)
                    } else {
                        p.terms.clone()
                    };
                    v["accepted_terms"] = json!(terms);
                }
                if g.one_in(2) {
                    v["language"] = json!(*g.pick(&["ky", "ru", "en", "KY", "de", ""]));
                }
                v
            }
            Kind::Card => {
                let [holder, pan, expiry, cvv, phone, email] = card_fields(g, self.now);
                json!({"holder": holder, "pan": pan, "expiry": expiry, "cvv": cvv,
                       "phone": phone, "email": email})
            }
            Kind::Challenge => match g.below(4) {
                0 => json!({"otp": "123456"}),
                1 => json!({"otp": g.mutate("123456")}),
                2 => json!({"fields": {"PaRes": g.string(), "MD": g.string()}}),
                _ => json!({"otp": g.digits(6), "fields": {"otp": g.digits(6)}}),
            },
            Kind::Verify => {
                let r = &p.receipt;
                if g.one_in(2) {
                    let content = match g.below(4) {
                        0 => r.content.clone(),
                        1 => r.content.replace('\n', "\r\n"),
                        2 => {
                            // One line changed.
                            let mut lines: Vec<String> =
                                r.content.split('\n').map(str::to_string).collect();
                            let i = g.below(lines.len());
                            lines[i] = g.mutate(&lines[i]);
                            lines.join("\n")
                        }
                        _ => g.mutate(&r.content),
                    };
                    json!({"signed_content": content, "signature": self.signature(g)})
                } else {
                    let number = if g.one_in(3) {
                        g.mutate(&r.number)
                    } else {
                        r.number.clone()
                    };
                    let mut v = json!({"number": number, "signature": self.signature(g)});
                    if g.one_in(2) {
                        v["key_id"] = json!(if g.one_in(3) {
                            g.string()
                        } else {
                            r.key_id.clone()
                        });
                    }
                    v
                }
            }
            Kind::Refund => {
                let amount = match g.below(6) {
                    0 => "510.50".to_string(),
                    1 => g.number_text(),
                    2 => "79228162514264337593543950335".to_string(),
                    3 => "0.001".to_string(),
                    4 => g.mutate("1234.56"),
                    _ => g.string(),
                };
                json!({"amount": amount, "reason": g.string(), "idempotency_key": g.string()})
            }
            Kind::VerifyQuery | Kind::Payment => Value::Null,
        }
    }

    fn signature(&self, g: &mut Gen) -> String {
        let s = &self.portal.receipt.signature;
        match g.below(5) {
            0 | 1 => s.clone(),
            2 => g.mutate(s),
            3 => format!("{}==", s.replace('-', "+").replace('_', "/")),
            _ => g.string(),
        }
    }

    /// A body of `kind`: the template, mutated, re-encoded with bytes
    /// changed, deeply nested, or raw.
    fn body(&self, g: &mut Gen, kind: Kind) -> Vec<u8> {
        match g.below(20) {
            0..=8 => serde_json::to_vec(&self.template(g, kind)).unwrap_or_default(),
            9..=13 => {
                let mut v = self.template(g, kind);
                for _ in 0..=g.below(3) {
                    g.mutate_json(&mut v);
                }
                serde_json::to_vec(&v).unwrap_or_default()
            }
            14 | 15 => {
                let b = serde_json::to_vec(&self.template(g, kind)).unwrap_or_default();
                g.mutate_bytes(&b)
            }
            16 => {
                let depth = *g.pick(&[100, 127, 128, 129, 1_000, 50_000]);
                g.nested(depth)
            }
            17 => serde_json::to_vec(&g.json(3)).unwrap_or_default(),
            _ => g.bytes(),
        }
    }

    fn typed(&self, kind: Kind, body: &Bytes, out: &mut Tally) -> Result<(), String> {
        let lang = Language::En;
        let invalid = |out: &mut Tally, what: &str| {
            out.hit(format!("{what}: 400 request.invalid (not the body)"));
            Ok(())
        };
        match kind {
            Kind::Start => {
                let Ok(b) = parse::<StartBody>(body, lang) else {
                    return invalid(out, "start");
                };
                let label = match self.format.parse(&b.code) {
                    Err(e) => e.code().to_string(),
                    Ok(_) => match b.accepted_terms.as_deref() {
                        None => "code ok, terms not accepted".into(),
                        Some(t) if t == self.portal.terms => "code ok, terms in force".into(),
                        Some(_) => "code ok, other terms".into(),
                    },
                };
                let language = b.language.map_or("default", |l| l.tag());
                out.hit(format!("start: {label}"));
                out.hit(format!("start: language {language}"));
            }
            Kind::Card => {
                let Ok(form) = parse::<CardForm>(body, lang) else {
                    return invalid(out, "card");
                };
                match form.validate(self.now, &self.brands) {
                    Ok((card, _)) => out.hit(format!("card: accepted {}", card.brand.id())),
                    Err(errors) => {
                        for e in &errors.0 {
                            out.hit(format!("card: {} {}", e.field.name(), e.code()));
                        }
                    }
                }
            }
            Kind::Challenge => {
                let Ok(req) = parse::<ChallengeBody>(body, lang) else {
                    return invalid(out, "challenge");
                };
                let mut response = ChallengeResponse { fields: req.fields };
                if let Some(otp) = req.otp {
                    response.fields.insert("otp".into(), otp.trim().to_string());
                }
                let label = match (response.fields.get("otp"), response.fields.len()) {
                    (Some(otp), _) if otp == "123456" => "the right one-time code",
                    (Some(_), _) => "another one-time code",
                    (None, 0) => "no fields",
                    (None, _) => "bank fields",
                };
                out.hit(format!("challenge: {label}"));
            }
            Kind::Verify => {
                let Ok(b) = parse::<VerifyBody>(body, lang) else {
                    return invalid(out, "verify");
                };
                // As the handler: a signature, then a content or a number.
                if b.signature.trim().is_empty() {
                    out.hit("verify: no signature (400)");
                    return Ok(());
                }
                let label = match (b.signed_content, b.number) {
                    (Some(content), _) if !content.trim().is_empty() => {
                        let text = content.trim().replace("\r\n", "\n");
                        match self.ring.verify_content(&text, &b.signature) {
                            Ok((facts, _)) => {
                                if facts.number != self.portal.receipt.number {
                                    return Err("a forged content verified".into());
                                }
                                "content: genuine".to_string()
                            }
                            Err(e) => format!("content: {}", e.code()),
                        }
                    }
                    (_, Some(number)) if !number.trim().is_empty() => {
                        match decode_signature(&b.signature) {
                            Err(e) => format!("number: {}", e.code()),
                            Ok(_) => match b.key_id.as_deref().map(str::trim) {
                                Some(k) if !k.is_empty() && self.ring.key(k).is_none() => {
                                    "number: unknown key".into()
                                }
                                _ => "number: signature well-formed".into(),
                            },
                        }
                    }
                    _ => "neither content nor number (400)".into(),
                };
                out.hit(format!("verify: {label}"));
            }
            Kind::Refund => {
                let v: Value = match serde_json::from_slice(body) {
                    Ok(v) => v,
                    Err(_) => return invalid(out, "refund"),
                };
                let Some(amount) = v.get("amount").and_then(Value::as_str) else {
                    out.hit("refund: no amount text");
                    return Ok(());
                };
                refund_amount(amount, out)?;
            }
            Kind::VerifyQuery | Kind::Payment => {}
        }
        Ok(())
    }

    fn routed(&mut self, input: &ApiInput, out: &mut Tally) -> Result<(), String> {
        let (method, path) = match input.kind {
            Kind::Start => ("POST", "/api/v1/payments".to_string()),
            Kind::Card => (
                "POST",
                format!("/api/v1/payments/{}/card", self.portal.card_payment()),
            ),
            Kind::Challenge => (
                "POST",
                format!(
                    "/api/v1/payments/{}/challenge",
                    self.portal.challenge_payment()
                ),
            ),
            Kind::Verify => ("POST", "/api/v1/receipts/verify".to_string()),
            Kind::VerifyQuery => (
                "GET",
                format!(
                    "/api/v1/receipts/verify?{}",
                    String::from_utf8_lossy(&input.body)
                ),
            ),
            Kind::Payment | Kind::Refund => {
                ("GET", format!("/api/v1/payments/{}", percent(&input.body)))
            }
        };
        let mut req = self.portal.request(method, &path);
        if let Some(ct) = &input.content_type {
            if let Ok(v) = HeaderValue::from_str(ct) {
                req = req.header(header::CONTENT_TYPE, v);
            }
        }
        if let Some(key) = &input.key {
            if let Ok(v) = HeaderValue::from_bytes(key) {
                req = req.header("idempotency-key", v);
            }
        }
        let body = if method == "POST" {
            Body::from(input.body.clone())
        } else {
            Body::empty()
        };
        let Ok(req) = req.body(body) else {
            out.hit("router: request not buildable");
            return Ok(());
        };
        let answer = self.portal.send(req);
        let route = match input.kind {
            Kind::Start => "POST /payments",
            Kind::Card => "POST /payments/{id}/card",
            Kind::Challenge => "POST /payments/{id}/challenge",
            Kind::Verify => "POST /receipts/verify",
            Kind::VerifyQuery => "GET /receipts/verify",
            Kind::Payment | Kind::Refund => "GET /payments/{id}",
        };
        out.hit(format!("router {route}: {}", answer.label()));
        if answer.status.is_server_error() {
            return Err(format!("{route} answered {}", answer.status));
        }
        Ok(())
    }
}

/// The refund amount's parse, and what an accepted amount must be: the
/// same number, positive or zero, exact to the tyiyn, and the same when
/// written and read again.
fn refund_amount(text: &str, out: &mut Tally) -> Result<(), String> {
    match Money::parse(text, Currency::KGS) {
        Ok(m) => {
            let again = Money::parse(&m.amount().to_string(), Currency::KGS);
            if again != Ok(m) {
                return Err("an amount does not read back as itself".into());
            }
            if let (Ok(a), Ok(b)) = (
                text.trim().parse::<f64>(),
                m.amount().to_string().parse::<f64>(),
            ) {
                if (a - b).abs() > 1e-9 * a.abs().max(1.0) {
                    return Err(format!("an amount changed when parsed ({a} → {b})"));
                }
            }
            match m.checked_minor_units() {
                Some(u) => {
                    if Money::from_minor_units(u, Currency::KGS) != m {
                        return Err("minor units do not give the amount back".into());
                    }
                    out.hit("refund: amount accepted");
                }
                None => out.hit("refund: amount accepted, too large for minor units"),
            }
        }
        Err(MoneyError::Negative) => out.hit("refund: amount negative"),
        Err(MoneyError::TooPrecise(..)) => out.hit("refund: amount not a number or too precise"),
        Err(_) => out.hit("refund: amount refused otherwise"),
    }
    Ok(())
}

impl Target for ApiTarget {
    type Input = ApiInput;

    fn name(&self) -> &'static str {
        "api"
    }

    fn generate(&mut self, g: &mut Gen, case: u64) -> ApiInput {
        let routed = self.router_every > 0 && case % self.router_every == self.router_every - 1;
        if !routed {
            let kind = *g.pick(&BODY_KINDS);
            return ApiInput {
                kind,
                routed,
                body: Bytes::from(self.body(g, kind)),
                content_type: None,
                key: None,
            };
        }
        let kind = *g.pick(&ROUTED_KINDS);
        let body = match kind {
            Kind::VerifyQuery => {
                let r = &self.portal.receipt;
                let q = match g.below(4) {
                    0 => format!("number={}&signature={}", r.number, r.signature),
                    1 => format!(
                        "number={}&key_id={}&signature={}",
                        percent(g.mutate(&r.number).as_bytes()),
                        percent(g.string().as_bytes()),
                        percent(self.signature(g).as_bytes())
                    ),
                    2 => percent(&g.bytes()).replace("%3D", "=").replace("%26", "&"),
                    _ => String::from_utf8_lossy(&g.mutate_bytes(b"number=1&signature=2"))
                        .chars()
                        .filter(|c| c.is_ascii_graphic())
                        .collect(),
                };
                q.into_bytes()
            }
            Kind::Payment => {
                if g.one_in(2) {
                    self.portal.card_payment().to_string().into_bytes()
                } else {
                    g.bytes()
                }
            }
            // A clean start of an issued code a third of the time: the
            // route's way in to the core (201), not only its refusals.
            Kind::Start if g.one_in(3) => {
                let code = g.pick(&self.portal.codes).clone();
                serde_json::to_vec(&json!({"code": code, "accepted_terms": self.portal.terms}))
                    .unwrap_or_default()
            }
            kind => self.body(g, kind),
        };
        let content_type = match g.below(12) {
            0 => None,
            1 => Some("text/plain".to_string()),
            2 => Some("application/json; charset=utf-8".to_string()),
            3 => Some("APPLICATION/JSON".to_string()),
            4 => Some(g.string()),
            _ => Some("application/json".to_string()),
        };
        let key = match g.below(8) {
            0 => Some(g.string().into_bytes()),
            1 => Some(g.bytes()),
            2 => Some(format!("k-{}", g.below(50)).into_bytes()),
            _ => None,
        };
        ApiInput {
            kind,
            routed,
            body: Bytes::from(body),
            content_type,
            key,
        }
    }

    fn run(&mut self, input: &ApiInput, out: &mut Tally) -> Result<(), String> {
        if input.routed {
            self.routed(input, out)
        } else {
            self.typed(input.kind, &input.body, out)
        }
    }

    fn show(&self, input: &ApiInput) -> String {
        format!(
            "{:?}{} {}",
            input.kind,
            if input.routed { " (router)" } else { "" },
            hex(&input.body)
        )
    }
}
