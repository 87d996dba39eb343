def register(router):
    """Organisation API viewsets are registered here."""
