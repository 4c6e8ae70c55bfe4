//! Two `tolom serve` processes on one PostgreSQL and one bank (the BPC
//! emulator over real HTTP), as operators run them behind a load balancer
//! without sticky sessions: a payer's requests alternate between the
//! instances, and many payers start the same codes at the same moment.
//!
//! PostgreSQL via `DATABASE_URL` (default
//! postgres://postgres@127.0.0.1:5432/test, a fresh schema per run);
//! whether it must be there is `tolom_testkit::external`'s call (skipped
//! loudly on a laptop, a failure in CI).
//!
//! The figures of the crowd run are printed (`--nocapture`) and recorded
//! in `docs/operations.md`.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::deployed::{bank, card, free_port, http, start, terms_id, Instance, Site};
use tolom_bpc_emulator::cards::VISA_APPROVE;
use tolom_testkit::external::{require, External};

const CODES: usize = 100;
const ATTEMPTS_PER_CODE: usize = 10;

async fn pg(test: &str) -> Option<String> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let probe = match sqlx::PgPool::connect(&url).await {
        Ok(p) => {
            p.close().await;
            Ok(url.clone())
        }
        Err(e) => Err(format!("unreachable at {url}: {e}")),
    };
    require(test, External::Postgres, probe)
}

/// Two instances of one site on one PostgreSQL schema: `(site, a, b)`.
/// The public URL is the first instance's (a load balancer's in real life).
async fn two_instances(
    test: &str,
    emu: &tolom_bpc_emulator::RunningEmulator,
) -> Option<(Site, Instance, Instance)> {
    let url = pg(test).await?;
    let schema = format!(
        "tolom_two_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let (pa, pb) = (free_port(), free_port());
    let site = Site::new(emu, &url, Some(&schema), &format!("http://127.0.0.1:{pa}"));
    site.migrate();
    let a = Instance::start(&site, pa, &[]);
    let b = Instance::start(&site, pb, &[]);
    Some((site, a, b))
}

/// A browser whose every request goes to the next instance in turn (a
/// load balancer without stickiness); it keeps its cookies across them,
/// as a browser does for one site.
struct RoundRobinBrowser {
    http: reqwest::Client,
    bases: Vec<String>,
    next: usize,
    cookies: BTreeMap<String, String>,
    /// Which instance answered each request, in order.
    served_by: Vec<usize>,
}

struct Page {
    status: u16,
    location: String,
    body: String,
}

impl Page {
    fn hidden(&self, name: &str) -> String {
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

impl RoundRobinBrowser {
    fn new(bases: Vec<String>) -> Self {
        RoundRobinBrowser {
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            bases,
            next: 0,
            cookies: BTreeMap::new(),
            served_by: Vec::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let req = if cookie.is_empty() {
            req
        } else {
            req.header("cookie", cookie)
        };
        let r = req
            .header("accept-language", "en")
            .send()
            .await
            .expect("request");
        for sc in r.headers().get_all("set-cookie") {
            let sc = sc.to_str().unwrap_or("");
            let kv = sc.split(';').next().unwrap_or("");
            if let Some((k, v)) = kv.split_once('=') {
                self.cookies.insert(k.trim().to_string(), v.to_string());
            }
        }
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = r.text().await.unwrap_or_default();
        Page {
            status,
            location,
            body,
        }
    }

    fn base(&mut self) -> String {
        let i = self.next;
        self.next = (self.next + 1) % self.bases.len();
        self.served_by.push(i);
        self.bases[i].clone()
    }

    async fn get(&mut self, path: &str) -> Page {
        let url = format!("{}{path}", self.base());
        let req = self.http.get(url);
        self.send(req).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let url = format!("{}{path}", self.base());
        let req = self.http.post(url).form(fields);
        self.send(req).await
    }
}

/// The portal's pages and the JSON API, each request to the other
/// instance: forms made on one are accepted by the other (one portal
/// secret), the payer's own started payment is recognised on both, and a
/// receipt signed by one is genuine on the other (one signing key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payer_alternating_between_two_instances_pays_without_noticing() {
    let emu = bank(Duration::from_millis(100)).await;
    let Some((site, a, b)) = two_instances(
        "a_payer_alternating_between_two_instances_pays_without_noticing",
        &emu,
    )
    .await
    else {
        return;
    };
    let code = site.issue("passport-2020", "Асанов Айбек");
    let mut br = RoundRobinBrowser::new(vec![a.base.clone(), b.base.clone()]);

    let home = br.get("/").await; // a
    assert_eq!(home.status, 200);
    let looked = br
        .post(
            "/lookup",
            &[("csrf", &home.hidden("csrf")), ("code", &code)],
        ) // b
        .await;
    assert_eq!(
        looked.status, 303,
        "a form made on one instance is accepted by the other: {}",
        looked.body
    );
    assert_eq!(looked.location, format!("/pay/{code}"));
    let shown = br.get(&looked.location).await; // a
    assert_eq!(shown.status, 200, "{}", shown.body);
    let terms = br.get(&format!("/pay/{code}/terms")).await; // b
    assert_eq!(terms.status, 200);
    let started = br
        .post(
            &format!("/pay/{code}/start"), // a
            &[
                ("csrf", &terms.hidden("csrf")),
                ("key", &terms.hidden("key")),
                ("terms", &terms.hidden("terms")),
                ("accept", "1"),
            ],
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.body);
    let card_path = started.location.clone();
    assert!(card_path.ends_with("/card"), "{card_path}");
    // The payer reloads the code's page on the other instance: it is sent
    // back to its own payment, not told "another payment is in progress".
    let again = br.get(&format!("/pay/{code}/terms")).await; // b
    assert!(
        again.status == 303 && again.location == card_path
            || again.status == 200 && !again.body.contains("charge.payment_in_progress"),
        "the payer's own payment on the other instance: {} {}",
        again.status,
        again.location
    );
    let form = br.get(&card_path).await; // a
    assert_eq!(form.status, 200, "{}", form.body);
    let paid = br
        .post(
            &card_path, // b
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
    assert_eq!(paid.status, 303, "{}", paid.body);
    assert!(paid.location.ends_with("/receipt"), "{}", paid.location);
    let receipt = br.get(&paid.location).await; // a
    assert_eq!(receipt.status, 200);
    assert!(receipt.body.contains("Paid"), "{}", receipt.body);
    let rj = br.get(&format!("{}.json", paid.location)).await; // b
    let v: Value = serde_json::from_str(&rj.body).expect("receipt json");
    let (n, s) = (
        v["number"].as_str().expect("number").to_string(),
        v["signature"].as_str().expect("signature").to_string(),
    );
    for _ in 0..2 {
        // Signed by whichever instance answered the payment, genuine on both.
        let verified = br.get(&format!("/verify?n={n}&s={s}&lang=en")).await;
        assert!(
            verified.body.contains("data-genuine=\"true\""),
            "{}",
            verified.body
        );
    }
    assert!(
        br.served_by.contains(&0) && br.served_by.contains(&1),
        "both instances served"
    );

    // The same through the JSON API, request by request on the other one.
    let code = site.issue("passport-2020", "Сыдыкова Айгүл");
    let http = http();
    let terms = terms_id(&http, &a.base).await;
    let (status, p) = start(&http, &b.base, &code, &terms, "alt-start").await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().expect("id").to_string();
    let (status, p2) = start(&http, &a.base, &code, &terms, "alt-start").await;
    assert!(
        status == 201 || status == 200,
        "a retry on the other instance gets the same payment: {status} {p2}"
    );
    assert_eq!(p2["id"], p["id"], "the same payment, not a second one");
    let (status, paid) = card(&http, &a.base, &id, VISA_APPROVE, "alt-card").await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["state"], "succeeded", "{paid}");
    let shown: Value = http
        .get(format!("{}/api/v1/payments/{id}", b.base))
        .send()
        .await
        .expect("show")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["state"], "succeeded", "{shown}");
    assert_eq!(
        emu.orders().iter().map(|o| o.approvals).sum::<u32>(),
        2,
        "two payers, two charges"
    );
}

/// What one attempt got.
#[derive(Debug, Default)]
struct Tally {
    responses: BTreeMap<u16, usize>,
    codes: BTreeMap<String, usize>,
    server_errors: Vec<String>,
}

/// 1,000 payment attempts at 100 codes across both instances, the ten
/// attempts at each code at the same moment: each code is paid exactly
/// once, every other attempt gets a clear 4xx with a code, no bank approval
/// is left without a succeeded payment, and nothing answers 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_on_two_instances_pays_each_code_exactly_once_without_a_5xx() {
    let emu = bank(Duration::from_millis(100)).await;
    let Some((site, a, b)) = two_instances(
        "a_crowd_on_two_instances_pays_each_code_exactly_once_without_a_5xx",
        &emu,
    )
    .await
    else {
        return;
    };
    let codes = issue_many(&site, CODES);
    assert_eq!(codes.len(), CODES, "{codes:?}");

    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let terms = terms_id(&http, &a.base).await;
    let bases = [a.base.clone(), b.base.clone()];
    let tally = Arc::new(std::sync::Mutex::new(Tally::default()));
    let began = Instant::now();
    let mut tasks = Vec::new();
    for (c, code) in codes.iter().enumerate() {
        let barrier = Arc::new(tokio::sync::Barrier::new(ATTEMPTS_PER_CODE));
        for attempt in 0..ATTEMPTS_PER_CODE {
            let (http, barrier, tally) = (http.clone(), barrier.clone(), tally.clone());
            let (code, terms) = (code.clone(), terms.clone());
            // Start on one instance, send the card through the other.
            let (first, second) = (
                bases[(c + attempt) % 2].clone(),
                bases[(c + attempt + 1) % 2].clone(),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let key = format!("crowd-{c}-{attempt}");
                let (status, body) = start(&http, &first, &code, &terms, &key).await;
                record(&tally, "start", status, &body);
                if status != 201 {
                    return;
                }
                let id = body["id"].as_str().unwrap_or_default().to_string();
                let (status, body) = card(&http, &second, &id, VISA_APPROVE, &key).await;
                record(&tally, "card", status, &body);
            }));
        }
    }
    for t in tasks {
        t.await.expect("attempt");
    }
    let took = began.elapsed();

    // The store's word: succeeded payments per code.
    let payments = payments_json(&site);
    let mut paid_per_code: HashMap<String, usize> = HashMap::new();
    let mut succeeded_orders = HashSet::new();
    for p in &payments {
        if p["state"] == "succeeded" {
            *paid_per_code
                .entry(p["code"].as_str().unwrap_or_default().to_string())
                .or_default() += 1;
            succeeded_orders.insert(p["id"].as_str().unwrap_or_default().replace('-', ""));
        }
    }
    let paid = paid_per_code.len();
    let double = paid_per_code.values().filter(|n| **n > 1).count();
    // The bank's word: approvals without a succeeded payment.
    let orders = emu.orders();
    let approvals: u32 = orders.iter().map(|o| o.approvals).sum();
    let unmatched = orders
        .iter()
        .filter(|o| o.approvals > 0 && !succeeded_orders.contains(&o.order_number))
        .count();
    let tally = tally.lock().expect("tally");
    let fives: usize = tally
        .responses
        .iter()
        .filter(|(s, _)| **s >= 500)
        .map(|(_, n)| n)
        .sum();
    println!(
        "two instances, one PostgreSQL: {} attempts at {CODES} codes ({ATTEMPTS_PER_CODE} at once per code) in {:.1} s: \
         paid {paid}, codes paid twice {double}, bank approvals {approvals}, approvals without a succeeded payment {unmatched}, \
         responses 5xx {fives}; statuses {:?}; answers {:?}",
        CODES * ATTEMPTS_PER_CODE,
        took.as_secs_f64(),
        tally.responses,
        tally.codes
    );
    assert!(
        tally.server_errors.is_empty(),
        "5xx: {:?}",
        tally.server_errors
    );
    assert_eq!(fives, 0);
    assert_eq!(paid, CODES, "every code paid");
    assert_eq!(double, 0, "no code paid twice");
    assert_eq!(unmatched, 0, "no approval without a succeeded payment");
    assert_eq!(approvals as usize, CODES, "one charge per code");
    // Every refused attempt had a clear, coded answer.
    for (code, _) in tally.codes.iter() {
        assert!(
            [
                "charge.payment_in_progress",
                "charge.already_paid",
                "succeeded",
                "created"
            ]
            .contains(&code.as_str()),
            "unexpected answer {code}: {:?}",
            tally.codes
        );
    }
    drop((a, b));
}

fn record(tally: &std::sync::Mutex<Tally>, step: &str, status: u16, body: &Value) {
    let mut t = tally.lock().expect("tally");
    *t.responses.entry(status).or_default() += 1;
    let answer = if status >= 400 {
        body["code"]
            .as_str()
            .or_else(|| body["error"]["code"].as_str())
    } else {
        body["state"].as_str()
    }
    .unwrap_or("?")
    .to_string();
    *t.codes.entry(answer).or_default() += 1;
    if status >= 500 {
        t.server_errors.push(format!("{step} {status} {body}"));
    }
}

/// `tolom --json payments list --limit 0`.
fn payments_json(site: &Site) -> Vec<Value> {
    let out = site
        .tolom(&["--json", "payments", "list", "--limit", "0"])
        .output()
        .expect("payments list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// `n` codes, issued by `tolom codes issue` four at a time.
fn issue_many(site: &Site, n: usize) -> Vec<String> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let codes = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let code = site.issue("passport-2020", &format!("Payer {i}"));
                codes.lock().expect("codes").push(code);
            });
        }
    });
    codes.into_inner().expect("codes")
}
