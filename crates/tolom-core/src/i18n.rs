//! Languages, and the one way tolom translates: [Project Fluent].
//!
//! Every text a payer or operator reads (error messages, the portal's labels,
//! receipt labels and payment states, the receipt e-mail) is a message in the
//! Fluent files of this crate, `locales/{ky,ru,en}/*.ftl`, split by area
//! (`errors.ftl`, `portal.ftl`, `receipt.ftl`, `email.ftl`; the same files in
//! each language). Front ends and embedders can use the files directly.
//!
//! The build script parses the files and **fails the build** when a file does
//! not parse, when a message exists in one language but not in another, or
//! when a message uses other variables in one language than in another. It
//! generates [`Text`], one variant per message, so code names texts by type
//! and a missing translation is a build error, never a placeholder at run
//! time.
//!
//! # Codes and ids
//!
//! Errors have stable dotted codes (`code.check_digit`) that the API returns
//! next to the message. Fluent ids cannot contain dots, so a message's id is
//! its code with each `.` written as `-`: the id `code-check_digit` is the
//! code `code.check_digit`, and the variant is [`Text::CodeCheckDigit`]
//! ([`Text::id`], [`Text::code`]). Codes never contain `-`, so the mapping is
//! reversible: [`Text::from_code`] turns a code that arrives as data (a stored
//! failure code) back into a text, and says `None` for anything else.
//!
//! # Formatting
//!
//! [`text`] formats a message; [`text_with`] passes Fluent arguments to the
//! messages that have placeables ([`Text::variables`]), e.g. the e-mail's
//! `{ $service }`. The bundles are built once, on first use.
//!
//! [Project Fluent]: https://projectfluent.org

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentError, FluentResource};
use serde::{Deserialize, Serialize};

pub use fluent_bundle::{FluentArgs, FluentValue};

include!(concat!(env!("OUT_DIR"), "/text.rs"));

impl fmt::Display for Text {
    /// The stable code, e.g. `code.check_digit`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Text {
    /// As its stable code, e.g. `"code.check_digit"`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// One language's messages.
type Bundle = FluentBundle<FluentResource>;

/// The bundles, in [`Language::ALL`] order, built on first use.
fn bundle(lang: Language) -> &'static Bundle {
    static BUNDLES: OnceLock<[Bundle; 3]> = OnceLock::new();
    let bundles = BUNDLES.get_or_init(|| Language::ALL.map(build_bundle));
    match lang {
        Language::Ky => &bundles[0],
        Language::Ru => &bundles[1],
        Language::En => &bundles[2],
    }
}

fn build_bundle(lang: Language) -> Bundle {
    let locale = lang.tag().parse().unwrap_or_default();
    let mut bundle = Bundle::new_concurrent(vec![locale]);
    // Plain text around placeables: no Unicode isolation marks in e-mails,
    // PDFs and JSON.
    bundle.set_use_isolating(false);
    for (tag, _file, source) in SOURCES {
        if tag == lang.tag() {
            // The build parsed these very files and found no error and no
            // id defined twice, so neither result can be an error here.
            let resource =
                FluentResource::try_new(source.to_string()).unwrap_or_else(|(partial, _)| partial);
            let _ = bundle.add_resource(resource);
        }
    }
    bundle
}

/// Formats `key` in `lang`, with the Fluent errors (none for every text and
/// its declared variables: a test formats them all).
fn format(
    key: Text,
    lang: Language,
    args: Option<&FluentArgs<'_>>,
) -> (Cow<'static, str>, Vec<FluentError>) {
    let bundle = bundle(lang);
    let mut errors = Vec::new();
    let value = bundle.get_message(key.id()).and_then(|m| m.value());
    match value {
        Some(pattern) => {
            let text = bundle.format_pattern(pattern, args, &mut errors);
            (text, errors)
        }
        // Unreachable: the build generated `Text` from these files and
        // checked that every message has a value in every language.
        None => (Cow::Borrowed(key.id()), errors),
    }
}

/// The text of `key` in `lang`.
///
/// ```
/// use tolom_core::i18n::{text, Language, Text};
/// assert_eq!(text(Text::CodeNotFound, Language::En), "This payment code was not found.");
/// assert_eq!(Text::CodeNotFound.code(), "code.not_found");
/// ```
pub fn text(key: Text, lang: Language) -> Cow<'static, str> {
    format(key, lang, None).0
}

/// The text of `key` in `lang` with Fluent arguments for its placeables
/// (the names in [`Text::variables`]).
///
/// ```
/// use tolom_core::i18n::{text_with, FluentArgs, Language, Text};
/// let mut args = FluentArgs::new();
/// args.set("service", "Passport");
/// assert!(text_with(Text::EmailIntro, Language::En, &args)
///     .starts_with("We have received your payment for Passport."));
/// ```
pub fn text_with(key: Text, lang: Language, args: &FluentArgs<'_>) -> Cow<'static, str> {
    format(key, lang, Some(args)).0
}

/// A language a payer can read tolom in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Kyrgyz (the default).
    #[default]
    Ky,
    /// Russian.
    Ru,
    /// English.
    En,
}

impl Language {
    /// All languages, in display order.
    pub const ALL: [Language; 3] = [Language::Ky, Language::Ru, Language::En];

    /// The BCP 47 tag: `ky`, `ru` or `en`.
    pub fn tag(&self) -> &'static str {
        match self {
            Language::Ky => "ky",
            Language::Ru => "ru",
            Language::En => "en",
        }
    }

    /// The language's own name, for a language switch.
    pub fn native_name(&self) -> &'static str {
        match self {
            Language::Ky => "Кыргызча",
            Language::Ru => "Русский",
            Language::En => "English",
        }
    }

    /// Picks the best language from an HTTP `Accept-Language` header; `None`
    /// when nothing in it is supported.
    ///
    /// ```
    /// use tolom_core::i18n::Language;
    /// assert_eq!(Language::negotiate("en-GB,en;q=0.9,ru;q=0.8"), Some(Language::En));
    /// assert_eq!(Language::negotiate("de, ru;q=0.5, en;q=0.4"), Some(Language::Ru));
    /// assert_eq!(Language::negotiate("de"), None);
    /// ```
    pub fn negotiate(accept_language: &str) -> Option<Language> {
        let mut best: Option<(u32, Language)> = None;
        for part in accept_language.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // Quality is compared in thousandths to stay clear of float ordering.
            let q = (quality.clamp(0.0, 1.0) * 1000.0) as u32;
            let primary = tag.split(['-', '_']).next().unwrap_or("");
            if let Ok(lang) = primary.parse::<Language>() {
                if q > 0 && best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, lang));
                }
            }
        }
        best.map(|(_, l)| l)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// The text was not a supported language tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported language {0:?}")]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ky" | "kg" | "kir" | "kgz" => Ok(Language::Ky),
            "ru" | "rus" => Ok(Language::Ru),
            "en" | "eng" => Ok(Language::En),
            other => Err(UnknownLanguage(other.to_string())),
        }
    }
}

/// An error with a stable machine code and a message in every language,
/// both from its [`Text`]: an error cannot have a code without a translation.
pub trait ErrorCode {
    /// The error's text: its stable code and its message.
    fn text(&self) -> Text;

    /// The stable machine code, e.g. `code.check_digit`.
    fn code(&self) -> &'static str {
        self.text().code()
    }

    /// The translated message for the payer.
    fn message(&self, lang: Language) -> Cow<'static, str> {
        text(self.text(), lang)
    }
}

/// One catalogue entry: a code and its text in each language.
#[derive(Debug, Clone, Copy)]
pub struct Message {
    /// Stable machine code.
    pub code: &'static str,
    /// Kyrgyz.
    pub ky: &'static str,
    /// Russian.
    pub ru: &'static str,
    /// English.
    pub en: &'static str,
}

impl Message {
    /// The text in one language.
    pub fn get(&self, lang: Language) -> &'static str {
        match lang {
            Language::Ky => self.ky,
            Language::Ru => self.ru,
            Language::En => self.en,
        }
    }
}

/// The text of `code` in `lang`; the generic "internal error" text when the
/// code is not in the catalogue (a test makes sure that never happens for
/// the codes tolom defines).
pub fn message(code: &str, lang: Language) -> &'static str {
    lookup(code)
        .or_else(|| lookup("internal.error"))
        .map(|m| m.get(lang))
        .unwrap_or("error")
}

/// The catalogue entry for `code`, if there is one.
pub fn lookup(code: &str) -> Option<&'static Message> {
    static INDEX: OnceLock<HashMap<&'static str, &'static Message>> = OnceLock::new();
    INDEX
        .get_or_init(|| MESSAGES.iter().map(|m| (m.code, m)).collect())
        .get(code)
        .copied()
}

macro_rules! messages {
    ($( $code:literal => { ky: $ky:literal, ru: $ru:literal, en: $en:literal $(,)? } ),* $(,)?) => {
        /// Every payer-facing message, keyed by its stable code.
        pub static MESSAGES: &[Message] = &[
            $( Message { code: $code, ky: $ky, ru: $ru, en: $en }, )*
        ];
    };
}

messages! {
    // Payment code input
    "code.empty" => {
        ky: "Төлөм кодун киргизиңиз.",
        ru: "Введите код платежа.",
        en: "Enter the payment code.",
    },
    "code.invalid_characters" => {
        ky: "Төлөм коду сандардан гана турат.",
        ru: "Код платежа должен состоять только из цифр.",
        en: "The payment code must contain digits only.",
    },
    "code.length" => {
        ky: "Төлөм кодунун узундугу туура эмес.",
        ru: "Неверная длина кода платежа.",
        en: "The payment code has the wrong number of digits.",
    },
    "code.prefix" => {
        ky: "Мындай төлөм коду жок: код 11, 16 же 13 менен башталат.",
        ru: "Такого кода платежа не бывает: код начинается с 11, 16 или 13.",
        en: "No payment code starts like this: codes start with 11, 16 or 13.",
    },
    "code.check_digit" => {
        ky: "Төлөм кодунда ката бар: текшерип, кайра киргизиңиз.",
        ru: "В коде платежа опечатка: проверьте и введите его снова.",
        en: "The payment code has a typo: check it and enter it again.",
    },
    "code.not_found" => {
        ky: "Мындай төлөм коду табылган жок.",
        ru: "Код платежа не найден.",
        en: "This payment code was not found.",
    },
    // Charge state
    "charge.expired" => {
        ky: "Бул төлөм кодунун мөөнөтү бүттү. Жаңы код алыңыз.",
        ru: "Срок действия кода платежа истёк. Получите новый код.",
        en: "This payment code has expired. Please obtain a new code.",
    },
    "charge.already_paid" => {
        ky: "Бул төлөм коду боюнча төлөм мурун эле жүргүзүлгөн.",
        ru: "По этому коду платёж уже произведён.",
        en: "This payment code has already been paid.",
    },
    "charge.cancelled" => {
        ky: "Бул төлөм коду жокко чыгарылган.",
        ru: "Этот код платежа аннулирован.",
        en: "This payment code has been cancelled.",
    },
    "charge.payment_in_progress" => {
        ky: "Бул код боюнча төлөм азыр жүрүп жатат. Бир аздан кийин кайталаңыз.",
        ru: "По этому коду уже идёт платёж. Повторите попытку позже.",
        en: "A payment for this code is already in progress. Please try again later.",
    },
    // User agreement
    "terms.not_accepted" => {
        ky: "Төлөө үчүн колдонуучу келишимин кабыл алыңыз.",
        ru: "Чтобы оплатить, примите пользовательское соглашение.",
        en: "Accept the user agreement to pay.",
    },
    "terms.outdated" => {
        ky: "Колдонуучу келишими жаңыланды. Жаңы редакциясы менен таанышып, кабыл алыңыз.",
        ru: "Пользовательское соглашение изменилось. Ознакомьтесь с новой редакцией и примите её.",
        en: "The user agreement has changed. Read the new edition and accept it.",
    },
    // Idempotency
    "idempotency.key_invalid" => {
        ky: "Сурамдын ачкычы (Idempotency-Key) туура эмес.",
        ru: "Неверный ключ идемпотентности запроса.",
        en: "The request's idempotency key is invalid.",
    },
    "idempotency.key_reused" => {
        ky: "Бул сурам ачкычы башка сурам үчүн колдонулган.",
        ru: "Этот ключ идемпотентности уже использован для другого запроса.",
        en: "This idempotency key was already used for a different request.",
    },
    // Payment
    "payment.not_found" => {
        ky: "Төлөм табылган жок.",
        ru: "Платёж не найден.",
        en: "Payment not found.",
    },
    "payment.already_submitted" => {
        ky: "Бул төлөм үчүн карта маалыматы мурун эле жөнөтүлгөн.",
        ru: "Данные карты для этого платежа уже отправлены.",
        en: "Card details for this payment have already been submitted.",
    },
    "payment.not_awaiting_challenge" => {
        ky: "Бул төлөм ырастоо кодун күтпөйт.",
        ru: "Этот платёж не ожидает кода подтверждения.",
        en: "This payment is not waiting for a confirmation code.",
    },
    "payment.expired" => {
        ky: "Төлөм сессиясынын убактысы бүттү. Кайрадан баштаңыз.",
        ru: "Время сеанса оплаты истекло. Начните заново.",
        en: "The payment session has expired. Please start again.",
    },
    "payment.acquirer_unavailable" => {
        ky: "Банк азыр жооп бербей жатат. Акча алынган жок; бир аздан кийин кайталаңыз.",
        ru: "Банк сейчас недоступен. Деньги не списаны; повторите попытку позже.",
        en: "The bank is not available right now. No money was taken; please try again later.",
    },
    "payment.outcome_unknown" => {
        ky: "Банктан жыйынтык али келе элек. Төлөмдүн абалын кийинчерээк текшериңиз; акча эки жолу алынбайт.",
        ru: "Результат от банка ещё не получен. Проверьте статус платежа позже; деньги не будут списаны дважды.",
        en: "The bank has not confirmed the outcome yet. Check the payment status later; you will not be charged twice.",
    },
    "payment.challenge_failed" => {
        ky: "Ырастоо коду туура эмес. Төлөм өткөн жок.",
        ru: "Неверный код подтверждения. Платёж не прошёл.",
        en: "The confirmation code was wrong. The payment did not go through.",
    },
    // Declines
    "decline.insufficient_funds" => {
        ky: "Картада каражат жетишсиз.",
        ru: "Недостаточно средств на карте.",
        en: "Insufficient funds on the card.",
    },
    "decline.expired_card" => {
        ky: "Банк картанын мөөнөтү бүткөн деп четке какты.",
        ru: "Банк отклонил платёж: срок действия карты истёк.",
        en: "The bank declined the payment: the card has expired.",
    },
    "decline.incorrect_cvv" => {
        ky: "CVV/CVC коду туура эмес.",
        ru: "Неверный код CVV/CVC.",
        en: "The CVV/CVC code is incorrect.",
    },
    "decline.do_not_honour" => {
        ky: "Картаны чыгарган банк төлөмдү четке какты. Банкыңызга кайрылыңыз.",
        ru: "Банк-эмитент отклонил платёж. Обратитесь в свой банк.",
        en: "Your bank declined the payment. Please contact your bank.",
    },
    "decline.lost_or_stolen" => {
        ky: "Карта бөгөттөлгөн. Банкыңызга кайрылыңыз.",
        ru: "Карта заблокирована. Обратитесь в свой банк.",
        en: "The card is blocked. Please contact your bank.",
    },
    "decline.authentication_failed" => {
        ky: "Төлөм ырасталган жок (3-D Secure).",
        ru: "Платёж не подтверждён (3-D Secure).",
        en: "The payment was not confirmed (3-D Secure).",
    },
    "decline.limit_exceeded" => {
        ky: "Картанын лимити ашып кетти.",
        ru: "Превышен лимит по карте.",
        en: "The card's limit has been exceeded.",
    },
    "decline.restricted_card" => {
        ky: "Бул карта менен мындай төлөм жүргүзүүгө болбойт.",
        ru: "Этой картой нельзя оплатить такую операцию.",
        en: "This card cannot be used for this payment.",
    },
    "decline.invalid_card" => {
        ky: "Банк картаны тааныган жок.",
        ru: "Банк не распознал карту.",
        en: "The bank did not recognise the card.",
    },
    "decline.other" => {
        ky: "Банк төлөмдү четке какты.",
        ru: "Банк отклонил платёж.",
        en: "The bank declined the payment.",
    },
    // Card form
    "card.holder_required" => {
        ky: "Карта ээсинин атын киргизиңиз.",
        ru: "Введите имя держателя карты.",
        en: "Enter the cardholder's name.",
    },
    "card.holder_latin" => {
        ky: "Карта ээсинин аты-жөнүн латын тамгалары менен, картадагыдай жазыңыз.",
        ru: "Имя держателя карты пишите латинскими буквами, как на карте.",
        en: "Write the cardholder's name in Latin letters, as on the card.",
    },
    "card.pan_required" => {
        ky: "Картанын номерин киргизиңиз.",
        ru: "Введите номер карты.",
        en: "Enter the card number.",
    },
    "card.pan_digits" => {
        ky: "Картанын номери сандардан гана турат.",
        ru: "Номер карты должен состоять только из цифр.",
        en: "The card number must contain digits only.",
    },
    "card.pan_length" => {
        ky: "Картанын номеринин узундугу туура эмес.",
        ru: "Неверная длина номера карты.",
        en: "The card number has the wrong number of digits.",
    },
    "card.pan_luhn" => {
        ky: "Картанын номеринде ката бар.",
        ru: "В номере карты ошибка.",
        en: "The card number is not valid; check it for a typo.",
    },
    "card.brand_unknown" => {
        ky: "Бул карта түрү кабыл алынбайт (Visa, Mastercard, Maestro, UnionPay, Мир, Элкарт).",
        ru: "Этот тип карты не принимается (Visa, Mastercard, Maestro, UnionPay, Мир, Элкарт).",
        en: "This card type is not accepted (Visa, Mastercard, Maestro, UnionPay, Mir, Elcart).",
    },
    "card.expiry_invalid" => {
        ky: "Картанын мөөнөтүн ММ/ЖЖ түрүндө киргизиңиз.",
        ru: "Введите срок действия карты в виде ММ/ГГ.",
        en: "Enter the card's expiry date as MM/YY.",
    },
    "card.expired" => {
        ky: "Картанын мөөнөтү бүткөн.",
        ru: "Срок действия карты истёк.",
        en: "The card has expired.",
    },
    "card.cvv_required" => {
        ky: "CVV/CVC кодун киргизиңиз (картанын артындагы 3 сан).",
        ru: "Введите код CVV/CVC (3 цифры на обороте карты).",
        en: "Enter the CVV/CVC (the 3 digits on the back of the card).",
    },
    "card.cvv_length" => {
        ky: "CVV/CVC коду 3 сандан турат.",
        ru: "Код CVV/CVC состоит из 3 цифр.",
        en: "The CVV/CVC must be 3 digits.",
    },
    "contact.phone_required" => {
        ky: "Телефон номериңизди киргизиңиз.",
        ru: "Введите номер телефона.",
        en: "Enter your telephone number.",
    },
    "contact.phone_invalid" => {
        ky: "Телефон номери туура эмес. Мисалы: +996 555 123 456.",
        ru: "Неверный номер телефона. Например: +996 555 123 456.",
        en: "The telephone number is not valid. Example: +996 555 123 456.",
    },
    "contact.email_required" => {
        ky: "Электрондук почтаңызды киргизиңиз.",
        ru: "Введите адрес электронной почты.",
        en: "Enter your e-mail address.",
    },
    "contact.email_invalid" => {
        ky: "Электрондук почтанын дареги туура эмес.",
        ru: "Неверный адрес электронной почты.",
        en: "The e-mail address is not valid.",
    },
    // Refunds and receipts
    "refund.amount_invalid" => {
        ky: "Кайтаруу суммасы туура эмес.",
        ru: "Неверная сумма возврата.",
        en: "The refund amount is not valid.",
    },
    "refund.exceeds_paid" => {
        ky: "Кайтаруу суммасы төлөнгөн суммадан ашат.",
        ru: "Сумма возврата превышает оплаченную сумму.",
        en: "The refund exceeds what was paid.",
    },
    "refund.not_refundable" => {
        ky: "Бул төлөмдү кайтарууга болбойт.",
        ru: "Этот платёж нельзя вернуть.",
        en: "This payment cannot be refunded.",
    },
    "refund.failed" => {
        ky: "Банк кайтарууну четке какты.",
        ru: "Банк отклонил возврат.",
        en: "The bank refused the refund.",
    },
    "receipt.not_available" => {
        ky: "Дүмүрчөк ийгиликтүү төлөмдөн кийин гана берилет.",
        ru: "Квитанция доступна только после успешной оплаты.",
        en: "A receipt is only available after a successful payment.",
    },
    "receipt.invalid" => {
        ky: "Бул дүмүрчөк чыныгы эмес же өзгөртүлгөн.",
        ru: "Эта квитанция не подлинная или была изменена.",
        en: "This receipt is not genuine or has been altered.",
    },
    // Requests and the service itself
    "request.invalid" => {
        ky: "Сурам туура эмес.",
        ru: "Неверный запрос.",
        en: "The request is not valid.",
    },
    "request.csrf" => {
        ky: "Барактын мөөнөтү бүттү. Баракты жаңыртып, кайра аракет кылыңыз.",
        ru: "Срок действия страницы истёк. Обновите страницу и повторите попытку.",
        en: "This page has expired. Reload it and try again.",
    },
    "request.rate_limited" => {
        ky: "Өтө көп аракет. Бир мүнөттөн кийин кайталаңыз.",
        ru: "Слишком много попыток. Повторите через минуту.",
        en: "Too many attempts. Please try again in a minute.",
    },
    "auth.unauthenticated" => {
        ky: "Кирүү үчүн токен керек.",
        ru: "Требуется токен доступа.",
        en: "An access token is required.",
    },
    "auth.forbidden" => {
        ky: "Бул аракетке укугуңуз жок.",
        ru: "Недостаточно прав для этого действия.",
        en: "You are not allowed to do this.",
    },
    "service.unavailable" => {
        ky: "Кызмат убактылуу иштебей жатат. Бир аздан кийин кайталаңыз.",
        ru: "Сервис временно недоступен. Повторите попытку позже.",
        en: "The service is temporarily unavailable. Please try again later.",
    },
    "internal.error" => {
        ky: "Ички ката кетти. Бир аздан кийин кайталаңыз же колдоо кызматына кайрылыңыз.",
        ru: "Внутренняя ошибка. Повторите попытку позже или обратитесь в поддержку.",
        en: "Something went wrong on our side. Please try again later or contact support.",
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_message_has_three_nonempty_distinct_translations() {
        let mut seen = HashSet::new();
        for m in MESSAGES {
            assert!(seen.insert(m.code), "duplicate code {}", m.code);
            for lang in Language::ALL {
                assert!(!m.get(lang).trim().is_empty(), "{} lacks {lang}", m.code);
            }
            assert_ne!(m.ky, m.en, "{}: Kyrgyz text is the English one", m.code);
            assert_ne!(m.ru, m.en, "{}: Russian text is the English one", m.code);
            // Russian and Kyrgyz texts are written in Cyrillic.
            assert!(m.ru.chars().any(|c| ('а'..='я').contains(&c)), "{}", m.code);
            assert!(
                m.ky.chars()
                    .any(|c| ('а'..='я').contains(&c) || "өүң".contains(c)),
                "{}",
                m.code
            );
        }
    }

    #[test]
    fn parse_languages() {
        assert_eq!("KY".parse::<Language>().unwrap(), Language::Ky);
        assert_eq!("ru".parse::<Language>().unwrap(), Language::Ru);
        assert!("de".parse::<Language>().is_err());
        assert_eq!(Language::negotiate("ky-KG,ru;q=0.9"), Some(Language::Ky));
        assert_eq!(Language::negotiate("en;q=0"), None);
    }
}

/// A text in each of the three languages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LocalizedText {
    /// Kyrgyz.
    pub ky: String,
    /// Russian.
    pub ru: String,
    /// English.
    pub en: String,
}

impl LocalizedText {
    /// Builds a text from its three translations.
    pub fn new(ky: impl Into<String>, ru: impl Into<String>, en: impl Into<String>) -> Self {
        LocalizedText {
            ky: ky.into(),
            ru: ru.into(),
            en: en.into(),
        }
    }

    /// The text in one language.
    pub fn get(&self, lang: Language) -> &str {
        match lang {
            Language::Ky => &self.ky,
            Language::Ru => &self.ru,
            Language::En => &self.en,
        }
    }
}

/// The checks that `build.rs` runs on the Fluent files, run here on
/// mutated copies to show that each kind of mistake fails the build.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../build/check.rs"]
mod build_check;

#[cfg(test)]
mod fluent_tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_syntax::ast;

    /// Arguments for every variable of `key`: `‹name›`.
    fn args_for(key: Text) -> FluentArgs<'static> {
        let mut args = FluentArgs::new();
        for v in key.variables() {
            args.set(*v, format!("‹{v}›"));
        }
        args
    }

    #[test]
    fn every_text_formats_in_every_language_without_errors() {
        for key in Text::ALL {
            for lang in Language::ALL {
                let (out, errors) = format(key, lang, Some(&args_for(key)));
                assert!(errors.is_empty(), "{key:?} in {lang}: {errors:?}");
                assert!(!out.trim().is_empty(), "{key:?} in {lang} is empty");
                assert!(!out.contains(['{', '}']), "{key:?} in {lang}: {out}");
                assert!(!out.contains(['\u{2068}', '\u{2069}']), "isolation marks");
                for v in key.variables() {
                    assert!(out.contains(&format!("‹{v}›")), "{key:?} in {lang}: ${v}");
                }
                if key.variables().is_empty() {
                    let (plain, errors) = format(key, lang, None);
                    assert!(errors.is_empty(), "{key:?} in {lang}: {errors:?}");
                    assert_eq!(plain, out);
                    assert_eq!(text(key, lang), out);
                } else {
                    assert_eq!(text_with(key, lang, &args_for(key)), out);
                }
            }
        }
    }

    fn variables_of(e: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
        let inline = |i: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>| match i {
            ast::InlineExpression::VariableReference { id } => {
                out.insert(id.name.to_string());
            }
            ast::InlineExpression::Placeable { expression } => variables_of(expression, out),
            _ => {}
        };
        match e {
            ast::Expression::Inline(i) => inline(i, out),
            ast::Expression::Select { selector, variants } => {
                inline(selector, out);
                for v in variants {
                    for el in &v.value.elements {
                        if let ast::PatternElement::Placeable { expression } = el {
                            variables_of(expression, out);
                        }
                    }
                }
            }
        }
    }

    /// Every message with placeables gets the same variables in all three
    /// languages, and the ones `Text::variables` declares.
    #[test]
    fn placeables_take_the_same_variables_in_every_language() {
        let mut seen: BTreeMap<String, BTreeMap<&str, BTreeSet<String>>> = BTreeMap::new();
        for (tag, file, source) in SOURCES {
            let resource = fluent_syntax::parser::parse(source)
                .unwrap_or_else(|(_, e)| panic!("{tag}/{file}: {e:?}"));
            for entry in resource.body {
                if let ast::Entry::Message(m) = entry {
                    let mut vars = BTreeSet::new();
                    for el in m.value.iter().flat_map(|v| &v.elements) {
                        if let ast::PatternElement::Placeable { expression } = el {
                            variables_of(expression, &mut vars);
                        }
                    }
                    seen.entry(m.id.name.to_string())
                        .or_default()
                        .insert(tag, vars);
                }
            }
        }
        assert_eq!(seen.len(), Text::ALL.len());
        let mut with_placeables = 0;
        for key in Text::ALL {
            let by_lang = &seen[key.id()];
            assert_eq!(by_lang.len(), 3, "{key:?}");
            let declared: BTreeSet<String> =
                key.variables().iter().map(|v| v.to_string()).collect();
            for (lang, vars) in by_lang {
                assert_eq!(vars, &declared, "{key:?} in {lang}");
            }
            with_placeables += usize::from(!declared.is_empty());
        }
        assert!(with_placeables >= 4, "the e-mail has placeables");
    }

    #[test]
    fn ids_and_codes_map_both_ways() {
        let mut codes = BTreeSet::new();
        for key in Text::ALL {
            assert_eq!(key.code(), key.id().replace('-', "."));
            assert!(!key.code().contains('-'), "{key:?}");
            assert_eq!(Text::from_code(key.code()), Some(key));
            assert_eq!(Text::from_id(key.id()), Some(key));
            assert_eq!(key.to_string(), key.code());
            assert!(codes.insert(key.code()), "{key:?}");
        }
        assert_eq!(Text::CodeCheckDigit.id(), "code-check_digit");
        assert_eq!(Text::CodeCheckDigit.code(), "code.check_digit");
        assert_eq!(Text::from_code("code-check_digit"), None);
        assert_eq!(Text::from_code("no.such_code"), None);
        assert_eq!(
            serde_json::to_string(&Text::CardPanLuhn).ok().as_deref(),
            Some("\"card.pan_luhn\"")
        );
    }

    /// Kyrgyz and Russian texts are written in Cyrillic, unless a text is
    /// the same in every language (`CVV/CVC`, `JSON`, `RRN`): a message
    /// copied from English into another file is caught here.
    #[test]
    fn texts_are_translated() {
        let cyrillic = |s: &str| s.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
        let mut neutral = Vec::new();
        for key in Text::ALL {
            let args = args_for(key);
            let [ky, ru, en] = Language::ALL.map(|l| text_with(key, l, &args));
            if ky == en && ru == en {
                neutral.push(key);
                continue;
            }
            assert!(cyrillic(&ky), "{key:?}: Kyrgyz {ky:?}");
            assert!(cyrillic(&ru), "{key:?}: Russian {ru:?}");
            if key.file() == "errors.ftl" || key.file() == "email.ftl" {
                assert_ne!(ky, en, "{key:?}");
                assert_ne!(ru, en, "{key:?}");
            }
        }
        assert!(neutral.len() <= 5, "{neutral:?}");
    }

    /// The build's checks, on mutated copies of the real files.
    #[test]
    fn the_build_catches_each_kind_of_mistake() {
        use super::build_check::{analyse, Source};
        let files: Vec<(String, String, String)> = SOURCES
            .iter()
            .map(|(l, f, t)| (l.to_string(), f.to_string(), t.to_string()))
            .collect();
        let run = |files: &[(String, String, String)]| {
            let sources: Vec<Source<'_>> = files
                .iter()
                .map(|(lang, file, text)| Source { lang, file, text })
                .collect();
            analyse(&sources).map(|_| ()).map_err(|p| p.join("\n"))
        };
        assert_eq!(run(&files), Ok(()));
        let edit = |lang: &str, file: &str, f: &dyn Fn(&str) -> String| {
            let mut copy = files.clone();
            for (l, n, t) in &mut copy {
                if l == lang && n == file {
                    *t = f(t);
                }
            }
            run(&copy).expect_err("a mistake")
        };
        let missing = edit("ru", "errors.ftl", &|t| {
            t.lines()
                .filter(|l| !l.starts_with("code-prefix ="))
                .collect::<Vec<_>>()
                .join("\n")
        });
        assert!(
            missing.contains("message code-prefix is in ky/errors.ftl, en/errors.ftl but missing from locales/ru"),
            "{missing}"
        );
        let vars = edit("ky", "email.ftl", &|t| t.replace("$website", "$site"));
        assert!(
            vars.contains("message email-why uses the variables"),
            "{vars}"
        );
        let syntax = edit("en", "portal.ftl", &|t| format!("{t}\nbroken = {{ oops\n"));
        assert!(
            syntax.contains("en/portal.ftl:") && syntax.contains("does not parse"),
            "{syntax}"
        );
        let bad_id = edit("en", "portal.ftl", &|t| format!("{t}\nSite_Name = x\n"));
        assert!(bad_id.contains("Site_Name"), "{bad_id}");
        let mut fewer = files.clone();
        fewer.retain(|(l, f, _)| !(l == "ky" && f == "email.ftl"));
        let files_err = run(&fewer).expect_err("a missing file");
        assert!(
            files_err.contains("every language needs the same files"),
            "{files_err}"
        );
    }
}
