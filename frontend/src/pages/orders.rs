//! Order history (endless, by cursor) and one order with its status timeline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::{Lang, Order, OrderStatus, OrderSubscription, PaymentMethod};

use crate::api::ApiError;
use crate::app::{main_action, use_ctx, Ctx, MainAction};
use crate::components::{EmptyState, ErrorState};
use crate::i18n::{self, tn, K, P};
use crate::pages::checkout::start_payment;
use crate::router::Route;
use crate::telegram::InvoiceStatus;

/// How often, and how many times, an unpaid online order is re-read while the customer pays.
const POLL_EVERY: Duration = Duration::from_secs(3);
const POLL_MAX: u32 = 60;
/// A TON transfer is made in another app and confirmed on-chain: wait longer (15 minutes).
const POLL_MAX_TON: u32 = 300;

/// A unix time as the customer's locale writes dates.
pub fn when(at: i64, lang: Lang) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64 * 1000.0));
    let opts = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&opts, &"dateStyle".into(), &"medium".into());
    let _ = js_sys::Reflect::set(&opts, &"timeStyle".into(), &"short".into());
    d.to_locale_string(lang.code(), &opts).into()
}

#[component]
fn StatusBadge(status: OrderStatus) -> impl IntoView {
    let ctx = use_ctx();
    view! {
        <span class=format!("status status--{}", status.as_str()) data-testid="order-status" data-status=status.as_str()>
            {move || i18n::status(ctx.lang.get(), status)}
        </span>
    }
}

/// Bot API 8.0 clients: the Mini App in full screen and on the home screen, offered on the
/// customer's own page, out of the way of shopping (and out of the catalog's first download);
/// older clients and plain browsers show nothing.
fn app_shortcuts() -> impl IntoView {
    let ctx = use_ctx();
    let run = move |f: fn(&crate::telegram::WebApp)| {
        move |_| {
            if let Some(tg) = ctx.tg() {
                f(&tg)
            }
        }
    };
    ctx.tg()
        .filter(|tg| tg.in_telegram() && tg.has_fullscreen())
        .map(|_| {
            view! {
                <div>
                    <button type="button" class="button button--ghost more" data-testid="fullscreen"
                        on:click=run(|tg| tg.toggle_fullscreen())>{move || ctx.t(P::Fullscreen)}</button>
                    <button type="button" class="button button--ghost more" data-testid="home-screen"
                        on:click=run(|tg| tg.add_to_home_screen())>{move || ctx.t(P::AddToHome)}</button>
                </div>
            }
        })
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    let ctx = use_ctx();
    let items = RwSignal::new(Vec::<Order>::new());
    let next = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<ApiError>);
    let loading = RwSignal::new(true);
    let load = move |more: bool| {
        let cursor = if more { next.get_untracked() } else { None };
        loading.set(true);
        spawn_local(async move {
            let res = ctx
                .api()
                .orders(cursor.as_deref(), ctx.lang.get_untracked())
                .await;
            loading.try_set(false);
            match res {
                Ok(page) => {
                    items.try_update(|v| {
                        if !more {
                            v.clear();
                        }
                        v.extend(page.items)
                    });
                    next.try_set(page.next_cursor);
                }
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
        });
    };
    Effect::new(move |_| {
        ctx.lang.track();
        load(false)
    });
    Effect::new(move |_| {
        if ctx.near_bottom.get() && next.with(Option::is_some) && !loading.get() {
            load(true);
        }
    });
    view! {
        <main class="page" data-testid="orders">
            {move || error.get().map(|e| view! { <ErrorState error=e title=K::LoadFailedPage on_retry=move |()| { error.set(None); load(false) }/> })}
            {move || (!loading.get() && error.get().is_none() && items.with(Vec::is_empty)).then(|| view! {
                <EmptyState title=ctx.t(P::NoOrders) testid="orders-empty">
                    <a class="button" href="/">{ctx.t(P::ToCatalog)}</a>
                </EmptyState>
            })}
            <ul class="lines">
                <For each=move || items.get() key=|o| (o.id, o.status) let:o>
                    <li class="line" data-testid="order-row" data-order-id=o.id>
                        <a class="line__main" href=Route::Order(o.id).path()>
                            <span class="line__title">{move || tn(ctx.lang.get(), K::OrderNo, o.id)}</span>
                            <span class="line__options">{move || when(o.created_at, ctx.lang.get())}</span>
                        </a>
                        <div class="line__side">
                            <strong>{o.total.display()}</strong>
                            <StatusBadge status=o.status/>
                        </div>
                    </li>
                </For>
            </ul>
            {move || (loading.get() && !items.with(Vec::is_empty)).then(|| view! { <p class="hint">{ctx.t(K::Loading)}</p> })}
            {move || (next.with(Option::is_some) && !loading.get()).then(|| view! {
                <button type="button" class="button button--ghost more" data-testid="load-more" on:click=move |_| load(true)>{ctx.t(K::LoadMore)}</button>
            })}
            {app_shortcuts()}
        </main>
    }
}

#[component]
pub fn OrderPage(id: i64) -> impl IntoView {
    let ctx = use_ctx();
    let order = RwSignal::new(None::<Result<Order, ApiError>>);
    let alive = Arc::new(AtomicBool::new(true));
    let polls = StoredValue::new(0u32);
    {
        let alive = alive.clone();
        // Again when the language changes (item titles come in it) or the route is re-entered
        // (an invoice closed).
        Effect::new(move |_| {
            ctx.lang.track();
            ctx.route.track();
            polls.set_value(0);
            fetch_loop(ctx, id, order, polls, alive.clone());
        });
    }
    on_cleanup(move || alive.store(false, Ordering::Relaxed));

    main_action(move || {
        let o = order.get()?.ok()?;
        if o.status == OrderStatus::PendingPayment
            && (o.invoice_link.is_some() || o.checkout_url.is_some())
        {
            let pay = o.clone();
            Some(MainAction {
                text: format!("{} · {}", ctx.t(P::Pay), o.total.display()),
                enabled: true,
                busy: false,
                run: Callback::new(move |()| start_payment(ctx, &pay)),
            })
        } else {
            Some(MainAction {
                text: ctx.t(P::ContinueShopping).to_string(),
                enabled: true,
                busy: false,
                run: Callback::new(move |()| ctx.go(Route::Catalog, false)),
            })
        }
    });

    view! {
        <main class="page" data-testid="order" data-order-id=id>
            {move || match order.get() {
                None => view! { <p class="hint" aria-busy="true">{ctx.t(K::Loading)}</p> }.into_any(),
                Some(Err(error)) => view! {
                    <ErrorState error title=K::LoadFailedPage on_retry=move |()| { order.set(None); ctx.route.set(Route::Order(id)); }/>
                }.into_any(),
                Some(Ok(o)) => view! { <OrderView order=o/> }.into_any(),
            }}
        </main>
    }
}

/// Loads the order, and keeps re-reading an unpaid online order while the customer pays
/// (after `openLink` there is no callback: the backend learns of the payment by webhook).
fn fetch_loop(
    ctx: Ctx,
    id: i64,
    order: RwSignal<Option<Result<Order, ApiError>>>,
    polls: StoredValue<u32>,
    alive: Arc<AtomicBool>,
) {
    spawn_local(async move {
        let res = ctx.api().order(id, ctx.lang.get_untracked()).await;
        if !alive.load(Ordering::Relaxed) {
            return;
        }
        let again = matches!(&res, Ok(o) if o.status == OrderStatus::PendingPayment
            && o.payment_method != PaymentMethod::Cash);
        let max = match &res {
            Ok(o) if o.payment_method == PaymentMethod::Ton => POLL_MAX_TON,
            _ => POLL_MAX,
        };
        order.try_set(Some(res));
        let n = polls.try_get_value().unwrap_or(max);
        if again && n < max {
            polls.try_set_value(n + 1);
            set_timeout(
                move || {
                    if alive.load(Ordering::Relaxed) {
                        fetch_loop(ctx, id, order, polls, alive);
                    }
                },
                POLL_EVERY,
            );
        }
    });
}

/// The note under an order's status: its state (for styling and tests) and the words.
/// `closed` is how the customer last closed this order's invoice, if they did.
pub fn note_for(
    status: OrderStatus,
    method: PaymentMethod,
    closed: Option<InvoiceStatus>,
) -> Option<(&'static str, P)> {
    Some(match (status, method, closed) {
        (OrderStatus::PendingPayment, PaymentMethod::Cash, _) => ("cash", P::CashNote),
        (OrderStatus::PendingPayment, _, Some(InvoiceStatus::Cancelled)) => {
            ("cancelled", P::PayCancelled)
        }
        (OrderStatus::PendingPayment, _, Some(InvoiceStatus::Failed)) => ("failed", P::PayFailed),
        (OrderStatus::PendingPayment, _, _) => ("checking", P::PayPending),
        (OrderStatus::Paid, _, _) => ("paid", P::PaidNote),
        (OrderStatus::Cancelled, _, _) => ("cancelled", P::CancelledNote),
        (OrderStatus::Expired, _, _) => ("expired", P::ExpiredNote),
        _ => return None,
    })
}

#[component]
fn OrderView(order: Order) -> impl IntoView {
    let ctx = use_ctx();
    let (id, status, method) = (order.id, order.status, order.payment_method);
    // What the customer should know now; an invoice they just closed counts until the
    // backend has news of the payment.
    let note = move || {
        let closed = ctx
            .invoice_closed
            .get()
            .filter(|(o, _)| *o == id)
            .map(|(_, s)| s);
        note_for(status, method, closed)
    };
    view! {
        <section class="section order-head">
            <StatusBadge status=order.status/>
            <p class="order-head__total" data-testid="order-total">{order.total.display()}</p>
            <p class="hint" data-testid="payment-method">{move || i18n::method(ctx.lang.get(), method)}</p>
            {move || note().map(|(state, k)| view! {
                <p class="notice" class=("notice--error", matches!(state, "cancelled" | "failed"))
                    role="status" data-testid="order-note" data-state=state>{move || ctx.t(k)}</p>
            })}
            {order.subscription.clone().map(|s| view! { <SubscriptionLine order_id=id sub=s/> })}
        </section>
        {order.ton.clone().filter(|_| status == OrderStatus::PendingPayment).map(|ton| view! {
            <crate::pages::ton_pay::TonPay ton total=order.total.clone() link=order.checkout_url.clone().unwrap_or_default()/>
        })}
        <section class="section">
            <h2 class="section__title">{move || ctx.t(P::Items)}</h2>
            <ul class="summary">
                {order.items.iter().map(|i| {
                    let opts = i.options.values().cloned().collect::<Vec<_>>().join(" · ");
                    view! {
                        <li data-testid="order-item">
                            <span>{format!("{} × {}", i.title, i.quantity)}
                                {(!opts.is_empty()).then(|| view! { <small class="line__options">{format!(" ({opts})")}</small> })}
                            </span>
                            <span>{i.line_total.display()}</span>
                        </li>
                    }
                }).collect_view()}
                {order.discount.clone().map(|d| view! {
                    <li class="summary__discount" data-testid="order-discount">
                        <span>{move || ctx.t(P::Discount)}{order.promo_code.clone().map(|c| format!(" ({c})"))}</span>
                        <span>{format!("−{}", d.display())}</span>
                    </li>
                })}
                {order.delivery.clone().map(|d| {
                    let what = match &d.option {
                        Some(o) => format!("{} · {o}", d.method),
                        None => d.method.clone(),
                    };
                    view! {
                        <li class="summary__delivery" data-testid="order-delivery">
                            <span>{move || ctx.t(P::Delivery)}": "{what}
                                {d.address.clone().map(|a| view! { <small class="line__options">{format!(" ({a})")}</small> })}
                            </span>
                            <span>{if d.fee.amount_minor == 0 { ctx.t(P::DeliveryFree).to_string() } else { d.fee.display() }}</span>
                        </li>
                    }
                })}
            </ul>
        </section>
        {order.contact.clone().map(|c| view! {
            <section class="section" data-testid="order-contact">
                <h2 class="section__title">{move || ctx.t(P::Contact)}</h2>
                <p>{c.name}</p>
                <p>{c.phone}</p>
                <p>{c.address}</p>
                {(!c.email.is_empty()).then(|| view! { <p>{c.email}</p> })}
            </section>
        })}
        {(!order.events.is_empty()).then(|| view! {
            <section class="section">
                <h2 class="section__title">{move || ctx.t(P::Timeline)}</h2>
                <ol class="timeline" data-testid="timeline">
                    {order.events.iter().map(|e| {
                        let (at, status, kind, note) = (e.at, e.status, e.kind.clone(), e.note.clone());
                        view! {
                            <li class="timeline__item" data-testid="event" data-kind=e.kind.clone()>
                                <span class="timeline__what">
                                    {move || match (status, event_key(&kind)) {
                                        (Some(s), _) => i18n::status(ctx.lang.get(), s).to_string(),
                                        (None, Some(k)) => ctx.t(k).to_string(),
                                        (None, None) => kind.replace('_', " "),
                                    }}
                                </span>
                                <time class="timeline__when">{move || when(at, ctx.lang.get())}</time>
                                {note.clone().map(|n| view! { <span class="timeline__note">{n}</span> })}
                            </li>
                        }
                    }).collect_view()}
                </ol>
            </section>
        })}
    }
}

/// The subscription an order sold: when it renews or ends, and (while it renews) a cancel.
/// Few words of its own: every storefront string is in the first download (docs/PERFORMANCE.md).
#[component]
fn SubscriptionLine(order_id: i64, sub: OrderSubscription) -> impl IntoView {
    let ctx = use_ctx();
    let busy = RwSignal::new(false);
    let failed = RwSignal::new(false);
    let state = match sub.status.as_str() {
        "active" => P::SubscriptionRenews,
        "canceled" => P::SubscriptionEnds,
        _ => P::EventSubscriptionEnded,
    };
    let (id, until, renews) = (sub.id, sub.expires_at, sub.renews);
    let cancel = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let r = ctx.api().cancel_subscription(id).await;
            busy.try_set(false);
            match r {
                // The order again, with its subscription and timeline as they are now.
                Ok(()) => ctx.route.set(Route::Order(order_id)),
                // The button offers to try again (nothing changed).
                Err(_) => {
                    failed.try_set(true);
                }
            }
        });
    };
    view! {
        <p class="notice" data-testid="subscription" data-status=sub.status.clone()>
            {move || format!("{} {}", ctx.t(state), when(until, ctx.lang.get()))}
        </p>
        {renews.then(|| view! {
            <button type="button" class="button button--ghost more" data-testid="subscription-cancel"
                data-failed=move || failed.get().to_string()
                disabled=move || busy.get() aria-busy=move || busy.get().to_string()
                on:click=cancel>
                {move || if failed.get() { ctx.t(K::Retry) } else { ctx.t(P::SubscriptionCancel) }}
            </button>
        })}
    }
}

/// The label of a timeline entry without a status ([`shared::CUSTOMER_EVENT_KINDS`]).
fn event_key(kind: &str) -> Option<P> {
    use shared::event_kind as E;
    match kind {
        E::PARTIAL_REFUND => Some(P::EventPartialRefund),
        E::DUPLICATE_REFUNDED => Some(P::EventDuplicateRefunded),
        E::REFUND_FAILED => Some(P::EventRefundFailed),
        E::SUBSCRIPTION_ENDED => Some(P::EventSubscriptionEnded),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_a_customer_sees_has_a_label() {
        for kind in shared::CUSTOMER_EVENT_KINDS {
            assert!(event_key(kind).is_some(), "no label for {kind}");
        }
        assert_eq!(event_key("restocked"), None);
    }

    #[test]
    fn a_closed_invoice_speaks_until_the_backend_has_the_payment() {
        let pending = OrderStatus::PendingPayment;
        let stars = PaymentMethod::Stars;
        let state = |s, m, c| note_for(s, m, c).map(|n| n.0);
        assert_eq!(state(pending, stars, None), Some("checking"));
        assert_eq!(
            state(pending, stars, Some(InvoiceStatus::Cancelled)),
            Some("cancelled")
        );
        assert_eq!(
            state(pending, stars, Some(InvoiceStatus::Failed)),
            Some("failed")
        );
        assert_eq!(
            state(pending, stars, Some(InvoiceStatus::Paid)),
            Some("checking")
        );
        // Once paid, a stale "cancelled" from an earlier attempt no longer matters.
        assert_eq!(
            state(OrderStatus::Paid, stars, Some(InvoiceStatus::Cancelled)),
            Some("paid")
        );
        assert_eq!(
            state(pending, PaymentMethod::Cash, Some(InvoiceStatus::Cancelled)),
            Some("cash")
        );
        assert_eq!(state(OrderStatus::Expired, stars, None), Some("expired"));
        assert_eq!(state(OrderStatus::Shipped, stars, None), None);
    }
}
