//! Sales at a glance over a chosen range: revenue per day per currency, orders created vs
//! paid, totals, best sellers and what is running out.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::Dashboard;
use shared::{Currency, Lang, Money, Texts};

use crate::api::{self, ApiError};
use crate::app::use_ctx;
use crate::chart::{BarChart, LineChart};
use crate::forms::{day_string, parse_day, query_string};
use crate::i18n::K;

/// A text in the interface language, else any language it has.
pub fn pick(t: &Texts, lang: Lang) -> String {
    t.pick(lang, &[Lang::En, Lang::Ru, Lang::Uz])
        .unwrap_or("—")
        .to_string()
}

/// Every day of the range, so days without sales still take their place on the axis.
fn days_of(from: &str, to: &str) -> Vec<String> {
    match (parse_day(from), parse_day(to)) {
        (Some(a), Some(b)) if b >= a && b - a <= 366 => (a..=b).map(day_string).collect(),
        _ => vec![],
    }
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let ctx = use_ctx();
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let data = RwSignal::new(None::<Result<Dashboard, ApiError>>);

    let load = move || {
        let q = query_string(&[("from", from.get_untracked()), ("to", to.get_untracked())]);
        spawn_local(async move {
            let r = api::get::<Dashboard>(&format!("/api/admin/dashboard{q}")).await;
            if let Ok(d) = &r {
                from.set(d.from.clone());
                to.set(d.to.clone());
            }
            data.set(Some(r));
        });
    };
    load();

    view! {
        <div class="page-head">
            <h1>{move || ctx.t(K::Dashboard)}</h1>
            <form class="range" on:submit=move |e| { e.prevent_default(); load(); }>
                <label class="field field--inline">
                    <span>{move || ctx.t(K::From)}</span>
                    <input type="date" data-testid="from" prop:value=from on:change=move |e| from.set(event_target_value(&e))/>
                </label>
                <label class="field field--inline">
                    <span>{move || ctx.t(K::To)}</span>
                    <input type="date" data-testid="to" prop:value=to on:change=move |e| to.set(event_target_value(&e))/>
                </label>
                <button type="submit" class="btn" data-testid="apply-range">{move || ctx.t(K::Apply)}</button>
            </form>
        </div>
        {move || {
            ctx.lang.track();
            let res = data.get();
            match res {
            None => view! { <p class="muted" aria-busy="true">{ctx.t(K::Loading)}</p> }.into_any(),
            Some(Err(e)) => view! {
                <p class="form-error" role="alert">{ctx.fail(&e)}</p>
                <button class="btn" on:click=move |_| load()>{ctx.t(K::Retry)}</button>
            }.into_any(),
            Some(Ok(d)) => view! { <DashboardBody d/> }.into_any(),
            }
        }}
    }
}

#[component]
fn DashboardBody(d: Dashboard) -> impl IntoView {
    let ctx = use_ctx();
    let lang = ctx.lang.get_untracked();
    let days = days_of(&d.from, &d.to);
    let created: i64 = d.orders.iter().map(|o| o.created).sum();
    let paid: i64 = d.orders.iter().map(|o| o.paid).sum();
    let mut currencies: Vec<String> = d.revenue.iter().map(|r| r.currency.clone()).collect();
    currencies.extend(d.totals.iter().map(|m| m.currency.as_str().to_string()));
    currencies.sort();
    currencies.dedup();
    let order_days: Vec<String> = d.orders.iter().map(|o| o.day.clone()).collect();
    let created_v: Vec<i64> = d.orders.iter().map(|o| o.created).collect();
    let paid_v: Vec<i64> = d.orders.iter().map(|o| o.paid).collect();

    let revenue_charts = currencies
        .into_iter()
        .filter_map(|code| {
            let cur = Currency::new(&code).ok()?;
            let values: Vec<i64> = days
                .iter()
                .map(|day| {
                    d.revenue
                        .iter()
                        .filter(|r| &r.day == day && r.currency == code)
                        .map(|r| r.amount_minor)
                        .sum()
                })
                .collect();
            let c2 = cur.clone();
            let label = Callback::new(move |v: i64| Money::new(v, c2.clone()).display());
            let title = format!("{} · {code}", t_static(lang, K::RevenuePerDay));
            Some(view! {
                <figure class="card chart-card" data-testid="revenue-chart" data-currency=code.clone()>
                    <figcaption>{title.clone()}</figcaption>
                    <BarChart days=days.clone() values title label/>
                </figure>
            })
        })
        .collect_view();

    view! {
        <section class="stats" aria-label=t_static(lang, K::Totals)>
            {d.totals.iter().map(|m| view! {
                <div class="card stat" data-testid="total" data-currency=m.currency.as_str().to_string()>
                    <span class="stat__label">{t_static(lang, K::Revenue)}" · "{m.currency.as_str().to_string()}</span>
                    <span class="stat__value">{m.display()}</span>
                </div>
            }).collect_view()}
            {d.totals.is_empty().then(|| view! {
                <div class="card stat"><span class="stat__label">{t_static(lang, K::Revenue)}</span><span class="stat__value">"0"</span></div>
            })}
            <div class="card stat" data-testid="orders-created">
                <span class="stat__label">{t_static(lang, K::OrdersCreated)}</span>
                <span class="stat__value">{created}</span>
            </div>
            <div class="card stat" data-testid="orders-paid">
                <span class="stat__label">{t_static(lang, K::OrdersPaid)}</span>
                <span class="stat__value">{paid}</span>
            </div>
        </section>
        <div class="charts">
            {revenue_charts}
            <figure class="card chart-card" data-testid="orders-chart">
                <figcaption>
                    {t_static(lang, K::OrdersCreatedVsPaid)}
                    <span class="legend legend--created">{t_static(lang, K::Created)}</span>
                    <span class="legend legend--paid">{t_static(lang, K::Paid)}</span>
                </figcaption>
                <LineChart days=order_days created=created_v paid=paid_v title=t_static(lang, K::OrdersCreatedVsPaid)/>
            </figure>
        </div>
        <div class="two-col">
            <section class="card">
                <h2>{t_static(lang, K::TopProducts)}</h2>
                {if d.top_products.is_empty() {
                    view! { <p class="muted">{t_static(lang, K::NothingYet)}</p> }.into_any()
                } else {
                    view! {
                        <ol class="rank" data-testid="top-products">
                            {d.top_products.iter().map(|p| view! {
                                <li>
                                    <a href=format!("/admin/products/{}", p.product_id)>{pick(&p.title, lang)}</a>
                                    <span class="muted">{format!(" × {}", p.quantity)}</span>
                                    <span class="rank__money">{p.revenue.iter().map(Money::display).collect::<Vec<_>>().join(" + ")}</span>
                                </li>
                            }).collect_view()}
                        </ol>
                    }.into_any()
                }}
            </section>
            <section class="card">
                <h2>{t_static(lang, K::LowStock)}</h2>
                {if d.low_stock.is_empty() {
                    view! { <p class="muted">{t_static(lang, K::NothingLow)}</p> }.into_any()
                } else {
                    view! {
                        <ul class="rank" data-testid="low-stock">
                            {d.low_stock.iter().map(|l| view! {
                                <li>
                                    <a href=format!("/admin/products/{}", l.product_id)>{pick(&l.title, lang)}</a>
                                    <span class="muted">{format!(" · {}", l.sku)}</span>
                                    <span class="badge" class:badge--out=l.stock == 0>{l.stock}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </div>
    }
}

fn t_static(lang: Lang, k: K) -> &'static str {
    crate::i18n::t(lang, k)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_axis_has_every_day_of_the_range() {
        let d = super::days_of("2026-02-27", "2026-03-02");
        assert_eq!(d, ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]);
        assert!(super::days_of("2026-03-02", "2026-02-27").is_empty());
        assert!(super::days_of("x", "2026-02-27").is_empty());
    }
}
