### tolom: labels, headings and hints of the payment portal (Kyrgyz).
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
site-tagline = Мамлекеттик кызматтар үчүн төлөм коду менен төлөө

## skip

skip = Негизги мазмунга өтүү

## lang

lang-switch = Тил

## nav

nav-home = Башкы бет
nav-documents = Документтер
nav-verify = Дүмүрчөктү текшерүү

## footer

footer-operator = Оператор
footer-address = Дареги
footer-support = Колдоо кызматы

## home

home-heading = Төлөм кодун киргизиңиз
home-intro = Кодду мамлекеттик мекеме берген. Биз төлөөчүнүн аты-жөнүн (жашырылган түрдө), сумманы жана абалын көрсөтөбүз.

## code

code-label = Төлөм коду
code-hint = Сандар гана; боштуктарга уруксат берилет.
code-submit = Издөө

## charge

charge-heading = Төлөм тууралуу маалымат
charge-code = Төлөм коду
charge-service = Кызмат
charge-tariff = Мөөнөтү
charge-payer = Төлөөчү
charge-amount = Сумма
charge-fee = Комиссия
charge-total = Бардыгы
charge-status = Абалы
charge-expires = Төлөө мөөнөтү
charge-pay = Төлөө
charge-not_payable = Бул кодду азыр төлөөгө болбойт.
charge-status-unpaid = Төлөнө элек
charge-status-paid = Төлөндү
charge-status-expired = Мөөнөтү бүттү
charge-status-cancelled = Жокко чыгарылды

## terms

terms-heading = Пайдалануу макулдашуусу
terms-intro = Төлөөдөн мурун азыр күчүндө турган Пайдалануу макулдашуусун окуп, кабыл алыңыз.
terms-last_changed = Акыркы өзгөртүү
terms-edition = Редакциясы
terms-accept = Пайдалануу макулдашуусун окудум жана кабыл алам
terms-continue = Улантуу
terms-all_documents = Бардык документтер жана мурунку редакциялар

## card

card-heading = Карта менен төлөө
card-intro = Бардык талааларды толтуруңуз. Карта маалыматтары сакталбайт.
card-holder = Карта ээсинин аты (латын тамгалары менен)
card-holder_hint = Картада жазылгандай, мисалы AIBEK ASANOV
card-pan = Картанын номери
card-pan_hint = { $digits } сан
card-expiry = Жарактуулук мөөнөтү
card-expiry_hint = { -expiry-format }, мисалы { $example }
card-cvv = CVV/CVC
card-cvv_hint = Картанын артындагы { $digits } сан
card-phone = Телефон
card-phone_hint = Мисалы +996 555 123 456; чет өлкөнүн номери + жана өлкөнүн коду менен
card-email = Электрондук почта
card-email_hint = Дүмүрчөк ушул дарекке жөнөтүлөт
card-submit = Төлөө
card-security = Карта маалыматтары банкка түз жөнөтүлөт жана сакталбайт.
card-hosted_intro = Же карта маалыматтарын бул форманын ордуна банктын коопсуз төлөм барагында киргизиңиз.
card-hosted = Банктын барагында төлөө

## errors

errors-summary = Төмөнкү талааларды оңдоңуз:

## confirm

confirm-heading = Төлөмдү ырастоо
confirm-intro = Банк SMS аркылуу жөнөткөн бир жолку кодду киргизиңиз.
confirm-otp = Бир жолку код
confirm-submit = Ырастоо

## redirect

redirect-heading = Банкта ырастоо
redirect-intro = Төлөмдү ырастоо үчүн банктын барагына өтүңүз.
redirect-submit = Банкка өтүү

## status

status-heading = Төлөмдүн абалы
status-processing = Төлөм иштетилүүдө. Бул барак өзү жаңыланат; жаңылабасаңыз да болот.
status-try_again = Кайра аракет кылуу
status-receipt = Дүмүрчөктү көрүү
status-reason = Себеби

## receipt

receipt-heading = Дүмүрчөк
receipt-pdf = PDF жүктөп алуу
receipt-json = Дүмүрчөк JSON форматында
receipt-verify_link = Бул дүмүрчөктүн чыныгы экенин текшерүү
receipt-print = Басып чыгаруу үчүн браузердин «Басып чыгаруу» буйругун колдонуңуз.
receipt-verify = Текшерүү шилтемеси
receipt-qr = QR код: дүмүрчөктүн чыныгы экенин текшерүү шилтемеси
receipt-printable = Басып чыгаруучу версия

## verify

verify-heading = Дүмүрчөктү текшерүү
verify-intro = Дүмүрчөктүн QR кодун сканерлеңиз же анын номерин жана кол тамгасын (басылган болсо, ачкычын да) киргизиңиз. Мекеме дүмүрчөктүн JSON файлынан кол коюлган мазмунун да коё алат.
verify-number = Дүмүрчөктүн номери
verify-signature = Кол тамга
verify-submit = Текшерүү
verify-genuine = Дүмүрчөк чыныгы: бул төлөм биз аркылуу жүргүзүлгөн.
verify-not_genuine = Дүмүрчөк чыныгы ЭМЕС.
verify-key = Ачкыч (милдеттүү эмес)
verify-content = Кол коюлган мазмун (милдеттүү эмес, дүмүрчөктүн JSON файлынан)
verify-changed = Бул дүмүрчөк берилгенден кийин төлөмдүн абалы өзгөрдү: { $status }.

## documents

documents-heading = Документтер
documents-in_force = Күчүндөгү редакция
documents-past = Мурунку редакциялар
documents-effective = Күчүнө кирген күнү
documents-edition = Редакция

## paid

charge-paid_heading = Бул код боюнча төлөм жүргүзүлгөн
charge-paid_at = Төлөнгөн күнү
charge-total_paid = Бардыгы төлөндү
receipt_again-intro = Дүмүрчөктү кайра көрүү үчүн төлөп жатканда берген электрондук почтаңызды же картанын акыркы төрт санын киргизиңиз.
receipt_again-proof = Электрондук почта же картанын акыркы 4 саны
receipt_again-hint = Мисалы aibek@example.kg же 1111
receipt_again-submit = Дүмүрчөктү көрсөтүү

## services

nav-services = Кызматтар жана тарифтер
services-heading = Кызматтар жана тарифтер
services-intro = Төлөмдүн суммасы кызматка жана документ канчалык тез керек экенине жараша болот. Төлөнө турган сумма ар дайым төлөм кодуңуздан алынат; бул таблица аны түшүндүрөт.
services-urgency = Мөөнөтү
services-fee = Баасы
services-agency = Мекеме
services-unpublished = Азырынча жарыяланган эмес: сумма шарттуу.

## error

error-heading = Ката
error-not_found = Барак табылган жок.
error-back = Башкы бетке кайтуу

## Башка жерде жасалган төлөмдөр

charge-paid_via = { $date } төлөнгөн, төлөм каналы: { $channel }.
channel-card = банк картасы
channel-bank_app = банктын тиркемеси
channel-terminal = төлөм терминалы
channel-elqr = ELQR (QR-код)
channel-bank_branch = банктын кассасы
