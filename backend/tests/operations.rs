//! Running the shop for real: metrics, request ids, log lines, `shop backup` and `shop check`.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

const SHOP: &str = env!("CARGO_BIN_EXE_shop");

both!(metrics_need_the_token, |app: TestApp| async move {
    // No METRICS_TOKEN: an API 404, never the storefront page.
    let r = app.raw(app.get("/metrics")).await;
    assert_envelope(&r, 404, Some("not_found"));
});

both_kinds!(
    metrics_count_requests_orders_and_the_pool,
    |kind: Kind| async move {
        let Some(app) = spawn(kind, &[("METRICS_TOKEN", "s3cret-metrics")]).await else {
            return;
        };
        let r = app.raw(app.get("/metrics")).await;
        assert_envelope(&r, 401, Some("unauthorized"));
        let r = app
            .raw(app.get("/metrics").header("Authorization", "Bearer wrong"))
            .await;
        assert_envelope(&r, 401, Some("unauthorized"));

        let vid = app.variant_id("Teapot").await;
        let (s, _) = app.json(app.get(&format!("/api/products/{}", 5))).await;
        assert_eq!(s, 200);
        app.cash_order(61, vid, 1).await;
        let r = app
            .raw(
                app.get("/metrics")
                    .header("Authorization", "Bearer s3cret-metrics"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r
            .header("content-type")
            .is_some_and(|v| v.starts_with("text/plain; version=0.0.4")));
        let text = r.text();
        // By route template, not by raw path.
        assert!(
        text.contains("shop_http_requests_total{route=\"/api/products/{id}\",method=\"GET\",status=\"200\"}"),
        "{text}"
    );
        assert!(!text.contains("route=\"/api/products/5\""));
        assert!(text.contains("shop_http_request_duration_seconds_bucket{route=\"/api/orders\""));
        assert!(
            text.contains("shop_orders_created_total{rail=\"cash\"}"),
            "{text}"
        );
        assert!(
            text.contains("shop_db_pool_connections{state=\"in_use\"}"),
            "{text}"
        );
        assert!(!text.contains("s3cret-metrics"));
    }
);

both!(every_answer_has_a_request_id, |app: TestApp| async move {
    let r = app.raw(app.get("/api/categories")).await;
    let id = r.header("x-request-id").expect("x-request-id").to_string();
    assert!(id.len() >= 8, "{id}");
    let r2 = app.raw(app.get("/api/nope")).await;
    assert_ne!(r2.header("x-request-id"), Some(id.as_str()));
    // A proxy's id is kept, so its logs and ours line up; junk is replaced.
    let r = app
        .raw(
            app.get("/api/categories")
                .header("X-Request-Id", "edge-42.a_b"),
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("edge-42.a_b"));
    let r = app
        .raw(
            app.get("/api/categories")
                .header("X-Request-Id", "x".repeat(200)),
        )
        .await;
    assert_ne!(r.header("x-request-id"), Some("x".repeat(200).as_str()));
});

/// A free local port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real binary serving on `port` from a fresh SQLite file in `dir`, nothing inherited from
/// the shop's variables, its output piped.
fn shop_command(dir: &std::path::Path, port: u16) -> Command {
    let mut cmd = Command::new(SHOP);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/shop.db", dir.display()),
        )
        .env("DIST_DIR", dir.join("dist"))
        .env("MEDIA_DIR", dir.join("media"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Starts the real binary with `env` (nothing inherited from the shop's variables), waits for
/// /healthz, calls `GET path` and stops it; answers everything it printed and the
/// request id of the answer.
async fn run_binary(env: &[(&str, &str)], path: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = shop_command(dir.path(), port);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start shop");
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut id = String::new();
    if up {
        let r = client.get(format!("{base}{path}")).send().await.unwrap();
        id = r
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        // Let the log line be written before the stop.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The request's log line is written by now; no need for a graceful stop.
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(up, "the shop did not start:\n{text}");
    (text, id)
}

#[tokio::test]
async fn logs_are_plain_off_a_terminal_and_carry_the_request_id() {
    let (text, id) = run_binary(&[], "/api/categories").await;
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in piped logs:\n{text}"
    );
    assert!(!id.is_empty());
    let line = text
        .lines()
        .find(|l| l.contains("/api/categories") && l.contains("status=200"))
        .unwrap_or_else(|| panic!("no request line:\n{text}"));
    assert!(line.contains(&id), "{line}");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let (text, id) = run_binary(&[("LOG_FORMAT", "json")], "/api/categories").await;
    let mut saw_request = false;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if v.to_string().contains(&id) && v["status"] == 200 {
            saw_request = true;
        }
    }
    assert!(saw_request, "no JSON request line with id {id}:\n{text}");
}

#[tokio::test]
async fn a_backup_taken_while_orders_arrive_has_every_acknowledged_order() {
    let Some(app) = spawn(Kind::Sqlite, &[]).await else {
        return;
    };
    let vid = app.variant_id("Teapot").await;
    app.set_stock(vid, None).await;
    // Orders acknowledged before the backup starts.
    let mut acknowledged = Vec::new();
    for user in 100..106 {
        acknowledged.push(app.cash_order(user, vid, 1).await["id"].as_i64().unwrap());
    }
    // More keep arriving while it runs.
    let writer = {
        let orders: Vec<_> = (200..230)
            .map(|user| app.cash_order_task(user, vid))
            .collect();
        tokio::spawn(async move {
            for order in orders {
                order.await;
            }
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("shop-backup.db");
    std::fs::write(&to, b"an older backup").unwrap();
    let url = app.state.config.database_url.clone();
    shop::cli::backup(&url, &to).await.expect("backup");
    writer.await.unwrap();
    // Nothing half-written is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, vec!["shop-backup.db".to_string()]);

    // A shop started on the copy has those orders, and the copy is a sound database.
    let copy = format!("sqlite://{}", to.display());
    let db = shop::db::Db::connect(&copy).await.expect("open backup");
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(ok, "ok");
    for id in acknowledged {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(n, 1, "order {id} missing from the backup");
    }
}

#[test]
fn backup_command_writes_sqlite_and_names_pg_dump_for_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    // A database the server made (migrated), then the command copies it.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        shop::db::Db::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
    });
    let to = dir.path().join("copy.db");
    let out = Command::new(SHOP)
        .args(["backup", to.to_str().unwrap()])
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::metadata(&to).unwrap().len() > 0);

    let out = Command::new(SHOP)
        .args(["backup", to.to_str().unwrap()])
        .env_clear()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));

    // A missing source is an error, not a new empty database.
    let out = Command::new(SHOP)
        .args(["backup", dir.path().join("x.db").to_str().unwrap()])
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/none.db", dir.path().display()),
        )
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!dir.path().join("none.db").exists());
}

#[test]
fn check_prints_what_is_enabled_and_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let run = |env: &[(&str, &str)]| {
        let mut cmd = Command::new(SHOP);
        cmd.arg("check")
            .env_clear()
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/shop.db", dir.path().display()),
            )
            .env("DIST_DIR", dir.path().join("dist"))
            .current_dir(dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    // Dev mode on an https URL: refused, naming the variable; nothing started.
    let (code, text) = run(&[("PUBLIC_URL", "https://shop.example.com")]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("TELEGRAM_BOT_TOKEN"), "{text}");

    // A live-looking setup with a test key and no built frontend: both named.
    let (code, text) = run(&[
        ("PUBLIC_URL", "https://shop.example.com"),
        ("TELEGRAM_BOT_TOKEN", "123:abc"),
        ("TELEGRAM_WEBHOOK_SECRET", "hook"),
        ("STRIPE_SECRET_KEY", "sk_test_x"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("webhook at https://shop.example.com/webhooks/telegram"),
        "{text}"
    );
    assert!(text.contains("stripe"), "{text}");
    assert!(text.contains("STRIPE_SECRET_KEY"), "{text}");
    assert!(text.contains("DIST_DIR"), "{text}");
    assert!(!text.contains("sk_test_x"), "a secret was printed:\n{text}");

    // Everything in order: exit 0.
    std::fs::create_dir_all(dir.path().join("dist")).unwrap();
    std::fs::write(dir.path().join("dist/index.html"), "<!doctype html>").unwrap();
    let (code, text) = run(&[
        ("PUBLIC_URL", "https://shop.example.com"),
        ("TELEGRAM_BOT_TOKEN", "123:abc"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("no problems found"), "{text}");
    assert!(text.contains("cash, stars"), "{text}");

    // YooKassa: whether its notifications' source is checked, and against which networks.
    let yookassa = [
        ("PUBLIC_URL", "https://shop.example.com"),
        ("TELEGRAM_BOT_TOKEN", "123:abc"),
        ("YOOKASSA_SHOP_ID", "1"),
        ("YOOKASSA_SECRET_KEY", "live_k"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
    ];
    let (code, text) = run(&yookassa);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("notifications from any address"), "{text}");
    let mut on = yookassa.to_vec();
    on.push(("YOOKASSA_CHECK_SOURCE", "1"));
    let (code, text) = run(&on);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("notifications only from 185.71.76.0/27, 185.71.77.0/27, 77.75.153.0/25"),
        "{text}"
    );
    on.push(("YOOKASSA_ALLOWED_SOURCES", "203.0.113.0/24"));
    let (_, text) = run(&on);
    assert!(
        text.contains("notifications only from 203.0.113.0/24 (YOOKASSA_CHECK_SOURCE)"),
        "{text}"
    );
    // On, behind https with no TRUSTED_PROXIES: a problem that names both variables.
    let (code, text) = run(&on[..on.len() - 1]
        .iter()
        .copied()
        .filter(|(k, _)| *k != "TRUSTED_PROXIES")
        .collect::<Vec<_>>());
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("YOOKASSA_CHECK_SOURCE is on but TRUSTED_PROXIES is not set"),
        "{text}"
    );
}

#[tokio::test]
async fn a_stop_finishes_the_requests_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = shop_command(dir.path(), port).spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A provider's notification whose body is still arriving when the stop comes.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let req = tokio::spawn({
        let client = client.clone();
        let url = format!("{base}/webhooks/click/prepare");
        async move {
            client
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
        }
    });
    tx.send(Ok(b"click_trans_id=1&service_id=".to_vec()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // SAFETY: a plain signal to the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(Ok(b"1&action=0".to_vec())).await.unwrap();
    drop(tx);
    let res = req
        .await
        .unwrap()
        .expect("the request in flight was answered");
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = res.json().await.unwrap();
    assert!(v["error"].is_i64(), "{v}");
    // And then the process ends by itself, cleanly.
    let mut exited = None;
    for _ in 0..200 {
        if let Some(st) = child.try_wait().unwrap() {
            exited = Some(st);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let st = exited.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("the shop did not stop after SIGTERM")
    });
    assert!(st.success(), "{st:?}");
    // New connections are refused once it stopped.
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());
}

/// A receiver as a byte stream for a request body.
fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
