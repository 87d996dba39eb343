#!/usr/bin/env bash
# One command to see Gongzhi running with the demo district (二七区):  bash scripts/demo.sh
#
#   - creates .venv (Python ≥ 3.11 from `python3`) if missing and installs requirements.txt into it;
#   - migrates the database (SQLite in var/ unless DATABASE_URL says otherwise) and loads the demo district
#     once (load_demo is idempotent: a second run only prints the demo accounts again);
#   - collects the static files (served by WhiteNoise: no debug mode, production-like);
#   - starts the task worker in the background and serves http://127.0.0.1:8000 with gunicorn (threaded workers);
#     Ctrl-C stops the server, and the worker with it.
#
#   PORT=8001 bash scripts/demo.sh     serve on another port
#   GONGZHI_DEMO_SETUP_ONLY=1 …        everything but serving (prints the accounts and exits)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
PORT="${PORT:-8000}"
RUNTIME_PACKAGES=(fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0)

say() { printf '[demo.sh] %s\n' "$*"; }
die() { printf '[demo.sh] ERROR: %s\n' "$*" >&2; exit 1; }

# --- Python ------------------------------------------------------------------------------------------------
command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3.11+ (Debian 12: apt-get install -y python3 python3-venv)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "Python 3.11 or newer is needed; $PYTHON is $("$PYTHON" --version 2>&1)"

# --- Debian packages the running platform needs (fonts and Pango for the printable PDF notices) ------------------
if command -v dpkg-query >/dev/null; then
  missing=()
  if [[ "$(command -v "$PYTHON")" == /usr/bin/* ]] && ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
    missing+=(python3-venv)
  fi
  for pkg in "${RUNTIME_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    if [[ "$(id -u)" == 0 ]]; then
      say "installing Debian packages: ${missing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      die "missing Debian packages; run: sudo apt-get install -y ${missing[*]}"
    fi
  fi
fi

# --- virtualenv --------------------------------------------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
  say "creating .venv with $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m venv .venv
fi
# Install only when requirements.txt changed since the last successful install (re-runs start fast).
stamp=.venv/.demo-requirements.sha256
want="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  say "installing requirements.txt"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
  echo "$want" >"$stamp"
fi
PY=.venv/bin/python

# --- database, demo data, static files -----------------------------------------------------------------------
unset GONGZHI_DEBUG  # production-like: WhiteNoise serves the collected static files
export GONGZHI_ALLOWED_HOSTS="${GONGZHI_ALLOWED_HOSTS:-127.0.0.1,localhost}"
export GONGZHI_SITE_URL="${GONGZHI_SITE_URL:-http://127.0.0.1:$PORT}"  # the SMS outbox's links open in this browser
say "migrating the database"
"$PY" manage.py migrate --noinput -v0
say "loading the demo district (first run takes under a minute)"
"$PY" manage.py load_demo
"$PY" manage.py collectstatic --noinput -v0

if [[ -n "${GONGZHI_DEMO_SETUP_ONLY:-}" ]]; then
  say "set up; not serving (GONGZHI_DEMO_SETUP_ONLY)"
  exit 0
fi

# --- task worker and web server -----------------------------------------------------------------------------------
PY="$PY" bash scripts/worker.sh >var/worker.log 2>&1 &  # restarts the worker if it exits
worker=$!
# What the timers do in a deployment (docs/DEPLOY.md, deploy/systemd/): votes open and close on time; every five
# minutes, jobs whose worker died are reaped, due text-message retries queued, late service-desk orders chased,
# residents whose pickup day is fixed told its time, and the audit log checkpointed (the notices' footers carry
# the newest checkpoint).
( n=0; while sleep 60; do
    "$PY" manage.py advance_votes >>var/scheduler.log 2>&1
    if (( n++ % 5 == 0 )); then
      "$PY" manage.py reap_jobs >>var/scheduler.log 2>&1
      "$PY" manage.py servicedesk_escalate >>var/scheduler.log 2>&1
      "$PY" manage.py send_bulky_reminders >>var/scheduler.log 2>&1
      "$PY" manage.py checkpoint_audit >>var/scheduler.log 2>&1
    fi
  done ) &
scheduler=$!
stop_worker() {
  for pid in "$worker" "$scheduler"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
}
trap stop_worker EXIT
say "task worker started (pid $worker, log var/worker.log); votes open and close on time (var/scheduler.log)"
say "serving http://127.0.0.1:$PORT/ — sign in at http://127.0.0.1:$PORT/accounts/login/ (Ctrl-C stops)"
# In the foreground, so Ctrl-C reaches it; when it stops, the EXIT trap stops the worker.
# Threaded workers: a browser's idle keep-alive connections hold a thread, not a whole worker, so they cannot
# stall the demo (sync workers did: 7 WORKER TIMEOUTs, 26 s page loads). Timeouts bound a stuck request
# (--timeout), an idle keep-alive connection (--keep-alive) and a restart (--graceful-timeout).
.venv/bin/gunicorn gongzhi.wsgi -b "127.0.0.1:$PORT" --workers 2 --worker-class gthread --threads 8 \
  --timeout 30 --graceful-timeout 10 --keep-alive 5 --access-logfile - || true
