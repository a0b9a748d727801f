//! Pure form logic the pages share: prices in major units, variant options, dates. No DOM
//! here, so `cargo test -p admin` checks it natively.

use shared::money::parse_major;
use shared::{Currency, Lang, Money, Texts, VariantOptions};

/// Reads a price typed in major units (`125 000`, `12,50`, `12.5`) into minor units for
/// `currency`, exactly: digits go through `shared::money::parse_major`, never a float.
/// Spaces (thousands groups) are dropped and a lone comma is read as the decimal point,
/// the way prices are written in Uzbek and Russian.
/// The three language inputs (uz, ru, en) as request texts. Every language is named, an
/// empty one as `""`, because in a patch `""` removes a language and absence keeps it.
pub fn texts_of(v: &[String; 3]) -> Texts {
    let mut t = Texts::default();
    for (i, l) in Lang::ALL.into_iter().enumerate() {
        let s = Some(v[i].trim().to_string());
        match l {
            Lang::Uz => t.uz = s,
            Lang::Ru => t.ru = s,
            Lang::En => t.en = s,
        }
    }
    t
}

pub fn parse_price(input: &str, currency: &Currency) -> Result<i64, String> {
    let mut s: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '_')
        .collect();
    if !s.contains('.') && s.matches(',').count() == 1 {
        s = s.replace(',', ".");
    }
    if s.starts_with('-') {
        return Err("A price can't be negative.".into());
    }
    let v = parse_major(&s, currency)?;
    if v <= 0 {
        return Err("A price must be more than zero.".into());
    }
    Ok(v)
}

/// The price field's text for an amount: `Money::major_string` (exact).
pub fn price_text(amount_minor: i64, currency: &Currency) -> String {
    Money::new(amount_minor, currency.clone()).major_string()
}

/// Reads variant options written as `size=M, color=red` (or one per line).
pub fn parse_options(input: &str) -> Result<VariantOptions, String> {
    let mut out = VariantOptions::new();
    for part in input.split([',', '\n', ';']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!(
                "Write options as key=value, e.g. size=M (not '{part}')."
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() {
            return Err(format!("'{part}' needs both a name and a value."));
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("'{k}' is given twice."));
        }
    }
    Ok(out)
}

/// The options as the field shows them: `color=red, size=M`.
pub fn options_text(o: &VariantOptions) -> String {
    o.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A stock count typed by the merchant: a whole number from 0.
pub fn parse_stock(input: &str) -> Result<i64, String> {
    let s = input.trim();
    match s.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err("Stock is a whole number from 0 (or tick Unlimited).".into()),
    }
}

/// Days since 1970-01-01 for a civil date (Howard Hinnant's `days_from_civil`).
/// By hand because a date crate would add tens of KB to the bundle for two conversions.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD` (what `<input type=date>` gives) to a day number.
pub fn parse_day(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let n = days_from_civil(y, m, d);
    // 2024-02-31 and the like do not round-trip.
    (civil_from_days(n) == (y, m, d)).then_some(n)
}

pub fn day_string(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Unix seconds at the start of a UTC day.
pub fn day_start(days: i64) -> i64 {
    days * 86_400
}

/// `2026-11-25 14:03` (UTC) for a unix time.
pub fn datetime(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}",
        day_string(days),
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// `?k=v&…` with values percent-encoded, skipping empty values; empty when nothing is set.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs.iter().filter(|(_, v)| !v.trim().is_empty()) {
        out.push(if out.is_empty() { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&percent_encode(v.trim()));
    }
    out
}

pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Filters of the products list (`GET /api/admin/products`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProductFilter {
    pub q: String,
    pub category: String,
    pub kind: String,
    /// `out`, `low` or `in`.
    pub stock: String,
    pub cursor: Option<String>,
}

impl ProductFilter {
    pub fn query(&self) -> String {
        query_string(&[
            ("q", self.q.clone()),
            ("category", self.category.clone()),
            ("kind", self.kind.clone()),
            ("stock", self.stock.clone()),
            ("cursor", self.cursor.clone().unwrap_or_default()),
            ("limit", "25".into()),
        ])
    }
}

/// Filters of the orders list (`GET /api/admin/orders`), dates as `YYYY-MM-DD` (UTC days,
/// both inclusive); the API takes unix seconds, `to` exclusive.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderFilter {
    pub status: String,
    pub payment_method: String,
    pub from: String,
    pub to: String,
    pub customer: String,
    /// Only orders the shop's rules flagged.
    pub flagged: bool,
    pub cursor: Option<String>,
}

impl OrderFilter {
    /// The query, or which field is wrong.
    pub fn query(&self) -> Result<String, &'static str> {
        let from = match self.from.trim() {
            "" => String::new(),
            s => day_start(parse_day(s).ok_or("from")?).to_string(),
        };
        let to = match self.to.trim() {
            "" => String::new(),
            s => day_start(parse_day(s).ok_or("to")? + 1).to_string(),
        };
        let customer = self.customer.trim();
        if !customer.is_empty() && customer.parse::<i64>().map_or(true, |c| c <= 0) {
            return Err("customer");
        }
        Ok(query_string(&[
            ("status", self.status.clone()),
            ("payment_method", self.payment_method.clone()),
            ("from", from),
            ("to", to),
            ("customer", customer.to_string()),
            (
                "flagged",
                if self.flagged {
                    "true".into()
                } else {
                    String::new()
                },
            ),
            ("cursor", self.cursor.clone().unwrap_or_default()),
            ("limit", "25".into()),
        ]))
    }
}

/// One changed value between an audit entry's before and after snapshots.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What differs between two JSON snapshots, by dotted path (objects are walked, other
/// values compared whole), so the audit log shows only what an action changed.
pub fn diff(before: Option<&serde_json::Value>, after: Option<&serde_json::Value>) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", before, after, &mut out);
    out
}

fn walk(
    path: &str,
    a: Option<&serde_json::Value>,
    b: Option<&serde_json::Value>,
    out: &mut Vec<Change>,
) {
    use serde_json::Value;
    // A created (or deleted) record has no snapshot on one side: compare it with an empty
    // object so its fields are listed one by one rather than as one JSON blob.
    let empty = Value::Object(Default::default());
    let missing = |v: Option<&Value>| v.is_none_or(Value::is_null);
    match (a, b) {
        (a, b) if missing(a) && missing(b) => {}
        (a, Some(y @ Value::Object(_))) if missing(a) => walk(path, Some(&empty), Some(y), out),
        (Some(x @ Value::Object(_)), b) if missing(b) => walk(path, Some(x), Some(&empty), out),
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(&p, x.get(k), y.get(k), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Change {
            path: if path.is_empty() {
                "·".into()
            } else {
                path.into()
            },
            before: a.filter(|v| !v.is_null()).map(show),
            after: b.filter(|v| !v.is_null()).map(show),
        }),
    }
}

fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The promo code form as typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromoForm {
    pub code: String,
    /// Percent (true) or a fixed amount.
    pub percent: bool,
    pub value: String,
    pub currency: String,
    pub min_total: String,
    pub max_uses: String,
    pub max_uses_per_customer: String,
    /// RFC 3339, already converted from the browser's local date-time input ("" when unset;
    /// `None` when the input could not be read).
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
}

/// The request for a promo code form, checked the way the server checks it (so the merchant
/// learns before the round trip), or the field that is wrong and why.
pub fn promo_request(
    f: &PromoForm,
) -> Result<shared::admin::NewPromoCode, (&'static str, crate::i18n::K)> {
    use crate::i18n::K;
    let code = f.code.trim().to_ascii_uppercase();
    if !(3..=32).contains(&code.len())
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(("code", K::PromoCodeInvalid));
    }
    let currency = Currency::new(f.currency.trim()).map_err(|_| ("currency", K::CurrencyInvalid));
    let money = |s: &str, field: &'static str| -> Result<Option<Money>, (&'static str, K)> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        let c = currency.clone()?;
        parse_price(s, &c)
            .map(|m| Some(Money::new(m, c)))
            .map_err(|_| (field, K::AmountInvalid))
    };
    let (percent_off, amount_off) = if f.percent {
        match f.value.trim().parse::<i64>() {
            Ok(p) if (1..=100).contains(&p) => (Some(p), None),
            _ => return Err(("percent_off", K::PercentInvalid)),
        }
    } else {
        match money(&f.value, "amount_off")? {
            Some(m) => (None, Some(m)),
            None => return Err(("amount_off", K::AmountInvalid)),
        }
    };
    let min_total = money(&f.min_total, "min_total")?;
    let limit = |s: &str, field: &'static str| -> Result<Option<i64>, (&'static str, K)> {
        match s.trim() {
            "" => Ok(None),
            t => match t.parse::<i64>() {
                Ok(n) if n >= 1 => Ok(Some(n)),
                _ => Err((field, K::LimitInvalid)),
            },
        }
    };
    let time = |t: &Option<String>, field: &'static str| match t {
        None => Err((field, K::TimeInvalid)),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => Ok(Some(s.clone())),
    };
    let starts_at = time(&f.starts_at, "starts_at")?;
    let ends_at = time(&f.ends_at, "ends_at")?;
    // RFC 3339 in UTC with the same shape compare as times.
    if let (Some(s), Some(e)) = (&starts_at, &ends_at) {
        if e <= s {
            return Err(("ends_at", K::EndsBeforeStarts));
        }
    }
    Ok(shared::admin::NewPromoCode {
        code,
        percent_off,
        amount_off,
        min_total,
        max_uses: limit(&f.max_uses, "max_uses")?,
        max_uses_per_customer: limit(&f.max_uses_per_customer, "max_uses_per_customer")?,
        starts_at,
        ends_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::new(c).unwrap()
    }

    #[test]
    fn prices_are_read_exactly_in_major_units() {
        assert_eq!(parse_price("125 000", &cur("UZS")), Ok(12_500_000));
        assert_eq!(parse_price("12,50", &cur("USD")), Ok(1250));
        assert_eq!(parse_price("12.5", &cur("USD")), Ok(1250));
        assert_eq!(parse_price("0.07", &cur("USD")), Ok(7));
        assert_eq!(parse_price("50", &cur("XTR")), Ok(50));
        assert!(parse_price("50.5", &cur("XTR")).is_err(), "Stars are whole");
        assert!(
            parse_price("1.005", &cur("USD")).is_err(),
            "no hidden rounding"
        );
        assert!(parse_price("0", &cur("USD")).is_err());
        assert!(parse_price("-3", &cur("USD")).is_err());
        assert!(parse_price("1,000,000", &cur("USD")).is_err());
        assert!(parse_price("abc", &cur("USD")).is_err());
        // 0.1 + 0.2 style float errors cannot happen: 19.99 is exactly 1999 cents.
        assert_eq!(parse_price("19.99", &cur("USD")), Ok(1999));
        assert_eq!(price_text(1999, &cur("USD")), "19.99");
        assert_eq!(price_text(12_500_000, &cur("UZS")), "125000.00");
        for minor in [1, 99, 100, 1999, 12_500_000] {
            let c = cur("USD");
            assert_eq!(parse_price(&price_text(minor, &c), &c), Ok(minor));
        }
    }

    #[test]
    fn options_round_trip() {
        let o = parse_options("size=M, color = red").unwrap();
        assert_eq!(o.get("size").map(String::as_str), Some("M"));
        assert_eq!(options_text(&o), "color=red, size=M");
        assert_eq!(parse_options(&options_text(&o)), Ok(o));
        assert_eq!(parse_options("  "), Ok(VariantOptions::new()));
        assert!(parse_options("size").is_err());
        assert!(parse_options("size=").is_err());
        assert!(parse_options("size=M, size=L").is_err());
    }

    #[test]
    fn stock_is_a_whole_number() {
        assert_eq!(parse_stock(" 12 "), Ok(12));
        assert_eq!(parse_stock("0"), Ok(0));
        assert!(parse_stock("-1").is_err());
        assert!(parse_stock("1.5").is_err());
    }

    #[test]
    fn dates_convert_both_ways() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(parse_day("2026-11-25"), Some(20_782));
        assert_eq!(day_string(20_782), "2026-11-25");
        assert_eq!(
            parse_day("2024-02-29").map(day_string).as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(parse_day("2023-02-29"), None);
        assert_eq!(parse_day("2026-13-01"), None);
        assert_eq!(parse_day("yesterday"), None);
        assert_eq!(datetime(1_764_079_380), "2025-11-25 14:03");
    }

    #[test]
    fn builds_list_queries() {
        assert_eq!(ProductFilter::default().query(), "?limit=25");
        let f = ProductFilter {
            q: "choy & non".into(),
            kind: "physical".into(),
            stock: "low".into(),
            cursor: Some("abc".into()),
            ..Default::default()
        };
        assert_eq!(
            f.query(),
            "?q=choy%20%26%20non&kind=physical&stock=low&cursor=abc&limit=25"
        );
        let o = OrderFilter {
            status: "paid".into(),
            from: "2026-11-25".into(),
            to: "2026-11-25".into(),
            customer: "42".into(),
            ..Default::default()
        };
        assert_eq!(
            o.query(),
            Ok("?status=paid&from=1795564800&to=1795651200&customer=42&limit=25".into())
        );
        let bad = OrderFilter {
            to: "2026-02-30".into(),
            ..Default::default()
        };
        assert_eq!(bad.query(), Err("to"));
        let bad = OrderFilter {
            customer: "x".into(),
            ..Default::default()
        };
        assert_eq!(bad.query(), Err("customer"));
    }

    #[test]
    fn diff_shows_only_what_changed() {
        let a = serde_json::json!({"status": "paid", "total": {"amount_minor": 100, "currency": "USD"}, "x": 1});
        let b = serde_json::json!({"status": "refunded", "total": {"amount_minor": 100, "currency": "USD"}, "y": true});
        let d = diff(Some(&a), Some(&b));
        assert_eq!(
            d,
            vec![
                Change {
                    path: "status".into(),
                    before: Some("paid".into()),
                    after: Some("refunded".into())
                },
                Change {
                    path: "x".into(),
                    before: Some("1".into()),
                    after: None
                },
                Change {
                    path: "y".into(),
                    before: None,
                    after: Some("true".into())
                },
            ]
        );
        assert_eq!(diff(None, None), vec![]);
    }

    #[test]
    fn created_and_deleted_records_are_listed_field_by_field() {
        let c = serde_json::json!({"id": 4, "slug": "tea", "title": {"en": "Tea", "ru": null}});
        let created = diff(None, Some(&c));
        assert_eq!(
            created,
            vec![
                Change {
                    path: "id".into(),
                    before: None,
                    after: Some("4".into())
                },
                Change {
                    path: "slug".into(),
                    before: None,
                    after: Some("tea".into())
                },
                Change {
                    path: "title.en".into(),
                    before: None,
                    after: Some("Tea".into())
                },
            ]
        );
        let deleted = diff(Some(&c), Some(&serde_json::Value::Null));
        assert_eq!(deleted.len(), 3);
        assert!(deleted
            .iter()
            .all(|d| d.after.is_none() && d.before.is_some()));
        assert_eq!(deleted[2].path, "title.en");
        // Not an object: still one change.
        assert_eq!(diff(None, Some(&serde_json::json!([1, 2]))).len(), 1);
    }

    #[test]
    fn promo_forms_are_checked_like_the_server() {
        use crate::i18n::K;
        let ok = PromoForm {
            code: " spring-10 ".into(),
            percent: true,
            value: "10".into(),
            currency: "UZS".into(),
            min_total: "100 000".into(),
            starts_at: Some(String::new()),
            ends_at: Some("2027-01-01T00:00:00.000Z".into()),
            ..PromoForm::default()
        };
        let r = promo_request(&ok).unwrap();
        assert_eq!(r.code, "SPRING-10");
        assert_eq!(r.percent_off, Some(10));
        assert_eq!(r.min_total.unwrap().amount_minor, 10_000_000);
        assert_eq!(r.starts_at, None);
        let bad = |f: PromoForm| promo_request(&f).unwrap_err();
        assert_eq!(
            bad(PromoForm {
                code: "a b".into(),
                ..ok.clone()
            }),
            ("code", K::PromoCodeInvalid)
        );
        assert_eq!(
            bad(PromoForm {
                value: "101".into(),
                ..ok.clone()
            }),
            ("percent_off", K::PercentInvalid)
        );
        assert_eq!(
            bad(PromoForm {
                percent: false,
                value: "0".into(),
                ..ok.clone()
            }),
            ("amount_off", K::AmountInvalid)
        );
        assert_eq!(
            bad(PromoForm {
                max_uses: "0".into(),
                ..ok.clone()
            }),
            ("max_uses", K::LimitInvalid)
        );
        assert_eq!(
            bad(PromoForm {
                starts_at: Some("2027-02-01T00:00:00.000Z".into()),
                ..ok.clone()
            }),
            ("ends_at", K::EndsBeforeStarts)
        );
        assert_eq!(
            bad(PromoForm {
                ends_at: None,
                ..ok.clone()
            }),
            ("ends_at", K::TimeInvalid)
        );
        let fixed = promo_request(&PromoForm {
            percent: false,
            value: "5 000".into(),
            ..ok
        })
        .unwrap();
        assert_eq!(fixed.amount_off.unwrap().amount_minor, 500_000);
    }
}
