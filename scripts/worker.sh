#!/usr/bin/env bash
# The task worker under a supervisor loop: if it exits (the database went away, it was killed, out of memory),
# jobs it left running are reaped (marked failed, retried or reported) and it is started again after a pause.
#
#   bash scripts/worker.sh            (what scripts/demo.sh runs; in production deploy/systemd/gongzhi-worker@.service
#                                      with RQ, or gongzhi-db-worker.service with the database queue)
#   WORKER_ARGS="--queue-name default" bash scripts/worker.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PY:-.venv/bin/python}"
child=""
trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM INT
while true; do
  "$PY" manage.py reap_jobs || true
  "$PY" manage.py db_worker --queue-name "*" ${WORKER_ARGS:-} &
  child=$!
  wait "$child"
  status=$?
  child=""
  printf '[worker.sh] %s worker exited with status %s; restarting in 5 s\n' "$(date -u +%FT%TZ)" "$status" >&2
  sleep 5
done
