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

    #[wasm_bindgen(method, catch, js_name = isVersionAtLeast)]
    fn is_version_at_least_raw(this: &WebApp, version: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, getter, js_name = initDataUnsafe)]
    fn init_data_unsafe_raw(this: &WebApp) -> JsValue;

    #[wasm_bindgen(method, getter, js_name = MainButton)]
    fn main_button_raw(this: &WebApp) -> JsValue;

    #[wasm_bindgen(method, getter, js_name = BackButton)]
    fn back_button_raw(this: &WebApp) -> JsValue;

    #[wasm_bindgen(method, getter, js_name = HapticFeedback)]
    fn haptic_raw(this: &WebApp) -> JsValue;

    #[wasm_bindgen(method, catch, js_name = openInvoice)]
    fn open_invoice_raw(this: &WebApp, url: &str, cb: &JsValue) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = openLink)]
    fn open_link_raw(this: &WebApp, url: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = openTelegramLink)]
    fn open_telegram_link_raw(this: &WebApp, url: &str) -> Result<(), JsValue>;

    /// `MainButton`, `SecondaryButton` and `BackButton` share these members.
    #[derive(Clone, Debug)]
    pub type TgButton;

    #[wasm_bindgen(method, catch, js_name = setParams)]
    fn set_params(this: &TgButton, params: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn show(this: &TgButton) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn hide(this: &TgButton) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = showProgress)]
    fn show_progress(this: &TgButton, leave_active: bool) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = hideProgress)]
    fn hide_progress(this: &TgButton) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = onClick)]
    fn on_click(this: &TgButton, handler: &js_sys::Function) -> Result<(), JsValue>;

    #[derive(Clone, Debug)]
    type Haptic;
    #[wasm_bindgen(method, catch, js_name = impactOccurred)]
    fn impact_occurred(this: &Haptic, style: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = notificationOccurred)]
    fn notification_occurred(this: &Haptic, kind: &str) -> Result<(), JsValue>;
}

impl TgButton {
    /// Shows the button with `text`, active or not, with its spinner while `busy`.
    pub fn set(&self, text: &str, active: bool, busy: bool) {
        let params = Object::new();
        let _ = Reflect::set(&params, &"text".into(), &text.into());
        let _ = Reflect::set(&params, &"is_active".into(), &(active && !busy).into());
        let _ = Reflect::set(&params, &"is_visible".into(), &true.into());
        let _ = self.set_params(&params);
        let _ = if busy {
            self.show_progress(false)
        } else {
            self.hide_progress()
        };
    }

    pub fn conceal(&self) {
        let _ = self.hide_progress();
        let _ = self.hide();
    }

    /// Calls `f` on every click until the answer is dropped (a page's own button: its
    /// handler must leave with the page, unlike the app-wide MainButton handler).
    pub fn on_tap(&self, f: impl FnMut() + 'static) -> Tap {
        let f = Closure::<dyn FnMut()>::new(f);
        let _ = self.on_click(f.as_ref().unchecked_ref());
        Tap {
            button: self.clone(),
            f,
        }
    }
}

/// A click handler on a Telegram button; removed (`offClick`) when dropped.
pub struct Tap {
    button: TgButton,
    f: Closure<dyn FnMut()>,
}

impl Drop for Tap {
    fn drop(&mut self) {
        member(&self.button, "offClick", Some(self.f.as_ref()));
    }
}

/// `target[name]`, and a call of it (with `arg`) when it is a function; `undefined` when it is
/// missing or throws. For the members only the screens behind the catalog use (SecondaryButton,
/// fullscreen, the home screen): each `extern` member is a JS shim and an import in the first
/// download, this costs nothing there (docs/PERFORMANCE.md).
pub(crate) fn member(target: &JsValue, name: &str, call: Option<&JsValue>) -> JsValue {
    let v = Reflect::get(target, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let Some(arg) = call else { return v };
    if !v.is_function() {
        return JsValue::UNDEFINED;
    }
    let f: &js_sys::Function = v.unchecked_ref();
    f.call1(target, arg).unwrap_or(JsValue::UNDEFINED)
}

/// How this client shares a product with a chat the user picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareWay {
    /// `shareMessage` with a message the server prepared (Bot API 8.0+).
    Prepared,
    /// `switchInlineQuery` with the product's title (Bot API 6.7+): the bot's inline mode
    /// lists it in the chat, the user taps it.
    InlineQuery,
}

/// What the customer did with an invoice (`invoiceClosed`), a UI hint only: the order is paid
/// when the backend says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvoiceStatus {
    Paid,
    Cancelled,
    Failed,
    Pending,
}

impl InvoiceStatus {
    pub fn parse(s: &str) -> InvoiceStatus {
        match s {
            "paid" => InvoiceStatus::Paid,
            "cancelled" => InvoiceStatus::Cancelled,
            "failed" => InvoiceStatus::Failed,
            _ => InvoiceStatus::Pending,
        }
    }
}

/// The page the Mini App was opened for: `product_<id>` from `start_param`.
pub fn start_product(start_param: &str) -> Option<i64> {
    start_param
        .strip_prefix("product_")?
        .parse()
        .ok()
        .filter(|id| *id > 0)
}

/// The deep link's parameter in the page's own URL: `tgWebAppStartParam` (Telegram's launch
/// parameters, query or fragment) or `startapp` (the bot's `/start product_12` answers with a
/// web_app button to `PUBLIC_URL/?startapp=product_12`: a web_app button carries no
/// `start_param`, so the URL is the only place the product is named).
pub fn start_param_in_url(href: &str) -> Option<String> {
    href.split(['?', '#', '&'])
        .find_map(|kv| {
            kv.strip_prefix("tgWebAppStartParam=")
                .or_else(|| kv.strip_prefix("startapp="))
        })
        .map(|v| v.to_string())
        .filter(|v| !v.is_empty())
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

    /// `isVersionAtLeast`; a client too old to have it has none of the newer features either.
    pub fn at_least(&self, version: &str) -> bool {
        self.is_version_at_least_raw(version)
            .map(|v| v.is_truthy())
            .unwrap_or(false)
    }

    fn unsafe_field(&self, path: &[&str]) -> Option<String> {
        let mut v = self.init_data_unsafe_raw();
        for key in path {
            if !v.is_object() {
                return None;
            }
            v = Reflect::get(&v, &(*key).into()).ok()?;
        }
        v.as_string()
    }

    /// `initDataUnsafe.start_param`, the `startapp` value of a deep link.
    pub fn start_param(&self) -> Option<String> {
        self.unsafe_field(&["start_param"])
            .filter(|s| !s.is_empty())
    }

    /// The Telegram user's `language_code`.
    pub fn language_code(&self) -> Option<String> {
        self.unsafe_field(&["user", "language_code"])
    }

    fn button(raw: JsValue) -> Option<TgButton> {
        raw.is_object().then(|| raw.unchecked_into())
    }

    /// Shows the MainButton with `text`, active or not, with its spinner while `busy`.
    pub fn main_button_set(&self, text: &str, active: bool, busy: bool) {
        if let Some(b) = Self::button(self.main_button_raw()) {
            b.set(text, active, busy);
        }
    }

    pub fn main_button_hide(&self) {
        if let Some(b) = Self::button(self.main_button_raw()) {
            b.conceal();
        }
    }

    /// SecondaryButton (Bot API 7.10), next to MainButton; `None` on older clients, where the
    /// page draws the second action itself.
    pub fn secondary_button(&self) -> Option<TgButton> {
        if !self.at_least("7.10") {
            return None;
        }
        Self::button(member(self, "SecondaryButton", None))
    }

    /// Fullscreen and home-screen shortcuts came with Bot API 8.0; older clients have neither.
    pub fn has_fullscreen(&self) -> bool {
        self.at_least("8.0")
    }

    /// Enters fullscreen, or leaves it when the app is already fullscreen.
    pub fn toggle_fullscreen(&self) {
        let now = member(self, "isFullscreen", None).is_truthy();
        let name = if now {
            "exitFullscreen"
        } else {
            "requestFullscreen"
        };
        member(self, name, Some(&JsValue::UNDEFINED));
    }

    /// Asks Telegram to offer a home-screen shortcut to the Mini App (Telegram shows its own
    /// confirmation; unsupported platforms ignore it).
    pub fn add_to_home_screen(&self) {
        member(self, "addToHomeScreen", Some(&JsValue::UNDEFINED));
    }

    /// BackButton exists from Bot API 6.1.
    pub fn has_back_button(&self) -> bool {
        self.at_least("6.1") && Self::button(self.back_button_raw()).is_some()
    }

    pub fn back_button_visible(&self, visible: bool) {
        if !self.has_back_button() {
            return;
        }
        if let Some(b) = Self::button(self.back_button_raw()) {
            let _ = if visible { b.show() } else { b.hide() };
        }
    }

    /// Calls `f` on every MainButton (`main`) or BackButton click; lives as long as the page.
    pub fn on_button_click(&self, main: bool, f: impl FnMut() + 'static) {
        let raw = if main {
            self.main_button_raw()
        } else {
            self.back_button_raw()
        };
        if let Some(b) = Self::button(raw) {
            let closure = Closure::<dyn FnMut()>::new(f);
            if b.on_click(closure.as_ref().unchecked_ref()).is_ok() {
                closure.forget();
            }
        }
    }

    fn haptic(&self) -> Option<Haptic> {
        let h = self.haptic_raw();
        (self.at_least("6.1") && h.is_object()).then(|| h.unchecked_into())
    }

    pub fn haptic_impact(&self, style: &str) {
        if let Some(h) = self.haptic() {
            let _ = h.impact_occurred(style);
        }
    }

    pub fn haptic_notify(&self, kind: &str) {
        if let Some(h) = self.haptic() {
            let _ = h.notification_occurred(kind);
        }
    }

    /// Opens a Telegram invoice; `done` gets its closing status. `false` if this client
    /// cannot (older than 6.1).
    pub fn open_invoice(&self, url: &str, done: impl FnOnce(InvoiceStatus) + 'static) -> bool {
        if !self.at_least("6.1") {
            return false;
        }
        let cb = Closure::once_into_js(move |status: JsValue| {
            done(InvoiceStatus::parse(
                &status.as_string().unwrap_or_default(),
            ))
        });
        self.open_invoice_raw(url, &cb).is_ok()
    }

    /// Whether this client can share the user's phone number (`requestContact`, Bot API 6.9).
    pub fn has_request_contact(&self) -> bool {
        self.at_least("6.9")
    }

    /// Asks the user to share their phone number with the bot. Telegram shows its own consent
    /// dialog; `done` gets the number when the user agreed and the client reported it, `None`
    /// when they declined (the customer then types it).
    pub fn request_contact(&self, done: impl FnOnce(Option<String>) + 'static) {
        let cb = Closure::once_into_js(move |shared: JsValue, answer: JsValue| {
            let phone = shared
                .is_truthy()
                .then(|| {
                    let unsafe_part = member(&answer, "responseUnsafe", None);
                    let contact = member(&unsafe_part, "contact", None);
                    member(&contact, "phone_number", None).as_string()
                })
                .flatten();
            done(phone)
        });
        member(self, "requestContact", Some(&cb));
    }

    /// Opens an outside payment page in the browser, keeping the Mini App open.
    pub fn open_link(&self, url: &str) -> bool {
        self.open_link_raw(url).is_ok()
    }

    /// Opens a `https://t.me/…` link (a Crypto Pay invoice in @CryptoBot or its Mini App)
    /// inside Telegram; `openLink` would send it to the browser instead.
    pub fn open_telegram_link(&self, url: &str) -> bool {
        self.open_telegram_link_raw(url).is_ok()
    }

    /// How this client can share (`None` outside Telegram or on a client older than 6.7).
    pub fn share_way(&self) -> Option<ShareWay> {
        if !self.in_telegram() {
            return None;
        }
        if self.at_least("8.0") && member(self, "shareMessage", None).is_function() {
            Some(ShareWay::Prepared)
        } else if self.at_least("6.7") && member(self, "switchInlineQuery", None).is_function() {
            Some(ShareWay::InlineQuery)
        } else {
            None
        }
    }

    /// Opens Telegram's chat picker for prepared message `id` (Telegram tells the user when it
    /// was sent). Through [`member`]: no new import in the first download.
    pub fn share_message(&self, id: &str) {
        member(self, "shareMessage", Some(&JsValue::from_str(id)));
    }

    /// Lets the user pick a chat (a person, group or channel) and puts `@bot <query>` in its
    /// input field, where the inline results appear. The chat types are parsed from JSON with
    /// the `JSON.parse` the app imports anyway, rather than built with `Array` calls that
    /// would each be a new import in the first download.
    pub fn switch_inline_query(&self, query: &str) {
        let f = Reflect::get(self, &"switchInlineQuery".into()).unwrap_or(JsValue::UNDEFINED);
        if !f.is_function() {
            return;
        }
        let types =
            js_sys::JSON::parse(r#"["users","groups","channels"]"#).unwrap_or(JsValue::UNDEFINED);
        let f: &js_sys::Function = f.unchecked_ref();
        let _ = f.call2(self, &JsValue::from_str(query), &types);
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

    #[test]
    fn reads_deep_links() {
        assert_eq!(start_product("product_12"), Some(12));
        assert_eq!(start_product("product_x"), None);
        assert_eq!(start_product("product_-1"), None);
        assert_eq!(start_product("promo"), None);
        assert_eq!(
            start_param_in_url("http://h/?tgWebAppStartParam=product_3&x=1").as_deref(),
            Some("product_3")
        );
        assert_eq!(
            start_param_in_url("http://h/#tgWebAppData=a&tgWebAppStartParam=product_4").as_deref(),
            Some("product_4")
        );
        assert_eq!(start_param_in_url("http://h/?a=b"), None);
        // The bot's web_app button (`/start product_12`) names the product as `startapp`.
        assert_eq!(
            start_param_in_url("https://shop.example/?startapp=product_12").as_deref(),
            Some("product_12")
        );
        assert_eq!(
            start_param_in_url("https://shop.example/?x=1&startapp=product_5#tgWebAppData=a")
                .and_then(|p| start_product(&p)),
            Some(5)
        );
        assert_eq!(start_param_in_url("https://shop.example/?startapp="), None);
        assert_eq!(
            start_param_in_url("https://shop.example/?nostartapp=product_1"),
            None
        );
        assert_eq!(InvoiceStatus::parse("paid"), InvoiceStatus::Paid);
        assert_eq!(InvoiceStatus::parse("weird"), InvoiceStatus::Pending);
    }
}
