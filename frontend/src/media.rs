//! Responsive sources for merchant uploads.
//!
//! The backend stores every width of an upload (320, 640, 1280; never wider than the original)
//! under one shared hash, `/media/<hash16>-<width>.<ext>`, and a product lists only the largest
//! width's URL. From that URL the narrower files are known, so a `srcset` lets a phone on a slow
//! network fetch the 320 px file for a catalog card instead of the 1280 px one. Any other URL
//! (an outside link, an SVG) has no other widths and keeps a plain `src`.
//!
//! Parsed by hand: the pattern is fixed and small, and a regex crate would only add to the wasm.

/// The widths the backend stores (`backend/src/admin/images.rs`, `WIDTHS`).
const WIDTHS: [u32; 3] = [320, 640, 1280];
const PREFIX: &str = "/media/";

/// The `srcset` for an uploaded image's URL: every stored width narrower than the URL's own,
/// then the URL itself; `None` when the URL is not a `/media/<16 hex>-<width>.(jpg|png)` name.
pub fn srcset(url: &str) -> Option<String> {
    let name = url.strip_prefix(PREFIX)?;
    let (stem, ext) = name.rsplit_once('.')?;
    if !matches!(ext, "jpg" | "png") {
        return None;
    }
    let (hash, width) = stem.split_once('-')?;
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if hash.len() != 16 || !hash.bytes().all(lower_hex) {
        return None;
    }
    // Digits only and no leading zero: the backend writes widths as plain numbers, so "0640"
    // or "+640" names no stored file.
    if width.is_empty() || width.starts_with('0') || !width.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let own: u32 = width.parse().ok()?;
    if own > WIDTHS[WIDTHS.len() - 1] {
        return None;
    }
    // Written out rather than collected and `join`ed: the catalog's cards call this, and
    // `join`'s generic code would be one more thing in the first download.
    let mut out = String::new();
    for w in WIDTHS.into_iter().filter(|&w| w < own).chain([own]) {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&format!("{PREFIX}{hash}-{w}.{ext} {w}w"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::srcset;

    const HASH: &str = "0123456789abcdef";

    #[test]
    fn a_full_upload_lists_every_width() {
        assert_eq!(
            srcset(&format!("/media/{HASH}-1280.jpg")).as_deref(),
            Some(
                "/media/0123456789abcdef-320.jpg 320w, \
                 /media/0123456789abcdef-640.jpg 640w, \
                 /media/0123456789abcdef-1280.jpg 1280w"
            )
        );
    }

    #[test]
    fn narrower_uploads_list_only_what_was_stored() {
        assert_eq!(
            srcset(&format!("/media/{HASH}-640.png")).as_deref(),
            Some("/media/0123456789abcdef-320.png 320w, /media/0123456789abcdef-640.png 640w")
        );
        // An upload 400 px wide was stored at 320 and at its own width.
        assert_eq!(
            srcset(&format!("/media/{HASH}-400.jpg")).as_deref(),
            Some("/media/0123456789abcdef-320.jpg 320w, /media/0123456789abcdef-400.jpg 400w")
        );
        assert_eq!(
            srcset(&format!("/media/{HASH}-64.jpg")).as_deref(),
            Some("/media/0123456789abcdef-64.jpg 64w")
        );
    }

    #[test]
    fn other_images_keep_a_plain_src() {
        for url in [
            "/seed/teapot.svg",
            &format!("/media/{HASH}-1280.svg"),
            &format!("/media/{HASH}-1280.webp"),
            &format!("https://cdn.example.com/media/{HASH}-1280.jpg"),
            &format!("/static/{HASH}-1280.jpg"),
            "",
        ] {
            assert_eq!(srcset(url), None, "{url}");
        }
    }

    #[test]
    fn malformed_names_are_not_guessed_at() {
        for url in [
            "/media/0123456789abcde-1280.jpg",   // 15 hex digits
            "/media/0123456789abcdef0-1280.jpg", // 17
            "/media/0123456789ABCDEF-1280.jpg",  // the backend writes lower case
            "/media/0123456789abcdeg-1280.jpg",  // not hex
            "/media/0123456789abcdef-.jpg",
            "/media/0123456789abcdef-0640.jpg",
            "/media/0123456789abcdef-+640.jpg",
            "/media/0123456789abcdef-0.jpg",
            "/media/0123456789abcdef-2560.jpg", // wider than any stored width
            "/media/0123456789abcdef-99999999999.jpg",
            "/media/0123456789abcdef-640-1.jpg",
            "/media/0123456789abcdef-1280",
            "/media/0123456789abcdef1280.jpg",
            "/media/0123456789abcdef-1280.jpg?v=2",
            "/media/",
        ] {
            assert_eq!(srcset(url), None, "{url}");
        }
    }
}
