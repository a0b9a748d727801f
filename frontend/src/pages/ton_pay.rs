//! Paying a `ton` order: what a buyer needs on a phone (a link that opens their wallet with
//! everything filled in) and on a desktop (the amount, address and comment to copy, and a QR
//! code for the wallet on their phone). The order page keeps re-reading the order meanwhile
//! (its "checking the payment" note is the waiting state).
//!
//! Only the order page's chunk carries this code. Its words are few and reuse the shop's where
//! they fit, and it has no CSS of its own: every string and style rule is in the first
//! download, which has a 100 KB budget. The QR comes drawn by the server (an SVG in the order
//! answer), so no QR encoder is in the wasm either.

use leptos::prelude::*;
use shared::{Money, TonPayment};

use crate::app::use_ctx;
use crate::i18n::{tn, K};

/// Puts `text` on the clipboard (the browser's async clipboard; Telegram allows it on a tap).
fn copy(text: &str) -> bool {
    let get = |o: &wasm_bindgen::JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).ok();
    let Some(clip) = get(&window().into(), "navigator")
        .and_then(|n| get(&n, "clipboard"))
        .filter(|c| !c.is_undefined())
    else {
        return false;
    };
    let f = get(&clip, "writeText");
    f.as_ref()
        .and_then(|f| wasm_bindgen::JsCast::dyn_ref::<js_sys::Function>(f))
        .is_some_and(|f| f.call1(&clip, &text.into()).is_ok())
}

/// Opens a wallet link: through Telegram when inside it (which opens https links; a
/// `ton://` link may not open from there), else in the browser.
pub fn open_wallet(url: &str) {
    let ctx = use_ctx();
    let opened = url.starts_with("https://") && ctx.tg().is_some_and(|tg| tg.open_link(url));
    if !opened {
        let _ = window().location().set_href(url);
    }
}

/// One value to copy, with its label.
#[component]
fn CopyRow(label: K, value: String, testid: &'static str) -> impl IntoView {
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
                    if copy(&v) {
                        ctx.say("✓");
                    }
                }>{move || ctx.t(K::Copy)}</button>
        </li>
    }
}

#[component]
pub fn TonPay(ton: TonPayment) -> impl IntoView {
    let ctx = use_ctx();
    let missing = (ton.amount_minor - ton.received_minor).max(0);
    let left = Money::new(missing, ton.asset.clone()).display();
    let usdt = ton.asset.as_str() == "USDT";
    let (ton_link, keeper) = (ton.ton_link.clone(), ton.tonkeeper_link.clone());
    view! {
        <section class="section" data-testid="ton-pay">
            <h2 class="section__title">{move || ctx.t(K::PmTon)}</h2>
            {(ton.received_minor > 0).then(|| view! {
                <p class="notice" data-testid="ton-received">{move || tn(ctx.lang.get(), K::TonMissing, &left)}</p>
            })}
            <a class="button more" data-testid="ton-link" href=ton_link.clone()
                on:click=move |ev| { ev.prevent_default(); open_wallet(&ton_link); }>
                {move || ctx.t(K::TonOpenWallet)}
            </a>
            <a class="button button--ghost more" data-testid="tonkeeper-link" href=keeper.clone()
                target="_blank" rel="noopener"
                on:click=move |ev| { ev.prevent_default(); open_wallet(&keeper); }>
                "Tonkeeper"
            </a>
            <ul class="summary">
                <CopyRow label=K::Total value=format!("{} {}", ton.amount, ton.asset) testid="ton-amount"/>
                <CopyRow label=K::Address value=ton.address.clone() testid="ton-address"/>
                <CopyRow label=K::TonComment value=ton.comment.clone() testid="ton-comment"/>
            </ul>
            <p class="hint">{move || ctx.t(K::TonHint)}" "{move || usdt.then(|| ctx.t(K::TonUsdt))}</p>
            // Drawn by the shop's own server from the link above: no outside markup.
            {ton.qr_svg.clone().map(|svg| view! { <div class="more" data-testid="ton-qr" inner_html=svg></div> })}
        </section>
    }
}
