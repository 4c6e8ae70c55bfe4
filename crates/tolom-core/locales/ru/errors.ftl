### tolom: messages of payer-facing errors (Russian).
###
### Message ids are stable codes with their dots written as dashes: the id
### `code-check_digit` is the code `code.check_digit` (codes never contain
### `-`, so the mapping is reversible). tolom-core's build turns every id
### into a variant of `tolom_core::i18n::Text` (`Text::CodeCheckDigit`) and
### fails when an id is missing from one of ky, ru and en, when a message
### uses other variables in another language, or when a file does not parse.
### Keep every message on one line.
###
### The API returns the code with the message; the portal shows the message.

## Payment code input

code-empty = Введите код платежа.
code-invalid_characters = Код платежа должен состоять только из цифр.
code-length = Неверная длина кода платежа.
code-prefix = Код платежа не может начинаться с этих цифр. Сверьте код с выданным вам и введите его снова.
code-check_digit = В коде платежа опечатка: проверьте и введите его снова.
code-not_found = Код платежа не найден.

## Charge state

charge-expired = Срок действия кода платежа истёк. Получите новый код.
charge-already_paid = По этому коду платёж уже произведён.
charge-cancelled = Этот код платежа аннулирован.
charge-fee_unpublished = Размер платы за эту услугу ещё не опубликован, поэтому оплатить этот код здесь нельзя. Обратитесь в ведомство, выдавшее код.
charge-payment_in_progress = По этому коду уже идёт платёж. Повторите попытку позже.
charge-try_again_after = Повторите попытку после { $time } (по времени Бишкека).

## User agreement

terms-not_accepted = Чтобы оплатить, примите пользовательское соглашение.
terms-outdated = Пользовательское соглашение изменилось. Ознакомьтесь с новой редакцией и примите её.

## Idempotency

idempotency-key_invalid = Неверный ключ идемпотентности запроса.
idempotency-key_reused = Этот ключ идемпотентности уже использован для другого запроса.
idempotency-in_progress = Запрос с этим ключом сейчас обрабатывается. Повторите чуть позже.

## Payment

payment-not_found = Платёж не найден.
payment-already_submitted = Данные карты для этого платежа уже отправлены.
payment-not_awaiting_challenge = Этот платёж не ожидает кода подтверждения.
payment-expired = Время сеанса оплаты истекло. Начните заново.
payment-acquirer_unavailable = Банк сейчас недоступен. Деньги не списаны; повторите попытку позже.
payment-outcome_unknown = Результат от банка ещё не получен. Проверьте статус платежа позже; деньги не будут списаны дважды.
payment-order_left_open = Банк не завершил этот платёж вовремя, деньги не списаны. Можно оплатить снова; если банк всё же спишет деньги за эту попытку, они будут возвращены или зачтены автоматически.
payment-refunded_at_acquirer = Банк вернул деньги за эту попытку, поэтому она не засчитана как оплата. Если сбор ещё не оплачен, оплатите снова.
payment-held_at_acquirer = Банк только заблокировал сумму за эту попытку и не списал её; блокировка снята. Оплатите снова.
payment-challenge_failed = Неверный код подтверждения. Платёж не прошёл.
payment-otp_wrong = Код неверный. Проверьте SMS и введите код ещё раз; после нескольких неверных кодов банк отклонит платёж.
payment-otp_required = Введите одноразовый код из SMS.
# Shown for a stored failure code that this version does not know.
payment-failure_unknown = Платёж не удалось завершить.


## Повторное получение квитанции оплаченного кода

proof-required = Введите адрес электронной почты, указанный при оплате, или последние четыре цифры карты.
proof-mismatch = Это не совпадает с данными платежа. Проверьте адрес электронной почты или последние четыре цифры карты.
proof-unavailable = Этот код оплачен другим способом, и его квитанция здесь не хранится. Обратитесь в банк или к терминалу, принявшему платёж.

## Declines

decline-insufficient_funds = Недостаточно средств на карте.
decline-expired_card = Банк отклонил платёж: срок действия карты истёк.
decline-incorrect_cvv = Неверный код CVV/CVC.
decline-do_not_honour = Банк-эмитент отклонил платёж. Обратитесь в свой банк.
decline-lost_or_stolen = Карта заблокирована. Обратитесь в свой банк.
decline-authentication_failed = Платёж не подтверждён (3-D Secure).
decline-limit_exceeded = Превышен лимит по карте.
decline-restricted_card = Этой картой нельзя оплатить такую операцию.
decline-invalid_card = Банк не распознал карту.
decline-other = Банк отклонил платёж.

## Card form

card-holder_required = Введите имя держателя карты.
card-holder_latin = Имя держателя карты пишите латинскими буквами, как на карте.
card-pan_required = Введите номер карты.
card-pan_digits = Номер карты должен состоять только из цифр.
card-pan_length = Неверная длина номера карты.
card-pan_luhn = В номере карты ошибка.
card-brand_unknown = Карты этого типа здесь не принимаются: оплатите другой картой.
# Единственная запись срока действия: и в подсказке, и в ошибке.
-expiry-format = ММ/ГГ
card-expiry_invalid = Введите срок действия карты в виде { -expiry-format }.
card-expired = Срок действия карты истёк.
card-cvv_required = Введите код CVV/CVC (3 цифры на обороте карты).
card-cvv_length = Код CVV/CVC состоит из 3 цифр.

## Contact details

contact-phone_required = Введите номер телефона.
contact-phone_invalid = Неверный номер телефона. Например: +996 555 123 456.
contact-phone_national_not_kg = Такого номера в Кыргызстане нет. Номер другой страны напишите с + и кодом страны, например: +7 912 345 67 89.
contact-email_required = Введите адрес электронной почты.
contact-email_invalid = Неверный адрес электронной почты.

## Refunds

refund-amount_invalid = Неверная сумма возврата.
refund-exceeds_paid = Сумма возврата превышает оплаченную сумму.
refund-not_refundable = Этот платёж нельзя вернуть.
refund-failed = Банк отклонил возврат.

## Receipts

receipt-not_available = Квитанция доступна только после успешной оплаты.
receipt-invalid = Эта квитанция не подлинная или была изменена.

## Requests

request-invalid = Неверный запрос.
request-csrf = Срок действия страницы истёк. Обновите страницу и повторите попытку.
request-rate_limited = Слишком много попыток. Повторите через минуту.
request-not_found = Не найдено.
request-unsupported_media_type = Тело запроса должно быть application/json.
request-lang_unsupported = Такой язык не поддерживается: укажите ky, ru или en.
request-conflict = Платёж изменился, пока обрабатывался ваш запрос. Обновите страницу, чтобы увидеть его состояние.

## Access

auth-unauthenticated = Требуется токен доступа.
auth-forbidden = Недостаточно прав для этого действия.

## The service itself

service-unavailable = Сервис временно недоступен. Повторите попытку позже.
internal-error = Внутренняя ошибка. Повторите попытку позже или обратитесь в поддержку.

## Operator actions

token-exists = Токен с таким именем уже существует.
token-not_found = Активного токена с таким именем нет.
terms-exists = Эта редакция соглашения уже опубликована.
outbox-not_dead = Такого недоставленного сообщения нет.

## Платежи через другие каналы

external-channel_invalid = Канал оплаты неизвестен. Каналы: bank_app, terminal, elqr, bank_branch.
external-reference_invalid = Референс платежа не указан, длиннее 100 символов или содержит управляющие символы.
external-amount_mismatch = Оплаченная сумма отличается от суммы начисления.
external-paid_at_invalid = Время оплаты невозможно: оно в будущем или раньше выдачи кода.
external-reference_conflict = Платёж с этим каналом и референсом уже записан с другими данными.
external-not_found = Платежа через другой канал с таким идентификатором нет.
external-not_duplicate = Этот платёж не является отмеченным дублем, ожидающим решения оператора.
external-charge_still_paid = Начисление всё ещё оплачено другим платежом: сначала верните тот платёж полностью.
