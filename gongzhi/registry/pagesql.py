"""Hand-written SQL for the registry's busiest pages: a node (area, compound, building) and its unit list.

Why not the ORM here: building, compiling and materialising one ORM query costs 0.4–1 ms of Python, while the
database answers these indexed look-ups in about 0.02 ms. A building's page needs five reads, so the ORM alone
took longer than the rest of the page (see the page benchmark in bench/README.md). These functions send the same
reads as plain SQL that SQLite and PostgreSQL both run, in fewer round trips:

- `node_chain`: the node, its level and compound profile, every ancestor (for breadcrumbs and scope) and the
  level plan's depths — one recursive query up the `parent` links;
- `children`: a page of a node's children with their levels;
- `unit_rows`: a page of units under a node with their current owners — one query;
- `organisations`: the organisations serving a compound.

Column lists come from the models' `_meta`, and values pass through the same converters the ORM applies
(SQLite's booleans and decimals), so callers get ordinary model instances or the rows the ORM would give.
tests/test_pagesql.py checks every function against its ORM twin on the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.db import connection
from django.db.models import Model
from django.db.models.expressions import Col

from gongzhi.organizations.kinds import COMMUNITY_LEVEL
from gongzhi.organizations.models import Organization, OrgKind
from gongzhi.registry.models import AreaLevel, AreaNode, CompoundProfile, Ownership, Person, Unit


def like_prefix(value: str) -> str:
    """A LIKE pattern matching strings that start with `value` (with `ESCAPE '\\'`)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


# --- Columns and conversion ---------------------------------------------------------------------------------------


@cache
def _columns(model: type[Model], alias: str, vendor: str) -> str:
    """ "n"."id", "n"."parent_id", … for every concrete field in `_meta` order (what `Model.from_db` expects)."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


@cache
def _converters(fields: tuple, vendor: str) -> tuple:
    """Per column, the converters the ORM would apply to values from this database (the backend's, then the
    field's), as (index, column, converters) for the columns that have any: SQLite returns booleans as 0/1 and
    decimals as floats; PostgreSQL needs almost none."""
    out = []
    for i, f in enumerate(fields):
        col = Col("t", f)
        convs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if convs:
            out.append((i, col, tuple(convs)))
    return tuple(out)


@cache
def _model_converters(model: type[Model], vendor: str) -> tuple:
    return _converters(tuple(model._meta.concrete_fields), vendor)


def _convert(values: Sequence, converters: tuple) -> list:
    out = list(values)
    for i, col, convs in converters:
        if out[i] is not None:
            for conv in convs:
                out[i] = conv(out[i], col, connection)
    return out


def _build(model: type[Model], values: Sequence):
    """A model instance from a row slice holding every concrete field, as the ORM would build it."""
    return model.from_db(connection.alias, None, _convert(values, _model_converters(model, connection.vendor)))


def _fetch(sql: str, params: Sequence) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


# --- Reads --------------------------------------------------------------------------------------------------------


def node_chain(pk: int) -> tuple[AreaNode | None, list[AreaNode], int | None, int | None]:
    """(node, ancestors top first, compound depth, community depth) in one query; (None, [], None, None) when
    there is no such node.

    The node comes with `level` and `profile` loaded (no further queries; `profile` raises
    `CompoundProfile.DoesNotExist` as usual when there is none); ancestors with their `level`. The compound depth is
    the lowest configured compound level's depth and the community depth the community level's (`LevelPlan.load`),
    None when no level is a compound or none is the community.
    """
    quote = connection.ops.quote_name
    node_t, level_t, profile_t = (quote(m._meta.db_table) for m in (AreaNode, AreaLevel, CompoundProfile))
    sql = f"""
        WITH RECURSIVE chain(id, parent_id) AS (
            SELECT id, parent_id FROM {node_t} WHERE id = %s
            UNION ALL
            SELECT up.id, up.parent_id FROM {node_t} up JOIN chain ON up.id = chain.parent_id
        )
        SELECT {_columns(AreaNode, "n", connection.vendor)}, {_columns(AreaLevel, "l", connection.vendor)}, {_columns(CompoundProfile, "p", connection.vendor)},
               (SELECT MIN(cl.depth) FROM {level_t} cl WHERE cl.is_compound = %s),
               (SELECT MIN(ml.depth) FROM {level_t} ml WHERE ml.code = %s)
        FROM chain
        JOIN {node_t} n ON n.id = chain.id
        JOIN {level_t} l ON l.id = n.level_id
        LEFT JOIN {profile_t} p ON p.node_id = n.id
        ORDER BY n.depth
    """
    rows = _fetch(sql, [pk, True, COMMUNITY_LEVEL])
    if not rows:
        return None, [], None, None
    wn, wl, wp = _width(AreaNode), _width(AreaLevel), _width(CompoundProfile)
    chain = []
    for row in rows:
        node = _build(AreaNode, row[:wn])
        node.level = _build(AreaLevel, row[wn : wn + wl])
        profile_values = row[wn + wl : wn + wl + wp]
        if profile_values[0] is not None:
            node.profile = _build(CompoundProfile, profile_values)
        else:
            AreaNode.profile.related.set_cached_value(node, None)  # known absent: `node.profile` raises, no query
        chain.append(node)
    return chain[-1], chain[:-1], rows[-1][-2], rows[-1][-1]


def children(node_id: int, after: str, limit: int) -> list[AreaNode]:
    """Up to `limit` children of a node ordered by name, after the name `after` ("" for the first page)."""
    quote = connection.ops.quote_name
    node_t, level_t = quote(AreaNode._meta.db_table), quote(AreaLevel._meta.db_table)
    after_sql = "AND n.name > %s" if after else ""
    sql = f"""
        SELECT {_columns(AreaNode, "n", connection.vendor)}, {_columns(AreaLevel, "l", connection.vendor)}
        FROM {node_t} n JOIN {level_t} l ON l.id = n.level_id
        WHERE n.parent_id = %s {after_sql}
        ORDER BY n.name
        LIMIT %s
    """
    params = [node_id, after, limit] if after else [node_id, limit]
    wn = _width(AreaNode)
    out = []
    for row in _fetch(sql, params):
        child = _build(AreaNode, row[:wn])
        child.level = _build(AreaLevel, row[wn:])
        out.append(child)
    return out


_UNIT_FIELDS = ("id", "number", "floor", "resident_count", "node", *(f"area_{code}" for code, _l in Unit.AREA_SOURCES))


def unit_rows(compound_ids: Sequence[int], path: str, after: int | None, limit: int) -> list[tuple]:
    """Units whose compound is one of `compound_ids` and whose path starts with `path`, by id after `after`, at
    most `limit` of them; one row per unit and current owner (a unit without owners has one row with None owner
    columns), ordered by unit id, then ownership id:

    (id, number, floor, resident_count, node_id, *areas in `Unit.AREA_SOURCES` order, node name,
     owner name, owner kind, owner is the designated voter)

    Naming the candidate compounds lets SQLite walk the compound index instead of scanning units in id order
    for the path prefix (370 ms for the last building of 1,000,000 units).
    """
    quote = connection.ops.quote_name
    unit_t, node_t = quote(Unit._meta.db_table), quote(AreaNode._meta.db_table)
    own_t, person_t = quote(Ownership._meta.db_table), quote(Person._meta.db_table)
    unit_fields = [Unit._meta.get_field(name) for name in _UNIT_FIELDS]
    inner_cols = ", ".join(quote(f.column) for f in unit_fields)
    outer_cols = ", ".join(f"u.{quote(f.column)}" for f in unit_fields)
    after_sql = "AND id > %s" if after else ""
    sql = f"""
        SELECT {outer_cols}, n.name, p.name, p.kind, o.is_designated_voter
        FROM (
            SELECT {inner_cols} FROM {unit_t}
            WHERE compound_id IN ({placeholders(len(compound_ids))}) AND path LIKE %s ESCAPE '\\' {after_sql}
            ORDER BY id
            LIMIT %s
        ) u
        JOIN {node_t} n ON n.id = u.node_id
        LEFT JOIN {own_t} o ON o.unit_id = u.id AND o.until IS NULL
        LEFT JOIN {person_t} p ON p.id = o.person_id
        ORDER BY u.id, o.id
    """
    params = [*compound_ids, like_prefix(path), *([after] if after else []), limit]
    fields = (
        *unit_fields,
        AreaNode._meta.get_field("name"),
        Person._meta.get_field("name"),
        Person._meta.get_field("kind"),
        Ownership._meta.get_field("is_designated_voter"),
    )
    converters = _converters(fields, connection.vendor)
    return [tuple(_convert(row, converters)) for row in _fetch(sql, params)]


def organisations(prefixes: Sequence[str], path: str, limit: int) -> list[tuple]:
    """Organisations not dissolved sitting at one of the `prefixes` paths (a compound and its ancestors), or under
    `path` at a compound level: (name, kind name, kind category, node name, the depth of the node's level),
    ordered by path, the kind's rank in the party chain, then name."""
    quote = connection.ops.quote_name
    org_t, kind_t = quote(Organization._meta.db_table), quote(OrgKind._meta.db_table)
    node_t, level_t = quote(AreaNode._meta.db_table), quote(AreaLevel._meta.db_table)
    sql = f"""
        SELECT o.name, k.name, k.category, n.name, l.depth
        FROM {org_t} o
        JOIN {kind_t} k ON k.id = o.kind_id
        JOIN {node_t} n ON n.id = o.node_id
        JOIN {level_t} l ON l.id = n.level_id
        WHERE o.dissolved IS NULL
          AND (o.path IN ({placeholders(len(prefixes))}) OR (o.path LIKE %s ESCAPE '\\' AND l.is_compound = %s))
        ORDER BY o.path, k.chain_rank, o.name
        LIMIT %s
    """
    return _fetch(sql, [*prefixes, like_prefix(path), True, limit])
