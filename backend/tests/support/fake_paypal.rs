//! A local PayPal: OAuth client credentials (Basic auth, form body, expiring tokens), Orders
//! v2 (JSON, `PayPal-Request-Id` replays, unique `invoice_id`, decimals per currency,
//! `experience_context`), capture (approval required, `ORDER_ALREADY_CAPTURED`), capture
//! refunds, and webhook verification that only confirms events it sent, passed back
//! byte for byte.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "AfakeShopClientId";
pub const CLIENT_SECRET: &str = "EfakeShopClientSecret";
pub const WEBHOOK_ID: &str = "8PT597110X687430LKGECATA";

const CURRENCIES: &[&str] = &[
    "AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY", "MYR", "MXN",
    "TWD", "NZD", "NOK", "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD",
];

#[derive(Debug, Clone)]
pub struct PpOrder {
    pub id: String,
    pub body: Value,
    pub status: String,
    pub capture: Option<Value>,
    pub custom_id: String,
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub request_id: Option<String>,
    pub status: u16,
}

/// Runs with the refund PayPal just made, before PayPal answers the call that made it.
pub type RefundHook = Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

pub struct Inner {
    pub orders: Vec<PpOrder>,
    tokens: Vec<String>,
    pub tokens_issued: u32,
    pub token_life: u64,
    /// (method, path, request id) -> answer.
    replays: HashMap<(String, String), (u16, Value)>,
    invoice_ids: Vec<String>,
    /// capture id -> (amount minor-as-string-value, refunded total in value units*100)
    pub refunded: HashMap<String, i64>,
    /// Every refund made: (capture id, the refund resource), oldest first.
    pub refunds: Vec<(String, Value)>,
    on_refund: Option<RefundHook>,
    /// The hook to run, and with what, before the refund call being handled is answered.
    fire: Option<(RefundHook, Value)>,
    /// transmission id -> (signature, raw event body).
    sent: HashMap<String, (String, String)>,
    pub requests: Vec<Seen>,
    /// Status a capture ends in: COMPLETED, PENDING or DECLINED.
    pub capture_status: String,
    pub fail_next: u32,
    next: u64,
}

#[derive(Clone)]
pub struct FakePaypal {
    pub url: String,
    pub inner: Arc<Mutex<Inner>>,
}

fn issue(status: StatusCode, name: &str, issue: &str) -> (StatusCode, Value) {
    (
        status,
        json!({"name": name, "message": issue, "details": [{"issue": issue, "description": issue}]}),
    )
}

fn invalid(field: &str) -> (StatusCode, Value) {
    (
        StatusCode::BAD_REQUEST,
        json!({"name": "INVALID_REQUEST", "message": "Request is not well-formed",
            "details": [{"field": field, "issue": "INVALID_PARAMETER_VALUE"}]}),
    )
}

/// Minor units of a PayPal amount (cents; whole units for HUF/JPY/TWD).
fn cents(v: &Value) -> i64 {
    let s = v["value"].as_str().unwrap();
    match s.split_once('.') {
        Some((i, f)) => i.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap(),
        None => s.parse::<i64>().unwrap() * 100,
    }
}

fn value_of(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

impl FakePaypal {
    pub async fn start() -> FakePaypal {
        let inner = Arc::new(Mutex::new(Inner {
            orders: vec![],
            tokens: vec![],
            tokens_issued: 0,
            token_life: 32_400,
            replays: HashMap::new(),
            invoice_ids: vec![],
            refunded: HashMap::new(),
            refunds: vec![],
            on_refund: None,
            fire: None,
            sent: HashMap::new(),
            requests: vec![],
            capture_status: "COMPLETED".into(),
            fail_next: 0,
            next: 0,
        }));
        let app = Router::new()
            .route("/v1/oauth2/token", post(token))
            .route("/v2/checkout/orders", post(create_order))
            .route("/v2/checkout/orders/{id}", get(get_order))
            .route("/v2/checkout/orders/{id}/capture", post(capture))
            .route("/v2/payments/captures/{id}/refund", post(refund))
            .route("/v1/notifications/verify-webhook-signature", post(verify))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakePaypal {
            url: format!("http://{addr}"),
            inner,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PAYPAL_CLIENT_ID", CLIENT_ID.into()),
            ("PAYPAL_CLIENT_SECRET", CLIENT_SECRET.into()),
            ("PAYPAL_WEBHOOK_ID", WEBHOOK_ID.into()),
            ("PAYPAL_API_URL", self.url.clone()),
        ]
    }

    pub fn order_for(&self, order_id: i64) -> PpOrder {
        let g = self.inner.lock().unwrap();
        g.orders
            .iter()
            .rev()
            .find(|o| o.custom_id == order_id.to_string())
            .cloned()
            .unwrap_or_else(|| panic!("no PayPal order for {order_id}"))
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// How many calls the shop made to paths ending in `suffix` (`/capture`,
    /// `/verify-webhook-signature`), answered or not.
    pub fn calls(&self, suffix: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.path.ends_with(suffix))
            .count()
    }

    /// A PayPal order the shop did not create (another integration on the same PayPal
    /// account) whose `custom_id` names `order_id`, approved by its buyer: answers its id.
    pub fn foreign_order(&self, order_id: i64) -> String {
        let mut g = self.inner.lock().unwrap();
        g.next += 1;
        let id = format!("7F{:015}", g.next);
        let body = json!({"intent": "CAPTURE", "purchase_units": [{"reference_id": "default",
            "custom_id": order_id.to_string(), "invoice_id": format!("other-{id}"),
            "amount": {"currency_code": "USD", "value": "10.00"}}]});
        g.orders.push(PpOrder {
            id: id.clone(),
            body,
            status: "APPROVED".into(),
            capture: None,
            custom_id: order_id.to_string(),
        });
        id
    }

    /// `CHECKOUT.ORDER.APPROVED` for the PayPal order `paypal_order`.
    pub fn approved_event_of(&self, paypal_order: &str) -> (String, Vec<(String, String)>) {
        let o = {
            let g = self.inner.lock().unwrap();
            g.orders
                .iter()
                .find(|o| o.id == paypal_order)
                .unwrap()
                .clone()
        };
        self.webhook(
            "CHECKOUT.ORDER.APPROVED",
            json!({"id": o.id, "intent": "CAPTURE", "status": o.status,
                "purchase_units": [{"reference_id": "default", "custom_id": o.custom_id,
                    "amount": o.body["purchase_units"][0]["amount"]}]}),
        )
    }

    /// Captures the PayPal order `paypal_order` outside the shop; answers the capture.
    pub fn capture_order(&self, paypal_order: &str) -> Value {
        let mut g = self.inner.lock().unwrap();
        do_capture(&mut g, paypal_order)["purchase_units"][0]["payments"]["captures"][0].clone()
    }

    /// Expires every token PayPal issued (the shop's cached one included).
    pub fn revoke_tokens(&self) {
        self.inner.lock().unwrap().tokens.clear();
    }

    /// The buyer approves the payment at PayPal.
    pub fn approve(&self, order_id: i64) -> String {
        let mut g = self.inner.lock().unwrap();
        let o = g
            .orders
            .iter_mut()
            .rev()
            .find(|o| o.custom_id == order_id.to_string())
            .unwrap();
        o.status = "APPROVED".into();
        o.id.clone()
    }

    /// Captures an order as someone else would (another request id): the shop then meets
    /// `ORDER_ALREADY_CAPTURED`.
    pub fn capture_elsewhere(&self, order_id: i64) {
        let mut g = self.inner.lock().unwrap();
        let id = g
            .orders
            .iter()
            .rev()
            .find(|o| o.custom_id == order_id.to_string())
            .unwrap()
            .id
            .clone();
        do_capture(&mut g, &id);
    }

    pub fn set_capture_status(&self, s: &str) {
        self.inner.lock().unwrap().capture_status = s.into();
    }

    pub fn fail_next(&self, n: u32) {
        self.inner.lock().unwrap().fail_next = n;
    }

    pub fn capture_of(&self, order_id: i64) -> Value {
        self.order_for(order_id).capture.expect("captured")
    }

    pub fn refunded(&self, capture_id: &str) -> i64 {
        *self
            .inner
            .lock()
            .unwrap()
            .refunded
            .get(capture_id)
            .unwrap_or(&0)
    }

    /// A webhook delivery: the raw body and the transmission headers PayPal would send,
    /// stamped now.
    pub fn webhook(&self, event_type: &str, resource: Value) -> (String, Vec<(String, String)>) {
        let mut g = self.inner.lock().unwrap();
        g.next += 1;
        let n = g.next;
        let resource_type = if event_type.starts_with("CHECKOUT.") {
            "checkout-order"
        } else if event_type.ends_with("REFUNDED") || event_type.ends_with("REVERSED") {
            "refund"
        } else {
            "capture"
        };
        // Pretty-printed with PayPal's field order: re-serialising it would change the bytes.
        let raw = serde_json::to_string_pretty(&json!({
            "id": format!("WH-{n:04}-FAKE"),
            "event_version": "1.0",
            "create_time": "2026-11-25T12:00:00.000Z",
            "resource_type": resource_type,
            "event_type": event_type,
            "summary": event_type,
            "resource": resource,
        }))
        .unwrap();
        let tid = format!("tx-{n}-{}", rand::random::<u32>());
        let sig = base64::engine::general_purpose::STANDARD.encode(format!("sig-{tid}"));
        g.sent.insert(tid.clone(), (sig.clone(), raw.clone()));
        let headers = vec![
            ("PAYPAL-AUTH-ALGO".into(), "SHA256withRSA".into()),
            (
                "PAYPAL-CERT-URL".into(),
                "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77".into(),
            ),
            ("PAYPAL-TRANSMISSION-ID".into(), tid),
            ("PAYPAL-TRANSMISSION-SIG".into(), sig),
            (
                "PAYPAL-TRANSMISSION-TIME".into(),
                time::OffsetDateTime::now_utc()
                    .replace_nanosecond(0)
                    .unwrap()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap(),
            ),
        ];
        (raw, headers)
    }

    pub fn approved_event(&self, order_id: i64) -> (String, Vec<(String, String)>) {
        let o = self.order_for(order_id);
        self.webhook(
            "CHECKOUT.ORDER.APPROVED",
            json!({"id": o.id, "intent": "CAPTURE", "status": o.status,
                "purchase_units": [{"reference_id": "default", "custom_id": o.custom_id,
                    "amount": o.body["purchase_units"][0]["amount"]}]}),
        )
    }

    pub fn capture_event(
        &self,
        event_type: &str,
        capture: Value,
    ) -> (String, Vec<(String, String)>) {
        self.webhook(event_type, capture)
    }

    /// The refund webhook for the last refund of a capture (its own id and amount), or for
    /// a refund of `amount_cents` PayPal never made through the API when there is none.
    pub fn refund_event(
        &self,
        capture_id: &str,
        amount_cents: i64,
    ) -> (String, Vec<(String, String)>) {
        let last = {
            let g = self.inner.lock().unwrap();
            g.refunds
                .iter()
                .rev()
                .find(|(c, _)| c == capture_id)
                .map(|(_, r)| r.clone())
        };
        let resource = last.unwrap_or_else(|| {
            let total = self.refunded(capture_id);
            json!({"id": format!("RF-{}", rand::random::<u32>()), "status": "COMPLETED",
                "amount": {"currency_code": "USD", "value": value_of(amount_cents)},
                "seller_payable_breakdown": {"total_refunded_amount": {"currency_code": "USD", "value": value_of(total)}}})
        });
        self.refund_resource_event(capture_id, resource)
    }

    /// `PAYMENT.CAPTURE.REFUNDED` about this refund resource of `capture_id`.
    pub fn refund_resource_event(
        &self,
        capture_id: &str,
        mut resource: Value,
    ) -> (String, Vec<(String, String)>) {
        resource["links"] = json!([{"rel": "up", "method": "GET",
            "href": format!("{}/v2/payments/captures/{capture_id}", self.url)}]);
        self.webhook("PAYMENT.CAPTURE.REFUNDED", resource)
    }

    /// A refund made in PayPal's dashboard: answers its resource.
    pub fn dashboard_refund(&self, capture_id: &str, cents: i64) -> Value {
        let mut g = self.inner.lock().unwrap();
        let done = *g.refunded.get(capture_id).unwrap_or(&0);
        g.refunded.insert(capture_id.to_string(), done + cents);
        make_refund(&mut g, capture_id, "USD", cents, done + cents)
    }

    /// From now on, every refund the shop asks for is first announced by `hook` (typically
    /// PayPal's webhook about it, delivered to the shop) and only then answered.
    pub fn before_refund_answer<F, Fut>(&self, hook: F)
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.inner.lock().unwrap().on_refund = Some(Arc::new(move |v| Box::pin(hook(v))));
    }
}

/// Stores and answers a new completed refund of `cents` on `capture_id`.
fn make_refund(g: &mut Inner, capture_id: &str, currency: &str, cents: i64, total: i64) -> Value {
    g.next += 1;
    let v = json!({"id": format!("RF{:015}", g.next), "status": "COMPLETED",
        "amount": {"currency_code": currency, "value": value_of(cents)},
        "seller_payable_breakdown": {"total_refunded_amount": {"currency_code": currency, "value": value_of(total)}}});
    g.refunds.push((capture_id.to_string(), v.clone()));
    v
}

fn check_bearer(g: &Inner, headers: &HeaderMap) -> Result<(), (StatusCode, Value)> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match auth.strip_prefix("Bearer ") {
        Some(t) if g.tokens.iter().any(|k| k == t) => Ok(()),
        _ => Err((
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_token", "error_description": "Token signature verification failed"}),
        )),
    }
}

fn check_json(headers: &HeaderMap, body: &Bytes) -> Result<Value, (StatusCode, Value)> {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(issue(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "UNSUPPORTED_MEDIA_TYPE",
        ));
    }
    serde_json::from_slice(body).map_err(|_| {
        issue(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "MALFORMED_REQUEST_JSON",
        )
    })
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("paypal-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn answer(
    g: &mut Inner,
    method: &str,
    path: &str,
    rid: Option<String>,
    r: (StatusCode, Value),
) -> Response {
    g.requests.push(Seen {
        method: method.into(),
        path: path.into(),
        request_id: rid,
        status: r.0.as_u16(),
    });
    (r.0, Json(r.1)).into_response()
}

async fn token(State(st): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut g = st.lock().unwrap();
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let r = if auth != want {
        (
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": "Client Authentication failed"}),
        )
    } else if !ct.starts_with("application/x-www-form-urlencoded")
        || form.get("grant_type").map(String::as_str) != Some("client_credentials")
    {
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type"}),
        )
    } else {
        g.tokens_issued += 1;
        let t = format!("A21AAfake{}-{}", g.tokens_issued, rand::random::<u32>());
        g.tokens.push(t.clone());
        (
            StatusCode::OK,
            json!({"scope": "https://uri.paypal.com/services/payments/payment", "access_token": t,
            "token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": g.token_life, "nonce": "n"}),
        )
    };
    answer(&mut g, "POST", "/v1/oauth2/token", None, r)
}

fn validate_order(g: &Inner, b: &Value) -> Result<(), (StatusCode, Value)> {
    if b["intent"] != "CAPTURE" {
        return Err(invalid("/intent"));
    }
    let units = b["purchase_units"]
        .as_array()
        .ok_or_else(|| invalid("/purchase_units"))?;
    if units.len() != 1 {
        return Err(invalid("/purchase_units"));
    }
    let u = &units[0];
    let cur = u["amount"]["currency_code"].as_str().unwrap_or("");
    if !CURRENCIES.contains(&cur) {
        return Err(issue(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "CURRENCY_NOT_SUPPORTED",
        ));
    }
    let value = u["amount"]["value"]
        .as_str()
        .ok_or_else(|| invalid("/purchase_units/@reference_id=='default'/amount/value"))?;
    let whole = ["HUF", "JPY", "TWD"].contains(&cur);
    let ok = match value.split_once('.') {
        None => value.bytes().all(|c| c.is_ascii_digit()) && !value.is_empty(),
        Some((i, f)) => {
            !whole
                && !i.is_empty()
                && i.bytes().all(|c| c.is_ascii_digit())
                && f.len() <= 2
                && f.bytes().all(|c| c.is_ascii_digit())
        }
    };
    if !ok {
        return Err(issue(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "DECIMAL_PRECISION",
        ));
    }
    // A breakdown must add up to the value (PayPal: AMOUNT_MISMATCH), in the same currency.
    let breakdown = &u["amount"]["breakdown"];
    if !breakdown.is_null() {
        let part = |k: &str| -> Result<i64, (StatusCode, Value)> {
            let p = &breakdown[k];
            if p.is_null() {
                return Ok(0);
            }
            if p["currency_code"] != cur || p["value"].as_str().is_none() {
                return Err(invalid(&format!(
                    "/purchase_units/@reference_id=='default'/amount/breakdown/{k}"
                )));
            }
            Ok(cents(p))
        };
        let sum = part("item_total")?
            + part("tax_total")?
            + part("shipping")?
            + part("handling")?
            + part("insurance")?
            - part("shipping_discount")?
            - part("discount")?;
        if sum != cents(&u["amount"]) {
            return Err(issue(
                StatusCode::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_ENTITY",
                "AMOUNT_MISMATCH",
            ));
        }
    }
    for f in ["custom_id", "invoice_id"] {
        let v = u[f].as_str().ok_or_else(|| invalid(f))?;
        if v.is_empty() || v.len() > 127 {
            return Err(invalid(f));
        }
    }
    if g.invoice_ids.iter().any(|i| u["invoice_id"] == *i.as_str()) {
        return Err(issue(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "DUPLICATE_INVOICE_ID",
        ));
    }
    // The deprecated application_context is refused here to keep the shop on the current API.
    if !b["application_context"].is_null() {
        return Err(invalid("/application_context"));
    }
    let ctx = &b["payment_source"]["paypal"]["experience_context"];
    for f in ["return_url", "cancel_url"] {
        let url = ctx[f].as_str().unwrap_or("");
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(invalid(&format!(
                "/payment_source/paypal/experience_context/{f}"
            )));
        }
    }
    Ok(())
}

fn order_json(o: &PpOrder) -> Value {
    let mut unit = o.body["purchase_units"][0].clone();
    if let Some(c) = &o.capture {
        unit["payments"] = json!({"captures": [c]});
    }
    json!({"id": o.id, "intent": "CAPTURE", "status": o.status, "purchase_units": [unit],
    "links": [
        {"href": format!("https://www.sandbox.paypal.test/checkoutnow?token={}", o.id), "rel": "payer-action", "method": "GET"},
        {"href": format!("https://api-m.sandbox.paypal.test/v2/checkout/orders/{}", o.id), "rel": "self", "method": "GET"}
    ]})
}

async fn create_order(
    State(st): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = "/v2/checkout/orders";
    let mut g = st.lock().unwrap();
    let rid = request_id(&headers);
    if let Err(e) = check_bearer(&g, &headers) {
        return answer(&mut g, "POST", path, rid, e);
    }
    let Some(rid_v) = rid.clone() else {
        return answer(
            &mut g,
            "POST",
            path,
            rid,
            invalid("PayPal-Request-Id (the shop promises one)"),
        );
    };
    if let Some((s, v)) = g.replays.get(&(path.to_string(), rid_v.clone())).cloned() {
        return answer(
            &mut g,
            "POST",
            path,
            rid,
            (StatusCode::from_u16(s).unwrap(), v),
        );
    }
    if g.fail_next > 0 {
        g.fail_next -= 1;
        return answer(
            &mut g,
            "POST",
            path,
            rid,
            issue(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "INTERNAL_SERVICE_ERROR",
            ),
        );
    }
    let b = match check_json(&headers, &body) {
        Ok(b) => b,
        Err(e) => return answer(&mut g, "POST", path, rid, e),
    };
    if let Err(e) = validate_order(&g, &b) {
        return answer(&mut g, "POST", path, rid, e);
    }
    g.next += 1;
    let o = PpOrder {
        id: format!("5O{:015}", g.next),
        custom_id: b["purchase_units"][0]["custom_id"]
            .as_str()
            .unwrap()
            .to_string(),
        body: b.clone(),
        status: "PAYER_ACTION_REQUIRED".into(),
        capture: None,
    };
    g.invoice_ids.push(
        b["purchase_units"][0]["invoice_id"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let v = order_json(&o);
    g.orders.push(o);
    g.replays
        .insert((path.to_string(), rid_v), (200, v.clone()));
    answer(&mut g, "POST", path, rid, (StatusCode::OK, v))
}

async fn get_order(
    State(st): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/v2/checkout/orders/{id}");
    let mut g = st.lock().unwrap();
    if let Err(e) = check_bearer(&g, &headers) {
        return answer(&mut g, "GET", &path, None, e);
    }
    let r = match g.orders.iter().find(|o| o.id == id) {
        Some(o) => (StatusCode::OK, order_json(o)),
        None => issue(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            "INVALID_RESOURCE_ID",
        ),
    };
    answer(&mut g, "GET", &path, None, r)
}

fn do_capture(g: &mut Inner, id: &str) -> Value {
    g.next += 1;
    let n = g.next;
    let status = g.capture_status.clone();
    let o = g.orders.iter_mut().find(|o| o.id == id).unwrap();
    let unit = &o.body["purchase_units"][0];
    let cap = json!({"id": format!("3C{n:015}"), "status": status, "amount": unit["amount"],
        "custom_id": unit["custom_id"], "invoice_id": unit["invoice_id"], "final_capture": true,
        "supplementary_data": {"related_ids": {"order_id": o.id}}});
    o.capture = Some(cap);
    o.status = "COMPLETED".into();
    order_json(o)
}

async fn capture(
    State(st): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v2/checkout/orders/{id}/capture");
    let mut g = st.lock().unwrap();
    let rid = request_id(&headers);
    if let Err(e) = check_bearer(&g, &headers) {
        return answer(&mut g, "POST", &path, rid, e);
    }
    if let Err(e) = check_json(&headers, &body) {
        return answer(&mut g, "POST", &path, rid, e);
    }
    if let Some(r) = &rid {
        if let Some((s, v)) = g.replays.get(&(path.clone(), r.clone())).cloned() {
            return answer(
                &mut g,
                "POST",
                &path,
                rid,
                (StatusCode::from_u16(s).unwrap(), v),
            );
        }
    }
    if g.fail_next > 0 {
        g.fail_next -= 1;
        return answer(
            &mut g,
            "POST",
            &path,
            rid,
            issue(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "INTERNAL_SERVICE_ERROR",
            ),
        );
    }
    let r = match g
        .orders
        .iter()
        .find(|o| o.id == id)
        .map(|o| o.status.clone())
    {
        None => issue(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            "INVALID_RESOURCE_ID",
        ),
        Some(s) if s == "COMPLETED" => issue(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "ORDER_ALREADY_CAPTURED",
        ),
        Some(s) if s != "APPROVED" => issue(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "ORDER_NOT_APPROVED",
        ),
        Some(_) => (StatusCode::CREATED, do_capture(&mut g, &id)),
    };
    if let Some(rv) = &rid {
        g.replays
            .insert((path.clone(), rv.clone()), (r.0.as_u16(), r.1.clone()));
    }
    answer(&mut g, "POST", &path, rid, r)
}

async fn refund(
    State(st): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let res = refund_call(&st, id, headers, body);
    let fire = st.lock().unwrap().fire.take();
    if let Some((hook, made)) = fire {
        // The refund is made; PayPal's notification of it overtakes this answer.
        hook(made).await;
    }
    res
}

fn refund_call(st: &Arc<Mutex<Inner>>, id: String, headers: HeaderMap, body: Bytes) -> Response {
    let path = format!("/v2/payments/captures/{id}/refund");
    let mut g = st.lock().unwrap();
    let rid = request_id(&headers);
    if let Err(e) = check_bearer(&g, &headers) {
        return answer(&mut g, "POST", &path, rid, e);
    }
    let b = match check_json(&headers, &body) {
        Ok(b) => b,
        Err(e) => return answer(&mut g, "POST", &path, rid, e),
    };
    let Some(rv) = rid.clone() else {
        return answer(
            &mut g,
            "POST",
            &path,
            rid,
            invalid("PayPal-Request-Id (the shop promises one)"),
        );
    };
    if let Some((s, v)) = g.replays.get(&(path.clone(), rv.clone())).cloned() {
        return answer(
            &mut g,
            "POST",
            &path,
            rid,
            (StatusCode::from_u16(s).unwrap(), v),
        );
    }
    let cap = g
        .orders
        .iter()
        .filter_map(|o| o.capture.clone())
        .find(|c| c["id"] == id.as_str());
    let Some(cap) = cap else {
        return answer(
            &mut g,
            "POST",
            &path,
            rid,
            issue(
                StatusCode::NOT_FOUND,
                "RESOURCE_NOT_FOUND",
                "INVALID_RESOURCE_ID",
            ),
        );
    };
    let total = cents(&cap["amount"]);
    let done = *g.refunded.get(&id).unwrap_or(&0);
    let want = if b["amount"].is_null() {
        total - done
    } else {
        if b["amount"]["currency_code"] != cap["amount"]["currency_code"] {
            return answer(
                &mut g,
                "POST",
                &path,
                rid,
                issue(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "UNPROCESSABLE_ENTITY",
                    "REFUND_CURRENCY_MISMATCH",
                ),
            );
        }
        cents(&b["amount"])
    };
    let r = if done >= total {
        issue(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "CAPTURE_FULLY_REFUNDED",
        )
    } else if want <= 0 || done + want > total {
        issue(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "REFUND_AMOUNT_EXCEEDED",
        )
    } else {
        g.refunded.insert(id.clone(), done + want);
        let currency = cap["amount"]["currency_code"].as_str().unwrap().to_string();
        (
            StatusCode::CREATED,
            make_refund(&mut g, &id, &currency, want, done + want),
        )
    };
    g.replays
        .insert((path.clone(), rv), (r.0.as_u16(), r.1.clone()));
    if let Some(hook) = g.on_refund.clone().filter(|_| r.0.is_success()) {
        g.fire = Some((hook, r.1.clone()));
    }
    answer(&mut g, "POST", &path, rid, r)
}

async fn verify(State(st): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> Response {
    let path = "/v1/notifications/verify-webhook-signature";
    let mut g = st.lock().unwrap();
    if let Err(e) = check_bearer(&g, &headers) {
        return answer(&mut g, "POST", path, None, e);
    }
    let b = match check_json(&headers, &body) {
        Ok(b) => b,
        Err(e) => return answer(&mut g, "POST", path, None, e),
    };
    for f in [
        "auth_algo",
        "cert_url",
        "transmission_id",
        "transmission_sig",
        "transmission_time",
        "webhook_id",
    ] {
        if !b[f].is_string() {
            return answer(&mut g, "POST", path, None, invalid(f));
        }
    }
    if !b["webhook_event"].is_object() {
        return answer(&mut g, "POST", path, None, invalid("webhook_event"));
    }
    let text = String::from_utf8_lossy(&body);
    let ok = b["webhook_id"] == WEBHOOK_ID
        && match g.sent.get(b["transmission_id"].as_str().unwrap()) {
            // The signature is the one sent with this transmission, and the event came back
            // exactly as it was sent.
            Some((sig, raw)) => {
                b["transmission_sig"] == sig.as_str() && text.contains(raw.as_str())
            }
            None => false,
        };
    let status = if ok { "SUCCESS" } else { "FAILURE" };
    answer(
        &mut g,
        "POST",
        path,
        None,
        (StatusCode::OK, json!({"verification_status": status})),
    )
}
