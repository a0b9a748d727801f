//! Checking rows against each other and the stored catalog, then writing them.

use std::collections::{BTreeMap, HashMap, HashSet};

use shared::admin::{CsvImportReport, CsvRowError};
use shared::{ProductKind, VariantOptions};

use super::rows::{row_error, ProductFields, Row};
use crate::catalog::repo::{search_text, texts};
use crate::db;
use crate::error::{Error, Result};

#[derive(shop_macros::FromRow)]
struct VariantNow {
    id: i64,
    product_id: i64,
    sku: String,
    options_json: String,
    price_minor: i64,
    currency: String,
    stock: Option<i64>,
    archived: i64,
    position: i64,
}

#[derive(shop_macros::FromRow)]
struct ProductNow {
    id: i64,
    kind: String,
    category_id: Option<i64>,
    title_json: String,
    description_json: String,
    ikpu_code: Option<String>,
    package_code: Option<String>,
    vat_percent: Option<i64>,
    archived: i64,
}

impl ProductNow {
    fn fields(&self) -> Option<ProductFields> {
        Some(ProductFields {
            kind: ProductKind::parse(&self.kind)?,
            category_id: self.category_id,
            title: texts(&self.title_json),
            description: texts(&self.description_json),
            ikpu_code: self.ikpu_code.clone(),
            package_code: self.package_code.clone(),
            vat_percent: self.vat_percent,
            archived: self.archived != 0,
        })
    }
}

/// The catalog as it is inside the import's transaction.
pub(super) struct Existing {
    variants: HashMap<i64, VariantNow>,
    by_sku: HashMap<String, i64>,
    products: HashMap<i64, ProductNow>,
    categories: HashSet<i64>,
}

impl Existing {
    pub(super) async fn load(conn: &mut sqlx::AnyConnection) -> Result<Existing> {
        let variants: Vec<VariantNow> = sqlx::query_as(
            "SELECT id, product_id, sku, options_json, price_minor, currency, stock, archived, position FROM variants",
        )
        .fetch_all(&mut *conn)
        .await?;
        let products: Vec<ProductNow> = sqlx::query_as(
            "SELECT id, kind, category_id, title_json, description_json, ikpu_code, package_code, vat_percent, archived FROM products",
        )
        .fetch_all(&mut *conn)
        .await?;
        let categories: Vec<i64> = sqlx::query_scalar("SELECT id FROM categories")
            .fetch_all(&mut *conn)
            .await?;
        Ok(Existing {
            by_sku: variants.iter().map(|v| (v.sku.clone(), v.id)).collect(),
            variants: variants.into_iter().map(|v| (v.id, v)).collect(),
            products: products.into_iter().map(|p| (p.id, p)).collect(),
            categories: categories.into_iter().collect(),
        })
    }
}

/// Which product a row belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Target {
    Existing(i64),
    /// The n-th new product of the file.
    New(usize),
}

pub(super) struct Plan {
    /// Per row (same order as the rows): its product.
    targets: Vec<Target>,
}

/// Checks everything that needs the whole file or the stored catalog.
pub(super) fn plan(rows: &[Row], ex: &Existing, errors: &mut Vec<CsvRowError>) -> Plan {
    let mut targets = Vec::with_capacity(rows.len());
    // A new product is its kind plus its title in all three languages (as JSON, for a key).
    let mut new_keys: HashMap<(&str, String), usize> = HashMap::new();
    let mut first_of: HashMap<Target, usize> = HashMap::new();
    let mut currency_of: HashMap<Target, (String, usize)> = HashMap::new();
    let mut skus: HashMap<&str, usize> = HashMap::new();
    let mut variant_lines: HashMap<i64, usize> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let line = r.line;
        let target = match (r.variant_id, r.product_id) {
            (Some(vid), pid) => match ex.variants.get(&vid) {
                None => {
                    errors.push(row_error(line, Some("variant_id"), format!("Variant {vid} does not exist; leave variant_id empty to add a variant.")));
                    Target::Existing(0)
                }
                Some(v) => {
                    if pid.is_some_and(|p| p != v.product_id) {
                        errors.push(row_error(
                            line,
                            Some("product_id"),
                            format!(
                                "Variant {vid} belongs to product {}, not {}.",
                                v.product_id,
                                pid.unwrap_or_default()
                            ),
                        ));
                    }
                    if let Some(prev) = variant_lines.insert(vid, line) {
                        errors.push(row_error(
                            line,
                            Some("variant_id"),
                            format!("Variant {vid} is also on line {prev}."),
                        ));
                    }
                    Target::Existing(v.product_id)
                }
            },
            (None, Some(pid)) => {
                if !ex.products.contains_key(&pid) {
                    errors.push(row_error(line, Some("product_id"), format!("Product {pid} does not exist; leave product_id empty to create a product.")));
                }
                Target::Existing(pid)
            }
            (None, None) => {
                let t = &r.product.title;
                let key = (
                    r.product.kind.as_str(),
                    serde_json::to_string(t).unwrap_or_default(),
                );
                let next = new_keys.len();
                let n = *new_keys.entry(key).or_insert(next);
                Target::New(n)
            }
        };
        if let Some(c) = r.product.category_id {
            if !ex.categories.contains(&c) {
                errors.push(row_error(
                    line,
                    Some("category_id"),
                    format!("Category {c} does not exist."),
                ));
            }
        }
        match first_of.get(&target) {
            Some(&j) => {
                if let Some(col) = rows[j].product.differs(&r.product) {
                    errors.push(row_error(line, Some(col), format!("This differs from line {} for the same product; a product's columns must match on all its rows.", rows[j].line)));
                }
            }
            None => {
                first_of.insert(target.clone(), i);
            }
        }
        let cur = r.price.currency.as_str();
        match currency_of.get(&target) {
            Some((c, l)) if c != cur => errors.push(row_error(line, Some("currency"), format!("Line {l} prices this product in {c}; all variants of a product are priced in one currency."))),
            Some(_) => {}
            None => {
                currency_of.insert(target.clone(), (cur.to_string(), line));
            }
        }
        if let Some(prev) = skus.insert(r.sku.as_str(), line) {
            errors.push(row_error(
                line,
                Some("sku"),
                format!("SKU '{}' is also on line {prev}.", r.sku),
            ));
        }
        if let Some(&owner) = ex.by_sku.get(&r.sku) {
            if Some(owner) != r.variant_id {
                errors.push(row_error(
                    line,
                    Some("sku"),
                    format!("SKU '{}' is already used by variant {owner}.", r.sku),
                ));
            }
        }
        targets.push(target);
    }
    // Variants of a touched product that the file leaves alone keep their currency.
    for (target, (cur, line)) in &currency_of {
        if let Target::Existing(pid) = target {
            if let Some(v) = ex.variants.values().find(|v| {
                v.product_id == *pid && &v.currency != cur && !variant_lines.contains_key(&v.id)
            }) {
                errors.push(row_error(*line, Some("currency"), format!("Variant {} of product {pid} is priced in {}; all variants of a product are priced in one currency.", v.id, v.currency)));
            }
        }
    }
    Plan { targets }
}

pub(super) async fn apply(
    conn: &mut sqlx::AnyConnection,
    rows: &[Row],
    ex: &Existing,
    plan: &Plan,
) -> Result<CsvImportReport> {
    let now = db::now();
    let mut report = CsvImportReport {
        created: 0,
        updated: 0,
        rows: vec![],
    };
    // Products first: the fields of the first row of each (they all agree).
    let mut product_ids: BTreeMap<Target, i64> = BTreeMap::new();
    let mut changed_products: HashSet<i64> = HashSet::new();
    let mut done: HashSet<Target> = HashSet::new();
    for (r, t) in rows.iter().zip(&plan.targets) {
        if !done.insert(t.clone()) {
            continue;
        }
        match t {
            Target::Existing(pid) => {
                product_ids.insert(t.clone(), *pid);
                let now_fields = ex.products.get(pid).and_then(ProductNow::fields);
                if now_fields.as_ref() != Some(&r.product) {
                    write_product(&mut *conn, Some(*pid), &r.product, now).await?;
                    changed_products.insert(*pid);
                }
            }
            Target::New(_) => {
                let id = write_product(&mut *conn, None, &r.product, now).await?;
                product_ids.insert(t.clone(), id);
            }
        }
    }
    let mut next_position: HashMap<i64, i64> = HashMap::new();
    for (r, t) in rows.iter().zip(&plan.targets) {
        let pid = product_ids[t];
        let options = serde_json::to_string(&r.options).map_err(Error::internal)?;
        let sku_taken = |e: sqlx::Error| -> Error {
            Error::from(e).on_unique("variants.sku", || {
                Error::conflict(
                    "sku_taken",
                    format!("SKU '{}' was taken while importing; try again.", r.sku),
                )
            })
        };
        match r.variant_id.and_then(|id| ex.variants.get(&id)) {
            Some(v) => {
                let old_options: VariantOptions =
                    serde_json::from_str(&v.options_json).unwrap_or_default();
                let same = v.sku == r.sku
                    && old_options == r.options
                    && v.price_minor == r.price.amount_minor
                    && v.currency == r.price.currency.as_str()
                    && v.stock == r.stock
                    && (v.archived != 0) == r.archived;
                if !same {
                    // Stock is written only when it changed: writing back the same figure
                    // could undo an order placed after the file was exported.
                    let sql = if v.stock != r.stock {
                        "UPDATE variants SET sku = $1, options_json = $2, price_minor = $3, currency = $4, \
                         archived = $5, updated_at = $6, stock = $7 WHERE id = $8"
                    } else {
                        "UPDATE variants SET sku = $1, options_json = $2, price_minor = $3, currency = $4, \
                         archived = $5, updated_at = $6 WHERE id = $7"
                    };
                    let mut q = sqlx::query(sql)
                        .bind(&r.sku)
                        .bind(&options)
                        .bind(r.price.amount_minor)
                        .bind(r.price.currency.as_str())
                        .bind(r.archived as i64)
                        .bind(now);
                    if v.stock != r.stock {
                        q = q.bind(r.stock);
                    }
                    q.bind(v.id).execute(&mut *conn).await.map_err(sku_taken)?;
                }
                if !same || changed_products.contains(&pid) {
                    report.updated += 1;
                }
            }
            None => {
                let pos = match next_position.get(&pid) {
                    Some(p) => *p,
                    None => ex
                        .variants
                        .values()
                        .filter(|v| v.product_id == pid)
                        .map(|v| v.position + 1)
                        .max()
                        .unwrap_or(0),
                };
                next_position.insert(pid, pos + 1);
                sqlx::query(
                    "INSERT INTO variants (product_id, sku, options_json, price_minor, currency, stock, archived, position, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                )
                .bind(pid)
                .bind(&r.sku)
                .bind(&options)
                .bind(r.price.amount_minor)
                .bind(r.price.currency.as_str())
                .bind(r.stock)
                .bind(r.archived as i64)
                .bind(pos)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(sku_taken)?;
                report.created += 1;
            }
        }
    }
    Ok(report)
}

/// Inserts (`id` None) or updates a product's own columns; answers its id.
async fn write_product(
    conn: &mut sqlx::AnyConnection,
    id: Option<i64>,
    p: &ProductFields,
    now: i64,
) -> Result<i64> {
    let title = serde_json::to_string(&p.title).map_err(Error::internal)?;
    let description = serde_json::to_string(&p.description).map_err(Error::internal)?;
    let period = (p.kind == ProductKind::Subscription).then_some(2_592_000i64);
    let q = match id {
        Some(_) => sqlx::query_scalar::<_, i64>(
            "UPDATE products SET kind = $1, category_id = $2, title_json = $3, description_json = $4, \
             search_text = $5, ikpu_code = $6, package_code = $7, vat_percent = $8, archived = $9, \
             subscription_period = $10, updated_at = $11 WHERE id = $12 RETURNING id",
        ),
        None => sqlx::query_scalar::<_, i64>(
            "INSERT INTO products (kind, category_id, title_json, description_json, search_text, ikpu_code, \
             package_code, vat_percent, archived, subscription_period, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
        ),
    };
    let q = q
        .bind(p.kind.as_str())
        .bind(p.category_id)
        .bind(title)
        .bind(description)
        .bind(search_text(&p.title, &p.description))
        .bind(p.ikpu_code.clone())
        .bind(p.package_code.clone())
        .bind(p.vat_percent)
        .bind(p.archived as i64)
        .bind(period)
        .bind(now);
    let q = match id {
        Some(id) => q.bind(id),
        None => q,
    };
    Ok(q.fetch_one(conn).await?)
}
