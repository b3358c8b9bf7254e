# Sourced by the scripts that run a Python tool pinned from PyPI: installs it once into a
# venv cached under ~/.cache/latchkey/ (per tool and version), then reuses it.
#
#   python_tool NAME VERSION PACKAGE   # sets $tool_bin to the venv's bin/ directory
python_tool() {
  local name=$1 version=$2 package=$3
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/latchkey/$name-$version"
  if [ ! -x "$venv/bin/$name" ]; then
    echo "==> installing $name $version ($package from PyPI) into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version"
  fi
  tool_bin="$venv/bin"
}
