//! What each Merchant API method takes: Payme's JSON-RPC `params`, read through one serde struct
//! per method, so a missing field or one of the wrong type is refused before anything is
//! looked up, with Payme's own -32600 ("required fields are missing or have the wrong type")
//! and the field at fault in `data`.
//!
//! Fields Payme adds beyond these are let through, not refused: the protocol lists what it
//! sends but does not promise a closed set (the `account` object is whatever the cash desk
//! defines), and refusing a PerformTransaction over a new field would send a customer's
//! debited money back.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::errors::{Code, RpcError};

/// A Payme transaction id: a non-empty string of at most 64 bytes (Payme's are 24).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PaymeId(String);

impl TryFrom<String> for PaymeId {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.is_empty() || s.len() > 64 {
            return Err("a Payme transaction id is a string of 1 to 64 characters");
        }
        Ok(PaymeId(s))
    }
}

impl PaymeId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `account`: the fields the cash desk defines, kept as sent (GetStatement gives them back),
/// and the order's reference from its `order_id`.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "Map<String, Value>")]
pub struct Account {
    order_ref: Option<String>,
    sent: Map<String, Value>,
}

impl From<Map<String, Value>> for Account {
    fn from(sent: Map<String, Value>) -> Self {
        // The cash desk defines the field's type: a string or a number. Anything else names
        // no order, which is an account error (-31050), not a malformed request.
        let order_ref = match sent.get("order_id") {
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
        .filter(|r| !r.is_empty() && r.len() <= 64);
        Account { order_ref, sent }
    }
}

impl Account {
    /// The order's reference (`account.order_id`), if it could name one.
    pub fn order_ref(&self) -> Option<&str> {
        self.order_ref.as_deref()
    }

    /// The object as Payme sent it, as JSON text.
    pub fn to_json(&self) -> String {
        Value::Object(self.sent.clone()).to_string()
    }
}

/// CheckPerformTransaction.
#[derive(Debug, Deserialize)]
pub struct CheckPerform {
    /// In tiyin.
    pub amount: i64,
    pub account: Account,
}

/// CreateTransaction.
#[derive(Debug, Deserialize)]
pub struct Create {
    pub id: PaymeId,
    /// When Payme created it, in ms.
    pub time: i64,
    /// In tiyin.
    pub amount: i64,
    pub account: Account,
}

/// PerformTransaction and CheckTransaction: the transaction alone.
#[derive(Debug, Deserialize)]
pub struct ById {
    pub id: PaymeId,
}

/// CancelTransaction.
#[derive(Debug, Deserialize)]
pub struct Cancel {
    pub id: PaymeId,
    /// Payme's reason number (1 receivers not found, 2 debit error, 3 transaction error,
    /// 4 timeout, 5 refund, 10 unknown), stored and answered back as given.
    pub reason: i64,
}

/// GetStatement: the transactions Payme created between two times (ms, inclusive).
#[derive(Debug, Deserialize)]
pub struct Statement {
    pub from: i64,
    pub to: i64,
}

/// SetFiscalData.
#[derive(Debug, Deserialize)]
pub struct FiscalData {
    pub id: PaymeId,
    #[serde(rename = "type")]
    pub kind: FiscalKind,
    /// The receipt as the tax service registered it; stored as sent.
    pub fiscal_data: Map<String, Value>,
}

/// Which receipt SetFiscalData reports: the payment's or its cancellation's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FiscalKind {
    Perform,
    Cancel,
}

/// A method call, its params read.
#[derive(Debug)]
pub enum Call {
    CheckPerform(CheckPerform),
    Create(Create),
    Perform(ById),
    Cancel(Cancel),
    Check(ById),
    Statement(Statement),
    SetFiscalData(FiscalData),
}

impl Call {
    /// Reads `params` (a JSON object) for `method`. An unknown method is -32601 with its name in
    /// `data` (ChangePassword among them: the key lives in PAYME_KEY, and a key changed here
    /// would be lost at the next restart, so refusing it keeps the old key valid); params
    /// that do not fit are -32600 with the field in `data`.
    pub fn parse(method: &str, params: Map<String, Value>) -> Result<Call, RpcError> {
        let p = Value::Object(params);
        Ok(match method {
            "CheckPerformTransaction" => Call::CheckPerform(read(p)?),
            "CreateTransaction" => Call::Create(read(p)?),
            "PerformTransaction" => Call::Perform(read(p)?),
            "CancelTransaction" => Call::Cancel(read(p)?),
            "CheckTransaction" => Call::Check(read(p)?),
            "GetStatement" => Call::Statement(read(p)?),
            "SetFiscalData" => Call::SetFiscalData(read(p)?),
            other => {
                return Err(RpcError {
                    code: Code::MethodNotFound,
                    data: Some(Value::from(other)),
                })
            }
        })
    }

    /// The method's name, as Payme calls it.
    pub fn method(&self) -> &'static str {
        match self {
            Call::CheckPerform(_) => "CheckPerformTransaction",
            Call::Create(_) => "CreateTransaction",
            Call::Perform(_) => "PerformTransaction",
            Call::Cancel(_) => "CancelTransaction",
            Call::Check(_) => "CheckTransaction",
            Call::Statement(_) => "GetStatement",
            Call::SetFiscalData(_) => "SetFiscalData",
        }
    }
}

/// `params` as `T`, or -32600 naming what does not fit (`time: invalid type: string
/// "yesterday", expected i64`, `missing field `reason``).
fn read<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    serde_path_to_error::deserialize(params).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let data = if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        };
        RpcError {
            code: Code::InvalidRequest,
            data: Some(Value::from(data)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(method: &str, params: Value) -> Result<Call, RpcError> {
        let Value::Object(m) = params else {
            panic!("params must be an object")
        };
        Call::parse(method, m)
    }

    fn refused(method: &str, params: Value) -> (Code, String) {
        let e = parse(method, params).unwrap_err();
        let data = e
            .data
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        (e.code, data)
    }

    #[test]
    fn each_method_reads_its_params() {
        let account = json!({"order_id": "ref-1", "phone": "998901234567"});
        let Call::Create(c) = parse(
            "CreateTransaction",
            json!({"id": "5305e3bab097f420a62ced0b", "time": 1_399_114_284_039i64,
                   "amount": 500_000, "account": account}),
        )
        .unwrap() else {
            panic!("not a Create")
        };
        assert_eq!(c.id.as_str(), "5305e3bab097f420a62ced0b");
        assert_eq!((c.time, c.amount), (1_399_114_284_039, 500_000));
        assert_eq!(c.account.order_ref(), Some("ref-1"));
        // The account is kept whole, other cash-desk fields included.
        assert_eq!(
            serde_json::from_str::<Value>(&c.account.to_json()).unwrap(),
            account
        );
        let Call::Cancel(c) = parse("CancelTransaction", json!({"id": "x", "reason": 5})).unwrap()
        else {
            panic!("not a Cancel")
        };
        assert_eq!(c.reason, 5);
        let Call::SetFiscalData(f) = parse(
            "SetFiscalData",
            json!({"id": "x", "type": "CANCEL", "fiscal_data": {"receipt_id": 1}}),
        )
        .unwrap() else {
            panic!("not SetFiscalData")
        };
        assert_eq!(f.kind, FiscalKind::Cancel);
        // A number names the order too (a cash desk may define the field so).
        let Call::CheckPerform(c) = parse(
            "CheckPerformTransaction",
            json!({"amount": 1, "account": {"order_id": 42}}),
        )
        .unwrap() else {
            panic!("not CheckPerform")
        };
        assert_eq!(c.account.order_ref(), Some("42"));
        // Fields Payme may add are let through.
        assert!(parse("PerformTransaction", json!({"id": "x", "extra": true})).is_ok());
    }

    #[test]
    fn params_that_do_not_fit_are_32600_naming_the_field() {
        let (code, data) = refused(
            "CreateTransaction",
            json!({"id": "x", "time": "yesterday", "amount": 1, "account": {}}),
        );
        assert_eq!(code, Code::InvalidRequest);
        assert!(data.starts_with("time: invalid type"), "{data}");
        let (code, data) = refused("CancelTransaction", json!({"id": "x"}));
        assert_eq!(code, Code::InvalidRequest);
        assert!(data.contains("missing field `reason`"), "{data}");
        let (_, data) = refused("PerformTransaction", json!({"id": 5}));
        assert!(data.starts_with("id: invalid type"), "{data}");
        let (_, data) = refused("CheckTransaction", json!({"id": ""}));
        assert!(data.starts_with("id: a Payme transaction id"), "{data}");
        let (_, data) = refused(
            "CheckPerformTransaction",
            json!({"amount": 1.5, "account": {"order_id": "r"}}),
        );
        assert!(data.starts_with("amount: invalid type"), "{data}");
        let (_, data) = refused(
            "CheckPerformTransaction",
            json!({"amount": 1, "account": "r"}),
        );
        assert!(data.starts_with("account: invalid type"), "{data}");
        let (_, data) = refused(
            "SetFiscalData",
            json!({"id": "x", "type": "REFUND", "fiscal_data": {}}),
        );
        assert!(data.starts_with("type: unknown variant"), "{data}");
        let (_, data) = refused("GetStatement", json!({"from": 1, "to": null}));
        assert!(data.starts_with("to: invalid type"), "{data}");
    }

    #[test]
    fn an_account_without_a_usable_order_id_is_no_malformed_request() {
        for account in [
            json!({}),
            json!({"order_id": ""}),
            json!({"order_id": null}),
            json!({"order_id": ["r"]}),
        ] {
            let Call::CheckPerform(c) = parse(
                "CheckPerformTransaction",
                json!({"amount": 1, "account": account}),
            )
            .unwrap() else {
                panic!("not CheckPerform")
            };
            assert_eq!(c.account.order_ref(), None, "{account}");
        }
    }

    #[test]
    fn unknown_methods_are_32601_with_their_name() {
        let e = parse("ChangePassword", json!({"password": "new"})).unwrap_err();
        assert_eq!(
            (e.code, e.data),
            (Code::MethodNotFound, Some(json!("ChangePassword")))
        );
    }
}
