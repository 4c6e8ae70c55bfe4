### tolom: messages of payer-facing errors (Kyrgyz).
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

code-empty = Төлөм кодун киргизиңиз.
code-invalid_characters = Төлөм коду сандардан гана турат.
code-length = Төлөм кодунун узундугу туура эмес.
code-prefix = Төлөм коду мындай сандар менен башталбайт. Сизге берилген кодду текшерип, кайра киргизиңиз.
code-check_digit = Төлөм кодунда ката бар: текшерип, кайра киргизиңиз.
code-not_found = Мындай төлөм коду табылган жок.

## Charge state

charge-expired = Бул төлөм кодунун мөөнөтү бүттү. Жаңы код алыңыз.
charge-already_paid = Бул төлөм коду боюнча төлөм мурун эле жүргүзүлгөн.
charge-cancelled = Бул төлөм коду жокко чыгарылган.
charge-fee_unpublished = Бул кызматтын акысы азырынча жарыяланган эмес, ошондуктан бул кодду бул жерден төлөөгө болбойт. Кодду берген мекемеге кайрылыңыз.
charge-payment_in_progress = Бул код боюнча төлөм азыр жүрүп жатат. Бир аздан кийин кайталаңыз.
charge-try_again_after = { $time } кийин кайра аракет кылсаңыз болот (Бишкек убактысы менен).

## User agreement

terms-not_accepted = Төлөө үчүн Пайдалануу макулдашуусун кабыл алыңыз.
terms-outdated = Пайдалануу макулдашуусу жаңыланды. Анын жаңы редакциясы менен таанышып, кабыл алыңыз.

## Idempotency

idempotency-key_invalid = Сурамдын ачкычы (Idempotency-Key) туура эмес.
idempotency-key_reused = Бул сурам ачкычы башка сурам үчүн колдонулган.
idempotency-in_progress = Ушул ачкыч менен суроо азыр иштетилүүдө. Бир аздан кийин кайталаңыз.

## Payment

payment-not_found = Төлөм табылган жок.
payment-already_submitted = Бул төлөм үчүн карта маалыматы мурун эле жөнөтүлгөн.
payment-not_awaiting_challenge = Бул төлөм ырастоо кодун күтпөйт.
payment-expired = Төлөм сессиясынын убактысы бүттү. Кайрадан баштаңыз.
payment-acquirer_unavailable = Банк азыр жооп бербей жатат. Акча алынган жок; бир аздан кийин кайталаңыз.
payment-outcome_unknown = Банктан жыйынтык али келе элек. Төлөмдүн абалын кийинчерээк текшериңиз; акча эки жолу алынбайт.
payment-order_left_open = Банк бул төлөмдү убагында аяктаган жок, акча алынган жок. Кайра төлөсөңүз болот; эгер банк бул аракет үчүн акчаны кийин алса, ал автоматтык түрдө кайтарылат же эсепке алынат.
payment-refunded_at_acquirer = Банк бул аракет үчүн акчаны кайтарды, ошондуктан ал төлөм катары эсептелген жок. Эгер жыйым али төлөнө элек болсо, кайра төлөңүз.
payment-held_at_acquirer = Банк бул аракет үчүн сумманы гана бөгөттөп, аны алган жок; бөгөт алынды. Кайра төлөңүз.
payment-challenge_failed = Ырастоо коду туура эмес. Төлөм өткөн жок.
payment-otp_wrong = Код туура эмес. SMS билдирүүнү текшерип, кодду кайра киргизиңиз; код бир нече жолу туура эмес киргизилсе, банк төлөмдү четке кагат.
payment-otp_required = SMS менен келген бир жолку кодду киргизиңиз.
# Shown for a stored failure code that this version does not know.
payment-failure_unknown = Төлөм аягына чыккан жок.


## Төлөнгөн коддун дүмүрчөгүн кайра алуу

proof-required = Төлөп жатканда берген электрондук почтаңызды же картанын акыркы төрт санын киргизиңиз.
proof-mismatch = Бул төлөмгө дал келбейт. Электрондук почтаны же картанын акыркы төрт санын текшериңиз.
proof-unavailable = Бул код башка жол менен төлөнгөн, анын дүмүрчөгү бул жерде сакталбайт. Төлөмдү кабыл алган банкка же терминалга кайрылыңыз.

## Declines

decline-insufficient_funds = Картада каражат жетишсиз.
decline-expired_card = Банк картанын мөөнөтү бүткөн деп четке какты.
decline-incorrect_cvv = CVV/CVC коду туура эмес.
decline-do_not_honour = Картаны чыгарган банк төлөмдү четке какты. Банкыңызга кайрылыңыз.
decline-lost_or_stolen = Карта бөгөттөлгөн. Банкыңызга кайрылыңыз.
decline-authentication_failed = Төлөм ырасталган жок (3-D Secure).
decline-limit_exceeded = Картанын лимити ашып кетти.
decline-restricted_card = Бул карта менен мындай төлөм жүргүзүүгө болбойт.
decline-invalid_card = Банк картаны тааныган жок.
decline-other = Банк төлөмдү четке какты.

## Card form

card-holder_required = Карта ээсинин атын киргизиңиз.
card-holder_latin = Карта ээсинин аты-жөнүн латын тамгалары менен, картадагыдай жазыңыз.
card-pan_required = Картанын номерин киргизиңиз.
card-pan_digits = Картанын номери сандардан гана турат.
card-pan_length = Картанын номеринин узундугу туура эмес.
card-pan_luhn = Картанын номеринде ката бар.
card-brand_unknown = Бул түрдөгү карталар бул жерде кабыл алынбайт: башка карта менен төлөңүз.
# Мөөнөттүн бир гана жазылышы (ай/жыл): кеңеште да, катада да.
-expiry-format = АА/ЖЖ
card-expiry_invalid = Картанын мөөнөтүн { -expiry-format } түрүндө киргизиңиз.
card-expired = Картанын мөөнөтү бүткөн.
card-cvv_required = CVV/CVC кодун киргизиңиз (картанын артындагы 3 сан).
card-cvv_length = CVV/CVC коду 3 сандан турат.

## Contact details

contact-phone_required = Телефон номериңизди киргизиңиз.
contact-phone_invalid = Телефон номери туура эмес. Мисалы: +996 555 123 456.
contact-phone_national_not_kg = Кыргызстанда мындай номер жок. Башка өлкөнүн номерин + жана өлкөнүн коду менен жазыңыз, мисалы: +7 912 345 67 89.
contact-email_required = Электрондук почтаңызды киргизиңиз.
contact-email_invalid = Электрондук почтанын дареги туура эмес.

## Refunds

refund-amount_invalid = Кайтаруу суммасы туура эмес.
refund-exceeds_paid = Кайтаруу суммасы төлөнгөн суммадан ашат.
refund-not_refundable = Бул төлөмдү кайтарууга болбойт.
refund-failed = Банк кайтарууну четке какты.

## Receipts

receipt-not_available = Дүмүрчөк ийгиликтүү төлөмдөн кийин гана берилет.
receipt-invalid = Бул дүмүрчөк чыныгы эмес же өзгөртүлгөн.

## Requests

request-invalid = Сурам туура эмес.
request-csrf = Барактын мөөнөтү бүттү. Баракты жаңыртып, кайра аракет кылыңыз.
request-rate_limited = Өтө көп аракет. Бир мүнөттөн кийин кайталаңыз.
request-not_found = Табылган жок.
request-unsupported_media_type = Суроонун денеси application/json болушу керек.
request-lang_unsupported = Мындай тил колдоого алынбайт: ky, ru же en деп көрсөтүңүз.
request-conflict = Сурамыңыз иштетилип жатканда төлөм өзгөрдү. Анын абалын көрүү үчүн баракты жаңыртыңыз.

## Access

auth-unauthenticated = Кирүү үчүн токен керек.
auth-forbidden = Бул аракетке укугуңуз жок.

## The service itself

service-unavailable = Кызмат убактылуу иштебей жатат. Бир аздан кийин кайталаңыз.
internal-error = Ички ката кетти. Бир аздан кийин кайталаңыз же колдоо кызматына кайрылыңыз.

## Operator actions

token-exists = Мындай аталыштагы токен мурун эле бар.
token-not_found = Мындай аталыштагы активдүү токен жок.
terms-exists = Пайдалануу макулдашуусунун бул редакциясы мурун эле жарыяланган.
outbox-not_dead = Мындай жөнөтүлбөй калган билдирүү жок.

## Башка жерде жасалган төлөмдөр

external-channel_invalid = Төлөм каналы белгисиз. Каналдар: bank_app, terminal, elqr, bank_branch.
external-reference_invalid = Төлөмдүн маалымдамасы жок, 100 белгиден узун же башкаруучу белгилерди камтыйт.
external-amount_mismatch = Төлөнгөн сумма эсептелген төлөмдүн суммасына дал келбейт.
external-paid_at_invalid = Төлөм убактысы мүмкүн эмес: келечекте же код берилгенге чейин.
external-reference_conflict = Бул канал жана маалымдама менен төлөм мурда башка маалыматтар менен катталган.
external-not_found = Мындай идентификатору бар башка жерде жасалган төлөм жок.
external-not_duplicate = Бул төлөм операторду күтүп турган белгиленген кайталанган төлөм эмес.
external-charge_still_paid = Эсеп дагы эле башка төлөм менен төлөнгөн: адегенде ал төлөмдү толук кайтарыңыз.
