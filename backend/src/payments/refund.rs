//! The merchant's refund: asks the order's own rail to give the money back, then hands what
//! the provider did to the lifecycle, which records it (each refund once by the provider's
//! id) and moves the order. Cash is handed back by the merchant, so it is only recorded.

pub use crate::orders::lifecycle::{Recorded, Refund, Restock};

use shared::{OrderStatus, PaymentMethod};

use super::{payment_by_provider_id, RefundRequest};
use crate::error::{Error, Result};
use crate::orders::lifecycle::{self, By, PaymentOf, RefundsMade};
use crate::state::AppState;

/// What the merchant asked for.
#[derive(Debug, Clone, Copy)]
pub struct RefundAsk {
    /// Minor units; `None` refunds everything still refundable.
    pub amount_minor: Option<i64>,
    pub restock: Restock,
    /// Paid back by hand outside the shop: recorded without calling the provider.
    pub manual: bool,
}

/// Whether a counted refund is one the merchant recorded by hand (its key, made below, starts
/// so): paid back outside the shop, no provider asked.
pub fn is_manual(provider_refund_id: &str) -> bool {
    provider_refund_id.starts_with("manual-")
}

/// Refunds order `order_id` as the merchant `by` asked.
pub async fn refund_order(
    st: &AppState,
    order_id: i64,
    ask: RefundAsk,
    by: By<'_>,
) -> Result<Recorded> {
    #[derive(shop_macros::FromRow)]
    struct Row {
        #[sqlx(try_from = "String")]
        status: OrderStatus,
        #[sqlx(try_from = "String")]
        payment_method: PaymentMethod,
        customer_id: i64,
        #[sqlx(try_from = "String")]
        currency: shared::Currency,
    }
    let order = sqlx::query_as::<_, Row>(
        "SELECT status, payment_method, customer_id, currency FROM orders WHERE id = $1",
    )
    .bind(order_id)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or_else(|| Error::not_found("order"))?;
    let (status, method, currency) = (order.status, order.payment_method, order.currency);
    if !matches!(
        status,
        OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Completed
    ) {
        return Err(if status == OrderStatus::Refunded {
            Error::conflict(
                "already_refunded",
                format!("Order {order_id} is already refunded."),
            )
        } else {
            Error::conflict(
                "invalid_state",
                format!(
                    "Order {order_id} is {} and cannot be refunded.",
                    status.as_str()
                ),
            )
        });
    }
    #[derive(shop_macros::FromRow)]
    struct Pay {
        provider_payment_id: String,
        provider: String,
    }
    let first = sqlx::query_as::<_, Pay>(
        "SELECT provider_payment_id, provider FROM payments \
         WHERE order_id = $1 AND needs_refund = 0 AND status <> 'refunded' ORDER BY id LIMIT 1",
    )
    .bind(order_id)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or_else(|| {
        Error::conflict(
            "no_payment",
            format!("Order {order_id} has no payment to refund."),
        )
    })?;
    let rail = PaymentMethod::parse(&first.provider)
        .ok_or_else(|| Error::internal(format!("order {order_id}: payment of an unknown rail")))?;
    let pay = payment_by_provider_id(&st.db, rail, &first.provider_payment_id)
        .await?
        .ok_or_else(|| Error::internal("payment vanished"))?;
    let failed_refunds: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM refunds WHERE payment_id = $1 AND failed_at IS NOT NULL",
    )
    .bind(pay.id)
    .fetch_one(&st.db.pool)
    .await?;
    let left = pay.amount_minor - pay.refunded_minor;
    let amount = ask.amount_minor.unwrap_or(left);
    if amount <= 0 || amount > left {
        return Err(Error::field(
            "invalid_amount",
            "amount_minor",
            format!("Refund between 1 and {left} (minor units) for this order."),
        ));
    }
    let made = if method == PaymentMethod::Cash || ask.manual {
        // Cash is handed back by the merchant, and so is any refund the merchant made by hand
        // (a rail that may not send money back). The key repeats for a double-clicked button
        // (same refunded total, same amount), so that is recorded once too.
        let kind = if ask.manual { "manual" } else { "cash" };
        vec![Refund {
            provider_refund_id: format!("{kind}-{}-{}-{amount}", pay.id, pay.refunded_minor),
            amount_minor: amount,
            currency: currency.as_str().to_string(),
        }]
    } else {
        let provider = st.payments.get(method).ok_or_else(|| {
            Error::conflict(
                "refund_unavailable",
                format!(
                    "{} is not configured any more; refund it in the provider's dashboard.",
                    method.as_str()
                ),
            )
        })?;
        provider
            .refund(&RefundRequest {
                order_id,
                customer_id: order.customer_id,
                payment_id: pay.id,
                provider_payment_id: first.provider_payment_id.clone(),
                amount_minor: amount,
                currency: currency.clone(),
                refunded_minor: pay.refunded_minor,
                failed_refunds,
                full: amount == left,
            })
            .await?
    };
    let recorded = lifecycle::refunds_made(
        st,
        RefundsMade {
            pay: pay.of(),
            made: &made,
            restock: ask.restock,
            pending_note: format!(
                "{} accepted the refund of {amount} {currency}; the order changes when it confirms",
                method.as_str()
            ),
        },
        by,
    )
    .await?;
    if recorded == Recorded::Full {
        // A refunded subscription stops renewing at its provider too.
        crate::subscriptions::stop_after_refund(st, order_id).await;
    }
    Ok(recorded)
}

impl super::FoundPayment {
    /// The lifecycle's handle on this payment.
    pub fn of(&self) -> PaymentOf {
        PaymentOf {
            payment_id: self.id,
            order_id: self.order_id,
            rail: self.rail,
        }
    }
}

/// A refund a rail's notification reports, of the provider's payment `provider_payment_id`:
/// recorded by the provider's refund id. `None` when the payment is not ours. The same refund
/// arriving again, or the admin's own call recording it first, changes nothing.
pub async fn provider_refunded(
    st: &AppState,
    rail: PaymentMethod,
    provider_payment_id: &str,
    r: &Refund,
    by: By<'_>,
) -> Result<Option<Recorded>> {
    let Some(pay) = payment_by_provider_id(&st.db, rail, provider_payment_id).await? else {
        return Ok(None);
    };
    Ok(Some(
        lifecycle::refunded(st, pay.of(), r, Restock::No, by).await?,
    ))
}

/// A refund of the provider's payment `provider_payment_id` that the rail now reports failed
/// (see [`lifecycle::refund_failed`]). False when nothing changed.
pub async fn provider_refund_failed(
    st: &AppState,
    rail: PaymentMethod,
    provider_payment_id: &str,
    r: &Refund,
) -> Result<bool> {
    let pay = payment_by_provider_id(&st.db, rail, provider_payment_id).await?;
    lifecycle::refund_failed(st, rail, r, pay.map(|p| p.of()), By::Rail(rail)).await
}
