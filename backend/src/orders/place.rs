//! Placing an order (`POST /api/orders`), built to run near the database's commit rate.
//!
//! Everything that only reads (the variants, their products, the rail, the contact, the delivery
//! method and its fee, the total) happens before the write, the lines and the delivery count in
//! one query; the write itself joins the group writer ([`Db::group_write`]), which commits
//! whatever orders are waiting in one transaction, and the answer is built from what was
//! written instead of read back. An order refused inside a group (cap, stock, a taken
//! Idempotency-Key) undoes its own stock move, so the others in its group still commit.
//! - SQLite: a one-line order is one call to SQLite (see [`write_sqlite_one_line`]); the group
//!   runs on the one writer connection.
//! - PostgreSQL: a group's customers in one upsert (which locks their rows, so the counts of
//!   their unpaid orders that follow see every order of theirs committed before, by any
//!   process), then the whole group's orders in one statement ([`batch`]): the stock of every
//!   line with conditional UPDATEs, and the orders, their items and their first events only
//!   if every line, cap and key held. If anything was refused it writes no order, gives the
//!   stock back, and each order runs its own statement ([`postgres_order_sql`]), which finds
//!   which one was refused and why. An order with a promo code runs the upsert and its own
//!   statement in a transaction of its own, as its code's use is taken in it. Groups of several
//!   processes can wait on each other's rows; PostgreSQL then aborts one group, whose orders
//!   run again one by one.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};
use shared::{
    event_kind, CreateOrder, Currency, DeliveryKind, Lang, Order, PaymentMethod, ProductKind,
};
use sqlx::AnyConnection;
use tokio::sync::oneshot;

mod batch;

use super::{cart_lines, repo, resolve_lines, validate_contact, MAX_OPEN_ORDERS};
use crate::auth::init_data::TgUser;
use crate::auth::upsert_customer;
use crate::catalog::repo::{self as catalog, texts};
use crate::db::{self, Db, DbKind, GroupWrite};
use crate::delivery;
use crate::error::{Error, Result};
use crate::promo;
use crate::rails::{Checkout, CheckoutLine, CheckoutOrder, Provider};
use crate::state::AppState;

/// The customer's unpaid orders (`$1` the customer), counted for the cap of
/// [`MAX_OPEN_ORDERS`] at every order: one text for every statement that counts them, served
/// by the partial index `orders_customer_pending` (the status indexes would read every unpaid
/// order in the shop). A macro so `concat!` can put it inside the fixed statements.
macro_rules! open_orders_count {
    () => {
        "SELECT COUNT(*) FROM orders WHERE customer_id = $1 AND status = 'pending_payment'"
    };
}
/// The statement that writes a whole group of orders on PostgreSQL; public so a test can check
/// its plan.
pub use batch::SQL as GROUP_ORDERS_SQL;

/// [`open_orders_count`] on its own; public so a test can check its plan.
pub const OPEN_ORDERS_SQL: &str = open_orders_count!();

/// A variant named by the order, with the product fields the order and its checkout need.
#[derive(Debug, Clone, shop_macros::FromRow)]
struct LineRow {
    id: i64,
    product_id: i64,
    sku: String,
    options_json: String,
    price_minor: i64,
    currency: String,
    archived: i64,
    kind: String,
    title_json: String,
    description_json: String,
    images_json: String,
    product_archived: i64,
    /// The delivery methods offered in the variant's currency.
    delivery_offered: i64,
}

/// Everything the write needs, owned: on SQLite it travels to the group writer's task.
#[derive(Debug, Clone)]
struct NewOrder {
    user: TgUser,
    currency: String,
    total: i64,
    method: &'static str,
    contact_json: Option<String>,
    lang: &'static str,
    key: Option<String>,
    request_hash: Option<String>,
    expires_at: Option<i64>,
    now: i64,
    pay_ref: Option<String>,
    /// The order's lines in variant id order (the order the stock is taken in).
    items: Vec<repo::ItemRow>,
    from_cart: bool,
    /// The promo code the order is placed with; `total` is already after its discount.
    promo: Option<promo::Applied>,
    /// The delivery fee, included in `total`.
    delivery_fee: i64,
    /// What was chosen (`delivery::Snapshot` as JSON); `None` without a delivery.
    delivery_json: Option<String>,
}

impl NewOrder {
    fn take(&self) -> Vec<(i64, i64)> {
        self.items
            .iter()
            .map(|i| (i.variant_id, i.quantity))
            .collect()
    }
}

/// What the write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created(i64),
    /// The customer already has this many unpaid orders.
    TooManyOpen(i64),
    /// The first line (by variant id) whose stock was short.
    OutOfStock(i64),
    /// An order with the same Idempotency-Key committed first.
    KeyTaken,
    /// The promo code's use could not be taken any more (used up, paused or ended since it
    /// was checked): nothing was written.
    PromoRefused,
}

/// Places an order and starts its checkout. Answers the order and whether it is new
/// (false when an `Idempotency-Key` retry found the first one).
pub async fn place(
    st: &AppState,
    user: &TgUser,
    req: &CreateOrder,
    key: Option<&str>,
    lang: Lang,
) -> Result<(Order, bool)> {
    let customer_id = user.id;
    let fallback = &st.config.lang_fallback;
    let request_hash = key.map(|_| {
        let body = serde_json::to_vec(req).unwrap_or_default();
        hex::encode(Sha256::digest(body))
    });
    if let Some(k) = key {
        if let Some(existing) = by_key(&st.db, customer_id, k).await? {
            return replay(st, existing, request_hash.as_deref(), lang).await;
        }
    }

    let from_cart = req.items.is_none();
    let lines = match &req.items {
        Some(items) => resolve_lines(&st.db, items).await?,
        None => cart_lines(&st.db, customer_id).await?,
    };
    if lines.is_empty() {
        return Err(if from_cart {
            Error::invalid(
                "empty_cart",
                "The cart is empty: add something before ordering.",
            )
        } else {
            Error::field("empty_order", "items", "The order names no items.")
        });
    }
    let ids: Vec<i64> = lines.keys().copied().collect();
    let rows = load_lines(&st.db, &ids).await?;
    let mut currency: Option<String> = None;
    for v in &rows {
        if v.archived != 0 || v.product_archived != 0 {
            return Err(Error::conflict(
                "unavailable",
                format!(
                    "{} is no longer sold; remove it from the order.",
                    texts(&v.title_json).pick(lang, fallback).unwrap_or(&v.sku)
                ),
            ));
        }
        match &currency {
            None => currency = Some(v.currency.clone()),
            Some(c) if *c != v.currency => {
                return Err(Error::invalid(
                    "mixed_currencies",
                    format!(
                    "An order is paid in one currency, but these items are priced in {c} and {}. \
                         Order them separately.",
                    v.currency
                ),
                ))
            }
            _ => {}
        }
    }
    let currency = Currency::new(&currency.unwrap_or_default()).map_err(Error::internal)?;
    // One kind per product, in product id order (as the rails were always asked).
    let kinds: Vec<ProductKind> = rows
        .iter()
        .map(|v| (v.product_id, v.kind.as_str()))
        .collect::<BTreeMap<_, _>>()
        .values()
        .filter_map(|k| ProductKind::parse(k))
        .collect();
    let provider = st.payments.choose(&req.payment_method, &currency, &kinds)?;
    let physical = kinds.contains(&ProductKind::Physical);
    // One currency by now, so every line read the same count.
    let offered = rows.first().map_or(0, |v| v.delivery_offered);
    let delivery =
        delivery::choose(&st.db, req.delivery.as_ref(), &currency, physical, offered).await?;
    // A pickup order is collected: the courier's address is not needed.
    let needs_address =
        physical && delivery.as_ref().map(|d| d.kind()) != Some(DeliveryKind::Pickup);
    let contact = validate_contact(req.contact.as_ref(), physical, needs_address)?;
    if let Some((field, why)) = provider.refuses_contact(contact.as_ref()) {
        return Err(Error::field("contact_required", field, why));
    }

    let mut total: i64 = 0;
    for v in &rows {
        total = v
            .price_minor
            .checked_mul(lines[&v.id])
            .and_then(|l| total.checked_add(l))
            .ok_or_else(|| Error::invalid("amount_too_large", "The order total is too large."))?;
    }

    let now = db::now();
    let applied = match req.promo_code.as_deref().map(str::trim) {
        Some(typed) if !typed.is_empty() => {
            if kinds.contains(&ProductKind::Subscription) {
                return Err(promo::invalid(
                    "Promo codes do not apply to subscriptions: every renewal charges the full price.",
                ));
            }
            Some(promo::check(&st.db, typed, customer_id, &currency, total, now).await?)
        }
        _ => None,
    };
    let subtotal = total;
    if let Some(a) = &applied {
        total -= a.discount_minor;
    }
    // The fee follows from the goods' price after the discount (free above a total).
    let delivery_fee = delivery.as_ref().map_or(0, |d| d.fee(total));
    total = total
        .checked_add(delivery_fee)
        .ok_or_else(|| Error::invalid("amount_too_large", "The order total is too large."))?;
    let order = NewOrder {
        user: user.clone(),
        currency: currency.as_str().to_string(),
        total,
        method: provider.method().as_str(),
        contact_json: contact
            .as_ref()
            .map(|c| serde_json::to_string(c).unwrap_or_default()),
        lang: lang.code(),
        key: key.map(str::to_string),
        request_hash: request_hash.clone(),
        expires_at: provider
            .reservation_expires()
            .then(|| now + st.config.order_reservation.as_secs() as i64),
        now,
        pay_ref: provider
            .names_order_by_reference()
            .then(crate::rails::new_pay_ref),
        items: rows
            .iter()
            .map(|v| {
                let qty = lines[&v.id];
                repo::ItemRow {
                    order_id: 0,
                    variant_id: v.id,
                    product_id: v.product_id,
                    title_json: v.title_json.clone(),
                    sku: v.sku.clone(),
                    options_json: v.options_json.clone(),
                    kind: v.kind.clone(),
                    unit_price_minor: v.price_minor,
                    quantity: qty,
                    line_total_minor: v.price_minor * qty,
                }
            })
            .collect(),
        from_cart,
        promo: applied,
        delivery_fee,
        delivery_json: delivery
            .as_ref()
            .map(|d| serde_json::to_string(&d.snapshot).unwrap_or_default()),
    };

    let outcome = match st.db.kind {
        // A promo code's use is taken in the order's own transaction, whose rollback undoes
        // a refusal (the group's would undo its neighbours too).
        DbKind::Postgres if order.promo.is_some() => write_postgres(&st.db, &order).await?,
        kind => write_grouped(&st.db, kind, order.clone()).await?,
    };
    let order_id = match outcome {
        Outcome::Created(id) => id,
        Outcome::TooManyOpen(open) => {
            return Err(Error::Status {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "too_many_open_orders",
                message: format!(
                    "You have {open} unpaid orders. Pay for or cancel one before placing another."
                ),
            })
        }
        Outcome::OutOfStock(variant_id) => {
            // A concurrent retry with the same key may have taken the last units: answer its order.
            if let Some(k) = key {
                if let Some(existing) = by_key(&st.db, customer_id, k).await? {
                    return replay(st, existing, request_hash.as_deref(), lang).await;
                }
            }
            let v = rows.iter().find(|v| v.id == variant_id).expect("variant");
            let left =
                sqlx::query_scalar::<_, Option<i64>>("SELECT stock FROM variants WHERE id = $1")
                    .bind(variant_id)
                    .fetch_one(&st.db.pool)
                    .await?
                    .unwrap_or(0);
            let name = texts(&v.title_json)
                .pick(lang, fallback)
                .unwrap_or(&v.sku)
                .to_string();
            return Err(Error::conflict(
                "out_of_stock",
                if left == 0 {
                    format!("{name} is sold out.")
                } else {
                    format!("Only {left} of {name} left; lower the quantity.")
                },
            ));
        }
        Outcome::PromoRefused => {
            // A concurrent retry with the same key may have taken the last use: answer its order.
            if let Some(k) = key {
                if let Some(existing) = by_key(&st.db, customer_id, k).await? {
                    return replay(st, existing, request_hash.as_deref(), lang).await;
                }
            }
            // Say why, as it stands now; the check passing again means the last use went a
            // moment ago and came back (an order of it ended).
            let typed = req.promo_code.as_deref().unwrap_or_default();
            promo::check(&st.db, typed, customer_id, &currency, subtotal, db::now()).await?;
            return Err(promo::invalid(
                "This promo code was just used up; try again or order without it.",
            ));
        }
        Outcome::KeyTaken => {
            // The same key won a race a moment ago: answer its order.
            let existing = by_key(&st.db, customer_id, key.unwrap_or_default())
                .await?
                .ok_or_else(|| Error::internal("idempotent order vanished"))?;
            return replay(st, existing, request_hash.as_deref(), lang).await;
        }
    };
    st.catalog_changed();
    metrics::counter!("shop_orders_created_total", "rail" => order.method).increment(1);
    tracing::info!(order_id, total, currency = %currency, "order placed");

    // The provider is called after the stock is safely reserved and committed: a slow or
    // failing provider never holds a database lock, and the order stays retryable. Its view
    // of the order is built from what was just written; nothing is read back.
    let products: BTreeMap<i64, &LineRow> = rows.iter().map(|v| (v.product_id, v)).collect();
    let items: Vec<repo::ItemRow> = order
        .items
        .into_iter()
        .map(|i| repo::ItemRow { order_id, ..i })
        .collect();
    let lines = items
        .iter()
        .map(|i| {
            let p = products.get(&i.product_id);
            checkout_line(
                i,
                p.map(|p| p.description_json.as_str()),
                p.map(|p| p.images_json.as_str()),
                lang,
                fallback,
            )
        })
        .collect();
    let discount_minor = order.promo.as_ref().map_or(0, |a| a.discount_minor);
    let co = CheckoutOrder {
        order_id,
        customer_id,
        total_minor: total,
        discount_minor,
        delivery_fee_minor: delivery_fee,
        delivery_chosen: order.delivery_json.is_some(),
        currency,
        title: items
            .first()
            .map(|i| item_title(i, lang, fallback))
            .unwrap_or_default(),
        lang,
        lines,
        expires_at: order.expires_at,
        // No checkout of this order has failed yet.
        attempt_key: format!("{order_id}-{now}-0"),
        pay_ref: order.pay_ref.clone(),
    };
    let checkout = open_checkout(st, provider.as_ref(), &co).await?;
    let head = repo::OrderHead {
        id: order_id,
        customer_id,
        status: shared::OrderStatus::PendingPayment,
        currency: order.currency,
        total_minor: total,
        payment_method: provider.method(),
        contact_json: order.contact_json,
        lang: order.lang.into(),
        request_hash: order.request_hash,
        invoice_link: checkout.invoice_link,
        checkout_url: checkout.checkout_url,
        holds_stock: 1,
        expires_at: order.expires_at,
        created_at: now,
        pay_ref: order.pay_ref,
        discount_minor,
        promo_code: order.promo.map(|a| a.code),
        delivery_fee_minor: delivery_fee,
        delivery_json: order.delivery_json,
    };
    Ok((repo::to_order(&head, &items, vec![], lang, fallback)?, true))
}

/// The variants an order names with their products, and how many delivery methods the shop
/// offers in each one's currency (for [`delivery::choose`]): one query, in variant id order.
const LOAD_LINES: &str = "SELECT v.id, v.product_id, v.sku, v.options_json, v.price_minor, \
     v.currency, v.archived, p.kind, p.title_json, p.description_json, p.images_json, \
     p.archived AS product_archived, (SELECT COUNT(*) FROM delivery_methods d \
     WHERE d.currency = v.currency AND d.active = 1) AS delivery_offered \
     FROM variants v JOIN products p ON p.id = v.product_id WHERE v.id IN (";

async fn load_lines(db: &Db, ids: &[i64]) -> Result<Vec<LineRow>> {
    let mut q = db::SqlBuilder::new(LOAD_LINES);
    q.push_bind_list(ids.iter().copied())
        .push(") ORDER BY v.id");
    let rows: Vec<LineRow> = q.build_query_as().fetch_all(&db.pool).await?;
    if let Some(missing) = ids.iter().find(|id| !rows.iter().any(|r| r.id == **id)) {
        return Err(Error::field(
            "unknown_variant",
            "items",
            format!("Variant {missing} does not exist."),
        ));
    }
    Ok(rows)
}

/// The order's write as one piece of the group writer's next transaction.
async fn write_grouped(db: &Db, kind: DbKind, order: NewOrder) -> Result<Outcome> {
    let (reply, answer) = oneshot::channel();
    // Orders of one variant share a lane, so a hot variant's row is locked by one group at a
    // time; others spread over the lanes.
    let lane = order.items.first().map_or(0, |i| i.variant_id as u64);
    db.group_write_in(
        lane,
        Box::new(GroupedOrder {
            kind,
            order,
            outcome: None,
            settled: false,
            reply,
        }),
    )
    .await;
    answer
        .await
        .map_err(|_| Error::internal("the order writer stopped"))?
}

struct GroupedOrder {
    kind: DbKind,
    order: NewOrder,
    outcome: Option<Outcome>,
    /// Written by its group's one statement ([`write_postgres_group`]): `run` has nothing to do.
    settled: bool,
    reply: oneshot::Sender<Result<Outcome>>,
}

impl GroupWrite for GroupedOrder {
    fn run<'a>(
        &'a mut self,
        conn: &'a mut AnyConnection,
    ) -> BoxFuture<'a, std::result::Result<(), sqlx::Error>> {
        Box::pin(async move {
            if self.settled {
                return Ok(());
            }
            self.outcome = None;
            let written = match self.kind {
                DbKind::Sqlite => write_sqlite(conn, &self.order).await,
                DbKind::Postgres => write_postgres_grouped(conn, &self.order).await,
            };
            match written {
                Ok(o) => {
                    self.outcome = Some(o);
                    Ok(())
                }
                Err(Error::Db(e)) => Err(e),
                Err(e) => Err(sqlx::Error::Protocol(e.to_string())),
            }
        })
    }

    /// PostgreSQL writes a group's orders together ([`write_postgres_group`]); SQLite runs
    /// each order's statements on the one writer connection, where a statement costs little.
    fn group(&self) -> Option<db::GroupFn> {
        match self.kind {
            DbKind::Sqlite => None,
            DbKind::Postgres => Some(write_postgres_group),
        }
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn done(self: Box<Self>, committed: std::result::Result<(), &sqlx::Error>) {
        let GroupedOrder { outcome, reply, .. } = *self;
        let answer = match (committed, outcome) {
            (Ok(()), Some(o)) => Ok(o),
            (Ok(()), None) => Err(Error::internal("order write left no outcome")),
            (Err(sqlx::Error::PoolTimedOut), _) => Err(Error::Db(sqlx::Error::PoolTimedOut)),
            (Err(e), _) => Err(Error::internal(format!("placing the order failed: {e}"))),
        };
        // The customer may have gone; the order stands either way.
        let _ = reply.send(answer);
    }
}

/// The order's statements inside a group transaction. A refusal leaves nothing behind but the
/// customer's refreshed row: the group commits whatever its other orders wrote.
async fn write_sqlite(conn: &mut AnyConnection, o: &NewOrder) -> Result<Outcome> {
    if o.items.len() == 1 && !o.from_cart && o.promo.is_none() {
        return write_sqlite_one_line(conn, o).await;
    }
    upsert_customer(&mut *conn, &o.user, o.now).await?;
    let open: i64 = sqlx::query_scalar(OPEN_ORDERS_SQL)
        .bind(o.user.id)
        .fetch_one(&mut *conn)
        .await?;
    if open >= MAX_OPEN_ORDERS {
        return Ok(Outcome::TooManyOpen(open));
    }
    // The promo use first, as its guard is the cheapest to undo: each refusal below gives it
    // back before answering.
    if let Some(a) = &o.promo {
        if !promo::take_use(conn, a, o.user.id, o.now).await? {
            return Ok(Outcome::PromoRefused);
        }
    }
    let take = o.take();
    if let Some(variant_id) = repo::take_lines(conn, &take, true).await? {
        if let Some(a) = &o.promo {
            promo::give_back_unrecorded(conn, a).await?;
        }
        return Ok(Outcome::OutOfStock(variant_id));
    }
    let Some(order_id) = insert_order(conn, o).await? else {
        repo::give_lines(conn, &take, true).await?;
        if let Some(a) = &o.promo {
            promo::give_back_unrecorded(conn, a).await?;
        }
        return Ok(Outcome::KeyTaken);
    };
    if let Some(a) = &o.promo {
        promo::record_use(conn, a, order_id, o.user.id, o.now).await?;
    }
    insert_items(conn, order_id, &o.items).await?;
    repo::event(
        conn,
        order_id,
        "created",
        Some("pending_payment"),
        None,
        Some("customer"),
        o.now,
    )
    .await?;
    if o.from_cart {
        clear_cart(conn, o.user.id).await?;
    }
    Ok(Outcome::Created(order_id))
}

/// The common order (one line, named in the request) as one call to SQLite: every statement
/// of it travels to the connection's thread together, where the order would otherwise make six
/// trips, one after another, while the whole group waits.
///
/// Each statement runs only if the one before it did (`changes()`), so nothing but the
/// customer's row is written unless the stock, the cap and the key all allow it; the stock
/// UPDATE checks all three in its WHERE. The group writer runs its orders one after another on
/// one connection, so nothing else writes between these statements. `last_insert_rowid()`
/// carries the new order's id to its item, and the item's row to the event.
async fn write_sqlite_one_line(conn: &mut AnyConnection, o: &NewOrder) -> Result<Outcome> {
    const SQL: &str = concat!(
        "INSERT INTO customers (id, first_name, last_name, username, language_code, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $6) \
        ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name, \
        last_name = excluded.last_name, username = excluded.username, \
        language_code = excluded.language_code, updated_at = excluded.updated_at; \
        UPDATE variants SET stock = stock - $8, reserved = reserved + $8 \
        WHERE id = $7 AND archived = 0 AND (stock IS NULL OR stock >= $8) \
        AND (",
        open_orders_count!(),
        ") < $9 \
        AND NOT EXISTS (SELECT 1 FROM orders WHERE customer_id = $1 AND idempotency_key = $15); \
        INSERT INTO orders (customer_id, status, currency, total_minor, payment_method, contact_json, \
        lang, idempotency_key, request_hash, holds_stock, expires_at, created_at, updated_at, pay_ref, \
        delivery_fee_minor, delivery_json) \
        SELECT $1, 'pending_payment', $10, $11, $12, $13, $14, $15, $16, 1, $17, $6, $6, $18, $26, $27 \
        WHERE changes() = 1 RETURNING id; \
        INSERT INTO order_items (order_id, variant_id, product_id, title_json, sku, options_json, \
        kind, unit_price_minor, quantity, line_total_minor) \
        SELECT last_insert_rowid(), $7, $19, $20, $21, $22, $23, $24, $8, $25 WHERE changes() = 1; \
        INSERT INTO order_events (order_id, kind, status, note, actor, created_at) \
        SELECT order_id, 'created', 'pending_payment', NULL, 'customer', $6 FROM order_items \
        WHERE id = last_insert_rowid() AND changes() = 1"
    );
    let u = &o.user;
    let stored = crate::auth::StoredUser::from(u);
    let i = &o.items[0];
    // Only the orders INSERT answers rows; fetch_all runs every statement to its end.
    let ids: Vec<i64> = sqlx::query_scalar(SQL)
        .bind(u.id)
        .bind(stored.first_name)
        .bind(stored.last_name)
        .bind(stored.username)
        .bind(stored.language_code)
        .bind(o.now)
        .bind(i.variant_id)
        .bind(i.quantity)
        .bind(MAX_OPEN_ORDERS)
        .bind(&o.currency)
        .bind(o.total)
        .bind(o.method)
        .bind(o.contact_json.as_deref())
        .bind(o.lang)
        .bind(o.key.as_deref())
        .bind(o.request_hash.as_deref())
        .bind(o.expires_at)
        .bind(o.pay_ref.as_deref())
        .bind(i.product_id)
        .bind(&i.title_json)
        .bind(&i.sku)
        .bind(&i.options_json)
        .bind(&i.kind)
        .bind(i.unit_price_minor)
        .bind(i.line_total_minor)
        .bind(o.delivery_fee)
        .bind(o.delivery_json.as_deref())
        .fetch_all(&mut *conn)
        .await?;
    if let [id] = ids.as_slice() {
        return Ok(Outcome::Created(*id));
    }
    // Refused: which of the three held it back (the cap first, as it always was).
    let (open, key_taken): (i64, i64) = sqlx::query_as(concat!(
        "SELECT (",
        open_orders_count!(),
        "), EXISTS (SELECT 1 FROM orders WHERE customer_id = $1 AND idempotency_key = $2)"
    ))
    .bind(u.id)
    .bind(o.key.as_deref())
    .fetch_one(conn)
    .await?;
    Ok(if open >= MAX_OPEN_ORDERS {
        Outcome::TooManyOpen(open)
    } else if key_taken != 0 {
        Outcome::KeyTaken
    } else {
        Outcome::OutOfStock(i.variant_id)
    })
}

/// Binds the order row's thirteen values as `$1..$13` in the column order both INSERTs name
/// (customer_id, currency, total_minor, payment_method, contact_json, lang, idempotency_key,
/// request_hash, expires_at, created_at/updated_at, pay_ref, delivery_fee_minor,
/// delivery_json). A macro: `Query` and `QueryAs` share `bind` but no trait for it.
macro_rules! bind_order_row {
    ($q:expr, $o:expr) => {
        $q.bind($o.user.id)
            .bind(&$o.currency)
            .bind($o.total)
            .bind($o.method)
            .bind($o.contact_json.as_deref())
            .bind($o.lang)
            .bind($o.key.as_deref())
            .bind($o.request_hash.as_deref())
            .bind($o.expires_at)
            .bind($o.now)
            .bind($o.pay_ref.as_deref())
            .bind($o.delivery_fee)
            .bind($o.delivery_json.as_deref())
    };
}

/// The order's row (with its promo code's discount), or `None` when an order with the same
/// Idempotency-Key exists.
async fn insert_order(conn: &mut AnyConnection, o: &NewOrder) -> Result<Option<i64>> {
    let q = sqlx::query_scalar(
        "INSERT INTO orders (customer_id, status, currency, total_minor, payment_method, contact_json, \
         lang, idempotency_key, request_hash, holds_stock, expires_at, created_at, updated_at, pay_ref, \
         delivery_fee_minor, delivery_json, discount_minor, promo_code_id) \
         VALUES ($1, 'pending_payment', $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (customer_id, idempotency_key) DO NOTHING RETURNING id",
    );
    Ok(bind_order_row!(q, o)
        .bind(o.promo.as_ref().map_or(0, |a| a.discount_minor))
        .bind(o.promo.as_ref().map(|a| a.promo_id))
        .fetch_optional(conn)
        .await?)
}

/// All of an order's items in one INSERT.
async fn insert_items(
    conn: &mut AnyConnection,
    order_id: i64,
    items: &[repo::ItemRow],
) -> Result<()> {
    let mut q = db::SqlBuilder::new(
        "INSERT INTO order_items (order_id, variant_id, product_id, title_json, sku, options_json, \
         kind, unit_price_minor, quantity, line_total_minor) VALUES ",
    );
    for (n, i) in items.iter().enumerate() {
        q.push(if n == 0 { "(" } else { ", (" });
        q.push_bind(order_id).push(", ");
        q.push_bind(i.variant_id).push(", ");
        q.push_bind(i.product_id).push(", ");
        q.push_bind(i.title_json.clone()).push(", ");
        q.push_bind(i.sku.clone()).push(", ");
        q.push_bind(i.options_json.clone()).push(", ");
        q.push_bind(i.kind.clone()).push(", ");
        q.push_bind(i.unit_price_minor).push(", ");
        q.push_bind(i.quantity).push(", ");
        q.push_bind(i.line_total_minor).push(")");
    }
    q.build().execute(conn).await?;
    Ok(())
}

async fn clear_cart(conn: &mut AnyConnection, customer_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM cart_items WHERE customer_id = $1")
        .bind(customer_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// PostgreSQL's order statement for `n` lines: it takes the stock with a conditional UPDATE and
/// inserts the order, its items and its first event, each only if the stock and the cap held.
/// `$1`-`$13` are the order's columns ([`bind_order_row`]), `$14` the cap, `$15` the line
/// count, then (variant, qty) per line and 9 columns per item. It answers the new order's id
/// (none when refused), the customer's open orders, and the variants whose stock it took.
fn postgres_order_sql(n: usize) -> String {
    [
        "WITH l (variant_id, qty) AS (VALUES ",
        &db::sql::placeholder_rows(16, n, &["::BIGINT", "::BIGINT"]),
        "), s AS (UPDATE variants SET stock = variants.stock - l.qty, \
         reserved = variants.reserved + l.qty \
         FROM l WHERE variants.id = l.variant_id AND variants.archived = 0 \
         AND (variants.stock IS NULL OR variants.stock >= l.qty) RETURNING variants.id), \
         n (open) AS (",
        OPEN_ORDERS_SQL,
        "), o AS (INSERT INTO orders (customer_id, status, currency, total_minor, payment_method, \
         contact_json, lang, idempotency_key, request_hash, holds_stock, expires_at, created_at, \
         updated_at, pay_ref, delivery_fee_minor, delivery_json) \
         SELECT $1, 'pending_payment', $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $10, $11, $12, $13 \
         WHERE (SELECT open FROM n) < $14 AND (SELECT COUNT(*) FROM s) = $15 \
         ON CONFLICT (customer_id, idempotency_key) DO NOTHING RETURNING id), \
         i AS (INSERT INTO order_items (order_id, variant_id, product_id, title_json, sku, \
         options_json, kind, unit_price_minor, quantity, line_total_minor) \
         SELECT o.id, x.* FROM o CROSS JOIN (VALUES ",
        &db::sql::placeholder_rows(
            16 + 2 * n,
            n,
            &[
                "::BIGINT", "::BIGINT", "", "", "", "", "::BIGINT", "::BIGINT", "::BIGINT",
            ],
        ),
        ") AS x), e AS (INSERT INTO order_events (order_id, kind, status, note, actor, created_at) \
         SELECT id, 'created', 'pending_payment', NULL, 'customer', $10 FROM o) \
         SELECT (SELECT id FROM o) AS order_id, (SELECT open FROM n) AS open, \
         (SELECT string_agg(id::TEXT, ',') FROM s) AS took",
    ]
    .concat()
}

/// Whether the order's statements upsert (and so lock) its customer's row, or the group did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CustomerRow {
    Upsert,
    LockedByGroup,
}

/// The customer upsert, then [`postgres_order_sql`]: how the write went, and the lines whose
/// stock the statement took.
async fn write_postgres_statements(
    conn: &mut AnyConnection,
    o: &NewOrder,
    customer: CustomerRow,
) -> Result<(Outcome, Vec<(i64, i64)>)> {
    // The statement for one line, the common order, is put together once.
    static ONE_LINE: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| postgres_order_sql(1));
    if customer == CustomerRow::Upsert {
        // Locks the customer's row until commit: parallel orders of one customer queue here,
        // and the count that follows (a statement of its own, so a fresh snapshot) sees all
        // of theirs.
        upsert_customer(&mut *conn, &o.user, o.now).await?;
    }
    let n = o.items.len();
    let many;
    let sql = if n == 1 {
        ONE_LINE.as_str()
    } else {
        many = postgres_order_sql(n);
        many.as_str()
    };
    let q = sqlx::query_as::<_, (Option<i64>, i64, Option<String>)>(sql);
    let mut q = bind_order_row!(q, o).bind(MAX_OPEN_ORDERS).bind(n as i64);
    for i in &o.items {
        q = q.bind(i.variant_id).bind(i.quantity);
    }
    for i in &o.items {
        q = q
            .bind(i.variant_id)
            .bind(i.product_id)
            .bind(&i.title_json)
            .bind(&i.sku)
            .bind(&i.options_json)
            .bind(&i.kind)
            .bind(i.unit_price_minor)
            .bind(i.quantity)
            .bind(i.line_total_minor);
    }
    let (order_id, open, took) = q.fetch_one(&mut *conn).await?;
    let took: Vec<i64> = took
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    let taken: Vec<(i64, i64)> = o
        .items
        .iter()
        .filter(|i| took.contains(&i.variant_id))
        .map(|i| (i.variant_id, i.quantity))
        .collect();
    // The cap is checked first, as it always was, then the stock, then the key.
    let outcome = if open >= MAX_OPEN_ORDERS {
        Outcome::TooManyOpen(open)
    } else if let Some(short) = o.items.iter().find(|i| !took.contains(&i.variant_id)) {
        Outcome::OutOfStock(short.variant_id)
    } else {
        match order_id {
            Some(id) => Outcome::Created(id),
            None => Outcome::KeyTaken,
        }
    };
    Ok((outcome, taken))
}

/// PostgreSQL, a group of orders without promo codes. First every customer of the group in one
/// upsert: it locks their rows until the group commits, so the counts of their unpaid orders
/// that follow (in later statements, so in fresh snapshots) see every order of theirs committed
/// before, by any process. Then all the orders in one statement ([`batch`]); if it refused
/// something it wrote no order, gives back the stock it took, and leaves each order to its own
/// statement (`run`), which finds out which one was refused and why.
fn write_postgres_group<'a>(
    group: &'a mut [Box<dyn GroupWrite>],
    conn: &'a mut AnyConnection,
) -> BoxFuture<'a, std::result::Result<(), sqlx::Error>> {
    Box::pin(async move {
        let mut orders: Vec<&mut GroupedOrder> = group
            .iter_mut()
            .filter_map(|w| w.as_any_mut().downcast_mut::<GroupedOrder>())
            .collect();
        for g in orders.iter_mut() {
            g.settled = false;
            g.outcome = None;
        }
        let users: Vec<(&TgUser, i64)> = orders
            .iter()
            .map(|g| (&g.order.user, g.order.now))
            .collect();
        crate::auth::upsert_customers(&mut *conn, &users).await?;
        let new: Vec<&NewOrder> = orders.iter().map(|g| &g.order).collect();
        match batch::write(&mut *conn, &new).await? {
            batch::Batch::Written(ids) => {
                for (g, id) in orders.iter_mut().zip(ids) {
                    g.outcome = Some(Outcome::Created(id));
                    g.settled = true;
                }
            }
            batch::Batch::Refused { took } => {
                metrics::counter!("shop_orders_group_refused_total").increment(1);
                repo::give_lines(conn, &took, true)
                    .await
                    .map_err(|e| match e {
                        Error::Db(e) => e,
                        e => sqlx::Error::Protocol(e.to_string()),
                    })?;
            }
        }
        Ok(())
    })
}

/// PostgreSQL, an order without a promo code, inside the group writer's transaction: on a
/// refusal it gives back the stock its statement took (the cap, the key or a short line
/// refused the order after other lines were taken), so its neighbours still commit.
async fn write_postgres_grouped(conn: &mut AnyConnection, o: &NewOrder) -> Result<Outcome> {
    let (outcome, taken) = write_postgres_statements(conn, o, CustomerRow::LockedByGroup).await?;
    if !matches!(outcome, Outcome::Created(_)) {
        repo::give_lines(conn, &taken, true).await?;
        return Ok(outcome);
    }
    if o.from_cart {
        clear_cart(conn, o.user.id).await?;
    }
    Ok(outcome)
}

/// PostgreSQL, an order with a promo code: its own transaction, rolled back on a refusal.
async fn write_postgres(db: &Db, o: &NewOrder) -> Result<Outcome> {
    let mut tx = db.begin_write().await?;
    let (outcome, _) = write_postgres_statements(tx.conn(), o, CustomerRow::Upsert).await?;
    // Dropping `tx` rolls back whatever the statement did on a refusal.
    let Outcome::Created(order_id) = outcome else {
        return Ok(outcome);
    };
    // The promo code's use, in this transaction.
    if let Some(a) = &o.promo {
        if !promo::take_use_for_order(tx.conn(), a, order_id, o.user.id, o.now).await? {
            return Ok(Outcome::PromoRefused);
        }
    }
    if o.from_cart {
        clear_cart(tx.conn(), o.user.id).await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

fn item_title(i: &repo::ItemRow, lang: Lang, fallback: &[Lang]) -> String {
    texts(&i.title_json)
        .pick(lang, fallback)
        .unwrap_or(&i.sku)
        .to_string()
}

/// One line as a checkout shows it: the title the order keeps, the product's current
/// description and first image.
fn checkout_line(
    i: &repo::ItemRow,
    description_json: Option<&str>,
    images_json: Option<&str>,
    lang: Lang,
    fallback: &[Lang],
) -> CheckoutLine {
    CheckoutLine {
        product_id: i.product_id,
        title: item_title(i, lang, fallback),
        description: description_json
            .and_then(|d| texts(d).pick(lang, fallback).map(str::to_string))
            .unwrap_or_default(),
        image: images_json
            .and_then(|i| serde_json::from_str::<Vec<String>>(i).ok())
            .and_then(|i| i.into_iter().next()),
        kind: ProductKind::parse(&i.kind).unwrap_or(ProductKind::Physical),
        unit_minor: i.unit_price_minor,
        quantity: i.quantity,
    }
}

async fn replay(
    st: &AppState,
    existing: repo::OrderHead,
    request_hash: Option<&str>,
    lang: Lang,
) -> Result<(Order, bool)> {
    if existing.request_hash.as_deref() != request_hash {
        return Err(Error::conflict(
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different order; use a new key for a new order.",
        ));
    }
    // The first try could not start the payment (provider down): try again now.
    if existing.status == shared::OrderStatus::PendingPayment
        && existing.invoice_link.is_none()
        && existing.checkout_url.is_none()
        && existing.payment_method != PaymentMethod::Cash
    {
        if let Some(provider) = st.payments.get(existing.payment_method) {
            let co = stored_checkout_order(st, existing.id, lang).await?;
            open_checkout(st, provider.as_ref(), &co).await?;
        }
    }
    let order = repo::load(&st.db, existing.id, lang, &st.config.lang_fallback, false)
        .await?
        .ok_or_else(|| Error::internal("order vanished"))?;
    Ok((order, false))
}

/// The provider's view of an order already in the database (a retried checkout).
async fn stored_checkout_order(st: &AppState, order_id: i64, lang: Lang) -> Result<CheckoutOrder> {
    let fallback = &st.config.lang_fallback;
    let mut conn = st.db.pool.acquire().await?;
    let head = repo::head(&mut conn, order_id)
        .await?
        .ok_or_else(|| Error::internal("order vanished"))?;
    let items = repo::items(&mut conn, order_id).await?;
    let failed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND kind = 'checkout_failed'",
    )
    .bind(order_id)
    .fetch_one(&mut *conn)
    .await?;
    drop(conn);
    let mut products = BTreeMap::new();
    for i in &items {
        if let std::collections::btree_map::Entry::Vacant(e) = products.entry(i.product_id) {
            if let Some(p) = catalog::product_row(&st.db, i.product_id).await? {
                e.insert(p);
            }
        }
    }
    Ok(CheckoutOrder {
        order_id,
        customer_id: head.customer_id,
        total_minor: head.total_minor,
        discount_minor: head.discount_minor,
        delivery_fee_minor: head.delivery_fee_minor,
        delivery_chosen: head.delivery_json.is_some(),
        currency: Currency::new(&head.currency).map_err(Error::internal)?,
        title: items
            .first()
            .map(|i| item_title(i, lang, fallback))
            .unwrap_or_default(),
        lang,
        lines: items
            .iter()
            .map(|i| {
                let p = products.get(&i.product_id);
                checkout_line(
                    i,
                    p.map(|p| p.description_json.as_str()),
                    p.map(|p| p.images_json.as_str()),
                    lang,
                    fallback,
                )
            })
            .collect(),
        expires_at: head.expires_at,
        attempt_key: format!("{order_id}-{}-{failed}", head.created_at),
        pay_ref: head.pay_ref.clone(),
    })
}

/// Asks the order's rail for a way to pay and keeps it on the order. A failure is noted on
/// the order's timeline, so the next attempt uses a fresh idempotency key with the provider
/// (which may have remembered the failed answer under the old one).
async fn open_checkout(
    st: &AppState,
    provider: &dyn Provider,
    order: &CheckoutOrder,
) -> Result<Checkout> {
    let order_id = order.order_id;
    let checkout = match provider.create_checkout(order).await {
        Ok(c) => c,
        Err(e) => {
            let mut conn = st.db.writer.acquire().await?;
            repo::event(
                &mut conn,
                order_id,
                event_kind::CHECKOUT_FAILED,
                None,
                Some(&e.to_string()),
                Some(provider.method().as_str()),
                db::now(),
            )
            .await?;
            return Err(e);
        }
    };
    if let Some(id) = &checkout.checkout_id {
        // Kept before the buyer can see the link, so the notifications about it find it.
        sqlx::query(
            "INSERT INTO provider_checkouts (provider, checkout_id, order_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (provider, checkout_id) DO NOTHING",
        )
        .bind(provider.method().as_str())
        .bind(id)
        .bind(order_id)
        .bind(db::now())
        .execute(&st.db.writer)
        .await?;
    }
    if checkout.invoice_link.is_some() || checkout.checkout_url.is_some() {
        sqlx::query("UPDATE orders SET invoice_link = $1, checkout_url = $2 WHERE id = $3")
            .bind(checkout.invoice_link.as_deref())
            .bind(checkout.checkout_url.as_deref())
            .bind(order_id)
            .execute(&st.db.writer)
            .await?;
    }
    Ok(checkout)
}

async fn by_key(db: &Db, customer_id: i64, key: &str) -> Result<Option<repo::OrderHead>> {
    const SQL: &str = concat!(
        "SELECT ",
        repo::head_cols!(),
        " FROM orders WHERE customer_id = $1 AND idempotency_key = $2"
    );
    Ok(sqlx::query_as::<_, repo::OrderHead>(SQL)
        .bind(customer_id)
        .bind(key)
        .fetch_optional(&db.pool)
        .await?)
}
