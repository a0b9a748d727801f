//! What the two Uzbek rails (Click and Payme) share: sum only, the buyer's way back, and
//! finding the order their calls name by its unguessable reference.

use shared::{Currency, OrderStatus, PaymentMethod, ProductKind};

use crate::db::Db;
use crate::error::Result;
use crate::orders::repo::{self, OrderHead};

/// Where the customer lands after paying: the Mini App, on their order.
pub fn return_url(public_url: &str, order_id: i64) -> String {
    format!("{public_url}/?order={order_id}")
}

/// Click and Payme settle in sum only, and neither renews anything on its own.
pub fn uz_refuses(rail: &str, currency: &Currency, kinds: &[ProductKind]) -> Option<String> {
    if currency.as_str() != "UZS" {
        return Some(format!(
            "{rail} takes payments in Uzbek sum (UZS) only; this order is in {currency}."
        ));
    }
    super::refuses_subscriptions(rail, kinds)
}

/// An order one of the Uzbek rails may be asked to pay: in UZS and placed for Click or Payme
/// (an order placed for Stars or cash is not payable through them).
pub async fn payable_order(db: &Db, order_id: i64) -> Result<Option<OrderHead>> {
    let mut conn = db.pool.acquire().await?;
    Ok(repo::head(&mut conn, order_id).await?.filter(|o| {
        o.currency == "UZS"
            && matches!(
                o.payment_method,
                PaymentMethod::Click | PaymentMethod::Payme
            )
    }))
}

/// The order Click's `merchant_trans_id` or Payme's `account.order_id` names: only by the
/// order's reference from its checkout link, never by the order id, which anyone can guess.
/// Either rail takes the other's reference (one reference per order), as it took the order
/// id before: a buyer who switches rails pays the same order.
pub async fn order_by_reference(db: &Db, reference: &str) -> Result<Option<OrderHead>> {
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
pub fn awaiting(o: &OrderHead) -> bool {
    o.status == OrderStatus::PendingPayment && o.holds_stock == 1
}

/// Whether some payment already paid the order.
pub async fn is_paid(db: &Db, order_id: i64) -> Result<bool> {
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
