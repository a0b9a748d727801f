//! The audit log: who did what, when, and what it changed (before → after, only the
//! fields that differ).

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::AuditEntry;
use shared::Page;

use crate::api;
use crate::app::use_ctx;
use crate::forms::{datetime, diff};
use crate::i18n::K;

#[component]
pub fn AuditPage() -> impl IntoView {
    let ctx = use_ctx();
    let items = RwSignal::new(Vec::<AuditEntry>::new());
    let next = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);

    let load = move |more: bool| {
        let cursor = if more { next.get_untracked() } else { None };
        loading.set(true);
        spawn_local(async move {
            let q = crate::forms::query_string(&[
                ("cursor", cursor.unwrap_or_default()),
                ("limit", "50".into()),
            ]);
            let r = api::get::<Page<AuditEntry>>(&format!("/api/admin/audit{q}")).await;
            loading.set(false);
            match r {
                Ok(p) => {
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

    view! {
        <div class="page-head"><h1>{move || ctx.t(K::Audit)}</h1></div>
        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        <ol class="audit" data-testid="audit">
            <For each=move || items.get() key=|e| e.id let:e>
                {
                    let changes = diff(e.before.as_ref(), e.after.as_ref());
                    let what = format!("{} {}{}", e.action, e.entity, e.entity_id.map(|i| format!(" #{i}")).unwrap_or_default());
                    view! {
                        <li class="card audit__item" data-testid="audit-entry" data-action=e.action.clone()>
                            <div class="audit__head">
                                <strong>{what}</strong>
                                <span class="muted">{e.admin_email.clone().unwrap_or_else(|| "—".into())}</span>
                                {e.client_ip.clone().map(|ip| view! {
                                    <span class="muted" data-testid="audit-ip" title=move || ctx.t(K::ClientIp)>{ip}</span>
                                })}
                                <time class="muted">{datetime(e.created_at)}</time>
                            </div>
                            {(!changes.is_empty()).then(|| view! {
                                <details>
                                    <summary>{move || ctx.t(K::Changes)}" ("{changes.len()}")"</summary>
                                    <table class="diff">
                                        <thead><tr>
                                            <th scope="col">{move || ctx.t(K::Field)}</th>
                                            <th scope="col">{move || ctx.t(K::Before)}</th>
                                            <th scope="col">{move || ctx.t(K::After)}</th>
                                        </tr></thead>
                                        <tbody>
                                            {changes.iter().map(|c| view! {
                                                <tr>
                                                    <th scope="row">{c.path.clone()}</th>
                                                    <td class="diff__old">{c.before.clone().unwrap_or_else(|| "—".into())}</td>
                                                    <td class="diff__new">{c.after.clone().unwrap_or_else(|| "—".into())}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </details>
                            })}
                        </li>
                    }
                }
            </For>
        </ol>
        <Show when=move || next.with(Option::is_some)>
            <button class="btn btn--wide" data-testid="more" disabled=move || loading.get() on:click=move |_| load(true)>
                {move || ctx.t(K::LoadMore)}
            </button>
        </Show>
    }
}
