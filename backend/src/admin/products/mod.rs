//! Products, variants and stock: the `/api/admin/products…` and `/api/admin/variants…`
//! routes. The queries are in [`repo`]; the one-request save of a whole product in [`save`].

mod repo;
pub(crate) mod save;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde::Deserialize;
use shared::admin::{
    AdminProduct, NewProduct, NewVariant, ProductPatch, Removed, StockChange, VariantPatch,
};
use shared::{Money, Page, Product, ProductKind, Texts, Variant};
use sqlx::AnyConnection;

use super::auth::{record_audit, Admin};
use super::validate;
use crate::admin::CatalogAdmin;
use crate::catalog::repo::{self as catalog, View};
use crate::catalog::{decode_cursor, encode_cursor};
use crate::db;
use crate::error::{AppJson, AppPath, AppQuery, Error, Result};
use crate::state::AppState;
use repo::{ProductFields, VariantChange, VariantFields};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/products", get(list).post(create))
        .route(
            "/api/admin/products/{id}",
            get(one).put(save::save).patch(update).delete(remove),
        )
        .route("/api/admin/products/{id}/variants", post(add_variant))
        .route(
            "/api/admin/variants/{id}",
            axum::routing::patch(update_variant).delete(remove_variant),
        )
        .route("/api/admin/variants/{id}/stock", put(set_stock))
}

fn view(st: &CatalogAdmin) -> View<'_> {
    View {
        lang: st.config.default_lang,
        fallback: &st.config.lang_fallback,
        admin: true,
    }
}

/// Reads through `conn`, so inside a change's transaction it sees that change.
async fn fetch(conn: &mut AnyConnection, st: &CatalogAdmin, id: i64) -> Result<Product> {
    catalog::product(conn, id, view(st))
        .await?
        .ok_or_else(|| Error::not_found("product"))
}

/// The product as a merchant sees it: the catalog shape plus the fields only the admin edits.
pub async fn admin_product(
    conn: &mut AnyConnection,
    st: &CatalogAdmin,
    id: i64,
) -> Result<AdminProduct> {
    let product = fetch(&mut *conn, st, id).await?;
    let r = repo::extras(conn, id).await?;
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

impl ListQuery {
    fn filter(&self) -> Result<repo::ListFilter> {
        let kind = match self.kind.as_deref().filter(|k| !k.is_empty()) {
            None => None,
            Some(k) => Some(ProductKind::parse(k).ok_or_else(|| {
                Error::field(
                    "invalid_kind",
                    "kind",
                    "kind is physical, digital or subscription",
                )
            })?),
        };
        let stock = match self.stock.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some("out") => Some(repo::StockFilter::Out),
            Some("in") => Some(repo::StockFilter::In),
            Some("low") => {
                let t = self.low_stock.unwrap_or(5);
                if !(0..=1_000_000_000).contains(&t) {
                    return Err(Error::field(
                        "invalid_low_stock",
                        "low_stock",
                        "The low-stock threshold is a whole number from 0.",
                    ));
                }
                Some(repo::StockFilter::Low(t))
            }
            Some(_) => {
                return Err(Error::field(
                    "invalid_stock_filter",
                    "stock",
                    "stock is out, low or in",
                ))
            }
        };
        Ok(repo::ListFilter {
            category: self.category,
            kind,
            stock,
            archived: self.archived,
            search: self
                .q
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        })
    }
}

/// Products, archived ones included on request, with filters for the admin's list.
#[utoipa::path(get, path = "/api/admin/products", tag = "admin", security(("admin_session" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page of products with their full texts.", body = Page<Product>)))]
async fn list(
    State(st): State<CatalogAdmin>,
    _admin: Admin,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<AppJson<Page<Product>>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => decode_cursor(c)?,
        None => 0,
    };
    let filter = q.filter()?;
    let mut conn = st.db.pool.acquire().await?;
    let mut rows = repo::list(&mut conn, &filter, after, limit + 1).await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(r.id))
    } else {
        None
    };
    let items = catalog::assemble(&mut conn, &rows, view(&st)).await?;
    Ok(AppJson(Page { items, next_cursor }))
}

#[utoipa::path(get, path = "/api/admin/products/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The product's id.")),
    responses((status = 200, description = "The product with the merchant's fields.", body = AdminProduct), (status = 404, description = "No such product.")))]
async fn one(
    State(st): State<CatalogAdmin>,
    _admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<AdminProduct>> {
    Ok(AppJson(
        admin_product(&mut *st.db.pool.acquire().await?, &st, id).await?,
    ))
}

pub(crate) fn check_variant_money(kind: ProductKind, price: &Money, field: &str) -> Result<()> {
    validate::price(price, field)?;
    if kind == ProductKind::Subscription {
        // Stars renew them in XTR, Stripe in its own currencies; no rail renews a price in
        // sum or in crypto.
        if matches!(price.currency.as_str(), "UZS" | "TON" | "USDT") {
            return Err(Error::field(
                "invalid_currency",
                &format!("{field}.currency"),
                "Subscriptions are sold for Telegram Stars (XTR) or, through Stripe, in a card currency such as USD or EUR.",
            ));
        }
        if price.currency.as_str() == "XTR" && price.amount_minor > 10_000 {
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
    match id {
        Some(id) if !repo::category_exists(conn, id).await? => Err(Error::field(
            "unknown_category",
            "category_id",
            format!("Category {id} does not exist."),
        )),
        _ => Ok(()),
    }
}

fn check_vat(vat: Option<i64>) -> Result<()> {
    match vat {
        Some(v) if !(0..=100).contains(&v) => Err(Error::field(
            "invalid_vat",
            "vat_percent",
            "VAT is a percentage from 0 to 100.",
        )),
        _ => Ok(()),
    }
}

fn sku_taken(sku: &str, field: &str) -> Error {
    Error::field(
        "sku_taken",
        field,
        format!("SKU '{sku}' is already used by another variant."),
    )
}

fn mixed_currencies(field: &str) -> Error {
    Error::field(
        "mixed_currencies",
        field,
        "All variants of a product are priced in one currency.",
    )
}

#[utoipa::path(post, path = "/api/admin/products", tag = "admin", security(("admin_session" = [])),
    request_body = NewProduct,
    responses(
        (status = 201, description = "The new product with its and its variants' ids.", body = AdminProduct),
        (status = 400, description = "`sku_taken` (with the field), or another invalid field."),
        (status = 422, description = "`invalid_currency`, or a category that does not exist."),
    ))]
async fn create(
    State(st): State<CatalogAdmin>,
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
            return Err(mixed_currencies(&format!("{f}.price.currency")));
        }
        validate::stock(v.stock, &format!("{f}.stock"))?;
    }
    let now = db::now();
    let mut tx = st.db.begin_write().await?;
    check_category(tx.conn(), req.category_id).await?;
    let fields = ProductFields {
        kind: req.kind,
        category_id: req.category_id,
        title: &req.title,
        description: &req.description,
        images: &req.images,
        archived: false,
        digital_content: req.digital_content.as_deref(),
        ikpu_code: req.ikpu_code.as_deref(),
        package_code: req.package_code.as_deref(),
        vat_percent: req.vat_percent,
    };
    let id = repo::insert_product(tx.conn(), &fields, now).await?;
    for (i, v) in req.variants.iter().enumerate() {
        let fields = VariantFields {
            sku: &skus[i],
            options: &v.options,
            price: &v.price,
        };
        repo::insert_variant(tx.conn(), id, &fields, v.stock, i as i64, now)
            .await
            .map_err(|e| {
                e.on_unique("variants.sku", || {
                    sku_taken(&skus[i], &format!("variants[{i}].sku"))
                })
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

/// Merges a patch's languages into `base` (`""` removes one).
fn merge_texts(base: &Texts, patch: &Option<Texts>) -> Texts {
    let mut t = base.clone();
    if let Some(p) = patch {
        for l in shared::Lang::ALL {
            if let Some(v) = p.get_raw(l) {
                t.set(l, v);
            }
        }
    }
    t
}

/// Changes what is sent; the rest stays (`null` clears an optional field).
#[utoipa::path(patch, path = "/api/admin/products/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The product's id.")),
    request_body = ProductPatch,
    responses((status = 200, description = "The product as saved.", body = AdminProduct), (status = 404, description = "No such product."),
        (status = 422, description = "A category that does not exist.")))]
async fn update(
    State(st): State<CatalogAdmin>,
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
    let title = merge_texts(&texts.title, &req.title);
    let description = merge_texts(&texts.description, &req.description);
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
    if let Some(v) = req.vat_percent {
        check_vat(v)?;
    }
    let digital_content = req
        .digital_content
        .unwrap_or(before.digital_content.clone());
    let ikpu_code = req.ikpu_code.unwrap_or(before.ikpu_code.clone());
    let package_code = req.package_code.unwrap_or(before.package_code.clone());
    let fields = ProductFields {
        kind,
        category_id,
        title: &title,
        description: &description,
        images: req.images.as_deref().unwrap_or(&before.product.images),
        archived: req.archived.unwrap_or(before.product.archived),
        digital_content: digital_content.as_deref(),
        ikpu_code: ikpu_code.as_deref(),
        package_code: package_code.as_deref(),
        vat_percent: req.vat_percent.unwrap_or(before.vat_percent),
    };
    repo::update_product(tx.conn(), id, &fields, db::now()).await?;
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

/// Deletes a product never ordered; archives one that was (orders keep pointing at it).
#[utoipa::path(delete, path = "/api/admin/products/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The product's id.")),
    responses((status = 200, description = "`{id, result: \"deleted\" | \"archived\"}`.", body = Removed), (status = 404, description = "No such product.")))]
async fn remove(
    State(st): State<CatalogAdmin>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Removed>> {
    let mut tx = st.db.begin_write().await?;
    let before = snapshot(&fetch(tx.conn(), &st, id).await?)?;
    let outcome = repo::remove_product(tx.conn(), id, db::now()).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        outcome.as_str(),
        "product",
        Some(id),
        Some(&before),
        None,
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok(AppJson(Removed {
        id,
        result: outcome,
    }))
}

#[utoipa::path(post, path = "/api/admin/products/{id}/variants", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The product's id.")),
    request_body = NewVariant,
    responses((status = 201, description = "The new variant.", body = Variant), (status = 404, description = "No such product."),
        (status = 409, description = "The SKU is already taken."),
        (status = 422, description = "`invalid_currency`.")))]
async fn add_variant(
    State(st): State<CatalogAdmin>,
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
            return Err(mixed_currencies("price.currency"));
        }
    }
    validate::stock(v.stock, "stock")?;
    let fields = VariantFields {
        sku: &sku,
        options: &v.options,
        price: &v.price,
    };
    let position = product.variants.len() as i64;
    let vid = repo::insert_variant(tx.conn(), id, &fields, v.stock, position, db::now())
        .await
        .map_err(|e| e.on_unique("variants.sku", || sku_taken(&sku, "sku")))?;
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
    repo::variant_row(conn, id)
        .await?
        .ok_or_else(|| Error::not_found("variant"))
}

async fn variant(conn: &mut AnyConnection, id: i64) -> Result<Variant> {
    variant_row(conn, id).await?.to_variant()
}

#[utoipa::path(patch, path = "/api/admin/variants/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The variant's id.")),
    request_body = VariantPatch,
    responses((status = 200, description = "The variant as saved.", body = Variant), (status = 404, description = "No such variant."),
        (status = 409, description = "The SKU is already taken."),
        (status = 422, description = "`invalid_currency`.")))]
async fn update_variant(
    State(st): State<CatalogAdmin>,
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
        return Err(mixed_currencies("price.currency"));
    }
    if let Some(s) = req.stock {
        validate::stock(s, "stock")?;
    }
    let change = VariantChange {
        fields: VariantFields {
            sku: &sku,
            options: req.options.as_ref().unwrap_or(&before.options),
            price: &price,
        },
        archived: req.archived,
        stock: req.stock,
        position: None,
    };
    repo::update_variant(tx.conn(), id, &change, db::now())
        .await
        .map_err(|e| e.on_unique("variants.sku", || sku_taken(&sku, "sku")))?;
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
    responses((status = 200, description = "`{id, result: \"deleted\" | \"archived\"}`.", body = Removed), (status = 404, description = "No such variant.")))]
async fn remove_variant(
    State(st): State<CatalogAdmin>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Removed>> {
    let mut tx = st.db.begin_write().await?;
    let before = snapshot(&variant(tx.conn(), id).await?)?;
    let outcome = repo::remove_variant(tx.conn(), id, db::now()).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        outcome.as_str(),
        "variant",
        Some(id),
        Some(&before),
        None,
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok(AppJson(Removed {
        id,
        result: outcome,
    }))
}

#[utoipa::path(put, path = "/api/admin/variants/{id}/stock", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The variant's id.")),
    request_body = StockChange,
    responses((status = 200, description = "The variant with its new stock.", body = Variant), (status = 404, description = "No such variant."),
        (status = 409, description = "The change would take stock below zero.")))]
async fn set_stock(
    State(st): State<CatalogAdmin>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<StockChange>,
) -> Result<AppJson<Variant>> {
    let mut tx = st.db.begin_write().await?;
    let before = variant(tx.conn(), id).await?;
    let now = db::now();
    match (req.stock, req.delta) {
        (Some(s), None) => {
            validate::stock(s, "stock")?;
            repo::set_stock(tx.conn(), id, s, now).await?;
        }
        (None, Some(d)) => {
            if !(-1_000_000_000..=1_000_000_000).contains(&d) {
                return Err(Error::field(
                    "invalid_stock",
                    "delta",
                    "Change stock by at most 1000000000 units at a time.",
                ));
            }
            if !repo::add_stock(tx.conn(), id, d, now).await? {
                return Err(Error::field(
                    "invalid_stock",
                    "delta",
                    match before.stock {
                        None => "This variant has unlimited stock; set a number first.".to_string(),
                        Some(s) => format!("Only {s} in stock; cannot remove {}.", -d),
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
