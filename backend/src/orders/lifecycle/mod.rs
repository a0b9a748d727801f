//! The order lifecycle: the only code that changes `orders.status`.
//!
//! Every way an order moves (paid, ended unpaid, refunded, shipped, delivered) is one
//! function here, whoever asks for it: a payment rail translating its provider's message, the
//! merchant in the admin, or the shop's own jobs. Each one opens the write transaction, makes
//! the guarded change (a conditional UPDATE whose row count decides, so two callers racing for
//! one order cannot both win), writes the order's timeline and the merchant's audit entry,
//! commits, and only then runs the effects that must not happen for a change that rolled back:
//! the catalog version bump and the customer's notice ([`crate::notify`]).
//!
//! Keeping this in one place is what keeps the copies from drifting apart: before, an expired
//! Stripe session told the customer and an expired reservation did not.
//!
//! This module knows no rail and no messenger: rails call it (`payments` depends on `orders`,
//! never the other way round), and what it needs from the running shop comes through [`Shop`].

mod paid;
mod refunds;

pub use paid::{paid, record_payment, record_unneeded, Outcome, PaymentSuccess};
pub use refunds::{
    refund_failed, refunded, refunds_made, PaymentOf, Recorded, Refund, RefundsMade, Restock,
};

use futures_util::future::BoxFuture;
use shared::{Currency, Money, OrderStatus, PaymentMethod};
use sqlx::AnyConnection;

use super::repo;
use crate::db::{self, Db};
use crate::error::{Error, Result};
use crate::notify::Notice;
use crate::promo;

/// What the lifecycle needs from the running shop: the database, and the two effects that run
/// after a change committed. `AppState` is one; a test can bring its own.
pub trait Shop: Send + Sync {
    fn db(&self) -> &Db;
    /// Something that can alter a catalog answer changed (stock moved).
    fn catalog_changed(&self);
    /// Tells the customer about their order, in the background.
    fn notify(&self, order_id: i64, notice: Notice);
    /// An unpaid order of rail `method` ended: the rail may close what its provider still
    /// holds open for it (in the background). The lifecycle knows no rail, so the running
    /// shop routes this to the rail's hook (`Provider::on_unpaid_end`).
    fn unpaid_ended(&self, order_id: i64, method: PaymentMethod) {
        let _ = (order_id, method);
    }
}

/// Who made a change: shown on the order's timeline, and for a merchant also in the audit log.
#[derive(Clone, Copy)]
pub enum By<'a> {
    /// The shop itself (the reservation expiry).
    System,
    /// A payment rail's notification.
    Rail(PaymentMethod),
    /// The Telegram bot's own updates (a refund made in Telegram).
    Bot,
    /// A signed-in merchant; the change is audited.
    Admin(&'a dyn AuditTrail),
}

impl By<'_> {
    /// The order events' `actor`.
    pub fn name(&self) -> &str {
        match self {
            By::System => "system",
            By::Rail(m) => m.as_str(),
            By::Bot => "telegram",
            By::Admin(a) => a.email(),
        }
    }
}

/// The merchant's audit log, as the admin writes it. The lifecycle hands it what changed in
/// the change's own transaction, so an entry exists exactly when its change committed.
pub trait AuditTrail: Send + Sync {
    /// The merchant's email: the order events' actor.
    fn email(&self) -> &str;
    fn record<'c>(
        &'c self,
        conn: &'c mut AnyConnection,
        action: &'static str,
        order_id: i64,
        before: serde_json::Value,
        after: serde_json::Value,
    ) -> BoxFuture<'c, Result<()>>;
}

/// What the customer's notice and the catalog need after a commit.
#[derive(Debug, Default, Clone, Copy)]
struct After {
    stock_moved: bool,
    notice: Option<Notice>,
}

impl After {
    fn run(self, shop: &dyn Shop, order_id: i64) {
        if self.stock_moved {
            shop.catalog_changed();
        }
        if let Some(n) = self.notice {
            shop.notify(order_id, n);
        }
    }
}

/// How an unpaid order ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Its reservation lapsed, or the provider's checkout for it did.
    Expired,
    /// The merchant called it off. An unpaid cash order already on its way can be called
    /// back too.
    Cancelled,
    /// The provider reported the payment failed for good.
    PaymentFailed,
}

impl Ending {
    fn status(self) -> OrderStatus {
        match self {
            Ending::Expired => OrderStatus::Expired,
            Ending::Cancelled | Ending::PaymentFailed => OrderStatus::Cancelled,
        }
    }
    fn notice(self) -> Notice {
        match self {
            Ending::Expired => Notice::Expired,
            Ending::Cancelled | Ending::PaymentFailed => Notice::Cancelled,
        }
    }
}

/// Ends an unpaid order and gives its stock back. False when it was not unpaid any more (paid
/// meanwhile, or already ended): nothing changed then.
pub async fn end_unpaid(
    shop: &dyn Shop,
    order_id: i64,
    how: Ending,
    note: Option<&str>,
    by: By<'_>,
) -> Result<bool> {
    let mut tx = shop.db().begin_write().await?;
    let before = snapshot(tx.conn(), order_id).await?;
    let to = how.status();
    let mut moved = transition(
        tx.conn(),
        order_id,
        &[OrderStatus::PendingPayment],
        to,
        note,
        by,
    )
    .await?;
    if !moved && how == Ending::Cancelled {
        // An unpaid cash order that is already on its way can still be called back.
        moved = guarded(tx.conn(), order_id, Guard::UnpaidCashShipped, to, note, by).await?;
    }
    if moved {
        repo::release_reservation(tx.conn(), order_id).await?;
        if how == Ending::PaymentFailed {
            // Counted by the risk rules (many failed payments in a short time).
            repo::event(
                tx.conn(),
                order_id,
                shared::event_kind::PAYMENT_FAILED,
                None,
                note,
                Some(by.name()),
                db::now(),
            )
            .await?;
        }
        // Its promo code's use comes back with its stock, in the same transaction.
        if before.as_ref().is_some_and(|b| b.promo_code_id.is_some()) {
            promo::give_back(tx.conn(), order_id, db::now()).await?;
        }
        audit(tx.conn(), by, "cancel", order_id, before.as_ref()).await?;
    }
    tx.commit().await?;
    if moved {
        After {
            stock_moved: true,
            notice: Some(how.notice()),
        }
        .run(shop, order_id);
        // Only the caller whose guarded change moved the order gets here, so however many
        // processes race to end it, its rail is asked once.
        if let Some(b) = &before {
            shop.unpaid_ended(order_id, b.method);
        }
    }
    Ok(moved)
}

/// Expires unpaid orders whose reservation lapsed, giving their stock back and telling their
/// customers, like every other ending. Returns how many.
pub async fn expire_due(shop: &dyn Shop) -> Result<usize> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM orders WHERE status = 'pending_payment' AND expires_at IS NOT NULL \
         AND expires_at <= $1 ORDER BY id LIMIT 500",
    )
    .bind(db::now())
    .fetch_all(&shop.db().pool)
    .await?;
    let mut n = 0;
    for id in ids {
        if end_unpaid(
            shop,
            id,
            Ending::Expired,
            Some("reservation lapsed"),
            By::System,
        )
        .await?
        {
            n += 1;
        }
    }
    Ok(n)
}

/// Marks an order shipped: a paid one, or an unpaid cash order (the courier collects the
/// money). False when it is in no state to ship.
pub async fn ship(shop: &dyn Shop, order_id: i64, by: By<'_>) -> Result<bool> {
    let mut tx = shop.db().begin_write().await?;
    let Some(before) = snapshot(tx.conn(), order_id).await? else {
        return Err(Error::not_found("order"));
    };
    let from: &[OrderStatus] = if before.method == PaymentMethod::Cash {
        &[OrderStatus::Paid, OrderStatus::PendingPayment]
    } else {
        &[OrderStatus::Paid]
    };
    super::risk::hold(tx.conn(), order_id, before.method).await?;
    let moved = transition(tx.conn(), order_id, from, OrderStatus::Shipped, None, by).await?;
    if !moved {
        return Ok(false);
    }
    audit(tx.conn(), by, "ship", order_id, Some(&before)).await?;
    tx.commit().await?;
    After {
        stock_moved: false,
        notice: Some(Notice::Shipped),
    }
    .run(shop, order_id);
    Ok(true)
}

/// Marks an order delivered. Delivering an unpaid cash order is when its money arrives: the
/// payment is recorded in the same transaction. False when it is in no state to deliver.
pub async fn deliver(shop: &dyn Shop, order_id: i64, by: By<'_>) -> Result<bool> {
    let mut tx = shop.db().begin_write().await?;
    let Some(before) = snapshot(tx.conn(), order_id).await? else {
        return Err(Error::not_found("order"));
    };
    super::risk::hold(tx.conn(), order_id, before.method).await?;
    if before.method == PaymentMethod::Cash
        && before.paid_at.is_none()
        && matches!(
            before.status,
            OrderStatus::PendingPayment | OrderStatus::Shipped
        )
    {
        paid::record_payment(
            tx.conn(),
            &PaymentSuccess {
                order_id,
                rail: PaymentMethod::Cash,
                provider_payment_id: format!("cash-{order_id}"),
                amount_minor: before.total_minor,
                currency: before.currency.as_str().to_string(),
                raw: Some(format!("collected on delivery, confirmed by {}", by.name())),
            },
        )
        .await?;
    }
    let moved = transition(
        tx.conn(),
        order_id,
        &[OrderStatus::Paid, OrderStatus::Shipped],
        OrderStatus::Delivered,
        None,
        by,
    )
    .await?;
    if !moved {
        return Ok(false);
    }
    audit(tx.conn(), by, "deliver", order_id, Some(&before)).await?;
    tx.commit().await?;
    After {
        stock_moved: false,
        notice: Some(Notice::Delivered),
    }
    .run(shop, order_id);
    Ok(true)
}

/// The order as it was before a change, for the audit entry and for the guards that depend on
/// more than the status.
struct Snapshot {
    status: OrderStatus,
    method: PaymentMethod,
    total_minor: i64,
    currency: Currency,
    paid_at: Option<i64>,
    promo_code_id: Option<i64>,
}

async fn snapshot(conn: &mut AnyConnection, order_id: i64) -> Result<Option<Snapshot>> {
    #[derive(shop_macros::FromRow)]
    struct Row {
        #[sqlx(try_from = "String")]
        status: OrderStatus,
        #[sqlx(try_from = "String")]
        payment_method: PaymentMethod,
        total_minor: i64,
        #[sqlx(try_from = "String")]
        currency: Currency,
        paid_at: Option<i64>,
        promo_code_id: Option<i64>,
    }
    let row = sqlx::query_as::<_, Row>(
        "SELECT status, payment_method, total_minor, currency, paid_at, promo_code_id FROM orders \
         WHERE id = $1",
    )
    .bind(order_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| Snapshot {
        status: r.status,
        method: r.payment_method,
        total_minor: r.total_minor,
        currency: r.currency,
        paid_at: r.paid_at,
        promo_code_id: r.promo_code_id,
    }))
}

/// The merchant's audit entry for a change by an admin: the status before and after, read
/// through the change's own transaction. Nothing for other actors.
async fn audit(
    conn: &mut AnyConnection,
    by: By<'_>,
    action: &'static str,
    order_id: i64,
    before: Option<&Snapshot>,
) -> Result<()> {
    let (By::Admin(trail), Some(before)) = (by, before) else {
        return Ok(());
    };
    let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(&mut *conn)
        .await?;
    let total = Money::new(before.total_minor, before.currency.clone());
    trail
        .record(
            conn,
            action,
            order_id,
            serde_json::json!({"status": before.status, "total": total}),
            serde_json::json!({"status": status, "total": total}),
        )
        .await
}

/// Moves an order from one of `from` to `to`, recording the event; false if it was not in `from`.
async fn transition(
    conn: &mut AnyConnection,
    order_id: i64,
    from: &[OrderStatus],
    to: OrderStatus,
    note: Option<&str>,
    by: By<'_>,
) -> Result<bool> {
    guarded(conn, order_id, Guard::In(from), to, note, by).await
}

/// What an order must match to move.
enum Guard<'a> {
    /// One of these statuses.
    In(&'a [OrderStatus]),
    /// An unpaid cash order already on its way (a cancel can still call it back).
    UnpaidCashShipped,
}

/// Moves an order to `to` where `guard` holds, recording the event; false if the guard matched
/// nothing.
async fn guarded(
    conn: &mut AnyConnection,
    order_id: i64,
    guard: Guard<'_>,
    to: OrderStatus,
    note: Option<&str>,
    by: By<'_>,
) -> Result<bool> {
    let now = db::now();
    let mut q = db::SqlBuilder::new("UPDATE orders SET status = ");
    q.push_bind(to.as_str().to_string())
        .push(", updated_at = ")
        .push_bind(now)
        .push(" WHERE id = ")
        .push_bind(order_id);
    match guard {
        Guard::In(from) => q
            .push(" AND status IN (")
            .push_bind_list(from.iter().map(|s| s.as_str().to_string()))
            .push(")"),
        Guard::UnpaidCashShipped => {
            q.push(" AND status = 'shipped' AND payment_method = 'cash' AND paid_at IS NULL")
        }
    };
    let n = q.build().execute(&mut *conn).await?.rows_affected();
    if n == 1 {
        repo::event(
            conn,
            order_id,
            to.as_str(),
            Some(to.as_str()),
            note,
            Some(by.name()),
            now,
        )
        .await?;
    }
    Ok(n == 1)
}
