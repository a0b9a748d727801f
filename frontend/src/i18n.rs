//! The storefront's own words in uz (Latin), ru and en.
//!
//! Typed key tables rather than leptos_i18n or Fluent: about a hundred short strings, no plural
//! rules beyond a number placeholder, and every string is a `&'static str` in the binary, so it
//! costs a few KB of data and no parser, loader or extra requests on a phone. Two tables: [`K`]
//! for the shell and the catalog (the first download), [`P`] for the screens behind it (their
//! chunks; see [`Words`]). The macro makes a key without all three languages a compile error;
//! `tests::languages_agree` checks the rest.
//! Product and category texts come from the API in the language asked for (`?lang=`).

use shared::{Lang, OrderStatus, PaymentMethod};

pub use later::K as P;

/// A key of one of the two tables: [`K`], the words of the first download (the shell and the
/// catalog), and [`P`], the words of the screens behind the catalog. wasm-split keeps data
/// that only a chunk's code reaches in that chunk: `P`'s table (and with it its strings) is
/// reached only through `t::<P>`, which only those screens call, so its words arrive with
/// them instead of in the first download (docs/PERFORMANCE.md). A word the shell or the
/// catalog shows belongs in `K`.
pub trait Words: Copy {
    /// The key's `[uz, ru, en]` strings.
    fn words(self) -> [&'static str; 3];
}

web_common::ui_keys! {
    Catalog => ["Katalog", "Каталог", "Catalog"],
    Categories => ["Kategoriyalar", "Категории", "Categories"],
    All => ["Hammasi", "Все", "All"],
    Search => ["Qidirish", "Поиск", "Search"],
    SearchPlaceholder => ["Mahsulotlarni qidirish", "Искать товары", "Search products"],
    SoldOut => ["Tugagan", "Нет в наличии", "Sold out"],
    From => ["dan", "от", "from"],
    NoProducts => ["Mahsulot yo'q", "Товаров нет", "No products here"],
    NoProductsInCategory => ["Bu kategoriyada hali hech narsa yo'q.", "В этой категории пока пусто.", "Nothing in this category yet. Try another one."],
    NoProductsYet => ["Do'konda hali mahsulot yo'q.", "В магазине пока нет товаров.", "The shop has no products yet. Check back soon."],
    NoMatches => ["Hech narsa topilmadi. Boshqa so'z bilan urinib ko'ring.", "Ничего не нашлось. Попробуйте другое слово.", "Nothing matches. Try another word."],
    LoadFailed => ["Yuklab bo'lmadi", "Не удалось загрузить", "Couldn't load the catalog"],
    LoadFailedPage => ["Yuklab bo'lmadi", "Не удалось загрузить", "Couldn't load this page"],
    Offline => ["Do'konga ulanib bo'lmadi. Internetni tekshiring.", "Нет связи с магазином. Проверьте интернет.", "Can't reach the shop. Check your connection."],
    Retry => ["Qayta urinish", "Повторить", "Retry"],
    LoadMore => ["Yana ko'rsatish", "Показать ещё", "Load more"],
    Loading => ["Yuklanmoqda…", "Загрузка…", "Loading…"],
    Back => ["Orqaga", "Назад", "Back"],
    Cart => ["Savat", "Корзина", "Cart"],
    CartWithCount => ["Savat, {n} ta", "Корзина, {n} шт.", "Cart, {n} items"],
    Orders => ["Buyurtmalar", "Заказы", "Orders"],
    Language => ["Til", "Язык", "Language"],
    DevMode => ["Dev rejim", "Режим разработки", "Dev mode"],
    DevModeHint => ["Telegram orqali emas, test mijoz sifatida kirilgan", "Вход как тестовый покупатель, не через Telegram", "Signed in as a test customer, not through Telegram"],
    Product => ["Mahsulot", "Товар", "Product"],
    Checkout => ["Rasmiylashtirish", "Оформить", "Checkout"],
    OrderNo => ["Buyurtma №{n}", "Заказ №{n}", "Order #{n}"],
    NotFound => ["Sahifa topilmadi", "Страница не найдена", "Page not found"],
}

impl Words for K {
    fn words(self) -> [&'static str; 3] {
        table(self)
    }
}

/// The words of the screens behind the catalog (product, cart, checkout, orders), as [`P`].
mod later {
    web_common::ui_keys! {
        InStock => ["Mavjud", "В наличии", "In stock"],
        OnlyLeft => ["Faqat {n} ta qoldi", "Осталось {n} шт.", "Only {n} left"],
        ChooseOptions => ["Variantni tanlang", "Выберите вариант", "Choose an option"],
        Quantity => ["Miqdor", "Количество", "Quantity"],
        Decrease => ["Kamaytirish", "Меньше", "Decrease"],
        Increase => ["Ko'paytirish", "Больше", "Increase"],
        AddToCart => ["Savatga qo'shish", "В корзину", "Add to cart"],
        Added => ["Savatga qo'shildi", "Добавлено в корзину", "Added to cart"],
        AddOneMore => ["Yana bitta qo'shish", "Добавить ещё", "Add one more"],
        BuyNow => ["Hozir sotib olish", "Купить сейчас", "Buy now"],
        Share => ["Ulashish", "Поделиться", "Share"],
        Fullscreen => ["To'liq ekran", "Во весь экран", "Full screen"],
        AddToHome => ["Bosh ekranga qo'shish", "На главный экран", "Add to home screen"],
        CartEmpty => ["Savat bo'sh", "Корзина пуста", "Your cart is empty"],
        CartEmptyHint => ["Katalogdan biror narsa tanlang.", "Выберите что-нибудь в каталоге.", "Pick something from the catalog."],
        ToCatalog => ["Katalogga", "В каталог", "Go to the catalog"],
        Remove => ["O'chirish", "Удалить", "Remove"],
        Total => ["Jami", "Итого", "Total"],
        MixedCurrencies => ["Savatda turli valyutadagi mahsulotlar bor: ularni alohida buyurtma qiling.", "В корзине товары в разных валютах: оформите их отдельными заказами.", "Your cart has items in different currencies: order them separately."],
        FixCart => ["Buyurtmadan oldin belgilangan qatorlarni to'g'rilang.", "Исправьте отмеченные строки перед заказом.", "Fix the marked lines before ordering."],
        PaymentMethod => ["To'lov usuli", "Способ оплаты", "Payment method"],
        NoPaymentMethods => ["Bu savat uchun to'lov usuli yo'q.", "Для этой корзины нет способов оплаты.", "No payment method is available for this cart."],
        Delivery => ["Yetkazib berish", "Доставка", "Delivery"],
        DeliveryFree => ["bepul", "бесплатно", "free"],
        FreeFrom => ["{n} dan bepul", "бесплатно от {n}", "free from {n}"],
        Name => ["Ism", "Имя", "Name"],
        Phone => ["Telefon", "Телефон", "Phone"],
        SharePhone => ["Telegram raqamimni yuborish", "Взять номер из Telegram", "Use my Telegram number"],
        Address => ["Manzil", "Адрес", "Address"],
        NameInvalid => ["Qabul qiluvchining ismini kiriting.", "Введите имя получателя.", "Enter the recipient's name."],
        PhoneInvalid => ["7–15 raqamli telefon raqamini kiriting, masalan +998 90 123 45 67.", "Введите телефон из 7–15 цифр, например +998 90 123 45 67.", "Enter a phone number with 7 to 15 digits, such as +998 90 123 45 67."],
        ReceiptEmail => ["Chek uchun email", "Email для чека", "Email for the receipt"],
        EmailInvalid => ["name@example.com kabi email kiriting yoki bo'sh qoldiring.", "Введите email, например name@example.com, или оставьте поле пустым.", "Enter an email such as name@example.com, or leave it empty."],
        AddressInvalid => ["Yetkazish manzilini kiriting (ko'cha, uy, shahar).", "Введите адрес доставки (улица, дом, город).", "Enter a delivery address (street, house, city)."],
        Summary => ["Buyurtma", "Ваш заказ", "Summary"],
        PlaceOrder => ["Buyurtma berish", "Оформить заказ", "Place order"],
        HavePromo => ["Promokodingiz bormi?", "Есть промокод?", "Have a promo code?"],
        PromoCode => ["Promokod", "Промокод", "Promo code"],
        Discount => ["Chegirma", "Скидка", "Discount"],
        Pay => ["To'lash", "Оплатить", "Pay"],
        OrderPlaced => ["Buyurtma qabul qilindi", "Заказ принят", "Order placed"],
        CashNote => ["Mahsulotni olganingizda naqd to'laysiz.", "Оплата наличными при получении.", "You pay in cash on delivery."],
        PaidNote => ["To'lov qabul qilindi. Rahmat!", "Оплата получена. Спасибо!", "Payment received. Thank you!"],
        PayCancelled => ["To'lov bekor qilindi. Qayta urinib ko'rishingiz mumkin.", "Оплата отменена. Можно попробовать снова.", "Payment cancelled. You can try again."],
        PayFailed => ["To'lov amalga oshmadi. Qayta urinib ko'ring yoki boshqa karta tanlang.", "Оплата не прошла. Попробуйте снова или другой картой.", "The payment failed. Try again, or with another card."],
        PayPending => ["To'lov tekshirilmoqda…", "Платёж обрабатывается…", "Checking the payment…"],
        CancelledNote => ["Buyurtma bekor qilindi. Undan hech narsa yechilmadi.", "Заказ отменён. Деньги за него не списаны.", "This order was cancelled. Nothing was charged for it."],
        ExpiredNote => ["To'lov muddati tugadi, mahsulotlar yana sotuvda. Yangi buyurtma bering.", "Время на оплату истекло, товары снова в продаже. Оформите новый заказ.", "The time to pay ran out and the items are back on sale. Place a new order."],
        NoOrders => ["Hali buyurtma yo'q", "Заказов пока нет", "No orders yet"],
        Timeline => ["Tarix", "История", "Timeline"],
        EventPartialRefund => ["Qisman qaytarildi", "Частичный возврат", "Partly refunded"],
        EventDuplicateRefunded => ["Ortiqcha to'lov qaytarildi", "Лишний платёж возвращён", "Extra payment refunded"],
        EventRefundFailed => ["Pul qaytarilmadi: do'kon siz bilan bog'lanadi", "Возврат не прошёл: магазин свяжется с вами", "The refund did not go through: the shop will contact you"],
        EventSubscriptionEnded => ["Obuna tugadi", "Подписка закончилась", "Subscription ended"],
        SubscriptionRenews => ["Obuna yangilanadi:", "Подписка продлится", "Renews on"],
        SubscriptionEnds => ["Obuna yangilanmaydi, tugashi:", "Подписка не продлится, до", "Won't renew; ends on"],
        SubscriptionCancel => ["Obunani bekor qilish", "Отменить подписку", "Cancel subscription"],
        Contact => ["Aloqa", "Контакты", "Contact"],
        Items => ["Mahsulotlar", "Товары", "Items"],
        ContinueShopping => ["Xaridni davom ettirish", "Продолжить покупки", "Continue shopping"],
        StPending => ["To'lov kutilmoqda", "Ожидает оплаты", "Awaiting payment"],
        StPaid => ["To'langan", "Оплачен", "Paid"],
        StShipped => ["Jo'natilgan", "Отправлен", "Shipped"],
        StDelivered => ["Yetkazilgan", "Доставлен", "Delivered"],
        StCompleted => ["Yakunlangan", "Завершён", "Completed"],
        StCancelled => ["Bekor qilingan", "Отменён", "Cancelled"],
        StExpired => ["Muddati o'tgan", "Истёк", "Expired"],
        StRefunded => ["Qaytarilgan", "Возвращён", "Refunded"],
        PmCash => ["Naqd pul (yetkazishda)", "Наличными при получении", "Cash on delivery"],
        PmStars => ["Telegram Stars", "Telegram Stars", "Telegram Stars"],
        PmTelegram => ["Telegram orqali karta", "Картой в Telegram", "Card in Telegram"],
        PmClick => ["Click", "Click", "Click"],
        PmPayme => ["Payme", "Payme", "Payme"],
        PmStripe => ["Karta (Stripe)", "Картой (Stripe)", "Card (Stripe)"],
        PmPaypal => ["PayPal", "PayPal", "PayPal"],
        PmTon => ["TON / USDT", "TON / USDT", "TON / USDT"],
        PmCryptopay => ["Kripto (Crypto Pay)", "Криптовалютой (Crypto Pay)", "Crypto (Crypto Pay)"],
        PmYookassa => ["YooKassa", "ЮKassa", "YooKassa"],
        TonComment => ["Izoh (majburiy)", "Комментарий (обязательно)", "Comment (required)"],
        TonHint => ["Izohsiz to'lov topilmaydi.", "Без комментария платёж не найти.", "Without it, the payment is lost."],
        TonMissing => ["Yana {n} yuboring.", "Отправьте ещё {n}.", "Send {n} more."],
        Copy => ["Nusxa", "Копировать", "Copy"],
    }

    impl super::Words for K {
        fn words(self) -> [&'static str; 3] {
            table(self)
        }
    }
}

/// The string for `k` in `lang`.
pub fn t(lang: Lang, k: impl Words) -> &'static str {
    let [uz, ru, en] = k.words();
    match lang {
        Lang::Uz => uz,
        Lang::Ru => ru,
        Lang::En => en,
    }
}

/// The string for `k` with its `{n}` replaced. (Every string has at most one placeholder, and
/// `{` appears in no other way; `tests::languages_agree` checks both. Found by character rather
/// than with `str::replace`, whose substring search would be 2 KB of the first download.)
pub fn tn(lang: Lang, k: impl Words, n: impl std::fmt::Display) -> String {
    let s = t(lang, k);
    match s.split_once('{') {
        Some((before, rest)) => {
            let after = rest.strip_prefix("n}").unwrap_or(rest);
            format!("{before}{n}{after}")
        }
        None => s.to_string(),
    }
}

pub fn status(lang: Lang, s: OrderStatus) -> &'static str {
    t(
        lang,
        match s {
            OrderStatus::PendingPayment => P::StPending,
            OrderStatus::Paid => P::StPaid,
            OrderStatus::Shipped => P::StShipped,
            OrderStatus::Delivered => P::StDelivered,
            OrderStatus::Completed => P::StCompleted,
            OrderStatus::Cancelled => P::StCancelled,
            OrderStatus::Expired => P::StExpired,
            OrderStatus::Refunded => P::StRefunded,
        },
    )
}

pub fn method(lang: Lang, m: PaymentMethod) -> &'static str {
    t(
        lang,
        match m {
            PaymentMethod::Cash => P::PmCash,
            PaymentMethod::Stars => P::PmStars,
            PaymentMethod::Telegram => P::PmTelegram,
            PaymentMethod::Click => P::PmClick,
            PaymentMethod::Payme => P::PmPayme,
            PaymentMethod::Stripe => P::PmStripe,
            PaymentMethod::Paypal => P::PmPaypal,
            PaymentMethod::Ton => P::PmTon,
            PaymentMethod::Cryptopay => P::PmCryptopay,
            PaymentMethod::Yookassa => P::PmYookassa,
        },
    )
}

/// The UI language: the saved choice, else Telegram's `language_code`, else English.
pub fn initial(saved: Option<&str>, telegram: Option<&str>) -> Lang {
    saved
        .and_then(Lang::parse)
        .or_else(|| telegram.and_then(Lang::parse))
        .unwrap_or(Lang::En)
}

/// The language's own name, for the switcher.
pub fn native_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Uz => "O'zbekcha",
        Lang::Ru => "Русский",
        Lang::En => "English",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(s: &str) -> Vec<&str> {
        s.match_indices("{n}").map(|(_, m)| m).collect()
    }

    #[test]
    fn languages_agree() {
        let first = K::ALL.iter().map(|&k| (format!("{k:?}"), k.words()));
        let later = P::ALL.iter().map(|&k| (format!("{k:?}"), k.words()));
        for (k, [uz, ru, en]) in first.chain(later) {
            for (lang, s) in [("uz", uz), ("ru", ru), ("en", en)] {
                assert!(!s.trim().is_empty(), "{k} is empty in {lang}");
            }
            assert!(
                placeholders(en).len() <= 1,
                "{k}: more than one placeholder"
            );
            for s in [uz, ru, en] {
                assert_eq!(
                    s.matches('{').count(),
                    placeholders(s).len(),
                    "{k}: a brace that is not {{n}}: {s}"
                );
            }
            assert_eq!(placeholders(uz), placeholders(en), "{k}: uz placeholders");
            assert_eq!(placeholders(ru), placeholders(en), "{k}: ru placeholders");
            // Uzbek is written in Latin script here; Cyrillic in it is a copy-paste slip.
            assert!(
                !uz.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c)),
                "{k}: uz text has Cyrillic letters: {uz}"
            );
        }
    }

    #[test]
    fn picks_saved_then_telegram_then_english() {
        assert_eq!(initial(Some("ru"), Some("uz")), Lang::Ru);
        assert_eq!(initial(None, Some("uz-UZ")), Lang::Uz);
        assert_eq!(initial(None, Some("de")), Lang::En);
        assert_eq!(initial(Some("xx"), None), Lang::En);
        assert_eq!(tn(Lang::En, P::OnlyLeft, 3), "Only 3 left");
        assert_eq!(tn(Lang::Ru, K::OrderNo, 42), "Заказ №42");
        assert_eq!(tn(Lang::En, K::Cart, 5), "Cart");
    }
}
