//! The demo catalog: 12 products in 4 categories, in uz/ru/en, priced in UZS (physical goods)
//! and Stars (digital goods), each with a picture drawn for the demo (`backend/demo/*.png`,
//! made by `scripts/demo-pictures.py`) and stored through the same pipeline as a merchant's
//! upload, so the catalog shows resized widths with `srcset` like a real shop's.

use std::path::Path;

use serde_json::json;

use crate::admin::images;
use crate::catalog::repo::search_text;
use crate::db::{self, Db};

/// (sku, options, price in minor units, currency, stock or None for unlimited)
type DemoVariant = (
    &'static str,
    &'static [(&'static str, &'static str)],
    i64,
    &'static str,
    Option<i64>,
);

struct DemoProduct {
    category: &'static str,
    kind: &'static str,
    title: [&'static str; 3],
    description: [&'static str; 3],
    /// A 640x480 PNG from `backend/demo/`.
    picture: &'static [u8],
    /// (sku, options, price in minor units, currency, stock or None for unlimited)
    variants: &'static [DemoVariant],
    digital: Option<&'static str>,
}

const CATEGORIES: [(&str, [&str; 3]); 4] = [
    ("clothing", ["Kiyim", "Одежда", "Clothing"]),
    ("home", ["Uy uchun", "Для дома", "Home"]),
    ("food", ["Oziq-ovqat", "Еда", "Food"]),
    ("digital", ["Raqamli", "Цифровое", "Digital"]),
];

const PRODUCTS: &[DemoProduct] = &[
    DemoProduct {
        category: "clothing",
        kind: "physical",
        title: ["Atlas ko'ylak", "Платье из атласа", "Atlas silk dress"],
        description: [
            "Marg'ilon atlasidan qo'lda tikilgan ko'ylak.",
            "Платье ручной работы из маргиланского атласа.",
            "Hand-sewn dress of Margilan atlas silk.",
        ],
        picture: include_bytes!("../demo/dress.png"),
        variants: &[
            ("DRESS-S", &[("size", "S")], 45_000_000, "UZS", Some(5)),
            ("DRESS-M", &[("size", "M")], 45_000_000, "UZS", Some(8)),
            ("DRESS-L", &[("size", "L")], 47_000_000, "UZS", Some(3)),
        ],
        digital: None,
    },
    DemoProduct {
        category: "clothing",
        kind: "physical",
        title: ["Do'ppi", "Тюбетейка", "Doppi skullcap"],
        description: [
            "Chust uslubidagi an'anaviy do'ppi.",
            "Традиционная тюбетейка в чустском стиле.",
            "Traditional Chust-style embroidered skullcap.",
        ],
        picture: include_bytes!("../demo/doppi.png"),
        variants: &[
            (
                "DOPPI-BLK",
                &[("colour", "black")],
                12_000_000,
                "UZS",
                Some(20),
            ),
            (
                "DOPPI-GRN",
                &[("colour", "green")],
                12_000_000,
                "UZS",
                Some(12),
            ),
        ],
        digital: None,
    },
    DemoProduct {
        category: "clothing",
        kind: "physical",
        title: ["Chopon", "Чапан", "Chapan robe"],
        description: [
            "Issiq paxtali chopon.",
            "Тёплый ватный халат-чапан.",
            "Warm quilted cotton chapan robe.",
        ],
        picture: include_bytes!("../demo/chapan.png"),
        variants: &[
            ("CHAPAN-M", &[("size", "M")], 98_000_000, "UZS", Some(4)),
            ("CHAPAN-XL", &[("size", "XL")], 102_000_000, "UZS", Some(2)),
        ],
        digital: None,
    },
    DemoProduct {
        category: "home",
        kind: "physical",
        title: ["Rishton kosasi", "Риштанская пиала", "Rishtan bowl"],
        description: [
            "Rishton ustalarining qo'lda bo'yalgan kosasi.",
            "Расписная пиала мастеров Риштана.",
            "Hand-painted bowl by Rishtan potters.",
        ],
        picture: include_bytes!("../demo/bowl.png"),
        variants: &[("BOWL-01", &[], 8_500_000, "UZS", Some(30))],
        digital: None,
    },
    DemoProduct {
        category: "home",
        kind: "physical",
        title: ["Choynak", "Чайник", "Teapot"],
        description: [
            "Paxta gulli chinni choynak.",
            "Фарфоровый чайник с хлопковым узором.",
            "Porcelain teapot with the cotton pattern.",
        ],
        picture: include_bytes!("../demo/teapot.png"),
        variants: &[("TEAPOT-01", &[], 15_000_000, "UZS", Some(10))],
        digital: None,
    },
    DemoProduct {
        category: "home",
        kind: "physical",
        title: ["Suzani", "Сюзане", "Suzani wall hanging"],
        description: [
            "Buxoro kashtasi, 120×180 sm.",
            "Бухарская вышивка, 120×180 см.",
            "Bukhara embroidery, 120×180 cm.",
        ],
        picture: include_bytes!("../demo/suzani.png"),
        variants: &[("SUZANI-01", &[], 250_000_000, "UZS", Some(1))],
        digital: None,
    },
    DemoProduct {
        category: "food",
        kind: "physical",
        title: ["Quritilgan o'rik", "Курага", "Dried apricots"],
        description: [
            "Farg'ona vodiysidan, 1 kg.",
            "Из Ферганской долины, 1 кг.",
            "From the Fergana valley, 1 kg.",
        ],
        picture: include_bytes!("../demo/apricot.png"),
        variants: &[("APRICOT-1KG", &[("weight", "1 kg")], 6_000_000, "UZS", None)],
        digital: None,
    },
    DemoProduct {
        category: "food",
        kind: "physical",
        title: ["Pista", "Фисташки", "Pistachios"],
        description: [
            "Qovurilgan tuzli pista, 500 g.",
            "Жареные солёные фисташки, 500 г.",
            "Roasted salted pistachios, 500 g.",
        ],
        picture: include_bytes!("../demo/pista.png"),
        variants: &[(
            "PISTA-500",
            &[("weight", "500 g")],
            9_500_000,
            "UZS",
            Some(40),
        )],
        digital: None,
    },
    DemoProduct {
        category: "food",
        kind: "physical",
        title: ["Ko'k choy", "Зелёный чай", "Green tea"],
        description: [
            "95-raqamli ko'k choy, 250 g.",
            "Зелёный чай №95, 250 г.",
            "Green tea No. 95, 250 g.",
        ],
        picture: include_bytes!("../demo/tea.png"),
        variants: &[(
            "TEA-95",
            &[("weight", "250 g")],
            3_500_000,
            "UZS",
            Some(100),
        )],
        digital: None,
    },
    DemoProduct {
        category: "digital",
        kind: "digital",
        title: [
            "Osh retsepti (PDF)",
            "Рецепт плова (PDF)",
            "Plov recipe book (PDF)",
        ],
        description: [
            "Toshkent oshining 12 ta retsepti.",
            "12 рецептов ташкентского плова.",
            "Twelve recipes for Tashkent plov.",
        ],
        picture: include_bytes!("../demo/plov.png"),
        variants: &[("PLOV-PDF", &[], 50, "XTR", None)],
        digital: Some("https://example.com/downloads/plov-recipes.pdf"),
    },
    DemoProduct {
        category: "digital",
        kind: "digital",
        title: ["Stikerlar to'plami", "Набор стикеров", "Sticker pack"],
        description: [
            "Samarqand naqshlari bilan 24 stiker.",
            "24 стикера с самаркандскими узорами.",
            "24 stickers with Samarkand patterns.",
        ],
        picture: include_bytes!("../demo/stickers.png"),
        variants: &[("STICKERS-24", &[], 25, "XTR", None)],
        digital: Some("https://t.me/addstickers/demo_samarkand"),
    },
    DemoProduct {
        category: "digital",
        kind: "subscription",
        title: ["Premium klub", "Премиум-клуб", "Premium club"],
        description: [
            "Har oy yangi retseptlar va chegirmalar.",
            "Новые рецепты и скидки каждый месяц.",
            "New recipes and discounts every month.",
        ],
        picture: include_bytes!("../demo/club.png"),
        variants: &[("CLUB-MONTH", &[("period", "30 days")], 100, "XTR", None)],
        digital: Some("Welcome to the club: your code is CLUB-2026"),
    },
];

fn texts(t: [&str; 3]) -> serde_json::Value {
    json!({"uz": t[0], "ru": t[1], "en": t[2]})
}

/// One picture's widths as `images::render` makes them: (width, encoded bytes, extension).
type Rendered = Vec<(u32, Vec<u8>, &'static str)>;

/// Every demo picture through the upload pipeline's resizing, once per process: each test app
/// seeds the demo, and in a debug build the resizing took about 3 s an app (the image code's
/// generics are compiled into this crate, unoptimised). Files are still written per media dir.
fn rendered_pictures() -> Result<&'static [Rendered], String> {
    static ONCE: std::sync::OnceLock<Result<Vec<Rendered>, String>> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        PRODUCTS
            .iter()
            .map(|p| {
                images::render(p.picture, image::ImageFormat::Png)
                    .map_err(|e| format!("demo picture: {e}"))
            })
            .collect()
    })
    .as_ref()
    .map(Vec::as_slice)
    .map_err(Clone::clone)
}

/// Seeds the demo catalog, but only into an empty database.
/// The database-wide lock (`Db::exclusive`) held while checking and seeding.
const SEED_LOCK: i64 = 0x5345_4544; // "SEED"

pub async fn seed_demo(db: &Db, media_dir: &Path) -> Result<bool, String> {
    // Processes starting at once on a new database: one seeds, the others then find it full.
    let _once = db.exclusive(SEED_LOCK).await.map_err(|e| e.to_string())?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
        .fetch_one(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    let c: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM categories")
        .fetch_one(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    if n > 0 || c > 0 {
        tracing::info!("the catalog is not empty; demo not seeded");
        return Ok(false);
    }
    std::fs::create_dir_all(media_dir).map_err(|e| format!("{}: {e}", media_dir.display()))?;
    // Resizing the pictures is most of the seeding time: logged, since tests seed every app.
    let started = std::time::Instant::now();
    let rendered = rendered_pictures()?;
    let now = db::now();
    let mut tx = db.begin_write().await.map_err(|e| e.to_string())?;
    let mut cat_ids = std::collections::HashMap::new();
    for (pos, (slug, title)) in CATEGORIES.iter().enumerate() {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO categories (slug, title_json, position, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(*slug)
        .bind(texts(*title).to_string())
        .bind(pos as i64)
        .bind(now)
        .fetch_one(tx.conn())
        .await
        .map_err(|e| e.to_string())?;
        cat_ids.insert(*slug, id);
    }
    for (pos, p) in PRODUCTS.iter().enumerate() {
        // Resized and written as an upload would be: `/media/<hash>-<width>.jpg`, the
        // product keeping the widest.
        let widths = images::store(p.picture, rendered[pos].clone(), media_dir)
            .map_err(|e| format!("demo picture: {e}"))?;
        let image = widths
            .last()
            .map(|w| w.url.clone())
            .ok_or("demo picture: no width stored")?;
        let title: shared::Texts =
            serde_json::from_value(texts(p.title)).map_err(|e| e.to_string())?;
        let desc: shared::Texts =
            serde_json::from_value(texts(p.description)).map_err(|e| e.to_string())?;
        let pid: i64 = sqlx::query_scalar(
            "INSERT INTO products (category_id, kind, title_json, description_json, images_json, search_text, \
             digital_content, subscription_period, position, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        )
        .bind(cat_ids[p.category])
        .bind(p.kind)
        .bind(texts(p.title).to_string())
        .bind(texts(p.description).to_string())
        .bind(json!([image]).to_string())
        .bind(search_text(&title, &desc))
        .bind(p.digital)
        .bind((p.kind == "subscription").then_some(2_592_000i64))
        .bind(pos as i64)
        .bind(now)
        .fetch_one(tx.conn())
        .await
        .map_err(|e| e.to_string())?;
        for (vpos, (sku, opts, price, currency, stock)) in p.variants.iter().enumerate() {
            let options: serde_json::Map<String, serde_json::Value> = opts
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            sqlx::query(
                "INSERT INTO variants (product_id, sku, options_json, price_minor, currency, stock, position, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(pid)
            .bind(*sku)
            .bind(serde_json::Value::Object(options).to_string())
            .bind(*price)
            .bind(*currency)
            .bind(*stock)
            .bind(vpos as i64)
            .bind(now)
            .execute(tx.conn())
            .await
            .map_err(|e| e.to_string())?;
        }
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    tracing::info!(
        products = PRODUCTS.len(),
        ms = started.elapsed().as_millis() as u64,
        "seeded the demo catalog"
    );
    Ok(true)
}
