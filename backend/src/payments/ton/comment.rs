//! Text comments out of a message body in TON's bag-of-cells (BOC) encoding, for when
//! toncenter does not decode one itself (older indexers leave a jetton transfer's
//! `forward_payload` as a BOC).
//!
//! A comment is a cell holding op 0 (32 zero bits) and UTF-8 text, continued "snake" style in
//! each cell's first reference; some senders put all the text in a reference after the op.
//! Only that much of the format is read: written by hand because the TON crates bring a whole
//! cell and contract toolkit for these few lines.

use base64::Engine;

/// A comment longer than this is not an order reference anyway.
const MAX_TEXT: usize = 4096;

struct Cell {
    data: Vec<u8>,
    bits: usize,
    refs: Vec<usize>,
}

/// The text comment a base64 BOC holds, if it is one.
pub fn from_boc(b64: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(b64.trim()))
        .ok()?;
    let (cells, root) = parse(&bytes)?;
    let first = cells.get(root)?;
    if first.bits < 32 || first.data[..4] != [0, 0, 0, 0] {
        return None;
    }
    let mut text = Vec::new();
    let mut cell = first;
    let mut skip = 4;
    for _ in 0..64 {
        if cell.bits % 8 != 0 {
            return None;
        }
        text.extend_from_slice(&cell.data[skip..cell.bits / 8]);
        if text.len() > MAX_TEXT {
            return None;
        }
        skip = 0;
        match cell.refs.first() {
            Some(&r) => cell = cells.get(r)?,
            None => break,
        }
    }
    let text = String::from_utf8(text).ok()?;
    (!text.is_empty()).then_some(text)
}

/// The cells of a BOC and the index of its first root.
fn parse(b: &[u8]) -> Option<(Vec<Cell>, usize)> {
    if b.get(..4)? != [0xb5, 0xee, 0x9c, 0x72] {
        return None;
    }
    let flags = *b.get(4)?;
    let has_idx = flags & 0x80 != 0;
    let ref_size = usize::from(flags & 0x07);
    let off_size = usize::from(*b.get(5)?);
    if ref_size == 0 || ref_size > 4 || off_size == 0 || off_size > 8 {
        return None;
    }
    let mut at = 6;
    let read = |n: usize, at: &mut usize| -> Option<usize> {
        let mut v = 0usize;
        for i in 0..n {
            v = v.checked_mul(256)? + usize::from(*b.get(*at + i)?);
        }
        *at += n;
        Some(v)
    };
    let count = read(ref_size, &mut at)?;
    let roots = read(ref_size, &mut at)?;
    let _absent = read(ref_size, &mut at)?;
    let _total = read(off_size, &mut at)?;
    if roots == 0 || count == 0 || count > 1024 {
        return None;
    }
    let root = read(ref_size, &mut at)?;
    at += (roots - 1) * ref_size;
    if has_idx {
        at += count * off_size;
    }
    let mut cells = Vec::with_capacity(count);
    for _ in 0..count {
        let d1 = *b.get(at)?;
        let d2 = usize::from(*b.get(at + 1)?);
        at += 2;
        if d1 & 0x08 != 0 {
            return None; // an exotic cell: never a comment
        }
        let nrefs = usize::from(d1 & 0x07);
        let len = d2.div_ceil(2);
        let mut data = b.get(at..at + len)?.to_vec();
        at += len;
        let bits = if d2 % 2 == 1 {
            // The last byte is padded: a 1 bit, then zeros.
            let last = data.last_mut()?;
            let pad = last.trailing_zeros() as usize + 1;
            if pad > 8 {
                return None;
            }
            *last &= !(1u8 << (pad - 1));
            len * 8 - pad
        } else {
            len * 8
        };
        let mut refs = Vec::with_capacity(nrefs);
        for _ in 0..nrefs {
            refs.push(read(ref_size, &mut at)?);
        }
        cells.push(Cell { data, bits, refs });
    }
    Some((cells, root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_text_comment() {
        // "Hello, TON!" as wallets send it (the reference sheet's example).
        assert_eq!(
            from_boc("te6cckEBAQEAEQAAHgAAAABIZWxsbywgVE9OIb7WCx4=").as_deref(),
            Some("Hello, TON!")
        );
    }

    #[test]
    fn an_empty_body_or_garbage_is_no_comment() {
        assert_eq!(from_boc("te6cckEBAQEAAgAAAEysuc0="), None);
        assert_eq!(from_boc("not base64 at all"), None);
        assert_eq!(from_boc("AAAA"), None);
    }
}
