use leptos::prelude::*;

use crate::app::use_ctx;
use crate::rx;

/// Outside Telegram, the page's primary action ([`crate::app::MainAction`]) as a bar at the
/// bottom; inside Telegram, MainButton does that job and this renders nothing.
///
/// Only the screens behind the catalog have a main action, so each of them renders this bar
/// after itself (pages/lazy.rs) and its code comes with their chunks, not the first download.
#[component]
pub fn MainBar() -> impl IntoView {
    let ctx = use_ctx();
    (!ctx.in_telegram()).then(|| {
        rx::view(move || {
            ctx.main
                .get()
                .map(|a| {
                    let run = a.run;
                    view! {
                        <div class="mainbar-space" aria-hidden="true"></div>
                        <div class="mainbar">
                            <button
                                type="button"
                                class="mainbar__button"
                                data-testid="main-action"
                                disabled=!a.enabled || a.busy
                                aria-busy=a.busy.to_string()
                                on:click=move |_| run.run(())
                            >
                                {a.busy.then(|| view! { <span class="spinner" aria-hidden="true"></span> })}
                                {a.text}
                            </button>
                        </div>
                    }
                })
                .into_any()
        })
    })
}
