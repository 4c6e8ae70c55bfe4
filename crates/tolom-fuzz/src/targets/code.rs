//! Payment-code parsing: [`CodeFormat::parse`] (what `Tolom::look_up`,
//! the `/pay/{code}` pages and `POST /payments` parse the payer's text
//! with) over the default format and one format per check-digit scheme,
//! and for a share of the inputs the portal's look-ups through the router:
//! `GET /api/v1/charges/{code}`, `GET /pay/{code}` and `POST /lookup`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::header;
use tolom_core::checkdigit::{scheme_by_name, Damm};
use tolom_core::code::{CodeError, CodeFormat, ServiceFamily};
use tolom_core::i18n::ErrorCode;

use crate::fields;
use crate::gen::{hex, percent, Gen};
use crate::harness::{Tally, Target};
use crate::portal::Portal;

/// Where an input goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `CodeFormat::parse` of format number `n`.
    Parse(usize),
    /// `GET /api/v1/charges/{code}`.
    Api,
    /// `GET /pay/{code}`.
    Page,
    /// `POST /lookup` (the code form).
    Form,
}

/// One input: the text and where it goes.
#[derive(Debug, Clone)]
pub struct CodeInput {
    /// Where it goes.
    pub via: Via,
    /// The payer's text (bytes, for the router: not always UTF-8).
    pub text: Vec<u8>,
}

/// The payment-code target.
pub struct CodeTarget {
    formats: Vec<(&'static str, CodeFormat)>,
    portal: Option<Portal>,
    router_every: u64,
}

fn format(name: &str, length: usize, prefixes: &[(&str, ServiceFamily)]) -> CodeFormat {
    let scheme = scheme_by_name(name).unwrap_or_else(|| Arc::new(Damm));
    CodeFormat::new(
        length,
        prefixes.iter().map(|(p, f)| (p.to_string(), *f)).collect(),
        scheme,
    )
    .unwrap_or_else(|e| panic!("format {name}: {e}"))
}

impl CodeTarget {
    /// The target; one input in `router_every` goes through the router (0:
    /// none).
    pub fn new(router_every: u64) -> CodeTarget {
        use ServiceFamily::*;
        CodeTarget {
            formats: vec![
                ("default", CodeFormat::default()),
                (
                    "luhn16",
                    format("luhn", 16, &[("4", Passport), ("52", MekenCard)]),
                ),
                (
                    "mod97-20",
                    format(
                        "mod97-10",
                        20,
                        &[("188", Passport), ("199", DrivingLicence)],
                    ),
                ),
                (
                    "gis-gmp-20",
                    format("gis-gmp", 20, &[("1881", Passport), ("322", MekenCard)]),
                ),
                ("none-10", format("none", 10, &[("9", DrivingLicence)])),
                (
                    "damm-64",
                    format("damm", 64, &[("7", Passport), ("8", MekenCard)]),
                ),
            ],
            portal: (router_every > 0).then(Portal::new),
            router_every,
        }
    }

    fn parse(&self, n: usize, text: &str, out: &mut Tally) -> Result<(), String> {
        let (name, f) = &self.formats[n];
        match f.parse(text) {
            Ok(code) => {
                let family = f
                    .family_of(&code)
                    .ok_or_else(|| format!("{name}: a parsed code has no family"))?;
                let digits = code.as_str();
                if digits.len() != f.length() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "{name}: a parsed code is not {} digits",
                        f.length()
                    ));
                }
                if !f.scheme().is_valid(digits.as_bytes()) {
                    return Err(format!("{name}: a parsed code fails its check digits"));
                }
                if f.parse(digits).as_ref() != Ok(&code)
                    || f.parse(&code.grouped()) != Ok(code.clone())
                {
                    return Err(format!("{name}: a parsed code does not parse again"));
                }
                out.hit(format!("parse {name}: accepted {family:?}"));
            }
            Err(e) => {
                if let CodeError::Length { got, expected } = e {
                    if got == expected || expected != f.length() {
                        return Err(format!("{name}: length error {got} vs {expected}"));
                    }
                }
                out.hit(format!("parse {name}: {}", e.code()));
            }
        }
        Ok(())
    }

    fn route(&mut self, via: Via, text: &[u8], out: &mut Tally) -> Result<(), String> {
        let Some(portal) = self.portal.as_ref() else {
            return Ok(());
        };
        let req = match via {
            Via::Api => {
                portal.request("GET", &format!("/api/v1/charges/{}?lang=en", percent(text)))
            }
            Via::Page => portal.request("GET", &format!("/pay/{}", percent(text))),
            _ => portal
                .request("POST", "/lookup")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
        };
        let body = match via {
            Via::Form => {
                let mut b = format!("csrf={}&code=", portal.csrf).into_bytes();
                b.extend_from_slice(percent(text).as_bytes());
                Body::from(b)
            }
            _ => Body::empty(),
        };
        let Ok(req) = req.body(body) else {
            out.hit("router: request not buildable");
            return Ok(());
        };
        let answer = portal.send(req);
        let what = match via {
            Via::Api => "GET /api/v1/charges/{code}",
            Via::Page => "GET /pay/{code}",
            _ => "POST /lookup",
        };
        out.hit(format!("router {what}: {}", answer.label()));
        if answer.status.is_server_error() {
            return Err(format!("{what} answered {}", answer.status));
        }
        Ok(())
    }
}

impl Target for CodeTarget {
    type Input = CodeInput;

    fn name(&self) -> &'static str {
        "code"
    }

    fn generate(&mut self, g: &mut Gen, case: u64) -> CodeInput {
        let routed = self.router_every > 0 && case % self.router_every == self.router_every - 1;
        if routed {
            let issued = self.portal.as_ref().map_or(&[][..], |p| &p.codes[..]);
            let via = *g.pick(&[Via::Api, Via::Page, Via::Form]);
            let text = if g.one_in(8) {
                g.bytes()
            } else {
                fields::code(g, &self.formats[0].1, issued).into_bytes()
            };
            return CodeInput { via, text };
        }
        let n = if g.one_in(2) {
            0
        } else {
            g.below(self.formats.len())
        };
        let text = fields::code(g, &self.formats[n].1, &[]);
        CodeInput {
            via: Via::Parse(n),
            text: text.into_bytes(),
        }
    }

    fn run(&mut self, input: &CodeInput, out: &mut Tally) -> Result<(), String> {
        match input.via {
            Via::Parse(n) => match std::str::from_utf8(&input.text) {
                Ok(text) => self.parse(n, text, out),
                Err(_) => {
                    out.hit("parse: not UTF-8");
                    Ok(())
                }
            },
            via => self.route(via, &input.text, out),
        }
    }

    fn show(&self, input: &CodeInput) -> String {
        format!("{:?} {}", input.via, hex(&input.text))
    }
}
