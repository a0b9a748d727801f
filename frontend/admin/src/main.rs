//! The merchant admin, served at `/admin` in a bundle of its own (the storefront's download
//! does not grow). Mounts the Leptos app on `<body>`.

mod api;
mod app;
mod chart;
mod components;
mod forms;
mod i18n;
mod pages;
mod router;

use leptos::prelude::*;

fn main() {
    console_error_panic_hook::set_once();
    let start = router::current();
    if let Some(boot) = document().get_element_by_id("boot") {
        boot.remove();
    }
    leptos::mount::mount_to_body(move || view! { <app::App start=start.clone()/> });
}
