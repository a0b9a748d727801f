//! The cart: quantities, removal, the server's totals and per-line problems.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::{Cart, CartLine, CartUpdate};

use crate::app::{main_action, use_ctx, MainAction};
use crate::components::{EmptyState, ErrorState, Stepper};
use crate::i18n::{K, P};
use crate::router::Route;

/// The cart as lines with `variant_id` set to `quantity` (0 removes it).
pub fn with_quantity(cart: &Cart, variant_id: i64, quantity: i64) -> CartUpdate {
    CartUpdate {
        items: cart
            .items
            .iter()
            .map(|i| CartLine {
                variant_id: i.variant_id,
                quantity: if i.variant_id == variant_id {
                    quantity
                } else {
                    i.quantity
                },
            })
            .filter(|l| l.quantity > 0)
            .collect(),
    }
}

/// Whether the cart can be ordered as it is.
pub fn orderable(cart: &Cart) -> bool {
    !cart.items.is_empty()
        && cart.total.is_some()
        && cart
            .items
            .iter()
            .all(|i| i.problem.is_none() && i.available)
}

#[component]
pub fn CartPage() -> impl IntoView {
    let ctx = use_ctx();
    let load_error = RwSignal::new(None);
    let loaded = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let load = move || {
        let lang = ctx.lang.get();
        spawn_local(async move {
            match ctx.api().cart(lang).await {
                Ok(c) => {
                    ctx.cart.try_set(Some(c));
                    load_error.try_set(None);
                }
                Err(e) => {
                    load_error.try_set(Some(e));
                }
            }
            loaded.try_set(true);
        });
    };
    Effect::new(move |_| load());

    let set_qty = Callback::new(move |(variant_id, q): (i64, i64)| {
        let Some(cart) = ctx.cart.get_untracked() else {
            return;
        };
        busy.set(true);
        error.set(None);
        let update = with_quantity(&cart, variant_id, q);
        spawn_local(async move {
            let res = ctx.api().put_cart(&update, ctx.lang.get_untracked()).await;
            busy.try_set(false);
            match res {
                Ok(c) => {
                    ctx.cart.try_set(Some(c));
                }
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
        });
    });

    main_action(move || {
        let cart = ctx.cart.get()?;
        (!cart.items.is_empty()).then(|| MainAction {
            text: match &cart.total {
                Some(t) => format!("{} · {}", ctx.t(K::Checkout), t.display()),
                None => ctx.t(K::Checkout).to_string(),
            },
            enabled: orderable(&cart) && !busy.get(),
            busy: false,
            run: Callback::new(move |()| ctx.navigate(Route::Checkout)),
        })
    });

    view! {
        <main class="page" data-testid="cart" aria-busy=move || busy.get().to_string()>
            {move || error.get().map(|e| view! { <p class="notice notice--error" role="alert" data-testid="cart-error">{e}</p> })}
            {move || {
                if let Some(e) = load_error.get() {
                    return view! { <ErrorState error=e title=K::LoadFailedPage on_retry=move |()| load()/> }.into_any();
                }
                let Some(cart) = ctx.cart.get().filter(|_| loaded.get()) else {
                    return view! { <p class="hint" aria-busy="true">{ctx.t(K::Loading)}</p> }.into_any();
                };
                if cart.items.is_empty() {
                    return view! {
                        <EmptyState title=ctx.t(P::CartEmpty) hint=ctx.t(P::CartEmptyHint) testid="cart-empty">
                            <a class="button" href="/">{ctx.t(P::ToCatalog)}</a>
                        </EmptyState>
                    }.into_any();
                }
                let mixed = cart.total.is_none();
                let problems = cart.items.iter().any(|i| i.problem.is_some());
                let total = cart.total.clone();
                view! {
                    <ul class="lines">
                        {cart.items.into_iter().map(|item| {
                            let id = item.variant_id;
                            let options = item.options.values().cloned().collect::<Vec<_>>().join(" · ");
                            let max = item.stock.unwrap_or(999).clamp(item.quantity.max(1), 999);
                            view! {
                                <li class="line" data-testid="cart-line" data-variant-id=id>
                                    <div class="line__main">
                                        <a class="line__title" href=Route::Product(item.product_id).path()>{item.title.clone()}</a>
                                        {(!options.is_empty()).then(|| view! { <span class="line__options">{options}</span> })}
                                        <span class="line__unit">{item.unit_price.display()}</span>
                                        {item.problem.clone().map(|p| view! { <span class="line__problem" role="alert" data-testid="line-problem">{p}</span> })}
                                    </div>
                                    <div class="line__side">
                                        <strong class="line__total" data-testid="line-total">{item.line_total.display()}</strong>
                                        <Stepper value=Signal::stored(item.quantity) max=Signal::stored(max) min=1
                                            disabled=Signal::from(busy)
                                            set=Callback::new(move |q| set_qty.run((id, q)))
                                            label=format!("{} — {}", ctx.t(P::Quantity), item.title)/>
                                        <button type="button" class="linkbtn" data-testid="remove"
                                            aria-label=format!("{} {}", ctx.t(P::Remove), item.title)
                                            disabled=move || busy.get()
                                            on:click=move |_| set_qty.run((id, 0))>{ctx.t(P::Remove)}</button>
                                    </div>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    {mixed.then(|| view! { <p class="notice" role="status" data-testid="mixed-notice">{ctx.t(P::MixedCurrencies)}</p> })}
                    {problems.then(|| view! { <p class="notice" role="status">{ctx.t(P::FixCart)}</p> })}
                    {total.map(|t| view! {
                        <p class="totals"><span>{ctx.t(P::Total)}</span><strong data-testid="cart-total">{t.display()}</strong></p>
                    })}
                }.into_any()
            }}
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{CartItem, Currency, Money};

    fn item(variant_id: i64, quantity: i64, problem: Option<&str>) -> CartItem {
        let m = Money::new(1000, Currency::new("UZS").unwrap());
        CartItem {
            variant_id,
            product_id: 1,
            kind: shared::ProductKind::Physical,
            title: "T".into(),
            sku: "S".into(),
            options: Default::default(),
            quantity,
            unit_price: m.clone(),
            line_total: m,
            stock: None,
            available: true,
            problem: problem.map(str::to_string),
        }
    }

    fn cart(items: Vec<CartItem>, total: bool) -> Cart {
        Cart {
            items,
            total: total.then(|| Money::new(1000, Currency::new("UZS").unwrap())),
            payment_methods: vec![],
        }
    }

    #[test]
    fn quantity_changes_keep_the_other_lines_and_zero_removes() {
        let c = cart(vec![item(1, 2, None), item(2, 1, None)], true);
        assert_eq!(
            with_quantity(&c, 2, 5).items,
            vec![
                CartLine {
                    variant_id: 1,
                    quantity: 2
                },
                CartLine {
                    variant_id: 2,
                    quantity: 5
                }
            ]
        );
        assert_eq!(
            with_quantity(&c, 1, 0).items,
            vec![CartLine {
                variant_id: 2,
                quantity: 1
            }]
        );
    }

    #[test]
    fn problems_empty_carts_and_mixed_totals_block_checkout() {
        assert!(orderable(&cart(vec![item(1, 1, None)], true)));
        assert!(!orderable(&cart(vec![], true)));
        assert!(!orderable(&cart(vec![item(1, 1, Some("Sold out"))], true)));
        assert!(!orderable(&cart(vec![item(1, 1, None)], false)));
    }
}
