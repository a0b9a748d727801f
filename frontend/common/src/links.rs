//! Plain `<a href>` links that navigate inside the single-page app instead of reloading it.
//!
//! Pages render ordinary links (so they work with a keyboard, a long-press menu or a middle
//! click); one window-level click listener turns a plain left click on an in-app link into an
//! in-app navigation. Modified clicks (new tab, new window, download) stay with the browser.

use leptos::ev;
use leptos::prelude::window_event_listener;
use wasm_bindgen::JsCast;

/// Intercepts plain left clicks on links for which `in_app(href, link)` is true and calls
/// `navigate(href)` instead of letting the browser load the page. Links with a `target`
/// attribute always stay with the browser.
pub fn navigate_in_app(
    in_app: impl Fn(&str, &web_sys::Element) -> bool + 'static,
    navigate: impl Fn(&str) + 'static,
) {
    let _ = window_event_listener(ev::click, move |e: web_sys::MouseEvent| {
        if e.default_prevented()
            || e.button() != 0
            || e.meta_key()
            || e.ctrl_key()
            || e.shift_key()
            || e.alt_key()
        {
            return;
        }
        let Some(a) = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.closest("a[href]").ok().flatten())
        else {
            return;
        };
        let href = a.get_attribute("href").unwrap_or_default();
        if !a.has_attribute("target") && in_app(&href, &a) {
            e.prevent_default();
            navigate(&href);
        }
    });
}
