//! One module per screen. Only the catalog exists so far; product, cart and checkout follow.

pub mod catalog;
