//! Recording refunds, whoever started them (the merchant in the admin, or a provider's own
//! notification such as Telegram's `refunded_payment` or Stripe's `charge.refunded`).

use shared::OrderStatus;

use crate::db::{self, Db};
use crate::error::{Error, Result};
use crate::orders::repo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The whole payment is now refunded and the order is `refunded`.
    Full,
    Partial,
    /// Nothing left to refund: a repeated notification.
    Nothing,
}

/// Adds `amount_minor` (or everything left when `None`) to payment `payment_id`'s refunded
/// total, moves the order to `refunded` when it is all given back, and optionally puts the
/// units back on sale. Safe to repeat: it never refunds more than was paid.
pub async fn record(
    db: &Db,
    order_id: i64,
    payment_id: i64,
    amount_minor: Option<i64>,
    restock: bool,
    actor: &str,
) -> Result<Recorded> {
    #[derive(sqlx::FromRow)]
    struct Pay {
        amount_minor: i64,
        refunded_minor: i64,
        currency: String,
        needs_refund: i64,
    }
    let now = db::now();
    let mut tx = db.begin_write().await?;
    let pay = sqlx::query_as::<_, Pay>(
        "SELECT amount_minor, refunded_minor, currency, needs_refund FROM payments WHERE id = $1 AND order_id = $2",
    )
    .bind(payment_id)
    .bind(order_id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::not_found("payment"))?;
    let left = pay.amount_minor - pay.refunded_minor;
    if left <= 0 {
        return Ok(Recorded::Nothing);
    }
    let amount = amount_minor.unwrap_or(left).min(left);
    if amount <= 0 {
        return Err(Error::field(
            "invalid_amount",
            "amount_minor",
            format!("Refund between 1 and {left} (minor units) for this order."),
        ));
    }
    let moved = sqlx::query(
        "UPDATE payments SET refunded_minor = refunded_minor + $1, updated_at = $2 \
         WHERE id = $3 AND refunded_minor + $1 <= amount_minor",
    )
    .bind(amount)
    .bind(now)
    .bind(payment_id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if moved != 1 {
        return Err(Error::conflict(
            "refund_in_progress",
            format!("Order {order_id} changed meanwhile; reload it and try again."),
        ));
    }
    let note = format!("{amount} {} refunded", pay.currency);
    let full = amount == left;
    if pay.needs_refund != 0 {
        // Money back for a duplicate or unusable payment: the order itself stays as it is.
        sqlx::query("UPDATE payments SET status = 'refunded', needs_refund = 0 WHERE id = $1 AND refunded_minor = amount_minor")
            .bind(payment_id)
            .execute(tx.conn())
            .await?;
        repo::event(
            tx.conn(),
            order_id,
            "duplicate_refunded",
            None,
            Some(&note),
            Some(actor),
            now,
        )
        .await?;
    } else if full {
        sqlx::query("UPDATE payments SET status = 'refunded' WHERE id = $1")
            .bind(payment_id)
            .execute(tx.conn())
            .await?;
        let moved = repo::transition(
            tx.conn(),
            order_id,
            &[
                OrderStatus::Paid,
                OrderStatus::Shipped,
                OrderStatus::Delivered,
                OrderStatus::Completed,
            ],
            OrderStatus::Refunded,
            Some(&note),
            Some(actor),
        )
        .await?;
        if moved && restock {
            let lines: Vec<(i64, i64)> = repo::items(tx.conn(), order_id)
                .await?
                .into_iter()
                .map(|i| (i.variant_id, i.quantity))
                .collect();
            repo::give_lines(tx.conn(), &lines, false).await?;
        }
    } else {
        repo::event(
            tx.conn(),
            order_id,
            "partial_refund",
            None,
            Some(&note),
            Some(actor),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(if full {
        Recorded::Full
    } else {
        Recorded::Partial
    })
}
