//! The shop's compile-time helpers, standing in for sqlx's `macros` feature.
//!
//! Why not sqlx's own: `sqlx-macros` compiles sqlx-core, both database drivers, tokio and the
//! SQLite C library a second time, for the compiler host, in every first build (measured: about
//! 70 CPU-seconds of a release build, on a 2-core machine over half a minute of a first run).
//! The shop uses two of its features, both small: deriving `FromRow` with `try_from`, and
//! embedding the migration files. Everything else (queries, the migrator) is sqlx at run time.

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, Data, DeriveInput, Fields, LitStr, Type};

/// `#[derive(FromRow)]` for a struct with named fields, reading each column by its field's
/// name from an `AnyRow`. `#[sqlx(try_from = "T")]` on a field reads the column as `T` and
/// converts it with `TryFrom` (a failed conversion is sqlx's `ColumnDecode` error naming the
/// column), exactly as sqlx's derive does.
#[proc_macro_derive(FromRow, attributes(sqlx))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match from_row(&input) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn from_row(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(name, "FromRow: only structs"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            name,
            "FromRow: only structs with named fields",
        ));
    };
    let mut reads = Vec::new();
    for f in &fields.named {
        let ident = f.ident.as_ref().expect("named field");
        let column = ident.to_string();
        let column = column.strip_prefix("r#").unwrap_or(&column).to_string();
        let ty = &f.ty;
        let mut try_from: Option<Type> = None;
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("sqlx")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("try_from") {
                    let s: LitStr = meta.value()?.parse()?;
                    try_from = Some(s.parse()?);
                    Ok(())
                } else {
                    Err(meta.error("FromRow: only #[sqlx(try_from = \"…\")] is supported"))
                }
            })?;
        }
        reads.push(match try_from {
            None => quote! {
                #ident: ::sqlx::Row::try_get::<#ty, _>(row, #column)?
            },
            Some(from) => quote! {
                #ident: <#ty as ::core::convert::TryFrom<#from>>::try_from(
                    ::sqlx::Row::try_get::<#from, _>(row, #column)?,
                )
                .map_err(|e| ::sqlx::Error::ColumnDecode {
                    index: #column.to_string(),
                    source: e.into(),
                })?
            },
        });
    }
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "FromRow: generic structs are not supported",
        ));
    }
    Ok(quote! {
        impl<'r> ::sqlx::FromRow<'r, ::sqlx::any::AnyRow> for #name {
            fn from_row(row: &'r ::sqlx::any::AnyRow) -> ::core::result::Result<Self, ::sqlx::Error> {
                ::core::result::Result::Ok(#name { #(#reads),* })
            }
        }
    })
}

/// `embed_migrations!("../migrations/sqlite")`: the folder's `<version>_<description>.sql`
/// files (relative to the calling crate's manifest), sorted by version, as
/// `&[(version, description, sql)]`, the files' text embedded with `include_str!` so a changed
/// file rebuilds the crate. A new file needs a rebuild too: the crate's build script watches
/// the folders. Descriptions are made as sqlx's `migrate!` makes them (underscores to spaces),
/// so a database migrated by either agrees.
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let dir = parse_macro_input!(input as LitStr);
    match migrations(&dir) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn migrations(dir: &LitStr) -> syn::Result<proc_macro2::TokenStream> {
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let path = std::path::Path::new(&root).join(dir.value());
    let err = |m: String| syn::Error::new(dir.span(), m);
    let read = std::fs::read_dir(&path).map_err(|e| err(format!("{}: {e}", path.display())))?;
    let mut found = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| err(e.to_string()))?;
        let file = entry.file_name().to_string_lossy().to_string();
        let Some(stem) = file.strip_suffix(".sql") else {
            continue;
        };
        let (version, description) = stem
            .split_once('_')
            .ok_or_else(|| err(format!("{file}: expected <version>_<description>.sql")))?;
        let version: i64 = version
            .parse()
            .map_err(|_| err(format!("{file}: the version is not a number")))?;
        let full = entry
            .path()
            .canonicalize()
            .map_err(|e| err(e.to_string()))?;
        found.push((
            version,
            description.replace('_', " "),
            full.to_string_lossy().to_string(),
        ));
    }
    found.sort_by_key(|m| m.0);
    if let Some(w) = found.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(err(format!("two migrations with version {}", w[0].0)));
    }
    let items = found
        .iter()
        .map(|(v, d, p)| quote! { (#v, #d, include_str!(#p)) });
    Ok(quote! { &[#(#items),*] })
}
