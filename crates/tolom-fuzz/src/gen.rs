//! The input generator: a seeded RNG with the mutations every target
//! shares (text, bytes, JSON values). Structure-aware generation starts
//! from a valid or near-valid input and changes a little of it; raw
//! generation draws bytes and strings with no structure at all.

use std::cell::RefCell;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Number, Value};

/// Characters that matter to tolom's parsers: separators they skip,
/// look-alike digits they must refuse, whitespace of every kind, bytes
/// that mean something in forms, JSON and URLs, and text that is long in
/// bytes but short in characters.
const PALETTE: &[char] = &[
    ' ',
    '-',
    '.',
    '/',
    '\t',
    '\n',
    '\r',
    '+',
    '(',
    ')',
    '=',
    '&',
    '%',
    '#',
    '?',
    '"',
    '\\',
    '\'',
    ',',
    ':',
    ';',
    '@',
    '_',
    '*',
    '\u{0}',
    '\u{a0}',
    '\u{202f}',
    '\u{2009}',
    '\u{200b}',
    '\u{feff}',
    '\u{2028}',
    '\u{3000}',
    '０',
    '１',
    '９',
    '٠',
    '١',
    '٢',
    '٣',
    '۴',
    '५',
    '໖',
    '𝟗',
    'Ⅻ',
    '²',
    '½',
    'é',
    'Ё',
    'Ж',
    'ү',
    'ң',
    'ö',
    'İ',
    'ß',
    'ﬀ',
    'ǅ',
    '\u{301}',
    '\u{202e}',
    '😀',
    '\u{10ffff}',
    '\u{fffd}',
    'A',
    'Z',
    'a',
    'z',
    'x',
    'e',
    'E',
    'I',
    'l',
    'O',
    'o',
];

/// The seeded generator.
pub struct Gen {
    // Shared, so that one draw may feed another (`g.digits(g.below(4))`).
    rng: RefCell<StdRng>,
}

impl Gen {
    /// A generator from a seed: the same seed gives the same inputs.
    pub fn new(seed: u64) -> Gen {
        Gen {
            rng: RefCell::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&self, n: usize) -> usize {
        self.rng.borrow_mut().gen_range(0..n.max(1))
    }

    /// True with probability `1/n`.
    pub fn one_in(&self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// A number in `lo..=hi`.
    pub fn range(&self, lo: u64, hi: u64) -> u64 {
        self.rng.borrow_mut().gen_range(lo..=hi)
    }

    /// Any `u64`.
    pub fn u64(&self) -> u64 {
        self.rng.borrow_mut().gen()
    }

    /// One of `items` (not empty).
    pub fn pick<'a, T>(&self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An ASCII digit.
    pub fn digit(&self) -> char {
        char::from(b'0' + self.below(10) as u8)
    }

    /// `n` ASCII digits (past 64, a random run of 64 repeated).
    pub fn digits(&self, n: usize) -> String {
        let run: String = (0..n.min(64)).map(|_| self.digit()).collect();
        if n <= 64 {
            return run;
        }
        run.chars().cycle().take(n).collect()
    }

    /// A length, mostly short, sometimes long, rarely huge.
    pub fn length(&self) -> usize {
        match self.below(20) {
            0 => self.below(100_000),
            1..=3 => self.below(2_000),
            _ => self.below(40),
        }
    }

    /// A character: from the palette, ASCII, or any scalar value.
    pub fn char(&self) -> char {
        match self.below(4) {
            0 => *self.pick(PALETTE),
            1 => self.digit(),
            2 => char::from(self.below(128) as u8),
            _ => loop {
                if let Some(c) = char::from_u32(self.rng.borrow_mut().gen_range(0..0x11_0000)) {
                    break c;
                }
            },
        }
    }

    /// A raw random string. A long one is a short random run repeated:
    /// long inputs without the cost of drawing each character.
    pub fn string(&self) -> String {
        let n = self.length();
        let run: String = (0..n.min(1 + self.below(64)))
            .map(|_| self.char())
            .collect();
        if n <= 64 {
            return run;
        }
        run.chars().cycle().take(n).collect()
    }

    /// Raw random bytes (not always UTF-8); a long run as in
    /// [`Gen::string`].
    pub fn bytes(&self) -> Vec<u8> {
        let n = self.length();
        let run: Vec<u8> = (0..n.min(1 + self.below(64)))
            .map(|_| self.rng.borrow_mut().gen())
            .collect();
        if n <= 64 {
            return run;
        }
        run.iter().copied().cycle().take(n).collect()
    }

    /// Changes a string a little: 1 to 3 edits (a digit changed, a
    /// character inserted, deleted, doubled or swapped, a separator or a
    /// look-alike digit put in, the end cut, the whole repeated).
    pub fn mutate(&self, s: &str) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        for _ in 0..=self.below(3) {
            let n = chars.len();
            let at = self.below(n + 1);
            match self.below(11) {
                0 | 1 => {
                    // Change one ASCII digit to another.
                    let digits: Vec<usize> =
                        (0..n).filter(|&i| chars[i].is_ascii_digit()).collect();
                    if !digits.is_empty() {
                        let i = *self.pick(&digits);
                        let d = chars[i] as u8 - b'0';
                        chars[i] = char::from(b'0' + (d + 1 + self.below(9) as u8) % 10);
                    }
                }
                2 => chars.insert(at, self.char()),
                3 if n > 0 => {
                    chars.remove(at.min(n - 1));
                }
                4 if n > 0 => {
                    let i = at.min(n - 1);
                    chars.insert(i, chars[i]);
                }
                5 if n > 1 => {
                    let i = at.min(n - 2);
                    chars.swap(i, i + 1);
                }
                6 => {
                    let sep = *self.pick(&[' ', '-', '.', '\u{a0}', '\u{2009}', '\t', '/']);
                    chars.insert(at, sep);
                }
                7 if n > 0 => {
                    // A look-alike digit for an ASCII one.
                    let i = at.min(n - 1);
                    if let Some(d) = chars[i].to_digit(10) {
                        let alike = ['０', '٠', '۰', '०', '𝟎'];
                        let base = *self.pick(&alike) as u32;
                        chars[i] = char::from_u32(base + d).unwrap_or('?');
                    }
                }
                8 => chars.truncate(at),
                9 if n > 0 && n < 512 => {
                    let times = self.range(2, 8) as usize;
                    chars = chars.repeat(times);
                }
                _ => {
                    let extra = self.digits(self.below(4) + 1);
                    let pos = if self.one_in(2) { n } else { 0 };
                    for (k, c) in extra.chars().enumerate() {
                        chars.insert(pos + k, c);
                    }
                }
            }
        }
        chars.into_iter().collect()
    }

    /// Changes bytes a little: flips, inserts, deletes, truncates.
    pub fn mutate_bytes(&self, b: &[u8]) -> Vec<u8> {
        let mut out = b.to_vec();
        for _ in 0..=self.below(4) {
            let n = out.len();
            let at = self.below(n + 1);
            match self.below(6) {
                0 if n > 0 => out[at.min(n - 1)] ^= 1 << self.below(8),
                1 => out.insert(at, self.rng.borrow_mut().gen()),
                2 if n > 0 => {
                    out.remove(at.min(n - 1));
                }
                3 => out.truncate(at),
                4 => {
                    let tok = *self.pick(&[
                        &b"\""[..],
                        b"\\",
                        b"{",
                        b"}",
                        b"[",
                        b"]",
                        b",",
                        b":",
                        b"null",
                        b"\\u0000",
                        b"\\ud800",
                        b"1e999",
                        b"%",
                        b"%ZZ",
                        b"%00",
                        b"&",
                        b"=",
                        b"+",
                        b"\xff",
                        b"\xc3",
                    ]);
                    out.splice(at..at, tok.iter().copied());
                }
                _ if n > 0 => {
                    let i = at.min(n - 1);
                    out[i] = self.rng.borrow_mut().gen();
                }
                _ => {}
            }
        }
        out
    }

    /// A JSON number that is awkward for readers: huge, negative, a
    /// fraction, an exponent, past `i64`/`u64`.
    pub fn awkward_number(&self) -> Value {
        match self.below(10) {
            0 => Value::from(i64::MAX),
            1 => Value::from(i64::MIN),
            2 => Value::from(u64::MAX),
            3 => Value::from(-1),
            4 => Value::from(0),
            5 => Number::from_f64(1e300).map_or(Value::Null, Value::Number),
            6 => Number::from_f64(-0.5).map_or(Value::Null, Value::Number),
            7 => Value::from(self.u64()),
            8 => Value::from(self.rng.borrow_mut().gen::<i64>()),
            _ => Value::from(self.below(300) as i64 - 10),
        }
    }

    /// A number written as text: with spaces, signs, past `i64`, with
    /// look-alike digits, as a decimal or an exponent.
    pub fn number_text(&self) -> String {
        match self.below(10) {
            0 => "9223372036854775808".into(),
            1 => "-9223372036854775809".into(),
            2 => "18446744073709551616".into(),
            3 => format!(" {} ", self.below(10)),
            4 => "1e3".into(),
            5 => "2.0".into(),
            6 => "+2".into(),
            7 => "٢".into(),
            8 => "".into(),
            _ => {
                let n = self.below(1_000).to_string();
                self.mutate(&n)
            }
        }
    }

    /// A JSON value of any kind, up to `depth` levels deep.
    pub fn json(&self, depth: usize) -> Value {
        match self.below(if depth == 0 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(self.one_in(2)),
            2 => self.awkward_number(),
            3 => Value::String(self.string()),
            4 => Value::String(self.number_text()),
            5 => Value::Array((0..self.below(4)).map(|_| self.json(depth - 1)).collect()),
            _ => {
                let mut m = Map::new();
                for _ in 0..self.below(4) {
                    let k = if self.one_in(2) {
                        self.string()
                    } else {
                        self.digits(2)
                    };
                    m.insert(k, self.json(depth - 1));
                }
                Value::Object(m)
            }
        }
    }

    /// Deep nesting: arrays or objects `n` levels deep, as text (past
    /// serde_json's recursion limit when `n` > 128).
    pub fn nested(&self, n: usize) -> Vec<u8> {
        let (open, close): (&[u8], &[u8]) = if self.one_in(2) {
            (b"[", b"]")
        } else {
            (b"{\"a\":", b"}")
        };
        let mut out = Vec::with_capacity(n * (open.len() + close.len()) + 4);
        for _ in 0..n {
            out.extend_from_slice(open);
        }
        out.extend_from_slice(b"1");
        for _ in 0..n {
            out.extend_from_slice(close);
        }
        out
    }

    /// Mutates a JSON value in place at one random spot of its tree: a
    /// value replaced by one of another kind (or an awkward number, a
    /// mutated text, a long string), a key removed, renamed or added.
    pub fn mutate_json(&self, v: &mut Value) {
        let spots = count(v);
        let target = self.below(spots);
        let mut seen = 0;
        self.mutate_at(v, target, &mut seen);
    }

    fn mutate_at(&self, v: &mut Value, target: usize, seen: &mut usize) -> bool {
        if *seen == target {
            self.change(v);
            return true;
        }
        *seen += 1;
        match v {
            Value::Array(items) => {
                for item in items.iter_mut() {
                    if self.mutate_at(item, target, seen) {
                        return true;
                    }
                }
                false
            }
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                for k in keys {
                    if let Some(item) = map.get_mut(&k) {
                        if self.mutate_at(item, target, seen) {
                            return true;
                        }
                    }
                }
                false
            }
            _ => false,
        }
    }

    fn change(&self, v: &mut Value) {
        match self.below(10) {
            0 => *v = self.json(2),
            1 => *v = self.awkward_number(),
            2 => *v = Value::String(self.number_text()),
            3 => {
                *v = match &*v {
                    Value::String(s) => Value::String(self.mutate(s)),
                    Value::Number(n) => Value::String(n.to_string()),
                    _ => Value::Null,
                }
            }
            4 => *v = Value::String("x".repeat(self.range(1_000, 200_000) as usize)),
            5 => {
                *v = match &*v {
                    Value::String(s) => s
                        .trim()
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or(Value::Bool(true)),
                    other => Value::Array(vec![other.clone()]),
                }
            }
            6 => {
                if let Value::Object(map) = v {
                    let keys: Vec<String> = map.keys().cloned().collect();
                    if !keys.is_empty() {
                        let k = self.pick(&keys).clone();
                        let old = map.remove(&k).unwrap_or(Value::Null);
                        if self.one_in(2) {
                            // Renamed: a case changed, a space added.
                            let renamed = if self.one_in(2) {
                                k.to_uppercase()
                            } else {
                                format!("{k} ")
                            };
                            map.insert(renamed, old);
                        }
                    }
                } else {
                    *v = Value::Null;
                }
            }
            7 => {
                if let Value::Object(map) = v {
                    map.insert(self.string(), self.json(1));
                } else {
                    *v = Value::Object(Map::new());
                }
            }
            8 => *v = Value::String(self.string()),
            _ => *v = Value::Array(vec![]),
        }
    }
}

/// How many values a JSON tree has.
fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(count).sum(),
        Value::Object(map) => map.values().map(count).sum(),
        _ => 0,
    }
}

/// `input` in a short printable form for a report: hex of at most 48
/// bytes, with the length. Never the input as text (a fuzz input may look
/// like a card number).
pub fn hex(input: &[u8]) -> String {
    let shown: String = input.iter().take(48).map(|b| format!("{b:02x}")).collect();
    if input.len() > 48 {
        format!("{shown}… ({} bytes)", input.len())
    } else {
        format!("{shown} ({} bytes)", input.len())
    }
}

/// Percent-encodes every byte but unreserved ASCII (for paths and
/// queries built from fuzz input).
pub fn percent(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len() * 3);
    for &b in input {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let a = Gen::new(7);
        let b = Gen::new(7);
        for _ in 0..100 {
            assert_eq!(a.string(), b.string());
            assert_eq!(a.mutate("1100 0000 0012"), b.mutate("1100 0000 0012"));
        }
    }

    #[test]
    fn mutations_reach_every_spot_of_a_json_tree() {
        let g = Gen::new(1);
        let base = serde_json::json!({"a": {"b": [1, 2]}, "c": "d"});
        let mut changed_inner = false;
        for _ in 0..500 {
            let mut v = base.clone();
            g.mutate_json(&mut v);
            if v["a"]["b"] != base["a"]["b"] && v["c"] == base["c"] {
                changed_inner = true;
            }
        }
        assert!(changed_inner);
    }

    #[test]
    fn reports_are_hex_and_short() {
        assert_eq!(hex(b"41"), "3431 (2 bytes)");
        assert!(hex(&[0u8; 100]).ends_with("(100 bytes)"));
        assert_eq!(percent(b"a b/%"), "a%20b%2F%25");
    }
}
