-- tolom storage schema: duplicate approvals.
--
--   * payments.state     two more states: 'duplicate' (the acquirer approved a
--                        payment whose charge another payment had paid: the
--                        card was charged twice and the money is to be
--                        given back) and 'returned' (it was: reversed, or
--                        refunded in full). Neither is paid (the one-paid
--                        index and the charge's status are the paying
--                        payment's) nor in flight.
--   * return_attempts,   the back-off of giving a duplicate back: failed
--     next_return_at     attempts so far and when the next is due (set only
--                        while 'duplicate': CHECK return_scheduled), so that
--                        reconciliation asks the acquirer about a duplicate
--                        only when an attempt is due, not every round.
--   * payments, refunds  rebuilt as in version 3 (SQLite cannot change a
--                        CHECK): copy, drop, rename; refunds with it, as it
--                        references payments. Every other column, rule,
--                        index and trigger is as before; the triggers that
--                        name payments are dropped first and made again at
--                        the end.
--
-- sqlx runs this file in one transaction with foreign keys on, so the
-- rebuild drops the child (refunds) before the parent (payments).
-- Forward-only: never edit this file, add a new one.

DROP TRIGGER payments_fixed_fields;
DROP TRIGGER payments_no_delete;
DROP TRIGGER charges_paid_needs_payment;
DROP TRIGGER charges_stay_paid;
DROP TRIGGER refunds_fixed_fields;
DROP TRIGGER refunds_no_delete;

CREATE TABLE refunds_v8_copy AS SELECT * FROM refunds;
DROP TABLE refunds;

CREATE TABLE payments_v9 (
    id              TEXT PRIMARY KEY NOT NULL,
    charge_id       TEXT NOT NULL REFERENCES charges (id),
    code            TEXT NOT NULL,
    service         TEXT NOT NULL,
    currency        TEXT NOT NULL CONSTRAINT payment_currency CHECK (length(currency) = 3),
    amount_minor    INTEGER NOT NULL
                        CONSTRAINT payment_amount_not_negative CHECK (amount_minor >= 0),
    fee_minor       INTEGER NOT NULL
                        CONSTRAINT payment_fee_not_negative CHECK (fee_minor >= 0),
    total_minor     INTEGER NOT NULL
                        CONSTRAINT total_is_amount_plus_fee
                        CHECK (total_minor = amount_minor + fee_minor),
    state           TEXT NOT NULL CONSTRAINT payment_state_known CHECK (state IN (
                        'created', 'authorizing', 'action_required', 'unknown',
                        'succeeded', 'declined', 'failed', 'expired',
                        'partially_refunded', 'refunded', 'duplicate', 'returned')),
    version         INTEGER NOT NULL CONSTRAINT version_positive CHECK (version >= 1),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    terms_edition   TEXT NOT NULL,
    language        TEXT NOT NULL,
    start_key       TEXT NOT NULL UNIQUE,
    submit_key      TEXT,
    -- CardSummary as JSON: masked PAN, brand, holder. Never a PAN or CVV:
    -- the masked PAN may show at most 10 digits (first 6 + last 4).
    card            TEXT CONSTRAINT card_masked CHECK (card IS NULL OR (
                        json_valid(card)
                        AND json_type(card, '$.masked_pan') = 'text'
                        AND length(json_extract(card, '$.masked_pan'))
                            - length(replace(replace(replace(replace(replace(
                                     replace(replace(replace(replace(replace(
                                     json_extract(card, '$.masked_pan'),
                                     '0', ''), '1', ''), '2', ''), '3', ''), '4', ''),
                                     '5', ''), '6', ''), '7', ''), '8', ''), '9', '')) <= 10)),
    contact         TEXT CONSTRAINT contact_json CHECK (contact IS NULL OR json_valid(contact)),
    acquirer        TEXT,
    acquirer_ref    TEXT,
    approval        TEXT CONSTRAINT approval_json
                        CHECK (approval IS NULL OR json_valid(approval)),
    decline_reason  TEXT,
    failure         TEXT,
    challenge       TEXT CONSTRAINT challenge_json
                        CHECK (challenge IS NULL OR json_valid(challenge)),
    refunded_minor  INTEGER NOT NULL
                        CONSTRAINT refunded_not_negative CHECK (refunded_minor >= 0),
    refund_pending_minor INTEGER NOT NULL
                        CONSTRAINT refund_pending_not_negative CHECK (refund_pending_minor >= 0),
    succeeded_at    TEXT,
    receipt_number  TEXT UNIQUE,
    -- Failed attempts to give a duplicate's money back, and when the next
    -- one is due (only while the payment is a duplicate).
    return_attempts INTEGER NOT NULL DEFAULT 0
                        CONSTRAINT return_attempts_not_negative CHECK (return_attempts >= 0),
    next_return_at  TEXT,
    -- Refunds (done and reserved) never exceed what was paid.
    CONSTRAINT refunds_within_total
        CHECK (refunded_minor + refund_pending_minor <= total_minor),
    -- A duplicate keeps the approval it was charged with, and never has a
    -- receipt (the receipt is the paying payment's).
    CONSTRAINT duplicate_has_approval CHECK (
        state NOT IN ('duplicate', 'returned')
        OR (approval IS NOT NULL AND succeeded_at IS NOT NULL AND receipt_number IS NULL)),
    -- The next attempt is scheduled exactly while the money is not back.
    CONSTRAINT return_scheduled CHECK ((state = 'duplicate') = (next_return_at IS NOT NULL))
) STRICT;

INSERT INTO payments_v9 (id, charge_id, code, service, currency, amount_minor, fee_minor,
    total_minor, state, version, created_at, updated_at, expires_at, terms_edition, language,
    start_key, submit_key, card, contact, acquirer, acquirer_ref, approval, decline_reason,
    failure, challenge, refunded_minor, refund_pending_minor, succeeded_at, receipt_number)
SELECT id, charge_id, code, service, currency, amount_minor, fee_minor,
    total_minor, state, version, created_at, updated_at, expires_at, terms_edition, language,
    start_key, submit_key, card, contact, acquirer, acquirer_ref, approval, decline_reason,
    failure, challenge, refunded_minor, refund_pending_minor, succeeded_at, receipt_number
FROM payments;

DROP TABLE payments;
ALTER TABLE payments_v9 RENAME TO payments;

-- At most one payment of a charge in flight; at most one succeeded,
-- unrefunded payment per charge (version 3: the constant key column makes
-- SQLite name the index in its error).
CREATE UNIQUE INDEX payments_one_in_flight ON payments (charge_id, (1))
    WHERE state IN ('created', 'authorizing', 'action_required', 'unknown');
CREATE UNIQUE INDEX payments_one_paid ON payments (charge_id, (1))
    WHERE state IN ('succeeded', 'partially_refunded');

CREATE INDEX payments_by_charge ON payments (charge_id, created_at, id);
CREATE INDEX payments_by_created ON payments (created_at, id);
CREATE INDEX payments_by_state ON payments (state, created_at, id);
CREATE INDEX payments_by_updated ON payments (updated_at, id);
-- The duplicates whose next attempt is due.
CREATE INDEX payments_returns_due ON payments (next_return_at) WHERE state = 'duplicate';

CREATE TABLE refunds (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    payment_id      TEXT NOT NULL REFERENCES payments (id),
    currency        TEXT NOT NULL CONSTRAINT refund_currency CHECK (length(currency) = 3),
    amount_minor    INTEGER NOT NULL CONSTRAINT refund_amount_positive CHECK (amount_minor > 0),
    reason          TEXT NOT NULL,
    state           TEXT NOT NULL CONSTRAINT refund_state_known
                        CHECK (state IN ('pending', 'succeeded', 'failed')),
    idempotency_key TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    failure         TEXT,
    UNIQUE (payment_id, idempotency_key)
) STRICT;

INSERT INTO refunds (seq, id, payment_id, currency, amount_minor, reason, state,
    idempotency_key, created_at, updated_at, failure)
SELECT seq, id, payment_id, currency, amount_minor, reason, state,
    idempotency_key, created_at, updated_at, failure
FROM refunds_v8_copy ORDER BY seq;

DROP TABLE refunds_v8_copy;

CREATE INDEX refunds_by_state ON refunds (state, seq);

-- The triggers of version 3 that name payments or refunds, as they were.

-- Amounts, currency, charge, code and id of a payment never change.
CREATE TRIGGER payments_fixed_fields
BEFORE UPDATE OF id, charge_id, code, currency, amount_minor, fee_minor, total_minor ON payments
WHEN NEW.id IS NOT OLD.id
  OR NEW.charge_id IS NOT OLD.charge_id
  OR NEW.code IS NOT OLD.code
  OR NEW.currency IS NOT OLD.currency
  OR NEW.amount_minor IS NOT OLD.amount_minor
  OR NEW.fee_minor IS NOT OLD.fee_minor
  OR NEW.total_minor IS NOT OLD.total_minor
BEGIN
    SELECT RAISE(ABORT, 'tolom:immutable_field');
END;

-- Payments are history: never deleted.
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
BEGIN
    SELECT RAISE(ABORT, 'tolom:append_only');
END;

-- A charge becomes Paid only when a paid payment of it exists (the payment
-- row is written first in the same transaction) ...
CREATE TRIGGER charges_paid_needs_payment
BEFORE UPDATE OF status ON charges
WHEN NEW.status = 'paid' AND OLD.status <> 'paid'
  AND NOT EXISTS (SELECT 1 FROM payments
                  WHERE charge_id = NEW.id AND state IN ('succeeded', 'partially_refunded'))
BEGIN
    SELECT RAISE(ABORT, 'tolom:paid_without_payment');
END;

-- ... and stays Paid while one exists.
CREATE TRIGGER charges_stay_paid
BEFORE UPDATE OF status ON charges
WHEN OLD.status = 'paid' AND NEW.status <> 'paid'
  AND EXISTS (SELECT 1 FROM payments
              WHERE charge_id = NEW.id AND state IN ('succeeded', 'partially_refunded'))
BEGIN
    SELECT RAISE(ABORT, 'tolom:paid_without_payment');
END;

CREATE TRIGGER refunds_fixed_fields
BEFORE UPDATE OF id, payment_id, currency, amount_minor ON refunds
WHEN NEW.id IS NOT OLD.id
  OR NEW.payment_id IS NOT OLD.payment_id
  OR NEW.currency IS NOT OLD.currency
  OR NEW.amount_minor IS NOT OLD.amount_minor
BEGIN
    SELECT RAISE(ABORT, 'tolom:immutable_field');
END;

CREATE TRIGGER refunds_no_delete BEFORE DELETE ON refunds
BEGIN
    SELECT RAISE(ABORT, 'tolom:append_only');
END;
