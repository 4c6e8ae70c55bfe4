#!/usr/bin/env bash
# Checks the deployment recipe without installing anything (run by .ci/run):
#
#   1. `systemd-analyze verify` of every unit in deploy/ (the template as
#      tolom@8081), on copies whose ExecStart is the freshly built binary
#      (verify checks that it exists and is executable). Any message fails:
#      verify only warns, exit 0, about unknown keys or bad values;
#   2. `systemd-analyze security --offline`: the overall exposure of each
#      unit stays at or below 2.0 ("OK"), and the hardening the recipe
#      promises is written in each serving unit;
#   3. TimeoutStopSec is longer than the example's shutdown_grace_secs;
#   4. tolom itself accepts deploy/tolom.toml.example (unknown keys are
#      refused) and shows the shared settings, the code format and the
#      operator; `config check` passes it, with deploy/catalogue.example.json
#      as its catalogue too, and refuses a wrong value naming its key.
#
# Usage: deploy/check-units.sh   (TOLOM=path/to/tolom, default target/debug/tolom,
#                                 built when missing)
set -euo pipefail
cd "$(dirname "$0")/.."

TOLOM="${TOLOM:-target/debug/tolom}"
if [ ! -x "$TOLOM" ]; then
  cargo build -q -p tolom-cli
fi
tolom_abs="$(realpath "$TOLOM")"
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze is missing (apt-get install systemd)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL - $*" >&2; failed=1; }
pass() { echo "ok   - $*"; }

echo "== systemd-analyze verify ($(systemd-analyze --version | head -n1))"
targets=()
for unit in deploy/*.service; do
  name="$(basename "$unit")"
  grep -q '^ExecStart=/usr/local/bin/tolom ' "$unit" || fail "$name: ExecStart is not /usr/local/bin/tolom"
  sed "s#^ExecStart=/usr/local/bin/tolom #ExecStart=$tolom_abs #" "$unit" >"$work/$name"
  case "$name" in
    *@.service) targets+=("$work/${name%@.service}@8081.service") ;;
    *) targets+=("$work/$name") ;;
  esac
done
[ "${#targets[@]}" -ge 3 ] || fail "expected tolom.service, tolom@.service and tolom-migrate.service"
for t in "${targets[@]}"; do
  if out="$(systemd-analyze verify "$t" 2>&1)" && [ -z "$out" ]; then
    pass "verify $(basename "$t")"
  else
    fail "verify $(basename "$t"):"; printf '%s\n' "$out" | sed 's/^/       /' >&2
  fi
done

echo "== systemd-analyze security --offline"
for t in "${targets[@]}"; do
  if out="$(systemd-analyze security --offline=true --threshold=20 "$t" 2>&1)"; then
    pass "$(printf '%s\n' "$out" | grep 'Overall exposure' | sed 's/^→ //')"
  else
    fail "$(basename "$t"): exposure above 2.0:"; printf '%s\n' "$out" | grep -E '✗|Overall' | sed 's/^/       /' >&2
  fi
done
required=(
  'Type=simple' 'User=tolom' 'KillSignal=SIGTERM' 'TimeoutStopSec=45s' 'Restart=on-failure'
  'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes'
  'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' 'ProtectKernelLogs=yes' 'ProtectControlGroups=yes'
  'ProtectClock=yes' 'ProtectHostname=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'
  'RestrictNamespaces=yes' 'RestrictRealtime=yes' 'RestrictSUIDSGID=yes' 'LockPersonality=yes'
  'MemoryDenyWriteExecute=yes' 'SystemCallArchitectures=native' 'SystemCallFilter=@system-service'
  'SystemCallFilter=~@privileged @resources' 'CapabilityBoundingSet=' 'StateDirectory=tolom'
  'StateDirectoryMode=0700' 'UMask=0077'
  'Environment=TOLOM_DATABASE_PASSWORD_FILE=%d/database-password'
  'Environment=TOLOM_SIGNING_KEY_FILE=%d/receipt-signing.key'
  'Environment=TOLOM_PORTAL_SECRET_FILE=%d/portal-secret'
)
for unit in deploy/tolom.service deploy/tolom@.service; do
  missing=()
  for line in "${required[@]}"; do grep -qxF "$line" "$unit" || missing+=("$line"); done
  if [ "${#missing[@]}" = 0 ]; then pass "$(basename "$unit"): the promised hardening and credentials are there"
  else fail "$(basename "$unit") lacks: ${missing[*]}"; fi
done

echo "== stop timeout vs. shutdown grace"
grace="$(sed -n 's/^shutdown_grace_secs *= *\([0-9]*\).*/\1/p' deploy/tolom.toml.example)"
for unit in deploy/tolom.service deploy/tolom@.service; do
  stop="$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$unit")"
  if [ -n "$grace" ] && [ -n "$stop" ] && [ "$stop" -gt "$grace" ]; then
    pass "$(basename "$unit"): TimeoutStopSec ${stop}s > shutdown_grace_secs ${grace}s"
  else
    fail "$(basename "$unit"): TimeoutStopSec (${stop:-?}s) must be longer than shutdown_grace_secs (${grace:-?}s)"
  fi
done

echo "== tolom accepts deploy/tolom.toml.example"
# The units pass the secrets as *_FILE variables; they win over the file's
# paths (which do not exist here).
for s in database-password bpc-password; do printf 'x\n' >"$work/$s"; done
"$TOLOM" keys generate --out "$work/portal-secret" >/dev/null
if out="$(env -u TOLOM_CONFIG TOLOM_DATABASE_PASSWORD_FILE="$work/database-password" \
            TOLOM_BPC_PASSWORD_FILE="$work/bpc-password" TOLOM_PORTAL_SECRET_FILE="$work/portal-secret" \
            "$TOLOM" --config deploy/tolom.toml.example config show 2>&1)"; then
  for want in 'server.public_url +https://pay.example.kg' 'database.schema +tolom' \
              'database.password +\[REDACTED\]' 'acquirer.kind +bpc' \
              'signing.key_file +/etc/tolom/credentials/receipt-signing.key' \
              'codes.length +12' 'codes.check +damm' 'codes.prefixes.driving_licence +16' \
              'operator.name.en +State enterprise "Infocom"' 'operator.phone +119' \
              'operator.website +https://pay.example.kg' 'catalogue_file +\(built-in' \
              'cards.brands +elcart, mir, mastercard, visa, union_pay, maestro'; do
    printf '%s\n' "$out" | grep -Eq "^$want" || fail "config show lacks /$want/: $out"
  done
  pass "tolom --config deploy/tolom.toml.example config show"
else
  fail "tolom refuses deploy/tolom.toml.example: $out"
fi
check() {  # check FILE: tolom config check on FILE with the units' secrets
  env -u TOLOM_CONFIG TOLOM_DATABASE_PASSWORD_FILE="$work/database-password" \
    TOLOM_BPC_PASSWORD_FILE="$work/bpc-password" TOLOM_PORTAL_SECRET_FILE="$work/portal-secret" \
    "$TOLOM" --config "$1" config check 2>&1
}
sed "s|^# catalogue_file = .*|catalogue_file = \"$PWD/deploy/catalogue.example.json\"|" \
  deploy/tolom.toml.example >"$work/with-catalogue.toml"
if out="$(check "$work/with-catalogue.toml")" && printf '%s\n' "$out" | grep -q '^catalogue: 5 services'; then
  pass "tolom config check: deploy/tolom.toml.example with deploy/catalogue.example.json"
else
  fail "config check refuses the example with deploy/catalogue.example.json: $out"
fi
sed 's|^check = "damm"|check = "verhoeff"|' deploy/tolom.toml.example >"$work/wrong.toml"
if out="$(check "$work/wrong.toml")"; then
  fail "config check accepted check = \"verhoeff\": $out"
elif printf '%s\n' "$out" | grep -q 'codes.check = "verhoeff"'; then
  pass "tolom config check refuses a wrong value, naming its key"
else
  fail "config check's refusal does not name codes.check: $out"
fi

if [ "$failed" = 0 ]; then echo "== deploy/: all checks passed"; else echo "== deploy/: FAILED" >&2; exit 1; fi
