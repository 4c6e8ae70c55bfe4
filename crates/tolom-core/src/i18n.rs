//! Languages and the one message catalogue for everything a payer reads.
//!
//! Every payer-facing error has a stable machine code (see [`ErrorCode`]) and a
//! message in Kyrgyz, Russian and English in [`MESSAGES`]. A unit test fails
//! when a code lacks a translation, and adapters (the portal, e-mails) look
//! their texts up here by code.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

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

/// An error with a stable machine code that the message catalogue translates.
pub trait ErrorCode {
    /// The stable machine code, e.g. `code.check_digit`.
    fn code(&self) -> &'static str;

    /// The translated message for the payer.
    fn message(&self, lang: Language) -> &'static str {
        message(self.code(), lang)
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
    // Operator actions
    "token.exists" => {
        ky: "Мындай аталыштагы токен мурун эле бар.",
        ru: "Токен с таким именем уже существует.",
        en: "A token with this name already exists.",
    },
    "token.not_found" => {
        ky: "Мындай аталыштагы активдүү токен жок.",
        ru: "Активного токена с таким именем нет.",
        en: "There is no active token with this name.",
    },
    "terms.exists" => {
        ky: "Келишимдин бул редакциясы мурун эле жарыяланган.",
        ru: "Эта редакция соглашения уже опубликована.",
        en: "This edition of the agreement has already been published.",
    },
    "outbox.not_dead" => {
        ky: "Мындай жөнөтүлбөй калган билдирүү жок.",
        ru: "Такого недоставленного сообщения нет.",
        en: "There is no undelivered message with this id.",
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
