//! Placing and reading orders (cash on delivery, the rail every shop has).
mod common;
use common::*;

use reqwest::Method;
use serde_json::{json, Value};

fn amount(v: &Value) -> i64 {
    v["amount_minor"]
        .as_i64()
        .unwrap_or_else(|| panic!("no amount in {v}"))
}

both!(
    cash_order_is_priced_by_the_server,
    |app: TestApp| async move {
        let teapot = app.variant("Teapot").await;
        let vid = teapot["id"].as_i64().unwrap();
        let unit = amount(&teapot["price"]);
        let stock_before = app.stock(vid).await.unwrap();

        // The server prices the order; a request carrying its own numbers (a total, a unit
        // price) is refused, not half-read (see `unknown_fields_are_refused_by_name`).
        let (s, v) = app
            .order(
                1,
                json!({
                    "items": [{"variant_id": vid, "quantity": 2}],
                    "payment_method": "cash",
                    "contact": contact(),
                    "total": {"amount_minor": 1, "currency": "UZS"},
                }),
            )
            .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (400, Some("total")),
            "{v}"
        );
        let (s, o) = app
            .order(
                1,
                json!({
                    "items": [{"variant_id": vid, "quantity": 2}],
                    "payment_method": "cash",
                    "contact": contact(),
                }),
            )
            .await;
        assert_eq!(s, 201, "{o}");
        assert!(o["id"].as_i64().unwrap() > 0);
        assert_eq!(o["status"], "pending_payment");
        assert_eq!(o["payment_method"], "cash");
        assert_eq!(
            o["total"],
            json!({"amount_minor": unit * 2, "currency": "UZS"})
        );
        let items = o["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["variant_id"], vid);
        assert_eq!(items[0]["quantity"], 2);
        assert_eq!(amount(&items[0]["unit_price"]), unit);
        assert_eq!(amount(&items[0]["line_total"]), unit * 2);
        assert_eq!(items[0]["title"], "Teapot");
        assert_eq!(o["contact"]["phone"], contact()["phone"]);
        assert!(
            o.get("invoice_link").is_none() && o.get("checkout_url").is_none(),
            "cash needs no payment link: {o}"
        );

        // The stock moved by exactly the quantity and is held for the order.
        assert_eq!(app.stock(vid).await, Some(stock_before - 2));
        assert_eq!(app.reserved(vid).await, 2);
        let (_, p) = app
            .json(app.get(&format!("/api/products/{}", teapot_product(&app).await)))
            .await;
        assert_eq!(p["variants"][0]["stock"], stock_before - 2);

        // The database agrees with the answer.
        let total: i64 = sqlx::query_scalar("SELECT total_minor FROM orders WHERE id = $1")
            .bind(o["id"].as_i64().unwrap())
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(total, unit * 2);

        // Several lines add up.
        let bowl = app.variant("Rishtan bowl").await;
        let (s, o) = app
            .order(
                1,
                json!({"items": [{"variant_id": vid, "quantity": 1},
                             {"variant_id": bowl["id"], "quantity": 3}],
                   "payment_method": "cash", "contact": contact()}),
            )
            .await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(amount(&o["total"]), unit + 3 * amount(&bowl["price"]));
    }
);

async fn teapot_product(app: &TestApp) -> i64 {
    app.product("Teapot").await["id"].as_i64().unwrap()
}

both!(
    product_id_stands_for_a_single_variant,
    |app: TestApp| async move {
        let bowl = app.product("Rishtan bowl").await;
        let bowl_variant = bowl["variants"][0]["id"].as_i64().unwrap();
        let before = app.stock(bowl_variant).await.unwrap();
        let (s, o) = app
            .order(
                2,
                json!({"items": [{"product_id": bowl["id"], "quantity": 2}],
                   "payment_method": "cash", "contact": contact()}),
            )
            .await;
        assert_eq!(s, 201, "{o}");
        assert_eq!(o["items"][0]["variant_id"], bowl_variant);
        assert_eq!(o["items"][0]["product_id"], bowl["id"]);
        assert_eq!(app.stock(bowl_variant).await, Some(before - 2));

        let dress = app.product("Atlas silk dress").await;
        let (s, v) = app
            .order(
                2,
                json!({"items": [{"product_id": dress["id"], "quantity": 1}],
                   "payment_method": "cash", "contact": contact()}),
            )
            .await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(error_code(&v), "variant_required");
        assert_eq!(v["error"]["field"], "items[0].variant_id");
        for d in dress["variants"].as_array().unwrap() {
            assert_eq!(
                app.stock(d["id"].as_i64().unwrap()).await,
                d["stock"].as_i64(),
                "no stock moved"
            );
        }
        // Unknown product.
        let (s, v) = app
        .order(2, json!({"items": [{"product_id": 999999, "quantity": 1}], "payment_method": "cash", "contact": contact()}))
        .await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["error"]["field"], "items[0].product_id");
        // Neither id.
        let (s, v) = app
            .order(
                2,
                json!({"items": [{"quantity": 1}], "payment_method": "cash", "contact": contact()}),
            )
            .await;
        assert_eq!(s, 400, "{v}");
    }
);

both!(physical_goods_need_a_contact, |app: TestApp| async move {
    let vid = app.variant_id("Teapot").await;
    let before = app.stock(vid).await;
    let (s, v) = app
        .order(
            3,
            json!({"items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash"}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(error_code(&v), "contact_required");
    assert_eq!(v["error"]["field"], "contact");
    let bad = [
        (
            json!({"name": "D", "phone": "+998 90 123 45 67", "address": "Tashkent, Amir Temur 1"}),
            "contact.name",
        ),
        (
            json!({"name": "Dilnoza", "phone": "call me", "address": "Tashkent, Amir Temur 1"}),
            "contact.phone",
        ),
        (
            json!({"name": "Dilnoza", "phone": "12", "address": "Tashkent, Amir Temur 1"}),
            "contact.phone",
        ),
        (
            json!({"name": "Dilnoza", "phone": "+998 90 123 45 67", "address": " "}),
            "contact.address",
        ),
    ];
    for (c, field) in bad {
        let (s, v) = app
            .order(3, json!({"items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash", "contact": c}))
            .await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    assert_eq!(app.stock(vid).await, before, "refused orders take no stock");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
});

both!(
    idempotency_key_returns_the_same_order_once,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let before = app.stock(vid).await.unwrap();
        let body = json!({"items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash", "contact": contact()});
        let post = |key: &str, body: &Value, user: i64| {
            app.as_user(Method::POST, "/api/orders", user)
                .header("Idempotency-Key", key)
                .json(body)
        };
        let (s1, o1) = app.json(post("key-1", &body, 4)).await;
        assert_eq!(s1, 201, "{o1}");
        let (s2, o2) = app.json(post("key-1", &body, 4)).await;
        assert_eq!(s2, 200, "a retry answers 200: {o2}");
        assert_eq!(o2["id"], o1["id"]);
        assert_eq!(o2["total"], o1["total"]);
        assert_eq!(app.stock(vid).await, Some(before - 1), "stock taken once");

        // Same key, different body: a conflict, and nothing taken.
        let other = json!({"items": [{"variant_id": vid, "quantity": 2}], "payment_method": "cash", "contact": contact()});
        let (s, v) = app.json(post("key-1", &other, 4)).await;
        assert_eq!(s, 409, "{v}");
        assert_eq!(error_code(&v), "idempotency_key_reused");
        assert_eq!(app.stock(vid).await, Some(before - 1));

        // Keys belong to one customer: another customer's same key is a new order.
        let (s, o3) = app.json(post("key-1", &body, 5)).await;
        assert_eq!(s, 201, "{o3}");
        assert_ne!(o3["id"], o1["id"]);
        // A new key is a new order.
        let (s, o4) = app.json(post("key-2", &body, 4)).await;
        assert_eq!(s, 201, "{o4}");
        assert_ne!(o4["id"], o1["id"]);
        assert_eq!(app.stock(vid).await, Some(before - 3));

        // An empty key is refused.
        let (s, v) = app.json(post("", &body, 4)).await;
        assert_eq!(s, 400, "{v}");
        let (s, v) = app.json(post(&"k".repeat(201), &body, 4)).await;
        assert_eq!(s, 400, "{v}");
    }
);

both!(
    concurrent_retries_with_one_key_make_one_order,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let before = app.stock(vid).await.unwrap();
        let body = json!({"items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash", "contact": contact()});
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let rb = app
                .as_user(Method::POST, "/api/orders", 6)
                .header("Idempotency-Key", "double-tap")
                .json(&body);
            set.spawn(async move {
                let r = rb.send().await.expect("request");
                let s = r.status().as_u16();
                (s, r.json::<Value>().await.expect("json"))
            });
        }
        let mut created = 0;
        let mut ids = std::collections::BTreeSet::new();
        while let Some(r) = set.join_next().await {
            let (s, v) = r.unwrap();
            assert!(s == 200 || s == 201, "{s}: {v}");
            if s == 201 {
                created += 1;
            }
            ids.insert(v["id"].as_i64().unwrap());
        }
        assert_eq!(created, 1, "exactly one request creates the order");
        assert_eq!(ids.len(), 1, "all answers are the same order: {ids:?}");
        assert_eq!(app.stock(vid).await, Some(before - 1));
        assert_eq!(app.reserved(vid).await, 1);
    }
);

both!(order_from_the_cart_empties_it, |app: TestApp| async move {
    let teapot = app.variant("Teapot").await;
    let bowl = app.variant("Rishtan bowl").await;
    let (t, b) = (teapot["id"].as_i64().unwrap(), bowl["id"].as_i64().unwrap());
    let (s, cart) = app
        .json(
            app.as_user(Method::PUT, "/api/cart", 7)
                .json(&json!({"items": [
            {"variant_id": t, "quantity": 1}, {"variant_id": b, "quantity": 2}]})),
        )
        .await;
    assert_eq!(s, 200, "{cart}");
    let (bt, bb) = (app.stock(t).await.unwrap(), app.stock(b).await.unwrap());

    let (s, o) = app
        .order(7, json!({"payment_method": "cash", "contact": contact()}))
        .await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(o["total"], cart["total"]);
    assert_eq!(o["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        amount(&o["total"]),
        amount(&teapot["price"]) + 2 * amount(&bowl["price"])
    );
    let (_, after) = app.json(app.as_user(Method::GET, "/api/cart", 7)).await;
    assert_eq!(after["items"], json!([]), "the cart is emptied");
    assert_eq!(
        (app.stock(t).await.unwrap(), app.stock(b).await.unwrap()),
        (bt - 1, bb - 2)
    );

    // Now the cart is empty: ordering from it is a 400.
    let (s, v) = app
        .order(7, json!({"payment_method": "cash", "contact": contact()}))
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(error_code(&v), "empty_cart");
    // A customer who never had a cart, likewise.
    let (s, v) = app
        .order(8, json!({"payment_method": "cash", "contact": contact()}))
        .await;
    assert_eq!(s, 400, "{v}");
    // Named items leave the cart alone.
    app.json(
        app.as_user(Method::PUT, "/api/cart", 7)
            .json(&json!({"items": [{"variant_id": b, "quantity": 1}]})),
    )
    .await;
    app.cash_order(7, t, 1).await;
    let (_, still) = app.json(app.as_user(Method::GET, "/api/cart", 7)).await;
    assert_eq!(still["items"].as_array().unwrap().len(), 1);
    // An explicitly empty item list is a 400 too.
    let (s, v) = app
        .order(
            7,
            json!({"items": [], "payment_method": "cash", "contact": contact()}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
});

both!(
    payment_method_must_be_configured_and_fit,
    |app: TestApp| async move {
        let t = app.variant_id("Teapot").await;
        let before = app.stock(t).await;
        let (s, v) = app
        .order(9, json!({"items": [{"variant_id": t, "quantity": 1}], "payment_method": "stripe", "contact": contact()}))
        .await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(error_code(&v), "payment_method_unavailable");
        assert_eq!(v["error"]["field"], "payment_method");
        let (s, v) = app
        .order(9, json!({"items": [{"variant_id": t, "quantity": 1}], "payment_method": "bitcoin", "contact": contact()}))
        .await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["error"]["field"], "payment_method");
        // Cash cannot pay Stars goods.
        let plov = app.variant_id("Plov recipe").await;
        let (s, v) = app
            .order(
                9,
                json!({"items": [{"variant_id": plov, "quantity": 1}], "payment_method": "cash"}),
            )
            .await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["error"]["field"], "payment_method");
        // Mixed currencies in one order.
        let (s, v) = app
        .order(9, json!({"items": [{"variant_id": t, "quantity": 1}, {"variant_id": plov, "quantity": 1}],
                         "payment_method": "cash", "contact": contact()}))
        .await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(error_code(&v), "mixed_currencies");
        assert_eq!(app.stock(t).await, before);
    }
);

both!(quantities_are_checked, |app: TestApp| async move {
    let suzani = app.variant("Suzani").await;
    let id = suzani["id"].as_i64().unwrap();
    let stock = suzani["stock"].as_i64().unwrap();
    let (s, v) = app
        .order(10, json!({"items": [{"variant_id": id, "quantity": stock + 1}], "payment_method": "cash", "contact": contact()}))
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(error_code(&v), "out_of_stock");
    assert_eq!(app.stock(id).await, Some(stock));
    for q in [0, -1, 1000] {
        let (s, v) = app
            .order(10, json!({"items": [{"variant_id": id, "quantity": q}], "payment_method": "cash", "contact": contact()}))
            .await;
        assert_eq!(s, 400, "quantity {q}: {v}");
    }
    let (s, v) = app
        .order(10, json!({"items": [{"variant_id": 987654, "quantity": 1}], "payment_method": "cash", "contact": contact()}))
        .await;
    assert_eq!(s, 400, "{v}");
    // A multi-line order that cannot be served in full takes nothing at all.
    let t = app.variant_id("Teapot").await;
    let t_before = app.stock(t).await;
    let (s, v) = app
        .order(10, json!({"items": [{"variant_id": t, "quantity": 1}, {"variant_id": id, "quantity": stock + 1}],
                          "payment_method": "cash", "contact": contact()}))
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(app.stock(t).await, t_before);
    assert_eq!(app.reserved(t).await, 0);
    // Without initData nobody orders.
    let r = app
        .raw(app.client.post(app.url("/api/orders")).json(&json!({"items": [{"variant_id": t, "quantity": 1}], "payment_method": "cash", "contact": contact()})))
        .await;
    assert_envelope(&r, 401, Some("unauthorized"));
});

both!(
    orders_are_private_to_their_customer,
    |app: TestApp| async move {
        let t = app.variant_id("Teapot").await;
        let o = app.cash_order(11, t, 1).await;
        let id = o["id"].as_i64().unwrap();
        let (s, mine) = app
            .json(app.as_user(Method::GET, &format!("/api/orders/{id}"), 11))
            .await;
        assert_eq!(s, 200, "{mine}");
        assert_eq!(mine["id"], id);
        assert_eq!(mine["total"], o["total"]);
        assert_eq!(mine["status"], "pending_payment");
        let r = app
            .raw(app.as_user(Method::GET, &format!("/api/orders/{id}"), 12))
            .await;
        assert_envelope(&r, 404, Some("not_found"));
        let r = app
            .raw(app.as_user(Method::GET, "/api/orders/999999", 11))
            .await;
        assert_envelope(&r, 404, Some("not_found"));
        let r = app.raw(app.get(&format!("/api/orders/{id}"))).await;
        assert_envelope(&r, 401, Some("unauthorized"));
    }
);

both!(
    order_list_is_own_newest_first_and_paged,
    |app: TestApp| async move {
        let t = app.variant_id("Teapot").await;
        let b = app.variant_id("Rishtan bowl").await;
        let mut mine = vec![];
        for i in 0..3 {
            mine.push(
                app.cash_order(21, if i % 2 == 0 { t } else { b }, 1).await["id"]
                    .as_i64()
                    .unwrap(),
            );
            // Someone else orders in between.
            app.cash_order(22, b, 1).await;
        }
        mine.reverse(); // newest first

        let (s, v) = app.json(app.as_user(Method::GET, "/api/orders", 21)).await;
        assert_eq!(s, 200, "{v}");
        let got: Vec<i64> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert_eq!(got, mine);
        assert!(v["next_cursor"].is_null());
        for o in v["items"].as_array().unwrap() {
            assert_eq!(
                o["items"].as_array().unwrap().len(),
                1,
                "list entries carry their items: {o}"
            );
            assert!(o["total"]["amount_minor"].as_i64().unwrap() > 0);
        }

        // Paging by two: two, then one, then the end.
        let (_, p1) = app
            .json(app.as_user(Method::GET, "/api/orders?limit=2", 21))
            .await;
        let p1_ids: Vec<i64> = p1["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert_eq!(p1_ids, mine[..2]);
        let c = p1["next_cursor"].as_str().expect("a next page").to_string();
        let (_, p2) = app
            .json(app.as_user(Method::GET, &format!("/api/orders?limit=2&cursor={c}"), 21))
            .await;
        let p2_ids: Vec<i64> = p2["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert_eq!(p2_ids, mine[2..]);
        assert!(p2["next_cursor"].is_null(), "{p2}");

        // The other customer sees only theirs; a newcomer sees none.
        let (_, theirs) = app.json(app.as_user(Method::GET, "/api/orders", 22)).await;
        let theirs: Vec<i64> = theirs["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert_eq!(theirs.len(), 3);
        assert!(theirs.iter().all(|id| !mine.contains(id)));
        let (_, none) = app.json(app.as_user(Method::GET, "/api/orders", 23)).await;
        assert_eq!(none, json!({"items": [], "next_cursor": null}));
    }
);

both!(
    concurrent_retries_for_the_last_unit_replay_instead_of_409,
    |app: TestApp| async move {
        // The first request takes the last unit; its retries must answer that order, not
        // "sold out".
        let vid = app.variant_id("Teapot").await;
        app.set_stock(vid, Some(1)).await;
        let body = json!({"items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash", "contact": contact()});
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let rb = app
                .as_user(Method::POST, "/api/orders", 13)
                .header("Idempotency-Key", "last-one")
                .json(&body);
            set.spawn(async move {
                let r = rb.send().await.expect("request");
                let s = r.status().as_u16();
                (s, r.json::<Value>().await.expect("json"))
            });
        }
        let mut statuses = vec![];
        let mut ids = std::collections::BTreeSet::new();
        while let Some(r) = set.join_next().await {
            let (s, v) = r.unwrap();
            statuses.push(s);
            if s < 300 {
                ids.insert(v["id"].as_i64().unwrap());
            }
        }
        statuses.sort();
        assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 201]);
        assert_eq!(ids.len(), 1);
        assert_eq!(app.stock(vid).await, Some(0));
        assert_eq!(app.reserved(vid).await, 1);
        // A different customer now finds it sold out.
        let (s, v) = app.order(14, body.clone()).await;
        assert_eq!((s, error_code(&v)), (409, "out_of_stock"));
    }
);

both!(
    unknown_fields_are_refused_by_name,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let stock = app.stock(vid).await;
        // A misspelt field meant to lower the price must not be ignored (the order would be
        // charged in full): 400 with the field's JSON path and a message saying what to fix.
        for (body, field) in [
            (
                json!({"items": [{"variant_id": vid, "quantity": 1}], "payment_method": "cash",
                       "contact": contact(), "promo_kode": "SPRING"}),
                "promo_kode",
            ),
            (
                json!({"items": [{"variant_id": vid, "quantity": 1, "discount": 50}],
                       "payment_method": "cash", "contact": contact()}),
                "items[0].discount",
            ),
            (
                json!({"payment_method": "cash", "contact": contact(), "item": []}),
                "item",
            ),
        ] {
            let r = app
                .raw(app.as_user(Method::POST, "/api/orders", 31).json(&body))
                .await;
            let v = assert_envelope(&r, 400, Some("unknown_field"));
            assert_eq!(v["error"]["field"], field, "{v}");
            let message = v["error"]["message"].as_str().unwrap();
            let accepted = if field.starts_with("items[") {
                "variant_id"
            } else {
                "payment_method"
            };
            assert!(
                message.contains(&format!("`{field}`")) && message.contains(accepted),
                "the message names the field and what is accepted: {message}"
            );
        }
        // Nothing was ordered and no stock was taken.
        assert_eq!(app.stock(vid).await, stock);
        let (_, list) = app.json(app.as_user(Method::GET, "/api/orders", 31)).await;
        assert_eq!(list["items"], json!([]), "{list}");
        // The same request without the stray field goes through.
        app.cash_order(31, vid, 1).await;
    }
);

both!(
    a_returning_customer_gets_their_last_contact_back,
    |app: TestApp| async move {
        let me = |user| app.json(app.as_user(Method::GET, "/api/me", user));
        let (s, v) = me(41).await;
        assert_eq!((s, &v["contact"]), (200, &Value::Null), "{v}");
        assert_eq!(v["last_payment_method"], Value::Null, "{v}");

        let vid = app.variant("Teapot").await["id"].as_i64().unwrap();
        let first = json!({"name": "Aziz", "phone": "+998 90 000 00 01", "address": "Chilonzor 5"});
        let (s, o) = app
            .order(
                41,
                json!({"items": [{"variant_id": vid, "quantity": 1}],
                       "payment_method": "cash", "contact": first}),
            )
            .await;
        assert_eq!(s, 201, "{o}");
        let (_, v) = me(41).await;
        assert_eq!(v["contact"], first, "{v}");
        assert_eq!(v["last_payment_method"], "cash", "{v}");

        // The newest order's contact wins; another customer never sees it.
        let (s, o) = app
            .order(
                41,
                json!({"items": [{"variant_id": vid, "quantity": 1}],
                       "payment_method": "cash", "contact": contact()}),
            )
            .await;
        assert_eq!(s, 201, "{o}");
        let (_, v) = me(41).await;
        assert_eq!(v["contact"], contact(), "{v}");
        let (_, v) = me(42).await;
        assert_eq!(v["contact"], Value::Null, "{v}");
    }
);

both!(
    the_cap_counts_only_the_customers_unpaid_orders,
    |app: TestApp| async move {
        // Every order counts its customer's unpaid orders: through the status indexes that
        // read every unpaid order in the shop (tens of thousands under load), a cost that
        // grew with everyone else's orders.
        let mut args = sqlx::any::AnyArguments::default();
        sqlx::Arguments::add(&mut args, 42_i64).unwrap();
        let plan = query_plan(&app, shop::orders::OPEN_ORDERS_SQL, args).await;
        assert!(plan.contains("orders_customer_pending"), "{plan}");
        assert!(
            !plan.contains("orders_expiry") && !plan.contains("orders_status"),
            "{plan}"
        );
        // PostgreSQL writes a group of orders in one statement, which counts each of the
        // group's customers' unpaid orders the same way.
        if matches!(app.kind, Kind::Postgres) {
            let mut args = sqlx::any::AnyArguments::default();
            sqlx::Arguments::add(&mut args, "[]").unwrap();
            sqlx::Arguments::add(&mut args, "[]").unwrap();
            sqlx::Arguments::add(&mut args, 10_i64).unwrap();
            let plan = query_plan(&app, shop::orders::GROUP_ORDERS_SQL, args).await;
            assert!(plan.contains("orders_customer_pending"), "{plan}");
            assert!(
                !plan.contains("orders_expiry") && !plan.contains("orders_status"),
                "{plan}"
            );
        }
    }
);

both!(
    a_group_upserts_a_customer_named_twice_once_with_the_newest_names,
    |app: TestApp| async move {
        // A group of orders upserts all its customers in one statement; PostgreSQL refuses a
        // statement that would update one row twice, so a customer with two orders in one
        // group must be named once, with the newer of the two.
        let user = |first: &str| shop::auth::init_data::TgUser {
            id: 7_700_001,
            first_name: first.into(),
            last_name: None,
            username: None,
            language_code: Some("uz".into()),
            is_premium: false,
            photo_url: None,
        };
        let (older, newer, other) = (
            user("Old"),
            user("New"),
            shop::auth::init_data::TgUser {
                id: 7_700_002,
                ..user("Other")
            },
        );
        let mut conn = app.state.db.writer.acquire().await.unwrap();
        shop::auth::upsert_customers(&mut conn, &[(&newer, 20), (&other, 15), (&older, 10)])
            .await
            .unwrap();
        drop(conn);
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT id, first_name, updated_at FROM customers WHERE id IN (7700001, 7700002) ORDER BY id",
        )
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(
            rows,
            vec![
                (7_700_001, "New".to_string(), 20),
                (7_700_002, "Other".to_string(), 15)
            ]
        );
    }
);
