"""Inserting a row that a unique constraint may already hold, without a savepoint.

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

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery


def insert_unless_taken(obj: Model) -> bool:
    """Insert `obj` (its primary key unset); True if written, False if a unique constraint already held the row
    (nothing written, the caller's transaction intact). Other failures (a foreign key, NOT NULL) still raise."""
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    meta = obj._meta
    if connection.vendor != "postgresql" or obj.pk is not None:
        try:
            with transaction.atomic(using=using):
                obj.save(force_insert=True, using=using)
        except IntegrityError as e:
            if not _unique_violation(e):
                raise
            return False
        return True
    fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated]
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [meta.pk]
    [(sql, params)] = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = using
    return True


def _unique_violation(error: IntegrityError) -> bool:
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) == "23505":  # PostgreSQL's unique_violation
        return True
    return str(error).startswith("UNIQUE constraint failed")  # SQLite
