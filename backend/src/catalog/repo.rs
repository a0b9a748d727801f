//! Catalog queries shared by the storefront, cart, orders and admin.

use std::collections::HashMap;

use shared::{Category, Currency, Lang, Money, Product, ProductKind, ProductTexts, Texts, Variant};

use sqlx::AnyConnection;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::lang::pick;

#[derive(Debug, Clone, shop_macros::FromRow)]
pub struct ProductRow {
    pub id: i64,
    pub category_id: Option<i64>,
    pub kind: String,
    pub title_json: String,
    pub description_json: String,
    pub images_json: String,
    pub archived: i64,
}

#[derive(Debug, Clone, shop_macros::FromRow)]
pub struct VariantRow {
    pub id: i64,
    pub product_id: i64,
    pub sku: String,
    pub options_json: String,
    pub price_minor: i64,
    pub currency: String,
    pub stock: Option<i64>,
    pub archived: i64,
}

#[derive(Debug, Clone, shop_macros::FromRow)]
pub struct CategoryRow {
    pub id: i64,
    pub slug: String,
    pub title_json: String,
    pub position: i64,
}

/// A `ProductRow`'s columns, a literal so that a statement is one fixed string
/// (`concat!("SELECT ", product_cols!(), " FROM products …")`).
macro_rules! product_cols {
    () => {
        "id, category_id, kind, title_json, description_json, images_json, archived"
    };
}
pub(crate) use product_cols;

/// A `VariantRow`'s columns, as [`product_cols`].
macro_rules! variant_cols {
    () => {
        "id, product_id, sku, options_json, price_minor, currency, stock, archived"
    };
}
pub(crate) use variant_cols;

pub fn texts(json: &str) -> Texts {
    serde_json::from_str(json).unwrap_or_default()
}

impl VariantRow {
    pub fn price(&self) -> Result<Money> {
        let cur = Currency::new(&self.currency).map_err(Error::internal)?;
        Ok(Money::new(self.price_minor, cur))
    }

    pub fn to_variant(&self) -> Result<Variant> {
        Ok(Variant {
            id: self.id,
            sku: self.sku.clone(),
            options: serde_json::from_str(&self.options_json).unwrap_or_default(),
            price: self.price()?,
            stock: self.stock,
            available: self.archived == 0 && self.stock.is_none_or(|s| s > 0),
        })
    }
}

/// Every category, in the shop's order (position, then id).
pub async fn categories(conn: &mut sqlx::AnyConnection) -> Result<Vec<CategoryRow>> {
    Ok(sqlx::query_as::<_, CategoryRow>(
        "SELECT id, slug, title_json, position FROM categories ORDER BY position, id",
    )
    .fetch_all(conn)
    .await?)
}

impl CategoryRow {
    pub fn to_category(&self, lang: Lang, fallback: &[Lang], full: bool) -> Category {
        let t = texts(&self.title_json);
        Category {
            id: self.id,
            slug: self.slug.clone(),
            title: pick(&t, lang, fallback),
            position: self.position,
            texts: full.then_some(t),
        }
    }
}

/// How products are rendered: for a customer in one language, or for the admin with all texts.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub lang: Lang,
    pub fallback: &'a [Lang],
    pub admin: bool,
}

pub fn to_product(p: &ProductRow, variants: Vec<Variant>, view: View<'_>) -> Result<Product> {
    let title = texts(&p.title_json);
    let description = texts(&p.description_json);
    Ok(Product {
        id: p.id,
        kind: ProductKind::parse(&p.kind).ok_or_else(|| Error::internal("bad product kind"))?,
        category_id: p.category_id,
        title: pick(&title, view.lang, view.fallback),
        description: pick(&description, view.lang, view.fallback),
        images: serde_json::from_str(&p.images_json).unwrap_or_default(),
        variants,
        texts: view.admin.then_some(ProductTexts { title, description }),
        archived: p.archived != 0,
    })
}

/// Variants of these products, grouped per product in display order.
pub async fn variants_for(
    conn: &mut AnyConnection,
    product_ids: &[i64],
    include_archived: bool,
) -> Result<HashMap<i64, Vec<VariantRow>>> {
    let mut out: HashMap<i64, Vec<VariantRow>> = HashMap::new();
    if product_ids.is_empty() {
        return Ok(out);
    }
    let mut q = crate::db::SqlBuilder::new(concat!(
        "SELECT ",
        variant_cols!(),
        " FROM variants WHERE product_id IN ("
    ));
    q.push_bind_list(product_ids.to_vec()).push(")");
    if !include_archived {
        q.push(" AND archived = 0");
    }
    q.push(" ORDER BY product_id, position, id");
    let q = q.build_query_as::<VariantRow>();
    for v in q.fetch_all(conn).await? {
        out.entry(v.product_id).or_default().push(v);
    }
    Ok(out)
}

/// Builds full products (with variants) for rows already fetched, in their order. Reads
/// through `conn`, so inside a transaction it sees that transaction's changes.
pub async fn assemble(
    conn: &mut AnyConnection,
    rows: &[ProductRow],
    view: View<'_>,
) -> Result<Vec<Product>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut variants = variants_for(conn, &ids, view.admin).await?;
    rows.iter()
        .map(|r| {
            let vs = variants
                .remove(&r.id)
                .unwrap_or_default()
                .iter()
                .map(VariantRow::to_variant)
                .collect::<Result<Vec<_>>>()?;
            to_product(r, vs, view)
        })
        .collect()
}

pub async fn product_row(db: &Db, id: i64) -> Result<Option<ProductRow>> {
    const SQL: &str = concat!("SELECT ", product_cols!(), " FROM products WHERE id = $1");
    Ok(sqlx::query_as::<_, ProductRow>(SQL)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?)
}

pub async fn product(conn: &mut AnyConnection, id: i64, view: View<'_>) -> Result<Option<Product>> {
    const SQL: &str = concat!("SELECT ", product_cols!(), " FROM products WHERE id = $1");
    let Some(row) = sqlx::query_as::<_, ProductRow>(SQL)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    if row.archived != 0 && !view.admin {
        return Ok(None);
    }
    Ok(assemble(conn, std::slice::from_ref(&row), view)
        .await?
        .pop())
}

/// Lower-cased text of every language, stored with the product for search.
pub fn search_text(title: &Texts, description: &Texts) -> String {
    title
        .all()
        .chain(description.all())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Escapes `%`, `_` and `\` so user text in LIKE matches literally.
pub fn like_pattern(q: &str) -> String {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for ch in q.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}
