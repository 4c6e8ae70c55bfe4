-- Payments made elsewhere.
--
--   * external_payments   a payment of a charge made through another channel
--                         (a bank's app, a terminal, ELQR, a bank's cash
--                         desk) and reported to tolom, known by (channel,
--                         reference): constraint external_payments_reference
--                         (23505 → the stored payment is read again).
--                         'accepted' pays its charge; 'duplicate' was
--                         reported for a charge already paid (flagged for
--                         operators); 'returned' is a flagged one whose money
--                         the channel gave back. Never deleted; only the
--                         state and the resolution change
--                         (external_payments_fixed_fields); an accepted one
--                         stays accepted (external_payments_stay_accepted).
--   * one payer of a      at most one accepted payment made elsewhere per
--     charge              charge (index external_payments_one_accepted), never
--                         next to a paid card payment (checked at commit:
--                         external_payments_card_paid, payments_paid_elsewhere);
--                         the charge is 'paid' exactly while one of them
--                         exists (tolom_charges_paid_matches, made again to
--                         count both; external_payments_paid_charge).
--   * api_tokens          the role 'bank' (a channel that records the
--                         payments made through it).
--
-- Every rule raises check_violation with `CONSTRAINT = '<rule>'`, mapped by
-- name in src/error.rs. Forward-only: never edit this file, add a new one.

CREATE TABLE external_payments (
    id           uuid        PRIMARY KEY,
    charge_id    uuid        NOT NULL REFERENCES charges (id),
    code         text        NOT NULL,
    service      text        NOT NULL,
    channel      text        NOT NULL
        CONSTRAINT external_payments_channel_known
        CHECK (channel IN ('bank_app', 'terminal', 'elqr', 'bank_branch')),
    reference    text        NOT NULL
        CONSTRAINT external_payments_reference_length
        CHECK (char_length(reference) BETWEEN 1 AND 100),
    currency     text        NOT NULL CHECK (length(currency) = 3),
    amount_minor bigint      NOT NULL
        CONSTRAINT external_payments_amount_positive CHECK (amount_minor > 0),
    paid_at      timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL,
    recorded_by  text        NOT NULL,
    state        text        NOT NULL
        CONSTRAINT external_payments_state_known
        CHECK (state IN ('accepted', 'duplicate', 'returned')),
    resolved_at  timestamptz,
    resolution   text,
    -- A resolution has its time and its note, or neither.
    CONSTRAINT external_payments_resolved CHECK ((resolved_at IS NULL) = (resolution IS NULL)),
    CONSTRAINT external_payments_reference UNIQUE (channel, reference)
);

CREATE UNIQUE INDEX external_payments_one_accepted ON external_payments (charge_id)
    WHERE state = 'accepted';
CREATE INDEX external_payments_by_charge ON external_payments (charge_id, recorded_at, id);
CREATE INDEX external_payments_by_recorded ON external_payments (recorded_at, id);
CREATE INDEX external_payments_by_paid ON external_payments (paid_at, id);
CREATE INDEX external_payments_by_state ON external_payments (state, recorded_at, id);

-- Never deleted or emptied.
CREATE TRIGGER external_payments_no_delete BEFORE DELETE ON external_payments
    FOR EACH ROW EXECUTE FUNCTION tolom_no_delete();
CREATE TRIGGER external_payments_no_truncate BEFORE TRUNCATE ON external_payments
    FOR EACH STATEMENT EXECUTE FUNCTION tolom_no_delete();

-- Only the state and the resolution change; an accepted payment stays
-- accepted; nothing is recorded 'returned' (an operator's resolution only).
CREATE FUNCTION tolom_external_payments_rules() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state = 'returned' THEN
            RAISE EXCEPTION 'payment % made elsewhere is recorded paying or flagged', NEW.id
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'external_payments_recorded_returned';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id
       OR NEW.charge_id IS DISTINCT FROM OLD.charge_id
       OR NEW.code IS DISTINCT FROM OLD.code
       OR NEW.service IS DISTINCT FROM OLD.service
       OR NEW.channel IS DISTINCT FROM OLD.channel
       OR NEW.reference IS DISTINCT FROM OLD.reference
       OR NEW.currency IS DISTINCT FROM OLD.currency
       OR NEW.amount_minor IS DISTINCT FROM OLD.amount_minor
       OR NEW.paid_at IS DISTINCT FROM OLD.paid_at
       OR NEW.recorded_at IS DISTINCT FROM OLD.recorded_at
       OR NEW.recorded_by IS DISTINCT FROM OLD.recorded_by THEN
        RAISE EXCEPTION 'payment % made elsewhere changes only its state and resolution', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'external_payments_fixed_fields';
    END IF;
    IF OLD.state = 'accepted' AND NEW.state <> 'accepted' THEN
        RAISE EXCEPTION 'payment % made elsewhere pays its charge and stays accepted', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'external_payments_stay_accepted';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER external_payments_rules BEFORE INSERT OR UPDATE ON external_payments
    FOR EACH ROW EXECUTE FUNCTION tolom_external_payments_rules();

-- At commit: an accepted payment made elsewhere belongs to a 'paid' charge
-- that no card payment pays.
CREATE FUNCTION tolom_external_payments_paid_charge() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.state = 'accepted' THEN
        IF NOT EXISTS (SELECT 1 FROM charges WHERE id = NEW.charge_id AND status = 'paid') THEN
            RAISE EXCEPTION 'payment % made elsewhere pays a charge that is not paid', NEW.id
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'external_payments_paid_charge';
        END IF;
        IF EXISTS (SELECT 1 FROM payments WHERE charge_id = NEW.charge_id
                     AND state IN ('succeeded', 'partially_refunded')) THEN
            RAISE EXCEPTION 'the charge of payment % made elsewhere is paid by card', NEW.id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'external_payments_card_paid';
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER external_payments_paid_charge
    AFTER INSERT OR UPDATE OF state ON external_payments
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (NEW.state = 'accepted')
    EXECUTE FUNCTION tolom_external_payments_paid_charge();

-- A payment that holds money belongs to a Paid charge that nothing made
-- elsewhere pays (version 1's rule, with the second half new).
CREATE OR REPLACE FUNCTION tolom_payments_paid_charge() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.state IN ('succeeded', 'partially_refunded') AND NOT EXISTS (
        SELECT 1 FROM charges WHERE id = NEW.charge_id AND status = 'paid') THEN
        RAISE EXCEPTION 'payment % holds money but its charge is not paid', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_paid_charge';
    END IF;
    IF NEW.state IN ('succeeded', 'partially_refunded') AND EXISTS (
        SELECT 1 FROM external_payments WHERE charge_id = NEW.charge_id
           AND state = 'accepted') THEN
        RAISE EXCEPTION 'the charge of payment % is paid elsewhere', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_paid_elsewhere';
    END IF;
    RETURN NULL;
END $$;

-- A charge is 'paid' exactly when a paid card payment or an accepted payment
-- made elsewhere pays it (version 3's rule, counting both).
CREATE OR REPLACE FUNCTION tolom_charges_paid_matches() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    current_status text;
    has_paid boolean;
BEGIN
    SELECT status INTO current_status FROM charges WHERE id = NEW.id;
    has_paid := EXISTS (SELECT 1 FROM payments WHERE charge_id = NEW.id
                          AND state IN ('succeeded', 'partially_refunded'))
             OR EXISTS (SELECT 1 FROM external_payments WHERE charge_id = NEW.id
                          AND state = 'accepted');
    IF current_status = 'paid' AND NOT has_paid THEN
        RAISE EXCEPTION 'charge % has no paid payment', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'charges_paid_needs_payment';
    END IF;
    IF current_status <> 'paid' AND has_paid THEN
        RAISE EXCEPTION 'charge % has a paid payment and stays paid', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'charges_paid_stays_paid';
    END IF;
    RETURN NULL;
END $$;

-- The bank role.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('issuer', 'operator', 'auditor', 'bank'));
