//! Request parameters (query string + form body) and their redaction.

/// Parameter names whose values never reach the request log
/// (compared case-insensitively).
pub const REDACTED_PARAMS: &[&str] = &[
    "$PAN", "$CVC", "pan", "cvc", "cvv", "password", "token", "otp",
];

/// What a redacted value is replaced with in the request log.
pub const REDACTED: &str = "[REDACTED]";

/// Decoded request parameters, in arrival order (query string first, then the
/// form body). Lookups take the last non-empty occurrence.
#[derive(Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.redacted()).finish()
    }
}

impl Params {
    pub(crate) fn parse(query: Option<&str>, body: &[u8]) -> Self {
        let mut v: Vec<(String, String)> = Vec::new();
        if let Some(q) = query {
            v.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        v.extend(form_urlencoded::parse(body).into_owned());
        Params(v)
    }

    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Params(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    /// The last non-blank value of `name`, trimmed.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .find(|v| !v.is_empty())
    }

    /// Like [`Params::get`], trying several names in turn.
    pub(crate) fn get_any(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n))
    }

    /// The pairs with sensitive values replaced by [`REDACTED`].
    pub(crate) fn redacted(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|(k, v)| {
                if is_sensitive(k) {
                    (k.clone(), REDACTED.to_owned())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect()
    }
}

fn is_sensitive(name: &str) -> bool {
    REDACTED_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_overrides_query_and_blank_is_missing() {
        let p = Params::parse(Some("a=1&b=2&c="), b"a=3&%24PAN=4111");
        assert_eq!(p.get("a"), Some("3"));
        assert_eq!(p.get("b"), Some("2"));
        assert_eq!(p.get("c"), None);
        assert_eq!(p.get("$PAN"), Some("4111"));
    }

    #[test]
    fn redaction_hides_card_data_and_secrets() {
        let p = Params::from_pairs(&[
            ("$PAN", "4111111111111111"),
            ("$CVC", "123"),
            ("password", "pw"),
            ("Token", "t"),
            ("amount", "100"),
        ]);
        let r = p.redacted();
        assert_eq!(r[0].1, REDACTED);
        assert_eq!(r[1].1, REDACTED);
        assert_eq!(r[2].1, REDACTED);
        assert_eq!(r[3].1, REDACTED);
        assert_eq!(r[4].1, "100");
        assert!(!format!("{p:?}").contains("4111111111111111"));
    }
}
