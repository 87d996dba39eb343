"""What OPTIONS answers on the API (its own module: DRF's settings import it while rest_framework.views loads)."""

from __future__ import annotations

from rest_framework.metadata import SimpleMetadata


class PlainMetadata(SimpleMetadata):
    """OPTIONS answers name, description, renderers and parsers — never a description of the write fields,
    which needs a serializer some actions do not have (and tells an outsider nothing he needs)."""

    def determine_actions(self, request, view):
        return {}
