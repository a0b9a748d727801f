//! Orders: filters (status, payment rail, date range, customer) and paging over
//! `next_cursor`; a table on a desktop, cards on a phone.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::{Order, OrderStatus, Page, PaymentMethod};

use crate::api::{self, ApiError};
use crate::app::use_ctx;
use crate::components::StatusBadge;
use crate::forms::{datetime, OrderFilter};
use crate::i18n::{method_name, status_name, K};

#[component]
pub fn OrdersPage() -> impl IntoView {
    let ctx = use_ctx();
    let filter = RwSignal::new(OrderFilter::default());
    let items = RwSignal::new(Vec::<Order>::new());
    let next = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let loading = RwSignal::new(true);
    let generation = StoredValue::new(0u32);

    let load = move |more: bool| {
        let mut f = filter.get_untracked();
        f.cursor = if more { next.get_untracked() } else { None };
        let q = match f.query() {
            Ok(q) => q,
            Err(field) => {
                error.set(Some(format!("{}: {}", field, ctx.t(K::DateInvalid))));
                return;
            }
        };
        let gen = generation.get_value() + 1;
        generation.set_value(gen);
        loading.set(true);
        spawn_local(async move {
            let r: Result<Page<Order>, ApiError> = api::get(&format!("/api/admin/orders{q}")).await;
            if generation.get_value() != gen {
                return;
            }
            loading.set(false);
            match r {
                Ok(p) => {
                    error.set(None);
                    if more {
                        items.update(|v| v.extend(p.items));
                    } else {
                        items.set(p.items);
                    }
                    next.set(p.next_cursor);
                }
                Err(e) => error.set(Some(ctx.fail(&e))),
            }
        });
    };
    Effect::new(move |_| {
        filter.track();
        load(false);
    });

    let set = move |f: fn(&mut OrderFilter, String)| {
        move |e: leptos::ev::Event| {
            let v = event_target_value(&e);
            filter.update(|flt| f(flt, v));
        }
    };

    view! {
        <div class="page-head"><h1>{move || ctx.t(K::Orders)}</h1></div>
        <div class="filters card">
            <label class="field">
                <span>{move || ctx.t(K::Status)}</span>
                <select data-testid="filter-status" on:change=set(|f, v| f.status = v)>
                    <option value="">{move || ctx.t(K::All)}</option>
                    {OrderStatus::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str()>{move || status_name(ctx.lang.get(), s)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="field">
                <span>{move || ctx.t(K::PaymentMethod)}</span>
                <select data-testid="filter-method" on:change=set(|f, v| f.payment_method = v)>
                    <option value="">{move || ctx.t(K::All)}</option>
                    {PaymentMethod::ALL.into_iter().map(|m| view! {
                        <option value=m.as_str()>{move || method_name(ctx.lang.get(), m)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="field">
                <span>{move || ctx.t(K::From)}</span>
                <input type="date" data-testid="filter-from" on:change=set(|f, v| f.from = v)/>
            </label>
            <label class="field">
                <span>{move || ctx.t(K::To)}</span>
                <input type="date" data-testid="filter-to" on:change=set(|f, v| f.to = v)/>
            </label>
            <label class="field">
                <span>{move || ctx.t(K::CustomerId)}</span>
                <input type="text" inputmode="numeric" data-testid="filter-customer" on:change=set(|f, v| f.customer = v)/>
            </label>
            <label class="field field--check">
                <input type="checkbox" data-testid="filter-flagged"
                    on:change=move |e| { let on = event_target_checked(&e); filter.update(|f| f.flagged = on) }/>
                <span>{move || ctx.t(K::FlaggedOnly)}</span>
            </label>
        </div>
        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        <div class="table-wrap" aria-busy=move || loading.get().to_string()>
            <table class="table table--cards" data-testid="orders">
                <thead>
                    <tr>
                        <th scope="col">"#"</th>
                        <th scope="col">{move || ctx.t(K::Date)}</th>
                        <th scope="col">{move || ctx.t(K::Status)}</th>
                        <th scope="col">{move || ctx.t(K::PaymentMethod)}</th>
                        <th scope="col">{move || ctx.t(K::Customer)}</th>
                        <th scope="col">{move || ctx.t(K::Total)}</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || items.get() key=|o| (o.id, o.status) let:o>
                        {
                            let method = o.payment_method;
                            let who = o.contact.as_ref().map(|c| c.name.clone()).filter(|n| !n.is_empty())
                                .or(o.customer_id.map(|c| format!("#{c}"))).unwrap_or_default();
                            view! {
                                <tr data-testid="order-row" data-order-id=o.id>
                                    <td data-label="#"><a class="row-link" href=format!("/admin/orders/{}", o.id)>{format!("#{}", o.id)}</a></td>
                                    <td data-label=move || ctx.t(K::Date)>{datetime(o.created_at)}</td>
                                    <td data-label=move || ctx.t(K::Status)><StatusBadge status=o.status/>
                                        {o.risk.as_ref().filter(|r| r.confirmed_at.is_none()).map(|r| view! {
                                            <span class="badge badge--warn" data-testid="flagged" title=r.reason.clone()>{move || ctx.t(K::Flagged)}</span>
                                        })}
                                    </td>
                                    <td data-label=move || ctx.t(K::PaymentMethod)>{move || method_name(ctx.lang.get(), method)}</td>
                                    <td data-label=move || ctx.t(K::Customer)>{who}</td>
                                    <td data-label=move || ctx.t(K::Total)>{o.total.display()}</td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <Show when=move || !loading.get() && items.with(Vec::is_empty) && error.get().is_none()>
                <p class="muted empty" data-testid="empty">{move || ctx.t(K::NoOrders)}</p>
            </Show>
        </div>
        <Show when=move || next.with(Option::is_some)>
            <button class="btn btn--wide" data-testid="more" disabled=move || loading.get() on:click=move |_| load(true)>
                {move || ctx.t(K::LoadMore)}
            </button>
        </Show>
    }
}
