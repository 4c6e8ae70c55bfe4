//! The portal's own texts (labels, headings, hints) in Kyrgyz, Russian and
//! English. Payer-facing error messages come from the core catalogue
//! ([`tolom_core::i18n::message`]) by their stable code; only the few codes
//! the portal itself defines are here too.

use tolom_core::i18n::Language;

/// Every key of the portal catalogue (a test checks each has three texts).
pub const KEYS: &[&str] = &[
    "site.name",
    "site.tagline",
    "skip",
    "lang.switch",
    "nav.home",
    "nav.documents",
    "nav.verify",
    "footer.operator",
    "footer.address",
    "footer.support",
    "home.heading",
    "home.intro",
    "code.label",
    "code.hint",
    "code.submit",
    "charge.heading",
    "charge.service",
    "charge.tariff",
    "charge.payer",
    "charge.amount",
    "charge.fee",
    "charge.total",
    "charge.status",
    "charge.expires",
    "charge.pay",
    "charge.not_payable",
    "charge.status.unpaid",
    "charge.status.paid",
    "charge.status.expired",
    "charge.status.cancelled",
    "charge.code",
    "terms.heading",
    "terms.last_changed",
    "terms.edition",
    "terms.accept",
    "terms.continue",
    "terms.all_documents",
    "terms.intro",
    "card.heading",
    "card.intro",
    "card.holder",
    "card.holder_hint",
    "card.pan",
    "card.pan_hint",
    "card.expiry",
    "card.expiry_hint",
    "card.cvv",
    "card.cvv_hint",
    "card.phone",
    "card.phone_hint",
    "card.email",
    "card.email_hint",
    "card.submit",
    "card.security",
    "errors.summary",
    "confirm.heading",
    "confirm.intro",
    "confirm.otp",
    "confirm.submit",
    "redirect.heading",
    "redirect.intro",
    "redirect.submit",
    "status.heading",
    "status.processing",
    "status.try_again",
    "status.receipt",
    "status.reason",
    "receipt.heading",
    "receipt.pdf",
    "receipt.json",
    "receipt.print",
    "receipt.verify",
    "receipt.qr",
    "receipt.printable",
    "verify.heading",
    "verify.intro",
    "verify.number",
    "verify.signature",
    "verify.submit",
    "verify.genuine",
    "verify.not_genuine",
    "documents.heading",
    "documents.in_force",
    "documents.past",
    "documents.effective",
    "documents.edition",
    "error.heading",
    "error.not_found",
    "error.back",
    "idempotency.in_progress",
    "request.not_found",
    "request.unsupported_media_type",
];

/// The text of `key` in `lang` (the key itself if unknown; a test makes
/// sure that never happens for [`KEYS`]).
pub fn t(key: &str, lang: Language) -> &'static str {
    let (ky, ru, en) = texts(key).unwrap_or(("?", "?", "?"));
    match lang {
        Language::Ky => ky,
        Language::Ru => ru,
        Language::En => en,
    }
}

/// A portal-specific error code's message (codes not in the core catalogue).
pub fn own_error(code: &str, lang: Language) -> Option<&'static str> {
    texts(code).map(|(ky, ru, en)| match lang {
        Language::Ky => ky,
        Language::Ru => ru,
        Language::En => en,
    })
}

/// A payer-facing message for any error code: the core catalogue first,
/// then the portal's own codes.
pub fn error_message(code: &str, lang: Language) -> &'static str {
    if tolom_core::i18n::lookup(code).is_some() {
        tolom_core::i18n::message(code, lang)
    } else {
        own_error(code, lang).unwrap_or_else(|| tolom_core::i18n::message(code, lang))
    }
}

fn texts(key: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match key {
        "site.name" => ("Төлөм", "Төлөм", "Tolom"),
        "site.tagline" => (
            "Мамлекеттик кызматтар үчүн төлөм коду менен төлөө",
            "Оплата государственных услуг по коду платежа",
            "Pay for state services by payment code",
        ),
        "skip" => ("Негизги мазмунга өтүү", "Перейти к содержанию", "Skip to content"),
        "lang.switch" => ("Тил", "Язык", "Language"),
        "nav.home" => ("Башкы бет", "Главная", "Home"),
        "nav.documents" => ("Документтер", "Документы", "Documents"),
        "nav.verify" => ("Дүмүрчөктү текшерүү", "Проверить квитанцию", "Verify a receipt"),
        "footer.operator" => ("Оператор", "Оператор", "Operator"),
        "footer.address" => ("Дареги", "Адрес", "Address"),
        "footer.support" => ("Колдоо кызматы", "Служба поддержки", "Support"),
        "home.heading" => ("Төлөм кодун киргизиңиз", "Введите код платежа", "Enter your payment code"),
        "home.intro" => (
            "Кодду мамлекеттик мекеме берген. Биз төлөөчүнүн аты-жөнүн (жашырылган түрдө), сумманы жана абалын көрсөтөбүз.",
            "Код выдаёт государственное учреждение. Мы покажем имя плательщика (скрыто), сумму и статус.",
            "The code is issued by the state agency. We show the payer's name (masked), the amount and the status.",
        ),
        "code.label" => ("Төлөм коду", "Код платежа", "Payment code"),
        "code.hint" => (
            "Сандар гана; боштуктарга уруксат берилет.",
            "Только цифры; пробелы допускаются.",
            "Digits only; spaces are allowed.",
        ),
        "code.submit" => ("Издөө", "Найти", "Look up"),
        "charge.heading" => ("Төлөм", "Платёж", "Payment"),
        "charge.code" => ("Төлөм коду", "Код платежа", "Payment code"),
        "charge.service" => ("Кызмат", "Услуга", "Service"),
        "charge.tariff" => ("Мөөнөтү", "Срочность", "Urgency"),
        "charge.payer" => ("Төлөөчү", "Плательщик", "Payer"),
        "charge.amount" => ("Сумма", "Сумма", "Amount"),
        "charge.fee" => ("Комиссия", "Комиссия", "Fee"),
        "charge.total" => ("Бардыгы", "Итого к оплате", "Total to pay"),
        "charge.status" => ("Абалы", "Статус", "Status"),
        "charge.expires" => ("Төлөө мөөнөтү", "Оплатить до", "Pay by"),
        "charge.pay" => ("Төлөө", "Оплатить", "Pay"),
        "charge.not_payable" => (
            "Бул кодду азыр төлөөгө болбойт.",
            "Этот код сейчас нельзя оплатить.",
            "This code cannot be paid now.",
        ),
        "charge.status.unpaid" => ("Төлөнө элек", "Не оплачен", "Not paid"),
        "charge.status.paid" => ("Төлөндү", "Оплачен", "Paid"),
        "charge.status.expired" => ("Мөөнөтү бүттү", "Срок истёк", "Expired"),
        "charge.status.cancelled" => ("Жокко чыгарылды", "Отменён", "Cancelled"),
        "terms.heading" => ("Колдонуучунун келишими", "Пользовательское соглашение", "User agreement"),
        "terms.intro" => (
            "Төлөөдөн мурун азыр күчүндө турган колдонуучунун келишимин окуп, кабыл алыңыз.",
            "Перед оплатой прочитайте и примите действующее пользовательское соглашение.",
            "Before paying, read and accept the user agreement in force.",
        ),
        "terms.last_changed" => ("Акыркы өзгөртүү", "Последнее изменение", "Last changed"),
        "terms.edition" => ("Редакциясы", "Редакция", "Edition"),
        "terms.accept" => (
            "Колдонуучунун келишимин окудум жана кабыл алам",
            "Я прочитал(а) и принимаю пользовательское соглашение",
            "I have read and accept the user agreement",
        ),
        "terms.continue" => ("Улантуу", "Продолжить", "Continue"),
        "terms.all_documents" => (
            "Бардык документтер жана мурунку редакциялар",
            "Все документы и прежние редакции",
            "All documents and past editions",
        ),
        "card.heading" => ("Карта менен төлөө", "Оплата картой", "Pay by card"),
        "card.intro" => (
            "Бардык талааларды толтуруңуз. Карта маалыматтары сакталбайт.",
            "Заполните все поля. Данные карты не сохраняются.",
            "Fill in every field. Card details are not stored.",
        ),
        "card.holder" => ("Карта ээсинин аты (латын тамгалары менен)", "Имя держателя карты (латиницей)", "Cardholder name (Latin letters)"),
        "card.holder_hint" => ("Картада жазылгандай, мисалы AIBEK ASANOV", "Как на карте, например AIBEK ASANOV", "As on the card, e.g. AIBEK ASANOV"),
        "card.pan" => ("Картанын номери", "Номер карты", "Card number"),
        "card.pan_hint" => ("13–19 сан", "13–19 цифр", "13–19 digits"),
        "card.expiry" => ("Жарактуулук мөөнөтү", "Срок действия", "Expiry date"),
        "card.expiry_hint" => ("АА/ЖЖ, мисалы 12/30", "ММ/ГГ, например 12/30", "MM/YY, e.g. 12/30"),
        "card.cvv" => ("CVV/CVC", "CVV/CVC", "CVV/CVC"),
        "card.cvv_hint" => ("Картанын артындагы 3 же 4 сан", "3 или 4 цифры на обороте карты", "3 or 4 digits on the back of the card"),
        "card.phone" => ("Телефон", "Телефон", "Phone"),
        "card.phone_hint" => ("Мисалы +996 555 123 456", "Например +996 555 123 456", "E.g. +996 555 123 456"),
        "card.email" => ("Электрондук почта", "Электронная почта", "E-mail"),
        "card.email_hint" => ("Дүмүрчөк ушул дарекке жөнөтүлөт", "Квитанция придёт на этот адрес", "The receipt is sent to this address"),
        "card.submit" => ("Төлөө", "Оплатить", "Pay"),
        "card.security" => (
            "Карта маалыматтары банкка түз жөнөтүлөт жана сакталбайт.",
            "Данные карты передаются в банк и не сохраняются.",
            "Card details go to the bank and are never stored.",
        ),
        "errors.summary" => (
            "Төмөнкү талааларды оңдоңуз:",
            "Исправьте следующие поля:",
            "Please correct these fields:",
        ),
        "confirm.heading" => ("Төлөмдү ырастоо", "Подтверждение платежа", "Confirm the payment"),
        "confirm.intro" => (
            "Банк SMS аркылуу жөнөткөн бир жолку кодду киргизиңиз.",
            "Введите одноразовый код, который банк отправил в SMS.",
            "Enter the one-time code your bank sent by SMS.",
        ),
        "confirm.otp" => ("Бир жолку код", "Одноразовый код", "One-time code"),
        "confirm.submit" => ("Ырастоо", "Подтвердить", "Confirm"),
        "redirect.heading" => ("Банкта ырастоо", "Подтверждение в банке", "Confirm at your bank"),
        "redirect.intro" => (
            "Төлөмдү ырастоо үчүн банктын барагына өтүңүз.",
            "Для подтверждения платежа перейдите на страницу банка.",
            "To confirm the payment, continue to your bank's page.",
        ),
        "redirect.submit" => ("Банкка өтүү", "Перейти в банк", "Continue to the bank"),
        "status.heading" => ("Төлөмдүн абалы", "Статус платежа", "Payment status"),
        "status.processing" => (
            "Төлөм иштетилүүдө. Бул барак өзү жаңыланат; жаңылабасаңыз да болот.",
            "Платёж обрабатывается. Страница обновится сама; можно обновить её вручную.",
            "The payment is being processed. This page refreshes itself; you may also reload it.",
        ),
        "status.try_again" => ("Кайра аракет кылуу", "Попробовать снова", "Try again"),
        "status.receipt" => ("Дүмүрчөктү көрүү", "Открыть квитанцию", "View the receipt"),
        "status.reason" => ("Себеби", "Причина", "Reason"),
        "receipt.heading" => ("Дүмүрчөк", "Квитанция", "Receipt"),
        "receipt.pdf" => ("PDF жүктөп алуу", "Скачать PDF", "Download PDF"),
        "receipt.json" => ("JSON", "JSON", "JSON"),
        "receipt.print" => (
            "Басып чыгаруу үчүн браузердин «Басып чыгаруу» буйругун колдонуңуз.",
            "Для печати используйте команду «Печать» браузера.",
            "To print, use your browser's Print command.",
        ),
        "receipt.verify" => ("Текшерүү шилтемеси", "Ссылка для проверки", "Verification link"),
        "receipt.qr" => (
            "QR код: дүмүрчөктүн чыныгы экенин текшерүү шилтемеси",
            "QR-код: ссылка для проверки подлинности квитанции",
            "QR code: a link to verify that this receipt is genuine",
        ),
        "receipt.printable" => ("Басып чыгаруучу версия", "Версия для печати", "Printable version"),
        "verify.heading" => ("Дүмүрчөктү текшерүү", "Проверка квитанции", "Verify a receipt"),
        "verify.intro" => (
            "Дүмүрчөктүн номерин жана кол тамгасын киргизиңиз (же QR кодду сканерлеңиз).",
            "Введите номер квитанции и подпись (или отсканируйте QR-код).",
            "Enter the receipt number and signature (or scan the QR code).",
        ),
        "verify.number" => ("Дүмүрчөктүн номери", "Номер квитанции", "Receipt number"),
        "verify.signature" => ("Кол тамга", "Подпись", "Signature"),
        "verify.submit" => ("Текшерүү", "Проверить", "Verify"),
        "verify.genuine" => (
            "Дүмүрчөк чыныгы: бул төлөм биз аркылуу жүргүзүлгөн.",
            "Квитанция подлинная: этот платёж проведён через нас.",
            "The receipt is genuine: this payment was made through us.",
        ),
        "verify.not_genuine" => (
            "Дүмүрчөк чыныгы ЭМЕС: мындай номер жана кол тамга менен төлөм жок.",
            "Квитанция НЕ подлинная: платежа с таким номером и подписью нет.",
            "The receipt is NOT genuine: there is no payment with this number and signature.",
        ),
        "documents.heading" => ("Документтер", "Документы", "Documents"),
        "documents.in_force" => ("Күчүндөгү редакция", "Действующая редакция", "Edition in force"),
        "documents.past" => ("Мурунку редакциялар", "Прежние редакции", "Past editions"),
        "documents.effective" => ("Күчүнө кирген күнү", "Действует с", "In force from"),
        "documents.edition" => ("Редакция", "Редакция", "Edition"),
        "error.heading" => ("Ката", "Ошибка", "Error"),
        "error.not_found" => ("Барак табылган жок.", "Страница не найдена.", "Page not found."),
        "error.back" => ("Башкы бетке кайтуу", "Вернуться на главную", "Back to the home page"),
        "idempotency.in_progress" => (
            "Ушул ачкыч менен суроо азыр иштетилүүдө. Бир аздан кийин кайталаңыз.",
            "Запрос с этим ключом сейчас обрабатывается. Повторите чуть позже.",
            "A request with this key is being processed. Retry in a moment.",
        ),
        "request.not_found" => ("Табылган жок.", "Не найдено.", "Not found."),
        "request.unsupported_media_type" => (
            "Суроонун денеси application/json болушу керек.",
            "Тело запроса должно быть application/json.",
            "The request body must be application/json.",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_three_texts() {
        for key in KEYS {
            let (ky, ru, en) = texts(key).unwrap_or_else(|| panic!("missing {key}"));
            assert!(!ky.is_empty() && !ru.is_empty() && !en.is_empty(), "{key}");
        }
    }

    #[test]
    fn error_messages_come_from_the_core_first() {
        assert_eq!(
            error_message("request.rate_limited", Language::En),
            tolom_core::i18n::message("request.rate_limited", Language::En)
        );
        assert_ne!(error_message("idempotency.in_progress", Language::Ru), "?");
    }
}
