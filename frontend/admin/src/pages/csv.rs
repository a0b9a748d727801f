//! CSV: export links for orders and products, and a products import that reports every bad
//! row (and then changes nothing) or what it created and updated.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{CsvImportReport, CsvRowError};
use wasm_bindgen::JsCast;

use crate::api;
use crate::app::use_ctx;
use crate::components::Spinner;
use crate::i18n::{tn, K};

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Done(CsvImportReport),
    Rows(String, Vec<CsvRowError>),
    Failed(String),
}

#[component]
pub fn CsvPage() -> impl IntoView {
    let ctx = use_ctx();
    let file = RwSignal::new_local(None::<web_sys::File>);
    let progress = RwSignal::new(None::<u32>);
    let outcome = RwSignal::new(None::<Outcome>);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if progress.get_untracked().is_some() {
            return;
        }
        let Some(f) = file.get_untracked() else {
            outcome.set(Some(Outcome::Failed(ctx.t(K::ChooseCsv).into())));
            return;
        };
        outcome.set(None);
        progress.set(Some(0));
        spawn_local(async move {
            let r = api::upload::<CsvImportReport>("/api/admin/products.csv", &f, move |p| {
                progress.set(Some(p))
            })
            .await;
            progress.set(None);
            outcome.set(Some(match r {
                Ok(rep) => Outcome::Done(rep),
                Err(e) if !e.rows().is_empty() => Outcome::Rows(e.to_string(), e.rows().to_vec()),
                Err(e) => Outcome::Failed(ctx.fail(&e)),
            }));
        });
    };

    view! {
        <div class="page-head"><h1>{move || ctx.t(K::Csv)}</h1></div>
        <section class="card">
            <h2>{move || ctx.t(K::Export)}</h2>
            <p class="muted">{move || ctx.t(K::ExportHint)}</p>
            <div class="actions">
                <a class="btn" href="/api/admin/orders.csv" download="orders.csv" data-testid="export-orders">{move || ctx.t(K::ExportOrders)}</a>
                <a class="btn" href="/api/admin/products.csv" download="products.csv" data-testid="export-products">{move || ctx.t(K::ExportProducts)}</a>
            </div>
        </section>
        <form class="card" on:submit=submit novalidate>
            <h2>{move || ctx.t(K::ImportProducts)}</h2>
            <p class="muted">{move || ctx.t(K::ImportHint)}</p>
            <label class="field">
                <span>{move || ctx.t(K::CsvFile)}</span>
                <input
                    type="file"
                    accept=".csv,text/csv"
                    data-testid="csv-file"
                    disabled=move || progress.get().is_some()
                    on:change=move |e: leptos::ev::Event| {
                        let f = e.target()
                            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                            .and_then(|i| i.files())
                            .and_then(|l| l.get(0));
                        file.set(f);
                    }
                />
            </label>
            <button type="submit" class="btn btn--primary" data-testid="import" disabled=move || progress.get().is_some()>
                {move || progress.get().map(|_| view! { <Spinner/> })}
                {move || match progress.get() {
                    Some(p) => format!("{} {p}%", ctx.t(K::Uploading)),
                    None => ctx.t(K::Import).to_string(),
                }}
            </button>
            {move || outcome.get().map(|o| match o {
                Outcome::Done(r) => view! {
                    <p class="ok" role="status" data-testid="import-done">
                        {tn(ctx.lang.get(), K::ImportCreated, r.created)}" · "{tn(ctx.lang.get(), K::ImportUpdated, r.updated)}
                    </p>
                }.into_any(),
                Outcome::Failed(m) => view! { <p class="form-error" role="alert" data-testid="import-error">{m}</p> }.into_any(),
                Outcome::Rows(m, rows) => view! {
                    <div role="alert" data-testid="import-rows">
                        <p class="form-error">{m}" "{ctx.t(K::NothingChanged)}</p>
                        <table class="table table--cards">
                            <thead><tr>
                                <th scope="col">{ctx.t(K::Line)}</th>
                                <th scope="col">{ctx.t(K::Column)}</th>
                                <th scope="col">{ctx.t(K::Problem)}</th>
                            </tr></thead>
                            <tbody>
                                {rows.into_iter().map(|r| view! {
                                    <tr data-testid="import-row">
                                        <td data-label=ctx.t(K::Line)>{r.line}</td>
                                        <td data-label=ctx.t(K::Column)>{r.column.unwrap_or_default()}</td>
                                        <td data-label=ctx.t(K::Problem)>{r.message}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            })}
        </form>
    }
}
