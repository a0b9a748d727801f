//! Every query behind the admin's product, variant and stock routes (and the whole-product
//! save), so the handlers read as rules and this file as SQL. Functions take the connection
//! they run on: inside a write transaction they see (and are part of) that change.

use shared::admin::RemoveOutcome;
use shared::{Money, ProductKind, Texts, VariantOptions};
use sqlx::AnyConnection;

use crate::catalog::repo::{product_cols, search_text, variant_cols, ProductRow, VariantRow};
use crate::db::SqlBuilder;
use crate::error::{Error, Result};

/// Telegram Star subscriptions renew every 30 days, the only period Telegram offers.
const SUBSCRIPTION_PERIOD: i64 = 2_592_000;

/// The columns only a merchant sees.
#[derive(shop_macros::FromRow)]
pub struct Extras {
    pub digital_content: Option<String>,
    pub subscription_period: Option<i64>,
    pub ikpu_code: Option<String>,
    pub package_code: Option<String>,
    pub vat_percent: Option<i64>,
}

pub async fn extras(conn: &mut AnyConnection, id: i64) -> Result<Extras> {
    Ok(sqlx::query_as::<_, Extras>(
        "SELECT digital_content, subscription_period, ikpu_code, package_code, vat_percent \
         FROM products WHERE id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await?)
}

pub async fn category_exists(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM categories WHERE id = $1")
        .bind(id)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

/// `GET /api/admin/products` filters, already parsed.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub category: Option<i64>,
    pub kind: Option<ProductKind>,
    pub stock: Option<StockFilter>,
    pub archived: Option<bool>,
    /// Matched (case-insensitively, literally) in every language's texts and in SKUs.
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub enum StockFilter {
    /// Nothing left to sell: every live variant has tracked stock 0.
    Out,
    /// Some live variant has tracked stock at or below this.
    Low(i64),
    /// Some live variant can be sold (unlimited or stock above 0).
    In,
}

/// Up to `limit` products with ids above `after`, in id order.
pub async fn list(
    conn: &mut AnyConnection,
    f: &ListFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<ProductRow>> {
    let mut q = SqlBuilder::new(concat!(
        "SELECT ",
        product_cols!(),
        " FROM products WHERE id > "
    ));
    q.push_bind(after);
    if let Some(c) = f.category {
        q.push(" AND category_id = ").push_bind(c);
    }
    if let Some(k) = f.kind {
        q.push(" AND kind = ").push_bind(k.as_str().to_string());
    }
    const SELLABLE: &str = "SELECT 1 FROM variants v WHERE v.product_id = products.id \
                            AND v.archived = 0 AND (v.stock IS NULL OR v.stock > 0)";
    match f.stock {
        None => {}
        Some(StockFilter::Out) => {
            q.push(" AND NOT EXISTS (").push(SELLABLE).push(")");
        }
        Some(StockFilter::In) => {
            q.push(" AND EXISTS (").push(SELLABLE).push(")");
        }
        Some(StockFilter::Low(t)) => {
            q.push(
                " AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = products.id \
                 AND v.archived = 0 AND v.stock IS NOT NULL AND v.stock <= ",
            )
            .push_bind(t)
            .push(")");
        }
    }
    if let Some(a) = f.archived {
        q.push(" AND archived = ").push_bind(a as i64);
    }
    if let Some(s) = &f.search {
        let pattern = crate::catalog::repo::like_pattern(s);
        q.push(" AND (search_text LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR id IN (SELECT product_id FROM variants WHERE LOWER(sku) LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\'))");
    }
    q.push(" ORDER BY id LIMIT ").push_bind(limit);
    Ok(q.build_query_as::<ProductRow>().fetch_all(conn).await?)
}

/// A product's own columns as one write stores them.
pub struct ProductFields<'a> {
    pub kind: ProductKind,
    pub category_id: Option<i64>,
    pub title: &'a Texts,
    pub description: &'a Texts,
    pub images: &'a [String],
    pub archived: bool,
    pub digital_content: Option<&'a str>,
    pub ikpu_code: Option<&'a str>,
    pub package_code: Option<&'a str>,
    pub vat_percent: Option<i64>,
}

impl ProductFields<'_> {
    fn subscription_period(&self) -> Option<i64> {
        (self.kind == ProductKind::Subscription).then_some(SUBSCRIPTION_PERIOD)
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(Error::internal)
}

pub async fn insert_product(
    conn: &mut AnyConnection,
    p: &ProductFields<'_>,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO products (category_id, kind, title_json, description_json, images_json, search_text, \
         digital_content, subscription_period, ikpu_code, package_code, vat_percent, archived, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
    )
    .bind(p.category_id)
    .bind(p.kind.as_str())
    .bind(json(p.title)?)
    .bind(json(p.description)?)
    .bind(json(&p.images)?)
    .bind(search_text(p.title, p.description))
    .bind(p.digital_content)
    .bind(p.subscription_period())
    .bind(p.ikpu_code)
    .bind(p.package_code)
    .bind(p.vat_percent)
    .bind(p.archived as i64)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

pub async fn update_product(
    conn: &mut AnyConnection,
    id: i64,
    p: &ProductFields<'_>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE products SET kind = $1, category_id = $2, title_json = $3, description_json = $4, images_json = $5, \
         search_text = $6, archived = $7, digital_content = $8, ikpu_code = $9, package_code = $10, vat_percent = $11, \
         subscription_period = $12, updated_at = $13 WHERE id = $14",
    )
    .bind(p.kind.as_str())
    .bind(p.category_id)
    .bind(json(p.title)?)
    .bind(json(p.description)?)
    .bind(json(&p.images)?)
    .bind(search_text(p.title, p.description))
    .bind(p.archived as i64)
    .bind(p.digital_content)
    .bind(p.ikpu_code)
    .bind(p.package_code)
    .bind(p.vat_percent)
    .bind(p.subscription_period())
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn variant_row(conn: &mut AnyConnection, id: i64) -> Result<Option<VariantRow>> {
    Ok(sqlx::query_as::<_, VariantRow>(concat!(
        "SELECT ",
        variant_cols!(),
        " FROM variants WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// What a merchant sets on every variant write.
pub struct VariantFields<'a> {
    pub sku: &'a str,
    pub options: &'a VariantOptions,
    pub price: &'a Money,
}

/// A unique SKU is enforced by the database (`variants.sku`); callers map that refusal to the
/// field they were given it in.
pub async fn insert_variant(
    conn: &mut AnyConnection,
    product_id: i64,
    v: &VariantFields<'_>,
    stock: Option<i64>,
    position: i64,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO variants (product_id, sku, options_json, price_minor, currency, stock, position, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(product_id)
    .bind(v.sku)
    .bind(json(v.options)?)
    .bind(v.price.amount_minor)
    .bind(v.price.currency.as_str())
    .bind(stock)
    .bind(position)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// An update of a variant; `None` leaves a column as it is.
pub struct VariantChange<'a> {
    pub fields: VariantFields<'a>,
    pub archived: Option<bool>,
    /// Stock is only written when named: writing back a figure read a moment ago would undo
    /// orders placed in between.
    pub stock: Option<Option<i64>>,
    pub position: Option<i64>,
}

pub async fn update_variant(
    conn: &mut AnyConnection,
    id: i64,
    c: &VariantChange<'_>,
    now: i64,
) -> Result<()> {
    let mut q = SqlBuilder::new("UPDATE variants SET sku = ");
    q.push_bind(c.fields.sku.to_string())
        .push(", options_json = ")
        .push_bind(json(c.fields.options)?)
        .push(", price_minor = ")
        .push_bind(c.fields.price.amount_minor)
        .push(", currency = ")
        .push_bind(c.fields.price.currency.as_str().to_string())
        .push(", updated_at = ")
        .push_bind(now);
    if let Some(a) = c.archived {
        q.push(", archived = ").push_bind(a as i64);
    }
    if let Some(s) = c.stock {
        q.push(", stock = ").push_bind(s);
    }
    if let Some(p) = c.position {
        q.push(", position = ").push_bind(p);
    }
    q.push(" WHERE id = ").push_bind(id);
    q.build().execute(conn).await?;
    Ok(())
}

/// Gives a variant a SKU no real one can have (SKUs never contain `~`), so that variants of
/// one save can trade SKUs without two rows holding one SKU in between.
pub async fn park_sku(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query("UPDATE variants SET sku = $1 WHERE id = $2")
        .bind(format!("~{id}"))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_stock(
    conn: &mut AnyConnection,
    id: i64,
    stock: Option<i64>,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE variants SET stock = $1, updated_at = $2 WHERE id = $3")
        .bind(stock)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds `delta` units in one statement (so orders placed meanwhile are kept); `false` when
/// the stock is unlimited or would leave 0..=1000000000.
pub async fn add_stock(conn: &mut AnyConnection, id: i64, delta: i64, now: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE variants SET stock = stock + $1, updated_at = $2 WHERE id = $3 AND stock IS NOT NULL \
         AND stock + $1 >= 0 AND stock + $1 <= 1000000000",
    )
    .bind(delta)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Deletes a product nobody ordered; one that orders reference is archived instead, so order
/// history keeps pointing at it. Checked inside the caller's write transaction, so an order
/// placed meanwhile cannot be left pointing at a deleted row.
pub async fn remove_product(conn: &mut AnyConnection, id: i64, now: i64) -> Result<RemoveOutcome> {
    let refs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_items WHERE product_id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    if refs > 0 {
        sqlx::query("UPDATE products SET archived = 1, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        return Ok(RemoveOutcome::Archived);
    }
    for sql in [
        "DELETE FROM cart_items WHERE variant_id IN (SELECT id FROM variants WHERE product_id = $1)",
        "DELETE FROM variants WHERE product_id = $1",
        "DELETE FROM products WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    Ok(RemoveOutcome::Deleted)
}

/// [`remove_product`] for one variant.
pub async fn remove_variant(conn: &mut AnyConnection, id: i64, now: i64) -> Result<RemoveOutcome> {
    let refs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_items WHERE variant_id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    if refs > 0 {
        sqlx::query("UPDATE variants SET archived = 1, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        return Ok(RemoveOutcome::Archived);
    }
    for sql in [
        "DELETE FROM cart_items WHERE variant_id = $1",
        "DELETE FROM variants WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    Ok(RemoveOutcome::Deleted)
}
