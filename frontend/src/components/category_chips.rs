use leptos::prelude::*;

use crate::app::use_ctx;
use crate::i18n::K;
use crate::json_read::{FromJson, Json};
use crate::rx;

/// What a chip shows of a `shared::Category` (the rest of the answer is not read, which keeps
/// its decoding out of the first download; `tests::reads_a_shared_category` keeps the names in
/// step).
#[derive(Clone, Debug, PartialEq)]
pub struct ChipCategory {
    pub id: i64,
    pub title: String,
}

impl FromJson for ChipCategory {
    fn from_json<J: Json>(v: &J) -> Option<Self> {
        Some(ChipCategory {
            id: v.int_at("id")?,
            title: v.str_at("title")?,
        })
    }
}

/// A horizontally scrolling row of category filters, "All" first. Writes the chosen
/// category id (or `None` for all) into `selected`.
pub fn category_chips(
    categories: Vec<ChipCategory>,
    selected: RwSignal<Option<i64>>,
) -> impl IntoView {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_shared_category() {
        let full = shared::Category {
            id: 4,
            slug: "home".into(),
            title: "Home".into(),
            position: 2,
            texts: None,
        };
        let chip = ChipCategory::from_json(&serde_json::to_value(&full).unwrap());
        assert_eq!(
            chip.unwrap(),
            ChipCategory {
                id: 4,
                title: "Home".into()
            }
        );
    }
}
