//! The toncenter API v3 (the TON indexer), as far as the shop reads it: the merchant wallet's
//! incoming Toncoin transactions and incoming USDT jetton transfers, each turned into an
//! [`Incoming`] only when it really credited the wallet (the acceptance checks of toncenter's
//! own deposit examples).

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::comment;
use crate::ton_address::TonAddress;

/// Which asset a transfer moved: the two currencies a `ton` order can be priced in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    Ton,
    Usdt,
}

impl Asset {
    /// The order currency code (and `ton_transfers.asset`).
    pub fn code(self) -> &'static str {
        match self {
            Asset::Ton => "TON",
            Asset::Usdt => "USDT",
        }
    }
}

/// Money that arrived in the merchant's wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub asset: Asset,
    /// The transaction's hash as toncenter spells it (standard base64): with the asset, the
    /// key that makes each transfer count once.
    pub tx_hash: String,
    pub lt: i64,
    pub sender: Option<String>,
    /// Nanotons, or USDT millionths.
    pub amount_minor: i64,
    /// The text comment, trimmed; `None` when there was none (or it was not text).
    pub comment: Option<String>,
    /// Unix time of the block.
    pub chain_time: i64,
}

/// What one listed item came to: money in, or something to step over (and why, for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Credit(Incoming),
    Skip(&'static str),
}

/// Why a read failed.
#[derive(Debug)]
pub enum ReadError {
    /// 429: the key's (or the keyless) rate limit; wait longer before the next round.
    RateLimited,
    Failed(String),
}

pub struct Toncenter {
    http: reqwest::Client,
    base: String,
    key: Option<SecretString>,
}

/// Items per page; toncenter allows up to 1000.
pub const PAGE: usize = 100;

impl Toncenter {
    pub fn new(http: &reqwest::Client, base: &str, key: Option<SecretString>) -> Self {
        Toncenter {
            http: http.clone(),
            base: base.trim_end_matches('/').to_string(),
            key,
        }
    }

    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        list: &str,
    ) -> Result<Vec<Value>, ReadError> {
        let mut rb = self.http.get(format!("{}{path}", self.base)).query(query);
        if let Some(k) = &self.key {
            rb = rb.header("X-API-Key", k.expose_secret());
        }
        // reqwest errors name the URL (no key: it travels in a header) but never the headers.
        let res = rb
            .send()
            .await
            .map_err(|e| ReadError::Failed(e.without_url().to_string()))?;
        let status = res.status();
        if status.as_u16() == 429 {
            return Err(ReadError::RateLimited);
        }
        let body: Value = res
            .json()
            .await
            .map_err(|e| ReadError::Failed(format!("HTTP {status}: not JSON ({e})")))?;
        if !status.is_success() {
            let why = body["error"]
                .as_str()
                .or(body["result"].as_str())
                .unwrap_or("no reason given");
            return Err(ReadError::Failed(format!("HTTP {status}: {why}")));
        }
        body[list]
            .as_array()
            .cloned()
            .ok_or_else(|| ReadError::Failed(format!("the answer has no `{list}` list")))
    }

    /// The wallet's transactions after `after_lt` (oldest first); on the first read
    /// (`after_lt` 0) those from `since_utime` on.
    pub async fn transactions(
        &self,
        wallet: &TonAddress,
        after_lt: i64,
        since_utime: i64,
    ) -> Result<Vec<Value>, ReadError> {
        let mut q = vec![
            ("account", wallet.raw()),
            ("sort", "asc".to_string()),
            ("limit", PAGE.to_string()),
        ];
        if after_lt > 0 {
            q.push(("start_lt", (after_lt + 1).to_string()));
        } else {
            q.push(("start_utime", since_utime.to_string()));
        }
        self.get("/transactions", &q, "transactions").await
    }

    /// Incoming transfers of `master`'s jetton to the wallet from `since_utime` on (oldest
    /// first), page `offset`.
    pub async fn jetton_transfers(
        &self,
        wallet: &TonAddress,
        master: &TonAddress,
        since_utime: i64,
        offset: usize,
    ) -> Result<Vec<Value>, ReadError> {
        let q = vec![
            ("owner_address", wallet.raw()),
            ("direction", "in".to_string()),
            ("jetton_master", master.friendly(true)),
            ("start_utime", since_utime.to_string()),
            ("sort", "asc".to_string()),
            ("limit", PAGE.to_string()),
            ("offset", offset.to_string()),
        ];
        self.get("/jetton/transfers", &q, "jetton_transfers").await
    }
}

/// An integer toncenter writes as a string (or, in places, as a number).
fn int(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// An amount string (nanotons, jetton units) that must fit our minor units.
fn amount(v: &Value) -> Option<i64> {
    let s = v.as_str()?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u128>().ok().and_then(|n| i64::try_from(n).ok())
}

fn address_is(v: &Value, want: &TonAddress) -> bool {
    v.as_str()
        .and_then(|s| TonAddress::parse(s).ok())
        .is_some_and(|a| a.same_account(want))
}

/// The comment of a decoded text comment (`{"type"|"@type": "text_comment", "comment"}`).
fn decoded_comment(v: &Value) -> Option<String> {
    let kind = v["type"].as_str().or(v["@type"].as_str())?;
    (kind == "text_comment")
        .then(|| v["comment"].as_str().map(str::to_string))
        .flatten()
}

fn clean(c: Option<String>) -> Option<String> {
    c.map(|c| c.trim().to_string()).filter(|c| !c.is_empty())
}

/// The lt of a listed transaction (what the cursor moves to), whatever else it holds.
pub fn lt_of(tx: &Value) -> Option<i64> {
    int(&tx["lt"])
}

/// A transaction of the wallet (`GET /transactions`) as money in, or why not: only a
/// committed, successful, not bounced incoming internal message with no outgoing messages,
/// plain (no body) or with a text comment, credits the wallet.
pub fn toncoin(tx: &Value, wallet: &TonAddress) -> Seen {
    let Some(lt) = lt_of(tx) else {
        return Seen::Skip("no lt");
    };
    let Some(hash) = tx["hash"].as_str() else {
        return Seen::Skip("no hash");
    };
    if tx["emulated"] == Value::Bool(true) {
        return Seen::Skip("not committed yet");
    }
    let m = &tx["in_msg"];
    if m.is_null() || m["source"].is_null() {
        // External: the owner's own outgoing transfer starts this way.
        return Seen::Skip("no incoming internal message");
    }
    if !address_is(&m["destination"], wallet) {
        return Seen::Skip("not to the wallet");
    }
    if tx["out_msgs"].as_array().is_some_and(|o| !o.is_empty()) {
        // A bounce sends the money straight back: nothing stayed.
        return Seen::Skip("has outgoing messages");
    }
    let d = &tx["description"];
    if d["aborted"] != Value::Bool(false) || d["compute_ph"]["success"] != Value::Bool(true) {
        return Seen::Skip("aborted or failed");
    }
    if m["bounced"] == Value::Bool(true) {
        return Seen::Skip("a bounce");
    }
    let text = match m["opcode"].as_str() {
        None => None,
        Some("0x00000000") => {
            let c = &m["message_content"];
            decoded_comment(&c["decoded"])
                .or_else(|| c["body"].as_str().and_then(comment::from_boc))
        }
        // A jetton notification (its money is in the USDT stream), an excess, a bounce...
        Some(_) => return Seen::Skip("not a plain transfer"),
    };
    let Some(value) = amount(&m["value"]) else {
        return Seen::Skip("no usable value");
    };
    if value <= 0 {
        return Seen::Skip("nothing credited");
    }
    Seen::Credit(Incoming {
        asset: Asset::Ton,
        tx_hash: hash.to_string(),
        lt,
        sender: m["source"].as_str().map(str::to_string),
        amount_minor: value,
        comment: clean(text),
        chain_time: int(&tx["now"]).unwrap_or(0),
    })
}

/// A listed jetton transfer (`GET /jetton/transfers`) as USDT in, or why not: only a transfer
/// of the USDT master's jetton (any other jetton with the same name is worthless) to the
/// wallet that did not abort.
pub fn usdt(t: &Value, wallet: &TonAddress, master: &TonAddress) -> Seen {
    let Some(hash) = t["transaction_hash"].as_str() else {
        return Seen::Skip("no hash");
    };
    if !address_is(&t["jetton_master"], master) {
        return Seen::Skip("another jetton");
    }
    if t["transaction_aborted"] != Value::Bool(false) {
        return Seen::Skip("aborted");
    }
    if !address_is(&t["destination"], wallet) {
        return Seen::Skip("not to the wallet");
    }
    let Some(value) = amount(&t["amount"]) else {
        return Seen::Skip("no usable amount");
    };
    if value <= 0 {
        return Seen::Skip("nothing credited");
    }
    let text = decoded_comment(&t["decoded_forward_payload"])
        .or_else(|| t["forward_payload"].as_str().and_then(comment::from_boc));
    Seen::Credit(Incoming {
        asset: Asset::Usdt,
        tx_hash: hash.to_string(),
        lt: int(&t["transaction_lt"]).unwrap_or(0),
        sender: t["source"].as_str().map(str::to_string),
        amount_minor: value,
        comment: clean(text),
        chain_time: int(&t["transaction_now"]).unwrap_or(0),
    })
}
