"""generate_city — city-scale synthetic registry data for benchmarks (never used by the platform itself).

    python manage.py generate_city --units 1000000 --compounds 4000 [--seed 1]

Builds one district → subdistricts → communities → 小区 → 楼院 → buildings → entrances, then units (each with
an area), people, ownerships and residences, inserted as multi-row INSERTs with ids assigned here (so paths
are known before the rows are written), committed per batch. The stored counts on every node are then set
by one set-based UPDATE per tree level, bottom-up — no per-node Python loop.
"""

from __future__ import annotations

import math
import random
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from gongzhi.core import audit, synthetic
from gongzhi.organizations.models import LiaisonAssignment
from gongzhi.registry.actions import age_cuts
from gongzhi.registry.models import AreaLevel, AreaNode, CompoundProfile, Ownership, Person, Residence, Unit

COMPOUNDS_PER_COMMUNITY = 12
COMMUNITIES_PER_SUBDISTRICT = 8
BATCH_UNITS = 10_000


class Inserter:
    """Multi-row INSERT (COPY on PostgreSQL) of plain tuples into a model's table, ids chosen by the caller."""

    def __init__(self, model: type[models.Model], fields: list[str]):
        self.model = model
        self.fields = fields
        qn = connection.ops.quote_name
        cols = ", ".join(qn(model._meta.get_field(f).column) for f in fields)
        self.head = f"INSERT INTO {qn(model._meta.db_table)} ({cols}) VALUES "
        self.copy_sql = f"COPY {qn(model._meta.db_table)} ({cols}) FROM STDIN"
        self.row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
        limit = 30_000 if connection.vendor == "sqlite" else 60_000  # bound parameters per statement
        self.rows_per_statement = max(1, min(2_000, limit // len(fields)))

    def insert(self, rows: list[tuple]) -> None:
        if connection.vendor == "postgresql":  # COPY: no SQL text to build and parse for a million rows
            with connection.cursor() as cursor, cursor.cursor.copy(self.copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        with connection.cursor() as cursor:
            for i in range(0, len(rows), self.rows_per_statement):
                chunk = rows[i : i + self.rows_per_statement]
                sql = self.head + ", ".join([self.row_sql] * len(chunk))
                cursor.execute(sql, [v for row in chunk for v in row])


def next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1


def recount(root: AreaNode, *, today: date | None = None) -> None:
    """Set every stored count under `root` from the rows, one UPDATE per depth, deepest first.

    A node's count = what hangs on it directly (units on a building or entrance) + the sum over its children,
    so each level reads only the level below it. Ages are computed on `today`, as refresh_stats does.
    """
    today = today or timezone.localdate()
    cut60, cut80 = age_cuts(today)
    compound_levels = list(AreaLevel.objects.filter(is_compound=True).values_list("pk", flat=True))
    max_depth = AreaNode.objects.filter(path__startswith=root.path).aggregate(m=models.Max("depth"))["m"]

    def first(qs, group: str, agg) -> Coalesce:
        return Coalesce(Subquery(qs.values(group).annotate(v=agg).values("v")[:1]), 0)

    units = Unit.objects.filter(node=OuterRef("pk"))
    liaised = Exists(LiaisonAssignment.objects.filter(unit_id=OuterRef("pk"), until__isnull=True))
    living = Residence.objects.filter(unit__node=OuterRef("pk"), until__isnull=True)
    children = AreaNode.objects.filter(parent=OuterRef("pk"))

    def child_sum(field: str) -> Coalesce:
        return first(children, "parent", Sum(field))

    for depth in range(max_depth, root.depth - 1, -1):
        AreaNode.objects.filter(path__startswith=root.path, depth=depth).update(
            unit_count=first(units, "node", Count("pk")) + child_sum("unit_count"),
            household_count=first(units.filter(resident_count__gt=0), "node", Count("pk"))
            + child_sum("household_count"),
            liaison_household_count=first(units.filter(resident_count__gt=0).filter(liaised), "node", Count("pk"))
            + child_sum("liaison_household_count"),
            resident_count=first(living, "unit__node", Count("person", distinct=True)) + child_sum("resident_count"),
            aged_60_count=first(
                living.filter(person__birth_date__lte=cut60), "unit__node", Count("person", distinct=True)
            )
            + child_sum("aged_60_count"),
            aged_80_count=first(
                living.filter(person__birth_date__lte=cut80), "unit__node", Count("person", distinct=True)
            )
            + child_sum("aged_80_count"),
            compound_count=Case(
                When(level_id__in=compound_levels, then=Value(1)), default=Value(0), output_field=IntegerField()
            )
            + child_sum("compound_count"),
        )


class Command(BaseCommand):
    help = "Generate a city-scale synthetic district (units, people, ownership, residence) for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--units", type=int, default=1000)
        parser.add_argument("--compounds", type=int, default=None, help="default: one per 250 units")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--name", default="合成城区", help="name of the generated district (must not exist)")

    def handle(self, *args, units: int, compounds: int | None, seed: int, name: str, verbosity: int, **opts):
        compounds = compounds or max(1, units // 250)
        if units < compounds:
            raise CommandError("--units must be at least --compounds")
        if AreaNode.objects.filter(parent=None, name=name).exists():
            raise CommandError(f"区 {name} 已存在 / district {name} already exists (use another --name)")
        self.quiet = verbosity == 0
        started = time.monotonic()
        gen = CityGenerator(seed=seed, say=self.say)
        district = gen.build_tree(name, units, compounds)
        self.say(f"tree: {gen.node_count} nodes in {time.monotonic() - started:.1f}s")
        gen.fill_units()
        self.say(f"rows: {gen.unit_count} units, {gen.person_count} people in {time.monotonic() - started:.1f}s")
        if connection.vendor == "postgresql":
            # Planner statistics for the fresh tables: without them the per-level UPDATEs pick scans, not indexes.
            with connection.cursor() as cursor:
                for model in (AreaNode, Unit, Residence, Person):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        with transaction.atomic():
            recount(district)
            audit.record(
                "bench.generate_city",
                district,
                actor=None,
                changes={"units": units, "compounds": compounds, "seed": seed, "people": gen.person_count},
            )
        self.say(f"counts set; done in {time.monotonic() - started:.1f}s")

    def say(self, text: str) -> None:
        if not self.quiet:
            self.stdout.write(text)
            self.stdout.flush()


class CityGenerator:
    """Builds the tree in memory with ids assigned up front, then writes units and people batch by batch."""

    def __init__(self, *, seed: int, say=print):
        self.rng = random.Random(seed)
        self.say = say
        self.today = timezone.localdate()
        self.levels = {lv.code: lv for lv in AreaLevel.objects.all()}
        self.node_id = next_id(AreaNode)
        self.node_rows: list[tuple] = []
        self.profile_rows: list[tuple] = []
        self.entrances: list[tuple[int, str, int, int]] = []  # (id, path, compound id, units)
        self.node_count = self.unit_count = self.person_count = 0

    # --- the tree -------------------------------------------------------------------------------------------
    def _node(self, parent: tuple[int, str] | None, level: str, name: str, address: str = "") -> tuple[int, str]:
        pk = self.node_id
        self.node_id += 1
        path = f"{parent[1] if parent else '/'}{pk}/"
        lv = self.levels[level]
        self.node_rows.append(
            (pk, parent[0] if parent else None, lv.pk, name, "", address, path, lv.depth, 0, 0, 0, 0, 0, 0, 0)
        )
        self.node_count += 1
        return pk, path

    def build_tree(self, name: str, units: int, compounds: int) -> AreaNode:
        rng = self.rng
        district = self._node(None, "district", name)
        per_compound = [units // compounds + (1 if i < units % compounds else 0) for i in range(compounds)]
        n_communities = math.ceil(compounds / COMPOUNDS_PER_COMMUNITY)
        n_subdistricts = math.ceil(n_communities / COMMUNITIES_PER_SUBDISTRICT)
        subdistricts = [self._node(district, "subdistrict", f"第{i + 1}街道") for i in range(n_subdistricts)]
        communities = [
            self._node(subdistricts[i // COMMUNITIES_PER_SUBDISTRICT], "community", f"第{i + 1}社区")
            for i in range(n_communities)
        ]
        estate, left_in_estate = None, 0
        for c, size in enumerate(per_compound):
            community = communities[c // COMPOUNDS_PER_COMMUNITY]
            if left_in_estate == 0 or c % COMPOUNDS_PER_COMMUNITY == 0:  # an estate holds 1–3 楼院
                estate = self._node(community, "estate", f"{c + 1}号小区", address=f"合成路{c + 1}号")
                left_in_estate = rng.choice((1, 1, 2, 3))
            left_in_estate -= 1
            courtyard = self._node(estate, "courtyard", f"{c + 1}号院", address=f"合成路{c + 1}号")
            year = rng.randint(1980, 2020)
            management = (
                CompoundProfile.Management.UNMANAGED
                if year < 2000 and rng.random() < 0.8
                else (CompoundProfile.Management.PROPERTY_COMPANY)
            )
            self.profile_rows.append((courtyard[0], year, management, management == "property_company", ""))
            self._buildings(courtyard, size, high_rise=year >= 2000 or size > 200)
        self.flush_tree()
        return AreaNode.objects.get(pk=district[0])

    def _buildings(self, courtyard: tuple[int, str], size: int, *, high_rise: bool) -> None:
        left, b = size, 0
        while left > 0:
            b += 1
            building = self._node(courtyard, "building", f"{b}号楼")
            floors = self.rng.choice((11, 18, 26)) if high_rise else self.rng.choice((5, 6, 7))
            for e in range(1, self.rng.randint(2, 4) + 1):
                if left <= 0:
                    break
                take = min(left, floors * 2)
                pk, path = self._node(building, "entrance", f"{e}单元")
                self.entrances.append((pk, path, courtyard[0], take))
                left -= take

    def flush_tree(self) -> None:
        nodes = Inserter(
            AreaNode,
            [
                "id",
                "parent",
                "level",
                "name",
                "code",
                "address",
                "path",
                "depth",
                "unit_count",
                "household_count",
                "liaison_household_count",
                "resident_count",
                "aged_60_count",
                "aged_80_count",
                "compound_count",
            ],
        )
        profiles = Inserter(CompoundProfile, ["node", "year_built", "management", "fees_collected", "notes"])
        step = 10_000
        for i in range(0, len(self.node_rows), step):
            with transaction.atomic():
                nodes.insert(self.node_rows[i : i + step])
        with transaction.atomic():
            profiles.insert(self.profile_rows)
        self.node_rows, self.profile_rows = [], []
        self._reset_sequences(AreaNode, CompoundProfile)

    # --- units and people -----------------------------------------------------------------------------------
    def fill_units(self) -> None:
        rng = self.rng
        unit_id, person_id = next_id(Unit), next_id(Person)
        created = connection.ops.adapt_datetimefield_value(timezone.now())
        units = Inserter(
            Unit,
            [
                "id",
                "node",
                "compound",
                "path",
                "number",
                "floor",
                "usage",
                "area_registered",
                "area_surveyed",
                "area_contract",
                "resident_count",
            ],
        )
        people = Inserter(
            Person,
            [
                "id",
                "kind",
                "name",
                "phone",
                "id_number_enc",
                "id_number_hash",
                "birth_date",
                "credit_code",
                "is_developer",
                "home_path",
                "sensitive_flags",
                "created_at",
            ],
        )
        owners = Inserter(Ownership, ["unit", "person", "is_designated_voter", "developer_status"])
        residents = Inserter(Residence, ["unit", "person", "relation", "is_household_head"])
        batch: dict[str, list[tuple]] = {"u": [], "p": [], "o": [], "r": []}
        last_report = time.monotonic()

        def flush():
            with transaction.atomic():
                units.insert(batch["u"])
                people.insert(batch["p"])
                owners.insert(batch["o"])
                residents.insert(batch["r"])
            for rows in batch.values():
                rows.clear()

        for entrance_id, path, compound_id, take in self.entrances:
            for k in range(take):
                floor, door = k // 2 + 1, k % 2 + 1
                areas = synthetic.unit_areas(rng)
                occupants = 0 if rng.random() < 0.25 else (1 if rng.random() < 0.6 else 2)
                batch["u"].append(
                    (
                        unit_id,
                        entrance_id,
                        compound_id,
                        path,
                        f"{floor}{door:02d}",
                        floor,
                        "residential",
                        areas.get("area_registered"),
                        areas.get("area_surveyed"),
                        areas.get("area_contract"),
                        occupants,
                    )
                )
                family = synthetic.surname(rng)
                for j in range(occupants):
                    born = synthetic.birth_date(rng, self.today, share_60=0.3, share_80=0.06)
                    batch["p"].append(
                        (
                            person_id,
                            "natural",
                            synthetic.full_name(rng, born.year, family if j else None),
                            synthetic.mobile(person_id % 1_000_000),
                            "",
                            "",
                            born,
                            "",
                            False,
                            path,
                            "{}",
                            created,
                        )
                    )
                    if j == 0:
                        batch["o"].append((unit_id, person_id, True, ""))
                    batch["r"].append((unit_id, person_id, "owner" if j == 0 else "family", j == 0))
                    person_id += 1
                    self.person_count += 1
                unit_id += 1
                self.unit_count += 1
            if len(batch["u"]) >= BATCH_UNITS:
                flush()
                if time.monotonic() - last_report > 5:
                    self.say(f"  … {self.unit_count} units")
                    last_report = time.monotonic()
        flush()
        self._reset_sequences(Unit, Person, Ownership, Residence)

    @staticmethod
    def _reset_sequences(*model_list) -> None:
        statements = connection.ops.sequence_reset_sql(no_style(), list(model_list))
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
