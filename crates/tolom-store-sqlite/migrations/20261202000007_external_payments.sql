-- tolom storage schema: payments made elsewhere.
--
--   * external_payments   a payment of a charge made through another channel
--                         (a bank's app, a terminal, ELQR, a bank's cash
--                         desk) and reported to tolom, known by (channel,
--                         reference). 'accepted' pays its charge;
--                         'duplicate' was reported for a charge already paid
--                         (flagged for operators); 'returned' is a flagged
--                         one whose money the channel gave back. Never
--                         deleted; only the state and the resolution change
--                         (trigger external_payments_fixed_fields), and an
--                         accepted one stays accepted.
--   * one payer of a      a charge is paid by one thing: at most one accepted
--     charge              payment made elsewhere (index
--                         external_payments_one_accepted), never next to a
--                         paid card payment (triggers
--                         external_payments_charge_payable,
--                         payments_not_paid_elsewhere); the charge is 'paid'
--                         exactly while one of them exists (the triggers
--                         charges_paid_needs_payment and charges_stay_paid,
--                         made again to count both).
--   * api_tokens          the role 'bank' (a channel that records payments
--                         made through it): rebuilt, as SQLite cannot change
--                         a CHECK.
--
-- The named rules raise `tolom:<kind>` tokens that src/error.rs maps to the
-- port's invariant kinds.
-- Forward-only: never edit this file, add a new one.

CREATE TABLE external_payments (
    id           TEXT PRIMARY KEY NOT NULL,
    charge_id    TEXT NOT NULL REFERENCES charges (id),
    code         TEXT NOT NULL,
    service      TEXT NOT NULL,
    channel      TEXT NOT NULL CONSTRAINT external_channel_known
                     CHECK (channel IN ('bank_app', 'terminal', 'elqr', 'bank_branch')),
    reference    TEXT NOT NULL CONSTRAINT external_reference_length
                     CHECK (length(reference) BETWEEN 1 AND 100),
    currency     TEXT NOT NULL CONSTRAINT external_currency CHECK (length(currency) = 3),
    amount_minor INTEGER NOT NULL CONSTRAINT external_amount_positive CHECK (amount_minor > 0),
    paid_at      TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    recorded_by  TEXT NOT NULL,
    state        TEXT NOT NULL CONSTRAINT external_state_known
                     CHECK (state IN ('accepted', 'duplicate', 'returned')),
    resolved_at  TEXT,
    resolution   TEXT,
    -- A resolution has its time and its note, or neither.
    CONSTRAINT external_resolved CHECK ((resolved_at IS NULL) = (resolution IS NULL)),
    UNIQUE (channel, reference)
) STRICT;

-- At most one accepted payment made elsewhere per charge (the constant key
-- column makes SQLite name the index in its error).
CREATE UNIQUE INDEX external_payments_one_accepted ON external_payments (charge_id, (1))
    WHERE state = 'accepted';
CREATE INDEX external_payments_by_charge ON external_payments (charge_id, recorded_at, id);
CREATE INDEX external_payments_by_recorded ON external_payments (recorded_at, id);
CREATE INDEX external_payments_by_paid ON external_payments (paid_at, id);
CREATE INDEX external_payments_by_state ON external_payments (state, recorded_at, id);

-- Only the state and the resolution change.
CREATE TRIGGER external_payments_fixed_fields
BEFORE UPDATE OF id, charge_id, code, service, channel, reference, currency, amount_minor,
    paid_at, recorded_at, recorded_by ON external_payments
WHEN NEW.id IS NOT OLD.id
  OR NEW.charge_id IS NOT OLD.charge_id
  OR NEW.code IS NOT OLD.code
  OR NEW.service IS NOT OLD.service
  OR NEW.channel IS NOT OLD.channel
  OR NEW.reference IS NOT OLD.reference
  OR NEW.currency IS NOT OLD.currency
  OR NEW.amount_minor IS NOT OLD.amount_minor
  OR NEW.paid_at IS NOT OLD.paid_at
  OR NEW.recorded_at IS NOT OLD.recorded_at
  OR NEW.recorded_by IS NOT OLD.recorded_by
BEGIN
    SELECT RAISE(ABORT, 'tolom:immutable_field');
END;

CREATE TRIGGER external_payments_no_delete BEFORE DELETE ON external_payments
BEGIN
    SELECT RAISE(ABORT, 'tolom:append_only');
END;

-- An accepted payment pays its charge for good.
CREATE TRIGGER external_payments_stay_accepted
BEFORE UPDATE OF state ON external_payments
WHEN OLD.state = 'accepted' AND NEW.state <> 'accepted'
BEGIN
    SELECT RAISE(ABORT, 'tolom:paid_without_payment');
END;

-- A payment is reported as paying or as a duplicate; 'returned' is an
-- operator's resolution only.
CREATE TRIGGER external_payments_not_returned_at_first
BEFORE INSERT ON external_payments
WHEN NEW.state = 'returned'
BEGIN
    SELECT RAISE(ABORT, 'tolom:external_recorded_returned');
END;

-- An accepted payment made elsewhere pays a charge that nothing else pays
-- (written before the charge becomes 'paid', in the same transaction).
CREATE TRIGGER external_payments_charge_payable
BEFORE INSERT ON external_payments
WHEN NEW.state = 'accepted'
  AND (NOT EXISTS (SELECT 1 FROM charges
                   WHERE id = NEW.charge_id AND status IN ('unpaid', 'expired'))
       OR EXISTS (SELECT 1 FROM payments
                  WHERE charge_id = NEW.charge_id
                    AND state IN ('succeeded', 'partially_refunded')))
BEGIN
    SELECT RAISE(ABORT, 'tolom:charge_already_paid');
END;

CREATE TRIGGER external_payments_accepted_payable
BEFORE UPDATE OF state ON external_payments
WHEN NEW.state = 'accepted' AND OLD.state <> 'accepted'
  AND (NOT EXISTS (SELECT 1 FROM charges
                   WHERE id = NEW.charge_id AND status IN ('unpaid', 'expired'))
       OR EXISTS (SELECT 1 FROM payments
                  WHERE charge_id = NEW.charge_id
                    AND state IN ('succeeded', 'partially_refunded')))
BEGIN
    SELECT RAISE(ABORT, 'tolom:charge_already_paid');
END;

-- A card payment never becomes paid for a charge paid elsewhere.
CREATE TRIGGER payments_not_paid_elsewhere
BEFORE UPDATE OF state ON payments
WHEN NEW.state IN ('succeeded', 'partially_refunded')
  AND OLD.state NOT IN ('succeeded', 'partially_refunded')
  AND EXISTS (SELECT 1 FROM external_payments
              WHERE charge_id = NEW.charge_id AND state = 'accepted')
BEGIN
    SELECT RAISE(ABORT, 'tolom:charge_already_paid');
END;

-- The charge is 'paid' exactly while something pays it: made again from
-- version 6 to count accepted payments made elsewhere too.
DROP TRIGGER charges_paid_needs_payment;
DROP TRIGGER charges_stay_paid;

CREATE TRIGGER charges_paid_needs_payment
BEFORE UPDATE OF status ON charges
WHEN NEW.status = 'paid' AND OLD.status <> 'paid'
  AND NOT EXISTS (SELECT 1 FROM payments
                  WHERE charge_id = NEW.id AND state IN ('succeeded', 'partially_refunded'))
  AND NOT EXISTS (SELECT 1 FROM external_payments
                  WHERE charge_id = NEW.id AND state = 'accepted')
BEGIN
    SELECT RAISE(ABORT, 'tolom:paid_without_payment');
END;

CREATE TRIGGER charges_stay_paid
BEFORE UPDATE OF status ON charges
WHEN OLD.status = 'paid' AND NEW.status <> 'paid'
  AND (EXISTS (SELECT 1 FROM payments
               WHERE charge_id = NEW.id AND state IN ('succeeded', 'partially_refunded'))
       OR EXISTS (SELECT 1 FROM external_payments
                  WHERE charge_id = NEW.id AND state = 'accepted'))
BEGIN
    SELECT RAISE(ABORT, 'tolom:paid_without_payment');
END;

-- The bank role. api_tokens has no trigger and nothing references it.
CREATE TABLE api_tokens_v10 (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('issuer', 'operator', 'auditor', 'bank')),
    secret_hash TEXT NOT NULL UNIQUE CHECK (length(secret_hash) = 64),
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
) STRICT;

INSERT INTO api_tokens_v10 (id, name, role, secret_hash, created_at, revoked_at)
SELECT id, name, role, secret_hash, created_at, revoked_at FROM api_tokens;

DROP TABLE api_tokens;
ALTER TABLE api_tokens_v10 RENAME TO api_tokens;
