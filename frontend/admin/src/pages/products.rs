//! Products: search (debounced), filters (category, kind, stock state) and paging over
//! `next_cursor`. A table on a desktop, cards on a phone (CSS only).

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::{Category, Page, Product, ProductKind};

use crate::api::{self, ApiError};
use crate::app::use_ctx;
use crate::forms::ProductFilter;
use crate::i18n::{kind_name, K};

const DEBOUNCE: Duration = Duration::from_millis(300);

/// Whether any variant is sold out / running low (5 or fewer), for the badge.
pub fn stock_state(p: &Product) -> &'static str {
    let tracked: Vec<i64> = p.variants.iter().filter_map(|v| v.stock).collect();
    if p.variants.is_empty()
        || (tracked.len() == p.variants.len() && tracked.iter().all(|s| *s == 0))
    {
        "out"
    } else if tracked.iter().any(|s| *s <= 5) {
        "low"
    } else {
        "in"
    }
}

#[component]
pub fn ProductsPage() -> impl IntoView {
    let ctx = use_ctx();
    let filter = RwSignal::new(ProductFilter::default());
    let typed = RwSignal::new(String::new());
    let items = RwSignal::new(Vec::<Product>::new());
    let next = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<ApiError>);
    let loading = RwSignal::new(true);
    let generation = StoredValue::new(0u32);
    let categories = RwSignal::new(Vec::<Category>::new());

    spawn_local(async move {
        if let Ok(p) = api::get::<Page<Category>>("/api/admin/categories").await {
            categories.set(p.items);
        }
    });

    let load = move |more: bool| {
        let gen = generation.get_value() + 1;
        generation.set_value(gen);
        let mut f = filter.get_untracked();
        f.cursor = if more { next.get_untracked() } else { None };
        loading.set(true);
        spawn_local(async move {
            let r = api::get::<Page<Product>>(&format!("/api/admin/products{}", f.query())).await;
            if generation.get_value() != gen {
                return;
            }
            loading.set(false);
            match r {
                Ok(page) => {
                    error.set(None);
                    if more {
                        items.update(|v| v.extend(page.items));
                    } else {
                        items.set(page.items);
                    }
                    next.set(page.next_cursor);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| {
        filter.track();
        load(false);
    });

    let timer = StoredValue::new_local(None::<TimeoutHandle>);
    let on_search = move |ev: leptos::ev::Event| {
        typed.set(event_target_value(&ev));
        if let Some(h) = timer.get_value() {
            h.clear();
        }
        let h = set_timeout_with_handle(
            move || {
                let q = typed.get_untracked();
                if filter.with_untracked(|f| f.q != q) {
                    filter.update(|f| f.q = q);
                }
            },
            DEBOUNCE,
        )
        .ok();
        timer.set_value(h);
    };

    let cat_name = move |id: Option<i64>| {
        id.and_then(|id| {
            categories.with(|c| c.iter().find(|c| c.id == id).map(|c| c.title.clone()))
        })
        .unwrap_or_default()
    };

    view! {
        <div class="page-head">
            <h1>{move || ctx.t(K::Products)}</h1>
            <a class="btn btn--primary" href="/admin/products/new" data-testid="new-product">{move || ctx.t(K::NewProduct)}</a>
        </div>
        <div class="filters card">
            <label class="field field--grow">
                <span>{move || ctx.t(K::Search)}</span>
                <input type="search" data-testid="search" prop:value=typed on:input=on_search placeholder=move || ctx.t(K::SearchHint)/>
            </label>
            <label class="field">
                <span>{move || ctx.t(K::Category)}</span>
                <select data-testid="filter-category" on:change=move |e| { let v = event_target_value(&e); filter.update(|f| f.category = v) }>
                    <option value="">{move || ctx.t(K::All)}</option>
                    {move || categories.get().into_iter().map(|c| view! {
                        <option value=c.id.to_string()>{c.title}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="field">
                <span>{move || ctx.t(K::Kind)}</span>
                <select data-testid="filter-kind" on:change=move |e| { let v = event_target_value(&e); filter.update(|f| f.kind = v) }>
                    <option value="">{move || ctx.t(K::All)}</option>
                    {[ProductKind::Physical, ProductKind::Digital, ProductKind::Subscription].into_iter().map(|k| view! {
                        <option value=k.as_str()>{move || kind_name(ctx.lang.get(), k)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="field">
                <span>{move || ctx.t(K::Stock)}</span>
                <select data-testid="filter-stock" on:change=move |e| { let v = event_target_value(&e); filter.update(|f| f.stock = v) }>
                    <option value="">{move || ctx.t(K::All)}</option>
                    <option value="in">{move || ctx.t(K::InStock)}</option>
                    <option value="low">{move || ctx.t(K::LowStock)}</option>
                    <option value="out">{move || ctx.t(K::OutOfStock)}</option>
                </select>
            </label>
        </div>
        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{ctx.fail(&e)}</p> })}
        <div class="table-wrap" aria-busy=move || loading.get().to_string()>
            <table class="table table--cards" data-testid="products">
                <thead>
                    <tr>
                        <th scope="col">{move || ctx.t(K::Image)}</th>
                        <th scope="col">{move || ctx.t(K::Title)}</th>
                        <th scope="col">{move || ctx.t(K::Kind)}</th>
                        <th scope="col">{move || ctx.t(K::Category)}</th>
                        <th scope="col">{move || ctx.t(K::Price)}</th>
                        <th scope="col">{move || ctx.t(K::Stock)}</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || items.get() key=|p| (p.id, p.title.clone(), p.archived) let:p>
                        {
                            let href = format!("/admin/products/{}", p.id);
                            let price = p.variants.first().map(|v| v.price.display()).unwrap_or_default();
                            let stock: String = if p.variants.iter().any(|v| v.stock.is_none()) {
                                "∞".into()
                            } else {
                                p.variants.iter().filter_map(|v| v.stock).sum::<i64>().to_string()
                            };
                            let state = stock_state(&p);
                            let kind = p.kind;
                            let cat = p.category_id;
                            view! {
                                <tr data-testid="product-row" data-product-id=p.id>
                                    <td class="cell-thumb">
                                        {p.images.first().cloned().map(|src| view! { <img class="thumb" src=src alt=""/> })}
                                    </td>
                                    <td data-label=move || ctx.t(K::Title)>
                                        <span>
                                            <a href=href class="row-link">{p.title.clone()}</a>
                                            {p.archived.then(|| view! { <span class="badge badge--archived" data-testid="archived">{move || ctx.t(K::Archived)}</span> })}
                                        </span>
                                    </td>
                                    <td data-label=move || ctx.t(K::Kind)>{move || kind_name(ctx.lang.get(), kind)}</td>
                                    <td data-label=move || ctx.t(K::Category)>{move || cat_name(cat)}</td>
                                    <td data-label=move || ctx.t(K::Price)>{price}</td>
                                    <td data-label=move || ctx.t(K::Stock)>
                                        <span class=format!("badge badge--stock-{state}")>{stock}</span>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <Show when=move || !loading.get() && items.with(Vec::is_empty) && error.get().is_none()>
                <p class="muted empty" data-testid="empty">{move || ctx.t(K::NoProducts)}</p>
            </Show>
        </div>
        <Show when=move || next.with(Option::is_some)>
            <button class="btn btn--wide" data-testid="more" disabled=move || loading.get() on:click=move |_| load(true)>
                {move || ctx.t(K::LoadMore)}
            </button>
        </Show>
    }
}
