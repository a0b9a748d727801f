//! Crypto Pay's webhook signature: header `crypto-pay-api-signature` =
//! hex(HMAC-SHA256(key = SHA-256(API token) as 32 raw bytes, message = the raw body)).
//!
//! A dozen lines over `hmac`/`sha2`, as for Stripe; the comparison is `Mac::verify_slice`,
//! which takes constant time.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

fn mac(token: &str, body: &[u8]) -> Hmac<Sha256> {
    let key = Sha256::digest(token.as_bytes());
    let mut m = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
    m.update(body);
    m
}

/// The header value Crypto Pay sends for `body` (tests sign with it too).
pub fn sign(token: &str, body: &[u8]) -> String {
    hex::encode(mac(token, body).finalize().into_bytes())
}

/// Whether `header` is the signature of `body` under `token`.
pub fn verify(header: &str, body: &[u8], token: &str) -> bool {
    let Ok(sig) = hex::decode(header.trim()) else {
        return false;
    };
    mac(token, body).verify_slice(&sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_raw_body_with_the_hashed_token() {
        let token = "1234:AAtesttoken";
        let body = br#"{"update_id":1,"update_type":"invoice_paid"}"#;
        let s = sign(token, body);
        assert_eq!(s.len(), 64);
        assert!(verify(&s, body, token));
        assert!(verify(&s.to_uppercase(), body, token));
        assert!(!verify(&s, b"{\"update_id\":1}", token));
        assert!(!verify(&s, body, "1234:AAother"));
        assert!(!verify("not hex", body, token));
        assert!(!verify(&s[..62], body, token));
        // Keyed with SHA-256 of the token, not with the token itself.
        let plain = {
            let mut m = Hmac::<Sha256>::new_from_slice(token.as_bytes()).unwrap();
            m.update(body);
            hex::encode(m.finalize().into_bytes())
        };
        assert!(!verify(&plain, body, token));
    }
}
