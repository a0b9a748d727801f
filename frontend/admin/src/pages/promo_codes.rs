//! Promo codes: the list (code, rule, uses of the limit, revenue of paid orders with the code,
//! status) with pause / resume, and the form that creates one. A code's rule is fixed once
//! made (orders were priced by it), so there is no editor: pause it and make another.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{PromoCode, PromoStatus};
use shared::Page;
use wasm_bindgen::JsValue;

use crate::api::{self, ApiError};
use crate::app::use_ctx;
use crate::components::{new_errors, FieldError, FormError, Spinner};
use crate::forms::{promo_request, PromoForm};
use crate::i18n::K;

/// A `datetime-local` value (the merchant's own time zone) as RFC 3339 in UTC; `Some("")`
/// when empty, `None` when the browser cannot read it.
fn local_to_rfc3339(s: &str) -> Option<String> {
    if s.trim().is_empty() {
        return Some(String::new());
    }
    let d = js_sys::Date::new(&JsValue::from_str(s));
    if d.get_time().is_nan() {
        return None;
    }
    d.to_iso_string().as_string()
}

/// A stored RFC 3339 time in the merchant's own time zone.
fn shown_time(s: &str) -> String {
    let d = js_sys::Date::new(&JsValue::from_str(s));
    if d.get_time().is_nan() {
        return s.to_string();
    }
    d.to_locale_string("default", &JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_else(|| s.to_string())
}

fn status_key(s: PromoStatus) -> K {
    match s {
        PromoStatus::Active => K::PromoActive,
        PromoStatus::Paused => K::PromoPaused,
        PromoStatus::Scheduled => K::PromoScheduled,
        PromoStatus::Ended => K::PromoEnded,
        PromoStatus::UsedUp => K::PromoUsedUp,
    }
}

#[component]
pub fn PromoCodesPage() -> impl IntoView {
    let ctx = use_ctx();
    let items = RwSignal::new(Vec::<PromoCode>::new());
    let next = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let load = move |more: bool| {
        loading.set(true);
        let cursor = if more { next.get_untracked() } else { None };
        spawn_local(async move {
            let path = match &cursor {
                Some(c) => format!("/api/admin/promo-codes?cursor={c}"),
                None => "/api/admin/promo-codes".to_string(),
            };
            match api::get::<Page<PromoCode>>(&path).await {
                Ok(p) => {
                    if more {
                        items.update(|v| v.extend(p.items));
                    } else {
                        items.set(p.items);
                    }
                    next.set(p.next_cursor);
                    error.set(None);
                }
                Err(e) => error.set(Some(ctx.fail(&e))),
            }
            loading.set(false);
        });
    };
    load(false);

    // Pause / resume: the answer replaces its row.
    let busy_row = RwSignal::new(None::<i64>);
    let toggle = move |p: PromoCode| {
        if busy_row.get_untracked().is_some() {
            return;
        }
        busy_row.set(Some(p.id));
        let action = if p.paused { "resume" } else { "pause" };
        spawn_local(async move {
            let r = api::post::<PromoCode, _>(
                &format!("/api/admin/promo-codes/{}/{action}", p.id),
                &serde_json::json!({}),
            )
            .await;
            match r {
                Ok(after) => {
                    items.update(|v| {
                        if let Some(row) = v.iter_mut().find(|r| r.id == after.id) {
                            *row = after;
                        }
                    });
                    ctx.say(ctx.t(K::Saved));
                }
                Err(e) => error.set(Some(ctx.fail(&e))),
            }
            busy_row.set(None);
        });
    };

    let rule = move |p: &PromoCode| {
        let off = match (&p.percent_off, &p.amount_off) {
            (Some(pct), _) => format!("−{pct} %"),
            (None, Some(m)) => format!("−{}", m.display()),
            _ => String::new(),
        };
        match &p.min_total {
            Some(m) => format!("{off} · {} {}", ctx.t(K::MinShort), m.display()),
            None => off,
        }
    };

    view! {
        <div class="page-head"><h1>{move || ctx.t(K::PromoCodes)}</h1></div>
        <NewPromo on_created=Callback::new(move |p: PromoCode| items.update(|v| v.insert(0, p)))/>
        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        <div class="table-wrap" aria-busy=move || loading.get().to_string()>
            <table class="table table--cards" data-testid="promo-codes">
                <thead>
                    <tr>
                        <th scope="col">{move || ctx.t(K::PromoCode)}</th>
                        <th scope="col">{move || ctx.t(K::Rule)}</th>
                        <th scope="col">{move || ctx.t(K::Uses)}</th>
                        <th scope="col">{move || ctx.t(K::PromoRevenue)}</th>
                        <th scope="col">{move || ctx.t(K::Status)}</th>
                        <th scope="col"><span class="sr-only">{move || ctx.t(K::Pause)}</span></th>
                    </tr>
                </thead>
                <tbody>
                    // Keyed by what a row shows: a paused row must be redrawn.
                    <For each=move || items.get() key=|p| (p.id, p.paused, p.uses) let:p>
                        {
                            let (id, paused, status) = (p.id, p.paused, p.status);
                            let uses = match p.max_uses {
                                Some(m) => format!("{} / {m}", p.uses),
                                None => format!("{} / ∞", p.uses),
                            };
                            let per_customer = p.max_uses_per_customer.map(|m| format!(" (≤ {m})")).unwrap_or_default();
                            let revenue = if p.revenue.is_empty() {
                                "—".to_string()
                            } else {
                                p.revenue.iter().map(|m| m.display()).collect::<Vec<_>>().join(", ")
                            };
                            let window = match (&p.starts_at, &p.ends_at) {
                                (None, None) => None,
                                (s, e) => Some(format!(
                                    "{} – {}",
                                    s.as_deref().map(shown_time).unwrap_or_default(),
                                    e.as_deref().map(shown_time).unwrap_or_default()
                                )),
                            };
                            let rule_text = rule(&p);
                            let row = p.clone();
                            view! {
                                <tr data-testid="promo-row" data-code=p.code.clone() data-status=format!("{status:?}")>
                                    <td data-label=move || ctx.t(K::PromoCode)><strong>{p.code.clone()}</strong></td>
                                    <td data-label=move || ctx.t(K::Rule)>
                                        {rule_text}
                                        {window.map(|w| view! { <br/><small class="muted">{w}</small> })}
                                    </td>
                                    <td data-label=move || ctx.t(K::Uses) data-testid="promo-uses">{uses}{per_customer}</td>
                                    <td data-label=move || ctx.t(K::PromoRevenue)>{revenue}<small class="muted">{format!(" · {}", p.paid_orders)}</small></td>
                                    <td data-label=move || ctx.t(K::Status)>
                                        <span class="badge" class=("badge--cancelled", status != PromoStatus::Active)
                                            class=("badge--paid", status == PromoStatus::Active)
                                            data-testid="promo-status">{move || ctx.t(status_key(status))}</span>
                                    </td>
                                    <td>
                                        <button type="button" class="btn btn--ghost" data-testid="promo-toggle"
                                            disabled=move || busy_row.get() == Some(id)
                                            on:click=move |_| toggle(row.clone())>
                                            {move || ctx.t(if paused { K::Resume } else { K::Pause })}
                                        </button>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <Show when=move || !loading.get() && items.with(Vec::is_empty) && error.get().is_none()>
                <p class="muted empty" data-testid="empty">{move || ctx.t(K::NoPromoCodes)}</p>
            </Show>
        </div>
        <Show when=move || next.with(Option::is_some)>
            <button class="btn btn--wide" data-testid="more" disabled=move || loading.get() on:click=move |_| load(true)>
                {move || ctx.t(K::LoadMore)}
            </button>
        </Show>
    }
}

#[component]
fn NewPromo(on_created: Callback<PromoCode>) -> impl IntoView {
    let ctx = use_ctx();
    let errors = new_errors();
    let busy = RwSignal::new(false);
    let code = RwSignal::new(String::new());
    let percent = RwSignal::new(true);
    let value = RwSignal::new(String::new());
    let currency = RwSignal::new("UZS".to_string());
    let min_total = RwSignal::new(String::new());
    let max_uses = RwSignal::new(String::new());
    let per_customer = RwSignal::new(String::new());
    let starts = RwSignal::new(String::new());
    let ends = RwSignal::new(String::new());

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let form = PromoForm {
            code: code.get_untracked(),
            percent: percent.get_untracked(),
            value: value.get_untracked(),
            currency: currency.get_untracked(),
            min_total: min_total.get_untracked(),
            max_uses: max_uses.get_untracked(),
            max_uses_per_customer: per_customer.get_untracked(),
            starts_at: local_to_rfc3339(&starts.get_untracked()),
            ends_at: local_to_rfc3339(&ends.get_untracked()),
        };
        let body = match promo_request(&form) {
            Ok(b) => b,
            Err((field, k)) => {
                errors.set([(field.to_string(), ctx.t(k).to_string())].into());
                return;
            }
        };
        busy.set(true);
        spawn_local(async move {
            match api::post::<PromoCode, _>("/api/admin/promo-codes", &body).await {
                Ok(p) => {
                    errors.update(|m| m.clear());
                    for s in [code, value, min_total, max_uses, per_customer, starts, ends] {
                        s.set(String::new());
                    }
                    ctx.say(ctx.t(K::Saved));
                    on_created.run(p);
                }
                Err(e) => show_api_error(&ctx, errors, &e),
            }
            busy.set(false);
        });
    };

    let input = move |field: &'static str,
                      label: K,
                      sig: RwSignal<String>,
                      kind: &'static str,
                      hint: Option<K>| {
        view! {
            <label class="field">
                <span>{move || ctx.t(label)}</span>
                <input type=kind data-testid=format!("promo-{field}") aria-describedby=format!("{field}-error")
                    placeholder=move || hint.map(|h| ctx.t(h)).unwrap_or_default()
                    prop:value=sig on:input=move |e| sig.set(event_target_value(&e))/>
                <FieldError errors field=field/>
            </label>
        }
    };
    const FIELDS: [&str; 10] = [
        "code",
        "percent_off",
        "amount_off",
        "currency",
        "min_total",
        "max_uses",
        "max_uses_per_customer",
        "starts_at",
        "ends_at",
        "",
    ];

    view! {
        <form class="card" on:submit=submit novalidate data-testid="new-promo">
            <h2>{move || ctx.t(K::NewPromo)}</h2>
            <div class="grid-2">
                {input("code", K::PromoCode, code, "text", None)}
                <label class="field">
                    <span>{move || ctx.t(K::DiscountValue)}</span>
                    <select data-testid="promo-kind" on:change=move |e| percent.set(event_target_value(&e) == "percent")>
                        <option value="percent" selected=move || percent.get()>{move || ctx.t(K::PercentOff)}</option>
                        <option value="amount" selected=move || !percent.get()>{move || ctx.t(K::AmountOff)}</option>
                    </select>
                </label>
                <label class="field">
                    <span>{move || if percent.get() { ctx.t(K::PercentOff) } else { ctx.t(K::AmountOff) }}</span>
                    <input type="text" inputmode="decimal" data-testid="promo-value" prop:value=value
                        on:input=move |e| value.set(event_target_value(&e))/>
                    <FieldError errors field="percent_off"/>
                    <FieldError errors field="amount_off"/>
                </label>
                {input("currency", K::Currency, currency, "text", None)}
                {input("min_total", K::MinTotal, min_total, "text", Some(K::LimitHint))}
                {input("max_uses", K::MaxUses, max_uses, "number", Some(K::LimitHint))}
                {input("max_uses_per_customer", K::MaxUsesPerCustomer, per_customer, "number", Some(K::LimitHint))}
                {input("starts_at", K::StartsAt, starts, "datetime-local", None)}
                {input("ends_at", K::EndsAt, ends, "datetime-local", None)}
            </div>
            <FormError errors known=|f| FIELDS.contains(&f) && !f.is_empty()/>
            <button type="submit" class="btn btn--primary" data-testid="create-promo" disabled=move || busy.get()>
                {move || busy.get().then(|| view! { <Spinner/> })}
                {move || ctx.t(K::Create)}
            </button>
        </form>
    }
}

/// The server's message next to the field it names (a taken code is a 409 without a field:
/// it belongs to the code).
fn show_api_error(ctx: &crate::app::Ctx, errors: crate::components::Errors, e: &ApiError) {
    let field = match (e.field(), e.code()) {
        (Some(f), _) => f.to_string(),
        (None, "code_taken") => "code".to_string(),
        _ => String::new(),
    };
    let msg = ctx.fail(e);
    errors.update(|m| {
        m.clear();
        m.insert(field, msg);
    });
}
