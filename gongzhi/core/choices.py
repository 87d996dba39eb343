"""Django's ``TextChoices`` as the type checker should read it.

Plain mypy (no django-stubs) takes Django as untyped, so a member written ``PHOTO = "photo", _("Photo")``
reads as the tuple it is written as, and every ``kind: str = Upload.Kind.PHOTO`` is a false alarm. To the
type checker this ``TextChoices`` is a ``StrEnum`` with a label; at run time it *is* Django's class, so
nothing changes: models declare ``class Kind(TextChoices)`` with this import instead of ``models.TextChoices``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import enum
    from typing import ClassVar, Self

    class TextChoices(enum.StrEnum):
        _value_: str
        label: str
        choices: ClassVar[list[tuple[str, str]]]
        labels: ClassVar[list[str]]
        values: ClassVar[list[str]]
        names: ClassVar[list[str]]

        def __new__(cls, value: str, label: object = ...) -> Self: ...  # so members' values read as str

else:
    from django.db.models import TextChoices

__all__ = ["TextChoices"]
