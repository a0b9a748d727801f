//! CSV export of orders and products, and CSV import of products.
//!
//! Files are UTF-8 with a byte-order mark: Excel (the merchant's usual tool in Tashkent)
//! reads a BOM-less CSV as the local ANSI code page and garbles Uzbek and Russian text.

pub mod export;
pub mod import;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::{Error, Result};
use crate::state::AppState;

pub const BOM: &[u8] = b"\xEF\xBB\xBF";
/// A catalog of tens of thousands of variants fits; the global 1 MiB limit would not.
pub const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;

/// The product columns, in export order; the import reads columns by these names.
pub const PRODUCT_COLUMNS: &[&str] = &[
    "product_id",
    "variant_id",
    "kind",
    "category_id",
    "title_uz",
    "title_ru",
    "title_en",
    "description_uz",
    "description_ru",
    "description_en",
    "sku",
    "options",
    "price",
    "currency",
    "stock",
    "ikpu_code",
    "package_code",
    "vat_percent",
    "archived",
    "product_archived",
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/orders.csv", get(export::orders))
        .route(
            "/api/admin/products.csv",
            get(export::products)
                .post(import::products)
                .layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
}

/// A cell a spreadsheet would run as a formula (`=HYPERLINK(...)`, `+cmd|...`, `-2+3`,
/// `@SUM(...)`, or a leading tab/CR that some programs skip before looking) gets a leading
/// `'`, which spreadsheets show as plain text. Customer names and addresses come from
/// strangers on Telegram, so an export must never be a way to run code on the merchant's PC
/// (OWASP "CSV injection").
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Undoes [`neutralise`] on import, so an exported file imports back unchanged.
pub fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// Serialises rows (every cell neutralised) behind the BOM.
pub fn write_csv(header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(BOM.to_vec());
    w.write_record(header).map_err(Error::internal)?;
    for r in rows {
        w.write_record(r.iter().map(|c| neutralise(c).into_owned()))
            .map_err(Error::internal)?;
    }
    w.into_inner().map_err(Error::internal)
}

pub fn attachment(body: Vec<u8>, filename: &str) -> Result<Response> {
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
                    .map_err(Error::internal)?,
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_restored() {
        for c in ["=1+1", "+998 90", "-5", "@SUM(A1)", "\tx"] {
            let n = neutralise(c);
            assert!(n.starts_with('\''), "{c}");
            assert_eq!(unneutralise(&n), c);
        }
        assert_eq!(neutralise("Choy"), "Choy");
        assert_eq!(unneutralise("'quoted"), "'quoted");
    }
}
