//! Paying a `ton` order: what a buyer needs on a phone (a link that opens their wallet with
//! everything filled in) and on a desktop (the amount, address and comment to copy, and a QR
//! code for the wallet on their phone). The order page keeps re-reading the order meanwhile
//! (its "checking the payment" note is the waiting state).
//!
//! Only the order page's chunk carries this code and its words (`i18n::P`, which reuse the
//! shop's where they fit). It has no CSS of its own: every style rule is in the first
//! download, which has a 100 KB budget (docs/PERFORMANCE.md). The QR comes drawn by the server
//! (an SVG in the order answer), so no QR encoder is in the wasm either.

use leptos::prelude::*;
use shared::{Money, TonPayment};

use crate::app::{use_ctx, Ctx};
use crate::i18n::{tn, P};

/// Opens a wallet link: through Telegram when inside it (which opens https links; a `ton://`
/// link may not open from there), else in this window (the wallet app takes `ton://`). Takes
/// the context: Telegram's MainButton calls back outside any component.
pub fn open_wallet(ctx: Ctx, url: &str) {
    let opened = url.starts_with("https://") && ctx.tg().is_some_and(|tg| tg.open_link(url));
    if !opened {
        let _ = window().open_with_url_and_target(url, "_self");
    }
}

/// One value to copy, with its label.
#[component]
fn CopyRow(label: P, value: String, testid: &'static str) -> impl IntoView {
    let ctx = use_ctx();
    let v = value.clone();
    view! {
        <li>
            <span>
                <small class="hint">{move || ctx.t(label)}</small><br/>
                <code style="word-break:break-all" data-testid=testid>{value}</code>
            </span>
            <button type="button" class="button button--ghost" data-testid=format!("{testid}-copy")
                on:click=move |_| {
                    // navigator.clipboard.writeText, through the same reflection as Telegram's
                    // optional members (no new import in the first download).
                    let nav = crate::telegram::member(&window(), "navigator", None);
                    let clip = crate::telegram::member(&nav, "clipboard", None);
                    if !clip.is_undefined() {
                        crate::telegram::member(&clip, "writeText", Some(&v.as_str().into()));
                        ctx.say("✓");
                    }
                }>{move || ctx.t(P::Copy)}</button>
        </li>
    }
}

/// `link` is the order's `checkout_url`, the `ton://` transfer.
#[component]
pub fn TonPay(ton: TonPayment, total: Money, link: String) -> impl IntoView {
    let ctx = use_ctx();
    let missing = (total.amount_minor - ton.received_minor).max(0);
    let left = Money::new(missing, total.currency.clone()).display();
    let keeper = ton.tonkeeper_link.clone();
    let open = link.clone();
    view! {
        <section class="section" data-testid="ton-pay">
            <h2 class="section__title">{move || ctx.t(P::PmTon)}</h2>
            {(ton.received_minor > 0).then(|| view! {
                <p class="notice" data-testid="ton-received">{move || tn(ctx.lang.get(), P::TonMissing, &left)}</p>
            })}
            <a class="button more" data-testid="ton-link" href=link
                on:click=move |ev| { ev.prevent_default(); open_wallet(ctx, &open); }>
                {move || ctx.t(P::Pay)}
            </a>
            <a class="button button--ghost more" data-testid="tonkeeper-link" href=ton.tonkeeper_link.clone()
                target="_blank" rel="noopener"
                on:click=move |ev| { ev.prevent_default(); open_wallet(ctx, &keeper); }>
                "Tonkeeper"
            </a>
            <ul class="summary">
                <CopyRow label=P::Total value=format!("{} {}", ton.amount, total.currency) testid="ton-amount"/>
                <CopyRow label=P::Address value=ton.address.clone() testid="ton-address"/>
                <CopyRow label=P::TonComment value=ton.comment.clone() testid="ton-comment"/>
            </ul>
            <p class="hint">{move || ctx.t(P::TonHint)}</p>
            // Drawn by the shop's own server from the ton:// link: no outside markup.
            {ton.qr_svg.clone().map(|svg| view! { <div class="more" data-testid="ton-qr" inner_html=svg></div> })}
        </section>
    }
}
