//! Sign in with email and password. A lock or a spent sign-in budget (429) shows the
//! server's message and a countdown to the next try (the button waits it out).

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::{LoginRequest, LoginResponse};

use crate::api::{self, Me};
use crate::app::{use_ctx, LangSelect};
use crate::components::{new_errors, show_error, FieldError, FormError, Spinner};
use crate::i18n::{tn, K};
use crate::router::Route;

/// The seconds in the server's lockout message ("…locked for 32 more second(s).").
pub fn lock_seconds(message: &str) -> Option<i64> {
    message
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let ctx = use_ctx();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let errors = new_errors();
    let busy = RwSignal::new(false);
    // Seconds until the lockout ends (counted down here).
    let wait = RwSignal::new(0i64);

    let tick = move || {
        fn step(wait: RwSignal<i64>) {
            set_timeout(
                move || {
                    if let Some(w) = wait.try_get_untracked() {
                        if w > 0 {
                            wait.set(w - 1);
                            step(wait);
                        }
                    }
                },
                std::time::Duration::from_secs(1),
            );
        }
        step(wait);
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() || wait.get_untracked() > 0 {
            return;
        }
        let (e, p) = (
            email.get_untracked().trim().to_string(),
            password.get_untracked(),
        );
        let mut local = std::collections::BTreeMap::new();
        if !e.contains('@') {
            local.insert("email".to_string(), ctx.t(K::EmailInvalid).to_string());
        }
        if p.is_empty() {
            local.insert(
                "password".to_string(),
                ctx.t(K::PasswordRequired).to_string(),
            );
        }
        if !local.is_empty() {
            errors.set(local);
            return;
        }
        errors.update(|m| m.clear());
        busy.set(true);
        spawn_local(async move {
            let req = LoginRequest {
                email: e,
                password: p,
            };
            match api::post::<LoginResponse, _>("/api/admin/login", &req).await {
                Ok(r) => {
                    api::set_csrf(Some(&r.csrf_token));
                    password.set(String::new());
                    ctx.me.set(Some(Me {
                        id: r.admin.id,
                        email: r.admin.email,
                        role: Some(r.admin.role),
                        csrf_token: Some(r.csrf_token),
                    }));
                    busy.set(false);
                    ctx.go(Route::Dashboard, true);
                }
                Err(err) => {
                    busy.set(false);
                    // Both 429s name the seconds to wait (also sent as Retry-After).
                    if matches!(err.code(), "account_locked" | "too_many_logins") {
                        if let Some(s) = lock_seconds(&err.to_string()) {
                            wait.set(s);
                            tick();
                        }
                    }
                    show_error(&ctx, errors, &err);
                }
            }
        });
    };

    view! {
        <div class="login">
            <form class="card login__card" on:submit=submit novalidate>
                <div class="login__head">
                    <h1>{move || ctx.t(K::SignInTitle)}</h1>
                    <LangSelect/>
                </div>
                <p class="muted">{move || ctx.t(K::SignInHint)}</p>
                <label class="field">
                    <span>{move || ctx.t(K::Email)}</span>
                    <input
                        type="email"
                        autocomplete="username"
                        data-testid="email"
                        required
                        aria-describedby="email-error"
                        prop:value=email
                        on:input=move |e| email.set(event_target_value(&e))
                    />
                    <FieldError errors field="email"/>
                </label>
                <label class="field">
                    <span>{move || ctx.t(K::Password)}</span>
                    <input
                        type="password"
                        autocomplete="current-password"
                        data-testid="password"
                        required
                        aria-describedby="password-error"
                        prop:value=password
                        on:input=move |e| password.set(event_target_value(&e))
                    />
                    <FieldError errors field="password"/>
                </label>
                <FormError errors known=|f| f == "email" || f == "password"/>
                <Show when=move || { wait.get() > 0 }>
                    <p class="muted" data-testid="retry-in" aria-live="polite">
                        {move || tn(ctx.lang.get(), K::RetryIn, wait.get())}
                    </p>
                </Show>
                <button
                    type="submit"
                    class="btn btn--primary btn--wide"
                    data-testid="sign-in"
                    disabled=move || { busy.get() || wait.get() > 0 }
                    aria-busy=move || busy.get().to_string()
                >
                    {move || busy.get().then(|| view! { <Spinner/> })}
                    {move || ctx.t(K::SignIn)}
                </button>
            </form>
        </div>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_lockout_seconds() {
        assert_eq!(
            super::lock_seconds(
                "Too many wrong passwords: sign-in is locked for 32 more second(s)."
            ),
            Some(32)
        );
        assert_eq!(super::lock_seconds("Wrong email or password."), None);
    }
}
