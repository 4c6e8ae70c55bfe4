//! Abuse: everything that tells whether a code exists (look-ups and starts,
//! on the pages and the API) is rate-limited per client from one bucket
//! (IPv6 clients by their /64); a stranger's starts do not take the code
//! from a payer filling the card form; the idempotency cache and the rate
//! limit stay bounded; a key whose request was dropped (the client went
//! away) is released — over a real TCP connection to the portal.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::Request;
use common::{json, portal, test_config, Client, Resp};
use tokio::io::AsyncWriteExt;
use tolom_acquirer_sandbox::{SandboxAcquirer, VISA_APPROVE};
use tolom_core::i18n::{text, Language, Text};
use tolom_core::money::Money;
use tolom_core::payment::ChallengeResponse;
use tolom_core::ports::{
    Acquirer, AcquirerError, AcquirerOutcome, OrderStatus, PurchaseRequest, RefundOutcome,
};
use tolom_core::usecases::Config;
use tolom_http::{router, AppState, PortalConfig};
use tolom_testkit::fixtures::Harness;

/// A limit of `burst` at once, then one a minute.
fn limited(burst: u32) -> PortalConfig {
    let mut cfg = test_config();
    cfg.lookup_rate_per_minute = 1;
    cfg.lookup_burst = burst;
    cfg
}

fn at(ip: &str) -> SocketAddr {
    ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"))
}

/// Starts paying `code` on the agreement page as a browser does.
async fn start_page(c: &mut Client, code: &str) -> Resp {
    start_page_as(c, code, code).await
}

/// Posts the agreement form of `real` (a code that exists) to `code`'s
/// start: a prober trying codes that may not exist.
async fn start_page_as(c: &mut Client, real: &str, code: &str) -> Resp {
    let terms = c.get(&format!("/pay/{real}/terms")).await;
    assert_eq!(terms.status, 200, "{}", terms.body);
    c.post_form(
        &format!("/pay/{code}/start"),
        &[
            ("csrf", &terms.hidden("csrf")),
            ("key", &terms.hidden("key")),
            ("terms", &terms.hidden("terms")),
            ("accept", "1"),
        ],
    )
    .await
}

/// Starts paying `code` through the API.
async fn start_api(c: &mut Client, h: &Harness, code: &str, key: &str) -> Resp {
    let terms = h.terms_id().await;
    c.post_json(
        "/api/v1/payments",
        Some(key),
        &format!(r#"{{"code":"{code}","accepted_terms":"{terms}"}}"#),
    )
    .await
}

/// A 429 that says only "too many attempts", with when to come back.
fn assert_limited(r: &Resp, what: &str) {
    assert_eq!(r.status, 429, "{what}: {}", r.body);
    let wait: u64 = r.header("retry-after").parse().unwrap_or(0);
    assert!(
        wait >= 1,
        "{what}: Retry-After {:?}",
        r.header("retry-after")
    );
    // The code (API, error page) or the message (the look-up form, in the
    // payer's language).
    assert!(
        r.body.contains("request.rate_limited")
            || Language::ALL
                .iter()
                .any(|l| r.body.contains(&*text(Text::RequestRateLimited, *l))),
        "{what}: says why: {}",
        r.body
    );
    // Form fields' values (the random CSRF token may hold "885") and link
    // targets (the code the payer typed, random in these tests, may hold it
    // too) are not what the page tells.
    let told = without_attribute(&without_attribute(&r.body, "value"), "href");
    for secret in ["Асанов", "885", "passport"] {
        assert!(!told.contains(secret), "{what}: {secret} told: {}", r.body);
    }
}

/// `body` without the values of its attributes named `name` (hidden form
/// fields such as the CSRF token, which is random; links).
fn without_attribute(body: &str, name: &str) -> String {
    let open = format!("{name}=\"");
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find(&open) {
        out.push_str(&rest[..at]);
        let after = &rest[at + open.len()..];
        rest = after.find('"').map_or("", |end| &after[end + 1..]);
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn enumerating_codes_through_starts_is_limited_on_the_page_and_the_api() {
    let (app, h) = portal(limited(5));
    let code = h
        .charge("passport-2020", "Асанов Айбек")
        .await
        .code
        .as_str()
        .to_string();
    // Probes as a new visitor makes them: some codes exist, most do not.
    let probes = [
        code.clone(),
        "110000000010".to_string(),
        "110000000028".to_string(),
        "110000000036".to_string(),
        code.clone(),
    ];

    // The agreement page's "start".
    let mut page = Client::new(app.clone());
    page.accept_language = Some("en".into());
    page.ip = at("198.51.100.1:4000");
    for probe in &probes {
        let r = start_page_as(&mut page, &code, probe).await;
        assert_ne!(r.status, 429, "within the burst: {}", r.body);
    }
    let r = start_page(&mut page, &code).await;
    assert_limited(&r, "page start past the limit");
    assert!(r
        .body
        .contains(&*text(Text::RequestRateLimited, Language::En)));
    // The bucket is the look-ups' too.
    let r = page.get(&format!("/pay/{code}")).await;
    assert_limited(&r, "look-up after the page's starts");

    // The API's start.
    let mut api = Client::new(app.clone());
    api.ip = at("198.51.100.2:4000");
    for (i, probe) in probes.iter().enumerate() {
        let r = start_api(&mut api, &h, probe, &format!("probe-{i}")).await;
        assert_ne!(r.status, 429, "within the burst: {}", r.body);
    }
    let r = start_api(&mut api, &h, &code, "probe-next").await;
    assert_limited(&r, "API start past the limit");
    assert_eq!(json(&r)["error"]["code"], "request.rate_limited");
    // A 429 is not an answer to replay: the same key is still free (and
    // still limited now).
    let again = start_api(&mut api, &h, &code, "probe-next").await;
    assert_limited(&again, "the same key again");
    assert!(again.header("idempotent-replayed").is_empty());
    let r = api.get(&format!("/api/v1/charges/{code}")).await;
    assert_limited(&r, "API look-up after the API's starts");

    // Look-ups and starts share one bucket: three look-ups and two starts
    // use it up.
    let mut mixed = Client::new(app.clone());
    mixed.ip = at("198.51.100.3:4000");
    for _ in 0..3 {
        assert_eq!(mixed.get(&format!("/pay/{code}")).await.status, 200);
    }
    assert_ne!(start_api(&mut mixed, &h, &code, "m-1").await.status, 429);
    assert_ne!(start_page(&mut mixed, &code).await.status, 429);
    assert_limited(
        &start_api(&mut mixed, &h, &code, "m-2").await,
        "a start after look-ups",
    );

    // Somebody else is not affected.
    let mut other = Client::new(app);
    other.ip = at("203.0.113.9:4000");
    assert_eq!(other.get(&format!("/pay/{code}")).await.status, 200);
}

#[tokio::test]
async fn a_strangers_probes_do_not_take_the_code_from_the_payer_on_the_card_form() {
    let (app, h) = portal(limited(10));
    let code = h
        .charge("passport-2020", "Асанов Айбек")
        .await
        .code
        .as_str()
        .to_string();
    let mut payer = Client::new(app.clone());
    payer.ip = at("192.0.2.10:1000");
    let r = start_page(&mut payer, &code).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let card_path = r.location();
    assert!(card_path.ends_with("/card"), "{card_path}");
    let form = payer.get(&card_path).await;
    assert_eq!(form.status, 200);

    // A stranger keeps starting the same code, on the page and the API,
    // until the limit stops them: every start is refused, none supersedes.
    let mut stranger = Client::new(app);
    stranger.ip = at("198.51.100.77:1000");
    let mut refused = 0;
    for i in 0..20 {
        let r = if i % 2 == 0 {
            start_page(&mut stranger, &code).await
        } else {
            start_api(&mut stranger, &h, &code, &format!("s-{i}")).await
        };
        match r.status.as_u16() {
            409 => {
                assert!(r.body.contains("charge.payment_in_progress"), "{}", r.body);
                refused += 1;
            }
            429 => {}
            other => panic!("a stranger's start answered {other}: {}", r.body),
        }
    }
    assert_eq!(refused, 10, "refused while the burst lasted, then limited");

    // The payer's form still pays.
    let r = payer
        .post_form(
            &card_path,
            &[
                ("csrf", &form.hidden("csrf")),
                ("key", &form.hidden("key")),
                ("holder", "AIBEK ASANOV"),
                ("pan", VISA_APPROVE),
                ("expiry", "12/30"),
                ("cvv", "123"),
                ("phone", "+996 555 123 456"),
                ("email", "aibek@example.kg"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().ends_with("/receipt"), "{}", r.location());
}

#[tokio::test]
async fn ipv6_clients_in_one_64_share_a_bucket() {
    let (app, h) = portal(limited(2));
    let code = h
        .charge("passport-2020", "Асанов Айбек")
        .await
        .code
        .as_str()
        .to_string();
    let mut a = Client::new(app.clone());
    a.ip = at("[2001:db8:aa:bb::1]:4000");
    assert_eq!(a.get(&format!("/pay/{code}")).await.status, 200);
    assert_ne!(start_api(&mut a, &h, &code, "v6-1").await.status, 429);
    // Another address of the same /64: the same client.
    let mut b = Client::new(app.clone());
    b.ip = at("[2001:db8:aa:bb:ffff:1234:5678:9abc]:4001");
    assert_limited(
        &b.get(&format!("/pay/{code}")).await,
        "look-up from the same /64",
    );
    assert_limited(&start_page(&mut b, &code).await, "start from the same /64");
    assert_limited(
        &start_api(&mut b, &h, &code, "v6-2").await,
        "API start from the same /64",
    );
    // The next /64 is someone else.
    let mut c = Client::new(app);
    c.ip = at("[2001:db8:aa:bc::1]:4002");
    assert_eq!(c.get(&format!("/pay/{code}")).await.status, 200);

    // Behind a proxy that names the client in X-Forwarded-For, the same.
    let mut cfg = limited(1);
    cfg.trust_forwarded_for = true;
    let (app, h) = portal(cfg);
    let code = h
        .charge("passport-2020", "Асанов Айбек")
        .await
        .code
        .as_str()
        .to_string();
    let mut proxy = Client::new(app);
    proxy.ip = at("127.0.0.1:9000");
    let via = |client: &str| {
        Request::get(format!("/api/v1/charges/{code}"))
            .header("x-forwarded-for", client)
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(proxy.send(via("2001:db8:cc:dd::1")).await.status, 200);
    assert_limited(
        &proxy.send(via("2001:db8:cc:dd::beef")).await,
        "forwarded, same /64",
    );
    assert_eq!(proxy.send(via("2001:db8:cc:de::1")).await.status, 200);
}

#[tokio::test]
async fn the_rate_limit_and_the_idempotency_cache_stay_bounded_under_many_keys() {
    let acquirer = Arc::new(SandboxAcquirer::for_tests());
    let harness = Harness::with_acquirer(acquirer.clone(), Config::default());
    let tolom = tolom_core::Tolom::builder()
        .store(harness.store.clone())
        .acquirer(acquirer)
        .clock(harness.clock.clone())
        .signer(Arc::new(tolom_testkit::fixtures::test_signer()))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = limited(1);
    cfg.rate_limit_clients = 64;
    cfg.idempotency_keys = 32;
    let state = AppState::new(Arc::new(tolom), cfg);
    let (limiter, cache) = (state.limiter.clone(), state.idempotency.clone());
    let app = router(state);
    let code = harness
        .charge("passport-2020", "Асанов Айбек")
        .await
        .code
        .as_str()
        .to_string();
    // Many clients (each its own IPv6 /64) and many keys.
    for i in 0..500u32 {
        let mut c = Client::new(app.clone());
        c.ip = SocketAddr::new(
            std::net::IpAddr::V6(std::net::Ipv6Addr::from(
                (0x2001_0db8_u128 << 96) | (u128::from(i) << 64) | 1,
            )),
            4000,
        );
        let r = c
            .post_json(
                "/api/v1/payments",
                Some(&format!("key-{i}")),
                r#"{"code":"1","accepted_terms":null}"#,
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(limiter.clients() <= 64, "{} clients", limiter.clients());
        assert!(cache.len() <= 32, "{} keys", cache.len());
    }
    assert_eq!(limiter.clients(), 64);
    assert_eq!(cache.len(), 32);
    // The newest client is still counted: its bucket (burst 1) is used up.
    let mut last = Client::new(app);
    last.ip = SocketAddr::new(
        std::net::IpAddr::V6(std::net::Ipv6Addr::from(
            (0x2001_0db8_u128 << 96) | (499_u128 << 64) | 2,
        )),
        4000,
    );
    assert_limited(
        &last.get(&format!("/api/v1/charges/{code}")).await,
        "the newest client",
    );
}

/// An acquirer whose first purchase never ends (a bank that hangs), and
/// that says when that purchase has begun.
struct Hanging {
    inner: SandboxAcquirer,
    hang: AtomicBool,
    entered: AtomicBool,
}

#[async_trait]
impl Acquirer for Hanging {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn purchase<'a>(
        &self,
        request: PurchaseRequest<'a>,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        if self.hang.swap(false, Ordering::SeqCst) {
            self.entered.store(true, Ordering::SeqCst);
            std::future::pending::<()>().await;
        }
        self.inner.purchase(request).await
    }

    async fn complete_challenge(
        &self,
        order_number: &str,
        response: &ChallengeResponse,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        self.inner.complete_challenge(order_number, response).await
    }

    async fn status(&self, order_number: &str) -> Result<OrderStatus, AcquirerError> {
        self.inner.status(order_number).await
    }

    async fn refund(
        &self,
        order_number: &str,
        refund_id: &str,
        amount: Money,
    ) -> Result<RefundOutcome, AcquirerError> {
        self.inner.refund(order_number, refund_id, amount).await
    }

    async fn reverse(&self, order_number: &str) -> Result<(), AcquirerError> {
        self.inner.reverse(order_number).await
    }

    async fn cancel(&self, order_number: &str) -> Result<(), AcquirerError> {
        self.inner.cancel(order_number).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_dropped_by_its_client_releases_its_idempotency_key() {
    let acquirer = Arc::new(Hanging {
        inner: SandboxAcquirer::for_tests(),
        hang: AtomicBool::new(true),
        entered: AtomicBool::new(false),
    });
    let (app, h) = common::portal_with(acquirer.clone(), test_config());
    let code = h
        .charge("passport-2020", "Асанов Айбек")
        .await
        .code
        .as_str()
        .to_string();
    // The portal on a real socket, as `tolom serve` runs it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let terms = h.terms_id().await;
    let started: serde_json::Value = http
        .post(format!("{base}/api/v1/payments"))
        .json(&serde_json::json!({"code": code, "accepted_terms": terms}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let id = started["id"].as_str().unwrap_or_default().to_string();
    let card = serde_json::json!({
        "holder": "AIBEK ASANOV", "pan": VISA_APPROVE, "expiry": "12/30", "cvv": "123",
        "phone": "+996 555 123 456", "email": "aibek@example.kg"
    })
    .to_string();

    // A client sends the card with a key, and goes away while the bank is
    // being asked.
    let mut socket = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let request = format!(
        "POST /api/v1/payments/{id}/card HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/json\r\nIdempotency-Key: card-1\r\n\
         Content-Length: {}\r\n\r\n{card}",
        card.len()
    );
    socket
        .write_all(request.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !acquirer.entered.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the card never reached the bank");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(socket);

    // Its retry with the same key gets an answer (the payment as it
    // stands), not "in progress" for ever.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (status, body) = loop {
        let r = http
            .post(format!("{base}/api/v1/payments/{id}/card"))
            .header("content-type", "application/json")
            .header("idempotency-key", "card-1")
            .body(card.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        if status != 409 || Instant::now() > deadline {
            break (status, body);
        }
        assert_eq!(body["error"]["code"], "idempotency.in_progress", "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, 200, "the retry is answered: {body}");
    assert_eq!(body["id"], serde_json::json!(id));
    assert!(
        !body.to_string().contains(VISA_APPROVE),
        "no card number in the answer"
    );
}
