//! Test harness: starts the real app on port 0 against a fresh database of either kind.
//!
//! SQLite tests get a file in a temp folder; PostgreSQL tests get their own database on the
//! local server (`TEST_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/postgres).
//! Without a reachable server PostgreSQL tests are skipped, except under `CI=true`, where
//! they fail: CI must prove both databases.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};
use shop::auth::init_data::sign_hmac;
use shop::config::Config;
use shop::state::AppState;
use sqlx::Connection;

pub const BOT_TOKEN: &str = "123456789:TEST-token-for-the-shop";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub kind: Kind,
    _dir: tempfile::TempDir,
}

/// Runs a test body once on SQLite and once on PostgreSQL, as two `#[tokio::test]`s.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                if let Some(app) = $crate::common::spawn($crate::common::Kind::Sqlite, &[]).await {
                    ($body)(app).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(app) = $crate::common::spawn($crate::common::Kind::Postgres, &[]).await
                {
                    ($body)(app).await;
                }
            }
        }
    };
}

fn pg_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh PostgreSQL database; `None` (skip) when no server is reachable outside CI.
pub async fn fresh_postgres() -> Option<String> {
    let admin = pg_admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but PostgreSQL at {admin} is unreachable: {e}");
            }
            eprintln!("skipping PostgreSQL test: {admin} unreachable ({e})");
            return None;
        }
    };
    cleanup_stale(&mut conn).await;
    let name = format!(
        "shop_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        rand::random::<u32>()
    );
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some(format!("{base}/{name}"))
}

/// Drops test databases left by test processes that are gone.
async fn cleanup_stale(conn: &mut sqlx::PgConnection) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let mut first = false;
    ONCE.call_once(|| first = true);
    if !first {
        return;
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'shop_test_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for n in names {
        let pid = n.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)"))
                    .execute(&mut *conn)
                    .await;
            }
        }
    }
}

/// Starts the shop with a bot token (not dev mode), a fresh database and the demo catalog.
/// `env` overrides or adds configuration variables (a value of "" unsets one).
pub async fn spawn(kind: Kind, env: &[(&str, &str)]) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = match kind {
        Kind::Sqlite => format!("sqlite://{}/shop.db", dir.path().display()),
        Kind::Postgres => fresh_postgres().await?,
    };
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("DATABASE_URL".into(), db_url);
    vars.insert("TELEGRAM_BOT_TOKEN".into(), BOT_TOKEN.into());
    // Never the real Bot API: a test that wants the bot's calls passes its fake's URL; the
    // rest send notices to a local port nobody listens on.
    vars.insert("TELEGRAM_API_URL".into(), "http://127.0.0.1:9".into());
    vars.insert("SEED_DEMO".into(), "1".into());
    vars.insert("RATE_LIMIT_PER_MINUTE".into(), "0".into());
    vars.insert("ADMIN_EMAIL".into(), "owner@shop.test".into());
    vars.insert("ADMIN_PASSWORD".into(), "correct horse battery".into());
    vars.insert(
        "MEDIA_DIR".into(),
        dir.path().join("media").display().to_string(),
    );
    vars.insert(
        "DIST_DIR".into(),
        dir.path().join("dist").display().to_string(),
    );
    for (k, v) in env {
        vars.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_lookup(|k| vars.get(k).cloned().filter(|v| !v.is_empty()))
        .expect("test config");
    let state = shop::startup::build_state(config).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let s = state.clone();
    tokio::spawn(async move {
        shop::startup::serve(listener, s).await.unwrap();
    });
    Some(TestApp {
        addr,
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap(),
        state,
        kind,
        _dir: dir,
    })
}

/// [`spawn`] with a fake provider's variables (its `env()`: URLs and keys it answers to) and
/// `extra` overrides on top.
pub async fn spawn_with_fake(
    kind: Kind,
    fake_env: &[(&'static str, String)],
    extra: &[(&str, &str)],
) -> Option<TestApp> {
    let mut pairs: Vec<(&str, &str)> = fake_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.extend_from_slice(extra);
    spawn(kind, &pairs).await
}

/// The database's plan for `sql` with `args` bound, one line per step. On PostgreSQL sequential
/// scans are off for that one transaction: a test's few rows would make a scan the cheaper
/// plan, and the question is whether an index can serve the statement at all.
#[allow(dead_code)] // not every test binary reads plans
pub async fn query_plan(
    app: &TestApp,
    sql: &str,
    args: sqlx::any::AnyArguments<'static>,
) -> String {
    let lines: Vec<String> = match app.kind {
        Kind::Sqlite => {
            let rows = sqlx::query_with(&format!("EXPLAIN QUERY PLAN {sql}"), args)
                .fetch_all(&app.state.db.pool)
                .await
                .unwrap();
            rows.iter()
                .map(|r| sqlx::Row::get::<String, _>(r, "detail"))
                .collect()
        }
        Kind::Postgres => {
            let mut tx = app.state.db.pool.begin().await.unwrap();
            sqlx::query("SET LOCAL enable_seqscan = off")
                .execute(&mut *tx)
                .await
                .unwrap();
            let rows = sqlx::query_with(&format!("EXPLAIN {sql}"), args)
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            rows.iter()
                .map(|r| sqlx::Row::get::<String, _>(r, 0))
                .collect()
        }
    };
    lines.join("\n")
}

pub fn now() -> i64 {
    shop::db::now()
}

/// initData for user `id`, signed with the test bot token.
pub fn init_data(id: i64) -> String {
    init_data_at(id, now())
}

pub fn init_data_at(id: i64, auth_date: i64) -> String {
    let user =
        json!({"id": id, "first_name": format!("User{id}"), "language_code": "en"}).to_string();
    let auth = auth_date.to_string();
    sign_hmac(
        BOT_TOKEN,
        &[
            ("auth_date", auth.as_str()),
            ("query_id", "AAtest"),
            ("user", user.as_str()),
        ],
    )
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    /// A request authenticated as Telegram user `user`.
    pub fn as_user(
        &self,
        method: reqwest::Method,
        path: &str,
        user: i64,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("Authorization", format!("tma {}", init_data(user)))
    }

    pub async fn json(&self, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let res = rb.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        (status, v)
    }

    /// All catalog products (first page of 100).
    pub async fn products(&self) -> Vec<Value> {
        let (s, v) = self.json(self.get("/api/products?limit=100")).await;
        assert_eq!(s, 200, "{v}");
        v["items"].as_array().unwrap().clone()
    }

    /// The first variant of the first product whose English title contains `name`.
    pub async fn variant(&self, name: &str) -> Value {
        self.products()
            .await
            .into_iter()
            .find(|p| p["title"].as_str().unwrap_or("").contains(name))
            .unwrap_or_else(|| panic!("no product named {name}"))["variants"][0]
            .clone()
    }

    /// `POST /api/admin/orders/{id}/refund` as the signed-in admin (`csrf` from
    /// [`TestApp::admin_login`]); answers the status and body.
    pub async fn admin_refund(&self, csrf: &str, id: i64, body: Value) -> (u16, Value) {
        self.json(
            self.admin(
                reqwest::Method::POST,
                &format!("/api/admin/orders/{id}/refund"),
                csrf,
            )
            .json(&body),
        )
        .await
    }

    /// A product with one variant, created through the admin API (signing in first); answers
    /// the variant's id. `product` is the body without `variants` (kind, title, and whatever
    /// else the test needs); the variant gets a fresh SKU starting with `sku_prefix`.
    pub async fn admin_product(
        &self,
        mut product: Value,
        sku_prefix: &str,
        price_minor: i64,
        currency: &str,
        stock: i64,
    ) -> i64 {
        let csrf = self.admin_login().await;
        let sku = format!("{sku_prefix}-{}", rand::random::<u32>());
        product["variants"] = json!([{"sku": sku, "options": {},
            "price": {"amount_minor": price_minor, "currency": currency}, "stock": stock}]);
        let (s, v) = self
            .json(
                self.admin(reqwest::Method::POST, "/api/admin/products", &csrf)
                    .json(&product),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["variants"][0]["id"].as_i64().unwrap()
    }

    /// An order of `qty` units of one variant paid with `method`, placed by `user` with this
    /// delivery contact; asserts 201 and answers the order.
    pub async fn place_order(
        &self,
        user: i64,
        variant: i64,
        qty: i64,
        method: &str,
        contact: Value,
    ) -> Value {
        let (s, v) = self
            .order(
                user,
                json!({"items": [{"variant_id": variant, "quantity": qty}],
                       "payment_method": method, "contact": contact}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v
    }

    /// An order's status as its customer `user` sees it (`GET /api/orders/{id}`).
    pub async fn order_status(&self, user: i64, id: i64) -> String {
        let (s, v) = self
            .json(self.as_user(reqwest::Method::GET, &format!("/api/orders/{id}"), user))
            .await;
        assert_eq!(s, 200, "{v}");
        v["status"].as_str().unwrap().to_string()
    }

    /// `GET /api/admin/orders/{id}` as the signed-in admin; asserts 200.
    pub async fn admin_order(&self, csrf: &str, id: i64) -> Value {
        let (s, v) = self
            .json(self.admin(
                reqwest::Method::GET,
                &format!("/api/admin/orders/{id}"),
                csrf,
            ))
            .await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// Signs the admin in; answers the CSRF token (the cookie stays in the client).
    pub async fn admin_login(&self) -> String {
        let (s, v) = self
            .json(
                self.client.post(self.url("/api/admin/login")).json(
                    &json!({"email": "owner@shop.test", "password": "correct horse battery"}),
                ),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["csrf_token"].as_str().unwrap().to_string()
    }

    pub fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        csrf: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("X-CSRF-Token", csrf)
    }
}

pub fn error_code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no envelope>")
}

pub fn contact() -> Value {
    json!({"name": "Dilnoza Karimova", "phone": "+998 90 123 45 67", "address": "Tashkent, Amir Temur 1"})
}

// ---------------------------------------------------------------------------------------------
// Helpers added for the integration suites (api_errors, catalog, cart, orders, …).
// ---------------------------------------------------------------------------------------------

/// Like `both!`, but both apps start with these configuration overrides (`""` unsets one).
#[macro_export]
macro_rules! both_with {
    ($name:ident, $env:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                if let Some(app) = $crate::common::spawn($crate::common::Kind::Sqlite, $env).await {
                    ($body)(app).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(app) = $crate::common::spawn($crate::common::Kind::Postgres, $env).await
                {
                    ($body)(app).await;
                }
            }
        }
    };
}

/// Runs a body once per database kind, handing it the `Kind` so it can spawn apps itself
/// (several apps, or an app whose configuration needs files made first).
#[macro_export]
macro_rules! both_kinds {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                ($body)($crate::common::Kind::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                ($body)($crate::common::Kind::Postgres).await;
            }
        }
    };
}

/// A response read to the end, headers kept.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.text()))
    }
}

/// Asserts the contract's error shape: `status`, a JSON content type and
/// `{"error":{"code": snake_case, "message": non-empty}}`; `code`, when given, must match.
/// Answers the parsed body.
#[track_caller]
pub fn assert_envelope(r: &Raw, status: u16, code: Option<&str>) -> Value {
    assert_eq!(r.status, status, "status; body: {}", r.text());
    let ct = r.header("content-type").unwrap_or("");
    assert!(
        ct.starts_with("application/json"),
        "error content type should be JSON, got {ct:?}; body: {}",
        r.text()
    );
    let v = r.json();
    let c = v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {v}"));
    assert!(
        !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
        "error.code is not snake_case: {c:?}"
    );
    let m = v["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.message in {v}"));
    assert!(!m.trim().is_empty(), "empty error.message in {v}");
    if let Some(code) = code {
        assert_eq!(c, code, "error code; body {v}");
    }
    v
}

impl TestApp {
    /// Sends a request and reads the whole answer, headers included.
    pub async fn raw(&self, rb: reqwest::RequestBuilder) -> Raw {
        let res = rb.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.bytes().await.expect("body").to_vec();
        Raw {
            status,
            headers,
            body,
        }
    }

    /// `POST /api/orders` as `user` with this JSON body.
    pub async fn order(&self, user: i64, body: Value) -> (u16, Value) {
        self.json(
            self.as_user(reqwest::Method::POST, "/api/orders", user)
                .json(&body),
        )
        .await
    }

    /// A cash order of `qty` units of one variant, with a delivery contact; asserts 201.
    pub async fn cash_order(&self, user: i64, variant_id: i64, qty: i64) -> Value {
        let (s, v) = self
            .order(
                user,
                json!({
                    "items": [{"variant_id": variant_id, "quantity": qty}],
                    "payment_method": "cash",
                    "contact": contact(),
                }),
            )
            .await;
        assert_eq!(s, 201, "order: {v}");
        v
    }

    /// A cash order of one unit as a task of its own (for concurrency tests): answers the HTTP
    /// status. Owns what it needs, so many can run at once on one or several apps.
    pub fn cash_order_task(
        &self,
        user: i64,
        variant_id: i64,
    ) -> impl std::future::Future<Output = u16> + Send + 'static {
        let (base, client) = (self.base.clone(), self.client.clone());
        async move {
            client
                .post(format!("{base}/api/orders"))
                .header("Authorization", format!("tma {}", init_data(user)))
                .json(
                    &json!({"items": [{"variant_id": variant_id, "quantity": 1}],
                              "payment_method": "cash", "contact": contact()}),
                )
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    }

    /// Free stock of a variant, read from the database (`None` = unlimited).
    pub async fn stock(&self, variant_id: i64) -> Option<i64> {
        sqlx::query_scalar::<_, Option<i64>>("SELECT stock FROM variants WHERE id = $1")
            .bind(variant_id)
            .fetch_one(&self.state.db.pool)
            .await
            .expect("read stock")
    }

    /// Units of a variant held by unpaid orders, read from the database.
    pub async fn reserved(&self, variant_id: i64) -> i64 {
        sqlx::query_scalar::<_, i64>("SELECT reserved FROM variants WHERE id = $1")
            .bind(variant_id)
            .fetch_one(&self.state.db.pool)
            .await
            .expect("read reserved")
    }

    /// Sets a variant's free stock directly in the database and tells the catalog cache.
    pub async fn set_stock(&self, variant_id: i64, stock: Option<i64>) {
        sqlx::query("UPDATE variants SET stock = $1 WHERE id = $2")
            .bind(stock)
            .bind(variant_id)
            .execute(&self.state.db.pool)
            .await
            .expect("set stock");
        self.state.catalog_changed();
    }

    /// The catalog product (default language) whose English title contains `name`.
    pub async fn product(&self, name: &str) -> Value {
        self.products()
            .await
            .into_iter()
            .find(|p| p["title"].as_str().unwrap_or("").contains(name))
            .unwrap_or_else(|| panic!("no product named {name}"))
    }

    /// The id of the first variant of the product named `name`.
    pub async fn variant_id(&self, name: &str) -> i64 {
        self.variant(name).await["id"].as_i64().expect("variant id")
    }
}
