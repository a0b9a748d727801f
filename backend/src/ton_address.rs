//! TON account addresses (TEP-2): the raw form `wc:hex` and the 48-character user-friendly
//! forms (base64 or base64url of flags, workchain, 32-byte account id and a CRC16).
//!
//! One account has five spellings (raw, bounceable, non-bounceable, and the two testnet
//! forms), and toncenter answers raw upper-case addresses while a merchant pastes whatever
//! their wallet shows, so addresses are only ever compared parsed, as (workchain, id).
//!
//! Written by hand: the TON crates (`tonlib-core` and friends) bring a whole cell and
//! contract toolkit for these forty lines; the CRC comes from the `crc` crate.

use base64::Engine;

/// CRC16-XMODEM, the checksum of user-friendly addresses.
const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);

const BOUNCEABLE: u8 = 0x11;
const NON_BOUNCEABLE: u8 = 0x51;
const TESTNET: u8 = 0x80;

/// An account: what every spelling of one address parses to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TonAddress {
    pub workchain: i32,
    pub id: [u8; 32],
    /// Whether a user-friendly spelling marked it testnet-only (not part of equality's
    /// meaning for raw forms; kept so the shop shows it back the way it was given).
    pub testnet: bool,
}

impl TonAddress {
    /// Parses any form: `0:<64 hex>` (either case), or the 48-character friendly form in
    /// base64 or base64url, whose flags and CRC16 are checked.
    pub fn parse(s: &str) -> Result<TonAddress, String> {
        let s = s.trim();
        if let Some((wc, hex)) = s.split_once(':') {
            let workchain: i32 = wc
                .parse()
                .map_err(|_| format!("'{wc}' is not a workchain number"))?;
            if !(-128..=127).contains(&workchain) {
                return Err(format!("workchain {workchain} is out of range"));
            }
            let bytes = hex::decode(hex).map_err(|_| {
                "the account part of a raw address must be 64 hex digits".to_string()
            })?;
            let id: [u8; 32] = bytes.try_into().map_err(|_| {
                "the account part of a raw address must be 64 hex digits".to_string()
            })?;
            return Ok(TonAddress {
                workchain,
                id,
                testnet: false,
            });
        }
        if s.len() != 48 {
            return Err(
                "a TON address is either raw (0:<64 hex digits>) or 48 characters (EQ…/UQ…)"
                    .to_string(),
            );
        }
        let std = s.replace('-', "+").replace('_', "/");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(std)
            .map_err(|_| "the address is not valid base64".to_string())?;
        let bytes: [u8; 36] = bytes
            .try_into()
            .map_err(|_| "a user-friendly address is 36 bytes".to_string())?;
        let crc = u16::from_be_bytes([bytes[34], bytes[35]]);
        if CRC16.checksum(&bytes[..34]) != crc {
            return Err("the address's checksum is wrong: it was mistyped or cut".to_string());
        }
        let flags = bytes[0];
        let testnet = flags & TESTNET != 0;
        if !matches!(flags & !TESTNET, BOUNCEABLE | NON_BOUNCEABLE) {
            return Err(format!("unknown address flags 0x{flags:02x}"));
        }
        let mut id = [0u8; 32];
        id.copy_from_slice(&bytes[2..34]);
        Ok(TonAddress {
            workchain: i32::from(bytes[1] as i8),
            id,
            testnet,
        })
    }

    /// Whether two addresses name the same account, whatever their spelling.
    pub fn same_account(&self, other: &TonAddress) -> bool {
        self.workchain == other.workchain && self.id == other.id
    }

    /// `0:ca6e…` (lower case), the form the shop stores.
    pub fn raw(&self) -> String {
        format!("{}:{}", self.workchain, hex::encode(self.id))
    }

    /// The user-friendly base64url form: bounceable (`EQ…`) for contracts, non-bounceable
    /// (`UQ…`) for a wallet a person pays to.
    pub fn friendly(&self, bounceable: bool) -> String {
        let mut b = [0u8; 36];
        b[0] = if bounceable {
            BOUNCEABLE
        } else {
            NON_BOUNCEABLE
        } | if self.testnet { TESTNET } else { 0 };
        b[1] = self.workchain as i8 as u8;
        b[2..34].copy_from_slice(&self.id);
        let crc = CRC16.checksum(&b[..34]).to_be_bytes();
        b[34..].copy_from_slice(&crc);
        base64::engine::general_purpose::URL_SAFE.encode(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One account, five spellings (docs.ton.org, addresses/formats).
    const RAW: &str = "0:ca6e321c7cce9ecedf0a8ca2492ec8592494aa5fb5ce0387dff96ef6af982a3e";
    const EQ: &str = "EQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPrHF";
    const UQ: &str = "UQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPuwA";

    #[test]
    fn every_spelling_of_one_account_is_one_account() {
        let raw = TonAddress::parse(RAW).unwrap();
        let upper = TonAddress::parse(&RAW.to_uppercase()).unwrap();
        let eq = TonAddress::parse(EQ).unwrap();
        let uq = TonAddress::parse(UQ).unwrap();
        let std64 = TonAddress::parse(&EQ.replace('-', "+")).unwrap();
        for a in [upper, eq, uq, std64] {
            assert!(raw.same_account(&a));
        }
        assert_eq!(raw.friendly(true), EQ);
        assert_eq!(raw.friendly(false), UQ);
        assert_eq!(eq.raw(), RAW);
    }

    #[test]
    fn testnet_forms_keep_their_flag() {
        let k = TonAddress::parse(RAW).unwrap();
        let t = TonAddress { testnet: true, ..k };
        let kq = t.friendly(true);
        assert!(kq.starts_with("kQ"), "{kq}");
        assert!(TonAddress::parse(&kq).unwrap().testnet);
        assert!(TonAddress::parse(&kq).unwrap().same_account(&k));
    }

    #[test]
    fn a_mistyped_address_is_refused() {
        // Last character changed: the CRC no longer matches.
        let bad = format!("{}G", &EQ[..47]);
        assert!(TonAddress::parse(&bad).unwrap_err().contains("checksum"));
        assert!(TonAddress::parse("0:1234").is_err());
        assert!(TonAddress::parse("EQDKbj").is_err());
        assert!(TonAddress::parse("").is_err());
    }
}
