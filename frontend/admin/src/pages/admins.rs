//! Admins (owners only): who can sign in and with which role; adding an owner or staff,
//! disabling, enabling and removing one. The server keeps the last active owner.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{AdminAccount, AdminRole, NewAdmin};
use shared::Page;

use crate::api;
use crate::app::use_ctx;
use crate::components::{new_errors, show_error, Ask, Confirm, FieldError, FormError, Spinner};
use crate::forms::datetime;
use crate::i18n::K;

/// The list answer may be a `Page` or a bare array.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum List {
    Page(Page<AdminAccount>),
    Bare(Vec<AdminAccount>),
}

#[component]
pub fn AdminsPage() -> impl IntoView {
    let ctx = use_ctx();
    let items = RwSignal::new(Vec::<AdminAccount>::new());
    let error = RwSignal::new(None::<String>);
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let errors = new_errors();
    let busy = RwSignal::new(false);
    let role = RwSignal::new(AdminRole::Staff);
    let ask = RwSignal::new(None::<Ask>);

    let load = move || {
        spawn_local(async move {
            match api::get::<List>("/api/admin/admins").await {
                Ok(List::Page(p)) => items.set(p.items),
                Ok(List::Bare(v)) => items.set(v),
                Err(e) => error.set(Some(ctx.fail(&e))),
            }
        });
    };
    load();

    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (e, p) = (
            email.get_untracked().trim().to_string(),
            password.get_untracked(),
        );
        let mut local = std::collections::BTreeMap::new();
        if !e.contains('@') {
            local.insert("email".to_string(), ctx.t(K::EmailInvalid).to_string());
        }
        if p.chars().count() < shared::admin::MIN_ADMIN_PASSWORD_CHARS {
            local.insert("password".to_string(), ctx.t(K::PasswordShort).to_string());
        }
        if !local.is_empty() {
            errors.set(local);
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let r = api::post::<AdminAccount, _>(
                "/api/admin/admins",
                &NewAdmin {
                    email: e,
                    password: p,
                    role: role.get_untracked(),
                },
            )
            .await;
            busy.set(false);
            match r {
                Ok(_) => {
                    errors.update(|m| m.clear());
                    email.set(String::new());
                    password.set(String::new());
                    ctx.say(ctx.t(K::Saved));
                    load();
                }
                Err(err) => show_error(&ctx, errors, &err),
            }
        });
    };

    // Disable, enable or remove one admin; disable and remove ask first.
    let act = move |a: AdminAccount, what: &'static str| {
        let run = Callback::new(move |()| {
            let id = a.id;
            spawn_local(async move {
                let r = if what == "remove" {
                    api::delete_empty(&format!("/api/admin/admins/{id}")).await
                } else {
                    // These take no fields; `{}` is the empty JSON object they expect.
                    api::post::<AdminAccount, _>(
                        &format!("/api/admin/admins/{id}/{what}"),
                        &serde_json::Map::new(),
                    )
                    .await
                    .map(|_| ())
                };
                match r {
                    Ok(()) => {
                        ctx.say(ctx.t(K::Saved));
                        load();
                    }
                    Err(e) => error.set(Some(ctx.fail(&e))),
                }
            });
        });
        let (title, body, yes) = match what {
            "disable" => (K::DisableAdminQ, K::DisableAdminHint, K::Disable),
            "remove" => (K::RemoveAdminQ, K::RemoveAdminHint, K::Delete),
            _ => return run.run(()),
        };
        ask.set(Some(Ask {
            title: format!("{} {}", ctx.t(title), a.email),
            body: ctx.t(body).to_string(),
            option: None,
            yes: ctx.t(yes).to_string(),
            danger: true,
            run,
        }));
    };
    let role_name = move |r: AdminRole| {
        ctx.t(match r {
            AdminRole::Owner => K::RoleOwner,
            AdminRole::Staff => K::RoleStaff,
        })
    };
    let me_id = move || ctx.me.with(|m| m.as_ref().map(|m| m.id));

    view! {
        <div class="page-head"><h1>{move || ctx.t(K::Admins)}</h1></div>
        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        <section class="card">
            <ul class="rank" data-testid="admins">
                // Keyed by what a row shows, not by id alone: a keyed list keeps the old row
                // for an unchanged key, so a disabled admin would still look active.
                <For each=move || items.get() key=|a| (a.id, a.role.as_str(), a.disabled_at) let:a>
                    <li
                        data-testid="admin"
                        data-role=a.role.as_str()
                        data-disabled=a.disabled_at.is_some().to_string()
                    >
                        <strong>{a.email.clone()}</strong>
                        <span class="badge" data-testid="admin-role">{move || role_name(a.role)}</span>
                        {a.disabled_at.map(|_| view! {
                            <span class="badge badge--cancelled" data-testid="admin-disabled">{move || ctx.t(K::Disabled)}</span>
                        })}
                        {move || (me_id() == Some(a.id)).then(|| view! { <span class="muted">{format!(" ({})", ctx.t(K::You))}</span> })}
                        <span class="muted">{format!(" · {}", datetime(a.created_at))}</span>
                        <span class="actions">
                            {
                                let (a1, a2) = (a.clone(), a.clone());
                                let disabled = a.disabled_at.is_some();
                                view! {
                                    <button
                                        type="button"
                                        class="btn btn--ghost"
                                        data-testid=if disabled { "admin-enable" } else { "admin-disable" }
                                        on:click=move |_| act(a1.clone(), if disabled { "enable" } else { "disable" })
                                    >
                                        {move || ctx.t(if disabled { K::Enable } else { K::Disable })}
                                    </button>
                                    <button
                                        type="button"
                                        class="btn btn--danger-ghost"
                                        data-testid="admin-remove"
                                        on:click=move |_| act(a2.clone(), "remove")
                                    >
                                        {move || ctx.t(K::Delete)}
                                    </button>
                                }
                            }
                        </span>
                    </li>
                </For>
            </ul>
        </section>
        <form class="card" on:submit=add novalidate>
            <h2>{move || ctx.t(K::AddAdmin)}</h2>
            <div class="grid-2">
                <label class="field">
                    <span>{move || ctx.t(K::Email)}</span>
                    <input type="email" autocomplete="off" data-testid="admin-email" aria-describedby="email-error" prop:value=email on:input=move |e| email.set(event_target_value(&e))/>
                    <FieldError errors field="email"/>
                </label>
                <label class="field">
                    <span>{move || ctx.t(K::Password)}</span>
                    <input type="password" autocomplete="new-password" data-testid="admin-password" aria-describedby="password-error" prop:value=password on:input=move |e| password.set(event_target_value(&e))/>
                    <FieldError errors field="password"/>
                </label>
                <label class="field">
                    <span>{move || ctx.t(K::Role)}</span>
                    <select
                        data-testid="admin-role-select"
                        on:change=move |e| role.set(if event_target_value(&e) == "owner" { AdminRole::Owner } else { AdminRole::Staff })
                    >
                        <option value="staff" selected=move || role.get() == AdminRole::Staff>{move || ctx.t(K::RoleStaff)}</option>
                        <option value="owner" selected=move || role.get() == AdminRole::Owner>{move || ctx.t(K::RoleOwner)}</option>
                    </select>
                </label>
            </div>
            <p class="muted">{move || ctx.t(K::RoleHint)}</p>
            <FormError errors known=|f| f == "email" || f == "password"/>
            <button type="submit" class="btn btn--primary" data-testid="add-admin" disabled=move || busy.get()>
                {move || busy.get().then(|| view! { <Spinner/> })}
                {move || ctx.t(K::AddAdmin)}
            </button>
        </form>
        <Confirm ask/>
    }
}
