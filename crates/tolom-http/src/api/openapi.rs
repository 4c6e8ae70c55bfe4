//! The OpenAPI 3.1 document of the JSON API (`GET /openapi.json`).
//!
//! It is built from what the server itself uses, so that it cannot drift:
//! each operation lists every error it can answer, their statuses and
//! bodies from [`ApiError`] (the type the handlers answer with); the
//! patterns and lengths of what clients send are [`formats`]' (the ones
//! the handlers enforce; the payment code's follow the configured code
//! format); `lang` is an enum the server enforces. Responses carry
//! `links` from one operation to the next through the payment's `id`
//! (start → card → challenge → status → receipt → verification), so a
//! stateful client or tester reaches every operation. A property-based
//! run of schemathesis against a real `tolom demo` checks the document
//! against the server (`crates/tolom-cli/tests/openapi_schemathesis.rs`,
//! `docs/api.md`).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};
use tolom_core::code::CodeFormat;
use tolom_core::i18n::{text, Language, Text};

use crate::api::error::ApiError;
use crate::api::formats::{self, Format};
use crate::state::AppState;

/// What else an operation can answer, besides its own errors.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Body {
    /// No request body.
    None,
    /// A JSON body under the idempotency rules (`extract::JsonPost`):
    /// 400 for a body that does not parse or a bad key, 409 for a key
    /// reused or in flight, 415 for a body that is not JSON.
    Idempotent(&'static str),
    /// A JSON body without idempotency (400, 415).
    Plain(&'static str),
}

/// One documented operation.
struct Op {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    params: &'static [&'static str],
    body: Body,
    ok: (u16, &'static str),
    /// Its own errors; `lang` (400) and, for `store`, 503 are added.
    errors: &'static [Text],
    /// Families of error codes (`code.`, `card.`, ...) it answers too.
    families: &'static [&'static str],
    /// Reads or writes the store (`503 service.unavailable` when it is
    /// down).
    store: bool,
    /// Links from its success to other operations.
    links: &'static [Link],
}

/// A link: the target operation and how its parameters and body come
/// from the response (`$response.body#/...`).
struct Link {
    name: &'static str,
    target: &'static str,
    params: &'static [(&'static str, &'static str)],
    body: &'static [(&'static str, &'static str)],
}

const PAYMENT_ID: &[(&str, &str)] = &[("path.id", "$response.body#/id")];

/// From a payment (201 or 200): everything that takes its id.
const FROM_PAYMENT: &[Link] = &[
    Link {
        name: "GetPayment",
        target: "getPayment",
        params: PAYMENT_ID,
        body: &[],
    },
    Link {
        name: "SubmitCard",
        target: "submitCard",
        params: PAYMENT_ID,
        body: &[],
    },
    Link {
        name: "CompleteChallenge",
        target: "completeChallenge",
        params: PAYMENT_ID,
        body: &[],
    },
    Link {
        name: "GetReceipt",
        target: "getReceipt",
        params: PAYMENT_ID,
        body: &[],
    },
];

const OPS: &[Op] = &[
    Op {
        method: "get",
        path: "/charges/{code}",
        id: "lookUp",
        summary: "Look a payment code up: masked payer, amount, status (rate-limited per client, with the starts).",
        params: &["code"],
        body: Body::None,
        ok: (200, "Charge"),
        errors: &[Text::CodeNotFound, Text::RequestRateLimited],
        families: &["code."],
        store: true,
        links: &[Link {
            name: "StartPayment",
            target: "startPayment",
            params: &[],
            body: &[("code", "$response.body#/code")],
        }],
    },
    Op {
        method: "post",
        path: "/payments",
        id: "startPayment",
        summary: "Start paying a code after accepting the agreement in force (GET /terms). A code held by another payment is a 409 with Retry-After.",
        params: &[],
        body: Body::Idempotent("StartPayment"),
        ok: (201, "Payment"),
        errors: &[
            Text::CodeNotFound,
            Text::TermsNotAccepted,
            Text::TermsOutdated,
            Text::RequestConflict,
            Text::RequestRateLimited,
        ],
        families: &["code.", "charge."],
        store: true,
        links: FROM_PAYMENT,
    },
    Op {
        method: "get",
        path: "/payments/{id}",
        id: "getPayment",
        summary: "A payment's status.",
        params: &["id"],
        body: Body::None,
        ok: (200, "Payment"),
        errors: &[Text::PaymentNotFound],
        families: &[],
        store: true,
        links: FROM_PAYMENT,
    },
    Op {
        method: "post",
        path: "/payments/{id}/card",
        id: "submitCard",
        summary: "Send the card; every field error at once (`fields`). A decline is a 200 with state `declined`; 3-D Secure is a 200 with state `action_required` and a `challenge`.",
        params: &["id"],
        body: Body::Idempotent("CardForm"),
        ok: (200, "Payment"),
        errors: &[
            Text::PaymentNotFound,
            Text::PaymentAlreadySubmitted,
            Text::PaymentExpired,
            Text::RequestConflict,
        ],
        families: &["card.", "contact.", "charge."],
        store: true,
        links: FROM_PAYMENT,
    },
    Op {
        method: "post",
        path: "/payments/{id}/challenge",
        id: "completeChallenge",
        summary: "Continue after 3-D Secure: the one-time code (`otp`) or the fields the bank posted back.",
        params: &["id"],
        body: Body::Idempotent("ChallengeResponse"),
        ok: (200, "Payment"),
        errors: &[
            Text::PaymentNotFound,
            Text::PaymentNotAwaitingChallenge,
            Text::PaymentExpired,
            Text::RequestConflict,
        ],
        families: &[],
        store: true,
        links: FROM_PAYMENT,
    },
    Op {
        method: "get",
        path: "/payments/{id}/receipt",
        id: "getReceipt",
        summary: "The signed receipt of a paid payment, with its verification link.",
        params: &["id"],
        body: Body::None,
        ok: (200, "Receipt"),
        errors: &[Text::PaymentNotFound, Text::ReceiptNotAvailable],
        families: &[],
        store: true,
        links: &[
            Link {
                name: "VerifyReceipt",
                target: "verifyReceipt",
                params: &[
                    ("query.number", "$response.body#/number"),
                    ("query.key_id", "$response.body#/key_id"),
                    ("query.signature", "$response.body#/signature"),
                ],
                body: &[],
            },
            Link {
                name: "VerifyReceiptContent",
                target: "verifyReceiptContent",
                params: &[],
                body: &[
                    ("signed_content", "$response.body#/signed_content"),
                    ("signature", "$response.body#/signature"),
                ],
            },
        ],
    },
    Op {
        method: "get",
        path: "/services",
        id: "listServices",
        summary: "The services catalogue with tariffs (an unpublished fee: `published` false, no amount, its notice).",
        params: &[],
        body: Body::None,
        ok: (200, "Services"),
        errors: &[],
        families: &[],
        store: false,
        links: &[],
    },
    Op {
        method: "get",
        path: "/terms",
        id: "getTerms",
        summary: "The user agreement in force (text in the request's language) and every edition.",
        params: &[],
        body: Body::None,
        ok: (200, "Terms"),
        errors: &[],
        families: &[],
        store: true,
        links: &[Link {
            name: "StartPayment",
            target: "startPayment",
            params: &[],
            body: &[("accepted_terms", "$response.body#/in_force/id")],
        }],
    },
    Op {
        method: "get",
        path: "/receipts/verify",
        id: "verifyReceipt",
        summary: "Check a receipt by its number, key id (optional: else every key of the ring) and signature, against the key ring. A well-formed reference that is not genuine is a 200 with `genuine: false` and the reason.",
        params: &["number", "key_id", "signature"],
        body: Body::None,
        ok: (200, "Verification"),
        errors: &[Text::RequestInvalid],
        families: &[],
        store: true,
        links: &[],
    },
    Op {
        method: "post",
        path: "/receipts/verify",
        id: "verifyReceiptContent",
        summary: "Check a receipt's signed content and signature (the receipt's JSON as served will do: only what is signed counts), or its number, key id and signature, then compare it with the records.",
        params: &[],
        body: Body::Plain("ReceiptClaim"),
        ok: (200, "Verification"),
        errors: &[],
        families: &[],
        store: true,
        links: &[],
    },
    Op {
        method: "get",
        path: "/receipts/keys",
        id: "receiptKeys",
        summary: "The public key ring receipts are verified against: current and retired Ed25519 keys with their validity periods.",
        params: &[],
        body: Body::None,
        ok: (200, "KeyRing"),
        errors: &[],
        families: &[],
        store: false,
        links: &[],
    },
    Op {
        method: "get",
        path: "/openapi.json",
        id: "openapi",
        summary: "This document.",
        params: &[],
        body: Body::None,
        ok: (200, "OpenApi"),
        errors: &[],
        families: &[],
        store: false,
        links: &[],
    },
];

/// A string schema of a [`Format`].
fn string(format: &Format, description: &str) -> Value {
    json!({
        "type": "string",
        "pattern": format.pattern,
        "maxLength": format.max_length,
        "description": description,
        "examples": [format.example],
    })
}

/// The same, `null` allowed too (an optional field sent as `null` is
/// "not given").
fn nullable(format: &Format, description: &str) -> Value {
    let mut s = string(format, description);
    s["type"] = json!(["string", "null"]);
    s
}

fn parameter(name: &str, code: &Format) -> Value {
    let (place, required, schema) = match name {
        "code" => (
            "path",
            true,
            string(
                code,
                "The payment code: its digits, optionally grouped by single spaces or dashes.",
            ),
        ),
        "id" => (
            "path",
            true,
            json!({"type": "string", "format": "uuid", "description": "The payment's id (`id` of a Payment)."}),
        ),
        "number" => (
            "query",
            true,
            string(&formats::receipt_number(), "The receipt number."),
        ),
        "key_id" => (
            "query",
            false,
            string(
                &formats::key_id(),
                "The signing key's id; empty or absent: every key of the ring is tried.",
            ),
        ),
        _ => (
            "query",
            true,
            string(&formats::signature(), "The Ed25519 signature, base64url."),
        ),
    };
    json!({"name": name, "in": place, "required": required, "schema": schema})
}

fn schemas(code: &Format) -> Value {
    let s = |props: Value, required: &[&str]| json!({"type": "object", "properties": props, "required": required});
    let money = json!({"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$", "examples": ["885.00"]});
    let msg = json!({"type": ["object", "null"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}, "required": ["code", "message"]});
    let card: Map<String, Value> = formats::CARD_FIELDS
        .into_iter()
        .map(|f| {
            let description = match f.name() {
                "holder" => "Cardholder name as on the card, Latin letters.",
                "pan" => "Card number; its Luhn digit and brand range are checked too (422 `card.*`).",
                "expiry" => "MM/YY, MM/YYYY, MMYY or MMYYYY; a month past is 422 `card.expired`.",
                "cvv" => "CVV/CVC.",
                "phone" => "Written with + and the country code, or nationally in Kyrgyzstan; judged by libphonenumber's metadata (422 `contact.phone_*`).",
                _ => "Where the receipt is sent.",
            };
            let mut schema = string(&formats::card_field(f), description);
            if f.name() == "email" {
                schema["format"] = json!("email");
            }
            (f.name().to_string(), schema)
        })
        .collect();
    let card_required: Vec<&str> = formats::CARD_FIELDS.iter().map(|f| f.name()).collect();
    let card_example: Map<String, Value> = formats::CARD_FIELDS
        .into_iter()
        .map(|f| (f.name().to_string(), json!(formats::card_field(f).example)))
        .collect();
    let number = formats::receipt_number();
    json!({
        "Error": s(json!({"error": {"type": "object", "properties": {
            "code": {"type": "string", "description": "Stable machine code, e.g. `code.check_digit`."},
            "message": {"type": "string", "description": "The message in the request's language."},
            "fields": {"type": "array", "description": "Every invalid field of a card form (422), else empty.", "items": {"type": "object", "properties": {
                "field": {"type": "string", "enum": card_required},
                "code": {"type": "string"}, "message": {"type": "string"}}, "required": ["field", "code", "message"]}}
        }, "required": ["code", "message", "fields"]}}), &["error"]),
        "Charge": s(json!({
            "code": {"type": "string"}, "code_grouped": {"type": "string"}, "service": {"type": "string"},
            "service_name": {"type": "string"}, "tariff": {"type": ["object", "null"]},
            "payer": {"type": "string", "description": "Masked: surname and initial."},
            "amount": money, "fee": money, "total": money, "currency": {"type": "string"},
            "status": {"type": "string", "enum": ["unpaid", "paid", "expired", "cancelled"]},
            "status_text": {"type": "string"}, "payable": {"type": "boolean"}, "not_payable": msg,
            "expires_at": {"type": "string", "format": "date-time"},
            "paid_via": {
                "type": ["object", "null"],
                "description": "How a paid code was paid: by card here, or reported by another channel (a bank's app, a terminal, ELQR, a bank's cash desk).",
                "properties": {
                    "channel": {"type": "string", "enum": ["card", "bank_app", "terminal", "elqr", "bank_branch"]},
                    "channel_name": {"type": "string"},
                    "paid_at": {"type": "string", "format": "date-time"},
                    "text": {"type": "string", "description": "'Paid on <date> via <channel>' in the request's language."}
                },
                "required": ["channel", "paid_at"]
            }
        }), &["code", "payer", "amount", "status", "payable"]),
        "StartPayment": {
            "type": "object",
            "properties": {
                "code": string(code, "The payment code."),
                "accepted_terms": string(&formats::accepted_terms(), "Id of the agreement edition in force (`in_force.id` of GET /terms); another is 409 `terms.outdated`."),
                "language": {"enum": ["ky", "ru", "en", null], "description": "The payer's language (e-mails, receipts); null or absent: the request's."}
            },
            "required": ["code", "accepted_terms"],
            "examples": [{"code": code.example, "accepted_terms": formats::accepted_terms().example, "language": "ru"}]
        },
        "CardForm": {
            "type": "object",
            "properties": card,
            "required": card_required,
            "examples": [card_example]
        },
        "ChallengeResponse": {
            "type": "object",
            "properties": {
                "otp": {"type": ["string", "null"], "description": "The one-time code."},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}, "description": "The fields the bank posted back."}
            },
            "examples": [{"otp": "123456"}]
        },
        "Payment": s(json!({
            "id": {"type": "string", "format": "uuid"},
            "state": {"type": "string", "enum": ["created", "authorizing", "action_required", "unknown", "succeeded", "declined", "failed", "expired", "partially_refunded", "refunded", "duplicate", "returned"], "description": "`duplicate`: approved for a code another payment had paid (the card was charged twice): the money is being given back; `returned`: it was given back."},
            "state_text": {"type": "string"}, "code": {"type": "string"}, "service": {"type": "string"},
            "amount": money, "fee": money, "total": money, "currency": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time"},
            "terms_edition": {"type": "string"},
            "card": {"type": ["object", "null"], "properties": {"masked_pan": {"type": "string"}, "brand": {"type": "string"}}},
            "challenge": {"type": ["object", "null"], "properties": {"kind": {"type": "string", "enum": ["otp", "redirect"]}, "hint": {"type": ["string", "null"]}, "url": {"type": "string"}, "method": {"type": "string"}, "fields": {"type": "object"}}},
            "decline": msg, "failure": msg,
            "receipt_number": {"type": ["string", "null"], "pattern": number.pattern},
            "links": {"type": "object", "additionalProperties": {"type": "string"}}
        }), &["id", "state", "total"]),
        "Receipt": {"type": "object", "description": "The signed receipt (tolom_core::receipt::Receipt) plus `format`, `signed_content` (the exact text the Ed25519 signature covers; see docs/security.md, Receipts) and `verify_url`.",
            "properties": {"number": {"type": "string", "pattern": number.pattern}, "signature": {"type": "string", "pattern": formats::signature().pattern, "description": "Ed25519, base64url without padding."},
                "key_id": {"type": "string", "pattern": formats::key_id().pattern},
                "format": {"type": "string", "enum": ["tolom-receipt/2"]}, "signed_content": {"type": "string"}, "verify_url": {"type": "string"}},
            "required": ["number", "signature", "key_id", "format", "signed_content", "verify_url"]},
        "ReceiptClaim": {"type": "object", "description": "`signed_content` and `signature` (a receipt's JSON as served), or `number`, `key_id` (optional) and `signature`. Every field given must have its form (else 400 `request.invalid`); a well-formed claim that is not genuine is a 200 with `genuine: false`.",
            "properties": {
                "signed_content": nullable(&formats::signed_content(), "The receipt's signed content (`signed_content` of a Receipt)."),
                "number": nullable(&number, "The receipt number."),
                "key_id": nullable(&formats::key_id(), "The key id; empty, null or absent: every key of the ring."),
                "signature": string(&formats::signature(), "The Ed25519 signature.")
            },
            "required": ["signature"],
            "anyOf": [
                {"properties": {"signed_content": {"type": "string"}}, "required": ["signed_content"]},
                {"properties": {"number": {"type": "string"}}, "required": ["number"]}
            ]},
        "KeyRing": s(json!({"format": {"type": "string"}, "keys": {"type": "array", "items": {"type": "object", "properties": {
            "key_id": {"type": "string"}, "algorithm": {"type": "string", "enum": ["Ed25519"]}, "public_key": {"type": "string", "description": "32 bytes, base64url."},
            "public_key_pem": {"type": "string"}, "valid_from": {"type": ["string", "null"], "format": "date-time"},
            "valid_until": {"type": ["string", "null"], "format": "date-time", "description": "When retired: it verifies only receipts whose facts are older."}}}}}), &["keys"]),
        "Services": s(json!({"services": {"type": "array", "items": {"type": "object"}}}), &["services"]),
        "Terms": s(json!({"in_force": {"type": "object", "properties": {"id": {"type": "string"}, "text": {"type": "string"}}, "required": ["id"]}, "editions": {"type": "array", "items": {"type": "object"}}}), &["in_force", "editions"]),
        "Verification": s(json!({"genuine": {"type": "boolean"}, "message": {"type": "string"},
            "reason": {"type": ["object", "null"], "description": "Why not genuine: `receipt.check.*` code and message."},
            "receipt": {"type": ["object", "null"], "description": "The receipt as signed (a Receipt)."},
            "key": {"type": "object", "properties": {"key_id": {"type": "string"}, "valid_from": {"type": ["string", "null"]}, "valid_until": {"type": ["string", "null"]}}},
            "status_now": {"type": ["string", "null"], "description": "The payment's status now, when a refund has changed it since the receipt."}}), &["genuine", "message"]),
        "OpenApi": {"type": "object"}
    })
}

/// `GET /openapi.json`: the document for this instance's code format.
pub(crate) async fn serve(State(state): State<AppState>) -> Json<Value> {
    Json(document_for(&state.tolom.config().code_format))
}

/// Every error an operation can answer, in a stable order.
fn errors_of(op: &Op) -> Vec<Text> {
    let mut errors = vec![Text::RequestLangUnsupported];
    match op.body {
        Body::None => {}
        Body::Plain(_) => errors.extend([Text::RequestInvalid, Text::RequestUnsupportedMediaType]),
        Body::Idempotent(_) => errors.extend([
            Text::RequestInvalid,
            Text::RequestUnsupportedMediaType,
            Text::IdempotencyKeyInvalid,
            Text::IdempotencyKeyReused,
            Text::IdempotencyInProgress,
        ]),
    }
    errors.extend(op.errors.iter().copied());
    errors.extend(Text::ALL.into_iter().filter(|t| {
        t.file() == "errors.ftl"
            && t.variables().is_empty()
            && op.families.iter().any(|f| t.code().starts_with(f))
            && !matches!(t, Text::CodeNotFound)
    }));
    if op.store {
        errors.push(Text::ServiceUnavailable);
    }
    let mut seen = Vec::new();
    errors.retain(|t| {
        let new = !seen.contains(t);
        seen.push(*t);
        new
    });
    errors
}

/// The errors an operation can answer (for tests and docs).
pub fn errors_of_operation(operation_id: &str) -> Vec<Text> {
    OPS.iter()
        .find(|op| op.id == operation_id)
        .map(errors_of)
        .unwrap_or_default()
}

fn links(op: &Op) -> Value {
    let mut out = Map::new();
    for link in op.links {
        let mut l = json!({"operationId": link.target,
            "description": format!("{} with what this answer carries.", link.target)});
        if !link.params.is_empty() {
            let params: Map<String, Value> = link
                .params
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            l["parameters"] = Value::Object(params);
        }
        if !link.body.is_empty() {
            let body: Map<String, Value> = link
                .body
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            l["requestBody"] = Value::Object(body);
        }
        out.insert(link.name.to_string(), l);
    }
    Value::Object(out)
}

/// The OpenAPI document with the default code format.
pub fn document() -> Value {
    document_for(&CodeFormat::default())
}

/// The OpenAPI document served at `/api/v1/openapi.json`, for an
/// instance whose codes have `code_format`.
pub fn document_for(code_format: &CodeFormat) -> Value {
    let code = formats::code(code_format);
    let retry_after = json!({"description": "Seconds to wait before trying again.", "schema": {"type": "string", "pattern": "^[0-9]+$"}});
    let mut paths = Map::new();
    for op in OPS {
        let mut params: Vec<Value> = op.params.iter().map(|p| parameter(p, &code)).collect();
        params.push(json!({"name": "lang", "in": "query", "required": false,
            "description": "Language of messages (else the language cookie, else Accept-Language, else ky). Any other value is 400 `request.lang_unsupported`.",
            "schema": {"type": "string", "enum": formats::LANGUAGES}}));
        if let Body::Idempotent(_) = op.body {
            let key = formats::idempotency_key();
            params.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
                "description": "Same key and same body: the same answer (header `Idempotent-Replayed: true`). Same key, different body: 409 `idempotency.key_reused`; while the first is running: 409 `idempotency.in_progress`. Another form: 400 `idempotency.key_invalid`.",
                "schema": {"type": "string", "pattern": key.pattern, "maxLength": key.max_length, "examples": [key.example]}}));
        }
        let mut responses = Map::new();
        let mut ok = json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", op.ok.1)}}}});
        if let Body::Idempotent(_) = op.body {
            ok["headers"] = json!({"Idempotent-Replayed": {"description": "`true` when this is the first answer to the same key and body, again.", "schema": {"type": "string", "enum": ["true"]}}});
        }
        if !op.links.is_empty() {
            ok["links"] = links(op);
        }
        responses.insert(op.ok.0.to_string(), ok);
        for error in errors_of(op) {
            let answer = ApiError::new(error, Language::En);
            let status = answer.status();
            let entry = responses
                .entry(status.as_u16().to_string())
                .or_insert_with(|| {
                    json!({"description": "", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Error"},
                        "examples": {}
                    }}})
                });
            let line = format!("`{}`: {}", error.code(), text(error, Language::En));
            if let Some(d) = entry.get_mut("description") {
                let prev = d.as_str().unwrap_or("").to_string();
                *d = Value::String(if prev.is_empty() {
                    line
                } else {
                    format!("{prev}; {line}")
                });
            }
            if let Some(examples) = entry.pointer_mut("/content/application~1json/examples") {
                examples[error.code()] = json!({"value": answer.body()});
            }
            // 429, and a code held by another payment (409): when to
            // try again.
            if matches!(
                error,
                Text::RequestRateLimited | Text::ChargePaymentInProgress
            ) {
                entry["headers"] = json!({"Retry-After": retry_after});
            }
        }
        let mut operation = json!({
            "operationId": op.id,
            "summary": op.summary,
            "parameters": params,
            "responses": responses,
        });
        if let Body::Idempotent(body) | Body::Plain(body) = op.body {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}}});
        }
        let entry = paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}));
        entry[op.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tolom payment API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Pay Kyrgyz state-service fees by payment code. Errors carry stable codes and messages in ky, ru or en. What clients send is held to the patterns and lengths given here. See docs/api.md."
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {"schemas": schemas(&code)}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_link_names_an_operation_and_its_parameters() {
        let doc = document();
        let ids: Vec<&str> = OPS.iter().map(|o| o.id).collect();
        for op in OPS {
            for link in op.links {
                assert!(ids.contains(&link.target), "{} → {}", op.id, link.target);
                let target = OPS.iter().find(|o| o.id == link.target).expect("target");
                for (param, _) in link.params {
                    let name = param.split_once('.').map_or(*param, |(_, n)| n);
                    assert!(target.params.contains(&name), "{}: {param}", link.target);
                }
            }
        }
        // The payment flow is linked end to end through the payment's id.
        let start = &doc["paths"]["/payments"]["post"]["responses"]["201"]["links"];
        for target in [
            "getPayment",
            "submitCard",
            "completeChallenge",
            "getReceipt",
        ] {
            assert!(
                start
                    .as_object()
                    .into_iter()
                    .flatten()
                    .any(|(_, l)| l["operationId"] == target),
                "{target}"
            );
        }
        assert_eq!(
            doc["paths"]["/payments/{id}/card"]["post"]["responses"]["200"]["links"]
                ["CompleteChallenge"]["parameters"]["path.id"],
            "$response.body#/id"
        );
    }

    #[test]
    fn every_operation_lists_lang_and_its_body_errors() {
        let doc = document();
        for op in OPS {
            let responses = &doc["paths"][op.path][op.method]["responses"];
            assert!(
                responses["400"]["content"]["application/json"]["examples"]
                    ["request.lang_unsupported"]
                    .is_object(),
                "{}",
                op.id
            );
            if op.body != Body::None {
                assert!(responses["415"].is_object(), "{}", op.id);
            }
            if op.store {
                assert!(responses["503"].is_object(), "{}", op.id);
            }
        }
        let card = &doc["paths"]["/payments/{id}/card"]["post"]["responses"];
        assert!(
            card["422"]["content"]["application/json"]["examples"]["card.pan_luhn"].is_object()
        );
        assert!(
            card["422"]["content"]["application/json"]["examples"]["contact.email_invalid"]
                .is_object()
        );
        let start = &doc["paths"]["/payments"]["post"]["responses"];
        assert!(start["409"]["headers"]["Retry-After"].is_object());
        assert!(start["429"]["headers"]["Retry-After"].is_object());
        assert!(
            start["422"]["content"]["application/json"]["examples"]["code.check_digit"].is_object()
        );
    }

    #[test]
    fn the_documented_formats_are_the_enforced_ones() {
        let doc = document();
        let card = &doc["components"]["schemas"]["CardForm"]["properties"];
        for f in formats::CARD_FIELDS {
            assert_eq!(
                card[f.name()]["pattern"],
                formats::card_field(f).pattern.as_str()
            );
        }
        let code = &doc["paths"]["/charges/{code}"]["get"]["parameters"][0]["schema"];
        assert_eq!(
            code["pattern"],
            formats::code(&CodeFormat::default()).pattern.as_str()
        );
    }
}
