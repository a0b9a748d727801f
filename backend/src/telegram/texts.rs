//! What the bot says, in Uzbek, Russian and English.

use shared::Lang;

/// The language of a Telegram user (`language_code`), English when unknown.
pub fn lang_of(code: Option<&str>) -> Lang {
    code.and_then(Lang::parse).unwrap_or(Lang::En)
}

pub fn t(lang: Lang, key: &str) -> &'static str {
    let [uz, ru, en] = match key {
        "greet" => [
            "Assalomu alaykum! Do'konimizga xush kelibsiz. Quyidagi tugma orqali oching.",
            "Здравствуйте! Добро пожаловать в наш магазин. Откройте его кнопкой ниже.",
            "Hello! Welcome to our shop. Open it with the button below.",
        ],
        "greet_product" => [
            "Assalomu alaykum! Siz so'ragan mahsulot tayyor — quyidagi tugmani bosing.",
            "Здравствуйте! Товар, который вы искали, ждёт вас — нажмите кнопку ниже.",
            "Hello! The product you asked for is waiting — tap the button below.",
        ],
        "open" => ["Do'konni ochish", "Открыть магазин", "Open the shop"],
        "menu" => ["Do'kon", "Магазин", "Shop"],
        "help" => [
            "Buyruqlar:\n/start — do'konni ochish\n/orders — buyurtmalarim\n/paysupport — to'lov bo'yicha yordam\n/terms — shartlar\n/stop — savat eslatmalarini o'chirish\n/help — yordam",
            "Команды:\n/start — открыть магазин\n/orders — мои заказы\n/paysupport — помощь с оплатой\n/terms — условия\n/stop — отключить напоминания о корзине\n/help — помощь",
            "Commands:\n/start — open the shop\n/orders — my orders\n/paysupport — payment help\n/terms — terms\n/stop — no more cart reminders\n/help — help",
        ],
        "paysupport" => [
            "To'lov bo'yicha yordam: shu chatga buyurtma raqami va muammoni yozing, 24 soat ichida javob beramiz. Stars bilan to'langan raqamli mahsulot yetkazilmagan yoki noto'g'ri bo'lsa, pulni qaytaramiz.",
            "Помощь с оплатой: напишите в этот чат номер заказа и суть проблемы — ответим в течение 24 часов. Если цифровой товар, оплаченный Stars, не пришёл или не соответствует описанию, мы вернём Stars.",
            "Payment support: write the order number and what went wrong in this chat and we answer within 24 hours. If a digital item paid with Stars did not arrive or is not as described, we refund the Stars.",
        ],
        "terms" => [
            "Shartlar: narxlar buyurtma vaqtida belgilanadi. Raqamli mahsulotlar to'lovdan so'ng darhol yetkaziladi. Obuna har 30 kunda yangilanadi; uni istalgan vaqtda bekor qilishingiz mumkin. Qaytarish: /paysupport.",
            "Условия: цена фиксируется при заказе. Цифровые товары выдаются сразу после оплаты. Подписка продлевается каждые 30 дней; её можно отменить в любой момент. Возвраты: /paysupport.",
            "Terms: prices are fixed when you order. Digital items are delivered right after payment. Subscriptions renew every 30 days and can be cancelled any time. Refunds: /paysupport.",
        ],
        "no_orders" => [
            "Sizda hali buyurtmalar yo'q.",
            "У вас пока нет заказов.",
            "You have no orders yet.",
        ],
        "your_orders" => ["Buyurtmalaringiz:", "Ваши заказы:", "Your orders:"],
        "paid" => [
            "✅ {order} buyurtmasi to'landi. Rahmat!",
            "✅ Заказ {order} оплачен. Спасибо!",
            "✅ Order {order} is paid. Thank you!",
        ],
        "content" => ["Sizning mahsulotingiz:", "Ваш товар:", "Your purchase:"],
        "shipped" => [
            "🚚 {order} buyurtmasi jo'natildi.",
            "🚚 Заказ {order} отправлен.",
            "🚚 Order {order} is on its way.",
        ],
        "delivered" => [
            "📦 {order} buyurtmasi yetkazildi.",
            "📦 Заказ {order} доставлен.",
            "📦 Order {order} was delivered.",
        ],
        "cancelled" => [
            "{order} buyurtmasi bekor qilindi.",
            "Заказ {order} отменён.",
            "Order {order} was cancelled.",
        ],
        "expired" => [
            "{order} buyurtmasi to'lanmagani uchun bekor bo'ldi.",
            "Заказ {order} не был оплачен вовремя и отменён.",
            "Order {order} was not paid in time and lapsed.",
        ],
        "refunded" => [
            "↩️ {order} buyurtmasi uchun pul qaytarildi.",
            "↩️ Деньги за заказ {order} возвращены.",
            "↩️ Order {order} was refunded.",
        ],
        "refund_failed" => [
            "⚠️ {order} buyurtmasi uchun pul qaytarish amalga oshmadi. Do'kon siz bilan bog'lanadi.",
            "⚠️ Возврат денег за заказ {order} не прошёл. Магазин свяжется с вами.",
            "⚠️ The refund for order {order} did not go through. The shop will contact you.",
        ],
        "renewed" => [
            "🔁 {order} obunasi yana 30 kunga uzaytirildi.",
            "🔁 Подписка по заказу {order} продлена ещё на 30 дней.",
            "🔁 Your subscription ({order}) renewed for another 30 days.",
        ],
        "ending" => [
            "Obuna ({order}) yangilanmaydi va muddati tugagach to'xtaydi.",
            "Подписка ({order}) не будет продлена и закончится в конце срока.",
            "Your subscription ({order}) will not renew and ends at the end of its period.",
        ],
        "renewal_failed" => [
            "⚠️ Obuna ({order}) uchun to'lov o'tmadi. Karta ma'lumotlarini tekshiring: to'lov yana urinib ko'riladi, o'tmasa obuna to'xtaydi.",
            "⚠️ Не удалось списать оплату подписки ({order}). Проверьте карту: списание повторится, а если не пройдёт, подписка закончится.",
            "⚠️ The payment for your subscription ({order}) failed. Please check your card: it will be tried again, and the subscription ends if it keeps failing.",
        ],
        "underpaid" => [
            "⏳ {order} buyurtmasi uchun {total} dan {received} keldi. Qolgan {missing} ni o'sha manzilga o'sha izoh bilan yuboring.",
            "⏳ По заказу {order} пришло {received} из {total}. Отправьте оставшиеся {missing} на тот же адрес с тем же комментарием.",
            "⏳ Order {order}: {received} of {total} arrived. Send the remaining {missing} to the same address with the same comment.",
        ],
        "pc_gone" => [
            "Buyurtma topilmadi yoki endi to'lab bo'lmaydi. Yangi buyurtma bering.",
            "Заказ не найден или уже не ждёт оплаты. Оформите новый заказ.",
            "This order can no longer be paid. Please place a new one.",
        ],
        "pc_expired" => [
            "Buyurtma muddati tugadi. Iltimos, qaytadan buyurtma bering.",
            "Время на оплату заказа истекло. Пожалуйста, оформите его заново.",
            "This order expired. Please order again.",
        ],
        "pc_amount" => [
            "Summa buyurtmaga mos kelmadi. Qaytadan urinib ko'ring.",
            "Сумма не совпадает с заказом. Попробуйте ещё раз.",
            "The amount does not match the order. Please try again.",
        ],
        "price_from" => ["{price} dan", "от {price}", "from {price}"],
        "open_product" => ["Ko'rish", "Открыть", "View in the shop"],
        "open_cart" => ["Savatni ochish", "Открыть корзину", "Open the cart"],
        "stopped" => [
            "Savat haqidagi eslatmalar o'chirildi. Buyurtmalaringiz haqidagi xabarlar kelaveradi. Eslatmalarni qayta yoqish uchun /start yuboring.",
            "Напоминания о корзине отключены. Сообщения о ваших заказах будут приходить по-прежнему. Чтобы снова включить напоминания, отправьте /start.",
            "Cart reminders are off. You will still hear about your orders. Send /start to turn reminders back on.",
        ],
        "reminder" => [
            "🛒 Savatingizda {items} ta mahsulot qoldi. Ular sizni kutmoqda — buyurtmani tugatish uchun savatni oching.\n\nEslatmalar kerak bo'lmasa: /stop",
            "🛒 В вашей корзине осталось товаров: {items}. Они ждут вас — откройте корзину, чтобы оформить заказ.\n\nНе хотите напоминаний? /stop",
            "🛒 You left {items} item(s) in your cart. They are waiting for you: open the cart to finish your order.\n\nNo more reminders: /stop",
        ],
        "ship_free" => ["Kuryer (bepul)", "Курьер (бесплатно)", "Courier (free)"],
        "ship_pickup" => ["Olib ketish", "Самовывоз", "Pickup"],
        _ => ["", "", ""],
    };
    match lang {
        Lang::Uz => uz,
        Lang::Ru => ru,
        Lang::En => en,
    }
}

pub fn status_name(lang: Lang, status: &str) -> &'static str {
    let [uz, ru, en] = match status {
        "pending_payment" => ["to'lov kutilmoqda", "ждёт оплаты", "awaiting payment"],
        "paid" => ["to'langan", "оплачен", "paid"],
        "shipped" => ["jo'natilgan", "отправлен", "shipped"],
        "delivered" => ["yetkazilgan", "доставлен", "delivered"],
        "completed" => ["yakunlangan", "завершён", "completed"],
        "cancelled" => ["bekor qilingan", "отменён", "cancelled"],
        "expired" => ["muddati o'tgan", "истёк", "expired"],
        "refunded" => ["qaytarilgan", "возвращён", "refunded"],
        _ => ["?", "?", "?"],
    };
    match lang {
        Lang::Uz => uz,
        Lang::Ru => ru,
        Lang::En => en,
    }
}
