//! `GET /api/admin/orders.csv` and `GET /api/admin/products.csv`.

use axum::extract::State;
use axum::response::Response;
use shared::{Currency, Lang, Money, Texts, VariantOptions};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{attachment, write_csv, PRODUCT_COLUMNS};
use crate::admin::auth::Admin;
use crate::admin::orders::{filtered, ListQuery};
use crate::admin::CatalogAdmin;
use crate::catalog::repo::texts;
use crate::error::{AppQuery, Error, Result};
use crate::orders::repo;

const ORDER_COLUMNS: &[&str] = &[
    "id",
    "created_at",
    "status",
    "payment_method",
    "total",
    "currency",
    "customer_id",
    "contact_name",
    "contact_phone",
    "contact_address",
    "items",
];
/// Orders are read in pages so a large export does not hold one huge query result twice.
const PAGE: i64 = 500;

/// ISO-8601 in UTC (`2026-11-25T15:06:52Z`), which spreadsheets and scripts both parse.
pub fn iso(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// The orders matching the list's filters as a CSV file (UTF-8 with a byte-order mark).
#[utoipa::path(get, path = "/api/admin/orders.csv", tag = "admin", security(("admin_session" = [])),
    params(crate::admin::orders::ListQuery),
    responses((status = 200, description = "The CSV file.", content_type = "text/csv", body = String)))]
pub(crate) async fn orders(
    State(st): State<CatalogAdmin>,
    _admin: Admin,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<Response> {
    let mut before = i64::MAX;
    let mut rows = vec![];
    loop {
        let heads = filtered(&st.db, &q, before, PAGE).await?;
        let Some(last) = heads.last() else { break };
        before = last.id;
        let full = heads.len() as i64 == PAGE;
        let orders = repo::load_many(
            &st.db,
            &heads,
            st.config.default_lang,
            &st.config.lang_fallback,
        )
        .await?;
        for o in orders {
            let contact = o.contact.clone().unwrap_or_default();
            let items = o
                .items
                .iter()
                .map(|i| format!("{} x {} ({})", i.quantity, i.title, i.sku))
                .collect::<Vec<_>>()
                .join("; ");
            rows.push(vec![
                o.id.to_string(),
                iso(o.created_at),
                o.status.as_str().to_string(),
                o.payment_method.as_str().to_string(),
                o.total.major_string(),
                o.total.currency.as_str().to_string(),
                o.customer_id.map(|c| c.to_string()).unwrap_or_default(),
                contact.name,
                contact.phone,
                contact.address,
                items,
            ]);
        }
        if !full {
            break;
        }
    }
    attachment(write_csv(ORDER_COLUMNS, &rows)?, "orders.csv")
}

/// `k=v;k=v`, keys in order (options are a sorted map).
pub fn options_cell(o: &VariantOptions) -> String {
    o.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

#[derive(shop_macros::FromRow)]
struct Row {
    product_id: i64,
    variant_id: i64,
    kind: String,
    category_id: Option<i64>,
    title_json: String,
    description_json: String,
    sku: String,
    options_json: String,
    price_minor: i64,
    currency: String,
    stock: Option<i64>,
    ikpu_code: Option<String>,
    package_code: Option<String>,
    vat_percent: Option<i64>,
    archived: i64,
    product_archived: i64,
}

/// One row per variant, products in id order, variants in their display order. A product
/// with no variants left has nothing to sell or price and is not exported.
#[utoipa::path(get, path = "/api/admin/products.csv", tag = "admin", security(("admin_session" = [])),
    responses((status = 200, description = "The CSV file, one row per variant (the import reads the same columns).", content_type = "text/csv", body = String)))]
pub async fn products(State(st): State<CatalogAdmin>, _admin: Admin) -> Result<Response> {
    let rows = sqlx::query_as::<_, Row>(
        "SELECT p.id AS product_id, v.id AS variant_id, p.kind, p.category_id, p.title_json, \
         p.description_json, v.sku, v.options_json, v.price_minor, v.currency, v.stock, \
         p.ikpu_code, p.package_code, p.vat_percent, v.archived, p.archived AS product_archived \
         FROM variants v JOIN products p ON p.id = v.product_id \
         ORDER BY p.id, v.position, v.id",
    )
    .fetch_all(&st.db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let title: Texts = texts(&r.title_json);
        let desc: Texts = texts(&r.description_json);
        let lang = |t: &Texts, l: Lang| t.get_raw(l).unwrap_or("").to_string();
        let options: VariantOptions = serde_json::from_str(&r.options_json).unwrap_or_default();
        let price = Money::new(
            r.price_minor,
            Currency::new(&r.currency).map_err(Error::internal)?,
        );
        out.push(vec![
            r.product_id.to_string(),
            r.variant_id.to_string(),
            r.kind,
            r.category_id.map(|c| c.to_string()).unwrap_or_default(),
            lang(&title, Lang::Uz),
            lang(&title, Lang::Ru),
            lang(&title, Lang::En),
            lang(&desc, Lang::Uz),
            lang(&desc, Lang::Ru),
            lang(&desc, Lang::En),
            r.sku,
            options_cell(&options),
            price.major_string(),
            r.currency,
            r.stock.map(|s| s.to_string()).unwrap_or_default(),
            r.ikpu_code.unwrap_or_default(),
            r.package_code.unwrap_or_default(),
            r.vat_percent.map(|v| v.to_string()).unwrap_or_default(),
            r.archived.to_string(),
            r.product_archived.to_string(),
        ]);
    }
    attachment(write_csv(PRODUCT_COLUMNS, &out)?, "products.csv")
}
