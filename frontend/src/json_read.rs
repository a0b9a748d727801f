//! Reads the catalog's own API answers field by field, without serde.
//!
//! The screens behind the catalog decode the `shared` types with serde (`json_de.rs`), in their
//! own wasm chunks. The catalog's answers (the product list, the categories, the cart's item
//! count for the badge, the dev sign-in) and every error envelope are read here instead, because they are in
//! the first download: serde's derived visitors and our deserializer's instances for those few
//! shapes were 10 KB of the first download's brotli, and these readers are a small part of
//! that (docs/PERFORMANCE.md, "A lighter first download"). No crate reads a `JsValue` into a
//! struct without serde's machinery, so this is by hand.
//!
//! The readers are generic over [`Json`], implemented for the browser's parsed value
//! (`JsValue`, from `JSON.parse`) and, for native unit tests, for `serde_json::Value`. The tests
//! below feed them what the backend writes for the full `shared` types, so a renamed or retyped
//! field fails them.

use shared::{Currency, DevInitData, ErrorBody, ErrorEnvelope, Money, Page};

/// A parsed JSON value, as much of it as the readers need.
pub trait Json: Sized {
    /// The member `key` of an object; `None` when it is missing or `null`.
    fn field(&self, key: &str) -> Option<Self>;
    fn string(&self) -> Option<String>;
    fn number(&self) -> Option<f64>;
    fn boolean(&self) -> Option<bool>;
    /// The elements of an array.
    fn elements(&self) -> Option<Vec<Self>>;

    /// A whole number that JSON (a double) carries exactly.
    fn integer(&self) -> Option<i64> {
        const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
        self.number()
            .filter(|n| n.fract() == 0.0 && n.abs() <= MAX_SAFE)
            .map(|n| n as i64)
    }

    fn str_at(&self, key: &str) -> Option<String> {
        self.field(key)?.string()
    }

    fn int_at(&self, key: &str) -> Option<i64> {
        self.field(key)?.integer()
    }

    /// The array at `key`, each element read with `T`; `None` if any element does not fit.
    fn list_at<T: FromJson>(&self, key: &str) -> Option<Vec<T>> {
        // A loop, not `collect::<Option<Vec<_>>>()`, whose adapter is more code per type.
        let elements = self.field(key)?.elements()?;
        let mut out = Vec::with_capacity(elements.len());
        for e in &elements {
            out.push(T::from_json(e)?);
        }
        Some(out)
    }
}

/// A type read from an API answer; `None` when the answer does not have its shape.
pub trait FromJson: Sized {
    fn from_json<J: Json>(v: &J) -> Option<Self>;
}

/// Parses `text` and reads it as `T`.
pub fn parse<T: FromJson>(text: &str) -> Option<T> {
    #[cfg(target_arch = "wasm32")]
    let value = js_sys::JSON::parse(text).ok()?;
    #[cfg(not(target_arch = "wasm32"))]
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    T::from_json(&value)
}

impl FromJson for String {
    fn from_json<J: Json>(v: &J) -> Option<Self> {
        v.string()
    }
}

/// `{"items": [...], "next_cursor": "…" | null}`.
impl<T: FromJson> FromJson for Page<T> {
    fn from_json<J: Json>(v: &J) -> Option<Self> {
        Some(Page {
            items: v.list_at("items")?,
            next_cursor: v.str_at("next_cursor"),
        })
    }
}

/// `{"amount_minor": 1500000, "currency": "UZS"}`, the currency checked as `Currency` does.
impl FromJson for Money {
    fn from_json<J: Json>(v: &J) -> Option<Self> {
        let currency = Currency::new(&v.str_at("currency")?).ok()?;
        Some(Money::new(v.int_at("amount_minor")?, currency))
    }
}

/// The contract's `{"error": {"code", "message", "field"?}}` (an admin-only `rows` list is not
/// read: the storefront never uploads files).
impl FromJson for ErrorEnvelope {
    fn from_json<J: Json>(v: &J) -> Option<Self> {
        let e = v.field("error")?;
        Some(ErrorEnvelope {
            error: ErrorBody {
                code: e.str_at("code")?,
                message: e.str_at("message")?,
                field: e.str_at("field"),
                rows: Vec::new(),
            },
        })
    }
}

impl FromJson for DevInitData {
    fn from_json<J: Json>(v: &J) -> Option<Self> {
        Some(DevInitData {
            init_data: v.str_at("init_data")?,
        })
    }
}

/// How many items a `shared::Cart` holds (the sum of its lines' quantities): all the catalog's
/// cart badge needs of it.
pub struct ItemCount(pub i64);

impl FromJson for ItemCount {
    fn from_json<J: Json>(v: &J) -> Option<Self> {
        let mut n = 0;
        for line in v.field("items")?.elements()? {
            n += line.int_at("quantity")?;
        }
        Some(ItemCount(n))
    }
}

#[cfg(target_arch = "wasm32")]
impl Json for wasm_bindgen::JsValue {
    fn field(&self, key: &str) -> Option<Self> {
        // `Reflect.get` throws on a non-object, which is `Err` here.
        js_sys::Reflect::get(self, &wasm_bindgen::JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }
    fn string(&self) -> Option<String> {
        self.as_string()
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }
    fn elements(&self) -> Option<Vec<Self>> {
        use wasm_bindgen::JsCast;
        self.dyn_ref::<js_sys::Array>().map(|a| a.iter().collect())
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Json for serde_json::Value {
    fn field(&self, key: &str) -> Option<Self> {
        self.get(key).filter(|v| !v.is_null()).cloned()
    }
    fn string(&self) -> Option<String> {
        self.as_str().map(str::to_string)
    }
    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }
    fn elements(&self) -> Option<Vec<Self>> {
        self.as_array().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_pages_of_anything_it_can_read() {
        let page: Page<String> = parse(r#"{"items":["a","b"],"next_cursor":"c2"}"#).unwrap();
        assert_eq!(page.items, ["a", "b"]);
        assert_eq!(page.next_cursor.as_deref(), Some("c2"));
        let last: Page<String> = parse(r#"{"items":[],"next_cursor":null}"#).unwrap();
        assert_eq!(last.next_cursor, None);
        // One element of the wrong type spoils the page rather than vanishing from it.
        assert!(parse::<Page<String>>(r#"{"items":["a",1],"next_cursor":null}"#).is_none());
        assert!(parse::<Page<String>>(r#"{"next_cursor":null}"#).is_none());
        assert!(parse::<Page<String>>("<html>").is_none());
    }

    #[test]
    fn reads_money_as_the_backend_writes_it() {
        let m = Money::new(12_500_000, Currency::new("UZS").unwrap());
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(Money::from_json(&v), Some(m));
        // Fractions and numbers a double cannot carry exactly are not amounts.
        assert_eq!(
            Money::from_json(&json!({"amount_minor": 1.5, "currency": "USD"})),
            None
        );
        assert_eq!(
            Money::from_json(&json!({"amount_minor": 1e300, "currency": "USD"})),
            None
        );
        assert_eq!(
            Money::from_json(&json!({"amount_minor": 100, "currency": "dollars"})),
            None
        );
    }

    #[test]
    fn counts_a_carts_items() {
        let line = |variant_id, quantity| shared::CartItem {
            variant_id,
            product_id: 1,
            kind: shared::ProductKind::Physical,
            title: "Teapot".into(),
            sku: "T-1".into(),
            options: Default::default(),
            quantity,
            unit_price: Money::new(100, Currency::new("UZS").unwrap()),
            line_total: Money::new(100 * quantity, Currency::new("UZS").unwrap()),
            stock: None,
            available: true,
            problem: None,
        };
        let cart = shared::Cart {
            items: vec![line(1, 2), line(2, 3)],
            total: None,
            payment_methods: vec![],
        };
        let v = serde_json::to_value(&cart).unwrap();
        assert_eq!(ItemCount::from_json(&v).map(|c| c.0), Some(5));
        let empty = json!({"items": [], "total": null, "payment_methods": []});
        assert_eq!(ItemCount::from_json(&empty).map(|c| c.0), Some(0));
        assert!(ItemCount::from_json(&json!({"items": [{"quantity": "2"}]})).is_none());
    }

    #[test]
    fn reads_the_error_envelope_and_dev_sign_in() {
        let env = ErrorEnvelope {
            error: ErrorBody {
                code: "invalid_phone".into(),
                message: "Enter a phone.".into(),
                field: Some("contact.phone".into()),
                rows: Vec::new(),
            },
        };
        let v = serde_json::to_value(&env).unwrap();
        assert_eq!(ErrorEnvelope::from_json(&v), Some(env));
        assert_eq!(
            ErrorEnvelope::from_json(&json!({"error": {"code": "x"}})),
            None
        );
        let dev = DevInitData {
            init_data: "user=1&hash=ab".into(),
        };
        let v = serde_json::to_value(&dev).unwrap();
        assert_eq!(DevInitData::from_json(&v), Some(dev));
    }
}
