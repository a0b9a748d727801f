//! Every admin route: 401 without a session, 403 for a state-changing call without or with a
//! wrong X-CSRF-Token (and nothing changes); plus the product detail, the stock filter and
//! category reordering.

mod common;
use common::*;
use reqwest::Method;
use serde_json::json;

const READS: &[&str] = &[
    "/api/admin/me",
    "/api/admin/admins",
    "/api/admin/products",
    "/api/admin/products/1",
    "/api/admin/categories",
    "/api/admin/categories/1",
    "/api/admin/orders",
    "/api/admin/orders/1",
    "/api/admin/orders.csv",
    "/api/admin/products.csv",
    "/api/admin/dashboard",
    "/api/admin/audit",
];

fn writes() -> Vec<(Method, &'static str)> {
    vec![
        (Method::POST, "/api/admin/logout"),
        (Method::POST, "/api/admin/admins"),
        (Method::POST, "/api/admin/products"),
        (Method::PATCH, "/api/admin/products/1"),
        (Method::PUT, "/api/admin/products/1"),
        (Method::DELETE, "/api/admin/products/1"),
        (Method::POST, "/api/admin/products/1/variants"),
        (Method::POST, "/api/admin/products/1/images"),
        (Method::PUT, "/api/admin/products/1/images"),
        (Method::PATCH, "/api/admin/variants/1"),
        (Method::DELETE, "/api/admin/variants/1"),
        (Method::PUT, "/api/admin/variants/1/stock"),
        (Method::POST, "/api/admin/categories"),
        (Method::PATCH, "/api/admin/categories/1"),
        (Method::DELETE, "/api/admin/categories/1"),
        (Method::PUT, "/api/admin/categories/order"),
        (Method::POST, "/api/admin/orders/1/ship"),
        (Method::POST, "/api/admin/orders/1/deliver"),
        (Method::POST, "/api/admin/orders/1/cancel"),
        (Method::POST, "/api/admin/orders/1/refund"),
        (Method::POST, "/api/admin/products.csv"),
    ]
}

both!(
    every_route_needs_a_session_and_csrf,
    |app: TestApp| async move {
        let o = app.cash_order(5, app.variant_id("Teapot").await, 1).await;
        assert_eq!(o["id"], 1);
        for path in READS {
            let r = app.raw(app.get(path)).await;
            assert_envelope(&r, 401, Some("unauthorized"));
        }
        for (m, path) in writes() {
            let r = app
                .raw(
                    app.client
                        .request(m.clone(), app.url(path))
                        .json(&json!({})),
                )
                .await;
            assert_envelope(&r, 401, Some("unauthorized"));
        }
        app.admin_login().await;
        for path in READS {
            let r = app.raw(app.get(path)).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text());
        }
        let before = app.raw(app.get("/api/admin/products.csv")).await.body;
        for (m, path) in writes() {
            let r = app
                .raw(
                    app.client
                        .request(m.clone(), app.url(path))
                        .json(&json!({})),
                )
                .await;
            assert_envelope(&r, 403, Some("csrf_failed"));
            let r = app
                .raw(app.admin(m.clone(), path, "not-the-token").json(&json!({})))
                .await;
            assert_envelope(&r, 403, Some("csrf_failed"));
        }
        // Nothing changed: same catalog, same order, and only the sign-in in the audit log.
        assert_eq!(
            app.raw(app.get("/api/admin/products.csv")).await.body,
            before
        );
        let (_, v) = app.json(app.get("/api/admin/orders/1")).await;
        assert_eq!(v["status"], "pending_payment");
        let (_, v) = app.json(app.get("/api/admin/audit")).await;
        let actions: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["login"]);
        let (s, _) = app.json(app.get("/api/admin/me")).await;
        assert_eq!(s, 200, "the refused logout did not end the session");
    }
);

both!(product_detail_and_stock_filter, |app: TestApp| async move {
    let csrf = app.admin_login().await;
    let teapot = app.product("Teapot").await;
    let (tid, vid) = (
        teapot["id"].as_i64().unwrap(),
        teapot["variants"][0]["id"].as_i64().unwrap(),
    );
    let (s, v) = app
        .json(
            app.admin(Method::PATCH, &format!("/api/admin/products/{tid}"), &csrf)
                .json(&json!({"ikpu_code": "06912001036000000", "package_code": "1501281", "vat_percent": 12})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ikpu_code"], "06912001036000000");
    let (s, v) = app
        .json(app.get(&format!("/api/admin/products/{tid}")))
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["package_code"], "1501281");
    assert_eq!(v["vat_percent"], 12);
    assert_eq!(v["texts"]["title"]["en"], "Teapot");
    assert!(v.get("digital_content").is_some() && v.get("subscription_period").is_some());
    let (s, v) = app
        .json(
            app.admin(Method::PATCH, &format!("/api/admin/products/{tid}"), &csrf)
                .json(&json!({"vat_percent": 101})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (400, Some("vat_percent"))
    );
    // The create answer is the detail shape too.
    let (s, v) = app
        .json(app.admin(Method::POST, "/api/admin/products", &csrf).json(&json!({
            "kind": "digital", "title": {"en": "Guide"}, "digital_content": "https://example.test/guide.pdf",
            "variants": [{"sku": "GUIDE-1", "price": {"amount_minor": 5, "currency": "XTR"}}]
        })))
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["digital_content"], "https://example.test/guide.pdf");

    let ids = |q: &'static str| {
        let app = &app;
        async move {
            let (s, v) = app
                .json(app.get(&format!("/api/admin/products?limit=200&{q}")))
                .await;
            assert_eq!(s, 200, "{q}: {v}");
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    app.set_stock(vid, Some(0)).await;
    assert!(ids("stock=out").await.contains(&tid));
    assert!(!ids("stock=in").await.contains(&tid));
    assert!(ids("stock=low").await.contains(&tid));
    app.set_stock(vid, Some(3)).await;
    assert!(!ids("stock=out").await.contains(&tid));
    assert!(ids("stock=in").await.contains(&tid));
    assert!(ids("stock=low").await.contains(&tid));
    assert!(!ids("stock=low&low_stock=2").await.contains(&tid));
    app.set_stock(vid, None).await;
    assert!(!ids("stock=low").await.contains(&tid));
    assert!(ids("stock=in").await.contains(&tid));
    let (s, v) = app.json(app.get("/api/admin/products?stock=some")).await;
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("stock")));
});

both!(
    categories_reorder_and_rename_per_language,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let (_, list) = app.json(app.get("/api/admin/categories")).await;
        let first = list["items"][0].clone();
        let last = list["items"].as_array().unwrap().last().unwrap().clone();
        let id = last["id"].as_i64().unwrap();
        // Move the last category before the first, and rename it in Russian only.
        let pos = first["position"].as_i64().unwrap() - 1;
        let (s, v) = app
            .json(
                app.admin(Method::PATCH, &format!("/api/admin/categories/{id}"), &csrf)
                    .json(&json!({"position": pos, "title": {"ru": "Новое"}})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["texts"]["ru"], "Новое");
        assert_eq!(v["texts"]["en"], last["texts"]["en"]);
        let (_, list) = app.json(app.get("/api/admin/categories")).await;
        assert_eq!(list["items"][0]["id"].as_i64(), Some(id));
        let (_, v) = app.json(app.get("/api/admin/audit?entity=category")).await;
        let e = &v["items"][0];
        assert_eq!(e["action"], "update");
        assert_eq!(e["before"]["position"], last["position"]);
        assert_eq!(e["after"]["position"], pos);
        // Clearing every language is refused with the field named.
        let (s, v) = app
            .json(
                app.admin(Method::PATCH, &format!("/api/admin/categories/{id}"), &csrf)
                    .json(&json!({"title": {"uz": "", "ru": "", "en": ""}})),
            )
            .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (400, Some("title")),
            "{v}"
        );
    }
);

both!(categories_reorder_in_one_call, |app: TestApp| async move {
    let csrf = app.admin_login().await;
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let (_, list) = app.json(app.get("/api/admin/categories")).await;
    let before = ids(&list);
    assert!(before.len() >= 2, "the harness seeds categories: {list}");
    let mut wanted = before.clone();
    wanted.reverse();
    let (s, v) = app
        .json(
            app.admin(Method::PUT, "/api/admin/categories/order", &csrf)
                .json(&json!({ "ids": wanted })),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(ids(&v), wanted);
    // Positions are distinct and follow the list; the public catalog sees the new order.
    let positions: Vec<i64> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, (0..wanted.len() as i64).collect::<Vec<_>>());
    let (_, public) = app.json(app.get("/api/categories")).await;
    let public_ids: Vec<i64> = public
        .as_array()
        .or_else(|| public["items"].as_array())
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(public_ids, wanted);
    let (_, audit) = app.json(app.get("/api/admin/audit?entity=category")).await;
    assert_eq!(audit["items"][0]["action"], "reorder");
    assert_eq!(audit["items"][0]["before"], json!(before));
    assert_eq!(audit["items"][0]["after"], json!(wanted));

    // A list that leaves one out (or repeats one) changes nothing and names the field.
    let mut short = wanted.clone();
    short.pop();
    let mut twice = short.clone();
    twice.push(short[0]);
    for bad in [short, twice] {
        let (s, v) = app
            .json(
                app.admin(Method::PUT, "/api/admin/categories/order", &csrf)
                    .json(&json!({ "ids": bad })),
            )
            .await;
        assert_eq!((s, v["error"]["field"].as_str()), (400, Some("ids")), "{v}");
    }
    let (_, list) = app.json(app.get("/api/admin/categories")).await;
    assert_eq!(ids(&list), wanted);
});
