//! A product's images: upload (with progress; the picker is disabled while one uploads),
//! thumbnails, reorder up/down and remove (`PUT …/images` with the new order).

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{ImageOrder, UploadedImage};
use wasm_bindgen::JsCast;

use crate::api;
use crate::app::use_ctx;
use crate::components::{new_errors, show_error, FormError};
use crate::i18n::K;

/// Largest upload the admin sends (the server checks again, by content).
const MAX_BYTES: f64 = 10.0 * 1024.0 * 1024.0;

/// `images` with the one at `i` moved by `delta` places (no-op at the ends).
pub fn moved(images: &[String], i: usize, delta: isize) -> Vec<String> {
    let mut v = images.to_vec();
    let j = i as isize + delta;
    if i < v.len() && j >= 0 && (j as usize) < v.len() {
        v.swap(i, j as usize);
    }
    v
}

/// `images` without the one at `i`.
fn removed(images: &[String], i: usize) -> Vec<String> {
    let mut v = images.to_vec();
    if i < v.len() {
        v.remove(i);
    }
    v
}

#[component]
pub fn Images(id: i64, images: Signal<Vec<String>>, on_change: Callback<()>) -> impl IntoView {
    let ctx = use_ctx();
    let progress = RwSignal::new(None::<u32>);
    let busy = RwSignal::new(false);
    let errors = new_errors();
    // The order the server saved last, shown until the product reloads: the buttons build
    // the next order from the list on screen, and a click before the reload would otherwise
    // send the old list and undo the move just made.
    let saved = RwSignal::new(None::<Vec<String>>);
    Effect::new(move |_| {
        images.track();
        saved.set(None);
    });
    let shown = Signal::derive(move || saved.get().unwrap_or_else(|| images.get()));

    let save_order = move |list: Vec<String>| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let r = api::put::<ImageOrder, _>(
                &format!("/api/admin/products/{id}/images"),
                &ImageOrder { images: list },
            )
            .await;
            match r {
                Ok(o) => {
                    saved.set(Some(o.images));
                    errors.update(|m| m.clear());
                    on_change.run(());
                }
                Err(e) => show_error(&ctx, errors, &e),
            }
            busy.set(false);
        });
    };

    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        if !file.type_().starts_with("image/") {
            errors.set([("".to_string(), ctx.t(K::NotAnImage).to_string())].into());
            return;
        }
        if file.size() > MAX_BYTES {
            errors.set([("".to_string(), ctx.t(K::ImageTooBig).to_string())].into());
            return;
        }
        errors.update(|m| m.clear());
        progress.set(Some(0));
        spawn_local(async move {
            let r = api::upload::<UploadedImage>(
                &format!("/api/admin/products/{id}/images"),
                &file,
                move |p| progress.set(Some(p)),
            )
            .await;
            progress.set(None);
            match r {
                Ok(_) => {
                    ctx.say(ctx.t(K::Uploaded));
                    on_change.run(());
                }
                Err(e) => show_error(&ctx, errors, &e),
            }
        });
    };
    let uploading = move || progress.get().is_some();

    view! {
        <section class="card" aria-labelledby="images-h">
            <div class="section-head">
                <h2 id="images-h">{move || ctx.t(K::Images)}</h2>
                <label class="btn" class:btn--disabled=uploading>
                    <input
                        type="file"
                        class="sr-only"
                        accept="image/png,image/jpeg,image/webp,image/gif"
                        data-testid="image-file"
                        disabled=move || uploading() || busy.get()
                        on:change=on_file
                    />
                    {move || ctx.t(K::UploadImage)}
                </label>
            </div>
            <Show when=uploading>
                <div class="progress" data-testid="upload-progress">
                    <progress max="100" value=move || progress.get().unwrap_or(0)></progress>
                    <span>{move || format!("{} {}%", ctx.t(K::Uploading), progress.get().unwrap_or(0))}</span>
                </div>
            </Show>
            <FormError errors known=|_| false/>
            // Keyed by URL: a moved image keeps its element, and each button works out where
            // its image is when clicked, from the list on screen, not from when it was drawn.
            <ul class="images" data-testid="images">
                <For each=move || shown.get() key=|src| src.clone() let:src>
                    {
                        let key = StoredValue::new(src.clone());
                        let at = move || {
                            key.with_value(|k| shown.with(|l| l.iter().position(|s| s == k)))
                        };
                        let act = move |delta: Option<isize>| {
                            let list = shown.get_untracked();
                            let Some(i) = at() else { return };
                            save_order(match delta {
                                Some(d) => moved(&list, i, d),
                                None => removed(&list, i),
                            });
                        };
                        view! {
                            <li class="image" data-testid="image">
                                <img src=src.clone() alt=move || format!("{} {}", ctx.t(K::Image), at().unwrap_or(0) + 1)/>
                                <div class="image__tools">
                                    <button type="button" class="btn btn--icon" data-testid="image-up" disabled=move || at() == Some(0) || busy.get()
                                        aria-label=move || ctx.t(K::MoveUp) on:click=move |_| act(Some(-1))>"↑"</button>
                                    <button type="button" class="btn btn--icon" data-testid="image-down"
                                        disabled=move || at().map(|i| i + 1) == Some(shown.with(Vec::len)) || busy.get()
                                        aria-label=move || ctx.t(K::MoveDown) on:click=move |_| act(Some(1))>"↓"</button>
                                    <button type="button" class="btn btn--icon btn--danger-ghost" data-testid="image-remove" disabled=move || busy.get()
                                        aria-label=move || ctx.t(K::Remove) on:click=move |_| act(None)>"✕"</button>
                                </div>
                            </li>
                        }
                    }
                </For>
            </ul>
            <Show when=move || shown.with(Vec::is_empty) && !uploading()>
                <p class="muted">{move || ctx.t(K::NoImages)}</p>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn moves_stay_inside_the_list() {
        let v: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(super::moved(&v, 0, 1), ["b", "a", "c"]);
        assert_eq!(super::moved(&v, 2, -1), ["a", "c", "b"]);
        assert_eq!(super::moved(&v, 0, -1), v);
        assert_eq!(super::moved(&v, 2, 1), v);
        assert_eq!(super::removed(&v, 1), ["a", "c"]);
        assert_eq!(super::removed(&v, 3), v);
    }
}
