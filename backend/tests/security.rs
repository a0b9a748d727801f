//! What a stranger on the internet can make the shop do: who the client is behind a proxy,
//! per-client budgets, the dev door, security headers, catalog cursors, and what one customer's
//! orders and cart may hold.

mod common;
use common::*;
use serde_json::json;

/// `n` GETs of `path` as the client `xff` (sent as `X-Forwarded-For`, `None` = no header);
/// answers each status.
async fn hits(app: &TestApp, path: &str, xff: Option<&str>, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        let mut rb = app.get(path);
        if let Some(ip) = xff {
            rb = rb.header("X-Forwarded-For", ip);
        }
        out.push(app.raw(rb).await.status);
    }
    out
}

both_kinds!(
    behind_a_trusted_proxy_each_customer_has_a_bucket,
    |kind: Kind| async move {
        let Some(app) = spawn(
            kind,
            &[
                ("RATE_LIMIT_PER_MINUTE", "5"),
                ("TRUSTED_PROXIES", "127.0.0.1, ::1"),
            ],
        )
        .await
        else {
            return;
        };
        // Customer A spends its budget; the sixth request is refused with Retry-After.
        let a = hits(&app, "/api/categories", Some("198.51.100.1"), 5).await;
        assert!(a.iter().all(|s| *s == 200), "{a:?}");
        let mut rb = app.get("/api/categories");
        rb = rb.header("X-Forwarded-For", "198.51.100.1");
        let r = app.raw(rb).await;
        assert_envelope(&r, 429, Some("rate_limited"));
        assert!(r.header("retry-after").is_some());
        // Customer B, through the same proxy, is not affected.
        let b = hits(&app, "/api/categories", Some("198.51.100.2"), 5).await;
        assert!(b.iter().all(|s| *s == 200), "{b:?}");
        // A client cannot pick a fresh bucket by writing its own header in front of the
        // proxy's: the rightmost untrusted address decides.
        let r = app
            .raw(
                app.get("/api/categories")
                    .header("X-Forwarded-For", "203.0.113.99, 198.51.100.1"),
            )
            .await;
        assert_eq!(r.status, 429);
    }
);

both_kinds!(
    forwarding_headers_from_an_untrusted_peer_are_ignored,
    |kind: Kind| async move {
        let Some(app) = spawn(kind, &[("RATE_LIMIT_PER_MINUTE", "5")]).await else {
            return;
        };
        // No TRUSTED_PROXIES: every request is the TCP peer, whatever it claims.
        let mut statuses = Vec::new();
        for i in 0..6 {
            let ip = format!("198.51.100.{i}");
            statuses.extend(hits(&app, "/api/categories", Some(&ip), 1).await);
        }
        assert_eq!(statuses[..5], [200; 5]);
        assert_eq!(
            statuses[5], 429,
            "a forged header must not buy a new bucket"
        );
    }
);

both_kinds!(
    webhooks_and_return_routes_have_a_per_client_budget,
    |kind: Kind| async move {
        let Some(app) = spawn(kind, &[("RATE_LIMIT_PER_MINUTE", "5")]).await else {
            return;
        };
        // Generous (providers retry in bursts), but bounded: 1000 a minute per client, that
        // is a burst of 1000 and then one more every 60 ms.
        let start = std::time::Instant::now();
        let mut served = 0u64;
        let mut refused = None;
        while served < 5000 {
            let r = app
                .raw(
                    app.client
                        .post(app.url("/webhooks/click/prepare"))
                        .form(&[("click_trans_id", served.to_string())]),
                )
                .await;
            if r.status == 429 {
                refused = Some(r);
                break;
            }
            served += 1;
        }
        let refused = refused.expect("5000 webhook calls in a row were all served");
        assert!(refused.header("retry-after").is_some());
        let replenished = start.elapsed().as_millis() as u64 / 60 + 1;
        assert!(
            served >= 1000,
            "only {served} served: the budget is below 1000"
        );
        assert!(served <= 1000 + replenished, "{served} served");
        let r = app
            .raw(app.get("/payments/paypal/return?order=1&token=x"))
            .await;
        assert_envelope(&r, 429, Some("rate_limited"));
    }
);

both_kinds!(
    the_dev_door_is_for_direct_local_requests_only,
    |kind: Kind| async move {
        let Some(app) = spawn(
            kind,
            &[("TELEGRAM_BOT_TOKEN", ""), ("TRUSTED_PROXIES", "127.0.0.1")],
        )
        .await
        else {
            return;
        };
        let r = app.raw(app.get("/api/dev/init-data")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        // Through a proxy on this machine (loopback peer, forwarding headers) it is the
        // internet asking: refused, whether the proxy is trusted or not.
        for (h, v) in [
            ("X-Forwarded-For", "203.0.113.5"),
            ("Forwarded", "for=203.0.113.5"),
            ("X-Forwarded-For", "127.0.0.1"),
        ] {
            let r = app.raw(app.get("/api/dev/init-data").header(h, v)).await;
            assert_envelope(&r, 403, Some("loopback_only"));
        }
    }
);

both_kinds!(security_headers_on_every_answer, |kind: Kind| async move {
    let Some(app) = spawn(kind, &[]).await else {
        return;
    };
    for path in ["/", "/api/categories", "/api/nope", "/admin/"] {
        let r = app.raw(app.get(path)).await;
        let csp = r
            .header("content-security-policy")
            .unwrap_or("")
            .to_string();
        assert!(
            csp.contains("frame-ancestors https://web.telegram.org"),
            "{path}: {csp}"
        );
        let script_src = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap_or_else(|| panic!("{path}: no script-src in {csp}"));
        assert!(!script_src.contains('*'), "{path}: {script_src}");
        assert!(!csp.contains("'unsafe-eval'"), "{csp}");
        assert!(!script_src.contains("'unsafe-inline'"), "{script_src}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        // Plain http (a developer's machine): no HSTS, it would pin localhost to https.
        assert_eq!(r.header("strict-transport-security"), None);
    }
    let Some(public) = spawn(kind, &[("PUBLIC_URL", "https://shop.example.com")]).await else {
        return;
    };
    let r = public.raw(public.get("/api/categories")).await;
    assert!(r
        .header("strict-transport-security")
        .is_some_and(|v| v.starts_with("max-age=")));
});

#[tokio::test]
async fn inline_scripts_of_the_built_pages_are_allowed_by_hash_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("admin")).unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<script src=\"https://telegram.org/js/telegram-web-app.js\"></script>\
         <script type=\"module\">import init from \"/a.js\"; init();</script>",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("admin/index.html"),
        "<script type=\"module\">start()</script>",
    )
    .unwrap();
    let csp = shop::web::content_security_policy(dir.path());
    use base64::Engine;
    use sha2::Digest;
    for body in ["import init from \"/a.js\"; init();", "start()"] {
        let h = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body));
        assert!(csp.contains(&format!("'sha256-{h}'")), "{csp}");
    }
    assert_eq!(csp.matches("'sha256-").count(), 2, "{csp}");
}

both!(
    catalog_cursors_are_the_shops_own,
    |app: TestApp| async move {
        let (s, page) = app.json(app.get("/api/products?limit=2")).await;
        assert_eq!(s, 200, "{page}");
        let next = page["next_cursor"]
            .as_str()
            .expect("a second page")
            .to_string();
        let (s, page2) = app
            .json(app.get(&format!("/api/products?limit=2&cursor={next}")))
            .await;
        assert_eq!(s, 200, "{page2}");
        assert_ne!(page["items"][0]["id"], page2["items"][0]["id"]);

        let cached = app.state.catalog_cache.len();
        // Made-up cursors, including ones shaped like ours: refused, and never cached.
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let forged_id = b64.encode("id:3");
        let (_, sig) = next.split_once('.').unwrap();
        let mut bad = vec![
            forged_id.clone(),
            format!("{forged_id}.{sig}"),
            "garbage".to_string(),
            format!("{next}x"),
        ];
        for i in 0..50 {
            bad.push(b64.encode(format!("id:{i}")));
        }
        for c in bad {
            let r = app
                .raw(app.get(&format!("/api/products?limit=2&cursor={c}")))
                .await;
            let v = assert_envelope(&r, 400, Some("invalid_cursor"));
            assert_eq!(v["error"]["field"], "cursor");
        }
        assert_eq!(app.state.catalog_cache.len(), cached);
    }
);

#[test]
fn the_catalog_cache_is_bounded_by_bytes() {
    let cache = shop::catalog::Cache::new([7; 32], None);
    let body = vec![b'x'; 100 * 1024];
    for i in 0..400 {
        cache.put_for_test(format!("k{i}"), body.clone());
    }
    assert!(
        cache.bytes() <= shop::catalog::CACHE_BYTES,
        "{} bytes cached",
        cache.bytes()
    );
    // The most recent entries stay; the oldest went first.
    assert!(cache.len() >= shop::catalog::CACHE_BYTES / (110 * 1024));
    assert!(cache.contains_for_test("k399"));
    assert!(!cache.contains_for_test("k0"));
}

both!(
    one_customer_cannot_hold_the_stock_with_open_orders,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        app.set_stock(vid, Some(1000)).await;
        for _ in 0..shop::orders::MAX_OPEN_ORDERS {
            app.cash_order(41, vid, 1).await;
        }
        let (s, v) = app
            .order(
                41,
                json!({"items": [{"variant_id": vid, "quantity": 1}],
                       "payment_method": "cash", "contact": contact()}),
            )
            .await;
        assert_eq!((s, error_code(&v)), (429, "too_many_open_orders"), "{v}");
        // Another customer is not affected.
        app.cash_order(42, vid, 1).await;
        // The cap counts open orders only: once one is cancelled there is room again.
        let csrf = app.admin_login().await;
        let (s, orders) = app
            .json(app.as_user(reqwest::Method::GET, "/api/orders", 41))
            .await;
        assert_eq!(s, 200);
        let id = orders["items"][0]["id"].as_i64().unwrap();
        let (s, v) = app
            .json(app.admin(
                reqwest::Method::POST,
                &format!("/api/admin/orders/{id}/cancel"),
                &csrf,
            ))
            .await;
        assert_eq!(s, 200, "{v}");
        app.cash_order(41, vid, 1).await;
    }
);

both!(
    parallel_orders_cannot_overshoot_the_open_order_cap,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        app.set_stock(vid, Some(1000)).await;
        let tries = (shop::orders::MAX_OPEN_ORDERS + 6) as usize;
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..tries {
            set.spawn(app.cash_order_task(43, vid));
        }
        let mut created = 0;
        while let Some(s) = set.join_next().await {
            match s.unwrap() {
                201 => created += 1,
                429 => {}
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(created, shop::orders::MAX_OPEN_ORDERS);
    }
);

both!(contact_fields_have_a_size, |app: TestApp| async move {
    let vid = app.variant_id("Teapot").await;
    let ok = contact();
    for (field, max) in [
        ("name", shop::orders::MAX_NAME_CHARS),
        ("phone", shop::orders::MAX_PHONE_CHARS),
        ("address", shop::orders::MAX_ADDRESS_CHARS),
    ] {
        let mut c = ok.clone();
        let long = if field == "phone" {
            format!("+998{}90 123 45 67", " ".repeat(max))
        } else {
            "ы".repeat(max + 1)
        };
        c[field] = json!(long);
        let (s, v) = app
            .order(
                44,
                json!({"items": [{"variant_id": vid, "quantity": 1}],
                       "payment_method": "cash", "contact": c}),
            )
            .await;
        assert_eq!(s, 400, "{field}: {v}");
        assert_eq!(v["error"]["field"], format!("contact.{field}"), "{v}");
    }
    // At the limit it is fine (a long but real name).
    let mut c = ok.clone();
    c["name"] = json!("ы".repeat(shop::orders::MAX_NAME_CHARS));
    let (s, v) = app
        .order(
            44,
            json!({"items": [{"variant_id": vid, "quantity": 1}],
                   "payment_method": "cash", "contact": c}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
});

both!(
    the_cart_cap_holds_after_lines_merge,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        app.set_stock(vid, None).await;
        let (s, v) = app
            .json(
                app.as_user(reqwest::Method::PUT, "/api/cart", 45)
                    .json(&json!({
                        "items": [{"variant_id": vid, "quantity": 999},
                                  {"variant_id": vid, "quantity": 999}]
                    })),
            )
            .await;
        assert_eq!((s, error_code(&v)), (400, "invalid_quantity"), "{v}");
        let (s, v) = app
            .json(
                app.as_user(reqwest::Method::PUT, "/api/cart", 45)
                    .json(&json!({
                        "items": [{"variant_id": vid, "quantity": 500},
                                  {"variant_id": vid, "quantity": 499}]
                    })),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
);
