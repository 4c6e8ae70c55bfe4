#!/usr/bin/env bash
# Proves deploy/postgres-roles.sql on a real PostgreSQL:
#
#   1. a scratch database and two scratch roles (owner, app) from the file;
#   2. `tolom migrate` as the owner, then the file again (as after every
#      migration);
#   3. the app role: `tolom codes issue`, `payments list`, `tokens`, `audit
#      verify`, and `tolom serve` (sandbox acquirer) with a payment paid
#      through the JSON API, its background jobs and retention run, stopped
#      with SIGTERM;
#   4. the app role may not UPDATE, DELETE or TRUNCATE the audit log (nor
#      events), drop or disable their triggers, forge a sealed entry, move
#      the chain's head, drop entries waiting to be sealed, rewrite a kept
#      checkpoint or the sealing function, delete charges, or write the
#      migrator's table, and owns nothing in the schema; it seals the log
#      and signs a checkpoint (`tolom audit checkpoint`) that verifies;
#   5. everything dropped again (also on failure or Ctrl-C), and checked
#      gone.
#
# Usage: deploy/check-postgres-roles.sh
#   DATABASE_URL  an admin connection, default postgres://postgres@127.0.0.1:5432/test
#                 (a superuser; the scratch roles log in over the same host:port
#                 with a random password, so trust or password auth both work)
#   TOLOM         the binary, default target/debug/tolom (built when missing)
# Exit 0 when every check passes; 1 on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

ADMIN_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
TOLOM="${TOLOM:-target/debug/tolom}"
re='^postgres(ql)?://([^@/]+@)?([^/?]+)/([^?]+)'
[[ "$ADMIN_URL" =~ $re ]] || { echo "DATABASE_URL must look like postgres://user@host:port/db" >&2; exit 2; }
HOSTPORT="${BASH_REMATCH[3]}"

if [ ! -x "$TOLOM" ]; then
  echo "== building tolom"
  cargo build -q -p tolom-cli
fi

stamp="$(date +%s)_$$"
DB="tolom_rolecheck_$stamp"
OWNER="tolom_rolecheck_owner_$stamp"
APP="tolom_rolecheck_app_$stamp"
SCHEMA=tolom
work="$(mktemp -d)"
serve_pid=""

admin() { psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" "$@"; }
in_db() { psql -X -q -v ON_ERROR_STOP=1 "${ADMIN_URL%/*}/$DB" "$@"; }

cleanup() {
  local rc=$?
  set +e
  if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then
    kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null
  fi
  admin -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" 2>/dev/null
  admin -c "DROP ROLE IF EXISTS \"$APP\"" -c "DROP ROLE IF EXISTS \"$OWNER\"" 2>/dev/null
  rm -rf "$work"
  left="$(admin -At -c "SELECT count(*) FROM pg_database WHERE datname = '$DB'" \
                   -c "SELECT count(*) FROM pg_roles WHERE rolname IN ('$OWNER', '$APP')" 2>/dev/null | awk '{s += $1} END {print s + 0}')"
  if [ "$left" != "0" ]; then
    echo "FAIL: cleanup left $DB or its roles behind" >&2; rc=1
  else
    echo "== cleaned up: database $DB, roles $OWNER and $APP dropped, $work removed"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*" >&2; exit 1; }

# Leftovers of a run that was killed with SIGKILL (older than an hour).
admin -At -c "SELECT datname FROM pg_database WHERE datname ~ '^tolom_rolecheck_[0-9]+_[0-9]+$'
                AND split_part(datname, '_', 3)::bigint < extract(epoch FROM now()) - 3600" |
  while read -r old; do admin -c "DROP DATABASE IF EXISTS \"$old\" WITH (FORCE)"; done
admin -At -c "SELECT rolname FROM pg_roles WHERE rolname ~ '^tolom_rolecheck_(owner|app)_[0-9]+_[0-9]+$'
                AND split_part(rolname, '_', 4)::bigint < extract(epoch FROM now()) - 3600" |
  while read -r old; do admin -c "DROP ROLE IF EXISTS \"$old\""; done

echo "== scratch database $DB, roles $OWNER / $APP"
admin -c "CREATE DATABASE \"$DB\""
roles() { in_db -v schema="$SCHEMA" -v owner="$OWNER" -v app="$APP" "$@" -f deploy/postgres-roles.sql 2>&1 | grep -v 'NOTICE:' || true; }
out="$(roles -v app_create=off)"; [ -z "$out" ] || fail "postgres-roles.sql: $out"
pass "postgres-roles.sql applied (before the first migration)"
out="$(roles -v app_create=off)"; [ -z "$out" ] || fail "postgres-roles.sql again: $out"
pass "postgres-roles.sql is idempotent"
pw_owner="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
pw_app="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
in_db -c "ALTER ROLE \"$OWNER\" PASSWORD '$pw_owner'" -c "ALTER ROLE \"$APP\" PASSWORD '$pw_app'"
printf '%s\n' "$pw_owner" >"$work/owner-password"
printf '%s\n' "$pw_app" >"$work/app-password"
chmod 600 "$work"/*-password

# What every tolom command gets: the schema, a data dir, the shared signing
# key and portal secret (as in deploy/tolom.toml.example), a sandbox acquirer.
"$TOLOM" keys generate --out "$work/receipt-signing.key" >/dev/null
"$TOLOM" keys generate --out "$work/portal-secret.key" >/dev/null
cat >"$work/tolom.toml" <<EOF
data_dir = "$work/data"

[database]
schema = "$SCHEMA"
max_connections = 4

[server]
addr = "127.0.0.1:0"
jobs_interval_secs = 1

[acquirer]
kind = "sandbox"
environment = "development"

[signing]
key_file = "$work/receipt-signing.key"
portal_secret_file = "$work/portal-secret.key"

[retention]
interval_hours = 24
EOF
export TOLOM_CONFIG="$work/tolom.toml"
# The service never migrates (the owner does): the app role needs no CREATE
# on the schema. See postgres-roles.sql.
export TOLOM_DATABASE_RUN_MIGRATIONS=false
as_owner() { TOLOM_DATABASE_URL="postgres://$OWNER@$HOSTPORT/$DB" TOLOM_DATABASE_PASSWORD_FILE="$work/owner-password" "$TOLOM" "$@"; }
as_app() { TOLOM_DATABASE_URL="postgres://$APP@$HOSTPORT/$DB" TOLOM_DATABASE_PASSWORD_FILE="$work/app-password" "$TOLOM" "$@"; }
app_sql() { PGPASSWORD="$pw_app" psql -X -q -At -v ON_ERROR_STOP=1 "postgres://$APP@$HOSTPORT/$DB" "$@"; }

echo "== migrate as the owner"
as_owner migrate || fail "tolom migrate as $OWNER"
pass "tolom migrate as the owner"
out="$(roles -v app_create=off)"; [ -z "$out" ] || fail "postgres-roles.sql after migrate: $out"
pass "postgres-roles.sql applied again after the migration"

echo "== the app role without CREATE on the schema"
out="$(as_app payments list 2>&1)" || fail "tolom payments list as the app role without CREATE: $out"
pass "the app role runs tolom without CREATE on the schema (database.run_migrations = false)"
if out="$(TOLOM_DATABASE_RUN_MIGRATIONS=true as_app payments list 2>&1)"; then
  fail "the app role ran the migrator: it must not be able to create anything in the schema"
fi
case "$out" in
  *"permission denied"*) pass "the app role told to migrate is refused by PostgreSQL (no CREATE)" ;;
  *) fail "the app role told to migrate: $out" ;;
esac

echo "== the CLI as the app role"
charge="$(as_app --json codes issue --service passport-2020 --payer 'Асанов Айбек' --agency-ref ROLES-1)" \
  || fail "tolom codes issue as the app role"
code="$(printf '%s' "$charge" | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')"
pass "tolom codes issue as the app role: code $code"
as_app --json codes issue --service passport-2020 --payer 'Сыдыкова Айгүл' --agency-ref ROLES-2 >/dev/null \
  || fail "a second code"
as_app codes cancel "$(as_app --json codes issue --service passport-2020 --payer 'Cancel Me' --agency-ref ROLES-3 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')" >/dev/null || fail "tolom codes cancel as the app role"
pass "tolom codes cancel as the app role"
as_app payments list >/dev/null || fail "tolom payments list as the app role"
pass "tolom payments list as the app role"
as_app tokens create rolecheck --role auditor >/dev/null && as_app tokens revoke rolecheck >/dev/null \
  || fail "tolom tokens create/revoke as the app role"
pass "tolom tokens create + revoke as the app role"

echo "== tolom serve as the app role"
# exec: $! is tolom itself, so SIGTERM reaches it and `wait` gets its status.
(export TOLOM_DATABASE_URL="postgres://$APP@$HOSTPORT/$DB" TOLOM_DATABASE_PASSWORD_FILE="$work/app-password" TOLOM_LOG=info NO_COLOR=1
 exec "$TOLOM" serve) >"$work/serve.log" 2>&1 &
serve_pid=$!
base=""
for _ in $(seq 1 100); do
  base="$(sed -n 's/^tolom listening on \(http:\/\/[^ ]*\).*/\1/p' "$work/serve.log")"
  [ -n "$base" ] && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; fail "tolom serve as the app role exited"; }
  sleep 0.2
done
[ -n "$base" ] || { cat "$work/serve.log" >&2; fail "tolom serve did not start"; }
pass "tolom serve as the app role: $base"
[ "$(curl -fsS "$base/healthz")" = ok ] || fail "/healthz"
pass "GET /healthz: ok"
api="$base/api/v1"
terms="$(curl -fsS "$api/terms" | python3 -c 'import json,sys; print(json.load(sys.stdin)["in_force"]["id"])')"
payment="$(curl -fsS -X POST "$api/payments" -H 'Content-Type: application/json' -H "Idempotency-Key: rc-start-$stamp" \
  -d "{\"code\":\"$code\",\"accepted_terms\":\"$terms\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')" \
  || fail "POST /api/v1/payments"
state="$(curl -fsS -X POST "$api/payments/$payment/card" -H 'Content-Type: application/json' -H "Idempotency-Key: rc-card-$stamp" \
  -d '{"holder":"AIBEK ASANOV","pan":"4111111111111111","expiry":"12/39","cvv":"123","phone":"+996 555 123 456","email":"aibek@example.kg"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" || fail "POST /api/v1/payments/$payment/card"
[ "$state" = succeeded ] || fail "payment state $state, expected succeeded"
curl -fsS "$api/payments/$payment/receipt" >/dev/null || fail "GET receipt"
pass "a payment through the API as the app role: $payment succeeded, receipt signed"
sleep 2.5   # a few job rounds: outbox delivery, reconciliation, expiry; retention runs at start
kill -TERM "$serve_pid"
if wait "$serve_pid"; then serve_rc=0; else serve_rc=$?; fi
serve_pid=""
[ "$serve_rc" = 0 ] || { cat "$work/serve.log" >&2; fail "tolom serve exited $serve_rc on SIGTERM"; }
grep -q 'retention run' "$work/serve.log" || { cat "$work/serve.log" >&2; fail "no retention run in the log"; }
# Warnings and errors (a job round that failed, a refused statement), colours stripped.
if sed 's/\x1b\[[0-9;]*m//g' "$work/serve.log" | grep -E ' (WARN|ERROR) |permission denied'; then
  fail "warnings or errors in the serve log (above)"
fi
pass "serve's jobs and retention ran without errors; SIGTERM: exit 0"
as_app payments list | grep -q "$payment" || fail "the payment is not listed"
pass "tolom payments list shows the payment"
as_app audit verify || fail "tolom audit verify as the app role"
pass "tolom audit verify as the app role"
as_app audit checkpoint >"$work/checkpoint.txt" || fail "tolom audit checkpoint as the app role"
as_app audit verify --checkpoint "$work/checkpoint.txt" --key "$(as_app audit key)" >/dev/null \
  || fail "tolom audit verify --checkpoint as the app role"
pass "tolom audit checkpoint (seal, sign, keep) and verify --checkpoint as the app role"

echo "== what the app role may not do"
refused() { # refused DESCRIPTION SQL EXPECTED-MESSAGE-PART
  local out
  if out="$(app_sql -c "$2" 2>&1)"; then fail "the app role could: $1 ($2)"; fi
  case "$out" in *"$3"*) pass "refused: $1 — ${out#*ERROR:  }" ;; *) fail "$1: unexpected error: $out" ;; esac
}
[ "$(app_sql -c 'SELECT count(*) > 0 FROM audit_log')" = t ] || fail "the app role cannot read the audit log"
pass "the app role reads the audit log"
refused "UPDATE the audit log"   "UPDATE audit_log SET actor = 'forged'"        "permission denied for table audit_log"
refused "DELETE the audit log"   "DELETE FROM audit_log"                        "permission denied for table audit_log"
refused "TRUNCATE the audit log" "TRUNCATE audit_log"                           "permission denied for table audit_log"
refused "drop its trigger"       "DROP TRIGGER audit_log_append_only ON audit_log" "must be owner"
refused "disable its triggers"   "ALTER TABLE audit_log DISABLE TRIGGER ALL"    "must be owner"
refused "forge a sealed entry"   "INSERT INTO audit_log SELECT seq + 1000, at, actor, action, subject, data, hash, hash FROM audit_log LIMIT 1" "permission denied for table audit_log"
refused "move the chain's head"  "UPDATE audit_head SET seq = 1"                "permission denied for table audit_head"
refused "drop waiting entries"   "DELETE FROM audit_pending"                    "permission denied for table audit_pending"
refused "rewrite a checkpoint"   "UPDATE audit_checkpoints SET text = 'x'"      "permission denied for table audit_checkpoints"
refused "replace the sealer"     "DROP FUNCTION tolom_audit_seal(integer)"      "must be owner"
refused "UPDATE events"          "UPDATE events SET kind = 'forged'"            "permission denied for table events"
refused "DELETE events"          "DELETE FROM events"                           "permission denied for table events"
refused "DELETE charges"         "DELETE FROM charges"                          "permission denied for table charges"
refused "TRUNCATE payments"      "TRUNCATE payments CASCADE"                    "permission denied for table"
refused "rewrite an agreement"   "UPDATE terms_editions SET text_en = 'x'"      "permission denied for table terms_editions"
refused "write the migrator's table" "DELETE FROM _sqlx_migrations"             "permission denied for table _sqlx_migrations"
refused "ALTER a table"          "ALTER TABLE payments DROP CONSTRAINT payments_card_is_masked" "must be owner"
owned="$(app_sql -c "SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole
                      UNION ALL SELECT count(*) FROM pg_proc WHERE proowner = current_user::regrole" | awk '{s += $1} END {print s + 0}')"
[ "$owned" = 0 ] || fail "the app role owns $owned objects"
pass "the app role owns no table, sequence, index or function"
as_app audit verify >/dev/null || fail "audit chain after the refused attempts"
pass "audit chain still intact"

echo "== all checks passed (the app role has no CREATE on the schema)"
