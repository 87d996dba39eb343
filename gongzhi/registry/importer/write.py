"""Layer 3, writing: match the parsed rows against the compound's units and people and write them in one transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from gongzhi.core import audit, crypto
from gongzhi.core.gate import require
from gongzhi.registry import actions
from gongzhi.registry.importer.formats import AREA_FIELDS, AUDIT_BATCH, BATCH, UNIT_FIELDS, RowError
from gongzhi.registry.importer.parse import Parsed, PersonRow, RosterRow, parse_table
from gongzhi.registry.importer.read import read_table
from gongzhi.registry.models import AreaLevel, AreaNode, Ownership, Person, Residence, Unit

# --- Matching against the database and writing ----------------------------------------------------------


SUMMARY_KEYS = (
    "buildings_new",
    "entrances_new",
    "units_new",
    "units_updated",
    "units_unchanged",
    "persons_new",
    "persons_matched",
    "persons_updated",
    "ownerships_new",
    "ownerships_updated",
    "residences_new",
    "residences_updated",
)


@dataclass
class ImportReport:
    compound_id: int
    compound_name: str
    sha256: str
    size: int
    total_rows: int
    errors: list[RowError]
    warnings: list[RowError]
    bad_rows: list[int]
    summary: dict[str, int]
    dry_run: bool
    skip_bad_rows: bool
    fatal: bool
    written: bool = False
    skipped_rows: list[int] = field(default_factory=list)
    audit_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def can_write(self) -> bool:
        return not self.fatal and (not self.errors or self.skip_bad_rows)

    def as_dict(self) -> dict:
        return {
            "compound": self.compound_id,
            "compound_name": self.compound_name,
            "sha256": self.sha256,
            "size": self.size,
            "rows": self.total_rows,
            "dry_run": self.dry_run,
            "skip_bad_rows": self.skip_bad_rows,
            "written": self.written,
            "fatal": self.fatal,
            "bad_rows": self.bad_rows,
            "skipped_rows": self.skipped_rows,
            "summary": self.summary,
            "audit_id": self.audit_id,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
        }


class _Target:
    """A person a row refers to: an existing one (`rec`) or one to create (`obj`)."""

    __slots__ = ("rec", "obj", "fill", "id_hash", "home_unit", "resident_unit")

    def __init__(self, rec: dict | None = None, obj: Person | None = None):
        self.rec, self.obj, self.fill = rec, obj, {}
        self.id_hash = (rec or {}).get("id_number_hash", "") or (obj.id_number_hash if obj else "")
        self.home_unit = self.resident_unit = None

    @property
    def pk(self) -> int | None:
        return self.rec["id"] if self.rec else self.obj.pk


@dataclass
class _UnitPlan:
    key: tuple[str, str, str]
    existing: dict | None
    values: dict[str, Any]
    changes: dict[str, Any] = field(default_factory=dict)
    obj: Unit | None = None

    @property
    def pk(self) -> int:
        return self.existing["id"] if self.existing else self.obj.pk


def _chunks(seq: Sequence, size: int) -> Iterable[Sequence]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


class _Plan:
    """What the good rows mean for this compound: what to create, update or leave alone."""

    PERSON_FIELDS = ("id", "name", "kind", "phone", "id_number_hash", "birth_date", "credit_code", "home_path")

    def __init__(self, compound: AreaNode, rows: list[RosterRow]):
        self.compound, self.rows = compound, rows
        nodes = AreaNode.objects.filter(path__startswith=compound.path).exclude(pk=compound.pk)
        self.nodes = {(n["parent_id"], n["name"]): n for n in nodes.values("id", "parent_id", "name", "path")}
        self.new_nodes: dict[tuple, tuple] = {}  # node key → (parent key or None, name, level code)
        self.units: dict[tuple, _UnitPlan] = {}
        self.targets: list[_Target] = []
        self.new_ownerships: list[dict] = []
        self.own_updates: dict[int, dict] = {}
        self.new_residences: list[dict] = []
        self.res_updates: dict[int, str] = {}
        self.designate: dict[tuple, tuple] = {}  # unit key → (target, ownership id or None)
        self._plan_units()
        self._load_people()
        self._plan_people()

    # Units and the nodes they hang on.
    def node_key(self, r: RosterRow) -> tuple:
        return ("e", r.building, r.entrance) if r.entrance else ("b", r.building)

    def existing_node(self, key: tuple) -> dict | None:
        building = self.nodes.get((self.compound.pk, key[1]))
        if key[0] == "b" or building is None:
            return building
        return self.nodes.get((building["id"], key[2]))

    def _plan_units(self) -> None:
        existing = {
            (u["node_id"], u["number"]): u
            for u in Unit.objects.filter(compound=self.compound).values("id", "node_id", "number", "path", *UNIT_FIELDS)
        }
        for r in self.rows:
            plan = self.units.get(r.unit_key)
            if plan is None:
                nkey = self.node_key(r)
                node = self.existing_node(nkey)
                if node is None:
                    if ("b", r.building) not in self.new_nodes and self.existing_node(("b", r.building)) is None:
                        self.new_nodes[("b", r.building)] = (None, r.building, "building")
                    if nkey[0] == "e" and nkey not in self.new_nodes:
                        self.new_nodes[nkey] = (("b", r.building), r.entrance, "entrance")
                plan = _UnitPlan(r.unit_key, existing.get((node["id"], r.number)) if node else None, {})
                self.units[r.unit_key] = plan
            for f, v in r.unit.items():
                plan.values.setdefault(f, v)
        for plan in self.units.values():
            if plan.existing:
                plan.changes = {f: v for f, v in plan.values.items() if plan.existing[f] != v}

    # People.
    def _load_people(self) -> None:
        persons = Person.objects.filter(erased_at__isnull=True)
        hashes = sorted(
            {
                crypto.lookup_hash(r.person.id_number, context=Person.ID_CONTEXT)
                for r in self.rows
                if r.person and r.person.id_number
            }
        )
        self.by_hash: dict[str, _Target] = {}
        self.records: dict[int, _Target] = {}
        for chunk in _chunks(hashes, BATCH):
            for rec in persons.filter(id_number_hash__in=chunk).values(*self.PERSON_FIELDS):
                self.by_hash[rec["id_number_hash"]] = self._existing(rec)
        codes = sorted({r.person.credit_code for r in self.rows if r.person and r.person.credit_code})
        self.by_code: dict[str, _Target] = {}
        for chunk in _chunks(codes, BATCH):
            for rec in persons.filter(kind=Person.Kind.LEGAL, credit_code__in=chunk).values(*self.PERSON_FIELDS):
                self.by_code.setdefault(rec["credit_code"], self._existing(rec))
        own = Ownership.objects.filter(unit__compound=self.compound, until__isnull=True)
        res = Residence.objects.filter(unit__compound=self.compound, until__isnull=True)
        local = persons.filter(
            Q(pk__in=own.values("person_id"))
            | Q(pk__in=res.values("person_id"))
            | Q(home_path__startswith=self.compound.path)
        )
        self.by_name_phone: dict[tuple, _Target] = {}
        for rec in local.values(*self.PERSON_FIELDS):
            t = self._existing(rec)
            if rec["phone"]:
                self.by_name_phone.setdefault((rec["kind"], rec["name"], rec["phone"]), t)
        self.ownerships = {
            (o["unit_id"], o["person_id"]): o
            for o in own.values("id", "unit_id", "person_id", "is_designated_voter", "developer_status")
        }
        self.residences = {
            (x["unit_id"], x["person_id"]): x for x in res.values("id", "unit_id", "person_id", "relation")
        }
        self.linked: dict[tuple, _Target] = {}  # (unit id, kind, name) → a person already linked to the unit
        for unit_id, person_id in [*self.ownerships, *self.residences]:
            t = self.records.get(person_id)
            if t is not None:
                self.linked.setdefault((unit_id, t.rec["kind"], t.rec["name"]), t)

    def _existing(self, rec: dict) -> _Target:
        t = self.records.get(rec["id"])
        if t is None:
            t = self.records[rec["id"]] = _Target(rec=rec)
        return t

    def _new(self, p: PersonRow) -> _Target:
        obj = Person(
            kind=p.kind,
            name=p.name,
            phone=p.phone,
            birth_date=p.birth_date,
            credit_code=p.credit_code,
            is_developer=bool(p.developer_status),
        )
        if p.id_number:
            obj.set_id_number(p.id_number)
        t = _Target(obj=obj)
        self.targets.append(t)
        return t

    def _resolve(self, p: PersonRow, unit: _UnitPlan, claimed: dict[int, str]) -> _Target:
        id_hash = crypto.lookup_hash(p.id_number, context=Person.ID_CONTEXT) if p.id_number else ""

        def usable(t: _Target | None) -> bool:  # a match without an ID number may take this one's
            return (
                t is not None and (not id_hash or t.id_hash in ("", id_hash)) and claimed.get(id(t), id_hash) == id_hash
            )

        t = self.by_hash.get(id_hash) if id_hash else None
        if t is None and p.kind == Person.Kind.LEGAL and p.credit_code:
            t = self.by_code.get(p.credit_code)
        if t is None and p.phone:
            cand = self.by_name_phone.get((p.kind, p.name, p.phone))
            t = cand if usable(cand) else None
        if t is None and unit.existing:
            cand = self.linked.get((unit.existing["id"], p.kind, p.name))
            t = cand if usable(cand) else None
        if t is None:
            t = self._new(p)
            if not id_hash and not p.phone and not (p.kind == Person.Kind.LEGAL and p.credit_code):
                return t  # nothing identifies this person beyond the unit: never merged with another row
        if id_hash:
            self.by_hash.setdefault(id_hash, t)
            claimed[id(t)] = id_hash
            t.id_hash = t.id_hash or id_hash
        if p.kind == Person.Kind.LEGAL and p.credit_code:
            self.by_code.setdefault(p.credit_code, t)
        if p.phone:
            self.by_name_phone.setdefault((p.kind, p.name, p.phone), t)
        return t

    def _complete(self, t: _Target, p: PersonRow) -> None:
        """Fill what the person record lacks; an import never overwrites a value already there."""
        current = (
            t.rec
            if t.rec
            else {
                "phone": t.obj.phone,
                "id_number_hash": t.obj.id_number_hash,
                "birth_date": t.obj.birth_date,
                "credit_code": t.obj.credit_code,
            }
        )
        if p.phone and not current["phone"] and "phone" not in t.fill:
            t.fill["phone"] = p.phone
        if p.id_number and not current["id_number_hash"] and "id_number" not in t.fill:
            t.fill["id_number"] = p.id_number
        if p.birth_date and not current["birth_date"] and "birth_date" not in t.fill and "id_number" not in t.fill:
            t.fill["birth_date"] = p.birth_date
        if p.credit_code and not current["credit_code"] and "credit_code" not in t.fill:
            t.fill["credit_code"] = p.credit_code
        if t.obj is not None:  # a new person: apply straight away
            for key, value in t.fill.items():
                if key == "id_number":
                    t.obj.set_id_number(value)
                else:
                    setattr(t.obj, key, value)
            t.fill = {}

    def _plan_people(self) -> None:
        claimed: dict[int, str] = {}
        pending_own: dict[tuple, dict] = {}
        for r in self.rows:
            p = r.person
            if p is None:
                continue
            unit = self.units[r.unit_key]
            t = self._resolve(p, unit, claimed)
            self._complete(t, p)
            t.home_unit = t.home_unit or unit
            if p.lives_here and t.resident_unit is None:
                t.resident_unit = unit
            existing_pk = t.rec["id"] if t.rec else None
            link = (unit.existing["id"], existing_pk) if unit.existing and existing_pk else None
            if p.relation == Residence.Relation.OWNER:
                current = self.ownerships.get(link) if link else None
                if current is None:
                    pending_own[(r.unit_key, id(t))] = entry = {
                        "unit": unit,
                        "target": t,
                        "designated": bool(p.designated_voter),
                        "developer_status": p.developer_status or "",
                    }
                    self.new_ownerships.append(entry)
                else:
                    change = {}
                    if p.designated_voter is not None and p.designated_voter != current["is_designated_voter"]:
                        change["is_designated_voter"] = p.designated_voter
                    if p.developer_status is not None and p.developer_status != current["developer_status"]:
                        change["developer_status"] = p.developer_status
                    if change:
                        self.own_updates[current["id"]] = change
                if p.designated_voter:
                    self.designate[r.unit_key] = (t, current["id"] if current else None)
            if p.lives_here:
                current = self.residences.get(link) if link else None
                if current is None:
                    self.new_residences.append({"unit": unit, "target": t, "relation": p.relation})
                elif current["relation"] != p.relation:
                    self.res_updates[current["id"]] = p.relation

    def summary(self) -> dict[str, int]:
        matched = [t for t in self.records.values() if t.home_unit is not None]  # existing people the rows name
        return {
            "buildings_new": sum(1 for k in self.new_nodes if k[0] == "b"),
            "entrances_new": sum(1 for k in self.new_nodes if k[0] == "e"),
            "units_new": sum(1 for u in self.units.values() if not u.existing),
            "units_updated": sum(1 for u in self.units.values() if u.existing and u.changes),
            "units_unchanged": sum(1 for u in self.units.values() if u.existing and not u.changes),
            "persons_new": len(self.targets),
            "persons_matched": len(matched),
            "persons_updated": sum(1 for t in matched if t.fill),
            "ownerships_new": len(self.new_ownerships),
            "ownerships_updated": len(self.own_updates),
            "residences_new": len(self.new_residences),
            "residences_updated": len(self.res_updates),
        }

    # Writing (inside the action's transaction).
    def write(self, *, actor, sha256: str) -> list[int]:
        audit_ids: list[int] = []

        def log(step: str, ids: Sequence, **extra) -> None:
            for i, chunk in enumerate(_chunks(list(ids), AUDIT_BATCH)):
                entry = audit.record(
                    f"registry.import_roster.{step}",
                    self.compound,
                    actor=actor,
                    changes={"sha256": sha256, "batch": i, "ids": list(chunk), **extra},
                )
                audit_ids.append(entry.pk)

        levels = {lv.code: lv for lv in AreaLevel.objects.filter(code__in=("building", "entrance"))}
        made: dict[tuple, AreaNode] = {}
        for key, (parent_key, name, level) in self.new_nodes.items():
            if parent_key is None:
                parent = self.compound
            else:
                parent = made.get(parent_key) or AreaNode.objects.get(pk=self.existing_node(parent_key)["id"])
            made[key] = actions.create_area_node(actor=actor, parent=parent, level=levels[level], name=name)

        def node_of(key: tuple[str, str, str]) -> tuple[int, str]:
            nkey = ("e", key[0], key[1]) if key[1] else ("b", key[0])
            if nkey in made:
                return made[nkey].pk, made[nkey].path
            node = self.existing_node(nkey)
            return node["id"], node["path"]

        new_units = [u for u in self.units.values() if not u.existing]
        for u in new_units:
            node_id, path = node_of(u.key)
            u.obj = Unit(
                node_id=node_id,
                compound=self.compound,
                path=path,
                number=u.key[2],
                usage=u.values.get("usage", Unit.Usage.RESIDENTIAL),
                **{f: u.values.get(f) for f in ("floor", *AREA_FIELDS)},
            )
        Unit.objects.bulk_create([u.obj for u in new_units], batch_size=BATCH)
        log("create_units", [u.obj.pk for u in new_units])
        changed = [u for u in self.units.values() if u.existing and u.changes]
        if changed:
            objs = []
            for u in changed:
                obj = Unit(pk=u.existing["id"], **{f: u.existing[f] for f in UNIT_FIELDS})
                for f, v in u.changes.items():
                    setattr(obj, f, v)
                objs.append(obj)
            Unit.objects.bulk_update(objs, list(UNIT_FIELDS), batch_size=BATCH)
            log(
                "update_units",
                [u.existing["id"] for u in changed],
                fields=sorted({f for u in changed for f in u.changes}),
            )

        def unit_path(u: _UnitPlan) -> str:
            return u.existing["path"] if u.existing else u.obj.path

        for t in self.targets:
            t.obj.home_path = unit_path(t.resident_unit or t.home_unit)
        Person.objects.bulk_create([t.obj for t in self.targets], batch_size=BATCH)
        log("create_persons", [t.obj.pk for t in self.targets])
        filled = [t for t in self.records.values() if t.fill or (t.home_unit and not t.rec["home_path"])]
        if filled:
            objs, fields = [], set()
            for t in filled:
                obj = Person(
                    pk=t.rec["id"],
                    phone=t.rec["phone"],
                    birth_date=t.rec["birth_date"],
                    credit_code=t.rec["credit_code"],
                    home_path=t.rec["home_path"],
                )
                obj.id_number_enc, obj.id_number_hash = "", t.rec["id_number_hash"]
                for key, value in t.fill.items():
                    if key == "id_number":
                        obj.set_id_number(value)
                        fields |= {"id_number_enc", "id_number_hash", "birth_date"}
                    else:
                        setattr(obj, key, value)
                        fields.add(key)
                if not obj.home_path and t.home_unit:
                    obj.home_path = unit_path(t.resident_unit or t.home_unit)
                    fields.add("home_path")
                objs.append(obj)
            # Fields not filled for one person keep their loaded value, so one bulk_update over the union is safe,
            # except the encrypted ID, which is only written for people who get one.
            with_id = [o for o in objs if o.id_number_enc]
            plain = [o for o in objs if not o.id_number_enc]
            other = sorted(fields - {"id_number_enc", "id_number_hash"})
            if with_id:
                Person.objects.bulk_update(
                    with_id, sorted(fields | {"id_number_enc", "id_number_hash"}), batch_size=BATCH
                )
            if plain and other:
                Person.objects.bulk_update(plain, other, batch_size=BATCH)
            # Field names only: the values are personal.
            log(
                "update_persons",
                [o.pk for o in objs],
                fields=sorted({k for t in filled for k in t.fill} | {"home_path"}),
            )

        # One designated voter per unit (a database constraint): clear the old one before setting the new.
        keep = {own_id for _t, own_id in self.designate.values() if own_id}
        clear_units = [self.units[k].existing["id"] for k in self.designate if self.units[k].existing]
        cleared: list[int] = []
        for chunk in _chunks(clear_units, BATCH):
            qs = Ownership.objects.filter(unit_id__in=chunk, until__isnull=True, is_designated_voter=True).exclude(
                pk__in=keep
            )
            ids = list(qs.values_list("pk", flat=True))
            Ownership.objects.filter(pk__in=ids).update(is_designated_voter=False)
            cleared += ids
        for own_id in cleared:
            self.own_updates.pop(own_id, None)
        if self.own_updates:
            by_id = {o["id"]: o for o in self.ownerships.values()}
            objs = []
            for own_id, change in self.own_updates.items():
                current = by_id[own_id]
                objs.append(
                    Ownership(
                        pk=own_id,
                        is_designated_voter=change.get("is_designated_voter", current["is_designated_voter"]),
                        developer_status=change.get("developer_status", current["developer_status"]),
                    )
                )
            Ownership.objects.bulk_update(objs, ["is_designated_voter", "developer_status"], batch_size=BATCH)
        if cleared or self.own_updates:
            log("update_ownerships", sorted(set(cleared) | set(self.own_updates)))
        own_objs = [
            Ownership(
                unit_id=e["unit"].pk,
                person_id=e["target"].pk,
                is_designated_voter=e["designated"],
                developer_status=e["developer_status"],
            )
            for e in self.new_ownerships
        ]
        Ownership.objects.bulk_create(own_objs, batch_size=BATCH)
        log("create_ownerships", [o.pk for o in own_objs])

        res_objs = [
            Residence(unit_id=e["unit"].pk, person_id=e["target"].pk, relation=e["relation"])
            for e in self.new_residences
        ]
        Residence.objects.bulk_create(res_objs, batch_size=BATCH)
        log("create_residences", [o.pk for o in res_objs])
        if self.res_updates:
            objs = [Residence(pk=pk, relation=relation) for pk, relation in self.res_updates.items()]
            Residence.objects.bulk_update(objs, ["relation"], batch_size=BATCH)
            log("update_residences", sorted(self.res_updates))
        touched = sorted({o.unit_id for o in res_objs})
        count = (
            Residence.objects.filter(unit=OuterRef("pk"), until__isnull=True)
            .values("unit")
            .annotate(n=Count("pk"))
            .values("n")
        )
        for chunk in _chunks(touched, BATCH):
            Unit.objects.filter(pk__in=chunk).update(
                resident_count=Coalesce(Subquery(count, output_field=IntegerField()), Value(0))
            )
        return audit_ids


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def import_roster(
    compound: AreaNode, data: bytes, *, actor, dry_run: bool = True, skip_bad_rows: bool = False
) -> ImportReport:
    """Import a roster file into one compound (楼院). A dry run validates and counts but writes nothing.

    Without `skip_bad_rows`, a file with any bad row writes nothing; with it, the good rows are written and the
    bad ones listed. Raises PermissionDenied (no `registry.import_roster` on the compound), RosterFileError
    (the file cannot be read) or ValueError (the node is not a compound).

    The file is read and checked before any transaction: it needs no database, and on SQLite a transaction holds
    the one write lock from its start (10,000 xlsx rows take ~7 s to read and check). A dry run only reads, so
    it runs no transaction at all; the writes run in one (`_write`), all or nothing.
    """
    require(actor, "registry.import_roster", compound)
    if not compound.level.is_compound:
        raise ValueError(f"{compound} is not a compound")
    parsed = parse_table(read_table(data))
    if dry_run:
        report, _plan = _plan_report(compound, data, parsed, dry_run=True, skip_bad_rows=skip_bad_rows)
        return report
    return _write(compound, data, parsed, actor=actor, skip_bad_rows=skip_bad_rows)


def _plan_report(compound: AreaNode, data: bytes, parsed: Parsed, *, dry_run: bool, skip_bad_rows: bool):
    plan = _Plan(compound, [] if parsed.fatal else parsed.good_rows)
    report = ImportReport(
        compound_id=compound.pk,
        compound_name=compound.name,
        sha256=file_digest(data),
        size=len(data),
        total_rows=parsed.total_rows,
        errors=parsed.errors,
        warnings=parsed.warnings,
        bad_rows=sorted(parsed.bad_rows),
        summary=plan.summary(),
        dry_run=dry_run,
        skip_bad_rows=skip_bad_rows,
        fatal=parsed.fatal,
    )
    return report, plan


@transaction.atomic
def _write(compound: AreaNode, data: bytes, parsed: Parsed, *, actor, skip_bad_rows: bool) -> ImportReport:
    # Matched against the database inside the transaction, so what is written agrees with what was read.
    report, plan = _plan_report(compound, data, parsed, dry_run=False, skip_bad_rows=skip_bad_rows)
    if not report.can_write:
        return report
    plan.write(actor=actor, sha256=report.sha256)
    actions.refresh_stats(compound)
    entry = audit.record(
        "registry.import_roster",
        compound,
        actor=actor,
        changes={
            "sha256": report.sha256,
            "size": len(data),
            "rows": parsed.total_rows,
            "skipped_rows": len(parsed.bad_rows),
            **report.summary,
        },
    )
    report.written, report.skipped_rows, report.audit_id = True, sorted(parsed.bad_rows), entry.pk
    return report
