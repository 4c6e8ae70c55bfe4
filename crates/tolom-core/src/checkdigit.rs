//! Pluggable check-digit schemes for payment codes.
//!
//! Embedding portals have their own code formats, so the scheme is a trait
//! object chosen by configuration. Provided: [`Luhn`], [`Damm`],
//! [`Mod97_10`] (ISO 7064, two check digits), [`GisGmpUin`] (the Russian
//! GIS GMP weighted mod-11 scheme) and [`NoCheckDigit`].

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

/// The Russian GIS GMP UIN check digit: weights 1..10 cycling, mod 11; when
/// the remainder is 10 the weights are shifted by two; a remaining 10 gives 0.
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

    #[test]
    fn known_values() {
        // Luhn: the classic test card and the Wikipedia example.
        assert!(Luhn::check(b"4111111111111111"));
        assert_eq!(Luhn.compute(b"7992739871"), b"3".to_vec());
        // Damm: Wikipedia example 572 -> 4.
        assert_eq!(Damm.compute(b"572"), b"4".to_vec());
        assert!(Damm.is_valid(b"5724"));
        // ISO 7064 MOD 97-10: 794 -> 44 (ISO example).
        assert_eq!(Mod97_10.compute(b"794"), b"44".to_vec());
        assert!(Mod97_10.is_valid(b"79444"));
        // GIS GMP: weights 1..10 cycling; 1+16+24+4+6+7+9 = 67, 67 mod 11 = 1.
        assert_eq!(GisGmpUin.compute(b"1881011000000000001"), b"1".to_vec());
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
