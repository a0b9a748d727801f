//! Admins: who can sign in, and adding another (an admin adds admins).

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use shared::admin::AdminAccount;
use shared::Page;

use crate::api;
use crate::app::use_ctx;
use crate::components::{new_errors, show_error, FieldError, FormError, Spinner};
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
                &json!({"email": e, "password": p}),
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

    view! {
        <div class="page-head"><h1>{move || ctx.t(K::Admins)}</h1></div>
        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        <section class="card">
            <ul class="rank" data-testid="admins">
                <For each=move || items.get() key=|a| a.id let:a>
                    <li data-testid="admin">
                        <strong>{a.email.clone()}</strong>
                        <span class="muted">{format!(" · {}", datetime(a.created_at))}</span>
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
            </div>
            <FormError errors known=|f| f == "email" || f == "password"/>
            <button type="submit" class="btn btn--primary" data-testid="add-admin" disabled=move || busy.get()>
                {move || busy.get().then(|| view! { <Spinner/> })}
                {move || ctx.t(K::AddAdmin)}
            </button>
        </form>
    }
}
