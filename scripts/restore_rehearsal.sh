#!/usr/bin/env bash
# A rehearsed point-in-time restore (docs/DEPLOY.md, "Backups and the restore rehearsal"), on this machine:
#
#   1. initdb a throwaway PostgreSQL cluster on a free local port, with WAL archiving to a local directory;
#   2. migrate and load the demo into it, then take a base backup (pg_basebackup);
#   3. write a ballot (the demo's open vote), mark the moment (pg_create_restore_point), write a booking;
#   4. restore the base backup into a fresh cluster, replaying the archived WAL up to the restore point;
#   5. start the platform (gunicorn) on the restored database and check: it answers, the audit log and every
#      ballot log verify, the ballot is there and the booking is not, and the row counts are exactly those at
#      the restore point.
#
# Usage:  scripts/restore_rehearsal.sh            (exit 0 when every check passes; prints the time of each step)
# Env:    PGBIN (default /usr/lib/postgresql/15/bin), PYTHON (default .venv/bin/python or /work/main/.venv/...),
#         REHEARSAL_KEEP=1 keeps the temporary directory for inspection.
# Bounded in time: each step runs under `timeout`; the whole rehearsal takes a few minutes (the demo load is most).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=/work/main/.venv/bin/python; fi
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gongzhi-restore.XXXXXX")"
PRIMARY="$WORK/primary" RESTORED="$WORK/restored" WAL="$WORK/wal" BASE="$WORK/base"
mkdir -p "$WAL" "$WORK/var"
# PostgreSQL refuses to run as root: as root, run its tools as the postgres user, who owns the cluster files.
AS_PG=()
if [[ $EUID -eq 0 ]]; then
  AS_PG=(runuser -u postgres --)
  chown postgres "$WORK" "$WAL"
  chmod 755 "$WORK"
fi
pg() { local tool="$1"; shift; "${AS_PG[@]}" "$PGBIN/$tool" "$@"; }
STARTED=$SECONDS
GUNICORN_PID=""

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
step() { printf '[%4ds] %s\n' $((SECONDS - STARTED)) "$*"; }
cleanup() {
  [[ -n "$GUNICORN_PID" ]] && kill "$GUNICORN_PID" 2>/dev/null || true
  for d in "$RESTORED" "$PRIMARY"; do
    [[ -f "$d/postmaster.pid" ]] && pg pg_ctl -D "$d" -m immediate stop >/dev/null 2>&1 || true
  done
  if [[ "${REHEARSAL_KEEP:-}" == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

P1="$(free_port)"
P2="$(free_port)"
export GONGZHI_VAR_DIR="$WORK/var"  # the same keys before and after: a restore needs the backed-up keys
export GONGZHI_SMS_BACKEND=gongzhi.core.sms.LocmemBackend
export GONGZHI_TASKS=db
unset REDIS_URL || true
manage() { (cd "$ROOT" && timeout 900 "$PYTHON" manage.py "$@"); }
psql_at() { "$PGBIN/psql" -h 127.0.0.1 -p "$1" -U postgres -d gongzhi -v ON_ERROR_STOP=1 -Atc "$2"; }

step "initdb primary cluster on port $P1 (WAL archived to $WAL)"
timeout 120 "${AS_PG[@]}" "$PGBIN/initdb" -D "$PRIMARY" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >>"$PRIMARY/postgresql.conf" <<EOF
port = $P1
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $WAL/%f && cp %p $WAL/%f'
max_wal_senders = 3
fsync = off
EOF
timeout 120 "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PRIMARY" -l "$WORK/primary.log" -w start >/dev/null
pg createdb -h 127.0.0.1 -p "$P1" -U postgres gongzhi

export DATABASE_URL="postgres://postgres@127.0.0.1:$P1/gongzhi"
step "migrate and load the demo"
manage migrate --noinput >/dev/null
manage load_demo >/dev/null

step "base backup (pg_basebackup, WAL streamed)"
timeout 600 "${AS_PG[@]}" "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$P1" -U postgres -D "$BASE" -X stream -c fast

step "write a ballot, mark the restore point, write a booking"
manage shell -c "
import json
from django.utils import timezone
from gongzhi.voting import actions as va
from gongzhi.voting.models import Ballot, Vote
from gongzhi.core.models import AuditEntry
from django.contrib.auth import get_user_model; User = get_user_model()
vote = Vote.objects.filter(status='open').order_by('pk').first()
entry = vote.roll.exclude(pk__in=Ballot.objects.filter(vote=vote).values('roll_entry_id')).order_by('number').first()
worker = User.objects.get(username='community_worker')
result = va.cast_ballot(vote, entry, actor=worker, choice='yes', channel='door', idempotency_key='rehearsal-ballot')
open('$WORK/after_ballot.json', 'w').write(json.dumps({
    'vote': vote.pk, 'ballot': result.ballot.pk, 'receipt': result.receipt,
    'ballots': Ballot.objects.count(), 'audit': AuditEntry.objects.count(),
}))
"
psql_at "$P1" "SELECT pg_create_restore_point('gongzhi_rehearsal')" >/dev/null
manage shell -c "
import json
from datetime import timedelta
from django.utils import timezone
from gongzhi.bulkywaste import actions as ba
from gongzhi.bulkywaste.actions import ItemSpec, BookingError
from gongzhi.bulkywaste.models import Booking, CatalogueEntry
from django.contrib.auth import get_user_model; User = get_user_model()
from gongzhi.registry.models import Unit
operator = User.objects.get(username='hotline_operator')
before = Booking.objects.count()
made = None
for unit in Unit.objects.filter(resident_count__gt=0).order_by('pk')[:50]:
    for days in range(1, 30):
        try:
            made = ba.book(actor=operator, channel='hotline', items=[ItemSpec(entry=CatalogueEntry.objects.get(code='wardrobe'))],
                           address=ba.address_of_unit(unit), preferred_days=[timezone.localdate() + timedelta(days=days)],
                           window='morning', contact_name='演练', contact_phone='13800000000')
            break
        except BookingError:
            continue
    if made:
        break
assert made is not None, 'no booking could be made'
open('$WORK/booking.json', 'w').write(json.dumps({'reference': made.reference, 'bookings_before': before}))
"
psql_at "$P1" "SELECT pg_switch_wal()" >/dev/null
# Wait until the segment holding the booking is archived.
for _ in $(seq 1 60); do
  ready=$(psql_at "$P1" "SELECT last_archived_wal IS NOT NULL AND last_archived_wal >= pg_walfile_name(pg_current_wal_lsn() - 1) FROM pg_stat_archiver")
  [[ "$ready" == t ]] && break
  sleep 1
done
step "stop the primary (as if its machine were lost)"
pg pg_ctl -D "$PRIMARY" -m immediate stop >/dev/null

step "restore the base backup into a fresh cluster on port $P2, replay WAL to the restore point"
"${AS_PG[@]}" cp -a "$BASE" "$RESTORED"
chmod 700 "$RESTORED"
cat >>"$RESTORED/postgresql.conf" <<EOF
port = $P2
unix_socket_directories = '$WORK'
archive_mode = off
restore_command = 'cp $WAL/%f %p'
recovery_target_name = 'gongzhi_rehearsal'
recovery_target_action = 'promote'
EOF
"${AS_PG[@]}" touch "$RESTORED/recovery.signal"
timeout 300 "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$RESTORED" -l "$WORK/restored.log" -w start >/dev/null
for _ in $(seq 1 120); do
  [[ "$(psql_at "$P2" "SELECT pg_is_in_recovery()")" == f ]] && break
  sleep 1
done

export DATABASE_URL="postgres://postgres@127.0.0.1:$P2/gongzhi"
step "start the platform on the restored database"
WEB="$(free_port)"
(cd "$ROOT" && exec "$PYTHON" -m gunicorn gongzhi.wsgi:application --bind "127.0.0.1:$WEB" --workers 1 \
  --threads 2 --timeout 60 >"$WORK/gunicorn.log" 2>&1) &
GUNICORN_PID=$!
status=""
for _ in $(seq 1 60); do
  status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WEB/accounts/login/" || true)
  [[ "$status" == 200 ]] && break
  sleep 1
done
[[ "$status" == 200 ]] || { echo "FAIL: the platform did not answer on the restored database ($status)"; exit 1; }

step "check: migrations applied, audit log and ballot logs verify, exactly the expected rows"
manage migrate --check >/dev/null
manage verify_audit
manage verify_ballot_log >/dev/null
manage shell -c "
import json, sys
from gongzhi.voting.models import Ballot
from gongzhi.bulkywaste.models import Booking
from gongzhi.core.models import AuditEntry
a = json.load(open('$WORK/after_ballot.json'))
b = json.load(open('$WORK/booking.json'))
problems = []
if not Ballot.objects.filter(pk=a['ballot'], vote_id=a['vote']).exists():
    problems.append('the ballot written before the restore point is missing')
if Ballot.objects.count() != a['ballots']:
    problems.append(f\"ballots: {Ballot.objects.count()} != {a['ballots']}\")
if AuditEntry.objects.count() != a['audit']:
    problems.append(f\"audit entries: {AuditEntry.objects.count()} != {a['audit']}\")
if Booking.objects.filter(reference=b['reference']).exists():
    problems.append('the booking written after the restore point is present')
if Booking.objects.count() != b['bookings_before']:
    problems.append(f\"bookings: {Booking.objects.count()} != {b['bookings_before']}\")
for p in problems:
    print('FAIL:', p)
print('rows as at the restore point:', 'yes' if not problems else 'NO',
      f\"(ballots {a['ballots']}, audit entries {a['audit']}, bookings {b['bookings_before']})\")
sys.exit(1 if problems else 0)
"
step "restore rehearsal passed"
