//! HTTP side: router, handlers, fault application, the accept loop that can
//! drop a connection after processing, and the running-emulator handle.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;

use crate::cards;
use crate::config::{normalise_base_path, EmulatorConfig};
use crate::faults::{take_faults, Endpoint, Fault};
use crate::gateway::{Ctx, Gateway, OrderSnapshot, OrderStatus, PayOutcome};
use crate::html;
use crate::params::Params;
use crate::{ACS_PATH, ACS_SUBMIT_PATH, PAY_PAGE_PATH};

/// Largest request body read.
const MAX_BODY: usize = 256 * 1024;
/// Most request-log entries kept (oldest dropped first).
const MAX_LOG: usize = 100_000;
const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";
const HTML_CONTENT_TYPE: &str = "text/html;charset=UTF-8";
const PROCEEDED: &str = "Your order is proceeded, redirecting...";

/// One protocol request as the emulator saw it, with `$PAN`, `$CVC`,
/// `password`, `token` and `otp` replaced by `[REDACTED]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestLogEntry {
    /// Arrival order, from 1.
    pub seq: u64,
    /// Which endpoint.
    pub endpoint: Endpoint,
    /// HTTP method (`GET`, `POST`).
    pub method: String,
    /// Query and form parameters in arrival order, redacted.
    pub params: Vec<(String, String)>,
}

impl RequestLogEntry {
    /// The (redacted) value of the last parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Inner {
    gateway: Gateway,
    faults: Vec<Fault>,
    log: Vec<RequestLogEntry>,
    next_seq: u64,
}

struct App {
    config: EmulatorConfig,
    root_url: String,
    inner: Mutex<Inner>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl App {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the plain data in a
        // state worse than a half-finished request; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn base_url(&self) -> String {
        format!("{}{}", self.root_url, self.config.base_path)
    }

    fn term_url(&self) -> String {
        format!("{}finish3ds.do", self.base_url())
    }

    fn with_gateway<T>(&self, f: impl FnOnce(&mut Gateway, &Ctx<'_>) -> T) -> T {
        let ctx = Ctx {
            config: &self.config,
            root_url: &self.root_url,
            now_ms: now_ms(),
        };
        let mut inner = self.lock();
        f(&mut inner.gateway, &ctx)
    }

    fn record(&self, endpoint: Endpoint, method: &Method, params: &Params) {
        let mut inner = self.lock();
        inner.next_seq += 1;
        let entry = RequestLogEntry {
            seq: inner.next_seq,
            endpoint,
            method: method.as_str().to_owned(),
            params: params.redacted(),
        };
        if inner.log.len() >= MAX_LOG {
            inner.log.remove(0);
        }
        inner.log.push(entry);
    }

    async fn slow_card_pause(&self, params: &Params) {
        let is_slow = params.get("$PAN").is_some_and(|pan| {
            pan.chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .eq(cards::SLOW_APPROVE.chars())
        });
        if is_slow {
            tokio::time::sleep(self.config.slow_card_delay).await;
        }
    }

    /// Runs one endpoint's logic. The flag asks to drop the connection
    /// instead of answering (the [`cards::APPROVE_THEN_DROP`] card).
    async fn process(&self, endpoint: Endpoint, method: &Method, params: Params) -> (Reply, bool) {
        let p = &params;
        let api = |r: Result<Value, crate::gateway::ApiError>| match r {
            Ok(v) => Reply::Json(v),
            Err(e) => {
                Reply::Json(json!({"errorCode": e.code.to_string(), "errorMessage": e.message}))
            }
        };
        match endpoint {
            Endpoint::Register => (
                api(self.with_gateway(|g, c| g.register(c, p, false))),
                false,
            ),
            Endpoint::RegisterPreAuth => {
                (api(self.with_gateway(|g, c| g.register(c, p, true))), false)
            }
            Endpoint::GetOrderStatusExtended => {
                (api(self.with_gateway(|g, c| g.status(c, p))), false)
            }
            Endpoint::Deposit => (api(self.with_gateway(|g, c| g.deposit(c, p))), false),
            Endpoint::Reverse => (api(self.with_gateway(|g, c| g.reverse(c, p))), false),
            Endpoint::Refund => (api(self.with_gateway(|g, c| g.refund(c, p))), false),
            Endpoint::Decline => (api(self.with_gateway(|g, c| g.decline(c, p))), false),
            Endpoint::PaymentOrder => self.payment_order(p).await,
            Endpoint::Finish3ds => (self.finish_3ds(p), false),
            Endpoint::PayPage if method == Method::GET => (self.pay_page(p), false),
            Endpoint::PayPage => self.pay_page_submit(p).await,
            Endpoint::Acs => (self.acs(p), false),
            Endpoint::AcsSubmit => (self.acs_submit(p), false),
            Endpoint::All => (Reply::Plain(StatusCode::NOT_FOUND, "not found"), false),
        }
    }

    async fn payment_order(&self, p: &Params) -> (Reply, bool) {
        let auth = self.with_gateway(|_, c| Gateway::check_auth(c, p));
        if let Err(e) = auth {
            return (payment_error(e.code, &e.message), false);
        }
        self.slow_card_pause(p).await;
        match self.with_gateway(|g, c| g.pay(c, p)) {
            Ok(PayOutcome::Finished {
                redirect,
                drop_connection,
            }) => (
                Reply::Json(json!({"errorCode": 0, "info": PROCEEDED, "redirect": redirect})),
                drop_connection,
            ),
            Ok(PayOutcome::Challenge { pa_req, .. }) => (
                Reply::Json(json!({
                    "errorCode": 0,
                    "info": PROCEEDED,
                    "acsUrl": format!("{}{ACS_PATH}", self.root_url),
                    "paReq": pa_req,
                    "termUrl": self.term_url(),
                })),
                false,
            ),
            Err(e) => (payment_error(e.code, &e.message), false),
        }
    }

    fn finish_3ds(&self, p: &Params) -> Reply {
        let (Some(pa_res), Some(md)) = (p.get_any(&["PaRes", "paRes"]), p.get("MD")) else {
            return html_error(StatusCode::BAD_REQUEST, "PaRes and MD are required");
        };
        match self.with_gateway(|g, c| g.finish_3ds(pa_res, md, c.now_ms)) {
            Ok(url) => Reply::Redirect(url),
            Err(msg) => html_error(StatusCode::BAD_REQUEST, &msg),
        }
    }

    fn pay_page(&self, p: &Params) -> Reply {
        let Some(md_order) = p.get_any(&["mdOrder", "MDORDER"]) else {
            return html_error(StatusCode::BAD_REQUEST, "mdOrder is required");
        };
        let Some(view) = self.with_gateway(|g, c| g.pay_page(md_order, c.now_ms)) else {
            return html_error(StatusCode::NOT_FOUND, "Unknown order");
        };
        let amount = html::money(view.amount, view.currency);
        match view.status {
            OrderStatus::Registered => Reply::Html(
                StatusCode::OK,
                html::pay_form(
                    PAY_PAGE_PATH,
                    &view.order_id.to_string(),
                    &view.order_number,
                    &amount,
                    &view.description,
                ),
            ),
            OrderStatus::AcsStarted => Reply::Html(
                StatusCode::OK,
                html::message_page(
                    "Card payment",
                    "3-D Secure authentication is in progress for this order.",
                    None,
                ),
            ),
            status => {
                let msg = format!(
                    "Order {} is finished (orderStatus {}).",
                    view.order_number,
                    status.code()
                );
                Reply::Html(
                    StatusCode::OK,
                    html::message_page(
                        "Card payment",
                        &msg,
                        view.redirect
                            .as_deref()
                            .map(|u| (u, "Return to the merchant")),
                    ),
                )
            }
        }
    }

    async fn pay_page_submit(&self, p: &Params) -> (Reply, bool) {
        self.slow_card_pause(p).await;
        let md_order = p
            .get_any(&["MDORDER", "mdOrder"])
            .unwrap_or_default()
            .to_owned();
        match self.with_gateway(|g, c| g.pay(c, p)) {
            Ok(PayOutcome::Finished {
                redirect,
                drop_connection,
            }) => (Reply::Redirect(redirect), drop_connection),
            Ok(PayOutcome::Challenge { order_id, pa_req }) => {
                let query = form_urlencoded::Serializer::new(String::new())
                    .append_pair("PaReq", &pa_req)
                    .append_pair("MD", &order_id.to_string())
                    .append_pair("TermUrl", &self.term_url())
                    .finish();
                (
                    Reply::Redirect(format!("{}{ACS_PATH}?{query}", self.root_url)),
                    false,
                )
            }
            Err(e) => {
                let status = if e.code == 6 {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::BAD_REQUEST
                };
                let back = format!("{PAY_PAGE_PATH}?mdOrder={md_order}");
                (
                    Reply::Html(
                        status,
                        html::message_page(
                            "Payment not accepted",
                            &e.message,
                            Some((&back, "Back to the payment form")),
                        ),
                    ),
                    false,
                )
            }
        }
    }

    fn acs(&self, p: &Params) -> Reply {
        let (Some(pa_req), Some(md), Some(term_url)) =
            (p.get("PaReq"), p.get("MD"), p.get("TermUrl"))
        else {
            return html_error(
                StatusCode::BAD_REQUEST,
                "PaReq, MD and TermUrl are required",
            );
        };
        if !is_http_url(term_url) {
            return html_error(StatusCode::BAD_REQUEST, "TermUrl is invalid");
        }
        match self.with_gateway(|g, c| g.acs_view(pa_req, md, c.now_ms)) {
            Ok(view) => Reply::Html(
                StatusCode::OK,
                html::acs_form(
                    ACS_SUBMIT_PATH,
                    pa_req,
                    md,
                    term_url,
                    &view.order_number,
                    &html::money(view.amount, view.currency),
                    &view.masked_pan,
                ),
            ),
            Err(msg) => html_error(StatusCode::BAD_REQUEST, &msg),
        }
    }

    fn acs_submit(&self, p: &Params) -> Reply {
        let (Some(pa_req), Some(md), Some(term_url)) =
            (p.get("PaReq"), p.get("MD"), p.get("TermUrl"))
        else {
            return html_error(
                StatusCode::BAD_REQUEST,
                "PaReq, MD and TermUrl are required",
            );
        };
        if !is_http_url(term_url) {
            return html_error(StatusCode::BAD_REQUEST, "TermUrl is invalid");
        }
        let cancelled = p.get("cancel").is_some();
        match self.with_gateway(|g, c| g.acs_submit(c, pa_req, md, p.get("otp"), cancelled)) {
            Ok(pa_res) => Reply::Html(StatusCode::OK, html::acs_post_back(term_url, &pa_res, md)),
            Err(msg) => html_error(StatusCode::BAD_REQUEST, &msg),
        }
    }
}

fn is_http_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn payment_error(code: u8, message: &str) -> Reply {
    Reply::Json(json!({"errorCode": code, "error": message, "errorMessage": message}))
}

fn html_error(status: StatusCode, message: &str) -> Reply {
    Reply::Html(status, html::message_page("Error", message, None))
}

/// An answer before fault post-processing.
enum Reply {
    Json(Value),
    Html(StatusCode, String),
    Redirect(String),
    Plain(StatusCode, &'static str),
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Reply::Json(v) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, JSON_CONTENT_TYPE)],
                v.to_string(),
            )
                .into_response(),
            Reply::Html(status, body) => {
                (status, [(header::CONTENT_TYPE, HTML_CONTENT_TYPE)], body).into_response()
            }
            Reply::Redirect(url) => {
                (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response()
            }
            Reply::Plain(status, text) => (status, text).into_response(),
        }
    }
}

fn malformed(reply: &Reply) -> Response {
    let full = match reply {
        Reply::Json(v) => v.to_string(),
        _ => r#"{"errorCode":"0","errorMessage":"Success"}"#.to_owned(),
    };
    let mut cut = (full.len() / 2).max(1);
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, JSON_CONTENT_TYPE)],
        full[..cut].to_owned(),
    )
        .into_response()
}

fn fault_status(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html")],
        format!("<html><head><title>{text}</title></head><body><h1>{text}</h1></body></html>\n"),
    )
        .into_response()
}

/// Per-connection switch: the handler fires it to have the accept loop drop
/// the connection without an answer.
#[derive(Clone)]
struct ConnControl(Arc<Notify>);

/// The common path of every protocol endpoint: log, faults, processing in a
/// detached task (so a client hanging up does not cancel it), answer.
async fn handle(app: Arc<App>, endpoint: Endpoint, req: Request) -> Response {
    let method = req.method().clone();
    if method != Method::GET && method != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "use GET or POST").into_response();
    }
    let query = req.uri().query().map(str::to_owned);
    let conn = req.extensions().get::<ConnControl>().cloned();
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response(),
    };
    let params = Params::parse(query.as_deref(), &body);
    drop(body);
    app.record(endpoint, &method, &params);
    let applied = take_faults(&mut app.lock().faults, endpoint);
    tracing::info!(endpoint = endpoint.name(), method = %method, ?applied, "request");

    let worker_app = Arc::clone(&app);
    let worker = tokio::spawn(async move {
        if !applied.delay.is_zero() {
            tokio::time::sleep(applied.delay).await;
        }
        if applied.status.is_some() {
            return None;
        }
        if let Some(code) = applied.refuse {
            let message = "Operation is impossible for the current order state (refused)";
            return Some((payment_error(code, message), false));
        }
        Some(worker_app.process(endpoint, &method, params).await)
    });
    let outcome = match worker.await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "request processing failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let Some((reply, drop_card)) = outcome else {
        return fault_status(applied.status.unwrap_or(500));
    };
    if applied.drop || drop_card {
        if let Some(conn) = conn {
            tracing::info!(
                endpoint = endpoint.name(),
                "dropping the connection after processing"
            );
            conn.0.notify_one();
            return std::future::pending::<Response>().await;
        }
    }
    if applied.malformed {
        return malformed(&reply);
    }
    reply.into_response()
}

async fn api_handler(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    match Endpoint::from_api_name(&name) {
        Some(endpoint) => handle(app, endpoint, req).await,
        None => (StatusCode::NOT_FOUND, "unknown endpoint").into_response(),
    }
}

async fn pay_page_handler(State(app): State<Arc<App>>, req: Request) -> Response {
    handle(app, Endpoint::PayPage, req).await
}

async fn acs_handler(State(app): State<Arc<App>>, req: Request) -> Response {
    handle(app, Endpoint::Acs, req).await
}

async fn acs_submit_handler(State(app): State<Arc<App>>, req: Request) -> Response {
    handle(app, Endpoint::AcsSubmit, req).await
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Fault),
    Many(Vec<Fault>),
}

fn faults_json(app: &App) -> Response {
    let faults = app.lock().faults.clone();
    axum::Json(json!({ "faults": faults })).into_response()
}

async fn admin_add_faults(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let faults = match serde_json::from_slice::<OneOrMany>(&body) {
        Ok(OneOrMany::One(f)) => vec![f],
        Ok(OneOrMany::Many(v)) => v,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": format!("invalid fault: {e}")})),
            )
                .into_response()
        }
    };
    if let Some(msg) = faults.iter().find_map(|f| f.validate().err()) {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": msg }))).into_response();
    }
    app.lock().faults.extend(faults);
    faults_json(&app)
}

async fn admin_list_faults(State(app): State<Arc<App>>) -> Response {
    faults_json(&app)
}

async fn admin_clear_faults(State(app): State<Arc<App>>) -> Response {
    app.lock().faults.clear();
    faults_json(&app)
}

async fn admin_orders(State(app): State<Arc<App>>) -> Response {
    let orders = app.lock().gateway.snapshots(now_ms());
    axum::Json(orders).into_response()
}

async fn admin_requests(State(app): State<Arc<App>>) -> Response {
    let log = app.lock().log.clone();
    axum::Json(log).into_response()
}

async fn admin_cards() -> Response {
    axum::Json(cards::TEST_CARDS).into_response()
}

fn router(app: Arc<App>) -> Router {
    let api_route = format!("{}{{endpoint}}", app.config.base_path);
    Router::new()
        .route(&api_route, any(api_handler))
        .route(PAY_PAGE_PATH, any(pay_page_handler))
        .route(ACS_PATH, any(acs_handler))
        .route(ACS_SUBMIT_PATH, any(acs_submit_handler))
        .route(
            crate::ADMIN_FAULTS_PATH,
            get(admin_list_faults)
                .post(admin_add_faults)
                .delete(admin_clear_faults),
        )
        .route("/emulator/faults/clear", post(admin_clear_faults))
        .route("/emulator/orders", get(admin_orders))
        .route("/emulator/requests", get(admin_requests))
        .route("/emulator/cards", get(admin_cards))
        .with_state(app)
}

async fn serve_connection(stream: TcpStream, router: Router) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let ctl = ConnControl(Arc::clone(&kill));
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ctl.clone());
        router.clone().oneshot(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        res = conn => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = kill.notified() => {
            // Dropping the connection future closes the socket: the client
            // gets EOF (or a reset) and no HTTP answer.
        }
    }
}

async fn accept_loop(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    conns.spawn(serve_connection(stream, router.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

/// Entry point: starts emulator instances.
#[derive(Debug, Clone, Copy, Default)]
pub struct Emulator;

impl Emulator {
    /// Binds `config.listen` (by default `127.0.0.1:0`, a free port) and
    /// serves the emulated gateway in a background task until
    /// [`RunningEmulator::shutdown`] or until the handle is dropped.
    pub async fn start(mut config: EmulatorConfig) -> std::io::Result<RunningEmulator> {
        config.base_path = normalise_base_path(&config.base_path);
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let root_url = match &config.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("http://{addr}"),
        };
        let app = Arc::new(App {
            inner: Mutex::new(Inner {
                gateway: Gateway::new(config.seed),
                faults: Vec::new(),
                log: Vec::new(),
                next_seq: 0,
            }),
            config,
            root_url,
        });
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, router(Arc::clone(&app)), rx));
        tracing::info!(%addr, base_url = %app.base_url(), "BPC gateway emulator listening");
        Ok(RunningEmulator {
            app,
            addr,
            shutdown: tx,
            task,
        })
    }
}

/// A started emulator: its URLs, fault injection and observation API.
/// Dropping it stops the server too (without waiting).
pub struct RunningEmulator {
    app: Arc<App>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("addr", &self.addr)
            .field("base_url", &self.base_url())
            .finish()
    }
}

impl RunningEmulator {
    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The root URL without a trailing slash, e.g. `http://127.0.0.1:PORT`.
    pub fn root_url(&self) -> String {
        self.app.root_url.clone()
    }

    /// The merchant API base URL with a trailing slash, e.g.
    /// `http://127.0.0.1:PORT/payment/rest/`.
    pub fn base_url(&self) -> String {
        self.app.base_url()
    }

    /// The ACS page URL handed out as `acsUrl` (`<root>/acs`).
    pub fn acs_url(&self) -> String {
        format!("{}{ACS_PATH}", self.app.root_url)
    }

    /// The gateway's own TermUrl handed out as `termUrl`
    /// (`<base>finish3ds.do`).
    pub fn term_url(&self) -> String {
        self.app.term_url()
    }

    /// The configuration in force (with the base path normalised).
    pub fn config(&self) -> &EmulatorConfig {
        &self.app.config
    }

    /// Adds a fault. Faults apply in the order they were added; delays add
    /// up; the first HTTP-status fault wins.
    pub fn inject(&self, fault: Fault) {
        self.app.lock().faults.push(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.app.lock().faults.clear();
    }

    /// The faults still active (with the remaining counts of `Next(n)`).
    pub fn faults(&self) -> Vec<Fault> {
        self.app.lock().faults.clone()
    }

    /// Snapshot of all orders, in registration order.
    pub fn orders(&self) -> Vec<OrderSnapshot> {
        self.app.lock().gateway.snapshots(now_ms())
    }

    /// Changes an order as the bank's back office would, outside the
    /// merchant API (a test hook): [`OrderStatus::Refunded`] refunds all
    /// that is deposited, [`OrderStatus::PreAuthorized`] holds the amount
    /// without taking it (approved, nothing deposited),
    /// [`OrderStatus::Authorized`] takes it, [`OrderStatus::Reversed`]
    /// releases it. An order that was never authorised gets an approval
    /// code and RRN. `false` when there is no such order or the status is
    /// not one of these.
    pub fn set_order_status(&self, order_number: &str, status: OrderStatus) -> bool {
        self.app
            .lock()
            .gateway
            .back_office(order_number, status, now_ms())
    }

    /// Snapshot of the order with this `orderNumber`.
    pub fn order(&self, order_number: &str) -> Option<OrderSnapshot> {
        self.orders()
            .into_iter()
            .find(|o| o.order_number == order_number)
    }

    /// The protocol requests received so far (redacted), oldest first.
    pub fn request_log(&self) -> Vec<RequestLogEntry> {
        self.app.lock().log.clone()
    }

    /// Empties the request log.
    pub fn clear_request_log(&self) {
        self.app.lock().log.clear();
    }

    /// Stops accepting, closes open connections and waits for the server
    /// task to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "emulator task ended abnormally");
        }
    }
}
