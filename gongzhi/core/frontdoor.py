"""The public front door (`/` for an anonymous visitor) as the parts fill it.

Core draws the page and knows no part: each part registers, in its AppConfig.ready, a function that returns what
it offers a visitor — `{"services": [(url name, title, text), ...], "notices": [...], "votes": [...]}` — already
filtered by the gate for this reader. A part that is not installed simply offers nothing.
"""

from __future__ import annotations

from collections.abc import Callable

ROWS = 5  # notices and votes shown on the front door, each

Provider = Callable[[object], dict[str, list]]
_PROVIDERS: list[Provider] = []


def provides(fn: Provider) -> Provider:
    """Register `fn(request) -> {"services"|"notices"|"votes": [...]}` (idempotent: a second ready() adds nothing)."""
    if fn not in _PROVIDERS:
        _PROVIDERS.append(fn)
    return fn


def contributions(request) -> dict[str, list]:
    found: dict[str, list] = {"services": [], "notices": [], "votes": []}
    for fn in _PROVIDERS:
        for key, items in fn(request).items():
            found.setdefault(key, []).extend(items)
    return found
