### tolom: the receipt e-mail (Kyrgyz).
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
email-subject = Төлөм боюнча дүмүрчөк № { $number }: { $service }
# The heading of the HTML body.
email-headline = Төлөм боюнча дүмүрчөк № { $number }
email-greeting = Саламатсызбы!
email-intro = «{ $service }» кызматы үчүн төлөмүңүз кабыл алынды. Төмөндө төлөмдүн дүмүрчөгү берилди: аны кызмат көрсөтүлгөнгө чейин сактап коюңуз.
email-agency = Төлөм кодун берген мекемеге төлөм тууралуу автоматтык түрдө кабар берилет, кошумча эч нерсе кылуунун кереги жок.
email-link = Дүмүрчөктү онлайн көрүү жана басып чыгаруу:
email-verify = Дүмүрчөктүн чындыгын текшерүү:
email-pdf = Дүмүрчөк ушул катка PDF файл катары тиркелди.
email-signed = Дүмүрчөк электрондук кол тамга менен корголгон; анын чындыгын оператордун сайтынан текшерсеңиз болот.
email-auto = Бул кат автоматтык түрдө жөнөтүлдү, ага жооп бербеңиз.
email-questions = Суроолоруңуз болсо:
email-why = Бул катты { $website } сайтында төлөп жатканда ушул электрондук даректи көрсөткөнүңүз үчүн алдыңыз.
