### tolom: messages of payer-facing errors (English).
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

code-empty = Enter the payment code.
code-invalid_characters = The payment code must contain digits only.
code-length = The payment code has the wrong number of digits.
code-prefix = No payment code starts with these digits. Check the code you were given and enter it again.
code-check_digit = The payment code has a typo: check it and enter it again.
code-not_found = This payment code was not found.

## Charge state

charge-expired = This payment code has expired. Please obtain a new code.
charge-already_paid = This payment code has already been paid.
charge-cancelled = This payment code has been cancelled.
charge-fee_unpublished = The fee for this service has not been published yet, so this code cannot be paid here. Please contact the agency that issued the code.
charge-payment_in_progress = A payment for this code is already in progress. Please try again later.
charge-try_again_after = You can try again after { $time } (Bishkek time).

## User agreement

terms-not_accepted = Accept the user agreement to pay.
terms-outdated = The user agreement has changed. Read the new edition and accept it.

## Idempotency

idempotency-key_invalid = The request's idempotency key is invalid.
idempotency-key_reused = This idempotency key was already used for a different request.
idempotency-in_progress = A request with this key is being processed. Retry in a moment.

## Payment

payment-not_found = Payment not found.
payment-already_submitted = Card details for this payment have already been submitted.
payment-not_awaiting_challenge = This payment is not waiting for a confirmation code.
payment-expired = The payment session has expired. Please start again.
payment-acquirer_unavailable = The bank is not available right now. No money was taken; please try again later.
payment-outcome_unknown = The bank has not confirmed the outcome yet. Check the payment status later; you will not be charged twice.
payment-order_left_open = The bank did not complete this payment in time and no money was taken. You can pay again; if your bank still takes the money for this attempt, it is returned or counted automatically.
payment-refunded_at_acquirer = The bank returned the money of this attempt, so it was not counted as paid. Please pay again if the fee is still due.
payment-held_at_acquirer = The bank only held the amount for this attempt and never took it; the hold was released. Please pay again.
payment-challenge_failed = The confirmation code was wrong. The payment did not go through.
payment-otp_wrong = The code is not right. Check the SMS and type the code again; after too many wrong codes the bank declines the payment.
payment-otp_required = Enter the one-time code from the SMS.
# Shown for a stored failure code that this version does not know.
payment-failure_unknown = The payment could not be completed.


## Getting the receipt of a paid code again

proof-required = Enter the e-mail address you gave when paying, or the last four digits of the card.
proof-mismatch = That does not match this payment. Check the e-mail address or the card's last four digits.
proof-unavailable = This code was paid another way, so its receipt is not kept here. Ask the bank or terminal that took the payment.

## Declines

decline-insufficient_funds = Insufficient funds on the card.
decline-expired_card = The bank declined the payment: the card has expired.
decline-incorrect_cvv = The CVV/CVC code is incorrect.
decline-do_not_honour = Your bank declined the payment. Please contact your bank.
decline-lost_or_stolen = The card is blocked. Please contact your bank.
decline-authentication_failed = The payment was not confirmed (3-D Secure).
decline-limit_exceeded = The card's limit has been exceeded.
decline-restricted_card = This card cannot be used for this payment.
decline-invalid_card = The bank did not recognise the card.
decline-other = The bank declined the payment.

## Card form

card-holder_required = Enter the cardholder's name.
card-holder_latin = Write the cardholder's name in Latin letters, as on the card.
card-pan_required = Enter the card number.
card-pan_digits = The card number must contain digits only.
card-pan_length = The card number has the wrong number of digits.
card-pan_luhn = The card number is not valid; check it for a typo.
card-brand_unknown = This card type is not accepted here: please pay with another card.
# The one way the expiry date is written, in the hint and the error alike.
-expiry-format = MM/YY
card-expiry_invalid = Enter the card's expiry date as { -expiry-format }.
card-expired = The card has expired.
card-cvv_required = Enter the CVV/CVC (the 3 digits on the back of the card).
card-cvv_length = The CVV/CVC must be 3 digits.

## Contact details

contact-phone_required = Enter your telephone number.
contact-phone_invalid = The telephone number is not valid. Example: +996 555 123 456.
contact-phone_national_not_kg = There is no such number in Kyrgyzstan. Write a number from another country with + and the country code, e.g. +7 912 345 67 89.
contact-email_required = Enter your e-mail address.
contact-email_invalid = The e-mail address is not valid.

## Refunds

refund-amount_invalid = The refund amount is not valid.
refund-exceeds_paid = The refund exceeds what was paid.
refund-not_refundable = This payment cannot be refunded.
refund-failed = The bank refused the refund.

## Receipts

receipt-not_available = A receipt is only available after a successful payment.
receipt-invalid = This receipt is not genuine or has been altered.

## Requests

request-invalid = The request is not valid.
request-csrf = This page has expired. Reload it and try again.
request-rate_limited = Too many attempts. Please try again in a minute.
request-not_found = Not found.
request-unsupported_media_type = The request body must be application/json.
request-lang_unsupported = This language is not supported: use ky, ru or en.
request-conflict = The payment changed while your request was being answered. Reload the page to see where it stands.

## Access

auth-unauthenticated = An access token is required.
auth-forbidden = You are not allowed to do this.

## The service itself

service-unavailable = The service is temporarily unavailable. Please try again later.
internal-error = Something went wrong on our side. Please try again later or contact support.

## Operator actions

token-exists = A token with this name already exists.
token-not_found = There is no active token with this name.
terms-exists = This edition of the agreement has already been published.
outbox-not_dead = There is no undelivered message with this id.

## Payments made elsewhere

external-channel_invalid = The payment channel is not known. Channels: bank_app, terminal, elqr, bank_branch.
external-reference_invalid = The payment's reference is missing, longer than 100 characters or has control characters.
external-amount_mismatch = The amount paid differs from the amount of the charge.
external-paid_at_invalid = The time of payment is not possible: it is in the future or before the code was issued.
external-reference_conflict = A payment with this channel and reference was already recorded with other data.
external-not_found = There is no payment made elsewhere with this id.
external-not_duplicate = This payment is not a flagged duplicate awaiting an operator.
external-charge_still_paid = The charge is still paid by another payment: refund that payment in full first.
