//! Telling customers what happened to their order.
//!
//! Money paths call [`crate::state::Inner::notify`] after their transaction commits; the
//! message goes out on a background task so a slow messenger never delays a payment answer.
//! Without a bot token the notices are only logged.

use futures_util::future::BoxFuture;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Paid,
    Shipped,
    Delivered,
    Cancelled,
    Expired,
    Refunded,
    /// A refund the customer was promised did not go through (the provider reported it failed).
    RefundFailed,
    SubscriptionRenewed,
    SubscriptionEnding,
    /// A renewal charge failed; the provider tries again, the customer may update their card.
    SubscriptionPaymentFailed,
    /// A transfer paid part of the total (TON): the customer is told what is still missing.
    Underpaid,
}

pub trait Notifier: Send + Sync {
    fn order<'a>(&'a self, order_id: i64, notice: Notice) -> BoxFuture<'a, ()>;
}

/// Logs notices; used in dev mode and when no messenger is configured.
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn order<'a>(&'a self, order_id: i64, notice: Notice) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            tracing::info!(
                order_id,
                ?notice,
                "customer notice (no messenger configured)"
            );
        })
    }
}
