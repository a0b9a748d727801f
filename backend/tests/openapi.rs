//! `GET /api/openapi.json` cannot drift from the router: every `/api` route the code registers
//! is in the document with the same methods, and every documented operation is routed.
//! (`scripts/openapi-check.sh` then runs an outside client against the live shop with it.)

mod common;
use common::*;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// Routes left out of the document on purpose: dev mode only (no bot token), never in
/// production.
const UNDOCUMENTED: &[&str] = &["/api/dev/init-data"];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `(path, method)` of every `.route("/api/…", get(..).post(..))` in `backend/src`.
///
/// A scan of the source rather than of the router: axum does not list a router's routes. It
/// reads the path literal and the method routers at the top level of the call's second
/// argument, so `get(list).post(create)`, `axum::routing::delete(remove)` and
/// `.layer(DefaultBodyLimit::max(..))` are all read right.
fn registered_routes() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut files = vec![];
    collect_rs(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    for file in files {
        let src = std::fs::read_to_string(&file).unwrap();
        let mut rest = src.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            let args = call_args(rest);
            let Some((path, methods)) = args.split_once(',') else {
                continue;
            };
            let path = path.trim().trim_matches('"');
            if !path.starts_with("/api/") {
                continue;
            }
            let found = top_level_methods(methods);
            assert!(
                !found.is_empty(),
                "{}: no method router found for {path}",
                file.display()
            );
            for m in found {
                out.insert((path.to_string(), m.to_string()));
            }
        }
    }
    out
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect_rs(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The text up to the parenthesis that closes the call whose arguments start `s`.
fn call_args(s: &str) -> &str {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return &s[..i],
            ')' => depth -= 1,
            _ => {}
        }
    }
    s
}

/// `get`, `post`, … called at parenthesis depth 0 of `s` (not as part of a longer name).
fn top_level_methods(s: &str) -> Vec<&'static str> {
    let mut out = vec![];
    let mut depth = 0usize;
    let bytes = s.as_bytes();
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => {
                let word_start =
                    i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
                if word_start {
                    if let Some(m) = METHODS
                        .iter()
                        .find(|m| s[i..].starts_with(&format!("{m}(")))
                    {
                        out.push(*m);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((path.clone(), m.to_string()));
            }
        }
    }
    out
}

fn document() -> Value {
    serde_json::to_value(shop::openapi::document("shop_admin")).unwrap()
}

#[test]
fn the_scan_reads_every_shape_of_route_call() {
    assert_eq!(
        top_level_methods(
            r#" get(export::products).post(import::products).layer(DefaultBodyLimit::max(MAX))"#
        ),
        vec!["get", "post"]
    );
    assert_eq!(
        top_level_methods(" axum::routing::delete(remove)"),
        vec!["delete"]
    );
    assert_eq!(
        top_level_methods(" post(endpoint).fallback(not_post)"),
        vec!["post"]
    );
    assert_eq!(top_level_methods(" get(forget(x))"), vec!["get"]);
    assert_eq!(
        call_args(r#""/a", get(f(x)))  .route("#),
        r#""/a", get(f(x))"#
    );
    // The scan finds the routes this very test file knows are there.
    let routes = registered_routes();
    for r in [
        ("/api/products/{id}", "get"),
        ("/api/orders", "post"),
        ("/api/admin/products.csv", "post"),
        ("/api/admin/admins/{id}", "delete"),
    ] {
        assert!(
            routes.contains(&(r.0.to_string(), r.1.to_string())),
            "{r:?} not found"
        );
    }
}

#[test]
fn every_api_route_is_documented_and_nothing_else() {
    let routed: BTreeSet<_> = registered_routes()
        .into_iter()
        .filter(|(p, _)| !UNDOCUMENTED.contains(&p.as_str()))
        .collect();
    let doc = documented(&document());
    let missing: Vec<_> = routed.difference(&doc).collect();
    let extra: Vec<_> = doc.difference(&routed).collect();
    assert!(
        missing.is_empty(),
        "routes with no #[utoipa::path] listed in backend/src/openapi.rs: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "documented operations that no .route() registers: {extra:?}"
    );
}

/// Walks every operation: each error answer is the shared envelope, each operation behind a
/// sign-in names its scheme, state-changing admin calls take `X-CSRF-Token`.
#[test]
fn every_operation_keeps_the_conventions() {
    let doc = document();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["init_data"]["type"], "apiKey");
    assert_eq!(schemes["init_data"]["in"], "header");
    assert_eq!(schemes["init_data"]["name"], "Authorization");
    assert_eq!(schemes["admin_session"]["type"], "apiKey");
    assert_eq!(schemes["admin_session"]["in"], "cookie");
    assert_eq!(schemes["admin_session"]["name"], "shop_admin");
    let https = serde_json::to_value(shop::openapi::document("__Host-shop_admin")).unwrap();
    assert_eq!(
        https["components"]["securitySchemes"]["admin_session"]["name"],
        "__Host-shop_admin"
    );
    assert!(doc["components"]["schemas"]["ErrorEnvelope"].is_object());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let at = format!("{m} {path}");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|c| c.starts_with('2')),
                "{at}: no success answer"
            );
            for (code, r) in responses {
                if code.starts_with('4') || code.starts_with('5') {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorEnvelope",
                        "{at} {code}"
                    );
                }
            }
            assert!(
                responses["429"]["headers"]["Retry-After"].is_object(),
                "{at}"
            );
            let security = op["security"].to_string();
            let admin = path.starts_with("/api/admin/") && path != "/api/admin/login";
            // The Share button's prepared message is the customer's, under the catalog's path.
            let customer = [
                "/api/me",
                "/api/cart",
                "/api/orders",
                "/api/subscriptions",
                "/api/delivery-methods",
            ]
            .iter()
            .any(|p| path.starts_with(p))
                || path == "/api/products/{id}/share";
            assert_eq!(security.contains("admin_session"), admin, "{at}");
            assert_eq!(security.contains("init_data"), customer, "{at}");
            if admin || customer {
                assert!(responses.contains_key("401"), "{at}");
            }
            let csrf = op["parameters"].as_array().into_iter().flatten().any(|p| {
                p["name"] == "X-CSRF-Token" && p["in"] == "header" && p["required"] == true
            });
            assert_eq!(csrf, admin && m != "get", "{at}: X-CSRF-Token");
        }
    }
}

both!(
    the_document_is_served_and_every_operation_is_routed,
    |app: TestApp| async move {
        let r = app.raw(app.get("/api/openapi.json")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let served = r.json();
        assert!(served["openapi"].as_str().unwrap().starts_with("3."));
        assert_eq!(served, document());
        // Not one documented operation falls through to the unknown-route 404 or a 405: the
        // router really has each of them (path parameters filled with an id that does not exist).
        for (path, method) in documented(&served) {
            let url = path.replace("{id}", "999999");
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app.raw(app.client.request(m, app.url(&url))).await;
            assert_ne!(r.status, 405, "{method} {path}");
            if r.status == 404 {
                assert_ne!(
                    r.json()["error"]["message"],
                    "No such API route.",
                    "{method} {path} is documented but not routed"
                );
            }
        }
    }
);
