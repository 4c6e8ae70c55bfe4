### tolom: the receipt e-mail (English).
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
email-subject = Payment receipt No. { $number }: { $service }
# The heading of the HTML body.
email-headline = Payment receipt № { $number }
email-greeting = Hello,
email-intro = We have received your payment for { $service }. Your receipt is below; please keep it until the service has been provided.
email-agency = The agency that issued the payment code is notified of the payment automatically; you do not need to do anything else.
email-link = View and print the receipt online:
email-verify = Check that the receipt is genuine:
email-pdf = The receipt is attached to this message as a PDF file.
email-signed = The receipt carries an electronic signature; you can check that it is genuine on the operator's site.
email-auto = This message was sent automatically; please do not reply to it.
email-questions = If you have questions:
email-why = You received this e-mail because this address was given when paying on { $website }.
