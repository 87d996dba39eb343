"""The surveys part's JSON API under /api/v1/."""


def register(router) -> None:
    """Add this part's viewsets to the API router."""
