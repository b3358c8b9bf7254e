#!/usr/bin/env bash
# The contract, attacked: schemathesis (pinned, from PyPI, in a cached venv) against the
# release binary on a fresh SQLite database with a mail server (scripts/smtp_sink.py),
# a seeded admin (whose Bearer token drives the run) and a seeded user (the document's
# login example); every route, all phases, all checks, a fixed seed and a bounded time.
# Any failure fails the script, and so does an error in the server's log.
#
#   scripts/contract.sh            # after `cargo build --release`
#   CONTRACT_SEED=7 CONTRACT_MAX_TIME=300 scripts/contract.sh
#
# The report (JUnit XML, an NDJSON event log and the server's log) is left in
# target/contract/.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
SEED=${CONTRACT_SEED:-20261201}
# The budget of the whole schemathesis run (fuzzing and stateful testing repeat until it
# is spent); with start-up the step stays under 150 s.
MAX_TIME=${CONTRACT_MAX_TIME:-120}

target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/release/latchkey"
if [ ! -x "$bin" ]; then
  echo "contract.sh: $bin not found; run cargo build --release first" >&2
  exit 1
fi

# shellcheck source=scripts/python_tool.sh
. scripts/python_tool.sh
python_tool schemathesis "$SCHEMATHESIS_VERSION" schemathesis
schemathesis="$tool_bin/schemathesis"

work=$(mktemp -d)
server_pid=
sink_pid=
cleanup() {
  for pid in $server_pid $sink_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A mail server that takes every mail, so the recovery routes answer as they do in
# production rather than 503 email_unavailable.
python3 scripts/smtp_sink.py "$work/smtp.port" &
sink_pid=$!
for _ in $(seq 50); do
  [ -s "$work/smtp.port" ] && break
  kill -0 "$sink_pid" 2>/dev/null || { echo "contract.sh: the SMTP sink did not start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/smtp.port" ] || { echo "contract.sh: the SMTP sink did not start" >&2; exit 1; }
export LATCHKEY_SMTP__URL="smtp://127.0.0.1:$(cat "$work/smtp.port")"
export LATCHKEY_SMTP__FROM="latchkey <auth@example.com>"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export LATCHKEY_DATABASE_URL="sqlite://$work/latchkey.db"
export LATCHKEY_LISTEN="127.0.0.1:$port"
export LATCHKEY_PUBLIC_URL="$base"
export LATCHKEY_LOG__FORMAT=json
# Throttling answers 429 (documented, and accepted by the checks), but at the default
# limits it would soon answer nothing else: the run is one client making thousands of
# attempts. tests/api/throttling.rs holds the limits themselves.
export LATCHKEY_THROTTLE__LOGIN_PER_ACCOUNT=1000000
export LATCHKEY_THROTTLE__LOGIN_PER_IP=1000000
export LATCHKEY_THROTTLE__SIGNUP_PER_IP=1000000
export LATCHKEY_THROTTLE__EMAIL_PER_ACCOUNT=1000000
export LATCHKEY_THROTTLE__EMAIL_PER_IP=1000000

# The admin's address is unverified, so POST /api/email/verify/resend can answer 202.
admin_password="contract-admin-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
echo "$admin_password" | "$bin" user create --username contract-admin --email contract-admin@example.com --admin >/dev/null
# The document's example credentials log in, so the examples phase reaches the 200s.
echo "correct horse battery" | "$bin" user create --username ada --email ada@example.com >/dev/null

"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done

tokens=$(curl -fsS "$base/api/token" -H 'content-type: application/json' \
  -d "{\"username\": \"contract-admin\", \"password\": \"$admin_password\"}")
export CONTRACT_ACCESS_TOKEN=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["access_token"])' "$tokens")
export CONTRACT_ADMIN_ID=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["user"]["id"])' "$tokens")

report="$target_dir/contract"
mkdir -p "$report"
echo "==> schemathesis $SCHEMATHESIS_VERSION: seed $SEED, fuzzing and stateful for ${MAX_TIME}s"
status=0
SCHEMATHESIS_HOOKS=scripts.contract_hooks PYTHONPATH=. "$schemathesis" --config-file scripts/contract.toml \
  run "$base/api/openapi.json" \
  --url "$base" \
  --phases "${CONTRACT_PHASES:-examples,coverage,fuzzing,stateful}" \
  --checks all \
  --seed "$SEED" \
  --max-time "$MAX_TIME" \
  --workers 1 \
  --request-timeout 10 \
  --report junit,ndjson --report-dir "$report" \
  --generation-database none \
  --warnings off \
  --no-color || status=$?
cp "$work/server.log" "$report/server.log"

if grep -q '"level":"ERROR"' "$work/server.log"; then
  echo "contract.sh: the server logged errors:" >&2
  grep '"level":"ERROR"' "$work/server.log" | head -20 >&2
  status=1
fi
exit $status
