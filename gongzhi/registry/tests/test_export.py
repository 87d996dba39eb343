"""Roster export: the import format (round trip), masking for workers, audited unmasked exports, streaming."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.test import override_settings

from gongzhi.core.audit import verify
from gongzhi.core.models import AuditEntry
from gongzhi.registry import exporter
from gongzhi.registry.importer import COLUMNS, import_roster
from gongzhi.registry.models import AreaNode, Unit
from gongzhi.registry.tests.roster_files import csv_bytes, resident_id, row
from gongzhi.registry.tests.test_import import snapshot

B = "5号楼"
CREDIT = "91110000802100433B"


def roster() -> list[dict]:
    dev = dict(name="郑州某某置业有限公司", kind="单位", relation="业主", credit_code=CREDIT, resides="否")
    return [
        row(
            building=B,
            entrance="1单元",
            number="101",
            floor=1,
            area_registered="70.50",
            area_surveyed="71.20",
            name="赵大",
            relation="业主",
            phone="13900000001",
            id_number=resident_id("19440302", "111"),
            designated_voter="是",
            resides="是",
        ),
        row(
            building=B,
            entrance="1单元",
            number="101",
            floor=1,
            area_registered="70.50",
            area_surveyed="71.20",
            name="钱二",
            relation="业主",
            phone="13900000002",
            designated_voter="否",
            resides="否",
        ),
        row(
            building=B,
            entrance="1单元",
            number="101",
            floor=1,
            area_registered="70.50",
            area_surveyed="71.20",
            name="赵小",
            relation="家庭成员",
            birth_date="2010-05-06",
        ),
        row(
            building=B,
            entrance="1单元",
            number="102",
            floor=1,
            area_surveyed="68.00",
            name="孙三",
            relation="租户",
            phone="0371-68989517",
        ),
        row(
            building=B, entrance="2单元", number="201", floor=2, area_contract="88.00", developer_status="未出售", **dev
        ),
        row(building=B, number="商1", floor=1, area_contract="30.25", usage="商业"),
        row(
            building=B,
            number="商2",
            floor=1,
            area_contract="31.00",
            usage="商业",
            name='=HYPERLINK("x")',
            relation="租户",
        ),
    ]


def read_xlsx(data: bytes) -> list[list[str]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]


def export_bytes(node: AreaNode, *, actor, fmt: str = "xlsx", unmasked: bool = False) -> bytes:
    out = io.BytesIO()
    exporter.export_roster(node, out, actor=actor, fmt=fmt, unmasked=unmasked)
    return out.getvalue()


@pytest.fixture
def officer(mini, persona):
    return persona("registry_officer", mini.district)


@pytest.fixture
def worker(persona):
    return persona("community_worker")


@pytest.fixture
def imported(mini, officer):
    report = import_roster(mini.courtyard, csv_bytes(roster()), actor=officer, dry_run=False)
    assert report.written and report.errors == []
    return AreaNode.objects.get(parent=mini.courtyard, name=B)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_unmasked_export_reimports_unchanged_and_rebuilds_the_same_roster_elsewhere(mini, officer, imported, fmt):
    data = export_bytes(imported, actor=officer, fmt=fmt, unmasked=True)
    before = snapshot(mini.courtyard)
    again = import_roster(mini.courtyard, data, actor=officer, dry_run=False)
    assert again.errors == [] and again.warnings == []
    assert snapshot(mini.courtyard) == before
    assert {k: v for k, v in again.summary.items() if v} == {"units_unchanged": 5, "persons_matched": 6}

    # The same file builds the same roster in another compound: its export is identical.
    import_roster(mini.other_courtyard, data, actor=officer, dry_run=False)
    elsewhere = AreaNode.objects.get(parent=mini.other_courtyard, name=B)
    assert read_xlsx(export_bytes(elsewhere, actor=officer, unmasked=True)) == read_xlsx(
        export_bytes(imported, actor=officer, unmasked=True)
    )
    assert list(verify()) == []


@pytest.mark.django_db
def test_export_rows_follow_the_import_columns(officer, imported):
    rows = read_xlsx(export_bytes(imported, actor=officer, unmasked=True))
    assert rows[0] == [c.zh for c in COLUMNS]
    by_name = {r[8]: dict(zip([c.key for c in COLUMNS], r, strict=True)) for r in rows[1:] if r[8]}
    assert by_name["赵大"]["designated_voter"] == "是" and by_name["赵大"]["resides"] == "是"
    assert by_name["钱二"]["resides"] == "否" and by_name["赵小"]["relation"] == "家庭成员"
    assert by_name["赵大"]["id_number"] == resident_id("19440302", "111")
    assert by_name["郑州某某置业有限公司"]["developer_status"] == "未出售"
    assert by_name["郑州某某置业有限公司"]["credit_code"] == CREDIT
    assert by_name['=HYPERLINK("x")']["usage"] == "商业"  # written as text, never as a formula
    shop = next(r for r in rows[1:] if r[2] == "商1")
    assert shop[1] == "" and shop[8] == ""  # directly under the building, nobody registered


@pytest.mark.django_db
def test_a_workers_export_is_masked_and_reimports_without_changes(mini, worker, imported):
    rows = read_xlsx(export_bytes(imported, actor=worker))
    text = "\n".join(",".join(r) for r in rows)
    assert "13900000001" not in text and "139****0001" in text
    assert resident_id("19440302", "111") not in text and "410103********" in text
    assert "1944-03-02" not in text  # birth dates only in full exports
    before = snapshot(mini.courtyard)
    report = import_roster(mini.courtyard, export_bytes(imported, actor=worker, fmt="csv"), actor=worker, dry_run=False)
    assert report.errors == [] and {w.column for w in report.warnings} == {"phone", "id_number"}
    assert snapshot(mini.courtyard) == before


@pytest.mark.django_db
def test_unmasked_exports_need_the_permission_and_are_audited_as_a_pii_view(mini, worker, officer, imported):
    with pytest.raises(Exception) as e:
        export_bytes(imported, actor=worker, unmasked=True)
    assert e.typename == "PermissionDenied"
    assert not exporter.can_export_unmasked(officer, imported, second_factor_passed=False)
    assert exporter.can_export_unmasked(officer, imported, second_factor_passed=True)
    assert not exporter.can_export_unmasked(worker, imported, second_factor_passed=True)

    export_bytes(imported, actor=officer, unmasked=True)
    view = AuditEntry.objects.filter(action="pii.view").latest("id")
    assert view.actor == officer and view.target_id == str(imported.pk)
    assert view.changes["fields"] == ["phone", "id_number", "birth_date"]
    export = AuditEntry.objects.filter(action="registry.export_roster").latest("id")
    assert export.changes["unmasked"] is True
    assert "13900000001" not in str(list(AuditEntry.objects.values_list("changes", flat=True)))
    assert list(verify()) == []


# --- Web -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_web_export_for_a_worker_is_masked_and_streams_csv(client, worker, imported):
    client.force_login(worker)
    page = client.get(f"/registry/export/{imported.pk}/")
    assert page.status_code == 200 and "已脱敏" in page.content.decode()
    xlsx = client.get(f"/registry/export/{imported.pk}.xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    data = b"".join(xlsx.streaming_content)
    assert "139****0001" in str(read_xlsx(data))
    response = client.get(f"/registry/export/{imported.pk}.csv")
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(c.zh for c in COLUMNS)
    assert "139****0001" in text and "13900000001" not in text
    assert "'=HYPERLINK" in text  # CSV formula guard (dropped again on import)
    assert AuditEntry.objects.filter(action="registry.export_roster", actor=worker).count() == 2
    assert not AuditEntry.objects.filter(action="pii.view").exists()


@pytest.mark.django_db
def test_web_export_full_for_an_officer_who_passed_the_second_factor(client, officer, imported):
    client.force_login(officer)
    assert client.get(f"/registry/export/{imported.pk}.xlsx").status_code == 302  # sent to the second factor first
    with override_settings(GONGZHI_REQUIRE_SECOND_FACTOR=False):  # stands for "verified" here
        data = b"".join(client.get(f"/registry/export/{imported.pk}.xlsx").streaming_content)
        assert "13900000001" in str(read_xlsx(data))
        masked = b"".join(client.get(f"/registry/export/{imported.pk}.xlsx?masked=1").streaming_content)
        assert "13900000001" not in str(read_xlsx(masked))
    assert AuditEntry.objects.filter(action="pii.view", actor=officer).count() == 1


@pytest.mark.django_db
def test_web_export_outside_scope_is_forbidden(client, mini, persona, imported):
    client.force_login(persona("community_worker", mini.other_subdistrict))
    assert client.get(f"/registry/export/{imported.pk}.xlsx").status_code == 403
    assert client.get(f"/registry/export/{mini.courtyard.pk}.csv").status_code == 403
    assert client.get("/registry/export/999999.xlsx").status_code == 404


@pytest.mark.django_db
def test_export_queries_do_not_grow_with_the_number_of_units(mini, worker, django_assert_max_num_queries):
    def export_count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            export_bytes(mini.courtyard, actor=worker)
        return len(ctx.captured_queries)

    small = export_count()
    rows = [
        row(building="9号楼", number=str(n), area_registered="50", name=f"住户{n}", relation="租户") for n in range(300)
    ]
    import_roster(mini.courtyard, csv_bytes(rows), actor=worker, dry_run=False)
    assert Unit.objects.filter(compound=mini.courtyard).count() == 306
    with django_assert_max_num_queries(small):
        export_bytes(mini.courtyard, actor=worker)


@pytest.mark.django_db
def test_export_roster_command_writes_xlsx_or_csv_masked_unless_asked(mini, officer, imported, tmp_path):
    from django.core.management import CommandError, call_command

    out = tmp_path / "roster.xlsx"
    call_command("export_roster", str(out), "--node", str(imported.pk), stdout=io.StringIO())
    assert "139****0001" in str(read_xlsx(out.read_bytes()))
    full = tmp_path / "roster.csv"
    call_command(
        "export_roster",
        str(full),
        "--node",
        str(imported.pk),
        "--actor",
        officer.username,
        "--unmasked",
        stdout=io.StringIO(),
    )
    assert "13900000001" in full.read_text(encoding="utf-8-sig")
    assert AuditEntry.objects.filter(action="pii.view", actor=officer).exists()
    with pytest.raises(CommandError):
        call_command("export_roster", str(tmp_path / "x.pdf"), "--node", str(imported.pk))
