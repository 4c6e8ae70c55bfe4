-- PostgreSQL roles for tolom: an owner that migrates, an application role
-- that serves.
--
--   tolom_owner  owns the schema and every table, function and trigger in
--                it. Runs `tolom migrate` (deploy/tolom-migrate.service) and
--                nothing else. Only the owner can ALTER or DROP a table or
--                disable or drop its triggers, so the append-only and
--                never-deleted rules of the schema hold against the
--                application role.
--   tolom_app    runs `tolom serve` and the operators' commands (`tolom
--                codes`, `payments`, `refund`, `tokens`, `audit verify`, ...).
--                SELECT, INSERT, UPDATE on the tables it writes; SELECT and
--                INSERT only on the append-only ones (events, audit_pending —
--                the audit log's entries waiting to be sealed —,
--                audit_checkpoints, terms_editions); SELECT only on the
--                sealed audit log (audit_log, audit_head: only the sealing
--                function tolom_audit_seal, which runs as the owner, writes
--                them; the app role may EXECUTE it) and on the migrator's
--                _sqlx_migrations; never DELETE, TRUNCATE, REFERENCES or
--                TRIGGER. So the service can add to the audit log but never
--                change, delete or re-chain what is in it.
--
-- Run it as a superuser (or a role with CREATEROLE that owns the database),
-- connected to tolom's database. It is idempotent: run it once before the
-- first `tolom migrate`, and AGAIN AFTER EVERY `tolom migrate` (new tables
-- get the default privileges below; this file then takes UPDATE back from
-- the append-only ones):
--
--   createdb -h db.internal -U postgres tolom
--   psql -h db.internal -U postgres -d tolom -f deploy/postgres-roles.sql
--   psql -h db.internal -U postgres -d tolom -c '\password tolom_owner'
--   psql -h db.internal -U postgres -d tolom -c '\password tolom_app'
--
-- Variables (psql -v NAME=VALUE), with their defaults:
--   schema=tolom  owner=tolom_owner  app=tolom_app
--   app_create=off    on: CREATE on the schema for the app role (only for a
--                     service that migrates itself; see the end)
--   lock_database=on  revoke CONNECT and TEMPORARY on the database from PUBLIC
--                     (off when the database is shared with other users)
--
-- deploy/check-postgres-roles.sh runs this file against a scratch database
-- and proves it: migrate as the owner, serve and the CLI as the app role,
-- and the app role refused UPDATE/DELETE/TRUNCATE on the audit log. The
-- cargo test crates/tolom-store-postgres/tests/roles.rs applies this file
-- too and tries every way of rewriting the log as the app role.

\set ON_ERROR_STOP on
\if :{?schema}
\else
  \set schema tolom
\endif
\if :{?owner}
\else
  \set owner tolom_owner
\endif
\if :{?app}
\else
  \set app tolom_app
\endif
\if :{?app_create}
\else
  \set app_create off
\endif
\if :{?lock_database}
\else
  \set lock_database on
\endif
SELECT current_database() AS dbname \gset

BEGIN;

-- ---------------------------------------------------------------------------
-- Roles (passwords are set apart, with \password: never in a file)
-- ---------------------------------------------------------------------------
SELECT format('CREATE ROLE %I', r)
  FROM unnest(ARRAY[:'owner', :'app']) AS r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
ALTER ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
ALTER ROLE :"app"   LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;

-- The schema alone on the path (tolom sets it too when database.schema is
-- given; this covers psql sessions and a configuration without it).
ALTER ROLE :"owner" IN DATABASE :"dbname" SET search_path = :"schema";
ALTER ROLE :"app"   IN DATABASE :"dbname" SET search_path = :"schema";

-- ---------------------------------------------------------------------------
-- The database: only tolom's roles connect
-- ---------------------------------------------------------------------------
\if :lock_database
REVOKE CONNECT, TEMPORARY ON DATABASE :"dbname" FROM PUBLIC;
\endif
GRANT CONNECT ON DATABASE :"dbname" TO :"owner", :"app";

-- ---------------------------------------------------------------------------
-- The schema, owned by the owner. tolom looks the schema up before it would
-- create it, so neither role needs CREATE on the database.
-- ---------------------------------------------------------------------------
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"owner";
ALTER SCHEMA :"schema" OWNER TO :"owner";
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;
GRANT USAGE ON SCHEMA :"schema" TO :"app";

-- ---------------------------------------------------------------------------
-- Tables the owner creates from now on (the next migrations): the app role
-- may read, insert and update them at once, so a rolling upgrade never
-- leaves a running instance without a privilege. Re-running this file
-- after the migration takes UPDATE back from the append-only tables.
-- ---------------------------------------------------------------------------
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema"
    GRANT SELECT, INSERT, UPDATE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema"
    GRANT USAGE ON SEQUENCES TO :"app";

-- ---------------------------------------------------------------------------
-- Tables that exist now (none before the first `tolom migrate`). Only
-- specific privileges are revoked, in one transaction: re-running this file
-- while instances serve never leaves them without a privilege they use.
-- ---------------------------------------------------------------------------
-- Nothing may delete or empty a table, or hang a trigger or a foreign key
-- on one.
SELECT format('REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE %I.%I FROM %I',
              schemaname, tablename, :'app')
  FROM pg_tables WHERE schemaname = :'schema' \gexec

-- Rows tolom changes: charges, payments, refunds, the outbox, admin tokens.
SELECT format('GRANT SELECT, INSERT, UPDATE ON TABLE %I.%I TO %I', schemaname, tablename, :'app')
  FROM pg_tables
 WHERE schemaname = :'schema'
   AND tablename NOT IN ('events', 'audit_log', 'audit_head', 'audit_pending', 'audit_checkpoints',
                         'terms_editions', '_sqlx_migrations') \gexec

-- Append-only: events, the audit log's entries waiting to be sealed, its
-- signed checkpoints, agreement editions: read and append. (Their triggers
-- refuse UPDATE/DELETE/TRUNCATE from anyone; without the privilege the app
-- role is refused before the trigger, and it can neither drop nor disable
-- a trigger: only the owner can.)
SELECT format('REVOKE UPDATE ON TABLE %I.%I FROM %I', schemaname, tablename, :'app')
  FROM pg_tables
 WHERE schemaname = :'schema'
   AND tablename IN ('events', 'audit_pending', 'audit_checkpoints', 'terms_editions') \gexec
SELECT format('GRANT SELECT, INSERT ON TABLE %I.%I TO %I', schemaname, tablename, :'app')
  FROM pg_tables
 WHERE schemaname = :'schema'
   AND tablename IN ('events', 'audit_pending', 'audit_checkpoints', 'terms_editions') \gexec

-- The sealed, hash-chained audit log and its head: read only. Entries
-- reach them through the sealing function tolom_audit_seal alone (SECURITY
-- DEFINER: it runs as the owner; below), which only moves waiting entries
-- to the end of the chain. (On a schema older than the sealing migration,
-- 0006, the app role still appends to the chain itself: there these
-- privileges stay until the migration.)
SELECT format('REVOKE INSERT, UPDATE ON TABLE %I.%I FROM %I', schemaname, tablename, :'app')
  FROM pg_tables
 WHERE schemaname = :'schema' AND tablename IN ('audit_log', 'audit_head')
   AND EXISTS (SELECT FROM pg_tables WHERE schemaname = :'schema' AND tablename = 'audit_pending') \gexec
SELECT format('GRANT SELECT ON TABLE %I.%I TO %I', schemaname, tablename, :'app')
  FROM pg_tables
 WHERE schemaname = :'schema' AND tablename IN ('audit_log', 'audit_head') \gexec

-- The sealing function: the app role's background job and `tolom audit`
-- run it; nobody else needs it.
SELECT format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', p.oid::regprocedure)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = :'schema' AND p.proname = 'tolom_audit_seal' \gexec
SELECT format('GRANT EXECUTE ON FUNCTION %s TO %I', p.oid::regprocedure, :'app')
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = :'schema' AND p.proname = 'tolom_audit_seal' \gexec

-- The migrator's bookkeeping: read only (tolom refuses to start on a
-- schema newer than itself).
SELECT format('REVOKE INSERT, UPDATE ON TABLE %I.%I FROM %I', schemaname, tablename, :'app')
  FROM pg_tables WHERE schemaname = :'schema' AND tablename = '_sqlx_migrations' \gexec
SELECT format('GRANT SELECT ON TABLE %I.%I TO %I', schemaname, tablename, :'app')
  FROM pg_tables WHERE schemaname = :'schema' AND tablename = '_sqlx_migrations' \gexec

-- Sequences: identity columns (refunds.seq, outbox.seq, events.seq) draw
-- from their sequence with the table's INSERT privilege alone; USAGE is
-- for a future serial column.
GRANT USAGE ON ALL SEQUENCES IN SCHEMA :"schema" TO :"app";

-- ---------------------------------------------------------------------------
-- No CREATE on the schema for the app role (app_create=off, the default).
--
-- The service runs with database.run_migrations = false (in tolom.toml, or
-- TOLOM_DATABASE_RUN_MIGRATIONS=false): it checks that the schema is at its
-- build's migration and refuses to start otherwise, and never runs the
-- migrator, whose first statement (CREATE TABLE IF NOT EXISTS
-- _sqlx_migrations) would need CREATE. Migrations run as the owner
-- (tolom-migrate.service) before a new binary serves. app_create=on is for
-- a deployment that lets the service migrate itself: the app role could
-- then create objects in the schema (and would own the tables of a
-- migration it ran), which this file otherwise rules out.
-- ---------------------------------------------------------------------------
\if :app_create
GRANT CREATE ON SCHEMA :"schema" TO :"app";
\else
REVOKE CREATE ON SCHEMA :"schema" FROM :"app";
\endif

COMMIT;
