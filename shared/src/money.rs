//! Money as integer minor units plus an ISO currency; never floats.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An ISO 4217 code (or Telegram's `XTR` for Stars), always three upper-case ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    pub fn new(code: &str) -> Result<Self, String> {
        let up = code.trim().to_ascii_uppercase();
        if up.len() == 3 && up.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency(up))
        } else {
            Err(format!(
                "'{code}' is not a currency code: use three letters such as UZS, USD or XTR"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digits after the decimal point, as Telegram and the card networks count them
    /// (https://core.telegram.org/bots/payments/currencies.json). `XTR` (Stars) is whole.
    pub fn exponent(&self) -> u32 {
        match self.0.as_str() {
            "XTR" | "JPY" | "KRW" | "CLP" | "ISK" | "UGX" | "VND" | "PYG" | "BIF" | "DJF"
            | "GNF" | "KMF" | "MGA" | "RWF" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "JOD" | "KWD" | "OMR" | "TND" => 3,
            _ => 2,
        }
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
        c.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `{"amount_minor": 1500000, "currency": "UZS"}`: UZS in tiyin, USD in cents, XTR in Stars.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    fn currency_codes_are_validated() {
        assert!(Currency::new("US").is_err());
        assert!(Currency::new("U$D").is_err());
        assert_eq!(Currency::new(" usd ").unwrap().as_str(), "USD");
        let bad: Result<Money, _> =
            serde_json::from_str(r#"{"amount_minor": 1, "currency": "dollars"}"#);
        assert!(bad.is_err());
    }
}
