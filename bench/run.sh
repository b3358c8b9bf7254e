#!/usr/bin/env bash
# latchkey's benchmark: one command, one run, one table of figures and ratios.
#
#   bench/run.sh [--postgres URL] [--users N] [--million | --no-million]
#
# Builds the release binary and the bare-axum ceiling (bench/ceiling), then for SQLite
# (and PostgreSQL when a URL is given) starts latchkey on a fresh database, seeds N users
# with live sessions (default 1000) through bench/seed.py, and measures with wrk:
#   check_session (cookie), /api/me (Bearer EdDSA), /healthz, logins/s, check_session
#   during a login flood, check_session over 10,000 distinct sessions, resident memory;
# then (unless --no-million) grows the database to 1,000,000 users and sessions and
# measures check_session and memory again. The ceiling (/hello and an in-memory
# check_session) and, when present, the Flask reference of ../shared/bench/flask_ref
# (FLASK_REF=DIR to point elsewhere, FLASK_REF= to skip) run in the same run, so only
# ratios within one run are compared.
#
# Environment: DURATION (s per figure, 10), CONC (64), MIX_CONC (16), PORT (18080).
# The benchmark's own address logs in thousands of times: the per-IP login budget is lifted.
# Needs wrk, curl, python3 (and psql for PostgreSQL). Logs go to bench/logs/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

args="$*"
postgres_url=
users=1000
million=1
while [ $# -gt 0 ]; do
  case $1 in
    --postgres) postgres_url=$2; shift 2 ;;
    --users) users=$2; shift 2 ;;
    --million) million=1; shift ;;
    --no-million) million=0; shift ;;
    *) echo "usage: bench/run.sh [--postgres URL] [--users N] [--million|--no-million]" >&2; exit 2 ;;
  esac
done
DURATION=${DURATION:-10}
CONC=${CONC:-64}
MIX_CONC=${MIX_CONC:-16}
PORT=${PORT:-18080}
CEILING_PORT=$((PORT + 1))
FLASK_PORT=$((PORT + 2))
FLASK_REF=${FLASK_REF-$root/../shared/bench/flask_ref}
PASSWORD='bench-Password-4821'
logs=$here/logs
mkdir -p "$logs"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for tool in wrk curl python3; do
  command -v $tool >/dev/null || { echo "bench/run.sh needs $tool (apt-get install $tool)" >&2; exit 1; }
done

echo "==> building (release)" >&2
cargo build -q --release --bin latchkey
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
latchkey=$target_dir/release/latchkey
cargo build -q --release --manifest-path "$here/ceiling/Cargo.toml" --target-dir "$target_dir/bench-ceiling"
ceiling=$target_dir/bench-ceiling/release/latchkey-bench-ceiling

# Results: name → value, in the order they were measured.
declare -A fig
order=()
record() { fig[$1]=$2; order+=("$1"); }

# measure NAME CONC URL [wrk options]: one wrk run after a 2 s warm-up; records
# NAME.rps, NAME.p99 (ms) and fails loudly if any answer was not 2xx.
measure() {
  local name=$1 conc=$2 url=$3
  shift 3
  wrk -t1 -c"$conc" -d2s --timeout 60s -s "$here/wrk.lua" "$@" "$url" >/dev/null
  local out
  out=$(wrk -t1 -c"$conc" -d"${DURATION}s" --timeout 60s -s "$here/wrk.lua" "$@" "$url" | grep '^WRK')
  echo "$name: $out" >>"$logs/wrk.log"
  local rps p99 non2xx errors
  rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$out")
  p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$out")
  non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$out")
  errors=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$out")
  if [ "$non2xx" != 0 ] || [ "$errors" != 0 ]; then
    echo "bench: $name had $non2xx non-2xx answers and $errors socket errors: $out" >&2
    exit 1
  fi
  record "$name.rps" "$rps"
  record "$name.p99" "$p99"
}

rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# peak_rss_during PID NAME COMMAND...: runs COMMAND (in this shell, so that what it
# records stays recorded) while sampling PID's resident memory; records NAME.
peak_rss_during() {
  local pid=$1 name=$2
  shift 2
  local file=$work/rss.$RANDOM
  (while kill -0 "$pid" 2>/dev/null; do rss_mib "$pid" >>"$file"; echo >>"$file"; sleep 0.2; done) &
  local sampler=$!
  "$@"
  kill $sampler 2>/dev/null || true
  wait $sampler 2>/dev/null || true
  record "$name" "$(sort -n "$file" | tail -1)"
}

wait_for() {
  for _ in $(seq 200); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "bench: $1 did not answer" >&2
  exit 1
}

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

echo "==> one password hash (argon2id m=19456 t=2 p=1, the reference implementation)" >&2
venv=$target_dir/bench-venv
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" -q install argon2-cffi==23.1.0; }
hash_ms=$("$venv/bin/python" - <<'EOF'
import statistics, time
from argon2 import PasswordHasher
ph = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
times = []
for _ in range(7):
    t = time.perf_counter(); ph.hash("bench-Password-4821"); times.append(time.perf_counter() - t)
print(f"{statistics.median(times) * 1000:.2f}")
EOF
)
cores=$(nproc)
record hash.ms "$hash_ms"

# bench_latchkey LABEL DATABASE_URL
bench_latchkey() {
  local label=$1 db=$2 base=http://127.0.0.1:$PORT
  echo "==> latchkey on $label" >&2
  LATCHKEY_LISTEN=127.0.0.1:$PORT LATCHKEY_PUBLIC_URL=$base LATCHKEY_DATABASE_URL=$db \
    LATCHKEY_THROTTLE__SIGNUP_PER_IP=1000000000 LATCHKEY_THROTTLE__LOGIN_PER_IP=1000000000 \
    RUST_LOG=${RUST_LOG:-info} "$latchkey" serve >"$logs/latchkey-$label.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_for "$base/healthz"
  local origin=(-H "Origin: $base" -H "Content-Type: application/json")
  curl -fs "${origin[@]}" -d "{\"username\":\"benchmark\",\"password\":\"$PASSWORD\",\"password_confirmation\":\"$PASSWORD\"}" \
    "$base/api/signup" >/dev/null
  local token
  token=$(curl -fs "${origin[@]}" -d "{\"username\":\"benchmark\",\"password\":\"$PASSWORD\"}" "$base/api/token" | json_field access_token)
  python3 "$here/seed.py" "$db" --users "$users" --template benchmark --cookies "$work/cookies-$label"
  local cookie
  cookie=$(head -1 "$work/cookies-$label")
  curl -fs -H "Cookie: $cookie" "$base/api/check_session" | grep -q '"username"' \
    || { echo "bench: a seeded session is not accepted" >&2; exit 1; }
  sleep 1
  record "$label.rss_idle" "$(rss_mib "$pid")"

  peak_rss_during "$pid" "$label.rss_load" measure "$label.check_session" "$CONC" "$base/api/check_session" -H "Cookie: $cookie"
  BENCH_COOKIES=$work/cookies-$label measure "$label.check_session_many" "$CONC" "$base/api/check_session"
  measure "$label.me_bearer" "$CONC" "$base/api/me" -H "Authorization: Bearer $token"
  measure "$label.healthz" "$CONC" "$base/healthz"
  local login=(-H "Origin: $base" -H "Content-Type: application/json")
  # Logins cycle through the seeded accounts: one account takes at most 10 password
  # checks at once (the throttle reserves a slot per attempt in flight).
  BENCH_METHOD=POST BENCH_LOGIN_USERS=$users BENCH_PASSWORD=$PASSWORD \
    measure "$label.login" "$CONC" "$base/api/login" "${login[@]}"

  measure "$label.check_alone" "$MIX_CONC" "$base/api/check_session" -H "Cookie: $cookie"
  BENCH_METHOD=POST BENCH_LOGIN_USERS=$users BENCH_PASSWORD=$PASSWORD \
    wrk -t1 -c"$MIX_CONC" -d"$((DURATION + 4))s" --timeout 60s -s "$here/wrk.lua" "${login[@]}" "$base/api/login" \
    >"$logs/login-flood-$label.log" &
  local flood=$!
  sleep 1
  measure "$label.check_flood" "$MIX_CONC" "$base/api/check_session" -H "Cookie: $cookie"
  wait $flood

  if [ "$million" = 1 ] && [ "$users" -lt 1000000 ]; then
    echo "==> growing the $label database to 1,000,000 users and sessions" >&2
    python3 "$here/seed.py" "$db" --users $((1000000 - users)) --offset "$users" --template benchmark \
      --cookies "$work/cookies-$label-1m" 2>&1 | sed "s/^/  /" >&2
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    LATCHKEY_LISTEN=127.0.0.1:$PORT LATCHKEY_PUBLIC_URL=$base LATCHKEY_DATABASE_URL=$db \
      LATCHKEY_THROTTLE__LOGIN_PER_IP=1000000000 RUST_LOG=${RUST_LOG:-info} \
      "$latchkey" serve >>"$logs/latchkey-$label.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_for "$base/healthz"
    cookie=$(tail -1 "$work/cookies-$label-1m")
    measure "$label.check_session_1m" "$CONC" "$base/api/check_session" -H "Cookie: $cookie"
    BENCH_COOKIES=$work/cookies-$label-1m measure "$label.check_session_many_1m" "$CONC" "$base/api/check_session"
    record "$label.rss_1m" "$(rss_mib "$pid")"
  fi
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

bench_latchkey sqlite "sqlite://$work/latchkey.db"
if [ -n "$postgres_url" ]; then
  bench_db="latchkey_bench_$$"
  psql -q "$postgres_url" -c "CREATE DATABASE $bench_db" >/dev/null
  pg_url=$(python3 -c "import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path='/$bench_db')))" "$postgres_url")
  bench_latchkey postgres "$pg_url"
  psql -q "$postgres_url" -c "DROP DATABASE $bench_db WITH (FORCE)" >/dev/null
fi

echo "==> bare axum ceiling" >&2
ADDR=127.0.0.1:$CEILING_PORT "$ceiling" >"$logs/ceiling.log" 2>&1 &
ceiling_pid=$!
pids+=("$ceiling_pid")
wait_for "http://127.0.0.1:$CEILING_PORT/hello"
measure ceiling.hello "$CONC" "http://127.0.0.1:$CEILING_PORT/hello"
measure ceiling.check_session "$CONC" "http://127.0.0.1:$CEILING_PORT/api/check_session" -H "Cookie: session=tok-42"
kill "$ceiling_pid"

if [ -n "$FLASK_REF" ] && [ -x "$FLASK_REF/serve.sh" ]; then
  echo "==> Flask reference (gunicorn, 2 sync workers)" >&2
  # A copy of our own: its virtualenv and database are made beside serve.sh.
  flask_dir=$target_dir/bench-flask
  mkdir -p "$flask_dir"
  cp "$FLASK_REF"/app.py "$FLASK_REF"/requirements.txt "$FLASK_REF"/serve.sh "$flask_dir"/
  chmod u+w "$flask_dir"/*
  "$flask_dir/serve.sh" sync "$FLASK_PORT" >"$logs/flask.log" 2>&1 &
  flask_pid=$!
  pids+=("$flask_pid")
  fbase=http://127.0.0.1:$FLASK_PORT
  wait_for "$fbase/api/check_session"
  fcookie=$(curl -fs -o /dev/null -D - -H "Origin: $fbase" -H "Content-Type: application/json" \
    -d "{\"username\":\"benchmark\",\"password\":\"$PASSWORD\",\"password_confirmation\":\"$PASSWORD\"}" \
    "$fbase/api/signup" | sed -nE 's/^[Ss]et-[Cc]ookie: ([^;]*).*/\1/p' | head -1)
  measure flask.check_session "$CONC" "$fbase/api/check_session" -H "Cookie: $fcookie"
  BENCH_METHOD=POST BENCH_BODY="{\"username\":\"benchmark\",\"password\":\"$PASSWORD\"}" \
    measure flask.login "$CONC" "$fbase/api/login" -H "Origin: $fbase" -H "Content-Type: application/json"
  pkill -P "$flask_pid" 2>/dev/null || true
  kill "$flask_pid" 2>/dev/null || true
fi

# The table.
{
  for key in "${order[@]}"; do printf '%s\t%s\n' "$key" "${fig[$key]}"; done
} >"$work/figures.tsv"
python3 "$here/table.py" "$work/figures.tsv" --cores "$cores" \
  --machine "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)" \
  --command "bench/run.sh $args" | tee "$logs/latest.md"
