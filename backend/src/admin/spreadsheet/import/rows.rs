//! Reading the file: every record into a checked `Row`, or a message per bad cell.

use std::collections::HashMap;

use shared::admin::CsvRowError;
use shared::money::parse_major;
use shared::{Currency, Lang, Money, ProductKind, Texts, VariantOptions};

use super::super::{unneutralise, PRODUCT_COLUMNS};
use super::MAX_ERRORS;
use crate::admin::products::check_variant_money;
use crate::admin::validate;
use crate::error::{Error, Result};

/// One good row of the file.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(super) line: usize,
    pub(super) product_id: Option<i64>,
    pub(super) variant_id: Option<i64>,
    pub(super) product: ProductFields,
    pub(super) sku: String,
    pub(super) options: VariantOptions,
    pub(super) price: Money,
    pub(super) stock: Option<i64>,
    pub(super) archived: bool,
}

/// What rows of one product must agree on.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ProductFields {
    pub(super) kind: ProductKind,
    pub(super) category_id: Option<i64>,
    pub(super) title: Texts,
    pub(super) description: Texts,
    pub(super) ikpu_code: Option<String>,
    pub(super) package_code: Option<String>,
    pub(super) vat_percent: Option<i64>,
    pub(super) archived: bool,
}

impl ProductFields {
    /// The first column in which two rows of one product disagree.
    pub(super) fn differs(&self, o: &ProductFields) -> Option<&'static str> {
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

pub(super) fn row_error(
    line: usize,
    column: Option<&str>,
    message: impl Into<String>,
) -> CsvRowError {
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
pub(crate) fn parse(body: &[u8]) -> (Vec<Row>, Vec<CsvRowError>) {
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
                let line = e.position().map_or(0, |p| line_at(body, p));
                errors.push(row_error(
                    line,
                    None,
                    format!("The line cannot be read: {e}"),
                ));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| line_at(body, p));
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

/// The 1-based line on which the record at `pos` starts, as an editor numbers it.
///
/// Not `pos.line()`: the csv crate counts a line terminator only when it reads the next
/// record, so after a CRLF (every spreadsheet on Windows writes them) or a blank line its
/// line number is one short. Its byte offset can point at that pending terminator too, so
/// the terminators in front of the record are skipped before `\n`, `\r\n` and a lone `\r`
/// are counted.
fn line_at(body: &[u8], pos: &csv::Position) -> usize {
    let mut start = (pos.byte() as usize).min(body.len());
    while start < body.len() && matches!(body[start], b'\r' | b'\n') {
        start += 1;
    }
    let before = &body[..start];
    let breaks = before
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && before.get(i + 1) != Some(&b'\n')))
        .count();
    breaks + 1
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Record start lines for LF, CRLF and lone-CR files, with blank lines and a quoted
    /// cell spanning two lines.
    #[test]
    fn lines_are_counted_as_an_editor_does() {
        let lines = |body: &[u8]| -> Vec<usize> {
            let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(body);
            r.headers().unwrap();
            r.records()
                .map(|rec| line_at(body, rec.unwrap().position().unwrap()))
                .collect()
        };
        assert_eq!(lines(b"a,b\n1,2\n\n3,4\n5\n"), [2, 4, 5]);
        assert_eq!(lines(b"a,b\r\n1,2\r\n\r\n3,4\r\n5\r\n"), [2, 4, 5]);
        assert_eq!(lines(b"a,b\r\n1,\"x\r\ny\"\r\n3,4\r\n"), [2, 4]);
        assert_eq!(lines(b"a,b\r1,2\r3,4"), [2, 3]);
    }

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
