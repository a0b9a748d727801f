//! Payment rails.
//!
//! A rail is a [`Provider`]: it says which orders it can take, starts a checkout for an
//! order, and refunds. A rail's folder holds its protocol and nothing else: it verifies its
//! provider's message and translates it into one call of the order lifecycle
//! ([`crate::orders::lifecycle`]), which marks the order paid, ends it or refunds it. Helpers
//! more than one rail needs live here, not inside a sibling rail.

pub mod cash;
pub mod click;
pub mod cryptopay;
pub mod outbound;
pub mod payme;
pub mod paypal;
pub mod processed;
pub mod refund;
pub mod stars;
pub mod stripe;
pub mod telegram_invoice;
pub mod ton;
pub mod uz;
pub mod yookassa;

use std::sync::Arc;

use shared::{Currency, PaymentMethod, ProductKind};

use crate::error::{Error, Result};
pub use crate::rails::{
    new_pay_ref, Checkout, CheckoutLine, CheckoutOrder, Provider, RefundRequest,
    SubscriptionChange, SubscriptionRef,
};

/// Why a rail that is paid once cannot take an order with a subscription in it: only Stars and
/// Stripe renew (see `crate::subscriptions`), and a subscription sold once would never renew.
pub fn refuses_subscriptions(rail: &str, kinds: &[ProductKind]) -> Option<String> {
    kinds
        .contains(&ProductKind::Subscription)
        .then(|| format!("{rail} cannot renew subscriptions; pay for subscriptions another way."))
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

/// Hands an ended unpaid order to its rail's [`Provider::on_unpaid_end`] with the checkouts
/// the shop opened for it (see [`crate::orders::lifecycle::Shop::unpaid_ended`]).
pub async fn unpaid_ended(st: &crate::state::AppState, order_id: i64, method: PaymentMethod) {
    let Some(provider) = st.payments.get(method) else {
        return;
    };
    let ids: Vec<String> = match sqlx::query_scalar(
        "SELECT checkout_id FROM provider_checkouts WHERE provider = $1 AND order_id = $2 \
         ORDER BY created_at",
    )
    .bind(method.as_str())
    .bind(order_id)
    .fetch_all(&st.db.pool)
    .await
    {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(order_id, error = %e, "cannot read the checkouts of an ended order");
            return;
        }
    };
    if ids.is_empty() {
        return;
    }
    for note in provider.on_unpaid_end(order_id, &ids).await {
        let written = async {
            let mut conn = st.db.writer.acquire().await?;
            crate::orders::repo::event(
                &mut conn,
                order_id,
                shared::event_kind::CHECKOUT_CLOSED,
                None,
                Some(&note),
                Some(method.as_str()),
                crate::db::now(),
            )
            .await
        };
        if let Err(e) = written.await {
            tracing::warn!(order_id, error = %e, "cannot note the closed checkout");
        }
    }
}

/// Our record of a provider's payment.
#[derive(Debug, Clone, shop_macros::FromRow)]
pub struct FoundPayment {
    /// `payments.id`.
    pub id: i64,
    pub order_id: i64,
    #[sqlx(try_from = "String")]
    pub rail: PaymentMethod,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    pub currency: String,
    /// Non-zero for a payment the order did not need (a duplicate, a late one): its money
    /// goes back.
    pub needs_refund: i64,
}

/// Finds our payment by the provider's id of it; `None` when it is not ours. The one lookup
/// every rail's notifications use (a refund, a repeat, a reconciliation).
pub async fn payment_by_provider_id(
    db: &crate::db::Db,
    rail: PaymentMethod,
    provider_payment_id: &str,
) -> Result<Option<FoundPayment>> {
    Ok(sqlx::query_as::<_, FoundPayment>(
        "SELECT id, order_id, provider AS rail, amount_minor, refunded_minor, currency,          needs_refund FROM payments WHERE provider = $1 AND provider_payment_id = $2",
    )
    .bind(rail.as_str())
    .bind(provider_payment_id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Webhook routes of every rail (`/webhooks/…`). Each rail adds its own router here; the
/// Telegram webhook is the bot's and is mounted beside these at startup.
pub fn router() -> axum::Router<crate::state::AppState> {
    axum::Router::new()
        .merge(click::router())
        .merge(payme::router())
        .merge(stripe::router())
        .merge(paypal::router())
        .merge(yookassa::router())
        .merge(cryptopay::router())
}

/// The rails this shop has configured; a handle, so a handler's clone copies no list.
#[derive(Clone)]
pub struct Payments {
    providers: Arc<[Arc<dyn Provider>]>,
}

impl Payments {
    pub fn new(providers: Vec<Arc<dyn Provider>>) -> Self {
        Payments {
            providers: providers.into(),
        }
    }

    /// Only cash on delivery: what a shop has before any provider is configured.
    pub fn cash_only() -> Self {
        Payments::new(vec![Arc::new(cash::Cash)])
    }

    /// The rails whose settings are present. Each rail adds itself here.
    pub fn from_config(
        config: &crate::config::Config,
        http: &reqwest::Client,
        db: &crate::db::Db,
    ) -> Self {
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
        if let Some(c) = &config.yookassa {
            providers.push(Arc::new(yookassa::Yookassa::new(c, config, http, db)));
        }
        if let Some(c) = &config.cryptopay {
            providers.push(Arc::new(cryptopay::Cryptopay::new(c, http)));
        }
        if let Some(c) = &config.ton {
            providers.push(Arc::new(ton::Ton::new(c)));
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
                    "'{method}' is not a payment method; use one of {}",
                    PaymentMethod::ALL.map(PaymentMethod::as_str).join(", ")
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
