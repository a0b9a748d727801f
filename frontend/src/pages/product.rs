//! One product: images, description, variant pickers, stock, quantity, add to cart, and the
//! short ways on: once the item is in the cart the MainButton opens the cart (a second button
//! adds one more), and a single-variant digital item priced in Stars has "Buy now", which
//! places the order and opens the invoice at once.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::{
    Cart, CartLine, CartUpdate, CreateOrder, OrderLineRequest, PaymentMethod, Product, ProductKind,
    Variant, VariantOptions,
};

use crate::api::ApiError;
use crate::app::{main_action, use_ctx, Ctx, MainAction};
use crate::components::{ErrorState, Stepper};
use crate::i18n::{t, tn, K, P};
use crate::media;
use crate::pages::checkout;
use crate::router::Route;
use crate::telegram::ShareWay;

const MAX_QTY: i64 = 999;

#[component]
pub fn ProductPage(id: i64) -> impl IntoView {
    let ctx = use_ctx();
    let product = LocalResource::new(move || {
        let lang = ctx.lang.get();
        async move { ctx.api().product(id, lang).await }
    });
    on_cleanup(move || {
        ctx.page_title.try_set(None);
    });
    view! {
        <Transition fallback=|| view! { <div class="product product--skeleton" data-testid="product-loading"><div class="gallery shimmer"></div></div> }>
            {move || Suspend::new(async move {
                match product.await {
                    Ok(p) => {
                        ctx.page_title.set(Some(p.title.clone()));
                        view! { <ProductView product=p/> }.into_any()
                    }
                    Err(error) => view! {
                        <ErrorState error title=K::LoadFailedPage on_retry=move |()| product.refetch()/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Option names in first-seen order, each with its values in first-seen order.
pub fn option_axes(variants: &[Variant]) -> Vec<(String, Vec<String>)> {
    let mut axes: Vec<(String, Vec<String>)> = Vec::new();
    for v in variants {
        for (k, val) in &v.options {
            match axes.iter_mut().find(|(name, _)| name == k) {
                Some((_, vals)) if !vals.contains(val) => vals.push(val.clone()),
                Some(_) => {}
                None => axes.push((k.clone(), vec![val.clone()])),
            }
        }
    }
    axes
}

/// The variant whose options are exactly `chosen`.
pub fn pick<'a>(variants: &'a [Variant], chosen: &VariantOptions) -> Option<&'a Variant> {
    variants.iter().find(|v| &v.options == chosen)
}

/// The cart as lines, with `quantity` more of `variant_id`.
pub fn with_added(cart: Option<&Cart>, variant_id: i64, quantity: i64) -> CartUpdate {
    let mut items: Vec<CartLine> = cart
        .map(|c| {
            c.items
                .iter()
                .map(|i| CartLine {
                    variant_id: i.variant_id,
                    quantity: i.quantity,
                })
                .collect()
        })
        .unwrap_or_default();
    match items.iter_mut().find(|l| l.variant_id == variant_id) {
        Some(l) => l.quantity += quantity,
        None => items.push(CartLine {
            variant_id,
            quantity,
        }),
    }
    CartUpdate { items }
}

async fn add(ctx: Ctx, variant_id: i64, quantity: i64) -> Result<Cart, ApiError> {
    let lang = ctx.lang.get_untracked();
    let current = match ctx.cart.get_untracked() {
        Some(c) => c,
        None => ctx.api().cart(lang).await?,
    };
    let cart = ctx
        .api()
        .put_cart(&with_added(Some(&current), variant_id, quantity), lang)
        .await?;
    ctx.cart.set(Some(cart.clone()));
    Ok(cart)
}

/// The rail "Buy now" pays with, when the product alone decides it: a single-variant digital
/// item priced in Stars, inside Telegram (the only place a Stars invoice opens). Telegram has
/// digital goods sold in Stars only, so there is nothing to choose; anything else goes through
/// the cart and checkout, where the server lists the rails that fit.
pub fn buy_now_rail(product: &Product, in_telegram: bool) -> Option<PaymentMethod> {
    let [only] = product.variants.as_slice() else {
        return None;
    };
    (in_telegram && product.kind == ProductKind::Digital && only.price.currency.as_str() == "XTR")
        .then_some(PaymentMethod::Stars)
}

/// The primary action once the item is in the cart: "Cart · 2 · 100 000 so'm" (no total for a
/// cart in several currencies, which cannot be ordered as one).
pub fn cart_label(cart_word: &str, count: i64, total: Option<String>) -> String {
    match total {
        Some(total) => format!("{cart_word} · {count} · {total}"),
        None => format!("{cart_word} · {count}"),
    }
}

/// The page's second action on Telegram's SecondaryButton while the page is shown, where the
/// client has one (Bot API 7.10+). `false` on older clients and outside Telegram: the page
/// then draws the action as its own button.
fn on_secondary_button(action: Signal<Option<MainAction>>) -> bool {
    let ctx = use_ctx();
    let Some(button) = ctx
        .tg()
        .filter(|tg| tg.in_telegram())
        .and_then(|tg| tg.secondary_button())
    else {
        return false;
    };
    let shown = button.clone();
    Effect::new(move |_| match action.get() {
        Some(a) => shown.set(&a.text, a.enabled, a.busy),
        None => shown.conceal(),
    });
    let tap = button.on_tap(move || {
        if let Some(a) = action.get_untracked().filter(|a| a.enabled && !a.busy) {
            a.run.run(());
        }
    });
    let held = StoredValue::new_local(Some((button, tap)));
    on_cleanup(move || {
        if let Some((button, tap)) = held.try_update_value(Option::take).flatten() {
            drop(tap);
            button.conceal();
        }
    });
    true
}

/// "Share": sends the product to a chat the user picks, as the message the bot's inline mode
/// makes (picture, title, price, a button that opens the product for whoever taps it). With
/// Bot API 8.0 the server prepares it for `shareMessage`; on older clients, or if preparing
/// fails, `switchInlineQuery` puts `@bot <title>` in the chat instead. Nothing outside
/// Telegram, where neither exists.
fn share_button(product_id: i64, title: String) -> Option<impl IntoView> {
    let ctx = use_ctx();
    let way = ctx.tg().and_then(|tg| tg.share_way())?;
    let busy = RwSignal::new(false);
    let title = StoredValue::new(title);
    let share = move |_| {
        let Some(tg) = ctx.tg() else { return };
        if busy.get_untracked() {
            return;
        }
        let query = title.get_value();
        if way == ShareWay::InlineQuery {
            tg.switch_inline_query(&query);
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let prepared = ctx
                .api()
                .share_product(product_id, ctx.lang.get_untracked())
                .await;
            busy.try_set(false);
            // Telegram says itself that the message went; nothing more to show. Without a
            // prepared message (Telegram refused, no bot) the inline query still shares.
            match prepared {
                Ok(p) => tg.share_message(&p.id),
                Err(_) => tg.switch_inline_query(&query),
            }
        });
    };
    Some(view! {
        <button type="button" class="button button--ghost" style="width:100%" data-testid="share"
            disabled=move || busy.get() on:click=share>
            {move || ctx.t(P::Share)}
        </button>
    })
}

#[component]
fn ProductView(product: Product) -> impl IntoView {
    let ctx = use_ctx();
    let axes = option_axes(&product.variants);
    let first = product
        .variants
        .iter()
        .find(|v| v.available)
        .or(product.variants.first())
        .map(|v| v.options.clone())
        .unwrap_or_default();
    let chosen = RwSignal::new(first);
    let variants = StoredValue::new(product.variants.clone());
    let variant = Memo::new(move |_| variants.with_value(|vs| pick(vs, &chosen.get()).cloned()));
    let qty = RwSignal::new(1i64);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let max = Signal::derive(move || {
        variant
            .get()
            .and_then(|v| v.stock)
            .unwrap_or(MAX_QTY)
            .clamp(1, MAX_QTY)
    });
    // A new variant may have less stock than the quantity picked.
    Effect::new(move |_| {
        let m = max.get();
        if qty.get_untracked() > m {
            qty.set(m);
        }
    });

    let add_to_cart = Callback::new(move |()| {
        let Some(v) = variant.get_untracked().filter(|v| v.available) else {
            return;
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let res = add(ctx, v.id, qty.get_untracked()).await;
            busy.try_set(false);
            match res {
                Ok(_) => {
                    ctx.haptic_success();
                    ctx.say(ctx.t(P::Added));
                }
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
        });
    });
    // Buy now: one order of this item alone, paid at once (no cart, no checkout form).
    let rail = buy_now_rail(&product, ctx.in_telegram());
    let key = StoredValue::new(checkout::new_key());
    let buy_now = Callback::new(move |()| {
        let (Some(v), Some(rail)) = (variant.get_untracked().filter(|v| v.available), rail) else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let req = CreateOrder {
            items: Some(vec![OrderLineRequest {
                variant_id: Some(v.id),
                product_id: None,
                quantity: qty.get_untracked(),
            }]),
            payment_method: rail.as_str().to_string(),
            contact: None,
            promo_code: None,
            delivery: None,
        };
        spawn_local(async move {
            let res = ctx
                .api()
                .create_order(&req, &key.get_value(), ctx.lang.get_untracked())
                .await;
            busy.try_set(false);
            match res {
                Ok(order) => {
                    if let Some(tg) = ctx.tg() {
                        tg.haptic_impact("medium");
                    }
                    checkout::start_payment(ctx, &order);
                }
                Err(e) => {
                    // Refused by the server: the next tap is a new request with a new key;
                    // a lost answer keeps the key, so a retry finds the same order.
                    if matches!(
                        e,
                        ApiError::Status {
                            status: 400..=499,
                            ..
                        }
                    ) {
                        key.set_value(checkout::new_key());
                    }
                    error.try_set(Some(e.to_string()));
                }
            }
        });
    });

    let in_cart = move || {
        ctx.cart.with(|c| {
            c.as_ref().is_some_and(|c| {
                variant
                    .get()
                    .is_some_and(|v| c.items.iter().any(|i| i.variant_id == v.id))
            })
        })
    };
    let buyable = move || variant.get().is_some_and(|v| v.available);
    // Once the item is in the cart the way on is the cart; adding stays one tap away.
    main_action(move || {
        let (text, run) = if in_cart() {
            let total = ctx.cart.with(|c| {
                c.as_ref()
                    .and_then(|c| c.total.as_ref().map(|t| t.display()))
            });
            let open_cart = Callback::new(move |()| ctx.navigate(Route::Cart));
            (
                cart_label(ctx.t(K::Cart), ctx.cart_count(), total),
                open_cart,
            )
        } else if rail.is_some() {
            let price = variant.get().map(|v| v.price.display()).unwrap_or_default();
            (format!("{} · {price}", ctx.t(P::BuyNow)), buy_now)
        } else {
            (ctx.t(P::AddToCart).to_string(), add_to_cart)
        };
        Some(MainAction {
            text,
            enabled: in_cart() || buyable(),
            busy: busy.get(),
            run,
        })
    });
    let second = Signal::derive(move || {
        let text = if in_cart() {
            ctx.t(P::AddOneMore)
        } else if rail.is_some() {
            ctx.t(P::AddToCart)
        } else {
            return None;
        };
        Some(MainAction {
            text: text.to_string(),
            enabled: buyable(),
            busy: busy.get(),
            run: add_to_cart,
        })
    });
    let native_second = on_secondary_button(second);

    let stock_text = move || {
        let lang = ctx.lang.get();
        match variant.get() {
            None => t(lang, P::ChooseOptions).to_string(),
            Some(v) if !v.available => t(lang, K::SoldOut).to_string(),
            Some(Variant { stock: Some(n), .. }) if n <= 10 => tn(lang, P::OnlyLeft, n),
            Some(_) => t(lang, P::InStock).to_string(),
        }
    };
    let price = move || variant.get().map(|v| v.price.display()).unwrap_or_default();
    let images = product.images.clone();
    let share = share_button(product.id, product.title.clone());

    view! {
        <main class="product" data-testid="product" data-product-id=product.id>
            <div class="gallery" data-testid="gallery">
                // Each image fills the gallery's width (a 4:3 box, so nothing shifts).
                {images.into_iter().enumerate().map(|(i, src)| {
                    let srcset = media::srcset(&src);
                    let sizes = srcset.is_some().then_some("100vw");
                    view! {
                        <img src=src srcset=srcset sizes=sizes alt=format!("{} {}", product.title, i + 1)
                            width="800" height="600" loading=if i == 0 { "eager" } else { "lazy" }
                            decoding="async"/>
                    }
                }).collect_view()}
            </div>
            <div class="product__body">
                <h2 class="product__title" data-testid="product-title">{product.title.clone()}</h2>
                <p class="product__price" data-testid="variant-price">{price}</p>
                <p class="product__stock" data-testid="stock"
                    class=("product__stock--out", move || !variant.get().is_some_and(|v| v.available))>
                    {stock_text}
                </p>
                {axes.into_iter().map(|(name, values)| {
                    let axis = name.clone();
                    view! {
                        <fieldset class="picker" data-testid="picker" data-option=name.clone()>
                            <legend class="picker__label">{name.clone()}</legend>
                            <div class="picker__values">
                                {values.into_iter().map(|val| {
                                    let (a, v2) = (axis.clone(), val.clone());
                                    let active = Memo::new(move |_| chosen.with(|c| c.get(&a) == Some(&v2)));
                                    let (a, v2) = (axis.clone(), val.clone());
                                    // Would choosing this give a variant that can be bought?
                                    let buyable = move || {
                                        let mut c = chosen.get();
                                        c.insert(a.clone(), v2.clone());
                                        variants.with_value(|vs| pick(vs, &c).is_some_and(|v| v.available))
                                    };
                                    let (a, v2) = (axis.clone(), val.clone());
                                    view! {
                                        <button type="button" class="chip" data-testid="option" data-value=v2.clone()
                                            class=("chip--active", move || active.get())
                                            class=("chip--unavailable", move || !buyable())
                                            aria-pressed=move || active.get().to_string()
                                            on:click=move |_| chosen.update(|c| { c.insert(a.clone(), v2.clone()); })>
                                            {val}
                                        </button>
                                    }
                                }).collect_view()}
                            </div>
                        </fieldset>
                    }
                }).collect_view()}
                <div class="product__qty">
                    <span class="picker__label" aria-hidden="true">{move || ctx.t(P::Quantity)}</span>
                    <Stepper value=qty max=max min=1
                        disabled=Signal::derive(move || !variant.get().is_some_and(|v| v.available))
                        set=Callback::new(move |n: i64| qty.set(n.clamp(1, max.get_untracked())))
                        label=t(ctx.lang.get_untracked(), P::Quantity).to_string()/>
                </div>
                {move || error.get().map(|e| view! { <p class="notice notice--error" role="alert" data-testid="product-error">{e}</p> })}
                // The second action as a page button where Telegram has no SecondaryButton.
                {move || (!native_second).then(|| second.get()).flatten().map(|a| {
                    let run = a.run;
                    view! {
                        <button type="button" class="button button--ghost" style="width:100%" data-testid="secondary-action"
                            disabled=!a.enabled || a.busy on:click=move |_| run.run(())>
                            {a.text}
                        </button>
                    }
                })}
                {share}
                <p class="product__description" data-testid="description">{product.description.clone()}</p>
            </div>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{Currency, Money};
    use std::collections::BTreeMap;

    fn v(id: i64, opts: &[(&str, &str)], available: bool) -> Variant {
        Variant {
            id,
            sku: format!("S{id}"),
            options: opts
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            price: Money::new(100, Currency::new("UZS").unwrap()),
            stock: None,
            available,
        }
    }

    #[test]
    fn axes_and_picking() {
        let vs = vec![
            v(1, &[("size", "S"), ("colour", "red")], true),
            v(2, &[("size", "M"), ("colour", "red")], false),
            v(3, &[("size", "M"), ("colour", "blue")], true),
        ];
        let axes = option_axes(&vs);
        assert_eq!(
            axes,
            vec![
                (
                    "colour".to_string(),
                    vec!["red".to_string(), "blue".to_string()]
                ),
                ("size".to_string(), vec!["S".to_string(), "M".to_string()]),
            ]
        );
        let mut c = vs[0].options.clone();
        c.insert("size".into(), "M".into());
        assert_eq!(pick(&vs, &c).map(|v| v.id), Some(2));
        c.insert("colour".into(), "green".into());
        assert!(pick(&vs, &c).is_none());
    }

    fn product(kind: ProductKind, variants: Vec<Variant>) -> Product {
        Product {
            id: 1,
            kind,
            category_id: None,
            title: "T".into(),
            description: String::new(),
            images: vec![],
            variants,
            texts: None,
            archived: false,
        }
    }

    fn priced(mut v: Variant, currency: &str) -> Variant {
        v.price = Money::new(50, Currency::new(currency).unwrap());
        v
    }

    #[test]
    fn buy_now_only_for_one_digital_variant_in_stars_inside_telegram() {
        let stars = || priced(v(1, &[], true), "XTR");
        let pdf = product(ProductKind::Digital, vec![stars()]);
        assert_eq!(buy_now_rail(&pdf, true), Some(PaymentMethod::Stars));
        // A plain browser cannot open a Stars invoice.
        assert_eq!(buy_now_rail(&pdf, false), None);
        // Two variants: the customer chooses, then goes through the cart.
        let two = product(
            ProductKind::Digital,
            vec![stars(), priced(v(2, &[], true), "XTR")],
        );
        assert_eq!(buy_now_rail(&two, true), None);
        // Physical goods need a delivery address; so'm prices have several rails to pick from.
        assert_eq!(
            buy_now_rail(&product(ProductKind::Physical, vec![stars()]), true),
            None
        );
        let som = product(ProductKind::Digital, vec![priced(v(1, &[], true), "UZS")]);
        assert_eq!(buy_now_rail(&som, true), None);
    }

    #[test]
    fn the_cart_button_names_count_and_total() {
        assert_eq!(
            cart_label("Cart", 2, Some("100 000 so'm".into())),
            "Cart · 2 · 100 000 so'm"
        );
        assert_eq!(cart_label("Savat", 3, None), "Savat · 3");
    }

    #[test]
    fn adding_merges_into_the_existing_line() {
        let u = with_added(None, 5, 2);
        assert_eq!(
            u.items,
            vec![CartLine {
                variant_id: 5,
                quantity: 2
            }]
        );
        let m = Money::new(100, Currency::new("UZS").unwrap());
        let line = |variant_id, quantity| shared::CartItem {
            variant_id,
            product_id: 1,
            kind: shared::ProductKind::Physical,
            title: "T".into(),
            sku: "S".into(),
            options: Default::default(),
            quantity,
            unit_price: m.clone(),
            line_total: m.clone(),
            stock: None,
            available: true,
            problem: None,
        };
        let cart = Cart {
            items: vec![line(4, 1), line(5, 2)],
            total: None,
            payment_methods: vec![],
        };
        assert_eq!(
            with_added(Some(&cart), 5, 3).items,
            vec![
                CartLine {
                    variant_id: 4,
                    quantity: 1
                },
                CartLine {
                    variant_id: 5,
                    quantity: 5
                }
            ]
        );
        assert_eq!(with_added(Some(&cart), 9, 1).items.len(), 3);
    }
}
