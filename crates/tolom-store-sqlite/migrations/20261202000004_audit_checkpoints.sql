-- tolom storage schema, version 5: signed checkpoints of the audit log.
--
--   * audit_checkpoints  the checkpoints tolom signed (one per size of the
--                        sealed log; `tolom_core::audit::checkpoint`), kept
--                        so that instances agree on the latest and the
--                        daily report can print it. Never changed or
--                        deleted (triggers). The copies that count are
--                        those kept outside the database (a file, a
--                        witness, the report): anyone who can write this
--                        file can delete rows here too.
--
-- SQLite has one writer: an audit entry is chained in the transaction that
-- appends it (nothing waits on a chain head that the writer lock does not
-- already serialise), so there is no pending table here.
-- Forward-only: never edit this file, add a new one.

CREATE TABLE audit_checkpoints (
    size INTEGER PRIMARY KEY CHECK (size >= 0),
    head TEXT    NOT NULL CHECK (length(head) = 64),
    at   TEXT    NOT NULL,
    text TEXT    NOT NULL
) STRICT;

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'tolom:append_only');
END;

CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'tolom:append_only');
END;
