//! Money as integer minor units plus an ISO currency; never floats.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Words every refusal of a currency code contains, so that the backend can tell a refused
/// currency apart from other bad JSON (it answers 422 `invalid_currency` for it).
pub const CURRENCY_REFUSED: &str = "is not a currency the shop accepts";

/// The ISO 4217 active codes ("List One": current currencies and funds) with their minor-unit
/// exponents, sorted by code for a binary search. Source: SIX Financial Information, ISO 4217
/// maintenance agency, list-one.xml as published 2026-01-01
/// (https://www.six-group.com/dam/download/financial-information/data-center/iso-currrency/lists/list-one.xml).
/// Left out: the codes whose minor unit is "N.A." (gold XAU, silver XAG, platinum XPT, palladium
/// XPD, XDR, XSU, XUA, the bond units XBA..XBD, the test code XTS and "no currency" XXX): nothing
/// is priced in them. Withdrawn codes (ANG, BGN, CUC, HRK, SLL, ZWL, ...) are not in the list.
///
/// Written by hand rather than taken from `iso_currency` or `rusty-money`: those carry names,
/// symbols and countries (and `rusty-money` a decimal library), all of which would ship in the
/// storefront's WASM, whose first load has a 100 KB budget; this table is 4 bytes a currency.
#[rustfmt::skip]
const ISO_4217: &[([u8; 3], u8)] = &[
    (*b"AED", 2), (*b"AFN", 2), (*b"ALL", 2), (*b"AMD", 2), (*b"AOA", 2), (*b"ARS", 2), (*b"AUD", 2), (*b"AWG", 2),
    (*b"AZN", 2), (*b"BAM", 2), (*b"BBD", 2), (*b"BDT", 2), (*b"BHD", 3), (*b"BIF", 0), (*b"BMD", 2), (*b"BND", 2),
    (*b"BOB", 2), (*b"BOV", 2), (*b"BRL", 2), (*b"BSD", 2), (*b"BTN", 2), (*b"BWP", 2), (*b"BYN", 2), (*b"BZD", 2),
    (*b"CAD", 2), (*b"CDF", 2), (*b"CHE", 2), (*b"CHF", 2), (*b"CHW", 2), (*b"CLF", 4), (*b"CLP", 0), (*b"CNY", 2),
    (*b"COP", 2), (*b"COU", 2), (*b"CRC", 2), (*b"CUP", 2), (*b"CVE", 2), (*b"CZK", 2), (*b"DJF", 0), (*b"DKK", 2),
    (*b"DOP", 2), (*b"DZD", 2), (*b"EGP", 2), (*b"ERN", 2), (*b"ETB", 2), (*b"EUR", 2), (*b"FJD", 2), (*b"FKP", 2),
    (*b"GBP", 2), (*b"GEL", 2), (*b"GHS", 2), (*b"GIP", 2), (*b"GMD", 2), (*b"GNF", 0), (*b"GTQ", 2), (*b"GYD", 2),
    (*b"HKD", 2), (*b"HNL", 2), (*b"HTG", 2), (*b"HUF", 2), (*b"IDR", 2), (*b"ILS", 2), (*b"INR", 2), (*b"IQD", 3),
    (*b"IRR", 2), (*b"ISK", 0), (*b"JMD", 2), (*b"JOD", 3), (*b"JPY", 0), (*b"KES", 2), (*b"KGS", 2), (*b"KHR", 2),
    (*b"KMF", 0), (*b"KPW", 2), (*b"KRW", 0), (*b"KWD", 3), (*b"KYD", 2), (*b"KZT", 2), (*b"LAK", 2), (*b"LBP", 2),
    (*b"LKR", 2), (*b"LRD", 2), (*b"LSL", 2), (*b"LYD", 3), (*b"MAD", 2), (*b"MDL", 2), (*b"MGA", 2), (*b"MKD", 2),
    (*b"MMK", 2), (*b"MNT", 2), (*b"MOP", 2), (*b"MRU", 2), (*b"MUR", 2), (*b"MVR", 2), (*b"MWK", 2), (*b"MXN", 2),
    (*b"MXV", 2), (*b"MYR", 2), (*b"MZN", 2), (*b"NAD", 2), (*b"NGN", 2), (*b"NIO", 2), (*b"NOK", 2), (*b"NPR", 2),
    (*b"NZD", 2), (*b"OMR", 3), (*b"PAB", 2), (*b"PEN", 2), (*b"PGK", 2), (*b"PHP", 2), (*b"PKR", 2), (*b"PLN", 2),
    (*b"PYG", 0), (*b"QAR", 2), (*b"RON", 2), (*b"RSD", 2), (*b"RUB", 2), (*b"RWF", 0), (*b"SAR", 2), (*b"SBD", 2),
    (*b"SCR", 2), (*b"SDG", 2), (*b"SEK", 2), (*b"SGD", 2), (*b"SHP", 2), (*b"SLE", 2), (*b"SOS", 2), (*b"SRD", 2),
    (*b"SSP", 2), (*b"STN", 2), (*b"SVC", 2), (*b"SYP", 2), (*b"SZL", 2), (*b"THB", 2), (*b"TJS", 2), (*b"TMT", 2),
    (*b"TND", 3), (*b"TOP", 2), (*b"TRY", 2), (*b"TTD", 2), (*b"TWD", 2), (*b"TZS", 2), (*b"UAH", 2), (*b"UGX", 0),
    (*b"USD", 2), (*b"USN", 2), (*b"UYI", 0), (*b"UYU", 2), (*b"UYW", 4), (*b"UZS", 2), (*b"VED", 2), (*b"VES", 2),
    (*b"VND", 0), (*b"VUV", 0), (*b"WST", 2), (*b"XAD", 2), (*b"XAF", 0), (*b"XCD", 2), (*b"XCG", 2), (*b"XOF", 0),
    (*b"XPF", 0), (*b"YER", 2), (*b"ZAR", 2), (*b"ZMW", 2), (*b"ZWG", 2),
];

/// Codes outside ISO 4217 that the shop takes: Telegram Stars (whole), Toncoin in nanotons and
/// Tether (USDT on TON) in its 6 on-chain decimals.
const NON_ISO: &[(&str, u8)] = &[("XTR", 0), ("TON", 9), ("USDT", 6)];

/// A currency the shop accepts: an ISO 4217 active code, `XTR` (Telegram Stars), `TON` or
/// `USDT`. Only [`Currency::new`] makes one, so a value always carries its table exponent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

impl Currency {
    /// Looks `code` up (case and surrounding spaces ignored); any code not in the table is refused.
    pub fn new(code: &str) -> Result<Self, String> {
        let code = code.trim();
        Self::lookup(&code.to_ascii_uppercase()).ok_or_else(|| {
            let shown: String = code.chars().take(12).collect();
            format!(
                "'{shown}' {CURRENCY_REFUSED}: use an ISO 4217 code such as UZS, USD, EUR or JPY, \
                 or XTR (Telegram Stars), TON or USDT"
            )
        })
    }

    fn lookup(up: &str) -> Option<Self> {
        if let Some(&(code, exponent)) = NON_ISO.iter().find(|(c, _)| *c == up) {
            return Some(Currency { code, exponent });
        }
        let key: [u8; 3] = up.as_bytes().try_into().ok()?;
        let i = ISO_4217.binary_search_by(|(c, _)| c.cmp(&key)).ok()?;
        let (code, exponent) = &ISO_4217[i];
        Some(Currency {
            code: std::str::from_utf8(code).ok()?,
            exponent: *exponent,
        })
    }

    pub fn as_str(&self) -> &str {
        self.code
    }

    /// Digits after the decimal point (ISO 4217's minor unit; XTR 0, TON 9, USDT 6).
    pub fn exponent(&self) -> u32 {
        u32::from(self.exponent)
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Currency::new(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code.to_string()
    }
}

// By hand, not `#[serde(try_from = "String")]`: the derive would tie the `&'static str` field
// to the deserializer's lifetime.
impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::new(&s).map_err(serde::de::Error::custom)
    }
}

/// The document lists every accepted code (from the same tables [`Currency::new`] reads), so
/// a client generated from it knows them and a test generator sends real ones.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let codes = NON_ISO.iter().map(|(c, _)| c.to_string()).chain(
            ISO_4217
                .iter()
                .map(|(c, _)| String::from_utf8_lossy(c).into_owned()),
        );
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An ISO 4217 code (its minor unit decides the decimals of `amount_minor`), or \
                 `XTR` (Telegram Stars, 0 decimals), `TON` (9) or `USDT` (6). Any other code is \
                 refused with 422 `invalid_currency`.",
            ))
            .enum_values(Some(codes))
            .examples(["UZS"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Currency {}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// `{"amount_minor": 1500000, "currency": "UZS"}`: UZS in tiyin, USD in cents, XTR in Stars.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Self {
        Money {
            amount_minor,
            currency,
        }
    }

    /// The amount in major units as an exact decimal string: `1500000 UZS` -> `"15000.00"`.
    pub fn major_string(&self) -> String {
        let exp = self.currency.exponent();
        let neg = self.amount_minor < 0;
        let abs = self.amount_minor.unsigned_abs();
        let sign = if neg { "-" } else { "" };
        if exp == 0 {
            return format!("{sign}{abs}");
        }
        let div = 10u64.pow(exp);
        format!(
            "{sign}{}.{:0width$}",
            abs / div,
            abs % div,
            width = exp as usize
        )
    }

    /// How a person reads the price: `125 000 so'm`, `$12.50`, `50 ⭐`.
    pub fn display(&self) -> String {
        let exp = self.currency.exponent();
        let neg = self.amount_minor < 0;
        let abs = self.amount_minor.unsigned_abs();
        let div = 10u64.pow(exp);
        let (major, minor) = (abs / div, abs % div);
        let sign = if neg { "-" } else { "" };
        match self.currency.as_str() {
            "XTR" => format!("{sign}{} ⭐", group(major, ' ')),
            // Sums are shown whole unless there are tiyin, the way Uzbek shops price things.
            "UZS" => {
                if minor == 0 {
                    format!("{sign}{} so'm", group(major, ' '))
                } else {
                    format!("{sign}{}.{minor:02} so'm", group(major, ' '))
                }
            }
            "USD" => format!("{sign}${}.{minor:02}", group(major, ',')),
            "EUR" => format!("{sign}€{}.{minor:02}", group(major, ',')),
            "GBP" => format!("{sign}£{}.{minor:02}", group(major, ',')),
            "RUB" => format!("{sign}{},{minor:02} ₽", group(major, ' ')),
            code => {
                if exp == 0 {
                    format!("{sign}{} {code}", group(major, ' '))
                } else {
                    format!(
                        "{sign}{}.{minor:0width$} {code}",
                        group(major, ' '),
                        width = exp as usize
                    )
                }
            }
        }
    }
}

/// Parses a decimal amount in major units exactly (`"15000"`, `"15000.5"`, `"15000.50"`)
/// into minor units for `currency`. More fraction digits than the currency has is an error
/// unless they are zeros (`"1.500"` USD is fine, `"1.505"` is not).
pub fn parse_major(s: &str, currency: &Currency) -> Result<i64, String> {
    let s = s.trim();
    let exp = currency.exponent() as usize;
    let bad = || format!("'{s}' is not an amount in {currency}");
    let (neg, s_abs) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = match s_abs.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s_abs, ""),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (s_abs.contains('.') && frac.is_empty()) {
        return Err(bad());
    }
    let (kept, extra) = if frac.len() > exp {
        frac.split_at(exp)
    } else {
        (frac, "")
    };
    if extra.bytes().any(|b| b != b'0') {
        return Err(format!(
            "{currency} has {exp} digits after the point; '{s}' has more"
        ));
    }
    let mut digits = String::with_capacity(int.len() + exp);
    digits.push_str(int);
    digits.push_str(kept);
    for _ in kept.len()..exp {
        digits.push('0');
    }
    let v: i64 = digits.parse().map_err(|_| bad())?;
    Ok(if neg { -v } else { v })
}

fn group(n: u64, sep: char) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(a: i64, c: &str) -> Money {
        Money::new(a, Currency::new(c).unwrap())
    }

    #[test]
    fn displays_like_a_person_reads_prices() {
        assert_eq!(m(12_500_000, "UZS").display(), "125 000 so'm");
        assert_eq!(m(1250, "USD").display(), "$12.50");
        assert_eq!(m(123_456_789, "USD").display(), "$1,234,567.89");
        assert_eq!(m(50, "XTR").display(), "50 ⭐");
        assert_eq!(m(1050, "UZS").display(), "10.50 so'm");
        assert_eq!(m(500, "JPY").display(), "500 JPY");
    }

    #[test]
    fn major_string_is_exact() {
        assert_eq!(m(1_500_000, "UZS").major_string(), "15000.00");
        assert_eq!(m(5, "USD").major_string(), "0.05");
        assert_eq!(m(7, "XTR").major_string(), "7");
        assert_eq!(m(1234, "KWD").major_string(), "1.234");
    }

    #[test]
    fn parse_major_is_exact_and_strict() {
        let uzs = Currency::new("uzs").unwrap();
        assert_eq!(parse_major("15000", &uzs), Ok(1_500_000));
        assert_eq!(parse_major("15000.5", &uzs), Ok(1_500_050));
        assert_eq!(parse_major("15000.50", &uzs), Ok(1_500_050));
        assert_eq!(parse_major("15000.500", &uzs), Ok(1_500_050));
        assert!(parse_major("15000.505", &uzs).is_err());
        assert!(parse_major("1e3", &uzs).is_err());
        assert!(parse_major("", &uzs).is_err());
        assert!(parse_major("12.", &uzs).is_err());
        let xtr = Currency::new("XTR").unwrap();
        assert_eq!(parse_major("50", &xtr), Ok(50));
        assert!(parse_major("50.1", &xtr).is_err());
    }

    #[test]
    fn exponents_come_from_the_table() {
        for (code, exp) in [
            ("UZS", 2),
            ("USD", 2),
            ("JPY", 0),
            ("KWD", 3),
            ("CLF", 4),
            ("MGA", 2),
            ("XTR", 0),
            ("TON", 9),
            ("USDT", 6),
        ] {
            assert_eq!(Currency::new(code).unwrap().exponent(), exp, "{code}");
        }
    }

    #[test]
    fn the_table_is_sorted_unique_and_upper_case() {
        // binary_search needs strict order; a mistyped entry would silently be unreachable.
        assert!(ISO_4217.windows(2).all(|w| w[0].0 < w[1].0));
        for (code, exp) in ISO_4217 {
            assert!(code.iter().all(u8::is_ascii_uppercase));
            assert!(*exp <= 4);
            let s = std::str::from_utf8(code).unwrap();
            assert_eq!(Currency::new(s).unwrap().as_str(), s);
        }
        for (code, _) in NON_ISO {
            assert!(ISO_4217.iter().all(|(c, _)| c != code.as_bytes()));
        }
    }

    #[test]
    fn major_and_minor_strings_use_each_exponent() {
        assert_eq!(m(1_500_000_000, "TON").major_string(), "1.500000000");
        assert_eq!(m(1, "TON").major_string(), "0.000000001");
        assert_eq!(m(2_500_000, "USDT").major_string(), "2.500000");
        assert_eq!(m(-5, "KWD").major_string(), "-0.005");
        assert_eq!(m(500, "JPY").major_string(), "500");
        let ton = Currency::new("ton").unwrap();
        assert_eq!(parse_major("1.5", &ton), Ok(1_500_000_000));
        assert_eq!(parse_major("0.000000001", &ton), Ok(1));
        assert!(parse_major("0.0000000001", &ton).is_err());
        let usdt = Currency::new("usdt").unwrap();
        assert_eq!(parse_major("2.5", &usdt), Ok(2_500_000));
        let jpy = Currency::new("JPY").unwrap();
        assert_eq!(parse_major("500", &jpy), Ok(500));
        assert!(parse_major("500.5", &jpy).is_err());
        let kwd = Currency::new("KWD").unwrap();
        assert_eq!(parse_major("1.234", &kwd), Ok(1234));
        // Round trip: what major_string prints parses back to the same minor units.
        for (a, c) in [
            (123_456_789, "TON"),
            (7, "USDT"),
            (-1234, "KWD"),
            (99, "XTR"),
        ] {
            let money = m(a, c);
            assert_eq!(parse_major(&money.major_string(), &money.currency), Ok(a));
        }
    }

    #[test]
    fn unknown_codes_are_refused() {
        for code in ["QQQ", "XAU", "XXX", "BGN", "HRK", "USDC", "TONN", "", "ÜSD"] {
            let e = Currency::new(code).unwrap_err();
            assert!(e.contains(CURRENCY_REFUSED), "{code}: {e}");
        }
        let bad: Result<Money, _> =
            serde_json::from_str(r#"{"amount_minor": 1, "currency": "QQQ"}"#);
        assert!(bad.unwrap_err().to_string().contains(CURRENCY_REFUSED));
        let ok: Money = serde_json::from_str(r#"{"amount_minor": 1, "currency": "usdt"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"amount_minor":1,"currency":"USDT"}"#
        );
    }

    #[test]
    fn currency_codes_are_validated() {
        assert!(Currency::new("US").is_err());
        assert!(Currency::new("U$D").is_err());
        assert_eq!(Currency::new(" usd ").unwrap().as_str(), "USD");
        let bad: Result<Money, _> =
            serde_json::from_str(r#"{"amount_minor": 1, "currency": "dollars"}"#);
        assert!(bad.is_err());
    }
}
