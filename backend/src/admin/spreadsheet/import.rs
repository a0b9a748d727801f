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

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use serde_json::json;
use shared::admin::{CsvImportReport, CsvRowError};
use shared::money::parse_major;
use shared::{Currency, Lang, Money, ProductKind, Texts, VariantOptions};

use super::{unneutralise, BOM, MAX_IMPORT_BYTES, PRODUCT_COLUMNS};
use crate::admin::auth::{record_audit, Admin};
use crate::admin::products::check_variant_money;
use crate::admin::validate;
use crate::catalog::repo::{search_text, texts};
use crate::db;
use crate::error::{is_unique_violation, AppJson, Error, Result};
use crate::state::AppState;

/// Stop collecting after this many problems: a wrong file would list every line otherwise.
const MAX_ERRORS: usize = 500;

pub async fn products(
    State(st): State<AppState>,
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
    tx.commit().await?;
    if report.created + report.updated > 0 {
        st.catalog_changed();
    }
    record_audit(
        &st.db,
        Some((admin.id, &admin.email)),
        "import",
        "product",
        None,
        None,
        Some(&json!({"created": report.created, "updated": report.updated, "rows": rows.len()})),
    )
    .await?;
    Ok(AppJson(report))
}

/// The file: a multipart upload (field `file`) or the raw CSV as the body.
async fn read_body(st: &AppState, req: Request) -> Result<Bytes> {
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

/// One good row of the file.
#[derive(Debug, Clone)]
struct Row {
    line: usize,
    product_id: Option<i64>,
    variant_id: Option<i64>,
    product: ProductFields,
    sku: String,
    options: VariantOptions,
    price: Money,
    stock: Option<i64>,
    archived: bool,
}

/// What rows of one product must agree on.
#[derive(Debug, Clone, PartialEq)]
struct ProductFields {
    kind: ProductKind,
    category_id: Option<i64>,
    title: Texts,
    description: Texts,
    ikpu_code: Option<String>,
    package_code: Option<String>,
    vat_percent: Option<i64>,
    archived: bool,
}

impl ProductFields {
    /// The first column in which two rows of one product disagree.
    fn differs(&self, o: &ProductFields) -> Option<&'static str> {
        let langs = |a: &Texts, b: &Texts, cols: [&'static str; 3]| {
            Lang::ALL
                .iter()
                .zip(cols)
                .find(|(l, _)| a.get_raw(**l) != b.get_raw(**l))
                .map(|(_, c)| c)
        };
        if self.kind != o.kind {
            return Some("kind");
        }
        if self.category_id != o.category_id {
            return Some("category_id");
        }
        if let Some(c) = langs(&self.title, &o.title, lang_cols("title")) {
            return Some(c);
        }
        if let Some(c) = langs(&self.description, &o.description, lang_cols("description")) {
            return Some(c);
        }
        if self.ikpu_code != o.ikpu_code {
            return Some("ikpu_code");
        }
        if self.package_code != o.package_code {
            return Some("package_code");
        }
        if self.vat_percent != o.vat_percent {
            return Some("vat_percent");
        }
        if self.archived != o.archived {
            return Some("product_archived");
        }
        None
    }
}

/// Column names for a text in `Lang::ALL` order.
fn lang_cols(base: &str) -> [&'static str; 3] {
    let col = |l: Lang| -> &'static str {
        match (base, l) {
            ("title", Lang::Uz) => "title_uz",
            ("title", Lang::Ru) => "title_ru",
            ("title", Lang::En) => "title_en",
            (_, Lang::Uz) => "description_uz",
            (_, Lang::Ru) => "description_ru",
            (_, Lang::En) => "description_en",
        }
    };
    [col(Lang::ALL[0]), col(Lang::ALL[1]), col(Lang::ALL[2])]
}

fn row_error(line: usize, column: Option<&str>, message: impl Into<String>) -> CsvRowError {
    CsvRowError {
        line,
        column: column.map(str::to_string),
        message: message.into(),
    }
}

/// A validation error from the shared validators, pointed at this line and column
/// (`title.en` becomes `title_en`).
fn from_error(line: usize, column: &str, e: Error) -> CsvRowError {
    match e {
        Error::Invalid { message, field, .. } => row_error(
            line,
            Some(&field.map_or(column.to_string(), |f| {
                if f.contains('.') {
                    f.replace('.', "_")
                } else {
                    column.to_string()
                }
            })),
            message,
        ),
        other => row_error(line, Some(column), other.to_string()),
    }
}

/// Reads every record, keeping the good rows and a message for every bad cell.
fn parse(body: &[u8]) -> (Vec<Row>, Vec<CsvRowError>) {
    let mut errors = vec![];
    let mut rows = vec![];
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(body);
    let header: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_ascii_lowercase()).collect(),
        Err(e) => {
            errors.push(row_error(
                1,
                None,
                format!("The header line cannot be read: {e}"),
            ));
            return (rows, errors);
        }
    };
    let index: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let missing: Vec<&str> = PRODUCT_COLUMNS
        .iter()
        .copied()
        .filter(|c| !index.contains_key(c))
        .collect();
    if !missing.is_empty() {
        errors.push(row_error(
            1,
            Some(missing[0]),
            format!(
                "The header lacks column(s) {}; start from a products.csv export.",
                missing.join(", ")
            ),
        ));
        return (rows, errors);
    }
    for rec in rdr.records() {
        if errors.len() >= MAX_ERRORS {
            break;
        }
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                errors.push(row_error(
                    line,
                    None,
                    format!("The line cannot be read: {e}"),
                ));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line() as usize);
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rec.len() != header.len() {
            errors.push(row_error(
                line,
                None,
                format!(
                    "The line has {} cells but the header has {}.",
                    rec.len(),
                    header.len()
                ),
            ));
            continue;
        }
        let cell = |c: &str| unneutralise(rec.get(index[c]).unwrap_or("")).to_string();
        match parse_row(line, &cell) {
            Ok(r) => rows.push(r),
            Err(mut e) => errors.append(&mut e),
        }
    }
    (rows, errors)
}

fn parse_row(line: usize, cell: &dyn Fn(&str) -> String) -> Result<Row, Vec<CsvRowError>> {
    let mut errs = vec![];
    let mut id = |col: &str| -> Option<i64> {
        let v = cell(col);
        let v = v.trim();
        if v.is_empty() {
            return None;
        }
        match v.parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                errs.push(row_error(
                    line,
                    Some(col),
                    format!("'{v}' is not an id: leave it empty or write a whole number."),
                ));
                None
            }
        }
    };
    let product_id = id("product_id");
    let variant_id = id("variant_id");
    let category_id = id("category_id");
    let kind_s = cell("kind");
    let kind = ProductKind::parse(kind_s.trim());
    if kind.is_none() {
        errs.push(row_error(
            line,
            Some("kind"),
            format!(
                "'{}' is not a kind: write physical, digital or subscription.",
                kind_s.trim()
            ),
        ));
    }
    let mut title = Texts::default();
    let mut description = Texts::default();
    for (l, (tc, dc)) in Lang::ALL
        .iter()
        .zip(lang_cols("title").into_iter().zip(lang_cols("description")))
    {
        title.set(*l, &cell(tc));
        description.set(*l, &cell(dc));
    }
    if let Err(e) = validate::texts_required(&title, "title", 120) {
        errs.push(from_error(line, "title_en", e));
    }
    if let Err(e) = validate::texts_max(&description, "description", 4000) {
        errs.push(from_error(line, "description_en", e));
    }
    let sku = validate::sku(&cell("sku"), "sku").map_err(|e| errs.push(from_error(line, "sku", e)));
    let options =
        parse_options(&cell("options")).map_err(|m| errs.push(row_error(line, Some("options"), m)));
    let currency = Currency::new(&cell("currency"))
        .map_err(|m| errs.push(row_error(line, Some("currency"), m)));
    let mut price = None;
    if let Ok(c) = &currency {
        match parse_major(&cell("price"), c) {
            Ok(minor) => {
                let m = Money::new(minor, c.clone());
                let check = match kind {
                    Some(k) => check_variant_money(k, &m, "price"),
                    None => validate::price(&m, "price"),
                };
                match check {
                    Ok(()) => price = Some(m),
                    Err(e) => errs.push(from_error(line, "price", e)),
                }
            }
            Err(m) => errs.push(row_error(line, Some("price"), m)),
        }
    }
    let stock_s = cell("stock");
    let stock = match stock_s.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) if (0..=1_000_000_000).contains(&n) => Some(n),
            _ => {
                errs.push(row_error(
                    line,
                    Some("stock"),
                    format!("'{s}' is not a stock count: a whole number from 0, or empty for unlimited."),
                ));
                None
            }
        },
    };
    let text = |col: &str, errs: &mut Vec<CsvRowError>| -> Option<String> {
        let v = cell(col);
        let v = v.trim();
        if v.chars().count() > 64 {
            errs.push(row_error(line, Some(col), "At most 64 characters."));
        }
        (!v.is_empty()).then(|| v.to_string())
    };
    let ikpu_code = text("ikpu_code", &mut errs);
    let package_code = text("package_code", &mut errs);
    let vat_s = cell("vat_percent");
    let vat_percent = match vat_s.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) if (0..=100).contains(&n) => Some(n),
            _ => {
                errs.push(row_error(
                    line,
                    Some("vat_percent"),
                    format!("'{s}' is not a VAT percentage from 0 to 100."),
                ));
                None
            }
        },
    };
    let mut flag = |col: &str| match cell(col).trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" => false,
        "1" | "true" | "yes" => true,
        other => {
            errs.push(row_error(
                line,
                Some(col),
                format!("'{other}' is not 0 or 1."),
            ));
            false
        }
    };
    let archived = flag("archived");
    let product_archived = flag("product_archived");
    match (kind, sku, options, price) {
        (Some(kind), Ok(sku), Ok(options), Some(price)) if errs.is_empty() => Ok(Row {
            line,
            product_id,
            variant_id,
            product: ProductFields {
                kind,
                category_id,
                title,
                description,
                ikpu_code,
                package_code,
                vat_percent,
                archived: product_archived,
            },
            sku,
            options,
            price,
            stock,
            archived,
        }),
        _ => Err(errs),
    }
}

/// `size=M;colour=red` (as exported); empty is no options.
fn parse_options(s: &str) -> std::result::Result<VariantOptions, String> {
    let mut out = VariantOptions::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!(
                "'{part}' is not an option: write name=value, several separated by ';'."
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() {
            return Err(format!("'{part}' needs both a name and a value."));
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("The option '{k}' is given twice."));
        }
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
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

#[derive(sqlx::FromRow)]
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
struct Existing {
    variants: HashMap<i64, VariantNow>,
    by_sku: HashMap<String, i64>,
    products: HashMap<i64, ProductNow>,
    categories: HashSet<i64>,
}

impl Existing {
    async fn load(conn: &mut sqlx::AnyConnection) -> Result<Existing> {
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

struct Plan {
    /// Per row (same order as the rows): its product.
    targets: Vec<Target>,
}

/// Checks everything that needs the whole file or the stored catalog.
fn plan(rows: &[Row], ex: &Existing, errors: &mut Vec<CsvRowError>) -> Plan {
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

async fn apply(
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
            if is_unique_violation(&e) {
                Error::conflict(
                    "sku_taken",
                    format!("SKU '{}' was taken while importing; try again.", r.sku),
                )
            } else {
                e.into()
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip() {
        let o = parse_options("size=M; colour=red").unwrap();
        assert_eq!(o.get("size").map(String::as_str), Some("M"));
        assert_eq!(
            crate::admin::spreadsheet::export::options_cell(&o),
            "colour=red;size=M"
        );
        assert!(parse_options("size").is_err());
        assert!(parse_options("size=M;size=L").is_err());
        assert_eq!(parse_options("").unwrap().len(), 0);
    }
}
