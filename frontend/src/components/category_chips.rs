use leptos::prelude::*;
use shared::Category;

/// A horizontally scrolling row of category filters, "All" first. Writes the chosen
/// category id (or `None` for all) into `selected`.
#[component]
pub fn CategoryChips(categories: Vec<Category>, selected: RwSignal<Option<i64>>) -> impl IntoView {
    let chip = move |id: Option<i64>, label: String| {
        let active = move || selected.get() == id;
        view! {
            <button
                type="button"
                class="chip"
                class=("chip--active", active)
                aria-pressed=move || active().to_string()
                data-testid="category-chip"
                data-category-id=id.map_or_else(|| "all".to_string(), |i| i.to_string())
                on:click=move |_| selected.set(id)
            >
                {label}
            </button>
        }
    };
    view! {
        <nav class="chips" aria-label="Categories">
            {chip(None, "All".to_string())}
            {categories.into_iter().map(|c| chip(Some(c.id), c.title)).collect_view()}
        </nav>
    }
}
