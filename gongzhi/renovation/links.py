"""What other parts say about a renovation defect, read when a page shows it (renovation imports none of them).

A resident's defect is handed to the service desk by the `defect_reported` signal (renovation.actions); the
service desk files a request for it and registers a *desk reader* here from its AppConfig.ready(). A page that
lists defects asks `desk_links(defect ids, reader)` and shows each linked request's reference and its current
state, so the request's moves (派单, 接单, 办结 …) show on the defect without renovation importing the desk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class DeskLink:
    """The service-desk request filed for one defect, as the reader may see it."""

    reference: str  # the work-order number (工单号)
    state: str  # the desk's state code ("accepted", "dispatched" …)
    state_label: str  # in the reader's language
    open: bool  # the desk is still handling it
    url: str = ""  # the request's page, when the reader may see it


# (defect ids, the reader) -> defect id -> its request; one query per reader whatever the number of defects
DeskReader = Callable[[list[int], object], dict[int, DeskLink]]
_READERS: dict[str, DeskReader] = {}


def register_desk_reader(name: str, fn: DeskReader) -> None:
    """Add (or replace) the reader `name` (the service desk registers "servicedesk.requests")."""
    _READERS[name] = fn


def defect_source(defect_id: int) -> str:
    """How a part handed a defect over names it ("renovation.defect:42"), for the request's `source`."""
    return f"renovation.defect:{defect_id}"


def desk_links(defect_ids: Iterable[int], user) -> dict[int, DeskLink]:
    """Defect id → the linked request, from every registered reader (none installed: an empty answer)."""
    ids = [int(i) for i in defect_ids]
    out: dict[int, DeskLink] = {}
    if not ids:
        return out
    for fn in _READERS.values():
        out.update(fn(ids, user))
    return out
