//! Product images: upload (checked by content, resized, re-encoded, stored under
//! content-hashed names in the media folder), and reorder or remove.
//!
//! Every width of one upload shares one name, the SHA-256 of the uploaded bytes:
//! `/media/<hash16>-<width>.<ext>`. A product keeps only its largest width's URL, so the shared
//! hash is what lets the storefront derive the narrower files (`srcset`) from that one URL; a
//! phone on a slow network then fetches the 320 px file for a catalog card, not the 1280 px one.
//! The names stay content-derived, so the same upload always gives the same names.
//!
//! Re-encoding is what strips metadata (EXIF GPS positions from a phone photo, comments):
//! only pixels survive. The EXIF orientation is applied first so the photo stays upright.
//! Files are never deleted when an image leaves a product: names are content hashes, so
//! another product (or an order page cached by a phone) may still show the same file.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use serde_json::json;
use sha2::{Digest, Sha256};
use shared::admin::{ImageOrder, ImageWidth, UploadedImage};

use super::auth::{record_audit, Admin};
use crate::admin::CatalogAdmin;
use crate::error::{AppJson, AppPath, Error, Result};
use crate::state::AppState;

/// A phone photo is 2-6 MB; 8 MB leaves room without inviting huge uploads.
pub const MAX_BYTES: usize = 8 * 1024 * 1024;
/// Widths stored for every image (never wider than the original): phone lists, product
/// pages, and desktop/retina.
pub const WIDTHS: [u32; 3] = [320, 640, 1280];
/// Larger sides are refused before decoding: a small file can claim huge dimensions
/// (a "decompression bomb") and exhaust memory.
const MAX_SIDE: u32 = 12_000;
const MAX_DECODED_BYTES: u64 = 256 * 1024 * 1024;
const JPEG_QUALITY: u8 = 85;
const ACCEPTED: &str = "PNG, JPEG or WebP";

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/admin/products/{id}/images",
        post(upload)
            .put(reorder)
            // Multipart framing adds a little to the file itself.
            .layer(DefaultBodyLimit::max(MAX_BYTES + 64 * 1024)),
    )
}

fn too_large() -> Error {
    Error::Status {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "image_too_large",
        message: format!(
            "The image is larger than {} MB; upload a smaller one.",
            MAX_BYTES / (1024 * 1024)
        ),
    }
}

fn upload_error(status: StatusCode, text: String) -> Error {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        Error::field(
            "invalid_upload",
            "file",
            format!("The upload could not be read: {text}"),
        )
    }
}

/// Writes a product's image list (inside the caller's write transaction).
async fn save_images(conn: &mut sqlx::AnyConnection, id: i64, images: &[String]) -> Result<()> {
    sqlx::query("UPDATE products SET images_json = $1, updated_at = $2 WHERE id = $3")
        .bind(serde_json::to_string(images).map_err(Error::internal)?)
        .bind(crate::db::now())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

async fn images_of(st: &CatalogAdmin, id: i64) -> Result<Vec<String>> {
    let json: String = sqlx::query_scalar("SELECT images_json FROM products WHERE id = $1")
        .bind(id)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or_else(|| Error::not_found("product"))?;
    Ok(serde_json::from_str(&json).unwrap_or_default())
}

/// Stores an image for the product (PNG, JPEG or WebP, decided by its bytes) in several
/// widths and appends it to the product's images.
#[utoipa::path(post, path = "/api/admin/products/{id}/images", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The product's id.")),
    request_body(content = crate::openapi::FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The stored image.", body = UploadedImage),
        (status = 404, description = "No such product."),
        (status = 413, description = "`image_too_large`."),
        (status = 415, description = "`unsupported_image`: not a PNG, JPEG or WebP."),
        (status = 422, description = "`invalid_image`: the picture cannot be decoded, or is too large in pixels."),
    ))]
async fn upload(
    State(st): State<CatalogAdmin>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
    req: Request,
) -> Result<Response> {
    images_of(&st, id).await?;
    let mut form = Multipart::from_request(req, &st)
        .await
        .map_err(|e| upload_error(e.status(), e.body_text()))?;
    let mut file = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| upload_error(e.status(), e.body_text()))?
    {
        if field.name() == Some("file") {
            file = Some(
                field
                    .bytes()
                    .await
                    .map_err(|e| upload_error(e.status(), e.body_text()))?,
            );
            break;
        }
    }
    let bytes = file.ok_or_else(|| {
        Error::field(
            "file_required",
            "file",
            "Attach the image in the form field `file`.",
        )
    })?;
    if bytes.len() > MAX_BYTES {
        return Err(too_large());
    }
    // The type comes from the bytes, never from the file name or the sent content type:
    // an HTML or SVG file renamed .png must not end up served from the shop's origin.
    let format = accepted_format(&bytes)?;
    let dir = st.config.media_dir.clone();
    // Decoding and resizing take CPU seconds for a large photo: off the async workers.
    let stored = tokio::task::spawn_blocking(move || process(&bytes, format, &dir))
        .await
        .map_err(Error::internal)??;
    let main = stored
        .last()
        .map(|w| w.url.clone())
        .ok_or_else(|| Error::internal("no image width stored"))?;

    let mut tx = st.db.begin_write().await?;
    let json: String = sqlx::query_scalar("SELECT images_json FROM products WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| Error::not_found("product"))?;
    let before: Vec<String> = serde_json::from_str(&json).unwrap_or_default();
    let mut after = before.clone();
    if !after.contains(&main) {
        after.push(main.clone());
    }
    save_images(tx.conn(), id, &after).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "add_image",
        "product",
        Some(id),
        Some(&json!({ "images": before })),
        Some(&json!({ "images": after, "widths": stored.iter().map(|w| w.width).collect::<Vec<_>>() })),
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok((
        StatusCode::CREATED,
        AppJson(UploadedImage {
            url: main,
            widths: stored,
        }),
    )
        .into_response())
}

/// The type comes from the bytes, never from the file name or the sent content type:
/// an HTML or SVG file renamed .png must not end up served from the shop's origin.
pub(crate) fn accepted_format(bytes: &[u8]) -> Result<ImageFormat> {
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)) => Ok(f),
        _ => Err(Error::Status {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_image",
            message: format!(
                "This file is not a {ACCEPTED} image (its content was checked, not its name); upload a {ACCEPTED} file."
            ),
        }),
    }
}

fn invalid_image(e: impl std::fmt::Display) -> Error {
    Error::Unprocessable {
        code: "invalid_image",
        field: Some("file".into()),
        message: format!("The image could not be read ({e}); upload a {ACCEPTED} file that opens on your computer."),
    }
}

/// Decodes (within limits), orients, resizes and writes every width; answers them narrowest
/// first. All widths are named by the hash of `bytes` (the upload), not of each encoding, so a
/// client can go from one width's URL to the others.
pub(crate) fn process(bytes: &[u8], format: ImageFormat, dir: &Path) -> Result<Vec<ImageWidth>> {
    store(bytes, render(bytes, format)?, dir)
}

/// Writes what [`render`] made of `bytes` into `dir`, named by the source's hash.
pub(crate) fn store(
    bytes: &[u8],
    rendered: Vec<(u32, Vec<u8>, &'static str)>,
    dir: &Path,
) -> Result<Vec<ImageWidth>> {
    let hash = hex::encode(Sha256::digest(bytes));
    let hash = &hash[..16];
    std::fs::create_dir_all(dir).map_err(Error::internal)?;
    let mut out = Vec::with_capacity(rendered.len());
    for (target, encoded, ext) in rendered {
        let name = format!("{hash}-{target}.{ext}");
        write_once(&dir.join(&name), &encoded)?;
        out.push(ImageWidth {
            width: target,
            url: format!("/media/{name}"),
        });
    }
    Ok(out)
}

/// The pure part of `process`: every width as (width, encoded bytes, extension), narrowest
/// first. The fuzz targets (fuzz/) call it, so uploads are fuzzed without writing files.
pub(crate) fn render(
    bytes: &[u8],
    format: ImageFormat,
) -> Result<Vec<(u32, Vec<u8>, &'static str)>> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(refusal)?;
    let (w, h) = decoder.dimensions();
    if w > MAX_SIDE || h > MAX_SIDE || decoder.total_bytes() > MAX_DECODED_BYTES {
        return Err(bomb(w, h));
    }
    let orientation = decoder.orientation().map_err(invalid_image)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(refusal)?;
    img.apply_orientation(orientation);
    let width = img.width();
    let mut widths: Vec<u32> = WIDTHS.iter().copied().filter(|&x| x < width).collect();
    let largest = width.min(*WIDTHS.last().unwrap_or(&width));
    if !widths.contains(&largest) {
        widths.push(largest);
    }
    let alpha = img.color().has_alpha();
    let mut out = Vec::with_capacity(widths.len());
    for target in widths {
        let resized = if target == img.width() {
            img.clone()
        } else {
            let h = ((img.height() as u64 * target as u64) / img.width() as u64).max(1) as u32;
            img.resize_exact(target, h, image::imageops::FilterType::Lanczos3)
        };
        let (encoded, ext) = encode(&resized, alpha)?;
        out.push((target, encoded, ext));
    }
    Ok(out)
}

fn bomb(w: u32, h: u32) -> Error {
    Error::Unprocessable {
        code: "image_too_large",
        field: Some("file".into()),
        message: format!(
            "The image is {w}x{h} pixels; upload one at most {MAX_SIDE} pixels on each side."
        ),
    }
}

fn refusal(e: image::ImageError) -> Error {
    match e {
        image::ImageError::Limits(_) => Error::Unprocessable {
            code: "image_too_large",
            field: Some("file".into()),
            message: format!(
                "The image has too many pixels; upload one at most {MAX_SIDE} pixels on each side."
            ),
        },
        other => invalid_image(other),
    }
}

/// JPEG for photos; PNG when there is transparency (JPEG would turn it black).
fn encode(img: &DynamicImage, alpha: bool) -> Result<(Vec<u8>, &'static str)> {
    let mut buf = Vec::new();
    if alpha {
        img.to_rgba8()
            .write_to(&mut Cursor::new(&mut buf), ImageFormat::Png)
            .map_err(Error::internal)?;
        Ok((buf, "png"))
    } else {
        let rgb = img.to_rgb8();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, JPEG_QUALITY)
            .encode_image(&rgb)
            .map_err(Error::internal)?;
        Ok((buf, "jpg"))
    }
}

/// Writes through a temporary name and renames, so a reader never sees half a file. An
/// existing file came from the same upload (the name is its hash) and is kept: served files are
/// cached as immutable, so the first encoding must stay even if a newer encoder would differ.
fn write_once(path: &PathBuf, bytes: &[u8]) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let tmp = path.with_extension(format!("tmp{}", rand::random::<u32>()));
    std::fs::write(&tmp, bytes).map_err(Error::internal)?;
    std::fs::rename(&tmp, path).map_err(Error::internal)
}

/// Replaces the product's image list (reorder and remove); every URL must be the product's.
#[utoipa::path(put, path = "/api/admin/products/{id}/images", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The product's id.")),
    request_body = ImageOrder,
    responses(
        (status = 200, description = "The images as saved.", body = ImageOrder),
        (status = 404, description = "No such product."),
        (status = 422, description = "`unknown_image` or `duplicate_image` (`error.field` names it)."),
    ))]
async fn reorder(
    State(st): State<CatalogAdmin>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<ImageOrder>,
) -> Result<AppJson<ImageOrder>> {
    let mut tx = st.db.begin_write().await?;
    let json: String = sqlx::query_scalar("SELECT images_json FROM products WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| Error::not_found("product"))?;
    let before: Vec<String> = serde_json::from_str(&json).unwrap_or_default();
    for (i, url) in req.images.iter().enumerate() {
        if !before.contains(url) {
            return Err(Error::Unprocessable {
                code: "unknown_image",
                field: Some(format!("images[{i}]")),
                message: format!(
                    "{url} is not an image of product {id}; upload it first, then order it."
                ),
            });
        }
        if req.images[..i].contains(url) {
            return Err(Error::Unprocessable {
                code: "duplicate_image",
                field: Some(format!("images[{i}]")),
                message: format!("{url} is listed twice."),
            });
        }
    }
    save_images(tx.conn(), id, &req.images).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "order_images",
        "product",
        Some(id),
        Some(&json!({ "images": before })),
        Some(&json!({ "images": req.images })),
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok(AppJson(req))
}
