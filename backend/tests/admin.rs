//! The merchant admin API: sign-in, CSRF, lockout, catalog editing, order handling, audit.

mod common;
use common::*;
use reqwest::Method;
use serde_json::json;

fn new_product() -> serde_json::Value {
    json!({
        "kind": "physical",
        "title": {"uz": "Qalampir", "ru": "Перец", "en": "Pepper"},
        "description": {"en": "Hot red pepper"},
        "variants": [
            {"sku": "PEPPER-S", "options": {"size": "S"}, "price": {"amount_minor": 500000, "currency": "UZS"}, "stock": 3},
            {"sku": "PEPPER-L", "options": {"size": "L"}, "price": {"amount_minor": 900000, "currency": "UZS"}, "stock": null}
        ]
    })
}

both!(
    sign_in_is_required_and_csrf_checked,
    |app: TestApp| async move {
        // No session: 401 on reads and writes.
        let (s, v) = app.json(app.get("/api/admin/products")).await;
        assert_eq!((s, error_code(&v)), (401, "unauthorized"));
        let (s, _) = app
            .json(
                app.client
                    .post(app.url("/api/admin/products"))
                    .json(&new_product()),
            )
            .await;
        assert_eq!(s, 401);

        let csrf = app.admin_login().await;
        // Session but no CSRF token: 403, and nothing is created.
        let (s, v) = app
            .json(
                app.client
                    .post(app.url("/api/admin/products"))
                    .json(&new_product()),
            )
            .await;
        assert_eq!((s, error_code(&v)), (403, "csrf_failed"));
        let (s, v) = app
            .json(
                app.admin(Method::POST, "/api/admin/products", "wrong-token")
                    .json(&new_product()),
            )
            .await;
        assert_eq!((s, error_code(&v)), (403, "csrf_failed"));
        assert_eq!(app.products().await.len(), 12);

        // Another session's token does not work for this one.
        let other = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let (_, v) = app
            .json(
                other.post(app.url("/api/admin/login")).json(
                    &json!({"email": "owner@shop.test", "password": "correct horse battery"}),
                ),
            )
            .await;
        let other_csrf = v["csrf_token"].as_str().unwrap().to_string();
        assert_ne!(other_csrf, csrf);
        let (s, _) = app
            .json(
                app.admin(Method::POST, "/api/admin/products", &other_csrf)
                    .json(&new_product()),
            )
            .await;
        assert_eq!(s, 403);

        // Reads need the session only.
        let (s, v) = app.json(app.get("/api/admin/products")).await;
        assert_eq!(s, 200, "{v}");
        assert!(
            v["items"][0]["texts"]["title"].is_object(),
            "admin answers carry all languages: {v}"
        );

        // Logout ends the session.
        let (s, _) = app
            .json(app.admin(Method::POST, "/api/admin/logout", &csrf))
            .await;
        assert_eq!(s, 204);
        let (s, _) = app.json(app.get("/api/admin/products")).await;
        assert_eq!(s, 401);
    }
);

both!(
    login_sets_a_strict_http_only_cookie,
    |app: TestApp| async move {
        let res = app
            .client
            .post(app.url("/api/admin/login"))
            .json(&json!({"email": "OWNER@shop.test ", "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        let v: serde_json::Value = res.json().await.unwrap();
        assert!(v["csrf_token"].as_str().unwrap().len() >= 32);
    }
);

both!(
    wrong_passwords_lock_the_account,
    |app: TestApp| async move {
        let attempt = |pw: &'static str| {
            app.client
                .post(app.url("/api/admin/login"))
                .json(&json!({"email": "owner@shop.test", "password": pw}))
        };
        for _ in 0..4 {
            let (s, v) = app.json(attempt("guess")).await;
            assert_eq!((s, error_code(&v)), (401, "unauthorized"));
        }
        // The fifth failure locks; then even the right password is refused for a while, and
        // every 429 says when to come back.
        for pw in ["guess", "correct horse battery"] {
            let r = app.raw(attempt(pw)).await;
            assert_envelope(&r, 429, Some("account_locked"));
            let after: u64 = r
                .header("retry-after")
                .expect("Retry-After")
                .parse()
                .unwrap();
            assert!((1..=30).contains(&after), "{after}");
        }
        // An unknown email answers like a wrong password.
        let (s, v) = app
            .json(
                app.client
                    .post(app.url("/api/admin/login"))
                    .json(&json!({"email": "who@x.test", "password": "x"})),
            )
            .await;
        assert_eq!((s, error_code(&v)), (401, "unauthorized"));
    }
);

both!(
    products_are_created_edited_and_sold,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let (s, p) = app
            .json(
                app.admin(Method::POST, "/api/admin/products", &csrf)
                    .json(&new_product()),
            )
            .await;
        assert_eq!(s, 201, "{p}");
        let pid = p["id"].as_i64().unwrap();
        assert!(pid > 0);
        let vid = p["variants"][0]["id"].as_i64().unwrap();
        assert!(p["variants"][1]["id"].as_i64().unwrap() > 0);
        assert_eq!(p["variants"][1]["stock"], serde_json::Value::Null);

        // The storefront sees it, in the language asked for.
        let (s, v) = app
            .json(app.get(&format!("/api/products/{pid}?lang=ru")))
            .await;
        assert_eq!(s, 200);
        assert_eq!(v["title"], "Перец");
        assert_eq!(
            v["variants"][0]["price"],
            json!({"amount_minor": 500000, "currency": "UZS"})
        );
        let (_, found) = app.json(app.get("/api/products?q=qalampir")).await;
        assert_eq!(found["items"][0]["id"].as_i64(), Some(pid));

        // Validation names the field.
        let mut bad = new_product();
        bad["variants"][0]["sku"] = json!("PEPPER-L");
        let (s, v) = app
            .json(
                app.admin(Method::POST, "/api/admin/products", &csrf)
                    .json(&bad),
            )
            .await;
        assert_eq!((s, error_code(&v)), (400, "sku_taken"), "{v}");
        let (s, v) = app
        .json(app.admin(Method::POST, "/api/admin/products", &csrf).json(&json!({
            "kind": "physical", "title": {}, "variants": [{"sku": "X1", "price": {"amount_minor": 1, "currency": "UZS"}}]
        })))
        .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (400, Some("title")),
            "{v}"
        );
        let (s, v) = app
        .json(app.admin(Method::POST, "/api/admin/products", &csrf).json(&json!({
            "kind": "subscription", "title": {"en": "Club"}, "variants": [{"sku": "CLUB2", "price": {"amount_minor": 500, "currency": "UZS"}}]
        })))
        .await;
        assert_eq!((s, error_code(&v)), (400, "invalid_currency"), "{v}");

        // Edit a title in one language, leaving the others.
        let (s, v) = app
            .json(
                app.admin(Method::PATCH, &format!("/api/admin/products/{pid}"), &csrf)
                    .json(&json!({"title": {"en": "Red pepper"}})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["texts"]["title"]["en"], "Red pepper");
        assert_eq!(v["texts"]["title"]["ru"], "Перец");

        // Stock: set, then adjust by a delta; never below zero.
        let (s, v) = app
            .json(
                app.admin(
                    Method::PUT,
                    &format!("/api/admin/variants/{vid}/stock"),
                    &csrf,
                )
                .json(&json!({"stock": 10})),
            )
            .await;
        assert_eq!((s, v["stock"].as_i64()), (200, Some(10)));
        let (s, v) = app
            .json(
                app.admin(
                    Method::PUT,
                    &format!("/api/admin/variants/{vid}/stock"),
                    &csrf,
                )
                .json(&json!({"delta": -4})),
            )
            .await;
        assert_eq!((s, v["stock"].as_i64()), (200, Some(6)));
        let (s, v) = app
            .json(
                app.admin(
                    Method::PUT,
                    &format!("/api/admin/variants/{vid}/stock"),
                    &csrf,
                )
                .json(&json!({"delta": -7})),
            )
            .await;
        assert_eq!((s, error_code(&v)), (400, "invalid_stock"));

        // A new variant, then a price change that the catalog shows at once.
        let (s, v) = app
        .json(app.admin(Method::POST, &format!("/api/admin/products/{pid}/variants"), &csrf).json(&json!({
            "sku": "PEPPER-XL", "options": {"size": "XL"}, "price": {"amount_minor": 1200000, "currency": "UZS"}, "stock": 2
        })))
        .await;
        assert_eq!(s, 201, "{v}");
        let (s, _) = app
            .json(
                app.admin(Method::PATCH, &format!("/api/admin/variants/{vid}"), &csrf)
                    .json(&json!({"price": {"amount_minor": 550000, "currency": "UZS"}})),
            )
            .await;
        assert_eq!(s, 200);
        let (_, v) = app.json(app.get(&format!("/api/products/{pid}"))).await;
        assert_eq!(v["variants"][0]["price"]["amount_minor"], 550000);
        assert_eq!(v["variants"].as_array().unwrap().len(), 3);

        // Ordered products are archived, not deleted; unordered ones are deleted.
        let (s, o) = app
        .json(app.as_user(Method::POST, "/api/orders", 42).json(&json!({
            "items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash", "contact": contact()
        })))
        .await;
        assert_eq!(s, 201, "{o}");
        let (s, v) = app
            .json(app.admin(Method::DELETE, &format!("/api/admin/products/{pid}"), &csrf))
            .await;
        assert_eq!((s, v["result"].as_str()), (200, Some("archived")));
        let (s, _) = app.json(app.get(&format!("/api/products/{pid}"))).await;
        assert_eq!(s, 404, "archived products leave the storefront");
        let (s, v) = app.json(app.get(&format!("/api/orders/{}", o["id"]))).await;
        assert_eq!(s, 401, "{v}");
        let (s, v) = app
            .json(app.as_user(Method::GET, &format!("/api/orders/{}", o["id"]), 42))
            .await;
        assert_eq!(
            (s, v["items"][0]["title"].as_str()),
            (200, Some("Red pepper"))
        );

        let (s, fresh) = app
        .json(app.admin(Method::POST, "/api/admin/products", &csrf).json(&json!({
            "kind": "digital", "title": {"en": "E-book"}, "variants": [{"sku": "EBOOK-1", "price": {"amount_minor": 10, "currency": "XTR"}}]
        })))
        .await;
        assert_eq!(s, 201);
        let (s, v) = app
            .json(app.admin(
                Method::DELETE,
                &format!("/api/admin/products/{}", fresh["id"]),
                &csrf,
            ))
            .await;
        assert_eq!((s, v["result"].as_str()), (200, Some("deleted")));

        // Every change is in the audit log with who did it.
        let (s, v) = app.json(app.get("/api/admin/audit?limit=100")).await;
        assert_eq!(s, 200);
        let actions: Vec<(String, String)> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_string(),
                    e["entity"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for want in [
            ("create", "product"),
            ("update", "product"),
            ("stock", "variant"),
            ("create", "variant"),
            ("archived", "product"),
            ("deleted", "product"),
            ("login", "admin"),
        ] {
            assert!(
                actions.contains(&(want.0.to_string(), want.1.to_string())),
                "missing {want:?} in {actions:?}"
            );
        }
        assert!(v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["admin_email"] == "owner@shop.test"));
        let update = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "update" && e["entity"] == "product")
            .unwrap();
        assert_eq!(update["before"]["texts"]["title"]["en"], "Pepper");
        assert_eq!(update["after"]["texts"]["title"]["en"], "Red pepper");
    }
);

both!(categories_are_managed, |app: TestApp| async move {
    let csrf = app.admin_login().await;
    let (s, c) = app
        .json(
            app.admin(Method::POST, "/api/admin/categories", &csrf)
                .json(&json!({"title": {"en": "Spices", "ru": "Специи"}})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["slug"], "spices");
    let cid = c["id"].as_i64().unwrap();
    let (s, v) = app
        .json(
            app.admin(Method::POST, "/api/admin/categories", &csrf)
                .json(&json!({"title": {"en": "Spices"}})),
        )
        .await;
    assert_eq!((s, error_code(&v)), (400, "slug_taken"));
    let (s, v) = app
        .json(
            app.admin(
                Method::PATCH,
                &format!("/api/admin/categories/{cid}"),
                &csrf,
            )
            .json(&json!({"title": {"uz": "Ziravorlar"}, "position": 0})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, list) = app.json(app.get("/api/categories?lang=uz")).await;
    let titles: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"Ziravorlar"), "{titles:?}");
    let (s, _) = app
        .json(app.admin(
            Method::DELETE,
            &format!("/api/admin/categories/{cid}"),
            &csrf,
        ))
        .await;
    assert_eq!(s, 204);
    let (_, list) = app.json(app.get("/api/categories")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 4);
    // Unknown category on a product names the field.
    let (s, v) = app
        .json(app.admin(Method::POST, "/api/admin/products", &csrf).json(&json!({
            "kind": "physical", "category_id": cid, "title": {"en": "X"}, "variants": [{"sku": "X-1", "price": {"amount_minor": 100, "currency": "UZS"}, "stock": 1}]
        })))
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (400, Some("category_id"))
    );
});

both!(
    cash_orders_are_shipped_delivered_paid_and_refunded,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let teapot = app.variant("Teapot").await;
        let vid = teapot["id"].as_i64().unwrap();
        let stock0 = teapot["stock"].as_i64().unwrap();
        let (s, o) = app
        .json(app.as_user(Method::POST, "/api/orders", 7).json(&json!({
            "items": [{"variant_id": vid, "quantity": 2}], "payment_method": "cash", "contact": contact()
        })))
        .await;
        assert_eq!(s, 201, "{o}");
        let id = o["id"].as_i64().unwrap();
        assert_eq!(
            o["expires_at"],
            serde_json::Value::Null,
            "cash orders hold stock until delivered or cancelled"
        );

        let (s, v) = app
            .json(app.get("/api/admin/orders?status=pending_payment"))
            .await;
        assert_eq!(s, 200);
        assert!(v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"].as_i64() == Some(id)));

        // Refunding an unpaid order is refused.
        let (s, v) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/orders/{id}/refund"),
                &csrf,
            ))
            .await;
        assert_eq!((s, error_code(&v)), (409, "invalid_state"), "{v}");

        let (s, v) = app
            .json(app.admin(Method::POST, &format!("/api/admin/orders/{id}/ship"), &csrf))
            .await;
        assert_eq!((s, v["status"].as_str()), (200, Some("shipped")), "{v}");
        let (s, v) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/orders/{id}/deliver"),
                &csrf,
            ))
            .await;
        assert_eq!((s, v["status"].as_str()), (200, Some("delivered")), "{v}");
        // Delivering again is a clear 409, and the cash payment exists once.
        let (s, _) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/orders/{id}/deliver"),
                &csrf,
            ))
            .await;
        assert_eq!(s, 409);
        let payments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE order_id = $1")
            .bind(id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(payments, 1);
        let (reserved, stock): (i64, Option<i64>) =
            sqlx::query_as("SELECT reserved, stock FROM variants WHERE id = $1")
                .bind(vid)
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
        assert_eq!((reserved, stock), (0, Some(stock0 - 2)));

        let (s, v) = app.json(app.get(&format!("/api/admin/orders/{id}"))).await;
        assert_eq!(s, 200);
        let kinds: Vec<&str> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["created", "shipped", "paid", "delivered"]);

        // Partial, then the rest; a third refund is refused. Restock puts the units back.
        let (s, v) = app
            .json(
                app.admin(
                    Method::POST,
                    &format!("/api/admin/orders/{id}/refund"),
                    &csrf,
                )
                .json(&json!({"amount_minor": 1000000})),
            )
            .await;
        assert_eq!((s, v["status"].as_str()), (200, Some("delivered")), "{v}");
        let (s, v) = app
            .json(
                app.admin(
                    Method::POST,
                    &format!("/api/admin/orders/{id}/refund"),
                    &csrf,
                )
                .json(&json!({"amount_minor": 999999999})),
            )
            .await;
        assert_eq!((s, error_code(&v)), (400, "invalid_amount"));
        let (s, v) = app
            .json(
                app.admin(
                    Method::POST,
                    &format!("/api/admin/orders/{id}/refund"),
                    &csrf,
                )
                .json(&json!({"restock": true})),
            )
            .await;
        assert_eq!((s, v["status"].as_str()), (200, Some("refunded")), "{v}");
        let (s, v) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/orders/{id}/refund"),
                &csrf,
            ))
            .await;
        assert_eq!((s, error_code(&v)), (409, "already_refunded"));
        let after = app.variant("Teapot").await;
        assert_eq!(after["stock"].as_i64(), Some(stock0));

        // The merchant sees the whole timeline, with who did what; the customer sees the status
        // changes and the partial refund, without the restock and without any admin's email.
        let kinds = |v: &serde_json::Value| -> Vec<String> {
            v["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["kind"].as_str().unwrap().to_string())
                .collect()
        };
        let (_, admin_view) = app.json(app.get(&format!("/api/admin/orders/{id}"))).await;
        let admin_kinds = kinds(&admin_view);
        assert!(
            admin_kinds.contains(&"restocked".to_string()),
            "{admin_kinds:?}"
        );
        assert!(admin_view["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"].as_str().is_some_and(|a| a.contains('@'))));
        // Every entry is a status change or a kind the admin has a label for.
        for e in admin_view["events"].as_array().unwrap() {
            let kind = e["kind"].as_str().unwrap();
            assert!(
                !e["status"].is_null() || shared::event_kind::ALL.contains(&kind),
                "{kind} is neither a status nor in shared::event_kind::ALL"
            );
        }
        let (s, mine) = app
            .json(app.as_user(Method::GET, &format!("/api/orders/{id}"), 7))
            .await;
        assert_eq!(s, 200, "{mine}");
        assert_eq!(
            kinds(&mine),
            [
                "created",
                "shipped",
                "paid",
                "delivered",
                "partial_refund",
                "refunded"
            ],
            "{mine}"
        );
        assert!(
            mine["events"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e.get("actor").is_none_or(|a| a.is_null())),
            "{mine}"
        );
    }
);

both!(cancelling_releases_stock_once, |app: TestApp| async move {
    let csrf = app.admin_login().await;
    let v0 = app.variant("Pistachios").await;
    let vid = v0["id"].as_i64().unwrap();
    let (_, o) = app
        .json(app.as_user(Method::POST, "/api/orders", 9).json(&json!({
            "items": [{"variant_id": vid, "quantity": 3}], "payment_method": "cash", "contact": contact()
        })))
        .await;
    let id = o["id"].as_i64().unwrap();
    assert_eq!(
        app.variant("Pistachios").await["stock"].as_i64(),
        Some(v0["stock"].as_i64().unwrap() - 3)
    );
    let (s, v) = app
        .json(app.admin(
            Method::POST,
            &format!("/api/admin/orders/{id}/cancel"),
            &csrf,
        ))
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("cancelled")), "{v}");
    let (s, _) = app
        .json(app.admin(
            Method::POST,
            &format!("/api/admin/orders/{id}/cancel"),
            &csrf,
        ))
        .await;
    assert_eq!(s, 409);
    assert_eq!(app.variant("Pistachios").await["stock"], v0["stock"]);
    let (s, v) = app
        .json(app.admin(Method::POST, &format!("/api/admin/orders/{id}/ship"), &csrf))
        .await;
    assert_eq!((s, error_code(&v)), (409, "invalid_state"));
});

both!(
    created_texts_are_stored_as_edits_store_them,
    |app: TestApp| async move {
        // The admin sends every language, "" for an empty one; an edit removes a language
        // the same way. A creation must store what an edit would, so the audit log does not
        // show a phantom `"" → —` change the first time the record is edited.
        let csrf = app.admin_login().await;
        let (s, c) = app
            .json(
                app.admin(Method::POST, "/api/admin/categories", &csrf)
                    .json(&json!({"title": {"uz": "", "ru": "  Чай ", "en": "Tea"}})),
            )
            .await;
        assert_eq!(s, 201, "{c}");
        assert_eq!(c["texts"], json!({"ru": "Чай", "en": "Tea"}));
        let cid = c["id"].as_i64().unwrap();
        let (s, c) = app
            .json(
                app.admin(
                    Method::PATCH,
                    &format!("/api/admin/categories/{cid}"),
                    &csrf,
                )
                .json(&json!({"title": {"uz": "", "ru": "Чай", "en": "Green tea"}})),
            )
            .await;
        assert_eq!(s, 200, "{c}");

        let mut p = new_product();
        p["title"] = json!({"uz": " ", "ru": "", "en": " Teapot "});
        p["description"] = json!({"uz": "", "en": "Cast iron"});
        let (s, v) = app
            .json(
                app.admin(Method::POST, "/api/admin/products", &csrf)
                    .json(&p),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["texts"]["title"], json!({"en": "Teapot"}));
        assert_eq!(v["texts"]["description"], json!({"en": "Cast iron"}));

        let (_, log) = app.json(app.get("/api/admin/audit?limit=100")).await;
        let entry = |action: &str, entity: &str| {
            log["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["action"] == action && e["entity"] == entity)
                .unwrap_or_else(|| panic!("no {action} {entity}: {log}"))
                .clone()
        };
        let created = entry("create", "category");
        assert_eq!(created["after"]["texts"], json!({"ru": "Чай", "en": "Tea"}));
        // The edit changed the English title only: uz is absent on both sides.
        let edited = entry("update", "category");
        assert_eq!(edited["before"]["texts"], json!({"ru": "Чай", "en": "Tea"}));
        assert_eq!(
            edited["after"]["texts"],
            json!({"ru": "Чай", "en": "Green tea"})
        );
    }
);

// ADMIN_EMAIL/ADMIN_PASSWORD create the first admin with the same password rule as the admin
// form; once a shop has admins, the variables are ignored (old setups keep starting).
both_kinds!(
    the_first_admin_needs_the_forms_password_rule,
    |kind| async move {
        let Some(app) = spawn(kind, &[("ADMIN_EMAIL", ""), ("ADMIN_PASSWORD", "")]).await else {
            return;
        };
        let db = &app.state.db;
        let min = shared::admin::MIN_ADMIN_PASSWORD_CHARS;
        let short = "x".repeat(min - 1);
        let err = shop::admin::auth::bootstrap(db, "first@shop.test", &short)
            .await
            .unwrap_err();
        assert!(err.contains(&min.to_string()), "{err}");
        let count = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM admins")
                .fetch_one(&db.pool)
                .await
                .unwrap()
        };
        assert_eq!(count().await, 0);
        shop::admin::auth::bootstrap(db, "first@shop.test", &"x".repeat(min))
            .await
            .unwrap();
        assert_eq!(count().await, 1);
        // An existing shop starts with a short one still set: nothing is checked or created.
        shop::admin::auth::bootstrap(db, "other@shop.test", &short)
            .await
            .unwrap();
        assert_eq!(count().await, 1);
    }
);

/// Makes every audit insert fail from now on, to show which changes share its transaction.
async fn refuse_audit_rows(app: &TestApp) {
    let sqls: &[&str] = match app.kind {
        Kind::Sqlite => &["CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             BEGIN SELECT RAISE(ABORT, 'audit refused'); END"],
        Kind::Postgres => &[
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        ],
    };
    for sql in sqls {
        sqlx::raw_sql(sql)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
    }
}

both!(
    a_change_whose_audit_entry_fails_is_not_made,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let o = app.cash_order(5, app.variant_id("Teapot").await, 1).await;
        let variant = app.variant_id("Teapot").await;
        let stock = app.stock(variant).await;
        let catalog = app.raw(app.get("/api/admin/products.csv")).await.body;
        let (_, cats) = app.json(app.get("/api/admin/categories")).await;
        refuse_audit_rows(&app).await;
        let cat_id = cats["items"][0]["id"].as_i64().unwrap();
        let product_id = app.product("Teapot").await["id"].as_i64().unwrap();
        let attempts = [
            (
                Method::POST,
                "/api/admin/products".to_string(),
                new_product(),
            ),
            (
                Method::POST,
                "/api/admin/categories".into(),
                json!({"title": {"en": "Hats"}}),
            ),
            (
                Method::PATCH,
                format!("/api/admin/categories/{cat_id}"),
                json!({"title": {"en": "Renamed"}}),
            ),
            (
                Method::PATCH,
                format!("/api/admin/products/{product_id}"),
                json!({"title": {"en": "Renamed"}}),
            ),
            (
                Method::PUT,
                format!("/api/admin/variants/{variant}/stock"),
                json!({"stock": 99}),
            ),
            (
                Method::POST,
                format!("/api/admin/orders/{}/ship", o["id"]),
                json!({}),
            ),
            (
                Method::POST,
                "/api/admin/admins".into(),
                json!({"email": "new@shop.test", "password": "long enough pw"}),
            ),
        ];
        for (m, path, body) in attempts {
            let r = app.raw(app.admin(m, &path, &csrf).json(&body)).await;
            assert_envelope(&r, 500, Some("internal_error"));
        }
        // Nothing happened: catalog, categories, stock, order and admins are as before.
        assert_eq!(
            app.raw(app.get("/api/admin/products.csv")).await.body,
            catalog
        );
        let (_, after) = app.json(app.get("/api/admin/categories")).await;
        assert_eq!(after, cats);
        assert_eq!(app.stock(variant).await, stock);
        let (_, v) = app
            .json(app.get(&format!("/api/admin/orders/{}", o["id"])))
            .await;
        assert_eq!(v["status"], "pending_payment");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
);

both_with!(
    audit_entries_record_the_client_address,
    &[("TRUSTED_PROXIES", "127.0.0.1")],
    |app: TestApp| async move {
        let (_, v) = app
            .json(
                app.client
                    .post(app.url("/api/admin/login"))
                    .header("X-Forwarded-For", "203.0.113.9")
                    .json(
                        &json!({"email": "owner@shop.test", "password": "correct horse battery"}),
                    ),
            )
            .await;
        let csrf = v["csrf_token"].as_str().unwrap().to_string();
        let (s, _) = app
            .json(
                app.admin(Method::POST, "/api/admin/categories", &csrf)
                    .header("X-Forwarded-For", "203.0.113.10")
                    .json(&json!({"title": {"en": "Hats"}})),
            )
            .await;
        assert_eq!(s, 201);
        let (_, v) = app.json(app.get("/api/admin/audit")).await;
        let by_action = |a: &str| {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["action"] == a)
                .unwrap_or_else(|| panic!("no {a} in {v}"))["client_ip"]
                .clone()
        };
        assert_eq!(by_action("login"), "203.0.113.9");
        assert_eq!(by_action("create"), "203.0.113.10");
    }
);

both!(
    unknown_currencies_are_refused_with_422,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let before = app.products().await.len();
        let mut body = new_product();
        body["variants"][1]["price"]["currency"] = json!("QQQ");
        let (s, v) = app
            .json(
                app.admin(Method::POST, "/api/admin/products", &csrf)
                    .json(&body),
            )
            .await;
        assert_eq!((s, error_code(&v)), (422, "invalid_currency"), "{v}");
        assert_eq!(v["error"]["field"], "variants[1].price.currency");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains("QQQ") && msg.contains("ISO 4217"), "{msg}");
        assert_eq!(app.products().await.len(), before, "nothing was created");

        // The other ways a price arrives: a new variant and a variant edit.
        let first = &app.products().await[0];
        let (pid, vid) = (
            first["id"].as_i64().unwrap(),
            first["variants"][0]["id"].as_i64().unwrap(),
        );
        let bad = json!({"amount_minor": 100, "currency": "QQQ"});
        let (s, v) = app
            .json(
                app.admin(
                    Method::POST,
                    &format!("/api/admin/products/{pid}/variants"),
                    &csrf,
                )
                .json(&json!({"sku": "NEW-1", "options": {}, "price": bad, "stock": 1})),
            )
            .await;
        assert_eq!((s, error_code(&v)), (422, "invalid_currency"), "{v}");
        let (s, v) = app
            .json(
                app.admin(Method::PATCH, &format!("/api/admin/variants/{vid}"), &csrf)
                    .json(&json!({ "price": bad })),
            )
            .await;
        assert_eq!((s, error_code(&v)), (422, "invalid_currency"), "{v}");
        assert_eq!(v["error"]["field"], "price.currency");

        // A listed currency with other decimals goes through (TON, 9 decimals).
        let mut ton = new_product();
        for i in 0..2 {
            ton["variants"][i]["price"] =
                json!({"amount_minor": 1_500_000_000i64, "currency": "ton"});
        }
        let (s, v) = app
            .json(
                app.admin(Method::POST, "/api/admin/products", &csrf)
                    .json(&ton),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["variants"][0]["price"]["currency"], "TON");
    }
);
