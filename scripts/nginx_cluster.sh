#!/usr/bin/env bash
# Two latchkey instances on one PostgreSQL database behind a real nginx, configured by
# deploy/nginx/latchkey.conf (only the lines marked `# test: substituted` are changed:
# ports, certificate and log paths; the IPv6 listen lines are dropped).
#
#   scripts/nginx_cluster.sh [path/to/latchkey]    (default: <cargo target dir>/release/latchkey)
#
# Needs nginx (/usr/sbin/nginx), openssl, curl, python3, psql and LATCHKEY_TEST_POSTGRES_URL
# (a fresh database is created and dropped). Uses Redis when LATCHKEY_TEST_REDIS_URL (default
# redis://127.0.0.1:6379) answers. Without nginx or PostgreSQL it skips, except under CI=true,
# where it fails. Prints check_session requests/s through nginx and direct with wrk, if installed.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() {
  if [ "${CI:-}" = "true" ]; then fail "$* (CI=true: this test may not be skipped)"; fi
  echo "SKIPPED: $*"; exit 0
}
pass() { echo "ok   $*"; passed=$((passed + 1)); }
passed=0

NGINX=${NGINX:-/usr/sbin/nginx}
[ -x "$NGINX" ] || NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] && [ -x "$NGINX" ] || skip "nginx not found (apt-get install nginx)"
[ -n "${LATCHKEY_TEST_POSTGRES_URL:-}" ] || skip "LATCHKEY_TEST_POSTGRES_URL is not set"
for tool in openssl curl python3 psql; do
  command -v "$tool" >/dev/null || fail "$tool is required"
done

BIN=${1:-}
if [ -z "$BIN" ]; then
  target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  BIN="$target_dir/release/latchkey"
fi
# The binary may be replaced by a build while we start: wait a little for it.
for _ in $(seq 1 30); do [ -x "$BIN" ] && break; sleep 1; done
[ -x "$BIN" ] || fail "no latchkey binary at $BIN"
# Our own copy, so a rebuild in the meantime does not change what runs.
T=$(mktemp -d /tmp/latchkey-nginx.XXXXXX)
chmod 755 "$T"
cp "$BIN" "$T/latchkey"
BIN="$T/latchkey"

pids=()
DB_NAME="latchkey_nginx_$$_$RANDOM"
ADMIN_URL=$LATCHKEY_TEST_POSTGRES_URL
db_created=
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$db_created" ]; then
    psql "$ADMIN_URL" -qAt -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 \
      || echo "warning: could not drop database $DB_NAME" >&2
  fi
  if [ "$status" -ne 0 ]; then
    for log in "$T"/*.log; do
      [ -f "$log" ] || continue
      echo "--- last lines of $(basename "$log") ---" >&2
      tail -n 15 "$log" >&2
    done
  fi
  rm -rf "$T"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- PostgreSQL: a fresh database -----------------------------------------------------
psql "$ADMIN_URL" -qAt -v ON_ERROR_STOP=1 -c "SELECT 1" >/dev/null 2>&1 \
  || skip "PostgreSQL at ${ADMIN_URL%%@*}@… does not answer"
psql "$ADMIN_URL" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
db_created=1
DB_URL=$(python3 - "$ADMIN_URL" "$DB_NAME" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, "")))
PY
)

REDIS_URL=${LATCHKEY_TEST_REDIS_URL:-redis://127.0.0.1:6379}
use_redis=
if command -v redis-cli >/dev/null && [ "$(redis-cli -u "$REDIS_URL" ping 2>/dev/null)" = "PONG" ]; then
  use_redis=1
fi

free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}
read -r HTTP_PORT HTTPS_PORT < <(free_ports 2)
PUBLIC="https://localhost:$HTTPS_PORT"
ENC_KEY=$(openssl rand -base64 32)

# --- certificate ------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"

# --- latchkey instances -----------------------------------------------------------------
# start_instance NAME [trusted]: listens on a port of its choosing, left in $PORT. (Not
# called in a subshell: its pid must reach `pids` for the cleanup.)
start_instance() {
  local name=$1 trusted=${2:-trusted}
  local env=(
    LATCHKEY_LISTEN=127.0.0.1:0
    LATCHKEY_PUBLIC_URL="$PUBLIC"
    LATCHKEY_DATABASE_URL="$DB_URL"
    LATCHKEY_KEYS__ENCRYPTION_KEY="$ENC_KEY"
    LATCHKEY_CORS__ALLOWED_ORIGINS='["https://app.example"]'
    LATCHKEY_LOG__FORMAT=json
  )
  [ "$trusted" = trusted ] && env+=(LATCHKEY_TRUSTED_PROXIES='["127.0.0.1/32"]')
  [ -n "$use_redis" ] && env+=(LATCHKEY_REDIS_URL="$REDIS_URL" LATCHKEY_REDIS__KEY_PREFIX="latchkey-nginx-$$:")
  env "${env[@]}" "$BIN" serve >"$T/$name.out.log" 2>"$T/$name.log" &
  pids+=($!)
  local pid=$! port=
  PORT=
  for _ in $(seq 1 300); do
    port=$(sed -n 's/.*latchkey listening on .*(port \([0-9]*\)).*/\1/p' "$T/$name.out.log" | head -n 1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || fail "instance $name exited at start (see $name.log)"
    sleep 0.1
  done
  [ -n "$port" ] || fail "instance $name did not print its port within 30 s"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ] \
    || fail "instance $name: /healthz is not 200"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] \
    || fail "instance $name: /readyz is not 200"
  PORT=$port
}
# A first, alone, so migrations and the first signing key are made once; B after it.
start_instance a
PORT_A=$PORT
PID_A=${pids[-1]}
start_instance b
PORT_B=$PORT
PID_B=${pids[-1]}
A="http://127.0.0.1:$PORT_A"
B="http://127.0.0.1:$PORT_B"

# --- nginx, from deploy/nginx/latchkey.conf ----------------------------------------------
mkdir -p "$T/nginx"
sed -e '/# test: substituted/{
  s|server 127\.0\.0\.1:8081 |server 127.0.0.1:'"$PORT_A"' |
  s|server 127\.0\.0\.1:8082 |server 127.0.0.1:'"$PORT_B"' |
  s|listen 80;|listen 127.0.0.1:'"$HTTP_PORT"';|
  s|listen 443 ssl|listen 127.0.0.1:'"$HTTPS_PORT"' ssl|
  /listen \[::\]/d
  s|ssl_certificate .*;|ssl_certificate '"$T"'/cert.pem;|
  s|ssl_certificate_key .*;|ssl_certificate_key '"$T"'/key.pem;|
  s|access_log [^ ]* |access_log '"$T"'/access.log |
}' deploy/nginx/latchkey.conf >"$T/nginx/latchkey.conf"
# Every marked line must have been rewritten, and nothing else touched.
if grep -E '8081|8082|listen 80;|listen 443|/etc/letsencrypt|/var/log' "$T/nginx/latchkey.conf"; then
  fail "deploy/nginx/latchkey.conf changed: the lines above were not substituted"
fi
changed=$(diff deploy/nginx/latchkey.conf "$T/nginx/latchkey.conf" | grep -c '^<' || true)
marked=$(grep -c '# test: substituted$' deploy/nginx/latchkey.conf)
[ "$changed" = "$marked" ] || fail "expected $marked substituted lines, $changed changed"
user_line=
[ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$T/nginx/nginx.conf" <<NGINX
$user_line
worker_processes 2;
pid $T/nginx.pid;
error_log $T/nginx.log warn;
events { worker_connections 1024; }
http {
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    include $T/nginx/latchkey.conf;
}
NGINX
"$NGINX" -t -q -p "$T/nginx" -e "$T/nginx.log" -c "$T/nginx/nginx.conf" 2>>"$T/nginx.log" \
  || fail "nginx -t refused the configuration"
"$NGINX" -p "$T/nginx" -e "$T/nginx.log" -c "$T/nginx/nginx.conf" -g 'daemon off;' 2>>"$T/nginx.log" &
pids+=($!)
nginx_up=
for _ in $(seq 1 100); do
  if curl -s -o /dev/null --cacert "$T/cert.pem" "$PUBLIC/healthz"; then nginx_up=1; break; fi
  sleep 0.1
done
[ -n "$nginx_up" ] || fail "nginx does not answer on $PUBLIC within 10 s (see nginx.log)"

echo "latchkey $("$BIN" --version 2>/dev/null | awk '{print $2}') x2 on PostgreSQL${use_redis:+ + Redis} behind $("$NGINX" -v 2>&1 | sed 's/.*: //')"
echo "nginx https $PUBLIC (http :$HTTP_PORT), instance A $A, instance B $B"

# --- checks -----------------------------------------------------------------------------
C=(curl -s --cacert "$T/cert.pem")
J=(-H 'Content-Type: application/json')
PW=violet-otter-harbour
USER1="ngx_$RANDOM$RANDOM"

code=$("${C[@]}" -o /dev/null -w '%{http_code}' "$PUBLIC/healthz")
[ "$code" = 200 ] || fail "GET /healthz through nginx: $code"
pass "/healthz through nginx over TLS, certificate verified: 200"

loc=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://localhost:$HTTP_PORT/api/check_session")
case "$loc" in "301 https://localhost"*) pass "http -> https redirect: $loc" ;; *) fail "http -> https redirect: got '$loc'" ;; esac

# signup over https: __Host- cookie, Secure, HSTS
"${C[@]}" -D "$T/h" -o "$T/b" -w '%{http_code}' "${J[@]}" -H "Origin: $PUBLIC" \
  -d "{\"username\":\"$USER1\",\"password\":\"$PW\"}" "$PUBLIC/api/signup" >"$T/code"
[ "$(cat "$T/code")" = 201 ] || fail "signup through nginx: $(cat "$T/code") $(cat "$T/b")"
cookie_line=$(grep -i '^set-cookie: __Host-' "$T/h" | head -n 1 | tr -d '\r')
[ -n "$cookie_line" ] || fail "signup: no __Host- cookie: $(grep -i set-cookie "$T/h")"
echo "$cookie_line" | grep -qi '; *Secure' || fail "signup cookie is not Secure: $cookie_line"
echo "$cookie_line" | grep -qi '; *HttpOnly' || fail "signup cookie is not HttpOnly: $cookie_line"
pass "signup through nginx: 201, cookie ${cookie_line#*: }" 
COOKIE_NAME=$(echo "${cookie_line#*: }" | cut -d= -f1)
hsts=$(grep -i '^strict-transport-security:' "$T/h" | tr -d '\r')
[ -n "$hsts" ] || fail "no Strict-Transport-Security header through nginx"
[ "$(grep -ci '^strict-transport-security:' "$T/h")" = 1 ] || fail "Strict-Transport-Security sent twice"
pass "HSTS: ${hsts#*: }"

# login through nginx, the session is seen through nginx and on both instances directly
"${C[@]}" -D "$T/h" -o "$T/b" -w '%{http_code}' "${J[@]}" -H "Origin: $PUBLIC" \
  -d "{\"username\":\"$USER1\",\"password\":\"$PW\"}" "$PUBLIC/api/login" >"$T/code"
[ "$(cat "$T/code")" = 200 ] || fail "login through nginx: $(cat "$T/code") $(cat "$T/b")"
SESSION=$(grep -i "^set-cookie: $COOKIE_NAME=" "$T/h" | head -n 1 | tr -d '\r' | sed 's/^[^:]*: //; s/;.*//')
[ -n "$SESSION" ] || fail "login set no $COOKIE_NAME cookie"
for i in 1 2 3 4; do
  out=$("${C[@]}" -w ' %{http_code}' -H "Cookie: $SESSION" "$PUBLIC/api/check_session")
  case "$out" in *"\"$USER1\""*" 200") ;; *) fail "check_session #$i through nginx: $out" ;; esac
done
for inst in "$A" "$B"; do
  out=$(curl -s -w ' %{http_code}' -H "Cookie: $SESSION" "$inst/api/check_session")
  case "$out" in *"\"$USER1\""*" 200") ;; *) fail "check_session on $inst directly: $out" ;; esac
done
pass "login through nginx; check_session 200 four times through nginx and on A and B directly"

# the client IP latchkey records is the real client, not a spoofed X-Forwarded-For
out=$("${C[@]}" -H "Cookie: $SESSION" -H 'X-Forwarded-For: 203.0.113.9' "$PUBLIC/api/me/sessions")
ips=$(echo "$out" | python3 -c 'import json,sys; print(" ".join(sorted({s["ip"] for s in json.load(sys.stdin)})))') \
  || fail "GET /api/me/sessions: $out"
[ "$ips" = "127.0.0.1" ] || fail "sessions' ip through nginx: '$ips' (want 127.0.0.1)"
"${C[@]}" -o /dev/null -H 'X-Forwarded-For: 203.0.113.9' "${J[@]}" \
  -d "{\"username\":\"$USER1\",\"password\":\"$PW\"}" "$PUBLIC/api/login"
out=$("${C[@]}" -H "Cookie: $SESSION" "$PUBLIC/api/me/sessions")
ips=$(echo "$out" | python3 -c 'import json,sys; print(" ".join(sorted({s["ip"] for s in json.load(sys.stdin)})))')
[ "$ips" = "127.0.0.1" ] || fail "login with a spoofed X-Forwarded-For through nginx recorded ip '$ips'"
pass "client ip through nginx is 127.0.0.1, a client's X-Forwarded-For: 203.0.113.9 is not believed"

# an instance without trusted_proxies believes no X-Forwarded-For, even from 127.0.0.1
start_instance c untrusted
PORT_C=$PORT
"${C[@]}" -o /dev/null -H 'X-Forwarded-For: 203.0.113.9' "${J[@]}" -c "$T/jar_c" \
  -d "{\"username\":\"$USER1\",\"password\":\"$PW\"}" "http://127.0.0.1:$PORT_C/api/login"
SESSION_C=$(awk -v n="$COOKIE_NAME" '$6 == n {print n "=" $7}' "$T/jar_c")
[ -n "$SESSION_C" ] || fail "login on the instance without trusted_proxies set no cookie"
out=$(curl -s -H "Cookie: $SESSION_C" "http://127.0.0.1:$PORT_C/api/me/sessions")
ip_c=$(echo "$out" | python3 -c 'import json,sys; print([s["ip"] for s in json.load(sys.stdin) if s["current"]][0])')
[ "$ip_c" = "127.0.0.1" ] || fail "without trusted_proxies, X-Forwarded-For was believed: ip '$ip_c'"
pass "without trusted_proxies: X-Forwarded-For from 127.0.0.1 ignored, ip 127.0.0.1"

# logout on A ends the session on B at once
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Cookie: $SESSION" "$A/api/logout")
[ "$code" = 204 ] || fail "logout on A: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $SESSION" "$B/api/check_session")
[ "$code" = 204 ] || fail "after logout on A, the old cookie on B: $code (want 204)"
code=$("${C[@]}" -o /dev/null -w '%{http_code}' -H "Cookie: $SESSION" "$PUBLIC/api/check_session")
[ "$code" = 204 ] || fail "after logout on A, the old cookie through nginx: $code (want 204)"
pass "logout on A: the old cookie gets 204 on B directly and through nginx"

# CORS preflight from the allowed origin, through nginx
"${C[@]}" -D "$T/h" -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: https://app.example' \
  -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: content-type' \
  "$PUBLIC/api/login" >"$T/code"
case "$(cat "$T/code")" in 200|204) ;; *) fail "preflight through nginx: $(cat "$T/code")" ;; esac
acao=$(grep -i '^access-control-allow-origin:' "$T/h" | tr -d '\r' | sed 's/^[^:]*: *//')
[ "$acao" = "https://app.example" ] || fail "preflight: Access-Control-Allow-Origin '$acao'"
grep -qi '^access-control-allow-credentials: true' "$T/h" || fail "preflight: no Access-Control-Allow-Credentials: true"
"${C[@]}" -D "$T/h" -o /dev/null -X OPTIONS -H 'Origin: https://evil.example' \
  -H 'Access-Control-Request-Method: POST' "$PUBLIC/api/login"
! grep -qi '^access-control-allow-origin:' "$T/h" || fail "preflight from an unlisted origin got Access-Control-Allow-Origin"
pass "CORS preflight through nginx: https://app.example allowed ($(cat "$T/code")), https://evil.example not"

# body limits at nginx: 1 MiB JSON, 5 MiB avatars
head -c 1100000 /dev/zero | tr '\0' 'a' >"$T/big"
out=$("${C[@]}" -w ' %{http_code}' "${J[@]}" --data-binary @"$T/big" "$PUBLIC/api/login")
case "$out" in '{"error":"payload_too_large"'*" 413") ;; *) fail "1.1 MB JSON through nginx: $out (want 413 payload_too_large)" ;; esac
"${C[@]}" -o /dev/null "${J[@]}" -c "$T/jar1" -d "{\"username\":\"$USER1\",\"password\":\"$PW\"}" "$PUBLIC/api/login"
SESSION=$(awk -v n="$COOKIE_NAME" '$6 == n {print n "=" $7}' "$T/jar1")
{ printf '\x89PNG\r\n\x1a\n'; head -c 3000000 /dev/urandom; } >"$T/avatar.png"
code=$("${C[@]}" -o "$T/b" -w '%{http_code}' -X PUT -H "Cookie: $SESSION" -H 'Content-Type: image/png' \
  --data-binary @"$T/avatar.png" "$PUBLIC/api/me/avatar")
[ "$code" = 204 ] || fail "3 MB avatar through nginx: $code $(cat "$T/b")"
head -c 5300000 /dev/urandom >>"$T/avatar.png"
out=$("${C[@]}" -D "$T/h" -w ' %{http_code}' -X PUT -H "Cookie: $SESSION" -H 'Content-Type: image/png' \
  --data-binary @"$T/avatar.png" "$PUBLIC/api/me/avatar")
case "$out" in '{"error":"payload_too_large"'*" 413") ;; *) fail "8 MB avatar through nginx: $out (want 413 payload_too_large)" ;; esac
grep -qi '^content-type: application/json' "$T/h" || fail "nginx's 413 is not application/json"
grep -qi '^x-request-id: ' "$T/h" || fail "nginx's 413 has no X-Request-Id"
pass "body limits through nginx: 1.1 MB JSON and 8 MB avatar 413 payload_too_large (JSON), 3 MB avatar 204"

# 12 wrong passwords through nginx (round robin: alternating instances) -> 429 after 10
USER2="ngx_$RANDOM$RANDOM"
"${C[@]}" -o /dev/null "${J[@]}" -d "{\"username\":\"$USER2\",\"password\":\"$PW\"}" "$PUBLIC/api/signup"
: >"$T/access.log.mark"
lines_before=$(wc -l <"$T/access.log")
codes=()
for i in $(seq 1 12); do
  codes+=("$("${C[@]}" -o /dev/null -w '%{http_code}' "${J[@]}" \
    -d "{\"username\":\"$USER2\",\"password\":\"wrong-password-$i\"}" "$PUBLIC/api/login")")
done
want="401 401 401 401 401 401 401 401 401 401 429 429"
[ "${codes[*]}" = "$want" ] || fail "12 wrong passwords through nginx: ${codes[*]} (want $want)"
upstreams=$(tail -n +"$((lines_before + 1))" "$T/access.log" | grep 'POST /api/login' \
  | sed -n 's/.*upstream=\([^ ]*\).*/\1/p' | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
n_up=$(echo "$upstreams" | wc -w)
[ "$n_up" = 2 ] || fail "the 12 logins did not reach both instances: $upstreams"
code=$(curl -s -o /dev/null -w '%{http_code}' "${J[@]}" -d "{\"username\":\"$USER2\",\"password\":\"$PW\"}" "$A/api/login")
[ "$code" = 429 ] || fail "right password on A directly after the burst: $code (want 429)"
pass "12 wrong passwords through nginx: ${codes[*]}; split over $upstreams; right password then 429 too"

# --- figures ----------------------------------------------------------------------------
echo
if command -v wrk >/dev/null; then
  "${C[@]}" -o /dev/null "${J[@]}" -c "$T/jar2" -d "{\"username\":\"$USER1\",\"password\":\"$PW\"}" "$PUBLIC/api/login"
  SESSION=$(awk -v n="$COOKIE_NAME" '$6 == n {print n "=" $7}' "$T/jar2")
  rps() { wrk -t2 -c32 -d5s -H "Cookie: $SESSION" "$1" 2>&1 | awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "non-2xx:" $NF}'; }
  # The answer must be 200 with the user, or the figure means nothing.
  curl -s -H "Cookie: $SESSION" "$A/api/check_session" | grep -q "\"$USER1\"" || fail "wrk cookie is not a live session"
  via_nginx=$(rps "$PUBLIC/api/check_session")
  direct=$(rps "$A/api/check_session")
  echo "figures (wrk -t2 -c32 -d5s, GET /api/check_session with a live session, $(nproc) cores shared):"
  echo "  two instances through nginx (https): $via_nginx req/s"
  echo "  one instance directly (http):        $direct req/s"
else
  echo "figures: wrk not installed (apt-get install wrk), none measured"
fi


# one instance stopped: nginx passes its share to the other
kill "$PID_B"
wait "$PID_B" 2>/dev/null || true
for i in 1 2 3 4 5 6; do
  out=$("${C[@]}" -w ' %{http_code}' -H "Cookie: $SESSION" "$PUBLIC/api/check_session")
  case "$out" in *"\"$USER1\""*" 200") ;; *) fail "with B stopped, check_session #$i through nginx: $out" ;; esac
done
pass "instance B stopped: check_session through nginx 200 six times out of six"

# no instance left: nginx answers the API's 503, not an HTML 502
kill "$PID_A"
wait "$PID_A" 2>/dev/null || true
out=$("${C[@]}" -D "$T/h" -w ' %{http_code}' -H "Cookie: $SESSION" "$PUBLIC/api/check_session")
case "$out" in '{"error":"unavailable"'*" 503") ;; *) fail "both instances stopped: $out (want 503 unavailable)" ;; esac
grep -qi '^retry-after: ' "$T/h" || fail "nginx's 503 has no Retry-After"
pass "both instances stopped: 503 unavailable (JSON, Retry-After) through nginx"

echo
echo "nginx_cluster: all $passed checks passed"
