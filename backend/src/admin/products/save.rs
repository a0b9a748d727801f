//! `PUT /api/admin/products/{id}`: the editor's one Save. Texts, kind, category, fiscal
//! fields and the full variant list land in one write transaction with their audit rows, or
//! nothing does: a save that stopped half-way (texts saved, the third variant refused) left
//! a product no merchant had written.

use std::collections::HashSet;

use axum::extract::State;
use shared::admin::{AdminProduct, ProductSave};

use super::repo::{self, ProductFields, VariantChange, VariantFields};
use super::{
    admin_product, check_category, check_variant_money, check_vat, mixed_currencies, sku_taken,
    snapshot, validate,
};
use crate::admin::auth::{record_audit, Admin};
use crate::admin::CatalogAdmin;
use crate::db;
use crate::error::{AppJson, AppPath, Error, Result};

/// What happens to one variant, decided before anything is written.
struct Planned {
    /// Its index in the request, for error fields.
    index: usize,
    id: Option<i64>,
    sku: String,
}

/// Saves the whole product (texts, settings, every variant) in one transaction.
#[utoipa::path(put, path = "/api/admin/products/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The product's id.")),
    request_body = ProductSave,
    responses((status = 200, description = "The product as saved.", body = AdminProduct),
        (status = 400, description = "A field is wrong (`error.field` names it, e.g. `variants[2].sku`); nothing was saved."),
        (status = 404, description = "No such product.")))]
pub(crate) async fn save(
    State(st): State<CatalogAdmin>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
    AppJson(mut req): AppJson<ProductSave>,
) -> Result<AppJson<AdminProduct>> {
    req.title = req.title.cleaned();
    req.description = req.description.cleaned();
    let planned = check(&req)?;
    let mut tx = st.db.begin_write().await?;
    let before = admin_product(tx.conn(), &st, id).await?;
    check_category(tx.conn(), req.category_id).await?;
    let existing: HashSet<i64> = before.product.variants.iter().map(|v| v.id).collect();
    for p in &planned {
        if let Some(vid) = p.id.filter(|v| !existing.contains(v)) {
            return Err(Error::field(
                "unknown_variant",
                &format!("variants[{}].id", p.index),
                format!("Variant {vid} is not a variant of this product (reload the page: it may have been removed)."),
            ));
        }
    }
    let now = db::now();
    let actor = admin.actor();

    // Variants left out go first, so their SKUs are free for the ones that stay.
    let kept: HashSet<i64> = planned.iter().filter_map(|p| p.id).collect();
    for v in before
        .product
        .variants
        .iter()
        .filter(|v| !kept.contains(&v.id))
    {
        // Archived (orders name it) or deleted, as `DELETE /api/admin/variants/{id}` does; an
        // archived variant keeps its SKU, so a new variant cannot take that one.
        let outcome = repo::remove_variant(tx.conn(), v.id, now).await?;
        record_audit(
            tx.conn(),
            &actor,
            outcome.as_str(),
            "variant",
            Some(v.id),
            Some(&snapshot(v)?),
            None,
        )
        .await?;
    }
    // Kept variants whose SKU changes step aside first: two of them may be trading SKUs.
    for p in &planned {
        if let Some(vid) = p.id {
            let was = before.product.variants.iter().find(|v| v.id == vid);
            if was.is_some_and(|v| v.sku != p.sku) {
                repo::park_sku(tx.conn(), vid).await?;
            }
        }
    }
    for (p, v) in planned.iter().zip(&req.variants) {
        let field = format!("variants[{}].sku", p.index);
        let fields = VariantFields {
            sku: &p.sku,
            options: &v.options,
            price: &v.price,
        };
        let position = p.index as i64;
        match p.id {
            Some(vid) => {
                let change = VariantChange {
                    fields,
                    archived: None,
                    stock: v.stock,
                    position: Some(position),
                };
                repo::update_variant(tx.conn(), vid, &change, now)
                    .await
                    .map_err(|e| e.on_unique("variants.sku", || sku_taken(&p.sku, &field)))?;
            }
            None => {
                let stock = v.stock.flatten();
                let vid = repo::insert_variant(tx.conn(), id, &fields, stock, position, now)
                    .await
                    .map_err(|e| e.on_unique("variants.sku", || sku_taken(&p.sku, &field)))?;
                let row = repo::variant_row(tx.conn(), vid)
                    .await?
                    .ok_or_else(|| Error::internal("inserted variant vanished"))?;
                record_audit(
                    tx.conn(),
                    &actor,
                    "create",
                    "variant",
                    Some(vid),
                    None,
                    Some(&snapshot(&row.to_variant()?)?),
                )
                .await?;
            }
        }
    }
    let fields = ProductFields {
        kind: req.kind,
        category_id: req.category_id,
        title: &req.title,
        description: &req.description,
        images: &before.product.images,
        archived: before.product.archived,
        digital_content: req.digital_content.as_deref(),
        ikpu_code: req.ikpu_code.as_deref(),
        package_code: req.package_code.as_deref(),
        vat_percent: req.vat_percent,
    };
    repo::update_product(tx.conn(), id, &fields, now).await?;
    let after = admin_product(tx.conn(), &st, id).await?;
    // One row for the product with its variants before and after: the whole save as the
    // merchant made it.
    record_audit(
        tx.conn(),
        &actor,
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

/// The most variants one whole-product save may list.
pub const MAX_VARIANTS: usize = 200;

/// Everything that can be checked without the database, in the order the editor shows it,
/// so the first error named is the first one on the page.
fn check(req: &ProductSave) -> Result<Vec<Planned>> {
    validate::texts_required(&req.title, "title", 120)?;
    validate::texts_max(&req.description, "description", 4000)?;
    check_vat(req.vat_percent)?;
    if req.variants.is_empty() {
        return Err(Error::field(
            "variants_required",
            "variants",
            "Add at least one variant with a price.",
        ));
    }
    // One save is one transaction and a check of every pair of SKUs: bounded, so a 1 MiB body
    // of tiny variants cannot hold the writer for long.
    if req.variants.len() > MAX_VARIANTS {
        return Err(Error::field(
            "too_many_variants",
            "variants",
            format!(
                "A product can have at most {MAX_VARIANTS} variants; this save lists {}.",
                req.variants.len()
            ),
        ));
    }
    let currency = &req.variants[0].price.currency;
    let mut planned: Vec<Planned> = Vec::with_capacity(req.variants.len());
    for (i, v) in req.variants.iter().enumerate() {
        let f = format!("variants[{i}]");
        let sku = validate::sku(&v.sku, &format!("{f}.sku"))?;
        if planned.iter().any(|p| p.sku == sku) {
            return Err(sku_taken(&sku, &format!("{f}.sku")));
        }
        if let Some(vid) = v.id {
            if planned.iter().any(|p| p.id == Some(vid)) {
                return Err(Error::field(
                    "duplicate_variant",
                    &format!("{f}.id"),
                    format!("Variant {vid} is listed twice."),
                ));
            }
        }
        check_variant_money(req.kind, &v.price, &format!("{f}.price"))?;
        if &v.price.currency != currency {
            return Err(mixed_currencies(&format!("{f}.price.currency")));
        }
        if let Some(s) = v.stock {
            validate::stock(s, &format!("{f}.stock"))?;
        }
        planned.push(Planned {
            index: i,
            id: v.id,
            sku,
        });
    }
    Ok(planned)
}
