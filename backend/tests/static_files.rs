//! The built storefront (web.rs): SPA fallback, caching, precompressed files, and API routes
//! that stay API routes.
mod common;
use common::*;

const INDEX: &str = "<!doctype html><title>shop test index</title><script src=\"/app-0123456789abcdef.js\"></script>";
const JS: &str = "console.log('the plain script');";
const JS_BR: &[u8] = b"\x1b\x20\x00\xf8pretend-brotli-bytes";
const JS_GZ: &[u8] = b"\x1f\x8b\x08\x00pretend-gzip-bytes";
const INDEX_BR: &[u8] = b"\x1b\x10\x00pretend-brotli-index";
const WASM: &[u8] = b"\0asm\x01\x00\x00\x00";

/// A dist folder like the build makes, and an app serving it.
async fn app_with_dist(kind: Kind) -> Option<(TestApp, tempfile::TempDir)> {
    let dist = tempfile::tempdir().unwrap();
    let p = dist.path();
    std::fs::write(p.join("index.html"), INDEX).unwrap();
    std::fs::write(p.join("index.html.br"), INDEX_BR).unwrap();
    std::fs::write(p.join("app-0123456789abcdef.js"), JS).unwrap();
    std::fs::write(p.join("app-0123456789abcdef.js.br"), JS_BR).unwrap();
    std::fs::write(p.join("app-0123456789abcdef.js.gz"), JS_GZ).unwrap();
    std::fs::write(p.join("app-0123456789abcdef_bg.wasm"), WASM).unwrap();
    std::fs::write(p.join("robots.txt"), "User-agent: *\n").unwrap();
    let dir = p.display().to_string();
    let app = spawn(kind, &[("DIST_DIR", dir.as_str())]).await?;
    Some((app, dist))
}

both_kinds!(index_is_revalidated, |kind: Kind| async move {
    let Some((app, _dist)) = app_with_dist(kind).await else {
        return;
    };
    let r = app.raw(app.get("/")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), INDEX);
    assert!(
        r.header("content-type")
            .unwrap_or("")
            .starts_with("text/html"),
        "{:?}",
        r.headers
    );
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert!(r.header("content-encoding").is_none());
    let r = app.raw(app.get("/index.html")).await;
    assert_eq!(r.text(), INDEX);
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    // Un-hashed files are revalidated too.
    let r = app.raw(app.get("/robots.txt")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-cache"));
});

both_kinds!(hashed_assets_are_immutable, |kind: Kind| async move {
    let Some((app, _dist)) = app_with_dist(kind).await else {
        return;
    };
    let r = app.raw(app.get("/app-0123456789abcdef.js")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), JS, "no Accept-Encoding: the plain file");
    assert!(r.header("content-encoding").is_none());
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(
        r.header("content-type")
            .unwrap_or("")
            .contains("javascript"),
        "{:?}",
        r.headers
    );

    let r = app.raw(app.get("/app-0123456789abcdef_bg.wasm")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, WASM);
    assert_eq!(r.header("content-type"), Some("application/wasm"));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
});

both_kinds!(
    precompressed_files_follow_accept_encoding,
    |kind: Kind| async move {
        let Some((app, _dist)) = app_with_dist(kind).await else {
            return;
        };
        let get = |enc: &str| {
            app.get("/app-0123456789abcdef.js")
                .header("Accept-Encoding", enc.to_string())
        };
        let r = app.raw(get("br")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding"), Some("br"));
        assert_eq!(r.body, JS_BR, "the .br file's bytes");
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert!(
            r.header("content-type")
                .unwrap_or("")
                .contains("javascript"),
            "type of the original: {:?}",
            r.headers
        );

        // What browsers send: br is preferred over gzip.
        let r = app.raw(get("gzip, deflate, br, zstd")).await;
        assert_eq!(r.header("content-encoding"), Some("br"));
        assert_eq!(r.body, JS_BR);
        // gzip only.
        let r = app.raw(get("gzip")).await;
        assert_eq!(r.header("content-encoding"), Some("gzip"));
        assert_eq!(r.body, JS_GZ);
        // Nothing we have.
        let r = app.raw(get("identity")).await;
        assert!(r.header("content-encoding").is_none());
        assert_eq!(r.text(), JS);

        // The page and the SPA fallback are compressed too.
        let r = app.raw(app.get("/").header("Accept-Encoding", "br")).await;
        assert_eq!(r.header("content-encoding"), Some("br"));
        assert_eq!(r.body, INDEX_BR);
        let r = app
            .raw(app.get("/orders/5").header("Accept-Encoding", "br"))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding"), Some("br"));
        assert_eq!(r.body, INDEX_BR);
    }
);

both_kinds!(
    client_routes_fall_back_to_the_page,
    |kind: Kind| async move {
        let Some((app, _dist)) = app_with_dist(kind).await else {
            return;
        };
        for path in ["/orders/5", "/cart", "/products/3?x=1", "/administrator"] {
            let r = app.raw(app.get(path)).await;
            assert_eq!(r.status, 200, "{path}");
            assert_eq!(r.text(), INDEX, "{path}");
            assert!(r
                .header("content-type")
                .unwrap_or("")
                .starts_with("text/html"));
            assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        }
        // API and webhook paths never get the page.
        for path in ["/api/nope", "/api/orders/5/nope", "/webhooks/nope"] {
            let r = app.raw(app.get(path)).await;
            assert_envelope(&r, 404, Some("not_found"));
            assert!(!r.text().contains("shop test index"));
        }
        // The API still works next to the storefront.
        let (s, v) = app.json(app.get("/api/categories")).await;
        assert_eq!((s, v["items"].as_array().map(|a| a.len())), (200, Some(4)));
    }
);

both!(
    seeded_media_is_served_immutable,
    |app: TestApp| async move {
        let p = app.product("Teapot").await;
        let url = p["images"][0].as_str().expect("an image").to_string();
        // The demo pictures go through the upload pipeline: the widest width is the
        // product's, the narrower one sits next to it under the same hash (srcset).
        assert!(
            url.starts_with("/media/") && url.ends_with("-640.jpg"),
            "{url}"
        );
        for url in [url.clone(), url.replace("-640.jpg", "-320.jpg")] {
            let r = app.raw(app.get(&url)).await;
            assert_eq!(r.status, 200, "{url}");
            assert!(
                r.header("content-type")
                    .unwrap_or("")
                    .starts_with("image/jpeg"),
                "{:?}",
                r.headers
            );
            assert_eq!(
                r.header("cache-control"),
                Some("public, max-age=31536000, immutable")
            );
            assert!(r.body.starts_with(&[0xff, 0xd8]), "a JPEG: {url}");
            // Small enough for a phone on a slow network.
            assert!(r.body.len() < 40_000, "{url}: {} B", r.body.len());
        }
        let r = app.raw(app.get("/media/nope.svg")).await;
        assert_eq!(r.status, 404);
        assert!(
            r.header("cache-control")
                .is_none_or(|c| !c.contains("immutable")),
            "a miss must not be cached for a year"
        );
    }
);

/// The same URL answers different bytes per `Accept-Encoding`, with a one-year public cache
/// lifetime: without `Vary: Accept-Encoding` a shared cache (CDN, proxy) may keep the brotli
/// body and hand it to a client that cannot decode it.
async fn compressed_answers_vary(kind: Kind) {
    let Some((app, _dist)) = app_with_dist(kind).await else {
        return;
    };
    for (path, enc) in [
        ("/app-0123456789abcdef.js", "br"),
        ("/app-0123456789abcdef.js", "gzip"),
        ("/app-0123456789abcdef.js", "identity"),
        ("/", "br"),
    ] {
        let r = app.raw(app.get(path).header("Accept-Encoding", enc)).await;
        assert_eq!(r.status, 200);
        let vary = r.header("vary").unwrap_or("").to_ascii_lowercase();
        assert!(
            vary.contains("accept-encoding"),
            "{path} ({enc}) needs Vary: Accept-Encoding: {:?}",
            r.headers
        );
    }
}

mod compressed_answers_vary_on_accept_encoding {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        compressed_answers_vary(Kind::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        compressed_answers_vary(Kind::Postgres).await;
    }
}

both_kinds!(no_file_outside_dist_is_served, |kind: Kind| async move {
    let root = tempfile::tempdir().unwrap();
    let dist = root.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    std::fs::write(dist.join("index.html"), INDEX).unwrap();
    std::fs::write(root.path().join("secret.txt"), "TOP-SECRET-NEXT-TO-DIST").unwrap();
    let d = dist.display().to_string();
    let Some(app) = spawn(kind, &[("DIST_DIR", d.as_str())]).await else {
        return;
    };
    for path in [
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/..%5csecret.txt",
    ] {
        let r = app.raw(app.get(path)).await;
        assert!(
            !r.text().contains("TOP-SECRET"),
            "{path} leaked a file outside dist"
        );
    }
});

/// A hashed asset that is not in this build (an older or newer release's page asking for it,
/// e.g. during a rolling deploy) must not get the SPA page with a one-year immutable cache:
/// a browser or CDN would then keep HTML under that script's URL for good.
async fn missing_hashed_asset(kind: Kind) {
    let Some((app, _dist)) = app_with_dist(kind).await else {
        return;
    };
    for path in ["/app-fedcba9876543210.js", "/app-fedcba9876543210_bg.wasm"] {
        let r = app.raw(app.get(path)).await;
        let cc = r.header("cache-control").unwrap_or("");
        assert!(
            !cc.contains("immutable"),
            "{path}: a miss is cached for a year: {} {cc} {:?}",
            r.status,
            r.header("content-type")
        );
        assert_eq!(
            r.status, 404,
            "{path}: a missing asset is a 404, not the page"
        );
    }
}

mod missing_hashed_asset_is_not_cached_forever {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        missing_hashed_asset(Kind::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        missing_hashed_asset(Kind::Postgres).await;
    }
}

const ADMIN_INDEX: &str = "<!doctype html><title>admin test index</title><script src=\"/admin/admin-00112233aabbccdd.js\"></script>";
const ADMIN_JS: &str = "console.log('the admin script');";
const ADMIN_JS_BR: &[u8] = b"\x1b\x20\x00\xf8pretend-admin-brotli";
const ADMIN_INDEX_GZ: &[u8] = b"\x1f\x8b\x08\x00pretend-admin-index-gzip";

/// The admin is a bundle of its own in dist/admin/, served at /admin with its own SPA
/// fallback, caching and precompressed files; the storefront's fallback never answers there.
async fn admin_bundle(kind: Kind) {
    let Some((app, dist)) = app_with_dist(kind).await else {
        return;
    };
    // Before the admin is built, /admin says so instead of showing the storefront.
    let r = app.raw(app.get("/admin/orders/7")).await;
    assert_eq!(r.status, 200);
    assert!(!r.text().contains("shop test index"), "{}", r.text());
    assert!(r.text().contains("admin is not built"), "{}", r.text());

    let admin = dist.path().join("admin");
    std::fs::create_dir(&admin).unwrap();
    std::fs::write(admin.join("index.html"), ADMIN_INDEX).unwrap();
    std::fs::write(admin.join("index.html.gz"), ADMIN_INDEX_GZ).unwrap();
    std::fs::write(admin.join("admin-00112233aabbccdd.js"), ADMIN_JS).unwrap();
    std::fs::write(admin.join("admin-00112233aabbccdd.js.br"), ADMIN_JS_BR).unwrap();
    // The router looks for dist/admin when it is built: start a second app now it exists.
    let d = dist.path().display().to_string();
    let Some(app) = spawn(kind, &[("DIST_DIR", d.as_str())]).await else {
        return;
    };

    for path in [
        "/admin",
        "/admin/",
        "/admin/orders/7",
        "/admin/products/new?x=1",
        "/admin/index.html",
    ] {
        let r = app.raw(app.get(path)).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.text(), ADMIN_INDEX, "{path}");
        assert!(
            r.header("content-type")
                .unwrap_or("")
                .starts_with("text/html"),
            "{path}"
        );
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
    }
    // The storefront keeps its own page, also for paths that merely start with "admin".
    for path in ["/", "/orders/5", "/administrator"] {
        let r = app.raw(app.get(path)).await;
        assert_eq!(r.text(), INDEX, "{path}");
    }

    let r = app.raw(app.get("/admin/admin-00112233aabbccdd.js")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), ADMIN_JS);
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .contains("javascript"));
    let r = app
        .raw(
            app.get("/admin/admin-00112233aabbccdd.js")
                .header("Accept-Encoding", "gzip, br"),
        )
        .await;
    assert_eq!(r.header("content-encoding"), Some("br"));
    assert_eq!(r.body, ADMIN_JS_BR);
    assert!(r
        .header("vary")
        .unwrap_or("")
        .to_ascii_lowercase()
        .contains("accept-encoding"));
    // The page itself, precompressed, through the SPA fallback too.
    let r = app
        .raw(app.get("/admin/orders/7").header("Accept-Encoding", "gzip"))
        .await;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.body, ADMIN_INDEX_GZ);

    // A hash not in this build is a 404, never the page with a year-long cache; the
    // storefront's scripts are not the admin's.
    for path in [
        "/admin/admin-fedcba9876543210.js",
        "/admin/app-0123456789abcdef.js",
    ] {
        let r = app.raw(app.get(path)).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(
            !r.header("cache-control")
                .unwrap_or("")
                .contains("immutable"),
            "{path}"
        );
    }
    // The admin API is still the API.
    let r = app.raw(app.get("/api/admin/nope")).await;
    assert_envelope(&r, 404, Some("not_found"));
    let r = app.raw(app.get("/api/admin/me")).await;
    assert_eq!(r.status, 401);
    // The storefront's files next to dist/admin are not reachable through it (encoded
    // separators, which URL parsers leave alone, unlike a bare "%2e%2e" segment).
    for path in [
        "/admin/..%2fapp-0123456789abcdef.js",
        "/admin/%2e%2e%2fapp-0123456789abcdef.js",
        "/admin/..%5capp-0123456789abcdef.js",
    ] {
        let r = app.raw(app.get(path)).await;
        assert_ne!(r.text(), JS, "{path}");
        assert!(!r.text().contains("shop test index"), "{path}");
    }
}

mod admin_bundle_is_served_at_admin {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        admin_bundle(Kind::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        admin_bundle(Kind::Postgres).await;
    }
}
