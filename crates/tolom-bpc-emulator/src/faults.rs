//! Endpoints and fault injection.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// An endpoint of the emulator, named as in the request log and in faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Endpoint {
    /// `<base>register.do`.
    #[serde(rename = "register.do")]
    Register,
    /// `<base>registerPreAuth.do`.
    #[serde(rename = "registerPreAuth.do")]
    RegisterPreAuth,
    /// `<base>paymentorder.do`.
    #[serde(rename = "paymentorder.do")]
    PaymentOrder,
    /// `<base>getOrderStatusExtended.do`.
    #[serde(rename = "getOrderStatusExtended.do")]
    GetOrderStatusExtended,
    /// `<base>deposit.do`.
    #[serde(rename = "deposit.do")]
    Deposit,
    /// `<base>reverse.do`.
    #[serde(rename = "reverse.do")]
    Reverse,
    /// `<base>refund.do`.
    #[serde(rename = "refund.do")]
    Refund,
    /// `<base>decline.do` (close an unpaid order).
    #[serde(rename = "decline.do")]
    Decline,
    /// `<base>finish3ds.do` (the gateway's own 3-D Secure TermUrl).
    #[serde(rename = "finish3ds.do")]
    Finish3ds,
    /// `/payment/merchants/pay.html` (the hosted payment page, GET and POST).
    #[serde(rename = "pay.html")]
    PayPage,
    /// `/acs` (the 3-D Secure one-time-code page).
    #[serde(rename = "acs")]
    Acs,
    /// `/acs/submit` (the one-time-code form target).
    #[serde(rename = "acs/submit")]
    AcsSubmit,
    /// In a fault: every endpoint above. Never appears in the request log.
    #[serde(rename = "*")]
    All,
}

impl Endpoint {
    /// Every concrete endpoint (without [`Endpoint::All`]).
    pub const ALL_ENDPOINTS: [Endpoint; 12] = [
        Endpoint::Register,
        Endpoint::RegisterPreAuth,
        Endpoint::PaymentOrder,
        Endpoint::GetOrderStatusExtended,
        Endpoint::Deposit,
        Endpoint::Reverse,
        Endpoint::Refund,
        Endpoint::Decline,
        Endpoint::Finish3ds,
        Endpoint::PayPage,
        Endpoint::Acs,
        Endpoint::AcsSubmit,
    ];

    /// The endpoint's name (`register.do`, `pay.html`, `*`, …).
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Register => "register.do",
            Endpoint::RegisterPreAuth => "registerPreAuth.do",
            Endpoint::PaymentOrder => "paymentorder.do",
            Endpoint::GetOrderStatusExtended => "getOrderStatusExtended.do",
            Endpoint::Deposit => "deposit.do",
            Endpoint::Reverse => "reverse.do",
            Endpoint::Refund => "refund.do",
            Endpoint::Decline => "decline.do",
            Endpoint::Finish3ds => "finish3ds.do",
            Endpoint::PayPage => "pay.html",
            Endpoint::Acs => "acs",
            Endpoint::AcsSubmit => "acs/submit",
            Endpoint::All => "*",
        }
    }

    /// The endpoint of a merchant-API path segment (`register.do`, …), for
    /// the endpoints under the configurable prefix.
    pub(crate) fn from_api_name(name: &str) -> Option<Endpoint> {
        match name {
            "register.do" => Some(Endpoint::Register),
            "registerPreAuth.do" => Some(Endpoint::RegisterPreAuth),
            "paymentorder.do" => Some(Endpoint::PaymentOrder),
            "getOrderStatusExtended.do" => Some(Endpoint::GetOrderStatusExtended),
            "deposit.do" => Some(Endpoint::Deposit),
            "reverse.do" => Some(Endpoint::Reverse),
            "refund.do" => Some(Endpoint::Refund),
            "decline.do" => Some(Endpoint::Decline),
            "finish3ds.do" => Some(Endpoint::Finish3ds),
            _ => None,
        }
    }

    fn matches(self, other: Endpoint) -> bool {
        self == Endpoint::All || self == other
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error of [`Endpoint::from_str`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEndpoint(pub String);

impl fmt::Display for UnknownEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown endpoint name {:?}", self.0)
    }
}

impl std::error::Error for UnknownEndpoint {}

impl FromStr for Endpoint {
    type Err = UnknownEndpoint;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "*" {
            return Ok(Endpoint::All);
        }
        Endpoint::ALL_ENDPOINTS
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| UnknownEndpoint(s.to_owned()))
    }
}

/// What a fault does to a call.
///
/// In JSON it is flattened into the [`Fault`] with a `fault` tag:
/// `{"fault":"delay","ms":2000}`, `{"fault":"http_status","status":503}`,
/// `{"fault":"drop_after_processing"}`, `{"fault":"malformed_json"}`,
/// `{"fault":"refuse","error_code":7}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultKind {
    /// Wait this many milliseconds before processing (the request is still
    /// processed even if the client gives up meanwhile).
    Delay {
        /// The delay in milliseconds.
        ms: u64,
    },
    /// Answer this HTTP status (e.g. 500, 502, 503) *without* processing.
    HttpStatus {
        /// The HTTP status code (400–599).
        status: u16,
    },
    /// Process the request completely, then close the connection without
    /// writing any answer.
    DropAfterProcessing,
    /// Process the request completely, then answer HTTP 200 with
    /// `Content-Type: application/json` and a body that is not valid JSON
    /// (the real answer cut in half).
    MalformedJson,
    /// Answer HTTP 200 with this request-level `errorCode` (1–99) *without*
    /// processing: the gateway refusing an operation, e.g. `reverse.do`
    /// after the day's settlement (`errorCode` 7, "impossible for the
    /// current order state").
    Refuse {
        /// The `errorCode` to answer.
        error_code: u8,
    },
}

/// How many calls a fault affects.
///
/// JSON: `"always"` or `{"next": 3}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultScope {
    /// Every matching call until the faults are cleared.
    #[default]
    Always,
    /// The next N matching calls, then the fault disappears.
    Next(u32),
}

/// A fault to inject: which endpoint, what, and for how many calls.
///
/// JSON form (the body of `POST /emulator/faults`; an array is accepted
/// too):
/// `{"endpoint":"paymentorder.do","fault":"drop_after_processing","scope":{"next":1}}`.
/// `scope` defaults to `"always"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// The endpoint it applies to ([`Endpoint::All`] for every one).
    pub endpoint: Endpoint,
    /// What it does.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// For how many calls.
    #[serde(default)]
    pub scope: FaultScope,
}

impl Fault {
    /// A fault with [`FaultScope::Always`].
    pub fn new(endpoint: Endpoint, kind: FaultKind) -> Self {
        Self {
            endpoint,
            kind,
            scope: FaultScope::Always,
        }
    }

    /// Delay before processing.
    pub fn delay(endpoint: Endpoint, delay: Duration) -> Self {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        Self::new(endpoint, FaultKind::Delay { ms })
    }

    /// Answer HTTP `status` without processing.
    pub fn http_status(endpoint: Endpoint, status: u16) -> Self {
        Self::new(endpoint, FaultKind::HttpStatus { status })
    }

    /// Process, then close the connection without an answer.
    pub fn drop_after_processing(endpoint: Endpoint) -> Self {
        Self::new(endpoint, FaultKind::DropAfterProcessing)
    }

    /// Process, then answer a body that is not valid JSON.
    pub fn malformed_json(endpoint: Endpoint) -> Self {
        Self::new(endpoint, FaultKind::MalformedJson)
    }

    /// Refuse with `errorCode` `error_code`, without processing.
    pub fn refuse(endpoint: Endpoint, error_code: u8) -> Self {
        Self::new(endpoint, FaultKind::Refuse { error_code })
    }

    /// Limits the fault to the next `n` matching calls.
    pub fn times(mut self, n: u32) -> Self {
        self.scope = FaultScope::Next(n);
        self
    }

    /// Makes the fault apply to every matching call.
    pub fn always(mut self) -> Self {
        self.scope = FaultScope::Always;
        self
    }

    /// Checks the values a fault can carry (HTTP status in 400–599, an
    /// `errorCode` in 1–99).
    pub fn validate(&self) -> Result<(), String> {
        match self.kind {
            FaultKind::HttpStatus { status } if !(400..=599).contains(&status) => Err(format!(
                "http_status must be within 400..=599, got {status}"
            )),
            FaultKind::Refuse { error_code } if !(1..=99).contains(&error_code) => Err(format!(
                "refuse needs an error_code within 1..=99, got {error_code}"
            )),
            _ => Ok(()),
        }
    }
}

/// The combined effect of the faults taken for one call.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Applied {
    pub delay: Duration,
    pub status: Option<u16>,
    pub drop: bool,
    pub malformed: bool,
    pub refuse: Option<u8>,
}

/// Takes the faults matching `endpoint`, counting down `Next(n)` scopes and
/// removing exhausted ones.
pub(crate) fn take_faults(faults: &mut Vec<Fault>, endpoint: Endpoint) -> Applied {
    let mut applied = Applied::default();
    for f in faults.iter_mut() {
        if !f.endpoint.matches(endpoint) {
            continue;
        }
        match &mut f.scope {
            FaultScope::Always => {}
            FaultScope::Next(0) => continue,
            FaultScope::Next(n) => *n -= 1,
        }
        match f.kind {
            FaultKind::Delay { ms } => applied.delay += Duration::from_millis(ms),
            FaultKind::HttpStatus { status } => {
                applied.status.get_or_insert(status);
            }
            FaultKind::DropAfterProcessing => applied.drop = true,
            FaultKind::MalformedJson => applied.malformed = true,
            FaultKind::Refuse { error_code } => {
                applied.refuse.get_or_insert(error_code);
            }
        }
    }
    faults.retain(|f| f.scope != FaultScope::Next(0));
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_json_round_trip() {
        let f = Fault::drop_after_processing(Endpoint::PaymentOrder).times(2);
        let j = serde_json::to_value(f).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"endpoint":"paymentorder.do","fault":"drop_after_processing","scope":{"next":2}})
        );
        let back: Fault = serde_json::from_value(j).unwrap();
        assert_eq!(back, f);
        let d: Fault =
            serde_json::from_str(r#"{"endpoint":"*","fault":"delay","ms":250}"#).unwrap();
        assert_eq!(d, Fault::delay(Endpoint::All, Duration::from_millis(250)));
    }

    #[test]
    fn a_refusal_round_trips_and_is_validated() {
        let f = Fault::refuse(Endpoint::Reverse, 7).times(1);
        let j = serde_json::to_value(f).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"endpoint":"reverse.do","fault":"refuse","error_code":7,"scope":{"next":1}})
        );
        assert_eq!(serde_json::from_value::<Fault>(j).unwrap(), f);
        assert!(f.validate().is_ok());
        assert!(Fault::refuse(Endpoint::Reverse, 0).validate().is_err());
        let mut v = vec![f];
        assert_eq!(take_faults(&mut v, Endpoint::Reverse).refuse, Some(7));
        assert_eq!(take_faults(&mut v, Endpoint::Reverse).refuse, None);
    }

    #[test]
    fn next_n_counts_down_and_disappears() {
        let mut v = vec![Fault::http_status(Endpoint::Register, 503).times(2)];
        assert_eq!(take_faults(&mut v, Endpoint::Refund).status, None);
        assert_eq!(take_faults(&mut v, Endpoint::Register).status, Some(503));
        assert_eq!(take_faults(&mut v, Endpoint::Register).status, Some(503));
        assert_eq!(take_faults(&mut v, Endpoint::Register).status, None);
        assert!(v.is_empty());
    }

    #[test]
    fn endpoint_names_parse_back() {
        for e in Endpoint::ALL_ENDPOINTS {
            assert_eq!(e.name().parse::<Endpoint>().unwrap(), e);
        }
        assert_eq!("*".parse::<Endpoint>().unwrap(), Endpoint::All);
        assert!("nope.do".parse::<Endpoint>().is_err());
    }
}
