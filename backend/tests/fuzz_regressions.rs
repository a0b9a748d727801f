//! Replays every input kept for the fuzz targets (fuzz/README.md) through the same entry point
//! the targets use, so `cargo test` covers them without cargo-fuzz: `fuzz/seeds/<target>/`
//! (valid inputs the fuzzing starts from) and `fuzz/regressions/<target>/` (inputs that once
//! crashed a parser; each file's name says what it was).

use std::path::Path;

fn replay(dir: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(dir);
    let mut n = 0;
    for target in shop::fuzzing::TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let r = std::panic::catch_unwind(|| shop::fuzzing::run(target, &data));
            assert!(r.is_ok(), "{target} crashed on {}", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn seeds_parse_without_a_crash() {
    assert!(replay("seeds") >= shop::fuzzing::TARGETS.len());
}

#[test]
fn inputs_that_once_crashed_a_parser_do_not() {
    assert!(replay("regressions") >= 1);
}

/// The seeds are not just survivable but get past the first checks: a seed that stops being
/// valid (a renamed field, a changed header) would leave the fuzzing starting from nothing.
#[test]
fn seeds_are_accepted_where_they_should_be() {
    let seed = |t: &str, name: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../fuzz/seeds")
                .join(t)
                .join(name),
        )
        .unwrap()
    };
    for name in ["small.jpg", "alpha.png", "small.png", "alpha.webp"] {
        assert_eq!(
            shop::fuzzing::image(&seed("image", name)).ok(),
            Some(1),
            "{name}"
        );
    }
    let csv = seed("csv_import", "export.csv");
    assert_eq!(shop::fuzzing::csv_import(&csv), (3, 0));
    let payme = seed("payme", "create");
    let (header, body) = payme.split_at(payme.iter().position(|&b| b == b'\n').unwrap());
    let (authorized, method) =
        shop::fuzzing::payme(&body[1..], Some(std::str::from_utf8(header).unwrap()));
    assert!(authorized);
    assert_eq!(method.as_deref(), Some("CreateTransaction"));
    assert_eq!(shop::fuzzing::cursor("aWQ6MTI").ok(), Some(12));
    for (name, event) in [
        ("payment", "payment.succeeded"),
        ("refund", "refund.succeeded"),
    ] {
        let n = shop::fuzzing::yookassa(&seed("yookassa", name));
        assert_eq!(n.ok().as_deref(), Some(event), "{name}");
    }
    let cp = seed("cryptopay", "invoice_paid");
    let (header, body) = cp.split_at(cp.iter().position(|&b| b == b'\n').unwrap());
    let price = shop::fuzzing::cryptopay(std::str::from_utf8(header).unwrap(), &body[1..]);
    assert_eq!(
        price.ok().flatten(),
        Some((12_500_050, shared::Currency::new("UZS").unwrap())),
        "the seed is validly signed and priced"
    );
}

/// Stripe's timestamp check subtracted a hostile `t` from now: `t=-9223372036854775808`
/// overflowed (a panic in debug builds, where the route answered 500).
#[test]
fn stripe_signature_with_an_extreme_timestamp_is_refused() {
    for t in [i64::MIN, i64::MIN + 1, i64::MAX] {
        let header = format!("t={t},v1=00");
        let e = shop::payments::stripe::signature::verify(&header, b"{}", "whsec_x", 1_700_000_000)
            .unwrap_err();
        assert_eq!(
            e,
            shop::payments::stripe::signature::Rejected::OutsideTolerance
        );
    }
}
