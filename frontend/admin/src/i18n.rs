//! The admin's own words in uz (Latin), ru and en.
//!
//! A typed key table like the storefront's (its own, not shared: the storefront must not carry
//! the admin's strings): every string is a `&'static str`, a key without all three languages
//! is a compile error, and `tests::languages_agree` checks the rest (non-empty, same
//! placeholders, no Cyrillic in Uzbek).

use shared::{Lang, OrderStatus, PaymentMethod, ProductKind};

web_common::ui_keys! {
    Brand => ["Do'kon · admin", "Магазин · админ", "Shop admin"],
    Menu => ["Menyu", "Меню", "Menu"],
    Language => ["Til", "Язык", "Language"],
    Loading => ["Yuklanmoqda…", "Загрузка…", "Loading…"],
    Offline => ["Do'konga ulanib bo'lmadi. Internetni tekshiring.", "Нет связи с магазином. Проверьте интернет.", "Can't reach the shop. Check your connection."],
    Retry => ["Qayta urinish", "Повторить", "Retry"],
    NotFound => ["Sahifa topilmadi", "Страница не найдена", "Page not found"],
    LoadMore => ["Yana ko'rsatish", "Показать ещё", "Load more"],
    Saved => ["Saqlandi", "Сохранено", "Saved"],
    Save => ["Saqlash", "Сохранить", "Save"],
    Create => ["Yaratish", "Создать", "Create"],
    Cancel => ["Bekor qilish", "Отмена", "Cancel"],
    Delete => ["O'chirish", "Удалить", "Delete"],
    Remove => ["Olib tashlash", "Убрать", "Remove"],
    Apply => ["Qo'llash", "Применить", "Apply"],
    All => ["Hammasi", "Все", "All"],
    From => ["Dan", "С", "From"],
    To => ["Gacha", "По", "To"],
    Date => ["Sana", "Дата", "Date"],
    DateInvalid => ["sanani YYYY-MM-DD ko'rinishida kiriting", "введите дату в виде ГГГГ-ММ-ДД", "enter a date as YYYY-MM-DD"],
    Missing => ["yo'q", "нет", "missing"],
    MoveUp => ["Yuqoriga", "Выше", "Move up"],
    MoveDown => ["Pastga", "Ниже", "Move down"],
    Field => ["Maydon", "Поле", "Field"],
    Before => ["Oldin", "Было", "Before"],
    After => ["Keyin", "Стало", "After"],
    // Sign in
    SignInTitle => ["Admin panelga kirish", "Вход в админку", "Sign in to the admin"],
    SignInHint => ["Do'kon egasi yoki administrator sifatida kiring.", "Войдите как владелец или администратор магазина.", "Sign in as the shop's owner or an admin."],
    Email => ["Email", "Email", "Email"],
    Password => ["Parol", "Пароль", "Password"],
    EmailInvalid => ["Email manzilini kiriting, masalan owner@shop.uz.", "Введите email, например owner@shop.uz.", "Enter an email address, such as owner@shop.uz."],
    PasswordRequired => ["Parolni kiriting.", "Введите пароль.", "Enter your password."],
    PasswordShort => ["Parol kamida 10 belgidan iborat bo'lsin.", "Пароль — не короче 10 символов.", "Use a password of at least 10 characters."],
    SignIn => ["Kirish", "Войти", "Sign in"],
    SignOut => ["Chiqish", "Выйти", "Sign out"],
    RetryIn => ["{n} soniyadan keyin qayta urinib ko'ring.", "Повторите через {n} с.", "Try again in {n} s."],
    // Sections
    Dashboard => ["Boshqaruv paneli", "Сводка", "Dashboard"],
    Products => ["Mahsulotlar", "Товары", "Products"],
    Categories => ["Kategoriyalar", "Категории", "Categories"],
    Orders => ["Buyurtmalar", "Заказы", "Orders"],
    Csv => ["CSV", "CSV", "CSV"],
    Audit => ["Audit jurnali", "Журнал действий", "Audit log"],
    TonTransfers => ["TON o'tkazmalari", "Переводы TON", "TON transfers"],
    TonIntro => ["Hamyoningizga kelgan har bir o'tkazma. Izohi hech bir buyurtmaga mos kelmaganlarini buyurtmaga bog'lang; qaytarilishi kerak bo'lganlarini hamyoningizdan yuborib, shu yerda belgilang.", "Каждый перевод на ваш кошелёк. Переводы с комментарием, не совпавшим ни с одним заказом, привяжите к заказу; деньги к возврату отправьте из своего кошелька и отметьте здесь.", "Every transfer into your wallet. Attach those whose comment matched no order; send back what is owed from your wallet app, then record it here."],
    TonToReturn => ["Qaytarish kerak", "К возврату", "To return"],
    TonUnmatched => ["Mos kelmagan", "Без заказа", "Unmatched"],
    TonPartial => ["Qisman to'lov", "Частичная оплата", "Part-payment"],
    TonFlagged => ["Qaytarish uchun belgilangan", "Помечен к возврату", "Flagged to return"],
    TonPaid => ["Hisobga olingan", "Зачтён", "Counted"],
    TonReturned => ["Qaytarilgan", "Возвращён", "Returned"],
    TonComment => ["Izoh", "Комментарий", "Comment"],
    TonAttach => ["Buyurtmaga bog'lash", "Привязать к заказу", "Attach to order"],
    TonOrderIdNeeded => ["Buyurtma raqamini kiriting.", "Введите номер заказа.", "Enter the order number."],
    TonMarkReturned => ["Qaytarildi deb belgilash", "Отметить возврат", "Record as returned"],
    TonConfirmReturned => ["Hamyoningizdan yuborganingizni tasdiqlaysizmi:", "Подтвердите, что отправили из своего кошелька:", "Confirm you sent back from your wallet:"],
    TonNone => ["O'tkazmalar yo'q.", "Переводов нет.", "No transfers."],
    Admins => ["Adminlar", "Администраторы", "Admins"],
    // Dashboard
    Revenue => ["Tushum", "Выручка", "Revenue"],
    RevenuePerDay => ["Kunlik tushum", "Выручка по дням", "Revenue per day"],
    Totals => ["Jami", "Итоги", "Totals"],
    OrdersCreated => ["Yaratilgan buyurtmalar", "Создано заказов", "Orders created"],
    OrdersPaid => ["To'langan buyurtmalar", "Оплачено заказов", "Orders paid"],
    OrdersCreatedVsPaid => ["Buyurtmalar: yaratilgan va to'langan", "Заказы: созданные и оплаченные", "Orders: created vs paid"],
    Created => ["yaratilgan", "созданы", "created"],
    Paid => ["to'langan", "оплачены", "paid"],
    TopProducts => ["Eng ko'p sotilganlar", "Лидеры продаж", "Top products"],
    LowStock => ["Kam qolgan", "Заканчиваются", "Low stock"],
    NothingYet => ["Bu davrda sotuv yo'q.", "За этот период продаж нет.", "No sales in this range."],
    NothingLow => ["Hamma narsa yetarli.", "Всего хватает.", "Nothing is running low."],
    // Products
    NewProduct => ["Yangi mahsulot", "Новый товар", "New product"],
    Search => ["Qidirish", "Поиск", "Search"],
    SearchHint => ["Nomi yoki SKU", "Название или SKU", "Title or SKU"],
    Category => ["Kategoriya", "Категория", "Category"],
    NoCategory => ["Kategoriyasiz", "Без категории", "No category"],
    Kind => ["Turi", "Тип", "Kind"],
    Stock => ["Qoldiq", "Остаток", "Stock"],
    InStock => ["Mavjud", "В наличии", "In stock"],
    OutOfStock => ["Tugagan", "Нет в наличии", "Out of stock"],
    Image => ["Rasm", "Фото", "Image"],
    Title => ["Nomi", "Название", "Title"],
    Price => ["Narx", "Цена", "Price"],
    Archived => ["Arxivda", "В архиве", "Archived"],
    NoProducts => ["Mahsulot topilmadi.", "Товары не найдены.", "No products match."],
    // Product editor
    BackToProducts => ["← Mahsulotlar", "← Товары", "← Products"],
    Texts => ["Matnlar", "Тексты", "Texts"],
    Description => ["Tavsif", "Описание", "Description"],
    Variants => ["Variantlar", "Варианты", "Variants"],
    Currency => ["Valyuta", "Валюта", "Currency"],
    Options => ["Parametrlar", "Параметры", "Options"],
    Unlimited => ["Cheksiz", "Без ограничений", "Unlimited"],
    AddVariant => ["+ Variant qo'shish", "+ Добавить вариант", "+ Add a variant"],
    Fiscal => ["Payme fiskal ma'lumotlari", "Фискальные данные Payme", "Payme fiscal data"],
    Ikpu => ["IKPU (MXIK) kodi", "Код ИКПУ (MXIK)", "IKPU (MXIK) code"],
    PackageCode => ["Qadoq kodi", "Код упаковки", "Package code"],
    Vat => ["QQS, %", "НДС, %", "VAT, %"],
    DigitalContent => ["Raqamli kontent", "Цифровой контент", "Digital content"],
    DigitalContentHint => ["To'lovdan keyin xaridorga yuboriladi (havola yoki kalit).", "Отправляется покупателю после оплаты (ссылка или ключ).", "Sent to the customer once paid (a link or a key)."],
    SubscriptionPeriod => ["Obuna davri", "Период подписки", "Subscription period"],
    Every30Days => ["Har 30 kunda", "Каждые 30 дней", "Every 30 days"],
    SubscriptionStars => ["Obunalar Telegram Stars (XTR) da yoki Stripe orqali karta valyutasida (USD, EUR…) sotiladi; har 30 kunda yangilanadi.", "Подписки продаются за Telegram Stars (XTR) или через Stripe в валюте карты (USD, EUR…); продлеваются каждые 30 дней.", "Subscriptions are sold for Telegram Stars (XTR) or, through Stripe, in a card currency (USD, EUR…); they renew every 30 days."],
    TitleRequired => ["Nomni kamida bitta tilda yozing.", "Напишите название хотя бы на одном языке.", "Write the title in at least one language."],
    CurrencyInvalid => ["ISO 4217 valyuta kodi (UZS, USD, EUR...), XTR (Stars), TON yoki USDT.", "Код валюты ISO 4217 (UZS, USD, EUR...), XTR (Stars), TON или USDT.", "An ISO 4217 currency code (UZS, USD, EUR...), XTR (Stars), TON or USDT."],
    VariantRequired => ["Narxli kamida bitta variant qo'shing.", "Добавьте хотя бы один вариант с ценой.", "Add at least one variant with a price."],
    SkuRequired => ["SKU kiriting.", "Укажите SKU.", "Enter a SKU."],
    SkuTwice => ["Bu SKU allaqachon bor.", "Такой SKU уже есть.", "This SKU is used twice."],
    VatInvalid => ["QQS 0 dan 100 gacha foiz.", "НДС — процент от 0 до 100.", "VAT is a percentage from 0 to 100."],
    IkpuInvalid => ["IKPU kodi faqat raqamlardan iborat.", "Код ИКПУ состоит только из цифр.", "The IKPU code is digits only."],
    ArchiveOrDelete => ["O'chirish yoki arxivlash", "Удалить или архивировать", "Delete or archive"],
    Unarchive => ["Arxivdan chiqarish", "Вернуть из архива", "Unarchive"],
    DeleteProductQ => ["Mahsulot o'chirilsinmi?", "Удалить товар?", "Delete this product?"],
    DeleteProductHint => ["Buyurtmalarda bor mahsulot o'chirilmaydi, arxivga o'tkaziladi.", "Товар из заказов не удаляется, а уходит в архив.", "A product that orders refer to is archived instead of deleted."],
    WasArchived => ["Mahsulot buyurtmalarda bor: arxivlandi.", "Товар есть в заказах: он в архиве.", "Orders refer to it, so it was archived."],
    WasDeleted => ["Mahsulot o'chirildi.", "Товар удалён.", "Product deleted."],
    // Images
    Images => ["Rasmlar", "Фотографии", "Images"],
    UploadImage => ["Rasm yuklash", "Загрузить фото", "Upload an image"],
    Uploading => ["Yuklanmoqda", "Загрузка", "Uploading"],
    Uploaded => ["Rasm yuklandi", "Фото загружено", "Image uploaded"],
    NotAnImage => ["PNG, JPEG, WebP yoki GIF rasmni tanlang.", "Выберите изображение PNG, JPEG, WebP или GIF.", "Choose a PNG, JPEG, WebP or GIF image."],
    ImageTooBig => ["Rasm 10 MB dan katta.", "Изображение больше 10 МБ.", "The image is larger than 10 MB."],
    NoImages => ["Hali rasm yo'q.", "Фотографий пока нет.", "No images yet."],
    // Promo codes
    PromoCodes => ["Promokodlar", "Промокоды", "Promo codes"],
    NewPromo => ["Yangi promokod", "Новый промокод", "New promo code"],
    PromoCode => ["Kod", "Код", "Code"],
    PromoCodeInvalid => ["Kod 3–32 ta lotin harfi, raqam, - yoki _ dan iborat, bo'sh joysiz.", "Код — от 3 до 32 латинских букв, цифр, - или _, без пробелов.", "A code is 3 to 32 letters (A-Z), digits, - or _, without spaces."],
    PercentOff => ["Foiz chegirma", "Скидка в процентах", "Percent off"],
    AmountOff => ["Summa chegirma", "Скидка суммой", "Amount off"],
    DiscountValue => ["Chegirma", "Скидка", "Discount"],
    PercentInvalid => ["1 dan 100 gacha butun foiz kiriting.", "Введите целый процент от 1 до 100.", "Enter a whole percent from 1 to 100."],
    AmountInvalid => ["Noldan katta summa kiriting, masalan 10 000.", "Введите сумму больше нуля, например 10 000.", "Enter an amount above zero, such as 10 000."],
    MinTotal => ["Eng kam buyurtma summasi", "Минимальная сумма заказа", "Minimum order total"],
    MaxUses => ["Jami foydalanish", "Всего использований", "Uses in all"],
    MaxUsesPerCustomer => ["Bir xaridorga", "На одного покупателя", "Uses per customer"],
    LimitInvalid => ["1 dan boshlab butun son kiriting yoki cheklovsiz bo'sh qoldiring.", "Введите целое число от 1 или оставьте пустым — без ограничения.", "Enter a whole number from 1, or leave it empty for no limit."],
    LimitHint => ["Bo'sh: cheklovsiz", "Пусто — без ограничения", "Empty: no limit"],
    StartsAt => ["Boshlanishi", "Начало", "Starts"],
    EndsAt => ["Tugashi", "Окончание", "Ends"],
    TimeInvalid => ["Sana va vaqtni tanlang.", "Выберите дату и время.", "Pick a date and time."],
    EndsBeforeStarts => ["Tugash vaqti boshlanishdan keyin bo'lsin.", "Окончание должно быть позже начала.", "The end must be after the start."],
    Rule => ["Qoida", "Правило", "Rule"],
    Uses => ["Foydalanilgan", "Использовано", "Uses"],
    PromoRevenue => ["Tushum (to'langan)", "Выручка (оплаченные)", "Revenue (paid)"],
    Pause => ["To'xtatish", "Приостановить", "Pause"],
    Resume => ["Davom ettirish", "Возобновить", "Resume"],
    NoPromoCodes => ["Hali promokod yo'q.", "Промокодов пока нет.", "No promo codes yet."],
    DeliveryMethods => ["Yetkazib berish", "Доставка", "Delivery"],
    NewDeliveryMethod => ["Yangi usul", "Новый способ", "New method"],
    EditDeliveryMethod => ["Usulni tahrirlash", "Изменить способ", "Edit method"],
    Courier => ["Kuryer", "Курьер", "Courier"],
    Pickup => ["Olib ketish", "Самовывоз", "Pickup"],
    Fee => ["Narxi", "Стоимость", "Fee"],
    FreeAbove => ["Bepul (summadan)", "Бесплатно от суммы", "Free from (goods total)"],
    Zones => ["Hududlar", "Зоны", "Zones"],
    PickupPoints => ["Olib ketish punktlari", "Пункты выдачи", "Pickup points"],
    AddOption => ["+ Qo'shish", "+ Добавить", "+ Add"],
    OwnFeeHint => ["bo'sh: usul narxi", "пусто: цена способа", "empty: the method's fee"],
    NoDeliveryMethods => ["Yetkazib berish usullari yo'q: buyurtmalar usulsiz beriladi.", "Способов доставки нет: заказы оформляются без них.", "No delivery methods: orders are placed without one."],
    Edit => ["Tahrirlash", "Изменить", "Edit"],
    DeleteMethodAsk => ["Usul o'chirilsinmi? Eski buyurtmalar o'zgarmaydi.", "Удалить способ? Прежние заказы не изменятся.", "Delete this method? Orders placed keep it."],
    PromoActive => ["Faol", "Активен", "Active"],
    PromoPaused => ["To'xtatilgan", "Приостановлен", "Paused"],
    PromoScheduled => ["Rejalashtirilgan", "Запланирован", "Scheduled"],
    PromoEnded => ["Tugagan", "Завершён", "Ended"],
    PromoUsedUp => ["Tugab qolgan", "Исчерпан", "Used up"],
    MinShort => ["kamida", "от", "min"],
    // Categories
    NewCategory => ["Yangi kategoriya", "Новая категория", "New category"],
    // Orders
    Order => ["Buyurtma", "Заказ", "Order"],
    Status => ["Holat", "Статус", "Status"],
    PaymentMethod => ["To'lov usuli", "Способ оплаты", "Payment method"],
    Customer => ["Mijoz", "Покупатель", "Customer"],
    CustomerId => ["Mijoz ID", "ID покупателя", "Customer id"],
    Total => ["Jami", "Итого", "Total"],
    FlaggedOnly => ["Faqat shubhalilar", "Только под вопросом", "Flagged only"],
    Flagged => ["Tekshirish kerak", "Требует проверки", "Flagged"],
    FlaggedHint => ["Naqd buyurtma tasdiqlanmaguncha jo'natilmaydi.", "Заказ за наличные не отправить, пока вы его не подтвердите.", "A cash order is not shipped or delivered until you confirm it."],
    ConfirmOrder => ["Tasdiqlash", "Подтвердить", "Confirm order"],
    ConfirmQ => ["Tekshirilgan deb tasdiqlansinmi: buyurtma", "Подтвердить после проверки заказ", "Confirm after checking: order"],
    ConfirmHint => ["Mijoz bilan bog'langaningizga ishonch hosil qiling. Summa:", "Убедитесь, что связались с покупателем. Сумма:", "Make sure you checked it with the customer. Total:"],
    RiskConfirmed => ["Tasdiqlangan", "Подтверждён", "Confirmed"],
    NoOrders => ["Buyurtma topilmadi.", "Заказы не найдены.", "No orders match."],
    BackToOrders => ["← Buyurtmalar", "← Заказы", "← Orders"],
    Summary => ["Umumiy", "Сводка", "Summary"],
    Contact => ["Aloqa", "Контакты", "Contact"],
    NoContact => ["Aloqa ma'lumotlari yo'q.", "Контактов нет.", "No contact details."],
    Name => ["Ism", "Имя", "Name"],
    Phone => ["Telefon", "Телефон", "Phone"],
    Address => ["Manzil", "Адрес", "Address"],
    Items => ["Tarkibi", "Состав", "Items"],
    Product => ["Mahsulot", "Товар", "Product"],
    Quantity => ["Soni", "Кол-во", "Qty"],
    Timeline => ["Tarix", "История", "Timeline"],
    Ship => ["Jo'natildi", "Отправлен", "Mark shipped"],
    Deliver => ["Yetkazildi", "Доставлен", "Mark delivered"],
    CancelOrder => ["Buyurtmani bekor qilish", "Отменить заказ", "Cancel order"],
    Refund => ["To'liq qaytarish", "Вернуть деньги", "Refund in full"],
    ShipQ => ["Jo'natilgan deb belgilansinmi: buyurtma", "Отметить отправленным заказ", "Mark as shipped: order"],
    ShipHint => ["Mijozga xabar yuboriladi. Summa:", "Покупатель получит уведомление. Сумма:", "The customer is told. Total:"],
    DeliverQ => ["Yetkazilgan deb belgilansinmi: buyurtma", "Отметить доставленным заказ", "Mark as delivered: order"],
    DeliverHint => ["Naqd buyurtmada to'lov qabul qilingan deb yoziladi. Summa:", "Для заказа наличными оплата будет записана как полученная. Сумма:", "For cash orders this records the cash as collected. Total:"],
    CancelSubscription => ["Obunani to'xtatish", "Остановить подписку", "Stop subscription"],
    CancelSubscriptionQ => ["Obuna to'xtatilsinmi: buyurtma", "Остановить подписку по заказу", "Stop the subscription of order"],
    CancelSubscriptionHint => ["Obuna boshqa yangilanmaydi; to'langan muddat oxirigacha ishlaydi:", "Подписка больше не продлится; оплаченный срок действует до", "It will not renew; the period paid for runs until"],
    Subscription => ["Obuna", "Подписка", "Subscription"],
    SubscriptionStatus => ["Holati", "Состояние", "State"],
    SubscriptionActive => ["Faol, yangilanadi", "Активна, продлевается", "Active, renews"],
    SubscriptionCanceled => ["Yangilanmaydi", "Не продлевается", "Will not renew"],
    SubscriptionExpired => ["Tugagan", "Закончилась", "Ended"],
    SubscriptionUntil => ["Muddati", "Оплачена до", "Paid until"],
    SubscriptionRenewals => ["Yangilanishlar", "Продлений", "Renewals"],
    CancelQ => ["Bekor qilinsinmi: buyurtma", "Отменить заказ", "Cancel order"],
    CancelHint => ["Zaxiradagi mahsulotlar bo'shatiladi. Summa:", "Зарезервированный товар вернётся в продажу. Сумма:", "Reserved stock goes back on sale. Total:"],
    RefundQ => ["Pul qaytarilsinmi: buyurtma", "Вернуть деньги за заказ", "Refund order"],
    PaymentLink => ["To'lov havolasi", "Ссылка на оплату", "Payment link"],
    RecordRefund => ["Qo'lda qaytarilganini yozish", "Отметить возврат вручную", "Record a refund made by hand"],
    RecordRefundQ => ["Qo'lda qaytarilgan pul yozilsinmi: buyurtma", "Отметить ручной возврат по заказу", "Record a refund made by hand for order"],
    RecordRefundHint => ["To'lov tizimiga murojaat qilinmaydi; mijozga o'zingiz qaytargan to'liq summa yoziladi:", "Платёжная система не вызывается; записывается, что вы сами вернули клиенту всю сумму:", "The payment provider is not called; this records that you paid the customer back the full amount yourself:"],
    RefundHint => ["To'liq summa buyurtmaning o'z to'lov usuli orqali qaytariladi:", "Вся сумма вернётся тем же способом оплаты:", "The full amount goes back through the order's own payment rail:"],
    // The order's money: payments, refunds, TON transfers
    Payments => ["To'lovlar", "Платежи", "Payments"],
    NoPayments => ["Hali to'lov yo'q.", "Платежей пока нет.", "No payment yet."],
    ProviderId => ["To'lov tizimidagi ID", "ID в платёжной системе", "Provider's ID"],
    AmountRefunded => ["Qaytarilgan", "Возвращено", "Refunded"],
    ToRefund => ["Qaytarish kerak", "Нужен возврат", "To refund"],
    Refunds => ["Qaytarishlar", "Возвраты", "Refunds"],
    RefundDone => ["Qaytarildi", "Выполнен", "Succeeded"],
    RefundFailedState => ["Amalga oshmadi", "Не удался", "Failed"],
    RefundByHand => ["Qo'lda yozilgan", "Отмечен вручную", "Recorded by hand"],
    RefundWaiting => ["Kutilmoqda", "Ожидается", "Pending"],
    RestockItems => ["Mahsulotlarni yana sotuvga qo'yish", "Вернуть товары в продажу", "Put the items back on sale"],
    // CSV
    Export => ["Eksport", "Экспорт", "Export"],
    ExportHint => ["Excel yoki Google Sheets uchun CSV fayllar.", "CSV-файлы для Excel или Google Таблиц.", "CSV files for Excel or Google Sheets."],
    ExportOrders => ["orders.csv yuklab olish", "Скачать orders.csv", "Download orders.csv"],
    ExportProducts => ["products.csv yuklab olish", "Скачать products.csv", "Download products.csv"],
    ImportProducts => ["Mahsulotlarni import qilish", "Импорт товаров", "Import products"],
    ImportHint => ["products.csv bilan bir xil ustunlar. Biror qator xato bo'lsa, hech narsa o'zgarmaydi.", "Те же столбцы, что в products.csv. Если хоть одна строка с ошибкой, ничего не меняется.", "Same columns as products.csv. If any row is bad, nothing changes."],
    CsvFile => ["CSV fayl", "CSV-файл", "CSV file"],
    ChooseCsv => ["CSV faylni tanlang.", "Выберите CSV-файл.", "Choose a CSV file."],
    Import => ["Import qilish", "Импортировать", "Import"],
    ImportCreated => ["Yaratildi: {n}", "Создано: {n}", "Created: {n}"],
    ImportUpdated => ["Yangilandi: {n}", "Обновлено: {n}", "Updated: {n}"],
    NothingChanged => ["Hech narsa o'zgarmadi.", "Ничего не изменено.", "Nothing was changed."],
    Line => ["Qator", "Строка", "Line"],
    Column => ["Ustun", "Столбец", "Column"],
    Problem => ["Muammo", "Проблема", "Problem"],
    // Audit, admins
    Changes => ["O'zgarishlar", "Изменения", "Changes"],
    AddAdmin => ["Admin qo'shish", "Добавить администратора", "Add an admin"],
    Role => ["Rol", "Роль", "Role"],
    RoleOwner => ["Ega", "Владелец", "Owner"],
    RoleStaff => ["Xodim", "Сотрудник", "Staff"],
    RoleHint => ["Egalar adminlarni boshqaradi, pulni qaytaradi va audit jurnalini ko'radi; xodimlar mahsulotlar va buyurtmalar bilan ishlaydi.", "Владельцы управляют администраторами, возвратами и журналом; сотрудники работают с товарами и заказами.", "Owners manage admins, refunds and the audit log; staff work with products and orders."],
    Disabled => ["O'chirilgan", "Отключён", "Disabled"],
    Disable => ["O'chirib qo'yish", "Отключить", "Disable"],
    Enable => ["Yoqish", "Включить", "Enable"],
    You => ["siz", "вы", "you"],
    DisableAdminQ => ["Admin o'chirib qo'yilsinmi?", "Отключить администратора?", "Disable this admin?"],
    DisableAdminHint => ["Uning seanslari darhol yopiladi va qayta yoqilmaguncha u kira olmaydi.", "Его сеансы сразу завершатся, и он не сможет войти, пока его не включат снова.", "Their sessions end at once and they cannot sign in until enabled again."],
    RemoveAdminQ => ["Admin o'chirilsinmi?", "Удалить администратора?", "Remove this admin?"],
    RemoveAdminHint => ["U endi kira olmaydi; audit jurnalidagi yozuvlari qoladi.", "Он больше не сможет войти; его записи в журнале останутся.", "They can no longer sign in; their audit entries stay."],
    OwnerOnly => ["Buni faqat do'kon egasi qila oladi.", "Это может только владелец магазина.", "Only an owner of the shop can do this."],
    ClientIp => ["Manzil", "Адрес", "Address"],
    // Account
    Account => ["Hisob", "Учётная запись", "Account"],
    ChangePassword => ["Parolni o'zgartirish", "Сменить пароль", "Change password"],
    CurrentPassword => ["Joriy parol", "Текущий пароль", "Current password"],
    NewPassword => ["Yangi parol", "Новый пароль", "New password"],
    PasswordChanged => ["Parol o'zgartirildi; boshqa seanslar yopildi.", "Пароль изменён; другие сеансы завершены.", "Password changed; your other sessions were ended."],
    SignOutEverywhere => ["Hamma joydan chiqish", "Выйти на всех устройствах", "Sign out everywhere"],
    SignOutEverywhereHint => ["Bu hisobning barcha seanslari, shu jumladan shu seans ham yopiladi.", "Завершатся все сеансы этой учётной записи, включая этот.", "Ends every session of this account, this one included."],
}

pub fn t(lang: Lang, k: K) -> &'static str {
    let [uz, ru, en] = table(k);
    match lang {
        Lang::Uz => uz,
        Lang::Ru => ru,
        Lang::En => en,
    }
}

/// A string with its `{n}` filled in.
pub fn tn(lang: Lang, k: K, n: i64) -> String {
    t(lang, k).replace("{n}", &n.to_string())
}

/// The saved choice, else the browser's language, else English.
pub fn initial(saved: Option<&str>, browser: Option<&str>) -> Lang {
    saved
        .and_then(Lang::parse)
        .or_else(|| browser.and_then(Lang::parse))
        .unwrap_or(Lang::En)
}

/// A language's own name (not translated: people look for their own).
pub fn lang_name(l: Lang) -> &'static str {
    match l {
        Lang::Uz => "O'zbekcha",
        Lang::Ru => "Русский",
        Lang::En => "English",
    }
}

pub fn status_name(lang: Lang, s: OrderStatus) -> &'static str {
    let [uz, ru, en] = match s {
        OrderStatus::PendingPayment => ["To'lov kutilmoqda", "Ожидает оплаты", "Awaiting payment"],
        OrderStatus::Paid => ["To'langan", "Оплачен", "Paid"],
        OrderStatus::Shipped => ["Jo'natilgan", "Отправлен", "Shipped"],
        OrderStatus::Delivered => ["Yetkazilgan", "Доставлен", "Delivered"],
        OrderStatus::Completed => ["Yakunlangan", "Завершён", "Completed"],
        OrderStatus::Cancelled => ["Bekor qilingan", "Отменён", "Cancelled"],
        OrderStatus::Expired => ["Muddati o'tgan", "Истёк", "Expired"],
        OrderStatus::Refunded => ["Qaytarilgan", "Возвращён", "Refunded"],
    };
    pick(lang, uz, ru, en)
}

/// The label of a timeline entry that is not a status change ([`shared::event_kind`]);
/// `None` for a kind this build does not know (shown raw, so nothing is hidden).
pub fn event_name(lang: Lang, kind: &str) -> Option<&'static str> {
    use shared::event_kind as E;
    let [uz, ru, en] = match kind {
        E::CHECKOUT_FAILED => [
            "To'lov sahifasi ochilmadi",
            "Не удалось открыть оплату",
            "Checkout could not be opened",
        ],
        E::CHECKOUT_CLOSED => [
            "To'lov havolasi yopildi",
            "Счёт на оплату закрыт",
            "Payment link closed",
        ],
        E::DUPLICATE_PAYMENT => [
            "Takroriy to'lov, qaytarish kerak",
            "Повторный платёж, нужен возврат",
            "Duplicate payment, to refund",
        ],
        E::DUPLICATE_REFUNDED => [
            "Ortiqcha to'lov qaytarildi",
            "Лишний платёж возвращён",
            "Extra payment refunded",
        ],
        E::PARTIAL_REFUND => ["Qisman qaytarildi", "Частичный возврат", "Partly refunded"],
        E::PAYME_TRANSACTION => [
            "Payme tranzaksiyasi",
            "Транзакция Payme",
            "Payme transaction",
        ],
        E::PAYMENT_AFTER_REFUND => [
            "Qaytarilgandan keyin to'lov, qaytarish kerak",
            "Платёж после возврата, нужен возврат",
            "Payment after refund, to refund",
        ],
        E::PAYMENT_MISMATCH => [
            "To'lov summasi mos emas, qaytarish kerak",
            "Сумма платежа не совпадает, нужен возврат",
            "Payment does not match, to refund",
        ],
        E::PAYMENT_NEEDS_REFUND => [
            "Kech kelgan to'lov, qaytarish kerak",
            "Поздний платёж, нужен возврат",
            "Late payment, to refund",
        ],
        E::REFUND_EXCEEDS_PAYMENT => [
            "Qaytarish to'lovdan ko'p",
            "Возврат больше платежа",
            "Refund exceeds the payment",
        ],
        E::FLAGGED => ["Tekshirish kerak", "Требует проверки", "Flagged for a look"],
        E::CONFIRMED => ["Tasdiqlandi", "Подтверждён", "Confirmed by the merchant"],
        E::PAYMENT_FAILED => ["To'lov o'tmadi", "Платёж не прошёл", "Payment failed"],
        E::REFUND_FAILED => [
            "Qaytarish amalga oshmadi",
            "Возврат не прошёл",
            "Refund failed",
        ],
        E::REFUND_PENDING => [
            "Qaytarish kutilmoqda",
            "Возврат в обработке",
            "Refund pending",
        ],
        E::RESTOCKED => [
            "Sotuvga qaytarildi",
            "Возвращено в продажу",
            "Back in stock",
        ],
        E::SUBSCRIPTION_ENDED => ["Obuna tugadi", "Подписка закончилась", "Subscription ended"],
        E::SUBSCRIPTION_CANCELED => [
            "Obuna yangilanishi to'xtatildi",
            "Продление подписки остановлено",
            "Subscription renewal stopped",
        ],
        E::SUBSCRIPTION_RESUMED => [
            "Obuna yana yangilanadi",
            "Продление подписки возобновлено",
            "Subscription renewal resumed",
        ],
        E::SUBSCRIPTION_PAYMENT_FAILED => [
            "Obuna to'lovi o'tmadi",
            "Оплата подписки не прошла",
            "Subscription payment failed",
        ],
        E::SUBSCRIPTION_RENEWED => [
            "Obuna uzaytirildi",
            "Подписка продлена",
            "Subscription renewed",
        ],
        E::UNDERPAID => [
            "Qisman to'landi, qolgani kutilmoqda",
            "Оплачено частично, ждём остаток",
            "Partly paid, waiting for the rest",
        ],
        E::OVERPAID => [
            "Ortiqcha to'landi, farqini qaytarish kerak",
            "Переплата, излишек нужно вернуть",
            "Overpaid, excess to refund",
        ],
        _ => return None,
    };
    Some(pick(lang, uz, ru, en))
}

pub fn method_name(lang: Lang, m: PaymentMethod) -> &'static str {
    let [uz, ru, en] = match m {
        PaymentMethod::Cash => ["Naqd pul", "Наличные", "Cash"],
        PaymentMethod::Stars => ["Telegram Stars", "Telegram Stars", "Telegram Stars"],
        PaymentMethod::Telegram => ["Telegram to'lovi", "Оплата в Telegram", "Telegram payment"],
        PaymentMethod::Click => ["Click", "Click", "Click"],
        PaymentMethod::Payme => ["Payme", "Payme", "Payme"],
        PaymentMethod::Stripe => ["Karta (Stripe)", "Карта (Stripe)", "Card (Stripe)"],
        PaymentMethod::Paypal => ["PayPal", "PayPal", "PayPal"],
        PaymentMethod::Ton => ["TON / USDT", "TON / USDT", "TON / USDT"],
        PaymentMethod::Cryptopay => ["Crypto Pay", "Crypto Pay", "Crypto Pay"],
        PaymentMethod::Yookassa => ["YooKassa", "ЮKassa", "YooKassa"],
    };
    pick(lang, uz, ru, en)
}

pub fn kind_name(lang: Lang, k: ProductKind) -> &'static str {
    let [uz, ru, en] = match k {
        ProductKind::Physical => ["Jismoniy", "Физический", "Physical"],
        ProductKind::Digital => ["Raqamli", "Цифровой", "Digital"],
        ProductKind::Subscription => ["Obuna", "Подписка", "Subscription"],
    };
    pick(lang, uz, ru, en)
}

fn pick(lang: Lang, uz: &'static str, ru: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Uz => uz,
        Lang::Ru => ru,
        Lang::En => en,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(s: &str) -> Vec<&str> {
        s.match_indices("{n}").map(|(_, m)| m).collect()
    }

    fn no_cyrillic(k: &str, uz: &str) {
        assert!(
            !uz.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c)),
            "{k}: uz text has Cyrillic letters: {uz}"
        );
    }

    #[test]
    fn languages_agree() {
        for &k in K::ALL {
            let [uz, ru, en] = table(k);
            for (lang, s) in [("uz", uz), ("ru", ru), ("en", en)] {
                assert!(!s.trim().is_empty(), "{k:?} is empty in {lang}");
            }
            assert_eq!(placeholders(uz), placeholders(en), "{k:?}: uz placeholders");
            assert_eq!(placeholders(ru), placeholders(en), "{k:?}: ru placeholders");
            no_cyrillic(&format!("{k:?}"), uz);
        }
        for s in OrderStatus::ALL {
            no_cyrillic(s.as_str(), status_name(Lang::Uz, s));
        }
        for m in PaymentMethod::ALL {
            no_cyrillic(m.as_str(), method_name(Lang::Uz, m));
        }
    }

    #[test]
    fn every_timeline_kind_has_a_label() {
        for kind in shared::event_kind::ALL {
            for lang in Lang::ALL {
                let name = event_name(lang, kind);
                assert!(
                    name.is_some_and(|n| !n.trim().is_empty()),
                    "{kind}: no {lang:?} label"
                );
            }
            no_cyrillic(kind, event_name(Lang::Uz, kind).unwrap());
        }
        assert_eq!(event_name(Lang::En, "something_new"), None);
    }

    #[test]
    fn picks_saved_then_browser_then_english() {
        assert_eq!(initial(Some("ru"), Some("uz")), Lang::Ru);
        assert_eq!(initial(None, Some("uz-UZ")), Lang::Uz);
        assert_eq!(initial(None, Some("de-DE")), Lang::En);
        assert_eq!(initial(Some("xx"), None), Lang::En);
        assert_eq!(tn(Lang::En, K::RetryIn, 30), "Try again in 30 s.");
    }
}
