//! A local toncenter API v3 (the TON indexer) holding one merchant wallet's history:
//! `GET /api/v3/transactions` and `GET /api/v3/jetton/transfers` answer real-shaped JSON (raw
//! upper-case addresses, string lt and values, base64 hashes, `address_book`), honour
//! `start_lt`/`end_lt`/`start_utime`/`sort`/`limit`/`offset` and refuse what toncenter refuses
//! (a wrong `X-API-Key` 401, a bad `sort` or `limit` 422, and 429 when told to).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use shop::ton_address::TonAddress;

pub const API_KEY: &str = "fake-toncenter-key-0123456789";
/// The merchant's wallet as the merchant pastes it (non-bounceable, user-friendly).
pub const WALLET: &str = "UQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPuwA";
/// Mainnet USDT master (the default of TON_USDT_MASTER).
pub const USDT_MASTER: &str = "EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs";
/// A buyer.
pub const BUYER: &str = "0:83DFD552E63729B472FCBCC8C45EBCC6691702558B68EC7527E1BA403A0F31A8";

pub struct Inner {
    pub txs: Vec<Value>,
    pub jettons: Vec<Value>,
    next_lt: i64,
    /// Answer 429 to this many requests.
    pub rate_limit: u32,
    /// Ignore `jetton_master` (list every jetton), as an indexer that does not filter would:
    /// what reaches the shop then tests its own check of the master.
    pub any_jetton: bool,
    /// (path, query) of every request.
    pub requests: Vec<(String, HashMap<String, String>)>,
}

#[derive(Clone)]
pub struct FakeToncenter {
    pub base: String,
    pub inner: Arc<Mutex<Inner>>,
}

/// `0:ABC…` as toncenter spells it.
pub fn raw_upper(a: &str) -> String {
    let p = TonAddress::parse(a).unwrap();
    format!("{}:{}", p.workchain, hex::encode_upper(p.id))
}

fn random_hash() -> String {
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
}

/// A text comment as a one-cell BOC (op 0 + UTF-8), as an older indexer leaves a jetton
/// transfer's `forward_payload`.
pub fn comment_boc(text: &str) -> String {
    let mut data = vec![0u8, 0, 0, 0];
    data.extend_from_slice(text.as_bytes());
    assert!(data.len() <= 127, "one cell only");
    let mut cell = vec![0u8, (data.len() * 2) as u8];
    cell.extend_from_slice(&data);
    // magic, flags (1-byte refs, no index, no CRC), 1-byte offsets, 1 cell, 1 root, 0
    // absent, the cells' size, root 0.
    let mut b = vec![
        0xb5,
        0xee,
        0x9c,
        0x72,
        0x01,
        0x01,
        1,
        1,
        0,
        cell.len() as u8,
        0,
    ];
    b.extend_from_slice(&cell);
    base64::engine::general_purpose::STANDARD.encode(b)
}

impl FakeToncenter {
    pub async fn start() -> FakeToncenter {
        let inner = Arc::new(Mutex::new(Inner {
            txs: vec![],
            jettons: vec![],
            next_lt: 47_000_000_000_000,
            rate_limit: 0,
            any_jetton: false,
            requests: vec![],
        }));
        let app = Router::new()
            .route("/api/v3/transactions", get(transactions))
            .route("/api/v3/jetton/transfers", get(jetton_transfers))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeToncenter {
            base: format!("http://{addr}/api/v3"),
            inner,
        }
    }

    /// The shop's settings for this fake (polling left to the test: once an hour).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TON_WALLET", WALLET.to_string()),
            ("TONCENTER_API_URL", self.base.clone()),
            ("TONCENTER_API_KEY", API_KEY.to_string()),
            ("TON_POLL_SECS", "3600".to_string()),
        ]
    }

    fn lt(&self) -> i64 {
        let mut g = self.inner.lock().unwrap();
        g.next_lt += 1_000_003;
        g.next_lt
    }

    /// A plain incoming Toncoin transfer to the wallet, as `/transactions` lists it (not yet
    /// added: change it, then [`FakeToncenter::push_tx`]).
    pub fn ton_tx(&self, nanotons: i64, comment: Option<&str>) -> Value {
        let lt = self.lt();
        let wallet = raw_upper(WALLET);
        let (opcode, content) = match comment {
            Some(c) => (
                json!("0x00000000"),
                json!({"hash": random_hash(), "body": comment_boc(c),
                       "decoded": {"type": "text_comment", "comment": c}}),
            ),
            None => (
                Value::Null,
                json!({"hash": random_hash(), "body": "te6cckEBAQEAAgAAAEysuc0=", "decoded": null}),
            ),
        };
        json!({
            "account": wallet,
            "hash": random_hash(),
            "lt": lt.to_string(),
            "now": shop::db::now(),
            "mc_block_seqno": 40_000_000,
            "orig_status": "active",
            "end_status": "active",
            "total_fees": "1000000",
            "description": {
                "type": "ord",
                "aborted": false,
                "destroyed": false,
                "credit_first": false,
                "storage_ph": {"storage_fees_collected": "10", "status_change": "unchanged"},
                "credit_ph": {"credit": nanotons.to_string()},
                "compute_ph": {"skipped": false, "success": true, "exit_code": 0, "vm_steps": 50},
                "action": {"success": true, "valid": true, "result_code": 0, "tot_actions": 0}
            },
            "in_msg": {
                "hash": random_hash(),
                "source": BUYER,
                "destination": wallet,
                "value": nanotons.to_string(),
                "fwd_fee": "266669",
                "ihr_fee": "0",
                "created_lt": (lt - 1).to_string(),
                "created_at": shop::db::now().to_string(),
                "opcode": opcode,
                "ihr_disabled": true,
                "bounce": false,
                "bounced": false,
                "message_content": content
            },
            "out_msgs": [],
            "emulated": false,
            "finality": "finalized"
        })
    }

    pub fn push_tx(&self, tx: Value) -> String {
        let hash = tx["hash"].as_str().unwrap().to_string();
        self.inner.lock().unwrap().txs.push(tx);
        hash
    }

    /// Adds a plain Toncoin payment; answers its hash.
    pub fn pay_ton(&self, nanotons: i64, comment: &str) -> String {
        let tx = self.ton_tx(nanotons, Some(comment));
        self.push_tx(tx)
    }

    /// An incoming jetton transfer of `master`'s jetton, as `/jetton/transfers` lists it.
    pub fn jetton_transfer(&self, master: &str, units: i64, comment: Option<&str>) -> Value {
        let lt = self.lt();
        json!({
            "query_id": "0",
            "source": BUYER,
            "destination": raw_upper(WALLET),
            "amount": units.to_string(),
            "source_wallet": "0:1B9C5F4E0D8A2C3B7E6F5A4D3C2B1A09F8E7D6C5B4A392817060504030201000",
            "jetton_master": raw_upper(master),
            "transaction_hash": random_hash(),
            "transaction_lt": lt.to_string(),
            "transaction_now": shop::db::now(),
            "transaction_aborted": false,
            "response_destination": BUYER,
            "custom_payload": null,
            "forward_ton_amount": "1",
            "forward_payload": comment.map(comment_boc),
            "decoded_forward_payload": comment.map(|c| json!({"type": "text_comment", "comment": c})),
            "trace_id": random_hash()
        })
    }

    pub fn push_jetton(&self, t: Value) -> String {
        let hash = t["transaction_hash"].as_str().unwrap().to_string();
        self.inner.lock().unwrap().jettons.push(t);
        hash
    }

    pub fn pay_usdt(&self, units: i64, comment: &str) -> String {
        let t = self.jetton_transfer(USDT_MASTER, units, Some(comment));
        self.push_jetton(t)
    }

    pub fn requests(&self) -> Vec<(String, HashMap<String, String>)> {
        self.inner.lock().unwrap().requests.clone()
    }
}

fn err(status: u16, msg: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({"error": msg})),
    )
        .into_response()
}

/// The checks every route makes: key, rate limit, paging parameters.
#[allow(clippy::result_large_err)] // a test fake: the refusal is the answer itself
fn gate(
    st: &Mutex<Inner>,
    path: &str,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<(bool, usize, usize), Response> {
    let mut g = st.lock().unwrap();
    g.requests.push((path.to_string(), q.clone()));
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
        return Err(err(401, "API key does not exist"));
    }
    if g.rate_limit > 0 {
        g.rate_limit -= 1;
        return Err((
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"ok": false, "result": "Ratelimit exceed", "code": 429})),
        )
            .into_response());
    }
    let asc = match q.get("sort").map(String::as_str) {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(err(422, "wrong value for sort parameter")),
    };
    let limit: usize = match q.get("limit") {
        None => 10,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            Ok(n) => return Err(err(422, &format!("limit is not allowed: {n} > 1000"))),
            Err(_) => return Err(err(422, "limit must be an integer")),
        },
    };
    let offset = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    Ok((asc, limit, offset))
}

fn num(q: &HashMap<String, String>, k: &str) -> Option<i64> {
    q.get(k).and_then(|v| v.parse().ok())
}

fn page(mut items: Vec<(i64, Value)>, asc: bool, limit: usize, offset: usize) -> Vec<Value> {
    items.sort_by_key(|(lt, _)| *lt);
    if !asc {
        items.reverse();
    }
    items
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(_, v)| v)
        .collect()
}

fn address_book(items: &[Value], fields: &[&str]) -> Value {
    let mut book = serde_json::Map::new();
    for it in items {
        for f in fields {
            let v = f.split('.').fold(it, |v, k| &v[k]);
            if let Some(a) = v.as_str() {
                if let Ok(p) = TonAddress::parse(a) {
                    book.insert(
                        a.to_string(),
                        json!({"user_friendly": p.friendly(true), "domain": null}),
                    );
                }
            }
        }
    }
    Value::Object(book)
}

async fn transactions(
    State(st): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (asc, limit, offset) = match gate(&st, "/transactions", &headers, &q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(account) = q.get("account").map(|a| TonAddress::parse(a)) else {
        return err(422, "account is required");
    };
    let Ok(account) = account else {
        return err(422, "failed to parse address");
    };
    let (start_lt, end_lt) = (num(&q, "start_lt"), num(&q, "end_lt"));
    let start_utime = num(&q, "start_utime");
    let items: Vec<(i64, Value)> = st
        .lock()
        .unwrap()
        .txs
        .iter()
        .filter(|t| {
            TonAddress::parse(t["account"].as_str().unwrap())
                .unwrap()
                .same_account(&account)
        })
        .map(|t| (t["lt"].as_str().unwrap().parse::<i64>().unwrap(), t.clone()))
        .filter(|(lt, t)| {
            start_lt.is_none_or(|s| *lt >= s)
                && end_lt.is_none_or(|e| *lt <= e)
                && start_utime.is_none_or(|s| t["now"].as_i64().unwrap() >= s)
        })
        .collect();
    let txs = page(items, asc, limit, offset);
    let book = address_book(&txs, &["account", "in_msg.source", "in_msg.destination"]);
    Json(json!({"transactions": txs, "address_book": book})).into_response()
}

async fn jetton_transfers(
    State(st): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (asc, limit, offset) = match gate(&st, "/jetton/transfers", &headers, &q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let parse = |k: &str| q.get(k).map(|a| TonAddress::parse(a));
    let owner = match parse("owner_address") {
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => return err(422, "failed to parse owner_address"),
        None => None,
    };
    let master = match parse("jetton_master") {
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => return err(422, "failed to parse jetton_master"),
        None => None,
    };
    let inbound = match q.get("direction").map(String::as_str) {
        None | Some("both") => None,
        Some("in") => Some(true),
        Some("out") => Some(false),
        Some(_) => return err(422, "wrong value for direction parameter"),
    };
    let master = if st.lock().unwrap().any_jetton {
        None
    } else {
        master
    };
    let (start_lt, start_utime) = (num(&q, "start_lt"), num(&q, "start_utime"));
    let same = |v: &Value, a: &TonAddress| {
        v.as_str()
            .and_then(|s| TonAddress::parse(s).ok())
            .is_some_and(|x| x.same_account(a))
    };
    let items: Vec<(i64, Value)> = st
        .lock()
        .unwrap()
        .jettons
        .iter()
        .filter(|t| match (&owner, inbound) {
            (Some(o), Some(true)) => same(&t["destination"], o),
            (Some(o), Some(false)) => same(&t["source"], o),
            (Some(o), None) => same(&t["destination"], o) || same(&t["source"], o),
            (None, _) => true,
        })
        .filter(|t| master.as_ref().is_none_or(|m| same(&t["jetton_master"], m)))
        .map(|t| {
            (
                t["transaction_lt"]
                    .as_str()
                    .unwrap()
                    .parse::<i64>()
                    .unwrap(),
                t.clone(),
            )
        })
        .filter(|(lt, t)| {
            start_lt.is_none_or(|s| *lt >= s)
                && start_utime.is_none_or(|s| t["transaction_now"].as_i64().unwrap() >= s)
        })
        .collect();
    let list = page(items, asc, limit, offset);
    let book = address_book(
        &list,
        &["source", "destination", "source_wallet", "jetton_master"],
    );
    Json(json!({"jetton_transfers": list, "address_book": book, "metadata": {}})).into_response()
}
