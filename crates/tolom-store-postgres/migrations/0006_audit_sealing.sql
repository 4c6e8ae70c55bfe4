-- Version 7: the audit log sealed in batches, off the payment path, and its
-- signed checkpoints.
--
-- Until now every audited write (each event, by the trigger `events_audit`,
-- and each operator's note) computed its chain entry in `tolom_audit_append`
-- under the one-row head `audit_head`, locked FOR UPDATE until the writing
-- transaction ended: the commits of all payments, across all instances,
-- happened one after another. From this version on:
--
--   * `tolom_audit_append` (same signature; the events trigger still calls
--     it) only INSERTs the entry into `audit_pending`, whose identity column
--     orders appends. It touches no row any other writer touches: an
--     audited write never waits for another one.
--   * `tolom_audit_seal(max)` moves the oldest pending entries into the
--     chain, in one transaction: it locks `audit_head` (sealers take turns;
--     appends never touch it), gives each entry the next seq, its prev_hash
--     and its hash — the same hash as before, `tolom_core::audit::audit_hash`
--     — inserts it into `audit_log` and deletes its pending row. Any
--     instance's background job runs it every few seconds, and so do
--     `tolom audit verify|list|checkpoint`. An entry pending when a sealer
--     reads is sealed by it; one whose transaction commits later, by the
--     next: the chain's order is the order of sealing, `at` keeps when it
--     happened.
--   * It is SECURITY DEFINER (it runs as the schema's owner), so the
--     service's role needs no INSERT on `audit_log`, no UPDATE on
--     `audit_head` and no DELETE on `audit_pending`: only INSERT on
--     `audit_pending`, SELECT, and EXECUTE on this function
--     (deploy/postgres-roles.sql). Its search path is the schema and then
--     pg_temp, so a temporary table cannot stand in for one of its tables.
--   * A pending entry is never updated, and deleted only by the sealer (the
--     trigger `audit_pending_append_only`).
--   * `audit_checkpoints` keeps the signed checkpoints (one per size; never
--     changed or deleted). The checkpoints that count are the copies kept
--     outside the database.
--
-- Forward-only: never edit this file, add a new one.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE TABLE audit_pending (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL,
    actor   text        NOT NULL,
    action  text        NOT NULL,
    subject text        NOT NULL,
    data    jsonb       NOT NULL
);

-- Deletes only by the sealer (which sets tolom.sealing for its
-- transaction); never an UPDATE or a TRUNCATE.
CREATE FUNCTION tolom_audit_pending_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('tolom.sealing', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit entries waiting to be sealed are only moved by the sealer: % refused', TG_OP
        USING ERRCODE = 'check_violation', CONSTRAINT = 'audit_pending_append_only';
END $$;

CREATE TRIGGER audit_pending_append_only BEFORE UPDATE OR DELETE ON audit_pending
    FOR EACH ROW EXECUTE FUNCTION tolom_audit_pending_guard();
CREATE TRIGGER audit_pending_no_truncate BEFORE TRUNCATE ON audit_pending
    FOR EACH STATEMENT EXECUTE FUNCTION tolom_append_only();

-- Appends without a lock: the entry waits in audit_pending for the sealer.
-- The returned row has no seq, prev_hash or hash yet.
CREATE OR REPLACE FUNCTION tolom_audit_append(p_at timestamptz, p_actor text, p_action text,
                                              p_subject text, p_data jsonb)
RETURNS audit_log
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    e audit_log;
BEGIN
    INSERT INTO audit_pending (at, actor, action, subject, data)
        VALUES (p_at, p_actor, p_action, p_subject, p_data);
    e.at := p_at;
    e.actor := p_actor;
    e.action := p_action;
    e.subject := p_subject;
    e.data := p_data;
    RETURN e;
END $$;

-- Seals up to p_max pending entries, oldest first; returns how many.
CREATE FUNCTION tolom_audit_seal(p_max integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    head audit_head;
    p audit_pending;
    h text;
    n bigint := 0;
BEGIN
    IF p_max IS NULL OR p_max < 1 THEN
        RETURN 0;
    END IF;
    -- Sealers take turns here; appends never take this lock.
    SELECT * INTO head FROM audit_head WHERE id = 1 FOR UPDATE;
    PERFORM set_config('tolom.sealing', 'on', true);
    FOR p IN SELECT * FROM audit_pending ORDER BY id LIMIT p_max LOOP
        head.seq := head.seq + 1;
        h := encode(sha256(
            tolom_audit_part(head.hash)
            || tolom_audit_part(head.seq::text)
            || tolom_audit_part(to_char(p.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
            || tolom_audit_part(p.actor)
            || tolom_audit_part(p.action)
            || tolom_audit_part(p.subject)
            || tolom_audit_part(tolom_canonical_json(p.data))), 'hex');
        INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash)
            VALUES (head.seq, p.at, p.actor, p.action, p.subject, p.data, head.hash, h);
        DELETE FROM audit_pending WHERE id = p.id;
        head.hash := h;
        n := n + 1;
    END LOOP;
    PERFORM set_config('tolom.sealing', 'off', true);
    IF n > 0 THEN
        UPDATE audit_head SET seq = head.seq, hash = head.hash WHERE id = 1;
    END IF;
    RETURN n;
END $$;

CREATE TABLE audit_checkpoints (
    size bigint      PRIMARY KEY CHECK (size >= 0),
    head text        NOT NULL CHECK (length(head) = 64),
    at   timestamptz NOT NULL,
    text text        NOT NULL
);

CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION tolom_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION tolom_append_only();
