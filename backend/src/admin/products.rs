//! Products, variants and stock.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use shared::admin::AdminProduct;
use shared::{Money, Page, Product, ProductKind, Texts, Variant, VariantOptions};

use super::auth::{record_audit, Admin};
use super::validate;
use crate::catalog::repo::{self as catalog, search_text, ProductRow, View, PRODUCT_COLS};
use crate::catalog::{decode_cursor, encode_cursor};
use crate::db;
use crate::error::{is_unique_violation, AppJson, AppPath, AppQuery, Error, Result};
use crate::state::AppState;
use sqlx::AnyConnection;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/products", get(list).post(create))
        .route(
            "/api/admin/products/{id}",
            get(one).patch(update).delete(remove),
        )
        .route("/api/admin/products/{id}/variants", post(add_variant))
        .route(
            "/api/admin/variants/{id}",
            axum::routing::patch(update_variant).delete(remove_variant),
        )
        .route("/api/admin/variants/{id}/stock", put(set_stock))
}

fn view(st: &AppState) -> View<'_> {
    View {
        lang: st.config.default_lang,
        fallback: &st.config.lang_fallback,
        admin: true,
    }
}

/// Reads through `conn`, so inside a change's transaction it sees that change.
async fn fetch(conn: &mut AnyConnection, st: &AppState, id: i64) -> Result<Product> {
    catalog::product(conn, id, view(st))
        .await?
        .ok_or_else(|| Error::not_found("product"))
}

/// The product as a merchant sees it: the catalog shape plus the fields only the admin edits.
pub async fn admin_product(
    conn: &mut AnyConnection,
    st: &AppState,
    id: i64,
) -> Result<AdminProduct> {
    let product = fetch(&mut *conn, st, id).await?;
    #[derive(sqlx::FromRow)]
    struct Row {
        digital_content: Option<String>,
        subscription_period: Option<i64>,
        ikpu_code: Option<String>,
        package_code: Option<String>,
        vat_percent: Option<i64>,
    }
    let r = sqlx::query_as::<_, Row>(
        "SELECT digital_content, subscription_period, ikpu_code, package_code, vat_percent \
         FROM products WHERE id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await?;
    Ok(AdminProduct {
        product,
        digital_content: r.digital_content,
        subscription_period: r.subscription_period,
        ikpu_code: r.ikpu_code,
        package_code: r.package_code,
        vat_percent: r.vat_percent,
    })
}

pub(crate) fn snapshot<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(Error::internal)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    q: Option<String>,
    category: Option<i64>,
    kind: Option<String>,
    archived: Option<bool>,
    /// `out`: nothing left to sell (every live variant has tracked stock 0); `low`: some live
    /// variant has tracked stock at or below `low_stock` (default 5, as on the dashboard);
    /// `in`: some live variant can be sold (unlimited or stock above 0).
    stock: Option<String>,
    low_stock: Option<i64>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// Products, archived ones included on request, with filters for the admin's list.
#[utoipa::path(get, path = "/api/admin/products", tag = "admin", security(("admin_session" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page of products with their full texts.", body = Page<Product>)))]
async fn list(
    State(st): State<AppState>,
    _admin: Admin,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<AppJson<Page<Product>>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => decode_cursor(c)?,
        None => 0,
    };
    let mut sql = format!("SELECT {PRODUCT_COLS} FROM products WHERE id > $1");
    let mut n = 1;
    let mut binds: Vec<Bind> = vec![Bind::I(after)];
    if let Some(c) = q.category {
        n += 1;
        sql.push_str(&format!(" AND category_id = ${n}"));
        binds.push(Bind::I(c));
    }
    if let Some(k) = q.kind.as_deref().filter(|k| !k.is_empty()) {
        let k = ProductKind::parse(k).ok_or_else(|| {
            Error::field(
                "invalid_kind",
                "kind",
                "kind is physical, digital or subscription",
            )
        })?;
        n += 1;
        sql.push_str(&format!(" AND kind = ${n}"));
        binds.push(Bind::S(k.as_str().into()));
    }
    match q.stock.as_deref().filter(|s| !s.is_empty()) {
        None => {}
        Some("out") => sql.push_str(
            " AND NOT EXISTS (SELECT 1 FROM variants v WHERE v.product_id = products.id \
             AND v.archived = 0 AND (v.stock IS NULL OR v.stock > 0))",
        ),
        Some("in") => sql.push_str(
            " AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = products.id \
             AND v.archived = 0 AND (v.stock IS NULL OR v.stock > 0))",
        ),
        Some("low") => {
            let t = q.low_stock.unwrap_or(5);
            if !(0..=1_000_000_000).contains(&t) {
                return Err(Error::field(
                    "invalid_low_stock",
                    "low_stock",
                    "The low-stock threshold is a whole number from 0.",
                ));
            }
            n += 1;
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM variants v WHERE v.product_id = products.id \
                 AND v.archived = 0 AND v.stock IS NOT NULL AND v.stock <= ${n})"
            ));
            binds.push(Bind::I(t));
        }
        Some(_) => {
            return Err(Error::field(
                "invalid_stock_filter",
                "stock",
                "stock is out, low or in",
            ))
        }
    }
    match q.archived {
        Some(true) => sql.push_str(" AND archived = 1"),
        Some(false) => sql.push_str(" AND archived = 0"),
        None => {}
    }
    if let Some(s) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        n += 1;
        sql.push_str(&format!(
            " AND (search_text LIKE ${n} ESCAPE '\\' OR id IN (SELECT product_id FROM variants WHERE LOWER(sku) LIKE ${n} ESCAPE '\\'))"
        ));
        binds.push(Bind::S(catalog::like_pattern(s)));
    }
    n += 1;
    sql.push_str(&format!(" ORDER BY id LIMIT ${n}"));
    binds.push(Bind::I(limit + 1));
    let mut query = sqlx::query_as::<_, ProductRow>(&sql);
    for b in binds {
        query = match b {
            Bind::I(i) => query.bind(i),
            Bind::S(s) => query.bind(s),
        };
    }
    let mut rows = query.fetch_all(&st.db.pool).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(r.id))
    } else {
        None
    };
    let items = catalog::assemble(&mut *st.db.pool.acquire().await?, &rows, view(&st)).await?;
    Ok(AppJson(Page { items, next_cursor }))
}

enum Bind {
    I(i64),
    S(String),
}

#[utoipa::path(get, path = "/api/admin/products/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The product's id.")),
    responses((status = 200, description = "The product with the merchant's fields.", body = AdminProduct), (status = 404, description = "No such product.")))]
async fn one(
    State(st): State<AppState>,
    _admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<AdminProduct>> {
    Ok(AppJson(
        admin_product(&mut *st.db.pool.acquire().await?, &st, id).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct NewVariant {
    sku: String,
    #[serde(default)]
    options: VariantOptions,
    price: Money,
    #[serde(default)]
    stock: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct NewProduct {
    kind: ProductKind,
    category_id: Option<i64>,
    title: Texts,
    #[serde(default)]
    description: Texts,
    #[serde(default)]
    variants: Vec<NewVariant>,
    #[serde(default)]
    images: Vec<String>,
    digital_content: Option<String>,
    ikpu_code: Option<String>,
    package_code: Option<String>,
    vat_percent: Option<i64>,
}

pub(crate) fn check_variant_money(kind: ProductKind, price: &Money, field: &str) -> Result<()> {
    validate::price(price, field)?;
    if kind == ProductKind::Subscription {
        if price.currency.as_str() != "XTR" {
            return Err(Error::field(
                "invalid_currency",
                &format!("{field}.currency"),
                "Subscriptions are sold for Telegram Stars (XTR).",
            ));
        }
        if price.amount_minor > 10_000 {
            return Err(Error::field(
                "invalid_price",
                &format!("{field}.amount_minor"),
                "Telegram allows at most 10000 Stars per subscription period.",
            ));
        }
    }
    Ok(())
}

async fn check_category(conn: &mut AnyConnection, id: Option<i64>) -> Result<()> {
    if let Some(id) = id {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM categories WHERE id = $1")
            .bind(id)
            .fetch_one(conn)
            .await?;
        if n == 0 {
            return Err(Error::field(
                "unknown_category",
                "category_id",
                format!("Category {id} does not exist."),
            ));
        }
    }
    Ok(())
}

fn sku_taken(sku: &str, field: &str) -> Error {
    Error::field(
        "sku_taken",
        field,
        format!("SKU '{sku}' is already used by another variant."),
    )
}

#[utoipa::path(post, path = "/api/admin/products", tag = "admin", security(("admin_session" = [])),
    request_body = NewProduct,
    responses(
        (status = 201, description = "The new product with its and its variants' ids.", body = AdminProduct),
        (status = 409, description = "A SKU is already taken."),
        (status = 422, description = "`invalid_currency`, or a category that does not exist."),
    ))]
async fn create(
    State(st): State<AppState>,
    admin: Admin,
    AppJson(mut req): AppJson<NewProduct>,
) -> Result<Response> {
    // Stored as an edit stores them (no "" for a language left empty).
    req.title = req.title.cleaned();
    req.description = req.description.cleaned();
    validate::texts_required(&req.title, "title", 120)?;
    validate::texts_max(&req.description, "description", 4000)?;
    if req.variants.is_empty() {
        return Err(Error::field(
            "variants_required",
            "variants",
            "Add at least one variant with a price.",
        ));
    }
    let currency = req.variants[0].price.currency.clone();
    let mut skus = vec![];
    for (i, v) in req.variants.iter().enumerate() {
        let f = format!("variants[{i}]");
        let sku = validate::sku(&v.sku, &format!("{f}.sku"))?;
        if skus.contains(&sku) {
            return Err(sku_taken(&sku, &format!("{f}.sku")));
        }
        skus.push(sku);
        check_variant_money(req.kind, &v.price, &format!("{f}.price"))?;
        if v.price.currency != currency {
            return Err(Error::field(
                "mixed_currencies",
                &format!("{f}.price.currency"),
                "All variants of a product are priced in one currency.",
            ));
        }
        validate::stock(v.stock, &format!("{f}.stock"))?;
    }
    let now = db::now();
    let mut tx = st.db.begin_write().await?;
    check_category(tx.conn(), req.category_id).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO products (category_id, kind, title_json, description_json, images_json, search_text, \
         digital_content, subscription_period, ikpu_code, package_code, vat_percent, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(req.category_id)
    .bind(req.kind.as_str())
    .bind(serde_json::to_string(&req.title).map_err(Error::internal)?)
    .bind(serde_json::to_string(&req.description).map_err(Error::internal)?)
    .bind(serde_json::to_string(&req.images).map_err(Error::internal)?)
    .bind(search_text(&req.title, &req.description))
    .bind(req.digital_content.as_deref())
    .bind((req.kind == ProductKind::Subscription).then_some(2_592_000i64))
    .bind(req.ikpu_code.as_deref())
    .bind(req.package_code.as_deref())
    .bind(req.vat_percent)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    for (i, v) in req.variants.iter().enumerate() {
        insert_variant(tx.conn(), id, &skus[i], v, i as i64, now)
            .await
            .map_err(|e| match e {
                Error::Db(ref d) if is_unique_violation(d) => {
                    sku_taken(&skus[i], &format!("variants[{i}].sku"))
                }
                other => other,
            })?;
    }
    let p = admin_product(tx.conn(), &st, id).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "create",
        "product",
        Some(id),
        None,
        Some(&snapshot(&p)?),
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok((StatusCode::CREATED, AppJson(p)).into_response())
}

async fn insert_variant(
    conn: &mut sqlx::AnyConnection,
    product_id: i64,
    sku: &str,
    v: &NewVariant,
    position: i64,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO variants (product_id, sku, options_json, price_minor, currency, stock, position, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(product_id)
    .bind(sku)
    .bind(serde_json::to_string(&v.options).map_err(Error::internal)?)
    .bind(v.price.amount_minor)
    .bind(v.price.currency.as_str())
    .bind(v.stock)
    .bind(position)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct ProductPatch {
    kind: Option<ProductKind>,
    #[serde(default, with = "double_option")]
    category_id: Option<Option<i64>>,
    title: Option<Texts>,
    description: Option<Texts>,
    images: Option<Vec<String>>,
    archived: Option<bool>,
    #[serde(default, with = "double_option")]
    digital_content: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    ikpu_code: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    package_code: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    vat_percent: Option<Option<i64>>,
}

/// Tells "absent" (leave as is) from `null` (clear) in a patch.
mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// Changes what is sent; the rest stays (`null` clears an optional field).
#[utoipa::path(patch, path = "/api/admin/products/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The product's id.")),
    request_body = ProductPatch,
    responses((status = 200, description = "The product as saved.", body = AdminProduct), (status = 404, description = "No such product."),
        (status = 422, description = "A category that does not exist.")))]
async fn update(
    State(st): State<AppState>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<ProductPatch>,
) -> Result<AppJson<AdminProduct>> {
    let mut tx = st.db.begin_write().await?;
    let before = admin_product(tx.conn(), &st, id).await?;
    let texts = before
        .product
        .texts
        .clone()
        .unwrap_or(shared::ProductTexts {
            title: Texts::default(),
            description: Texts::default(),
        });
    let merge = |base: &Texts, patch: &Option<Texts>| {
        let mut t = base.clone();
        if let Some(p) = patch {
            for l in shared::Lang::ALL {
                if let Some(v) = p.get_raw(l) {
                    t.set(l, v);
                }
            }
        }
        t
    };
    let title = merge(&texts.title, &req.title);
    let description = merge(&texts.description, &req.description);
    validate::texts_required(&title, "title", 120)?;
    validate::texts_max(&description, "description", 4000)?;
    let kind = req.kind.unwrap_or(before.product.kind);
    if kind != before.product.kind {
        for (i, v) in before.product.variants.iter().enumerate() {
            check_variant_money(kind, &v.price, &format!("variants[{i}].price"))?;
        }
    }
    let category_id = req.category_id.unwrap_or(before.product.category_id);
    check_category(tx.conn(), category_id).await?;
    if let Some(Some(v)) = req.vat_percent {
        if !(0..=100).contains(&v) {
            return Err(Error::field(
                "invalid_vat",
                "vat_percent",
                "VAT is a percentage from 0 to 100.",
            ));
        }
    }
    sqlx::query(
        "UPDATE products SET kind = $1, category_id = $2, title_json = $3, description_json = $4, images_json = $5, \
         search_text = $6, archived = $7, digital_content = $8, ikpu_code = $9, package_code = $10, vat_percent = $11, \
         subscription_period = $12, updated_at = $13 WHERE id = $14",
    )
    .bind(kind.as_str())
    .bind(category_id)
    .bind(serde_json::to_string(&title).map_err(Error::internal)?)
    .bind(serde_json::to_string(&description).map_err(Error::internal)?)
    .bind(serde_json::to_string(req.images.as_ref().unwrap_or(&before.product.images)).map_err(Error::internal)?)
    .bind(search_text(&title, &description))
    .bind(req.archived.unwrap_or(before.product.archived) as i64)
    .bind(req.digital_content.unwrap_or(before.digital_content.clone()))
    .bind(req.ikpu_code.unwrap_or(before.ikpu_code.clone()))
    .bind(req.package_code.unwrap_or(before.package_code.clone()))
    .bind(req.vat_percent.unwrap_or(before.vat_percent))
    .bind((kind == ProductKind::Subscription).then_some(2_592_000i64))
    .bind(db::now())
    .bind(id)
    .execute(tx.conn())
    .await?;
    let after = admin_product(tx.conn(), &st, id).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "update",
        "product",
        Some(id),
        Some(&snapshot(&before)?),
        Some(&snapshot(&after)?),
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok(AppJson(after))
}

/// Deletes a product nobody ordered; a product that orders reference is archived instead,
/// so order history keeps pointing at it.
/// Deletes a product never ordered; archives one that was (orders keep pointing at it).
#[utoipa::path(delete, path = "/api/admin/products/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The product's id.")),
    responses((status = 200, description = "`{id, result: \"deleted\" | \"archived\"}`.", body = Object), (status = 404, description = "No such product.")))]
async fn remove(
    State(st): State<AppState>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<serde_json::Value>> {
    let mut tx = st.db.begin_write().await?;
    let before = snapshot(&fetch(tx.conn(), &st, id).await?)?;
    archive_or_delete(
        &st,
        tx,
        &admin,
        "product",
        id,
        before,
        "SELECT COUNT(*) FROM order_items WHERE product_id = $1",
        "UPDATE products SET archived = 1, updated_at = $2 WHERE id = $1",
        &[
            "DELETE FROM cart_items WHERE variant_id IN (SELECT id FROM variants WHERE product_id = $1)",
            "DELETE FROM variants WHERE product_id = $1",
            "DELETE FROM products WHERE id = $1",
        ],
    )
    .await
}

/// Deletes a row no order references, or archives it when one does. The check runs inside the
/// write transaction, so an order placed meanwhile cannot be left pointing at a deleted row.
/// Every statement takes the id as `$1`; the archive statement also takes the time as `$2`.
#[allow(clippy::too_many_arguments)]
async fn archive_or_delete(
    st: &AppState,
    mut tx: db::WriteTx,
    admin: &Admin,
    entity: &str,
    id: i64,
    before: serde_json::Value,
    refs_sql: &str,
    archive_sql: &str,
    delete_sqls: &[&str],
) -> Result<AppJson<serde_json::Value>> {
    let refs: i64 = sqlx::query_scalar(refs_sql)
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
    let outcome = if refs > 0 {
        sqlx::query(archive_sql)
            .bind(id)
            .bind(db::now())
            .execute(tx.conn())
            .await?;
        "archived"
    } else {
        for sql in delete_sqls {
            sqlx::query(sql).bind(id).execute(tx.conn()).await?;
        }
        "deleted"
    };
    record_audit(
        tx.conn(),
        &admin.actor(),
        outcome,
        entity,
        Some(id),
        Some(&before),
        None,
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok(AppJson(json!({"id": id, "result": outcome})))
}

#[utoipa::path(post, path = "/api/admin/products/{id}/variants", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The product's id.")),
    request_body = NewVariant,
    responses((status = 201, description = "The new variant.", body = Variant), (status = 404, description = "No such product."),
        (status = 409, description = "The SKU is already taken."),
        (status = 422, description = "`invalid_currency`.")))]
async fn add_variant(
    State(st): State<AppState>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
    AppJson(v): AppJson<NewVariant>,
) -> Result<Response> {
    let mut tx = st.db.begin_write().await?;
    let product = fetch(tx.conn(), &st, id).await?;
    let sku = validate::sku(&v.sku, "sku")?;
    check_variant_money(product.kind, &v.price, "price")?;
    if let Some(first) = product.variants.first() {
        if first.price.currency != v.price.currency {
            return Err(Error::field(
                "mixed_currencies",
                "price.currency",
                "All variants of a product are priced in one currency.",
            ));
        }
    }
    validate::stock(v.stock, "stock")?;
    let vid = insert_variant(
        tx.conn(),
        id,
        &sku,
        &v,
        product.variants.len() as i64,
        db::now(),
    )
    .await
    .map_err(|e| match e {
        Error::Db(ref d) if is_unique_violation(d) => sku_taken(&sku, "sku"),
        other => other,
    })?;
    let variant = variant(tx.conn(), vid).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "create",
        "variant",
        Some(vid),
        None,
        Some(&snapshot(&variant)?),
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok((StatusCode::CREATED, AppJson(variant)).into_response())
}

async fn variant_row(conn: &mut AnyConnection, id: i64) -> Result<catalog::VariantRow> {
    let sql = format!(
        "SELECT {} FROM variants WHERE id = $1",
        catalog::VARIANT_COLS
    );
    sqlx::query_as::<_, catalog::VariantRow>(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::not_found("variant"))
}

async fn variant(conn: &mut AnyConnection, id: i64) -> Result<Variant> {
    variant_row(conn, id).await?.to_variant()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct VariantPatch {
    sku: Option<String>,
    options: Option<VariantOptions>,
    price: Option<Money>,
    #[serde(default, with = "double_option")]
    stock: Option<Option<i64>>,
    archived: Option<bool>,
}

#[utoipa::path(patch, path = "/api/admin/variants/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The variant's id.")),
    request_body = VariantPatch,
    responses((status = 200, description = "The variant as saved.", body = Variant), (status = 404, description = "No such variant."),
        (status = 409, description = "The SKU is already taken."),
        (status = 422, description = "`invalid_currency`.")))]
async fn update_variant(
    State(st): State<AppState>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<VariantPatch>,
) -> Result<AppJson<Variant>> {
    let mut tx = st.db.begin_write().await?;
    let row = variant_row(tx.conn(), id).await?;
    let before = row.to_variant()?;
    let product = fetch(tx.conn(), &st, row.product_id).await?;
    let sku = match &req.sku {
        Some(s) => validate::sku(s, "sku")?,
        None => before.sku.clone(),
    };
    let price = req.price.clone().unwrap_or(before.price.clone());
    check_variant_money(product.kind, &price, "price")?;
    if product
        .variants
        .iter()
        .any(|v| v.id != id && v.price.currency != price.currency)
    {
        return Err(Error::field(
            "mixed_currencies",
            "price.currency",
            "All variants of a product are priced in one currency.",
        ));
    }
    let stock = req.stock.unwrap_or(before.stock);
    validate::stock(stock, "stock")?;
    // Stock is only written when the patch names it: writing back the figure read a moment
    // ago would undo orders placed in between.
    let stock_sql = if req.stock.is_some() {
        ", stock = $8"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE variants SET sku = $1, options_json = $2, price_minor = $3, currency = $4, archived = $5, updated_at = $6{stock_sql} WHERE id = $7"
    );
    let mut q = sqlx::query(&sql)
        .bind(&sku)
        .bind(
            serde_json::to_string(req.options.as_ref().unwrap_or(&before.options))
                .map_err(Error::internal)?,
        )
        .bind(price.amount_minor)
        .bind(price.currency.as_str())
        .bind(req.archived.map_or(row.archived, |a| a as i64))
        .bind(db::now())
        .bind(id);
    if req.stock.is_some() {
        q = q.bind(stock);
    }
    q.execute(tx.conn()).await.map_err(|e| {
        if is_unique_violation(&e) {
            sku_taken(&sku, "sku")
        } else {
            e.into()
        }
    })?;
    let after = variant(tx.conn(), id).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "update",
        "variant",
        Some(id),
        Some(&snapshot(&before)?),
        Some(&snapshot(&after)?),
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok(AppJson(after))
}

/// Deletes a variant never ordered; archives one that was.
#[utoipa::path(delete, path = "/api/admin/variants/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The variant's id.")),
    responses((status = 200, description = "`{id, result: \"deleted\" | \"archived\"}`.", body = Object), (status = 404, description = "No such variant.")))]
async fn remove_variant(
    State(st): State<AppState>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<serde_json::Value>> {
    let mut tx = st.db.begin_write().await?;
    let before = snapshot(&variant(tx.conn(), id).await?)?;
    archive_or_delete(
        &st,
        tx,
        &admin,
        "variant",
        id,
        before,
        "SELECT COUNT(*) FROM order_items WHERE variant_id = $1",
        "UPDATE variants SET archived = 1, updated_at = $2 WHERE id = $1",
        &[
            "DELETE FROM cart_items WHERE variant_id = $1",
            "DELETE FROM variants WHERE id = $1",
        ],
    )
    .await
}

/// `{"stock": n | null}` sets free stock; `{"delta": n}` adds (or with a negative number
/// removes) units atomically, never below zero, so a count can be corrected while orders
/// are being placed.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct StockChange {
    #[serde(default, with = "double_option")]
    stock: Option<Option<i64>>,
    delta: Option<i64>,
}

#[utoipa::path(put, path = "/api/admin/variants/{id}/stock", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The variant's id.")),
    request_body = StockChange,
    responses((status = 200, description = "The variant with its new stock.", body = Variant), (status = 404, description = "No such variant."),
        (status = 409, description = "The change would take stock below zero.")))]
async fn set_stock(
    State(st): State<AppState>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<StockChange>,
) -> Result<AppJson<Variant>> {
    let mut tx = st.db.begin_write().await?;
    let before = variant(tx.conn(), id).await?;
    match (req.stock, req.delta) {
        (Some(s), None) => {
            validate::stock(s, "stock")?;
            sqlx::query("UPDATE variants SET stock = $1, updated_at = $2 WHERE id = $3")
                .bind(s)
                .bind(db::now())
                .bind(id)
                .execute(tx.conn())
                .await?;
        }
        (None, Some(d)) => {
            if !(-1_000_000_000..=1_000_000_000).contains(&d) {
                return Err(Error::field(
                    "invalid_stock",
                    "delta",
                    "Change stock by at most 1000000000 units at a time.",
                ));
            }
            let n = sqlx::query(
                "UPDATE variants SET stock = stock + $1, updated_at = $2 WHERE id = $3 AND stock IS NOT NULL \
                 AND stock + $1 >= 0 AND stock + $1 <= 1000000000",
            )
            .bind(d)
            .bind(db::now())
            .bind(id)
            .execute(tx.conn())
            .await?
            .rows_affected();
            if n == 0 {
                return Err(Error::field(
                    "invalid_stock",
                    "delta",
                    if before.stock.is_none() {
                        "This variant has unlimited stock; set a number first.".to_string()
                    } else {
                        format!(
                            "Only {} in stock; cannot remove {}.",
                            before.stock.unwrap_or(0),
                            -d
                        )
                    },
                ));
            }
        }
        _ => {
            return Err(Error::field(
                "invalid_stock",
                "stock",
                "Send either {\"stock\": n | null} or {\"delta\": n}.",
            ));
        }
    }
    let after = variant(tx.conn(), id).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "stock",
        "variant",
        Some(id),
        Some(&snapshot(&before)?),
        Some(&snapshot(&after)?),
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok(AppJson(after))
}
