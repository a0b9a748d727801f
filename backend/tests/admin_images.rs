//! Product images: upload checked by content, resized and stored under names sharing the
//! upload's hash (so one URL leads to every width), served with immutable cache headers;
//! reorder and remove.

mod common;
use common::*;
use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// A real photo-like JPEG of `w` x `h` pixels (a gradient, so it is not trivially small).
fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = vec![];
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg)
        .unwrap();
    out
}

/// A PNG with transparency.
fn png(w: u32, h: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(w, h, |x, _| Rgba([200, 50, 50, (x % 256) as u8]));
    let mut out = vec![];
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

/// The name every width of an upload shares: the first 16 hex digits of its SHA-256.
fn upload_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))[..16].to_string()
}

/// Checks that every listed width is named `/media/<hash>-<width>.<ext>` and is served, as the
/// right type and size, with the immutable cache header.
async fn assert_widths(app: &TestApp, up: &serde_json::Value, hash: &str, ext: &str, mime: &str) {
    for w in up["widths"].as_array().unwrap() {
        let width = w["width"].as_u64().unwrap();
        let url = w["url"].as_str().unwrap();
        assert_eq!(url, format!("/media/{hash}-{width}.{ext}"));
        let r = app.raw(app.get(url)).await;
        assert_eq!(r.status, 200, "{url}");
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{url}"
        );
        assert_eq!(r.header("content-type"), Some(mime), "{url}");
        let img = image::load_from_memory(&r.body).unwrap();
        assert_eq!(img.width() as u64, width, "{url}");
    }
}

fn form(bytes: Vec<u8>, name: &str, mime: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str(mime)
            .unwrap(),
    )
}

both!(
    images_are_checked_resized_and_served,
    |app: TestApp| async move {
        let pid = app.product("Teapot").await["id"].as_i64().unwrap();
        let path = format!("/api/admin/products/{pid}/images");
        let r = app
            .raw(app.client.post(app.url(&path)).multipart(form(
                jpeg(50, 50),
                "a.jpg",
                "image/jpeg",
            )))
            .await;
        assert_envelope(&r, 401, Some("unauthorized"));
        let csrf = app.admin_login().await;
        let r = app
            .raw(app.client.post(app.url(&path)).multipart(form(
                jpeg(50, 50),
                "a.jpg",
                "image/jpeg",
            )))
            .await;
        assert_envelope(&r, 403, Some("csrf_failed"));
        let r = app
            .raw(app.admin(Method::POST, &path, "bad").multipart(form(
                jpeg(50, 50),
                "a.jpg",
                "image/jpeg",
            )))
            .await;
        assert_envelope(&r, 403, Some("csrf_failed"));
        let images_before = app.product("Teapot").await["images"].clone();

        // HTML and SVG named .png are refused by content, naming the accepted types.
        for (bytes, name) in [
            (
                b"<!doctype html><script>alert(1)</script>".to_vec(),
                "x.png",
            ),
            (
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"
                    .to_vec(),
                "x.svg",
            ),
        ] {
            let r = app
                .raw(app.admin(Method::POST, &path, &csrf).multipart(form(
                    bytes,
                    name,
                    "image/png",
                )))
                .await;
            let v = assert_envelope(&r, 415, Some("unsupported_image"));
            let m = v["error"]["message"].as_str().unwrap();
            assert!(
                m.contains("PNG") && m.contains("JPEG") && m.contains("WebP"),
                "{m}"
            );
        }
        // A PNG header with garbage after it cannot be decoded.
        let mut broken = png(10, 10);
        broken.truncate(40);
        let r = app
            .raw(app.admin(Method::POST, &path, &csrf).multipart(form(
                broken,
                "b.png",
                "image/png",
            )))
            .await;
        let v = assert_envelope(&r, 422, Some("invalid_image"));
        assert_eq!(v["error"]["field"], "file");
        // No file field.
        let r = app
            .raw(
                app.admin(Method::POST, &path, &csrf)
                    .multipart(reqwest::multipart::Form::new().text("other", "x")),
            )
            .await;
        let v = assert_envelope(&r, 400, Some("file_required"));
        assert_eq!(v["error"]["field"], "file");
        // One byte over the size limit: a clear 413. (Far larger bodies hit the route's body
        // limit, where the server answers 413 before reading it all and drops the connection;
        // a client still writing then sees a broken pipe, which makes no stable test.)
        let r = app
            .raw(app.admin(Method::POST, &path, &csrf).multipart(form(
                vec![0u8; 8 * 1024 * 1024 + 1],
                "big.jpg",
                "image/jpeg",
            )))
            .await;
        assert_envelope(&r, 413, Some("image_too_large"));
        assert_eq!(app.product("Teapot").await["images"], images_before);

        // A 1500 px JPEG: stored at 320, 640 and 1280 (never the original size), main = 1280,
        // all three named by the hash of the uploaded bytes.
        let photo = jpeg(1500, 1000);
        let r = app
            .raw(app.admin(Method::POST, &path, &csrf).multipart(form(
                photo.clone(),
                "photo.png",
                "image/png",
            )))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let up = r.json();
        let widths: Vec<u64> = up["widths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["width"].as_u64().unwrap())
            .collect();
        assert_eq!(widths, [320, 640, 1280]);
        let main = up["url"].as_str().unwrap().to_string();
        let hash = upload_hash(&photo);
        assert_eq!(main, format!("/media/{hash}-1280.jpg"));
        assert_eq!(main, up["widths"][2]["url"].as_str().unwrap());
        assert_widths(&app, &up, &hash, "jpg", "image/jpeg").await;
        for w in up["widths"].as_array().unwrap() {
            let r = app.raw(app.get(w["url"].as_str().unwrap())).await;
            let img = image::load_from_memory(&r.body).unwrap();
            assert_eq!(
                img.height() as u64,
                w["width"].as_u64().unwrap() * 1000 / 1500
            );
        }
        // The same upload again gives the same names (and the product lists it once).
        let r = app
            .raw(app.admin(Method::POST, &path, &csrf).multipart(form(
                photo.clone(),
                "again.jpg",
                "image/jpeg",
            )))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["widths"], up["widths"]);
        // A small PNG with transparency is not upscaled and stays PNG.
        let small = png(400, 200);
        let r = app
            .raw(app.admin(Method::POST, &path, &csrf).multipart(form(
                small.clone(),
                "t.png",
                "image/png",
            )))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let up2 = r.json();
        let widths: Vec<u64> = up2["widths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["width"].as_u64().unwrap())
            .collect();
        assert_eq!(widths, [320, 400]);
        let main2 = up2["url"].as_str().unwrap().to_string();
        let hash2 = upload_hash(&small);
        assert_ne!(hash2, hash);
        assert_eq!(main2, format!("/media/{hash2}-400.png"));
        assert_widths(&app, &up2, &hash2, "png", "image/png").await;
        let r = app.raw(app.get(&main2)).await;
        assert!(image::load_from_memory(&r.body)
            .unwrap()
            .color()
            .has_alpha());

        // A photo over the app-wide 1 MiB body limit is accepted here: the limit is raised for
        // this route (noise does not compress, so this JPEG is several MiB).
        let mut seed = 0x2545_f491_u32;
        let noisy = RgbImage::from_fn(1600, 1200, |_, _| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let b = seed.to_le_bytes();
            Rgb([b[0], b[1], b[2]])
        });
        let mut big = vec![];
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut big, 95)
            .encode_image(&noisy)
            .unwrap();
        assert!(big.len() > 2 * 1024 * 1024, "{} bytes", big.len());
        assert!(big.len() < 8 * 1024 * 1024, "{} bytes", big.len());
        let r = app
            .raw(app.admin(Method::POST, &path, &csrf).multipart(form(
                big,
                "big.jpg",
                "image/jpeg",
            )))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let big_url = r.json()["url"].as_str().unwrap().to_string();

        // WebP is accepted too (re-encoded like the others); a JSON body is a clear 400.
        let mut webp = vec![];
        RgbImage::from_fn(64, 32, |x, y| Rgb([x as u8, y as u8, 0]))
            .write_to(&mut Cursor::new(&mut webp), ImageFormat::WebP)
            .unwrap();
        let r = app
            .raw(app.admin(Method::POST, &path, &csrf).multipart(form(
                webp,
                "w.webp",
                "image/webp",
            )))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let webp_url = r.json()["url"].as_str().unwrap().to_string();
        assert!(webp_url.ends_with("-64.jpg"), "{webp_url}");
        let r = app
            .raw(
                app.admin(Method::POST, &path, &csrf)
                    .json(&json!({"url": "x"})),
            )
            .await;
        let v = assert_envelope(&r, 400, Some("invalid_upload"));
        assert_eq!(v["error"]["field"], "file");

        // Appended to the product, in the storefront too.
        let (_, p) = app
            .json(app.get(&format!("/api/admin/products/{pid}")))
            .await;
        let imgs: Vec<String> = p["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            &imgs[imgs.len() - 4..],
            [main.clone(), main2.clone(), big_url, webp_url.clone()]
        );
        let n = imgs.len();

        // Reorder and remove: newest first, the seeded image dropped.
        let put =
            |body: serde_json::Value, token: &str| app.admin(Method::PUT, &path, token).json(&body);
        let r = app
            .raw(put(json!({"images": [main2.clone(), main.clone()]}), "bad"))
            .await;
        assert_envelope(&r, 403, Some("csrf_failed"));
        let r = app
            .raw(put(
                json!({"images": [main2.clone(), "/media/not-ours.jpg"]}),
                &csrf,
            ))
            .await;
        let v = assert_envelope(&r, 422, Some("unknown_image"));
        assert_eq!(v["error"]["field"], "images[1]");
        let r = app
            .raw(put(json!({"images": [main.clone(), main.clone()]}), &csrf))
            .await;
        assert_envelope(&r, 422, Some("duplicate_image"));
        let (_, p) = app
            .json(app.get(&format!("/api/admin/products/{pid}")))
            .await;
        assert_eq!(
            p["images"].as_array().unwrap().len(),
            n,
            "refused changes change nothing"
        );
        let (s, v) = app
            .json(put(json!({"images": [main2.clone(), main.clone()]}), &csrf))
            .await;
        assert_eq!(s, 200, "{v}");
        let (_, p) = app.json(app.get(&format!("/api/products/{pid}"))).await;
        assert_eq!(p["images"], json!([main2, main]));

        // Both kinds of change are audited with before and after.
        let (_, v) = app.json(app.get("/api/admin/audit?entity=product")).await;
        let items = v["items"].as_array().unwrap();
        let adds = items.iter().filter(|e| e["action"] == "add_image").count();
        // Five uploads, the repeated photo among them (audited even though it added nothing).
        assert_eq!(adds, 5);
        let order = items
            .iter()
            .find(|e| e["action"] == "order_images")
            .unwrap();
        assert_eq!(order["entity_id"].as_i64(), Some(pid));
        assert_eq!(order["before"]["images"].as_array().unwrap().len(), n);
        assert_eq!(order["after"]["images"].as_array().unwrap().len(), 2);
        assert!(order["before"]["images"]
            .as_array()
            .unwrap()
            .contains(&json!(webp_url)));
    }
);

both!(decompression_bombs_are_refused, |app: TestApp| async move {
    let csrf = app.admin_login().await;
    let pid = app.product("Teapot").await["id"].as_i64().unwrap();
    // More pixels on a side than allowed is refused before the pixels are decoded (the
    // limit that stops a small file from claiming gigabytes). One pixel thin keeps the test
    // itself small.
    for (w, h) in [(12_001, 1), (1, 12_001)] {
        let img = image::GrayImage::new(w, h);
        let mut bytes = vec![];
        img.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        let r = app
            .raw(
                app.admin(
                    Method::POST,
                    &format!("/api/admin/products/{pid}/images"),
                    &csrf,
                )
                .multipart(form(bytes, "bomb.png", "image/png")),
            )
            .await;
        let v = assert_envelope(&r, 422, Some("image_too_large"));
        assert!(
            v["error"]["message"].as_str().unwrap().contains("12000"),
            "{v}"
        );
    }
    let r = app
        .raw(
            app.admin(Method::POST, "/api/admin/products/999999/images", &csrf)
                .multipart(form(jpeg(10, 10), "a.jpg", "image/jpeg")),
        )
        .await;
    assert_envelope(&r, 404, Some("not_found"));
});
