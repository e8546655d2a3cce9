#!/usr/bin/env bash
# Set up everything the book needs on a fresh Debian/Ubuntu machine, then build the book with
# every notebook executed. Safe to re-run. Usage: bash scripts/setup.sh [--no-book]
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
build_book=1
[ "${1:-}" = "--no-book" ] && build_book=0

say() { printf '\n==> %s\n' "$*"; }

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

# apt_install PACKAGE WHY: install a Debian/Ubuntu package, or stop with a clear message.
apt_install() {
  say "installing $1 ($2)"
  if command -v apt-get >/dev/null 2>&1 &&
     $sudo apt-get update -qq && $sudo apt-get install -y -qq "$1" >/dev/null; then
    return 0
  fi
  echo "error: $1 is missing and could not be installed here; install it yourself" \
       "(Debian/Ubuntu: apt-get install $1) and run this script again" >&2
  exit 1
}

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "error: Python 3.10 or newer is needed as '$python' (set PYTHON=/path/to/python3)" >&2
  exit 1
fi
# Debian and Ubuntu ship venv's pip bootstrap separately.
"$python" -c 'import ensurepip' 2>/dev/null || apt_install python3-venv "virtual environments"
# Graphviz draws the ER diagrams (the Python package only calls its `dot` program).
command -v dot >/dev/null 2>&1 || apt_install graphviz "ER diagrams; macOS: brew install graphviz"

say "creating the virtual environment .venv and installing the package with its dev extra"
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"

if [ "$build_book" = 1 ]; then
  say "building the book (every notebook executed; any warning fails the build)"
  DATAMODELING_STRICT=1 .venv/bin/jupyter-book build . -W --keep-going --all
  say "done: open _build/html/index.html, or serve it with: .venv/bin/python -m http.server -d _build/html 8000"
fi
