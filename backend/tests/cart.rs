//! The server-side cart: replace with PUT, read with GET, totals computed by the server.
mod common;
use common::*;

use reqwest::Method;
use serde_json::{json, Value};

async fn put(app: &TestApp, user: i64, items: Value) -> (u16, Value) {
    app.json(
        app.as_user(Method::PUT, "/api/cart", user)
            .json(&json!({ "items": items })),
    )
    .await
}

async fn get(app: &TestApp, user: i64) -> Value {
    let (s, v) = app.json(app.as_user(Method::GET, "/api/cart", user)).await;
    assert_eq!(s, 200, "{v}");
    v
}

fn price(variant: &Value) -> i64 {
    variant["price"]["amount_minor"].as_i64().unwrap()
}

both!(
    put_then_get_round_trips_with_server_totals,
    |app: TestApp| async move {
        let teapot = app.variant("Teapot").await;
        let bowl = app.variant("Rishtan bowl").await;
        let (t, b) = (teapot["id"].as_i64().unwrap(), bowl["id"].as_i64().unwrap());

        // Empty to begin with.
        let empty = get(&app, 100).await;
        assert_eq!(empty["items"], json!([]));
        assert!(empty["total"].is_null());
        assert_eq!(empty["payment_methods"], json!([]));

        // A client-sent price or total is ignored: only variant and quantity count.
        let (s, put_answer) = app
        .json(app.as_user(Method::PUT, "/api/cart", 100).json(&json!({
            "items": [
                {"variant_id": t, "quantity": 2, "unit_price": {"amount_minor": 1, "currency": "UZS"}},
                {"variant_id": b, "quantity": 3},
            ],
            "total": {"amount_minor": 5, "currency": "UZS"},
        })))
        .await;
        assert_eq!(s, 200, "{put_answer}");
        let cart = get(&app, 100).await;
        assert_eq!(cart, put_answer, "GET answers what PUT answered");

        let items = cart["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["variant_id"], t);
        assert_eq!(items[0]["quantity"], 2);
        assert_eq!(items[0]["title"], "Teapot");
        assert_eq!(
            items[0]["kind"], "physical",
            "checkout asks for an address from this"
        );
        assert_eq!(items[0]["unit_price"], teapot["price"]);
        assert_eq!(items[0]["line_total"]["amount_minor"], price(&teapot) * 2);
        assert_eq!(items[0]["line_total"]["currency"], "UZS");
        assert_eq!(items[1]["variant_id"], b);
        assert_eq!(items[1]["line_total"]["amount_minor"], price(&bowl) * 3);
        assert_eq!(items[0]["available"], true);
        assert_eq!(
            cart["total"],
            json!({"amount_minor": price(&teapot) * 2 + price(&bowl) * 3, "currency": "UZS"})
        );
        // Another customer's cart is their own.
        assert_eq!(get(&app, 101).await["items"], json!([]));

        // Repeated lines of one variant add up; the cart follows the language asked for.
        let (s, v) = put(
            &app,
            100,
            json!([{"variant_id": t, "quantity": 1}, {"variant_id": t, "quantity": 2}]),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["items"].as_array().unwrap().len(), 1);
        assert_eq!(v["items"][0]["quantity"], 3);
        assert_eq!(v["total"]["amount_minor"], price(&teapot) * 3);
        let (_, ru) = app
            .json(app.as_user(Method::GET, "/api/cart?lang=ru", 100))
            .await;
        assert_eq!(ru["items"][0]["title"], "Чайник");

        // Live prices: a price change shows up in the cart.
        sqlx::query("UPDATE variants SET price_minor = $1 WHERE id = $2")
            .bind(16_000_000i64)
            .bind(t)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        let v = get(&app, 100).await;
        assert_eq!(v["total"]["amount_minor"], 48_000_000);
    }
);

both!(quantity_zero_removes_a_line, |app: TestApp| async move {
    let t = app.variant_id("Teapot").await;
    let b = app.variant_id("Rishtan bowl").await;
    let (s, v) = put(
        &app,
        200,
        json!([{"variant_id": t, "quantity": 2}, {"variant_id": b, "quantity": 1}]),
    )
    .await;
    assert_eq!((s, v["items"].as_array().unwrap().len()), (200, 2));
    let (s, v) = put(
        &app,
        200,
        json!([{"variant_id": t, "quantity": 0}, {"variant_id": b, "quantity": 1}]),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let items = get(&app, 200).await["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1, "{items}");
    assert_eq!(items[0]["variant_id"], b);
    // All zero (or no lines) empties the cart.
    let (s, _) = put(&app, 200, json!([{"variant_id": b, "quantity": 0}])).await;
    assert_eq!(s, 200);
    let v = get(&app, 200).await;
    assert_eq!(v["items"], json!([]));
    assert!(v["total"].is_null());
    // Negative or absurd quantities are refused with the field named.
    for q in [-1, 1000] {
        let (s, v) = put(&app, 200, json!([{"variant_id": b, "quantity": q}])).await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(error_code(&v), "invalid_quantity");
        assert_eq!(v["error"]["field"], "items[0].quantity");
    }
});

both!(mixing_currencies_is_refused, |app: TestApp| async move {
    let t = app.variant_id("Teapot").await;
    let plov = app.variant_id("Plov recipe").await;
    let (s, _) = put(&app, 300, json!([{"variant_id": t, "quantity": 1}])).await;
    assert_eq!(s, 200);
    let (s, v) = put(
        &app,
        300,
        json!([{"variant_id": t, "quantity": 1}, {"variant_id": plov, "quantity": 1}]),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(error_code(&v), "mixed_currencies");
    // The refused update changed nothing.
    let cart = get(&app, 300).await;
    assert_eq!(cart["items"].as_array().unwrap().len(), 1);
    assert_eq!(cart["items"][0]["variant_id"], t);
    // One currency of either kind is fine.
    let stickers = app.variant_id("Sticker pack").await;
    let (s, v) = put(
        &app,
        300,
        json!([{"variant_id": plov, "quantity": 1}, {"variant_id": stickers, "quantity": 2}]),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["total"],
        json!({"amount_minor": 50 + 25 * 2, "currency": "XTR"})
    );
    // Each line says what kind of goods it is: digital ones need no delivery address.
    let kinds: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["kind"])
        .collect();
    assert_eq!(kinds, [&json!("digital"), &json!("digital")]);
});

both!(more_than_the_stock_is_409, |app: TestApp| async move {
    let suzani = app.variant("Suzani").await;
    let id = suzani["id"].as_i64().unwrap();
    let stock = suzani["stock"].as_i64().unwrap();
    let (s, v) = put(
        &app,
        400,
        json!([{"variant_id": id, "quantity": stock + 1}]),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert_envelope_json(&v);
    assert_eq!(get(&app, 400).await["items"], json!([]));
    // Exactly the stock fits.
    let (s, v) = put(&app, 400, json!([{"variant_id": id, "quantity": stock}])).await;
    assert_eq!(s, 200, "{v}");
    // A sold-out variant cannot be added at all.
    app.set_stock(id, Some(0)).await;
    let (s, v) = put(&app, 401, json!([{"variant_id": id, "quantity": 1}])).await;
    assert_eq!(s, 409, "{v}");
    // The line already in a cart stays, flagged as a problem.
    let cart = get(&app, 400).await;
    assert_eq!(cart["items"][0]["available"], false, "{cart}");
    assert!(cart["items"][0]["problem"].is_string(), "{cart}");
    // Unlimited stock takes any sane quantity.
    let apricots = app.variant_id("Dried apricots").await;
    let (s, v) = put(
        &app,
        402,
        json!([{"variant_id": apricots, "quantity": 999}]),
    )
    .await;
    assert_eq!(s, 200, "{v}");
});

fn assert_envelope_json(v: &Value) {
    assert!(
        v["error"]["code"].is_string() && v["error"]["message"].is_string(),
        "{v}"
    );
}

both!(unknown_variant_is_400, |app: TestApp| async move {
    let t = app.variant_id("Teapot").await;
    let (s, v) = put(&app, 500, json!([{"variant_id": 987654, "quantity": 1}])).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(error_code(&v), "unknown_variant");
    // Also when mixed with a real one; nothing is stored.
    let (s, _) = put(
        &app,
        500,
        json!([{"variant_id": t, "quantity": 1}, {"variant_id": 987654, "quantity": 1}]),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(get(&app, 500).await["items"], json!([]));
    // Without initData there is no cart.
    let r = app
        .raw(
            app.client
                .put(app.url("/api/cart"))
                .json(&json!({"items": []})),
        )
        .await;
    assert_envelope(&r, 401, Some("unauthorized"));
});

both!(payment_methods_follow_the_cart, |app: TestApp| async move {
    let t = app.variant_id("Teapot").await;
    let (s, v) = put(&app, 600, json!([{"variant_id": t, "quantity": 1}])).await;
    assert_eq!(s, 200);
    let methods: Vec<&str> = v["payment_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(
        methods.contains(&"cash"),
        "physical UZS goods can be paid in cash: {methods:?}"
    );

    let plov = app.variant_id("Plov recipe").await;
    let (s, v) = put(&app, 600, json!([{"variant_id": plov, "quantity": 1}])).await;
    assert_eq!(s, 200, "{v}");
    let methods: Vec<&str> = v["payment_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(
        !methods.contains(&"cash"),
        "Stars goods are not paid in cash: {methods:?}"
    );
    assert_eq!(
        get(&app, 600).await["payment_methods"],
        v["payment_methods"]
    );
});
