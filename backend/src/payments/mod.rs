//! Payment rails and the one fulfilment path they all end in.
//!
//! A rail is a [`Provider`]: it says which orders it can take, starts a checkout for an
//! order, and refunds. Whatever the rail, a verified success goes through
//! [`fulfil::fulfil`], which marks the order paid and commits its stock exactly once.

pub mod cash;
pub mod click;
pub mod fulfil;
pub mod payme;
pub mod paypal;
pub mod refund;
pub mod stars;
pub mod stripe;
pub mod telegram_invoice;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use shared::{Currency, PaymentMethod, ProductKind};

use crate::error::{Error, Result};

/// What a rail needs to start a checkout for an order.
#[derive(Debug, Clone)]
pub struct CheckoutOrder {
    pub order_id: i64,
    pub customer_id: i64,
    pub total_minor: i64,
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

    fn create_checkout<'a>(&'a self, order: &'a CheckoutOrder) -> BoxFuture<'a, Result<Checkout>>;

    /// Gives money back through the provider. Answers the refunds the provider reports as
    /// done (this one, or when it says the payment was refunded already, those it knows of),
    /// each with the provider's refund id; the caller records them with [`refund::record`],
    /// which counts each id once however the provider's notification of it races this call.
    /// Empty when the provider accepted the refund but has not completed it yet: its
    /// notification records it then.
    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, Result<Vec<refund::Refund>>> {
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

/// The order a checkout the shop opened at `provider` belongs to (see [`Checkout::checkout_id`]);
/// `None` for any id the shop did not open.
pub async fn order_of_checkout(
    db: &crate::db::Db,
    provider: PaymentMethod,
    checkout_id: &str,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT order_id FROM provider_checkouts WHERE provider = $1 AND checkout_id = $2",
    )
    .bind(provider.as_str())
    .bind(checkout_id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Webhook routes of every rail (`/webhooks/…`). Each rail adds its own router here.
pub fn router() -> axum::Router<crate::state::AppState> {
    axum::Router::new()
        .merge(click::router())
        .merge(payme::router())
        .merge(stripe::router())
        .merge(paypal::router())
        .merge(crate::telegram::router())
}

/// The rails this shop has configured.
#[derive(Clone)]
pub struct Payments {
    providers: Vec<Arc<dyn Provider>>,
}

impl Payments {
    pub fn new(providers: Vec<Arc<dyn Provider>>) -> Self {
        Payments { providers }
    }

    /// Only cash on delivery: what a shop has before any provider is configured.
    pub fn cash_only() -> Self {
        Payments::new(vec![Arc::new(cash::Cash)])
    }

    /// The rails whose settings are present. Each rail adds itself here.
    pub fn from_config(config: &crate::config::Config, http: &reqwest::Client) -> Self {
        let mut providers: Vec<Arc<dyn Provider>> = vec![Arc::new(cash::Cash)];
        if let Some(bot) = crate::telegram::Bot::from_config(config, http) {
            providers.push(Arc::new(stars::Stars::new(bot.clone(), config)));
            if let Some(t) = &config.telegram_provider_token {
                providers.push(Arc::new(telegram_invoice::TelegramInvoice::new(
                    bot,
                    t.clone(),
                    config,
                )));
            }
        }
        if let Some(c) = &config.click {
            providers.push(Arc::new(click::Click::new(c.clone(), &config.public_url)));
        }
        if let Some(c) = &config.payme {
            providers.push(Arc::new(payme::Payme::new(c.clone(), &config.public_url)));
        }
        if let Some(c) = &config.stripe {
            providers.push(Arc::new(stripe::Stripe::new(c, &config.public_url, http)));
        }
        if let Some(c) = &config.paypal {
            providers.push(Arc::new(paypal::Paypal::new(c, &config.public_url, http)));
        }
        Payments::new(providers)
    }

    pub fn get(&self, m: PaymentMethod) -> Option<&Arc<dyn Provider>> {
        self.providers.iter().find(|p| p.method() == m)
    }

    /// Methods the storefront may offer for an order in `currency` with these kinds.
    pub fn offered(&self, currency: &Currency, kinds: &[ProductKind]) -> Vec<PaymentMethod> {
        self.providers
            .iter()
            .filter(|p| p.refuses(currency, kinds).is_none())
            .map(|p| p.method())
            .collect()
    }

    /// The provider for `method`, or a 400 that says why it cannot be used for this order.
    pub fn choose(
        &self,
        method: &str,
        currency: &Currency,
        kinds: &[ProductKind],
    ) -> Result<&Arc<dyn Provider>> {
        let m = PaymentMethod::parse(method).ok_or_else(|| {
            Error::field(
                "invalid_payment_method",
                "payment_method",
                format!(
                    "'{method}' is not a payment method; use one of cash, stars, telegram, click, payme, stripe, paypal"
                ),
            )
        })?;
        let p = self.get(m).ok_or_else(|| {
            Error::field(
                "payment_method_unavailable",
                "payment_method",
                format!("This shop does not accept {} payments.", m.as_str()),
            )
        })?;
        if let Some(why) = p.refuses(currency, kinds) {
            return Err(Error::field("payment_method_unfit", "payment_method", why));
        }
        Ok(p)
    }
}
