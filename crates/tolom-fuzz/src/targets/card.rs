//! The card form: [`CardForm::validate`] (holder, PAN with brand and Luhn,
//! expiry, CVV, phone, e-mail) on typed fields, on posted
//! `application/x-www-form-urlencoded` bodies parsed as the portal's
//! handler does (axum's `Form` over `serde_urlencoded` into
//! `Posted<CardPost>`, then the `CardForm` the handler builds), and for a
//! share of the inputs `POST /payments/{id}/card` through the router.

use axum::body::Body;
use axum::http::header;
use chrono::{DateTime, Utc};
use tolom_core::card::{BrandTable, CardForm, MaskedPan};
use tolom_core::checkdigit::Luhn;
use tolom_core::i18n::ErrorCode;
use tolom_http::fuzzing::{CardPost, Posted};

use crate::fields;
use crate::gen::{hex, Gen};
use crate::harness::{Tally, Target};
use crate::portal::Portal;

/// Where an input goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The typed fields straight into `CardForm::validate`.
    Fields,
    /// A posted form body, parsed as the handler parses it, then validated.
    Post,
    /// `POST /payments/{id}/card` through the router.
    Router,
}

/// One input.
#[derive(Debug, Clone)]
pub struct CardInput {
    /// Where it goes.
    pub via: Via,
    /// The six fields (for [`Via::Fields`]).
    pub fields: [String; 6],
    /// The form body (for [`Via::Post`] and [`Via::Router`]).
    pub body: Vec<u8>,
}

/// The card-form target.
pub struct CardTarget {
    brands: BrandTable,
    now: DateTime<Utc>,
    portal: Option<Portal>,
    router_every: u64,
}

impl CardTarget {
    /// The target; one input in `router_every` goes through the router (0:
    /// none).
    pub fn new(router_every: u64) -> CardTarget {
        let portal = (router_every > 0).then(Portal::new);
        CardTarget {
            brands: BrandTable::default(),
            now: crate::now(),
            portal,
            router_every,
        }
    }
}

/// The six fields of a card form: a valid form with at most one field
/// drawn anew (a third of the time), or each field valid, near-valid or
/// raw.
pub fn card_fields(g: &mut Gen, now: DateTime<Utc>) -> [String; 6] {
    let drawn = |g: &mut Gen, i: usize| match i {
        0 => fields::holder(g),
        1 => fields::pan(g),
        2 => fields::expiry(g, now),
        3 => fields::cvv(g),
        4 => fields::phone(g),
        _ => fields::email(g),
    };
    if g.one_in(3) {
        let pan = if g.one_in(2) {
            let prefix = *g.pick(&["4", "51", "2200", "9417", "6759"]);
            fields::luhn_pan(g, prefix, 16)
        } else {
            "4111 1111 1111 1111".to_string()
        };
        let mut f = [
            "AIBEK ASANOV".to_string(),
            pan,
            "12/30".to_string(),
            g.digits(3),
            "+996 555 123 456".to_string(),
            "aibek@example.kg".to_string(),
        ];
        if !g.one_in(3) {
            let i = g.below(6);
            f[i] = drawn(g, i);
        }
        return f;
    }
    [0, 1, 2, 3, 4, 5].map(|i| drawn(g, i))
}

/// A posted card form: the fields form-encoded with a key and a token,
/// sometimes with a field twice, an unknown field or a byte changed; or
/// raw bytes.
fn form_body(g: &mut Gen, now: DateTime<Utc>, csrf: &str) -> Vec<u8> {
    if g.one_in(10) {
        return g.bytes();
    }
    let f = card_fields(g, now);
    let names = ["holder", "pan", "expiry", "cvv", "phone", "email"];
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    if !g.one_in(20) {
        ser.append_pair("csrf", csrf);
    }
    if !g.one_in(8) {
        let key = if g.one_in(6) {
            g.string()
        } else {
            format!("k{}", g.u64())
        };
        ser.append_pair("key", &key);
    }
    for (name, value) in names.iter().zip(f.iter()) {
        if !g.one_in(30) {
            ser.append_pair(name, value);
        }
    }
    if g.one_in(15) {
        let name = *g.pick(&names);
        ser.append_pair(name, "4111111111111111");
    }
    if g.one_in(15) {
        let name = g.string();
        let value = g.string();
        ser.append_pair(&name, &value);
    }
    let body = ser.finish().into_bytes();
    if g.one_in(8) {
        g.mutate_bytes(&body)
    } else {
        body
    }
}

impl CardTarget {
    /// Validates `form` and checks what an accepted card must be.
    fn validate(&self, form: &CardForm, via: &str, out: &mut Tally) -> Result<(), String> {
        match form.validate(self.now, &self.brands) {
            Ok((card, contact)) => {
                let pan = card.pan.expose();
                let n = pan.len();
                if !(12..=19).contains(&n) || !pan.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("an accepted PAN is not 12 to 19 digits".into());
                }
                let range = self
                    .brands
                    .detect(pan)
                    .ok_or("an accepted PAN has no brand")?;
                if range.brand != card.brand || (range.luhn && !Luhn::check(pan.as_bytes())) {
                    return Err("an accepted PAN breaks its brand's rules".into());
                }
                let masked = card.pan.masked();
                let shown = masked.as_str().bytes().filter(u8::is_ascii_digit).count();
                if masked.as_str().len() != n || shown > n / 2 || masked.last4() != &pan[n - 4..] {
                    return Err("a mask shows more than half the PAN".into());
                }
                if MaskedPan::from_stored(masked.as_str()).as_ref() != Some(&masked) {
                    return Err("a mask is not stable when read back".into());
                }
                if format!("{card:?}").contains(pan) {
                    return Err("Debug shows the PAN".into());
                }
                let cvv = card.cvv.expose();
                if cvv.len() != 3 || !cvv.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("an accepted CVV is not 3 digits".into());
                }
                if card.holder.is_empty()
                    || card.holder.len() > 26
                    || card.holder != card.holder.to_ascii_uppercase()
                {
                    return Err("an accepted holder is not upper-case Latin".into());
                }
                if !(1..=12).contains(&card.expiry.month) || !card.expiry.is_valid_at(self.now) {
                    return Err("an accepted expiry is not a valid month".into());
                }
                let phone = contact.phone.as_str();
                if !phone.starts_with('+') || !phone[1..].bytes().all(|b| b.is_ascii_digit()) {
                    return Err("an accepted phone is not E.164".into());
                }
                if !contact.email.as_str().contains('@') {
                    return Err("an accepted e-mail has no @".into());
                }
                out.hit(format!("{via}: accepted {}", card.brand.id()));
            }
            Err(errors) => {
                if errors.0.is_empty() {
                    return Err("refused with no field error".into());
                }
                for e in &errors.0 {
                    out.hit(format!("{via}: {} {}", e.field.name(), e.code()));
                }
            }
        }
        Ok(())
    }
}

impl Target for CardTarget {
    type Input = CardInput;

    fn name(&self) -> &'static str {
        "card"
    }

    fn generate(&mut self, g: &mut Gen, case: u64) -> CardInput {
        let routed = self.router_every > 0 && case % self.router_every == self.router_every - 1;
        let csrf = self.portal.as_ref().map_or("", |p| p.csrf.as_str());
        if routed {
            return CardInput {
                via: Via::Router,
                fields: Default::default(),
                body: form_body(g, self.now, csrf),
            };
        }
        if g.one_in(2) {
            CardInput {
                via: Via::Fields,
                fields: card_fields(g, self.now),
                body: Vec::new(),
            }
        } else {
            CardInput {
                via: Via::Post,
                fields: Default::default(),
                body: form_body(g, self.now, "token"),
            }
        }
    }

    fn run(&mut self, input: &CardInput, out: &mut Tally) -> Result<(), String> {
        match input.via {
            Via::Fields => {
                let [holder, pan, expiry, cvv, phone, email] = input.fields.clone();
                let form = CardForm {
                    holder,
                    pan,
                    expiry,
                    cvv,
                    phone,
                    email,
                };
                self.validate(&form, "fields", out)
            }
            Via::Post => {
                // What axum's `Form` does with a posted body.
                let posted: Posted<CardPost> = match serde_urlencoded::from_bytes(&input.body) {
                    Ok(p) => p,
                    Err(_) => {
                        out.hit("post: not a form (400 request.invalid)");
                        return Ok(());
                    }
                };
                let mut post = posted.form;
                // What the handler builds from it.
                let form = CardForm {
                    holder: post.holder.clone(),
                    pan: std::mem::take(&mut post.pan),
                    expiry: post.expiry.clone(),
                    cvv: std::mem::take(&mut post.cvv),
                    phone: post.phone.clone(),
                    email: post.email.clone(),
                };
                self.validate(&form, "post", out)
            }
            Via::Router => {
                let Some(portal) = self.portal.as_mut() else {
                    return Ok(());
                };
                let id = portal.card_payment();
                let Ok(req) = portal
                    .request("POST", &format!("/payments/{id}/card"))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(input.body.clone()))
                else {
                    out.hit("router: request not buildable");
                    return Ok(());
                };
                let answer = portal.send(req);
                out.hit(format!(
                    "router POST /payments/{{id}}/card: {}",
                    answer.label()
                ));
                if answer.status.is_server_error() {
                    return Err(format!(
                        "POST /payments/{{id}}/card answered {}",
                        answer.status
                    ));
                }
                Ok(())
            }
        }
    }

    fn show(&self, input: &CardInput) -> String {
        match input.via {
            Via::Fields => {
                let joined = input.fields.join("\u{1f}");
                format!("fields {}", hex(joined.as_bytes()))
            }
            via => format!("{via:?} {}", hex(&input.body)),
        }
    }
}
