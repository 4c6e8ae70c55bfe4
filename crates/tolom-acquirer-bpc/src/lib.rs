//! # tolom-acquirer-bpc
//!
//! The tolom acquirer adapter for the BPC-style ("RBS") e-commerce gateway
//! through which banks of the region expose card acquiring. It implements
//! [`tolom_core::ports::Acquirer`] over the merchant API:
//!
//! | port call | gateway calls |
//! |---|---|
//! | `purchase` (card) | `register.do` (our order number is the idempotency key) → `paymentorder.do` → `getOrderStatusExtended.do`, or a 3-D Secure challenge (`acsUrl`, `PaReq`, `MD`, `TermUrl`) |
//! | `purchase` (hosted page) | `register.do` → redirect to `formUrl` |
//! | `complete_challenge` | (`PaRes`/`MD` forwarded to the gateway's `termUrl` when the portal has its own TermUrl) → `getOrderStatusExtended.do` |
//! | `status` | `getOrderStatusExtended.do?orderNumber=` |
//! | `refund` | `refund.do` |
//! | `reverse` | `reverse.do` |
//!
//! Amounts go in minor units with the ISO 4217 numeric currency (KGS =
//! 417).
//!
//! ## Never a double charge, never a lost success
//!
//! - A call that fails before a byte was sent (DNS, refused connection, TLS,
//!   connect timeout) is [`AcquirerErrorKind::NotSent`](tolom_core::ports::AcquirerErrorKind).
//! - A call that may have reached the gateway without a readable answer
//!   (timeout after sending, connection dropped, HTTP 5xx, malformed JSON)
//!   is `Unknown`: the core keeps the payment `Unknown` and reconciliation
//!   asks `getOrderStatusExtended.do` by order number. The order is never
//!   registered again under a new number.
//! - `register.do` moves no money. When its answer is lost the client asks
//!   the gateway at once: no such order → `NotSent` (nothing registered,
//!   nothing charged); the order exists → it is continued.
//! - `register.do` answering `errorCode 1` (order number taken) means a
//!   retry: the existing order is looked up and its state answered
//!   (approved → the same approval; 3-D Secure started → the same
//!   challenge; registered, unpaid → paid now).
//! - Request-level errors (`errorCode` 3, 4, 5, 6, HTTP 4xx) are
//!   `Rejected`: processed and refused, nothing charged.
//! - `actionCode`s map to decline reasons in one table, [`ACTION_CODES`].
//!
//! No card number, CVC or credential appears in a log line, an error text
//! or `Debug`: parameters are never logged; the password is a
//! [`secrecy::SecretString`].
//!
//! See `docs/acquirers.md` in the repository for configuration, test cards
//! and how to add another bank's gateway.
#![forbid(unsafe_code)]

mod acquirer;
mod codes;
mod config;
mod wire;

/// The readers of the gateway's JSON answers that every call goes through,
/// for `tolom-fuzz`, which feeds them arbitrary and mutated answers
/// (`docs/security.md`, "Fuzzing"). Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use serde_json::Value;
    use tolom_core::ports::{AcquirerError, OrderStatus};

    /// An integer sent as a number or a string (`errorCode`,
    /// `orderStatus`, `actionCode`, ...).
    pub fn int(v: &Value, key: &str) -> Option<i64> {
        crate::wire::int(v, key)
    }

    /// A text sent as a string or a number (`orderId`, `formUrl`,
    /// `acsUrl`, `paReq`, `termUrl`, ...).
    pub fn text(v: &Value, key: &str) -> Option<String> {
        crate::wire::text(v, key)
    }

    /// The request-level `errorCode` (0 when absent).
    pub fn error_code(v: &Value) -> i64 {
        crate::wire::error_code(v)
    }

    /// `errorMessage` (or `error`).
    pub fn error_message(v: &Value) -> String {
        crate::wire::error_message(v)
    }

    /// A `getOrderStatusExtended.do` answer: the raw `orderStatus` and what
    /// it means to the port.
    pub fn parse_status(v: &Value) -> Result<(i64, OrderStatus), AcquirerError> {
        crate::acquirer::parse_status(v).map(|f| (f.raw, f.status))
    }

    /// The gateway's `orderId` of a status answer (`mdOrder`).
    pub fn order_id_of(v: &Value) -> Option<String> {
        crate::acquirer::order_id_of(v)
    }
}

pub use acquirer::{
    BpcAcquirer, MAX_DESCRIPTION_CHARS, MAX_ORDER_NUMBER_LEN, ORDER_CACHE_CAPACITY,
};
pub use codes::{
    decline_reason, ACTION_CODES, ERROR_DUPLICATE_ORDER, ERROR_UNKNOWN_ORDER, ERROR_WRONG_STATE,
    STATUS_3DS_STARTED, STATUS_DECLINED, STATUS_PAID, STATUS_PREAUTHORISED, STATUS_REFUNDED,
    STATUS_REGISTERED, STATUS_REVERSED,
};
pub use config::{BpcConfig, BpcCredentials, BpcError};
