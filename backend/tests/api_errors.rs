//! The error envelope: every rejected request, whatever rejected it (router, extractor,
//! body limit, handler), answers `{"error":{"code","message"}}` with a JSON content type.
mod common;
use common::*;
use reqwest::Method;
use serde_json::json;

both!(unknown_api_route_is_a_json_404, |app: TestApp| async move {
    for path in [
        "/api/nope",
        "/api/products/1/nope",
        "/api",
        "/webhooks/nope",
    ] {
        let r = app.raw(app.get(path)).await;
        assert_envelope(&r, 404, Some("not_found"));
    }
    // Also for other methods on unknown routes.
    let r = app
        .raw(app.client.post(app.url("/api/nope")).json(&json!({})))
        .await;
    assert_envelope(&r, 404, Some("not_found"));
});

both!(wrong_method_is_a_json_405, |app: TestApp| async move {
    let r = app.raw(app.client.delete(app.url("/api/products"))).await;
    assert_envelope(&r, 405, Some("method_not_allowed"));
    let allow = r.header("allow").unwrap_or_default().to_ascii_uppercase();
    assert!(
        allow.contains("GET"),
        "Allow should name GET, got {allow:?}"
    );

    let r = app.raw(app.as_user(Method::PATCH, "/api/cart", 1)).await;
    assert_envelope(&r, 405, Some("method_not_allowed"));
    let r = app.raw(app.client.put(app.url("/api/categories"))).await;
    assert_envelope(&r, 405, Some("method_not_allowed"));
});

both!(
    json_body_over_one_mib_is_a_json_413,
    |app: TestApp| async move {
        // Valid JSON, so only its size can be the problem.
        let big = format!(
            r#"{{"items": [], "pad": "{}"}}"#,
            "x".repeat(1024 * 1024 + 100)
        );
        let r = app
            .raw(
                app.as_user(Method::PUT, "/api/cart", 7)
                    .header("content-type", "application/json")
                    .body(big),
            )
            .await;
        assert_envelope(&r, 413, Some("payload_too_large"));

        // Just under the limit the same body is accepted: the limit is 1 MiB, not less.
        let fits = format!(
            r#"{{"items": [], "pad": "{}"}}"#,
            "x".repeat(1024 * 1024 - 200)
        );
        let (s, v) = app
            .json(
                app.as_user(Method::PUT, "/api/cart", 7)
                    .header("content-type", "application/json")
                    .body(fits),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["items"], json!([]));
    }
);

both!(malformed_json_is_a_json_400, |app: TestApp| async move {
    for body in [
        r#"{"items": ["#,
        "not json",
        r#"{"items": [{"variant_id": 1, "quantity": 1}]"#,
    ] {
        let r = app
            .raw(
                app.as_user(Method::PUT, "/api/cart", 7)
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        assert_envelope(&r, 400, Some("invalid_json"));
    }
    let r = app
        .raw(
            app.as_user(Method::POST, "/api/orders", 7)
                .header("content-type", "application/json")
                .body("{,}"),
        )
        .await;
    assert_envelope(&r, 400, Some("invalid_json"));

    // Well-formed JSON of the wrong shape is a 400 too (not axum's bare 422).
    let r = app
        .raw(
            app.as_user(Method::PUT, "/api/cart", 7)
                .json(&json!({"items": "many"})),
        )
        .await;
    let v = assert_envelope(&r, 400, None);
    assert_ne!(v["error"]["code"], "invalid_json");

    // A body that is not declared as JSON.
    let r = app
        .raw(
            app.as_user(Method::PUT, "/api/cart", 7)
                .header("content-type", "text/plain")
                .body(r#"{"items": []}"#),
        )
        .await;
    assert_envelope(&r, 415, Some("unsupported_media_type"));
});

both!(
    non_numeric_path_id_is_a_json_400,
    |app: TestApp| async move {
        let r = app.raw(app.get("/api/products/abc")).await;
        assert_envelope(&r, 400, Some("invalid_path"));
        let r = app.raw(app.get("/api/products/1.5")).await;
        assert_envelope(&r, 400, Some("invalid_path"));
        let r = app
            .raw(app.as_user(Method::GET, "/api/orders/abc", 7))
            .await;
        assert_envelope(&r, 400, Some("invalid_path"));
    }
);

both!(
    missing_or_wrong_authorization_is_a_json_401,
    |app: TestApp| async move {
        for path in ["/api/me", "/api/cart", "/api/orders"] {
            let r = app.raw(app.get(path)).await;
            assert_envelope(&r, 401, Some("unauthorized"));
        }
        let r = app
            .raw(app.get("/api/me").header("Authorization", "tma "))
            .await;
        assert_envelope(&r, 401, Some("unauthorized"));
        let r = app
            .raw(
                app.client
                    .post(app.url("/api/orders"))
                    .json(&json!({"payment_method": "cash"})),
            )
            .await;
        assert_envelope(&r, 401, Some("unauthorized"));
    }
);

both!(bad_cursor_is_a_json_400, |app: TestApp| async move {
    // Not base64, base64 of something else, and a cursor of the wrong form.
    use base64::Engine;
    let foreign = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("nope:5");
    let not_a_number = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("id:five");
    for c in ["!!!", "%%%", foreign.as_str(), not_a_number.as_str()] {
        let r = app
            .raw(app.get("/api/products").query(&[("cursor", c)]))
            .await;
        let v = assert_envelope(&r, 400, Some("invalid_cursor"));
        assert_eq!(v["error"]["field"], "cursor");
    }
    let r = app
        .raw(app.as_user(Method::GET, "/api/orders?cursor=!!!", 7))
        .await;
    assert_envelope(&r, 400, Some("invalid_cursor"));
});

both!(
    limit_out_of_range_is_a_json_400,
    |app: TestApp| async move {
        for l in ["0", "1000", "-1", "abc", "101"] {
            let r = app.raw(app.get(&format!("/api/products?limit={l}"))).await;
            let v = assert_envelope(&r, 400, Some("invalid_limit"));
            assert_eq!(v["error"]["field"], "limit", "limit={l}");
        }
        // The edges of the range are fine.
        for l in ["1", "100"] {
            let (s, v) = app.json(app.get(&format!("/api/products?limit={l}"))).await;
            assert_eq!(s, 200, "limit={l}: {v}");
        }
        let r = app.raw(app.get("/api/products?category=shoes")).await;
        assert_envelope(&r, 400, Some("invalid_category"));
    }
);

both!(
    security_headers_are_on_every_answer,
    |app: TestApp| async move {
        let answers = [
            app.raw(app.get("/healthz")).await,
            app.raw(app.get("/api/categories")).await,
            app.raw(app.get("/api/nope")).await,
            app.raw(app.get("/api/me")).await,
            app.raw(app.client.delete(app.url("/api/products"))).await,
            app.raw(app.get("/")).await,
        ];
        for r in &answers {
            assert_eq!(
                r.header("x-content-type-options"),
                Some("nosniff"),
                "nosniff missing on a {} answer",
                r.status
            );
            assert!(
                r.header("referrer-policy").is_some(),
                "no Referrer-Policy on a {}",
                r.status
            );
        }
        // Successful JSON answers declare JSON too.
        assert!(answers[1]
            .header("content-type")
            .unwrap_or("")
            .starts_with("application/json"));
    }
);

both!(errors_do_not_leak_internals, |app: TestApp| async move {
    // A handful of failures: none mentions SQL, the database or the bot token.
    let rs = [
        app.raw(app.get("/api/products/abc")).await,
        app.raw(app.get("/api/products/99999999")).await,
        app.raw(app.get("/api/products?cursor=!!")).await,
        app.raw(app.get("/api/me").header("Authorization", "tma hash=00"))
            .await,
        app.raw(
            app.as_user(Method::PUT, "/api/cart", 7)
                .json(&json!({"items": [{"variant_id": 99999, "quantity": 1}]})),
        )
        .await,
    ];
    for r in &rs {
        let t = r.text().to_lowercase();
        for bad in [
            "select ",
            "sqlx",
            "postgres",
            "sqlite",
            "TEST-token",
            "panicked",
        ] {
            assert!(!t.contains(&bad.to_lowercase()), "{bad:?} leaked in {t}");
        }
    }
});

/// Client text with a NUL byte (a search query, a Telegram name) is still just text: never a
/// 500. PostgreSQL refuses NUL in TEXT, so it must be rejected or stripped before it gets there.
async fn nul_bytes_are_not_a_500(app: TestApp) {
    for q in ["\0", "tea\0pot", "zz\0"] {
        let r = app.raw(app.get("/api/products").query(&[("q", q)])).await;
        assert!(
            r.status == 200 || r.status == 400,
            "q={q:?} -> {} {}",
            r.status,
            r.text()
        );
    }
    let user = json!({"id": 77, "first_name": "A\u{0}B", "language_code": "en"}).to_string();
    let now = now().to_string();
    let raw = shop::auth::init_data::sign_hmac(
        BOT_TOKEN,
        &[("auth_date", now.as_str()), ("user", user.as_str())],
    );
    let r = app
        .raw(
            app.get("/api/me")
                .header("Authorization", format!("tma {raw}")),
        )
        .await;
    assert!(
        r.status < 500,
        "NUL in a signed name -> {} {}",
        r.status,
        r.text()
    );
}

mod nul_bytes_in_client_text_are_not_a_500 {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        if let Some(app) = spawn(Kind::Sqlite, &[]).await {
            nul_bytes_are_not_a_500(app).await;
        }
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        if let Some(app) = spawn(Kind::Postgres, &[]).await {
            nul_bytes_are_not_a_500(app).await;
        }
    }
}

both_with!(
    a_request_that_never_finishes_gets_a_json_408,
    &[("REQUEST_TIMEOUT_SECS", "1")],
    |app: TestApp| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Headers promise a body that never comes.
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let head = format!(
            "PUT /api/cart HTTP/1.1\r\nHost: shop\r\nAuthorization: tma {}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{",
            init_data(7)
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let started = std::time::Instant::now();
        let mut buf = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut buf))
            .await
            .expect("the server answers within its timeout")
            .unwrap();
        let text = String::from_utf8_lossy(&buf);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(started.elapsed() >= std::time::Duration::from_millis(900));
        let lower = text.to_ascii_lowercase();
        assert!(lower.contains("content-type: application/json"), "{text}");
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
        let v: serde_json::Value =
            serde_json::from_str(body.trim()).unwrap_or_else(|_| panic!("{text}"));
        assert_eq!(v["error"]["code"], "timeout", "{v}");
    }
);

/// Every rail and upload configured, so the malformed inputs below reach each parser.
const ALL_PARSERS: &[(&str, &str)] = &[
    ("CLICK_SERVICE_ID", "40001"),
    ("CLICK_MERCHANT_ID", "30001"),
    ("CLICK_SECRET_KEY", "click-test-secret"),
    ("PAYME_MERCHANT_ID", "5e730e8e0b852a417aa49ceb"),
    ("PAYME_KEY", "payme-test-key"),
    ("PAYME_CHECKOUT_URL", "https://checkout.test.paycom.uz"),
    ("STRIPE_SECRET_KEY", "sk_test_malformed"),
    ("STRIPE_WEBHOOK_SECRET", "whsec_malformed"),
    ("STRIPE_API_URL", "http://127.0.0.1:9"),
    ("YOOKASSA_SHOP_ID", "506751"),
    ("YOOKASSA_SECRET_KEY", "test_malformed"),
    ("YOOKASSA_API_URL", "http://127.0.0.1:9"),
];

// The fuzzed parsers (fuzz/README.md) behind their routes: malformed bytes get a 4xx with the
// envelope (Click and Payme: their own 200 error answers, as their protocols require), never
// a 5xx. The Stripe header with an overflowing timestamp was a 500 (a panic) before.
both_with!(
    malformed_outside_input_is_never_a_5xx,
    ALL_PARSERS,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let pid = app.products().await[0]["id"].as_i64().unwrap();
        let bodies: &[&[u8]] = &[
            b"",
            b"\0\xff\xfe",
            b"{",
            b"[]",
            b"null",
            br#"{"id":1,"method":"CreateTransaction","params":{"amount":1e400}}"#,
            b"a=1&a=2&amount=%FF",
            b"\xef\xbb\xbfproduct_id,\"x\n\"\"",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xff\xff\xff\xff\xff\xff\xff",
            b"\xff\xd8\xff\xe0\0\x10JFIF",
        ];
        let client_error = |what: &str, r: &Raw| {
            assert!(
                (400..500).contains(&r.status),
                "{what}: {} {}",
                r.status,
                r.text()
            );
            assert!(
                r.json()["error"]["code"].is_string(),
                "{what}: {}",
                r.text()
            );
        };
        for (i, body) in bodies.iter().enumerate() {
            for sig in [
                "t=-9223372036854775808,v1=00",
                "t=9223372036854775807,v1=00",
                "t=1,v1=zz,v1=",
                ",,=,",
            ] {
                let r = app
                    .raw(
                        app.client
                            .post(app.url("/webhooks/stripe"))
                            .header("Stripe-Signature", sig)
                            .body(body.to_vec()),
                    )
                    .await;
                client_error(&format!("stripe {i} {sig}"), &r);
            }
            let r = app
                .raw(
                    app.client
                        .post(app.url("/webhooks/yookassa"))
                        .body(body.to_vec()),
                )
                .await;
            client_error(&format!("yookassa {i}"), &r);
            let mut paypal = app.client.post(app.url("/webhooks/paypal"));
            for h in [
                "paypal-auth-algo",
                "paypal-cert-url",
                "paypal-transmission-id",
                "paypal-transmission-sig",
                "paypal-transmission-time",
            ] {
                paypal = paypal.header(h, "x");
            }
            client_error(
                &format!("paypal {i}"),
                &app.raw(paypal.body(body.to_vec())).await,
            );
            for stage in ["prepare", "complete"] {
                let r = app
                    .raw(
                        app.client
                            .post(app.url(&format!("/webhooks/click/{stage}")))
                            .header("content-type", "application/x-www-form-urlencoded")
                            .body(body.to_vec()),
                    )
                    .await;
                assert_eq!(r.status, 200, "click {stage} {i}: {}", r.text());
                assert!(r.json()["error"].as_i64().unwrap() < 0, "{}", r.text());
            }
            let basic = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                "Paycom:payme-test-key",
            );
            let r = app
                .raw(
                    app.client
                        .post(app.url("/webhooks/payme"))
                        .header("Authorization", format!("Basic {basic}"))
                        .body(body.to_vec()),
                )
                .await;
            assert_eq!(r.status, 200, "payme {i}: {}", r.text());
            assert!(r.json()["error"]["code"].is_i64(), "{}", r.text());
            let r = app
                .raw(
                    app.admin(Method::POST, "/api/admin/products.csv", &csrf)
                        .header("content-type", "text/csv")
                        .body(body.to_vec()),
                )
                .await;
            client_error(&format!("csv {i}"), &r);
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(body.to_vec()).file_name("x.png"),
            );
            let r = app
                .raw(
                    app.admin(
                        Method::POST,
                        &format!("/api/admin/products/{pid}/images"),
                        &csrf,
                    )
                    .multipart(form),
                )
                .await;
            client_error(&format!("image {i}"), &r);
            let cursor = String::from_utf8_lossy(body).to_string();
            let r = app
                .raw(app.get("/api/products").query(&[("cursor", cursor)]))
                .await;
            // An empty cursor is no cursor (200); anything else is not one the API gave out.
            if body.is_empty() {
                assert_eq!(r.status, 200, "{}", r.text());
            } else {
                client_error(&format!("cursor {i}"), &r);
            }
        }
    }
);
