//! Admin API tokens: created with a random secret shown once, stored only
//! as a hash, revoked by name.

use serde_json::json;

use crate::access::{hash_token, ApiToken, Permission, Principal, Role};
use crate::ports::{InvariantKind, StoreError};

use super::{Operator, OperatorError};

/// A new admin API token: the stored record and the secret, shown once.
#[derive(Debug)]
pub struct NewToken {
    /// As stored (hash only).
    pub token: ApiToken,
    /// The bearer secret. It is not stored anywhere: show it once.
    pub secret: String,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Operator {
    /// Creates a token with a random secret (`tlm_` + 64 hex digits, from
    /// two random ids); `token.created` is recorded in the same
    /// transaction.
    pub async fn create_token(
        &self,
        who: &Principal,
        name: &str,
        role: Role,
    ) -> Result<NewToken, OperatorError> {
        self.allow(who, Permission::ManageTokens).await?;
        let name = name.trim();
        if !valid_name(name) {
            return Err(OperatorError::Invalid(
                "a token name is 1-64 characters: letters, digits, '-', '_', '.'".into(),
            ));
        }
        // The secret comes from the id port: with random (v4) ids, two ids
        // hold 244 random bits; the core itself reads no randomness.
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(self.ctx.new_id().as_bytes());
        bytes[16..].copy_from_slice(self.ctx.new_id().as_bytes());
        let secret = format!("tlm_{}", crate::hex::lower(&bytes));
        let token = ApiToken {
            id: self.ctx.new_id(),
            name: name.to_string(),
            role,
            secret_hash: hash_token(&secret),
            created_at: self.ctx.now(),
            revoked_at: None,
        };
        let note = self.note(
            who,
            "token.created",
            &token.name,
            json!({"role": role.as_str(), "id": token.id}),
        );
        match self.ops.create_token(&token, &note).await {
            Ok(()) => Ok(NewToken { token, secret }),
            Err(e) if e.invariant_kind() == Some(InvariantKind::DuplicateToken) => {
                Err(OperatorError::TokenExists(name.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every token, oldest first (hashes only).
    pub async fn tokens(&self, who: &Principal) -> Result<Vec<ApiToken>, OperatorError> {
        self.allow(who, Permission::ManageTokens).await?;
        Ok(self.ops.list_tokens().await?)
    }

    /// Revokes a token by name; `token.revoked` is recorded in the same
    /// transaction.
    pub async fn revoke_token(&self, who: &Principal, name: &str) -> Result<(), OperatorError> {
        self.allow(who, Permission::ManageTokens).await?;
        let note = self.note(who, "token.revoked", name, json!({}));
        match self.ops.revoke_token(name, self.ctx.now(), &note).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(OperatorError::TokenNotFound(name.to_string())),
            Err(e) => Err(e.into()),
        }
    }
}
