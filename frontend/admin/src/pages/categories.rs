//! Categories: create, rename per language, reorder (the whole order saved in one call).

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{CategoryOrder, CategoryPatch, NewCategory};
use shared::{Category, Lang, Page};

use crate::api::{self, ApiError};
use crate::app::use_ctx;
use crate::components::{new_errors, show_error, FieldError, FormError, Spinner};
use crate::forms::texts_of;
use crate::i18n::{lang_name, K};

/// The categories in their saved order.
async fn fetch() -> Result<Vec<Category>, ApiError> {
    let mut v = api::get::<Page<Category>>("/api/admin/categories")
        .await?
        .items;
    v.sort_by_key(|c| (c.position, c.id));
    Ok(v)
}

#[component]
pub fn CategoriesPage() -> impl IntoView {
    let ctx = use_ctx();
    let items = RwSignal::new(Vec::<Category>::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let errors = new_errors();
    let new_title: [RwSignal<String>; 3] = [
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    ];

    // Lists are fetched after a create, a rename and each move, and answers can arrive out
    // of order: only the newest request's answer is shown, so an older list never replaces
    // a move already on screen (a click on it would then undo that move).
    let latest = StoredValue::new(0u64);
    let refresh = move || async move {
        latest.update_value(|n| *n += 1);
        let mine = latest.get_value();
        let r = fetch().await;
        if latest.get_value() != mine {
            return;
        }
        match r {
            Ok(v) => {
                items.set(v);
                error.set(None);
            }
            Err(e) => error.set(Some(e)),
        }
    };
    let load = move || spawn_local(refresh());
    load();

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let v = new_title.map(|s| s.get_untracked());
        if v.iter().all(|s| s.trim().is_empty()) {
            errors.set([("title".to_string(), ctx.t(K::TitleRequired).to_string())].into());
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let body = NewCategory {
                title: texts_of(&v),
                slug: None,
                position: None,
            };
            let r = api::post::<Category, _>("/api/admin/categories", &body).await;
            match r {
                Ok(_) => {
                    errors.update(|m| m.clear());
                    for s in new_title {
                        s.set(String::new());
                    }
                    ctx.say(ctx.t(K::Saved));
                    // Still busy: a move before the new row is listed would send an order
                    // without it.
                    refresh().await;
                }
                Err(e) => show_error(&ctx, errors, &e),
            }
            busy.set(false);
        });
    };

    // Moves a category up or down a place: the whole new order goes to the server in one call, which saves it
    // in one transaction (no half-moved list, no two categories sharing a position).
    // The arrows stay disabled until the list on screen is the saved one: a click in between
    // would send an order built from the stale list and undo the move just made.
    let shift = move |id: i64, delta: isize| {
        if busy.get_untracked() {
            return;
        }
        let mut list = items.get_untracked();
        let Some(i) = list.iter().position(|c| c.id == id) else {
            return;
        };
        let j = i as isize + delta;
        if j < 0 || j as usize >= list.len() {
            return;
        }
        list.swap(i, j as usize);
        let ids: Vec<i64> = list.iter().map(|c| c.id).collect();
        busy.set(true);
        // A list asked for before this move is out of date whenever it arrives.
        latest.update_value(|n| *n += 1);
        spawn_local(async move {
            let r = api::put::<Page<Category>, _>(
                "/api/admin/categories/order",
                &CategoryOrder { ids },
            )
            .await;
            match r {
                Ok(_) => items.set(list),
                Err(e) => ctx.say(ctx.fail(&e)),
            }
            refresh().await;
            busy.set(false);
        });
    };

    view! {
        <div class="page-head"><h1>{move || ctx.t(K::Categories)}</h1></div>
        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{ctx.fail(&e)}</p> })}
        <form class="card" on:submit=create novalidate data-testid="new-category">
            <h2>{move || ctx.t(K::NewCategory)}</h2>
            <div class="lang-grid">
                {Lang::ALL.into_iter().enumerate().map(|(i, l)| {
                    let s = new_title[i];
                    view! {
                        <label class="field lang-col">
                            <span>{lang_name(l)}</span>
                            <input type="text" lang=l.code() data-testid=format!("new-category-{}", l.code()) prop:value=s on:input=move |e| s.set(event_target_value(&e))/>
                        </label>
                    }
                }).collect_view()}
            </div>
            <FieldError errors field="title"/>
            <FormError errors known=|f| f == "title"/>
            <button type="submit" class="btn btn--primary" data-testid="create-category" disabled=move || busy.get()>
                {move || busy.get().then(|| view! { <Spinner/> })}
                {move || ctx.t(K::Create)}
            </button>
        </form>
        <ul class="cat-list" data-testid="categories">
            // Keyed by id and texts: a moved row keeps its element (and what is typed in it);
            // its arrows work out where it is when clicked, from the list on screen.
            <For each=move || items.get() key=|c| (c.id, format!("{:?}", c.texts)) let:c>
                {
                    let id = c.id;
                    let at = Signal::derive(move || items.with(|l| l.iter().position(|x| x.id == id)));
                    let n = Signal::derive(move || items.with(Vec::len));
                    view! {
                        <CategoryRow c at n busy on_move=Callback::new(move |d| shift(id, d)) on_saved=Callback::new(move |()| load())/>
                    }
                }
            </For>
        </ul>
    }
}

#[component]
fn CategoryRow(
    c: Category,
    /// Where the row is in the list now.
    at: Signal<Option<usize>>,
    n: Signal<usize>,
    busy: RwSignal<bool>,
    /// Up (-1) or down (1) a place.
    on_move: Callback<isize>,
    on_saved: Callback<()>,
) -> impl IntoView {
    let ctx = use_ctx();
    let texts = c.texts.clone().unwrap_or_default();
    let sigs = Lang::ALL.map(|l| RwSignal::new(texts.get_raw(l).unwrap_or("").to_string()));
    let errors = new_errors();
    let saving = RwSignal::new(false);
    let id = c.id;
    let rename = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let v = sigs.map(|s| s.get_untracked());
        if v.iter().all(|s| s.trim().is_empty()) {
            errors.set([("title".to_string(), ctx.t(K::TitleRequired).to_string())].into());
            return;
        }
        saving.set(true);
        spawn_local(async move {
            let body = CategoryPatch {
                title: Some(texts_of(&v)),
                ..CategoryPatch::default()
            };
            let r = api::patch::<Category, _>(&format!("/api/admin/categories/{id}"), &body).await;
            saving.set(false);
            match r {
                Ok(_) => {
                    errors.update(|m| m.clear());
                    ctx.say(ctx.t(K::Saved));
                    on_saved.run(());
                }
                Err(e) => show_error(&ctx, errors, &e),
            }
        });
    };
    view! {
        <li class="card cat" data-testid="category" data-category-id=id>
            <form on:submit=rename novalidate>
                <div class="cat__head">
                    <span class="muted">{format!("#{} · {}", c.id, c.slug)}</span>
                    <div class="cat__order">
                        <button type="button" class="btn btn--icon" data-testid="category-up" aria-label=move || ctx.t(K::MoveUp)
                            disabled=move || at.get() == Some(0) || busy.get() on:click=move |_| on_move.run(-1)>"↑"</button>
                        <button type="button" class="btn btn--icon" data-testid="category-down" aria-label=move || ctx.t(K::MoveDown)
                            disabled=move || { at.get().map(|i| i + 1) == Some(n.get()) || busy.get() } on:click=move |_| on_move.run(1)>"↓"</button>
                    </div>
                </div>
                <div class="lang-grid">
                    {Lang::ALL.into_iter().enumerate().map(|(j, l)| {
                        let s = sigs[j];
                        view! {
                            <label class="field lang-col">
                                <span>
                                    {lang_name(l)}
                                    <Show when=move || s.with(|v| v.trim().is_empty())>
                                        <span class="badge badge--missing">{move || ctx.t(K::Missing)}</span>
                                    </Show>
                                </span>
                                <input type="text" lang=l.code() data-testid=format!("category-{}", l.code()) prop:value=s on:input=move |e| s.set(event_target_value(&e))/>
                            </label>
                        }
                    }).collect_view()}
                </div>
                <FieldError errors field="title"/>
                <FormError errors known=|f| f == "title"/>
                <button type="submit" class="btn" data-testid="rename-category" disabled=move || saving.get()>{move || ctx.t(K::Save)}</button>
            </form>
        </li>
    }
}
