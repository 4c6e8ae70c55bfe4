//! The acquirer port over the gateway's merchant API.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use serde_json::Value;
use tolom_core::card::{CardDetails, Contact};
use tolom_core::money::{Currency, Money};
use tolom_core::payment::{Approval, Challenge, ChallengeResponse};
use tolom_core::ports::{
    Acquirer, AcquirerError, AcquirerErrorKind, AcquirerOutcome, Instrument, OrderStatus,
    PurchaseRequest, RefundOutcome,
};
use tracing::{info, info_span, warn, Instrument as _};

use crate::codes::*;
use crate::config::{BpcConfig, BpcError};
use crate::wire::{error_code, error_message, int, text, Endpoint, Params, Wire};

/// How many orders' gateway ids (and pending challenges) are remembered.
/// Beyond that the oldest are forgotten; a forgotten id is asked for again
/// with `getOrderStatusExtended.do` by order number.
pub const ORDER_CACHE_CAPACITY: usize = 10_000;

/// The longest `orderNumber` the gateway accepts.
pub const MAX_ORDER_NUMBER_LEN: usize = 32;

/// The longest `description` sent (longer ones are cut).
pub const MAX_DESCRIPTION_CHARS: usize = 99;

/// What we remember of an order we talked about.
#[derive(Debug, Clone, Default)]
struct Known {
    /// The gateway's `orderId`.
    order_id: Option<String>,
    /// The hosted page of a hosted-page purchase.
    form_url: Option<String>,
    /// The 3-D Secure challenge handed out.
    challenge: Option<Challenge>,
    /// The gateway's `termUrl` from the 3-D Secure answer.
    gateway_term_url: Option<String>,
}

#[derive(Default)]
struct Cache {
    orders: HashMap<String, Known>,
    age: VecDeque<String>,
}

impl Cache {
    fn update(&mut self, order: &str, f: impl FnOnce(&mut Known)) {
        if !self.orders.contains_key(order) {
            while self.age.len() >= ORDER_CACHE_CAPACITY {
                if let Some(old) = self.age.pop_front() {
                    self.orders.remove(&old);
                }
            }
            self.age.push_back(order.to_string());
        }
        f(self.orders.entry(order.to_string()).or_default());
    }
}

/// An order's state as read from `getOrderStatusExtended.do`.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// The raw `orderStatus`.
    pub(crate) raw: i64,
    /// What it means to the port.
    pub(crate) status: OrderStatus,
}

/// What `register.do` led to.
enum Registered {
    /// A new order with this gateway id.
    New(String),
    /// The order number was registered before; here is its state.
    Existing(Found),
}

/// The tolom acquirer for a BPC-style bank gateway.
///
/// Implements [`Acquirer`] with `register.do` (our order number is the
/// idempotency key), `paymentorder.do` (card data server to server), the
/// hosted payment page (`formUrl`), the 3-D Secure round trip,
/// `getOrderStatusExtended.do`, `refund.do` and `reverse.do`. See the crate
/// documentation for the error semantics.
pub struct BpcAcquirer {
    config: BpcConfig,
    wire: Wire,
    cache: Mutex<Cache>,
}

impl fmt::Debug for BpcAcquirer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BpcAcquirer")
            .field("name", &self.config.name)
            .field("base_url", &self.wire.base.as_str())
            .field("orders_remembered", &self.lock().orders.len())
            .finish_non_exhaustive()
    }
}

fn template(url: &str, order: &str) -> String {
    url.replace("{order}", order)
}

fn field<'r>(response: &'r ChallengeResponse, name: &str) -> Option<&'r str> {
    response
        .fields
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.trim().is_empty())
        .map(|(_, v)| v.as_str())
}

/// Errors of a status query made after money may have moved: whatever went
/// wrong, the outcome is unknown (never "not sent", never "rejected").
fn as_unknown(e: AcquirerError) -> AcquirerError {
    match e.kind {
        AcquirerErrorKind::Unknown => e,
        _ => AcquirerError::unknown(format!("the outcome could not be read: {}", e.message)),
    }
}

impl BpcAcquirer {
    /// A client with this configuration. Fails on an invalid configuration
    /// (see [`BpcConfig::validate`]) or when the HTTP client cannot be
    /// created. No call is made.
    pub fn new(config: BpcConfig) -> Result<BpcAcquirer, BpcError> {
        let base = config.validate()?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // A redirect of a merchant-API call is never followed: the
            // parameters (credentials, card data) would go elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tolom-acquirer-bpc/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BpcError::Client(e.to_string()))?;
        Ok(BpcAcquirer {
            wire: Wire {
                http,
                base,
                credentials: config.credentials.clone(),
            },
            config,
            cache: Mutex::new(Cache::default()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &BpcConfig {
        &self.config
    }

    /// The gateway's `orderId` of our order number, if this client has seen
    /// it (it is otherwise read from the gateway when needed).
    pub fn gateway_order_id(&self, order_number: &str) -> Option<String> {
        self.lock()
            .orders
            .get(order_number)
            .and_then(|k| k.order_id.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        // The cache is only an optimisation: keep going after a panic.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, order: &str, f: impl FnOnce(&mut Known)) {
        self.lock().update(order, f);
    }

    fn known(&self, order: &str) -> Known {
        self.lock().orders.get(order).cloned().unwrap_or_default()
    }

    fn language(&self, language: tolom_core::i18n::Language) -> &'static str {
        if self.config.languages.contains(&language) {
            language.tag()
        } else {
            self.config.default_language.tag()
        }
    }

    fn finish_3ds_url(&self) -> String {
        self.config.finish_3ds_url.clone().unwrap_or_else(|| {
            self.wire
                .base
                .join("finish3ds.do")
                .map(|u| u.to_string())
                .unwrap_or_default()
        })
    }

    // -- status -------------------------------------------------------------

    /// `getOrderStatusExtended.do` by order number. `Ok(None)` when the
    /// gateway has no such order.
    async fn query(&self, order: &str) -> Result<Option<Found>, AcquirerError> {
        let v = self
            .wire
            .call(
                Endpoint::Status,
                Params::default()
                    .add("orderNumber", order)
                    .add("language", self.config.default_language.tag()),
            )
            .await?;
        match error_code(&v) {
            0 => {}
            ERROR_UNKNOWN_ORDER => {
                info!("the gateway has no such order");
                return Ok(None);
            }
            code => {
                warn!(error_code = code, "status query refused");
                return Err(AcquirerError::rejected(format!(
                    "getOrderStatusExtended.do: errorCode {code}: {}",
                    error_message(&v)
                )));
            }
        }
        let found = parse_status(&v)?;
        if let Some(id) = order_id_of(&v) {
            self.remember(order, |k| k.order_id = Some(id));
        }
        info!(
            order_status = found.raw,
            action_code = int(&v, "actionCode"),
            "order status"
        );
        Ok(Some(found))
    }

    /// The gateway's id of an order, from memory or from the gateway.
    /// Errors are those of a call that moved nothing: a failed look-up is
    /// `NotSent` for the operation that needed it.
    async fn order_id(&self, order: &str) -> Result<String, AcquirerError> {
        if let Some(id) = self.known(order).order_id {
            return Ok(id);
        }
        match self.query(order).await {
            Ok(Some(_)) => self.known(order).order_id.ok_or_else(|| {
                AcquirerError::rejected("the gateway's status names no orderId (mdOrder)")
            }),
            Ok(None) => Err(AcquirerError::rejected(
                "the gateway has no order with this number",
            )),
            Err(e) if e.kind == AcquirerErrorKind::Rejected => Err(e),
            Err(e) => Err(AcquirerError::not_sent(format!(
                "the order could not be looked up, nothing was sent: {}",
                e.message
            ))),
        }
    }

    /// The outcome an order's state stands for, for `purchase` and
    /// `complete_challenge`.
    fn outcome_of(&self, order: &str, found: Found) -> Result<AcquirerOutcome, AcquirerError> {
        match found.status {
            OrderStatus::Approved { approval, .. } => {
                info!("approved");
                Ok(AcquirerOutcome::Approved(approval))
            }
            OrderStatus::Declined(reason) => {
                info!(reason = ?reason, "declined");
                Ok(AcquirerOutcome::Declined(reason))
            }
            OrderStatus::Reversed => Err(AcquirerError::rejected(
                "the order was reversed at the gateway",
            )),
            OrderStatus::NotFound => Err(AcquirerError::rejected(
                "the gateway has no order with this number",
            )),
            // Not an approval: only `status` can settle these (the core
            // closes such a payment, never records it as paid).
            OrderStatus::Refunded { .. } => Err(AcquirerError::unknown(
                "the order is refunded at the gateway",
            )),
            OrderStatus::PreAuthorized { .. } => Err(AcquirerError::unknown(
                "the order's amount is held (pre-authorised), not taken",
            )),
            OrderStatus::Pending => {
                let known = self.known(order);
                let again = match found.raw {
                    STATUS_3DS_STARTED => known.challenge,
                    _ => known.form_url.map(|url| Challenge::Redirect {
                        url,
                        method: "GET".into(),
                        fields: BTreeMap::new(),
                    }),
                };
                Ok(match again {
                    Some(c) => AcquirerOutcome::ActionRequired(c),
                    None => AcquirerOutcome::Pending,
                })
            }
        }
    }

    /// Reads the outcome after the card was processed. Any failure is an
    /// unknown outcome.
    async fn settled_outcome(&self, order: &str) -> Result<AcquirerOutcome, AcquirerError> {
        match self.query(order).await.map_err(as_unknown)? {
            Some(found) => self.outcome_of(order, found),
            None => Err(AcquirerError::unknown(
                "the card was processed but the gateway reports no such order",
            )),
        }
    }

    // -- purchase -----------------------------------------------------------

    async fn register(
        &self,
        req: &PurchaseRequest<'_>,
        return_url: &str,
    ) -> Result<Registered, AcquirerError> {
        let order = req.order_number;
        let description: String = req
            .description
            .chars()
            .take(MAX_DESCRIPTION_CHARS)
            .collect();
        let params = Params::default()
            .add("orderNumber", order)
            .add("amount", req.amount.to_minor_units().to_string())
            .add("currency", req.amount.currency().numeric().to_string())
            .add("returnUrl", return_url)
            .add_opt(
                "failUrl",
                self.config.fail_url.as_deref().map(|u| template(u, order)),
            )
            .add("description", description)
            .add("language", self.language(req.language))
            .add_opt(
                "sessionTimeoutSecs",
                self.config.session_timeout_secs.map(|s| s.to_string()),
            );
        let hosted = matches!(req.instrument, Instrument::HostedPage);
        match self.wire.call(Endpoint::Register, params).await {
            Ok(v) => match error_code(&v) {
                0 => match text(&v, "orderId") {
                    Some(id) => {
                        let form_url = text(&v, "formUrl").filter(|_| hosted);
                        self.remember(order, |k| {
                            k.order_id = Some(id.clone());
                            k.form_url = form_url;
                        });
                        info!("order registered");
                        Ok(Registered::New(id))
                    }
                    None => {
                        self.register_lost(
                            order,
                            AcquirerError::unknown("register.do answered without an orderId"),
                        )
                        .await
                    }
                },
                ERROR_DUPLICATE_ORDER => {
                    info!("order number already registered; looking the order up");
                    match self.query(order).await.map_err(as_unknown)? {
                        Some(found) => Ok(Registered::Existing(found)),
                        None => Err(AcquirerError::unknown(
                            "register.do says the order number is taken, the status query does not know it",
                        )),
                    }
                }
                code => {
                    warn!(error_code = code, "register.do refused");
                    Err(AcquirerError::rejected(format!(
                        "register.do: errorCode {code}: {}",
                        error_message(&v)
                    )))
                }
            },
            Err(e) if e.kind == AcquirerErrorKind::Unknown => self.register_lost(order, e).await,
            Err(e) => Err(e),
        }
    }

    /// `register.do` may or may not have registered the order (no card data
    /// was sent yet, so no money moved). Ask the gateway: an order that is
    /// not there was not registered, and the purchase is known not to have
    /// happened (`NotSent`); one that is there is continued.
    async fn register_lost(
        &self,
        order: &str,
        lost: AcquirerError,
    ) -> Result<Registered, AcquirerError> {
        warn!("register.do answer lost; asking the gateway by order number");
        match self.query(order).await {
            Ok(None) => Err(AcquirerError::not_sent(format!(
                "{}; the gateway has no order with this number: nothing was registered or charged",
                lost.message
            ))),
            Ok(Some(found)) => Ok(Registered::Existing(found)),
            Err(_) => Err(lost),
        }
    }

    async fn pay(
        &self,
        order: &str,
        order_id: &str,
        card: &CardDetails,
        contact: &Contact,
        language: &str,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        let params = Params::default()
            .add("MDORDER", order_id)
            .add("YYYY", card.expiry.year.to_string())
            .add("MM", format!("{:02}", card.expiry.month))
            .add("TEXT", card.holder.as_str())
            .add("language", language)
            .add("email", contact.email.as_str())
            .secret("$PAN", card.pan.expose())
            .secret("$CVC", card.cvv.expose());
        let v = self.wire.call(Endpoint::PaymentOrder, params).await?;
        match error_code(&v) {
            0 => match text(&v, "acsUrl") {
                Some(acs_url) => {
                    let Some(pa_req) = text(&v, "paReq") else {
                        return Err(AcquirerError::unknown(
                            "paymentorder.do started 3-D Secure without a paReq",
                        ));
                    };
                    let gateway_term = text(&v, "termUrl");
                    let term_url = match &self.config.term_url {
                        Some(t) => template(t, order),
                        None => gateway_term
                            .clone()
                            .unwrap_or_else(|| self.finish_3ds_url()),
                    };
                    let mut fields = BTreeMap::new();
                    fields.insert("PaReq".to_string(), pa_req);
                    fields.insert("MD".to_string(), order_id.to_string());
                    fields.insert("TermUrl".to_string(), term_url);
                    let challenge = Challenge::Redirect {
                        url: acs_url,
                        method: "POST".into(),
                        fields,
                    };
                    self.remember(order, |k| {
                        k.challenge = Some(challenge.clone());
                        k.gateway_term_url = gateway_term;
                    });
                    info!("3-D Secure required");
                    Ok(AcquirerOutcome::ActionRequired(challenge))
                }
                None => self.settled_outcome(order).await,
            },
            ERROR_WRONG_STATE => {
                info!("order not payable in its state; reading its status");
                self.settled_outcome(order).await
            }
            code => {
                warn!(error_code = code, "paymentorder.do refused");
                Err(AcquirerError::rejected(format!(
                    "paymentorder.do: errorCode {code}: {}",
                    error_message(&v)
                )))
            }
        }
    }

    async fn purchase_in_span(
        &self,
        req: PurchaseRequest<'_>,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        let order = req.order_number;
        if order.is_empty() || order.len() > MAX_ORDER_NUMBER_LEN {
            return Err(AcquirerError::not_sent(format!(
                "order number must have 1 to {MAX_ORDER_NUMBER_LEN} characters"
            )));
        }
        if req.amount.is_zero() {
            return Err(AcquirerError::not_sent("amount must be positive"));
        }
        let return_url = req
            .return_url
            .map(str::to_string)
            .or_else(|| self.config.return_url.clone())
            .map(|u| template(&u, order))
            .ok_or_else(|| AcquirerError::not_sent("no return URL: configure return_url"))?;
        let order_id = match self.register(&req, &return_url).await? {
            Registered::New(id) => id,
            Registered::Existing(found) if found.raw == STATUS_REGISTERED => {
                match self.known(order).order_id {
                    Some(id) => id,
                    None => {
                        return Err(AcquirerError::unknown(
                            "the registered order's orderId is not known",
                        ))
                    }
                }
            }
            Registered::Existing(found) => return self.outcome_of(order, found),
        };
        match req.instrument {
            Instrument::HostedPage => match self.known(order).form_url {
                Some(url) => Ok(AcquirerOutcome::ActionRequired(Challenge::Redirect {
                    url,
                    method: "GET".into(),
                    fields: BTreeMap::new(),
                })),
                None => Ok(AcquirerOutcome::Pending),
            },
            Instrument::Card { card, contact } => {
                self.pay(order, &order_id, card, contact, self.language(req.language))
                    .await
            }
        }
    }

    async fn complete_in_span(
        &self,
        order: &str,
        response: &ChallengeResponse,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        let mut forwarded = None;
        if let Some(pa_res) = field(response, "PaRes") {
            // The portal used its own TermUrl: hand the result to the gateway.
            let known = self.known(order);
            let md = match field(response, "MD") {
                Some(md) => md.to_string(),
                None => self.order_id(order).await.map_err(as_unknown)?,
            };
            let url = known
                .gateway_term_url
                .unwrap_or_else(|| self.finish_3ds_url());
            forwarded = Some(self.wire.finish_3ds(&url, pa_res, &md).await);
        }
        let found = match self.query(order).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                return Err(AcquirerError::rejected(
                    "the gateway has no order with this number",
                ))
            }
            Err(e) => return Err(as_unknown(e)),
        };
        if found.raw == STATUS_3DS_STARTED {
            if let Some(Err(e)) = forwarded {
                return Err(as_unknown(e));
            }
        }
        self.outcome_of(order, found)
    }

    async fn refund_in_span(
        &self,
        order: &str,
        amount: Money,
    ) -> Result<RefundOutcome, AcquirerError> {
        if amount.is_zero() {
            return Ok(RefundOutcome::Refused("amount must be positive".into()));
        }
        let order_id = self.order_id(order).await?;
        let v = self
            .wire
            .call(
                Endpoint::Refund,
                Params::default()
                    .add("orderId", order_id)
                    .add("amount", amount.to_minor_units().to_string()),
            )
            .await?;
        match error_code(&v) {
            0 => {
                info!("refunded");
                Ok(RefundOutcome::Refunded)
            }
            ERROR_WRONG_STATE => {
                if let Ok(Some(Found {
                    status: OrderStatus::Reversed,
                    ..
                })) = self.query(order).await
                {
                    return Err(AcquirerError::rejected("the order was reversed"));
                }
                let why = error_message(&v);
                info!(error_code = ERROR_WRONG_STATE, "refund refused");
                Ok(RefundOutcome::Refused(format!("errorCode 7: {why}")))
            }
            code => {
                warn!(error_code = code, "refund.do refused");
                Err(AcquirerError::rejected(format!(
                    "refund.do: errorCode {code}: {}",
                    error_message(&v)
                )))
            }
        }
    }

    async fn reverse_in_span(&self, order: &str) -> Result<(), AcquirerError> {
        let order_id = self.order_id(order).await?;
        let v = self
            .wire
            .call(
                Endpoint::Reverse,
                Params::default().add("orderId", order_id),
            )
            .await?;
        match error_code(&v) {
            0 => {
                info!("reversed");
                Ok(())
            }
            code => {
                if code == ERROR_WRONG_STATE {
                    if let Ok(Some(Found {
                        status: OrderStatus::Reversed,
                        ..
                    })) = self.query(order).await
                    {
                        // Reversed already (a retry after a lost answer).
                        return Ok(());
                    }
                }
                warn!(error_code = code, "reverse.do refused");
                Err(AcquirerError::rejected(format!(
                    "reverse.do: errorCode {code}: {}",
                    error_message(&v)
                )))
            }
        }
    }
}

impl BpcAcquirer {
    async fn cancel_in_span(&self, order: &str) -> Result<(), AcquirerError> {
        let found = match self.query(order).await? {
            // Never received: nothing can be paid on it.
            None => return Ok(()),
            Some(found) => found,
        };
        match found.status {
            OrderStatus::Approved { .. }
            | OrderStatus::Refunded { .. }
            | OrderStatus::PreAuthorized { .. } => {
                return Err(AcquirerError::rejected(
                    "the order was paid (or its amount is held); it cannot be declined",
                ))
            }
            OrderStatus::Declined(_) | OrderStatus::Reversed | OrderStatus::NotFound => {
                return Ok(())
            }
            OrderStatus::Pending => {}
        }
        let order_id = self.order_id(order).await?;
        let v = self
            .wire
            .call(
                Endpoint::Decline,
                Params::default().add("orderId", order_id),
            )
            .await?;
        match error_code(&v) {
            0 => {
                info!("unpaid order declined");
                Ok(())
            }
            code => {
                // A retry after a lost answer finds it declined already; a
                // payer who paid meanwhile leaves it approved.
                if let Ok(Some(Found {
                    status: OrderStatus::Declined(_) | OrderStatus::Reversed,
                    ..
                })) = self.query(order).await
                {
                    return Ok(());
                }
                warn!(error_code = code, "decline.do refused");
                Err(AcquirerError::rejected(format!(
                    "decline.do: errorCode {code}: {}",
                    error_message(&v)
                )))
            }
        }
    }
}

/// The gateway's `orderId` in a status answer: the `mdOrder` attribute (or
/// an `orderId` field, which some gateways add).
pub(crate) fn order_id_of(v: &Value) -> Option<String> {
    v.get("attributes")
        .and_then(Value::as_array)
        .and_then(|attrs| {
            attrs.iter().find_map(|a| {
                (a.get("name").and_then(Value::as_str) == Some("mdOrder"))
                    .then(|| text(a, "value"))
                    .flatten()
            })
        })
        .or_else(|| text(v, "orderId"))
}

/// Reads a successful `getOrderStatusExtended.do` answer.
pub(crate) fn parse_status(v: &Value) -> Result<Found, AcquirerError> {
    let Some(raw) = int(v, "orderStatus") else {
        return Err(AcquirerError::unknown(
            "getOrderStatusExtended.do answered without an orderStatus",
        ));
    };
    let status = match raw {
        STATUS_REGISTERED | STATUS_3DS_STARTED => OrderStatus::Pending,
        // Only 2 is paid. 4 is paid and (partly or fully) refunded since,
        // 1 is an amount held and not taken: each its own outcome, never
        // an approval to record.
        STATUS_PREAUTHORISED | STATUS_PAID | STATUS_REFUNDED => {
            let auth = v.get("cardAuthInfo").unwrap_or(&Value::Null);
            let approval = Approval {
                auth_code: text(auth, "approvalCode").unwrap_or_default(),
                rrn: text(v, "authRefNum").unwrap_or_default(),
            };
            let refunded = v
                .get("paymentAmountInfo")
                .and_then(|p| int(p, "refundedAmount"))
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0);
            let refunded = Money::from_minor_units(refunded, Currency::KGS);
            match raw {
                STATUS_PAID => OrderStatus::Approved { approval, refunded },
                STATUS_REFUNDED => OrderStatus::Refunded { approval, refunded },
                _ => OrderStatus::PreAuthorized { approval },
            }
        }
        STATUS_REVERSED => OrderStatus::Reversed,
        STATUS_DECLINED => {
            OrderStatus::Declined(decline_reason(int(v, "actionCode").unwrap_or(i64::MIN)))
        }
        other => {
            return Err(AcquirerError::unknown(format!(
                "getOrderStatusExtended.do: unrecognised orderStatus {other}"
            )))
        }
    };
    Ok(Found { raw, status })
}

#[async_trait]
impl Acquirer for BpcAcquirer {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn purchase<'a>(
        &self,
        request: PurchaseRequest<'a>,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        let span = info_span!(
            "bpc.purchase",
            order = request.order_number,
            hosted = matches!(request.instrument, Instrument::HostedPage)
        );
        self.purchase_in_span(request).instrument(span).await
    }

    async fn complete_challenge(
        &self,
        order_number: &str,
        response: &ChallengeResponse,
    ) -> Result<AcquirerOutcome, AcquirerError> {
        let span = info_span!("bpc.complete_challenge", order = order_number);
        self.complete_in_span(order_number, response)
            .instrument(span)
            .await
    }

    async fn status(&self, order_number: &str) -> Result<OrderStatus, AcquirerError> {
        let span = info_span!("bpc.status", order = order_number);
        async {
            Ok(match self.query(order_number).await? {
                Some(found) => found.status,
                None => OrderStatus::NotFound,
            })
        }
        .instrument(span)
        .await
    }

    async fn refund(
        &self,
        order_number: &str,
        refund_id: &str,
        amount: Money,
    ) -> Result<RefundOutcome, AcquirerError> {
        let span = info_span!(
            "bpc.refund",
            order = order_number,
            refund = refund_id,
            amount_minor = amount.to_minor_units()
        );
        self.refund_in_span(order_number, amount)
            .instrument(span)
            .await
    }

    async fn reverse(&self, order_number: &str) -> Result<(), AcquirerError> {
        let span = info_span!("bpc.reverse", order = order_number);
        self.reverse_in_span(order_number).instrument(span).await
    }

    async fn cancel(&self, order_number: &str) -> Result<(), AcquirerError> {
        let span = info_span!("bpc.cancel", order = order_number);
        self.cancel_in_span(order_number).instrument(span).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tolom_core::payment::DeclineReason;

    #[test]
    fn status_answers_are_read_leniently() {
        let paid = json!({
            "errorCode": "0", "orderStatus": 2, "actionCode": 0,
            "cardAuthInfo": {"approvalCode": "123456", "maskedPan": "411111**1111"},
            "authRefNum": "123456789012",
            "paymentAmountInfo": {"refundedAmount": 0},
            "attributes": [{"name": "mdOrder", "value": "abc-1"}]
        });
        let f = parse_status(&paid).unwrap();
        assert_eq!(
            f.status,
            OrderStatus::Approved {
                approval: Approval {
                    auth_code: "123456".into(),
                    rrn: "123456789012".into()
                },
                refunded: Money::som(0)
            }
        );
        assert_eq!(order_id_of(&paid).as_deref(), Some("abc-1"));
        // Strings where numbers are expected, and a partial refund.
        let refunded = json!({"orderStatus": "4", "authRefNum": 987654321012u64,
            "cardAuthInfo": {"approvalCode": 654321},
            "paymentAmountInfo": {"refundedAmount": "30000"}, "orderId": "x-2"});
        let f = parse_status(&refunded).unwrap();
        assert_eq!(
            f.status,
            OrderStatus::Refunded {
                approval: Approval {
                    auth_code: "654321".into(),
                    rrn: "987654321012".into()
                },
                refunded: Money::som(300)
            },
            "refunded (4) is its own outcome, never an approval"
        );
        let held = json!({"orderStatus": 1, "authRefNum": "111122223333",
            "cardAuthInfo": {"approvalCode": "777777"}});
        assert_eq!(
            parse_status(&held).unwrap().status,
            OrderStatus::PreAuthorized {
                approval: Approval {
                    auth_code: "777777".into(),
                    rrn: "111122223333".into()
                }
            },
            "pre-authorised (1) is its own outcome, never an approval"
        );
        assert_eq!(order_id_of(&refunded).as_deref(), Some("x-2"));
        let declined = json!({"orderStatus": 6, "actionCode": 116});
        assert_eq!(
            parse_status(&declined).unwrap().status,
            OrderStatus::Declined(DeclineReason::InsufficientFunds)
        );
        let declined_no_code = json!({"orderStatus": 6});
        assert_eq!(
            parse_status(&declined_no_code).unwrap().status,
            OrderStatus::Declined(DeclineReason::Other)
        );
        for pending in [0, 5] {
            assert_eq!(
                parse_status(&json!({"orderStatus": pending}))
                    .unwrap()
                    .status,
                OrderStatus::Pending
            );
        }
        assert_eq!(
            parse_status(&json!({"orderStatus": 3})).unwrap().status,
            OrderStatus::Reversed
        );
        assert_eq!(
            parse_status(&json!({"orderStatus": 9})).unwrap_err().kind,
            AcquirerErrorKind::Unknown
        );
        assert_eq!(
            parse_status(&json!({"errorCode": 0})).unwrap_err().kind,
            AcquirerErrorKind::Unknown
        );
    }

    #[test]
    fn the_cache_is_bounded() {
        let mut c = Cache::default();
        for i in 0..ORDER_CACHE_CAPACITY + 10 {
            c.update(&i.to_string(), |k| k.order_id = Some(i.to_string()));
        }
        assert_eq!(c.orders.len(), ORDER_CACHE_CAPACITY);
        assert!(!c.orders.contains_key("0"));
        assert!(c
            .orders
            .contains_key(&(ORDER_CACHE_CAPACITY + 9).to_string()));
        // Updating a known order does not grow it.
        c.update("20", |k| k.form_url = Some("u".into()));
        assert_eq!(c.orders.len(), ORDER_CACHE_CAPACITY);
    }

    #[test]
    fn templates_and_fields() {
        assert_eq!(
            template("https://p.example/payments/{order}/3ds", "ab12"),
            "https://p.example/payments/ab12/3ds"
        );
        let mut r = ChallengeResponse::default();
        r.fields.insert("pares".into(), "PARES-1".into());
        r.fields.insert("MD".into(), " ".into());
        assert_eq!(field(&r, "PaRes"), Some("PARES-1"));
        assert_eq!(field(&r, "MD"), None, "blank values count as missing");
    }
}
