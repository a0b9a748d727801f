//! One request saves a whole product (`PUT /api/admin/products/{id}`): texts, settings and
//! the full variant list in one transaction, or nothing; and the one reading of unique
//! constraint errors both databases share.

mod common;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn uzs(amount_minor: i64) -> Value {
    json!({"amount_minor": amount_minor, "currency": "UZS"})
}

/// Creates a physical product with one variant (`sku`, 5 in stock); answers the product.
async fn create(app: &TestApp, csrf: &str, sku: &str) -> Value {
    let (s, p) = app
        .json(app.admin(Method::POST, "/api/admin/products", csrf).json(&json!({
            "kind": "physical",
            "title": {"en": "Green tea", "ru": "Зелёный чай"},
            "variants": [{"sku": sku, "options": {"size": "100g"}, "price": uzs(1_000_000), "stock": 5}]
        })))
        .await;
    assert_eq!(s, 201, "{p}");
    p
}

async fn put(app: &TestApp, csrf: &str, id: i64, body: &Value) -> (u16, Value) {
    app.json(
        app.admin(Method::PUT, &format!("/api/admin/products/{id}"), csrf)
            .json(body),
    )
    .await
}

async fn get(app: &TestApp, id: i64) -> Value {
    let (s, p) = app
        .json(app.get(&format!("/api/admin/products/{id}")))
        .await;
    assert_eq!(s, 200, "{p}");
    p
}

async fn audit_count(app: &TestApp) -> usize {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap() as usize
}

fn skus(p: &Value) -> Vec<&str> {
    p["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["sku"].as_str().unwrap())
        .collect()
}

both!(
    one_request_saves_texts_three_variants_and_stock,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let p = create(&app, &csrf, "TEA-100").await;
        let id = p["id"].as_i64().unwrap();
        let v0 = p["variants"][0]["id"].as_i64().unwrap();
        let audits = audit_count(&app).await;

        let (s, saved) = put(
            &app,
            &csrf,
            id,
            &json!({
                "kind": "physical",
                "title": {"en": "Green tea, loose", "uz": "Ko'k choy"},
                "description": {"en": "Spring harvest"},
                "ikpu_code": "10999001001000000",
                "vat_percent": 12,
                "variants": [
                    {"id": v0, "sku": "TEA-100G", "options": {"size": "100g"}, "price": uzs(1_200_000), "stock": 7},
                    {"sku": "TEA-250G", "options": {"size": "250g"}, "price": uzs(2_500_000), "stock": 3},
                    {"sku": "TEA-1KG", "options": {"size": "1kg"}, "price": uzs(9_000_000), "stock": null}
                ]
            }),
        )
        .await;
        assert_eq!(s, 200, "{saved}");
        assert_eq!(saved["id"], id);
        assert_eq!(saved["texts"]["title"]["en"], "Green tea, loose");
        assert_eq!(saved["texts"]["title"]["uz"], "Ko'k choy");
        // A PUT replaces the texts: the Russian title it left out is gone.
        assert!(saved["texts"]["title"].get("ru").is_none(), "{saved}");
        assert_eq!(saved["texts"]["description"]["en"], "Spring harvest");
        assert_eq!(saved["ikpu_code"], "10999001001000000");
        assert_eq!(saved["vat_percent"], 12);
        assert_eq!(skus(&saved), ["TEA-100G", "TEA-250G", "TEA-1KG"]);
        let vs = saved["variants"].as_array().unwrap();
        assert_eq!(vs[0]["id"], v0, "an existing variant keeps its id");
        assert_eq!(vs[0]["price"]["amount_minor"], 1_200_000);
        assert_eq!(vs[0]["stock"], 7);
        assert_eq!(vs[1]["stock"], 3);
        assert!(vs[2]["stock"].is_null());
        assert!(vs[1]["id"].as_i64().unwrap() > v0);
        assert_eq!(get(&app, id).await, saved, "the answer is what is stored");
        // The product's before/after and the two new variants are in the audit log.
        assert_eq!(audit_count(&app).await, audits + 3);
        let (_, log) = app.json(app.get("/api/admin/audit?limit=3")).await;
        let last = &log["items"][0];
        assert_eq!(
            (last["action"].as_str(), last["entity"].as_str()),
            (Some("update"), Some("product"))
        );
        assert_eq!(last["before"]["variants"].as_array().unwrap().len(), 1);
        assert_eq!(last["after"]["variants"].as_array().unwrap().len(), 3);

        // Leaving variants out removes them as DELETE does: one that an order names is
        // archived (the order still shows it), one nobody ordered is deleted. A kept
        // variant whose stock is not named keeps its stock.
        let ordered = vs[1]["id"].as_i64().unwrap();
        let order = app.cash_order(77, ordered, 1).await;
        let (s, saved) = put(
            &app,
            &csrf,
            id,
            &json!({
                "kind": "physical",
                "title": {"en": "Green tea"},
                "variants": [
                    {"id": v0, "sku": "TEA-100G", "options": {"size": "100g"}, "price": uzs(1_200_000)}
                ]
            }),
        )
        .await;
        assert_eq!(s, 200, "{saved}");
        assert_eq!(saved["variants"][0]["stock"], 7);
        let left: Vec<i64> = saved["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_i64().unwrap())
            .collect();
        assert_eq!(
            left,
            [v0, ordered],
            "the ordered variant stays, archived: {saved}"
        );
        assert_eq!(saved["variants"][1]["available"], false);
        let archived: i64 = sqlx::query_scalar("SELECT archived FROM variants WHERE id = $1")
            .bind(ordered)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(archived, 1);
        let (s, o) = app
            .json(app.get(&format!("/api/admin/orders/{}", order["id"])))
            .await;
        assert_eq!(s, 200, "{o}");
        assert_eq!(o["items"][0]["variant_id"], ordered);
        // The storefront no longer offers it.
        let (_, public) = app.json(app.get(&format!("/api/products/{id}"))).await;
        assert_eq!(public["variants"].as_array().unwrap().len(), 1, "{public}");

        // Two variants may trade SKUs in one save.
        let (s, saved) = put(
            &app,
            &csrf,
            id,
            &json!({
                "kind": "physical",
                "title": {"en": "Green tea"},
                "variants": [
                    {"id": v0, "sku": "TEA-A", "price": uzs(1_000_000)},
                    {"sku": "TEA-B", "price": uzs(2_000_000)}
                ]
            }),
        )
        .await;
        assert_eq!(s, 200, "{saved}");
        let new_id = saved["variants"][1]["id"].as_i64().unwrap();
        let (s, saved) = put(
            &app,
            &csrf,
            id,
            &json!({
                "kind": "physical",
                "title": {"en": "Green tea"},
                "variants": [
                    {"id": v0, "sku": "TEA-B", "price": uzs(1_000_000)},
                    {"id": new_id, "sku": "TEA-A", "price": uzs(2_000_000)}
                ]
            }),
        )
        .await;
        assert_eq!(s, 200, "{saved}");
        assert_eq!(skus(&saved)[..2], ["TEA-B", "TEA-A"]);
    }
);

both!(
    a_failing_part_leaves_everything_unchanged,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let other = create(&app, &csrf, "TAKEN-1").await;
        let p = create(&app, &csrf, "TEA-100").await;
        let id = p["id"].as_i64().unwrap();
        let v0 = p["variants"][0]["id"].as_i64().unwrap();
        // A second variant, so the failing save also has one to leave out.
        let (s, added) = app
            .json(
                app.admin(
                    Method::POST,
                    &format!("/api/admin/products/{id}/variants"),
                    &csrf,
                )
                .json(&json!({"sku": "TEA-250", "price": uzs(2_000_000), "stock": 4})),
            )
            .await;
        assert_eq!(s, 201, "{added}");
        let before = get(&app, id).await;
        let audits = audit_count(&app).await;

        let save = |third: Value| {
            json!({
                "kind": "physical",
                "title": {"en": "Renamed tea"},
                "variants": [
                    {"id": v0, "sku": "TEA-100-NEW", "price": uzs(5_000_000), "stock": 50},
                    {"sku": "TEA-NEW", "price": uzs(3_000_000), "stock": 9},
                    third
                ]
            })
        };
        // The database refuses the third variant's SKU (another product has it) after the
        // texts, the first variant and the second were written, and the variant left out
        // was removed: all of that is rolled back.
        let (s, v) = put(
            &app,
            &csrf,
            id,
            &save(json!({"sku": "TAKEN-1", "price": uzs(1)})),
        )
        .await;
        assert_eq!((s, error_code(&v)), (400, "sku_taken"), "{v}");
        assert_eq!(v["error"]["field"], "variants[2].sku");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("TAKEN-1"),
            "{v}"
        );
        assert_eq!(get(&app, id).await, before);
        assert_eq!(audit_count(&app).await, audits);

        // A bad price, a SKU given twice, another currency, a negative stock, a variant of
        // another product: each named, nothing saved.
        let other_variant = other["variants"][0]["id"].as_i64().unwrap();
        for (third, code, field) in [
            (
                json!({"sku": "TEA-X", "price": uzs(0)}),
                "invalid_price",
                "variants[2].price",
            ),
            (
                json!({"sku": "TEA-NEW", "price": uzs(100)}),
                "sku_taken",
                "variants[2].sku",
            ),
            (
                json!({"sku": "TEA-X", "price": {"amount_minor": 100, "currency": "USD"}}),
                "mixed_currencies",
                "variants[2].price.currency",
            ),
            (
                json!({"sku": "TEA-X", "price": uzs(100), "stock": -1}),
                "invalid_stock",
                "variants[2].stock",
            ),
            (
                json!({"id": other_variant, "sku": "TEA-X", "price": uzs(100)}),
                "unknown_variant",
                "variants[2].id",
            ),
        ] {
            let (s, v) = put(&app, &csrf, id, &save(third)).await;
            assert_eq!((s, error_code(&v)), (400, code), "{v}");
            assert_eq!(v["error"]["field"], field, "{v}");
            assert_eq!(get(&app, id).await, before);
        }
        let (s, v) = put(
            &app,
            &csrf,
            id,
            &json!({"kind": "physical", "title": {"en": " "}, "variants": [{"sku": "A", "price": uzs(1)}]}),
        )
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (400, Some("title")),
            "{v}"
        );
        let (s, v) = put(
            &app,
            &csrf,
            999_999,
            &save(json!({"sku": "TEA-X", "price": uzs(1)})),
        )
        .await;
        assert_eq!((s, error_code(&v)), (404, "not_found"), "{v}");
    }
);

both!(
    a_save_during_orders_keeps_stock_right,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let p = create(&app, &csrf, "TEA-RUSH").await;
        let id = p["id"].as_i64().unwrap();
        let vid = p["variants"][0]["id"].as_i64().unwrap();
        let (s, _) = app
            .json(
                app.admin(
                    Method::PUT,
                    &format!("/api/admin/variants/{vid}/stock"),
                    &csrf,
                )
                .json(&json!({"stock": 40})),
            )
            .await;
        assert_eq!(s, 200);
        // The editor was loaded with 40 in stock; orders come in while the merchant edits
        // the texts and price and saves several times without touching the stock.
        let orders: Vec<_> = (0..16)
            .map(|i| tokio::spawn(app.cash_order_task(1000 + i, vid)))
            .collect();
        for n in 0..6 {
            let (s, v) = put(
                &app,
                &csrf,
                id,
                &json!({
                    "kind": "physical",
                    "title": {"en": format!("Green tea #{n}")},
                    "variants": [{"id": vid, "sku": "TEA-RUSH", "price": uzs(1_000_000 + n)}]
                }),
            )
            .await;
            assert_eq!(s, 200, "{v}");
        }
        let mut placed = 0;
        for o in orders {
            let s = o.await.unwrap();
            assert!(s == 201 || s == 409, "order answered {s}");
            placed += (s == 201) as i64;
        }
        assert!(placed > 0);
        assert_eq!(app.stock(vid).await, Some(40 - placed));
        // A stock the merchant does name is set.
        let (s, v) = put(
            &app,
            &csrf,
            id,
            &json!({"kind": "physical", "title": {"en": "Green tea"},
                    "variants": [{"id": vid, "sku": "TEA-RUSH", "price": uzs(1_000_000), "stock": 100}]}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(app.stock(vid).await, Some(100));
    }
);

both!(
    unique_violations_read_the_same_on_both_databases,
    |app: TestApp| async move {
        // Writes go through the writer pool, as the shop's own do (one SQLite writer).
        let db = &app.state.db.writer;
        let err = |r: Result<sqlx::any::AnyQueryResult, sqlx::Error>| r.expect_err("refused");
        sqlx::query("INSERT INTO categories (slug, title_json, position, created_at, updated_at) VALUES ('tea', '{}', 0, 0, 0)")
            .execute(db)
            .await
            .unwrap();
        let e = err(sqlx::query("INSERT INTO categories (slug, title_json, position, created_at, updated_at) VALUES ('tea', '{}', 1, 0, 0)")
            .execute(db)
            .await);
        let u = shop::db::unique_violation(&e)
            .unwrap_or_else(|| panic!("not a unique violation: {e:?}"));
        assert!(u.is("categories.slug"), "{u:?}");
        assert!(!u.is("variants.sku"), "{u:?}");
        // The last variant takes the first one's SKU.
        let e = err(sqlx::query(
            "UPDATE variants SET sku = (SELECT sku FROM variants WHERE id = (SELECT MIN(id) FROM variants)) \
             WHERE id = (SELECT MAX(id) FROM variants)",
        )
        .execute(db)
        .await);
        let u = shop::db::unique_violation(&e);
        assert!(
            u.as_ref().is_some_and(|u| u.is("variants.sku")),
            "{e}: {u:?}"
        );
        // Other refusals are not unique violations.
        let e = err(sqlx::query(
            "INSERT INTO categories (slug, position, created_at, updated_at) VALUES ('x', 0, 0, 0)",
        )
        .execute(db)
        .await);
        assert_eq!(shop::db::unique_violation(&e), None, "{e}");
        // The error type maps the named constraint only.
        let on = |e: sqlx::Error, key: &str| {
            shop::error::Error::from(e)
                .on_unique(key, || shop::error::Error::invalid("slug_taken", "taken"))
                .status()
                .as_u16()
        };
        let dup = || {
            sqlx::query("INSERT INTO categories (slug, title_json, position, created_at, updated_at) VALUES ('tea', '{}', 2, 0, 0)").execute(db)
        };
        assert_eq!(on(dup().await.unwrap_err(), "categories.slug"), 400);
        assert_eq!(on(dup().await.unwrap_err(), "admins.email"), 500);
    }
);

both!(
    a_save_listing_too_many_variants_is_refused_and_changes_nothing,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let p = create(&app, &csrf, "TEA-MANY").await;
        let id = p["id"].as_i64().unwrap();
        let variants: Vec<Value> = (0..201)
            .map(|n| json!({"sku": format!("MANY-{n}"), "options": {}, "price": uzs(1_000_000)}))
            .collect();
        let (s, e) = put(
            &app,
            &csrf,
            id,
            &json!({"kind": "physical", "title": {"en": "Many"}, "variants": variants}),
        )
        .await;
        assert_eq!(s, 400, "{e}");
        assert_eq!(e["error"]["code"], "too_many_variants", "{e}");
        assert_eq!(e["error"]["field"], "variants", "{e}");
        assert_eq!(skus(&get(&app, id).await), vec!["TEA-MANY"]);
    }
);
