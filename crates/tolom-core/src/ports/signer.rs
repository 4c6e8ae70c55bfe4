//! The receipt signer port, and its Ed25519 implementation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};

/// Signs and verifies receipts.
///
/// Implementations MUST be deterministic for a key (Ed25519 is) and MUST
/// NOT expose the private key through `Debug`.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait ReceiptSigner: Send + Sync {
    /// A short id of the key, printed on the receipt for key rotation.
    fn key_id(&self) -> String;
    /// Signs `message`.
    fn sign(&self, message: &[u8]) -> Vec<u8>;
    /// Checks a signature.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool;
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
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(public_key) else {
            return false;
        };
        let Ok(arr) = <[u8; 32]>::try_from(bytes.as_slice()) else {
            return false;
        };
        let Ok(vk) = VerifyingKey::from_bytes(&arr) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(signature) else {
            return false;
        };
        vk.verify(message, &sig).is_ok()
    }
}

impl ReceiptSigner for Ed25519Signer {
    fn key_id(&self) -> String {
        let pk = self.public_key();
        pk[..8.min(pk.len())].to_string()
    }
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).to_bytes().to_vec()
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature)
            .map(|s| self.key.verifying_key().verify(message, &s).is_ok())
            .unwrap_or(false)
    }
}

/// Signs a receipt built by [`crate::receipt::Receipt::build`] with
/// `signer` (its `key_id` must be the signer's).
pub fn sign_receipt(receipt: &mut crate::receipt::Receipt, signer: &dyn ReceiptSigner) {
    let signature = signer.sign(receipt.signed_text().as_bytes());
    receipt.set_signature(&signature);
}

/// Whether a receipt's signature is genuine for `signer`'s key.
pub fn receipt_signature_ok(receipt: &crate::receipt::Receipt, signer: &dyn ReceiptSigner) -> bool {
    receipt
        .signature_bytes()
        .is_some_and(|sig| signer.verify(receipt.signed_text().as_bytes(), &sig))
}
