"""Notice tables. The parts build their own notices (deliberation/notices.py, voting/notices.py) with these.

Tables are stored as {"title", "columns", "rows", "note"}; the voter roll is the exception — its rows are read
from the vote's frozen roll when the page or PDF is drawn ({"source": "voter_roll"}), so a 10,000-unit roll
is not copied into the notice. Only masked names ever appear.
"""

from __future__ import annotations


def table(title: str, columns: list[str], rows: list[list], note: str = "") -> dict:
    return {"title": title, "columns": columns, "rows": [[str(c) for c in r] for r in rows], "note": note}
