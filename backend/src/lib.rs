//! The shop: a Telegram Mini App commerce platform.
//!
//! `main.rs` only reads the configuration and calls [`startup::serve`]; everything else is
//! reachable from here so integration tests start the very same app.

pub mod admin;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod db;
pub mod delivery;
pub mod error;
pub mod fuzzing;
pub mod health;
pub mod lang;
pub mod me;
pub mod notify;
pub mod observe;
pub mod openapi;
pub mod orders;
pub mod payments;
pub mod promo;
pub mod rails;
pub mod seed;
pub mod share;
pub mod startup;
pub mod state;
pub mod subscriptions;
pub mod telegram;
pub mod ton_address;
pub mod web;
