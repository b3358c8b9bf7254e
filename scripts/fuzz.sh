#!/usr/bin/env bash
# Runs each cargo-fuzz target in fuzz/ for a bounded time (default 60 s each), starting
# from the seed corpus in fuzz/corpus/<target>/. Needs the nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh                    # every target, 60 s each
#   scripts/fuzz.sh cookie avatar      # some targets
#   FUZZ_SECONDS=600 scripts/fuzz.sh   # longer
#
# A crash leaves its input in fuzz/artifacts/<target>/ and fails the script; replay it
# with `cargo +nightly fuzz run <target> <file>`. New corpus entries the fuzzer finds stay
# beside the seeds (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-60}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(authorization cookie json_bodies avatar foreign_hash)
fi
# The web app is not part of what is fuzzed.
export LATCHKEY_SKIP_WEB_BUILD=1

cargo +nightly fuzz build
status=0
for target in "${targets[@]}"; do
  echo "==> $target: ${SECONDS_EACH}s"
  mkdir -p "fuzz/corpus/$target"
  log="${TMPDIR:-/tmp}/latchkey-fuzz-$target.log"
  rc=0
  cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    >"$log" 2>&1 || rc=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|Done )|panicked' "$log" || true
  if [ "$rc" -ne 0 ]; then
    echo "$target: FAILED (log $log, input in fuzz/artifacts/$target/)" >&2
    status=1
  fi
done
exit $status
