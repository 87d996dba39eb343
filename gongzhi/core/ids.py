"""Reading an id from a query string or a form: one rule for every part (pure: no Django)."""

from __future__ import annotations

MAX_ID = 2**62  # below every database's bigint; a larger number is no row's id


def parse_id(value: object) -> int | None:
    """A positive whole number (an id, a keyset cursor ``?after=``) from ``value``, else None.

    Anything else — absent, empty, not a number, zero, negative, too large — is None, so a hand-edited address
    shows the first page or "not found", never an error.
    """
    if isinstance(value, bool) or not isinstance(value, int | str | bytes):
        return None
    try:
        n = int(value)
    except ValueError:
        return None
    return n if 0 < n < MAX_ID else None
