//! A local emulator of the BPC-style ("RBS") bank e-commerce gateway.
//!
//! It serves the merchant API (`register.do`, `registerPreAuth.do`,
//! `paymentorder.do`, `getOrderStatusExtended.do`, `deposit.do`,
//! `reverse.do`, `refund.do`), a hosted payment page, an emulated 3-D Secure
//! (ACS) page with its `finish3ds.do` TermUrl, test cards with fixed
//! outcomes, and fault injection (delays, HTTP 5xx, connections dropped after
//! processing, malformed JSON). It is written from the project's reference
//! notes with its own types and depends on no other tolom crate.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use tolom_bpc_emulator::{cards, Emulator, EmulatorConfig, Endpoint, Fault};
//!
//! let emu = Emulator::start(EmulatorConfig::default()).await?;
//! println!("gateway at {}", emu.base_url()); // http://127.0.0.1:PORT/payment/rest/
//! emu.inject(Fault::drop_after_processing(Endpoint::PaymentOrder).times(1));
//! // ... drive a client against emu.base_url() using cards::VISA_APPROVE ...
//! for order in emu.orders() {
//!     assert!(order.approvals <= 1);
//! }
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! See `docs/bpc-emulator.md` in the repository for the protocol as
//! emulated, field by field.
#![forbid(unsafe_code)]

pub mod cards;
mod config;
mod faults;
mod gateway;
pub mod html;
mod params;
mod server;

pub use config::{
    Credentials, EmulatorConfig, DEFAULT_BASE_PATH, DEFAULT_OTP, DEFAULT_PASSWORD,
    DEFAULT_USER_NAME,
};
pub use faults::{Endpoint, Fault, FaultKind, FaultScope, UnknownEndpoint};
pub use gateway::{OrderSnapshot, OrderStatus, CURRENCY_KGS, MAX_ORDER_NUMBER_LEN};
pub use params::{REDACTED, REDACTED_PARAMS};
pub use server::{Emulator, RequestLogEntry, RunningEmulator};

/// Path of the hosted payment page (`formUrl` points here with
/// `?mdOrder=<orderId>`); GET shows the card form, POST submits it.
pub const PAY_PAGE_PATH: &str = "/payment/merchants/pay.html";
/// Path of the emulated ACS page (`acsUrl`); GET or POST with `PaReq`, `MD`,
/// `TermUrl`.
pub const ACS_PATH: &str = "/acs";
/// Path the ACS page's one-time-code form posts to (`PaReq`, `MD`,
/// `TermUrl`, `otp`).
pub const ACS_SUBMIT_PATH: &str = "/acs/submit";
/// Admin path for faults: `POST` adds (JSON [`Fault`] or array), `GET`
/// lists, `DELETE` clears.
pub const ADMIN_FAULTS_PATH: &str = "/emulator/faults";
