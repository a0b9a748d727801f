//! Customer orders: placing one (from the cart or named items), listing and reading them.

pub mod repo;

use shared::event_kind;
use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use shared::{
    Contact, CreateOrder, Currency, Lang, Order, OrderLineRequest, Page, PaymentMethod, ProductKind,
};

use crate::auth::{ensure_customer, Customer};
use crate::catalog::repo::{self as catalog, texts, VariantRow, VARIANT_COLS};
use crate::catalog::{decode_cursor, encode_cursor};
use crate::db::{self, Db};
use crate::error::{is_unique_violation, AppJson, AppPath, AppQuery, Error, Result};
use crate::lang::ReqLang;
use crate::payments::{CheckoutLine, CheckoutOrder, Provider};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/orders", get(list).post(create))
        .route("/api/orders/{id}", get(one))
}

const MAX_QTY: i64 = 999;
/// Unpaid orders one customer may have open at once. Each holds stock (cash orders until the
/// merchant acts), so without a cap one customer could hold the whole catalogue.
pub const MAX_OPEN_ORDERS: i64 = 10;
/// Longest contact fields, in characters: far above any real name, phone or address, far
/// below what would let one order carry megabytes into the merchant's screens.
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_PHONE_CHARS: usize = 32;
pub const MAX_ADDRESS_CHARS: usize = 500;
const MAX_LINES: usize = 100;

/// Places an order from the items named (or from the cart when `items` is absent) and opens
/// its checkout: the answer carries `invoice_link` or `checkout_url` where the rail needs one.
#[utoipa::path(post, path = "/api/orders", tag = "customer", security(("init_data" = [])),
    params(("lang" = Option<shared::Lang>, Query, description = "Language of the texts; else `Accept-Language`, else the shop's default."),
        ("Idempotency-Key" = Option<String>, Header, description = "1-200 characters; a retry with the same key and body answers the same order (200) instead of placing another.")),
    request_body = CreateOrder,
    responses(
        (status = 201, description = "The order was placed.", body = Order),
        (status = 200, description = "An `Idempotency-Key` retry: the order placed the first time.", body = Order),
        (status = 409, description = "Out of stock, unavailable, or the `Idempotency-Key` was used for another body."),
        (status = 422, description = "`invalid_currency`: a currency code the shop does not accept."),
        (status = 429, description = "`too_many_open_orders`: too many unpaid orders, or the request rate limit.",
            headers(("Retry-After" = i64, description = "Seconds to wait (rate limit only)."))),
        (status = 502, description = "The payment provider could not open the checkout; nothing was charged."),
    ))]
async fn create(
    State(st): State<AppState>,
    customer: Customer,
    ReqLang(lang): ReqLang,
    headers: HeaderMap,
    AppJson(req): AppJson<CreateOrder>,
) -> Result<Response> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v.to_str().unwrap_or("").trim();
            if k.is_empty() || k.len() > 200 {
                return Err(Error::invalid(
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1-200 visible characters",
                ));
            }
            Some(k.to_string())
        }
    };
    ensure_customer(&st.db, customer.user()).await?;
    let (order, created) = place(&st, customer.id(), &req, key.as_deref(), lang).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, AppJson(order)).into_response())
}

/// Places an order and starts its checkout. Answers the order and whether it is new
/// (false when an `Idempotency-Key` retry found the first one).
pub async fn place(
    st: &AppState,
    customer_id: i64,
    req: &CreateOrder,
    key: Option<&str>,
    lang: Lang,
) -> Result<(Order, bool)> {
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
    let variants = load_variants(&st.db, &ids).await?;
    let mut products = BTreeMap::new();
    for v in &variants {
        if let std::collections::btree_map::Entry::Vacant(e) = products.entry(v.product_id) {
            let p = catalog::product_row(&st.db, v.product_id)
                .await?
                .ok_or_else(|| Error::not_found("product"))?;
            e.insert(p);
        }
    }
    let mut currency: Option<String> = None;
    for v in &variants {
        let p = &products[&v.product_id];
        if v.archived != 0 || p.archived != 0 {
            return Err(Error::conflict(
                "unavailable",
                format!(
                    "{} is no longer sold; remove it from the order.",
                    catalog::texts(&p.title_json)
                        .pick(lang, fallback)
                        .unwrap_or(&v.sku)
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
    let kinds: Vec<ProductKind> = products
        .values()
        .filter_map(|p| ProductKind::parse(&p.kind))
        .collect();
    let provider = st.payments.choose(&req.payment_method, &currency, &kinds)?;
    let contact = validate_contact(req.contact.as_ref(), kinds.contains(&ProductKind::Physical))?;

    let mut total: i64 = 0;
    for v in &variants {
        let line = v
            .price_minor
            .checked_mul(lines[&v.id])
            .and_then(|l| total.checked_add(l))
            .ok_or_else(|| Error::invalid("amount_too_large", "The order total is too large."))?;
        total = line;
    }

    let now = db::now();
    let expires_at = provider
        .reservation_expires()
        .then(|| now + st.config.order_reservation.as_secs() as i64);
    let take: Vec<(i64, i64)> = variants.iter().map(|v| (v.id, lines[&v.id])).collect();

    let mut tx = st.db.begin_write().await?;
    open_orders_below_cap(&mut tx, st.db.kind, customer_id).await?;
    if let Some(variant_id) = repo::take_lines(tx.conn(), &take, true).await? {
        drop(tx);
        // A concurrent retry with the same key may have taken the last units: answer its order.
        if let Some(k) = key {
            if let Some(existing) = by_key(&st.db, customer_id, k).await? {
                return replay(st, existing, request_hash.as_deref(), lang).await;
            }
        }
        let v = variants
            .iter()
            .find(|v| v.id == variant_id)
            .expect("variant");
        let left = sqlx::query_scalar::<_, Option<i64>>("SELECT stock FROM variants WHERE id = $1")
            .bind(variant_id)
            .fetch_one(&st.db.pool)
            .await?
            .unwrap_or(0);
        let name = texts(&products[&v.product_id].title_json)
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
    let inserted: std::result::Result<i64, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO orders (customer_id, status, currency, total_minor, payment_method, contact_json, \
         lang, idempotency_key, request_hash, holds_stock, expires_at, created_at, updated_at, pay_ref) \
         VALUES ($1, 'pending_payment', $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $10, $11) RETURNING id",
    )
    .bind(customer_id)
    .bind(currency.as_str())
    .bind(total)
    .bind(provider.method().as_str())
    .bind(contact.as_ref().map(|c| serde_json::to_string(c).unwrap_or_default()))
    .bind(lang.code())
    .bind(key)
    .bind(request_hash.as_deref())
    .bind(expires_at)
    .bind(now)
    .bind(
        provider
            .names_order_by_reference()
            .then(crate::payments::new_pay_ref),
    )
    .fetch_one(tx.conn())
    .await;
    let order_id = match inserted {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            // The same key won a race a moment ago: answer its order.
            drop(tx);
            let existing = by_key(&st.db, customer_id, key.unwrap_or_default())
                .await?
                .ok_or_else(|| Error::internal("idempotent order vanished"))?;
            return replay(st, existing, request_hash.as_deref(), lang).await;
        }
        Err(e) => return Err(e.into()),
    };
    for v in &variants {
        let p = &products[&v.product_id];
        let qty = lines[&v.id];
        sqlx::query(
            "INSERT INTO order_items (order_id, variant_id, product_id, title_json, sku, options_json, \
             kind, unit_price_minor, quantity, line_total_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(order_id)
        .bind(v.id)
        .bind(v.product_id)
        .bind(&p.title_json)
        .bind(&v.sku)
        .bind(&v.options_json)
        .bind(&p.kind)
        .bind(v.price_minor)
        .bind(qty)
        .bind(v.price_minor * qty)
        .execute(tx.conn())
        .await?;
    }
    repo::event(
        tx.conn(),
        order_id,
        "created",
        Some("pending_payment"),
        None,
        Some("customer"),
        now,
    )
    .await?;
    if from_cart {
        sqlx::query("DELETE FROM cart_items WHERE customer_id = $1")
            .bind(customer_id)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    st.catalog_changed();
    metrics::counter!("shop_orders_created_total", "rail" => provider.method().as_str())
        .increment(1);
    tracing::info!(order_id, total, currency = %currency, "order placed");

    // The provider is called after the stock is safely reserved and committed: a slow or
    // failing provider never holds a database lock, and the order stays retryable.
    start_checkout(st, provider.as_ref(), order_id, lang).await?;
    let order = repo::load(&st.db, order_id, lang, fallback, false)
        .await?
        .ok_or_else(|| Error::internal("order vanished"))?;
    Ok((order, true))
}

/// Refuses a new order while the customer already has [`MAX_OPEN_ORDERS`] unpaid ones. Counted
/// inside the order's write transaction, with the customer's row locked on PostgreSQL (SQLite's
/// write transaction is already exclusive), so parallel requests cannot all see room.
async fn open_orders_below_cap(
    tx: &mut db::WriteTx,
    kind: db::DbKind,
    customer_id: i64,
) -> Result<()> {
    if kind == db::DbKind::Postgres {
        sqlx::query("SELECT id FROM customers WHERE id = $1 FOR UPDATE")
            .bind(customer_id)
            .fetch_optional(tx.conn())
            .await?;
    }
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE customer_id = $1 AND status = 'pending_payment'",
    )
    .bind(customer_id)
    .fetch_one(tx.conn())
    .await?;
    if open >= MAX_OPEN_ORDERS {
        return Err(Error::Status {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "too_many_open_orders",
            message: format!(
                "You have {open} unpaid orders. Pay for or cancel one before placing another."
            ),
        });
    }
    Ok(())
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
    if existing.status == "pending_payment"
        && existing.invoice_link.is_none()
        && existing.checkout_url.is_none()
        && existing.payment_method != PaymentMethod::Cash.as_str()
    {
        if let Some(provider) =
            PaymentMethod::parse(&existing.payment_method).and_then(|m| st.payments.get(m))
        {
            start_checkout(st, provider.as_ref(), existing.id, lang).await?;
        }
    }
    let order = repo::load(&st.db, existing.id, lang, &st.config.lang_fallback, false)
        .await?
        .ok_or_else(|| Error::internal("order vanished"))?;
    Ok((order, false))
}

/// Asks the order's rail for a way to pay and keeps it on the order. A failure is noted on
/// the order's timeline, so the next attempt uses a fresh idempotency key with the provider
/// (which may have remembered the failed answer under the old one).
async fn start_checkout(
    st: &AppState,
    provider: &dyn Provider,
    order_id: i64,
    lang: Lang,
) -> Result<()> {
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
    let title_of = |i: &repo::ItemRow| {
        texts(&i.title_json)
            .pick(lang, fallback)
            .unwrap_or(&i.sku)
            .to_string()
    };
    let mut products = BTreeMap::new();
    for i in &items {
        if let std::collections::btree_map::Entry::Vacant(e) = products.entry(i.product_id) {
            if let Some(p) = catalog::product_row(&st.db, i.product_id).await? {
                e.insert(p);
            }
        }
    }
    let order = CheckoutOrder {
        order_id,
        customer_id: head.customer_id,
        total_minor: head.total_minor,
        currency: Currency::new(&head.currency).map_err(Error::internal)?,
        title: items.first().map(title_of).unwrap_or_default(),
        lang,
        lines: items
            .iter()
            .map(|i| {
                let p = products.get(&i.product_id);
                CheckoutLine {
                    product_id: i.product_id,
                    title: title_of(i),
                    description: p
                        .and_then(|p| {
                            texts(&p.description_json)
                                .pick(lang, fallback)
                                .map(str::to_string)
                        })
                        .unwrap_or_default(),
                    image: p
                        .and_then(|p| serde_json::from_str::<Vec<String>>(&p.images_json).ok())
                        .and_then(|i| i.into_iter().next()),
                    kind: ProductKind::parse(&i.kind).unwrap_or(ProductKind::Physical),
                    unit_minor: i.unit_price_minor,
                    quantity: i.quantity,
                }
            })
            .collect(),
        expires_at: head.expires_at,
        attempt_key: format!("{order_id}-{}-{failed}", head.created_at),
        pay_ref: head.pay_ref.clone(),
    };
    let checkout = match provider.create_checkout(&order).await {
        Ok(c) => c,
        Err(e) => {
            let mut conn = st.db.pool.acquire().await?;
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
        .execute(&st.db.pool)
        .await?;
    }
    if checkout.invoice_link.is_some() || checkout.checkout_url.is_some() {
        sqlx::query("UPDATE orders SET invoice_link = $1, checkout_url = $2 WHERE id = $3")
            .bind(checkout.invoice_link.as_deref())
            .bind(checkout.checkout_url.as_deref())
            .bind(order_id)
            .execute(&st.db.pool)
            .await?;
    }
    Ok(())
}

async fn by_key(db: &Db, customer_id: i64, key: &str) -> Result<Option<repo::OrderHead>> {
    let sql = format!(
        "SELECT {} FROM orders WHERE customer_id = $1 AND idempotency_key = $2",
        repo::HEAD_COLS
    );
    Ok(sqlx::query_as::<_, repo::OrderHead>(&sql)
        .bind(customer_id)
        .bind(key)
        .fetch_optional(&db.pool)
        .await?)
}

/// Quantities per variant id, merging repeated lines and resolving `product_id`.
async fn resolve_lines(db: &Db, items: &[OrderLineRequest]) -> Result<BTreeMap<i64, i64>> {
    if items.len() > MAX_LINES {
        return Err(Error::field(
            "too_many_items",
            "items",
            format!("At most {MAX_LINES} lines per order."),
        ));
    }
    let mut out = BTreeMap::new();
    for (i, it) in items.iter().enumerate() {
        if it.quantity < 1 || it.quantity > MAX_QTY {
            return Err(Error::field(
                "invalid_quantity",
                &format!("items[{i}].quantity"),
                format!("Quantity must be from 1 to {MAX_QTY}."),
            ));
        }
        let variant_id = match (it.variant_id, it.product_id) {
            (Some(v), _) => v,
            (None, Some(p)) => {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT id FROM variants WHERE product_id = $1 AND archived = 0",
                )
                .bind(p)
                .fetch_all(&db.pool)
                .await?;
                match ids.as_slice() {
                    [] => {
                        return Err(Error::field(
                            "unknown_product",
                            &format!("items[{i}].product_id"),
                            format!("Product {p} does not exist."),
                        ))
                    }
                    [one] => *one,
                    _ => {
                        return Err(Error::field(
                            "variant_required",
                            &format!("items[{i}].variant_id"),
                            format!("Product {p} comes in several variants: name the variant_id."),
                        ))
                    }
                }
            }
            (None, None) => {
                return Err(Error::field(
                    "invalid_item",
                    &format!("items[{i}]"),
                    "Each item needs a variant_id (or a product_id for a single-variant product).",
                ))
            }
        };
        let q = out.entry(variant_id).or_insert(0);
        *q += it.quantity;
        if *q > MAX_QTY {
            return Err(Error::field(
                "invalid_quantity",
                &format!("items[{i}].quantity"),
                format!("Quantity must be from 1 to {MAX_QTY}."),
            ));
        }
    }
    Ok(out)
}

async fn cart_lines(db: &Db, customer_id: i64) -> Result<BTreeMap<i64, i64>> {
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT variant_id, quantity FROM cart_items WHERE customer_id = $1")
            .bind(customer_id)
            .fetch_all(&db.pool)
            .await?;
    Ok(rows.into_iter().collect())
}

pub async fn load_variants(db: &Db, ids: &[i64]) -> Result<Vec<VariantRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT {VARIANT_COLS} FROM variants WHERE id IN ({}) ORDER BY id",
        catalog::placeholders(1, ids.len())
    );
    let mut q = sqlx::query_as::<_, VariantRow>(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    let rows = q.fetch_all(&db.pool).await?;
    if let Some(missing) = ids.iter().find(|id| !rows.iter().any(|r| r.id == **id)) {
        return Err(Error::field(
            "unknown_variant",
            "items",
            format!("Variant {missing} does not exist."),
        ));
    }
    Ok(rows)
}

/// Physical goods need somewhere to go: name, phone and address, checked so a courier can use them.
fn validate_contact(c: Option<&Contact>, physical: bool) -> Result<Option<Contact>> {
    let Some(c) = c else {
        if physical {
            return Err(Error::field(
                "contact_required",
                "contact",
                "Physical goods need a name, phone and delivery address.",
            ));
        }
        return Ok(None);
    };
    let clean = |s: &str| {
        s.chars()
            .filter(|c| !c.is_control() || *c == '\n')
            .collect::<String>()
            .trim()
            .to_string()
    };
    let c = Contact {
        name: clean(&c.name),
        phone: clean(&c.phone),
        address: clean(&c.address),
    };
    // Bounded for every order: what the shop reads from a stranger has a size.
    for (value, field, max) in [
        (&c.name, "contact.name", MAX_NAME_CHARS),
        (&c.phone, "contact.phone", MAX_PHONE_CHARS),
        (&c.address, "contact.address", MAX_ADDRESS_CHARS),
    ] {
        if value.chars().count() > max {
            return Err(Error::field(
                "contact_too_long",
                field,
                format!("{field} is too long: at most {max} characters."),
            ));
        }
    }
    if physical {
        if c.name.chars().count() < 2 {
            return Err(Error::field(
                "invalid_name",
                "contact.name",
                "Enter the recipient's name.",
            ));
        }
        let digits = c.phone.chars().filter(char::is_ascii_digit).count();
        let ok_chars = c
            .phone
            .chars()
            .all(|ch| ch.is_ascii_digit() || " +-()".contains(ch));
        if !(7..=15).contains(&digits) || !ok_chars {
            return Err(Error::field(
                "invalid_phone",
                "contact.phone",
                "Enter a phone number with 7 to 15 digits, such as +998 90 123 45 67.",
            ));
        }
        if c.address.chars().count() < 5 {
            return Err(Error::field(
                "invalid_address",
                "contact.address",
                "Enter a delivery address (street, house, city).",
            ));
        }
    }
    Ok(Some(c))
}

/// `GET /api/orders` paging.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Orders per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// The customer's orders, newest first.
#[utoipa::path(get, path = "/api/orders", tag = "customer", security(("init_data" = [])),
    params(ListQuery, ("lang" = Option<shared::Lang>, Query, description = "Language of the texts; else `Accept-Language`, else the shop's default.")),
    responses((status = 200, description = "A page of orders.", body = Page<Order>)))]
async fn list(
    State(st): State<AppState>,
    customer: Customer,
    ReqLang(lang): ReqLang,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<AppJson<Page<Order>>> {
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    let before = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => decode_cursor(c)?,
        None => i64::MAX,
    };
    let sql = format!(
        "SELECT {} FROM orders WHERE customer_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        repo::HEAD_COLS
    );
    let mut heads = sqlx::query_as::<_, repo::OrderHead>(&sql)
        .bind(customer.id())
        .bind(before)
        .bind(limit + 1)
        .fetch_all(&st.db.pool)
        .await?;
    let next_cursor = if heads.len() as i64 > limit {
        heads.truncate(limit as usize);
        heads.last().map(|h| encode_cursor(h.id))
    } else {
        None
    };
    let items = repo::load_many(&st.db, &heads, lang, &st.config.lang_fallback).await?;
    Ok(AppJson(Page { items, next_cursor }))
}

/// One of the customer's orders with its timeline.
#[utoipa::path(get, path = "/api/orders/{id}", tag = "customer", security(("init_data" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The order's id."), ("lang" = Option<shared::Lang>, Query, description = "Language of the texts; else `Accept-Language`, else the shop's default.")),
    responses(
        (status = 200, description = "The order.", body = Order),
        (status = 404, description = "No such order of this customer."),
    ))]
async fn one(
    State(st): State<AppState>,
    customer: Customer,
    ReqLang(lang): ReqLang,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Order>> {
    let order = repo::load(&st.db, id, lang, &st.config.lang_fallback, true)
        .await?
        // Another customer's order is "not found", not "forbidden": ids reveal nothing.
        .filter(|o| o.customer_id == Some(customer.id()))
        .ok_or_else(|| Error::not_found("order"))?;
    Ok(AppJson(for_customer(order)))
}

/// What of an order's timeline its customer sees: status changes and
/// [`shared::CUSTOMER_EVENT_KINDS`], never who on the merchant's side made them (admin emails
/// stay inside the shop).
fn for_customer(mut order: Order) -> Order {
    order
        .events
        .retain(|e| e.status.is_some() || shared::CUSTOMER_EVENT_KINDS.contains(&e.kind.as_str()));
    for e in &mut order.events {
        e.actor = None;
    }
    order
}

/// Runs [`repo::expire_due`] every `every` until the process stops.
/// The database-wide lock an expiry round holds (`Db::try_exclusive`).
const EXPIRY_LOCK: i64 = 0x4558_5049_5259; // "EXPIRY"

pub fn spawn_expiry(
    st: AppState,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // A stop is seen between runs only: a run in progress finishes first.
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            // One process per round; each order's change is guarded on its own as well.
            let claim = match st.db.try_exclusive(EXPIRY_LOCK).await {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "order expiry: cannot claim the round");
                    continue;
                }
            };
            let res = repo::expire_due(&st.db).await;
            drop(claim);
            let outcome = if res.is_ok() { "ok" } else { "error" };
            metrics::counter!("shop_jobs_runs_total", "job" => "order_expiry", "outcome" => outcome)
                .increment(1);
            match res {
                Ok(0) => {}
                Ok(n) => {
                    st.catalog_changed();
                    tracing::info!(expired = n, "released stock of lapsed orders");
                }
                Err(e) => tracing::warn!(error = %e, "order expiry failed"),
            }
        }
    })
}
