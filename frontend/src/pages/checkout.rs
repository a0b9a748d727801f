//! Checkout: payment method, delivery contact for physical goods, summary, placing the order
//! exactly once, and handing the customer to the payment.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::{
    Cart, Contact, CreateOrder, DeliveryChoice, DeliveryKind, DeliveryMethod, Order, PaymentMethod,
    ProductKind,
};

use crate::api::ApiError;
use crate::app::{main_action, use_ctx, Ctx, MainAction};
use crate::components::ErrorState;
use crate::i18n::{self, t, K, P};
use crate::router::Route;
use crate::telegram::InvoiceStatus;

/// A fresh idempotency key: one per checkout attempt, reused by every retry of it.
pub fn new_key() -> String {
    let crypto = js_sys::Reflect::get(&window(), &"crypto".into()).ok();
    let uuid = crypto.and_then(|c| {
        let f = js_sys::Reflect::get(&c, &"randomUUID".into()).ok()?;
        let f: &js_sys::Function = wasm_bindgen::JsCast::dyn_ref(&f)?;
        f.call0(&c).ok()?.as_string()
    });
    uuid.unwrap_or_else(|| {
        format!(
            "k{}-{}",
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * 1e15) as u64
        )
    })
}

/// Which contact field is wrong, checked the way the server does (so the customer learns it
/// before the round trip); the server's own answer still wins. `needs_address` is false for
/// an order collected at a pickup point.
pub fn check_contact(c: &Contact, needs_address: bool) -> Option<(&'static str, P)> {
    let digits = c.phone.chars().filter(char::is_ascii_digit).count();
    let phone_ok = (7..=15).contains(&digits)
        && c.phone
            .trim()
            .chars()
            .all(|ch| ch.is_ascii_digit() || " +-()".contains(ch));
    if c.name.trim().chars().count() < 2 {
        Some(("contact.name", P::NameInvalid))
    } else if !phone_ok {
        Some(("contact.phone", P::PhoneInvalid))
    } else if needs_address && c.address.trim().chars().count() < 5 {
        Some(("contact.address", P::AddressInvalid))
    } else {
        check_email(&c.email)
    }
}

/// The receipt email, when given, checked as the server does (one `@`, a dot in the domain,
/// no spaces).
pub fn check_email(email: &str) -> Option<(&'static str, P)> {
    let e = email.trim();
    let ok = e.is_empty()
        || e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.chars().any(char::is_whitespace)
        });
    (!ok).then_some(("contact.email", P::EmailInvalid))
}

/// Hands the customer to the payment the order asks for, then to the order page.
pub fn start_payment(ctx: Ctx, order: &Order) {
    let id = order.id;
    let lang = ctx.lang.get_untracked();
    ctx.invoice_closed.set(None);
    if let (Some(url), Some(tg)) = (order.invoice_link.as_deref(), ctx.tg()) {
        let opened = tg.open_invoice(url, move |status| {
            // The order page shows what became of the invoice (and how to try again).
            ctx.invoice_closed.set(Some((id, status)));
            // The order page polls until the backend has the payment.
            if ctx.route.get_untracked() != Route::Order(id) {
                ctx.go(Route::Order(id), true);
            } else {
                ctx.route.set(Route::Order(id));
            }
            // After navigating, which clears the toast.
            if status == InvoiceStatus::Paid {
                ctx.haptic_success();
                ctx.say(t(lang, P::PaidNote));
            }
        });
        if opened {
            return;
        }
    }
    if let Some(ton) = &order.ton {
        // A TON order is paid from the buyer's wallet: the order page shows the links, the
        // amount, address and comment and the QR; the wallet opens only from a tap there
        // (or here, when the order page's own Pay button called).
        if ctx.route.get_untracked() == Route::Order(id) {
            let link = match (ctx.tg(), order.checkout_url.as_deref()) {
                (None, Some(ton_link)) => ton_link,
                _ => &ton.tonkeeper_link,
            };
            crate::pages::ton_pay::open_wallet(ctx, link);
        } else {
            ctx.go(Route::Order(id), true);
        }
        return;
    }
    if let Some(url) = order.checkout_url.as_deref() {
        // A Crypto Pay invoice is a t.me link: Telegram opens it in place.
        let opened = ctx.tg().is_some_and(|tg| {
            if url.starts_with("https://t.me/") {
                tg.open_telegram_link(url)
            } else {
                tg.open_link(url)
            }
        });
        if !opened {
            let _ = window().open_with_url_and_target(url, "_blank");
        }
    }
    if ctx.route.get_untracked() != Route::Order(id) {
        ctx.go(Route::Order(id), true);
    }
}

/// The fee `m` charges for goods worth `goods` (minor units) with option `option` chosen:
/// the option's own fee, else the method's; 0 from `free_above` on. The server computes it
/// again (after a promo code) and its answer is the order's.
pub fn delivery_fee(m: &DeliveryMethod, option: Option<i64>, goods: i64) -> i64 {
    if m.free_above
        .as_ref()
        .is_some_and(|f| goods >= f.amount_minor)
    {
        return 0;
    }
    option
        .and_then(|id| m.options.iter().find(|o| o.id == id))
        .and_then(|o| o.fee.as_ref())
        .unwrap_or(&m.fee)
        .amount_minor
}

/// Whether the cart holds physical goods, which need a delivery contact; the cart says what
/// kind each line is, so no product has to be fetched for this.
pub fn ships(cart: &Cart) -> bool {
    cart.items.iter().any(|i| i.kind == ProductKind::Physical)
}

#[component]
pub fn CheckoutPage() -> impl IntoView {
    let ctx = use_ctx();
    let data = LocalResource::new(move || {
        let lang = ctx.lang.get();
        async move { ctx.api().cart(lang).await }
    });
    view! {
        <Transition fallback=move || view! { <p class="hint page" aria-busy="true">{ctx.t(K::Loading)}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(cart) if !cart.items.is_empty() => {
                        let physical = ships(&cart);
                        view! { <CheckoutForm cart physical/> }.into_any()
                    }
                    Ok(_) => {
                        ctx.go(Route::Cart, true);
                        ().into_any()
                    }
                    Err(error) => view! { <ErrorState error title=K::LoadFailedPage on_retry=move |()| data.refetch()/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn CheckoutForm(cart: Cart, physical: bool) -> impl IntoView {
    let ctx = use_ctx();
    let key = StoredValue::new(new_key());
    let methods = cart.payment_methods.clone();
    let method = RwSignal::new(methods.first().copied());
    let name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    // A returning customer gets the contact of their last delivery back (kept with their
    // orders on the server); whatever they already typed is never overwritten. Loaded in the
    // background: the form is usable before it arrives.
    // Likewise the way they paid last time is preselected, unless they already chose.
    let method_chosen = RwSignal::new(false);
    let offered = methods.clone();
    // Delivery methods for the cart's currency (physical goods only): the customer picks one
    // (and a zone or pickup point); the last one they used is preselected.
    let goods = StoredValue::new(cart.total.clone());
    let goods_minor = cart.total.as_ref().map_or(0, |t| t.amount_minor);
    let deliveries = RwSignal::new(Vec::<DeliveryMethod>::new());
    let delivery = RwSignal::new(None::<i64>);
    let delivery_option = RwSignal::new(None::<i64>);
    let delivery_chosen = RwSignal::new(false);
    // A method with a single zone or point has it chosen at once.
    let choose = move |id: Option<i64>| {
        let only = deliveries.with_untracked(|d| {
            d.iter()
                .find(|m| Some(m.id) == id)
                .and_then(|m| (m.options.len() == 1).then(|| m.options[0].id))
        });
        delivery.set(id);
        delivery_option.set(only);
    };
    let last_delivery = RwSignal::new(None::<i64>);
    let prefer = move || {
        if delivery_chosen.try_get_untracked() != Some(false) {
            return;
        }
        let ids: Vec<i64> = deliveries.with_untracked(|d| d.iter().map(|m| m.id).collect());
        let pick = last_delivery
            .get_untracked()
            .filter(|id| ids.contains(id))
            .or(ids.first().copied());
        if pick != delivery.get_untracked() {
            choose(pick);
        }
    };
    if physical {
        if let Some(currency) = cart.total.as_ref().map(|t| t.currency.as_str().to_string()) {
            spawn_local(async move {
                let lang = ctx.lang.get_untracked();
                if let Ok(list) = ctx.api().delivery_methods(&currency, lang).await {
                    deliveries.try_set(list);
                    prefer();
                }
            });
        }
    }
    let chosen_delivery = move || {
        let id = delivery.get()?;
        deliveries.with(|d| d.iter().find(|m| m.id == id).cloned())
    };
    let fee =
        move || chosen_delivery().map(|m| delivery_fee(&m, delivery_option.get(), goods_minor));
    let pickup = move || chosen_delivery().is_some_and(|m| m.kind == DeliveryKind::Pickup);
    let shown_total = move || {
        goods.with_value(|g| {
            g.as_ref().map(|t| {
                shared::Money::new(t.amount_minor + fee().unwrap_or(0), t.currency.clone())
            })
        })
    };
    spawn_local(async move {
        let Ok(me) = ctx.api().me().await else { return };
        if let Some(id) = me.last_delivery_method_id {
            last_delivery.try_set(Some(id));
            prefer();
        }
        if let Some(c) = me.contact {
            for (signal, saved) in [(name, c.name), (phone, c.phone), (address, c.address)] {
                if signal.try_get_untracked().is_some_and(|v| v.is_empty()) {
                    signal.try_set(saved);
                }
            }
        }
        if let Some(m) = me.last_payment_method.filter(|m| offered.contains(m)) {
            if method_chosen.try_get_untracked() == Some(false) {
                method.try_set(Some(m));
            }
        }
    });
    // The promo code field stays a link until the customer asks for it.
    let promo_open = RwSignal::new(false);
    let promo = RwSignal::new(String::new());
    // A shop that fiscalises through YooKassa (54-FZ) sends the receipt to this address (or the
    // phone). The cart does not say whether it does: the field appears when the server asks
    // for it (400 naming contact.email, with nothing reserved), so other shops never see it.
    let email = RwSignal::new(String::new());
    let email_asked = RwSignal::new(false);
    let wants_email = move || method.get() == Some(PaymentMethod::Yookassa) && email_asked.get();
    let field_error = RwSignal::new(None::<(String, String)>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let needs_contact = move || physical || method.get() == Some(PaymentMethod::Cash);

    let place = Callback::new(move |()| {
        if busy.get_untracked() {
            return;
        }
        let Some(m) = method.get_untracked() else {
            return;
        };
        let contact = Contact {
            name: name.get_untracked(),
            phone: phone.get_untracked(),
            address: address.get_untracked(),
            email: if wants_email() {
                email.get_untracked().trim().to_string()
            } else {
                String::new()
            },
        };
        let with_contact = needs_contact() || !contact.email.is_empty();
        let wrong = if needs_contact() {
            check_contact(&contact, !pickup())
        } else {
            check_email(&contact.email)
        };
        if let Some((field, k)) = wrong {
            field_error.set(Some((field.into(), ctx.t(k).into())));
            focus(field);
            return;
        }
        let choice = delivery.get_untracked().map(|method_id| DeliveryChoice {
            method_id,
            option_id: delivery_option.get_untracked(),
        });
        field_error.set(None);
        error.set(None);
        busy.set(true);
        let req = CreateOrder {
            items: None,
            payment_method: m.as_str().to_string(),
            contact: with_contact.then_some(contact),
            promo_code: Some(promo.get_untracked().trim().to_string()).filter(|p| !p.is_empty()),
            delivery: choice,
        };
        spawn_local(async move {
            let res = ctx
                .api()
                .create_order(&req, &key.get_value(), ctx.lang.get_untracked())
                .await;
            match res {
                Ok(order) => {
                    ctx.refresh_cart();
                    // After the move to the order page, which clears what the toast said.
                    start_payment(ctx, &order);
                    ctx.say(ctx.t(P::OrderPlaced));
                }
                Err(e) => {
                    busy.try_set(false);
                    // The server rejected the request itself: the next attempt is a new
                    // request, so it gets a new key. Network failures keep the key.
                    if matches!(
                        e,
                        ApiError::Status {
                            status: 400..=499,
                            ..
                        }
                    ) {
                        key.set_value(new_key());
                    }
                    // The server's word on a field goes next to it (a refused promo code
                    // too), and the cart and everything typed stay as they are.
                    match e.field().filter(|f| {
                        f.starts_with("contact") || f.starts_with("delivery") || *f == "promo_code"
                    }) {
                        Some(f) => {
                            let f = match f {
                                "contact" => "contact.name",
                                "delivery" | "delivery.method_id" => "delivery",
                                f => f,
                            };
                            if f == "contact.email" {
                                email_asked.try_set(true);
                            }
                            field_error.try_set(Some((f.to_string(), e.to_string())));
                            // After the field (perhaps just shown) is in the page.
                            let f = f.to_string();
                            set_timeout(move || focus(&f), std::time::Duration::ZERO);
                        }
                        None => {
                            error.try_set(Some(e.to_string()));
                        }
                    }
                }
            }
        });
    });
    main_action(move || {
        Some(MainAction {
            text: format!(
                "{} · {}",
                ctx.t(P::PlaceOrder),
                match fee() {
                    Some(_) => shown_total().map(|t| t.display()).unwrap_or_default(),
                    None => cart_total(&ctx).unwrap_or_default(),
                }
            ),
            enabled: method.get().is_some(),
            busy: busy.get(),
            run: place,
        })
    });

    let field = move |id: &'static str,
                      label: P,
                      value: RwSignal<String>,
                      auto: &'static str,
                      kind: &'static str| {
        let err = move || field_error.get().filter(|(f, _)| f == id).map(|(_, m)| m);
        let err_id = format!("{id}-error");
        view! {
            <div class="field" class=("field--error", move || err().is_some())>
                <label for=id>{move || ctx.t(label)}</label>
                {if kind == "textarea" {
                    view! {
                        <textarea id=id name=id rows="2" autocomplete=auto data-testid=id
                            aria-invalid=move || err().is_some().to_string() aria-describedby=err_id.clone()
                            prop:value=move || value.get() on:input=move |e| value.set(event_target_value(&e))></textarea>
                    }.into_any()
                } else {
                    view! {
                        <input id=id name=id type=kind autocomplete=auto data-testid=id
                            aria-invalid=move || err().is_some().to_string() aria-describedby=err_id.clone()
                            prop:value=move || value.get() on:input=move |e| value.set(event_target_value(&e))/>
                    }.into_any()
                }}
                <p class="field__error" id=err_id data-testid=format!("{id}-error") role="alert">{err}</p>
            </div>
        }
    };

    view! {
        <main class="page checkout" data-testid="checkout">
            {move || error.get().map(|e| view! { <p class="notice notice--error" role="alert" data-testid="checkout-error">{e}</p> })}
            <fieldset class="section">
                <legend class="section__title">{move || ctx.t(P::PaymentMethod)}</legend>
                {methods.is_empty().then(|| view! { <p class="notice">{ctx.t(P::NoPaymentMethods)}</p> })}
                {methods.iter().copied().map(|m| view! {
                    <label class="radio" data-testid="payment-method">
                        <input type="radio" name="method" value=m.as_str()
                            prop:checked=move || method.get() == Some(m)
                            on:change=move |_| {
                                method_chosen.set(true);
                                method.set(Some(m));
                            }/>
                        <span>{move || i18n::method(ctx.lang.get(), m)}</span>
                    </label>
                }).collect_view()}
            </fieldset>
            {move || (!deliveries.with(Vec::is_empty)).then(|| {
                let lang = ctx.lang.get();
                let err = move || field_error.get().filter(|(f, _)| f.starts_with("delivery")).map(|(_, m)| m);
                view! {
                <fieldset class="section delivery" data-testid="delivery">
                    <legend class="section__title">{ctx.t(P::Delivery)}</legend>
                    {deliveries.get().into_iter().map(|m| {
                        let id = m.id;
                        let shown_fee = if m.options.is_empty() || m.options.iter().all(|o| o.fee.is_none()) {
                            Some(if m.fee.amount_minor == 0 { i18n::t(lang, P::DeliveryFree).to_string() } else { m.fee.display() })
                        } else {
                            None
                        };
                        let free = m.free_above.as_ref().filter(|_| m.fee.amount_minor > 0 || m.options.iter().any(|o| o.fee.as_ref().is_some_and(|f| f.amount_minor > 0)))
                            .map(|f| i18n::tn(lang, P::FreeFrom, f.display()));
                        view! {
                            <label class="radio" data-testid="delivery-method">
                                <input type="radio" name="delivery" value=id.to_string()
                                    prop:checked=move || delivery.get() == Some(id)
                                    on:change=move |_| {
                                        delivery_chosen.set(true);
                                        choose(Some(id));
                                    }/>
                                <span>{m.title.clone()}
                                    {shown_fee.map(|f| view! { <small class="hint">{format!(" · {f}")}</small> })}
                                    {free.map(|f| view! { <small class="hint">{format!(" · {f}")}</small> })}
                                </span>
                            </label>
                        }
                    }).collect_view()}
                    {move || chosen_delivery().filter(|m| !m.options.is_empty()).map(|m| {
                        let pickup = m.kind == DeliveryKind::Pickup;
                        let opts = m.options.clone();
                        let address = move || {
                            let id = delivery_option.get()?;
                            opts.iter().find(|o| o.id == id).and_then(|o| o.address.clone())
                        };
                        view! {
                            <div class="field" class=("field--error", move || err().is_some())>
                                <label for="delivery.option_id">{m.title.clone()}</label>
                                <select id="delivery.option_id" data-testid="delivery-option"
                                    aria-invalid=move || err().is_some().to_string()
                                    on:change=move |e| delivery_option.set(event_target_value(&e).parse().ok())>
                                    <option value="" selected=move || delivery_option.get().is_none()>"—"</option>
                                    {m.options.iter().map(|o| {
                                        let id = o.id;
                                        let price = o.fee.as_ref().map(|f| if f.amount_minor == 0 { i18n::t(lang, P::DeliveryFree).to_string() } else { f.display() });
                                        view! {
                                            <option value=id.to_string() selected=move || delivery_option.get() == Some(id)>
                                                {o.title.clone()}{price.map(|p| format!(" · {p}"))}
                                            </option>
                                        }
                                    }).collect_view()}
                                </select>
                                {pickup.then(|| view! { <p class="hint" data-testid="pickup-address">{address}</p> })}
                                <p class="field__error" role="alert" data-testid="delivery-error">{err}</p>
                            </div>
                        }
                    })}
                </fieldset>
            }})}
            {move || needs_contact().then(|| view! {
                <fieldset class="section">
                    <legend class="section__title">{move || ctx.t(if deliveries.with(Vec::is_empty) { P::Delivery } else { P::Contact })}</legend>
                    {field("contact.name", P::Name, name, "name", "text")}
                    {field("contact.phone", P::Phone, phone, "tel", "tel")}
                    {share_phone(ctx, phone)}
                    {(!pickup()).then(|| field("contact.address", P::Address, address, "street-address", "textarea"))}
                </fieldset>
            })}
            <section class="section promo" data-testid="promo">
                {move || if promo_open.get() {
                    field("promo_code", P::PromoCode, promo, "off", "text").into_any()
                } else {
                    view! {
                        <button type="button" class="link" data-testid="promo-open"
                            on:click=move |_| {
                                promo_open.set(true);
                                request_animation_frame(|| focus("promo_code"));
                            }>{move || ctx.t(P::HavePromo)}</button>
                    }.into_any()
                }}
            </section>
            {move || wants_email().then(|| view! {
                <fieldset class="section">
                    {field("contact.email", P::ReceiptEmail, email, "email", "email")}
                </fieldset>
            })}
            <section class="section">
                <h2 class="section__title">{move || ctx.t(P::Summary)}</h2>
                <ul class="summary">
                    {cart.items.iter().map(|i| view! {
                        <li><span>{format!("{} × {}", i.title, i.quantity)}</span><span>{i.line_total.display()}</span></li>
                    }).collect_view()}
                    {move || fee().map(|f| view! {
                        <li data-testid="checkout-delivery"><span>{ctx.t(P::Delivery)}</span>
                            <span>{if f == 0 { ctx.t(P::DeliveryFree).to_string() } else {
                                goods.with_value(|g| g.as_ref().map(|t| shared::Money::new(f, t.currency.clone()).display())).unwrap_or_default()
                            }}</span></li>
                    })}
                </ul>
                <p class="totals"><span>{move || ctx.t(P::Total)}</span>
                    <strong data-testid="checkout-total">{move || shown_total().map(|t| t.display())}</strong></p>
            </section>
        </main>
    }
}

/// "Use my Telegram number": fills the phone field from Telegram's `requestContact`, with the
/// customer's consent in Telegram's own dialog. Only on clients that have it (Bot API 6.9).
fn share_phone(ctx: Ctx, phone: RwSignal<String>) -> Option<impl IntoView> {
    let tg = ctx
        .tg()
        .filter(|w| w.in_telegram() && w.has_request_contact())?;
    Some(view! {
        <button type="button" class="field-action" data-testid="share-phone"
            on:click=move |_| {
                tg.request_contact(move |number| {
                    if let Some(n) = number {
                        // Telegram gives the number without the leading +.
                        let n = if n.starts_with('+') { n } else { format!("+{n}") };
                        phone.try_set(n);
                    }
                });
            }>
            {move || ctx.t(P::SharePhone)}
        </button>
    })
}

fn cart_total(ctx: &Ctx) -> Option<String> {
    ctx.cart.with(|c| {
        c.as_ref()
            .and_then(|c| c.total.as_ref().map(|t| t.display()))
    })
}

fn focus(id: &str) {
    if let Some(el) = document().get_element_by_id(id) {
        if let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el) {
            let _ = el.focus();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_physical_goods_need_a_delivery_address() {
        let m = shared::Money::new(50, shared::Currency::new("XTR").unwrap());
        let line = |kind| shared::CartItem {
            variant_id: 1,
            product_id: 1,
            kind,
            title: "T".into(),
            sku: "S".into(),
            options: Default::default(),
            quantity: 1,
            unit_price: m.clone(),
            line_total: m.clone(),
            stock: None,
            available: true,
            problem: None,
        };
        let cart = |items| Cart {
            items,
            total: None,
            payment_methods: vec![],
        };
        assert!(!ships(&cart(vec![line(ProductKind::Digital)])));
        assert!(!ships(&cart(vec![line(ProductKind::Subscription)])));
        assert!(ships(&cart(vec![
            line(ProductKind::Digital),
            line(ProductKind::Physical)
        ])));
    }

    #[test]
    fn contact_checks_match_the_server() {
        let ok = Contact {
            name: "Aziza".into(),
            phone: "+998 90 123 45 67".into(),
            address: "Navoi 12, Tashkent".into(),
            email: String::new(),
        };
        assert_eq!(check_contact(&ok, true), None);
        let pickup = Contact {
            address: String::new(),
            ..ok.clone()
        };
        assert_eq!(check_contact(&pickup, false), None);
        assert_eq!(
            check_contact(&pickup, true).map(|e| e.0),
            Some("contact.address")
        );
        let bad_phone = Contact {
            phone: "12-34".into(),
            ..ok.clone()
        };
        assert_eq!(
            check_contact(&bad_phone, true).map(|e| e.0),
            Some("contact.phone")
        );
        let letters = Contact {
            phone: "+998 90 abc 45 67".into(),
            ..ok.clone()
        };
        assert_eq!(
            check_contact(&letters, true).map(|e| e.0),
            Some("contact.phone")
        );
        let no_name = Contact {
            name: " ".into(),
            ..ok
        };
        assert_eq!(
            check_contact(&no_name, true).map(|e| e.0),
            Some("contact.name")
        );
    }

    #[test]
    fn a_receipt_email_is_optional_but_must_look_like_one() {
        assert_eq!(check_email(""), None);
        assert_eq!(check_email("ivan@example.ru"), None);
        for bad in [
            "ivan",
            "ivan@",
            "@example.ru",
            "ivan@example",
            "iv an@example.ru",
        ] {
            assert_eq!(
                check_email(bad).map(|e| e.0),
                Some("contact.email"),
                "{bad}"
            );
        }
    }
}
