-- Version 3: every payment write is one statement (data-modifying CTEs in
-- one implicit transaction), so the rules that look across tables are
-- checked where they see the whole write.

-- Charges keep their fixed fields in a BEFORE trigger...
CREATE OR REPLACE FUNCTION tolom_charges_rules() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.code IS DISTINCT FROM OLD.code
       OR NEW.amount_minor IS DISTINCT FROM OLD.amount_minor
       OR NEW.currency IS DISTINCT FROM OLD.currency
       OR NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'code and amount of charge % are fixed', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'charges_fixed_fields';
    END IF;
    RETURN NEW;
END $$;

-- ...and their status rule at commit: a charge is `paid` exactly when it
-- has a paid payment. (The payment side, "a paid payment's charge is
-- paid", is `payments_paid_charge` from version 1.)
CREATE FUNCTION tolom_charges_paid_matches() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    current_status text;
    has_paid boolean;
BEGIN
    SELECT status INTO current_status FROM charges WHERE id = NEW.id;
    has_paid := EXISTS (SELECT 1 FROM payments WHERE charge_id = NEW.id
                          AND state IN ('succeeded', 'partially_refunded'));
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

CREATE CONSTRAINT TRIGGER charges_paid_matches
    AFTER UPDATE OF status ON charges
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION tolom_charges_paid_matches();

-- A payment is only ever created for an unpaid charge. An AFTER trigger
-- runs once the row is in the indexes, i.e. after the in-flight index made
-- this insert wait for a concurrent payment of the same charge: a success
-- committed meanwhile (charge now `paid`) is seen here. The share lock
-- keeps the charge's status until this transaction ends.
CREATE FUNCTION tolom_payments_charge_payable() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    charge_status text;
BEGIN
    SELECT status INTO charge_status FROM charges WHERE id = NEW.charge_id FOR SHARE;
    IF FOUND AND charge_status <> 'unpaid' THEN
        RAISE EXCEPTION 'charge % is %', NEW.charge_id, charge_status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'payments_charge_payable';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER payments_charge_payable AFTER INSERT ON payments
    FOR EACH ROW EXECUTE FUNCTION tolom_payments_charge_payable();

-- Lets one statement refuse itself (and so roll back all its parts).
CREATE FUNCTION tolom_refuse(rule text, message text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION '%', message USING ERRCODE = 'check_violation', CONSTRAINT = rule;
END $$;
