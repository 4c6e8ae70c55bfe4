-- Version 5: who did it. Every event records its actor (`system` for payers
-- and background work, `token:<name>` or `cli:<user>` for operators), and
-- the audit chain records each event with that actor instead of always
-- `system`.
--
-- Events written before this version were all written by the system: the
-- column's default says so for them (a constant default: no table rewrite,
-- no row trigger fires).
--
-- Refusals keep a stable machine identity: every trigger and CHECK of
-- versions 1-4 raises SQLSTATE 23514 (check_violation) with
-- `USING CONSTRAINT = '<rule>'`, and the unique indexes carry their names,
-- so the adapter maps a refusal by SQLSTATE and constraint name
-- (`src/error.rs`), never by the text of its message. The rules the
-- adapter raises from its own statements go through `tolom_refuse(rule, ...)`
-- with the rule as the constraint name.
--
-- Forward-only: never edit this file, add a new one.

ALTER TABLE events ADD COLUMN actor text NOT NULL DEFAULT 'system';

CREATE OR REPLACE FUNCTION tolom_events_audit() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM tolom_audit_append(NEW.at, NEW.actor, NEW.kind,
                               coalesce(NEW.payment_id, NEW.charge_id)::text, NEW.data);
    RETURN NULL;
END $$;
