### tolom: receipt labels and payment states (English).
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

receipt-label-number = Receipt No.
receipt-label-status = Status
receipt-label-paid_at = Paid at
receipt-label-service = Service
receipt-label-tariff = Urgency
receipt-label-agency = Receiving agency
receipt-label-purpose = Purpose of payment
receipt-label-payer = Payer
receipt-label-code = Payment code
receipt-label-amount = Amount
receipt-label-fee = Fee
receipt-label-total = Total
receipt-label-refunded = Refunded
receipt-label-card = Card
receipt-label-auth_code = Authorisation code
receipt-label-rrn = RRN
receipt-label-acquirer = Acquirer
receipt-label-terms = Agreement edition
receipt-label-operator = Operator
receipt-label-address = Address
receipt-label-support = Support
receipt-label-signature = Signature
receipt-label-key = Key
receipt-label-signed_content = Signed content

## Receipt checks: why a receipt is not genuine (codes receipt.check.*)

receipt-check-malformed = The signature or the signed content is not well-formed.
receipt-check-unknown_key = The receipt names a signing key this site has never used.
receipt-check-key_retired = The key that signed it was retired before the receipt's date.
receipt-check-bad_signature = The signature does not match the receipt's content: it has been altered or forged.
receipt-check-not_found = There is no payment with this receipt number.
receipt-check-not_in_records = The signed content does not match our records of this payment.

## Payment states, as a payer reads them

payment-state-created = Not paid yet
payment-state-authorizing = Processing
payment-state-action_required = Waiting for confirmation
payment-state-unknown = Waiting for the bank
payment-state-succeeded = Paid
payment-state-declined = Declined
payment-state-failed = Failed
payment-state-expired = Expired
payment-state-partially_refunded = Partially refunded
payment-state-refunded = Refunded
payment-state-duplicate = Charged twice: the second charge is being returned
payment-state-returned = Charged twice: the second charge was returned
