def register(router):
    """Registry API viewsets are registered here."""
