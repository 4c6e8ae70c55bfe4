-- Operations (the `OpsStore` port): the hash-chained audit log, admin API
-- tokens, and the one allowed change of an outbox payload (retention).
--
-- The audit chain is appended by `tolom_audit_append`, which locks the
-- one-row chain head `audit_head` FOR UPDATE: appends are serialised across
-- every instance and connection until the appending transaction ends, so
-- two entries never share a seq or a predecessor. Every row inserted into
-- `events` is appended by the trigger `events_audit`, in the same
-- transaction as the state change (the `OpsStore` contract).
--
-- The hash is the core's `tolom_core::ops::audit_hash`, computed here:
-- sha256 over (8-byte big-endian length || UTF-8 bytes) of prev_hash, seq,
-- at (RFC 3339, microseconds, `Z`), actor, action, subject and data as
-- compact JSON with keys in byte order (serde_json's `Value::to_string`).
-- Forward-only: never edit this file, add a new one.

CREATE TABLE audit_log (
    seq       bigint      PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor     text        NOT NULL,
    action    text        NOT NULL,
    subject   text        NOT NULL,
    data      jsonb       NOT NULL,
    prev_hash text        NOT NULL CHECK (length(prev_hash) = 64),
    hash      text        NOT NULL CHECK (length(hash) = 64)
);

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION tolom_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION tolom_append_only();

CREATE TABLE audit_head (
    id   int    PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash text   NOT NULL
);
INSERT INTO audit_head VALUES
    (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- serde_json's compact form of a JSON value, object keys in byte order.
CREATE FUNCTION tolom_canonical_json(v jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path FROM CURRENT AS $$
DECLARE
    out text;
BEGIN
    CASE jsonb_typeof(v)
    WHEN 'object' THEN
        SELECT '{' || coalesce(string_agg(to_json(key)::text || ':' || tolom_canonical_json(value),
                                          ',' ORDER BY key COLLATE "C"), '') || '}'
          INTO out FROM jsonb_each(v);
    WHEN 'array' THEN
        SELECT '[' || coalesce(string_agg(tolom_canonical_json(value), ',' ORDER BY n), '') || ']'
          INTO out FROM jsonb_array_elements(v) WITH ORDINALITY AS a(value, n);
    ELSE
        out := v::text;
    END CASE;
    RETURN out;
END $$;

CREATE FUNCTION tolom_audit_part(p text) RETURNS bytea
LANGUAGE sql IMMUTABLE AS
$$ SELECT int8send(octet_length(convert_to(p, 'UTF8'))::bigint) || convert_to(p, 'UTF8') $$;

CREATE FUNCTION tolom_audit_append(p_at timestamptz, p_actor text, p_action text,
                                   p_subject text, p_data jsonb)
RETURNS audit_log
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    head audit_head;
    e audit_log;
BEGIN
    SELECT * INTO head FROM audit_head WHERE id = 1 FOR UPDATE;
    e.seq := head.seq + 1;
    e.at := p_at;
    e.actor := p_actor;
    e.action := p_action;
    e.subject := p_subject;
    e.data := p_data;
    e.prev_hash := head.hash;
    e.hash := encode(sha256(
        tolom_audit_part(e.prev_hash)
        || tolom_audit_part(e.seq::text)
        || tolom_audit_part(to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        || tolom_audit_part(p_actor)
        || tolom_audit_part(p_action)
        || tolom_audit_part(p_subject)
        || tolom_audit_part(tolom_canonical_json(p_data))), 'hex');
    INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash)
        VALUES (e.seq, e.at, e.actor, e.action, e.subject, e.data, e.prev_hash, e.hash);
    UPDATE audit_head SET seq = e.seq, hash = e.hash WHERE id = 1;
    RETURN e;
END $$;

CREATE FUNCTION tolom_events_audit() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM tolom_audit_append(NEW.at, 'system', NEW.kind,
                               coalesce(NEW.payment_id, NEW.charge_id)::text, NEW.data);
    RETURN NULL;
END $$;

CREATE TRIGGER events_audit AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION tolom_events_audit();

CREATE TABLE api_tokens (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('issuer', 'operator', 'auditor')),
    secret_hash text        NOT NULL CHECK (length(secret_hash) = 64),
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    CONSTRAINT api_tokens_name_key UNIQUE (name),
    CONSTRAINT api_tokens_secret_key UNIQUE (secret_hash)
);

CREATE INDEX payments_by_updated ON payments (updated_at, id);

-- Retention may replace the recipient of a receipt e-mail; nothing else of
-- a payload changes.
CREATE OR REPLACE FUNCTION tolom_outbox_fixed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF (NEW.payload IS DISTINCT FROM OLD.payload
        AND NEW.payload IS DISTINCT FROM jsonb_set(OLD.payload, '{to}', '"anonymised@invalid"'))
       OR NEW.channel IS DISTINCT FROM OLD.channel
       OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'the payload of outbox message % is fixed', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'outbox_payload_fixed';
    END IF;
    RETURN NEW;
END $$;
