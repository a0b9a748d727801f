//! Per-IP request budget on `/api/*` (RATE_LIMIT_PER_MINUTE).
mod common;
use common::*;

both_with!(
    fourth_api_request_in_a_minute_is_429,
    &[("RATE_LIMIT_PER_MINUTE", "3")],
    |app: TestApp| async move {
        for i in 0..3 {
            let (s, v) = app.json(app.get("/api/categories")).await;
            assert_eq!(s, 200, "request {i}: {v}");
        }
        let r = app.raw(app.get("/api/categories")).await;
        assert_envelope(&r, 429, Some("rate_limited"));
        let retry: u64 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("Retry-After in whole seconds");
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));

        // The budget is per client, across all of /api: other API routes are limited too.
        let r = app.raw(app.get("/api/products")).await;
        assert_envelope(&r, 429, Some("rate_limited"));
        let r = app
            .raw(app.as_user(reqwest::Method::GET, "/api/me", 5))
            .await;
        assert_envelope(&r, 429, Some("rate_limited"));

        // Probes are never limited.
        for _ in 0..10 {
            let (s, v) = app.json(app.get("/healthz")).await;
            assert_eq!(s, 200, "{v}");
        }
        let (s, _) = app.json(app.get("/readyz")).await;
        assert_eq!(s, 200);
    }
);

both_with!(
    zero_turns_limiting_off,
    &[("RATE_LIMIT_PER_MINUTE", "0")],
    |app: TestApp| async move {
        for i in 0..30 {
            let (s, _) = app.json(app.get("/api/categories")).await;
            assert_eq!(s, 200, "request {i}");
        }
    }
);

both_with!(
    healthz_is_not_limited_before_the_api_is,
    &[("RATE_LIMIT_PER_MINUTE", "2")],
    |app: TestApp| async move {
        // Probes do not use up the API budget either.
        for _ in 0..10 {
            let (s, _) = app.json(app.get("/healthz")).await;
            assert_eq!(s, 200);
        }
        for i in 0..2 {
            let (s, v) = app.json(app.get("/api/categories")).await;
            assert_eq!(s, 200, "request {i}: {v}");
        }
        let r = app.raw(app.get("/api/categories")).await;
        assert_envelope(&r, 429, Some("rate_limited"));
    }
);
