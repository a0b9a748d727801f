//! The public catalog: categories, paging, filters, search, languages, ETags, shapes.
mod common;
use common::*;

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

async fn page(app: &TestApp, query: &[(&str, &str)]) -> Value {
    let (s, v) = app.json(app.get("/api/products").query(query)).await;
    assert_eq!(s, 200, "{query:?}: {v}");
    v
}

fn ids(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .expect("items array")
        .iter()
        .map(|p| p["id"].as_i64().expect("numeric id"))
        .collect()
}

both!(
    four_categories_in_the_asked_language,
    |app: TestApp| async move {
        let (s, v) = app.json(app.get("/api/categories")).await;
        assert_eq!(s, 200, "{v}");
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 4, "{v}");
        assert!(v["next_cursor"].is_null());
        let slugs: Vec<&str> = items.iter().map(|c| c["slug"].as_str().unwrap()).collect();
        assert_eq!(slugs, ["clothing", "home", "food", "digital"]);
        for c in items {
            assert!(c["id"].as_i64().unwrap() > 0);
            assert!(
                c.get("texts").is_none(),
                "customers get one language, not all texts: {c}"
            );
        }
        assert_eq!(items[1]["title"], "Home");
        let (_, ru) = app.json(app.get("/api/categories?lang=ru")).await;
        assert_eq!(ru["items"][1]["title"], "Для дома");
        let (_, uz) = app
            .json(
                app.get("/api/categories")
                    .header("Accept-Language", "uz-UZ,uz;q=0.9"),
            )
            .await;
        assert_eq!(uz["items"][1]["title"], "Uy uchun");
    }
);

both!(
    cursor_paging_walks_every_product_once,
    |app: TestApp| async move {
        let all: BTreeSet<i64> = ids(&page(&app, &[("limit", "100")]).await["items"])
            .into_iter()
            .collect();
        assert_eq!(all.len(), 12);

        let mut seen = vec![];
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut q = vec![("limit", "5")];
            if let Some(c) = &cursor {
                q.push(("cursor", c.as_str()));
            }
            let v = page(&app, &q).await;
            let got = ids(&v["items"]);
            assert!(got.len() <= 5, "page larger than the limit: {got:?}");
            pages += 1;
            seen.extend(got);
            match v["next_cursor"].as_str() {
                Some(c) => {
                    assert!(!c.is_empty());
                    cursor = Some(c.to_string());
                }
                None => {
                    assert!(
                        v["next_cursor"].is_null(),
                        "next_cursor must be null at the end: {v}"
                    );
                    break;
                }
            }
            assert!(pages < 10, "paging does not end");
        }
        assert_eq!(pages, 3, "12 products in pages of 5");
        assert_eq!(seen.len(), 12, "each product exactly once: {seen:?}");
        assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), all);

        // A limit equal to the count ends after one page with no cursor.
        let v = page(&app, &[("limit", "12")]).await;
        assert_eq!(ids(&v["items"]).len(), 12);
        assert!(v["next_cursor"].is_null(), "{}", v["next_cursor"]);
        // Default page size still answers a list.
        let v = page(&app, &[]).await;
        assert!(!ids(&v["items"]).is_empty());
    }
);

both!(
    category_filter_answers_that_category_only,
    |app: TestApp| async move {
        let all = page(&app, &[("limit", "100")]).await["items"].clone();
        let (_, cats) = app.json(app.get("/api/categories")).await;
        let mut total = 0;
        let mut per_slug = HashMap::new();
        for c in cats["items"].as_array().unwrap() {
            let id = c["id"].as_i64().unwrap();
            let v = page(&app, &[("category", &id.to_string()), ("limit", "100")]).await;
            let got = ids(&v["items"]);
            let expected: Vec<i64> = all
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["category_id"].as_i64() == Some(id))
                .map(|p| p["id"].as_i64().unwrap())
                .collect();
            assert_eq!(got, expected, "category {id}");
            for p in v["items"].as_array().unwrap() {
                assert_eq!(p["category_id"].as_i64(), Some(id));
            }
            total += got.len();
            per_slug.insert(c["slug"].as_str().unwrap().to_string(), v["items"].clone());
        }
        assert_eq!(total, 12);
        let home: Vec<&str> = per_slug["home"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap())
            .collect();
        assert_eq!(home.len(), 3);
        assert!(home.contains(&"Teapot"), "{home:?}");
        assert!(!home.contains(&"Atlas silk dress"));
        // An unknown category is an empty list, not everything.
        let v = page(&app, &[("category", "999999")]).await;
        assert_eq!(ids(&v["items"]), Vec::<i64>::new());
        // Filters combine with paging.
        let home_id = cats["items"][1]["id"].as_i64().unwrap().to_string();
        let p1 = page(&app, &[("category", &home_id), ("limit", "2")]).await;
        let c = p1["next_cursor"]
            .as_str()
            .expect("a second page")
            .to_string();
        let p2 = page(
            &app,
            &[("category", &home_id), ("limit", "2"), ("cursor", &c)],
        )
        .await;
        assert_eq!(ids(&p1["items"]).len() + ids(&p2["items"]).len(), 3);
        assert!(p2["next_cursor"].is_null());
    }
);

both!(
    search_finds_a_product_by_any_language,
    |app: TestApp| async move {
        let teapot = app.product("Teapot").await["id"].as_i64().unwrap();
        let dress = app.product("Atlas silk dress").await["id"]
            .as_i64()
            .unwrap();
        for q in [
            "Чайник",
            "чайник",
            "ЧАЙНИК",
            "Choynak",
            "choynak",
            "Teapot",
            "TEAPOT",
            "eapo",
        ] {
            let got = ids(&page(&app, &[("q", q), ("limit", "100")]).await["items"]);
            assert!(
                got.contains(&teapot),
                "q={q} should find the teapot: {got:?}"
            );
            assert!(
                !got.contains(&dress),
                "q={q} should not find the dress: {got:?}"
            );
        }
        // The description is searched too ("cotton pattern" is only in the teapot's description).
        let got = ids(&page(&app, &[("q", "cotton pattern")]).await["items"]);
        assert_eq!(got, vec![teapot]);
        // Uzbek spellings with an apostrophe are plain text to search, not SQL.
        let doppi = app.product("Doppi skullcap").await["id"].as_i64().unwrap();
        let got = ids(&page(&app, &[("q", "do'ppi")]).await["items"]);
        assert_eq!(got, vec![doppi]);
        // Several products match "tea" in English (teapot, green tea).
        let got = ids(&page(&app, &[("q", "tea"), ("limit", "100")]).await["items"]);
        assert!(got.len() >= 2 && got.contains(&teapot), "{got:?}");
        // Nothing matches nonsense; LIKE wildcards are literal.
        for q in ["zzqqxx", "%", "_", "\\", "%%tea"] {
            let got = ids(&page(&app, &[("q", q)]).await["items"]);
            assert!(got.is_empty(), "q={q:?} should match nothing, got {got:?}");
        }
        // Search composes with the category filter.
        let (_, cats) = app.json(app.get("/api/categories")).await;
        let food = cats["items"][2]["id"].as_i64().unwrap().to_string();
        let got = page(&app, &[("q", "tea"), ("category", &food)]).await;
        let titles: Vec<&str> = got["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles, ["Green tea"]);
    }
);

both!(language_switches_titles, |app: TestApp| async move {
    let id = app.product("Teapot").await["id"].as_i64().unwrap();
    let title = |v: &Value| v["title"].as_str().unwrap().to_string();
    let get = |q: &str, al: Option<&str>| {
        let mut rb = app.get(&format!("/api/products/{id}{q}"));
        if let Some(al) = al {
            rb = rb.header("Accept-Language", al);
        }
        rb
    };
    let (_, v) = app.json(get("", None)).await;
    assert_eq!(title(&v), "Teapot");
    let (_, v) = app.json(get("?lang=ru", None)).await;
    assert_eq!(title(&v), "Чайник");
    assert!(v["description"].as_str().unwrap().contains("Фарфоровый"));
    let (_, v) = app.json(get("", Some("uz"))).await;
    assert_eq!(title(&v), "Choynak");
    let (_, v) = app.json(get("", Some("ru-RU,ru;q=0.9,en;q=0.8"))).await;
    assert_eq!(title(&v), "Чайник");
    // `?lang=` wins over the header; an unknown language falls back to the default.
    let (_, v) = app.json(get("?lang=ru", Some("uz"))).await;
    assert_eq!(title(&v), "Чайник");
    let (_, v) = app.json(get("?lang=de", None)).await;
    assert_eq!(title(&v), "Teapot");
    // Lists switch too, and the cache keeps the languages apart.
    let (_, ru) = app.json(app.get("/api/products?limit=100&lang=ru")).await;
    let (_, uz) = app
        .json(
            app.get("/api/products?limit=100")
                .header("Accept-Language", "uz"),
        )
        .await;
    let (_, en) = app.json(app.get("/api/products?limit=100")).await;
    let find = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(title)
            .unwrap()
    };
    assert_eq!(
        (find(&ru), find(&uz), find(&en)),
        ("Чайник".into(), "Choynak".into(), "Teapot".into())
    );
});

both!(
    etag_revalidates_and_changes_with_stock,
    |app: TestApp| async move {
        let r = app.raw(app.get("/api/products?limit=100")).await;
        assert_eq!(r.status, 200);
        let etag = r.header("etag").expect("ETag").to_string();
        assert!(r.header("vary").unwrap_or("").contains("Accept-Language"));

        // Revalidation with the same tag: 304, no body.
        let r304 = app
            .raw(
                app.get("/api/products?limit=100")
                    .header("If-None-Match", &etag),
            )
            .await;
        assert_eq!(r304.status, 304);
        assert!(r304.body.is_empty());
        assert_eq!(r304.header("etag"), Some(etag.as_str()));
        // A different tag, or another language, is a full answer.
        let r = app
            .raw(
                app.get("/api/products?limit=100")
                    .header("If-None-Match", "W/\"0000\""),
            )
            .await;
        assert_eq!(r.status, 200);
        let r = app
            .raw(
                app.get("/api/products?limit=100&lang=ru")
                    .header("If-None-Match", &etag),
            )
            .await;
        assert_eq!(
            r.status, 200,
            "another language must not match the English tag"
        );

        // One product's own ETag works the same way.
        let teapot = app.product("Teapot").await;
        let pid = teapot["id"].as_i64().unwrap();
        let vid = teapot["variants"][0]["id"].as_i64().unwrap();
        let one = app.raw(app.get(&format!("/api/products/{pid}"))).await;
        let one_tag = one.header("etag").expect("product ETag").to_string();
        let r = app
            .raw(
                app.get(&format!("/api/products/{pid}"))
                    .header("If-None-Match", &one_tag),
            )
            .await;
        assert_eq!(r.status, 304);

        // An order moves stock: both tags are stale now and the answers show the new stock.
        let before = teapot["variants"][0]["stock"].as_i64().unwrap();
        app.cash_order(1, vid, 2).await;
        let r = app
            .raw(
                app.get("/api/products?limit=100")
                    .header("If-None-Match", &etag),
            )
            .await;
        assert_eq!(
            r.status, 200,
            "stale ETag must not give 304 after stock changed"
        );
        let new_tag = r.header("etag").expect("ETag").to_string();
        assert_ne!(new_tag, etag);
        let stock_now = r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == pid)
            .unwrap()["variants"][0]["stock"]
            .as_i64()
            .unwrap();
        assert_eq!(stock_now, before - 2);
        let r = app
            .raw(
                app.get(&format!("/api/products/{pid}"))
                    .header("If-None-Match", &one_tag),
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["variants"][0]["stock"].as_i64(), Some(before - 2));
        // And the new tag revalidates.
        let r = app
            .raw(
                app.get("/api/products?limit=100")
                    .header("If-None-Match", &new_tag),
            )
            .await;
        assert_eq!(r.status, 304);
    }
);

both!(product_by_id_and_variant_shape, |app: TestApp| async move {
    for listed in app.products().await {
        let id = listed["id"].as_i64().unwrap();
        let (s, p) = app.json(app.get(&format!("/api/products/{id}"))).await;
        assert_eq!(s, 200, "{p}");
        assert_eq!(p, listed, "the product answer matches its list entry");
        assert!(["physical", "digital", "subscription"].contains(&p["kind"].as_str().unwrap()));
        assert!(!p["title"].as_str().unwrap().is_empty());
        let vs = p["variants"].as_array().unwrap();
        assert!(!vs.is_empty());
        for v in vs {
            assert!(v["id"].as_i64().unwrap() > 0, "{v}");
            assert!(!v["sku"].as_str().unwrap().is_empty());
            assert!(v["options"].is_object());
            let amount = &v["price"]["amount_minor"];
            assert!(
                amount.is_i64() && amount.as_i64().unwrap() > 0,
                "integer minor units: {v}"
            );
            assert!(
                ["UZS", "XTR"].contains(&v["price"]["currency"].as_str().unwrap()),
                "{v}"
            );
            assert!(v["stock"].is_null() || v["stock"].is_i64(), "{v}");
            assert!(v["available"].is_boolean());
        }
    }
    let dress = app.product("Atlas silk dress").await;
    let sizes: Vec<&str> = dress["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["options"]["size"].as_str().unwrap())
        .collect();
    assert_eq!(sizes, ["S", "M", "L"]);
    let dress_l = &dress["variants"][2];
    assert_eq!(dress_l["sku"], "DRESS-L");
    assert_eq!(dress_l["price"]["amount_minor"], 47_000_000);
    assert_eq!(dress_l["price"]["currency"], "UZS");
    assert_eq!(dress_l["stock"], 3);
    let apricots = app.product("Dried apricots").await;
    assert!(
        apricots["variants"][0]["stock"].is_null(),
        "unlimited stock is null"
    );
    assert_eq!(apricots["variants"][0]["available"], true);
    let plov = app.product("Plov recipe").await;
    assert_eq!(plov["kind"], "digital");
    assert_eq!(plov["variants"][0]["price"]["currency"], "XTR");

    // A sold-out variant is listed but not available.
    let vid = dress_l["id"].as_i64().unwrap();
    app.set_stock(vid, Some(0)).await;
    let (_, d) = app
        .json(app.get(&format!("/api/products/{}", dress["id"])))
        .await;
    assert_eq!(d["variants"][2]["stock"], 0);
    assert_eq!(d["variants"][2]["available"], false);
    assert_eq!(d["variants"][1]["available"], true);

    // Unknown ids are a 404 with the envelope.
    for id in ["999999", "0", "-1"] {
        let r = app.raw(app.get(&format!("/api/products/{id}"))).await;
        assert_envelope(&r, 404, Some("not_found"));
    }
});
