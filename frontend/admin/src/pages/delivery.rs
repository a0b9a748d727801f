//! Delivery methods: the list (title, kind, fee, free from, zones or pickup points, status)
//! with edit, pause / resume and delete, and one form that creates or edits a method with its
//! zones (courier) or pickup points. Orders keep what they chose, so edits never change one.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{AdminDeliveryMethod, DeliveryMethodSave, DeliveryOptionSave};
use shared::money::parse_major;
use shared::{Currency, DeliveryKind, Lang, Money, Texts};

use crate::api;
use crate::app::use_ctx;
use crate::components::{new_errors, show_error, Ask, Confirm, FieldError, FormError, Spinner};
use crate::i18n::K;

/// One zone or pickup point as the form edits it.
#[derive(Clone)]
struct OptionRow {
    id: Option<i64>,
    title: [RwSignal<String>; 3],
    fee: RwSignal<String>,
    address: RwSignal<String>,
}

impl OptionRow {
    fn new() -> Self {
        OptionRow {
            id: None,
            title: [RwSignal::new(String::new()); 3].map(|_| RwSignal::new(String::new())),
            fee: RwSignal::new(String::new()),
            address: RwSignal::new(String::new()),
        }
    }
}

fn texts_of(t: &[RwSignal<String>; 3]) -> Texts {
    let mut out = Texts::default();
    for (i, l) in Lang::ALL.into_iter().enumerate() {
        out.set(l, &t[i].get_untracked());
    }
    out
}

fn shown_title(t: &Texts, lang: Lang) -> String {
    t.pick(lang, &[]).unwrap_or("—").to_string()
}

/// The method as the server takes it back (pause / resume send it whole).
fn save_of(m: &AdminDeliveryMethod, active: bool) -> DeliveryMethodSave {
    DeliveryMethodSave {
        kind: m.kind,
        title: m.title.clone(),
        fee: m.fee.clone(),
        free_above: m.free_above.clone(),
        active,
        position: m.position,
        options: m
            .options
            .iter()
            .map(|o| DeliveryOptionSave {
                id: Some(o.id),
                title: o.title.clone(),
                fee: o.fee.clone(),
                address: o.address.clone(),
            })
            .collect(),
    }
}

#[component]
pub fn DeliveryPage() -> impl IntoView {
    let ctx = use_ctx();
    let items = RwSignal::new(Vec::<AdminDeliveryMethod>::new());
    let loading = RwSignal::new(true);
    let error = RwSignal::new(None::<String>);
    let editing = RwSignal::new(None::<AdminDeliveryMethod>);
    let form_key = RwSignal::new(0u32);
    let ask = RwSignal::new(None::<Ask>);
    let load = move || {
        loading.set(true);
        spawn_local(async move {
            match api::get::<Vec<AdminDeliveryMethod>>("/api/admin/delivery-methods").await {
                Ok(v) => {
                    items.set(v);
                    error.set(None);
                }
                Err(e) => error.set(Some(ctx.fail(&e))),
            }
            loading.set(false);
        });
    };
    load();

    let busy_row = RwSignal::new(None::<i64>);
    let toggle = move |m: AdminDeliveryMethod| {
        if busy_row.get_untracked().is_some() {
            return;
        }
        busy_row.set(Some(m.id));
        spawn_local(async move {
            let body = save_of(&m, !m.active);
            match api::put::<AdminDeliveryMethod, _>(
                &format!("/api/admin/delivery-methods/{}", m.id),
                &body,
            )
            .await
            {
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
    let remove = move |m: AdminDeliveryMethod| {
        ask.set(Some(Ask {
            title: shown_title(&m.title, ctx.lang.get_untracked()),
            body: ctx.t(K::DeleteMethodAsk).to_string(),
            option: None,
            yes: ctx.t(K::Delete).to_string(),
            danger: true,
            run: Callback::new(move |()| {
                ask.set(None);
                spawn_local(async move {
                    match api::delete_empty(&format!("/api/admin/delivery-methods/{}", m.id)).await
                    {
                        Ok(()) => {
                            items.update(|v| v.retain(|r| r.id != m.id));
                            ctx.say(ctx.t(K::Saved));
                        }
                        Err(e) => error.set(Some(ctx.fail(&e))),
                    }
                });
            }),
        }));
    };
    let on_saved = Callback::new(move |m: AdminDeliveryMethod| {
        items.update(|v| match v.iter_mut().find(|r| r.id == m.id) {
            Some(row) => *row = m,
            None => v.push(m),
        });
        editing.set(None);
        form_key.update(|k| *k += 1);
    });

    view! {
        <div class="page-head"><h1>{move || ctx.t(K::DeliveryMethods)}</h1></div>
        {move || {
            // A new form for each method edited (and after each save).
            form_key.get();
            let m = editing.get();
            view! { <MethodForm editing=m on_saved on_cancel=Callback::new(move |()| { editing.set(None); form_key.update(|k| *k += 1); })/> }
        }}
        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        <div class="table-wrap" aria-busy=move || loading.get().to_string()>
            <table class="table table--cards" data-testid="delivery-methods">
                <thead>
                    <tr>
                        <th scope="col">{move || ctx.t(K::Title)}</th>
                        <th scope="col">{move || ctx.t(K::Fee)}</th>
                        <th scope="col">{move || ctx.t(K::Zones)}</th>
                        <th scope="col">{move || ctx.t(K::Status)}</th>
                        <th scope="col"><span class="sr-only">{move || ctx.t(K::Edit)}</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || items.get() key=|m| (m.id, m.active, m.created_at, format!("{:?}", m)) let:m>
                        {
                            let lang = ctx.lang.get_untracked();
                            let (id, active) = (m.id, m.active);
                            let kind = if m.kind == DeliveryKind::Pickup { K::Pickup } else { K::Courier };
                            let fee = match &m.free_above {
                                Some(f) => format!("{} · {} {}", m.fee.display(), ctx.t(K::FreeAbove), f.display()),
                                None => m.fee.display(),
                            };
                            let options = m.options.iter().map(|o| {
                                let mut s = shown_title(&o.title, lang);
                                if let Some(f) = &o.fee { s.push_str(&format!(" ({})", f.display())); }
                                if let Some(a) = &o.address { s.push_str(&format!(" — {a}")); }
                                s
                            }).collect::<Vec<_>>().join("; ");
                            let (row, row2) = (m.clone(), m.clone());
                            let edit = m.clone();
                            view! {
                                <tr data-testid="delivery-row" data-active=active.to_string()>
                                    <td data-label=move || ctx.t(K::Title)><strong>{shown_title(&m.title, lang)}</strong>
                                        <br/><small class="muted">{move || ctx.t(kind)}</small></td>
                                    <td data-label=move || ctx.t(K::Fee)>{fee}</td>
                                    <td data-label=move || ctx.t(K::Zones)>{if options.is_empty() { "—".to_string() } else { options }}</td>
                                    <td data-label=move || ctx.t(K::Status)>
                                        <span class="badge" class=("badge--paid", active) class=("badge--cancelled", !active)>
                                            {move || ctx.t(if active { K::PromoActive } else { K::PromoPaused })}</span>
                                    </td>
                                    <td>
                                        <button type="button" class="btn btn--ghost" data-testid="delivery-edit"
                                            on:click=move |_| { editing.set(Some(edit.clone())); form_key.update(|k| *k += 1); }>{move || ctx.t(K::Edit)}</button>
                                        <button type="button" class="btn btn--ghost" data-testid="delivery-toggle"
                                            disabled=move || busy_row.get() == Some(id)
                                            on:click=move |_| toggle(row.clone())>
                                            {move || ctx.t(if active { K::Pause } else { K::Resume })}
                                        </button>
                                        <button type="button" class="btn btn--ghost" data-testid="delivery-delete"
                                            on:click=move |_| remove(row2.clone())>{move || ctx.t(K::Delete)}</button>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <Show when=move || !loading.get() && items.with(Vec::is_empty) && error.get().is_none()>
                <p class="muted empty" data-testid="empty">{move || ctx.t(K::NoDeliveryMethods)}</p>
            </Show>
        </div>
        <Confirm ask/>
    }
}

#[component]
fn MethodForm(
    editing: Option<AdminDeliveryMethod>,
    on_saved: Callback<AdminDeliveryMethod>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let ctx = use_ctx();
    let errors = new_errors();
    let busy = RwSignal::new(false);
    let id = editing.as_ref().map(|m| m.id);
    let active = editing.as_ref().is_none_or(|m| m.active);
    let position = editing.as_ref().map_or(0, |m| m.position);
    let pickup = RwSignal::new(
        editing
            .as_ref()
            .is_some_and(|m| m.kind == DeliveryKind::Pickup),
    );
    let title = [
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    ];
    let currency = RwSignal::new("UZS".to_string());
    let fee = RwSignal::new(String::new());
    let free_above = RwSignal::new(String::new());
    let options = RwSignal::new(Vec::<OptionRow>::new());
    if let Some(m) = &editing {
        for (i, l) in Lang::ALL.into_iter().enumerate() {
            title[i].set(m.title.get(l).unwrap_or("").to_string());
        }
        currency.set(m.fee.currency.as_str().to_string());
        fee.set(m.fee.major_string());
        free_above.set(
            m.free_above
                .as_ref()
                .map(Money::major_string)
                .unwrap_or_default(),
        );
        options.set(
            m.options
                .iter()
                .map(|o| {
                    let row = OptionRow::new();
                    for (i, l) in Lang::ALL.into_iter().enumerate() {
                        row.title[i].set(o.title.get(l).unwrap_or("").to_string());
                    }
                    row.fee
                        .set(o.fee.as_ref().map(Money::major_string).unwrap_or_default());
                    row.address.set(o.address.clone().unwrap_or_default());
                    OptionRow {
                        id: Some(o.id),
                        ..row
                    }
                })
                .collect(),
        );
    }

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let fail = |field: String, msg: String| errors.set([(field, msg)].into());
        let Ok(cur) = Currency::new(&currency.get_untracked()) else {
            return fail("fee".into(), ctx.t(K::Currency).to_string());
        };
        let money = |s: &str, field: &str| -> Result<Option<Money>, (String, String)> {
            if s.trim().is_empty() {
                return Ok(None);
            }
            parse_major(s, &cur)
                .map(|m| Some(Money::new(m, cur.clone())))
                .map_err(|e| (field.to_string(), e))
        };
        let built = (|| {
            let fee =
                money(&fee.get_untracked(), "fee")?.unwrap_or_else(|| Money::new(0, cur.clone()));
            let free_above = money(&free_above.get_untracked(), "free_above")?;
            let mut opts = Vec::new();
            for (i, o) in options.get_untracked().iter().enumerate() {
                opts.push(DeliveryOptionSave {
                    id: o.id,
                    title: texts_of(&o.title),
                    fee: money(&o.fee.get_untracked(), &format!("options[{i}].fee"))?,
                    address: Some(o.address.get_untracked()).filter(|a| !a.trim().is_empty()),
                });
            }
            Ok::<_, (String, String)>(DeliveryMethodSave {
                kind: if pickup.get_untracked() {
                    DeliveryKind::Pickup
                } else {
                    DeliveryKind::Courier
                },
                title: texts_of(&title),
                fee,
                free_above,
                active,
                position,
                options: opts,
            })
        })();
        let body = match built {
            Ok(b) => b,
            Err((f, m)) => return fail(f, m),
        };
        busy.set(true);
        spawn_local(async move {
            let r = match id {
                Some(id) => {
                    api::put::<AdminDeliveryMethod, _>(
                        &format!("/api/admin/delivery-methods/{id}"),
                        &body,
                    )
                    .await
                }
                None => {
                    api::post::<AdminDeliveryMethod, _>("/api/admin/delivery-methods", &body).await
                }
            };
            match r {
                Ok(m) => {
                    errors.update(|m| m.clear());
                    ctx.say(ctx.t(K::Saved));
                    on_saved.run(m);
                }
                Err(e) => show_error(&ctx, errors, &e),
            }
            busy.set(false);
        });
    };

    let text = move |field: String, label: String, sig: RwSignal<String>, kind: &'static str| {
        let testid = format!("delivery-{}", field.replace(['[', ']', '.'], "-"));
        view! {
            <label class="field">
                <span>{label}</span>
                <input type=kind data-testid=testid aria-describedby=format!("{field}-error")
                    prop:value=sig on:input=move |e| sig.set(event_target_value(&e))/>
                <FieldError errors field=field.clone()/>
            </label>
        }
    };
    let lang_label = move |k: K, l: Lang| format!("{} ({})", ctx.t(k), l.code());

    view! {
        <form class="card" on:submit=submit novalidate data-testid="delivery-form">
            <h2>{move || ctx.t(if id.is_some() { K::EditDeliveryMethod } else { K::NewDeliveryMethod })}</h2>
            <div class="grid-2">
                <label class="field">
                    <span>{move || ctx.t(K::Kind)}</span>
                    <select data-testid="delivery-kind" on:change=move |e| pickup.set(event_target_value(&e) == "pickup")>
                        <option value="courier" selected=move || !pickup.get()>{move || ctx.t(K::Courier)}</option>
                        <option value="pickup" selected=move || pickup.get()>{move || ctx.t(K::Pickup)}</option>
                    </select>
                </label>
                {text("currency".into(), ctx.t(K::Currency).into(), currency, "text")}
                {Lang::ALL.into_iter().enumerate().map(|(i, l)| text(format!("title.{}", l.code()), lang_label(K::Title, l), title[i], "text")).collect_view()}
                <FieldError errors field="title"/>
                {text("fee".into(), ctx.t(K::Fee).into(), fee, "text")}
                {text("free_above".into(), ctx.t(K::FreeAbove).into(), free_above, "text")}
            </div>
            <h3>{move || ctx.t(if pickup.get() { K::PickupPoints } else { K::Zones })}</h3>
            <FieldError errors field="options"/>
            {move || options.get().into_iter().enumerate().map(|(i, o)| {
                let f = move |s: &str| format!("options[{i}].{s}");
                view! {
                    <fieldset class="card grid-2" data-testid="delivery-option-row">
                        {Lang::ALL.into_iter().enumerate().map(|(j, l)| text(f(&format!("title.{}", l.code())), lang_label(K::Title, l), o.title[j], "text")).collect_view()}
                        <FieldError errors field=f("title")/>
                        <label class="field">
                            <span>{ctx.t(K::Fee)}</span>
                            <input type="text" data-testid=format!("delivery-option-fee-{i}") placeholder=ctx.t(K::OwnFeeHint)
                                prop:value=o.fee on:input=move |e| o.fee.set(event_target_value(&e))/>
                            <FieldError errors field=f("fee")/>
                        </label>
                        {move || pickup.get().then(|| text(f("address"), ctx.t(K::Address).into(), o.address, "text"))}
                        <button type="button" class="btn btn--ghost" on:click=move |_| options.update(|v| { v.remove(i); })>
                            {ctx.t(K::Remove)}</button>
                    </fieldset>
                }
            }).collect_view()}
            <button type="button" class="btn btn--ghost" data-testid="delivery-add-option"
                on:click=move |_| options.update(|v| v.push(OptionRow::new()))>{move || ctx.t(K::AddOption)}</button>
            <FormError errors known=|f| f.starts_with("title") || f.starts_with("options") || ["fee", "free_above", "currency"].contains(&f)/>
            <div class="actions">
                <button type="submit" class="btn btn--primary" data-testid="delivery-save" disabled=move || busy.get()>
                    {move || busy.get().then(|| view! { <Spinner/> })}
                    {move || ctx.t(if id.is_some() { K::Save } else { K::Create })}
                </button>
                {id.is_some().then(|| view! {
                    <button type="button" class="btn btn--ghost" on:click=move |_| on_cancel.run(())>{ctx.t(K::Cancel)}</button>
                })}
            </div>
        </form>
    }
}
