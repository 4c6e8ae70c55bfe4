-- tolom storage schema, version 2: operations (the `OpsStore` port).
--
--   * audit_log   the tamper-evident, hash-chained audit log. Every event
--                 written through the storage ports is appended here in the
--                 same transaction (see `insert_event` in src/store.rs), and
--                 admin actions through `OpsStore::append_audit`. The single
--                 writer connection (`BEGIN IMMEDIATE`) serialises appends,
--                 so two entries never get the same seq or link to the same
--                 predecessor. Rows are never updated or deleted (triggers);
--                 someone with write access to the file can still drop the
--                 triggers, which is why the chain exists: `tolom audit
--                 verify` finds any altered, inserted or deleted row.
--   * api_tokens  admin API tokens: only the SHA-256 of the secret is kept.
--   * retention   the outbox payload may change in exactly one way: the
--                 recipient of a receipt e-mail is replaced when the
--                 personal data of its payment is anonymised.
-- Forward-only: never edit this file, add a new one.

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    data      TEXT NOT NULL CHECK (json_valid(data)),
    prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash      TEXT NOT NULL CHECK (length(hash) = 64)
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'tolom: the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'tolom: the audit log is append-only');
END;

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('issuer', 'operator', 'auditor')),
    secret_hash TEXT NOT NULL UNIQUE CHECK (length(secret_hash) = 64),
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
) STRICT;

CREATE INDEX payments_by_updated ON payments (updated_at, id);

DROP TRIGGER outbox_payload_fixed;

CREATE TRIGGER outbox_payload_fixed
BEFORE UPDATE OF id, payload, created_at ON outbox
WHEN NEW.id IS NOT OLD.id
  OR NEW.created_at IS NOT OLD.created_at
  OR (NEW.payload IS NOT OLD.payload
      AND NEW.payload IS NOT json_set(OLD.payload, '$.data.to', 'anonymised@invalid'))
BEGIN
    SELECT RAISE(ABORT, 'tolom: an outbox message''s payload is fixed');
END;
