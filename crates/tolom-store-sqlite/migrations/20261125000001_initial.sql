-- tolom storage schema, version 1.
--
-- The database itself enforces the invariants the storage ports promise; the
-- Rust code maps the resulting errors to `StoreError` kinds:
--   * one payment in flight per charge  -> partial UNIQUE index payments_one_in_flight
--   * one paid (unrefunded) payment      -> partial UNIQUE index payments_one_paid
--   * refunds never above what was paid  -> CHECK on payments
--   * amounts, charge and code fixed     -> triggers payments_fixed_*, charges_fixed_*
--   * a charge is Paid iff a paid payment exists -> triggers charges_paid_*
--   * events and agreement editions are append-only -> triggers *_no_update/_no_delete
--   * no full card number ever stored    -> CHECK on payments.card (at most 10 digits shown)
--
-- Conventions: ids are lowercase hyphenated UUID text; instants are UTC text
-- `YYYY-MM-DDTHH:MM:SS.fffffffffZ` (fixed width, so text order is time
-- order, nanoseconds kept); money is an INTEGER of minor units (tyiyn) with
-- an ISO 4217 alphabetic currency code; small structured values are JSON
-- text. Tables are STRICT, so a wrong type is refused, not coerced.
-- Migrations are forward-only: never edit this file, add a new one.

CREATE TABLE charges (
    id          TEXT PRIMARY KEY NOT NULL,
    code        TEXT NOT NULL UNIQUE,
    service     TEXT NOT NULL,
    urgency     TEXT,
    payer_name  TEXT NOT NULL,
    currency    TEXT NOT NULL CHECK (length(currency) = 3),
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    issued_at   TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('unpaid', 'paid', 'expired', 'cancelled')),
    agency_ref  TEXT
) STRICT;

CREATE INDEX charges_by_expiry ON charges (expires_at, id);
CREATE INDEX charges_by_status ON charges (status, expires_at, id);

CREATE TABLE payments (
    id              TEXT PRIMARY KEY NOT NULL,
    charge_id       TEXT NOT NULL REFERENCES charges (id),
    code            TEXT NOT NULL,
    service         TEXT NOT NULL,
    currency        TEXT NOT NULL CHECK (length(currency) = 3),
    amount_minor    INTEGER NOT NULL CHECK (amount_minor >= 0),
    fee_minor       INTEGER NOT NULL CHECK (fee_minor >= 0),
    total_minor     INTEGER NOT NULL CHECK (total_minor = amount_minor + fee_minor),
    state           TEXT NOT NULL CHECK (state IN (
                        'created', 'authorizing', 'action_required', 'unknown',
                        'succeeded', 'declined', 'failed', 'expired',
                        'partially_refunded', 'refunded')),
    version         INTEGER NOT NULL CHECK (version >= 1),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    terms_edition   TEXT NOT NULL,
    language        TEXT NOT NULL,
    start_key       TEXT NOT NULL UNIQUE,
    submit_key      TEXT,
    -- CardSummary as JSON: masked PAN, brand, holder. Never a PAN or CVV:
    -- the masked PAN may show at most 10 digits (first 6 + last 4).
    card            TEXT CHECK (card IS NULL OR (
                        json_valid(card)
                        AND json_type(card, '$.masked_pan') = 'text'
                        AND length(json_extract(card, '$.masked_pan'))
                            - length(replace(replace(replace(replace(replace(
                                     replace(replace(replace(replace(replace(
                                     json_extract(card, '$.masked_pan'),
                                     '0', ''), '1', ''), '2', ''), '3', ''), '4', ''),
                                     '5', ''), '6', ''), '7', ''), '8', ''), '9', '')) <= 10)),
    contact         TEXT CHECK (contact IS NULL OR json_valid(contact)),
    acquirer        TEXT,
    acquirer_ref    TEXT,
    approval        TEXT CHECK (approval IS NULL OR json_valid(approval)),
    decline_reason  TEXT,
    failure         TEXT,
    challenge       TEXT CHECK (challenge IS NULL OR json_valid(challenge)),
    refunded_minor  INTEGER NOT NULL CHECK (refunded_minor >= 0),
    refund_pending_minor INTEGER NOT NULL CHECK (refund_pending_minor >= 0),
    succeeded_at    TEXT,
    receipt_number  TEXT UNIQUE,
    -- Refunds (done and reserved) never exceed what was paid.
    CHECK (refunded_minor + refund_pending_minor <= total_minor)
) STRICT;

-- At most one payment of a charge in flight: the database takes the rule
-- atomically when the row is inserted or its state changes.
CREATE UNIQUE INDEX payments_one_in_flight ON payments (charge_id)
    WHERE state IN ('created', 'authorizing', 'action_required', 'unknown');

-- At most one succeeded, unrefunded payment per charge.
CREATE UNIQUE INDEX payments_one_paid ON payments (charge_id)
    WHERE state IN ('succeeded', 'partially_refunded');

CREATE INDEX payments_by_charge ON payments (charge_id, created_at, id);
CREATE INDEX payments_by_created ON payments (created_at, id);
CREATE INDEX payments_by_state ON payments (state, created_at, id);

-- Amounts, currency, charge, code and id never change after insert.
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
    SELECT RAISE(ABORT, 'tolom: a payment''s amounts, charge and code are fixed after creation');
END;

-- Payments are history: never deleted.
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
BEGIN
    SELECT RAISE(ABORT, 'tolom: payments are never deleted');
END;

CREATE TRIGGER charges_fixed_fields
BEFORE UPDATE OF id, code, currency, amount_minor ON charges
WHEN NEW.id IS NOT OLD.id
  OR NEW.code IS NOT OLD.code
  OR NEW.currency IS NOT OLD.currency
  OR NEW.amount_minor IS NOT OLD.amount_minor
BEGIN
    SELECT RAISE(ABORT, 'tolom: a charge''s code and amount are fixed after issue');
END;

-- A charge becomes Paid only when a paid payment of it exists (the payment
-- row is written first in the same transaction) ...
CREATE TRIGGER charges_paid_needs_payment
BEFORE UPDATE OF status ON charges
WHEN NEW.status = 'paid' AND OLD.status <> 'paid'
  AND NOT EXISTS (SELECT 1 FROM payments
                  WHERE charge_id = NEW.id AND state IN ('succeeded', 'partially_refunded'))
BEGIN
    SELECT RAISE(ABORT, 'tolom: a charge is paid only by a paid payment');
END;

-- ... and stays Paid while one exists.
CREATE TRIGGER charges_stay_paid
BEFORE UPDATE OF status ON charges
WHEN OLD.status = 'paid' AND NEW.status <> 'paid'
  AND EXISTS (SELECT 1 FROM payments
              WHERE charge_id = NEW.id AND state IN ('succeeded', 'partially_refunded'))
BEGIN
    SELECT RAISE(ABORT, 'tolom: a charge with a paid payment stays paid');
END;

CREATE TRIGGER charges_no_delete BEFORE DELETE ON charges
BEGIN
    SELECT RAISE(ABORT, 'tolom: charges are never deleted');
END;

CREATE TABLE refunds (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    payment_id      TEXT NOT NULL REFERENCES payments (id),
    currency        TEXT NOT NULL CHECK (length(currency) = 3),
    amount_minor    INTEGER NOT NULL CHECK (amount_minor > 0),
    reason          TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    idempotency_key TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    failure         TEXT,
    UNIQUE (payment_id, idempotency_key)
) STRICT;

CREATE INDEX refunds_by_state ON refunds (state, seq);

CREATE TRIGGER refunds_fixed_fields
BEFORE UPDATE OF id, payment_id, currency, amount_minor ON refunds
WHEN NEW.id IS NOT OLD.id
  OR NEW.payment_id IS NOT OLD.payment_id
  OR NEW.currency IS NOT OLD.currency
  OR NEW.amount_minor IS NOT OLD.amount_minor
BEGIN
    SELECT RAISE(ABORT, 'tolom: a refund''s amount and payment are fixed');
END;

CREATE TRIGGER refunds_no_delete BEFORE DELETE ON refunds
BEGIN
    SELECT RAISE(ABORT, 'tolom: refunds are never deleted');
END;

-- The append-only event log.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    at          TEXT NOT NULL,
    charge_id   TEXT NOT NULL,
    payment_id  TEXT,
    kind        TEXT NOT NULL,
    data        TEXT NOT NULL CHECK (json_valid(data))
) STRICT;

CREATE INDEX events_by_charge ON events (charge_id, seq);
CREATE INDEX events_by_payment ON events (payment_id, seq) WHERE payment_id IS NOT NULL;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'tolom: events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'tolom: events are append-only');
END;

-- The transactional outbox.
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    channel         TEXT NOT NULL,
    payload         TEXT NOT NULL CHECK (json_valid(payload)),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    lease_owner     TEXT,
    last_error      TEXT,
    delivered_at    TEXT,
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
) STRICT;

CREATE INDEX outbox_due ON outbox (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX outbox_by_status ON outbox (status, seq);

CREATE TRIGGER outbox_payload_fixed
BEFORE UPDATE OF id, payload, created_at ON outbox
WHEN NEW.id IS NOT OLD.id OR NEW.payload IS NOT OLD.payload OR NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'tolom: an outbox message''s payload is fixed');
END;

-- User-agreement editions: published once, never rewritten.
CREATE TABLE terms_editions (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    published_at TEXT NOT NULL,
    effective_at TEXT NOT NULL,
    last_changed TEXT NOT NULL,
    text_ky      TEXT NOT NULL,
    text_ru      TEXT NOT NULL,
    text_en      TEXT NOT NULL
) STRICT;

CREATE TRIGGER terms_no_update BEFORE UPDATE ON terms_editions
BEGIN
    SELECT RAISE(ABORT, 'tolom: agreement editions are never rewritten');
END;

CREATE TRIGGER terms_no_delete BEFORE DELETE ON terms_editions
BEGIN
    SELECT RAISE(ABORT, 'tolom: agreement editions are never rewritten');
END;
