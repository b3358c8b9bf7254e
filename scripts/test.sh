#!/usr/bin/env bash
# latchkey's whole test suite:
#   1. Rust: unit tests and the HTTP integration suite on SQLite, then the integration
#      suite once more on PostgreSQL. LATCHKEY_TEST_POSTGRES_URL names the PostgreSQL
#      server (the cluster, race and fault tests use it in both runs; Redis is taken from
#      LATCHKEY_TEST_REDIS_URL, default redis://127.0.0.1:6379). Without it those are
#      skipped, except under CI=true, where they must run. The federation tests start
#      their identity providers with Node from tests/upstream (installed here when its
#      node_modules is missing, and smoke-tested first); without them they fail. The
#      OpenID Provider tests drive panva's openid-client from tests/rp the same way.
#   2. the contract: schemathesis against the release binary (scripts/contract.sh; needs
#      python3 with venv, and PyPI the first time),
#   3. two instances on PostgreSQL behind Debian's nginx with deploy/'s configuration
#      (scripts/nginx_cluster.sh; skipped without nginx or PostgreSQL, unless CI=true),
#   4. beside the Rust build and tests, in the background (their logs are printed when
#      they end): the web app (type-check, lint, Vitest); the client package in
#      clients/js (its types generated from clients/js/openapi.json are current — the
#      Rust suite checks that file against the server —, type-check, unit tests, build,
#      npm pack); the book (scripts/docs.sh: mdbook build and a link check); the example
#      apps installed and built,
#   5. the browser journeys: Playwright with Debian's /usr/bin/chromium against the
#      release binary: the built-in web app, the Vue, Angular and OpenID Connect example
#      apps, many tabs of one app refreshing at once (skipped with a notice when Chromium
#      is missing, unless CI=true).
# Everything is built in the release profile, once.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Wherever cargo puts it: CARGO_TARGET_DIR or a workspace's shared target directory.
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

# Background steps: each writes its own log; `finish` waits for all, prints each log and
# fails when any failed. Leaving early (a failed Rust test) stops them.
logs="$target_dir/test-logs"
mkdir -p "$logs"
declare -A background=()
in_background() {
  local name=$1
  shift
  "$@" >"$logs/$name.log" 2>&1 &
  background[$name]=$!
  echo "started in the background: $name (log: $logs/$name.log)"
}
finish() {
  local failed=()
  for name in "${!background[@]}"; do
    if wait "${background[$name]}"; then
      step "$name (background): passed"
    else
      step "$name (background): FAILED"
      failed+=("$name")
    fi
    cat "$logs/$name.log"
  done
  background=()
  if [ ${#failed[@]} -gt 0 ]; then
    echo "failed in the background: ${failed[*]}" >&2
    return 1
  fi
}
trap 'for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT

# npm ci where a package folder has no node_modules yet.
npm_install() { (cd "$1" && { [ -d node_modules ] || npm ci --no-audit --no-fund; }); }
web_app() { cd web && npm run typecheck && npm run lint && npm test; }
client_and_examples() {
  # `npm pack` builds dist/, which the Angular example uses; the others compile the sources.
  (cd clients/js && npm run check:generated && npm run typecheck && npm test && npm pack --dry-run) || return 1
  for example in examples/oidc-spa examples/vue examples/angular; do
    npm_install "$example" && (cd "$example" && npm run build) || return 1
  done
}

# Installed first: cargo's build script also builds the web app.
npm_install web
npm_install clients/js
step "In the background: the web app, the client package and the example apps, the book"
in_background web-app web_app
in_background client-and-examples client_and_examples
in_background book bash scripts/docs.sh

step "Upstream identity providers for the federation tests (tests/upstream): install, smoke-test"
npm_install tests/upstream && (cd tests/upstream && npm test)
step "Relying party of the OpenID Provider tests (tests/rp, openid-client): install"
npm_install tests/rp

step "Rust tests (integration suite on SQLite)"
LATCHKEY_TEST_BACKEND=sqlite cargo test --release --all-targets

if [ -n "${LATCHKEY_TEST_POSTGRES_URL:-}" ]; then
  step "Rust integration suite on PostgreSQL (${LATCHKEY_TEST_POSTGRES_URL%%@*}@…)"
  # The cluster, credentials, fault, crash and secrets tests choose their databases
  # themselves: the first run covered them.
  # The federation protocol tests (federation::, not federation_races::) check what the
  # providers answer, which no backend changes; their two-instance test uses PostgreSQL.
  LATCHKEY_TEST_BACKEND=postgres cargo test --release --test api -- --skip cluster:: --skip credentials:: \
    --skip faults:: --skip crash:: --skip secrets:: --skip federation::
else
  step "PostgreSQL run skipped: set LATCHKEY_TEST_POSTGRES_URL=postgres://user@host/db to include it"
fi

step "The contract: schemathesis against the release binary (scripts/contract.sh)"
./scripts/contract.sh

step "Two instances behind nginx on PostgreSQL (scripts/nginx_cluster.sh)"
./scripts/nginx_cluster.sh

step "Waiting for the background steps"
finish

step "Browser journeys (Playwright + Chromium)"
if [ ! -x /usr/bin/chromium ] && [ "${CI:-}" != "true" ]; then
  echo "SKIPPED: /usr/bin/chromium not found (apt-get install chromium); browser journeys not run"
else
  npm_install e2e && (cd e2e && LATCHKEY_BIN="$target_dir/release/latchkey" npm test)
fi
