use leptos::prelude::*;
use shared::{Lang, Money};

use crate::app::use_ctx;
use crate::i18n::{t, K};
use crate::json_read::{FromJson, Json};
use crate::media;

/// What a catalog card shows of a `shared::Product`: the list answer carries whole products,
/// and only these fields are read (json_read.rs says why not serde). Reading only these keeps
/// the rest's code (texts, variant options and stock, kind) out of the first download; the
/// product page decodes the full `shared::Product`. `tests::reads_a_shared_product` keeps the
/// names in step.
#[derive(Clone, Debug, PartialEq)]
pub struct CardProduct {
    pub id: i64,
    pub title: String,
    pub images: Vec<String>,
    pub variants: Vec<CardVariant>,
}

/// A variant's price and whether it can be bought.
#[derive(Clone, Debug, PartialEq)]
pub struct CardVariant {
    pub price: Money,
    pub available: bool,
}

impl FromJson for CardProduct {
    fn from_json<J: Json>(v: &J) -> Option<Self> {
        Some(CardProduct {
            id: v.int_at("id")?,
            title: v.str_at("title")?,
            images: v.list_at("images")?,
            variants: v.list_at("variants")?,
        })
    }
}

impl FromJson for CardVariant {
    fn from_json<J: Json>(v: &J) -> Option<Self> {
        Some(CardVariant {
            price: Money::from_json(&v.field("price")?)?,
            available: v.field("available")?.boolean()?,
        })
    }
}

/// One product in the catalog grid, a link to its page: image (fixed 4:3 box, so nothing
/// moves as images arrive), title and price. An uploaded image gets a `srcset` sized for the
/// grid (two columns on a phone, three from 600 px), so a phone fetches a narrow width.
pub fn product_card(product: CardProduct) -> impl IntoView {
    let ctx = use_ctx();
    let lang = ctx.lang.get_untracked();
    let price = price_label(&product, lang);
    let sold_out = !product.variants.iter().any(|v| v.available);
    let image = product.images.first().cloned();
    let href = format!("/product/{}", product.id);
    view! {
        <a class="card" href=href data-testid="product-card" data-product-id=product.id>
            <div class="card__media">
                {image.map(|src| {
                    let srcset = media::srcset(&src);
                    let sizes = srcset.is_some().then_some("(min-width: 600px) 33vw, 50vw");
                    view! {
                        <img src=src srcset=srcset sizes=sizes alt="" loading="lazy" decoding="async"
                            width="400" height="300"/>
                    }
                })}
                {sold_out.then(|| view! { <span class="card__badge">{t(lang, K::SoldOut)}</span> })}
            </div>
            <div class="card__body">
                <p class="card__price" data-testid="product-price">{price}</p>
                <h2 class="card__title">{product.title}</h2>
            </div>
        </a>
    }
}

/// Placeholder cards with the real cards' geometry (the same classes, drawn as bars), shown
/// while the catalog loads.
pub fn product_grid_skeleton() -> impl IntoView {
    view! {
        <div class="grid" aria-busy="true" aria-label="Loading products" data-testid="catalog-loading">
            {(0..6)
                .map(|_| view! {
                    <div class="card card--skeleton" aria-hidden="true">
                        <div class="card__media shimmer"></div>
                        <div class="card__body">
                            <span class="card__price shimmer"></span>
                            <span class="card__title shimmer"></span>
                        </div>
                    </div>
                })
                .collect_view()}
        </div>
    }
}

/// The price a customer sees on the card: the cheapest variant that can be bought (or the
/// cheapest of all when none can), with "from" when the variants' prices differ.
pub fn price_label(product: &CardProduct, lang: Lang) -> String {
    let available: Vec<&CardVariant> = product.variants.iter().filter(|v| v.available).collect();
    let pool = if available.is_empty() {
        product.variants.iter().collect()
    } else {
        available
    };
    let Some(first) = pool.first() else {
        return String::new();
    };
    let same_currency = || {
        pool.iter()
            .filter(|v| v.price.currency == first.price.currency)
    };
    let Some(cheapest) = same_currency().min_by_key(|v| v.price.amount_minor) else {
        return String::new();
    };
    if pool.iter().any(|v| v.price != cheapest.price) {
        match lang {
            // Uzbek puts the postposition after the amount: "460 000 so'm dan".
            Lang::Uz => format!("{} {}", cheapest.price.display(), t(lang, K::From)),
            _ => format!("{} {}", t(lang, K::From), cheapest.price.display()),
        }
    } else {
        cheapest.price.display()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{Currency, Product, ProductKind, Variant};

    fn variant(minor: i64, currency: &str, available: bool) -> CardVariant {
        CardVariant {
            price: Money::new(minor, Currency::new(currency).unwrap()),
            available,
        }
    }

    fn product(variants: Vec<CardVariant>) -> CardProduct {
        CardProduct {
            id: 1,
            title: "Teapot".into(),
            images: vec![],
            variants,
        }
    }

    #[test]
    fn reads_a_shared_product() {
        let full = Product {
            id: 7,
            kind: ProductKind::Physical,
            category_id: Some(2),
            title: "Teapot".into(),
            description: "Clay".into(),
            images: vec!["/media/a.png".into()],
            variants: vec![Variant {
                id: 3,
                sku: "T-1".into(),
                options: [("size".to_string(), "M".to_string())]
                    .into_iter()
                    .collect(),
                price: Money::new(12_500_000, Currency::new("UZS").unwrap()),
                stock: Some(4),
                available: true,
            }],
            texts: None,
            archived: false,
        };
        let card = CardProduct::from_json(&serde_json::to_value(&full).unwrap());
        assert_eq!(
            card.unwrap(),
            CardProduct {
                id: 7,
                title: "Teapot".into(),
                images: vec!["/media/a.png".into()],
                variants: vec![variant(12_500_000, "UZS", true)],
            }
        );
    }

    #[test]
    fn one_price_is_shown_as_is() {
        let p = product(vec![variant(12_500_000, "UZS", true)]);
        assert_eq!(price_label(&p, Lang::En), "125 000 so'm");
        let p = product(vec![variant(50, "XTR", true)]);
        assert_eq!(price_label(&p, Lang::En), "50 ⭐");
    }

    #[test]
    fn differing_prices_show_the_cheapest_available_with_from() {
        let p = product(vec![
            variant(45_000_000, "UZS", false),
            variant(47_000_000, "UZS", true),
            variant(46_000_000, "UZS", true),
        ]);
        assert_eq!(price_label(&p, Lang::En), "from 460 000 so'm");
        assert_eq!(price_label(&p, Lang::Ru), "от 460 000 so'm");
        assert_eq!(price_label(&p, Lang::Uz), "460 000 so'm dan");
    }

    #[test]
    fn no_variants_no_price() {
        assert_eq!(price_label(&product(vec![]), Lang::En), "");
    }
}
