//! Paying a `ton` order: what a buyer needs on a phone (a link that opens their wallet with
//! everything filled in) and on a desktop (the amount, address and comment to copy, and a QR
//! code for the wallet on their phone). The order page keeps re-reading the order meanwhile.
//!
//! Only the order page's chunk carries this; the QR comes drawn from the server (an SVG in
//! the order answer), so no QR encoder is in the wasm.

use leptos::prelude::*;
use shared::{Money, TonPayment};

use crate::app::use_ctx;
use crate::i18n::{tn, K};

/// Puts `text` on the clipboard (the browser's async clipboard; Telegram allows it on a tap).
fn copy(text: &str) -> bool {
    let nav = js_sys::Reflect::get(&window(), &"navigator".into()).ok();
    let clip = nav.and_then(|n| js_sys::Reflect::get(&n, &"clipboard".into()).ok());
    let Some(clip) = clip.filter(|c| !c.is_undefined()) else {
        return false;
    };
    let Ok(f) = js_sys::Reflect::get(&clip, &"writeText".into()) else {
        return false;
    };
    let Some(f) = wasm_bindgen::JsCast::dyn_ref::<js_sys::Function>(&f) else {
        return false;
    };
    f.call1(&clip, &text.into()).is_ok()
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
        <div class="ton__row">
            <span class="ton__label">{move || ctx.t(label)}</span>
            <code class="ton__value" data-testid=testid>{value}</code>
            <button type="button" class="button button--ghost ton__copy" data-testid=format!("{testid}-copy")
                on:click=move |_| {
                    if copy(&v) {
                        ctx.say(ctx.t(K::Copied));
                    }
                }>{move || ctx.t(K::Copy)}</button>
        </div>
    }
}

#[component]
pub fn TonPay(ton: TonPayment) -> impl IntoView {
    let ctx = use_ctx();
    let asset = ton.asset.clone();
    let show = move |m: i64| Money::new(m, asset.clone()).display();
    let received = ton.received_minor;
    let missing = (ton.amount_minor - received).max(0);
    let usdt = ton.jetton_master.is_some();
    let (ton_link, keeper) = (ton.ton_link.clone(), ton.tonkeeper_link.clone());
    view! {
        <section class="section ton" data-testid="ton-pay">
            <h2 class="section__title">{move || ctx.t(K::TonTitle)}</h2>
            {(received > 0).then(|| {
                let (got, left) = (show(received), show(missing));
                view! {
                    <p class="notice" data-testid="ton-received">
                        {move || tn(ctx.lang.get(), K::TonReceived, &got)}" "
                        {move || tn(ctx.lang.get(), K::TonMissing, &left)}
                    </p>
                }
            })}
            <div class="ton__links">
                <a class="button" data-testid="ton-link" href=ton_link.clone()
                    on:click=move |ev| { ev.prevent_default(); open_wallet(&ton_link); }>
                    {move || ctx.t(K::TonOpenWallet)}
                </a>
                <a class="button button--ghost" data-testid="tonkeeper-link" href=keeper.clone()
                    target="_blank" rel="noopener"
                    on:click=move |ev| { ev.prevent_default(); open_wallet(&keeper); }>
                    {move || ctx.t(K::TonOpenTonkeeper)}
                </a>
            </div>
            <CopyRow label=K::TonAmount value=format!("{} {}", ton.amount, ton.asset) testid="ton-amount"/>
            <CopyRow label=K::TonAddress value=ton.address.clone() testid="ton-address"/>
            <CopyRow label=K::TonComment value=ton.comment.clone() testid="ton-comment"/>
            <p class="hint">{move || ctx.t(K::TonCommentHint)}</p>
            {usdt.then(|| view! { <p class="hint" data-testid="ton-usdt">{move || ctx.t(K::TonUsdtHint)}</p> })}
            {ton.qr_svg.clone().map(|svg| view! {
                // Drawn by the shop's own server from the link above: no outside markup.
                <figure class="ton__qr" data-testid="ton-qr">
                    <div class="ton__qr-img" inner_html=svg></div>
                    <figcaption class="hint">{move || ctx.t(K::TonQrHint)}</figcaption>
                </figure>
            })}
            <p class="notice" role="status" data-testid="ton-waiting" aria-busy="true">{move || ctx.t(K::TonWaiting)}</p>
        </section>
    }
}
