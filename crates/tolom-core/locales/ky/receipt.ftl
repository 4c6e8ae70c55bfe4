### tolom: receipt labels and payment states (Kyrgyz).
###
### Message ids are stable codes with their dots written as dashes: the id
### `code-check_digit` is the code `code.check_digit` (codes never contain
### `-`, so the mapping is reversible). tolom-core's build turns every id
### into a variant of `tolom_core::i18n::Text` (`Text::CodeCheckDigit`) and
### fails when an id is missing from one of ky, ru and en, when a message
### uses other variables in another language, or when a file does not parse.
### Keep every message on one line.
###
### Used by the printable receipt, its PDF and plain text, and the receipt e-mail.

## Receipt fields

receipt-label-number = Дүмүрчөк №
receipt-label-status = Абалы
receipt-label-paid_at = Төлөнгөн убакыт
receipt-label-service = Кызмат
receipt-label-tariff = Мөөнөтү
receipt-label-agency = Алуучу мекеме
receipt-label-purpose = Төлөмдүн максаты
receipt-label-payer = Төлөөчү
receipt-label-code = Төлөм коду
receipt-label-amount = Сумма
receipt-label-fee = Комиссия
receipt-label-total = Бардыгы
receipt-label-refunded = Кайтарылды
receipt-label-card = Карта
receipt-label-auth_code = Авторизация коду
receipt-label-rrn = RRN
receipt-label-acquirer = Эквайер
receipt-label-terms = Пайдалануу макулдашуусунун редакциясы
receipt-label-operator = Оператор
receipt-label-address = Дареги
receipt-label-support = Колдоо
receipt-label-signature = Кол тамга
receipt-label-key = Ачкыч
receipt-label-signed_content = Кол коюлган мазмун

## Receipt checks: why a receipt is not genuine (codes receipt.check.*)

receipt-check-malformed = Кол тамганын же кол коюлган мазмундун форматы туура эмес.
receipt-check-unknown_key = Дүмүрчөктө бул сайт эч качан колдонбогон кол коюу ачкычы көрсөтүлгөн.
receipt-check-key_retired = Ага кол койгон ачкыч дүмүрчөктүн күнүнөн мурда колдонуудан чыгарылган.
receipt-check-bad_signature = Кол тамга дүмүрчөктүн мазмунуна дал келбейт: ал өзгөртүлгөн же жасалма.
receipt-check-not_found = Мындай номердеги дүмүрчөк менен төлөм жок.
receipt-check-not_in_records = Кол коюлган мазмун бул төлөм боюнча биздин маалыматтарга дал келбейт.

## Payment states, as a payer reads them

payment-state-created = Төлөнө элек
payment-state-authorizing = Иштетилүүдө
payment-state-action_required = Ырастоо күтүлүүдө
payment-state-unknown = Банктан жооп күтүлүүдө
payment-state-succeeded = Төлөндү
payment-state-declined = Четке кагылды
payment-state-failed = Ишке ашкан жок
payment-state-expired = Мөөнөтү бүттү
payment-state-partially_refunded = Жарым-жартылай кайтарылды
payment-state-refunded = Кайтарылды
payment-state-duplicate = Эки жолу кармалды: экинчи сумма кайтарылууда
payment-state-returned = Эки жолу кармалды: экинчи сумма кайтарылды
