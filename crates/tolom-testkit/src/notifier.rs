//! A notifier that records what it was given, and can be told to fail.

use std::sync::Mutex;

use async_trait::async_trait;
use tolom_core::outbox::Channel;
use tolom_core::ports::{Notification, Notifier, NotifyError};
use uuid::Uuid;

/// Records deliveries; fails the next `n` calls when told to.
#[derive(Debug)]
pub struct RecordingNotifier {
    channel: Channel,
    delivered: Mutex<Vec<(Uuid, Notification)>>,
    fail_next: Mutex<(u32, bool)>,
}

impl RecordingNotifier {
    /// A recorder for one channel.
    pub fn new(channel: Channel) -> RecordingNotifier {
        RecordingNotifier {
            channel,
            delivered: Mutex::new(Vec::new()),
            fail_next: Mutex::new((0, true)),
        }
    }

    /// Fails the next `n` deliveries (transient or permanent).
    pub fn fail_next(&self, n: u32, transient: bool) {
        if let Ok(mut f) = self.fail_next.lock() {
            *f = (n, transient);
        }
    }

    /// Everything delivered, in order.
    pub fn delivered(&self) -> Vec<(Uuid, Notification)> {
        self.delivered.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    fn channel(&self) -> Channel {
        self.channel
    }

    async fn deliver(
        &self,
        message_id: Uuid,
        notification: &Notification,
    ) -> Result<(), NotifyError> {
        if let Ok(mut f) = self.fail_next.lock() {
            if f.0 > 0 {
                f.0 -= 1;
                return Err(NotifyError {
                    transient: f.1,
                    message: "receiver unavailable (scripted)".into(),
                });
            }
        }
        if let Ok(mut d) = self.delivered.lock() {
            d.push((message_id, notification.clone()));
        }
        Ok(())
    }
}
