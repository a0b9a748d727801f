//! Payme Merchant API error codes with the message Payme shows, in uz/ru/en.

use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// -32300: the request was not a POST.
    NotPost,
    /// -32700: the body is not JSON.
    ParseError,
    /// -32600: required fields missing or of the wrong type.
    InvalidRequest,
    /// -32601: no such method (its name goes in `data`).
    MethodNotFound,
    /// -32504: wrong or missing Basic credentials.
    Unauthorized,
    /// -32400: our own failure.
    Internal,
    /// -31001: the amount differs from the order's.
    WrongAmount,
    /// -31003: no transaction with this id.
    NotFound,
    /// -31007: the order's goods are delivered; it cannot be cancelled.
    CannotCancel,
    /// -31008: not possible in the transaction's or order's current state.
    Impossible,
    /// -31050: no such order (the `account` field is wrong).
    OrderNotFound,
    /// -31051: the order is already paid.
    OrderPaid,
    /// -31052: the order is cancelled, expired, or not payable through Payme.
    OrderUnavailable,
}

impl Code {
    pub fn number(self) -> i64 {
        match self {
            Code::NotPost => -32300,
            Code::ParseError => -32700,
            Code::InvalidRequest => -32600,
            Code::MethodNotFound => -32601,
            Code::Unauthorized => -32504,
            Code::Internal => -32400,
            Code::WrongAmount => -31001,
            Code::NotFound => -31003,
            Code::CannotCancel => -31007,
            Code::Impossible => -31008,
            Code::OrderNotFound => -31050,
            Code::OrderPaid => -31051,
            Code::OrderUnavailable => -31052,
        }
    }

    /// (uz, ru, en)
    fn texts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Code::NotPost => (
                "So'rov POST usulida yuborilmagan",
                "Запрос отправлен не методом POST",
                "The request method is not POST",
            ),
            Code::ParseError => (
                "JSON tahlil qilishda xatolik",
                "Ошибка разбора JSON",
                "JSON parse error",
            ),
            Code::InvalidRequest => (
                "So'rovda majburiy maydonlar yo'q yoki ularning turi noto'g'ri",
                "Отсутствуют обязательные поля или неверный тип полей",
                "Required fields are missing or have the wrong type",
            ),
            Code::MethodNotFound => (
                "So'ralgan usul topilmadi",
                "Запрашиваемый метод не найден",
                "Method not found",
            ),
            Code::Unauthorized => (
                "Ushbu amalni bajarish uchun huquq yetarli emas",
                "Недостаточно привилегий для выполнения метода",
                "Insufficient privileges to perform this method",
            ),
            Code::Internal => ("Tizim xatosi", "Системная ошибка", "System error"),
            Code::WrongAmount => ("Noto'g'ri summa", "Неверная сумма", "Incorrect amount"),
            Code::NotFound => (
                "Tranzaksiya topilmadi",
                "Транзакция не найдена",
                "Transaction not found",
            ),
            Code::CannotCancel => (
                "Buyurtma yetkazib berilgan, tranzaksiyani bekor qilib bo'lmaydi",
                "Заказ доставлен, отменить транзакцию невозможно",
                "The order is delivered; the transaction cannot be cancelled",
            ),
            Code::Impossible => (
                "Ushbu amalni bajarib bo'lmaydi",
                "Невозможно выполнить данную операцию",
                "Unable to perform the operation",
            ),
            Code::OrderNotFound => ("Buyurtma topilmadi", "Заказ не найден", "Order not found"),
            Code::OrderPaid => (
                "Buyurtma allaqachon to'langan",
                "Заказ уже оплачен",
                "The order is already paid",
            ),
            Code::OrderUnavailable => (
                "Buyurtmani to'lab bo'lmaydi: u bekor qilingan yoki muddati o'tgan",
                "Заказ нельзя оплатить: он отменён или просрочен",
                "The order cannot be paid: it is cancelled or expired",
            ),
        }
    }

    pub fn error(self, data: Option<Value>) -> Value {
        let (uz, ru, en) = self.texts();
        let mut e = json!({
            "code": self.number(),
            "message": {"uz": uz, "ru": ru, "en": en},
        });
        if let Some(d) = data {
            e["data"] = d;
        }
        e
    }
}

/// An error answer and its `data` (the account field name for account errors).
#[derive(Debug)]
pub struct RpcError {
    pub code: Code,
    pub data: Option<Value>,
}

impl From<Code> for RpcError {
    fn from(code: Code) -> Self {
        RpcError { code, data: None }
    }
}

impl From<crate::error::Error> for RpcError {
    fn from(e: crate::error::Error) -> Self {
        tracing::error!(error = %e, "payme request failed");
        Code::Internal.into()
    }
}

impl From<sqlx::Error> for RpcError {
    fn from(e: sqlx::Error) -> Self {
        crate::error::Error::from(e).into()
    }
}

impl RpcError {
    /// An account error names the account field at fault.
    pub fn account(code: Code) -> Self {
        RpcError {
            code,
            data: Some(Value::from("order_id")),
        }
    }
}
