//! The `Tolom-Signature` header: HMAC-SHA256 over `"<timestamp>.<body>"`.
//!
//! ```text
//! Tolom-Signature: t=1764072000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//! ```
//!
//! `t` is the sender's time in Unix seconds; `v1` is the lowercase hex
//! HMAC-SHA256 of the ASCII timestamp, a dot, and the exact body bytes,
//! keyed with the shared secret. A header may carry several `v1` values
//! (while a secret is being rotated); one matching is enough.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The name of the signature header.
pub const SIGNATURE_HEADER: &str = "Tolom-Signature";

/// How far a receiver should let a timestamp be from its own clock: five
/// minutes, either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The header is not `t=<seconds>,v1=<hex>[,v1=<hex>...]`.
    #[error("malformed signature header")]
    Malformed,
    /// The timestamp is older than the tolerance: possibly a replay.
    #[error("timestamp too old ({age_seconds} s)")]
    Stale {
        /// How old it is.
        age_seconds: i64,
    },
    /// The timestamp is further in the future than the tolerance.
    #[error("timestamp in the future ({ahead_seconds} s)")]
    Future {
        /// How far ahead it is.
        ahead_seconds: i64,
    },
    /// No `v1` value matches the body with this secret.
    #[error("signature does not match")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    #[allow(clippy::expect_used)]
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header value for `body` sent at `timestamp` (Unix
/// seconds): `t=<timestamp>,v1=<hex>`.
///
/// ```
/// use tolom_notify_webhook::{sign, verify};
/// let header = sign(b"whsec_test", 1_764_072_000, br#"{"id":"..."}"#);
/// assert!(header.starts_with("t=1764072000,v1="));
/// let now = chrono::DateTime::from_timestamp(1_764_072_010, 0).unwrap();
/// assert!(verify(b"whsec_test", &header, br#"{"id":"..."}"#, now, std::time::Duration::from_secs(300)).is_ok());
/// ```
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// Checks a `Tolom-Signature` header against the raw request body, as a
/// receiver MUST before trusting a webhook.
///
/// Rejects a malformed header, a timestamp further than `tolerance` from
/// `now` (either way: replays and clock trouble), and a signature that does
/// not match (compared in constant time). Pass the body exactly as
/// received, before any JSON parsing.
pub fn verify(
    secret: impl AsRef<[u8]>,
    header: &str,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let mut timestamp: Option<i64> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for item in header.split(',') {
        let (key, value) = item.trim().split_once('=').ok_or(VerifyError::Malformed)?;
        match key.trim() {
            "t" => {
                if timestamp.is_some() {
                    return Err(VerifyError::Malformed);
                }
                let value = value.trim();
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(VerifyError::Malformed);
                }
                timestamp = Some(value.parse().map_err(|_| VerifyError::Malformed)?);
            }
            "v1" => signatures.push(hex::decode(value.trim()).map_err(|_| VerifyError::Malformed)?),
            // Unknown schemes are ignored, so that a later `v2` can be
            // added next to `v1`.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::Malformed)?;
    if signatures.is_empty() {
        return Err(VerifyError::Malformed);
    }
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    let age = now.timestamp().saturating_sub(timestamp);
    if age > tolerance {
        return Err(VerifyError::Stale { age_seconds: age });
    }
    if -age > tolerance {
        return Err(VerifyError::Future {
            ahead_seconds: -age,
        });
    }
    let expected = mac(secret.as_ref(), timestamp, body);
    if signatures
        .iter()
        .any(|sig| expected.clone().verify_slice(sig).is_ok())
    {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_5f2b8c1d";
    const BODY: &[u8] = br#"{"id":"1","type":"payment.succeeded"}"#;

    fn at(t: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(t, 0).unwrap()
    }

    #[test]
    fn known_answer() {
        // printf '%s' '1764072000.{"id":"1","type":"payment.succeeded"}' \
        //   | openssl dgst -sha256 -hmac 'whsec_5f2b8c1d'
        let header = sign(SECRET, 1_764_072_000, BODY);
        assert_eq!(
            header,
            "t=1764072000,v1=610ce4e6693b31967169f2e319b7d6f69693538c7f71fe7db10362cb06b6afd9"
        );
    }

    #[test]
    fn accepts_a_fresh_genuine_signature() {
        let h = sign(SECRET, 1_000_000, BODY);
        for now in [1_000_000, 1_000_300, 999_700] {
            assert_eq!(verify(SECRET, &h, BODY, at(now), DEFAULT_TOLERANCE), Ok(()));
        }
        // Spaces after commas are tolerated.
        let spaced = h.replace(',', ", ");
        assert_eq!(
            verify(SECRET, &spaced, BODY, at(1_000_000), DEFAULT_TOLERANCE),
            Ok(())
        );
    }

    #[test]
    fn rejects_wrong_secret_tampered_body_and_tampered_time() {
        let h = sign(SECRET, 1_000_000, BODY);
        let now = at(1_000_000);
        assert_eq!(
            verify(b"another", &h, BODY, now, DEFAULT_TOLERANCE),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(
                SECRET,
                &h,
                br#"{"id":"2","type":"payment.succeeded"}"#,
                now,
                DEFAULT_TOLERANCE
            ),
            Err(VerifyError::Mismatch)
        );
        let moved = h.replace("t=1000000", "t=1000001");
        assert_eq!(
            verify(SECRET, &moved, BODY, now, DEFAULT_TOLERANCE),
            Err(VerifyError::Mismatch),
            "the timestamp is signed too"
        );
    }

    #[test]
    fn rejects_stale_and_future_timestamps() {
        let h = sign(SECRET, 1_000_000, BODY);
        assert_eq!(
            verify(SECRET, &h, BODY, at(1_000_301), DEFAULT_TOLERANCE),
            Err(VerifyError::Stale { age_seconds: 301 })
        );
        assert_eq!(
            verify(SECRET, &h, BODY, at(999_699), DEFAULT_TOLERANCE),
            Err(VerifyError::Future { ahead_seconds: 301 })
        );
        assert_eq!(
            verify(SECRET, &h, BODY, at(1_000_010), Duration::from_secs(5)),
            Err(VerifyError::Stale { age_seconds: 10 })
        );
    }

    #[test]
    fn rejects_malformed_headers() {
        let now = at(1_000_000);
        let good = sign(SECRET, 1_000_000, BODY);
        let v1 = good.split_once(",v1=").unwrap().1.to_string();
        for bad in [
            String::new(),
            "garbage".into(),
            format!("v1={v1}"),
            "t=1000000".into(),
            format!("t=abc,v1={v1}"),
            format!("t=-5,v1={v1}"),
            format!("t=1000000,v1=zz{v1}"),
            format!("t=1000000,t=1000000,v1={v1}"),
            format!("t=1000000;v1={v1}"),
        ] {
            assert_eq!(
                verify(SECRET, &bad, BODY, now, DEFAULT_TOLERANCE),
                Err(VerifyError::Malformed),
                "{bad:?}"
            );
        }
        // A truncated signature is well-formed hex but does not match.
        let short = format!("t=1000000,v1={}", &v1[..32]);
        assert_eq!(
            verify(SECRET, &short, BODY, now, DEFAULT_TOLERANCE),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn several_signatures_during_a_secret_rotation() {
        let old = sign(b"old-secret", 1_000_000, BODY);
        let new = sign(SECRET, 1_000_000, BODY);
        let both = format!("{old},v1={},v2=future", new.split_once(",v1=").unwrap().1);
        assert_eq!(
            verify(SECRET, &both, BODY, at(1_000_000), DEFAULT_TOLERANCE),
            Ok(())
        );
        assert_eq!(
            verify(b"old-secret", &both, BODY, at(1_000_000), DEFAULT_TOLERANCE),
            Ok(())
        );
        assert_eq!(
            verify(b"third", &both, BODY, at(1_000_000), DEFAULT_TOLERANCE),
            Err(VerifyError::Mismatch)
        );
    }
}
