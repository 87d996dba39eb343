#!/usr/bin/env bash
# Run Gongzhi's test suite on a fresh Debian 12 clone:  bash scripts/test.sh [pytest arguments…]
#
#   - creates .venv (Python ≥ 3.11) if missing and installs requirements-test.txt into it;
#   - checks the Debian packages the tests rely on (Chromium for the browser tests, CJK fonts and Pango for
#     WeasyPrint PDFs, poppler-utils for pdftotext, gettext for translators, nodejs for the survey rule-language
#     parity tests); installs them when run as root,
#     otherwise prints the apt-get command and stops;
#   - runs `ruff check` and `ruff format --check` (the pinned ruff of requirements-test.txt), then pytest.
#     DATABASE_URL=postgres://… runs the suite on PostgreSQL; without it, on SQLite, where the tests marked
#     postgres_only are deselected (they need real concurrent connections).
#
#   bash scripts/test.sh --setup-only     only the two set-up steps (used by .ci/run)
#   bash scripts/test.sh -m "not browser" skip the browser tests; any other pytest arguments pass through
#   bash scripts/test.sh --no-lint ...    skip the ruff checks (locally, while iterating; CI never does)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SYSTEM_PACKAGES=(chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 poppler-utils gettext nodejs)
PYTHON="${PYTHON:-python3}"

say() { printf '[test.sh] %s\n' "$*"; }
die() { printf '[test.sh] ERROR: %s\n' "$*" >&2; exit 1; }

# --- Python ------------------------------------------------------------------------------------------------
command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3.11+ (Debian 12: apt-get install -y python3 python3-venv)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "Python 3.11 or newer is needed; $PYTHON is $("$PYTHON" --version 2>&1)"
# Debian's own python3 needs python3-venv for `python3 -m venv`.
if [[ "$(command -v "$PYTHON")" == /usr/bin/* ]] && ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
  SYSTEM_PACKAGES+=(python3-venv)
fi

# --- Debian packages ---------------------------------------------------------------------------------------
if command -v dpkg-query >/dev/null; then
  missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    if [[ "$(id -u)" == 0 ]]; then
      say "installing Debian packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      die "missing Debian packages: ${missing[*]}
    run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}
    then run this script again."
    fi
  fi
else
  say "not a Debian system: make sure Chromium (/usr/bin/chromium), Noto CJK fonts, Pango and poppler are installed"
fi

# --- Virtualenv --------------------------------------------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
  say "creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
# Reinstall only when the pinned requirements change (a stamp holds their checksum).
stamp=.venv/.gongzhi-requirements.sha256
want="$(cat requirements.txt requirements-test.txt | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  say "installing requirements-test.txt into .venv"
  # (grep drops the harmless notes some pip configurations print about absent local mirrors)
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-test.txt 2>&1 |
    { grep -v "^WARNING: Location '.*' is ignored" || true; }
  echo "$want" >"$stamp"
fi

if [[ "${1:-}" == "--setup-only" ]]; then
  say "set-up complete"
  exit 0
fi

# --- Lint ------------------------------------------------------------------------------------------------------
if [[ "${1:-}" == "--no-lint" ]]; then
  shift
else
  say "ruff check and ruff format --check"
  .venv/bin/ruff check gongzhi testkit bench conftest.py manage.py ||
    die "ruff check found problems (fix them, or run: .venv/bin/ruff check --fix gongzhi testkit)"
  .venv/bin/ruff format --check gongzhi testkit bench conftest.py manage.py ||
    die "files are not formatted (run: .venv/bin/ruff format gongzhi testkit bench)"
fi

# --- Tests -------------------------------------------------------------------------------------------------
args=()
if [[ "${DATABASE_URL:-}" == postgres* ]]; then
  say "database: PostgreSQL (${DATABASE_URL%%\?*})"
else
  # Put first, so a -m given on the command line takes precedence.
  args+=(-m "not postgres_only")
  say "database: SQLite — tests marked postgres_only are deselected (run with DATABASE_URL=postgres://… for them)"
fi
exec .venv/bin/python -m pytest "${args[@]}" "$@"
