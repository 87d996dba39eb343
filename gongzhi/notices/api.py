def register(router):
    """API viewsets of this app are registered here."""
