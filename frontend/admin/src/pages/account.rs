//! The signed-in admin's own account: change the password (the old one is asked, the other
//! sessions end) and sign out everywhere (every session, this one included).

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{PasswordChange, MIN_ADMIN_PASSWORD_CHARS};

use crate::api;
use crate::app::use_ctx;
use crate::components::{new_errors, show_error, Ask, Confirm, FieldError, FormError, Spinner};
use crate::i18n::K;

#[component]
pub fn AccountPage() -> impl IntoView {
    let ctx = use_ctx();
    let old = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let errors = new_errors();
    let busy = RwSignal::new(false);
    let ask = RwSignal::new(None::<Ask>);

    let change = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (o, n) = (old.get_untracked(), new.get_untracked());
        let mut local = std::collections::BTreeMap::new();
        if o.is_empty() {
            local.insert(
                "old_password".to_string(),
                ctx.t(K::PasswordRequired).to_string(),
            );
        }
        if n.chars().count() < MIN_ADMIN_PASSWORD_CHARS {
            local.insert(
                "new_password".to_string(),
                ctx.t(K::PasswordShort).to_string(),
            );
        }
        if !local.is_empty() {
            errors.set(local);
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let body = PasswordChange {
                old_password: o,
                new_password: n,
            };
            let r = api::post_json_empty("/api/admin/password", &body).await;
            busy.set(false);
            match r {
                Ok(()) => {
                    errors.update(|m| m.clear());
                    old.set(String::new());
                    new.set(String::new());
                    ctx.say(ctx.t(K::PasswordChanged));
                }
                Err(e) => show_error(&ctx, errors, &e),
            }
        });
    };

    let everywhere = move |_| {
        ask.set(Some(Ask {
            title: ctx.t(K::SignOutEverywhere).to_string(),
            body: ctx.t(K::SignOutEverywhereHint).to_string(),
            option: None,
            yes: ctx.t(K::SignOutEverywhere).to_string(),
            danger: true,
            run: Callback::new(move |()| {
                spawn_local(async move {
                    match api::post_empty("/api/admin/logout-everywhere").await {
                        Ok(()) => ctx.signed_out(),
                        Err(e) => {
                            let msg = ctx.fail(&e);
                            ctx.say(msg);
                        }
                    }
                });
            }),
        }));
    };

    view! {
        <div class="page-head"><h1>{move || ctx.t(K::Account)}</h1></div>
        <section class="card">
            <p data-testid="account-email">
                <strong>{move || ctx.me.get().map(|m| m.email)}</strong>
                <span class="muted">
                    {move || format!(" · {}", ctx.t(if ctx.is_owner() { K::RoleOwner } else { K::RoleStaff }))}
                </span>
            </p>
        </section>
        <form class="card" on:submit=change novalidate>
            <h2>{move || ctx.t(K::ChangePassword)}</h2>
            <div class="grid-2">
                <label class="field">
                    <span>{move || ctx.t(K::CurrentPassword)}</span>
                    <input type="password" autocomplete="current-password" data-testid="old-password" aria-describedby="old_password-error" prop:value=old on:input=move |e| old.set(event_target_value(&e))/>
                    <FieldError errors field="old_password"/>
                </label>
                <label class="field">
                    <span>{move || ctx.t(K::NewPassword)}</span>
                    <input type="password" autocomplete="new-password" data-testid="new-password" aria-describedby="new_password-error" prop:value=new on:input=move |e| new.set(event_target_value(&e))/>
                    <FieldError errors field="new_password"/>
                </label>
            </div>
            <FormError errors known=|f| f == "old_password" || f == "new_password"/>
            <button type="submit" class="btn btn--primary" data-testid="change-password" disabled=move || busy.get()>
                {move || busy.get().then(|| view! { <Spinner/> })}
                {move || ctx.t(K::ChangePassword)}
            </button>
        </form>
        <section class="card">
            <h2>{move || ctx.t(K::SignOutEverywhere)}</h2>
            <p class="muted">{move || ctx.t(K::SignOutEverywhereHint)}</p>
            <button type="button" class="btn btn--danger-ghost" data-testid="sign-out-everywhere" on:click=everywhere>
                {move || ctx.t(K::SignOutEverywhere)}
            </button>
        </section>
        <Confirm ask/>
    }
}
