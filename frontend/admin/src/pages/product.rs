//! The product editor: texts in uz / ru / en side by side (missing ones marked), kind,
//! category, variants (SKU, options, price in major units, stock or unlimited), Payme fiscal
//! fields, digital content, subscription period; images; archive or delete.
//!
//! Every field is checked here first (for speed) and again by the server (for truth); the
//! server's `error.field` puts its message next to the field it names. An existing product
//! is saved in one request (`PUT /api/admin/products/{id}`, one transaction): an error leaves
//! both the stored product and the form as they were, so nothing typed is lost.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{
    AdminProduct, NewProduct, NewVariant, ProductPatch, ProductSave, RemoveOutcome, Removed,
    SavedVariant,
};
use shared::{Category, Currency, Lang, Money, Page, ProductKind, Texts, Variant};

use crate::api::{self, ApiError};
use crate::app::use_ctx;
use crate::components::{
    new_errors, show_error, Ask, Confirm, Errors, FieldError, FormError, Spinner,
};
use crate::forms::{options_text, parse_options, parse_price, parse_stock, price_text, texts_of};
use crate::i18n::{kind_name, lang_name, K};
use crate::pages::images::Images;
use crate::router::Route;

/// Telegram Star subscriptions renew every 30 days; it is the only period Telegram offers.
pub const SUBSCRIPTION_PERIOD: i64 = 2_592_000;

/// The server's field path, folded onto the input that shows it (`variants[0].price.currency`
/// is about the price input; `title.en` about the title row).
pub fn normalize_field(f: &str) -> String {
    if let Some(i) = f.find(".price") {
        return f[..i + ".price".len()].to_string();
    }
    for base in ["title", "description"] {
        if f.starts_with(&format!("{base}.")) {
            return base.to_string();
        }
    }
    f.to_string()
}

/// Fields the editor shows an error next to.
fn known_field(f: &str) -> bool {
    matches!(
        f,
        "title"
            | "description"
            | "kind"
            | "category_id"
            | "currency"
            | "variants"
            | "digital_content"
            | "ikpu_code"
            | "package_code"
            | "vat_percent"
    ) || (f.starts_with("variants[")
        && [".sku", ".options", ".price", ".stock"]
            .iter()
            .any(|s| f.ends_with(s)))
}

/// One row of the variants table; every field is its own signal.
#[derive(Clone, Copy)]
struct Row {
    key: u32,
    id: Option<i64>,
    sku: RwSignal<String>,
    options: RwSignal<String>,
    price: RwSignal<String>,
    stock: RwSignal<String>,
    unlimited: RwSignal<bool>,
    /// The stock as loaded (`None`: a new row). A save names the stock only when the
    /// merchant changed it, so units sold while the page was open are not put back.
    stock_was: Option<Option<i64>>,
}

impl Row {
    fn new(key: u32, v: Option<&Variant>) -> Row {
        Row {
            key,
            id: v.map(|v| v.id),
            sku: RwSignal::new(v.map(|v| v.sku.clone()).unwrap_or_default()),
            options: RwSignal::new(v.map(|v| options_text(&v.options)).unwrap_or_default()),
            price: RwSignal::new(
                v.map(|v| price_text(v.price.amount_minor, &v.price.currency))
                    .unwrap_or_default(),
            ),
            stock: RwSignal::new(
                v.and_then(|v| v.stock)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            ),
            unlimited: RwSignal::new(v.is_some_and(|v| v.stock.is_none())),
            stock_was: v.map(|v| v.stock),
        }
    }
}

/// Every field of the form, as signals.
#[derive(Clone, Copy)]
struct Form {
    kind: RwSignal<ProductKind>,
    category: RwSignal<String>,
    title: [RwSignal<String>; 3],
    description: [RwSignal<String>; 3],
    currency: RwSignal<String>,
    rows: RwSignal<Vec<Row>>,
    next_key: StoredValue<u32>,
    ikpu: RwSignal<String>,
    package: RwSignal<String>,
    vat: RwSignal<String>,
    digital: RwSignal<String>,
}

impl Form {
    fn new() -> Form {
        Form {
            kind: RwSignal::new(ProductKind::Physical),
            category: RwSignal::new(String::new()),
            title: [
                RwSignal::new(String::new()),
                RwSignal::new(String::new()),
                RwSignal::new(String::new()),
            ],
            description: [
                RwSignal::new(String::new()),
                RwSignal::new(String::new()),
                RwSignal::new(String::new()),
            ],
            currency: RwSignal::new("UZS".into()),
            rows: RwSignal::new(vec![Row::new(0, None)]),
            next_key: StoredValue::new(1),
            ikpu: RwSignal::new(String::new()),
            package: RwSignal::new(String::new()),
            vat: RwSignal::new(String::new()),
            digital: RwSignal::new(String::new()),
        }
    }

    fn fill(&self, p: &AdminProduct) {
        let pr = &p.product;
        self.kind.set(pr.kind);
        self.category
            .set(pr.category_id.map(|c| c.to_string()).unwrap_or_default());
        if let Some(t) = &pr.texts {
            for (i, l) in Lang::ALL.into_iter().enumerate() {
                self.title[i].set(t.title.get_raw(l).unwrap_or("").to_string());
                self.description[i].set(t.description.get_raw(l).unwrap_or("").to_string());
            }
        }
        if let Some(v) = pr.variants.first() {
            self.currency.set(v.price.currency.as_str().to_string());
        }
        // Fresh keys, so the table renders new inputs bound to these rows' signals (a reused
        // key would keep the old row's inputs on screen).
        let base = self.next_key.get_value();
        let rows: Vec<Row> = pr
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| Row::new(base + i as u32, Some(v)))
            .collect();
        self.next_key.set_value(base + rows.len() as u32);
        self.rows.set(rows);
        self.ikpu.set(p.ikpu_code.clone().unwrap_or_default());
        self.package.set(p.package_code.clone().unwrap_or_default());
        self.vat
            .set(p.vat_percent.map(|v| v.to_string()).unwrap_or_default());
        self.digital
            .set(p.digital_content.clone().unwrap_or_default());
    }

    fn add_row(&self) {
        let k = self.next_key.get_value();
        self.next_key.set_value(k + 1);
        self.rows.update(|r| r.push(Row::new(k, None)));
    }

    fn texts(sigs: &[RwSignal<String>; 3]) -> Texts {
        texts_of(&sigs.map(|s| s.get_untracked()))
    }

    /// Checks every field; the request's variants, in table order, when all are good.
    fn check(&self, ctx: &crate::app::Ctx) -> Result<Vec<SavedVariant>, BTreeMap<String, String>> {
        let mut errs = BTreeMap::new();
        if self
            .title
            .iter()
            .all(|t| t.get_untracked().trim().is_empty())
        {
            errs.insert("title".into(), ctx.t(K::TitleRequired).to_string());
        }
        let kind = self.kind.get_untracked();
        let currency = match Currency::new(&self.currency.get_untracked()) {
            Ok(c) => Some(c),
            Err(_) => {
                errs.insert("currency".into(), ctx.t(K::CurrencyInvalid).to_string());
                None
            }
        };
        // Stars renew XTR prices, Stripe card currencies; no rail renews sum or crypto.
        if kind == ProductKind::Subscription
            && currency
                .as_ref()
                .is_some_and(|c| matches!(c.as_str(), "UZS" | "TON" | "USDT"))
        {
            errs.insert("currency".into(), ctx.t(K::SubscriptionStars).to_string());
        }
        let rows = self.rows.get_untracked();
        if rows.is_empty() {
            errs.insert("variants".into(), ctx.t(K::VariantRequired).to_string());
        }
        let mut out = vec![];
        let mut skus = vec![];
        for (i, r) in rows.iter().enumerate() {
            let f = |s: &str| format!("variants[{i}].{s}");
            let sku = r.sku.get_untracked().trim().to_string();
            if sku.is_empty() {
                errs.insert(f("sku"), ctx.t(K::SkuRequired).to_string());
            } else if skus.contains(&sku) {
                errs.insert(f("sku"), ctx.t(K::SkuTwice).to_string());
            }
            skus.push(sku.clone());
            let options = parse_options(&r.options.get_untracked())
                .map_err(|e| errs.insert(f("options"), e))
                .ok();
            let price = currency.as_ref().and_then(|c| {
                parse_price(&r.price.get_untracked(), c)
                    .map_err(|e| errs.insert(f("price"), e))
                    .ok()
                    .map(|m| Money::new(m, c.clone()))
            });
            let stock = if r.unlimited.get_untracked() {
                Some(None)
            } else {
                parse_stock(&r.stock.get_untracked())
                    .map_err(|e| errs.insert(f("stock"), e))
                    .ok()
                    .map(Some)
            };
            if let (Some(options), Some(price), Some(stock)) = (options, price, stock) {
                out.push(SavedVariant {
                    id: r.id,
                    sku,
                    options,
                    price,
                    stock: (r.stock_was != Some(stock)).then_some(stock),
                });
            }
        }
        let vat = self.vat.get_untracked();
        if !vat.trim().is_empty() && !matches!(vat.trim().parse::<i64>(), Ok(0..=100)) {
            errs.insert("vat_percent".into(), ctx.t(K::VatInvalid).to_string());
        }
        let ikpu = self.ikpu.get_untracked();
        if !ikpu.trim().is_empty() && !ikpu.trim().bytes().all(|b| b.is_ascii_digit()) {
            errs.insert("ikpu_code".into(), ctx.t(K::IkpuInvalid).to_string());
        }
        if errs.is_empty() {
            Ok(out)
        } else {
            Err(errs)
        }
    }

    /// The whole product as the form holds it (a digital content only for digital goods).
    fn save_body(&self, variants: Vec<SavedVariant>) -> ProductSave {
        let opt = |s: RwSignal<String>| {
            let v = s.get_untracked().trim().to_string();
            (!v.is_empty()).then_some(v)
        };
        let kind = self.kind.get_untracked();
        ProductSave {
            kind,
            category_id: self.category.get_untracked().parse::<i64>().ok(),
            title: Form::texts(&self.title),
            description: Form::texts(&self.description),
            digital_content: if kind == ProductKind::Digital {
                opt(self.digital)
            } else {
                None
            },
            ikpu_code: opt(self.ikpu),
            package_code: opt(self.package),
            vat_percent: self.vat.get_untracked().trim().parse::<i64>().ok(),
            variants,
        }
    }
}

#[component]
pub fn ProductPage(id: Option<i64>) -> impl IntoView {
    let ctx = use_ctx();
    let form = Form::new();
    let errors = new_errors();
    let loaded = RwSignal::new(None::<AdminProduct>);
    let load_error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let ask = RwSignal::new(None::<Ask>);
    let categories = RwSignal::new(Vec::<Category>::new());

    spawn_local(async move {
        if let Ok(p) = api::get::<Page<Category>>("/api/admin/categories").await {
            categories.set(p.items);
        }
    });
    // `refill`: put the saved values back into the form. An image change does not, so it
    // keeps what the merchant has typed and not saved yet.
    // Each image change reloads the product, and answers can arrive out of order: only the
    // newest is shown, so an older image list never replaces a move already on screen.
    let latest = StoredValue::new(0u64);
    let load = move |refill: bool| {
        if let Some(id) = id {
            latest.update_value(|n| *n += 1);
            let mine = latest.get_value();
            spawn_local(async move {
                let r = api::get::<AdminProduct>(&format!("/api/admin/products/{id}")).await;
                if latest.get_value() != mine {
                    return;
                }
                match r {
                    Ok(p) => {
                        if refill {
                            form.fill(&p);
                        }
                        loaded.set(Some(p));
                    }
                    Err(e) => load_error.set(Some(e)),
                }
            });
        }
    };
    let reload = move || load(true);
    reload();

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let variants = match form.check(&ctx) {
            Ok(v) => v,
            Err(e) => {
                errors.set(e);
                focus_first_error();
                return;
            }
        };
        errors.update(|m| m.clear());
        busy.set(true);
        spawn_local(async move {
            let r = match id {
                None => create(form, variants).await,
                Some(id) => update(form, id, variants).await,
            };
            busy.set(false);
            match r {
                Ok(p) => {
                    ctx.say(ctx.t(K::Saved));
                    if id.is_none() {
                        ctx.go(Route::Product(p.product.id), true);
                    } else {
                        form.fill(&p);
                        loaded.set(Some(p));
                    }
                }
                Err(e) => {
                    show_error(&ctx, errors, &e);
                    if let Some(f) = e.field() {
                        let f = normalize_field(f);
                        errors.update(|m| {
                            if let Some(v) = m.values().next().cloned() {
                                m.clear();
                                m.insert(f, v);
                            }
                        });
                    }
                    focus_first_error();
                }
            }
        });
    };

    let remove = move |_| {
        let Some(id) = id else { return };
        ask.set(Some(Ask {
            title: ctx.t(K::DeleteProductQ).into(),
            body: ctx.t(K::DeleteProductHint).into(),
            option: None,
            yes: ctx.t(K::Delete).into(),
            danger: true,
            run: Callback::new(move |()| {
                busy.set(true);
                spawn_local(async move {
                    let r = api::delete::<Removed>(&format!("/api/admin/products/{id}")).await;
                    busy.set(false);
                    match r {
                        Ok(Removed {
                            result: RemoveOutcome::Archived,
                            ..
                        }) => {
                            ctx.say(ctx.t(K::WasArchived));
                            reload();
                        }
                        Ok(_) => {
                            ctx.say(ctx.t(K::WasDeleted));
                            ctx.go(Route::Products, true);
                        }
                        Err(e) => show_error(&ctx, errors, &e),
                    }
                });
            }),
        }));
    };
    let unarchive = move |_| {
        let Some(id) = id else { return };
        busy.set(true);
        spawn_local(async move {
            let unarchive = ProductPatch {
                archived: Some(false),
                ..ProductPatch::default()
            };
            let r = api::patch::<AdminProduct, _>(&format!("/api/admin/products/{id}"), &unarchive)
                .await;
            busy.set(false);
            match r {
                Ok(_) => reload(),
                Err(e) => show_error(&ctx, errors, &e),
            }
        });
    };

    let lang_cols = move |sigs: [RwSignal<String>; 3], field: &'static str, multiline: bool| {
        Lang::ALL
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let s = sigs[i];
                let testid = format!("{field}-{}", l.code());
                let missing = move || s.with(|v| v.trim().is_empty());
                let missing_id = format!("{testid}-missing");
                view! {
                    <label class="field lang-col">
                        <span>
                            {lang_name(l)}
                            <Show when=missing>
                                <span class="badge badge--missing" data-testid=missing_id.clone()>{move || ctx.t(K::Missing)}</span>
                            </Show>
                        </span>
                        {if multiline {
                            view! { <textarea rows="4" data-testid=testid.clone() lang=l.code() prop:value=s on:input=move |e| s.set(event_target_value(&e))></textarea> }.into_any()
                        } else {
                            view! { <input type="text" data-testid=testid.clone() lang=l.code() aria-describedby=format!("{field}-error") prop:value=s on:input=move |e| s.set(event_target_value(&e))/> }.into_any()
                        }}
                    </label>
                }
            })
            .collect_view()
    };

    let rows_indexed = move || form.rows.get().into_iter().enumerate().collect::<Vec<_>>();

    view! {
        <Confirm ask/>
        <div class="page-head">
            <div>
                <a class="back" href="/admin/products">{move || ctx.t(K::BackToProducts)}</a>
                <h1 data-testid="editor-title">
                    {move || if id.is_some() {
                        loaded.get().map(|p| p.product.title).unwrap_or_default()
                    } else {
                        ctx.t(K::NewProduct).to_string()
                    }}
                    {move || loaded.get().filter(|p| p.product.archived).map(|_| view! {
                        <span class="badge badge--archived" data-testid="archived">{ctx.t(K::Archived)}</span>
                    })}
                </h1>
            </div>
        </div>
        {move || load_error.get().map(|e| view! { <p class="form-error" role="alert">{ctx.fail(&e)}</p> })}
        <form class="editor" on:submit=save novalidate>
            <section class="card">
                <h2>{move || ctx.t(K::Texts)}</h2>
                <fieldset class="lang-grid" aria-describedby="title-error">
                    <legend>{move || ctx.t(K::Title)}</legend>
                    {lang_cols(form.title, "title", false)}
                </fieldset>
                <FieldError errors field="title"/>
                <fieldset class="lang-grid">
                    <legend>{move || ctx.t(K::Description)}</legend>
                    {lang_cols(form.description, "description", true)}
                </fieldset>
                <FieldError errors field="description"/>
            </section>
            <section class="card grid-2">
                <label class="field">
                    <span>{move || ctx.t(K::Kind)}</span>
                    <select data-testid="kind" on:change=move |e| {
                        if let Some(k) = ProductKind::parse(&event_target_value(&e)) {
                            form.kind.set(k);
                            if k == ProductKind::Subscription { form.currency.set("XTR".into()); }
                        }
                    }>
                        {[ProductKind::Physical, ProductKind::Digital, ProductKind::Subscription].into_iter().map(|k| view! {
                            <option value=k.as_str() selected=move || form.kind.get() == k>{move || kind_name(ctx.lang.get(), k)}</option>
                        }).collect_view()}
                    </select>
                    <FieldError errors field="kind"/>
                </label>
                <label class="field">
                    <span>{move || ctx.t(K::Category)}</span>
                    <select data-testid="category" on:change=move |e| form.category.set(event_target_value(&e))>
                        <option value="" selected=move || form.category.with(String::is_empty)>{move || ctx.t(K::NoCategory)}</option>
                        {move || categories.get().into_iter().map(|c| {
                            let v = c.id.to_string();
                            let v2 = v.clone();
                            view! { <option value=v selected=move || form.category.get() == v2>{c.title}</option> }
                        }).collect_view()}
                    </select>
                    <FieldError errors field="category_id"/>
                </label>
                <Show when=move || form.kind.get() == ProductKind::Digital>
                    <label class="field span-2">
                        <span>{move || ctx.t(K::DigitalContent)}</span>
                        <textarea rows="3" data-testid="digital_content" prop:value=form.digital on:input=move |e| form.digital.set(event_target_value(&e))></textarea>
                        <small class="muted">{move || ctx.t(K::DigitalContentHint)}</small>
                        <FieldError errors field="digital_content"/>
                    </label>
                </Show>
                <Show when=move || form.kind.get() == ProductKind::Subscription>
                    <label class="field span-2">
                        <span>{move || ctx.t(K::SubscriptionPeriod)}</span>
                        <select data-testid="subscription_period" disabled>
                            <option value=SUBSCRIPTION_PERIOD.to_string()>{move || ctx.t(K::Every30Days)}</option>
                        </select>
                        <small class="muted">{move || ctx.t(K::SubscriptionStars)}</small>
                    </label>
                </Show>
            </section>
            <section class="card">
                <div class="section-head">
                    <h2>{move || ctx.t(K::Variants)}</h2>
                    <label class="field field--inline">
                        <span>{move || ctx.t(K::Currency)}</span>
                        <input
                            class="input-currency"
                            data-testid="currency"
                            maxlength="3"
                            list="currencies"
                            aria-describedby="currency-error"
                            prop:value=form.currency
                            on:input=move |e| form.currency.set(event_target_value(&e).to_uppercase())
                        />
                        <datalist id="currencies">
                            <option value="UZS"/><option value="USD"/><option value="EUR"/><option value="RUB"/><option value="XTR"/>
                        </datalist>
                    </label>
                </div>
                <FieldError errors field="currency"/>
                <FieldError errors field="variants"/>
                <div class="table-wrap">
                    <table class="table table--cards variants" data-testid="variants">
                        <thead>
                            <tr>
                                <th scope="col">"SKU"</th>
                                <th scope="col">{move || ctx.t(K::Options)}</th>
                                <th scope="col">{move || format!("{} ({})", ctx.t(K::Price), form.currency.get())}</th>
                                <th scope="col">{move || ctx.t(K::Stock)}</th>
                                <th scope="col"><span class="sr-only">{move || ctx.t(K::Remove)}</span></th>
                            </tr>
                        </thead>
                        <tbody>
                            <For each=rows_indexed key=|(i, r)| (*i, r.key) let:item>
                                <VariantRow i=item.0 row=item.1 form errors/>
                            </For>
                        </tbody>
                    </table>
                </div>
                <button type="button" class="btn" data-testid="add-variant" on:click=move |_| form.add_row()>
                    {move || ctx.t(K::AddVariant)}
                </button>
            </section>
            <section class="card grid-3">
                <h2 class="span-3">{move || ctx.t(K::Fiscal)}</h2>
                <label class="field">
                    <span>{move || ctx.t(K::Ikpu)}</span>
                    <input type="text" inputmode="numeric" data-testid="ikpu_code" prop:value=form.ikpu on:input=move |e| form.ikpu.set(event_target_value(&e))/>
                    <FieldError errors field="ikpu_code"/>
                </label>
                <label class="field">
                    <span>{move || ctx.t(K::PackageCode)}</span>
                    <input type="text" data-testid="package_code" prop:value=form.package on:input=move |e| form.package.set(event_target_value(&e))/>
                    <FieldError errors field="package_code"/>
                </label>
                <label class="field">
                    <span>{move || ctx.t(K::Vat)}</span>
                    <input type="number" min="0" max="100" data-testid="vat_percent" prop:value=form.vat on:input=move |e| form.vat.set(event_target_value(&e))/>
                    <FieldError errors field="vat_percent"/>
                </label>
            </section>
            <FormError errors known=known_field/>
            <div class="actions sticky-actions">
                <button type="submit" class="btn btn--primary" data-testid="save" disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                    {move || busy.get().then(|| view! { <Spinner/> })}
                    {move || ctx.t(K::Save)}
                </button>
                {id.map(|_| view! {
                    <Show when=move || loaded.get().is_some_and(|p| p.product.archived)>
                        <button type="button" class="btn" data-testid="unarchive" disabled=move || busy.get() on:click=unarchive>{move || ctx.t(K::Unarchive)}</button>
                    </Show>
                    <button type="button" class="btn btn--danger-ghost" data-testid="delete" disabled=move || busy.get() on:click=remove>
                        {move || ctx.t(K::ArchiveOrDelete)}
                    </button>
                })}
            </div>
        </form>
        {move || id.map(|id| view! {
            <Images id images=Signal::derive(move || loaded.get().map(|p| p.product.images).unwrap_or_default()) on_change=Callback::new(move |()| load(false))/>
        })}
    }
}

#[component]
fn VariantRow(i: usize, row: Row, form: Form, errors: Errors) -> impl IntoView {
    let ctx = use_ctx();
    let f = move |s: &str| format!("variants[{i}].{s}");
    // A row taken out is removed by the next save (archived if orders name it).
    let remove = move |_| form.rows.update(|rows| rows.retain(|r| r.key != row.key));
    view! {
        <tr data-testid="variant-row">
            <td data-label="SKU">
                <input type="text" data-testid="sku" aria-label="SKU" aria-describedby=f("sku-error") prop:value=row.sku on:input=move |e| row.sku.set(event_target_value(&e))/>
                <FieldError errors field=f("sku")/>
            </td>
            <td data-label=move || ctx.t(K::Options)>
                <input type="text" data-testid="options" placeholder="size=M, color=red" aria-label=move || ctx.t(K::Options) prop:value=row.options on:input=move |e| row.options.set(event_target_value(&e))/>
                <FieldError errors field=f("options")/>
            </td>
            <td data-label=move || ctx.t(K::Price)>
                <input type="text" inputmode="decimal" data-testid="price" aria-label=move || ctx.t(K::Price) prop:value=row.price on:input=move |e| row.price.set(event_target_value(&e))/>
                <FieldError errors field=f("price")/>
            </td>
            <td data-label=move || ctx.t(K::Stock)>
                <div class="stock-cell">
                    <input type="number" min="0" data-testid="stock" aria-label=move || ctx.t(K::Stock) disabled=move || row.unlimited.get() prop:value=row.stock on:input=move |e| row.stock.set(event_target_value(&e))/>
                    <label class="check">
                        <input type="checkbox" data-testid="unlimited" prop:checked=row.unlimited on:change=move |e| row.unlimited.set(event_target_checked(&e))/>
                        {move || ctx.t(K::Unlimited)}
                    </label>
                </div>
                <FieldError errors field=f("stock")/>
            </td>
            <td>
                <button type="button" class="btn btn--ghost" data-testid="remove-variant" on:click=remove>{move || ctx.t(K::Remove)}</button>
            </td>
        </tr>
    }
}

type SaveResult = Result<AdminProduct, ApiError>;

async fn create(form: Form, variants: Vec<SavedVariant>) -> SaveResult {
    let p = form.save_body(variants);
    let body = NewProduct {
        kind: p.kind,
        category_id: p.category_id,
        title: p.title,
        description: p.description,
        variants: p
            .variants
            .into_iter()
            .map(|v| NewVariant {
                sku: v.sku,
                options: v.options,
                price: v.price,
                stock: v.stock.flatten(),
            })
            .collect(),
        images: vec![],
        digital_content: p.digital_content,
        ikpu_code: p.ikpu_code,
        package_code: p.package_code,
        vat_percent: p.vat_percent,
    };
    api::post::<AdminProduct, _>("/api/admin/products", &body).await
}

/// Saves texts, settings and every variant (changed, added, taken out) in one request, which
/// the server applies in one transaction: all of it or, with an error naming the field
/// (`variants[2].sku`), none of it.
async fn update(form: Form, id: i64, variants: Vec<SavedVariant>) -> SaveResult {
    api::put::<AdminProduct, _>(
        &format!("/api/admin/products/{id}"),
        &form.save_body(variants),
    )
    .await
}

fn focus_first_error() {
    request_animation_frame(|| {
        if let Ok(Some(el)) = document().query_selector(".field-error, .form-error") {
            el.scroll_into_view_with_bool(false);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_fields_land_on_their_inputs() {
        assert_eq!(
            normalize_field("variants[1].price.currency"),
            "variants[1].price"
        );
        assert_eq!(
            normalize_field("variants[0].price.amount_minor"),
            "variants[0].price"
        );
        assert_eq!(normalize_field("title.en"), "title");
        assert_eq!(normalize_field("vat_percent"), "vat_percent");
        assert!(known_field("variants[3].sku"));
        assert!(known_field("title"));
        assert!(!known_field("email"));
        assert!(!known_field(""));
    }
}
