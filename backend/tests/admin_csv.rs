//! CSV export of orders and products, CSV import of products (all or nothing, every bad
//! row reported), and spreadsheet formula neutralisation.

mod common;
use common::*;
use reqwest::Method;
use serde_json::json;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses a CSV answer (BOM checked and stripped) into header + rows.
fn parse(body: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(body.starts_with(BOM), "no UTF-8 BOM");
    let mut r = csv::Reader::from_reader(&body[BOM.len()..]);
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn write(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

async fn export(app: &TestApp) -> Vec<u8> {
    let r = app.raw(app.get("/api/admin/products.csv")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        r.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment") && d.contains("products.csv")),
        "{:?}",
        r.headers
    );
    r.body
}

async fn import(app: &TestApp, csrf: &str, body: Vec<u8>) -> Raw {
    app.raw(
        app.admin(Method::POST, "/api/admin/products.csv", csrf)
            .header("content-type", "text/csv")
            .body(body),
    )
    .await
}

both!(
    csv_routes_need_a_session_and_csrf,
    |app: TestApp| async move {
        for path in ["/api/admin/products.csv", "/api/admin/orders.csv"] {
            let r = app.raw(app.get(path)).await;
            assert_envelope(&r, 401, Some("unauthorized"));
        }
        let r = app
            .raw(
                app.client
                    .post(app.url("/api/admin/products.csv"))
                    .body("x"),
            )
            .await;
        assert_envelope(&r, 401, Some("unauthorized"));
        let csrf = app.admin_login().await;
        let before = export(&app).await;
        let r = app
            .raw(
                app.client
                    .post(app.url("/api/admin/products.csv"))
                    .header("content-type", "text/csv")
                    .body(before.clone()),
            )
            .await;
        assert_envelope(&r, 403, Some("csrf_failed"));
        let r = import(&app, "wrong", before.clone()).await;
        assert_envelope(&r, 403, Some("csrf_failed"));
        assert!(!csrf.is_empty());
    }
);

both!(products_round_trip_and_import, |app: TestApp| async move {
    let csrf = app.admin_login().await;
    // A title a spreadsheet would run as a formula.
    let teapot = app.product("Teapot").await;
    let tid = teapot["id"].as_i64().unwrap();
    let (s, v) = app
        .json(
            app.admin(Method::PATCH, &format!("/api/admin/products/{tid}"), &csrf)
                .json(&json!({"title": {"ru": "=1+2"}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    let first = export(&app).await;
    let (header, rows) = parse(&first);
    assert_eq!(header[0], "product_id");
    assert!(header.contains(&"product_archived".to_string()));
    let n_variants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM variants")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(rows.len() as i64, n_variants);
    let trow = rows
        .iter()
        .find(|r| r[col(&header, "sku")] == "TEAPOT-01")
        .unwrap()
        .clone();
    assert_eq!(trow[col(&header, "price")], "150000.00");
    assert_eq!(trow[col(&header, "currency")], "UZS");
    assert_eq!(trow[col(&header, "stock")], "10");
    assert_eq!(trow[col(&header, "title_en")], "Teapot");
    assert_eq!(
        trow[col(&header, "title_ru")],
        "'=1+2",
        "formula neutralised"
    );

    // Export -> import changes nothing, and the next export is byte for byte the same.
    let r = import(&app, &csrf, first.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"created": 0, "updated": 0}));
    assert_eq!(export(&app).await, first);
    let (_, p) = app
        .json(app.get(&format!("/api/admin/products/{tid}")))
        .await;
    assert_eq!(p["texts"]["title"]["ru"], "=1+2");

    // An edit, a new variant on an existing product, and a new product of two rows.
    let mut edited = rows.clone();
    let ti = edited
        .iter()
        .position(|r| r[col(&header, "sku")] == "TEAPOT-01")
        .unwrap();
    edited[ti][col(&header, "price")] = "151000.5".into();
    let mut extra = trow.clone();
    extra[col(&header, "variant_id")] = String::new();
    extra[col(&header, "sku")] = "TEAPOT-02".into();
    extra[col(&header, "options")] = "colour=blue".into();
    extra[col(&header, "stock")] = String::new();
    edited.push(extra);
    let blank = |sku: &str, size: &str, price: &str| {
        let mut r = vec![String::new(); header.len()];
        r[col(&header, "kind")] = "physical".into();
        r[col(&header, "title_en")] = "Tablecloth".into();
        r[col(&header, "title_uz")] = "Dasturxon".into();
        r[col(&header, "sku")] = sku.into();
        r[col(&header, "options")] = format!("size={size}");
        r[col(&header, "price")] = price.into();
        r[col(&header, "currency")] = "UZS".into();
        r[col(&header, "stock")] = "3".into();
        r[col(&header, "vat_percent")] = "12".into();
        r
    };
    edited.push(blank("CLOTH-S", "S", "90000"));
    edited.push(blank("CLOTH-L", "L", "120000.00"));
    let r = import(&app, &csrf, write(&header, &edited)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"created": 3, "updated": 1}));
    let (_, p) = app
        .json(app.get(&format!("/api/admin/products/{tid}")))
        .await;
    assert_eq!(p["variants"][0]["price"]["amount_minor"], 15_100_050);
    assert_eq!(p["variants"][0]["stock"], 10);
    assert_eq!(p["variants"][1]["sku"], "TEAPOT-02");
    assert_eq!(p["variants"][1]["options"]["colour"], "blue");
    assert_eq!(p["variants"][1]["stock"], json!(null));
    let (_, list) = app.json(app.get("/api/admin/products?q=tablecloth")).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "two rows made one product: {list}");
    let cloth = &items[0];
    assert_eq!(cloth["texts"]["title"]["uz"], "Dasturxon");
    let skus: Vec<&str> = cloth["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["CLOTH-S", "CLOTH-L"]);
    assert_eq!(cloth["variants"][1]["price"]["amount_minor"], 12_000_000);
    let (_, detail) = app
        .json(app.get(&format!("/api/admin/products/{}", cloth["id"])))
        .await;
    assert_eq!(detail["vat_percent"], 12);

    // Multipart upload of the same (now current) export is also accepted and changes nothing.
    let current = export(&app).await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(current.clone()).file_name("products.csv"),
    );
    let r = app
        .raw(
            app.admin(Method::POST, "/api/admin/products.csv", &csrf)
                .multipart(form),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"created": 0, "updated": 0}));

    // A file over the app-wide 1 MiB body limit is accepted here (blank lines are skipped).
    let mut padded = current.clone();
    padded.extend(std::iter::repeat_n(b'\n', 1_200_000));
    let r = import(&app, &csrf, padded).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"created": 0, "updated": 0}));

    // The import is in the audit log.
    let (_, v) = app.json(app.get("/api/admin/audit?entity=product")).await;
    let imports: Vec<&serde_json::Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "import")
        .collect();
    assert_eq!(imports.len(), 4);
    assert_eq!(imports[2]["after"]["created"], 3);
    assert_eq!(imports[1]["admin_email"], "owner@shop.test");
});

both!(a_bad_row_changes_nothing, |app: TestApp| async move {
    let csrf = app.admin_login().await;
    let before = export(&app).await;
    let (header, rows) = parse(&before);
    let mut edited = rows.clone();
    // Line 2 (first data row): a good price change that must not be saved.
    edited[0][col(&header, "price")] = "1".into();
    // Line 3: a comma decimal. Line 4: an unknown kind and a duplicate SKU of line 2.
    edited[1][col(&header, "price")] = "12,5".into();
    edited[2][col(&header, "kind")] = "service".into();
    let dup = edited[0][col(&header, "sku")].clone();
    edited[2][col(&header, "sku")] = dup;
    // Line 5: a variant that does not exist.
    edited[3][col(&header, "variant_id")] = "999999".into();
    // Line 6: a currency outside the accepted list.
    edited[4][col(&header, "currency")] = "QQQ".into();
    let r = import(&app, &csrf, write(&header, &edited)).await;
    let v = assert_envelope(&r, 422, Some("invalid_csv"));
    let errs = v["error"]["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    let found = |line: u64, column: &str| {
        errs.iter().any(|e| {
            e["line"] == line && e["column"] == column && !e["message"].as_str().unwrap().is_empty()
        })
    };
    assert!(found(3, "price"), "{v}");
    assert!(found(4, "kind"), "{v}");
    assert!(found(5, "variant_id"), "{v}");
    assert!(found(6, "currency"), "{v}");
    assert!(errs.iter().all(|e| e["line"] != 2), "line 2 is fine: {v}");
    assert_eq!(export(&app).await, before, "nothing changed");

    // Duplicate SKUs across rows are found once the rows parse.
    let mut dup_rows = rows.clone();
    let s0 = dup_rows[0][col(&header, "sku")].clone();
    dup_rows[1][col(&header, "sku")] = s0;
    let r = import(&app, &csrf, write(&header, &dup_rows)).await;
    let v = assert_envelope(&r, 422, Some("invalid_csv"));
    assert!(
        v["error"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["line"] == 3 && e["column"] == "sku"),
        "{v}"
    );

    // A header without the needed columns is reported on line 1.
    let r = import(&app, &csrf, b"sku,price\nX,1\n".to_vec()).await;
    let v = assert_envelope(&r, 422, Some("invalid_csv"));
    assert_eq!(v["error"]["rows"][0]["line"], 1);
    assert_eq!(export(&app).await, before);
});

both!(orders_export_with_filters, |app: TestApp| async move {
    let csrf = app.admin_login().await;
    let vid = app.variant_id("Teapot").await;
    let (s, o1) = app
        .order(
            21,
            json!({
                "items": [{"variant_id": vid, "quantity": 2}],
                "payment_method": "cash",
                "contact": {"name": "=HYPERLINK(\"http://evil.test\")", "phone": "+998 90 123 45 67", "address": "@Tashkent"},
            }),
        )
        .await;
    assert_eq!(s, 201, "{o1}");
    let o2 = app.cash_order(22, vid, 1).await;
    let (s, _) = app
        .json(app.admin(
            Method::POST,
            &format!("/api/admin/orders/{}/cancel", o2["id"]),
            &csrf,
        ))
        .await;
    assert_eq!(s, 200);

    let r = app.raw(app.get("/api/admin/orders.csv")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(r
        .header("content-disposition")
        .unwrap()
        .contains("orders.csv"));
    let (header, rows) = parse(&r.body);
    assert_eq!(
        header,
        [
            "id",
            "created_at",
            "status",
            "payment_method",
            "total",
            "currency",
            "customer_id",
            "contact_name",
            "contact_phone",
            "contact_address",
            "items"
        ]
    );
    assert_eq!(rows.len(), 2);
    let id1 = o1["id"].as_i64().unwrap().to_string();
    let row = rows.iter().find(|r| r[0] == id1).unwrap();
    assert_eq!(row[2], "pending_payment");
    assert_eq!(row[3], "cash");
    assert_eq!(row[4], "300000.00");
    assert_eq!(row[5], "UZS");
    assert_eq!(row[6], "21");
    assert!(
        row[1].ends_with('Z') && row[1].contains('T'),
        "ISO-8601 UTC: {}",
        row[1]
    );
    assert_eq!(row[7], "'=HYPERLINK(\"http://evil.test\")");
    assert_eq!(row[8], "'+998 90 123 45 67");
    assert_eq!(row[9], "'@Tashkent");
    assert!(row[10].contains("2 x Teapot (TEAPOT-01)"), "{}", row[10]);

    let r = app
        .raw(app.get("/api/admin/orders.csv?status=cancelled"))
        .await;
    let (_, rows) = parse(&r.body);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], o2["id"].as_i64().unwrap().to_string());
    let r = app.raw(app.get("/api/admin/orders.csv?status=lost")).await;
    let v = assert_envelope(&r, 400, Some("invalid_status"));
    assert_eq!(v["error"]["field"], "status");
});

both!(
    crlf_files_report_the_lines_an_editor_shows,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let before = export(&app).await;
        let (header, rows) = parse(&before);
        // Written as a Windows spreadsheet does (CRLF), with a blank line after line 2:
        // the bad price is on line 4 of the file.
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(vec![]);
        w.write_record(&header).unwrap();
        w.write_record(&rows[0]).unwrap();
        let mut body = w.into_inner().unwrap();
        body.extend_from_slice(b"\r\n");
        let mut bad = rows[1].clone();
        bad[col(&header, "price")] = "12,5".into();
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(body);
        w.write_record(&bad).unwrap();
        let body = w.into_inner().unwrap();
        assert!(body.windows(4).any(|p| p == b"\r\n\r\n"));
        let r = import(&app, &csrf, body).await;
        let v = assert_envelope(&r, 422, Some("invalid_csv"));
        let errs = v["error"]["rows"].as_array().unwrap();
        assert_eq!(errs.len(), 1, "{v}");
        assert_eq!(errs[0]["line"], 4, "{v}");
        assert_eq!(errs[0]["column"], "price", "{v}");
        assert_eq!(export(&app).await, before, "nothing changed");
    }
);
