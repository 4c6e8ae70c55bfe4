//! The admin JSON API, mounted by the portal under `/api/v1/admin/`.
//!
//! Every request carries `Authorization: Bearer <secret>`; the secret's
//! SHA-256 is looked up with [`OpsStore::token_by_hash`] (secrets are never
//! stored). No or an unknown/revoked token → `401 auth.unauthenticated`; a
//! token whose role may not do this → `403 auth.forbidden`. Messages follow
//! `Accept-Language` (ky, ru, en).
//!
//! Roles ([`ROLE_MATRIX`]):
//!
//! | route                               | issuer | operator | auditor |
//! |-------------------------------------|:------:|:--------:|:-------:|
//! | `POST   /charges`                   |   ✓    |          |         |
//! | `DELETE /charges/{code}`            |   ✓    |          |         |
//! | `GET    /charges/{code}`            |   ✓    |    ✓     |    ✓    |
//! | `GET    /payments`, `/payments/{id}`|        |    ✓     |    ✓    |
//! | `POST   /payments/{id}/refunds`     |        |    ✓     |         |
//! | `POST   /reconcile`                 |        |    ✓     |         |
//! | `GET    /reports`                   |        |    ✓     |    ✓    |
//! | `GET    /audit/verify`              |        |    ✓     |    ✓    |
//!
//! Every authenticated request — allowed or refused — is appended to the
//! audit log: actor `token:<name>`, action `admin.<action>`, subject the
//! code or payment id, data the method, path and HTTP status.

use std::sync::Arc;

use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use tolom_core::i18n::{text, ErrorCode, Language, Text};
use tolom_core::money::{Currency, Money};
use tolom_core::ops::{hash_token, ApiToken, OpsStore, Role};
use tolom_core::payment::PaymentState;
use tolom_core::ports::{PaymentQuery, StoreError};
use tolom_core::service::IssueCharge;
use tolom_core::Tolom;
use uuid::Uuid;

/// What the admin handlers share.
#[derive(Clone)]
pub struct AdminState {
    /// The use cases.
    pub tolom: Arc<Tolom>,
    /// The operations store (tokens, audit log).
    pub ops: Arc<dyn OpsStore>,
}

/// Who may call which route: `(method, route, roles)`; routes are relative
/// to the admin API's mount point.
pub const ROLE_MATRIX: &[(&str, &str, &[Role])] = &[
    ("POST", "/charges", &[Role::Issuer]),
    ("DELETE", "/charges/{code}", &[Role::Issuer]),
    (
        "GET",
        "/charges/{code}",
        &[Role::Issuer, Role::Operator, Role::Auditor],
    ),
    ("GET", "/payments", &[Role::Operator, Role::Auditor]),
    ("GET", "/payments/{id}", &[Role::Operator, Role::Auditor]),
    ("POST", "/payments/{id}/refunds", &[Role::Operator]),
    ("POST", "/reconcile", &[Role::Operator]),
    ("GET", "/reports", &[Role::Operator, Role::Auditor]),
    ("GET", "/audit/verify", &[Role::Operator, Role::Auditor]),
];

fn action_of(method: &Method, route: &str) -> &'static str {
    match (method.as_str(), route) {
        ("POST", "/charges") => "admin.charge.issue",
        ("DELETE", "/charges/{code}") => "admin.charge.cancel",
        ("GET", "/charges/{code}") => "admin.charge.read",
        ("GET", "/payments") => "admin.payments.list",
        ("GET", "/payments/{id}") => "admin.payment.read",
        ("POST", "/payments/{id}/refunds") => "admin.refund",
        ("POST", "/reconcile") => "admin.reconcile",
        ("GET", "/reports") => "admin.report",
        ("GET", "/audit/verify") => "admin.audit.verify",
        _ => "admin.unknown",
    }
}

/// The matrix route of a matched path (which includes the mount point).
fn route_of(matched: &str) -> Option<&'static str> {
    ROLE_MATRIX
        .iter()
        .map(|(_, route, _)| *route)
        .filter(|route| matched.ends_with(route))
        .max_by_key(|route| route.len())
}

fn roles_for(method: &Method, route: &str) -> &'static [Role] {
    ROLE_MATRIX
        .iter()
        .find(|(m, r, _)| *m == method.as_str() && *r == route)
        .map(|(_, _, roles)| *roles)
        .unwrap_or(&[])
}

/// An error answer: `{"error": {"code", "message"}}`, both from one
/// [`Text`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    text: Text,
    detail: Option<String>,
    lang: Language,
}

impl ApiError {
    fn new(status: StatusCode, text: Text, lang: Language) -> ApiError {
        ApiError {
            status,
            text,
            detail: None,
            lang,
        }
    }
    fn detail(mut self, d: impl Into<String>) -> ApiError {
        self.detail = Some(d.into());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": {
            "code": self.text.code(),
            "message": text(self.text, self.lang),
        }});
        if let Some(d) = self.detail {
            body["error"]["detail"] = json!(d);
        }
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"tolom-admin\""),
            );
        }
        res
    }
}

fn language(headers: &HeaderMap) -> Language {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Language::negotiate)
        .unwrap_or(Language::En)
}

fn store_error(e: &StoreError, lang: Language) -> ApiError {
    match e {
        StoreError::Unavailable(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Text::ServiceUnavailable,
            lang,
        ),
        _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Text::InternalError, lang),
    }
}

/// The caller, as authenticated by [`authenticate`].
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token.
    pub token: ApiToken,
    /// The caller's language.
    pub lang: Language,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(secret.trim())
        .filter(|s| !s.is_empty())
}

/// Authentication, the role check and the audit entry, around every route.
async fn authenticate(
    State(state): State<AdminState>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    let lang = language(req.headers());
    let Some(secret) = bearer(req.headers()) else {
        return ApiError::new(StatusCode::UNAUTHORIZED, Text::AuthUnauthenticated, lang)
            .into_response();
    };
    let token = match state.ops.token_by_hash(&hash_token(secret)).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return ApiError::new(StatusCode::UNAUTHORIZED, Text::AuthUnauthenticated, lang)
                .into_response()
        }
        Err(e) => return store_error(&e, lang).into_response(),
    };
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = matched
        .as_ref()
        .and_then(|m| route_of(m.as_str()))
        .unwrap_or("");
    let allowed = roles_for(&method, route).contains(&token.role);
    let subject = path
        .rsplit('/')
        .find(|s| !s.is_empty() && !matches!(*s, "refunds"))
        .unwrap_or("-")
        .to_string();
    let response = if allowed {
        req.extensions_mut().insert(Caller {
            token: token.clone(),
            lang,
        });
        next.run(req).await
    } else {
        ApiError::new(StatusCode::FORBIDDEN, Text::AuthForbidden, lang).into_response()
    };
    let now = state.tolom.clock().now();
    let audit = state
        .ops
        .append_audit(
            now,
            &format!("token:{}", token.name),
            action_of(&method, route),
            &subject,
            json!({
                "method": method.as_str(),
                "path": path,
                "status": response.status().as_u16(),
                "role": token.role.as_str(),
            }),
        )
        .await;
    if let Err(e) = audit {
        // An action that cannot be audited is not acknowledged as done.
        tracing::error!(error = %e, "admin action not recorded in the audit log");
        return store_error(&e, lang).into_response();
    }
    response
}

/// The admin API's routes (relative: mount them with
/// `Router::nest("/api/v1/admin", admin_router(state))`).
pub fn admin_router(state: AdminState) -> Router {
    Router::new()
        .route("/charges", post(issue_charge))
        .route("/charges/{code}", get(get_charge).delete(cancel_charge))
        .route("/payments", get(list_payments))
        .route("/payments/{id}", get(get_payment))
        .route("/payments/{id}/refunds", post(refund))
        .route("/reconcile", post(reconcile))
        .route("/reports", get(reports))
        .route("/audit/verify", get(audit_verify))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ))
        .with_state(state)
}

type ApiResult = Result<Response, ApiError>;

fn parse_money(s: &str, lang: Language) -> Result<Money, ApiError> {
    Money::parse(s, Currency::KGS).map_err(|e| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Text::RequestInvalid, lang)
            .detail(e.to_string())
    })
}

/// Body of `POST /charges`.
#[derive(Debug, Deserialize)]
pub struct IssueBody {
    /// Service id from the catalogue.
    pub service: String,
    /// Tariff urgency (the amount comes from the catalogue).
    pub urgency: Option<String>,
    /// Amount in som, when not from a tariff.
    pub amount: Option<String>,
    /// The payer's full name.
    pub payer: String,
    /// The agency's code (generated when absent).
    pub code: Option<String>,
    /// The agency's reference.
    pub agency_ref: Option<String>,
    /// Expiry (default: `valid_days` from now).
    pub expires_at: Option<DateTime<Utc>>,
    /// Days the code stays payable (default 30).
    pub valid_days: Option<u32>,
}

async fn issue_charge(
    State(state): State<AdminState>,
    Extension(caller): Extension<Caller>,
    Json(body): Json<IssueBody>,
) -> ApiResult {
    let lang = caller.lang;
    let now = state.tolom.clock().now();
    let amount = body
        .amount
        .as_deref()
        .map(|a| parse_money(a, lang))
        .transpose()?;
    let expires_at = body
        .expires_at
        .unwrap_or_else(|| now + Duration::days(i64::from(body.valid_days.unwrap_or(30))));
    match state
        .tolom
        .issue_charge(IssueCharge {
            service: body.service,
            urgency: body.urgency,
            amount,
            payer: body.payer,
            code: body.code,
            expires_at,
            agency_ref: body.agency_ref,
        })
        .await
    {
        Ok(charge) => Ok((StatusCode::CREATED, Json(charge)).into_response()),
        Err(tolom_core::errors::IssueError::Store(StoreError::DuplicateCode)) => Err(
            ApiError::new(StatusCode::CONFLICT, Text::RequestInvalid, lang)
                .detail("a charge with this code already exists"),
        ),
        Err(tolom_core::errors::IssueError::Store(e)) => Err(store_error(&e, lang)),
        Err(e) => Err(
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.text(), lang).detail(e.to_string()),
        ),
    }
}

fn lookup_error(e: tolom_core::errors::LookupError, lang: Language) -> ApiError {
    use tolom_core::errors::LookupError;
    match e {
        LookupError::NotFound => ApiError::new(StatusCode::NOT_FOUND, e.text(), lang),
        LookupError::Store(StoreError::Conflict) => {
            ApiError::new(StatusCode::CONFLICT, Text::RequestInvalid, lang)
                .detail("the charge is not in a state that can be cancelled")
        }
        LookupError::Store(StoreError::Invariant(m)) => {
            ApiError::new(StatusCode::CONFLICT, Text::RequestInvalid, lang).detail(m)
        }
        LookupError::Store(s) => store_error(&s, lang),
        other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, other.text(), lang),
    }
}

async fn get_charge(
    State(state): State<AdminState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> ApiResult {
    let lang = caller.lang;
    let code = state
        .tolom
        .config()
        .code_format
        .parse(&code)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.text(), lang))?;
    match state.tolom.store().charge_by_code(&code).await {
        Ok(Some(c)) => Ok(Json(c).into_response()),
        Ok(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            Text::CodeNotFound,
            lang,
        )),
        Err(e) => Err(store_error(&e, lang)),
    }
}

async fn cancel_charge(
    State(state): State<AdminState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> ApiResult {
    let lang = caller.lang;
    let code = state
        .tolom
        .config()
        .code_format
        .parse(&code)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.text(), lang))?;
    state
        .tolom
        .cancel_charge(&code)
        .await
        .map(|c| Json(c).into_response())
        .map_err(|e| lookup_error(e, lang))
}

/// Query of `GET /payments`.
#[derive(Debug, Deserialize)]
pub struct PaymentFilter {
    /// States, comma-separated (`succeeded,refunded`).
    pub status: Option<String>,
    /// Service id.
    pub service: Option<String>,
    /// Created on or after this day (Asia/Bishkek) or instant.
    pub from: Option<String>,
    /// Created before the end of this day (Asia/Bishkek) or before this
    /// instant.
    pub to: Option<String>,
    /// At most this many (default 100, 0 = all).
    pub limit: Option<usize>,
}

/// Parses `2026-11-25` (a day in Asia/Bishkek; `end` gives the next
/// midnight) or an RFC 3339 instant.
pub fn parse_when(s: &str, end: bool) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Some(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    let day = if end { day.succ_opt()? } else { day };
    day.and_hms_opt(0, 0, 0)?
        .and_local_timezone(tolom_core::time::bishkek())
        .single()
        .map(|d| d.with_timezone(&Utc))
}

/// Parses a comma-separated list of payment states.
pub fn parse_states(s: &str) -> Result<Vec<PaymentState>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| PaymentState::parse(s).ok_or_else(|| format!("unknown payment status {s:?}")))
        .collect()
}

async fn list_payments(
    State(state): State<AdminState>,
    Extension(caller): Extension<Caller>,
    Query(f): Query<PaymentFilter>,
) -> ApiResult {
    let lang = caller.lang;
    let bad = |d: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Text::RequestInvalid, lang).detail(d)
    };
    let states = f
        .status
        .as_deref()
        .map(parse_states)
        .transpose()
        .map_err(bad)?;
    let when = |s: &Option<String>, end: bool| -> Result<Option<DateTime<Utc>>, ApiError> {
        s.as_deref()
            .map(|v| parse_when(v, end).ok_or_else(|| bad(format!("not a date: {v}"))))
            .transpose()
    };
    let query = PaymentQuery {
        states: states.unwrap_or_default(),
        service: f.service,
        created_from: when(&f.from, false)?,
        created_to: when(&f.to, true)?,
        limit: f.limit.unwrap_or(100),
        ..PaymentQuery::default()
    };
    state
        .tolom
        .store()
        .list_payments(&query)
        .await
        .map(|p| Json(p).into_response())
        .map_err(|e| store_error(&e, lang))
}

async fn get_payment(
    State(state): State<AdminState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    let lang = caller.lang;
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, Text::PaymentNotFound, lang))?;
    match state.tolom.payment(id).await {
        Ok(p) => {
            let refunds = state
                .tolom
                .store()
                .refunds_of(id)
                .await
                .map_err(|e| store_error(&e, lang))?;
            Ok(Json(json!({"payment": p, "refunds": refunds})).into_response())
        }
        Err(tolom_core::errors::QueryError::NotFound) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            Text::PaymentNotFound,
            lang,
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            e.text(),
            lang,
        )),
    }
}

/// Body of `POST /payments/{id}/refunds`.
#[derive(Debug, Deserialize)]
pub struct RefundBody {
    /// Amount in som (everything left when absent).
    pub amount: Option<String>,
    /// Why (kept with the refund and in the audit log).
    pub reason: String,
    /// The same key returns the same refund.
    pub idempotency_key: String,
}

async fn refund(
    State(state): State<AdminState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(body): Json<RefundBody>,
) -> ApiResult {
    use tolom_core::errors::RefundError;
    let lang = caller.lang;
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, Text::PaymentNotFound, lang))?;
    let amount = body
        .amount
        .as_deref()
        .map(|a| parse_money(a, lang))
        .transpose()?;
    match state
        .tolom
        .refund(id, amount, &body.reason, &body.idempotency_key)
        .await
    {
        Ok(r) => Ok((StatusCode::CREATED, Json(r)).into_response()),
        Err(e @ RefundError::NotFound) => Err(ApiError::new(StatusCode::NOT_FOUND, e.text(), lang)),
        Err(RefundError::Store(s)) => Err(store_error(&s, lang)),
        Err(e @ RefundError::Failed(_)) => {
            Err(ApiError::new(StatusCode::BAD_GATEWAY, e.text(), lang).detail(e.to_string()))
        }
        Err(e) => Err(
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.text(), lang).detail(e.to_string()),
        ),
    }
}

async fn reconcile(
    State(state): State<AdminState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    state
        .tolom
        .reconcile()
        .await
        .map(|r| Json(r).into_response())
        .map_err(|e| store_error(&e, caller.lang))
}

/// Query of `GET /reports`.
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    /// First day (Asia/Bishkek), default today.
    pub from: Option<NaiveDate>,
    /// Last day, default `from`.
    pub to: Option<NaiveDate>,
    /// One service only.
    pub service: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

async fn reports(
    State(state): State<AdminState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ReportQuery>,
) -> ApiResult {
    let lang = caller.lang;
    let today = tolom_core::time::to_bishkek(state.tolom.clock().now()).date_naive();
    let from = q.from.unwrap_or(today);
    let to = q.to.unwrap_or(from);
    let rows = crate::ops::report(state.tolom.store().as_ref(), from, to, q.service.as_deref())
        .await
        .map_err(|e| store_error(&e, lang))?;
    Ok(match q.format.as_deref() {
        Some("csv") => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            crate::ops::report_csv(&rows),
        )
            .into_response(),
        _ => Json(rows).into_response(),
    })
}

async fn audit_verify(
    State(state): State<AdminState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult {
    crate::ops::verify_audit(state.ops.as_ref())
        .await
        .map(|r| Json(r).into_response())
        .map_err(|e| store_error(&e, caller.lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: ApiError) -> (StatusCode, HeaderMap, serde_json::Value) {
        let res = e.into_response();
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 16).await.expect("body");
        let json = serde_json::from_slice(&bytes).expect("json");
        (parts.status, parts.headers, json)
    }

    #[tokio::test]
    async fn errors_carry_the_code_and_the_message_of_their_text() {
        for lang in Language::ALL {
            let (status, headers, json) = body(ApiError::new(
                StatusCode::UNAUTHORIZED,
                Text::AuthUnauthenticated,
                lang,
            ))
            .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert!(headers.contains_key(header::WWW_AUTHENTICATE));
            assert_eq!(json["error"]["code"], "auth.unauthenticated");
            assert_eq!(
                json["error"]["message"],
                text(Text::AuthUnauthenticated, lang).as_ref()
            );
        }
        let (_, _, json) = body(
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                tolom_core::payment::RefundRefused::ExceedsPaid.text(),
                Language::Ru,
            )
            .detail("500 > 385"),
        )
        .await;
        assert_eq!(json["error"]["code"], "refund.exceeds_paid");
        assert_eq!(
            json["error"]["message"],
            "Сумма возврата превышает оплаченную сумму."
        );
        assert_eq!(json["error"]["detail"], "500 > 385");
    }

    #[test]
    fn store_failures_are_texts_too() {
        let e = store_error(&StoreError::Unavailable("down".into()), Language::En);
        assert_eq!(
            (e.status, e.text),
            (StatusCode::SERVICE_UNAVAILABLE, Text::ServiceUnavailable)
        );
        let e = store_error(&StoreError::NotFound, Language::En);
        assert_eq!(
            (e.status, e.text),
            (StatusCode::INTERNAL_SERVER_ERROR, Text::InternalError)
        );
    }
}
