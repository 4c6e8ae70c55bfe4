//! Where a payment is in its life, and the one table of the moves between
//! states: [`TRANSITIONS`]. [`super::Payment`]'s methods apply it, an
//! exhaustive test checks every (state, action) pair against it, and the
//! state diagram in `docs/architecture.md` is generated from it
//! ([`state_diagram`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::i18n::Text;

/// Where a payment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Started (terms accepted), no card yet.
    Created,
    /// Card sent to the acquirer; waiting for its answer.
    Authorizing,
    /// The issuer asks the payer to confirm (3-D Secure / one-time code).
    ActionRequired,
    /// The acquirer's answer was lost; reconciliation will settle it.
    Unknown,
    /// Paid.
    Succeeded,
    /// Declined by the issuer or acquirer.
    Declined,
    /// Failed for a technical reason; no money was taken.
    Failed,
    /// Abandoned before payment.
    Expired,
    /// Part of the amount was refunded.
    PartiallyRefunded,
    /// Everything was refunded.
    Refunded,
    /// Charged twice: the acquirer approved this payment after another
    /// payment had paid its charge. The money is to be given back
    /// (reversed, else refunded), retried with back-off; the charge stays
    /// paid by the other payment.
    Duplicate,
    /// A duplicate whose money was given back: reversed at the acquirer
    /// (nothing taken) or refunded in full.
    Returned,
}

impl PaymentState {
    /// Every state.
    pub const ALL: [PaymentState; 12] = [
        PaymentState::Created,
        PaymentState::Authorizing,
        PaymentState::ActionRequired,
        PaymentState::Unknown,
        PaymentState::Succeeded,
        PaymentState::Declined,
        PaymentState::Failed,
        PaymentState::Expired,
        PaymentState::PartiallyRefunded,
        PaymentState::Refunded,
        PaymentState::Duplicate,
        PaymentState::Returned,
    ];

    /// States in which a payment blocks other payments of its charge: at
    /// most one payment per charge may be in one of these.
    pub const IN_FLIGHT: [PaymentState; 4] = [
        PaymentState::Created,
        PaymentState::Authorizing,
        PaymentState::ActionRequired,
        PaymentState::Unknown,
    ];

    /// Whether the payment blocks other payments of its charge.
    pub fn is_in_flight(&self) -> bool {
        Self::IN_FLIGHT.contains(self)
    }

    /// Whether money was taken and not all of it given back: at most one
    /// payment per charge may be in one of these.
    pub fn is_paid(&self) -> bool {
        matches!(
            self,
            PaymentState::Succeeded | PaymentState::PartiallyRefunded
        )
    }

    /// The state in words, for payers (`Paid`, `Declined`, ...).
    pub fn text(&self) -> Text {
        match self {
            PaymentState::Created => Text::PaymentStateCreated,
            PaymentState::Authorizing => Text::PaymentStateAuthorizing,
            PaymentState::ActionRequired => Text::PaymentStateActionRequired,
            PaymentState::Unknown => Text::PaymentStateUnknown,
            PaymentState::Succeeded => Text::PaymentStateSucceeded,
            PaymentState::Declined => Text::PaymentStateDeclined,
            PaymentState::Failed => Text::PaymentStateFailed,
            PaymentState::Expired => Text::PaymentStateExpired,
            PaymentState::PartiallyRefunded => Text::PaymentStatePartiallyRefunded,
            PaymentState::Refunded => Text::PaymentStateRefunded,
            PaymentState::Duplicate => Text::PaymentStateDuplicate,
            PaymentState::Returned => Text::PaymentStateReturned,
        }
    }

    /// Stable id as stored and shown in the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentState::Created => "created",
            PaymentState::Authorizing => "authorizing",
            PaymentState::ActionRequired => "action_required",
            PaymentState::Unknown => "unknown",
            PaymentState::Succeeded => "succeeded",
            PaymentState::Declined => "declined",
            PaymentState::Failed => "failed",
            PaymentState::Expired => "expired",
            PaymentState::PartiallyRefunded => "partially_refunded",
            PaymentState::Refunded => "refunded",
            PaymentState::Duplicate => "duplicate",
            PaymentState::Returned => "returned",
        }
    }

    /// Parses the stored id.
    pub fn parse(s: &str) -> Option<PaymentState> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Parses a comma-separated list of ids (`succeeded,refunded`); the
    /// error names the first unknown one.
    pub fn parse_list(s: &str) -> Result<Vec<PaymentState>, String> {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| PaymentState::parse(s).ok_or_else(|| format!("unknown payment status {s:?}")))
            .collect()
    }
}

impl fmt::Display for PaymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What moves a payment from one state to another: one method of
/// [`super::Payment`] each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// [`super::Payment::authorize`]: the card (or a hosted-page request)
    /// goes to the acquirer.
    Authorize,
    /// [`super::Payment::require_action`]: the issuer asks the payer to
    /// confirm.
    RequireAction,
    /// [`super::Payment::resume`]: the payer answered the challenge.
    Resume,
    /// [`super::Payment::mark_unknown`]: the acquirer's answer was lost.
    MarkUnknown,
    /// [`super::Payment::succeed`]: the acquirer approved.
    Approve,
    /// [`super::Payment::recover_approval`]: an approval arrived after the
    /// payment was closed.
    RecoverApproval,
    /// [`super::Payment::decline`].
    Decline,
    /// [`super::Payment::fail`] and [`super::Payment::fail_not_sent`]: no
    /// money was taken.
    Fail,
    /// [`super::Payment::expire`]: abandoned, superseded, or a challenge the
    /// acquirer confirms was not paid.
    Expire,
    /// [`super::Payment::complete_refund`] of less than what is left.
    RefundPart,
    /// [`super::Payment::complete_refund`] of everything that is left.
    RefundAll,
    /// [`super::Payment::record_duplicate`]: the acquirer approved a
    /// payment whose charge another payment has paid.
    RecordDuplicate,
    /// [`super::Payment::return_duplicate`]: the duplicate's authorisation
    /// was reversed (or the acquirer holds nothing of it any more).
    ReturnDuplicate,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 13] = [
        Action::Authorize,
        Action::RequireAction,
        Action::Resume,
        Action::MarkUnknown,
        Action::Approve,
        Action::RecoverApproval,
        Action::Decline,
        Action::Fail,
        Action::Expire,
        Action::RefundPart,
        Action::RefundAll,
        Action::RecordDuplicate,
        Action::ReturnDuplicate,
    ];

    /// A verb for error messages ("cannot {verb} a payment that is ...").
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Authorize => "authorize",
            Action::RequireAction => "require action on",
            Action::Resume => "resume",
            Action::MarkUnknown => "mark unknown",
            Action::Approve => "approve",
            Action::RecoverApproval => "recover the approval of",
            Action::Decline => "decline",
            Action::Fail => "fail",
            Action::Expire => "expire",
            Action::RefundPart | Action::RefundAll => "refund",
            Action::RecordDuplicate => "record a duplicate approval of",
            Action::ReturnDuplicate => "return the money of",
        }
    }
}

/// One allowed move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// From this state.
    pub from: PaymentState,
    /// By this action.
    pub action: Action,
    /// To this state.
    pub to: PaymentState,
    /// When it happens, for the diagram.
    pub when: &'static str,
}

const fn t(from: PaymentState, action: Action, to: PaymentState, when: &'static str) -> Transition {
    Transition {
        from,
        action,
        to,
        when,
    }
}

use PaymentState as S;

/// Every allowed move of a payment, and only those. Anything not here is
/// refused with a [`super::TransitionError`] and changes nothing.
pub const TRANSITIONS: &[Transition] = &[
    t(
        S::Created,
        Action::Authorize,
        S::Authorizing,
        "submit_card / submit_hosted",
    ),
    t(
        S::Created,
        Action::Expire,
        S::Expired,
        "session over / superseded",
    ),
    t(S::Authorizing, Action::Approve, S::Succeeded, "approved"),
    t(S::Authorizing, Action::Decline, S::Declined, "declined"),
    t(
        S::Authorizing,
        Action::Fail,
        S::Failed,
        "not sent / rejected",
    ),
    t(
        S::Authorizing,
        Action::RequireAction,
        S::ActionRequired,
        "3-D Secure / hosted page",
    ),
    t(
        S::Authorizing,
        Action::MarkUnknown,
        S::Unknown,
        "answer lost",
    ),
    t(
        S::ActionRequired,
        Action::Resume,
        S::Authorizing,
        "complete_challenge",
    ),
    t(
        S::ActionRequired,
        Action::Expire,
        S::Expired,
        "abandoned (acquirer says not paid)",
    ),
    t(
        S::ActionRequired,
        Action::Approve,
        S::Succeeded,
        "reconcile (acquirer says paid)",
    ),
    t(
        S::ActionRequired,
        Action::Decline,
        S::Declined,
        "reconcile (acquirer says declined)",
    ),
    t(
        S::ActionRequired,
        Action::Fail,
        S::Failed,
        "reconcile (acquirer never saw it)",
    ),
    t(
        S::Unknown,
        Action::Approve,
        S::Succeeded,
        "reconcile (acquirer says paid)",
    ),
    t(
        S::Unknown,
        Action::Decline,
        S::Declined,
        "reconcile (acquirer says declined)",
    ),
    t(
        S::Unknown,
        Action::Fail,
        S::Failed,
        "reconcile (acquirer never saw it)",
    ),
    t(
        S::Failed,
        Action::RecoverApproval,
        S::Succeeded,
        "late approval",
    ),
    t(
        S::Expired,
        Action::RecoverApproval,
        S::Succeeded,
        "late approval",
    ),
    t(
        S::Succeeded,
        Action::RefundPart,
        S::PartiallyRefunded,
        "refund (part)",
    ),
    t(S::Succeeded, Action::RefundAll, S::Refunded, "refund (all)"),
    t(
        S::PartiallyRefunded,
        Action::RefundPart,
        S::PartiallyRefunded,
        "refund (part)",
    ),
    t(
        S::PartiallyRefunded,
        Action::RefundAll,
        S::Refunded,
        "refund (rest)",
    ),
    t(
        S::Authorizing,
        Action::RecordDuplicate,
        S::Duplicate,
        "approved, the charge paid by another payment",
    ),
    t(
        S::ActionRequired,
        Action::RecordDuplicate,
        S::Duplicate,
        "approved, the charge paid by another payment",
    ),
    t(
        S::Unknown,
        Action::RecordDuplicate,
        S::Duplicate,
        "approved, the charge paid by another payment",
    ),
    t(
        S::Failed,
        Action::RecordDuplicate,
        S::Duplicate,
        "late approval, the charge paid by another payment",
    ),
    t(
        S::Expired,
        Action::RecordDuplicate,
        S::Duplicate,
        "late approval, the charge paid by another payment",
    ),
    t(
        S::Duplicate,
        Action::ReturnDuplicate,
        S::Returned,
        "reversed at the acquirer",
    ),
    t(S::Duplicate, Action::RefundAll, S::Returned, "refund (all)"),
];

/// Where `action` takes a payment in `from`, if it is allowed.
pub fn next_state(from: PaymentState, action: Action) -> Option<PaymentState> {
    TRANSITIONS
        .iter()
        .find(|t| t.from == from && t.action == action)
        .map(|t| t.to)
}

fn diagram_name(state: PaymentState) -> &'static str {
    match state {
        S::Created => "Created",
        S::Authorizing => "Authorizing",
        S::ActionRequired => "ActionRequired",
        S::Unknown => "Unknown",
        S::Succeeded => "Succeeded",
        S::Declined => "Declined",
        S::Failed => "Failed",
        S::Expired => "Expired",
        S::PartiallyRefunded => "PartiallyRefunded",
        S::Refunded => "Refunded",
        S::Duplicate => "Duplicate",
        S::Returned => "Returned",
    }
}

/// The state diagram (Mermaid), generated from [`TRANSITIONS`]; the copy in
/// `docs/architecture.md` is checked against it by a test.
pub fn state_diagram() -> String {
    let mut out =
        String::from("stateDiagram-v2\n  [*] --> Created: start_payment (terms accepted)\n");
    for t in TRANSITIONS {
        out.push_str(&format!(
            "  {} --> {}: {}\n",
            diagram_name(t.from),
            diagram_name(t.to),
            t.when
        ));
    }
    out
}
