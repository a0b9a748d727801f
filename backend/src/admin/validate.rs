//! Validation of what a merchant types, with messages that say what to change and a
//! `field` that names where, so the admin shows them next to that field.

use shared::{Lang, Money, Texts};

use crate::error::{Error, Result};

/// At least one language filled, none longer than `max` characters.
pub fn texts_required(t: &Texts, field: &str, max: usize) -> Result<()> {
    if t.is_empty() {
        return Err(Error::field(
            "text_required",
            field,
            format!("Write the {field} in at least one language (uz, ru or en)."),
        ));
    }
    texts_max(t, field, max)
}

pub fn texts_max(t: &Texts, field: &str, max: usize) -> Result<()> {
    for l in Lang::ALL {
        if let Some(v) = t.get(l) {
            if v.contains('\0') {
                return Err(Error::field(
                    "invalid_text",
                    &format!("{field}.{}", l.code()),
                    "The text contains a NUL character; remove it.",
                ));
            }
            if v.chars().count() > max {
                return Err(Error::field(
                    "text_too_long",
                    &format!("{field}.{}", l.code()),
                    format!(
                        "The {field} in {} is longer than {max} characters.",
                        l.code()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Lower-case ASCII letters, digits and dashes.
pub fn slugify(s: &str) -> String {
    let mut out = String::new();
    for ch in s.trim().to_lowercase().chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(64).collect()
}

pub fn sku(s: &str, field: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty()
        || s.len() > 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(Error::field(
            "invalid_sku",
            field,
            "An SKU is 1-64 letters, digits, dashes, dots or underscores.",
        ));
    }
    Ok(s.to_string())
}

pub fn price(m: &Money, field: &str) -> Result<()> {
    if m.amount_minor <= 0 {
        return Err(Error::field(
            "invalid_price",
            field,
            "The price must be above zero.",
        ));
    }
    if m.amount_minor > 1_000_000_000_000 {
        return Err(Error::field(
            "invalid_price",
            field,
            "The price is too large.",
        ));
    }
    Ok(())
}

pub fn stock(s: Option<i64>, field: &str) -> Result<()> {
    match s {
        Some(n) if !(0..=1_000_000_000).contains(&n) => Err(Error::field(
            "invalid_stock",
            field,
            "Stock is a whole number from 0, or null for unlimited.",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(slugify("  Home & Garden "), "home-garden");
        assert_eq!(slugify("Kiyim-kechak!"), "kiyim-kechak");
        assert_eq!(slugify("Одежда"), "");
    }

    #[test]
    fn skus_are_checked() {
        assert!(sku("TSHIRT-M", "sku").is_ok());
        assert!(sku("", "sku").is_err());
        assert!(sku("has space", "sku").is_err());
    }
}
