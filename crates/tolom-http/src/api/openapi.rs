//! The OpenAPI 3.1 document of the JSON API (`GET /openapi.json`). Each
//! operation lists the errors it can answer; their statuses and bodies come
//! from [`ApiError`], the type the handlers answer with, so the document
//! cannot drift from the server. A test requests every documented path to
//! prove it is routed.

use axum::Json;
use serde_json::{json, Map, Value};
use tolom_core::i18n::{text, Language, Text};

use crate::api::error::ApiError;

/// One documented operation.
struct Op {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    params: &'static [(&'static str, &'static str)],
    body: Option<&'static str>,
    ok: (u16, &'static str),
    errors: &'static [Text],
    idempotent: bool,
}

const OPS: &[Op] = &[
    Op {
        method: "get",
        path: "/charges/{code}",
        id: "lookUp",
        summary: "Look a payment code up: masked payer, amount, status (rate-limited per client).",
        params: &[("code", "path")],
        body: None,
        ok: (200, "Charge"),
        errors: &[Text::CodeCheckDigit, Text::CodeNotFound, Text::RequestRateLimited],
        idempotent: false,
    },
    Op {
        method: "post",
        path: "/payments",
        id: "startPayment",
        summary: "Start paying a code after accepting the agreement in force.",
        params: &[],
        body: Some("StartPayment"),
        ok: (201, "Payment"),
        errors: &[
            Text::CodeNotFound,
            Text::TermsNotAccepted,
            Text::TermsOutdated,
            Text::ChargeAlreadyPaid,
            Text::ChargePaymentInProgress,
            Text::RequestConflict,
            Text::IdempotencyKeyReused,
            Text::RequestInvalid,
            Text::RequestUnsupportedMediaType,
            Text::RequestRateLimited,
        ],
        idempotent: true,
    },
    Op {
        method: "get",
        path: "/payments/{id}",
        id: "getPayment",
        summary: "A payment's status.",
        params: &[("id", "path")],
        body: None,
        ok: (200, "Payment"),
        errors: &[Text::PaymentNotFound],
        idempotent: false,
    },
    Op {
        method: "post",
        path: "/payments/{id}/card",
        id: "submitCard",
        summary: "Send the card; field errors come all at once. A decline is a 200 with state `declined`.",
        params: &[("id", "path")],
        body: Some("CardForm"),
        ok: (200, "Payment"),
        errors: &[
            Text::CardPanLuhn,
            Text::PaymentNotFound,
            Text::PaymentAlreadySubmitted,
            Text::PaymentExpired,
            Text::RequestConflict,
            Text::IdempotencyKeyReused,
        ],
        idempotent: true,
    },
    Op {
        method: "post",
        path: "/payments/{id}/challenge",
        id: "completeChallenge",
        summary: "Continue after 3-D Secure: the one-time code (`otp`) or the fields the bank posted back.",
        params: &[("id", "path")],
        body: Some("ChallengeResponse"),
        ok: (200, "Payment"),
        errors: &[
            Text::PaymentNotFound,
            Text::PaymentNotAwaitingChallenge,
            Text::PaymentExpired,
            Text::RequestConflict,
        ],
        idempotent: true,
    },
    Op {
        method: "get",
        path: "/payments/{id}/receipt",
        id: "getReceipt",
        summary: "The signed receipt of a paid payment, with its verification link.",
        params: &[("id", "path")],
        body: None,
        ok: (200, "Receipt"),
        errors: &[Text::PaymentNotFound, Text::ReceiptNotAvailable],
        idempotent: false,
    },
    Op {
        method: "get",
        path: "/services",
        id: "listServices",
        summary: "The services catalogue with tariffs (an unpublished fee: `published` false, no amount, its notice).",
        params: &[],
        body: None,
        ok: (200, "Services"),
        errors: &[],
        idempotent: false,
    },
    Op {
        method: "get",
        path: "/terms",
        id: "getTerms",
        summary: "The user agreement in force (text in the request's language) and every edition.",
        params: &[],
        body: None,
        ok: (200, "Terms"),
        errors: &[Text::ServiceUnavailable],
        idempotent: false,
    },
    Op {
        method: "get",
        path: "/receipts/verify",
        id: "verifyReceipt",
        summary: "Check a receipt by its number, key id (optional: else every key of the ring) and signature, against the key ring.",
        params: &[("number", "query"), ("key_id", "query?"), ("signature", "query")],
        body: None,
        ok: (200, "Verification"),
        errors: &[Text::RequestInvalid],
        idempotent: false,
    },
    Op {
        method: "post",
        path: "/receipts/verify",
        id: "verifyReceiptContent",
        summary: "Check a receipt's signed content and signature (the receipt's JSON as served will do: only what is signed counts), then compare it with the records.",
        params: &[],
        body: Some("ReceiptClaim"),
        ok: (200, "Verification"),
        errors: &[Text::RequestInvalid, Text::RequestUnsupportedMediaType],
        idempotent: false,
    },
    Op {
        method: "get",
        path: "/receipts/keys",
        id: "receiptKeys",
        summary: "The public key ring receipts are verified against: current and retired Ed25519 keys with their validity periods.",
        params: &[],
        body: None,
        ok: (200, "KeyRing"),
        errors: &[],
        idempotent: false,
    },
    Op {
        method: "get",
        path: "/openapi.json",
        id: "openapi",
        summary: "This document.",
        params: &[],
        body: None,
        ok: (200, "OpenApi"),
        errors: &[],
        idempotent: false,
    },
];

fn schemas() -> Value {
    let s = |props: Value, required: &[&str]| json!({"type": "object", "properties": props, "required": required});
    let money = json!({"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$", "examples": ["885.00"]});
    let msg = json!({"type": ["object", "null"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}});
    json!({
        "Error": s(json!({"error": {"type": "object", "properties": {
            "code": {"type": "string", "description": "Stable machine code, e.g. `code.check_digit`."},
            "message": {"type": "string", "description": "The message in the request's language."},
            "fields": {"type": "array", "items": {"type": "object", "properties": {
                "field": {"type": "string", "enum": ["holder", "pan", "expiry", "cvv", "phone", "email"]},
                "code": {"type": "string"}, "message": {"type": "string"}}}}
        }, "required": ["code", "message", "fields"]}}), &["error"]),
        "Charge": s(json!({
            "code": {"type": "string"}, "code_grouped": {"type": "string"}, "service": {"type": "string"},
            "service_name": {"type": "string"}, "tariff": {"type": ["object", "null"]},
            "payer": {"type": "string", "description": "Masked: surname and initial."},
            "amount": money, "fee": money, "total": money, "currency": {"type": "string"},
            "status": {"type": "string", "enum": ["unpaid", "paid", "expired", "cancelled"]},
            "status_text": {"type": "string"}, "payable": {"type": "boolean"}, "not_payable": msg,
            "expires_at": {"type": "string", "format": "date-time"}
        }), &["code", "payer", "amount", "status", "payable"]),
        "StartPayment": s(json!({
            "code": {"type": "string"},
            "accepted_terms": {"type": ["string", "null"], "description": "Id of the agreement edition in force (GET /terms)."},
            "language": {"type": "string", "enum": ["ky", "ru", "en"]}
        }), &["code", "accepted_terms"]),
        "CardForm": s(json!({
            "holder": {"type": "string"}, "pan": {"type": "string"}, "expiry": {"type": "string", "examples": ["12/30"]},
            "cvv": {"type": "string"}, "phone": {"type": "string"}, "email": {"type": "string"}
        }), &["holder", "pan", "expiry", "cvv", "phone", "email"]),
        "ChallengeResponse": s(json!({
            "otp": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}}
        }), &[]),
        "Payment": s(json!({
            "id": {"type": "string", "format": "uuid"},
            "state": {"type": "string", "enum": ["created", "authorizing", "action_required", "unknown", "succeeded", "declined", "failed", "expired", "partially_refunded", "refunded"]},
            "state_text": {"type": "string"}, "code": {"type": "string"}, "service": {"type": "string"},
            "amount": money, "fee": money, "total": money, "currency": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time"},
            "terms_edition": {"type": "string"},
            "card": {"type": ["object", "null"], "properties": {"masked_pan": {"type": "string"}, "brand": {"type": "string"}}},
            "challenge": {"type": ["object", "null"], "properties": {"kind": {"type": "string", "enum": ["otp", "redirect"]}, "hint": {"type": ["string", "null"]}, "url": {"type": "string"}, "method": {"type": "string"}, "fields": {"type": "object"}}},
            "decline": msg, "failure": msg, "receipt_number": {"type": ["string", "null"]},
            "links": {"type": "object"}
        }), &["id", "state", "total"]),
        "Receipt": {"type": "object", "description": "The signed receipt (tolom_core::receipt::Receipt) plus `format`, `signed_content` (the exact text the Ed25519 signature covers; see docs/security.md, Receipts) and `verify_url`.",
            "properties": {"number": {"type": "string"}, "signature": {"type": "string", "description": "Ed25519, base64url without padding."}, "key_id": {"type": "string"},
                "format": {"type": "string", "enum": ["tolom-receipt/2"]}, "signed_content": {"type": "string"}, "verify_url": {"type": "string"}}},
        "ReceiptClaim": {"type": "object", "description": "`signed_content` and `signature` (a receipt's JSON as served), or `number`, `key_id` (optional) and `signature`.",
            "properties": {"signed_content": {"type": "string"}, "number": {"type": "string"}, "key_id": {"type": "string"}, "signature": {"type": "string"}}, "required": ["signature"]},
        "KeyRing": s(json!({"format": {"type": "string"}, "keys": {"type": "array", "items": {"type": "object", "properties": {
            "key_id": {"type": "string"}, "algorithm": {"type": "string", "enum": ["Ed25519"]}, "public_key": {"type": "string", "description": "32 bytes, base64url."},
            "public_key_pem": {"type": "string"}, "valid_from": {"type": ["string", "null"], "format": "date-time"},
            "valid_until": {"type": ["string", "null"], "format": "date-time", "description": "When retired: it verifies only receipts whose facts are older."}}}}}), &["keys"]),
        "Services": s(json!({"services": {"type": "array", "items": {"type": "object"}}}), &["services"]),
        "Terms": s(json!({"in_force": {"type": "object"}, "editions": {"type": "array", "items": {"type": "object"}}}), &["in_force", "editions"]),
        "Verification": s(json!({"genuine": {"type": "boolean"}, "message": {"type": "string"},
            "reason": {"type": ["object", "null"], "description": "Why not genuine: `receipt.check.*` code and message."},
            "receipt": {"type": ["object", "null"], "description": "The receipt as signed (a Receipt)."},
            "key": {"type": "object", "properties": {"key_id": {"type": "string"}, "valid_from": {"type": ["string", "null"]}, "valid_until": {"type": ["string", "null"]}}},
            "status_now": {"type": ["string", "null"], "description": "The payment's status now, when a refund has changed it since the receipt."}}), &["genuine", "message"]),
        "OpenApi": {"type": "object"}
    })
}

/// `GET /openapi.json`.
pub(crate) async fn serve() -> Json<Value> {
    Json(document())
}

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub fn document() -> Value {
    let mut paths = Map::new();
    for op in OPS {
        let mut params: Vec<Value> = op
            .params
            .iter()
            .map(|(name, place)| {
                // `query?`: an optional query parameter.
                let (place, required) = match place.strip_suffix('?') {
                    Some(p) => (p, false),
                    None => (*place, true),
                };
                json!({"name": name, "in": place, "required": required, "schema": {"type": "string"}})
            })
            .collect();
        params.push(json!({"name": "lang", "in": "query", "required": false,
            "description": "Language of messages (else Accept-Language, else ky).",
            "schema": {"type": "string", "enum": ["ky", "ru", "en"]}}));
        if op.idempotent {
            params.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
                "description": "Same key and same body: the same answer (header `Idempotent-Replayed: true`). Same key, different body: 409 `idempotency.key_reused`.",
                "schema": {"type": "string", "maxLength": 128, "pattern": "^[A-Za-z0-9._:-]+$"}}));
        }
        let mut responses = Map::new();
        responses.insert(
            op.ok.0.to_string(),
            json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", op.ok.1)}}}}),
        );
        for error in op.errors {
            let answer = ApiError::new(*error, Language::En);
            let status = answer.status().as_u16().to_string();
            let entry = responses.entry(status).or_insert_with(|| {
                json!({"description": "", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"},
                    "examples": {}
                }}})
            });
            let line = format!("`{}`: {}", error.code(), text(*error, Language::En));
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
        }
        let mut operation = json!({
            "operationId": op.id,
            "summary": op.summary,
            "parameters": params,
            "responses": responses,
        });
        if let Some(body) = op.body {
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
            "description": "Pay Kyrgyz state-service fees by payment code. Errors carry stable codes and messages in ky, ru or en. See docs/api.md."
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {"schemas": schemas()}
    })
}
