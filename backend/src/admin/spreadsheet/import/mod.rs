//! `POST /api/admin/products.csv`: the product export's columns read back in.
//!
//! Rules, so a merchant can predict what a file does:
//! - Columns are found by header name (any order); every export column must be present,
//!   extra columns are ignored. Cells are read as the export writes them (a leading `'`
//!   before `= + - @` is dropped again).
//! - A row with `variant_id` updates that variant and its product's texts and fields
//!   (`product_id`, if given, must be the variant's product).
//! - A row with `product_id` and no `variant_id` adds a variant to that product.
//! - Rows with neither are new products. Rows with the same `kind` and the same title in
//!   all three languages form one product (its variants in file order); SKU prefixes or row
//!   adjacency mean nothing.
//! - Rows of one product must agree on the product's columns (kind, category, texts, fiscal
//!   fields, product_archived) and on the currency.
//! - `stock` is written only when it differs from the stock at import time, so re-importing
//!   an export does not undo sales made since; empty means unlimited.
//! - Everything happens in one write transaction, read and checked inside it: if any row is
//!   bad nothing changes and the answer is 422 `invalid_csv` listing every bad row.
//!
//! `created` counts rows that made a new variant; `updated` counts rows whose variant or
//! product differed from what was stored (an unchanged row is not written at all).

mod plan;
pub(crate) mod rows;

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use serde_json::json;
use shared::admin::CsvImportReport;

use super::{BOM, MAX_IMPORT_BYTES};
use crate::admin::auth::{record_audit, Admin};
use crate::admin::CatalogAdmin;
use crate::error::{AppJson, Error, Result};
use plan::{apply, plan, Existing};
use rows::parse;

/// Stop collecting after this many problems: a wrong file would list every line otherwise.
pub(super) const MAX_ERRORS: usize = 500;

/// Creates and updates products from a CSV file (the columns of `GET /api/admin/products.csv`),
/// all rows or none; sent as the body (`text/csv`) or as the form field `file`.
#[utoipa::path(post, path = "/api/admin/products.csv", tag = "admin", security(("admin_session" = [])),
    request_body(content(
        (String = "text/csv"),
        (crate::openapi::FileUpload = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Every row was good and saved.", body = CsvImportReport),
        (status = 413, description = "The file is larger than 8 MiB."),
        (status = 422, description = "`invalid_csv`: nothing was saved; `error.rows` lists every bad row."),
    ))]
pub async fn products(
    State(st): State<CatalogAdmin>,
    admin: Admin,
    req: Request,
) -> Result<AppJson<CsvImportReport>> {
    let body = read_body(&st, req).await?;
    let body = body.strip_prefix(BOM).unwrap_or(&body);
    let (rows, mut errors) = parse(body);
    let mut tx = st.db.begin_write().await?;
    let existing = Existing::load(tx.conn()).await?;
    let plan = plan(&rows, &existing, &mut errors);
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        errors.truncate(MAX_ERRORS);
        let n = errors.iter().map(|e| e.line).collect::<HashSet<_>>().len();
        return Err(Error::Rows {
            code: "invalid_csv",
            message: format!(
                "{n} row(s) of the file have problems; nothing was imported. Fix them and upload the file again."
            ),
            rows: errors,
        });
    }
    let report = apply(tx.conn(), &rows, &existing, &plan).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "import",
        "product",
        None,
        None,
        Some(&json!({"created": report.created, "updated": report.updated, "rows": rows.len()})),
    )
    .await?;
    tx.commit().await?;
    if report.created + report.updated > 0 {
        st.catalog_changed();
    }
    Ok(AppJson(report))
}

/// The file: a multipart upload (field `file`) or the raw CSV as the body.
async fn read_body(st: &CatalogAdmin, req: Request) -> Result<Bytes> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if multipart {
        let mut form = Multipart::from_request(req, st)
            .await
            .map_err(|e| body_error(e.status(), e.body_text()))?;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| body_error(e.status(), e.body_text()))?
        {
            if field.name() == Some("file") {
                return field
                    .bytes()
                    .await
                    .map_err(|e| body_error(e.status(), e.body_text()));
            }
        }
        return Err(Error::field(
            "file_required",
            "file",
            "Attach the CSV file in the form field `file`.",
        ));
    }
    Bytes::from_request(req, st)
        .await
        .map_err(|e| body_error(e.status(), e.body_text()))
}

fn body_error(status: StatusCode, text: String) -> Error {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Error::Status {
            status,
            code: "payload_too_large",
            message: format!(
                "The file is larger than {} MiB; split it into smaller files.",
                MAX_IMPORT_BYTES / (1024 * 1024)
            ),
        }
    } else {
        Error::invalid(
            "invalid_body",
            format!("The upload could not be read: {text}"),
        )
    }
}
