//! One order: items, customer, contact, the timeline of every event, and the actions its
//! state allows (ship, deliver, cancel, refund, stop the subscription it sold), each confirmed
//! first and disabled while one is in flight.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::RefundRequest;
use shared::{Order, OrderEvent, OrderStatus, PaymentMethod};

use crate::api::{self, ApiError};
use crate::app::use_ctx;
use crate::components::{Ask, Confirm, Spinner, StatusBadge};
use crate::forms::{datetime, options_text};
use crate::i18n::{event_name, method_name, status_name, K};

/// An admin action on an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Ship,
    Deliver,
    Cancel,
    Refund,
    /// Confirms a flagged order (see [`shared::OrderRisk`]).
    Confirm,
    /// Records a refund the merchant paid back by hand (a rail that could not send it).
    RecordRefund,
    /// Stop renewing the subscription the order sold (it runs until its paid period ends).
    CancelSubscription,
}

impl Action {
    pub fn path(self) -> &'static str {
        match self {
            Action::Ship => "ship",
            Action::Deliver => "deliver",
            Action::Cancel => "cancel",
            Action::Refund | Action::RecordRefund => "refund",
            Action::Confirm => "confirm",
            Action::CancelSubscription => "subscription/cancel",
        }
    }
}

/// What the order's state allows (the server decides again; this only hides dead buttons).
pub fn allowed(status: OrderStatus, method: PaymentMethod) -> Vec<Action> {
    use OrderStatus as S;
    let cash = method == PaymentMethod::Cash;
    let mut v = vec![];
    if status == S::Paid || (cash && status == S::PendingPayment) {
        v.push(Action::Ship);
    }
    if matches!(status, S::Paid | S::Shipped) {
        v.push(Action::Deliver);
    }
    if status == S::PendingPayment || (cash && status == S::Shipped) {
        v.push(Action::Cancel);
    }
    if matches!(status, S::Paid | S::Shipped | S::Delivered | S::Completed)
        && !(cash && status == S::Shipped)
    {
        v.push(Action::Refund);
        if !cash {
            v.push(Action::RecordRefund);
        }
    }
    v
}

/// The refund asked of a provider that has not settled yet: the newest refund entry of the
/// timeline, when it is `refund_pending` (a success, a part-refund or a failure after it
/// settles it).
pub fn pending_refund(events: &[OrderEvent]) -> Option<&OrderEvent> {
    use shared::event_kind as E;
    events
        .iter()
        .rev()
        .find(|e| {
            e.status == Some(OrderStatus::Refunded)
                || [
                    E::REFUND_PENDING,
                    E::PARTIAL_REFUND,
                    E::REFUND_FAILED,
                    E::DUPLICATE_REFUNDED,
                ]
                .contains(&e.kind.as_str())
        })
        .filter(|e| e.kind == E::REFUND_PENDING)
}

/// What the rails reported for the order: its payments (with those to give back marked), the
/// refunds counted (succeeded, failed, recorded by hand) and one still pending, and for a TON
/// order every transfer counted towards it or flagged on it.
#[component]
fn OrderMoney(o: Order) -> impl IntoView {
    let ctx = use_ctx();
    let lang = ctx.lang.get_untracked();
    let pending = pending_refund(&o.events).map(|e| e.note.clone().unwrap_or_default());
    let payments = (!o.payments.is_empty()).then(|| view! {
        <table class="table table--cards" data-testid="payments">
            <thead><tr>
                <th scope="col">{ctx.t(K::Date)}</th>
                <th scope="col">{ctx.t(K::PaymentMethod)}</th>
                <th scope="col">{ctx.t(K::ProviderId)}</th>
                <th scope="col">{ctx.t(K::Total)}</th>
                <th scope="col">{ctx.t(K::AmountRefunded)}</th>
            </tr></thead>
            <tbody>
                {o.payments.iter().map(|p| view! {
                    <tr data-testid="payment" data-rail=p.rail.as_str() data-needs-refund=p.needs_refund.to_string()>
                        <td data-label=ctx.t(K::Date) class="nowrap">{datetime(p.created_at)}</td>
                        <td data-label=ctx.t(K::PaymentMethod)>
                            {method_name(lang, p.rail)}
                            {p.needs_refund.then(|| view! { <span class="badge badge--missing">{ctx.t(K::ToRefund)}</span> })}
                        </td>
                        <td data-label=ctx.t(K::ProviderId)><code class="break">{p.provider_payment_id.clone()}</code></td>
                        <td data-label=ctx.t(K::Total)>{p.amount.display()}</td>
                        <td data-label=ctx.t(K::AmountRefunded)>
                            {(p.refunded_minor > 0).then(|| shared::Money::new(p.refunded_minor, p.amount.currency.clone()).display())}
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    });
    let refunds = (!o.refunds.is_empty() || pending.is_some()).then(|| view! {
        <h3>{ctx.t(K::Refunds)}</h3>
        <table class="table table--cards" data-testid="refunds">
            <thead><tr>
                <th scope="col">{ctx.t(K::Date)}</th>
                <th scope="col">{ctx.t(K::Status)}</th>
                <th scope="col">{ctx.t(K::ProviderId)}</th>
                <th scope="col">{ctx.t(K::Total)}</th>
            </tr></thead>
            <tbody>
                {o.refunds.iter().map(|r| {
                    let (state, k) = match (r.failed_at, r.manual) {
                        (Some(_), _) => ("failed", K::RefundFailedState),
                        (None, true) => ("manual", K::RefundByHand),
                        (None, false) => ("succeeded", K::RefundDone),
                    };
                    view! {
                        <tr data-testid="refund" data-state=state>
                            <td data-label=ctx.t(K::Date) class="nowrap">{datetime(r.failed_at.unwrap_or(r.created_at))}</td>
                            <td data-label=ctx.t(K::Status)>{ctx.t(k)}</td>
                            <td data-label=ctx.t(K::ProviderId)><code class="break">{r.provider_refund_id.clone()}</code></td>
                            <td data-label=ctx.t(K::Total)>{r.amount.display()}</td>
                        </tr>
                    }
                }).collect_view()}
                {pending.map(|note| view! {
                    <tr data-testid="refund" data-state="pending">
                        <td data-label=ctx.t(K::Date)></td>
                        <td data-label=ctx.t(K::Status)>{ctx.t(K::RefundWaiting)}</td>
                        <td data-label=ctx.t(K::ProviderId)></td>
                        <td data-label=ctx.t(K::Total)><span class="muted">{note}</span></td>
                    </tr>
                })}
            </tbody>
        </table>
    });
    let transfers = (!o.ton_transfers.is_empty()).then(|| view! {
        <h3>{ctx.t(K::TonTransfers)}</h3>
        <table class="table table--cards" data-testid="order-ton-transfers">
            <thead><tr>
                <th scope="col">{ctx.t(K::Date)}</th>
                <th scope="col">{ctx.t(K::Total)}</th>
                <th scope="col">{ctx.t(K::Status)}</th>
                <th scope="col">{ctx.t(K::TonToReturn)}</th>
            </tr></thead>
            <tbody>
                {o.ton_transfers.iter().map(|t| view! {
                    <tr data-testid="order-ton-transfer" data-state=t.state.clone()>
                        <td data-label=ctx.t(K::Date) class="nowrap">
                            <a href=t.explorer_url.clone() target="_blank" rel="noopener">{datetime(t.chain_time)}</a>
                        </td>
                        <td data-label=ctx.t(K::Total)>{t.amount.display()}</td>
                        <td data-label=ctx.t(K::Status)>
                            {ctx.t(super::ton::state_label(&t.state))}
                            {t.note.clone().map(|n| view! { <small class="muted">" · "{n}</small> })}
                        </td>
                        <td data-label=ctx.t(K::TonToReturn)>
                            {(t.to_return_minor > 0).then(|| shared::Money::new(t.to_return_minor, t.amount.currency.clone()).display())}
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    });
    let nothing = o.payments.is_empty() && o.ton_transfers.is_empty();
    view! {
        <section class="card span-2" data-testid="order-money">
            <h2>{ctx.t(K::Payments)}</h2>
            {nothing.then(|| view! { <p class="muted">{ctx.t(K::NoPayments)}</p> })}
            {payments}
            {refunds}
            {transfers}
        </section>
    }
}

#[component]
pub fn OrderPage(id: i64) -> impl IntoView {
    let ctx = use_ctx();
    let order = RwSignal::new(None::<Result<Order, ApiError>>);
    let busy = RwSignal::new(None::<Action>);
    let ask = RwSignal::new(None::<Ask>);
    let action_error = RwSignal::new(None::<String>);
    // The refund dialog's "put the items back on sale" (off unless the merchant ticks it: the
    // goods may not have come back).
    let restock = RwSignal::new(false);

    let load = move || {
        spawn_local(async move {
            order.set(Some(
                api::get::<Order>(&format!("/api/admin/orders/{id}")).await,
            ));
        });
    };
    load();

    let run = move |a: Action| {
        if busy.get_untracked().is_some() {
            return;
        }
        busy.set(Some(a));
        action_error.set(None);
        spawn_local(async move {
            let path = format!("/api/admin/orders/{id}/{}", a.path());
            let r = match a {
                Action::Refund | Action::RecordRefund => {
                    let body = RefundRequest {
                        amount_minor: None,
                        restock: restock.get_untracked(),
                        manual: a == Action::RecordRefund,
                    };
                    api::post::<Order, _>(&path, &body).await
                }
                // Ship, deliver and cancel take no fields: the empty object `{}`.
                _ => api::post::<Order, _>(&path, &serde_json::Map::new()).await,
            };
            busy.set(None);
            match r {
                Ok(o) => {
                    ctx.say(status_name(ctx.lang.get_untracked(), o.status));
                    load();
                }
                Err(e) => {
                    action_error.set(Some(ctx.fail(&e)));
                    load();
                }
            }
        });
    };
    let confirm = move |a: Action, o: &Order| {
        let (title, body, yes, danger) = match a {
            Action::Ship => (K::ShipQ, K::ShipHint, K::Ship, false),
            Action::Deliver => (K::DeliverQ, K::DeliverHint, K::Deliver, false),
            Action::Cancel => (K::CancelQ, K::CancelHint, K::CancelOrder, true),
            Action::Refund => (K::RefundQ, K::RefundHint, K::Refund, true),
            Action::Confirm => (K::ConfirmQ, K::ConfirmHint, K::ConfirmOrder, false),
            Action::RecordRefund => (K::RecordRefundQ, K::RecordRefundHint, K::RecordRefund, true),
            Action::CancelSubscription => (
                K::CancelSubscriptionQ,
                K::CancelSubscriptionHint,
                K::CancelSubscription,
                true,
            ),
        };
        let body = match (a, &o.subscription) {
            (Action::CancelSubscription, Some(s)) => {
                format!("{} {}", ctx.t(body), datetime(s.expires_at))
            }
            _ => format!("{} {}", ctx.t(body), o.total.display()),
        };
        restock.set(false);
        ask.set(Some(Ask {
            title: format!("{} #{id}", ctx.t(title)),
            body,
            option: matches!(a, Action::Refund | Action::RecordRefund)
                .then(|| (ctx.t(K::RestockItems).to_string(), restock)),
            yes: ctx.t(yes).into(),
            danger,
            run: Callback::new(move |()| run(a)),
        }));
    };

    view! {
        <Confirm ask/>
        <div class="page-head">
            <div>
                <a class="back" href="/admin/orders">{move || ctx.t(K::BackToOrders)}</a>
                <h1>{move || format!("{} #{id}", ctx.t(K::Order))}</h1>
            </div>
        </div>
        {move || match order.get() {
            None => view! { <p class="muted" aria-busy="true">{ctx.t(K::Loading)}</p> }.into_any(),
            Some(Err(e)) => view! { <p class="form-error" role="alert">{ctx.fail(&e)}</p> }.into_any(),
            Some(Ok(o)) => {
                let lang = ctx.lang.get();
                // Refunds are for owners (the server answers staff 403 owner_only).
                let owner = ctx.is_owner();
                let unconfirmed = o.risk.as_ref().is_some_and(|r| r.confirmed_at.is_none());
                let mut actions: Vec<Action> = unconfirmed
                    .then_some(Action::Confirm)
                    .into_iter()
                    .chain(allowed(o.status, o.payment_method))
                    .filter(|a| owner || !matches!(a, Action::Refund | Action::RecordRefund))
                    .collect();
                let risk = o.risk.clone().map(|r| {
                    let confirmed = r.confirmed_at.is_some();
                    view! {
                        <div class="notice" class:notice--warn=!confirmed data-testid="risk" role="note">
                            <strong>{if confirmed { ctx.t(K::RiskConfirmed) } else { ctx.t(K::Flagged) }}": "</strong>
                            {r.reason}
                            {(!confirmed && o.payment_method == PaymentMethod::Cash).then(|| view! { <p class="muted">{ctx.t(K::FlaggedHint)}</p> })}
                        </div>
                    }
                });
                if o.subscription.as_ref().is_some_and(|s| s.renews) {
                    actions.push(Action::CancelSubscription);
                }
                let sub = o.subscription.clone();
                let o2 = o.clone();
                view! {
                    <div class="order-grid">
                        <section class="card">
                            <div class="section-head">
                                <h2>{ctx.t(K::Summary)}</h2>
                                <StatusBadge status=o.status/>
                            </div>
                            {risk}
                            <dl class="facts">
                                <dt>{ctx.t(K::Date)}</dt><dd>{datetime(o.created_at)}</dd>
                                <dt>{ctx.t(K::PaymentMethod)}</dt><dd data-testid="method">{method_name(lang, o.payment_method)}</dd>
                                // The provider's own page for the order (a Crypto Pay invoice,
                                // a Stripe or PayPal checkout), to see where the buyer pays.
                                {o.checkout_url.clone().or_else(|| o.invoice_link.clone()).map(|url| {
                                    let text = url.clone();
                                    view! {
                                        <dt>{ctx.t(K::PaymentLink)}</dt>
                                        <dd data-testid="payment-link"><a href=url target="_blank" rel="noopener noreferrer">{text}</a></dd>
                                    }
                                })}
                                <dt>{ctx.t(K::Total)}</dt><dd data-testid="order-total">{o.total.display()}</dd>
                                {o.discount.clone().map(|d| view! {
                                    <dt>{ctx.t(K::DiscountValue)}</dt>
                                    <dd data-testid="order-discount">{format!("−{}{}", d.display(), o.promo_code.clone().map(|c| format!(" ({c})")).unwrap_or_default())}</dd>
                                })}
                                {o.delivery.clone().map(|d| view! {
                                    <dt>{ctx.t(K::DeliveryMethods)}</dt>
                                    <dd data-testid="order-delivery">
                                        {format!("{}{} · {}", d.method, d.option.map(|o| format!(" · {o}")).unwrap_or_default(), d.fee.display())}
                                        {d.address.map(|a| view! { <br/><small class="muted">{a}</small> })}
                                    </dd>
                                })}
                                <dt>{ctx.t(K::Customer)}</dt><dd>{o.customer_id.map(|c| format!("#{c}")).unwrap_or_else(|| "—".into())}</dd>
                            </dl>
                            <div class="actions" data-testid="order-actions">
                                {actions.into_iter().map(|a| {
                                    let (k, danger) = match a {
                                        Action::Ship => (K::Ship, false),
                                        Action::Deliver => (K::Deliver, false),
                                        Action::Cancel => (K::CancelOrder, true),
                                        Action::Refund => (K::Refund, true),
                                        Action::Confirm => (K::ConfirmOrder, false),
                                        Action::RecordRefund => (K::RecordRefund, true),
                                        Action::CancelSubscription => (K::CancelSubscription, true),
                                    };
                                    let o3 = o2.clone();
                                    view! {
                                        <button
                                            type="button"
                                            class="btn"
                                            class:btn--primary=!danger
                                            class:btn--danger-ghost=danger
                                            data-testid=format!("action-{}", a.path())
                                            disabled=move || busy.get().is_some()
                                            aria-busy=move || (busy.get() == Some(a)).to_string()
                                            on:click=move |_| confirm(a, &o3)
                                        >
                                            {move || (busy.get() == Some(a)).then(|| view! { <Spinner/> })}
                                            {ctx.t(k)}
                                        </button>
                                    }
                                }).collect_view()}
                            </div>
                            {move || action_error.get().map(|e| view! { <p class="form-error" role="alert" data-testid="action-error">{e}</p> })}
                            {sub.map(|s| {
                                let state = match s.status.as_str() {
                                    "active" => K::SubscriptionActive,
                                    "canceled" => K::SubscriptionCanceled,
                                    _ => K::SubscriptionExpired,
                                };
                                view! {
                                    <h3>{ctx.t(K::Subscription)}</h3>
                                    <dl class="facts" data-testid="subscription" data-status=s.status.clone()>
                                        <dt>{ctx.t(K::SubscriptionStatus)}</dt><dd>{format!("{} · {}", ctx.t(state), method_name(lang, s.payment_method))}</dd>
                                        <dt>{ctx.t(K::SubscriptionUntil)}</dt><dd data-testid="subscription-until">{datetime(s.expires_at)}</dd>
                                        <dt>{ctx.t(K::SubscriptionRenewals)}</dt><dd>{s.renewals}</dd>
                                    </dl>
                                }
                            })}
                        </section>
                        <section class="card">
                            <h2>{ctx.t(K::Contact)}</h2>
                            {match &o.contact {
                                Some(c) => view! {
                                    <dl class="facts" data-testid="contact">
                                        <dt>{ctx.t(K::Name)}</dt><dd>{c.name.clone()}</dd>
                                        <dt>{ctx.t(K::Phone)}</dt><dd><a href=format!("tel:{}", c.phone)>{c.phone.clone()}</a></dd>
                                        <dt>{ctx.t(K::Address)}</dt><dd>{c.address.clone()}</dd>
                                        {(!c.email.is_empty()).then(|| view! {
                                            <dt>{ctx.t(K::Email)}</dt><dd><a href=format!("mailto:{}", c.email)>{c.email.clone()}</a></dd>
                                        })}
                                    </dl>
                                }.into_any(),
                                None => view! { <p class="muted">{ctx.t(K::NoContact)}</p> }.into_any(),
                            }}
                        </section>
                        <section class="card span-2">
                            <h2>{ctx.t(K::Items)}</h2>
                            <table class="table table--cards" data-testid="items">
                                <thead><tr>
                                    <th scope="col">{ctx.t(K::Product)}</th>
                                    <th scope="col">"SKU"</th>
                                    <th scope="col">{ctx.t(K::Quantity)}</th>
                                    <th scope="col">{ctx.t(K::Price)}</th>
                                    <th scope="col">{ctx.t(K::Total)}</th>
                                </tr></thead>
                                <tbody>
                                    {o.items.iter().map(|i| view! {
                                        <tr data-testid="item">
                                            <td data-label=ctx.t(K::Product)>
                                                <span>
                                                    <a href=format!("/admin/products/{}", i.product_id)>{i.title.clone()}</a>
                                                    {(!i.options.is_empty()).then(|| view! { <small class="muted">{format!(" · {}", options_text(&i.options))}</small> })}
                                                </span>
                                            </td>
                                            <td data-label="SKU">{i.sku.clone()}</td>
                                            <td data-label=ctx.t(K::Quantity)>{i.quantity}</td>
                                            <td data-label=ctx.t(K::Price)>{i.unit_price.display()}</td>
                                            <td data-label=ctx.t(K::Total)>{i.line_total.display()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                        <OrderMoney o=o.clone()/>
                        <section class="card span-2">
                            <h2>{ctx.t(K::Timeline)}</h2>
                            <ol class="timeline" data-testid="timeline">
                                {o.events.iter().map(|e| view! {
                                    <li class="timeline__item" data-testid="event" data-kind=e.kind.clone()>
                                        <time>{datetime(e.at)}</time>
                                        <strong>{e.status.map(|s| status_name(lang, s)).or_else(|| event_name(lang, &e.kind)).map_or_else(|| e.kind.clone(), str::to_string)}</strong>
                                        {e.note.clone().map(|n| view! { <span class="muted">{format!(" · {n}")}</span> })}
                                        {e.actor.clone().map(|a| view! { <span class="muted">{format!(" · {a}")}</span> })}
                                    </li>
                                }).collect_view()}
                            </ol>
                        </section>
                    </div>
                }.into_any()
            }
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_is_pending_until_a_later_entry_settles_it() {
        let e = |kind: &str, status: Option<OrderStatus>| OrderEvent {
            at: 0,
            kind: kind.into(),
            status,
            note: Some(kind.into()),
            actor: None,
        };
        let paid = e("paid", Some(OrderStatus::Paid));
        let pending = e("refund_pending", None);
        assert!(pending_refund(&[paid.clone()]).is_none());
        assert_eq!(
            pending_refund(&[paid.clone(), pending.clone()]),
            Some(&pending)
        );
        // Settled by a success (in part or in full) or a failure.
        for settled in [
            e("partial_refund", None),
            e("refunded", Some(OrderStatus::Refunded)),
            e("refund_failed", None),
        ] {
            assert!(pending_refund(&[paid.clone(), pending.clone(), settled]).is_none());
        }
        // Entries that are not about refunds do not settle it.
        assert!(
            pending_refund(&[pending.clone(), e("shipped", Some(OrderStatus::Shipped))]).is_some()
        );
    }

    #[test]
    fn actions_follow_the_order_state() {
        use OrderStatus as S;
        use PaymentMethod as M;
        assert_eq!(
            allowed(S::PendingPayment, M::Cash),
            [Action::Ship, Action::Cancel]
        );
        assert_eq!(allowed(S::PendingPayment, M::Click), [Action::Cancel]);
        assert_eq!(
            allowed(S::Paid, M::Stripe),
            [
                Action::Ship,
                Action::Deliver,
                Action::Refund,
                Action::RecordRefund
            ]
        );
        assert_eq!(
            allowed(S::Delivered, M::Cryptopay),
            [Action::Refund, Action::RecordRefund]
        );
        assert_eq!(
            allowed(S::Shipped, M::Cash),
            [Action::Deliver, Action::Cancel]
        );
        assert_eq!(allowed(S::Delivered, M::Cash), [Action::Refund]);
        assert!(allowed(S::Refunded, M::Payme).is_empty());
        assert!(allowed(S::Cancelled, M::Cash).is_empty());
    }
}
