"""Rows on the busiest paths: a read whose SQL is built once, and an insert a unique constraint may refuse.

**`Read`**: the ORM builds a statement's SQL anew on every call — for a one-row look-up by key that is most of its
cost in Python (a `Vote.objects.get(pk=…)` here: ~0.45 ms of CPU, of which ~0.3 ms compiling ~30 quoted column
names, against ~0.13 ms for the same row read with the SQL built once). A `Read` names the model, a WHERE
fragment and, optionally, forward relations to join, an order and a limit; its SQL (every concrete column, as
the ORM reads them) is built once per database connection, and the rows come back as the same model instances
the ORM would give — the same columns, the backend's and the fields' converters applied (`Model.from_db`), the
joined objects cached on their relation as `select_related` leaves them. Use it where requests read the same
few rows at a high rate (the session, the signed-in user and their roles, an API token, the audit chain's tail,
the ballot paths' rows); everywhere else the ORM's querysets are clearer. Plans are kept per connection object
(Django gives each thread its own), so a plan is never shared between threads; two threads building the same
plan at once both get a correct one.

**`insert`, `insert_unless_taken`**: on PostgreSQL an INSERT's text is kept per connection and model once Django's
insert compiler has built it with a plain placeholder for every value; later rows only have their values prepared
(`pre_save`, `get_db_prep_save`, as `save()` does). A value that is an expression is compiled every time.

**Inserting a row that a unique constraint may already hold, without a savepoint.**

Inside a transaction, a plain INSERT that loses a race on a unique constraint aborts the whole transaction on
PostgreSQL, so the usual guard is a savepoint around it (`SAVEPOINT`, the insert, `RELEASE`: three round trips
where one would do). On PostgreSQL `insert_unless_taken` sends one `INSERT … ON CONFLICT DO NOTHING RETURNING
id` instead: a conflict writes nothing, aborts nothing and returns no row. The statement is Django's own (its
insert compiler: the same columns, defaults and conversions as `save()`), only with the conflict clause.

Elsewhere (SQLite: writers are serialised, a conflict is rare and a savepoint costs no round trip) it is
`save(force_insert=True)` in a savepoint — SQLite's `INSERT OR IGNORE` would also skip NOT NULL and CHECK
failures silently, which this must not.

Model signals (pre_save/post_save) are not sent on PostgreSQL: use it for append-only rows with no receivers
(audit entries, ballots).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery

M = TypeVar("M", bound=Model)


class _Part:
    """One model's columns in a Read's row: where they start, their attnames and converters."""

    __slots__ = ("model", "start", "attnames", "converters", "field", "nullable", "pk_at", "owner")

    def __init__(self, model, start: int, connection, alias: str, field=None, nullable: bool = False, owner: int = 0):
        self.model, self.start, self.field, self.nullable, self.owner = model, start, field, nullable, owner
        fields = model._meta.concrete_fields
        self.attnames = [f.attname for f in fields]
        self.pk_at = list(fields).index(model._meta.pk)
        self.converters = _converters(fields, alias, connection)


def _converters(fields, alias: str, connection) -> list[tuple[int, Any, list]]:
    """(position, column, converters) for every field whose database value needs converting, as the ORM does."""
    found = []
    for i, field in enumerate(fields):
        col = field.get_col(alias)
        convert = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        if convert:
            found.append((i, col, convert))
    return found


class Read(Generic[M]):
    """A read of `model`'s rows whose SQL is built once per connection (see the module's docstring).

    `where` is an SQL fragment with `%s` placeholders over the model's columns as `t.<column>` (and a joined
    relation's as `<relation>.<column>`); `related` names forward foreign keys to join, as `select_related`
    (`"vote__scope"` joins the vote's scope too); `annotate` maps an attribute name to an SQL expression over
    the same aliases and the Python type its value is turned into (`{"voted": ("EXISTS (…)", bool)}`), set on
    each main instance; `order_by` an SQL fragment; `values` instead of model instances returns tuples of those
    fields' values (converted as the ORM does). The parameters go to the database as they are (ints and strings)
    unless `params` names, for each, the model field whose database form it takes (a datetime or a UUID: prepared
    as the ORM prepares a filter's value). Rows are read on the model's default database. `model` may be given as
    "app_label.Model" where the module is imported before the apps are ready."""

    def __init__(
        self,
        model: type[M] | str,
        where: str,
        *,
        related: Sequence[str] = (),
        order_by: str = "",
        limit: int | None = None,
        values: Sequence[str] = (),
        params: Sequence[str] = (),
        annotate: dict[str, tuple[str, Callable[[Any], Any]]] | None = None,
    ):
        self._model, self.where, self.related = model, where, tuple(related)
        self.order_by, self.limit, self.values = order_by, limit, tuple(values)
        self.params = tuple(params)
        self.annotate = dict(annotate or {})
        self._plans: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @property
    def model(self) -> type[M]:
        if isinstance(self._model, str):
            from django.apps import apps

            self._model = apps.get_model(self._model)
        return self._model  # type: ignore[return-value]

    def _plan(self, connection):
        plan = self._plans.get(connection)
        if plan is None:
            plan = self._plans[connection] = self._build(connection)
        return plan

    def _build(self, connection) -> tuple[str, list[Any], list[Any]]:
        q = connection.ops.quote_name
        meta = self.model._meta
        parts: list[Any]
        frm = f"{q(meta.db_table)} t"
        if self.values:
            fields = [meta.get_field(name) for name in self.values]
            columns = [f"t.{q(f.column)}" for f in fields]
            parts = _converters(fields, "t", connection)
        else:
            parts = [_Part(self.model, 0, connection, "t")]
            columns = [f"t.{q(f.column)}" for f in meta.concrete_fields]
            joined: dict[str, int] = {"": 0}  # a relation's path → its part
            for name in self.related:
                path = ""
                for step in name.split("__"):
                    owner, path = joined[path], f"{path}__{step}" if path else step
                    if path in joined:
                        continue
                    owner_model, owner_alias = parts[owner].model, "t" if owner == 0 else q(path.rpartition("__")[0])
                    field = owner_model._meta.get_field(step)
                    if not (field.many_to_one or field.one_to_one) or field.auto_created:
                        raise ValueError(f"{owner_model.__name__}.{step} is not a forward relation")
                    other = field.related_model._meta
                    nullable = field.null or parts[owner].nullable  # below a LEFT JOIN, a LEFT JOIN too
                    join = "LEFT JOIN" if nullable else "INNER JOIN"
                    frm += f" {join} {q(other.db_table)} {q(path)} ON {q(path)}.{q(field.target_field.column)}"
                    frm += f" = {owner_alias}.{q(field.column)}"
                    joined[path] = len(parts)
                    parts.append(_Part(field.related_model, len(columns), connection, path, field, nullable, owner))
                    columns += [f"{q(path)}.{q(f.column)}" for f in other.concrete_fields]
            columns += [expression for expression, _type in self.annotate.values()]
        sql = f"SELECT {', '.join(columns)} FROM {frm} WHERE {self.where}"
        if self.order_by:
            sql += f" ORDER BY {self.order_by}"
        if self.limit is not None:
            sql += f" LIMIT {int(self.limit)}"
        prepare = [self.model._meta.get_field(name) for name in self.params]
        return sql, parts, prepare

    def all(self, *params) -> list:
        connection = connections[router.db_for_read(self.model)]
        sql, parts, prepare = self._plan(connection)
        if prepare:
            params = tuple(f.get_db_prep_value(v, connection) for f, v in zip(prepare, params, strict=True))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if self.values:
            return [tuple(_convert(list(row), parts, connection)) for row in rows]
        return [self._objects(row, parts, connection, self.annotate) for row in rows]

    def first(self, *params):
        """The first row (by `order_by`, if any), or None."""
        found = self.all(*params)
        return found[0] if found else None

    @staticmethod
    def _objects(row, parts: list[_Part], connection, annotate: dict):
        made: list[Any] = []
        for part in parts:
            owner = made[part.owner] if made else None
            values = list(row[part.start : part.start + len(part.attnames)])
            if part.nullable and values[part.pk_at] is None:  # a LEFT JOIN that found nothing
                made.append(None)
                if owner is not None:
                    part.field.set_cached_value(owner, None)
                continue
            instance = part.model.from_db(
                connection.alias, part.attnames, _convert(values, part.converters, connection)
            )
            made.append(instance)
            if owner is not None:
                part.field.set_cached_value(owner, instance)
        obj = made[0]
        at = len(row) - len(annotate)
        for i, (name, (_expression, kind)) in enumerate(annotate.items()):
            setattr(obj, name, None if row[at + i] is None else kind(row[at + i]))
        return obj


def _convert(values: list, converters, connection) -> list:
    for i, col, convert in converters:
        value = values[i]
        for converter in convert:
            value = converter(value, col, connection)
        values[i] = value
    return values


def insert_unless_taken(obj: Model) -> bool:
    """Insert `obj` (its primary key unset); True if written, False if a unique constraint already held the row
    (nothing written, the caller's transaction intact). Other failures (a foreign key, NOT NULL) still raise."""
    using = router.db_for_write(type(obj), instance=obj)
    connection = connections[using]
    if connection.vendor != "postgresql" or obj.pk is not None:
        try:
            with transaction.atomic(using=using):
                obj.save(force_insert=True, using=using)
        except IntegrityError as e:
            if not _unique_violation(e):
                raise
            return False
        return True
    return _insert(obj, connection, OnConflict.IGNORE)


def insert(obj: Model) -> None:
    """Insert `obj` (its primary key unset) as `save(force_insert=True)` does, its SQL built once per connection on
    PostgreSQL (no signals sent there: for append-only rows with no receivers, such as the ballot log's leaves)."""
    using = router.db_for_write(type(obj), instance=obj)
    connection = connections[using]
    if connection.vendor != "postgresql" or obj.pk is not None:
        obj.save(force_insert=True, using=using)
    else:
        _insert(obj, connection, None)


# Per connection, per (model, conflict clause): the INSERT's SQL text, once Django's insert compiler has built it
# with a plain "%s" for every value (no field with its own placeholder, no expression among the values).
_INSERT_SQL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _insert(obj: Model, connection, on_conflict: OnConflict | None) -> bool:
    meta = obj._meta
    fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated]
    known = _INSERT_SQL.setdefault(connection, {})
    sql = known.get((type(obj), on_conflict))
    if sql is not None:
        values = [f.pre_save(obj, True) for f in fields]  # what the compiler asks each field (auto_now_add, files)
        if any(hasattr(v, "resolve_expression") for v in values):
            sql = None  # an expression among them: compiled below
        else:
            params = [f.get_db_prep_save(v, connection=connection) for f, v in zip(fields, values, strict=True)]
    if sql is None:
        query = InsertQuery(type(obj), on_conflict=on_conflict)
        query.insert_values(fields, [obj])
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = [meta.pk]
        [(sql, params)] = compiler.as_sql()  # runs pre_save itself: each field's value is on obj afterwards
        if not any(
            hasattr(f, "get_placeholder") or hasattr(getattr(obj, f.attname), "resolve_expression") for f in fields
        ):
            known[(type(obj), on_conflict)] = sql
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return True


def _unique_violation(error: IntegrityError) -> bool:
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) == "23505":  # PostgreSQL's unique_violation
        return True
    return str(error).startswith("UNIQUE constraint failed")  # SQLite
