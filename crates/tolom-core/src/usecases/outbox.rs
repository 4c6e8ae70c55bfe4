//! Delivering the outbox: receipt e-mails and agency notices, at least
//! once each, with back-off and dead letters.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::errors::QueryError;
use crate::outbox::{retry_delay, Channel, OutboxPayload};
use crate::ports::{Notification, Notifier, NotifyError, OutboxStore, StoreError};

use super::ctx::Ctx;
use super::receipts::Receipts;

/// Result of [`crate::Tolom::dispatch_outbox`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DispatchReport {
    /// Delivered.
    pub delivered: usize,
    /// Failed and scheduled again.
    pub retried: usize,
    /// Failed for good (dead letters).
    pub dead: usize,
    /// Claimed but left for a later round because the lease was running out.
    pub deferred: usize,
}

/// Delivers outbox messages. Needs the outbox store, the notifiers and the
/// receipts use case (receipts are built at delivery time).
pub(crate) struct Dispatcher {
    pub(crate) outbox: Arc<dyn OutboxStore>,
    pub(crate) notifiers: HashMap<Channel, Arc<dyn Notifier>>,
    pub(crate) receipts: Arc<Receipts>,
    pub(crate) ctx: Ctx,
}

impl Dispatcher {
    /// Delivers due outbox messages through the notifiers, at least once
    /// each: a message is marked delivered only after its notifier accepted
    /// it; failures are retried on the back-off schedule and end as dead
    /// letters. Messages are delivered one after another under one lease
    /// (`Config::outbox_lease`); once three quarters of it have passed, the
    /// rest of the batch is left for a later round (`deferred`), so a slow
    /// receiver never makes two workers deliver the same message. A message whose channel has no notifier is retried later
    /// (and ends dead), never dropped.
    pub(crate) async fn dispatch_outbox(
        &self,
        worker: &str,
        limit: usize,
    ) -> Result<DispatchReport, StoreError> {
        let now = self.ctx.now();
        let lease_until = now + self.ctx.config.outbox_lease;
        let messages = self
            .outbox
            .claim_outbox(now, lease_until, limit, worker)
            .await?;
        let mut report = DispatchReport::default();
        // Stop before the lease runs out: a message whose lease has expired
        // may already be claimed by another worker, and delivering it here
        // too would send it twice. What is left is claimed again later.
        let deadline = lease_until - self.ctx.config.outbox_lease / 4;
        // Delivered messages are marked together at the end of the round:
        // one durable commit per round, not one per message. The quarter of
        // the lease left after `deadline` is the time to write the marks; if
        // they are lost (a crash), the messages are delivered again once the
        // lease runs out, which at-least-once delivery allows.
        let mut delivered = Vec::with_capacity(messages.len());
        let mut failure = None;
        for message in messages {
            if self.ctx.now() >= deadline {
                report.deferred += 1;
                continue;
            }
            let result = match self.notifiers.get(&message.payload.channel()) {
                None => Err(NotifyError::temporary(format!(
                    "no notifier for {:?}",
                    message.payload.channel()
                ))),
                Some(notifier) => match self.resolve(&message.payload).await {
                    Ok(notification) => notifier.deliver(message.id, &notification).await,
                    Err(e) => Err(NotifyError {
                        transient: e.is_temporary(),
                        message: e.to_string(),
                    }),
                },
            };
            match result {
                Ok(()) => {
                    delivered.push(message.id);
                    report.delivered += 1;
                }
                Err(e) => {
                    let failures = message.attempts + 1;
                    let retry_at = if e.is_temporary() {
                        retry_delay(failures).map(|d| self.ctx.now() + d)
                    } else {
                        None
                    };
                    if retry_at.is_some() {
                        report.retried += 1;
                    } else {
                        report.dead += 1;
                    }
                    if let Err(e) = self
                        .outbox
                        .outbox_failed(message.id, &e.message, retry_at)
                        .await
                    {
                        // The round stops here, but what it delivered is
                        // still marked (below) before the error is returned.
                        failure = Some(e);
                        break;
                    }
                }
            }
        }
        if !delivered.is_empty() {
            self.outbox
                .outbox_delivered_many(&delivered, self.ctx.now())
                .await?;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    async fn resolve(&self, payload: &OutboxPayload) -> Result<Notification, StoreError> {
        Ok(match payload {
            OutboxPayload::ReceiptEmail {
                payment_id,
                to,
                language,
            } => {
                let receipt = match self.receipts.receipt(*payment_id).await {
                    Ok(r) => r,
                    Err(QueryError::Store(e)) => return Err(e),
                    Err(_) => return Err(StoreError::NotFound),
                };
                Notification::ReceiptEmail {
                    to: to.clone(),
                    language: *language,
                    receipt: Box::new(receipt),
                }
            }
            OutboxPayload::AgencyNotice(event) => Notification::Agency(event.clone()),
        })
    }
}
