//! Verifying the audit log.

use serde::Serialize;

use crate::access::{Permission, Principal};
use crate::audit::{verify_chain, AuditProblem};

use super::{Operator, OperatorError};

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Entries read.
    pub entries: usize,
    /// The first problem, if any.
    pub problem: Option<String>,
    /// The sequence number of the first broken entry, if any.
    pub broken_at: Option<u64>,
}

impl Operator {
    /// Reads the whole audit log and checks the chain.
    pub async fn verify_audit(&self, who: &Principal) -> Result<AuditReport, OperatorError> {
        self.allow(who, Permission::ReadAudit).await?;
        let entries = self.ops.audit_entries(1, 0).await?;
        Ok(match verify_chain(&entries) {
            Ok(n) => AuditReport {
                entries: n,
                problem: None,
                broken_at: None,
            },
            Err(p) => AuditReport {
                entries: entries.len(),
                broken_at: Some(match &p {
                    AuditProblem::Altered { seq }
                    | AuditProblem::BrokenLink { seq }
                    | AuditProblem::Duplicate { seq } => *seq,
                    AuditProblem::Missing { from, .. } => *from,
                }),
                problem: Some(p.to_string()),
            },
        })
    }
}
