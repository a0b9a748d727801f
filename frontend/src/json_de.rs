//! Reads the API's JSON (already parsed by the browser's `JSON.parse`) into our serde types.
//!
//! Why by hand rather than `serde_wasm_bindgen::from_value`: its error type formats serde's
//! `Unexpected` into a string as soon as an error is built, and `Unexpected::Float` drags the
//! whole float-to-text machinery of `core::fmt` (Grisu, Dragon4 and their tables) into the
//! first download of the storefront, which never shows a float. This deserializer has the
//! same data model (JSON as `JSON.parse` gives it: objects, arrays, strings, numbers, booleans,
//! null), and its errors carry a static description and, for a missing or unknown field, the
//! field's name: nothing is formatted. docs/PERFORMANCE.md has the measurement.
//! `serde_wasm_bindgen` still writes request bodies (serializing formats no float).

use std::fmt;

use js_sys::{Array, Object};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use wasm_bindgen::{JsCast, JsValue};

/// Why an answer does not fit the type asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    what: &'static str,
    field: Option<&'static str>,
}

impl Error {
    fn new(what: &'static str) -> Error {
        Error { what, field: None }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)?;
        if let Some(field) = self.field {
            f.write_str(": ")?;
            f.write_str(field)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Every constructor is overridden so that none formats its arguments (see the module doc).
impl de::Error for Error {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Error::new("invalid value")
    }
    fn invalid_type(_unexp: de::Unexpected<'_>, _exp: &dyn de::Expected) -> Self {
        Error::new("invalid type")
    }
    fn invalid_value(_unexp: de::Unexpected<'_>, _exp: &dyn de::Expected) -> Self {
        Error::new("invalid value")
    }
    fn invalid_length(_len: usize, _exp: &dyn de::Expected) -> Self {
        Error::new("invalid length")
    }
    fn unknown_variant(_variant: &str, _expected: &'static [&'static str]) -> Self {
        Error::new("unknown variant")
    }
    fn unknown_field(_field: &str, _expected: &'static [&'static str]) -> Self {
        Error::new("unknown field")
    }
    fn missing_field(field: &'static str) -> Self {
        Error {
            what: "missing field",
            field: Some(field),
        }
    }
    fn duplicate_field(field: &'static str) -> Self {
        Error {
            what: "duplicate field",
            field: Some(field),
        }
    }
}

/// `T` from a value that `JSON.parse` produced.
pub fn from_value<T: DeserializeOwned>(value: JsValue) -> Result<T, Error> {
    T::deserialize(Value(value))
}

/// Numbers JS holds exactly as integers (|n| < 2^53).
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

struct Value(JsValue);

impl<'de> de::Deserializer<'de> for Value {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let v = self.0;
        if v.is_null() || v.is_undefined() {
            visitor.visit_unit()
        } else if let Some(b) = v.as_bool() {
            visitor.visit_bool(b)
        } else if let Some(n) = v.as_f64() {
            if n.fract() == 0.0 && n.abs() <= MAX_SAFE {
                if n >= 0.0 {
                    visitor.visit_u64(n as u64)
                } else {
                    visitor.visit_i64(n as i64)
                }
            } else {
                visitor.visit_f64(n)
            }
        } else if let Some(s) = v.as_string() {
            visitor.visit_string(s)
        } else if Array::is_array(&v) {
            let items: Array = v.unchecked_into();
            visitor.visit_seq(Seq { items, next: 0 })
        } else if v.is_object() {
            let entries = Object::entries(v.unchecked_ref());
            visitor.visit_map(Map {
                entries,
                next: 0,
                value: None,
            })
        } else {
            Err(Error::new("not a JSON value"))
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.0.is_null() || self.0.is_undefined() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// Unit variants are strings (`"physical"`); others are `{"variant": content}`, as serde
    /// writes externally tagged enums.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if let Some(s) = self.0.as_string() {
            return visitor.visit_enum(s.into_deserializer());
        }
        if self.0.is_object() && !Array::is_array(&self.0) {
            let entries = Object::entries(self.0.unchecked_ref());
            if entries.length() == 1 {
                let pair: Array = entries.get(0).unchecked_into();
                return visitor.visit_enum(Enum {
                    variant: pair.get(0),
                    content: pair.get(1),
                });
            }
        }
        Err(Error::new("invalid enum"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

struct Seq {
    items: Array,
    next: u32,
}

impl<'de> de::SeqAccess<'de> for Seq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.next >= self.items.length() {
            return Ok(None);
        }
        let item = self.items.get(self.next);
        self.next += 1;
        seed.deserialize(Value(item)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some((self.items.length() - self.next) as usize)
    }
}

struct Map {
    /// `Object.entries`: `[key, value]` pairs.
    entries: Array,
    next: u32,
    value: Option<JsValue>,
}

impl<'de> de::MapAccess<'de> for Map {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.next >= self.entries.length() {
            return Ok(None);
        }
        let pair: Array = self.entries.get(self.next).unchecked_into();
        self.next += 1;
        self.value = Some(pair.get(1));
        seed.deserialize(Value(pair.get(0))).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self.value.take().ok_or(Error::new("value without a key"))?;
        seed.deserialize(Value(value))
    }
}

struct Enum {
    variant: JsValue,
    content: JsValue,
}

impl<'de> de::EnumAccess<'de> for Enum {
    type Error = Error;
    type Variant = Value;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Value), Error> {
        let variant = seed.deserialize(Value(self.variant))?;
        Ok((variant, Value(self.content)))
    }
}

impl<'de> de::VariantAccess<'de> for Value {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(self, visitor)
    }
}
