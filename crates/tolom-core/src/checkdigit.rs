//! Pluggable check-digit schemes for payment codes.
//!
//! Embedding portals have their own code formats, so the scheme is a trait
//! object chosen by configuration. Provided: [`Luhn`], [`Damm`],
//! [`Mod97_10`] (ISO 7064, two check digits), [`GisGmpUin`] (the Russian
//! GIS GMP weighted mod-11 scheme) and [`NoCheckDigit`].
//!
//! Each scheme is a few lines over ASCII digits, written from its standard
//! and tested against the standard's own examples (see the tests): a crate
//! for each would add more than it saves.

use std::fmt::Debug;

/// A check-digit scheme over decimal digits.
///
/// Implementations MUST be pure: the same payload gives the same check
/// digits, and [`CheckDigitScheme::is_valid`] MUST accept exactly the strings
/// built by appending [`CheckDigitScheme::compute`] to a payload.
pub trait CheckDigitScheme: Send + Sync + Debug {
    /// Stable name used in configuration (`luhn`, `damm`, `mod97-10`, ...).
    fn name(&self) -> &'static str;

    /// How many check digits the scheme appends.
    fn check_len(&self) -> usize;

    /// The check digits for `payload` (which holds ASCII digits only).
    fn compute(&self, payload: &[u8]) -> Vec<u8>;

    /// Whether `digits` (payload followed by check digits, ASCII digits only)
    /// is valid.
    fn is_valid(&self, digits: &[u8]) -> bool {
        let n = self.check_len();
        if digits.len() <= n {
            return false;
        }
        let (payload, check) = digits.split_at(digits.len() - n);
        self.compute(payload) == check
    }
}

/// The configuration names [`scheme_by_name`] knows, one per scheme.
pub const SCHEME_NAMES: [&str; 5] = ["damm", "luhn", "mod97-10", "gis-gmp", "none"];

/// Looks a scheme up by its configuration name.
pub fn scheme_by_name(name: &str) -> Option<std::sync::Arc<dyn CheckDigitScheme>> {
    use std::sync::Arc;
    match name {
        "luhn" => Some(Arc::new(Luhn)),
        "damm" => Some(Arc::new(Damm)),
        "mod97-10" | "iso7064-mod97-10" => Some(Arc::new(Mod97_10)),
        "gis-gmp" => Some(Arc::new(GisGmpUin)),
        "none" => Some(Arc::new(NoCheckDigit)),
        _ => None,
    }
}

fn digit(b: u8) -> u32 {
    u32::from(b.wrapping_sub(b'0'))
}

/// The Luhn (mod 10) scheme, as on bank cards. Catches every single-digit
/// error and most adjacent transpositions (not `09` ↔ `90`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Luhn;

impl Luhn {
    /// Whether a full digit string passes the Luhn check.
    pub fn check(digits: &[u8]) -> bool {
        Luhn.is_valid(digits)
    }
}

impl CheckDigitScheme for Luhn {
    fn name(&self) -> &'static str {
        "luhn"
    }
    fn check_len(&self) -> usize {
        1
    }
    fn compute(&self, payload: &[u8]) -> Vec<u8> {
        let sum: u32 = payload
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &b)| {
                let d = digit(b);
                if i % 2 == 0 {
                    let dd = d * 2;
                    if dd > 9 {
                        dd - 9
                    } else {
                        dd
                    }
                } else {
                    d
                }
            })
            .sum();
        vec![b'0' + ((10 - sum % 10) % 10) as u8]
    }
}

/// The Damm scheme: one check digit that catches every single-digit error
/// and every adjacent transposition.
#[derive(Debug, Clone, Copy, Default)]
pub struct Damm;

const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

impl CheckDigitScheme for Damm {
    fn name(&self) -> &'static str {
        "damm"
    }
    fn check_len(&self) -> usize {
        1
    }
    fn compute(&self, payload: &[u8]) -> Vec<u8> {
        let interim = payload
            .iter()
            .fold(0u8, |acc, &b| DAMM[acc as usize][(digit(b) % 10) as usize]);
        vec![b'0' + interim]
    }
}

/// ISO 7064 MOD 97-10 (as in IBAN): two check digits; catches every
/// single-digit error and every adjacent transposition.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mod97_10;

impl CheckDigitScheme for Mod97_10 {
    fn name(&self) -> &'static str {
        "mod97-10"
    }
    fn check_len(&self) -> usize {
        2
    }
    fn compute(&self, payload: &[u8]) -> Vec<u8> {
        let rem = payload
            .iter()
            .chain(b"00".iter())
            .fold(0u32, |acc, &b| (acc * 10 + digit(b) % 10) % 97);
        let check = 98 - rem;
        vec![b'0' + (check / 10) as u8, b'0' + (check % 10) as u8]
    }
    fn is_valid(&self, digits: &[u8]) -> bool {
        digits.len() > 2
            && digits
                .iter()
                .fold(0u32, |acc, &b| (acc * 10 + digit(b) % 10) % 97)
                == 1
    }
}

/// The check digit of the Russian GIS GMP payment identifier (УИН, the
/// 20- or 25-digit "unique accrual identifier"), as the Ministry of
/// Finance's rules for payment identifiers define it (the same method as
/// the check number of the all-Russian classifiers, e.g. ОКПО):
///
/// 1. the digits get the weights 1, 2, …, 10 from the most significant
///    one, repeating 1..10 for the digits after the tenth;
/// 2. the check digit is the sum of digit × weight modulo 11;
/// 3. when that is 10, the sum is taken again with the weights shifted by
///    two (3, 4, …, 10, 1, 2, 3, …); when it is 10 again, the check digit
///    is 0.
///
/// The check digit is the last digit of the code. tolom's codes are
/// digits only, so a UIN whose participant part carries letters is not a
/// tolom code; any configured length works (a real UIN has 20 or 25).
#[derive(Debug, Clone, Copy, Default)]
pub struct GisGmpUin;

impl CheckDigitScheme for GisGmpUin {
    fn name(&self) -> &'static str {
        "gis-gmp"
    }
    fn check_len(&self) -> usize {
        1
    }
    fn compute(&self, payload: &[u8]) -> Vec<u8> {
        let weighted = |shift: usize| -> u32 {
            payload
                .iter()
                .enumerate()
                .map(|(i, &b)| digit(b) * (((i + shift) % 10) as u32 + 1))
                .sum::<u32>()
                % 11
        };
        let mut r = weighted(0);
        if r == 10 {
            r = weighted(2);
            if r == 10 {
                r = 0;
            }
        }
        vec![b'0' + r as u8]
    }
}

/// No check digit at all (codes are only checked for length and prefix).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCheckDigit;

impl CheckDigitScheme for NoCheckDigit {
    fn name(&self) -> &'static str {
        "none"
    }
    fn check_len(&self) -> usize {
        0
    }
    fn compute(&self, _payload: &[u8]) -> Vec<u8> {
        Vec::new()
    }
    fn is_valid(&self, _digits: &[u8]) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Luhn (ISO/IEC 7812-1, Annex B): the worked example of the Luhn
    /// formula (7992739871 → 3) and the card schemes' published test
    /// numbers.
    #[test]
    fn luhn_published_vectors() {
        assert_eq!(Luhn.compute(b"7992739871"), b"3".to_vec());
        assert!(Luhn::check(b"79927398713"));
        for pan in [
            "4111111111111111",
            "5555555555554444",
            "4012888888881881",
            "378282246310005",
        ] {
            assert!(Luhn::check(pan.as_bytes()), "{pan}");
        }
        for wrong in ["79927398710", "79927398719", "4111111111111112"] {
            assert!(!Luhn::check(wrong.as_bytes()), "{wrong}");
        }
    }

    /// Damm (H. M. Damm, "Total anti-symmetrische Quasigruppen", 2004):
    /// the worked example 572 → 4 (interim digits 7, 9, 4) and its check.
    #[test]
    fn damm_published_vectors() {
        assert_eq!(Damm.compute(b"572"), b"4".to_vec());
        assert!(Damm.is_valid(b"5724"));
        assert!(!Damm.is_valid(b"5274"));
        assert!(!Damm.is_valid(b"5723"));
        // A valid number with its check digit runs the table to 0.
        assert_eq!(Damm.compute(b"5724"), b"0".to_vec());
    }

    /// ISO/IEC 7064:2003 MOD 97-10: the standard's example 794 → 44, and
    /// the IBAN of ISO 13616's example (GB82 WEST 1234 5698 7654 32),
    /// moved and turned into digits as ISO 13616 says (W=32, E=14, S=28,
    /// T=29, G=16, B=11), which must leave the remainder 1.
    #[test]
    fn mod97_10_published_vectors() {
        assert_eq!(Mod97_10.compute(b"794"), b"44".to_vec());
        assert!(Mod97_10.is_valid(b"79444"));
        assert!(!Mod97_10.is_valid(b"79445"));
        assert!(Mod97_10.is_valid(b"3214282912345698765432161182"));
        assert!(!Mod97_10.is_valid(b"3214282912345698765432161183"));
        // Check digits below 10 are written with a leading zero.
        let two = Mod97_10.compute(b"1");
        assert_eq!(two.len(), 2);
        assert!(Mod97_10.is_valid(&[b"1".as_slice(), &two].concat()));
    }

    /// GIS GMP UIN: the method is the classifiers' check number, so
    /// published ОКПО codes are its vectors: 00032537 (Sberbank) and
    /// 00040778 (Gazprom). Then the three branches worked by hand on a
    /// 20-digit UIN:
    /// - 1881011000000000001: 1·1+8·2+8·3+1·4+1·6+1·7+1·9 = 67, mod 11 = 1;
    /// - 1881011000000000002: first pass 58+2·9 = 76, mod 11 = 10; second
    ///   pass (weights 3, 4, …) 98+2·1 = 100, mod 11 = 1;
    /// - 1881011000000000033: first pass 58+3·8+3·9 = 109, mod 11 = 10;
    ///   second 98+3·10+3·1 = 131, mod 11 = 10 again, so 0.
    #[test]
    fn gis_gmp_uin_vectors() {
        assert!(GisGmpUin.is_valid(b"00032537"));
        assert!(GisGmpUin.is_valid(b"00040778"));
        assert!(!GisGmpUin.is_valid(b"00032536"));
        assert_eq!(GisGmpUin.compute(b"1881011000000000001"), b"1".to_vec());
        assert_eq!(GisGmpUin.compute(b"1881011000000000002"), b"1".to_vec());
        assert_eq!(GisGmpUin.compute(b"1881011000000000033"), b"0".to_vec());
        assert!(GisGmpUin.is_valid(b"18810110000000000011"));
        assert!(GisGmpUin.is_valid(b"18810110000000000330"));
        // A 25-digit UIN: the weights repeat a third time (the 24th digit
        // weighs 4): 58+4·4 = 74, mod 11 = 8.
        assert_eq!(
            GisGmpUin.compute(b"188101100000000000000004"),
            b"8".to_vec()
        );
        assert!(GisGmpUin.is_valid(b"1881011000000000000000048"));
    }

    #[test]
    fn none_accepts_any_digits_and_names_resolve() {
        assert!(NoCheckDigit.is_valid(b"1234567890"));
        assert!(NoCheckDigit.compute(b"123").is_empty());
        for name in SCHEME_NAMES {
            let scheme = scheme_by_name(name).unwrap();
            assert_eq!(scheme.name(), name);
        }
        assert!(scheme_by_name("verhoeff").is_none());
        assert_eq!(
            scheme_by_name("iso7064-mod97-10").unwrap().name(),
            "mod97-10"
        );
    }

    fn schemes() -> Vec<Box<dyn CheckDigitScheme>> {
        vec![
            Box::new(Luhn),
            Box::new(Damm),
            Box::new(Mod97_10),
            Box::new(GisGmpUin),
        ]
    }

    proptest! {
        #[test]
        fn every_single_digit_substitution_is_caught(
            payload in "[0-9]{4,24}",
            pos in any::<prop::sample::Index>(),
            delta in 1u8..10,
        ) {
            for scheme in [&Luhn as &dyn CheckDigitScheme, &Damm, &Mod97_10] {
                let mut full = payload.as_bytes().to_vec();
                full.extend(scheme.compute(payload.as_bytes()));
                prop_assert!(scheme.is_valid(&full));
                let i = pos.index(full.len());
                full[i] = b'0' + (full[i] - b'0' + delta) % 10;
                prop_assert!(!scheme.is_valid(&full), "{} missed a substitution", scheme.name());
            }
        }

        #[test]
        fn every_adjacent_transposition_is_caught_by_damm_and_mod97(
            payload in "[0-9]{4,24}",
            pos in any::<prop::sample::Index>(),
        ) {
            for scheme in [&Damm as &dyn CheckDigitScheme, &Mod97_10] {
                let mut full = payload.as_bytes().to_vec();
                full.extend(scheme.compute(payload.as_bytes()));
                let i = pos.index(full.len() - 1);
                if full[i] != full[i + 1] {
                    full.swap(i, i + 1);
                    prop_assert!(!scheme.is_valid(&full), "{} missed a transposition at {i}", scheme.name());
                }
            }
        }

        #[test]
        fn computed_digits_always_validate(payload in "[0-9]{1,30}") {
            for scheme in schemes() {
                let mut full = payload.as_bytes().to_vec();
                full.extend(scheme.compute(payload.as_bytes()));
                prop_assert!(scheme.is_valid(&full));
            }
        }
    }
}
