-- Version 2: history is never deleted, outbox payloads are fixed, and no
-- full card number can be stored even by mistake.

-- Charges, payments and refunds are history: rows are never deleted
-- (retention anonymises contact data with an UPDATE instead).
CREATE FUNCTION tolom_no_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted', TG_TABLE_NAME
        USING ERRCODE = 'check_violation', CONSTRAINT = TG_TABLE_NAME || '_no_delete';
END $$;

CREATE TRIGGER charges_no_delete BEFORE DELETE ON charges
    FOR EACH ROW EXECUTE FUNCTION tolom_no_delete();
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION tolom_no_delete();
CREATE TRIGGER refunds_no_delete BEFORE DELETE ON refunds
    FOR EACH ROW EXECUTE FUNCTION tolom_no_delete();

-- What an outbox message announces never changes once written.
CREATE FUNCTION tolom_outbox_fixed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.payload IS DISTINCT FROM OLD.payload
       OR NEW.channel IS DISTINCT FROM OLD.channel
       OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'the payload of outbox message % is fixed', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_payload_fixed';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER outbox_payload_fixed BEFORE UPDATE OF id, created_at, channel, payload ON outbox
    FOR EACH ROW EXECUTE FUNCTION tolom_outbox_fixed();

-- The stored card is a summary: its masked PAN shows at most 10 digits
-- (first 6 / last 4), so a full PAN (13-19 digits) cannot land here.
ALTER TABLE payments ADD CONSTRAINT payments_card_is_masked CHECK (
    card IS NULL OR (
        jsonb_typeof(card -> 'masked_pan') = 'string'
        AND length(regexp_replace(card ->> 'masked_pan', '[^0-9]', '', 'g')) <= 10));
