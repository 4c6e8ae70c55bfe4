//! The gateway's business logic: orders, payments, 3-D Secure, operations.
//! Synchronous and HTTP-free; the server calls it under a mutex.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::cards::{self, action_codes, CardBehaviour};
use crate::config::EmulatorConfig;
use crate::params::Params;

/// The only currency the emulator knows: KGS (ISO 4217 numeric 417).
pub const CURRENCY_KGS: u16 = 417;

/// The longest `orderNumber` accepted.
pub const MAX_ORDER_NUMBER_LEN: usize = 32;

/// `orderStatus` of an order (as in `getOrderStatusExtended.do`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "u8")]
pub enum OrderStatus {
    /// 0: registered, not paid.
    Registered,
    /// 1: pre-authorised, amount held (two-stage orders).
    PreAuthorized,
    /// 2: authorised / paid in full.
    Authorized,
    /// 3: authorisation reversed.
    Reversed,
    /// 4: refunded (fully or partly).
    Refunded,
    /// 5: 3-D Secure authentication in progress.
    AcsStarted,
    /// 6: declined (including 3-D Secure failure and session timeout).
    Declined,
}

impl OrderStatus {
    /// The numeric `orderStatus` (0..=6).
    pub fn code(self) -> u8 {
        match self {
            OrderStatus::Registered => 0,
            OrderStatus::PreAuthorized => 1,
            OrderStatus::Authorized => 2,
            OrderStatus::Reversed => 3,
            OrderStatus::Refunded => 4,
            OrderStatus::AcsStarted => 5,
            OrderStatus::Declined => 6,
        }
    }

    /// The `paymentAmountInfo.paymentState` string for this status.
    pub fn payment_state(self) -> &'static str {
        match self {
            OrderStatus::Registered => "CREATED",
            OrderStatus::PreAuthorized => "APPROVED",
            OrderStatus::Authorized => "DEPOSITED",
            OrderStatus::Reversed => "REVERSED",
            OrderStatus::Refunded => "REFUNDED",
            OrderStatus::AcsStarted => "STARTED",
            OrderStatus::Declined => "DECLINED",
        }
    }

    /// Whether the card was (at some point) successfully authorised.
    fn was_authorised(self) -> bool {
        matches!(
            self,
            OrderStatus::PreAuthorized
                | OrderStatus::Authorized
                | OrderStatus::Reversed
                | OrderStatus::Refunded
        )
    }
}

impl From<OrderStatus> for u8 {
    fn from(s: OrderStatus) -> u8 {
        s.code()
    }
}

/// A snapshot of one order, for tests (see
/// [`crate::RunningEmulator::orders`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderSnapshot {
    /// Gateway order id (`orderId` / `MDORDER` / `MD`).
    pub order_id: Uuid,
    /// The merchant's `orderNumber`.
    pub order_number: String,
    /// Current status.
    pub status: OrderStatus,
    /// Current `actionCode`.
    pub action_code: i32,
    /// Registered by `registerPreAuth.do`.
    pub two_stage: bool,
    /// Order amount in minor units.
    pub amount: u64,
    /// ISO 4217 numeric currency.
    pub currency: u16,
    /// `paymentAmountInfo.approvedAmount`.
    pub approved_amount: u64,
    /// `paymentAmountInfo.depositedAmount`.
    pub deposited_amount: u64,
    /// `paymentAmountInfo.refundedAmount`.
    pub refunded_amount: u64,
    /// How many times a card was successfully authorised for this order (the
    /// number of charges at the bank; must never exceed 1).
    pub approvals: u32,
    /// How many card submissions were processed (approved, declined or sent
    /// to 3-D Secure).
    pub payment_attempts: u32,
    /// Masked card number of the last attempt (`411111**1111`), never the
    /// full number.
    pub masked_pan: Option<String>,
}

#[derive(Clone, Debug)]
struct CardInfo {
    masked_pan: String,
    expiration: String,
    cardholder: String,
}

#[derive(Clone, Debug)]
struct Order {
    id: Uuid,
    number: String,
    amount: u64,
    currency: u16,
    two_stage: bool,
    return_url: String,
    fail_url: Option<String>,
    description: String,
    created_ms: u64,
    session_timeout_ms: u64,
    json_params: Vec<(String, String)>,
    status: OrderStatus,
    action_code: i32,
    card: Option<CardInfo>,
    approval_code: Option<String>,
    rrn: Option<String>,
    auth_ms: Option<u64>,
    approved_amount: u64,
    deposited_amount: u64,
    refunded_amount: u64,
    approvals: u32,
    payment_attempts: u32,
    ip: Option<String>,
    email: Option<String>,
}

impl Order {
    fn snapshot(&self) -> OrderSnapshot {
        OrderSnapshot {
            order_id: self.id,
            order_number: self.number.clone(),
            status: self.status,
            action_code: self.action_code,
            two_stage: self.two_stage,
            amount: self.amount,
            currency: self.currency,
            approved_amount: self.approved_amount,
            deposited_amount: self.deposited_amount,
            refunded_amount: self.refunded_amount,
            approvals: self.approvals,
            payment_attempts: self.payment_attempts,
            masked_pan: self.card.as_ref().map(|c| c.masked_pan.clone()),
        }
    }

    fn expire_if_due(&mut self, now_ms: u64) {
        if matches!(
            self.status,
            OrderStatus::Registered | OrderStatus::AcsStarted
        ) && now_ms >= self.created_ms.saturating_add(self.session_timeout_ms)
        {
            self.status = OrderStatus::Declined;
            self.action_code = action_codes::SESSION_TIMEOUT;
        }
    }

    /// Where the payer's browser goes when the payment is finished.
    fn finish_redirect(&self) -> String {
        let base = if self.status.was_authorised() {
            &self.return_url
        } else {
            self.fail_url.as_ref().unwrap_or(&self.return_url)
        };
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}orderId={}", self.id)
    }

    fn authorise(&mut self, rng: &mut StdRng, now_ms: u64) {
        self.status = if self.two_stage {
            OrderStatus::PreAuthorized
        } else {
            OrderStatus::Authorized
        };
        self.action_code = action_codes::APPROVED;
        self.approval_code = Some(rng.gen_range(100_000..1_000_000u32).to_string());
        self.rrn = Some(new_rrn(rng));
        self.auth_ms = Some(now_ms);
        self.approved_amount = self.amount;
        self.deposited_amount = if self.two_stage { 0 } else { self.amount };
        self.approvals += 1;
    }

    fn decline(&mut self, action_code: i32, rng: &mut StdRng, now_ms: u64) {
        self.status = OrderStatus::Declined;
        self.action_code = action_code;
        self.approval_code = None;
        self.rrn = Some(new_rrn(rng));
        self.auth_ms = Some(now_ms);
    }

    fn status_json(&self) -> Value {
        let mut v = json!({
            "errorCode": "0",
            "errorMessage": "Success",
            "orderNumber": self.number,
            "orderStatus": self.status.code(),
            "actionCode": self.action_code,
            "actionCodeDescription": cards::action_code_description(self.action_code),
            "amount": self.amount,
            "currency": self.currency.to_string(),
            "date": self.created_ms,
            "orderDescription": self.description,
            "merchantOrderParams": self.json_params.iter()
                .map(|(k, v)| json!({"name": k, "value": v}))
                .collect::<Vec<_>>(),
            "attributes": [{"name": "mdOrder", "value": self.id.to_string()}],
            "paymentAmountInfo": {
                "paymentState": self.status.payment_state(),
                "approvedAmount": self.approved_amount,
                "depositedAmount": self.deposited_amount,
                "refundedAmount": self.refunded_amount,
            },
            "bankInfo": {
                "bankName": "TOLOM EMULATOR BANK",
                "bankCountryCode": "KG",
                "bankCountryName": "Kyrgyzstan",
            },
        });
        if let Some(card) = &self.card {
            let mut info = json!({
                "maskedPan": card.masked_pan,
                "expiration": card.expiration,
                "cardholderName": card.cardholder,
            });
            if let Some(code) = &self.approval_code {
                info["approvalCode"] = json!(code);
            }
            v["cardAuthInfo"] = info;
        }
        if let Some(rrn) = &self.rrn {
            v["authRefNum"] = json!(rrn);
        }
        if let Some(ms) = self.auth_ms {
            v["authDateTime"] = json!(ms);
        }
        if let Some(ip) = &self.ip {
            v["ip"] = json!(ip);
        }
        if let Some(email) = &self.email {
            v["payerData"] = json!({ "email": email });
        }
        v
    }
}

fn new_rrn(rng: &mut StdRng) -> String {
    rng.gen_range(100_000_000_000..1_000_000_000_000u64)
        .to_string()
}

fn new_token(rng: &mut StdRng, prefix: &str) -> String {
    let bytes: [u8; 16] = rng.gen();
    let mut s = String::with_capacity(prefix.len() + 32);
    s.push_str(prefix);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A request-level error: `errorCode` + `errorMessage`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub code: u8,
    pub message: String,
}

fn err(code: u8, message: impl Into<String>) -> ApiError {
    ApiError {
        code,
        message: message.into(),
    }
}

fn no_such_order() -> ApiError {
    err(6, "No such order")
}

fn success() -> Value {
    json!({"errorCode": "0", "errorMessage": "Success"})
}

/// Per-call context.
pub(crate) struct Ctx<'a> {
    pub config: &'a EmulatorConfig,
    pub root_url: &'a str,
    pub now_ms: u64,
}

/// Outcome of a card submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PayOutcome {
    /// The payment is finished (approved or declined): send the payer to
    /// `redirect`. `drop_connection` is set by
    /// [`cards::APPROVE_THEN_DROP`].
    Finished {
        redirect: String,
        drop_connection: bool,
    },
    /// 3-D Secure challenge.
    Challenge { order_id: Uuid, pa_req: String },
}

/// What the ACS page shows.
#[derive(Debug, Clone)]
pub(crate) struct AcsView {
    pub order_number: String,
    pub amount: u64,
    pub currency: u16,
    pub masked_pan: String,
}

/// What the hosted payment page shows.
#[derive(Debug, Clone)]
pub(crate) struct PayPageView {
    pub order_id: Uuid,
    pub order_number: String,
    pub amount: u64,
    pub currency: u16,
    pub description: String,
    pub status: OrderStatus,
    pub redirect: Option<String>,
}

struct PaReqEntry {
    order_id: Uuid,
    pa_res: Option<String>,
}

struct PaResEntry {
    order_id: Uuid,
    success: bool,
    used: bool,
}

/// All orders and 3-D Secure sessions.
pub(crate) struct Gateway {
    orders: HashMap<Uuid, Order>,
    order_seq: Vec<Uuid>,
    by_number: HashMap<String, Uuid>,
    pa_reqs: HashMap<String, PaReqEntry>,
    pa_res: HashMap<String, PaResEntry>,
    rng: StdRng,
}

impl Gateway {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            orders: HashMap::new(),
            order_seq: Vec::new(),
            by_number: HashMap::new(),
            pa_reqs: HashMap::new(),
            pa_res: HashMap::new(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub(crate) fn snapshots(&mut self, now_ms: u64) -> Vec<OrderSnapshot> {
        let orders = &mut self.orders;
        self.order_seq
            .iter()
            .filter_map(|id| {
                let o = orders.get_mut(id)?;
                o.expire_if_due(now_ms);
                Some(o.snapshot())
            })
            .collect()
    }

    pub(crate) fn check_auth(ctx: &Ctx<'_>, p: &Params) -> Result<(), ApiError> {
        let creds = &ctx.config.credentials;
        if let Some(token) = p.get("token") {
            return if creds.token.as_deref() == Some(token) {
                Ok(())
            } else {
                Err(err(5, "Access denied"))
            };
        }
        let user = p
            .get("userName")
            .ok_or_else(|| err(4, "Merchant user name is empty"))?;
        let password = p
            .get("password")
            .ok_or_else(|| err(4, "Password is empty"))?;
        if user == creds.user_name && password == creds.password {
            Ok(())
        } else {
            Err(err(5, "Access denied"))
        }
    }

    fn order_by_id_mut(&mut self, id: &str, now_ms: u64) -> Option<&mut Order> {
        let id = Uuid::parse_str(id).ok()?;
        let o = self.orders.get_mut(&id)?;
        o.expire_if_due(now_ms);
        Some(o)
    }

    fn order_by_number_mut(&mut self, number: &str, now_ms: u64) -> Option<&mut Order> {
        let id = *self.by_number.get(number)?;
        let o = self.orders.get_mut(&id)?;
        o.expire_if_due(now_ms);
        Some(o)
    }

    /// The order named by `orderId` (required) of an operation call.
    fn op_order(&mut self, p: &Params, now_ms: u64) -> Result<&mut Order, ApiError> {
        let id = p
            .get("orderId")
            .ok_or_else(|| err(4, "Order ID is empty"))?;
        self.order_by_id_mut(id, now_ms).ok_or_else(no_such_order)
    }

    /// `register.do` / `registerPreAuth.do`.
    pub(crate) fn register(
        &mut self,
        ctx: &Ctx<'_>,
        p: &Params,
        two_stage: bool,
    ) -> Result<Value, ApiError> {
        Self::check_auth(ctx, p)?;
        let number = p
            .get("orderNumber")
            .ok_or_else(|| err(4, "Order number is empty"))?;
        if number.chars().count() > MAX_ORDER_NUMBER_LEN {
            return Err(err(
                5,
                format!("Order number is too long (at most {MAX_ORDER_NUMBER_LEN} characters)"),
            ));
        }
        let amount = p.get("amount").ok_or_else(|| err(4, "Amount is empty"))?;
        let amount = parse_minor_units(amount)
            .filter(|a| *a > 0)
            .ok_or_else(|| err(5, "Amount is invalid"))?;
        let currency = match p.get("currency") {
            None => CURRENCY_KGS,
            Some(c) if c.parse::<u16>().ok() == Some(CURRENCY_KGS) => CURRENCY_KGS,
            Some(_) => return Err(err(3, "Currency is unknown")),
        };
        let return_url = p
            .get("returnUrl")
            .ok_or_else(|| err(4, "Return URL is empty"))?;
        if !is_http_url(return_url) {
            return Err(err(5, "Return URL is invalid"));
        }
        let fail_url = p.get("failUrl");
        if fail_url.is_some_and(|u| !is_http_url(u)) {
            return Err(err(5, "Fail URL is invalid"));
        }
        let session_timeout_ms = match p.get("sessionTimeoutSecs") {
            _ if !ctx.config.expire_orders => u64::MAX,
            None => {
                u64::try_from(ctx.config.default_session_timeout.as_millis()).unwrap_or(u64::MAX)
            }
            Some(s) => s
                .parse::<u64>()
                .ok()
                .filter(|s| *s > 0)
                .map(|s| s.saturating_mul(1000))
                .ok_or_else(|| err(5, "sessionTimeoutSecs is invalid"))?,
        };
        let json_params = match p.get("jsonParams") {
            None => Vec::new(),
            Some(s) => parse_json_params(s).ok_or_else(|| err(5, "jsonParams is invalid"))?,
        };
        if self.by_number.contains_key(number) {
            return Err(err(1, "Order with this number was already processed"));
        }
        let id = uuid::Builder::from_random_bytes(self.rng.gen()).into_uuid();
        let order = Order {
            id,
            number: number.to_owned(),
            amount,
            currency,
            two_stage,
            return_url: return_url.to_owned(),
            fail_url: fail_url.map(str::to_owned),
            description: p.get("description").unwrap_or_default().to_owned(),
            created_ms: ctx.now_ms,
            session_timeout_ms,
            json_params,
            status: OrderStatus::Registered,
            action_code: action_codes::NO_PAYMENT_ATTEMPT,
            card: None,
            approval_code: None,
            rrn: None,
            auth_ms: None,
            approved_amount: 0,
            deposited_amount: 0,
            refunded_amount: 0,
            approvals: 0,
            payment_attempts: 0,
            ip: None,
            email: None,
        };
        self.by_number.insert(order.number.clone(), id);
        self.order_seq.push(id);
        self.orders.insert(id, order);
        Ok(json!({
            "orderId": id.to_string(),
            "formUrl": format!("{}{}?mdOrder={id}", ctx.root_url, crate::PAY_PAGE_PATH),
        }))
    }

    /// `paymentorder.do` and the hosted page's form: one card submission.
    /// `order_ref` is `MDORDER` (or the page's `mdOrder`).
    pub(crate) fn pay(&mut self, ctx: &Ctx<'_>, p: &Params) -> Result<PayOutcome, ApiError> {
        let order_ref = p
            .get_any(&["MDORDER", "mdOrder"])
            .ok_or_else(|| err(4, "MDORDER is empty"))?;
        let now_ms = ctx.now_ms;
        if self.order_by_id_mut(order_ref, now_ms).is_none() {
            return Err(err(6, "Unknown order"));
        }
        let raw_pan = p
            .get("$PAN")
            .ok_or_else(|| err(4, "Card number is empty"))?;
        let pan: String = raw_pan
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if !(13..=19).contains(&pan.len()) || !cards::luhn_valid(&pan) {
            return Err(err(5, "Card number is invalid"));
        }
        let cvc = p.get("$CVC").ok_or_else(|| err(4, "CVC is empty"))?;
        if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(5, "CVC is invalid"));
        }
        let year = p
            .get("YYYY")
            .ok_or_else(|| err(4, "Expiry year is empty"))?;
        let year = Some(year)
            .filter(|y| y.len() == 4)
            .and_then(|y| y.parse::<i64>().ok())
            .ok_or_else(|| err(5, "Expiry year is invalid"))?;
        let month = p.get("MM").ok_or_else(|| err(4, "Expiry month is empty"))?;
        let month = Some(month)
            .filter(|m| m.len() <= 2)
            .and_then(|m| m.parse::<u32>().ok())
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(|| err(5, "Expiry month is invalid"))?;
        let cardholder = p.get("TEXT").unwrap_or_default().to_owned();

        let Gateway {
            orders,
            rng,
            pa_reqs,
            ..
        } = self;
        let order = Uuid::parse_str(order_ref)
            .ok()
            .and_then(|id| orders.get_mut(&id))
            .ok_or_else(|| err(6, "Unknown order"))?;
        match order.status {
            OrderStatus::Registered => {}
            OrderStatus::AcsStarted => {
                return Err(err(
                    7,
                    "3-D Secure authentication is in progress for this order",
                ))
            }
            OrderStatus::Declined => return Err(err(7, "Order is declined; register a new order")),
            OrderStatus::PreAuthorized | OrderStatus::Authorized => {
                return Err(err(7, "Order is already paid"))
            }
            OrderStatus::Reversed | OrderStatus::Refunded => {
                return Err(err(7, "Order is already paid (reversed or refunded since)"))
            }
        }

        order.payment_attempts += 1;
        order.card = Some(CardInfo {
            masked_pan: cards::mask_pan(&pan),
            expiration: format!("{year:04}{month:02}"),
            cardholder,
        });
        order.ip = p.get("ip").map(str::to_owned).or(order.ip.take());
        order.email = p.get("email").map(str::to_owned).or(order.email.take());

        let (cur_year, cur_month) = year_month(now_ms);
        let behaviour = cards::behaviour_of(&pan);
        drop(pan);
        let mut drop_connection = false;
        if (year, month) < (cur_year, cur_month) {
            order.decline(action_codes::EXPIRED_CARD, rng, now_ms);
        } else {
            match behaviour {
                CardBehaviour::Approve | CardBehaviour::SlowApprove => {
                    order.authorise(rng, now_ms);
                }
                CardBehaviour::ApproveThenDrop => {
                    order.authorise(rng, now_ms);
                    drop_connection = true;
                }
                CardBehaviour::Decline { action_code } => order.decline(action_code, rng, now_ms),
                CardBehaviour::ThreeDsChallenge => {
                    order.status = OrderStatus::AcsStarted;
                    let pa_req = new_token(rng, "PAREQ-");
                    pa_reqs.insert(
                        pa_req.clone(),
                        PaReqEntry {
                            order_id: order.id,
                            pa_res: None,
                        },
                    );
                    return Ok(PayOutcome::Challenge {
                        order_id: order.id,
                        pa_req,
                    });
                }
            }
        }
        Ok(PayOutcome::Finished {
            redirect: order.finish_redirect(),
            drop_connection,
        })
    }

    /// The hosted page's view of an order.
    pub(crate) fn pay_page(&mut self, md_order: &str, now_ms: u64) -> Option<PayPageView> {
        let o = self.order_by_id_mut(md_order, now_ms)?;
        Some(PayPageView {
            order_id: o.id,
            order_number: o.number.clone(),
            amount: o.amount,
            currency: o.currency,
            description: o.description.clone(),
            status: o.status,
            redirect: (!matches!(o.status, OrderStatus::Registered | OrderStatus::AcsStarted))
                .then(|| o.finish_redirect()),
        })
    }

    fn acs_entry(&mut self, pa_req: &str, md: &str, now_ms: u64) -> Result<&mut Order, String> {
        let entry = self
            .pa_reqs
            .get(pa_req)
            .ok_or_else(|| "Unknown PaReq".to_owned())?;
        if entry.order_id.to_string() != md {
            return Err("MD does not match PaReq".to_owned());
        }
        let id = entry.order_id;
        let o = self
            .orders
            .get_mut(&id)
            .ok_or_else(|| "Unknown order".to_owned())?;
        o.expire_if_due(now_ms);
        Ok(o)
    }

    /// The ACS page for (`PaReq`, `MD`).
    pub(crate) fn acs_view(
        &mut self,
        pa_req: &str,
        md: &str,
        now_ms: u64,
    ) -> Result<AcsView, String> {
        let o = self.acs_entry(pa_req, md, now_ms)?;
        if o.status != OrderStatus::AcsStarted {
            return Err("This authentication session is no longer active".to_owned());
        }
        Ok(AcsView {
            order_number: o.number.clone(),
            amount: o.amount,
            currency: o.currency,
            masked_pan: o
                .card
                .as_ref()
                .map(|c| c.masked_pan.clone())
                .unwrap_or_default(),
        })
    }

    /// The ACS form submission: returns the `PaRes` to post to the TermUrl.
    /// Submitting the same `PaReq` again returns the same `PaRes`.
    pub(crate) fn acs_submit(
        &mut self,
        ctx: &Ctx<'_>,
        pa_req: &str,
        md: &str,
        otp: Option<&str>,
        cancelled: bool,
    ) -> Result<String, String> {
        let status = self.acs_entry(pa_req, md, ctx.now_ms)?.status;
        if let Some(existing) = self.pa_reqs.get(pa_req).and_then(|e| e.pa_res.clone()) {
            return Ok(existing);
        }
        if status != OrderStatus::AcsStarted {
            return Err("This authentication session is no longer active".to_owned());
        }
        let success = !cancelled && otp == Some(ctx.config.otp.as_str());
        let pa_res = new_token(&mut self.rng, if success { "PARES-Y-" } else { "PARES-N-" });
        let order_id = match self.pa_reqs.get_mut(pa_req) {
            Some(e) => {
                e.pa_res = Some(pa_res.clone());
                e.order_id
            }
            None => return Err("Unknown PaReq".to_owned()),
        };
        self.pa_res.insert(
            pa_res.clone(),
            PaResEntry {
                order_id,
                success,
                used: false,
            },
        );
        Ok(pa_res)
    }

    /// `finish3ds.do`: finalises the order with the ACS result; returns the
    /// URL to redirect the payer to. Replaying a used `PaRes` only redirects.
    pub(crate) fn finish_3ds(
        &mut self,
        pa_res: &str,
        md: &str,
        now_ms: u64,
    ) -> Result<String, String> {
        let Gateway {
            orders,
            rng,
            pa_res: pa_res_map,
            ..
        } = self;
        let entry = pa_res_map
            .get_mut(pa_res)
            .ok_or_else(|| "Unknown PaRes".to_owned())?;
        if entry.order_id.to_string() != md {
            return Err("MD does not match PaRes".to_owned());
        }
        let order = orders
            .get_mut(&entry.order_id)
            .ok_or_else(|| "Unknown order".to_owned())?;
        order.expire_if_due(now_ms);
        if !entry.used {
            entry.used = true;
            if order.status == OrderStatus::AcsStarted {
                if entry.success {
                    order.authorise(rng, now_ms);
                } else {
                    order.decline(action_codes::THREE_DS_FAILED, rng, now_ms);
                }
            }
        }
        Ok(order.finish_redirect())
    }

    /// `getOrderStatusExtended.do`.
    pub(crate) fn status(&mut self, ctx: &Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
        Self::check_auth(ctx, p)?;
        let order = if let Some(id) = p.get("orderId") {
            self.order_by_id_mut(id, ctx.now_ms)
        } else if let Some(number) = p.get("orderNumber") {
            let id = self.by_number.get(number).copied();
            let order = id.and_then(|id| self.orders.get_mut(&id));
            if let Some(o) = order {
                o.expire_if_due(ctx.now_ms);
                Some(o)
            } else {
                None
            }
        } else {
            return Err(err(4, "orderId or orderNumber is required"));
        };
        order.map(|o| o.status_json()).ok_or_else(no_such_order)
    }

    /// `deposit.do`: `amount` 0 captures the whole pre-authorised amount.
    pub(crate) fn deposit(&mut self, ctx: &Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
        Self::check_auth(ctx, p)?;
        let o = self.op_order(p, ctx.now_ms)?;
        let amount = p.get("amount").ok_or_else(|| err(4, "Amount is empty"))?;
        let amount = parse_minor_units(amount).ok_or_else(|| err(5, "Amount is invalid"))?;
        if o.status != OrderStatus::PreAuthorized {
            return Err(err(
                7,
                format!(
                    "Deposit is impossible: the order is not pre-authorised (orderStatus {})",
                    o.status.code()
                ),
            ));
        }
        let amount = if amount == 0 {
            o.approved_amount
        } else {
            amount
        };
        if amount > o.approved_amount {
            return Err(err(7, "Deposit amount exceeds the pre-authorised amount"));
        }
        o.deposited_amount = amount;
        o.status = OrderStatus::Authorized;
        Ok(success())
    }

    /// The back office's change of an order (see
    /// [`crate::RunningEmulator::set_order_status`]).
    pub(crate) fn back_office(&mut self, number: &str, status: OrderStatus, now_ms: u64) -> bool {
        let Gateway {
            orders,
            by_number,
            rng,
            ..
        } = self;
        let Some(o) = by_number.get(number).and_then(|id| orders.get_mut(id)) else {
            return false;
        };
        let authorised_before = o.approval_code.is_some();
        match status {
            OrderStatus::PreAuthorized | OrderStatus::Authorized => {
                if !authorised_before {
                    let two_stage = o.two_stage;
                    o.two_stage = status == OrderStatus::PreAuthorized;
                    o.authorise(rng, now_ms);
                    o.two_stage = two_stage;
                }
                o.status = status;
                o.approved_amount = o.amount;
                o.deposited_amount = if status == OrderStatus::Authorized {
                    o.amount
                } else {
                    0
                };
            }
            OrderStatus::Refunded => {
                if !authorised_before {
                    o.authorise(rng, now_ms);
                }
                o.status = OrderStatus::Refunded;
                o.deposited_amount = o.deposited_amount.max(o.amount);
                o.refunded_amount = o.deposited_amount;
            }
            OrderStatus::Reversed => {
                o.status = OrderStatus::Reversed;
                o.approved_amount = 0;
                o.deposited_amount = 0;
            }
            _ => return false,
        }
        true
    }

    /// `reverse.do`: status 1 or 2 → 3.
    pub(crate) fn reverse(&mut self, ctx: &Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
        Self::check_auth(ctx, p)?;
        let o = self.op_order(p, ctx.now_ms)?;
        if !matches!(
            o.status,
            OrderStatus::PreAuthorized | OrderStatus::Authorized
        ) {
            return Err(err(
                7,
                format!(
                    "Reversal is impossible for the current order state (orderStatus {})",
                    o.status.code()
                ),
            ));
        }
        o.status = OrderStatus::Reversed;
        o.approved_amount = 0;
        o.deposited_amount = 0;
        Ok(success())
    }

    /// `decline.do`: closes an unpaid order (status 0 or 5 → 6, action code
    /// "declined by the merchant"); a paid order is refused with error 7.
    pub(crate) fn decline(&mut self, ctx: &Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
        Self::check_auth(ctx, p)?;
        let o = match (p.get("orderId"), p.get("orderNumber")) {
            (Some(_), _) => self.op_order(p, ctx.now_ms)?,
            (None, Some(number)) => {
                let number = number.to_string();
                self.order_by_number_mut(&number, ctx.now_ms)
                    .ok_or_else(no_such_order)?
            }
            (None, None) => return Err(err(4, "Order ID is empty")),
        };
        match o.status {
            OrderStatus::Registered | OrderStatus::AcsStarted => {
                o.status = OrderStatus::Declined;
                o.action_code = action_codes::DECLINED_BY_MERCHANT;
                Ok(success())
            }
            other => Err(err(
                7,
                format!(
                    "Decline is impossible for the current order state (orderStatus {})",
                    other.code()
                ),
            )),
        }
    }

    /// `refund.do`: partial or full; status → 4.
    pub(crate) fn refund(&mut self, ctx: &Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
        Self::check_auth(ctx, p)?;
        let o = self.op_order(p, ctx.now_ms)?;
        let amount = p.get("amount").ok_or_else(|| err(4, "Amount is empty"))?;
        let amount = parse_minor_units(amount)
            .filter(|a| *a > 0)
            .ok_or_else(|| err(5, "Amount is invalid"))?;
        if !matches!(o.status, OrderStatus::Authorized | OrderStatus::Refunded) {
            return Err(err(
                7,
                format!(
                    "Refund is impossible for the current order state (orderStatus {})",
                    o.status.code()
                ),
            ));
        }
        let left = o.deposited_amount.saturating_sub(o.refunded_amount);
        if amount > left {
            return Err(err(
                7,
                format!("Refund amount exceeds the amount left to refund ({left})"),
            ));
        }
        o.refunded_amount += amount;
        o.status = OrderStatus::Refunded;
        Ok(success())
    }
}

fn parse_minor_units(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

fn parse_json_params(s: &str) -> Option<Vec<(String, String)>> {
    let v: Value = serde_json::from_str(s).ok()?;
    let obj = v.as_object()?;
    Some(
        obj.iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), value)
            })
            .collect(),
    )
}

/// The (year, month) of a Unix time in milliseconds, UTC.
pub(crate) fn year_month(now_ms: u64) -> (i64, u32) {
    let days = i64::try_from(now_ms / 86_400_000).unwrap_or(i64::MAX / 2);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, u32::try_from(month).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_month_of_known_dates() {
        assert_eq!(year_month(0), (1970, 1));
        // 2024-02-29T12:00:00Z
        assert_eq!(year_month(1_709_208_000_000), (2024, 2));
        // 2025-12-31T23:59:59Z
        assert_eq!(year_month(1_767_225_599_000), (2025, 12));
        // 2026-01-01T00:00:00Z
        assert_eq!(year_month(1_767_225_600_000), (2026, 1));
    }

    #[test]
    fn amounts_are_plain_integers() {
        assert_eq!(parse_minor_units("15000"), Some(15000));
        assert_eq!(parse_minor_units("1.5"), None);
        assert_eq!(parse_minor_units("-1"), None);
        assert_eq!(parse_minor_units(""), None);
    }

    #[test]
    fn register_and_pay_without_http() {
        let config = EmulatorConfig::default();
        let ctx = Ctx {
            config: &config,
            root_url: "http://emu",
            now_ms: 1_767_225_600_000,
        };
        let mut gw = Gateway::new(1);
        let r = gw
            .register(
                &ctx,
                &Params::from_pairs(&[
                    ("userName", "tolom"),
                    ("password", "secret"),
                    ("orderNumber", "A-1"),
                    ("amount", "100"),
                    ("returnUrl", "http://shop/ok?x=1"),
                ]),
                false,
            )
            .unwrap();
        let id = r["orderId"].as_str().unwrap().to_owned();
        let out = gw
            .pay(
                &ctx,
                &Params::from_pairs(&[
                    ("MDORDER", &id),
                    ("$PAN", "4111 1111 1111 1111"),
                    ("$CVC", "123"),
                    ("YYYY", "2030"),
                    ("MM", "1"),
                ]),
            )
            .unwrap();
        assert_eq!(
            out,
            PayOutcome::Finished {
                redirect: format!("http://shop/ok?x=1&orderId={id}"),
                drop_connection: false
            }
        );
        let snap = &gw.snapshots(ctx.now_ms)[0];
        assert_eq!(snap.status, OrderStatus::Authorized);
        assert_eq!(snap.approvals, 1);
        assert_eq!(snap.masked_pan.as_deref(), Some("411111**1111"));
    }
}
