//! Thin bindings to `window.Telegram.WebApp` (https://core.telegram.org/bots/webapps).
//!
//! Why hand-written bindings rather than a Telegram SDK crate: we need five members today
//! (`ready`, `expand`, `initData`, `themeParams`, `colorScheme`, plus `onEvent` for theme
//! changes), the crates that wrap the whole API lag behind Telegram's frequent Bot API
//! releases, pull in dependencies that cost download size on phones, and assume
//! `window.Telegram` exists. Here its absence (a plain browser, or an offline load where
//! `telegram-web-app.js` failed) is an ordinary `None`, every call is guarded with `catch` so
//! a partial or older client cannot panic the app, and growing the surface (MainButton,
//! BackButton, openInvoice…) is one `extern` line per member.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// `window.Telegram.WebApp`, the object `telegram-web-app.js` installs.
    #[derive(Clone, Debug)]
    pub type WebApp;

    #[wasm_bindgen(method, catch)]
    fn ready(this: &WebApp) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch)]
    fn expand(this: &WebApp) -> Result<(), JsValue>;

    #[wasm_bindgen(method, getter, js_name = initData)]
    fn init_data_raw(this: &WebApp) -> JsValue;

    #[wasm_bindgen(method, getter, js_name = themeParams)]
    fn theme_params_raw(this: &WebApp) -> JsValue;

    #[wasm_bindgen(method, getter, js_name = colorScheme)]
    fn color_scheme_raw(this: &WebApp) -> JsValue;

    #[wasm_bindgen(method, getter, js_name = platform)]
    fn platform_raw(this: &WebApp) -> JsValue;

    #[wasm_bindgen(method, catch, js_name = onEvent)]
    fn on_event_raw(this: &WebApp, event: &str, handler: &js_sys::Function) -> Result<(), JsValue>;
}

/// Light or dark, as Telegram tells the Mini App.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorScheme {
    Light,
    Dark,
}

impl ColorScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            ColorScheme::Light => "light",
            ColorScheme::Dark => "dark",
        }
    }
}

impl WebApp {
    /// The WebApp object, if `telegram-web-app.js` (or a test stub) installed one.
    pub fn get() -> Option<WebApp> {
        let window = web_sys::window()?;
        let telegram = Reflect::get(&window, &"Telegram".into()).ok()?;
        if !telegram.is_object() {
            return None;
        }
        let web_app = Reflect::get(&telegram, &"WebApp".into()).ok()?;
        web_app.is_object().then(|| web_app.unchecked_into())
    }

    /// Tells Telegram the app is ready to be shown (hides its loading placeholder).
    pub fn notify_ready(&self) {
        let _ = self.ready();
    }

    /// Asks Telegram to open the app at full height.
    pub fn expand_full(&self) {
        let _ = self.expand();
    }

    /// The raw initData query string; empty when Telegram gave none (a plain browser, or a
    /// reply-keyboard launch).
    pub fn init_data(&self) -> String {
        self.init_data_raw().as_string().unwrap_or_default()
    }

    /// Whether this is a real Telegram client (or a stub acting as one): `telegram-web-app.js`
    /// loaded in an ordinary browser reports the platform `unknown`.
    pub fn in_telegram(&self) -> bool {
        self.platform_raw().as_string().as_deref() != Some("unknown")
    }

    pub fn color_scheme(&self) -> Option<ColorScheme> {
        match self.color_scheme_raw().as_string()?.as_str() {
            "dark" => Some(ColorScheme::Dark),
            "light" => Some(ColorScheme::Light),
            _ => None,
        }
    }

    /// `themeParams` as `(key, colour)` pairs such as `("bg_color", "#17212b")`, keeping only
    /// well-formed keys and `#rgb`/`#rrggbb`/`#rrggbbaa` colours.
    pub fn theme_params(&self) -> Vec<(String, String)> {
        let params = self.theme_params_raw();
        if !params.is_object() {
            return Vec::new();
        }
        Object::entries(params.unchecked_ref())
            .iter()
            .filter_map(|entry| {
                let pair: js_sys::Array = entry.unchecked_into();
                let key = pair.get(0).as_string()?;
                let value = pair.get(1).as_string()?;
                (is_param_key(&key) && is_hex_colour(&value)).then_some((key, value))
            })
            .collect()
    }

    /// Calls `f` whenever Telegram reports `event` (e.g. `themeChanged`). The handler lives
    /// as long as the page.
    pub fn on_event(&self, event: &str, f: impl FnMut() + 'static) {
        let closure = Closure::<dyn FnMut()>::new(f);
        if self
            .on_event_raw(event, closure.as_ref().unchecked_ref())
            .is_ok()
        {
            closure.forget();
        }
    }
}

fn is_param_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

fn is_hex_colour(v: &str) -> bool {
    v.strip_prefix('#').is_some_and(|hex| {
        matches!(hex.len(), 3 | 6 | 8) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Maps Telegram's theme onto the page: each `themeParams.x_y_color` becomes the CSS variable
/// `--tg-theme-x-y-color` on `<html>` (what `telegram-web-app.js` does too, repeated here so a
/// stubbed or missing script still themes the page), and `colorScheme` becomes
/// `<html data-color-scheme>`, which switches `style.css` to its dark defaults for any colour
/// the theme leaves out. Outside Telegram nothing is set and the page follows the system
/// (`prefers-color-scheme`).
pub fn apply_theme(web_app: Option<&WebApp>) {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    else {
        return;
    };
    let Some(tg) = web_app.filter(|tg| tg.in_telegram()) else {
        return;
    };
    if let Ok(root) = root.clone().dyn_into::<web_sys::HtmlElement>() {
        let style = root.style();
        for (key, colour) in tg.theme_params() {
            let name = format!("--tg-theme-{}", key.replace('_', "-"));
            let _ = style.set_property(&name, &colour);
        }
    }
    if let Some(scheme) = tg.color_scheme() {
        let _ = root.set_attribute("data-color-scheme", scheme.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_hex_colours_and_plain_keys() {
        assert!(is_hex_colour("#17212b"));
        assert!(is_hex_colour("#fff"));
        assert!(is_hex_colour("#ffffff80"));
        assert!(!is_hex_colour("red"));
        assert!(!is_hex_colour("#12345"));
        assert!(!is_hex_colour("#fff;background:url(x)"));
        assert!(is_param_key("bg_color"));
        assert!(!is_param_key("bg-color"));
        assert!(!is_param_key(""));
    }
}
