//! The public catalog: categories and products, in the customer's language.
//!
//! Answers carry an ETag; a client that sends it back gets 304. Rendered pages are kept in
//! a small in-memory cache keyed by the query and the catalog version, which every admin
//! edit and stock movement bumps, so a cached page is never stale. The cache is bounded by
//! bytes, and the product list's cursors are signed, so made-up cursors are refused (400)
//! instead of each becoming a cached page.

pub mod repo;
mod version;

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{FromRef, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use serde::Deserialize;
use shared::Page;

use crate::config::Config;
use crate::db::Db;
use crate::error::{AppPath, AppQuery, Error, Result};
use crate::lang::ReqLang;
use crate::state::AppState;
use repo::{ProductRow, View};
pub use version::CatalogVersion;

/// What the catalog's handlers need: the database, the texts' language fallback, and the
/// rendered answers with the version that says whether they are still valid.
#[derive(Clone)]
pub struct CatalogState {
    pub db: Db,
    pub config: Arc<Config>,
    pub cache: Arc<Cache>,
    pub version: CatalogVersion,
}

impl FromRef<AppState> for CatalogState {
    fn from_ref(st: &AppState) -> Self {
        CatalogState {
            db: st.db.clone(),
            config: st.config.clone(),
            cache: st.catalog_cache.clone(),
            version: st.catalog_version.clone(),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/categories", get(categories))
        .route("/api/products", get(products))
        .route("/api/products/{id}", get(product))
}

/// `GET /api/products` filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// Only products of this category (its id).
    #[param(value_type = Option<i64>)]
    pub category: Option<String>,
    /// Words the title or description contains (case-insensitive).
    pub q: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Products per page, 1 to 100 (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

const MAX_LIMIT: i64 = 100;

/// Every category, in the merchant's order (one page: `next_cursor` is always null).
#[utoipa::path(get, path = "/api/categories", tag = "catalog",
    params(("lang" = Option<shared::Lang>, Query, description = "Language of the texts; else `Accept-Language`, else the shop's default."), ("If-None-Match" = Option<String>, Header, description = "An `ETag` from an earlier answer: 304 when nothing changed.")),
    responses(
        (status = 200, description = "The categories.", body = Page<shared::Category>, headers(("ETag" = String, description = "Send it back in `If-None-Match`."))),
        (status = 304, description = "Not modified since the `If-None-Match` ETag."),
    ))]
async fn categories(
    State(st): State<CatalogState>,
    ReqLang(lang): ReqLang,
    h: HeaderMap,
) -> Result<Response> {
    let key = format!("categories|{}", lang.code());
    cached(&st, key, &h, || async {
        let rows = repo::categories(&mut *st.db.pool.acquire().await?).await?;
        let items = rows
            .iter()
            .map(|r| r.to_category(lang, &st.config.lang_fallback, false))
            .collect();
        serde_json::to_vec(&Page {
            items,
            next_cursor: None::<String>,
        })
        .map_err(Error::internal)
    })
    .await
}

/// Products on sale, by id, optionally in one category or matching a search.
#[utoipa::path(get, path = "/api/products", tag = "catalog",
    params(ProductQuery, ("lang" = Option<shared::Lang>, Query, description = "Language of the texts; else `Accept-Language`, else the shop's default."), ("If-None-Match" = Option<String>, Header, description = "An `ETag` from an earlier answer: 304 when nothing changed.")),
    responses(
        (status = 200, description = "A page of products; pass `next_cursor` as `cursor` for the next one.", body = Page<shared::Product>, headers(("ETag" = String, description = "Send it back in `If-None-Match`."))),
        (status = 304, description = "Not modified since the `If-None-Match` ETag."),
    ))]
async fn products(
    State(st): State<CatalogState>,
    ReqLang(lang): ReqLang,
    AppQuery(q): AppQuery<ProductQuery>,
    h: HeaderMap,
) -> Result<Response> {
    let limit = match q.limit.as_deref().filter(|s| !s.is_empty()) {
        None => 20,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Error::field(
                    "invalid_limit",
                    "limit",
                    format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    let category = match q.category.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(s.parse::<i64>().map_err(|_| {
            Error::field(
                "invalid_category",
                "category",
                "category must be a category id",
            )
        })?),
    };
    let after = match q.cursor.as_deref().filter(|s| !s.is_empty()) {
        None => 0,
        Some(c) => st.cache.open_cursor(c)?,
    };
    let search =
        q.q.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            // Control characters (a NUL breaks PostgreSQL text) never match a product anyway.
            .map(|s| {
                s.chars()
                    .filter(|c| !c.is_control())
                    .take(100)
                    .collect::<String>()
            })
            .filter(|s| !s.trim().is_empty());
    let key = format!(
        "products|{}|{category:?}|{search:?}|{after}|{limit}",
        lang.code()
    );
    cached(&st, key, &h, || async {
        let mut q = crate::db::SqlBuilder::new(concat!(
            "SELECT ",
            repo::product_cols!(),
            " FROM products WHERE archived = 0 AND id > "
        ));
        q.push_bind(after);
        if let Some(c) = category {
            q.push(" AND category_id = ").push_bind(c);
        }
        if let Some(s) = &search {
            q.push(" AND search_text LIKE ")
                .push_bind(repo::like_pattern(s))
                .push(" ESCAPE '\\'");
        }
        // One more than asked tells whether there is a next page without a COUNT.
        q.push(" ORDER BY id LIMIT ").push_bind(limit + 1);
        let mut rows = q
            .build_query_as::<ProductRow>()
            .fetch_all(&st.db.pool)
            .await?;
        let next_cursor = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|r| st.cache.sign_cursor(r.id))
        } else {
            None
        };
        let view = View {
            lang,
            fallback: &st.config.lang_fallback,
            admin: false,
        };
        let items = repo::assemble(&mut *st.db.pool.acquire().await?, &rows, view).await?;
        serde_json::to_vec(&Page { items, next_cursor }).map_err(Error::internal)
    })
    .await
}

/// One product with its variants, prices and stock.
#[utoipa::path(get, path = "/api/products/{id}", tag = "catalog",
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The product's id."), ("lang" = Option<shared::Lang>, Query, description = "Language of the texts; else `Accept-Language`, else the shop's default."), ("If-None-Match" = Option<String>, Header, description = "An `ETag` from an earlier answer: 304 when nothing changed.")),
    responses(
        (status = 200, description = "The product.", body = shared::Product, headers(("ETag" = String, description = "Send it back in `If-None-Match`."))),
        (status = 304, description = "Not modified since the `If-None-Match` ETag."),
        (status = 404, description = "No such product (or it is archived)."),
    ))]
async fn product(
    State(st): State<CatalogState>,
    ReqLang(lang): ReqLang,
    AppPath(id): AppPath<i64>,
    h: HeaderMap,
) -> Result<Response> {
    let key = format!("product|{}|{id}", lang.code());
    cached(&st, key, &h, || async {
        let view = View {
            lang,
            fallback: &st.config.lang_fallback,
            admin: false,
        };
        let p = repo::product(&mut *st.db.pool.acquire().await?, id, view)
            .await?
            .ok_or_else(|| Error::not_found("product"))?;
        serde_json::to_vec(&p).map_err(Error::internal)
    })
    .await
}

pub fn encode_cursor(id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("id:{id}"))
}

pub fn decode_cursor(c: &str) -> Result<i64> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("id:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            Error::field(
                "invalid_cursor",
                "cursor",
                "cursor is not one this API gave out; start again without it",
            )
        })
}

struct Entry {
    version: u64,
    etag: HeaderValue,
    body: Bytes,
    made: std::time::Instant,
}

impl Entry {
    /// What the entry costs in memory, roughly: the body, the key and the bookkeeping.
    fn weight(&self, key: &str) -> usize {
        self.body.len() + key.len() + self.etag.len() + 64
    }
}

/// Rendered catalog answers, least recently used first out once they pass [`CACHE_BYTES`]:
/// odd queries cost at most that much memory, however many there are.
pub struct Cache {
    entries: Mutex<Lru>,
    /// Signs product-list cursors; shared by every process on one database (see
    /// `db::instance_secret`), so a cursor from one process works on another.
    cursor_key: [u8; 32],
    /// How long a page may be served without rendering it again. The catalog version only
    /// sees this process's changes; when other processes share the database (PostgreSQL) a
    /// page is re-read after this long, so their edits and stock moves show within it.
    max_age: Option<std::time::Duration>,
}

/// Pages are at most this old when several processes share a PostgreSQL database.
pub const SHARED_DB_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(1);

struct Lru {
    map: lru::LruCache<String, Entry>,
    bytes: usize,
}

/// The cache's budget: a few thousand typical pages.
pub const CACHE_BYTES: usize = 16 * 1024 * 1024;

impl Cache {
    pub fn new(cursor_key: [u8; 32], max_age: Option<std::time::Duration>) -> Cache {
        Cache {
            entries: Mutex::new(Lru {
                map: lru::LruCache::unbounded(),
                bytes: 0,
            }),
            cursor_key,
            max_age,
        }
    }

    /// Bytes held now (for tests and metrics).
    pub fn bytes(&self) -> usize {
        self.entries.lock().expect("catalog cache").bytes
    }

    pub fn len(&self) -> usize {
        self.entries.lock().expect("catalog cache").map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn mac(&self, payload: &str) -> [u8; 12] {
        use hmac::{Mac, SimpleHmac};
        let mut m = SimpleHmac::<sha2::Sha256>::new_from_slice(&self.cursor_key)
            .expect("HMAC takes any key length");
        m.update(payload.as_bytes());
        let full = m.finalize().into_bytes();
        let mut out = [0u8; 12];
        out.copy_from_slice(&full[..12]);
        out
    }

    /// A product-list cursor: the last id shown, with a MAC so only the shop can make one.
    pub fn sign_cursor(&self, id: i64) -> String {
        let payload = format!("id:{id}");
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}",
            b64.encode(&payload),
            b64.encode(self.mac(&payload))
        )
    }

    /// The id in a cursor this shop signed; anything else is a 400 and never reaches the cache.
    pub fn open_cursor(&self, c: &str) -> Result<i64> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let bad = || {
            Error::field(
                "invalid_cursor",
                "cursor",
                "cursor is not one this API gave out; start again without it",
            )
        };
        let (p, mac) = c.split_once('.').ok_or_else(bad)?;
        let payload = b64
            .decode(p)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(bad)?;
        let mac = b64.decode(mac).map_err(|_| bad())?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            &self.mac(&payload)[..],
            &mac[..],
        )) {
            return Err(bad());
        }
        payload
            .strip_prefix("id:")
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)
    }

    /// Puts a body in the cache as if rendered (for tests of the bound).
    #[doc(hidden)]
    pub fn put_for_test(&self, key: String, body: Vec<u8>) {
        let entry = Entry {
            version: 0,
            etag: HeaderValue::from_static("W/\"t\""),
            body: Bytes::from(body),
            made: std::time::Instant::now(),
        };
        self.put(key, entry);
    }

    #[doc(hidden)]
    pub fn contains_for_test(&self, key: &str) -> bool {
        self.entries
            .lock()
            .expect("catalog cache")
            .map
            .contains(key)
    }

    fn get(&self, key: &str, version: u64) -> Option<(HeaderValue, Bytes)> {
        let mut c = self.entries.lock().expect("catalog cache");
        let max_age = self.max_age;
        c.map
            .get(key)
            .filter(|e| e.version == version)
            .filter(|e| max_age.is_none_or(|m| e.made.elapsed() < m))
            .map(|e| (e.etag.clone(), e.body.clone()))
    }

    fn put(&self, key: String, entry: Entry) {
        let w = entry.weight(&key);
        if w > CACHE_BYTES / 4 {
            return; // one huge answer is not worth evicting a quarter of the cache for
        }
        let mut c = self.entries.lock().expect("catalog cache");
        if let Some(old) = c.map.pop(&key) {
            c.bytes -= old.weight(&key);
        }
        c.bytes += w;
        c.map.put(key, entry);
        while c.bytes > CACHE_BYTES {
            match c.map.pop_lru() {
                Some((k, e)) => c.bytes -= e.weight(&k),
                None => break,
            }
        }
    }
}

async fn cached<F, Fut>(
    st: &CatalogState,
    key: String,
    h: &HeaderMap,
    render: F,
) -> Result<Response>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<u8>>>,
{
    let version = st.version.get();
    let hit = st.cache.get(&key, version);
    let (etag, body) = match hit {
        Some(hit) => hit,
        None => {
            let body = Bytes::from(render().await?);
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            body.hash(&mut hasher);
            let etag = HeaderValue::from_str(&format!("W/\"{:016x}\"", hasher.finish()))
                .map_err(Error::internal)?;
            st.cache.put(
                key,
                Entry {
                    version,
                    etag: etag.clone(),
                    body: body.clone(),
                    made: std::time::Instant::now(),
                },
            );
            (etag, body)
        }
    };
    let matches = h
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == etag.to_str().unwrap_or("") || t.trim() == "*")
        });
    let common = [
        (header::ETAG, etag),
        // Clients may keep a copy but must ask (cheaply, with the ETag) before using it.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::VARY, HeaderValue::from_static("Accept-Language")),
    ];
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    Ok((
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}
