//! Customer orders: placing one (from the cart or named items), listing and reading them.

pub mod lifecycle;
mod place;
pub use place::{GROUP_ORDERS_SQL, OPEN_ORDERS_SQL};
pub mod repo;
pub mod risk;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use shared::{Contact, CreateOrder, Order, OrderLineRequest, Page};

use crate::auth::Customer;
use crate::catalog::repo::{self as catalog, VariantRow};
use crate::catalog::{decode_cursor, encode_cursor};
use crate::db::{Db, SqlBuilder};
use crate::error::{AppJson, AppPath, AppQuery, Error, Result};
use crate::lang::ReqLang;
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
/// The longest address SMTP allows (RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
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
        (status = 422, description = "`invalid_currency`: a currency code the shop does not accept; `promo_code_invalid` (with `field` `promo_code`): the code is unknown, not yet valid, expired, paused, used up (for everyone or this customer) or does not fit the order (below its minimum, another currency, a subscription); `delivery_required` (`field` `delivery`): a physical item and delivery methods offered in the order's currency, but none chosen; `delivery_option_required` (`delivery.option_id`): the method has zones or pickup points; `delivery_invalid`: an unknown, paused or other-currency method or option, or a delivery for an order with nothing physical. No order is placed then."),
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
    let (mut order, created) =
        place::place(&st, customer.user(), &req, key.as_deref(), lang).await?;
    describe(&st, &mut order).await?;
    let status = if created {
        st.risk.later(&st.db, order.id);
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, AppJson(order)).into_response())
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
    let mut q = SqlBuilder::new(concat!(
        "SELECT ",
        catalog::variant_cols!(),
        " FROM variants WHERE id IN ("
    ));
    q.push_bind_list(ids.iter().copied()).push(") ORDER BY id");
    let rows = q.build_query_as::<VariantRow>().fetch_all(&db.pool).await?;
    if let Some(missing) = ids.iter().find(|id| !rows.iter().any(|r| r.id == **id)) {
        return Err(Error::field(
            "unknown_variant",
            "items",
            format!("Variant {missing} does not exist."),
        ));
    }
    Ok(rows)
}

/// Physical goods need somewhere to go: name, phone and address, checked so a courier can use them
/// (`needs_address` false: collected at a pickup point, name and phone only).
fn validate_contact(
    c: Option<&Contact>,
    physical: bool,
    needs_address: bool,
) -> Result<Option<Contact>> {
    let Some(c) = c else {
        if physical {
            return Err(Error::field(
                "contact_required",
                "contact",
                if needs_address {
                    "Physical goods need a name, phone and delivery address."
                } else {
                    "Enter the name and phone of who collects the order."
                },
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
        email: clean(&c.email),
    };
    // Bounded for every order: what the shop reads from a stranger has a size.
    for (value, field, max) in [
        (&c.name, "contact.name", MAX_NAME_CHARS),
        (&c.phone, "contact.phone", MAX_PHONE_CHARS),
        (&c.address, "contact.address", MAX_ADDRESS_CHARS),
        (&c.email, "contact.email", MAX_EMAIL_CHARS),
    ] {
        if value.chars().count() > max {
            return Err(Error::field(
                "contact_too_long",
                field,
                format!("{field} is too long: at most {max} characters."),
            ));
        }
    }
    if !c.email.is_empty() && !looks_like_email(&c.email) {
        return Err(Error::field(
            "invalid_email",
            "contact.email",
            "Enter an email address such as name@example.com, or leave it empty.",
        ));
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
        if needs_address && c.address.chars().count() < 5 {
            return Err(Error::field(
                "invalid_address",
                "contact.address",
                "Enter a delivery address (street, house, city).",
            ));
        }
    }
    Ok(Some(c))
}

/// One `@` with something on both sides and a dot in the domain, no spaces: enough to catch
/// a typo in a receipt address without refusing real ones (full RFC 5322 is not the point).
fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
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
    let mut heads = repo::heads_of_customer(&st.db, customer.id(), before, limit + 1).await?;
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
    let mut order = for_customer(order);
    describe(&st, &mut order).await?;
    Ok(AppJson(order))
}

/// An unpaid order's payment details from its rail ([`crate::rails::Provider::describe`]).
async fn describe(st: &AppState, order: &mut Order) -> Result<()> {
    if order.status != shared::OrderStatus::PendingPayment {
        return Ok(());
    }
    match st.payments.get(order.payment_method) {
        Some(p) => p.describe(&st.db, order).await,
        None => Ok(()),
    }
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

/// Runs [`lifecycle::expire_due`] every `every` until the process stops.
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
            let res = lifecycle::expire_due(&st).await;
            drop(claim);
            let outcome = if res.is_ok() { "ok" } else { "error" };
            metrics::counter!("shop_jobs_runs_total", "job" => "order_expiry", "outcome" => outcome)
                .increment(1);
            match res {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "released stock of lapsed orders"),
                Err(e) => tracing::warn!(error = %e, "order expiry failed"),
            }
        }
    })
}
