//! Type-erased reactive values for views: `rx::text(move || ...)` instead of a bare closure.
//!
//! Leptos compiles every `move || …` in a view into its own copy of the renderer's reactive
//! code (a render effect, its build and rebuild, and for attributes an erased-attribute
//! table), because each closure is a distinct type. Boxing the closure gives every site of
//! the same output type one shared copy; the first download (shell and catalog) is measurably
//! smaller for it (docs/PERFORMANCE.md). Pages behind a split point need not bother.

use leptos::prelude::AnyView;

/// A reactive UI string from the key table.
pub type Str = Box<dyn FnMut() -> &'static str + Send>;
/// A reactive owned string.
pub type Text = Box<dyn FnMut() -> String + Send>;
/// A reactive flag (`disabled`, `hidden`, a class toggle).
pub type Flag = Box<dyn FnMut() -> bool + Send>;
/// A reactive piece of view.
pub type View = Box<dyn FnMut() -> AnyView + Send>;

pub fn str(f: impl Fn() -> &'static str + Send + 'static) -> Str {
    Box::new(f)
}

pub fn text(f: impl Fn() -> String + Send + 'static) -> Text {
    Box::new(f)
}

pub fn flag(f: impl Fn() -> bool + Send + 'static) -> Flag {
    Box::new(f)
}

/// `aria-busy`/`aria-pressed` style attributes: "true" or "false".
pub fn bool_attr(f: impl Fn() -> bool + Send + 'static) -> Str {
    Box::new(move || if f() { "true" } else { "false" })
}

pub fn view(f: impl Fn() -> AnyView + Send + 'static) -> View {
    Box::new(f)
}
