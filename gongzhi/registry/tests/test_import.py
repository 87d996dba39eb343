"""Roster import: every bad row reported, all-or-nothing writes, skipping bad rows, idempotent re-import."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied

from gongzhi.core.audit import verify
from gongzhi.core.models import AuditEntry
from gongzhi.registry.importer import RosterFileError, import_roster, parse_table, read_table
from gongzhi.registry.models import AreaNode, Ownership, Person, Residence, Unit
from gongzhi.registry.tests.roster_files import csv_bytes, resident_id, row, xlsx_bytes

B, E = "2号楼", "1单元"
CREDIT = "91110000802100433B"  # a real-format code with a valid check character


def snapshot(compound: AreaNode) -> dict:
    """Everything an import may touch, as plain values, to compare before and after."""
    return {
        "nodes": sorted(AreaNode.objects.filter(path__startswith=compound.path).values_list("pk", "name", "path")),
        "units": sorted(
            Unit.objects.filter(compound=compound).values_list(
                "pk",
                "node_id",
                "number",
                "floor",
                "usage",
                "area_registered",
                "area_surveyed",
                "area_contract",
                "resident_count",
            )
        ),
        "persons": sorted(
            Person.objects.values_list("pk", "name", "phone", "id_number_hash", "birth_date", "home_path")
        ),
        "ownerships": sorted(
            Ownership.objects.values_list("unit_id", "person_id", "is_designated_voter", "developer_status")
        ),
        "residences": sorted(Residence.objects.values_list("unit_id", "person_id", "relation")),
    }


def good_rows() -> list[dict]:
    return [
        row(
            building=B,
            entrance=E,
            number="101",
            floor=1,
            area_registered="70.50",
            name="赵大",
            relation="业主",
            phone="13900000001",
            id_number=resident_id("19500302", "111"),
            designated_voter="是",
        ),
        row(building=B, entrance=E, number="101", name="钱二", relation="业主", phone="13900000002"),
        row(building=B, entrance=E, number="101", name="赵小", relation="家庭成员"),
        row(
            building=B,
            entrance=E,
            number="102",
            floor=1,
            area_surveyed="68",
            name="孙三",
            relation="租户",
            phone="0371-68989517",
        ),
        row(building=B, number="商1", area_contract="30.25", usage="商业"),
    ]


@pytest.fixture
def worker(persona):
    return persona("community_worker")


# --- Dry run: every bad row, with row, column and reason ---------------------------------------------------


def bad_file_rows() -> list[dict]:
    ok = dict(building=B, entrance=E, floor=2)
    return [
        row(**ok, number="201", area_registered="60", name="好人", relation="业主"),  # row 2: good
        row(entrance=E, number="202", area_registered="60"),  # 3: no building
        row(building=B, entrance=E, area_registered="60"),  # 4: no unit number
        row(**ok, number="203", area_registered="60", name="甲", relation="业主", phone="1380000"),  # 5: phone
        row(
            **ok,
            number="204",
            area_registered="60",
            name="乙",
            relation="业主",
            id_number=resident_id()[:-1] + ("0" if resident_id()[-1] != "0" else "1"),
        ),  # 6: check digit
        row(**ok, number="205", area_registered="-3"),  # 7: negative area
        row(**ok, number="206", area_surveyed="六十"),  # 8: not a number
        row(**ok, number="207", name="丙", relation="业主"),  # 9: no area at all
        row(**ok, number="208", area_registered="60", name="丁", relation="业主", birth_date="1950-13-01"),  # 10
        row(**ok, number="209", area_registered="60", name="戊", relation="邻居"),  # 11: relation
        row(**ok, number="210", area_registered="60", usage="工业"),  # 12: usage
        row(**ok, number="211", area_registered="60", name="己", relation="业主", designated_voter="是"),  # 13
        row(**ok, number="211", name="庚", relation="业主", designated_voter="是"),  # 14: second voter
        row(**ok, number="212", area_registered="60", name="辛", relation="业主", phone="13900000009"),  # 15
        row(**ok, number="212", name="辛", relation="家庭成员", phone="13900000009"),  # 16: listed twice
        row(**ok, number="213", area_registered="60"),  # 17
        row(**ok, number="213", area_registered="61"),  # 18: conflicting area
        row(
            **ok,
            number="214",
            area_registered="60",
            name="某公司",
            kind="单位",
            relation="业主",
            developer_status="未出售",
            designated_voter="是",
        ),  # 19: developer row as designated voter
        row(**ok, number="215", area_registered="60", name="壬", kind="公司", relation="业主"),  # 20: kind
        row(
            **ok,
            number="216",
            area_registered="60",
            name="癸",
            relation="业主",
            id_number=resident_id(),
            birth_date="1960-01-01",
        ),  # 21: birth date differs from the ID number
    ]


EXPECTED = {
    (3, "building", "楼栋不能为空"),
    (4, "number", "室号不能为空"),
    (5, "phone", "手机号码应为11位"),
    (6, "id_number", "校验位不正确"),
    (7, "area_registered", "面积不能为负数"),
    (8, "area_surveyed", "面积应为数字"),
    (9, "area", "该房屋没有面积"),
    (10, "birth_date", "日期格式应为"),
    (11, "relation", "无法识别"),
    (12, "usage", "无法识别"),
    (14, "designated_voter", "只能有一位共有人表决代表（第13行已指定）"),
    (16, "name", "同一房屋重复列出此人（见第15行）"),
    (18, "area_registered", "与第17行同一房屋的登记面积不一致"),
    (19, "designated_voter", "开发商持有的房屋不能指定"),
    (20, "kind", "无法识别"),
    (21, "birth_date", "出生日期与身份证号不一致"),
}


@pytest.mark.django_db
def test_dry_run_reports_every_bad_row_with_column_and_reason_in_both_languages(mini, worker):
    before = snapshot(mini.courtyard)
    report = import_roster(mini.courtyard, csv_bytes(bad_file_rows()), actor=worker, dry_run=True)

    found = {(e.row, e.column) for e in report.errors}
    assert found == {(r, c) for r, c, _ in EXPECTED}
    for r, c, text in EXPECTED:
        [error] = [e for e in report.errors if (e.row, e.column) == (r, c)]
        assert text in error.zh, (r, c, error.zh)
        assert error.en  # every reason has its English too
    phone = next(e for e in report.errors if e.row == 5)
    assert str(phone).startswith("第5行 手机：手机号码应为11位")
    assert "row 5 phone: must be an 11-digit" in str(phone)
    # The unit-wide problems make every row of the unit bad; the good row 2 is not.
    assert set(report.bad_rows) == {r for r, _, _ in EXPECTED} | {13, 17}
    assert report.summary["units_new"] == 2 and report.summary["persons_new"] == 2  # rows 2 and 15
    assert not report.written
    assert snapshot(mini.courtyard) == before


@pytest.mark.django_db
def test_header_problems_are_reported_and_block_the_import_even_when_skipping(mini, worker):
    data = "楼栋,房号,登记面积(㎡),颜色\n2号楼,1,50,红\n".encode()
    report = import_roster(mini.courtyard, data, actor=worker, dry_run=False, skip_bad_rows=True)
    assert report.fatal and not report.written
    assert [(e.row, e.column, e.zh) for e in report.errors] == [(1, "颜色", "未知的列名")]

    missing = csv_bytes([{"name": "张三"}], header=["姓名"])
    report = import_roster(mini.courtyard, missing, actor=worker, dry_run=True)
    assert {e.column for e in report.errors} == {"building", "number", "area"}


@pytest.mark.django_db
def test_english_headers_are_accepted(mini, worker):
    header = [
        "building",
        "entrance",
        "unit number",
        "floor",
        "registered area",
        "surveyed area",
        "contract area",
        "usage",
        "name",
        "kind",
        "relation",
        "phone",
        "ID number",
        "birth date",
        "designated voter",
        "developer status",
        "credit code",
        "resides",
    ]
    report = import_roster(mini.courtyard, csv_bytes(good_rows(), header=header), actor=worker, dry_run=True)
    assert report.errors == [] and report.summary["units_new"] == 3


@pytest.mark.parametrize(
    "data, zh",
    [
        (b"", "文件为空"),
        (b"\xd0\xcf\x11\xe0rest", ".xls"),
        (b"PK\x03\x04broken", "已损坏"),
        (b"\xff\xff\x00\x81", "编码"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(data, zh):
    with pytest.raises(RosterFileError) as e:
        read_table(data)
    assert zh in e.value.zh and e.value.en


# --- Writing: all or nothing, or the good rows only -------------------------------------------------------


@pytest.mark.django_db
def test_a_file_with_a_bad_row_writes_nothing(mini, worker):
    before = snapshot(mini.courtyard)
    audit_before = AuditEntry.objects.count()
    rows = good_rows() + [row(building=B, entrance=E, number="999", area_registered="0")]
    report = import_roster(mini.courtyard, csv_bytes(rows), actor=worker, dry_run=False)
    assert not report.written and [(e.row, e.column) for e in report.errors] == [(7, "area_registered")]
    assert snapshot(mini.courtyard) == before
    assert AuditEntry.objects.count() == audit_before


@pytest.mark.django_db
def test_skip_bad_rows_writes_the_good_rows_and_lists_the_skipped(mini, worker):
    rows = good_rows() + [
        row(building=B, entrance=E, number="103", area_registered="50", name="坏号码", relation="业主", phone="123"),
        row(
            building=B,
            entrance=E,
            number="104",
            area_registered="50",
            name="好号码",
            relation="业主",
            phone="13900000004",
        ),
    ]
    report = import_roster(mini.courtyard, xlsx_bytes(rows), actor=worker, dry_run=False, skip_bad_rows=True)
    assert report.written and report.skipped_rows == [7]
    numbers = set(Unit.objects.filter(compound=mini.courtyard, node__parent__name=B).values_list("number", flat=True))
    assert numbers == {"101", "102", "104"}  # a skipped row is skipped whole: unit 103 had no other row
    assert not Person.objects.filter(name="坏号码").exists()
    assert Person.objects.filter(name="好号码", phone="13900000004").exists()
    assert list(verify()) == []


@pytest.mark.django_db
def test_import_creates_buildings_entrances_units_people_and_links(mini, worker):
    report = import_roster(mini.courtyard, csv_bytes(good_rows()), actor=worker, dry_run=False)
    assert report.written and report.errors == []
    s = report.summary
    assert (s["buildings_new"], s["entrances_new"], s["units_new"]) == (1, 1, 3)
    assert (s["persons_new"], s["ownerships_new"], s["residences_new"]) == (4, 2, 4)
    building = AreaNode.objects.get(parent=mini.courtyard, name=B)
    assert building.level.code == "building"
    shop = Unit.objects.get(node=building, number="商1")  # no entrance: directly under the building
    assert shop.usage == Unit.Usage.COMMERCIAL and shop.voting_area() == (Decimal("30.25"), "contract")
    flat = Unit.objects.get(node__parent=building, node__name=E, number="101")
    assert flat.resident_count == 3 and flat.area_registered == Decimal("70.50")
    zhao = Person.objects.get(name="赵大")
    assert zhao.get_id_number() == resident_id("19500302", "111")
    assert str(zhao.birth_date) == "1950-03-02"  # derived from the ID number
    assert zhao.home_path == flat.path
    assert Ownership.objects.get(unit=flat, person=zhao).is_designated_voter
    mini.courtyard.refresh_from_db()
    assert mini.courtyard.unit_count == 9 and mini.courtyard.resident_count == 7


@pytest.mark.django_db
def test_importing_the_same_file_twice_changes_nothing_the_second_time(mini, worker):
    rows = good_rows() + [
        row(
            building="1号楼",
            entrance="1单元",
            number="101",
            area_registered="62.50",
            name="张建国",
            relation="业主",
            phone="13812345678",
        )
    ]
    data = xlsx_bytes(rows)
    import_roster(mini.courtyard, data, actor=worker, dry_run=False)
    after_first = snapshot(mini.courtyard)
    second = import_roster(mini.courtyard, data, actor=worker, dry_run=False)
    assert snapshot(mini.courtyard) == after_first
    assert {k: v for k, v in second.summary.items() if v} == {"units_unchanged": 4, "persons_matched": 5}


@pytest.mark.django_db
def test_existing_units_get_new_areas_and_existing_people_are_matched_not_duplicated(mini, worker):
    old = mini.units[0]
    rows = [
        row(
            building="1号楼",
            entrance="1单元",
            number=old.number,
            area_registered="62.50",
            area_surveyed="64.10",
            name="张建国",
            relation="业主",
            phone="13812345678",
            id_number=resident_id("19410302", "555"),
        )
    ]
    report = import_roster(mini.courtyard, csv_bytes(rows), actor=worker, dry_run=False)
    assert report.summary["units_updated"] == 1 and report.summary["persons_matched"] == 1
    assert report.summary["persons_updated"] == 1  # the ID number it lacked was filled in
    old.refresh_from_db()
    assert old.area_surveyed == Decimal("64.10") and old.area_registered == Decimal("62.50")
    zhang = Person.objects.get(name="张建国")
    assert zhang.get_id_number() == resident_id("19410302", "555")
    assert str(zhang.birth_date) == "1941-03-02"  # kept: it was already there
    assert Ownership.objects.filter(unit=old, person=zhang).count() == 1


@pytest.mark.django_db
def test_a_person_is_matched_by_id_number_across_compounds(mini, persona):
    officer = persona("registry_officer", mini.district)
    pid = resident_id("19620808", "321")
    first = [row(building="2号楼", number="101", area_contract="55", name="周八", relation="业主", id_number=pid)]
    import_roster(mini.other_courtyard, csv_bytes(first), actor=officer, dry_run=False)
    second = [
        row(building=B, number="301", area_registered="80", name="周八", relation="业主", id_number=pid, resides="否")
    ]
    report = import_roster(mini.courtyard, csv_bytes(second), actor=officer, dry_run=False)
    assert report.summary["persons_new"] == 0 and report.summary["persons_matched"] == 1
    person = Person.objects.get(name="周八")
    assert person.ownerships.count() == 2 and person.residences.count() == 1  # lives in the first flat only


@pytest.mark.django_db
def test_co_owners_designate_one_voter_and_a_new_file_can_move_the_designation(mini, worker):
    rows = [
        row(
            building=B,
            number="501",
            area_registered="90",
            name="甲",
            relation="业主",
            phone="13900000011",
            designated_voter="是",
        ),
        row(building=B, number="501", name="乙", relation="业主", phone="13900000012", designated_voter="否"),
    ]
    import_roster(mini.courtyard, csv_bytes(rows), actor=worker, dry_run=False)
    unit = Unit.objects.get(number="501")
    assert list(unit.ownerships.filter(is_designated_voter=True).values_list("person__name", flat=True)) == ["甲"]

    rows[0]["designated_voter"], rows[1]["designated_voter"] = "否", "是"
    report = import_roster(mini.courtyard, csv_bytes(rows), actor=worker, dry_run=False)
    assert report.summary["ownerships_updated"] == 2
    assert list(unit.ownerships.filter(is_designated_voter=True).values_list("person__name", flat=True)) == ["乙"]

    only_new_voter = [
        row(
            building=B,
            number="501",
            area_registered="90",
            name="甲",
            relation="业主",
            phone="13900000011",
            designated_voter="是",
        )
    ]
    import_roster(mini.courtyard, csv_bytes(only_new_voter), actor=worker, dry_run=False)
    assert list(unit.ownerships.filter(is_designated_voter=True).values_list("person__name", flat=True)) == ["甲"]
    assert list(verify()) == []


@pytest.mark.django_db
def test_co_owned_unit_without_a_designated_voter_is_a_warning_not_an_error(mini, worker):
    rows = [
        row(building=B, number="601", area_registered="90", name="甲", relation="业主"),
        row(building=B, number="601", name="乙", relation="业主"),
    ]
    report = import_roster(mini.courtyard, csv_bytes(rows), actor=worker, dry_run=True)
    assert report.errors == [] and [w.column for w in report.warnings] == ["designated_voter"]


@pytest.mark.django_db
def test_developer_held_units_belong_to_one_legal_person_who_lives_nowhere(mini, worker):
    dev = dict(name="郑州某某置业有限公司", kind="单位", relation="业主", credit_code=CREDIT)
    rows = [
        row(building=B, number="701", area_contract="88", developer_status="未出售", **dev),
        row(building=B, number="702", area_contract="88", developer_status="已售未交付", **dev),
        row(building=B, number="703", area_contract="88", developer_status="未出售", **dev),
    ]
    report = import_roster(mini.courtyard, xlsx_bytes(rows), actor=worker, dry_run=False)
    assert report.summary["persons_new"] == 1 and report.summary["residences_new"] == 0
    developer = Person.objects.get(credit_code=CREDIT)
    assert developer.kind == Person.Kind.LEGAL and developer.is_developer
    assert sorted(developer.ownerships.values_list("developer_status", flat=True)) == [
        "undelivered",
        "unsold",
        "unsold",
    ]
    bad = [
        row(
            building=B,
            number="704",
            area_contract="88",
            name="某单位",
            kind="单位",
            relation="业主",
            credit_code=CREDIT[:-1] + "C",
        )
    ]
    assert [e.column for e in import_roster(mini.courtyard, csv_bytes(bad), actor=worker).errors] == ["credit_code"]


@pytest.mark.django_db
def test_masked_values_are_ignored_with_a_warning(mini, worker):
    rows = [
        row(
            building="1号楼",
            entrance="1单元",
            number="101",
            area_registered="62.50",
            name="张建国",
            relation="业主",
            phone="138****5678",
            id_number="410103********1234",
        )
    ]
    report = import_roster(mini.courtyard, csv_bytes(rows), actor=worker, dry_run=False)
    assert report.errors == [] and {w.column for w in report.warnings} == {"phone", "id_number"}
    assert report.summary["persons_matched"] == 1 and report.summary["persons_new"] == 0
    assert Person.objects.get(name="张建国").phone == "13812345678"


# --- Encodings and formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_in_gb18030_and_utf8_with_or_without_bom(encoding):
    data = csv_bytes(good_rows(), encoding=encoding)
    if encoding == "utf-8-sig":
        assert data.startswith(b"\xef\xbb\xbf")
    parsed = parse_table(read_table(data))
    assert parsed.errors == []
    assert [r.building for r in parsed.rows] == [B] * 5
    assert parsed.rows[0].person.name == "赵大"


def test_xlsx_numbers_and_dates_are_read_as_typed_in_excel():
    import datetime
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["楼栋", "室号", "楼层", "登记面积", "姓名", "关系", "手机", "出生日期"])
    sheet.append(["3号楼", 101, 1, 65.5, "李四", "业主", 13900000021, datetime.datetime(1948, 5, 6)])
    out = io.BytesIO()
    book.save(out)
    parsed = parse_table(read_table(out.getvalue()))
    assert parsed.errors == []
    [r] = parsed.rows
    assert (r.number, r.unit["floor"], r.unit["area_registered"]) == ("101", 1, Decimal("65.50"))
    assert (r.person.phone, str(r.person.birth_date)) == ("13900000021", "1948-05-06")


# --- Permission and the audit log -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_worker_of_another_subdistrict_cannot_import_into_the_compound(mini, persona):
    stranger = persona("community_worker", mini.other_subdistrict)
    with pytest.raises(PermissionDenied):
        import_roster(mini.courtyard, csv_bytes(good_rows()), actor=stranger, dry_run=True)
    resident = persona("resident", mini.courtyard)
    with pytest.raises(PermissionDenied):
        import_roster(mini.courtyard, csv_bytes(good_rows()), actor=resident, dry_run=False)


@pytest.mark.django_db
def test_the_audit_log_verifies_names_ids_and_sha256_but_holds_no_personal_values(mini, worker):
    rows = good_rows()
    data = csv_bytes(rows)
    report = import_roster(mini.courtyard, data, actor=worker, dry_run=False)
    assert list(verify()) == []
    entries = list(AuditEntry.objects.filter(action__startswith="registry.import_roster"))
    assert {e.action for e in entries} >= {
        "registry.import_roster",
        "registry.import_roster.create_units",
        "registry.import_roster.create_persons",
        "registry.import_roster.create_ownerships",
        "registry.import_roster.create_residences",
    }
    assert all(e.changes["sha256"] == report.sha256 for e in entries)
    created = next(e for e in entries if e.action == "registry.import_roster.create_persons")
    assert sorted(created.changes["ids"]) == sorted(
        Person.objects.filter(name__in=["赵大", "钱二", "赵小", "孙三"]).values_list("pk", flat=True)
    )
    everything = " ".join(str(e.changes) for e in AuditEntry.objects.all())
    for r in rows:
        for key in ("phone", "id_number", "name"):
            if r.get(key):
                assert r[key] not in everything, key
    assert "13900000001" not in everything and resident_id("19500302", "111")[6:14] not in everything


@pytest.mark.django_db
def test_the_import_needs_a_compound_node(mini, worker):
    with pytest.raises(ValueError):
        import_roster(mini.building, csv_bytes(good_rows()), actor=worker)


# --- The web flow: upload → report → confirm → job (the immediate task backend runs it at once) -------------


def upload(client, compound, data: bytes, name: str = "roster.csv", skip: bool = False):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    post = {"compound": compound.pk, "file": SimpleUploadedFile(name, data)}
    if skip:
        post["skip_bad_rows"] = "on"
    return client.post(reverse("registry:import"), post)


@pytest.mark.django_db
def test_web_flow_dry_run_report_then_confirm_writes_and_shows_counts(
    client, mini, worker, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from gongzhi.registry import import_jobs

    client.force_login(worker)
    page = client.get(reverse("registry:import"))
    assert (
        page.status_code == 200
        and "油漆厂家属院" in page.content.decode()
        and "桃源路47号院" not in page.content.decode()
    )

    response = upload(client, mini.courtyard, csv_bytes(good_rows()))
    assert response.status_code == 302
    review_url = response["Location"]
    token = review_url.rstrip("/").rsplit("/", 1)[1]
    page = client.get(review_url).content.decode()
    assert "确认导入" in page and "全部通过" in page
    assert not Unit.objects.filter(number="商1").exists()  # the dry run wrote nothing

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(review_url)
    assert done.status_code == 302 and "/registry/import/job/" in done["Location"]
    page = client.get(done["Location"]).content.decode()
    assert "花名册已导入" in page and "导入编号" in page
    assert 'http-equiv="refresh"' not in page  # finished: the page no longer refreshes itself
    assert Unit.objects.filter(number="商1").exists()
    assert import_jobs.load_data(token) is None  # the uploaded bytes are gone once imported
    assert client.get(review_url)["Location"] == done["Location"]  # the review now leads to the job


@pytest.mark.django_db
def test_web_report_lists_bad_rows_and_confirming_without_skip_writes_nothing(
    client, mini, worker, django_capture_on_commit_callbacks
):
    from gongzhi.registry.models import ImportJob

    client.force_login(worker)
    review_url = upload(client, mini.courtyard, xlsx_bytes(bad_file_rows()), name="bad.xlsx")["Location"]
    page = client.get(review_url).content.decode()
    assert "手机号码应为11位" in page and "must be an 11-digit" in page and "确认导入" in page
    before = snapshot(mini.courtyard)
    again = client.post(review_url)
    assert again.status_code == 200 and "未导入任何数据" in again.content.decode()
    assert snapshot(mini.courtyard) == before
    assert not ImportJob.objects.filter(dry_run=False).exists()  # nothing queued for a file that cannot go in
    dry = ImportJob.objects.get(dry_run=True)
    problems = client.get(f"/registry/import/job/{dry.pk}/problems.csv")
    text = problems.content.decode("utf-8-sig")
    assert text.count("\n") == len(EXPECTED) + 1 and "楼栋不能为空" in text

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(review_url, {"skip_bad_rows": "1"})
    assert done.status_code == 302
    assert Unit.objects.filter(number="201", compound=mini.courtyard, node__parent__name=B).exists()
    page = client.get(done["Location"]).content.decode()
    assert "花名册已导入" in page and "跳过了" in page


@pytest.mark.django_db
def test_web_upload_refuses_unreadable_files_on_the_field_and_other_users_tokens(client, mini, worker, persona):
    client.force_login(worker)
    page = upload(client, mini.courtyard, b"\xd0\xcf\x11\xe0old", name="old.xls")
    assert page.status_code == 200 and "只接受 .xlsx 或 .csv" in page.content.decode()
    page = upload(client, mini.courtyard, b"\xd0\xcf\x11\xe0old", name="old.xlsx")
    assert page.status_code == 200 and "另存为 .xlsx" in page.content.decode()

    review_url = upload(client, mini.courtyard, csv_bytes(good_rows()))["Location"]
    other = persona("community_worker", username="another-worker")
    client.force_login(other)
    assert client.get(review_url).status_code == 404
    assert client.post(review_url).status_code == 404


@pytest.mark.django_db
def test_web_import_forbidden_outside_scope(client, mini, persona):
    stranger = persona("community_worker", mini.other_subdistrict)
    client.force_login(stranger)
    page = client.get("/registry/import/").content.decode()
    assert "油漆厂家属院" not in page
    response = upload(client, mini.courtyard, csv_bytes(good_rows()))
    assert response.status_code == 200 and "compound" in response.context["form"].errors  # not a valid choice
    resident = persona("resident", mini.courtyard)
    client.force_login(resident)
    assert client.get("/registry/import/").status_code == 403


@pytest.mark.django_db
def test_stashed_files_expire_unless_a_job_waits_for_them(mini, worker, monkeypatch):
    import time

    from gongzhi.registry import import_jobs

    token = import_jobs.stash(b"x")
    waiting = import_jobs.stash(csv_bytes(good_rows()))
    import_jobs.queue_import(mini.courtyard, waiting, actor=worker, dry_run=False)  # queued, not run
    assert import_jobs.load_data(token) == b"x"
    later = time.time() + import_jobs.STASH_SECONDS + 5
    monkeypatch.setattr(import_jobs.time, "time", lambda: later)
    import_jobs.purge_expired()
    assert import_jobs.load_data(token) is None
    assert import_jobs.load_data(waiting) is not None  # the worker still needs it
    assert import_jobs.load_data("../../etc/passwd") is None  # tokens are checked


# --- API -------------------------------------------------------------------------------------------------


def api_post(client, compound_pk, data: bytes | None, **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = {"compound": compound_pk, **fields} if compound_pk is not None else dict(fields)
    if data is not None:
        body["file"] = SimpleUploadedFile("roster.csv", data)
    return client.post("/api/v1/roster-imports/", body, format="multipart")


@pytest.fixture
def api(worker):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(worker)
    return client


@pytest.fixture
def api_import(api, django_capture_on_commit_callbacks):
    """POST a real import (202), let the immediate task backend run it, then GET its status."""

    def run(compound_pk, data: bytes, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            accepted = api_post(api, compound_pk, data, dry_run="false", **fields)
        assert accepted.status_code == 202, accepted.json()
        body = accepted.json()
        assert body["status"] == "queued" and accepted["Location"] == body["status_url"]
        return api.get(body["status_url"])

    return run


@pytest.mark.django_db
def test_api_dry_run_reports_bad_rows_with_fields_and_reasons(mini, api):
    response = api_post(api, mini.courtyard.pk, csv_bytes(bad_file_rows()))
    assert response.status_code == 200
    body = response.json()
    assert body["dry_run"] is True and body["written"] is False
    assert {(e["row"], e["column"]) for e in body["errors"]} == {(r, c) for r, c, _ in EXPECTED}
    phone = next(e for e in body["errors"] if e["row"] == 5)
    assert phone["text"].startswith("第5行 手机：") and phone["text_en"].startswith("row 5 phone: ")


@pytest.mark.django_db
def test_api_real_import_fails_with_field_errors_when_rows_are_bad_and_is_done_when_written(mini, api_import):
    before = snapshot(mini.courtyard)
    response = api_import(mini.courtyard.pk, csv_bytes(bad_file_rows()))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed" and body["message"] == "花名册有问题的行，未写入任何数据"
    assert {"field": "rows.5.phone", "code": "invalid_row"}.items() <= next(
        e for e in body["errors"] if e["field"] == "rows.5.phone"
    ).items()
    assert body["report"]["written"] is False and snapshot(mini.courtyard) == before

    response = api_import(mini.courtyard.pk, csv_bytes(bad_file_rows()), skip_bad_rows="true")
    body = response.json()
    assert body["status"] == "done" and body["report"]["written"] is True and body["errors"] == []
    assert body["report"]["skipped_rows"] == sorted({r for r, _, _ in EXPECTED} | {13, 17})

    response = api_import(mini.courtyard.pk, csv_bytes(good_rows()))
    assert response.json()["status"] == "done" and response.json()["report"]["summary"]["units_new"] == 3


@pytest.mark.django_db
def test_api_bad_requests_name_the_field(mini, api):
    cases = [
        (api_post(api, None, csv_bytes(good_rows())), "compound"),
        (api_post(api, "abc", csv_bytes(good_rows())), "compound"),
        (api_post(api, mini.courtyard.pk, None), "file"),
        (api_post(api, mini.courtyard.pk, b"\xd0\xcf\x11\xe0old"), "file"),
        (api_post(api, mini.courtyard.pk, b"\xd0\xcf\x11\xe0old", dry_run="false"), "file"),
        (api_post(api, mini.courtyard.pk, csv_bytes(good_rows()), dry_run="maybe"), "dry_run"),
        (api_post(api, mini.building.pk, csv_bytes(good_rows())), "compound"),
    ]
    for response, field in cases:
        assert response.status_code == 400, (field, response.json())
        body = response.json()
        assert body["errors"][0]["field"] == field and body["errors"][0]["message"] and body["errors"][0]["message_en"]


@pytest.mark.django_db
def test_api_permissions_401_403_404(mini, persona):
    from rest_framework.test import APIClient

    anonymous = APIClient()
    assert api_post(anonymous, mini.courtyard.pk, csv_bytes(good_rows())).status_code == 401
    stranger = APIClient()
    stranger.force_authenticate(persona("community_worker", mini.other_subdistrict))
    response = api_post(stranger, mini.courtyard.pk, csv_bytes(good_rows()))
    assert response.status_code == 403 and response.json()["message"] == "您没有权限执行此操作"
    response = api_post(stranger, mini.courtyard.pk, csv_bytes(good_rows()), dry_run="false")
    assert response.status_code == 403
    assert api_post(stranger, 999999, csv_bytes(good_rows())).status_code == 404


@pytest.mark.django_db
def test_api_schema_documents_the_endpoints_and_their_errors(client, worker):
    client.force_login(worker)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    post = schema["paths"]["/api/v1/roster-imports/"]["post"]
    assert {"200", "202", "400", "401", "403", "404"} <= set(post["responses"])
    assert "multipart/form-data" in post["requestBody"]["content"]
    get = schema["paths"]["/api/v1/roster-imports/{id}/"]["get"]
    assert {"200", "401", "403", "404"} <= set(get["responses"])


# --- Samples and the command --------------------------------------------------------------------------------

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["roster-template.xlsx", "roster-sample.csv"])
def test_the_committed_samples_import_cleanly(mini, persona, name):
    officer = persona("registry_officer", mini.district)
    report = import_roster(mini.other_courtyard, (SAMPLES / name).read_bytes(), actor=officer, dry_run=False)
    assert report.errors == [] and report.warnings == [] and report.written
    assert report.summary["units_new"] == 4 and report.summary["persons_new"] == 5


def test_the_committed_samples_match_the_code(tmp_path):
    import sys

    sys.path.insert(0, str(SAMPLES))
    try:
        from make_samples import write_samples
    finally:
        sys.path.remove(str(SAMPLES))
    csv_file, xlsx_file = sorted(write_samples(tmp_path))
    assert csv_file.read_bytes() == (SAMPLES / "roster-sample.csv").read_bytes()
    assert read_table(xlsx_file.read_bytes()) == read_table((SAMPLES / "roster-template.xlsx").read_bytes())


@pytest.mark.django_db
def test_import_roster_command(mini, worker, tmp_path):
    from django.core.management import CommandError, call_command

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(bad_file_rows(), encoding="gb18030"))
    out, err = io.StringIO(), io.StringIO()
    args = ["import_roster", str(bad), "--compound", str(mini.courtyard.pk), "--actor", worker.username]
    call_command(*args, "--dry-run", stdout=out, stderr=err)
    assert "第5行 手机：手机号码应为11位" in err.getvalue() and "试运行" in out.getvalue()
    with pytest.raises(CommandError, match="未写入任何数据"):
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    call_command(*args, "--skip-bad-rows", stdout=out, stderr=io.StringIO())
    assert "已导入" in out.getvalue()
    stranger = "stranger"
    from testkit.world import make_user

    make_user(stranger, "community_worker", mini.other_subdistrict)
    with pytest.raises(CommandError, match="无权导入"):
        call_command("import_roster", str(bad), "--compound", str(mini.courtyard.pk), "--actor", stranger)
