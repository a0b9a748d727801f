//! The TON wallet: every transfer the shop counted, what became of it, the unmatched ones to
//! attach to an order (the buyer mistyped the comment) and the money to send back, recorded
//! here once the merchant has sent it from their wallet (the shop holds no key).

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{AttachTransfer, TonTransfer};
use shared::Page;

use crate::api;
use crate::app::use_ctx;
use crate::forms::datetime;
use crate::i18n::K;

/// The filter's choices: (query, label).
const FILTERS: [(&str, K); 6] = [
    ("", K::All),
    ("to_return", K::TonToReturn),
    ("unmatched", K::TonUnmatched),
    ("partial", K::TonPartial),
    ("flagged", K::TonFlagged),
    ("paid", K::TonPaid),
];

/// The words for a transfer's state (also on the order page).
pub fn state_label(state: &str) -> K {
    match state {
        "unmatched" => K::TonUnmatched,
        "partial" => K::TonPartial,
        "flagged" => K::TonFlagged,
        "returned" => K::TonReturned,
        _ => K::TonPaid,
    }
}

#[component]
pub fn TonPage() -> impl IntoView {
    let ctx = use_ctx();
    let items = RwSignal::new(Vec::<TonTransfer>::new());
    let next = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let filter = RwSignal::new(String::new());

    let load = move |more: bool| {
        let cursor = if more { next.get_untracked() } else { None };
        let f = filter.get_untracked();
        loading.set(true);
        spawn_local(async move {
            let (state, to_return) = match f.as_str() {
                "to_return" => (String::new(), "true".to_string()),
                s => (s.to_string(), String::new()),
            };
            let q = crate::forms::query_string(&[
                ("state", state),
                ("to_return", to_return),
                ("cursor", cursor.unwrap_or_default()),
                ("limit", "50".into()),
            ]);
            let r = api::get::<Page<TonTransfer>>(&format!("/api/admin/ton/transfers{q}")).await;
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
    load(false);

    // One row changed on the server: show its new state.
    let replace = move |t: TonTransfer| {
        items.update(|v| {
            if let Some(x) = v.iter_mut().find(|x| x.id == t.id) {
                *x = t;
            }
        })
    };
    let attach = move |id: i64, order: String| {
        let Ok(order_id) = order.trim().trim_start_matches('#').parse::<i64>() else {
            error.set(Some(ctx.t(K::TonOrderIdNeeded).to_string()));
            return;
        };
        spawn_local(async move {
            match api::post::<TonTransfer, _>(
                &format!("/api/admin/ton/transfers/{id}/attach"),
                &AttachTransfer { order_id },
            )
            .await
            {
                Ok(t) => {
                    error.set(None);
                    ctx.say(ctx.t(K::Saved));
                    replace(t);
                }
                Err(e) => error.set(Some(ctx.fail(&e))),
            }
        });
    };
    let returned = move |t: &TonTransfer| {
        let ask = format!(
            "{} {}",
            ctx.t(K::TonConfirmReturned),
            shared::Money::new(t.to_return_minor, t.amount.currency.clone()).display()
        );
        if !window().confirm_with_message(&ask).unwrap_or(false) {
            return;
        }
        let id = t.id;
        spawn_local(async move {
            match api::post::<TonTransfer, _>(
                &format!("/api/admin/ton/transfers/{id}/returned"),
                &(),
            )
            .await
            {
                Ok(t) => {
                    error.set(None);
                    ctx.say(ctx.t(K::Saved));
                    replace(t);
                }
                Err(e) => error.set(Some(ctx.fail(&e))),
            }
        });
    };

    view! {
        <div class="page-head"><h1>{move || ctx.t(K::TonTransfers)}</h1></div>
        <p class="muted">{move || ctx.t(K::TonIntro)}</p>
        <div class="filters card">
            <label class="field">
                <span>{move || ctx.t(K::Status)}</span>
                <select data-testid="ton-filter" on:change=move |e| { filter.set(event_target_value(&e)); load(false); }>
                    {FILTERS.into_iter().map(|(v, k)| view! { <option value=v>{move || ctx.t(k)}</option> }).collect_view()}
                </select>
            </label>
        </div>
        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        <div class="table-wrap" aria-busy=move || loading.get().to_string()>
            <table class="table table--cards" data-testid="ton-transfers">
                <thead>
                    <tr>
                        <th scope="col">{move || ctx.t(K::Date)}</th>
                        <th scope="col">{move || ctx.t(K::Total)}</th>
                        <th scope="col">{move || ctx.t(K::Status)}</th>
                        <th scope="col">{move || ctx.t(K::TonComment)}</th>
                        <th scope="col">{move || ctx.t(K::Orders)}</th>
                        <th scope="col">{move || ctx.t(K::TonToReturn)}</th>
                        <th scope="col"></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || items.get() key=|t| (t.id, t.state.clone(), t.to_return_minor) let:t>
                        {
                            let order_in = RwSignal::new(String::new());
                            let (id, unmatched) = (t.id, t.state == "unmatched");
                            let owes = t.to_return_minor > 0;
                            let label = state_label(&t.state);
                            let t2 = t.clone();
                            view! {
                                <tr data-testid="ton-row" data-state=t.state.clone() data-id=t.id>
                                    <td data-label=move || ctx.t(K::Date) class="nowrap">
                                        <a href=t.explorer_url.clone() target="_blank" rel="noopener">{datetime(t.chain_time)}</a>
                                    </td>
                                    <td data-label=move || ctx.t(K::Total)>{t.amount.display()}</td>
                                    <td data-label=move || ctx.t(K::Status)>
                                        {move || ctx.t(label)}
                                        {t.note.clone().map(|n| view! { <small class="muted">" · "{n}</small> })}
                                    </td>
                                    <td data-label=move || ctx.t(K::TonComment)><code>{t.comment.clone().unwrap_or_default()}</code></td>
                                    <td data-label=move || ctx.t(K::Orders)>
                                        {t.order_id.map(|o| view! { <a href=format!("/admin/orders/{o}")>{format!("#{o}")}</a> })}
                                    </td>
                                    <td data-label=move || ctx.t(K::TonToReturn)>
                                        {owes.then(|| shared::Money::new(t.to_return_minor, t.amount.currency.clone()).display())}
                                    </td>
                                    <td><div class="ton-actions">
                                        {unmatched.then(|| view! {
                                            <input type="text" inputmode="numeric" size="6" data-testid="ton-attach-order"
                                                placeholder="#" aria-label=move || ctx.t(K::TonAttach)
                                                on:input=move |e| order_in.set(event_target_value(&e))/>
                                            <button type="button" class="btn" data-testid="ton-attach"
                                                on:click=move |_| attach(id, order_in.get_untracked())>{move || ctx.t(K::TonAttach)}</button>
                                        })}
                                        {(owes && ctx.is_owner()).then(|| view! {
                                            <button type="button" class="btn btn--ghost" data-testid="ton-returned"
                                                on:click=move |_| returned(&t2)>{move || ctx.t(K::TonMarkReturned)}</button>
                                        })}
                                    </div></td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <Show when=move || !loading.get() && items.with(Vec::is_empty) && error.get().is_none()>
                <p class="muted empty" data-testid="empty">{move || ctx.t(K::TonNone)}</p>
            </Show>
        </div>
        <Show when=move || next.with(Option::is_some)>
            <button class="btn btn--wide" data-testid="more" disabled=move || loading.get() on:click=move |_| load(true)>
                {move || ctx.t(K::LoadMore)}
            </button>
        </Show>
    }
}
