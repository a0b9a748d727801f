//! Serves the built frontend and uploaded media: the storefront (`dist/`) at `/`, the merchant
//! admin (`dist/admin/`, a bundle of its own) at `/admin`, each with its own SPA fallback.
//!
//! Trunk names assets with a content hash, so they are cached for a year as immutable; the
//! page itself is revalidated on every open so a new release shows up at once. Files are
//! served precompressed (`.br`, `.gz` made by the build script) per `Accept-Encoding`.

use std::path::{Path, PathBuf};

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use tower::ServiceExt;

use crate::error::Error;
use axum::response::{Html, IntoResponse, Response};
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

use crate::state::AppState;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub fn router(dist: &Path, media: &Path) -> Router<AppState> {
    let media = Router::new()
        .nest_service("/media", ServeDir::new(media))
        .layer(middleware::from_fn(media_cache));
    let store = Spa::new(dist);
    if store.is_none() {
        tracing::warn!(dist = %dist.display(), "no built frontend; serving a placeholder page");
    }
    // The merchant admin is a bundle of its own in dist/admin/ (scripts/build-frontend.sh).
    let admin = Spa::new(&dist.join("admin"));
    media.fallback(move |mut req: Request| {
        let (store, admin) = (store.clone(), admin.clone());
        async move {
            let path = req.uri().path();
            // Unknown API and webhook routes are API errors, never the storefront page.
            if path.starts_with("/api/") || path == "/api" || path.starts_with("/webhooks/") {
                return Error::NotFound("No such API route.".into()).into_response();
            }
            // /admin and everything under it belong to the admin bundle, never the storefront.
            if path == "/admin" || path.starts_with("/admin/") {
                let Some(admin) = admin else {
                    return not_built("The admin is not built yet");
                };
                let rest = match &path["/admin".len()..] {
                    "" => "/",
                    r => r,
                };
                let uri = match req.uri().query() {
                    Some(q) => format!("{rest}?{q}"),
                    None => rest.to_string(),
                };
                match uri.parse() {
                    Ok(u) => *req.uri_mut() = u,
                    Err(_) => return Error::NotFound("No such page.".into()).into_response(),
                }
                return admin.serve(req).await;
            }
            match store {
                Some(store) => store.serve(req).await,
                None => not_built("The storefront is not built yet"),
            }
        }
    })
}

/// One built single-page app: its folder, served precompressed, with `index.html` for every
/// path that is not a file (client-side routes).
#[derive(Clone)]
struct Spa {
    dir: ServeDir<ServeFile>,
    root: PathBuf,
}

impl Spa {
    fn new(root: &Path) -> Option<Spa> {
        let index = root.join("index.html");
        index.exists().then(|| Spa {
            dir: ServeDir::new(root)
                .precompressed_br()
                .precompressed_gzip()
                .fallback(
                    ServeFile::new(index)
                        .precompressed_br()
                        .precompressed_gzip(),
                ),
            root: root.to_path_buf(),
        })
    }

    /// Serves `req` (its path relative to this app's root).
    async fn serve(self, req: Request) -> Response {
        let path = req.uri().path().to_string();
        // A file name that is not in this build (an old hash during a deploy, a typo) is a
        // 404, not the page: HTML cached under a script's URL would break clients for a year.
        let last = path.rsplit('/').next().unwrap_or("");
        if last.contains('.')
            && !path.contains("..")
            && !self.root.join(path.trim_start_matches('/')).is_file()
        {
            return Error::NotFound(format!("{last} is not part of this build.")).into_response();
        }
        let hashed = is_hashed_asset(&path);
        let mut res = match self.dir.oneshot(req).await {
            Ok(r) => r.into_response(),
            Err(e) => Error::internal(e).into_response(),
        };
        if res.status() == StatusCode::OK || res.status() == StatusCode::NOT_MODIFIED {
            let v = if hashed { IMMUTABLE } else { "no-cache" };
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(v));
        }
        // The same URL answers brotli, gzip or plain bytes: caches must key on it.
        res.headers_mut()
            .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        res
    }
}

/// The Content-Security-Policy of every answer. Scripts come from the shop itself and from
/// telegram.org (the WebApp script), plus the exact inline scripts the build wrote into the
/// storefront's and the admin's `index.html`, each allowed by its SHA-256 (read at start, so a
/// rebuilt frontend is picked up by a restart and nothing else can run inline). WebAssembly
/// needs `'wasm-unsafe-eval'`; Leptos sets `style` attributes, hence inline styles. Only
/// Telegram Web may frame the shop.
pub fn content_security_policy(dist: &Path) -> String {
    let mut hashes = Vec::new();
    for page in [
        dist.join("index.html"),
        dist.join("admin").join("index.html"),
    ] {
        if let Ok(html) = std::fs::read_to_string(&page) {
            for script in inline_scripts(&html) {
                use sha2::Digest;
                let h = base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    sha2::Sha256::digest(script.as_bytes()),
                );
                let h = format!("'sha256-{h}'");
                if !hashes.contains(&h) {
                    hashes.push(h);
                }
            }
        }
    }
    let mut script_src = String::from("'self' 'wasm-unsafe-eval' https://telegram.org");
    for h in &hashes {
        script_src.push(' ');
        script_src.push_str(h);
    }
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; \
         frame-ancestors https://web.telegram.org https://*.telegram.org"
    )
}

/// The bodies of `<script>` elements without a `src` in our own built pages. Not an HTML
/// parser: the pages are written by our build scripts, and a script this misses is simply not
/// allowed to run (the browser tests would show it).
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<script") {
        let after = &rest[i..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let tag = &after[..open_end];
        let body_start = open_end + 1;
        let Some(close) = after[body_start..].find("</script>") else {
            break;
        };
        let body = &after[body_start..body_start + close];
        if !tag.contains(" src=") && !body.is_empty() {
            out.push(body);
        }
        rest = &after[body_start + close + "</script>".len()..];
    }
    out
}

/// Whether a file's name carries a content hash (Trunk's `app-0f1e2d3c4b5a6978_bg.wasm`) or
/// it sits in a folder named by one (the split storefront's `shop-0f1e2d3c4b5a6978/chunk_7.wasm`,
/// scripts/build-storefront.sh). Trunk prints the 64-bit hash without leading zeros, so it can
/// be shorter than 16 digits.
pub fn is_hashed_asset(path: &str) -> bool {
    let hashed = |stem: &str| {
        stem.rsplit_once('-')
            .is_some_and(|(_, h)| h.len() >= 8 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let mut segments = path.trim_start_matches('/').rsplit('/');
    let name = segments.next().unwrap_or("");
    let stem = name.split('.').next().unwrap_or("");
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    (name.contains('.') && hashed(stem)) || segments.next().is_some_and(hashed)
}

/// Uploaded images are stored under content-hashed names, so they never change either.
async fn media_cache(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if res.status() == StatusCode::OK {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    }
    res
}

fn not_built(what: &str) -> Response {
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        Html(format!(
            "<!doctype html><meta charset=utf-8><title>The shop</title>\
             <h1>{what}</h1>\
             <p>Run <code>./scripts/run.sh</code>, which builds it and starts the shop. The API is up at <code>/api</code>.</p>"
        )),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::{inline_scripts, is_hashed_asset};

    #[test]
    fn finds_inline_scripts_only() {
        let html = r#"<head><script src="https://telegram.org/js/telegram-web-app.js"></script>
<script type="module">import init from "/a.js"; init();</script></head>
<body><script>one()</script></body>"#;
        assert_eq!(
            inline_scripts(html),
            vec![r#"import init from "/a.js"; init();"#, "one()"]
        );
    }

    #[test]
    fn recognises_trunk_hashed_names() {
        assert!(is_hashed_asset("/frontend-6f2b0c1d9e8a7b3c_bg.wasm"));
        assert!(is_hashed_asset("/frontend-6f2b0c1d9e8a7b3c.js"));
        assert!(is_hashed_asset("/style-0123456789abcdef.css"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/"));
        assert!(!is_hashed_asset("/admin/orders"));
        assert!(!is_hashed_asset("/my-page.js"));
        assert!(is_hashed_asset("/frontend-892a8cc7040404d_bg.wasm"));
        assert!(!is_hashed_asset("/jquery-3.7.1.js"));
        // The split storefront: everything in its hashed folder, whatever the file is called.
        assert!(is_hashed_asset("/shop-bb350dd779da19fb/chunk_7.wasm"));
        assert!(is_hashed_asset("/shop-bb350dd779da19fb/__wasm_split.js"));
        assert!(!is_hashed_asset("/shop/chunk_7.wasm"));
        assert!(!is_hashed_asset("/admin/chunk_7.wasm"));
    }
}
