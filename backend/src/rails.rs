//! The interface every payment rail implements ([`Provider`]) and what the order path hands a
//! rail to start a checkout. It lives apart from `payments` (the rails themselves) so that
//! placing an order depends on this contract only, never on a rail: `payments` depends on
//! `orders`, and not the other way round.

use futures_util::future::BoxFuture;
use shared::{Currency, PaymentMethod, ProductKind};

use crate::error::{Error, Result};
use crate::orders::lifecycle::Refund;

/// What a rail needs to start a checkout for an order.
#[derive(Debug, Clone)]
pub struct CheckoutOrder {
    pub order_id: i64,
    pub customer_id: i64,
    /// What the rail charges: the lines' sum minus `discount_minor` plus `delivery_fee_minor`.
    pub total_minor: i64,
    /// What a promo code took off the lines' sum (0 without one). A rail that lists the
    /// lines shows it as a discount, so what it lists adds up to `total_minor`.
    pub discount_minor: i64,
    /// The delivery fee (0 without one, or when free). A rail that lists the lines shows it as
    /// a line of its own ("Delivery", `crate::delivery::label`).
    pub delivery_fee_minor: i64,
    /// Whether the customer chose a delivery method at checkout (the shop knows where the goods
    /// go: a rail need not ask for a shipping address again).
    pub delivery_chosen: bool,
    pub currency: Currency,
    pub title: String,
    pub lang: shared::Lang,
    /// The order's lines, for rails that show them to the buyer (Stripe, Telegram invoices).
    pub lines: Vec<CheckoutLine>,
    /// When the order's reservation lapses (unix seconds); `None` when it does not.
    pub expires_at: Option<i64>,
    /// Stable per checkout attempt: a retried call of the same attempt reuses the provider's
    /// idempotency key, a new attempt after a failed one gets a fresh key.
    pub attempt_key: String,
    /// The order's unguessable reference, for rails that name the order by an account value
    /// the buyer's page carries ([`Provider::names_order_by_reference`]); `None` on others.
    pub pay_ref: Option<String>,
}

/// One line of an order as a checkout shows it.
#[derive(Debug, Clone)]
pub struct CheckoutLine {
    pub product_id: i64,
    pub title: String,
    pub description: String,
    /// The product's first image (a path under the shop or a full URL).
    pub image: Option<String>,
    pub kind: ProductKind,
    pub quantity: i64,
    pub unit_minor: i64,
}

/// How the customer goes on to pay.
#[derive(Debug, Clone, Default)]
pub struct Checkout {
    pub invoice_link: Option<String>,
    pub checkout_url: Option<String>,
    /// The provider's id of what it opened (a Stripe Checkout Session, a PayPal order). It is
    /// kept, and the rail's notifications act only on the ids kept for an order.
    pub checkout_id: Option<String>,
}

pub trait Provider: Send + Sync {
    fn method(&self) -> PaymentMethod;

    /// Why this rail cannot take an order in `currency` with these kinds of goods, if so.
    fn refuses(&self, currency: &Currency, kinds: &[ProductKind]) -> Option<String>;

    /// Whether unpaid orders on this rail hold their stock only for the reservation window.
    /// Cash on delivery holds it until the merchant delivers or cancels.
    fn reservation_expires(&self) -> bool {
        true
    }

    /// Whether the provider names the order by an account value that travels through the
    /// buyer's page and comes back in the provider's calls (Click, Payme). Such orders get an
    /// unguessable reference there: the order id would let anyone act on anyone's order.
    fn names_order_by_reference(&self) -> bool {
        false
    }

    /// Why this rail cannot take an order with this (already validated) contact, if so, as
    /// the field to fix and what to do. Asked before the order is placed, so nothing is
    /// reserved for a checkout that would fail: a fiscal receipt (YooKassa with receipts on)
    /// must go to the buyer's email or phone.
    fn refuses_contact(&self, contact: Option<&shared::Contact>) -> Option<(&'static str, String)> {
        let _ = contact;
        None
    }

    fn create_checkout<'a>(&'a self, order: &'a CheckoutOrder) -> BoxFuture<'a, Result<Checkout>>;

    /// Called once after an unpaid order of this rail ended (expired, cancelled, failed), with
    /// the ids of the checkouts the shop opened for it ([`Checkout::checkout_id`]), so a rail
    /// whose provider keeps a payable checkout open on its own (a Crypto Pay invoice) can close
    /// it. Runs after the change committed, in the background: the order has ended whatever
    /// the provider answers. Answers notes for the order's timeline (what was closed, or why
    /// it could not be).
    fn on_unpaid_end<'a>(
        &'a self,
        order_id: i64,
        checkout_ids: &'a [String],
    ) -> BoxFuture<'a, Vec<String>> {
        let _ = (order_id, checkout_ids);
        Box::pin(async { Vec::new() })
    }

    /// Changes a subscription this rail started, at the provider (one call). Only rails that
    /// sell subscriptions (Stars, Stripe) have any; the shop's own record changes after this
    /// succeeded (see `crate::subscriptions`).
    fn change_subscription<'a>(
        &'a self,
        sub: &'a SubscriptionRef,
        change: SubscriptionChange,
    ) -> BoxFuture<'a, Result<()>> {
        let m = self.method();
        let _ = (sub, change);
        Box::pin(async move {
            Err(Error::conflict(
                "subscriptions_unsupported",
                format!("{} does not renew subscriptions.", m.as_str()),
            ))
        })
    }

    /// Adds to an unpaid order's answer what the buyer needs to pay it that the order row does
    /// not hold (TON: the address, amount and comment to copy, a QR code, what arrived so
    /// far). Called for `POST /api/orders` and `GET /api/orders/{id}`; nothing by default.
    fn describe<'a>(
        &'a self,
        db: &'a crate::db::Db,
        order: &'a mut shared::Order,
    ) -> BoxFuture<'a, Result<()>> {
        let _ = (db, order);
        Box::pin(async { Ok(()) })
    }

    /// Gives money back through the provider. Answers the refunds the provider reports as
    /// done (this one, or when it says the payment was refunded already, those it knows of),
    /// each with the provider's refund id; the caller records them through the lifecycle,
    /// which counts each id once however the provider's notification of it races this call.
    /// Empty when the provider accepted the refund but has not completed it yet: its
    /// notification records it then.
    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, Result<Vec<Refund>>> {
        let m = self.method();
        let _ = req;
        Box::pin(async move {
            Err(Error::conflict(
                "refund_unavailable",
                format!("Refunds through {} are not available yet.", m.as_str()),
            ))
        })
    }
}

/// A subscription a rail started, as the rail's own calls name it.
#[derive(Debug, Clone)]
pub struct SubscriptionRef {
    /// `subscriptions.id`, for idempotency keys.
    pub id: i64,
    pub order_id: i64,
    /// The Telegram user (Stars names the subscriber).
    pub customer_id: i64,
    /// The provider's handle: the Star charge id of the first payment, the Stripe `sub_…`.
    pub handle: String,
    /// `subscriptions.updated_at` before this change: with the change it makes an idempotency
    /// key that a retried call reuses and a later change (cancel, renew, cancel again) does not.
    pub version: i64,
}

/// What the shop asks a rail to do with a subscription it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionChange {
    /// Stop renewing; the period paid for runs out.
    StopRenewal,
    /// Renew again (before the period ran out).
    Resume,
    /// End it now and renew no more: the order was refunded.
    EndNow,
}

/// What a provider needs to refund (part of) a payment.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub order_id: i64,
    pub customer_id: i64,
    /// Our `payments.id`, for idempotency keys.
    pub payment_id: i64,
    pub provider_payment_id: String,
    pub amount_minor: i64,
    pub currency: Currency,
    /// Already refunded before this refund: with `amount_minor` it makes a stable idempotency
    /// key, so a retried refund is not paid twice and a second partial refund is a new one.
    pub refunded_minor: i64,
    /// Refunds of this payment that failed after they had succeeded: a refund made again after
    /// one failed has the same refunded total and amount, and must still be a new refund.
    pub failed_refunds: i64,
    /// Whether this refund returns everything still refundable.
    pub full: bool,
}

impl RefundRequest {
    /// The idempotency key of this refund at a provider (`shop-refund-<payment>-<refunded
    /// before>-<amount>`, then `-retry<n>` after n failed refunds).
    pub fn idempotency_key(&self) -> String {
        let key = format!(
            "shop-refund-{}-{}-{}",
            self.payment_id, self.refunded_minor, self.amount_minor
        );
        match self.failed_refunds {
            0 => key,
            n => format!("{key}-retry{n}"),
        }
    }
}

/// A new order reference for [`CheckoutOrder::pay_ref`]: 96 random bits as 24 lowercase hex
/// characters (no `;`, which Payme's checkout link cannot carry in a value).
pub fn new_pay_ref() -> String {
    hex::encode(rand::random::<[u8; 12]>())
}
