//! The notifier port: delivers receipt e-mails and agency notices.

use async_trait::async_trait;
use uuid::Uuid;

use crate::card::Email;
use crate::i18n::Language;
use crate::outbox::{AgencyEvent, Channel};
use crate::receipt::Receipt;

use super::errors::NotifyError;

/// A message ready to deliver.
#[derive(Debug, Clone)]
pub enum Notification {
    /// A receipt by e-mail.
    ReceiptEmail {
        /// Recipient.
        to: Email,
        /// Language.
        language: Language,
        /// The receipt.
        receipt: Box<Receipt>,
    },
    /// A notice to the issuing agency.
    Agency(AgencyEvent),
}

impl Notification {
    /// The channel that delivers it.
    pub fn channel(&self) -> Channel {
        match self {
            Notification::ReceiptEmail { .. } => Channel::Email,
            Notification::Agency(_) => Channel::Webhook,
        }
    }
}

/// Delivers notifications of one channel.
///
/// Contract: `deliver` returns `Ok` only once the receiver has accepted the
/// message; it MAY be called again for the same `message_id` (at-least-once
/// delivery) and receivers deduplicate by it; errors say whether a retry may
/// help.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync {
    /// The channel served.
    fn channel(&self) -> Channel;

    /// Delivers one message.
    async fn deliver(
        &self,
        message_id: Uuid,
        notification: &Notification,
    ) -> Result<(), NotifyError>;
}
