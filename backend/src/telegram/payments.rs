//! The Bot API's payment updates, typed, and the handler the bot hands them to.
//!
//! The bot knows the updates' shape, not what they mean for an order: whoever starts the bot
//! registers a [`PaymentUpdates`] (the Stars and invoice rails, in `payments::stars`), so this
//! module stays a leaf that no payment code has to be compiled around.

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::Value;

use super::Bot;
use crate::error::Result;

/// A Telegram user as the payment updates name them.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub language_code: Option<String>,
}

/// `pre_checkout_query`: Telegram asks whether a payment may go ahead (answer within 10 s).
#[derive(Debug, Clone, Deserialize)]
pub struct PreCheckoutQuery {
    pub id: String,
    #[serde(default)]
    pub from: Option<User>,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub total_amount: Option<i64>,
    #[serde(default)]
    pub invoice_payload: Option<String>,
}

/// `message.successful_payment`: the only proof of a payment.
#[derive(Debug, Clone, Deserialize)]
pub struct SuccessfulPayment {
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub total_amount: i64,
    #[serde(default)]
    pub invoice_payload: String,
    #[serde(default)]
    pub telegram_payment_charge_id: String,
    #[serde(default)]
    pub subscription_expiration_date: Option<i64>,
    #[serde(default)]
    pub is_recurring: bool,
    #[serde(default)]
    pub is_first_recurring: bool,
}

impl SuccessfulPayment {
    /// A later payment of a Star subscription (not its first).
    pub fn is_renewal(&self) -> bool {
        self.is_recurring && !self.is_first_recurring
    }
}

/// `message.refunded_payment`: a refund made outside the admin, or the echo of ours.
#[derive(Debug, Clone, Deserialize)]
pub struct RefundedPayment {
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub total_amount: Option<i64>,
    #[serde(default)]
    pub telegram_payment_charge_id: String,
}

/// A message carrying a payment, with who sent it.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentMessage<P> {
    #[serde(default)]
    pub from: Option<User>,
    pub payment: P,
    /// The update's payment object as received, kept with the payment for audit.
    pub raw: Value,
}

/// What the shop does with payment updates; registered when the bot starts.
pub trait PaymentUpdates: Send + Sync {
    fn pre_checkout<'a>(
        &'a self,
        bot: &'a Bot,
        q: &'a PreCheckoutQuery,
    ) -> BoxFuture<'a, Result<()>>;
    /// A `shipping_query` (provider invoices that ask for an address), as received.
    fn shipping_query<'a>(&'a self, bot: &'a Bot, q: &'a Value) -> BoxFuture<'a, Result<()>>;
    fn successful_payment<'a>(
        &'a self,
        bot: &'a Bot,
        m: &'a PaymentMessage<SuccessfulPayment>,
    ) -> BoxFuture<'a, Result<()>>;
    fn refunded_payment<'a>(
        &'a self,
        m: &'a PaymentMessage<RefundedPayment>,
    ) -> BoxFuture<'a, Result<()>>;
}
