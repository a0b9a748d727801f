//! The shop's storefront, a Telegram Mini App. Mounts the Leptos app on `<body>`.

mod api;
mod app;
mod components;
mod i18n;
#[cfg(target_arch = "wasm32")]
mod json_de;
mod json_read;
mod media;
mod pages;
mod router;
mod rx;
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

    // A deep link (`startapp=product_12`, `startapp=cart`) opens that page; otherwise the URL decides.
    let start_param = web_app.as_ref().and_then(WebApp::start_param).or_else(|| {
        window()
            .location()
            .href()
            .ok()
            .and_then(|h| telegram::start_param_in_url(&h))
    });
    let returned = window()
        .location()
        .search()
        .ok()
        .and_then(|q| router::returned_to_order(&q));
    let start = match start_param.as_deref().and_then(router::start_route) {
        Some(route) => route,
        None => returned.unwrap_or_else(router::current),
    };
    router::push(&start, true);

    // index.html draws a static skeleton so a phone shows something while the WASM
    // downloads; the app's own skeleton takes over from here.
    if let Some(boot) = document().get_element_by_id("boot") {
        boot.remove();
    }
    let app_tg = web_app.clone();
    leptos::mount::mount_to_body(
        move || view! { <App web_app=app_tg.clone() start=start.clone()/> },
    );

    // The first frame is in the DOM: let Telegram drop its placeholder and open full height.
    if let Some(tg) = &web_app {
        tg.notify_ready();
        tg.expand_full();
    }
}

/// talc instead of the default dlmalloc: less code in the first download (frontend/Cargo.toml).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
