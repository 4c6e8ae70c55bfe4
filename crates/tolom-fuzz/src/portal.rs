//! The real portal in process, for the router-driven share of the inputs:
//! the axum router of `tolom-http` on the real core, the in-memory store of
//! the testkit and the sandbox acquirer (as `tolom-http`'s own tests build
//! it), driven with `tower::ServiceExt::oneshot` on a single-threaded
//! runtime. No socket is opened.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Utc};
use tolom_acquirer_sandbox::{SandboxAcquirer, THREE_DS_OTP, VISA_APPROVE};
use tolom_core::payment::PaymentState;
use tolom_core::ports::Clock;
use tolom_core::usecases::Config;
use tolom_http::security::{csrf_token, SESSION_COOKIE};
use tolom_http::{router, AppState, PortalConfig};
use tolom_testkit::fixtures::{card_form, Harness, SAMPLE_PAYERS};
use tower::ServiceExt;
use uuid::Uuid;

/// The session id of the fuzzing "browser".
const SESSION: &str = "00112233445566778899aabbccddeeff";

/// A signed receipt of a paid payment, for the receipt checks.
#[derive(Debug, Clone)]
pub struct SignedReceipt {
    /// Its number.
    pub number: String,
    /// Its signed content.
    pub content: String,
    /// Its signature (base64url).
    pub signature: String,
    /// The key that signed it.
    pub key_id: String,
}

/// An answer of the router.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The API error code of the body (`error.code`), if it is one.
    pub fn error_code(&self) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        v.get("error")?.get("code")?.as_str().map(str::to_string)
    }

    /// `<status>` or `<status> <error code>`, for outcome counts.
    pub fn label(&self) -> String {
        match self.error_code() {
            Some(code) => format!("{} {code}", self.status.as_u16()),
            None => self.status.as_u16().to_string(),
        }
    }
}

/// The portal, its harness and what the fuzz inputs aim at.
pub struct Portal {
    rt: tokio::runtime::Runtime,
    app: Router,
    harness: Harness,
    /// Codes issued (payable, unless a fuzz input paid one).
    pub codes: Vec<String>,
    /// The agreement edition in force.
    pub terms: String,
    /// The session cookie header value.
    pub cookie: String,
    /// The CSRF token of the session.
    pub csrf: String,
    /// A signed receipt.
    pub receipt: SignedReceipt,
    card_payment: Option<Uuid>,
    challenge_payment: Option<Uuid>,
    serial: u64,
}

impl Portal {
    /// A fresh portal with a few charges issued and one payment paid.
    pub fn new() -> Portal {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let acquirer = Arc::new(SandboxAcquirer::for_tests());
        let harness = Harness::with_acquirer(acquirer.clone(), Config::default());
        let tolom = Arc::new(
            tolom_core::Tolom::builder()
                .store(harness.store.clone())
                .acquirer(acquirer)
                .clock(harness.clock.clone())
                .signer(Arc::new(tolom_testkit::fixtures::test_signer()))
                .build()
                .unwrap_or_else(|e| panic!("tolom: {e}")),
        );
        let mut config = PortalConfig::new("http://portal.test");
        // No rate limit: the fuzzer is one client sending many requests.
        config.lookup_rate_per_minute = 0;
        let csrf = csrf_token(&config.secret, SESSION);
        let app = router(AppState::new(tolom, config));
        let (codes, terms, receipt) = rt.block_on(async {
            let mut codes = Vec::new();
            for (service, payer) in SAMPLE_PAYERS.iter().cycle().take(20) {
                codes.push(
                    harness
                        .charge(service, payer)
                        .await
                        .code
                        .as_str()
                        .to_string(),
                );
            }
            let terms = harness.terms_id().await;
            let paid = harness.charge("passport-2020", "Сыдыкова Айгүл").await;
            let p = harness.pay(&paid.code, VISA_APPROVE, "receipt").await;
            let r = harness
                .tolom
                .receipt(p.id())
                .await
                .unwrap_or_else(|e| panic!("receipt: {e}"));
            let receipt = SignedReceipt {
                number: r.number.clone(),
                content: r.signed_content(),
                signature: r.signature.clone(),
                key_id: r.key_id.clone(),
            };
            (codes, terms, receipt)
        });
        Portal {
            rt,
            app,
            harness,
            codes,
            terms,
            cookie: format!("{SESSION_COOKIE}={SESSION}"),
            csrf,
            receipt,
            card_payment: None,
            challenge_payment: None,
            serial: 0,
        }
    }

    /// The key ring receipts are checked against.
    pub fn key_ring(&self) -> Arc<tolom_core::ports::KeyRing> {
        self.harness.tolom.key_ring()
    }

    /// The portal's "now" (the harness's manual clock).
    pub fn now(&self) -> DateTime<Utc> {
        self.harness.clock.now()
    }

    /// Sends a request through the whole router (middleware included).
    pub fn send(&self, mut req: Request<Body>) -> Answer {
        let ip: SocketAddr = SocketAddr::from(([192, 0, 2, 10], 5555));
        req.extensions_mut().insert(ConnectInfo(ip));
        self.rt.block_on(async {
            let resp = match self.app.clone().oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), 16 << 20)
                .await
                .unwrap_or_default();
            Answer { status, body }
        })
    }

    /// A request with the session cookie.
    pub fn request(&self, method: &str, uri: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::COOKIE, self.cookie.as_str())
    }

    fn key(&mut self, what: &str) -> String {
        self.serial += 1;
        format!("fuzz-{what}-{}", self.serial)
    }

    /// A payment waiting for its card (a new one when the last has moved
    /// on).
    pub fn card_payment(&mut self) -> Uuid {
        if let Some(id) = self.card_payment {
            if self.state(id) == Some(PaymentState::Created) {
                return id;
            }
        }
        let key = self.key("card");
        let id = self.rt.block_on(async {
            let charge = self.harness.charge("id-card-2017", "Асанов Айбек").await;
            self.harness.start(&charge.code, &key).await.id()
        });
        self.card_payment = Some(id);
        id
    }

    /// A payment waiting for its one-time code (a new one when the last
    /// has moved on).
    pub fn challenge_payment(&mut self) -> Uuid {
        if let Some(id) = self.challenge_payment {
            if self.state(id) == Some(PaymentState::ActionRequired) {
                return id;
            }
        }
        let key = self.key("challenge");
        let id = self.rt.block_on(async {
            let charge = self.harness.charge("meken-card", "Ivanova Anna").await;
            let p = self.harness.start(&charge.code, &key).await;
            self.harness
                .tolom
                .submit_card(p.id(), &card_form(THREE_DS_OTP), &format!("{key}-card"))
                .await
                .unwrap_or_else(|e| panic!("submit_card: {e}"))
                .id()
        });
        self.challenge_payment = Some(id);
        id
    }

    fn state(&self, id: Uuid) -> Option<PaymentState> {
        self.rt
            .block_on(self.harness.tolom.payment(id))
            .ok()
            .map(|p| p.state())
    }
}

impl Default for Portal {
    fn default() -> Self {
        Portal::new()
    }
}
