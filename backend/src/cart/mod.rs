//! The customer's cart, kept on the server so it follows them across devices.
//! Prices and stock are always the live ones; the cart stores only variant and quantity.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::routing::get;
use axum::Router;
use shared::{Cart, CartItem, CartUpdate, Lang, Money, ProductKind};

use crate::auth::{ensure_customer, Customer};
use crate::catalog::repo::{self as catalog, texts};
use crate::config::Config;
use crate::db::Db;
use crate::error::{AppJson, Error, Result};
use crate::lang::ReqLang;
use crate::orders::load_variants;
use crate::payments::Payments;
use crate::state::AppState;

/// What the cart needs: the database, the texts' language fallback, and the configured rails
/// (the cart says which of them can pay for it).
#[derive(Clone)]
pub struct CartState {
    pub db: Db,
    pub config: Arc<Config>,
    pub payments: Payments,
}

impl FromRef<AppState> for CartState {
    fn from_ref(st: &AppState) -> Self {
        CartState {
            db: st.db.clone(),
            config: st.config.clone(),
            payments: st.payments.clone(),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/cart", get(show).put(replace))
}

const MAX_QTY: i64 = 999;

/// The customer's cart with live prices and stock, and the payment methods it can use.
#[utoipa::path(get, path = "/api/cart", tag = "customer", security(("init_data" = [])),
    params(("lang" = Option<shared::Lang>, Query, description = "Language of the texts; else `Accept-Language`, else the shop's default.")),
    responses((status = 200, description = "The cart.", body = Cart)))]
async fn show(
    State(st): State<CartState>,
    customer: Customer,
    ReqLang(lang): ReqLang,
) -> Result<AppJson<Cart>> {
    Ok(AppJson(build(&st, customer.id(), lang).await?))
}

/// Replaces the whole cart (quantity 0 removes a line; lines of one variant add up).
#[utoipa::path(put, path = "/api/cart", tag = "customer", security(("init_data" = [])),
    params(("lang" = Option<shared::Lang>, Query, description = "Language of the texts; else `Accept-Language`, else the shop's default.")),
    request_body = CartUpdate,
    responses(
        (status = 200, description = "The cart as saved.", body = Cart),
        (status = 409, description = "A variant is sold out or archived, or lines are priced in different currencies."),
    ))]
async fn replace(
    State(st): State<CartState>,
    customer: Customer,
    ReqLang(lang): ReqLang,
    AppJson(req): AppJson<CartUpdate>,
) -> Result<AppJson<Cart>> {
    if req.items.len() > 100 {
        return Err(Error::field(
            "too_many_items",
            "items",
            "A cart holds at most 100 lines.",
        ));
    }
    let mut lines: BTreeMap<i64, i64> = BTreeMap::new();
    let mut order: Vec<i64> = vec![];
    for (i, l) in req.items.iter().enumerate() {
        if l.quantity < 0 || l.quantity > MAX_QTY {
            return Err(Error::field(
                "invalid_quantity",
                &format!("items[{i}].quantity"),
                format!("Quantity must be from 0 (remove) to {MAX_QTY}."),
            ));
        }
        if !lines.contains_key(&l.variant_id) {
            order.push(l.variant_id);
        }
        let q = lines.entry(l.variant_id).or_insert(0);
        *q += l.quantity;
        // Checked after merging: two lines of 999 for one variant are one line of 1998.
        if *q > MAX_QTY {
            return Err(Error::field(
                "invalid_quantity",
                &format!("items[{i}].quantity"),
                format!("At most {MAX_QTY} of one item fit in the cart."),
            ));
        }
    }
    lines.retain(|_, q| *q > 0);
    order.retain(|id| lines.contains_key(id));
    let ids: Vec<i64> = lines.keys().copied().collect();
    let variants = load_variants(&st.db, &ids).await?;
    let mut currency: Option<&str> = None;
    for v in &variants {
        let name = || async {
            catalog::product_row(&st.db, v.product_id)
                .await
                .ok()
                .flatten()
                .and_then(|p| {
                    texts(&p.title_json)
                        .pick(lang, &st.config.lang_fallback)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| v.sku.clone())
        };
        if v.archived != 0 {
            return Err(Error::conflict(
                "unavailable",
                format!("{} is no longer sold.", name().await),
            ));
        }
        if let Some(stock) = v.stock {
            if lines[&v.id] > stock {
                return Err(Error::conflict(
                    "insufficient_stock",
                    if stock == 0 {
                        format!("{} is sold out.", name().await)
                    } else {
                        format!("Only {stock} of {} left.", name().await)
                    },
                ));
            }
        }
        match currency {
            None => currency = Some(&v.currency),
            Some(c) if c != v.currency => {
                return Err(Error::invalid(
                    "mixed_currencies",
                    format!(
                        "A cart is paid in one currency, but this would mix {c} and {}. \
                         Finish one order first.",
                        v.currency
                    ),
                ))
            }
            _ => {}
        }
    }
    ensure_customer(&st.db, customer.user()).await?;
    let mut tx = st.db.begin_write().await?;
    let before: BTreeMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
        "SELECT variant_id, quantity FROM cart_items WHERE customer_id = $1",
    )
    .bind(customer.id())
    .fetch_all(tx.conn())
    .await?
    .into_iter()
    .collect();
    if before != lines {
        // A changed cart may be reminded about (again) once it has been left long enough
        // (`telegram::reminders`); the same cart saved again is no change.
        sqlx::query("UPDATE customers SET cart_changed_at = $1 WHERE id = $2")
            .bind(crate::db::now())
            .bind(customer.id())
            .execute(tx.conn())
            .await?;
    }
    sqlx::query("DELETE FROM cart_items WHERE customer_id = $1")
        .bind(customer.id())
        .execute(tx.conn())
        .await?;
    for (pos, id) in order.iter().enumerate() {
        sqlx::query("INSERT INTO cart_items (customer_id, variant_id, quantity, position) VALUES ($1, $2, $3, $4)")
            .bind(customer.id())
            .bind(*id)
            .bind(lines[id])
            .bind(pos as i64)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await?;
    Ok(AppJson(build(&st, customer.id(), lang).await?))
}

/// The cart with live prices, stock problems per line, the total and the methods on offer.
pub async fn build(st: &CartState, customer_id: i64, lang: Lang) -> Result<Cart> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT variant_id, quantity FROM cart_items WHERE customer_id = $1 ORDER BY position, variant_id",
    )
    .bind(customer_id)
    .fetch_all(&st.db.pool)
    .await?;
    if rows.is_empty() {
        return Ok(Cart {
            items: vec![],
            total: None,
            payment_methods: vec![],
        });
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let variants: HashMap<i64, catalog::VariantRow> = load_variants(&st.db, &ids)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    let products = product_rows(&st.db, variants.values().map(|v| v.product_id)).await?;
    let mut items = vec![];
    let mut total: Option<Money> = None;
    let mut mixed = false;
    let mut kinds = vec![];
    for (variant_id, qty) in rows {
        // A line whose variant or product vanished meanwhile (admin delete) is skipped.
        let Some(v) = variants.get(&variant_id) else {
            continue;
        };
        let Some(p) = products.get(&v.product_id) else {
            continue;
        };
        let price = v.price()?;
        let line = Money::new(v.price_minor * qty, price.currency.clone());
        let problem = if v.archived != 0 || p.archived != 0 {
            Some("no longer sold".to_string())
        } else {
            match v.stock {
                Some(0) => Some("sold out".to_string()),
                Some(s) if s < qty => Some(format!("only {s} left")),
                _ => None,
            }
        };
        match &mut total {
            None => total = Some(line.clone()),
            Some(t) if t.currency == line.currency => t.amount_minor += line.amount_minor,
            Some(_) => mixed = true,
        }
        let kind =
            ProductKind::parse(&p.kind).ok_or_else(|| Error::internal("bad product kind"))?;
        kinds.push(kind);
        items.push(CartItem {
            variant_id,
            product_id: v.product_id,
            kind,
            title: crate::lang::pick(&texts(&p.title_json), lang, &st.config.lang_fallback),
            sku: v.sku.clone(),
            options: serde_json::from_str(&v.options_json).unwrap_or_default(),
            quantity: qty,
            unit_price: price,
            line_total: line,
            stock: v.stock,
            available: problem.is_none(),
            problem,
        });
    }
    let total = if mixed { None } else { total };
    let payment_methods = match &total {
        Some(t) => st.payments.offered(&t.currency, &kinds),
        None => vec![],
    };
    Ok(Cart {
        items,
        total,
        payment_methods,
    })
}

async fn product_rows(
    db: &Db,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, catalog::ProductRow>> {
    let mut out = HashMap::new();
    for id in ids {
        if let std::collections::hash_map::Entry::Vacant(e) = out.entry(id) {
            if let Some(p) = catalog::product_row(db, id).await? {
                e.insert(p);
            }
        }
    }
    Ok(out)
}
