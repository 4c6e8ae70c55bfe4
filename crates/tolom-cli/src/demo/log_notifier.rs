//! The demo's notifier: receipt e-mails and agency notices are written to a
//! local file, one JSON line each, instead of being sent.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::json;
use tolom_core::outbox::Channel;
use tolom_core::ports::{Notification, Notifier, NotifyError};
use uuid::Uuid;

/// Appends every notification of its channel to a file (JSON lines). What
/// it writes is what the real notifier would send: the receipt's facts
/// with the masked card number, or the agency event — never a full card
/// number, which tolom never has after the payment.
#[derive(Debug)]
pub struct LogNotifier {
    channel: Channel,
    path: PathBuf,
    lock: Mutex<()>,
}

impl LogNotifier {
    /// A notifier of `channel` writing to `path` (created when missing).
    pub fn new(channel: Channel, path: PathBuf) -> LogNotifier {
        LogNotifier {
            channel,
            path,
            lock: Mutex::new(()),
        }
    }

    fn line(message_id: Uuid, notification: &Notification) -> serde_json::Value {
        match notification {
            Notification::ReceiptEmail {
                to,
                language,
                receipt,
            } => json!({
                "message_id": message_id,
                "channel": "email",
                "to": to.as_str(),
                "language": language.tag(),
                "receipt": receipt,
            }),
            Notification::Agency(event) => json!({
                "message_id": message_id,
                "channel": "webhook",
                "event": event,
            }),
        }
    }
}

#[async_trait]
impl Notifier for LogNotifier {
    fn channel(&self) -> Channel {
        self.channel
    }

    async fn deliver(
        &self,
        message_id: Uuid,
        notification: &Notification,
    ) -> Result<(), NotifyError> {
        let mut text = Self::line(message_id, notification).to_string();
        text.push('\n');
        let _guard = self
            .lock
            .lock()
            .map_err(|_| NotifyError::temporary("log notifier poisoned"))?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| {
                NotifyError::temporary(format!("cannot open {}: {e}", self.path.display()))
            })?;
        file.write_all(text.as_bytes()).map_err(|e| {
            NotifyError::temporary(format!("cannot write {}: {e}", self.path.display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tolom_core::money::Money;
    use tolom_core::outbox::{AgencyEvent, AgencyEventKind};

    #[tokio::test]
    async fn writes_one_json_line_per_notification() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notifications.log");
        let n = LogNotifier::new(Channel::Webhook, path.clone());
        let event = AgencyEvent {
            event_id: Uuid::from_u128(1),
            kind: AgencyEventKind::PaymentSucceeded,
            occurred_at: chrono::Utc::now(),
            code: "110000000017".into(),
            agency_ref: Some("demo-1".into()),
            service: "passport-2020".into(),
            payment_id: Uuid::from_u128(2),
            receipt_number: Some("20261202-00AA".into()),
            amount: Money::som(885),
            refunded: Money::som(0),
            channel: tolom_core::external::PaymentChannel::Card,
        };
        for _ in 0..2 {
            n.deliver(Uuid::from_u128(3), &Notification::Agency(event.clone()))
                .await
                .expect("deliver");
        }
        let text = std::fs::read_to_string(&path).expect("log");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"]["code"], "110000000017");
        assert_eq!(lines[0]["channel"], "webhook");
    }
}
