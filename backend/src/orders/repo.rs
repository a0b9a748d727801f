//! Order queries and the stock moves that go with order states.
//!
//! Stock is taken with one conditional UPDATE per line (`stock >= qty`), which both
//! databases apply atomically under concurrency: the row is locked and the condition
//! re-checked, so the last units can never be sold twice.

use shared::{
    Contact, Currency, Lang, Money, Order, OrderEvent, OrderItem, OrderStatus, OrderSubscription,
    PaymentMethod,
};
use sqlx::AnyConnection;

use crate::catalog::repo::texts;
use crate::db::{self, Db};
use crate::error::{Error, Result};
use crate::lang::pick;

#[derive(Debug, Clone, shop_macros::FromRow)]
pub struct OrderHead {
    pub id: i64,
    pub customer_id: i64,
    /// Decoded in the row: an unknown stored status is an error, never a string compared.
    #[sqlx(try_from = "String")]
    pub status: OrderStatus,
    pub currency: String,
    pub total_minor: i64,
    #[sqlx(try_from = "String")]
    pub payment_method: PaymentMethod,
    pub contact_json: Option<String>,
    pub lang: String,
    pub request_hash: Option<String>,
    pub invoice_link: Option<String>,
    pub checkout_url: Option<String>,
    pub holds_stock: i64,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    /// The reference Click and Payme name the order by (see `payments::new_pay_ref`).
    pub pay_ref: Option<String>,
    /// What a promo code took off the items' sum (`total_minor` is after it).
    pub discount_minor: i64,
    /// That promo code.
    pub promo_code: Option<String>,
    /// The delivery fee (in `total_minor`).
    pub delivery_fee_minor: i64,
    /// What delivery was chosen (`delivery::Snapshot`).
    pub delivery_json: Option<String>,
}

/// An `OrderHead`'s columns, a literal so that each statement is one fixed string
/// (`concat!("SELECT ", head_cols!(), " FROM orders …")`).
macro_rules! head_cols {
    () => {
        "id, customer_id, status, currency, total_minor, payment_method, \
         contact_json, lang, request_hash, invoice_link, checkout_url, holds_stock, expires_at, \
         created_at, pay_ref, discount_minor, \
         (SELECT code FROM promo_codes WHERE promo_codes.id = orders.promo_code_id) AS promo_code, \
         delivery_fee_minor, delivery_json"
    };
}
pub(crate) use head_cols;

#[derive(Debug, Clone, shop_macros::FromRow)]
pub struct ItemRow {
    pub order_id: i64,
    pub variant_id: i64,
    pub product_id: i64,
    pub title_json: String,
    pub sku: String,
    pub options_json: String,
    pub kind: String,
    pub unit_price_minor: i64,
    pub quantity: i64,
    pub line_total_minor: i64,
}

/// An `ItemRow`'s columns, a literal so that each statement is one fixed string (`concat!`).
macro_rules! item_cols {
    () => {
        "order_id, variant_id, product_id, title_json, sku, options_json, kind, \
         unit_price_minor, quantity, line_total_minor"
    };
}

pub async fn head(conn: &mut AnyConnection, id: i64) -> Result<Option<OrderHead>> {
    const SQL: &str = concat!("SELECT ", head_cols!(), " FROM orders WHERE id = $1");
    Ok(sqlx::query_as::<_, OrderHead>(SQL)
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// Up to `limit` of a customer's orders with ids below `before`, newest first.
pub async fn heads_of_customer(
    db: &Db,
    customer_id: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<OrderHead>> {
    const SQL: &str = concat!(
        "SELECT ",
        head_cols!(),
        " FROM orders WHERE customer_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    );
    Ok(sqlx::query_as::<_, OrderHead>(SQL)
        .bind(customer_id)
        .bind(before)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?)
}

pub async fn items(conn: &mut AnyConnection, order_id: i64) -> Result<Vec<ItemRow>> {
    const SQL: &str = concat!(
        "SELECT ",
        item_cols!(),
        " FROM order_items WHERE order_id = $1 ORDER BY id"
    );
    Ok(sqlx::query_as::<_, ItemRow>(SQL)
        .bind(order_id)
        .fetch_all(conn)
        .await?)
}

/// Takes `qty` of each variant from free stock. On the first line that cannot be served,
/// gives back what it took and answers that variant's id. With `hold`, the units count as
/// reserved by an unpaid order; without, they are sold outright.
pub async fn take_lines(
    conn: &mut AnyConnection,
    lines: &[(i64, i64)],
    hold: bool,
) -> Result<Option<i64>> {
    let held = if hold { 1 } else { 0 };
    for (i, (variant_id, qty)) in lines.iter().enumerate() {
        let done = sqlx::query(
            "UPDATE variants SET stock = stock - $1, reserved = reserved + $1 * $2 \
             WHERE id = $3 AND archived = 0 AND (stock IS NULL OR stock >= $1)",
        )
        .bind(*qty)
        .bind(held)
        .bind(*variant_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if done == 0 {
            give_lines(conn, &lines[..i], hold).await?;
            return Ok(Some(*variant_id));
        }
    }
    Ok(None)
}

/// The inverse of [`take_lines`].
pub async fn give_lines(conn: &mut AnyConnection, lines: &[(i64, i64)], held: bool) -> Result<()> {
    let held = if held { 1 } else { 0 };
    for (variant_id, qty) in lines {
        sqlx::query(
            "UPDATE variants SET stock = stock + $1, reserved = reserved - $1 * $2 WHERE id = $3",
        )
        .bind(*qty)
        .bind(held)
        .bind(*variant_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn lines_of(conn: &mut AnyConnection, order_id: i64) -> Result<Vec<(i64, i64)>> {
    Ok(items(conn, order_id)
        .await?
        .into_iter()
        .map(|i| (i.variant_id, i.quantity))
        .collect())
}

/// Takes an order's stock again (after its reservation lapsed): true if all lines fit.
pub async fn take_stock(conn: &mut AnyConnection, order_id: i64, hold: bool) -> Result<bool> {
    let lines = lines_of(conn, order_id).await?;
    Ok(take_lines(conn, &lines, hold).await?.is_none())
}

/// A paid order's reserved units become sold units.
pub async fn commit_reservation(conn: &mut AnyConnection, order_id: i64) -> Result<()> {
    for (variant_id, qty) in lines_of(conn, order_id).await? {
        sqlx::query("UPDATE variants SET reserved = reserved - $1 WHERE id = $2")
            .bind(qty)
            .bind(variant_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Gives an order's held units back to free stock, once: only while it still holds them.
pub async fn release_reservation(conn: &mut AnyConnection, order_id: i64) -> Result<bool> {
    let now = db::now();
    let took = sqlx::query(
        "UPDATE orders SET holds_stock = 0, updated_at = $1 WHERE id = $2 AND holds_stock = 1",
    )
    .bind(now)
    .bind(order_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if took == 0 {
        return Ok(false);
    }
    let lines = lines_of(conn, order_id).await?;
    give_lines(conn, &lines, true).await?;
    Ok(true)
}

pub async fn event(
    conn: &mut AnyConnection,
    order_id: i64,
    kind: &str,
    status: Option<&str>,
    note: Option<&str>,
    actor: Option<&str>,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO order_events (order_id, kind, status, note, actor, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(order_id)
    .bind(kind)
    .bind(status)
    .bind(note)
    .bind(actor)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

pub fn to_item(r: &ItemRow, currency: &Currency, lang: Lang, fallback: &[Lang]) -> OrderItem {
    OrderItem {
        variant_id: r.variant_id,
        product_id: r.product_id,
        title: pick(&texts(&r.title_json), lang, fallback),
        sku: r.sku.clone(),
        options: serde_json::from_str(&r.options_json).unwrap_or_default(),
        quantity: r.quantity,
        unit_price: Money::new(r.unit_price_minor, currency.clone()),
        line_total: Money::new(r.line_total_minor, currency.clone()),
    }
}

pub fn to_order(
    h: &OrderHead,
    items: &[ItemRow],
    events: Vec<OrderEvent>,
    lang: Lang,
    fallback: &[Lang],
) -> Result<Order> {
    let currency = Currency::new(&h.currency).map_err(Error::internal)?;
    Ok(Order {
        id: h.id,
        status: h.status,
        total: Money::new(h.total_minor, currency.clone()),
        discount: (h.discount_minor > 0).then(|| Money::new(h.discount_minor, currency.clone())),
        promo_code: h.promo_code.clone(),
        delivery: crate::delivery::to_order_delivery(
            h.delivery_json.as_deref(),
            h.delivery_fee_minor,
            &currency,
            lang,
            fallback,
        ),
        items: items
            .iter()
            .map(|i| to_item(i, &currency, lang, fallback))
            .collect(),
        payment_method: h.payment_method,
        invoice_link: h.invoice_link.clone(),
        checkout_url: h.checkout_url.clone(),
        contact: h
            .contact_json
            .as_deref()
            .and_then(|c| serde_json::from_str::<Contact>(c).ok()),
        created_at: h.created_at,
        expires_at: if h.status == OrderStatus::PendingPayment {
            h.expires_at
        } else {
            None
        },
        customer_id: Some(h.customer_id),
        events,
        risk: None,
        payments: vec![],
        refunds: vec![],
        ton_transfers: vec![],
        subscription: None,
        ton: None,
    })
}

/// What a subscription is now: `expired` once its paid period is over, `canceled` while it
/// runs out without renewing, else `active`.
pub fn subscription_status(expires_at: i64, canceled: bool, now: i64) -> &'static str {
    if expires_at <= now {
        "expired"
    } else if canceled {
        "canceled"
    } else {
        "active"
    }
}

/// The subscription order `order_id` sold, if its first payment started one.
pub async fn subscription_of(
    conn: &mut AnyConnection,
    order_id: i64,
) -> Result<Option<OrderSubscription>> {
    let row: Option<(i64, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT id, provider, expires_at, canceled, renewals FROM subscriptions WHERE order_id = $1",
    )
    .bind(order_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(id, provider, expires_at, canceled, renewals)| {
        let status = subscription_status(expires_at, canceled != 0, db::now());
        OrderSubscription {
            id,
            payment_method: PaymentMethod::parse(&provider).unwrap_or(PaymentMethod::Stars),
            status: status.to_string(),
            renews: status == "active",
            expires_at,
            renewals,
        }
    }))
}

pub async fn events(db: &Db, order_id: i64) -> Result<Vec<OrderEvent>> {
    #[derive(shop_macros::FromRow)]
    struct Row {
        kind: String,
        status: Option<String>,
        note: Option<String>,
        actor: Option<String>,
        created_at: i64,
    }
    let rows = sqlx::query_as::<_, Row>(
        "SELECT kind, status, note, actor, created_at FROM order_events WHERE order_id = $1 ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OrderEvent {
            at: r.created_at,
            kind: r.kind,
            status: r.status.as_deref().and_then(OrderStatus::parse),
            note: r.note,
            actor: r.actor,
        })
        .collect())
}

/// One whole order, with its timeline when `with_events`.
pub async fn load(
    db: &Db,
    id: i64,
    lang: Lang,
    fallback: &[Lang],
    with_events: bool,
) -> Result<Option<Order>> {
    let mut conn = db.pool.acquire().await?;
    let Some(h) = head(&mut conn, id).await? else {
        return Ok(None);
    };
    let its = items(&mut conn, id).await?;
    let sub = if its.iter().any(|i| i.kind == "subscription") {
        subscription_of(&mut conn, id).await?
    } else {
        None
    };
    drop(conn);
    let evs = if with_events {
        events(db, id).await?
    } else {
        vec![]
    };
    let mut order = to_order(&h, &its, evs, lang, fallback)?;
    order.subscription = sub;
    Ok(Some(order))
}

/// Orders for a page of heads, with their items in one query.
pub async fn load_many(
    db: &Db,
    heads: &[OrderHead],
    lang: Lang,
    fallback: &[Lang],
) -> Result<Vec<Order>> {
    if heads.is_empty() {
        return Ok(vec![]);
    }
    let mut q = db::SqlBuilder::new(concat!(
        "SELECT ",
        item_cols!(),
        " FROM order_items WHERE order_id IN ("
    ));
    q.push_bind_list(heads.iter().map(|h| h.id))
        .push(") ORDER BY id");
    let all = q.build_query_as::<ItemRow>().fetch_all(&db.pool).await?;
    heads
        .iter()
        .map(|h| {
            let its: Vec<ItemRow> = all.iter().filter(|i| i.order_id == h.id).cloned().collect();
            to_order(h, &its, vec![], lang, fallback)
        })
        .collect()
}
