//! Small pieces every page uses: field errors, the confirm dialog, status badges.

use std::collections::BTreeMap;

use leptos::prelude::*;
use shared::OrderStatus;

use crate::api::ApiError;
use crate::app::{use_ctx, Ctx};
use crate::i18n::{status_name, K};

/// A form's errors by field path (`title.en`, `variants[0].price`); `""` is the form's own.
pub type Errors = RwSignal<BTreeMap<String, String>>;

pub fn new_errors() -> Errors {
    RwSignal::new(BTreeMap::new())
}

/// Puts a failed call's message next to the field the server named (or on the form).
/// Takes the context as an argument: it runs after an `await`, outside the component's owner,
/// where `use_ctx()` would find nothing.
pub fn show_error(ctx: &Ctx, errors: Errors, e: &ApiError) {
    let msg = ctx.fail(e);
    let field = e.field().unwrap_or("").to_string();
    errors.update(|m| {
        m.clear();
        m.insert(field, msg);
    });
}

/// The message for `field`, shown under it and tied to it for screen readers
/// (`aria-describedby="<field>-error"`).
#[component]
pub fn FieldError(errors: Errors, #[prop(into)] field: String) -> impl IntoView {
    let id = format!("{field}-error");
    let f = field.clone();
    let msg = Memo::new(move |_| errors.with(|m| m.get(&f).cloned()));
    view! {
        <Show when=move || msg.with(Option::is_some)>
            <p class="field-error" id=id.clone() data-testid=id.clone() role="alert">{move || msg.get()}</p>
        </Show>
    }
}

/// Errors that name no field the form shows next to an input (`known` says which it does).
#[component]
pub fn FormError(errors: Errors, known: fn(&str) -> bool) -> impl IntoView {
    let msg = move || errors.with(|m| m.iter().find(|(k, _)| !known(k)).map(|(_, v)| v.clone()));
    view! {
        <Show when=move || msg().is_some()>
            <p class="form-error" data-testid="form-error" role="alert">{msg}</p>
        </Show>
    }
}

/// A question the admin must answer before an action runs (ship, refund, delete…).
#[derive(Clone)]
pub struct Ask {
    pub title: String,
    pub body: String,
    /// A checkbox under the question (its label and value), e.g. putting a refunded order's
    /// items back on sale.
    pub option: Option<(String, RwSignal<bool>)>,
    pub yes: String,
    pub danger: bool,
    pub run: Callback<()>,
}

/// The confirm dialog for `ask` (hidden while `None`). Escape or Cancel closes it.
#[component]
pub fn Confirm(ask: RwSignal<Option<Ask>>) -> impl IntoView {
    let ctx = use_ctx();
    // Focus moves into the dialog when it opens, so Enter confirms and Escape closes it.
    let yes_ref = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(b) = yes_ref.get() {
            let _ = b.focus();
        }
    });
    view! {
        {move || ask.get().map(|a| {
            let run = a.run;
            view! {
                <div class="overlay" on:click=move |_| ask.set(None)></div>
                <div
                    class="dialog"
                    role="alertdialog"
                    aria-modal="true"
                    aria-labelledby="dialog-title"
                    aria-describedby="dialog-body"
                    data-testid="confirm"
                    on:keydown=move |e| if e.key() == "Escape" { ask.set(None) }
                >
                    <h2 id="dialog-title">{a.title}</h2>
                    <p id="dialog-body">{a.body}</p>
                    {a.option.map(|(label, on)| view! {
                        <label class="dialog__option">
                            <input
                                type="checkbox"
                                data-testid="confirm-option"
                                prop:checked=move || on.get()
                                on:change=move |e| on.set(event_target_checked(&e))
                            />
                            {label}
                        </label>
                    })}
                    <div class="dialog__actions">
                        <button type="button" class="btn" data-testid="confirm-no" on:click=move |_| ask.set(None)>
                            {ctx.t(K::Cancel)}
                        </button>
                        <button
                            type="button"
                            class="btn btn--primary"
                            class:btn--danger=a.danger
                            data-testid="confirm-yes"
                            node_ref=yes_ref
                            on:click=move |_| {
                                ask.set(None);
                                run.run(());
                            }
                        >
                            {a.yes}
                        </button>
                    </div>
                </div>
            }
        })}
    }
}

#[component]
pub fn StatusBadge(status: OrderStatus) -> impl IntoView {
    let ctx = use_ctx();
    view! {
        <span class=format!("badge badge--{}", status.as_str()) data-testid="status" data-status=status.as_str()>
            {move || status_name(ctx.lang.get(), status)}
        </span>
    }
}

/// A spinner for buttons and sections that are waiting on the server.
#[component]
pub fn Spinner() -> impl IntoView {
    view! { <span class="spinner" aria-hidden="true"></span> }
}
