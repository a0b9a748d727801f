//! Click (click.uz): the SHOP API, where Click calls our Prepare and Complete URLs.
//!
//! The customer pays on Click's page (`checkout_url`); Click then asks us to *prepare* the
//! attempt (we check the order and issue a `merchant_prepare_id`) and to *complete* it (we
//! fulfil the order, or cancel the attempt when Click reports a failure). Every answer is
//! HTTP 200 JSON with Click's `error` / `error_note`, whatever went wrong.

pub(crate) mod webhook;

use futures_util::future::BoxFuture;
use shared::{Currency, Money, PaymentMethod, ProductKind};

use super::refund::Refund;
use super::{Checkout, CheckoutOrder, Provider, RefundRequest};
use crate::config::ClickConfig;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::orders::repo::{self, OrderHead};
use shared::OrderStatus;

pub use webhook::router;

/// Click's payment page.
const PAY_URL: &str = "https://my.click.uz/services/pay";

pub struct Click {
    config: ClickConfig,
    public_url: String,
}

impl Click {
    pub fn new(config: ClickConfig, public_url: &str) -> Self {
        Click {
            config,
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }
}

impl Provider for Click {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Click
    }

    fn refuses(&self, currency: &Currency, kinds: &[ProductKind]) -> Option<String> {
        uz_refuses("Click", currency, kinds)
    }

    fn names_order_by_reference(&self) -> bool {
        true
    }

    fn create_checkout<'a>(&'a self, order: &'a CheckoutOrder) -> BoxFuture<'a, Result<Checkout>> {
        Box::pin(async move {
            // Click takes the amount in sum; an exact decimal string, never a float.
            let amount = Money::new(order.total_minor, order.currency.clone()).major_string();
            // Click sends it back as merchant_trans_id.
            let reference = order
                .pay_ref
                .as_deref()
                .ok_or_else(|| Error::internal("a Click order without its reference"))?;
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("service_id", &self.config.service_id)
                .append_pair("merchant_id", &self.config.merchant_id)
                .append_pair("amount", &amount)
                .append_pair("transaction_param", reference)
                .append_pair("return_url", &return_url(&self.public_url, order.order_id))
                .finish();
            Ok(Checkout {
                checkout_url: Some(format!("{PAY_URL}?{query}")),
                ..Checkout::default()
            })
        })
    }

    fn refund<'a>(&'a self, req: &'a RefundRequest) -> BoxFuture<'a, Result<Vec<Refund>>> {
        // The reversal call of Click's merchant API is not documented precisely enough in
        // what we rely on (only invoice creation is), so we do not guess at a money call.
        let order_id = req.order_id;
        Box::pin(async move {
            Err(Error::conflict(
                "refund_unavailable",
                format!(
                    "Click payments cannot be refunded from the shop yet: reverse the payment for \
                     order {order_id} in the Click merchant cabinet (merchant.click.uz), then \
                     record it here."
                ),
            ))
        })
    }
}

/// Where the customer lands after paying: the Mini App, on their order.
pub(crate) fn return_url(public_url: &str, order_id: i64) -> String {
    format!("{public_url}/?order={order_id}")
}

/// Click and Payme settle in sum only, and neither renews anything on its own.
pub(crate) fn uz_refuses(rail: &str, currency: &Currency, kinds: &[ProductKind]) -> Option<String> {
    if currency.as_str() != "UZS" {
        return Some(format!(
            "{rail} takes payments in Uzbek sum (UZS) only; this order is in {currency}."
        ));
    }
    if kinds.contains(&ProductKind::Subscription) {
        return Some(format!(
            "{rail} cannot renew subscriptions; pay for subscriptions another way."
        ));
    }
    None
}

/// An order one of the Uzbek rails may be asked to pay: in UZS and placed for Click or Payme
/// (an order placed for Stars or cash is not payable through them).
pub(crate) async fn payable_order(db: &Db, order_id: i64) -> Result<Option<OrderHead>> {
    let mut conn = db.pool.acquire().await?;
    Ok(repo::head(&mut conn, order_id).await?.filter(|o| {
        o.currency == "UZS"
            && (o.payment_method == PaymentMethod::Click.as_str()
                || o.payment_method == PaymentMethod::Payme.as_str())
    }))
}

/// The order Click's `merchant_trans_id` or Payme's `account.order_id` names: only by the
/// order's reference from its checkout link, never by the order id, which anyone can guess.
/// Either rail takes the other's reference (one reference per order), as it took the order
/// id before: a buyer who switches rails pays the same order.
pub(crate) async fn order_by_reference(db: &Db, reference: &str) -> Result<Option<OrderHead>> {
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM orders WHERE pay_ref = $1")
        .bind(reference)
        .fetch_optional(&db.pool)
        .await?;
    match id {
        Some(id) => payable_order(db, id).await,
        None => Ok(None),
    }
}

/// Whether the order still waits for its money with its stock held.
pub(crate) fn awaiting(o: &OrderHead) -> bool {
    o.status == OrderStatus::PendingPayment.as_str() && o.holds_stock == 1
}

/// Whether some payment already paid the order.
pub(crate) async fn is_paid(db: &Db, order_id: i64) -> Result<bool> {
    let paid_at: Option<Option<i64>> =
        sqlx::query_scalar("SELECT paid_at FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(matches!(paid_at, Some(Some(_))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_goods_only() {
        let uzs = Currency::new("UZS").unwrap();
        let usd = Currency::new("USD").unwrap();
        assert!(uz_refuses(
            "Click",
            &uzs,
            &[ProductKind::Physical, ProductKind::Digital]
        )
        .is_none());
        assert!(uz_refuses("Click", &usd, &[ProductKind::Physical])
            .unwrap()
            .contains("UZS"));
        assert!(uz_refuses(
            "Payme",
            &uzs,
            &[ProductKind::Physical, ProductKind::Subscription]
        )
        .unwrap()
        .contains("subscriptions"));
    }
}
