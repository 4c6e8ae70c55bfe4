//! A tiny cookie-keeping client that drives the router in process.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use tolom_acquirer_sandbox::SandboxAcquirer;
use tolom_core::ports::Acquirer;
use tolom_core::usecases::Config;
use tolom_http::{router, AppState, PortalConfig};
use tolom_testkit::fixtures::Harness;
use tower::ServiceExt;

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
    /// The value of the hidden input `name` in the page.
    pub fn hidden(&self, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&needle)
            .unwrap_or_else(|| panic!("no {name} in {}", self.body))
            + needle.len();
        let end = self.body[start..].find('"').unwrap_or(0) + start;
        self.body[start..end].to_string()
    }
}

pub struct Client {
    pub app: Router,
    pub cookies: HashMap<String, String>,
    pub ip: SocketAddr,
    pub accept_language: Option<String>,
}

pub fn portal(config: PortalConfig) -> (Router, Harness) {
    portal_with(Arc::new(SandboxAcquirer::for_tests()), config)
}

/// The portal on another acquirer.
pub fn portal_with(acquirer: Arc<dyn Acquirer>, config: PortalConfig) -> (Router, Harness) {
    let harness = Harness::with_acquirer(acquirer.clone(), Config::default());
    let tolom = Arc::new(
        tolom_core::Tolom::builder()
            .store(harness.store.clone())
            .acquirer(acquirer)
            .clock(harness.clock.clone())
            .signer(Arc::new(tolom_testkit::fixtures::test_signer()))
            .build()
            .expect("tolom"),
    );
    (router(AppState::new(tolom, config)), harness)
}

pub fn test_config() -> PortalConfig {
    let mut c = PortalConfig::new("http://portal.test");
    c.lookup_rate_per_minute = 0;
    c
}

impl Client {
    pub fn new(app: Router) -> Client {
        Client {
            app,
            cookies: HashMap::new(),
            ip: "192.0.2.10:5555".parse().expect("addr"),
            accept_language: None,
        }
    }

    pub async fn send(&mut self, mut req: Request<Body>) -> Resp {
        req.extensions_mut().insert(ConnectInfo(self.ip));
        if !self.cookies.is_empty() {
            let c = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req.headers_mut()
                .insert(header::COOKIE, c.parse().expect("cookie"));
        }
        if let Some(al) = &self.accept_language {
            req.headers_mut()
                .insert(header::ACCEPT_LANGUAGE, al.parse().expect("al"));
        }
        let resp = self.app.clone().oneshot(req).await.expect("response");
        for sc in resp.headers().get_all(header::SET_COOKIE) {
            let sc = sc.to_str().unwrap_or("");
            if let Some((kv, _)) = sc.split_once(';') {
                if let Some((k, v)) = kv.split_once('=') {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 10 << 20)
            .await
            .expect("body");
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send(Request::get(path).body(Body::empty()).expect("req"))
            .await
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .expect("req"),
        )
        .await
    }

    pub async fn post_json(&mut self, path: &str, key: Option<&str>, body: &str) -> Resp {
        let mut b = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(k) = key {
            b = b.header("idempotency-key", k);
        }
        self.send(b.body(Body::from(body.to_string())).expect("req"))
            .await
    }

    /// A CSRF token for this client's session.
    pub async fn csrf(&mut self) -> String {
        self.get("/").await.hidden("csrf")
    }
}

pub fn json(r: &Resp) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("json {e}: {}", r.body))
}
