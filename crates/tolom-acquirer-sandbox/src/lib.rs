//! # tolom-acquirer-sandbox
//!
//! A deterministic, in-process test acquirer for **tolom**: it implements
//! [`tolom_core::ports::Acquirer`] without a network, a bank or money.
//!
//! - The **card number decides** the outcome: see [`test_cards`] and the
//!   constants in [`cards`] (approve per brand, five decline reasons,
//!   3-D Secure one-time code, timeout after processing, technical error
//!   before processing). Any other valid number is approved. CVV `000`
//!   declines any card ([`DECLINING_CVV`]).
//! - **Idempotent by order number**: a repeated `purchase` returns the
//!   order's current outcome and never charges twice; [`SandboxAcquirer::charges`]
//!   and [`SandboxAcquirer::total_charges`] prove it.
//! - **Reproducible**: approval codes and RRNs are derived from the order
//!   number ([`approval_for`]).
//! - **Fault hooks** for tests: [`SandboxAcquirer::fail_next_purchase`],
//!   [`SandboxAcquirer::fail_next_status`], ...
//! - **Refuses production** ([`SandboxError::ProductionRefused`]) unless
//!   [`SandboxConfig::allow_in_production`] is set.
//! - **No card data kept**: only the masked PAN and the brand; `Debug` and
//!   errors never show a PAN or CVV.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use futures::executor::block_on;
//! use tolom_acquirer_sandbox::{SandboxAcquirer, VISA_APPROVE};
//! use tolom_core::card::{BrandTable, CardForm};
//! use tolom_core::i18n::Language;
//! use tolom_core::money::Money;
//! use tolom_core::ports::{Acquirer, AcquirerOutcome, Instrument, OrderStatus, PurchaseRequest};
//!
//! let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
//! let form = CardForm {
//!     holder: "Aibek Asanov".into(), pan: VISA_APPROVE.into(), expiry: "12/30".into(),
//!     cvv: "123".into(), phone: "0555 123 456".into(), email: "aibek@example.kg".into(),
//! };
//! let (card, contact) = form.validate(now, &BrandTable::default()).unwrap();
//! let sandbox = SandboxAcquirer::for_tests();
//! let outcome = block_on(sandbox.purchase(PurchaseRequest {
//!     order_number: "order-1",
//!     amount: Money::som(510),
//!     description: "ID card, code 11...",
//!     language: Language::En,
//!     instrument: Instrument::Card { card: &card, contact: &contact },
//!     return_url: None,
//! }))
//! .unwrap();
//! assert!(matches!(outcome, AcquirerOutcome::Approved(_)));
//! assert!(matches!(block_on(sandbox.status("order-1")).unwrap(), OrderStatus::Approved { .. }));
//! assert_eq!(sandbox.total_charges(), 1);
//! ```
#![forbid(unsafe_code)]

mod acquirer;
pub mod cards;
mod config;

pub use acquirer::{
    approval_for, OrderSnapshot, SandboxAcquirer, SandboxOrderState, HOSTED_APPROVE,
    HOSTED_OUTCOME_FIELD, MAX_ORDERS, OTP_FIELD,
};
pub use cards::{
    behaviour_of, test_cards, Behaviour, TestCard, DECLINE_DO_NOT_HONOUR, DECLINE_EXPIRED_CARD,
    DECLINE_INCORRECT_CVV, DECLINE_INSUFFICIENT_FUNDS, DECLINE_LOST_OR_STOLEN, DECLINING_CVV,
    ELCART_APPROVE, MAESTRO_APPROVE, MASTERCARD_APPROVE, MIR_APPROVE, TECHNICAL_ERROR,
    THREE_DS_OTP, TIMEOUT_AFTER_PROCESSING, UNIONPAY_APPROVE, VISA_APPROVE,
};
pub use config::{Environment, SandboxConfig, SandboxError};
