### tolom: labels, headings and hints of the payment portal (Russian).
###
### Message ids are stable codes with their dots written as dashes: the id
### `code-check_digit` is the code `code.check_digit` (codes never contain
### `-`, so the mapping is reversible). tolom-core's build turns every id
### into a variant of `tolom_core::i18n::Text` (`Text::CodeCheckDigit`) and
### fails when an id is missing from one of ky, ru and en, when a message
### uses other variables in another language, or when a file does not parse.
### Keep every message on one line.

## site

site-name = Төлөм
site-tagline = Оплата государственных услуг по коду платежа

## skip

skip = Перейти к содержанию

## lang

lang-switch = Язык

## nav

nav-home = Главная
nav-documents = Документы
nav-verify = Проверить квитанцию

## footer

footer-operator = Оператор
footer-address = Адрес
footer-support = Служба поддержки

## home

home-heading = Введите код платежа
home-intro = Код выдаёт государственное учреждение. Мы покажем имя плательщика (скрыто), сумму и статус.

## code

code-label = Код платежа
code-hint = Только цифры; пробелы допускаются.
code-submit = Найти

## charge

charge-heading = Сведения о платеже
charge-code = Код платежа
charge-service = Услуга
charge-tariff = Срочность
charge-payer = Плательщик
charge-amount = Сумма
charge-fee = Комиссия
charge-total = Итого к оплате
charge-status = Статус
charge-expires = Оплатить до
charge-pay = Оплатить
charge-not_payable = Этот код сейчас нельзя оплатить.
charge-status-unpaid = Не оплачен
charge-status-paid = Оплачен
charge-status-expired = Срок истёк
charge-status-cancelled = Отменён

## terms

terms-heading = Пользовательское соглашение
terms-intro = Перед оплатой прочитайте и примите действующее пользовательское соглашение.
terms-last_changed = Последнее изменение
terms-edition = Редакция
terms-accept = Я прочитал(а) и принимаю пользовательское соглашение
terms-continue = Продолжить
terms-all_documents = Все документы и прежние редакции

## card

card-heading = Оплата картой
card-intro = Заполните все поля. Данные карты не сохраняются.
card-holder = Имя держателя карты (латиницей)
card-holder_hint = Как на карте, например AIBEK ASANOV
card-pan = Номер карты
card-pan_hint = { $digits } цифр
card-expiry = Срок действия
card-expiry_hint = { -expiry-format }, например { $example }
card-cvv = CVV/CVC
card-cvv_hint = Код из { $digits } цифр на обороте карты
card-phone = Телефон
card-phone_hint = Например +996 555 123 456; номер другой страны — с + и кодом страны
card-email = Электронная почта
card-email_hint = Квитанция придёт на этот адрес
card-submit = Оплатить
card-security = Данные карты передаются в банк и не сохраняются.
card-hosted_intro = Или введите данные карты на защищённой платёжной странице банка вместо этой формы.
card-hosted = Оплатить на странице банка

## errors

errors-summary = Исправьте следующие поля:

## confirm

confirm-heading = Подтверждение платежа
confirm-intro = Введите одноразовый код, который банк отправил в SMS.
confirm-otp = Одноразовый код
confirm-submit = Подтвердить

## redirect

redirect-heading = Подтверждение в банке
redirect-intro = Для подтверждения платежа перейдите на страницу банка.
redirect-submit = Перейти в банк

## status

status-heading = Статус платежа
status-processing = Платёж обрабатывается. Страница обновится сама; можно обновить её вручную.
status-try_again = Попробовать снова
status-receipt = Открыть квитанцию
status-reason = Причина

## receipt

receipt-heading = Квитанция
receipt-pdf = Скачать PDF
receipt-json = Квитанция в формате JSON
receipt-verify_link = Проверить подлинность квитанции
receipt-print = Для печати используйте команду «Печать» браузера.
receipt-verify = Ссылка для проверки
receipt-qr = QR-код: ссылка для проверки подлинности квитанции
receipt-printable = Версия для печати

## verify

verify-heading = Проверка квитанции
verify-intro = Отсканируйте QR-код квитанции или введите её номер и подпись (и ключ, если он напечатан). Ведомство может также вставить подписанное содержание квитанции из её JSON.
verify-number = Номер квитанции
verify-signature = Подпись
verify-submit = Проверить
verify-genuine = Квитанция подлинная: этот платёж проведён через нас.
verify-not_genuine = Квитанция НЕ подлинная.
verify-key = Ключ (необязательно)
verify-content = Подписанное содержание (необязательно, из JSON квитанции)
verify-changed = После выдачи этой квитанции статус платежа изменился: { $status }.

## documents

documents-heading = Документы
documents-in_force = Действующая редакция
documents-past = Прежние редакции
documents-effective = Действует с
documents-edition = Редакция

## paid

charge-paid_heading = Этот код уже оплачен
charge-paid_at = Дата оплаты
charge-total_paid = Оплачено всего
receipt_again-intro = Чтобы снова открыть квитанцию, введите адрес электронной почты, указанный при оплате, или последние четыре цифры карты.
receipt_again-proof = Эл. почта или 4 последние цифры карты
receipt_again-hint = Например aibek@example.kg или 1111
receipt_again-submit = Показать квитанцию

## services

nav-services = Услуги и тарифы
services-heading = Услуги и тарифы
services-intro = Размер платы зависит от услуги и от того, как скоро нужен документ. Сумма к оплате всегда берётся из вашего кода платежа; таблица её объясняет.
services-urgency = Срочность
services-fee = Стоимость
services-agency = Ведомство
services-unpublished = Ещё не опубликована: сумма условная.

## error

error-heading = Ошибка
error-not_found = Страница не найдена.
error-back = Вернуться на главную

## Платежи через другие каналы

charge-paid_via = Оплачено { $date }, канал оплаты: { $channel }.
channel-card = банковская карта
channel-bank_app = приложение банка
channel-terminal = платёжный терминал
channel-elqr = ELQR (QR-код)
channel-bank_branch = касса банка
