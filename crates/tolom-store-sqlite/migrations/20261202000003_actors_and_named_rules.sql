-- tolom storage schema, version 3: event actors, and every rule of the
-- schema under a stable name the adapter maps its errors by.
--
--   * events.actor   who caused an event: 'system' (payers, background
--                    jobs), 'token:<name>' or 'cli:<user>' (operators).
--                    Rows written before this migration were all 'system'.
--   * triggers       every trigger is recreated (same names) raising a
--                    stable machine token instead of prose:
--                        tolom:immutable_field        a fixed field would change
--                        tolom:append_only            a row would be rewritten or deleted
--                        tolom:paid_without_payment   a charge would be Paid without a
--                                                     paid payment, or leave Paid with one
--                    src/error.rs maps the exact token (SQLite extended code
--                    1811, SQLITE_CONSTRAINT_TRIGGER) to an InvariantKind.
--   * payments,      rebuilt (the usual SQLite table rebuild: copy, drop,
--     refunds        rename) so that every CHECK has a name; SQLite reports a
--                    named CHECK as "CHECK constraint failed: <name>" (275,
--                    SQLITE_CONSTRAINT_CHECK). refunds is rebuilt with it
--                    because it references payments. Columns, types, STRICT,
--                    rules and data are unchanged.
--   * one-in-flight, the two partial unique indexes get a constant expression
--     one-paid       as their second key column. It changes nothing about
--                    what is unique (every row of a partial index has the same
--                    value there), but SQLite names an index with an
--                    expression in its error ("UNIQUE constraint failed: index
--                    'payments_one_paid'") where it otherwise lists the
--                    columns, which both indexes share (payments.charge_id).
--
-- Constraints that SQLite cannot name (UNIQUE on columns: it reports the
-- columns, e.g. "charges.code"; unnamed CHECKs of the other tables;
-- FOREIGN KEY; NOT NULL; STRICT types) are mapped by the extended result
-- code and the column list. See docs/adapters.md, "Errors: map at the edge".
--
-- sqlx runs this file in one transaction with foreign keys on, so the
-- rebuild drops the child (refunds) before the parent (payments).
-- Forward-only: never edit this file, add a new one.

ALTER TABLE events ADD COLUMN actor TEXT NOT NULL DEFAULT 'system';

-- Every trigger goes; all are created again at the end.
DROP TRIGGER payments_fixed_fields;
DROP TRIGGER payments_no_delete;
DROP TRIGGER charges_fixed_fields;
DROP TRIGGER charges_paid_needs_payment;
DROP TRIGGER charges_stay_paid;
DROP TRIGGER charges_no_delete;
DROP TRIGGER refunds_fixed_fields;
DROP TRIGGER refunds_no_delete;
DROP TRIGGER events_no_update;
DROP TRIGGER events_no_delete;
DROP TRIGGER outbox_payload_fixed;
DROP TRIGGER terms_no_update;
DROP TRIGGER terms_no_delete;
DROP TRIGGER audit_log_no_update;
DROP TRIGGER audit_log_no_delete;

-- refunds, set aside (it references payments).
CREATE TABLE refunds_v2_copy AS SELECT * FROM refunds;
DROP TABLE refunds;

-- payments, with named CHECKs.
CREATE TABLE payments_v3 (
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
                        'partially_refunded', 'refunded')),
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
    -- Refunds (done and reserved) never exceed what was paid.
    CONSTRAINT refunds_within_total
        CHECK (refunded_minor + refund_pending_minor <= total_minor)
) STRICT;

INSERT INTO payments_v3 (id, charge_id, code, service, currency, amount_minor, fee_minor,
    total_minor, state, version, created_at, updated_at, expires_at, terms_edition, language,
    start_key, submit_key, card, contact, acquirer, acquirer_ref, approval, decline_reason,
    failure, challenge, refunded_minor, refund_pending_minor, succeeded_at, receipt_number)
SELECT id, charge_id, code, service, currency, amount_minor, fee_minor,
    total_minor, state, version, created_at, updated_at, expires_at, terms_edition, language,
    start_key, submit_key, card, contact, acquirer, acquirer_ref, approval, decline_reason,
    failure, challenge, refunded_minor, refund_pending_minor, succeeded_at, receipt_number
FROM payments;

DROP TABLE payments;
ALTER TABLE payments_v3 RENAME TO payments;

-- At most one payment of a charge in flight; at most one succeeded,
-- unrefunded payment per charge. The constant second key column only makes
-- SQLite name the index in its error (see the top of this file).
CREATE UNIQUE INDEX payments_one_in_flight ON payments (charge_id, (1))
    WHERE state IN ('created', 'authorizing', 'action_required', 'unknown');
CREATE UNIQUE INDEX payments_one_paid ON payments (charge_id, (1))
    WHERE state IN ('succeeded', 'partially_refunded');

CREATE INDEX payments_by_charge ON payments (charge_id, created_at, id);
CREATE INDEX payments_by_created ON payments (created_at, id);
CREATE INDEX payments_by_state ON payments (state, created_at, id);
CREATE INDEX payments_by_updated ON payments (updated_at, id);

-- refunds, with named CHECKs, back from the copy.
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
FROM refunds_v2_copy ORDER BY seq;

DROP TABLE refunds_v2_copy;

CREATE INDEX refunds_by_state ON refunds (state, seq);

-- The triggers, raising tokens.

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

CREATE TRIGGER charges_fixed_fields
BEFORE UPDATE OF id, code, currency, amount_minor ON charges
WHEN NEW.id IS NOT OLD.id
  OR NEW.code IS NOT OLD.code
  OR NEW.currency IS NOT OLD.currency
  OR NEW.amount_minor IS NOT OLD.amount_minor
BEGIN
    SELECT RAISE(ABORT, 'tolom:immutable_field');
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

CREATE TRIGGER charges_no_delete BEFORE DELETE ON charges
BEGIN
    SELECT RAISE(ABORT, 'tolom:append_only');
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

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'tolom:append_only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'tolom:append_only');
END;

-- An outbox message's payload may change in exactly one way: the recipient
-- of a receipt e-mail is replaced when its payment's personal data is
-- anonymised.
CREATE TRIGGER outbox_payload_fixed
BEFORE UPDATE OF id, payload, created_at ON outbox
WHEN NEW.id IS NOT OLD.id
  OR NEW.created_at IS NOT OLD.created_at
  OR (NEW.payload IS NOT OLD.payload
      AND NEW.payload IS NOT json_set(OLD.payload, '$.data.to', 'anonymised@invalid'))
BEGIN
    SELECT RAISE(ABORT, 'tolom:immutable_field');
END;

CREATE TRIGGER terms_no_update BEFORE UPDATE ON terms_editions
BEGIN
    SELECT RAISE(ABORT, 'tolom:append_only');
END;

CREATE TRIGGER terms_no_delete BEFORE DELETE ON terms_editions
BEGIN
    SELECT RAISE(ABORT, 'tolom:append_only');
END;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'tolom:append_only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'tolom:append_only');
END;
