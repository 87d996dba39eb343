"""The audit log: hash chains, the verify_audit command, and the database refusing updates and deletes."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from gongzhi.core import audit
from gongzhi.core.models import AuditEntry

THING = ("test.thing", 1)  # one target → one chain


def append(n: int, target=THING, actor=None) -> list[AuditEntry]:
    return [audit.record("test.change", target, actor=actor, changes={"n": i}) for i in range(n)]


def verify_audit() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def drop_append_only_triggers():
    """What an intruder with database access would do first (rolled back with the test's transaction)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("DROP TRIGGER core_auditentry_no_update ON core_auditentry")
        else:
            cur.execute("DROP TRIGGER core_auditentry_no_update")
            cur.execute("DROP TRIGGER core_auditentry_no_delete")


@pytest.mark.django_db
def test_entries_chain_each_to_the_previous(persona):
    actor = persona("community_worker")  # building the district writes entries too, maybe on this chain
    first, second, third = append(3, actor=actor)
    assert first.chain == second.chain == third.chain
    assert [e.seq for e in (second, third)] == [first.seq + 1, first.seq + 2]
    before = AuditEntry.objects.filter(chain=first.chain, seq=first.seq - 1).first()
    assert first.prev_mac == (before.mac if before else audit.GENESIS)
    assert second.prev_mac == first.mac and third.prev_mac == second.mac
    assert third.actor == actor and third.actor_label == str(actor)
    assert third.request_id  # a command or test gets a cli-… id


@pytest.mark.django_db
def test_personal_values_are_named_not_copied():
    changes = audit.diff(
        {"phone": "13812345678", "floor": 1}, {"phone": "13912345678", "floor": 2}, frozenset({"phone"})
    )
    assert changes == {"phone": audit.PERSONAL, "floor": [1, 2]}
    entry = audit.record("registry.update_person", ("registry.person", 7), actor=None, changes=changes)
    assert "1381234" not in str(entry.changes) and entry.actor_label == "system"


@pytest.mark.django_db
def test_verify_audit_passes_an_intact_log():
    append(5)
    append(3, target=("test.other", 2))
    code, out, _err = verify_audit()
    assert code == 0
    assert "audit log intact: 8 entries verified" in out


@pytest.mark.django_db
def test_an_altered_entry_is_found_and_named():
    entries = append(5)
    drop_append_only_triggers()
    with connection.cursor() as cur:
        cur.execute("UPDATE core_auditentry SET changes = %s WHERE id = %s", ['{"n": 99}', entries[2].id])
    code, _out, err = verify_audit()
    assert code == 1
    assert f"id={entries[2].id}" in err and "seq=3" in err and "altered" in err


@pytest.mark.django_db
def test_a_deleted_entry_in_the_middle_is_found():
    entries = append(5)
    drop_append_only_triggers()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM core_auditentry WHERE id = %s", [entries[1].id])
    code, _out, err = verify_audit()
    assert code == 1
    assert f"id={entries[2].id}" in err and "missing entry: expected seq 2" in err


@pytest.mark.django_db
def test_a_relinked_entry_is_found():
    entries = append(4)
    drop_append_only_triggers()
    with connection.cursor() as cur:
        cur.execute("UPDATE core_auditentry SET prev_mac = %s WHERE id = %s", [audit.GENESIS, entries[3].id])
    problems = list(audit.verify())
    assert [(p.entry_id, p.reason) for p in problems] == [(entries[3].id, "link to the previous entry is broken")]


@pytest.mark.django_db
def test_only_the_broken_chain_is_reported():
    broken = append(3)
    append(3, target=("test.other", 2))
    drop_append_only_triggers()
    with connection.cursor() as cur:
        cur.execute("UPDATE core_auditentry SET action = 'forged' WHERE id = %s", [broken[0].id])
    problems = list(audit.verify(batch=2))  # small pages: the walk crosses page boundaries
    assert len(problems) == 1 and problems[0].entry_id == broken[0].id


@pytest.mark.django_db
def test_verify_walks_long_chains_in_pages():
    append(7)
    assert list(audit.verify(batch=3)) == []


@pytest.mark.django_db
def test_the_model_refuses_to_update_or_delete():
    entry = append(1)[0]
    entry.action = "forged"
    with pytest.raises(RuntimeError, match="append-only"):
        entry.save()
    with pytest.raises(RuntimeError, match="append-only"):
        entry.delete()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    ["UPDATE core_auditentry SET action = 'forged'", "DELETE FROM core_auditentry"],
)
def test_the_database_refuses_update_and_delete(statement):
    append(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(statement)
    assert AuditEntry.objects.count() == 2
    assert list(audit.verify()) == []


@pytest.mark.django_db
def test_queryset_update_and_delete_hit_the_trigger():
    append(2)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.update(action="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.all()._raw_delete(AuditEntry.objects.db)
    assert AuditEntry.objects.filter(action="test.change").count() == 2


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_appends_to_one_chain_all_land_with_contiguous_seqs():
    """Six threads on their own connections append to the same chain at once: no lock, no loss, no gap."""
    from django.db import connections

    assert connection.vendor == "postgresql"
    threads_n, per_thread = 6, 8
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def worker(k: int):
        try:
            barrier.wait()
            for i in range(per_thread):
                with transaction.atomic():
                    audit.record("test.race", THING, actor=None, changes={"thread": k, "i": i})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = sorted(AuditEntry.objects.filter(action="test.race").values_list("seq", flat=True))
    assert seqs == list(range(1, threads_n * per_thread + 1))
    assert list(audit.verify()) == []


# --- Checkpoints: truncation is found ---------------------------------------------------------------------


@pytest.fixture
def checkpoint_file(tmp_path, settings):
    settings.GONGZHI_AUDIT_CHECKPOINT_FILE = tmp_path / "audit-checkpoints.jsonl"
    return settings.GONGZHI_AUDIT_CHECKPOINT_FILE


def delete_last(n: int, chain: int) -> None:
    drop_append_only_triggers()
    last = list(AuditEntry.objects.filter(chain=chain).order_by("-seq").values_list("pk", flat=True)[:n])
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM core_auditentry WHERE id IN ({','.join(str(pk) for pk in last)})")


@pytest.mark.django_db
def test_a_checkpoint_is_signed_stored_and_appended_to_the_file(checkpoint_file):
    entries = append(3)
    out = io.StringIO()
    call_command("checkpoint_audit", stdout=out)
    point = audit_models().AuditCheckpoint.objects.get()
    assert point.heads[str(entries[-1].chain)] == [entries[-1].seq, entries[-1].mac]
    assert point.mac in out.getvalue()
    (line,) = checkpoint_file.read_text().splitlines()
    assert point.mac in line
    assert list(audit.verify_checkpoints()) == []
    assert verify_audit()[0] == 0


def audit_models():
    from gongzhi.core import models

    return models


@pytest.mark.django_db
def test_deleting_the_last_entries_of_a_chain_is_reported_by_verify_audit(checkpoint_file):
    entries = append(5)
    audit.checkpoint()
    delete_last(2, entries[0].chain)
    assert list(audit.verify()) == []  # the chain itself is still consistent: only the checkpoint tells
    code, _out, err = verify_audit()
    assert code == 1 and "truncated" in err and f"saw seq {entries[-1].seq}" in err


@pytest.mark.django_db
def test_deleting_the_entries_and_the_checkpoint_rows_is_still_found_through_the_file(checkpoint_file):
    entries = append(4)
    audit.checkpoint()
    delete_last(1, entries[0].chain)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("DROP TRIGGER core_auditcheckpoint_no_update ON core_auditcheckpoint")
        cur.execute("DELETE FROM core_auditcheckpoint")
    problems = [p.reason for p in audit.verify_checkpoints()]
    assert any("not in the database" in r for r in problems)
    assert any(r.startswith("truncated") for r in problems)


@pytest.mark.django_db
def test_a_forged_checkpoint_line_is_reported(checkpoint_file):
    append(2)
    audit.checkpoint()
    checkpoint_file.write_text(checkpoint_file.read_text().replace("[", "[9", 1))
    assert any("damaged" in p.reason for p in audit.verify_checkpoints())


# --- The printed checkpoint: what the notices carry, typed back in ----------------------------------------------


def verify_audit_against(*printed: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = [a for text in printed for a in ("--checkpoint", text)]
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def remove_checkpoints(checkpoint_file) -> None:
    """An insider covering their tracks: the checkpoint rows go, and the checkpoint file is emptied."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("DROP TRIGGER core_auditcheckpoint_no_update ON core_auditcheckpoint")
        cur.execute("DELETE FROM core_auditcheckpoint")
    checkpoint_file.write_text("")


@pytest.mark.django_db
def test_the_printed_checkpoint_is_one_short_signed_line_that_reads_back(checkpoint_file):
    append(3)
    append(2, target=("test.other", 9))
    point = audit.checkpoint()
    printed = audit.latest_printed()
    assert printed == audit.printed(point) and printed.entries == 5 and printed.genuine
    assert len(printed.text) < 90 and printed.text.startswith("GZCP ") and "+08:00" in printed.text
    # As typed in from the paper: the words around it, other spacing, capitals.
    typed = f"审计检查点  {printed.text.upper().replace('GZCP', 'gzcp').replace(' N=', '  n = ')}  第1页"
    assert audit.parse_printed(typed) == printed
    code, out, _err = verify_audit_against(typed)
    assert code == 0 and "1 printed checkpoint(s) reached" in out


@pytest.mark.django_db
def test_a_mistyped_or_made_up_printed_checkpoint_is_refused(checkpoint_file):
    append(2)
    audit.checkpoint()
    printed = audit.latest_printed()
    wrong = printed.text.replace(f"n={printed.entries}", f"n={printed.entries + 1}")
    code, _out, err = verify_audit_against(wrong)
    assert code == 1 and "signature does not match" in err
    with pytest.raises(CommandError, match="expected 'GZCP"):
        verify_audit_against("GZCP yesterday n=3")


@pytest.mark.django_db
def test_truncating_the_log_after_a_printed_checkpoint_is_found_from_the_printed_text_alone(checkpoint_file):
    entries = append(6)
    append(3, target=("test.other", 9))
    audit.checkpoint()
    on_the_notice = audit.latest_printed().text  # printed at the foot of that day's notices
    delete_last(2, entries[0].chain)
    remove_checkpoints(checkpoint_file)
    audit.checkpoint()  # the next scheduled checkpoint signs the shortened log as if nothing happened
    assert list(audit.verify()) == [] and list(audit.verify_checkpoints()) == []
    assert verify_audit()[0] == 0  # the database and the file alone no longer tell

    code, _out, err = verify_audit_against(on_the_notice)
    assert code == 1
    assert "counted 9 entries, the log now holds 7" in err
    assert "in neither the database nor the checkpoint file" in err


@pytest.mark.django_db
def test_a_truncation_refilled_to_the_same_count_is_still_found_from_the_printed_text(checkpoint_file):
    entries = append(5)
    audit.checkpoint()
    on_the_notice = audit.latest_printed().text
    delete_last(2, entries[0].chain)
    append(2)  # new entries in place of the deleted ones: the count is as printed again
    assert AuditEntry.objects.count() == 5
    code, _out, err = verify_audit_against(on_the_notice)
    # The checkpoint the notice names is still on record: the chain no longer reaches the head it saw.
    assert code == 1 and "entry differs from the checkpoint printed at" in err
    remove_checkpoints(checkpoint_file)
    code, _out, err = verify_audit_against(on_the_notice)
    assert code == 1 and "in neither the database nor the checkpoint file" in err
