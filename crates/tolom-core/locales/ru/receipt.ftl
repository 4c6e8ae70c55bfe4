### tolom: receipt labels and payment states (Russian).
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

receipt-label-number = Квитанция №
receipt-label-status = Статус
receipt-label-paid_at = Время оплаты
receipt-label-service = Услуга
receipt-label-tariff = Срочность
receipt-label-agency = Получатель (ведомство)
receipt-label-purpose = Назначение платежа
receipt-label-payer = Плательщик
receipt-label-code = Код платежа
receipt-label-amount = Сумма
receipt-label-fee = Комиссия
receipt-label-total = Итого
receipt-label-refunded = Возвращено
receipt-label-card = Карта
receipt-label-auth_code = Код авторизации
receipt-label-rrn = RRN
receipt-label-acquirer = Эквайер
receipt-label-terms = Редакция соглашения
receipt-label-operator = Оператор
receipt-label-address = Адрес
receipt-label-support = Поддержка
receipt-label-signature = Подпись
receipt-label-key = Ключ
receipt-label-signed_content = Подписанное содержание

## Receipt checks: why a receipt is not genuine (codes receipt.check.*)

receipt-check-malformed = Подпись или подписанное содержание имеют неверный формат.
receipt-check-unknown_key = В квитанции указан ключ подписи, которым этот сайт никогда не пользовался.
receipt-check-key_retired = Ключ, которым она подписана, выведен из употребления раньше даты квитанции.
receipt-check-bad_signature = Подпись не соответствует содержанию квитанции: она изменена или подделана.
receipt-check-not_found = Платежа с таким номером квитанции нет.
receipt-check-not_in_records = Подписанное содержание не совпадает с нашими данными об этом платеже.

## Payment states, as a payer reads them

payment-state-created = Не оплачен
payment-state-authorizing = Обрабатывается
payment-state-action_required = Ожидает подтверждения
payment-state-unknown = Ожидается ответ банка
payment-state-succeeded = Оплачено
payment-state-declined = Отклонён
payment-state-failed = Не выполнен
payment-state-expired = Истёк
payment-state-partially_refunded = Частично возвращён
payment-state-refunded = Возвращён
payment-state-duplicate = Двойное списание: второе списание возвращается
payment-state-returned = Двойное списание: второе списание возвращено
