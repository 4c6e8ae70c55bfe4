//! Who may do what: admin API tokens (stored only as hashes), their roles,
//! and the principal an operator action is done by.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A role of an admin API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Creates and cancels charges.
    Issuer,
    /// Refunds, reconciliation, reports.
    Operator,
    /// Reads only.
    Auditor,
    /// A bank or payment channel (a bank's app, terminals, ELQR): records
    /// the payments of codes made through it, and nothing else.
    Bank,
}

impl Role {
    /// Stable id.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Issuer => "issuer",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
            Role::Bank => "bank",
        }
    }

    /// Parses the stable id.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "issuer" => Role::Issuer,
            "operator" => Role::Operator,
            "auditor" => Role::Auditor,
            "bank" => Role::Bank,
            _ => return None,
        })
    }
}

/// An admin API token as stored: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Id.
    pub id: Uuid,
    /// A name for people (`ops-1`, `agency-passport`).
    pub name: String,
    /// Role.
    pub role: Role,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The SHA-256 hex of a token secret, as stored.
pub fn hash_token(secret: &str) -> String {
    crate::hex::lower(&Sha256::digest(secret.as_bytes()))
}

/// The text that replaces anonymised personal data.
pub const ANONYMISED: &str = "ANONYMISED";

/// Something an operator may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Permission {
    /// Issue charges (give out codes).
    IssueCharges,
    /// Cancel charges.
    CancelCharges,
    /// Read a charge and its payments.
    ReadCharges,
    /// List and read payments.
    ReadPayments,
    /// Refund payments.
    Refund,
    /// Run reconciliation and expiry.
    Reconcile,
    /// Read the daily reports.
    ReadReports,
    /// Read and verify the audit log.
    ReadAudit,
    /// See and retry the outbox.
    ManageOutbox,
    /// Publish agreement editions.
    PublishTerms,
    /// Create, list and revoke admin tokens.
    ManageTokens,
    /// Anonymise old personal data, answer access requests.
    ManagePersonalData,
    /// Read the service's metrics (`/metrics`: counts and timings, no
    /// personal data).
    ReadMetrics,
    /// Record a payment of a code made through another channel (a bank's
    /// app, a terminal, ELQR): the charge becomes paid.
    RecordExternalPayments,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 14] = [
        Permission::IssueCharges,
        Permission::CancelCharges,
        Permission::ReadCharges,
        Permission::ReadPayments,
        Permission::Refund,
        Permission::Reconcile,
        Permission::ReadReports,
        Permission::ReadAudit,
        Permission::ManageOutbox,
        Permission::PublishTerms,
        Permission::ManageTokens,
        Permission::ManagePersonalData,
        Permission::ReadMetrics,
        Permission::RecordExternalPayments,
    ];
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Issuer, Role::Operator, Role::Auditor, Role::Bank];

    /// What a token of this role may do.
    ///
    /// | permission | issuer | operator | auditor | bank |
    /// |---|:-:|:-:|:-:|:-:|
    /// | issue, cancel charges | ✓ | | | |
    /// | read charges | ✓ | ✓ | ✓ | |
    /// | read payments, reports, the audit log, metrics | | ✓ | ✓ | |
    /// | refund, reconcile | | ✓ | | |
    /// | record payments made elsewhere | | ✓ | | ✓ |
    ///
    /// Outbox, agreement editions, tokens and personal data are for
    /// operators at the command line ([`Principal::Local`]).
    pub fn may(&self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Issuer => matches!(permission, IssueCharges | CancelCharges | ReadCharges),
            Role::Operator => matches!(
                permission,
                ReadCharges
                    | ReadPayments
                    | Refund
                    | Reconcile
                    | ReadReports
                    | ReadAudit
                    | ReadMetrics
                    | RecordExternalPayments
            ),
            Role::Auditor => matches!(
                permission,
                ReadCharges | ReadPayments | ReadReports | ReadAudit | ReadMetrics
            ),
            Role::Bank => matches!(permission, RecordExternalPayments),
        }
    }
}

/// Who does an operator action; recorded as the actor of its audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A caller of the admin API with a token.
    Token {
        /// The token's name.
        name: String,
        /// Its role.
        role: Role,
    },
    /// An operator at the command line on the server. They hold the
    /// database credentials, so they may do everything; the actor records
    /// the operating-system user.
    Local {
        /// The operating-system user.
        user: String,
    },
    /// tolom itself: background jobs.
    System,
}

impl Principal {
    /// The principal of a stored token.
    pub fn token(token: &ApiToken) -> Principal {
        Principal::Token {
            name: token.name.clone(),
            role: token.role,
        }
    }

    /// The actor as written in the audit log: `token:<name>`,
    /// `cli:<user>` or `system`.
    pub fn actor(&self) -> String {
        match self {
            Principal::Token { name, .. } => format!("token:{name}"),
            Principal::Local { user } => format!("cli:{user}"),
            Principal::System => crate::audit::SYSTEM_ACTOR.to_string(),
        }
    }

    /// Whether the principal may do this.
    pub fn may(&self, permission: Permission) -> bool {
        match self {
            Principal::Token { role, .. } => role.may(permission),
            Principal::Local { .. } | Principal::System => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_principals() {
        assert_eq!(hash_token("s3cret").len(), 64);
        let auditor = Principal::Token {
            name: "audit-1".into(),
            role: Role::Auditor,
        };
        assert_eq!(auditor.actor(), "token:audit-1");
        assert!(auditor.may(Permission::ReadPayments));
        assert!(!auditor.may(Permission::Refund));
        assert!(!Role::Operator.may(Permission::IssueCharges));
        assert!(Role::Issuer.may(Permission::IssueCharges));
        let local = Principal::Local {
            user: "root".into(),
        };
        assert_eq!(local.actor(), "cli:root");
        assert!(Permission::ALL.iter().all(|p| local.may(*p)));
        assert!(Permission::ALL
            .iter()
            .all(|p| !Role::ALL.iter().any(|r| r.may(*p))
                || matches!(
                    p,
                    Permission::IssueCharges
                        | Permission::CancelCharges
                        | Permission::ReadCharges
                        | Permission::ReadPayments
                        | Permission::Refund
                        | Permission::Reconcile
                        | Permission::ReadReports
                        | Permission::ReadAudit
                        | Permission::ReadMetrics
                        | Permission::RecordExternalPayments
                )));
        assert!(Role::Bank.may(Permission::RecordExternalPayments));
        assert!(Role::Operator.may(Permission::RecordExternalPayments));
        assert!(Permission::ALL
            .iter()
            .filter(|p| **p != Permission::RecordExternalPayments)
            .all(|p| !Role::Bank.may(*p)));
        assert!(!Role::Issuer.may(Permission::RecordExternalPayments));
        assert!(!Role::Auditor.may(Permission::RecordExternalPayments));
        assert!(Role::Operator.may(Permission::ReadMetrics));
        assert!(Role::Auditor.may(Permission::ReadMetrics));
        assert!(!Role::Issuer.may(Permission::ReadMetrics));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
