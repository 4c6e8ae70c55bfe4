### tolom: labels, headings and hints of the payment portal (English).
###
### Message ids are stable codes with their dots written as dashes: the id
### `code-check_digit` is the code `code.check_digit` (codes never contain
### `-`, so the mapping is reversible). tolom-core's build turns every id
### into a variant of `tolom_core::i18n::Text` (`Text::CodeCheckDigit`) and
### fails when an id is missing from one of ky, ru and en, when a message
### uses other variables in another language, or when a file does not parse.
### Keep every message on one line.

## site

site-name = Tolom
site-tagline = Pay for state services by payment code

## skip

skip = Skip to content

## lang

lang-switch = Language

## nav

nav-home = Home
nav-documents = Documents
nav-verify = Verify a receipt

## footer

footer-operator = Operator
footer-address = Address
footer-support = Support

## home

home-heading = Enter your payment code
home-intro = The code is issued by the state agency. We show the payer's name (masked), the amount and the status.

## code

code-label = Payment code
code-hint = Digits only; spaces are allowed.
code-submit = Look up

## charge

charge-heading = Payment details
charge-code = Payment code
charge-service = Service
charge-tariff = Urgency
charge-payer = Payer
charge-amount = Amount
charge-fee = Fee
charge-total = Total to pay
charge-status = Status
charge-expires = Pay by
charge-pay = Pay
charge-not_payable = This code cannot be paid now.
charge-status-unpaid = Not paid
charge-status-paid = Paid
charge-status-expired = Expired
charge-status-cancelled = Cancelled

## terms

terms-heading = User agreement
terms-intro = Before paying, read and accept the user agreement in force.
terms-last_changed = Last changed
terms-edition = Edition
terms-accept = I have read and accept the user agreement
terms-continue = Continue
terms-all_documents = All documents and past editions

## card

card-heading = Pay by card
card-intro = Fill in every field. Card details are not stored.
card-holder = Cardholder name (Latin letters)
card-holder_hint = As on the card, e.g. AIBEK ASANOV
card-pan = Card number
card-pan_hint = { $digits } digits
card-expiry = Expiry date
card-expiry_hint = { -expiry-format }, e.g. { $example }
card-cvv = CVV/CVC
card-cvv_hint = The { $digits } digits on the back of the card
card-phone = Phone
card-phone_hint = E.g. +996 555 123 456; a number from abroad with + and the country code
card-email = E-mail
card-email_hint = The receipt is sent to this address
card-submit = Pay
card-security = Card details go to the bank and are never stored.
card-hosted_intro = Or enter the card on the bank's secure payment page instead of this form.
card-hosted = Pay on the bank's page

## errors

errors-summary = Please correct these fields:

## confirm

confirm-heading = Confirm the payment
confirm-intro = Enter the one-time code your bank sent by SMS.
confirm-otp = One-time code
confirm-submit = Confirm

## redirect

redirect-heading = Confirm at your bank
redirect-intro = To confirm the payment, continue to your bank's page.
redirect-submit = Continue to the bank

## status

status-heading = Payment status
status-processing = The payment is being processed. This page refreshes itself; you may also reload it.
status-try_again = Try again
status-receipt = View the receipt
status-reason = Reason

## receipt

receipt-heading = Receipt
receipt-pdf = Download PDF
receipt-json = The receipt as JSON
receipt-verify_link = Check that this receipt is genuine
receipt-print = To print, use your browser's Print command.
receipt-verify = Verification link
receipt-qr = QR code: a link to verify that this receipt is genuine
receipt-printable = Printable version

## verify

verify-heading = Verify a receipt
verify-intro = Scan the receipt's QR code, or enter its number and signature (and its key, if printed). An agency can also paste the receipt's signed content from its JSON.
verify-number = Receipt number
verify-signature = Signature
verify-submit = Verify
verify-genuine = The receipt is genuine: this payment was made through us.
verify-not_genuine = The receipt is NOT genuine.
verify-key = Key (optional)
verify-content = Signed content (optional, from the receipt's JSON)
verify-changed = Since this receipt was issued, the payment's status has changed to: { $status }.

## documents

documents-heading = Documents
documents-in_force = Edition in force
documents-past = Past editions
documents-effective = In force from
documents-edition = Edition

## paid

charge-paid_heading = This code has been paid
charge-paid_at = Paid on
charge-total_paid = Total paid
receipt_again-intro = To see the receipt again, enter the e-mail address you gave when paying, or the last four digits of the card.
receipt_again-proof = E-mail or the card's last 4 digits
receipt_again-hint = E.g. aibek@example.kg or 1111
receipt_again-submit = Show the receipt

## services

nav-services = Services and fees
services-heading = Services and fees
services-intro = The fee depends on the service and on how soon you need the document. The amount you pay always comes from your payment code; this table explains it.
services-urgency = Urgency
services-fee = Fee
services-agency = Agency
services-unpublished = Not published yet: the amount is a placeholder.

## error

error-heading = Error
error-not_found = Page not found.
error-back = Back to the home page

## Payments made elsewhere

charge-paid_via = Paid on { $date } via { $channel }.
channel-card = bank card
channel-bank_app = bank app
channel-terminal = payment terminal
channel-elqr = ELQR (QR code)
channel-bank_branch = bank cash desk
