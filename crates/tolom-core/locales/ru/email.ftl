### tolom: the receipt e-mail (Russian).
###
### Message ids are stable codes with their dots written as dashes: the id
### `code-check_digit` is the code `code.check_digit` (codes never contain
### `-`, so the mapping is reversible). tolom-core's build turns every id
### into a variant of `tolom_core::i18n::Text` (`Text::CodeCheckDigit`) and
### fails when an id is missing from one of ky, ru and en, when a message
### uses other variables in another language, or when a file does not parse.
### Keep every message on one line.
###
### Variables: $number (receipt number), $service (service name), $website
### (operator's site).

# The subject line.
email-subject = Квитанция об оплате № { $number }: { $service }
# The heading of the HTML body.
email-headline = Квитанция об оплате № { $number }
email-greeting = Здравствуйте!
email-intro = Ваш платёж за услугу «{ $service }» принят. Ниже — квитанция об оплате: сохраните её до получения услуги.
email-agency = Ведомство, выдавшее код платежа, получит сведения об оплате автоматически — ничего дополнительно делать не нужно.
email-link = Посмотреть и распечатать квитанцию онлайн:
email-verify = Проверить подлинность квитанции:
email-pdf = Квитанция приложена к письму в формате PDF.
email-signed = Квитанция заверена электронной подписью; её подлинность можно проверить на сайте оператора.
email-auto = Это письмо отправлено автоматически, отвечать на него не нужно.
email-questions = Если у вас есть вопросы:
email-why = Вы получили это письмо, потому что указали этот адрес при оплате на сайте { $website }.
