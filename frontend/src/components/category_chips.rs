use leptos::prelude::*;
use shared::Category;

use crate::app::use_ctx;
use crate::i18n::K;
use crate::rx;

/// A horizontally scrolling row of category filters, "All" first. Writes the chosen
/// category id (or `None` for all) into `selected`.
#[component]
pub fn CategoryChips(categories: Vec<Category>, selected: RwSignal<Option<i64>>) -> impl IntoView {
    let ctx = use_ctx();
    let chip = move |id: Option<i64>, label: rx::Text| {
        let active = move || selected.get() == id;
        view! {
            <button
                type="button"
                class="chip"
                class=("chip--active", rx::flag(active))
                aria-pressed=rx::bool_attr(active)
                data-testid="category-chip"
                data-category-id=id.map_or_else(|| "all".to_string(), |i| i.to_string())
                on:click=move |_| selected.set(id)
            >
                {label}
            </button>
        }
    };
    view! {
        <nav class="chips" aria-label=rx::str(move || ctx.t(K::Categories))>
            {chip(None, rx::text(move || ctx.t(K::All).to_string()))}
            {categories.into_iter().map(|c| chip(Some(c.id), rx::text(move || c.title.clone()))).collect_view()}
        </nav>
    }
}
