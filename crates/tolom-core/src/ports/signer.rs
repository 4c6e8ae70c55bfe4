//! The receipt signer port, its Ed25519 implementation, and the key ring
//! receipts are verified against.
//!
//! Signing and verifying are apart: a receipt is signed with the **current**
//! key ([`ReceiptSigner`]) and verified **by its key id against a
//! [`KeyRing`]** — the current public key plus the retired ones, each with
//! its validity period — never by signing again and comparing. A receipt
//! signed before a key rotation therefore still verifies after it, as long
//! as the retired key is in the ring.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::EncodePublicKey as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::Serialize;

use crate::i18n::{ErrorCode, Text};
use crate::receipt::{Receipt, ReceiptContent, CONTENT_VERSION};

/// Signs receipts with the current key.
///
/// Implementations MUST be deterministic for a key (Ed25519 is) and MUST
/// NOT expose the private key through `Debug`. Verification is not the
/// signer's business: receipts are verified against a [`KeyRing`].
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait ReceiptSigner: Send + Sync {
    /// A short id of the key ([`key_id_of`] its public key), printed on the
    /// receipt and inside its signed content.
    fn key_id(&self) -> String;
    /// The Ed25519 public key (32 bytes).
    fn public_key_bytes(&self) -> [u8; 32];
    /// Signs `message` (Ed25519, 64 bytes).
    fn sign(&self, message: &[u8]) -> Vec<u8>;
}

/// The id of an Ed25519 public key: the first 8 characters of its
/// base64url form (48 bits). Printed on receipts since the first format.
pub fn key_id_of(public_key: &[u8; 32]) -> String {
    let pk = URL_SAFE_NO_PAD.encode(public_key);
    pk[..8.min(pk.len())].to_string()
}

/// Ed25519 receipt signatures.
pub struct Ed25519Signer {
    key: SigningKey,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519Signer(key_id={})", self.key_id())
    }
}

impl Ed25519Signer {
    /// A signer from a 32-byte secret seed (keep it secret).
    pub fn from_seed(seed: [u8; 32]) -> Ed25519Signer {
        Ed25519Signer {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The public key, base64url, for offline verifiers.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes())
    }

    /// Verifies with only a public key (base64url), as an offline verifier
    /// would.
    pub fn verify_with_public_key(public_key: &str, message: &[u8], signature: &[u8]) -> bool {
        let Ok(key) = RingKey::from_base64url(public_key, None, None) else {
            return false;
        };
        Signature::from_slice(signature)
            .map(|s| key.public_key.verify_strict(message, &s).is_ok())
            .unwrap_or(false)
    }
}

impl ReceiptSigner for Ed25519Signer {
    fn key_id(&self) -> String {
        key_id_of(self.key.verifying_key().as_bytes())
    }
    fn public_key_bytes(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).to_bytes().to_vec()
    }
}

/// A key ring that is not consistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    /// Not an Ed25519 public key (32 bytes, base64url).
    #[error("{0}: not an Ed25519 public key (32 bytes, base64url)")]
    BadPublicKey(String),
    /// The key id given is not the public key's.
    #[error("key id {given} does not belong to its public key (whose id is {actual})")]
    IdMismatch {
        /// The id written.
        given: String,
        /// The public key's id.
        actual: String,
    },
    /// Two entries with one key id.
    #[error("key {0} is listed twice")]
    Duplicate(String),
    /// `valid_until` not after `valid_from`.
    #[error("key {0}: valid_until is not after valid_from")]
    BadPeriod(String),
}

/// One public key of the ring, with its validity period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingKey {
    key_id: String,
    public_key: VerifyingKey,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
}

impl RingKey {
    /// A key from its 32 public bytes; `valid_until` is when it stopped
    /// signing (retired), `None` while it is current.
    pub fn new(
        public_key: [u8; 32],
        valid_from: Option<DateTime<Utc>>,
        valid_until: Option<DateTime<Utc>>,
    ) -> Result<RingKey, KeyRingError> {
        let id = key_id_of(&public_key);
        let public_key = VerifyingKey::from_bytes(&public_key)
            .map_err(|_| KeyRingError::BadPublicKey(id.clone()))?;
        if let (Some(from), Some(until)) = (valid_from, valid_until) {
            if until <= from {
                return Err(KeyRingError::BadPeriod(id));
            }
        }
        Ok(RingKey {
            key_id: id,
            public_key,
            valid_from,
            valid_until,
        })
    }

    /// A key from its base64url public key (padding allowed).
    pub fn from_base64url(
        public_key: &str,
        valid_from: Option<DateTime<Utc>>,
        valid_until: Option<DateTime<Utc>>,
    ) -> Result<RingKey, KeyRingError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(public_key.trim().trim_end_matches('='))
            .map_err(|_| KeyRingError::BadPublicKey(public_key.trim().to_string()))?;
        let arr = <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| KeyRingError::BadPublicKey(public_key.trim().to_string()))?;
        RingKey::new(arr, valid_from, valid_until)
    }

    /// Checks that `key_id` (as written in a ring file) is this key's id.
    pub fn check_id(&self, key_id: &str) -> Result<(), KeyRingError> {
        if key_id == self.key_id {
            Ok(())
        } else {
            Err(KeyRingError::IdMismatch {
                given: key_id.to_string(),
                actual: self.key_id.clone(),
            })
        }
    }

    /// The key id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The 32 public bytes.
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.public_key.to_bytes()
    }

    /// The public key, base64url without padding.
    pub fn public_key_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public_key.as_bytes())
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`, RFC 8410), for
    /// `openssl pkeyutl -verify -pubin -inkey`.
    pub fn public_key_pem(&self) -> String {
        self.public_key
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// Since when it signs, when known.
    pub fn valid_from(&self) -> Option<DateTime<Utc>> {
        self.valid_from
    }

    /// When it stopped signing (retired), or `None` while current.
    pub fn valid_until(&self) -> Option<DateTime<Utc>> {
        self.valid_until
    }

    /// Whether this key may have signed facts as of `as_of`: only facts
    /// from before it was retired. (A key signs receipts of payments made
    /// before it was created, printed later, so there is no lower bound.)
    pub fn may_have_signed(&self, as_of: DateTime<Utc>) -> bool {
        self.valid_until.is_none_or(|until| as_of < until)
    }

    /// The same key retired at `at`.
    pub fn retired_at(&self, at: DateTime<Utc>) -> Result<RingKey, KeyRingError> {
        RingKey::new(self.public_key_bytes(), self.valid_from, Some(at))
    }
}

/// Why a receipt is not genuine. Each has a stable code (`receipt.check.*`)
/// and a message in ky, ru and en.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotGenuine {
    /// The signature or the signed content is not well-formed.
    #[error("not well-formed: {0}")]
    Malformed(String),
    /// The key id is not in the ring.
    #[error("no key {0} in the key ring")]
    UnknownKey(String),
    /// The key was retired before the receipt's facts.
    #[error("key {key_id} was retired at {valid_until}, before the receipt's facts ({as_of})")]
    KeyRetired {
        /// The key.
        key_id: String,
        /// When it was retired.
        valid_until: DateTime<Utc>,
        /// The moment the facts are of.
        as_of: DateTime<Utc>,
    },
    /// The signature does not verify over the content.
    #[error("the signature does not match the content")]
    BadSignature,
    /// No receipt with this number.
    #[error("no receipt with this number")]
    NotFound,
    /// A genuine signature over facts that are not this payment's (as
    /// recorded): a leaked key or a database that lost the payment.
    #[error("the signed content does not match the payment's records")]
    NotInRecords,
}

impl ErrorCode for NotGenuine {
    fn text(&self) -> Text {
        match self {
            NotGenuine::Malformed(_) => Text::ReceiptCheckMalformed,
            NotGenuine::UnknownKey(_) => Text::ReceiptCheckUnknownKey,
            NotGenuine::KeyRetired { .. } => Text::ReceiptCheckKeyRetired,
            NotGenuine::BadSignature => Text::ReceiptCheckBadSignature,
            NotGenuine::NotFound => Text::ReceiptCheckNotFound,
            NotGenuine::NotInRecords => Text::ReceiptCheckNotInRecords,
        }
    }
}

/// A signature as printed (base64url; padding and the standard alphabet's
/// `+/` tolerated), as 64 bytes.
pub fn decode_signature(signature: &str) -> Result<Vec<u8>, NotGenuine> {
    let s: String = signature
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let bytes = URL_SAFE_NO_PAD
        .decode(&s)
        .or_else(|_| URL_SAFE.decode(&s))
        .map_err(|_| NotGenuine::Malformed("signature is not base64url".into()))?;
    if bytes.len() != Signature::BYTE_SIZE {
        return Err(NotGenuine::Malformed("signature is not 64 bytes".into()));
    }
    Ok(bytes)
}

/// The public keys receipts are verified against: the current key and the
/// retired ones, each with its validity period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyRing {
    keys: Vec<RingKey>,
}

/// One key as published (`tolom keys show --json`, `GET
/// /api/v1/receipts/keys`).
#[derive(Serialize)]
struct PublishedKey {
    key_id: String,
    algorithm: &'static str,
    public_key: String,
    public_key_pem: String,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
}

impl KeyRing {
    /// A ring of `keys` (no key id twice).
    pub fn new(keys: Vec<RingKey>) -> Result<KeyRing, KeyRingError> {
        let mut ring = KeyRing { keys: Vec::new() };
        for k in keys {
            if ring.key(&k.key_id).is_some() {
                return Err(KeyRingError::Duplicate(k.key_id));
            }
            ring.keys.push(k);
        }
        Ok(ring)
    }

    /// The ring of one current key: `signer`'s.
    pub fn of(signer: &dyn ReceiptSigner) -> KeyRing {
        KeyRing::default().with_current(signer).unwrap_or_default()
    }

    /// This ring with `signer`'s key in it: added (current, no period) when
    /// missing; an entry with its id must be the same public key.
    pub fn with_current(mut self, signer: &dyn ReceiptSigner) -> Result<KeyRing, KeyRingError> {
        let current = RingKey::new(signer.public_key_bytes(), None, None)?;
        match self.key(&current.key_id) {
            Some(k) if k.public_key == current.public_key => {}
            Some(_) => return Err(KeyRingError::Duplicate(current.key_id)),
            None => self.keys.push(current),
        }
        Ok(self)
    }

    /// The keys, in the ring's order.
    pub fn keys(&self) -> &[RingKey] {
        &self.keys
    }

    /// The key with this id.
    pub fn key(&self, key_id: &str) -> Option<&RingKey> {
        self.keys.iter().find(|k| k.key_id == key_id)
    }

    /// Verifies `signature` over `message` with the key `key_id` names,
    /// for facts as of `as_of`: the key must be in the ring, the signature
    /// must verify (strict Ed25519), and the key must not have been retired
    /// before `as_of`.
    pub fn verify(
        &self,
        message: &[u8],
        key_id: &str,
        signature: &[u8],
        as_of: DateTime<Utc>,
    ) -> Result<&RingKey, NotGenuine> {
        let key = self
            .key(key_id)
            .ok_or_else(|| NotGenuine::UnknownKey(key_id.to_string()))?;
        let sig = Signature::from_slice(signature)
            .map_err(|_| NotGenuine::Malformed("signature is not 64 bytes".into()))?;
        key.public_key
            .verify_strict(message, &sig)
            .map_err(|_| NotGenuine::BadSignature)?;
        match key.valid_until {
            Some(until) if !key.may_have_signed(as_of) => Err(NotGenuine::KeyRetired {
                key_id: key.key_id.clone(),
                valid_until: until,
                as_of,
            }),
            _ => Ok(key),
        }
    }

    /// Verifies a signed content as an agency would, offline: the text
    /// must be a canonical `tolom-receipt/2` content, and the signature
    /// (base64url) must verify with the key its `key` line names. Returns
    /// the facts and the key.
    pub fn verify_content(
        &self,
        content: &str,
        signature: &str,
    ) -> Result<(ReceiptContent, &RingKey), NotGenuine> {
        let parsed =
            ReceiptContent::parse(content).map_err(|e| NotGenuine::Malformed(e.to_string()))?;
        let sig = decode_signature(signature)?;
        let key = self.verify(content.as_bytes(), &parsed.key_id, &sig, parsed.as_of())?;
        Ok((parsed, key))
    }

    /// Verifies a receipt offline: its signed content is recomputed from
    /// its fields (payer, amounts, everything it states) and checked with
    /// the key its `key_id` names. A receipt with any fact changed is not
    /// genuine.
    pub fn verify_receipt(&self, receipt: &Receipt) -> Result<&RingKey, NotGenuine> {
        let sig = decode_signature(&receipt.signature)?;
        let content = receipt.content();
        self.verify(
            content.encode().as_bytes(),
            &receipt.key_id,
            &sig,
            content.as_of(),
        )
    }

    /// The ring as published for agencies: `{"format", "keys": [{key_id,
    /// algorithm, public_key (base64url), public_key_pem, valid_from,
    /// valid_until}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        let keys: Vec<PublishedKey> = self
            .keys
            .iter()
            .map(|k| PublishedKey {
                key_id: k.key_id.clone(),
                algorithm: "Ed25519",
                public_key: k.public_key_base64url(),
                public_key_pem: k.public_key_pem(),
                valid_from: k.valid_from,
                valid_until: k.valid_until,
            })
            .collect();
        serde_json::json!({ "format": CONTENT_VERSION, "keys": keys })
    }
}

/// Signs a receipt built by [`crate::receipt::Receipt::build`] with
/// `signer` (its `key_id` must be the signer's): the signature covers
/// [`Receipt::signed_content`].
pub fn sign_receipt(receipt: &mut Receipt, signer: &dyn ReceiptSigner) {
    let signature = signer.sign(receipt.signed_content().as_bytes());
    receipt.set_signature(&signature);
}

/// Whether a receipt's signature is genuine for `signer`'s public key
/// (a ring of that one key; see [`KeyRing::verify_receipt`]).
pub fn receipt_signature_ok(receipt: &Receipt, signer: &dyn ReceiptSigner) -> bool {
    KeyRing::of(signer).verify_receipt(receipt).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    use crate::card::MaskedPan;
    use crate::i18n::LocalizedText;
    use crate::money::Money;
    use crate::payment::PaymentState;
    use crate::receipt::Operator;

    fn signed(signer: &Ed25519Signer) -> Receipt {
        let mut r = Receipt {
            agency: None,
            purpose: None,
            number: "20261125-3F2A9C0D11B7E845".into(),
            payment_id: uuid::Uuid::nil(),
            status: PaymentState::Succeeded,
            service: "passport-2020".into(),
            service_name: LocalizedText::new("Паспорт", "Паспорт", "Passport"),
            tariff: None,
            tariff_name: None,
            payer: "Сыдыкова Айгүл Бакытовна".into(),
            code: "110000012345".into(),
            amount: Money::som(885),
            fee: Money::som(0),
            total: Money::som(885),
            refunded: Money::som(0),
            masked_pan: MaskedPan::from_stored("4111********1111"),
            brand: None,
            auth_code: Some("123456".into()),
            rrn: None,
            acquirer: None,
            paid_at: Utc.with_ymd_and_hms(2026, 11, 25, 6, 30, 0).unwrap(),
            refunded_at: None,
            terms_edition: "2026-01".into(),
            operator: Operator::default(),
            key_id: signer.key_id(),
            signature: String::new(),
        };
        sign_receipt(&mut r, signer);
        r
    }

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 0, 0, 0).unwrap()
    }

    #[test]
    fn a_forged_payer_name_is_not_genuine_offline() {
        let signer = Ed25519Signer::from_seed([1; 32]);
        let ring = KeyRing::of(&signer);
        let r = signed(&signer);
        assert!(ring.verify_receipt(&r).is_ok());
        let mut forged = r.clone();
        forged.payer = "Асанов Айбек Маратович".into();
        assert_eq!(ring.verify_receipt(&forged), Err(NotGenuine::BadSignature));
        // The same through the signed content, as an agency reads it.
        let content = forged.signed_content();
        assert_eq!(
            ring.verify_content(&content, &r.signature).map(|_| ()),
            Err(NotGenuine::BadSignature)
        );
        assert!(ring
            .verify_content(&r.signed_content(), &r.signature)
            .is_ok());
    }

    #[test]
    fn verification_is_by_key_id_against_the_ring_with_validity_periods() {
        let old = Ed25519Signer::from_seed([1; 32]);
        let new = Ed25519Signer::from_seed([2; 32]);
        let before = signed(&old);
        // Rotated on the 27th: the old key retired, the new one current.
        let retired = RingKey::new(old.public_key_bytes(), Some(at(1)), Some(at(27))).unwrap();
        let ring = KeyRing::new(vec![retired])
            .unwrap()
            .with_current(&new)
            .unwrap();
        assert_eq!(
            ring.verify_receipt(&before).map(|k| k.key_id().to_string()),
            Ok(old.key_id()),
            "signed before the rotation, verifies after it"
        );
        assert!(ring.verify_receipt(&signed(&new)).is_ok());
        // Facts from after the old key's retirement cannot be its work.
        let mut late = before.clone();
        late.paid_at = at(28);
        sign_receipt(&mut late, &old);
        assert!(matches!(
            ring.verify_receipt(&late),
            Err(NotGenuine::KeyRetired { .. })
        ));
        // A key the ring does not hold, and another key claiming an id.
        let stranger = Ed25519Signer::from_seed([3; 32]);
        assert_eq!(
            ring.verify_receipt(&signed(&stranger)),
            Err(NotGenuine::UnknownKey(stranger.key_id()))
        );
        let mut impostor = signed(&stranger);
        impostor.key_id = new.key_id();
        sign_receipt(&mut impostor, &stranger);
        assert_eq!(
            ring.verify_receipt(&impostor),
            Err(NotGenuine::BadSignature)
        );
        // Signing again with the current key is not how it checks: the
        // current signer alone does not verify the old receipt.
        assert!(!receipt_signature_ok(&before, &new));
    }

    #[test]
    fn the_ring_refuses_what_does_not_add_up() {
        let k = Ed25519Signer::from_seed([1; 32]);
        let rk = RingKey::new(k.public_key_bytes(), None, None).unwrap();
        assert_eq!(
            KeyRing::new(vec![rk.clone(), rk.clone()]),
            Err(KeyRingError::Duplicate(k.key_id()))
        );
        assert_eq!(
            RingKey::new(k.public_key_bytes(), Some(at(2)), Some(at(1))),
            Err(KeyRingError::BadPeriod(k.key_id()))
        );
        assert!(rk.check_id(&k.key_id()).is_ok());
        assert!(rk.check_id("AAAAAAAA").is_err());
        assert!(RingKey::from_base64url("not a key", None, None).is_err());
        assert_eq!(
            RingKey::from_base64url(&k.public_key(), None, None).unwrap(),
            rk
        );
        let pem = rk.public_key_pem();
        assert!(
            pem.starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"),
            "{pem}"
        );
        let json = KeyRing::new(vec![rk]).unwrap().to_json();
        assert_eq!(json["keys"][0]["key_id"], k.key_id());
        assert_eq!(json["keys"][0]["public_key"], k.public_key());
    }

    #[test]
    fn malformed_signatures_are_not_genuine_and_never_panic() {
        let signer = Ed25519Signer::from_seed([1; 32]);
        let ring = KeyRing::of(&signer);
        let r = signed(&signer);
        for sig in ["", "AAAA", "!!!", &"A".repeat(200), &r.signature[1..]] {
            let mut x = r.clone();
            x.signature = sig.to_string();
            assert!(ring.verify_receipt(&x).is_err(), "{sig}");
            assert!(ring.verify_content(&r.signed_content(), sig).is_err());
        }
        assert!(matches!(
            ring.verify_content("hello", &r.signature),
            Err(NotGenuine::Malformed(_))
        ));
    }
}
