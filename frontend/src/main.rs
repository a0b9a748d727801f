//! The shop's storefront, a Telegram Mini App. Mounts the Leptos app on `<body>`.

mod api;
mod app;
mod components;
mod pages;
mod telegram;

use leptos::prelude::*;

use crate::app::App;
use crate::telegram::WebApp;

fn main() {
    console_error_panic_hook::set_once();

    let web_app = WebApp::get();
    telegram::apply_theme(web_app.as_ref());
    if let Some(tg) = &web_app {
        let tg_for_event = tg.clone();
        tg.on_event("themeChanged", move || {
            telegram::apply_theme(Some(&tg_for_event))
        });
    }
    let init_data = web_app.as_ref().map(WebApp::init_data).unwrap_or_default();

    // index.html draws a static skeleton so a phone shows something while the WASM
    // downloads; the app's own skeleton takes over from here.
    if let Some(boot) = document().get_element_by_id("boot") {
        boot.remove();
    }
    leptos::mount::mount_to_body(move || view! { <App init_data/> });

    // The first frame is in the DOM: let Telegram drop its placeholder and open full height.
    if let Some(tg) = &web_app {
        tg.notify_ready();
        tg.expand_full();
    }
}
