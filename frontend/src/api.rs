//! The one typed client for the shop's HTTP API (the README's "API at a glance").
//!
//! Every request goes through [`Api::send`], which sends `Authorization: tma <initData>` when
//! the app has initData, and every error answer's envelope `{"error":{"code","message"}}`
//! becomes an [`ApiError`]. Shapes come from the `shared` crate, so the backend and this client
//! cannot disagree about them: the screens behind the catalog decode them with serde
//! ([`Api::call`]); the catalog's own answers are read field by field ([`Api::read`],
//! json_read.rs), which keeps serde out of the first download.

use std::fmt;
use std::sync::Arc;

use crate::components::{CardProduct, ChipCategory};
use crate::json_read::{self, FromJson};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::{
    Cart, CartUpdate, CreateOrder, DevInitData, ErrorEnvelope, Lang, Order, Page, PreparedShare,
    Product,
};
use web_common::http::FetchError;

/// Why a call failed, in a form the UI can show.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// The request never got an answer: offline, DNS, connection refused.
    Network,
    /// The server answered with an error status (and, normally, the envelope).
    Status {
        status: u16,
        code: String,
        message: String,
        /// The request field the error is about (`contact.phone`…).
        field: Option<String>,
    },
    /// A 2xx answer that does not have the expected shape.
    Decode(String),
}

impl ApiError {
    /// A short technical note for support ("HTTP 500 · internal"), shown under the message.
    pub fn detail(&self) -> Option<String> {
        match self {
            ApiError::Network => None,
            ApiError::Status { status, code, .. } if code.is_empty() => {
                Some(format!("HTTP {status}"))
            }
            ApiError::Status { status, code, .. } => Some(format!("HTTP {status} · {code}")),
            ApiError::Decode(e) => Some(e.clone()),
        }
    }
}

impl ApiError {
    /// The field a 4xx is about, if the server named one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Status { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Network => f.write_str("Can't reach the shop. Check your connection."),
            ApiError::Status { message, .. } if !message.is_empty() => f.write_str(message),
            ApiError::Status { status, .. } => write!(f, "The shop answered with error {status}."),
            ApiError::Decode(_) => {
                f.write_str("The shop sent an answer this app doesn't understand.")
            }
        }
    }
}

/// Query for `GET /api/products`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProductQuery {
    pub category: Option<i64>,
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
    pub lang: Option<Lang>,
}

impl ProductQuery {
    fn to_query_string(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(l) = self.lang {
            pairs.push(("lang", l.code().to_string()));
        }
        if let Some(c) = self.category {
            pairs.push(("category", c.to_string()));
        }
        if let Some(q) = self.q.as_deref().filter(|q| !q.trim().is_empty()) {
            pairs.push(("q", q.to_string()));
        }
        if let Some(c) = &self.cursor {
            pairs.push(("cursor", c.clone()));
        }
        if let Some(l) = self.limit {
            pairs.push(("limit", l.to_string()));
        }
        query_string(&pairs)
    }
}

/// The API client. Cheap to clone; holds the `Authorization` value for this session.
#[derive(Clone, Debug, Default)]
pub struct Api {
    /// `tma <initData>`, or `None` before the app has initData.
    authorization: Option<Arc<str>>,
}

impl Api {
    /// A client that authenticates with `init_data` (the raw query string from Telegram or the
    /// dev endpoint). Empty initData sends no `Authorization` header at all.
    pub fn new(init_data: &str) -> Self {
        let init_data = init_data.trim();
        Api {
            authorization: (!init_data.is_empty()).then(|| Arc::from(format!("tma {init_data}"))),
        }
    }

    /// No initData: the catalog works, the cart and orders do not.
    pub fn is_anonymous(&self) -> bool {
        self.authorization.is_none()
    }

    /// `GET /api/dev/init-data`: signed initData for the dev user, `Ok(None)` when the shop is
    /// not in dev mode (the route is absent then) or refuses this caller.
    pub async fn dev_init_data(&self) -> Result<Option<String>, ApiError> {
        match self.read::<DevInitData>("/api/dev/init-data").await {
            Ok(d) if !d.init_data.is_empty() => Ok(Some(d.init_data)),
            Ok(_) => Ok(None),
            // 403: not from this machine; 404: a bot token is set; 405: no such route.
            Err(ApiError::Status {
                status: 403..=405, ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /api/categories`.
    pub async fn categories(&self, lang: Lang) -> Result<Page<ChipCategory>, ApiError> {
        self.read(&format!("/api/categories?lang={}", lang.code()))
            .await
    }

    /// `GET /api/products/{id}`.
    pub async fn product(&self, id: i64, lang: Lang) -> Result<Product, ApiError> {
        self.get(&format!("/api/products/{id}?lang={}", lang.code()))
            .await
    }

    /// `GET /api/me`: who the customer is and the contact of their last delivery.
    pub async fn me(&self) -> Result<shared::Me, ApiError> {
        self.get("/api/me").await
    }

    /// `GET /api/delivery-methods`: how an order in `currency` can be delivered.
    pub async fn delivery_methods(
        &self,
        currency: &str,
        lang: Lang,
    ) -> Result<Vec<shared::DeliveryMethod>, ApiError> {
        self.get(&format!(
            "/api/delivery-methods?currency={currency}&lang={}",
            lang.code()
        ))
        .await
    }

    /// `GET /api/cart`.
    pub async fn cart(&self, lang: Lang) -> Result<Cart, ApiError> {
        self.get(&format!("/api/cart?lang={}", lang.code())).await
    }

    /// `GET /api/cart`, reading only how many items it holds (the catalog's badge; see
    /// [`Ctx::ensure_cart`](crate::app::Ctx::ensure_cart)).
    pub async fn cart_count(&self) -> Result<i64, ApiError> {
        let json_read::ItemCount(n) = self.read("/api/cart").await?;
        Ok(n)
    }

    /// `PUT /api/cart`: replaces the whole cart, answers it as the server now holds it.
    pub async fn put_cart(&self, cart: &CartUpdate, lang: Lang) -> Result<Cart, ApiError> {
        self.call(
            "PUT",
            &format!("/api/cart?lang={}", lang.code()),
            Some(cart),
            None,
        )
        .await
    }

    /// `POST /api/orders` with an `Idempotency-Key`: a retry with the same key answers the
    /// same order instead of placing a second one.
    pub async fn create_order(
        &self,
        req: &CreateOrder,
        idempotency_key: &str,
        lang: Lang,
    ) -> Result<Order, ApiError> {
        self.call(
            "POST",
            &format!("/api/orders?lang={}", lang.code()),
            Some(req),
            Some(idempotency_key),
        )
        .await
    }

    /// `GET /api/orders`, newest first.
    /// A message about product `id` prepared for this customer to share (`shareMessage`).
    pub async fn share_product(&self, id: i64, lang: Lang) -> Result<PreparedShare, ApiError> {
        self.call::<PreparedShare, ()>(
            "POST",
            &format!("/api/products/{id}/share?lang={}", lang.code()),
            None,
            None,
        )
        .await
    }

    pub async fn orders(&self, cursor: Option<&str>, lang: Lang) -> Result<Page<Order>, ApiError> {
        let mut pairs = vec![("lang", lang.code().to_string())];
        if let Some(c) = cursor {
            pairs.push(("cursor", c.to_string()));
        }
        self.get(&format!("/api/orders{}", query_string(&pairs)))
            .await
    }

    /// `GET /api/orders/{id}` (with its timeline).
    pub async fn order(&self, id: i64, lang: Lang) -> Result<Order, ApiError> {
        self.get(&format!("/api/orders/{id}?lang={}", lang.code()))
            .await
    }

    /// `POST /api/subscriptions/{id}/cancel`: renewal stops, the paid period runs out.
    pub async fn cancel_subscription(&self, id: i64) -> Result<(), ApiError> {
        #[derive(serde::Deserialize)]
        struct Changed {
            #[allow(dead_code)]
            status: String,
        }
        self.call::<Changed, ()>(
            "POST",
            &format!("/api/subscriptions/{id}/cancel"),
            None,
            None,
        )
        .await
        .map(|_| ())
    }

    /// `GET /api/products?…`, read as catalog cards (see [`CardProduct`]).
    pub async fn products(&self, query: &ProductQuery) -> Result<Page<CardProduct>, ApiError> {
        self.read(&format!("/api/products{}", query.to_query_string()))
            .await
    }

    /// `GET` an answer read by hand (json_read.rs: the catalog's answers, in the first download).
    async fn read<T: FromJson>(&self, path: &str) -> Result<T, ApiError> {
        let (status, body) = self.send("GET", path, None, None).await?;
        if !(200..300).contains(&status) {
            return Err(error_from(status, &body));
        }
        json_read::parse(&body)
            .ok_or_else(|| ApiError::Decode(format!("unexpected answer to GET {path}")))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.call::<T, ()>("GET", path, None, None).await
    }

    async fn call<T: DeserializeOwned, B: Serialize>(
        &self,
        method: &str,
        path: &str,
        body: Option<&B>,
        idempotency_key: Option<&str>,
    ) -> Result<T, ApiError> {
        let body = body
            .map(json::to_string)
            .transpose()
            .map_err(ApiError::Decode)?;
        let (status, body) = self
            .send(method, path, body.as_deref(), idempotency_key)
            .await?;
        if (200..300).contains(&status) {
            json::from_str(&body).map_err(ApiError::Decode)
        } else {
            Err(error_from(status, &body))
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, String), ApiError> {
        let mut headers: Vec<(&'static str, &str)> = Vec::with_capacity(2);
        if let Some(auth) = &self.authorization {
            headers.push(("Authorization", auth));
        }
        if let Some(key) = idempotency_key {
            headers.push(("Idempotency-Key", key));
        }
        web_common::http::fetch_text(method, path, &headers, body)
            .await
            .map_err(|e| match e {
                FetchError::Network => ApiError::Network,
                FetchError::BadHeader(_) => {
                    ApiError::Decode("initData is not a valid header value".into())
                }
            })
    }
}

fn error_from(status: u16, body: &str) -> ApiError {
    match json_read::parse::<ErrorEnvelope>(body) {
        Some(env) => ApiError::Status {
            status,
            code: env.error.code,
            message: env.error.message,
            field: env.error.field,
        },
        None => ApiError::Status {
            status,
            code: String::new(),
            message: String::new(),
            field: None,
        },
    }
}

/// JSON text <-> shared types. In the browser the text is parsed by the browser's own
/// `JSON.parse`/`JSON.stringify` and mapped with serde-wasm-bindgen, so the wasm carries no JSON
/// parser (measured in docs/PERFORMANCE.md, "Storefront size"); native unit tests, where there is
/// no JS engine, use serde_json. Both accept and produce the same JSON for the shared types.
mod json {
    use serde::de::DeserializeOwned;
    use serde::Serialize;

    #[cfg(target_arch = "wasm32")]
    pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
        let value = js_sys::JSON::parse(text).map_err(|_| "the answer is not JSON".to_string())?;
        crate::json_de::from_value(value).map_err(|e| e.to_string())
    }

    /// `json_compatible`: maps as objects and `None` as `null`, as serde_json writes them.
    #[cfg(target_arch = "wasm32")]
    pub fn to_string<T: Serialize>(value: &T) -> Result<String, String> {
        let value = value
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(|e| e.to_string())?;
        js_sys::JSON::stringify(&value)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| "the request cannot be written as JSON".to_string())
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn to_string<T: Serialize>(value: &T) -> Result<String, String> {
        serde_json::to_string(value).map_err(|e| e.to_string())
    }
}

/// `?k=v&…` with values percent-encoded; empty when there are no pairs.
fn query_string(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&percent_encode(v));
    }
    out
}

fn percent_encode(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_product_queries() {
        assert_eq!(ProductQuery::default().to_query_string(), "");
        let q = ProductQuery {
            category: Some(3),
            q: Some("choy & non".into()),
            cursor: None,
            limit: Some(20),
            lang: None,
        };
        assert_eq!(
            q.to_query_string(),
            "?category=3&q=choy%20%26%20non&limit=20"
        );
    }

    #[test]
    fn reads_the_error_envelope() {
        let e = error_from(
            401,
            r#"{"error":{"code":"unauthorized","message":"Sign in again."}}"#,
        );
        assert!(matches!(e, ApiError::Status { status: 401, .. }));
        assert_eq!(e.to_string(), "Sign in again.");
        assert_eq!(e.field(), None);
        let e = error_from(
            400,
            r#"{"error":{"code":"invalid_phone","message":"Enter a phone.","field":"contact.phone"}}"#,
        );
        assert_eq!(e.field(), Some("contact.phone"));
        assert_eq!(e.to_string(), "Enter a phone.");
        assert_eq!(
            error_from(502, "<html>").to_string(),
            "The shop answered with error 502."
        );
    }

    #[test]
    fn empty_init_data_sends_no_authorization() {
        assert!(Api::new("  ").authorization.is_none());
        assert_eq!(
            Api::new("auth_date=1&hash=ab").authorization.as_deref(),
            Some("tma auth_date=1&hash=ab")
        );
    }
}
