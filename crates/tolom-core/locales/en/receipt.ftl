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
